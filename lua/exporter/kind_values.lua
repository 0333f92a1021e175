-- The values kind: a map whose value is a struct gives one family per field
-- (`values:` under counters or gauges; value_fields.lua checks them), and a
-- gauge of 4-byte values is one such field. The map is read once per scrape
-- for all its fields, and each row's key is looked up once: the rows are
-- walked (rows.each) with a row index for a value, and each field adds its
-- own value of that row. A series' text does not hold its family's name
-- (exposition.put_samples writes it), so every field's family has the
-- metric's one series store (state.series): one id per label set. This kind
-- has no section: counters' and gauges' checks hand it their metrics.
local ffi = require("ffi")
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local rows = require("exporter.rows")
local series = require("exporter.series")
local value_fields = require("exporter.value_fields")

local M = {
  name = "values",
  keys = {},
  check = value_fields.check,
  check_value = value_fields.check_value,
  whole = value_fields.whole,
}

local ffi_cast, tonumber = ffi.cast, tonumber
local u64_array = ffi.typeof("uint64_t[?]")
local i64_array = ffi.typeof("int64_t[?]")

-- As on a counter of a metric map: flush_interval does nothing here.
function M.check_map(m, _, _, lenient)
  if m.flush_interval then
    lenient(m.path .. ".flush_interval", "only applies to counters of perf event arrays and ring buffers")
  end
  return true
end

-- The fields' size and the value's type are in the plan so that the
-- fingerprint (fingerprint.lua) changes with them.
function M.bind(plan, m, info)
  plan.fields, plan.families = {}, {}
  for i, f in ipairs(m.fields) do
    local family = "ebpf_exporter_" .. f.name
    plan.fields[i] = {
      family = family, help = f.help, type = f.kind, offset = f.offset, size = f.size, signed = f.signed,
      ptr = ffi.typeof(value_fields.ctype(f.size, f.signed) .. " *"),
      array = f.signed and i64_array or u64_array,
    }
    plan.families[i] = family
  end
  plan.value_type = m.value_type or info and info.value_type
  plan.overflow_text = cardinality.overflow_sample_text(plan)
end

-- The series store of each field's family: the metric's one, as it is now
-- (rows.begin may have started it afresh).
local function field_stores(plan, state)
  local stores = state.stores or {}
  for f = 1, #plan.fields do
    stores[f] = state.series
  end
  state.stores = stores
  return stores
end

-- Adds a row's field values to its series' sums: series.add gives the slot
-- and sums field 1 (acc.sums), the others follow.
local function add_row(acc, id, row)
  row = tonumber(row)
  local fvals, fsums = acc.fvals, acc.fsums
  local fresh = acc.gens[id] ~= acc.gen
  series.add(acc, id, fvals[1][row])
  local s = acc.slots[id]
  for f = 2, acc.nfields do
    local sums = fsums[f]
    sums[s] = fresh and fvals[f][row] or sums[s] + fvals[f][row]
  end
  if id == acc.overflow_id then -- max_series: a row folded into the overflow series
    acc.folded = acc.folded + 1
  end
end

-- One field's value of each row into `out`: per key and CPU when the plan
-- splits by CPU, else per key, a per-CPU map's CPUs summed.
local function extract(batch, field, out, split)
  local base, stride, ncpus = batch.values + field.offset, batch.value_stride, batch.ncpus
  local ptr = field.ptr
  if split or ncpus == 1 then
    for j = 0, batch.count * ncpus - 1 do
      out[j] = ffi_cast(ptr, base + j * stride)[0]
    end
    return
  end
  for i = 0, batch.count - 1 do
    local row = base + i * ncpus * stride
    local v = ffi_cast(ptr, row)[0]
    out[i] = v
    for c = 1, ncpus - 1 do
      out[i] = out[i] + ffi_cast(ptr, row + c * stride)[0]
    end
  end
end

-- Room for n values in state[name][f], per field.
local function arrays(plan, state, name, n)
  local list = state[name] or {}
  state[name] = list
  for f, field in ipairs(plan.fields) do
    if not list[f] or list[f .. "n"] < n then
      list[f], list[f .. "n"] = field.array(n), n
    end
  end
  return list
end

-- The batch as rows.each reads it, each row's value its index in the
-- fields' arrays.
local function index_view(plan, state, batch)
  local ncpus = plan.split_cpu and batch.ncpus or 1
  local n = batch.count * ncpus
  if not state.index or state.nindex < n then
    state.nindex = math.max(n, 64)
    state.index = u64_array(state.nindex)
    for j = 0, state.nindex - 1 do
      state.index[j] = j
    end
  end
  return { keys = batch.keys, key_size = batch.key_size, count = batch.count, ncpus = ncpus, values = state.index }
end

function M.collect(plan, state, batch, buf, stats)
  local acc = rows.begin(plan, state, batch)
  local stores = field_stores(plan, state)
  local nrows = batch.count * (plan.split_cpu and batch.ncpus or 1)
  local fvals = arrays(plan, state, "fvals", math.max(nrows, 1))
  for f, field in ipairs(plan.fields) do
    extract(batch, field, fvals[f], plan.split_cpu)
  end
  local fsums = arrays(plan, state, "fsums", acc.size)
  acc.fvals, acc.fsums, acc.nfields, acc.sums = fvals, fsums, #plan.fields, fsums[1]
  rows.each(plan, state, index_view(plan, state, batch), stats, rows.sample_entry, add_row, acc)
  local n = 0
  for f, field in ipairs(plan.fields) do
    local view = { n = acc.n, order = acc.order, sums = fsums[f], signed = field.signed }
    -- A counter field's count began when its counter's did (created, for
    -- the formats that carry it); gauges have none.
    local created = field.type == "counter" and batch.created or nil
    n = n + exposition.put_samples(buf, field.family, field.help, field.type, stores[f], view, created)
  end
  return n
end

return M
