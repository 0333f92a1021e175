-- The histogram kind: a map whose last key label (before `cpu` on a per-CPU
-- map split by CPU) is a bucket key, rebuilt into cumulative `_bucket`
-- lines, `_sum` and `_count` (bucket sets: histogram.lua; COMPAT.md,
-- "Histograms").
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local checker = require("exporter.checker")
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local histogram = require("exporter.histogram")
local labels = require("exporter.labels")
local rows = require("exporter.rows")
local series = require("exporter.series")

local M = {
  name = "histogram",
  section = "histograms",
  keys = { bucket_type = true, bucket_multiplier = true, bucket_min = true, bucket_max = true, bucket_keys = true },
  reserved_labels = { le = true },
}

local present, is_integer = checker.present, checker.is_integer
local floor = math.floor
local double_array = ffi.typeof("double[?]")

local BUCKET_TYPES = { exp2 = true, exp2zero = true, linear = true, fixed = true }

-- bucket_keys: a non-empty list of increasing integers >= 0.
local function check_bucket_keys(c, node, path, m)
  local keys = node.bucket_keys
  if not present(keys) then
    c:fail(path .. ".bucket_keys", "missing: fixed buckets need a list of bucket keys")
    return
  elseif not checker.is_sequence(keys) or #keys == 0 then
    c:fail(path .. ".bucket_keys", "must be a non-empty list of integers")
    return
  end
  local ok = true
  for i, k in ipairs(keys) do
    if not is_integer(k) or k < 0 then
      c:fail(("%s.bucket_keys[%d]"):format(path, i - 1), "must be an integer >= 0")
      ok = false
    elseif i > 1 and is_integer(keys[i - 1]) and k <= keys[i - 1] then
      c:fail(("%s.bucket_keys[%d]"):format(path, i - 1), "must be greater than the key before it")
      ok = false
    end
  end
  if ok then
    m.bucket_keys = keys
  end
end

local function check_fixed(c, node, path, m)
  for _, k in ipairs({ "bucket_min", "bucket_max" }) do
    if node[k] ~= nil then
      c:lenient(path .. "." .. k, "does not apply to fixed buckets (use bucket_keys)")
    end
  end
  check_bucket_keys(c, node, path, m)
end

local function check_range(c, node, path, m)
  if node.bucket_keys ~= nil then
    c:lenient(path .. ".bucket_keys", "only applies to fixed buckets")
  end
  for _, k in ipairs({ "bucket_min", "bucket_max" }) do
    if not present(node[k]) then
      c:fail(path .. "." .. k, "missing")
    else
      m[k] = c:optional_integer(node, k, path, 0)
    end
  end
  -- ebpf_exporter refuses bucket_min == bucket_max; one bucket is a valid histogram.
  if m.bucket_min and m.bucket_max and m.bucket_min > m.bucket_max then
    c:fail(path .. ".bucket_max", "must be >= bucket_min (%d)", m.bucket_min)
  end
end

function M.check(c, node, path, m)
  local bt = node.bucket_type
  if not present(bt) then
    c:fail(path .. ".bucket_type", "missing: one of exp2, exp2zero, linear, fixed")
  elseif not BUCKET_TYPES[bt] then
    c:fail(path .. ".bucket_type", "%q is not one of exp2, exp2zero, linear, fixed", tostring(bt))
    bt = nil
  end
  m.bucket_type = bt
  local mult = node.bucket_multiplier
  if not present(mult) or mult == 0 then
    m.bucket_multiplier = 1
  elseif type(mult) ~= "number" or mult < 0 or mult ~= mult or mult == math.huge then
    c:fail(path .. ".bucket_multiplier", "must be a positive number")
  else
    m.bucket_multiplier = mult
  end
  if #m.labels == 0 then
    c:fail(path .. ".labels", "a histogram needs a label for the bucket (its last label)")
  end
  local errors = #c.errors
  if bt == "fixed" then
    check_fixed(c, node, path, m)
  elseif bt then
    check_range(c, node, path, m)
  end
  -- Only buckets whose every key checked out can be looked at as a whole.
  local ready = bt and m.bucket_multiplier and (m.bucket_keys or (m.bucket_min and m.bucket_max))
  if ready and #c.errors == errors then
    local key, why = histogram.check(m)
    if key then
      c:fail(path .. "." .. key, "%s", why)
    end
  end
end

-- The bucket is the last key label; on a per-CPU map split by CPU it is the
-- last one before `cpu` (ebpf_exporter cannot split histograms by CPU). Its
-- series are the other labels' pairs.
function M.bind(plan, m)
  plan.bucket_label = plan.key_labels
  plan.buckets = histogram.buckets(m)
  plan.label_order = labels.sorted(plan.labels, plan.bucket_label)
  plan.le_parts = exposition.le_parts(plan.buckets.le)
  plan.overflow_text = cardinality.overflow_pairs(plan)
end

-- A histogram's cache entry: series id and bucket position in one number,
-- id * span + position; position #keys + 1 is the sum key. Keys outside
-- bucket_min..bucket_max are not part of the histogram: cached as skipped.
local function entry(plan, state, raw, stats)
  local values, uncached = labels.decode(plan, raw, stats)
  if values == nil then
    return nil
  elseif values == api.SKIP then
    return rows.DROPPED
  end
  local b = plan.bucket_label
  local bucket = tonumber(values[b])
  if bucket == nil or bucket ~= floor(bucket) then
    local label = plan.labels[b]
    labels.decode_error(stats, plan, label, label.decoders[#label.decoders].name,
      ("bucket %q is not an integer"):format(values[b]))
    return nil
  end
  local set = plan.buckets
  local pos = set.position[bucket] or (bucket == set.sum_key and #set.keys + 1)
  if not pos then
    return rows.SKIPPED
  end
  return series.id(state.series, labels.pairs_text(plan.label_order, values)) * (#set.keys + 2) + pos, uncached
end

-- Adds a row to its series' bucket counts: slot s holds span doubles from
-- s * span, the buckets then the sum.
local function add_row(acc, code, v)
  local span = acc.span
  local id = floor(code / span)
  local pos = code - id * span
  local s
  if acc.gens[id] ~= acc.gen then
    s = acc.n + 1
    acc.n = s
    acc.gens[id], acc.slots[id] = acc.gen, s
    acc.order[s] = id
    if (s + 1) * span > acc.ncounts then
      local grown = double_array(acc.ncounts * 2)
      ffi.copy(grown, acc.counts, acc.ncounts * 8)
      acc.counts, acc.ncounts = grown, acc.ncounts * 2
    end
    ffi.fill(acc.counts + s * span, span * 8)
  else
    s = acc.slots[id]
  end
  if id == acc.overflow_id then -- max_series: a row folded into the overflow series
    acc.folded = acc.folded + 1
  end
  acc.counts[s * span + pos] = acc.counts[s * span + pos] + tonumber(v)
end

function M.collect(plan, state, batch, buf, stats)
  local span = #plan.buckets.keys + 2
  local acc = rows.begin(plan, state, batch)
  if not acc.counts then
    acc.counts, acc.ncounts = double_array(64 * span), 64 * span
  end
  acc.span = span
  rows.each(plan, state, batch, stats, entry, add_row, acc)
  return exposition.put_histogram(buf, plan.family, plan.help, plan.le_parts, plan.buckets.multiplier,
    state.series, acc, batch.created, plan.buckets)
end

return M
