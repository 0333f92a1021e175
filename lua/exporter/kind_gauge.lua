-- The gauge kind: the map's value as it is, per key (u64, or with
-- `value_type:` s64, u32 or s32); labels and decoders as counters have them,
-- equal label sets summed, a per-CPU map's CPUs summed or split by a `cpu`
-- label. A gauge of 4-byte values, or with `values:`, is kind_values'.
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local kind_values = require("exporter.kind_values")
local rows = require("exporter.rows")
local value_fields = require("exporter.value_fields")

local M = {
  name = "gauge",
  section = "gauges",
  keys = { value_type = true, values = true },
}

function M.check(c, node, path, m)
  local vt = node.value_type
  if node.values ~= nil then
    return kind_values.check(c, node, path, m)
  elseif vt ~= nil and not value_fields.VALUE_TYPES[vt] then
    c:fail(path .. ".value_type", "%q is not one of u64, s64, u32, s32", tostring(vt))
    return
  end
  m.value_type = vt or "u64"
  if value_fields.VALUE_TYPES[m.value_type][1] ~= 8 then
    kind_values.whole(m)
  end
end

function M.check_value(m, info, fail)
  if info.value_size ~= 8 then
    fail(m.path .. ".name", ("map %q has %d-byte values; a gauge of value_type %s needs 8 bytes "
      .. "(value_type u32 or s32 for 4)"):format(m.name, info.value_size, m.value_type))
    return false
  end
  return true
end

function M.bind(plan, m)
  plan.value_type = m.value_type -- in the fingerprint too (fingerprint.lua)
  plan.signed = m.value_type == "s64"
  plan.overflow_text = cardinality.overflow_sample_text(plan)
end

function M.collect(plan, state, batch, buf, stats)
  local acc = rows.sum(plan, state, batch, stats)
  acc.signed = plan.signed -- an s64 sums as a u64 would: two's complement wraps alike
  return exposition.put_samples(buf, plan.family, plan.help, "gauge", state.series, acc)
end

return M
