-- The scrape path: turns one map's batch (raw keys and u64 values read by the
-- core, seen through the FFI without copies) into series, and writes them.
-- Decoding happens only on label-cache misses; a warm scrape is a cache
-- lookup and a u64 add per key.
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local exposition = require("exporter.exposition")
local label_cache = require("exporter.label_cache")
local numfmt = require("exporter.numfmt")

local M = {}

local SKIP = api.SKIP
local ffi_string, ffi_cast = ffi.string, ffi.cast
local put_u64 = numfmt.put_u64
local u16p = ffi.typeof("const uint16_t *")
local u32p = ffi.typeof("const uint32_t *")
local u64p = ffi.typeof("const uint64_t *")
local u64_array = ffi.typeof("uint64_t[?]")
local u16_box = ffi.typeof("uint16_t[1]")

-- How a raw key becomes a cache key: a Lua number when its bytes fit one
-- exactly (no allocation, no string interning), else the bytes as a string.
-- Numbers are negated: a table keeps small non-negative integer keys in its
-- array part, and the JIT gives up on lookups that may hit either part.
local function key_reader(size)
  if size == 1 then
    return function(p) return -1 - p[0] end
  elseif size == 2 then
    return function(p) return -1 - ffi_cast(u16p, p)[0] end
  elseif size == 4 then
    return function(p) return -1 - ffi_cast(u32p, p)[0] end
  elseif size == 8 then
    return function(p)
      local w = ffi_cast(u32p, p)
      local hi = w[1]
      if hi < 0x200000 then -- below 2^53: exact as a double
        return -1 - (hi * 4294967296 + w[0])
      end
      return ffi_string(p, 8)
    end
  end
  return function(p) return ffi_string(p, size) end
end
M.key_reader = key_reader

-- A decoder failure costs its row and one count; the log gets each distinct
-- message once, so a broken decoder cannot flood it.
local function decode_error(stats, plan, label, err)
  stats.decoder_errors = stats.decoder_errors + 1
  local msg = ("config %s, metric %s, label %s: %s"):format(plan.config, plan.name, label.name, tostring(err))
  if not stats.logged[msg] and stats.nlogged < 100 then
    stats.logged[msg] = true
    stats.nlogged = stats.nlogged + 1
    stats.log(msg)
  end
end

-- Runs every label's decoder chain over the raw key bytes. Returns the list
-- of label values, SKIP, or nil on a decoder error. The registry's decode
-- functions never raise and return a string, SKIP, or nil and a message.
local function decode_labels(plan, raw, stats)
  local values = {}
  for i, label in ipairs(plan.labels) do
    local v = raw:sub(label.offset + 1, label.offset + label.size)
    for _, d in ipairs(label.decoders) do
      local out, err = d.decode(v)
      if out == SKIP then
        return SKIP
      elseif out == nil then
        decode_error(stats, plan, label, err)
        return nil
      end
      v = out
    end
    values[i] = v
  end
  return values
end
M.decode_labels = decode_labels

-- The label pairs of a row in name order, as client_golang writes them
-- (ebpf_exporter's output is sorted that way); `skip` leaves out the bucket.
local function label_pairs(plan, values, skip)
  local order = plan.label_order
  if not order then
    order = {}
    for i in ipairs(plan.labels) do
      if i ~= skip then
        order[#order + 1] = i
      end
    end
    table.sort(order, function(a, b) return plan.labels[a].name < plan.labels[b].name end)
    plan.label_order = order
    plan.label_names = {}
    for j, i in ipairs(order) do
      plan.label_names[j] = plan.labels[i].name
    end
  end
  local picked = {}
  for j, i in ipairs(order) do
    picked[j] = values[i]
  end
  return exposition.label_pairs(plan.label_names, picked)
end

-- The series a label set names, shared by every key that decodes to it, so
-- that their values sum. `gen` and `slot` place it in the current scrape.
-- Weak values: a series lives as long as a cache entry refers to it.
local function series_for(plan, text, make)
  local series = plan.series
  if not series then
    series = setmetatable({}, { __mode = "v" })
    plan.series = series
  end
  local s = series[text]
  if s == nil then
    s = make(text)
    s.gen, s.slot = 0, 0
    series[text] = s
  end
  return s
end

local function counter_series(line)
  return { line = line }
end

-- A counter's cache entry: its series, whose line is the sample up to the value.
local function counter_entry(plan, raw, stats)
  local values = decode_labels(plan, raw, stats)
  if values == nil or values == SKIP then
    return values
  end
  if #values == 0 then
    return series_for(plan, plan.family .. " ", counter_series)
  end
  return series_for(plan, plan.family .. "{" .. label_pairs(plan, values) .. "} ", counter_series)
end

local function histogram_series(pairs_)
  return {
    open = pairs_ == "" and "" or pairs_ .. ",",
    braced = pairs_ == "" and " " or "{" .. pairs_ .. "} ",
  }
end

-- A histogram's cache entry: its series and its bucket key.
local function histogram_entry(plan, raw, stats)
  local values = decode_labels(plan, raw, stats)
  if values == nil or values == SKIP then
    return values
  end
  local b = plan.bucket_label
  local bucket = tonumber(values[b])
  if bucket == nil or bucket ~= math.floor(bucket) then
    decode_error(stats, plan, plan.labels[b], ("bucket %q is not an integer"):format(values[b]))
    return nil
  end
  return { bucket = bucket, series = series_for(plan, label_pairs(plan, values, b), histogram_series) }
end

local function cpu_cache(plan, cpu)
  local c = plan.caches[cpu + 1]
  if not c then
    c = label_cache.new(plan.cache_size)
    plan.caches[cpu + 1] = c
  end
  return c
end

-- Calls visit(acc, entry, value) for every key of the batch whose labels
-- are cached, value a uint64_t, and returns the misses: their key indexes in
-- `misses` and their count. The loop does nothing else, so the JIT compiles
-- it whole: a decoder call inside it would abort the trace and, after a few
-- cold scrapes, get the loop blacklisted to the interpreter for good.
local function visit_hits(plan, batch, cache, cpu, visit, acc, misses)
  local keys, ks, ncpus = batch.keys, batch.key_size, batch.ncpus
  local values = ffi_cast(u64p, batch.values)
  local read_key = plan.read_key
  local young = cache.young
  local nmiss = 0
  for i = 0, batch.count - 1 do
    local e = young[read_key(keys + i * ks)]
    if e == nil then
      nmiss = nmiss + 1
      misses[nmiss] = i
    elseif e ~= SKIP then
      if cpu then
        visit(acc, e, values[i * ncpus + cpu])
      else
        local v = values[i * ncpus]
        for c = 1, ncpus - 1 do -- per-CPU map without a cpu label: CPUs summed
          v = v + values[i * ncpus + c]
        end
        visit(acc, e, v)
      end
    end
  end
  return nmiss
end

-- Looks up, or decodes and caches, the keys visit_hits missed, and visits them.
local function visit_misses(plan, batch, cache, cpu, suffix, stats, make_entry, visit, acc, misses, nmiss)
  local keys, ks, ncpus = batch.keys, batch.key_size, batch.ncpus
  local values = ffi_cast(u64p, batch.values)
  for j = 1, nmiss do
    local i = misses[j]
    local p = keys + i * ks
    local ck = plan.read_key(p)
    local e = cache:get(ck)
    if e == nil then
      e = make_entry(plan, ffi_string(p, ks) .. suffix, stats)
      if e ~= nil then
        cache:put(ck, e)
      end
    end
    if e ~= nil and e ~= SKIP then
      local v = values[i * ncpus + (cpu or 0)]
      if not cpu then
        for c = 1, ncpus - 1 do
          v = v + values[i * ncpus + c]
        end
      end
      visit(acc, e, v)
    end
  end
end

-- Visits every row of the batch: one per key, or per key and CPU when the
-- plan splits by CPU. make_entry and visit are module-level functions, never
-- fresh closures: the JIT specialises calls on the function's identity.
local function each_row(plan, batch, stats, make_entry, visit, acc)
  if batch.count == 0 then
    return
  end
  if not plan.read_key then
    plan.read_key = key_reader(batch.key_size)
  end
  local misses = plan.misses
  if not misses then
    misses = {}
    plan.misses = misses
  end
  if not plan.split_cpu then
    local cache = plan.caches[1]
    local nmiss = visit_hits(plan, batch, cache, nil, visit, acc, misses)
    visit_misses(plan, batch, cache, nil, "", stats, make_entry, visit, acc, misses, nmiss)
    return
  end
  local cpu_bytes = u16_box()
  for c = 0, batch.ncpus - 1 do
    local cache = cpu_cache(plan, c)
    cpu_bytes[0] = c
    local nmiss = visit_hits(plan, batch, cache, c, visit, acc, misses)
    visit_misses(plan, batch, cache, c, ffi_string(cpu_bytes, 2), stats, make_entry, visit, acc, misses, nmiss)
  end
end

-- Equal label sets sum: several cgroup ids can name one path, and an
-- unlabelled metric is the sum of every key. Keys of one label set share one
-- series table, so the first row of a series in this scrape gives it a slot.
local function add_counter_row(acc, series, v)
  local gen = acc.gen
  if series.gen ~= gen then
    local n = acc.n + 1
    acc.n = n
    series.gen, series.slot = gen, n
    acc.order[n] = series
    acc.sums[n] = v
  else
    local s = series.slot
    acc.sums[s] = acc.sums[s] + v
  end
end

--- Writes a counter family from its batch. Returns the number of series.
function M.counter(plan, batch, buf, stats)
  local rows = batch.count * (plan.split_cpu and batch.ncpus or 1)
  local acc = plan.acc
  if not acc then
    acc = { order = {}, size = 0, gen = 0 }
    plan.acc = acc
  end
  if acc.size < rows + 1 then
    acc.sums, acc.size = u64_array(rows + 1), rows + 1
  end
  acc.n = 0
  acc.gen = acc.gen + 1
  each_row(plan, batch, stats, counter_entry, add_counter_row, acc)
  local n, order, sums = acc.n, acc.order, acc.sums
  if n == 0 then
    return 0
  end
  exposition.put_header(buf, plan.family, plan.help, "counter")
  for s = 1, n do
    buf:put(order[s].line)
    put_u64(buf, sums[s])
    buf:put("\n")
  end
  return n
end

local function put_number(buf, f)
  buf:put(numfmt.value(f))
end

local function add_histogram_row(acc, e, v)
  local pos = acc.position[e.bucket]
  if pos == nil and e.bucket ~= acc.sum_key then
    return -- outside bucket_min..bucket_max: not part of the histogram
  end
  local series = e.series
  local h
  if series.gen ~= acc.gen then
    h = { series = series, sum = 0 }
    for i = 1, acc.nb do
      h[i] = 0
    end
    acc.n = acc.n + 1
    series.gen, series.slot = acc.gen, acc.n
    acc.order[acc.n] = h
  else
    h = acc.order[series.slot]
  end
  if pos then
    h[pos] = h[pos] + tonumber(v)
  else
    h.sum = h.sum + tonumber(v)
  end
end

--- Writes a histogram family from its batch. Returns the number of series.
function M.histogram(plan, batch, buf, stats)
  local set = plan.buckets
  local position, sum_key = set.position, set.sum_key
  local nb = #set.keys
  plan.gen = (plan.gen or 0) + 1
  local acc = { order = {}, n = 0, nb = nb, position = position, sum_key = sum_key, gen = plan.gen }
  each_row(plan, batch, stats, histogram_entry, add_histogram_row, acc)
  local n, order = acc.n, acc.order
  if n == 0 then
    return 0
  end
  local family = plan.family
  local bucket_open = family .. "_bucket{"
  local le = plan.le_parts
  if not le then
    le = {}
    for i = 1, nb do
      le[i] = 'le="' .. set.le[i] .. '"} '
    end
    le[nb + 1] = 'le="+Inf"} '
    plan.le_parts = le
  end
  local sum_name, count_name = family .. "_sum", family .. "_count"
  local mult = set.multiplier
  exposition.put_header(buf, family, plan.help, "histogram")
  for s = 1, n do
    local h = order[s]
    local e = h.series
    local total = 0
    for i = 1, nb do
      total = total + h[i]
      buf:put(bucket_open, e.open, le[i])
      put_u64(buf, total)
      buf:put("\n")
    end
    buf:put(bucket_open, e.open, le[nb + 1])
    put_u64(buf, total)
    buf:put("\n", sum_name, e.braced)
    put_number(buf, h.sum * mult)
    buf:put("\n", count_name, e.braced)
    put_u64(buf, total)
    buf:put("\n")
  end
  return n
end

return M
