-- A bounded cache from raw map keys to decoded labels, in two generations:
-- lookups hit the young table first; when it is full the old one is dropped
-- and the young one becomes old. Keys still in use move back on their next
-- lookup, so a stable key set of up to `size` keys always hits, while keys that
-- stop appearing (pids, sockets, cgroups that went away) age out. Memory stays
-- under two generations, i.e. 2 * size entries.
local M = {}
M.__index = M

function M.new(size)
  if type(size) ~= "number" or size < 1 then
    error("label cache size must be a positive number", 2)
  end
  return setmetatable({ size = size, young = {}, old = {}, count = 0 }, M)
end

function M:get(key)
  local v = self.young[key]
  if v ~= nil then
    return v
  end
  v = self.old[key]
  if v ~= nil then
    self:put(key, v)
  end
  return v
end

function M:put(key, value)
  if self.count >= self.size then
    self.old, self.young, self.count = self.young, {}, 0
  end
  if self.young[key] == nil then
    self.count = self.count + 1
  end
  self.young[key] = value
end

function M:clear()
  self.young, self.old, self.count = {}, {}, 0
end

return M
