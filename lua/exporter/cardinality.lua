-- The cardinality guard: a metric's `max_series` (or --config.max-series)
-- bounds the series it keeps. Past the bound, a label set never seen is not
-- added: its rows go into one overflow series whose labels all read
-- "overflow" (series.limit: the core's series store does the folding), so
-- sums over the metric stay exact, and ebpf_exporter_series_overflow_total{config,metric} counts the
-- rows folded in. The counts live in the core's per-config counters, which
-- a reload carries over.
local buffer = require("string.buffer")
local config_counters = require("exporter.config_counters")
local exposition = require("exporter.exposition")

local M = {}

M.OVERFLOW = "overflow"

-- struct elx_config_counters' overflows[]: rows folded by metric.
local OVERFLOWS = { array = "overflows", used = "noverflows", slots = 32, name = "metric", name_bytes = 63,
  count = "rows" }

--- The bound of metric `m` (config.lua's m.max_series; 0 there is no
-- bound even with the flag), or nil for none.
function M.limit(m, opts)
  local n = m.max_series
  if n == nil then
    n = opts.max_series or 0
  end
  return n > 0 and n or nil
end

-- Every label of `plan.label_order` (a histogram's bucket is not among
-- them) reading "overflow", as decoded values and their order's index.
local function overflow_values(plan)
  local values, index = {}, {}
  for i = 1, #plan.label_order.names do
    values[i], index[i] = M.OVERFLOW, i
  end
  return values, index
end

--- The label pairs of the overflow series (a histogram's series text).
function M.overflow_pairs(plan)
  return exposition.label_pairs(plan.label_order.names, (overflow_values(plan)))
end

--- The series text of the overflow series of a sample family (counter,
-- gauge, struct values): what rows.sample_entry makes of its labels.
function M.overflow_sample_text(plan)
  local values, index = overflow_values(plan)
  local buf = buffer.new()
  exposition.put_sample_labels(buf, plan.label_order.names, index, values)
  return buf:tostring()
end

--- Whether a guarded store should start afresh before this scrape: the last
-- scrape folded rows into the overflow series while at least a tenth of the
-- places (one at least) held label sets that it did not see any more. Else a
-- label set that left the map (an exited process, a deleted key) would hold
-- its place for good while new ones overflow. Starting afresh costs one
-- cold scrape (every key decoded again); a tenth bounds how often.
function M.stale(store)
  local acc = store.acc
  local limit = store.max_series
  if not acc or limit == 0 or store.overflow_id == 0 or acc.folded == 0 then
    return false
  end
  local held, seen = store.nseries - 1, acc.n - 1 -- the overflow series is among both
  return held - seen >= math.max(1, math.ceil(limit / 10))
end

--- Adds to stats.folded the rows a scrape of `plan` folded into its overflow
-- series (its accumulator's count; series.add_guarded).
function M.count(plan, state, stats)
  local acc = state.series.acc
  if acc and acc.folded > 0 then
    stats.folded = stats.folded or {}
    stats.folded[plan.name] = (stats.folded[plan.name] or 0) + acc.folded
  end
end

local slots = setmetatable({}, { __mode = "k" }) -- plan -> its slot

--- Adds this scrape's stats.folded to `counters` (a struct
-- elx_config_counters *) and sets stats.overflow_totals: metric name ->
-- rows folded so far, for every guarded metric of `plans`, from 0.
function M.sync(counters, stats, plans)
  local totals, folded = {}, stats.folded or {}
  for _, plan in ipairs(plans) do
    if plan.max_series then
      slots[plan] = slots[plan] or config_counters.named_slot(counters, OVERFLOWS, plan.name)
      local o = counters.overflows[slots[plan]]
      o.rows = o.rows + (folded[plan.name] or 0)
      folded[plan.name] = nil
      totals[plan.name] = tonumber(o.rows)
    end
  end
  stats.folded = nil
  stats.overflow_totals = totals
end

--- The sample lines of ebpf_exporter_series_overflow_total for a config
-- ({name, stats}), added to `lines`, metrics by name.
function M.lines(cfg, lines)
  local totals = cfg.stats.overflow_totals or {}
  local names = {}
  for name in pairs(totals) do
    names[#names + 1] = name
  end
  table.sort(names)
  local config = exposition.escape_label_value(cfg.name)
  for _, name in ipairs(names) do
    lines[#lines + 1] = ('{config="%s",metric="%s"} %d'):format(config, exposition.escape_label_value(name),
      totals[name])
  end
end

return M
