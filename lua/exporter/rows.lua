-- The rows of a batch (one per key, or per key and CPU when a metric splits
-- by CPU) and a metric's state between scrapes. A label cache maps each raw
-- key to its kind's entry (a series id, or what the kind packs into one
-- number; SKIPPED for rows never exported), so a warm scrape is one table
-- lookup and a u64 add per key; decoding happens only on misses.
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local label_cache = require("exporter.label_cache")
local labels = require("exporter.labels")
local series = require("exporter.series")

local M = {}

local SKIP = api.SKIP
local SKIPPED = 0 -- the label cache's value for a row that is never exported
local DROPPED = -1 -- make_entry's answer for a row a decoder dropped (api.SKIP)
M.SKIPPED, M.DROPPED = SKIPPED, DROPPED
local ffi_string, ffi_cast = ffi.string, ffi.cast
local u16p = ffi.typeof("const uint16_t *")
local u32p = ffi.typeof("const uint32_t *")
local u64p = ffi.typeof("const uint64_t *")
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

--- A metric's state between scrapes, for the plan it was made for: its label
-- caches and skip caches (one per CPU when the plan splits by CPU), its
-- series store, and scratch for the walk. The plan itself never changes
-- after bind.
function M.new_state()
  return { caches = {}, skips = {}, series = series.new(), misses = {}, read_key = nil }
end

local function cache_for(plan, state, cpu)
  local c = state.caches[cpu + 1]
  if not c then
    c = label_cache.new(plan.cache_size)
    state.caches[cpu + 1] = c
  end
  return c
end

-- The skip cache keeps the rows decoders drop (regexp misses) apart from the
-- label cache, with its own bound (--config.skip-cache-size); 0 turns it off
-- and such rows are decoded again at every scrape, as in ebpf_exporter.
local function skips_for(plan, state, cpu)
  if plan.skip_cache_size < 1 then
    return nil
  end
  local c = state.skips[cpu + 1]
  if not c then
    c = label_cache.new(plan.skip_cache_size)
    state.skips[cpu + 1] = c
  end
  return c
end

--- Starts a scrape of a metric: returns its accumulator (series.begin).
-- Series ids only grow while keys come and go, so past twice what the caches
-- hold the state starts afresh: memory stays bounded and a stable key set
-- never gets there. A metric with max_series also starts afresh when label
-- sets that left hold places others wait for (cardinality.stale).
function M.begin(plan, state, batch)
  if state.series.nids > 2 * plan.cache_size * #state.caches + 1024
    or plan.max_series and cardinality.stale(state.series) then
    state.caches, state.skips, state.series = {}, {}, series.new()
  end
  if plan.max_series then -- the cardinality guard (cardinality.lua)
    series.limit(state.series, plan.max_series, plan.overflow_text)
  end
  return series.begin(state.series, batch.count * (plan.split_cpu and batch.ncpus or 1))
end

-- Calls visit(acc, entry, value) for every key of the batch whose entry is
-- cached, value a uint64_t, and returns the misses: their key indexes in
-- `misses` and their count. The loop does nothing else, so the JIT compiles
-- it whole: a decoder call inside it would abort the trace and, after a few
-- cold scrapes, get the loop blacklisted to the interpreter for good.
local function visit_hits(read_key, batch, cache, cpu, visit, acc, misses)
  local keys, ks, ncpus = batch.keys, batch.key_size, batch.ncpus
  local values = ffi_cast(u64p, batch.values)
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

-- The entry of a missed key: from the caches, or decoded (make_entry) and
-- cached unless its decoder said UNCACHED or failed (nil).
local function miss_entry(plan, state, p, ks, cache, skips, suffix, stats, make_entry)
  local ck = state.read_key(p)
  local e = cache:get(ck)
  if e == nil and skips and skips:get(ck) then
    return SKIPPED
  elseif e ~= nil then
    return e
  end
  local raw = suffix == "" and ffi_string(p, ks) or ffi_string(p, ks) .. suffix
  local uncached
  e, uncached = make_entry(plan, state, raw, stats)
  if e == DROPPED then
    if skips then
      skips:put(ck, true)
    end
    return SKIPPED
  elseif e ~= nil and not uncached then
    cache:put(ck, e)
  end
  return e
end

-- Looks up, or decodes and caches, the keys visit_hits missed, and visits them.
local function visit_misses(plan, state, batch, cache, cpu, suffix, stats, make_entry, visit, acc, nmiss)
  local keys, ks, ncpus = batch.keys, batch.key_size, batch.ncpus
  local values = ffi_cast(u64p, batch.values)
  local skips = skips_for(plan, state, cpu or 0)
  local misses = state.misses
  for j = 1, nmiss do
    local i = misses[j]
    local e = miss_entry(plan, state, keys + i * ks, ks, cache, skips, suffix, stats, make_entry)
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

--- Visits every row of the batch: visit(acc, entry, value) with the entry
-- that make_entry(plan, state, raw, stats) gave its key (raw: the key bytes,
-- then the 2-byte CPU index when the plan splits by CPU). make_entry and
-- visit must be module-level functions, never fresh closures: the JIT
-- specialises calls on the function's identity.
function M.each(plan, state, batch, stats, make_entry, visit, acc)
  if batch.count == 0 then
    return
  end
  if not state.read_key then
    state.read_key = key_reader(batch.key_size)
  end
  local read_key, misses = state.read_key, state.misses
  if not plan.split_cpu then
    local cache = cache_for(plan, state, 0)
    local nmiss = visit_hits(read_key, batch, cache, nil, visit, acc, misses)
    visit_misses(plan, state, batch, cache, nil, "", stats, make_entry, visit, acc, nmiss)
    return
  end
  local cpu_bytes = u16_box()
  for c = 0, batch.ncpus - 1 do
    local cache = cache_for(plan, state, c)
    cpu_bytes[0] = c
    local nmiss = visit_hits(read_key, batch, cache, c, visit, acc, misses)
    visit_misses(plan, state, batch, cache, c, ffi_string(cpu_bytes, 2), stats, make_entry, visit, acc, nmiss)
  end
end

--- The entry of a kind whose series are sample lines (a counter): the id of
-- its series, whose text is the sample line up to the value.
function M.sample_entry(plan, state, raw, stats)
  local values, uncached = labels.decode(plan, raw, stats)
  if values == nil then
    return nil
  elseif values == SKIP then
    return DROPPED
  end
  local pairs_text = #values > 0 and labels.pairs_text(plan.label_order, values) or ""
  return series.id(state.series, exposition.sample_start(plan.family, pairs_text)), uncached
end

--- Walks a batch into one sum per series of sample lines; returns the
-- accumulator (series.begin) that exposition.put_samples writes.
function M.sum(plan, state, batch, stats)
  local acc = M.begin(plan, state, batch)
  M.each(plan, state, batch, stats, M.sample_entry, plan.max_series and series.add_guarded or series.add, acc)
  return acc
end

return M
