-- The scrape path: turns one map's batch (raw keys and u64 values read by the
-- core, seen through the FFI without copies) into series, and writes them.
--
-- Every label set a metric has seen is a series id; its text lives in one
-- contiguous FFI arena and its per-scrape state in FFI arrays, so a series
-- costs a few bytes, not a table, and writing the output reads memory in order
-- (the same text as scattered Lua strings cost 4x as much to copy out). A label cache maps raw keys to ids
-- (0 for rows a decoder skipped), so a warm scrape is one table lookup and a
-- u64 add per key; decoding happens only on misses.
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local exposition = require("exporter.exposition")
local label_cache = require("exporter.label_cache")
local numfmt = require("exporter.numfmt")

local M = {}

local SKIP, UNCACHED = api.SKIP, api.UNCACHED
local SKIPPED = 0 -- the label cache's value for a row that is never exported
local DROPPED = -1 -- make_entry's answer for a row a decoder dropped (api.SKIP)
local ffi_string, ffi_cast, floor = ffi.string, ffi.cast, math.floor
local put_u64 = numfmt.put_u64
local u16p = ffi.typeof("const uint16_t *")
local u32p = ffi.typeof("const uint32_t *")
local u64p = ffi.typeof("const uint64_t *")
local u64_array = ffi.typeof("uint64_t[?]")
local u32_array = ffi.typeof("uint32_t[?]")
local u8_array = ffi.typeof("uint8_t[?]")
local double_array = ffi.typeof("double[?]")
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
-- of label values (and true when a decoder marked its answer UNCACHED), SKIP,
-- or nil on a decoder error. The registry's decode functions never raise and
-- return a string (maybe with UNCACHED), SKIP, or nil and a message.
local function decode_labels(plan, raw, stats)
  local values, uncached = {}, false
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
      uncached = uncached or err == UNCACHED
      v = out
    end
    values[i] = v
  end
  return values, uncached
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

-- Per-metric series state, made at the first scrape and dropped whole when
-- it outgrows its bound (see series_id).
local function reset_series(plan)
  plan.caches = {}
  plan.skips = {} -- per CPU: keys whose rows a decoder dropped, when skip_cache_size > 0
  plan.ids = {} -- series text -> id: keys of one label set share an id
  plan.nids = 0
  plan.gen = 0
  plan.capacity = 64
  plan.gens = u32_array(64) -- id -> scrape that last saw it
  plan.slots = u32_array(64) -- id -> its slot in that scrape
  -- id -> its text in the arena: the sample line up to the value (counters)
  -- or the label pairs (histograms)
  plan.text_at = u32_array(64)
  plan.text_len = u32_array(64)
  plan.arena, plan.arena_size, plan.arena_used = u8_array(4096), 4096, 0
end

local function grow(array, ctype, new)
  local grown = ctype(new)
  ffi.copy(grown, array, ffi.sizeof(array))
  return grown
end

local function store_text(plan, id, text)
  local used, n = plan.arena_used, #text
  if used + n > plan.arena_size then
    local size = math.max(plan.arena_size * 2, used + n)
    plan.arena = grow(plan.arena, u8_array, size)
    plan.arena_size = size
  end
  ffi.copy(plan.arena + used, text, n)
  plan.text_at[id], plan.text_len[id] = used, n
  plan.arena_used = used + n
end

local function cache_for(plan, cpu)
  local c = plan.caches[cpu + 1]
  if not c then
    c = label_cache.new(plan.cache_size)
    plan.caches[cpu + 1] = c
  end
  return c
end

-- The skip cache keeps the rows decoders drop (regexp misses) apart from the
-- label cache, with its own bound (--config.skip-cache-size); 0 turns it off
-- and such rows are decoded again at every scrape, as in ebpf_exporter.
local function skips_for(plan, cpu)
  if plan.skip_cache_size < 1 then
    return nil
  end
  local c = plan.skips[cpu + 1]
  if not c then
    c = label_cache.new(plan.skip_cache_size)
    plan.skips[cpu + 1] = c
  end
  return c
end

-- The id of a series text, new or known. Ids only grow while keys come and
-- go, so past twice what the caches hold the whole state starts afresh:
-- memory stays bounded and a stable key set never gets there.
local function series_id(plan, text)
  local id = plan.ids[text]
  if id then
    return id
  end
  id = plan.nids + 1
  plan.nids = id
  plan.ids[text] = id
  if id >= plan.capacity then
    local cap = plan.capacity * 2
    plan.gens, plan.slots = grow(plan.gens, u32_array, cap), grow(plan.slots, u32_array, cap)
    plan.text_at, plan.text_len = grow(plan.text_at, u32_array, cap), grow(plan.text_len, u32_array, cap)
    plan.capacity = cap
    if plan.acc then -- the scrape under way must write to the new arrays
      plan.acc.gens, plan.acc.slots = plan.gens, plan.slots
    end
  end
  store_text(plan, id, text)
  return id
end

local function too_many_series(plan)
  return plan.nids > 2 * plan.cache_size * #plan.caches + 1024
end

-- A counter's cache value: the id of its series, whose text is the sample
-- line up to the value.
local function counter_entry(plan, raw, stats)
  local values, uncached = decode_labels(plan, raw, stats)
  if values == nil then
    return nil
  elseif values == SKIP then
    return DROPPED
  elseif #values == 0 then
    return series_id(plan, plan.family .. " "), uncached
  end
  return series_id(plan, plan.family .. "{" .. label_pairs(plan, values) .. "} "), uncached
end

-- A histogram's cache value: series id and bucket position in one number,
-- id * span + position; position nb + 1 is the sum key. Keys outside
-- bucket_min..bucket_max are not part of the histogram: cached as skipped.
local function histogram_entry(plan, raw, stats)
  local values, uncached = decode_labels(plan, raw, stats)
  if values == nil then
    return nil
  elseif values == SKIP then
    return DROPPED
  end
  local b = plan.bucket_label
  local bucket = tonumber(values[b])
  if bucket == nil or bucket ~= floor(bucket) then
    decode_error(stats, plan, plan.labels[b], ("bucket %q is not an integer"):format(values[b]))
    return nil
  end
  local set = plan.buckets
  local pos = set.position[bucket] or (bucket == set.sum_key and #set.keys + 1)
  if not pos then
    return SKIPPED
  end
  return series_id(plan, label_pairs(plan, values, b)) * (#set.keys + 2) + pos, uncached
end

-- Calls visit(acc, entry, value) for every key of the batch whose entry is
-- cached, value a uint64_t, and returns the misses: their key indexes in
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
    elseif e ~= SKIPPED then
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
  local skips = skips_for(plan, cpu or 0)
  for j = 1, nmiss do
    local i = misses[j]
    local p = keys + i * ks
    local ck = plan.read_key(p)
    local e = cache:get(ck)
    if e == nil and skips and skips:get(ck) then
      e = SKIPPED
    elseif e == nil then
      local uncached
      local raw = suffix == "" and ffi_string(p, ks) or ffi_string(p, ks) .. suffix
      e, uncached = make_entry(plan, raw, stats)
      if e == DROPPED then
        if skips then
          skips:put(ck, true)
        end
        e = SKIPPED
      elseif e ~= nil and not uncached then
        cache:put(ck, e)
      end
    end
    if e ~= nil and e ~= SKIPPED then
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
    local cache = cache_for(plan, 0)
    local nmiss = visit_hits(plan, batch, cache, nil, visit, acc, misses)
    visit_misses(plan, batch, cache, nil, "", stats, make_entry, visit, acc, misses, nmiss)
    return
  end
  local cpu_bytes = u16_box()
  for c = 0, batch.ncpus - 1 do
    local cache = cache_for(plan, c)
    cpu_bytes[0] = c
    local nmiss = visit_hits(plan, batch, cache, c, visit, acc, misses)
    visit_misses(plan, batch, cache, c, ffi_string(cpu_bytes, 2), stats, make_entry, visit, acc, misses, nmiss)
  end
end

-- Starts a scrape of a plan: a new generation, and room for `rows` slots.
local function begin(plan, rows)
  if not plan.ids or too_many_series(plan) then
    reset_series(plan)
  end
  plan.gen = plan.gen + 1
  local acc = plan.acc
  if not acc then
    acc = { size = 0 }
    plan.acc = acc
  end
  if acc.size < rows + 1 then
    acc.sums, acc.order, acc.size = u64_array(rows + 1), u32_array(rows + 1), rows + 1
  end
  acc.n, acc.gen, acc.gens, acc.slots = 0, plan.gen, plan.gens, plan.slots
  return acc
end

-- Equal label sets sum: several cgroup ids can name one path, and an
-- unlabelled metric is the sum of every key. The first row of a series in
-- this scrape gives it a slot.
local function add_counter_row(acc, id, v)
  if acc.gens[id] ~= acc.gen then
    local n = acc.n + 1
    acc.n = n
    acc.gens[id], acc.slots[id] = acc.gen, n
    acc.order[n] = id
    acc.sums[n] = v
  else
    local s = acc.slots[id]
    acc.sums[s] = acc.sums[s] + v
  end
end

--- Writes a counter family from its batch. Returns the number of series.
function M.counter(plan, batch, buf, stats)
  local acc = begin(plan, batch.count * (plan.split_cpu and batch.ncpus or 1))
  each_row(plan, batch, stats, counter_entry, add_counter_row, acc)
  local n, order, sums = acc.n, acc.order, acc.sums
  if n == 0 then
    return 0
  end
  local arena, text_at, text_len = plan.arena, plan.text_at, plan.text_len
  exposition.put_header(buf, plan.family, plan.help, "counter")
  for s = 1, n do
    local id = order[s]
    buf:putcdata(arena + text_at[id], text_len[id])
    put_u64(buf, sums[s])
    buf:put("\n")
  end
  return n
end

-- Adds a row to its series' bucket counts: slot s holds span doubles from
-- s * span, the buckets then the sum.
local function add_histogram_row(acc, code, v)
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
  acc.counts[s * span + pos] = acc.counts[s * span + pos] + tonumber(v)
end

local function put_number(buf, f)
  buf:put(numfmt.value(f))
end

--- Writes a histogram family from its batch.
function M.histogram(plan, batch, buf, stats)
  local set = plan.buckets
  local nb = #set.keys
  local span = nb + 2
  local acc = begin(plan, batch.count * (plan.split_cpu and batch.ncpus or 1))
  if not acc.counts then
    acc.counts, acc.ncounts = double_array(64 * span), 64 * span
  end
  acc.span = span
  each_row(plan, batch, stats, histogram_entry, add_histogram_row, acc)
  local n, order, counts = acc.n, acc.order, acc.counts
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
  local arena, text_at, text_len = plan.arena, plan.text_at, plan.text_len
  exposition.put_header(buf, family, plan.help, "histogram")
  for s = 1, n do
    local id = order[s]
    local pairs_, len = arena + text_at[id], text_len[id]
    local sep = len > 0 and "," or ""
    local base = s * span
    local total = 0
    for i = 1, nb + 1 do
      if i <= nb then
        total = total + counts[base + i]
      end
      buf:put(bucket_open)
      buf:putcdata(pairs_, len)
      buf:put(sep, le[i])
      put_u64(buf, total)
      buf:put("\n")
    end
    buf:put(sum_name)
    if len > 0 then
      buf:put("{"):putcdata(pairs_, len):put("} ")
    else
      buf:put(" ")
    end
    put_number(buf, counts[base + nb + 1] * mult)
    buf:put("\n", count_name)
    if len > 0 then
      buf:put("{"):putcdata(pairs_, len):put("} ")
    else
      buf:put(" ")
    end
    put_u64(buf, total)
    buf:put("\n")
  end
  return n
end

return M
