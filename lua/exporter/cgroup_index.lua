-- An index of cgroup v2 ids (the kernfs ids that bpf_get_current_cgroup_id()
-- returns, equal to the inode numbers of the cgroup directories) to paths,
-- kept current by fanotify where the kernel allows it and by rescans where not.
--
--   local index = require("exporter.cgroup_index")
--   local idx = assert(index.new({ log = function(level, msg) ... end }))
--   idx:lookup("1234")  --> "/sys/fs/cgroup/system.slice/ssh.service" or nil
--
-- Ids are decimal strings throughout: they key the tables exactly, whatever
-- their size, and are what the uint decoder produces.
--
-- This file is the policy: when to walk, follow events or rescan, and what a
-- lookup may cost. What is known is cgroup_paths'; the walk is cgroup_tree's,
-- the mounts cgroup_mounts', and the events fanotify's.
-- @module exporter.cgroup_index
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local cgroup_mounts = require("exporter.cgroup_mounts")
local cgroup_paths = require("exporter.cgroup_paths")
local cgroup_tree = require("exporter.cgroup_tree")
local fanotify = require("exporter.fanotify")
local libc = require("exporter.libc")
local numfmt = require("exporter.numfmt")

local M = {}

local CGROUP2_SUPER_MAGIC = 0x63677270
local FAN_CREATE, FAN_DELETE = fanotify.FAN_CREATE, fanotify.FAN_DELETE
local FAN_MOVED = bit.bor(fanotify.FAN_MOVED_FROM, fanotify.FAN_MOVED_TO)
local FAN_Q_OVERFLOW, FAN_ONDIR = fanotify.FAN_Q_OVERFLOW, fanotify.FAN_ONDIR

-- The index's public API from before the split, unchanged: users name the
-- event masks, the event parser, the mounts and dir_id by this module.
M.FAN_CREATE, M.FAN_DELETE, M.FAN_MOVED_FROM, M.FAN_MOVED_TO = FAN_CREATE, FAN_DELETE, fanotify.FAN_MOVED_FROM,
  fanotify.FAN_MOVED_TO
M.FAN_Q_OVERFLOW, M.FAN_ONDIR = FAN_Q_OVERFLOW, FAN_ONDIR
M.parse_events = fanotify.parse_events
M.cgroup2_mounts = cgroup_mounts.cgroup2_mounts
M.dir_id = cgroup_tree.dir_id
local dir_id, walk = cgroup_tree.dir_id, cgroup_tree.walk

local DEFAULTS = {
  mountinfo = "/proc/self/mountinfo",
  -- A deleted cgroup still resolves until this many seconds after its last
  -- lookup, as ebpf_exporter keeps them: rows counted just before the
  -- deletion keep their path for a while, and memory stays bounded.
  grace = 600,
  -- An id that a rescan did not find is not rescanned for again for this
  -- long. Ids are never reused, so the answer rarely changes.
  miss_ttl = 300,
  miss_cache_size = 1024,
  -- rescan_interval: rescans start at most this often. One rescan made after
  -- a scrape read its maps finds every id of that scrape, so the gap only has
  -- to cover the decoding of one scrape, and a longer one would leave ids of
  -- cgroups made between two close scrapes unknown (and the label cache
  -- keeps what a decoder said). By default the gap is this many times what
  -- the last walk cost, so that a flood of unknown ids keeps at most about a
  -- tenth of a CPU busy: ~0.4 s with 2,000 cgroups, a millisecond with a few.
  rescan_cost_factor = 10,
  min_rescan_interval = 0.001,
}

-- A lookup key from a decimal string, a Lua number or a uint64_t cdata.
local function id_key(id)
  local t = type(id)
  if t == "string" then return id end
  if t == "number" then return string.format("%d", id) end
  if t == "cdata" then return numfmt.u64(ffi.cast("uint64_t", id)) end
  error("cgroup_index: an id must be a decimal string, a number or a uint64_t, not a " .. t, 3)
end

local Index = {}
Index.__index = Index

local function log_noop() end

--- Builds an index: finds the cgroup2 mounts, starts following changes with
-- fanotify where possible, then walks the trees.
-- @tparam[opt] table opts
--   mountinfo: file listing the mounts (default /proc/self/mountinfo);
--   roots: a list of directories to index instead of the cgroup2 mounts;
--   log: function(level, msg), level "debug", "info" or "warn";
--   now: clock in seconds (default decoder_api.now, looked up at each call);
--   grace, miss_ttl, miss_cache_size: see DEFAULTS above;
--   rescan_interval: a fixed gap between rescans (default: from their cost);
--   fanotify: false to rescan only;
--   events: for specs, a function returning a list of events as
--   parse_events gives them, used instead of fanotify.
-- @return an index, or nil and a message when mountinfo cannot be read
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("cgroup_index.new: opts must be a table", 2) end
  local log = opts.log or log_noop
  local now = opts.now or function() return api.now() end
  local self = setmetatable({
    mountinfo = opts.mountinfo or DEFAULTS.mountinfo,
    fixed_roots = opts.roots,
    log = log,
    now = now,
    known = cgroup_paths.new({ now = now, grace = opts.grace or DEFAULTS.grace, log = log }),
    miss_ttl = opts.miss_ttl or DEFAULTS.miss_ttl,
    rescan_interval = opts.rescan_interval,
    misses = api.bounded_cache(opts.miss_cache_size or DEFAULTS.miss_cache_size),
    rescans = 0,
    events_applied = 0,
  }, Index)
  local roots, err = self:roots()
  if not roots then return nil, err end
  if #roots == 0 then
    self.log("info", ("cgroup index: no cgroup2 mount in %s: every cgroup id is unknown"):format(self.mountinfo))
  end
  -- Events first, the walk second: a cgroup made during the walk is then in
  -- the walk, in an event, or both, never in neither.
  if opts.events then
    self.source = opts.events
  elseif opts.fanotify ~= false and #roots > 0 then
    local ok, why, kind = self:follow(roots)
    if ok then
      self.log("info", ("cgroup index: following %s with fanotify (%s)"):format(table.concat(roots, ", "), kind))
    else
      self.log("info", ("cgroup index: fanotify unavailable for %s (%s): finding new cgroups by rescanning")
        :format(table.concat(roots, ", "), why))
    end
  end
  local t0 = os.clock()
  local found = {}
  for _, root in ipairs(roots) do walk(root, found) end
  for id, path in pairs(found) do self.known:add(id, path) end
  self.walk_cost = os.clock() - t0
  -- This walk precedes every scrape: the first miss rescans.
  self.last_rescan = -math.huge
  self.log("debug", ("cgroup index: %d cgroups under %s, walked in %.1f ms"):format(
    self.known.nlive, table.concat(roots, ", "), self.walk_cost * 1000))
  return self
end

-- The directories to index: fixed ones, or the cgroup2 mounts.
function Index:roots()
  if self.fixed_roots then return self.fixed_roots end
  return M.cgroup2_mounts(self.mountinfo)
end

-- Opens a fanotify group with a filesystem mark on each root. Returns true
-- and the kind of mark, or false and why not.
function Index:follow(roots)
  for _, root in ipairs(roots) do
    local fs_type, err = libc.fs_type(root)
    if not fs_type then return false, err end
    -- Only kernfs reports a parent as a handle that is its cgroup id.
    if fs_type ~= CGROUP2_SUPER_MAGIC then return false, "not a cgroup2 filesystem" end
  end
  local group, why, kind = fanotify.watch(roots)
  if not group then return false, why end
  self.fan = group
  return true, nil, kind
end

--- Walks the trees again: new cgroups are added, missing ones removed, and
-- moved ones get their new path.
-- @return true, or nil and a message when mountinfo cannot be read
function Index:rescan()
  local roots, err = self:roots()
  if not roots then return nil, err end
  local t0 = os.clock()
  self.rescans = self.rescans + 1
  self.last_rescan = self.now()
  local found = {}
  for _, root in ipairs(roots) do walk(root, found) end
  local added, removed = self.known:reconcile(found)
  self.known:sweep(self.last_rescan)
  self.walk_cost = os.clock() - t0
  self.log("debug", ("cgroup index: rescan %d: %d cgroups, %d new, %d gone, in %.1f ms"):format(
    self.rescans, self.known.nlive, added, removed, self.walk_cost * 1000))
  return true
end

-- Applies one event: what now stands at parent path + name decides, so
-- that merged events (a create and a delete of one name in one event) and
-- events of cgroups gone since come out right.
function Index:apply(ev)
  local mask = ev.mask
  if bit.band(mask, FAN_Q_OVERFLOW) ~= 0 or bit.band(mask, FAN_MOVED) ~= 0 then
    -- Lost events, or a renamed cgroup whose descendants all change path.
    self.stale = true
    return
  end
  if bit.band(mask, FAN_ONDIR) == 0 or bit.band(mask, bit.bor(FAN_CREATE, FAN_DELETE)) == 0 then return end
  -- A parent not indexed is outside the indexed trees (the mark covers the
  -- whole filesystem), or was deleted and made again under the same name
  -- with this event merged into an older one: nothing here to learn.
  local known = self.known
  local parent = ev.parent and known:live_path(ev.parent)
  if not parent or not ev.name then return end
  self.events_applied = self.events_applied + 1
  local path = parent .. "/" .. ev.name
  local was = known:id_of(path)
  local id = dir_id(path)
  if id and id == was then return end
  if was then
    known:remove(was)
    self.log("debug", ("cgroup index: %s (id %s) removed"):format(path, was))
  end
  if id then
    known:add(id, path)
    self.log("debug", ("cgroup index: learned %s (id %s) from fanotify"):format(path, id))
  elseif ev.target and known:add_deleted(ev.target, path) then
    -- Made and deleted between two polls.
    self.log("debug", ("cgroup index: learned %s (id %s) from fanotify after its deletion"):format(path, ev.target))
  end
end

-- Reads the pending fanotify events, without blocking. A failed read may
-- have lost events: the next poll rescans.
function Index:read_events()
  local events, err = self.fan:read()
  if err then
    self.log("warn", "cgroup index: " .. err)
    self.stale = true
  end
  return events
end

--- Applies the pending change events (fanotify), rescans if events were
-- lost, and forgets deleted cgroups past their grace period. Cheap to call
-- often: one non-blocking read when nothing changed.
-- @treturn number the events applied
function Index:poll()
  local applied = 0
  local events
  if self.source then
    events = self.source() or {}
  elseif self.fan then
    events = self:read_events()
  end
  if events then
    local before = self.events_applied
    for _, ev in ipairs(events) do self:apply(ev) end
    applied = self.events_applied - before
    if self.stale then
      self.stale = false
      self:rescan()
    end
  end
  self.known:sweep(self.now())
  return applied
end

--- The path of a cgroup id, or nil. A known id costs a table access; an
-- unknown one polls for events, or without them rescans (with a gap between
-- rescans, and not again for an id that missed within miss_ttl).
-- @param id a decimal string (as the uint decoder gives), a number or a uint64_t
-- @treturn string or nil
function Index:lookup(id)
  id = id_key(id)
  local path = self.known:resolve(id)
  if path then return path end
  if self.source or self.fan then
    self:poll()
    return self.known:resolve(id)
  end
  local now = self.now()
  local missed = self.misses.get(id)
  if missed and now - missed < self.miss_ttl then return nil end
  -- Not remembered as a miss when no rescan is made: the next lookup after
  -- the interval rescans for it.
  local gap = self.rescan_interval
    or math.max(DEFAULTS.min_rescan_interval, DEFAULTS.rescan_cost_factor * self.walk_cost)
  if now - self.last_rescan < gap then return nil end
  self:rescan()
  path = self.known:resolve(id)
  if not path then self.misses.put(id, now) end
  return path
end

--- The id of a live cgroup path, or nil.
function Index:id_of(path)
  return self.known:id_of(path)
end

--- Calls fn(id, path) for every live cgroup, in no particular order. fn must
-- not change the index (no lookups).
function Index:each(fn)
  self.known:each(fn)
end

--- Calls fn(change, id, path) when a cgroup is "created" or "removed" (a
-- moved cgroup is removed at its old path and created at the new one).
-- Changes are found in lookup, poll and rescan; each() gives the cgroups
-- known before subscribing. A failing fn is logged and stays subscribed.
-- @return a function that unsubscribes
function Index:subscribe(fn)
  if type(fn) ~= "function" then error("cgroup_index: subscribe needs a function", 2) end
  return self.known:subscribe(fn)
end

--- The fanotify file descriptor, for an event loop to poll() on readable;
-- nil when rescanning.
function Index:fd()
  return self.fan and self.fan.fd or nil
end

--- "fanotify" when changes arrive as events, "rescan" otherwise.
function Index:mode()
  return (self.fan or self.source) and "fanotify" or "rescan"
end

--- Counters for specs and debugging.
-- @return { cgroups = live, dead = deleted but remembered, rescans = count
-- after the first walk, events = fanotify events applied, mode = }
function Index:stats()
  return { cgroups = self.known.nlive, dead = self.known.ndead, rescans = self.rescans,
    events = self.events_applied, mode = self:mode() }
end

--- Closes the fanotify descriptor; lookups go on by rescanning.
function Index:close()
  if self.fan then
    self.fan:close()
    self.fan = nil
  end
end

-- The exporter's log, looked up at each call (specs replace it).
local function core_log(level, msg)
  require("exporter.log")[level](msg)
end

--- The index every user in this Lua state shares (the cgroup decoder, the
-- cgroup_id_map sync): one walk, one fanotify group. Kept in
-- decoder_api.state("cgroup"); specs set api.paths.mountinfo and
-- state.log before the first call, and api.reset() forgets it.
-- ELX_CGROUP_FANOTIFY=0 in the environment makes it rescan instead of
-- following fanotify, as on kernels without fanotify for cgroupfs.
-- @return the index, or nil and a message
function M.shared()
  local s = api.state("cgroup")
  if not s.index then
    local idx, err = M.new({
      mountinfo = api.paths.mountinfo or DEFAULTS.mountinfo,
      log = s.log or core_log,
      fanotify = os.getenv("ELX_CGROUP_FANOTIFY") ~= "0",
    })
    if not idx then
      return nil, err
    end
    s.index = idx
  end
  return s.index
end

return M
