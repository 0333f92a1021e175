-- Collecting a metric at a scrape: its kind (kinds.lua) turns the map's batch
-- (raw keys and u64 values read by the core, seen through the FFI without
-- copies) into series and writes its family. A metric's state between
-- scrapes (caches, series) is an object of its own, made by new_state: the
-- plan stays what binding made it.
local cardinality = require("exporter.cardinality")
local fingerprint = require("exporter.fingerprint")
local kinds = require("exporter.kinds")
local log = require("exporter.log")
local rows = require("exporter.rows")

local M = {}

--- A new state for the metric of `plan`: keep one per plan, from bind until
-- the plan goes away, and pass it to every collection of that plan. With
-- the plan's fingerprint (fingerprint.lua) its series and label cache are
-- the running configuration's, if it has the same metric (a reload); with
-- `fresh` too, they start afresh and the next reload takes these over.
function M.new_state(plan, fp, fresh) -- luacheck: ignore 212
  return rows.new_state(fp, fresh)
end

--- The state of a plan that a configuration bound, and the plan's
-- fingerprint (fingerprint.lua; `registry` is the decoders'): the running
-- configuration's series store when it has the metric unchanged, so that a
-- reload's first scrape is warm. The log says which (with --debug).
function M.bound_state(plan, registry)
  local fp = fingerprint.of(plan, registry)
  local state = M.new_state(plan, fp)
  local store = state.series
  log.debug(("config %s, metric %s: %s"):format(plan.config, plan.name, store.adopted
    and ("series taken over from the running configuration (%d series, %d keys)"):format(store.nseries, store.nkeys)
    or "series start afresh"))
  return state, fp
end

-- States of plans collected without one (collect.<kind> called with four
-- arguments, as specs do): one per plan, gone with the plan.
local implicit = setmetatable({}, { __mode = "k" })
-- collect.<kind> functions, one per registered kind table.
local by_kind = setmetatable({}, { __mode = "k" })

local function kind_collector(kind)
  local f = by_kind[kind]
  if not f then
    f = function(plan, batch, buf, stats, state)
      if not state then
        state = implicit[plan] or M.new_state(plan)
        implicit[plan] = state
      end
      return kind.collect(plan, state, batch, buf, stats)
    end
    by_kind[kind] = f
  end
  return f
end

--- collect.<kind name>(plan, batch, buf, stats[, state]) collects one
-- metric of that kind (collect.counter, collect.histogram, ...).
setmetatable(M, {
  __index = function(_, name)
    local kind = kinds.get(name)
    return kind and kind_collector(kind)
  end,
})

--- Writes the family of `plan` from its batch (a struct elx_batch) into the
-- string.buffer `buf`; `state` is the plan's (new_state), `stats` its
-- config's counters ({decoder_errors, logged, nlogged, log}). Returns the
-- number of series written. Goes through collect.<kind>, so a spec can stand
-- in for a kind's collection.
function M.metric(plan, state, batch, buf, stats)
  local n = M[plan.kind](plan, batch, buf, stats, state)
  if plan.max_series then
    cardinality.count(plan, state, stats)
  end
  return n
end

return M
