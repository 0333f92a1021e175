-- cgroup_id_map: which cgroups belong in each config's id map. The policy is
-- here (paths matched with the config's regexps, over the shared cgroup
-- index); the watch and the map updates are the core's
-- (core/cgroup_id_map.c), from the operations this module answers with.
local ffi = require("ffi")
local numfmt = require("exporter.numfmt")

local M = {}
local Sync = {}
Sync.__index = Sync

local function matches(entry, path)
  local out = entry.match(path)
  return type(out) == "string"
end

--- entries: { {config =, map =, type = "hash"|"cgrp_storage", match = fn}... };
-- index: a cgroup_index.
function M.new(entries, index)
  local self = setmetatable({ entries = entries, index = index, pending = {}, started = false }, Sync)
  -- Per entry: ids now in the map, so that removals delete only what we set.
  for _, e in ipairs(entries) do
    e.present = {}
  end
  self.unsubscribe = index:subscribe(function(change, id, path)
    self:queue(change, id, path)
  end)
  return self
end

function Sync:queue(change, id, path)
  for _, e in ipairs(self.entries) do
    if change == "created" and matches(e, path) and not e.present[id] then
      e.present[id] = true
      self.pending[#self.pending + 1] = {
        config = e.config, map = e.map, type = e.type, op = "set", id = id, path = path,
      }
    elseif change == "removed" and e.present[id] then
      e.present[id] = nil
      -- Cgroup storage goes with its cgroup; a hash entry must be deleted.
      if e.type == "hash" then
        self.pending[#self.pending + 1] = { config = e.config, map = e.map, type = e.type, op = "delete", id = id,
          path = path }
      end
    end
  end
end

--- The operations to apply now: at the first call, every matching cgroup;
-- then the changes since. `rescan` walks the tree first (for kernels where
-- the index cannot follow changes with fanotify).
function Sync:operations(rescan)
  if not self.started then
    self.started = true
    self.index:each(function(id, path) self:queue("created", id, path) end)
  end
  if rescan and self.index:mode() == "rescan" then
    self.index:rescan()
  end
  self.index:poll()
  local ops = self.pending
  self.pending = {}
  return ops
end

--- The fanotify fd the core watches to call operations() when it is
-- readable, or nil: then the core calls operations(true) on a timer.
function Sync:fd()
  return self.index:fd()
end

local op_array = ffi.typeof("struct elx_cgroup_op[?]")

--- Answers ELX_ENTRY_CGROUP_SYNC (a struct elx_cgroup_sync *): the
-- operations due now, in memory kept until the next answer.
function Sync:answer(call)
  local ops = self:operations(call.rescan ~= 0)
  local arr = op_array(#ops + 1)
  for i, op in ipairs(ops) do
    local o = arr[i - 1]
    o.config, o.map, o.path = op.config, op.map, op.path
    o.id = numfmt.parse_u64(op.id)
    o.storage = op.type == "cgrp_storage" and 1 or 0
    o.set = op.op == "set" and 1 or 0
  end
  self.answered = { arr, ops }
  call.ops, call.nops = arr, #ops
  call.watch_fd = self:fd() or 0
end

function Sync:close()
  self.unsubscribe()
end

return M
