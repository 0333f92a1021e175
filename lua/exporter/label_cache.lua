-- A bounded cache in two generations, for decoded label sets and for
-- decoders' own lookups (decoder_api.bounded_cache): lookups hit the young
-- table first; when it holds `size` keys it becomes the old one and the old
-- one is dropped. Keys still in use move back on their next lookup, so a
-- stable set of up to `size` keys always hits, while keys that stop appearing
-- (pids, sockets, cgroups that went away) age out. It never holds more than
-- 2 * size keys, and every operation is O(1).
local M = {}
M.__index = M

function M.new(size)
  if type(size) ~= "number" or size < 1 then
    error("cache size must be a number >= 1, not " .. tostring(size), 2)
  end
  return setmetatable({ size = size, young = {}, old = {}, nyoung = 0, nold = 0 }, M)
end

local function insert(self, key, value)
  if self.young[key] == nil then
    if self.nyoung >= self.size then
      self.old, self.nold = self.young, self.nyoung
      self.young, self.nyoung = {}, 0
    end
    self.nyoung = self.nyoung + 1
  end
  self.young[key] = value
end

function M:get(key)
  local v = self.young[key]
  if v ~= nil then
    return v
  end
  v = self.old[key]
  if v ~= nil then
    self.old[key] = nil
    self.nold = self.nold - 1
    insert(self, key, v)
  end
  return v
end

function M:put(key, value)
  if value == nil then
    error("cache: put of a nil value", 2)
  end
  if self.old[key] ~= nil then
    self.old[key] = nil
    self.nold = self.nold - 1
  end
  insert(self, key, value)
end

function M:count()
  return self.nyoung + self.nold
end

function M:clear()
  self.young, self.old, self.nyoung, self.nold = {}, {}, 0, 0
end

return M
