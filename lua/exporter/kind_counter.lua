-- The counter kind: one u64 per key of a metric map, equal label sets
-- summed; or, on a perf event array or ring buffer, the records a program
-- sends, counted by their label bytes (the core counts them between flushes).
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local kind_values = require("exporter.kind_values")
local rows = require("exporter.rows")

local M = {
  name = "counter",
  section = "counters",
  keys = { perf_event_array = true, flush_interval = true, values = true },
}

local DEFAULT_FLUSH_INTERVAL = 3600 -- seconds, as ebpf_exporter

function M.check(c, node, path, m)
  m.perf_event_array = c:optional_bool(node, "perf_event_array", path)
  -- Whether the map is an event map is known at bind, from its type.
  m.flush_interval = c:optional_duration(node, "flush_interval", path)
  if node.values ~= nil then -- several metrics from a struct value: kind_values
    kind_values.check(c, node, path, m)
  end
end

-- Both keys are about event maps. On a metric map perf_event_array is a
-- mistake; flush_interval does nothing there (ebpf_exporter ignores it).
function M.check_map(m, info, fail, lenient)
  if m.perf_event_array then
    fail(m.path .. ".perf_event_array", ("map %q is not a perf event array or ring buffer (type %d)")
      :format(m.name, info.type))
    return false
  end
  if m.flush_interval then
    lenient(m.path .. ".flush_interval", "only applies to counters of perf event arrays and ring buffers")
  end
  return true
end

function M.bind(plan)
  plan.overflow_text = cardinality.overflow_sample_text(plan)
end

-- Each record's first plan.key_size bytes are its labels; the core counts
-- records by them and starts afresh every flush interval.
function M.bind_events(plan, m)
  plan.flush_interval = m.flush_interval or DEFAULT_FLUSH_INTERVAL
  plan.read.record_size = math.max(1, plan.key_size)
  plan.read.flush_ms = math.floor(plan.flush_interval * 1000)
end

function M.collect(plan, state, batch, buf, stats)
  local acc = rows.sum(plan, state, batch, stats)
  return exposition.put_samples(buf, plan.family, plan.help, "counter", state.series, acc, batch.created)
end

return M
