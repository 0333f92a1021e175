-- What a cgroup index knows: the paths of live cgroups by id and the reverse,
-- and deleted cgroups kept resolving for a grace period after their last
-- lookup; subscribers hear of every cgroup created or removed. How the
-- index learns of changes (walks, fanotify, rescans) is cgroup_index's.
-- @module exporter.cgroup_paths
local M = {}

local Paths = {}
Paths.__index = Paths

--- opts: { now = function() -> seconds, grace = seconds, log = function(level, msg) }
function M.new(opts)
  return setmetatable({
    now = opts.now,
    grace = opts.grace,
    log = opts.log,
    paths = {}, -- id -> path, of live and deleted cgroups
    ids = {}, -- path -> id, of live cgroups
    dead = {}, -- id -> last lookup (or deletion) time, of deleted cgroups
    nlive = 0,
    ndead = 0,
    subscribers = {},
    next_sweep = 0,
  }, Paths)
end

function Paths:emit(change, id, path)
  for _, fn in ipairs(self.subscribers) do
    local ok, err = pcall(fn, change, id, path)
    if not ok then
      self.log("warn", ("cgroup index: a subscriber failed on %s %s: %s"):format(change, path, tostring(err)))
    end
  end
end

--- A live cgroup: new, or a deleted id seen again (a rescan corrects an event).
function Paths:add(id, path)
  if self.dead[id] then
    self.dead[id] = nil
    self.ndead = self.ndead - 1
  elseif self.paths[id] then
    return
  end
  self.paths[id] = path
  self.ids[path] = id
  self.nlive = self.nlive + 1
  self:emit("created", id, path)
end

--- A cgroup that is gone: it still resolves for the grace period.
function Paths:remove(id)
  local path = self.paths[id]
  if not path or self.dead[id] then return end
  if self.ids[path] == id then self.ids[path] = nil end
  self.dead[id] = self.now()
  self.nlive = self.nlive - 1
  self.ndead = self.ndead + 1
  self:emit("removed", id, path)
end

--- A cgroup that was deleted before it was known: it never lived here, but
-- rows counted meanwhile resolve for the grace period. False when the id is
-- known already.
function Paths:add_deleted(id, path)
  if self.paths[id] then return false end
  self.paths[id] = path
  self.dead[id] = self.now()
  self.ndead = self.ndead + 1
  return true
end

function Paths:forget(id)
  self.paths[id] = nil
  self.dead[id] = nil
  self.ndead = self.ndead - 1
end

--- Forgets deleted cgroups not looked up within the grace period; runs at
-- most ten times per grace period, so it costs nothing per lookup.
function Paths:sweep(now)
  if now < self.next_sweep then return end
  self.next_sweep = now + self.grace / 10
  for id, t in pairs(self.dead) do
    if now - t > self.grace then self:forget(id) end
  end
end

--- The path of an id, live or deleted within the grace period (a lookup
-- starts the period again); nil otherwise.
function Paths:resolve(id)
  local path = self.paths[id]
  if not path then return nil end
  local t = self.dead[id]
  if not t then return path end
  local now = self.now()
  if now - t <= self.grace then
    self.dead[id] = now
    return path
  end
  self:forget(id)
  return nil
end

--- The path of a live cgroup id, or nil.
function Paths:live_path(id)
  if self.dead[id] then return nil end
  return self.paths[id]
end

--- The id of a live cgroup path, or nil.
function Paths:id_of(path)
  return self.ids[path]
end

--- Makes the live cgroups those of found (id -> path, from a walk): new ones
-- are added, missing ones removed, and moved ones get their new path.
-- @return the counts added and removed
function Paths:reconcile(found)
  local added, removed = 0, 0
  for id, path in pairs(self.paths) do
    if not self.dead[id] and found[id] ~= path then
      self:remove(id)
      removed = removed + 1
    end
  end
  for id, path in pairs(found) do
    if self.dead[id] and self.paths[id] ~= path then self:forget(id) end
    if not self.paths[id] or self.dead[id] then
      self:add(id, path)
      added = added + 1
    end
  end
  return added, removed
end

--- Calls fn(id, path) for every live cgroup, in no particular order.
function Paths:each(fn)
  for path, id in pairs(self.ids) do fn(id, path) end
end

--- Adds fn to the subscribers; returns a function that removes it.
function Paths:subscribe(fn)
  local list = self.subscribers
  list[#list + 1] = fn
  return function()
    for i = #list, 1, -1 do
      if list[i] == fn then table.remove(list, i) end
    end
  end
end

return M
