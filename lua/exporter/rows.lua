-- The rows of a batch (one per key, or per key and CPU when a metric splits
-- by CPU) and a metric's state between scrapes. The label cache of its
-- series store (series.lua) maps each raw key to its kind's entry (a series
-- id, or what the kind packs into one number; SKIPPED for rows never
-- exported), so a warm scrape is one call of the core that looks up every
-- key of the batch and a u64 add per key; decoding happens only on misses.
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local labels = require("exporter.labels")
local series = require("exporter.series")

local M = {}

local SKIP = api.SKIP
local SKIPPED = 0 -- the entry of a row that is never exported
local DROPPED = -1 -- make_entry's answer for a row a decoder dropped (api.SKIP)
M.SKIPPED, M.DROPPED = SKIPPED, DROPPED
local ffi_string, ffi_cast = ffi.string, ffi.cast
local u64p = ffi.typeof("const uint64_t *")
local u16_box = ffi.typeof("uint16_t[1]")
local double_array = ffi.typeof("double[?]")
local u32_array = ffi.typeof("uint32_t[?]")
local text_buf = require("string.buffer").new(256)

--- A metric's state between scrapes, for the plan it was made for: its
-- series store (series.lua), which holds the label cache of its keys (one
-- lane per CPU when the plan splits by CPU), and scratch for the walk. With
-- a fingerprint (fingerprint.lua) the store is the running configuration's
-- when it has that metric unchanged, so a reload's first scrape is warm;
-- `fresh` starts afresh all the same. The plan itself never changes after bind.
function M.new_state(fingerprint, fresh)
  return { series = series.new(fingerprint, fresh), fingerprint = fingerprint, entries = nil, misses = nil,
    rows = 0, values = {}, at = -1 }
end

--- Starts a scrape of a metric: returns its accumulator (series.begin).
-- Keys are cached up to twice the cache size per lane (keys that went away
-- leave at a sweep), rows decoders dropped up to the skip cache size. A
-- metric with max_series bounds its series (cardinality.lua), and starts
-- afresh when label sets that left hold places others wait for
-- (cardinality.stale).
function M.begin(plan, state, batch)
  if plan.max_series then
    if cardinality.stale(state.series) then
      state.series = series.new(state.fingerprint, true)
    end
    series.limit(state.series, plan.max_series, plan.overflow_text)
  end
  series.bound(state.series, 2 * plan.cache_size, plan.skip_cache_size)
  return series.begin(state.series, batch.count * (plan.split_cpu and batch.ncpus or 1))
end

-- Calls visit(acc, entry, value) for every row whose key's entry was cached
-- (found by series.find: -1 for a miss, SKIPPED for a row never exported),
-- value a uint64_t. The loop does nothing else, so the JIT compiles it
-- whole: a decoder call inside it would abort the trace and, after a few
-- cold scrapes, get the loop blacklisted to the interpreter for good.
local function visit_hits(batch, entries, cpu, visit, acc)
  local ncpus = batch.ncpus
  local values = ffi_cast(u64p, batch.values)
  for i = 0, batch.count - 1 do
    local e = entries[i]
    if e > 0 then
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
end

-- The entry of a missed key, decoded (make_entry) and cached unless its
-- decoder said UNCACHED or failed (nil). The series it holds: make_entry's
-- third answer, else the id series.id gave it.
local function miss_entry(plan, state, p, ks, lane, suffix, stats, make_entry)
  local store = state.series
  local raw = suffix == "" and ffi_string(p, ks) or ffi_string(p, ks) .. suffix
  store.last_id = 0
  local e, uncached, id = make_entry(plan, state, raw, stats)
  if e == DROPPED then
    series.put(store, lane, p, ks, SKIPPED, 0, true)
    return SKIPPED
  elseif e ~= nil and not uncached then
    series.put(store, lane, p, ks, e, id or store.last_id, false)
  end
  return e
end

-- Decodes, caches and visits misses from..to-1 (indexes into state.misses).
-- state.at is the miss being decoded, -1 once it is visited.
local function visit_range(plan, state, batch, cpu, suffix, stats, make_entry, visit, acc, from, to)
  local keys, ks, ncpus = batch.keys, batch.key_size, batch.ncpus
  local values = ffi_cast(u64p, batch.values)
  local misses = state.misses
  for j = from, to - 1 do
    local i = misses[j]
    state.at = j
    local e = miss_entry(plan, state, keys + i * ks, ks, cpu or 0, suffix, stats, make_entry)
    state.at = -1
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

-- Decodes and caches the keys series.find missed, and visits them, in one
-- pass of labels.lua's: a label's repeated input is decoded once, built-in
-- decoders are called directly. When something raises while a key is
-- decoded (a built-in decoder's bug, say), that key is decoded again with
-- each decoder under its pcall (labels.safely), so a raising decoder costs
-- its row, and the pass goes on; a second raise, the scrape's time running
-- out or a users' decoder past its budget goes up.
local function visit_misses(plan, state, batch, cpu, suffix, stats, make_entry, visit, acc, nmiss)
  if nmiss == 0 then
    return
  end
  labels.begin_pass(plan)
  local from = 0
  while from < nmiss do
    local ok, err = pcall(visit_range, plan, state, batch, cpu, suffix, stats, make_entry, visit, acc, from, nmiss)
    if ok then
      break
    end
    local at = state.at
    if at >= 0 and not labels.ends_pass(err) then
      ok, err = labels.safely(plan, visit_range, plan, state, batch, cpu, suffix, stats, make_entry, visit, acc,
        at, at + 1)
    end
    if not ok then
      labels.end_pass(plan)
      error(err, 0)
    end
    from = at + 1
  end
  labels.end_pass(plan)
end

-- Room for a batch's entries and misses.
local function scratch(state, count)
  if state.rows < count then
    state.entries, state.misses, state.rows = double_array(count), u32_array(count), count
  end
end

--- Visits every row of the batch: visit(acc, entry, value) with the entry
-- that make_entry(plan, state, raw, stats) gave its key (raw: the key bytes,
-- then the 2-byte CPU index when the plan splits by CPU). make_entry returns
-- the entry (a number > 0, SKIPPED or DROPPED; nil on a decoder error), true
-- when it must not be cached, and optionally the id of the series the entry
-- holds (else the last one series.id gave). make_entry and visit must be
-- module-level functions, never fresh closures: the JIT specialises calls on
-- the function's identity.
function M.each(plan, state, batch, stats, make_entry, visit, acc)
  local count = batch.count
  if count == 0 then
    return
  end
  scratch(state, count)
  local store, entries, misses, ks = state.series, state.entries, state.misses, batch.key_size
  if not plan.split_cpu then
    local nmiss = series.find(store, 0, batch.keys, count, ks, entries, misses)
    visit_hits(batch, entries, nil, visit, acc)
    visit_misses(plan, state, batch, nil, "", stats, make_entry, visit, acc, nmiss)
    return
  end
  local cpu_bytes = u16_box()
  for c = 0, batch.ncpus - 1 do
    cpu_bytes[0] = c
    local nmiss = series.find(store, c, batch.keys, count, ks, entries, misses)
    visit_hits(batch, entries, c, visit, acc)
    visit_misses(plan, state, batch, c, ffi_string(cpu_bytes, 2), stats, make_entry, visit, acc, nmiss)
  end
end

--- The entry of a kind whose series are sample lines (a counter): the id of
-- its series, whose text is the sample line after the family name, up to the
-- value (exposition.put_sample_labels).
-- The text is put together in text_buf and handed to the store from there.
function M.sample_entry(plan, state, raw, stats)
  local values, uncached = labels.decode(plan, raw, stats, state.values)
  if values == nil then
    return nil
  elseif values == SKIP then
    return DROPPED
  end
  local order = plan.label_order
  text_buf:reset()
  exposition.put_sample_labels(text_buf, order.names, order.index, values)
  return series.id_bytes(state.series, text_buf:ref()), uncached
end

--- Walks a batch into one sum per series of sample lines; returns the
-- accumulator (series.begin) that exposition.put_samples writes.
function M.sum(plan, state, batch, stats)
  local acc = M.begin(plan, state, batch)
  M.each(plan, state, batch, stats, M.sample_entry, plan.max_series and series.add_guarded or series.add, acc)
  return acc
end

return M
