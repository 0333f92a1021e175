-- The series of one metric and the label cache of its keys, in a store of
-- the core's (core/series_store.c, struct elx_series_store in abi.h): its
-- memory is outside the Lua heap, so a series costs a few bytes, not a
-- table and a string, writing the output reads memory in order, and the
-- configuration that a reload makes opens the very store the running one
-- fills when the metric's fingerprint (fingerprint.lua) did not change.
--
-- A store's fields, read by exposition.lua's writers: the text of series id
-- is `text_len[id]` bytes at `arena + text_at[id]`: for a sample family the
-- sample line after the family name up to the value, for a histogram its
-- label pairs.
local ffi = require("ffi")
local abi = require("exporter.abi") -- declares the store's functions

local M = {}

local u64_array = ffi.typeof("uint64_t[?]")
local u32_array = ffi.typeof("uint32_t[?]")

-- Inside the exporter the store's functions are the binary's own; specs and
-- tools load the same C file built as a library of its own (CMakeLists.txt),
-- from $ELX_BUILD (default "build").
local lib

local function library()
  if not lib then
    if abi.core_available() then
      lib = ffi.C
    else
      local path = (os.getenv("ELX_BUILD") or "build") .. "/libelx_series.so"
      lib = assert(require("exporter.libc").load_library({ path }))
    end
  end
  return lib
end

-- A store seen from Lua: `c` the core's, whose fields (arena, text_at,
-- text_len, nids, nseries, nkeys, gen) read through; `acc` this Lua state's
-- accumulator (begin); `last_id` the id `id` gave last.
local Store = {
  __index = function(store, k)
    return store.c[k]
  end,
}

--- A store: the one registered under `fingerprint` (the running
-- configuration's, taken over), or a new one; with `fresh`, always a new one
-- registered in its place. Without a fingerprint, a store of its own.
-- store.adopted says whether it was taken over.
function M.new(fingerprint, fresh)
  local l = library()
  local adopted = ffi.new("int[1]")
  local c = l.elx_series_store_open(fingerprint, fresh and 1 or 0, adopted)
  if c == nil then
    error("out of memory for a series store")
  end
  return setmetatable({ c = ffi.gc(c, l.elx_series_store_close), acc = false, last_id = 0,
    adopted = adopted[0] == 1 }, Store)
end

--- The bounds of the key cache: rows with series, rows decoders dropped.
function M.bound(store, max_keys, max_skips)
  lib.elx_series_store_bound(store.c, max_keys, max_skips)
end

--- Bounds the store to `limit` series (max_series, cardinality.lua): past
-- it, M.id gives every text it does not know the id of one more series,
-- whose text is `overflow_text`, so that the store never holds more than
-- limit + 1 series whatever the map holds (the core does the folding).
function M.limit(store, limit, overflow_text)
  if lib.elx_series_store_limit(store.c, limit, overflow_text, #overflow_text) ~= 0 then
    error("out of memory for a series store's overflow text")
  end
end

-- The id arrays grew (a new id, or room made for a batch's misses): the
-- scrape under way writes to the new ones. The overflow series may have
-- been made by the last id.
local function follow(store, c)
  local acc = store.acc
  if acc then
    acc.overflow_id = c.overflow_id
    if acc.capacity ~= c.capacity then
      acc.gens, acc.slots, acc.capacity = c.gens, c.slots, c.capacity
    end
  end
end

--- The id of a series text, new or known.
function M.id(store, text)
  local c = store.c
  local id = lib.elx_series_store_id(c, text, #text)
  if id == 0 then
    error("out of memory for series " .. text)
  end
  store.last_id = id
  follow(store, c)
  return id
end

--- The id of the series text of `len` bytes at pointer `p` (a string.buffer's
-- ref), new or known: no Lua string is made.
function M.id_bytes(store, p, len)
  local c = store.c
  local id = lib.elx_series_store_id(c, p, len)
  if id == 0 then
    error("out of memory for a series")
  end
  store.last_id = id
  follow(store, c)
  return id
end

--- Looks up the `count` keys of `key_size` bytes at `keys` on `lane`:
-- entries[i] (a double array) is the entry cached for key i, or -1 with i
-- in misses (a uint32 array). Returns the number of misses.
function M.find(store, lane, keys, count, key_size, entries, misses)
  local c = store.c
  local nmiss = lib.elx_series_store_find(c, lane, keys, count, key_size, entries, misses)
  follow(store, c)
  return nmiss
end

--- Caches key (a pointer to key_size bytes) -> entry, which holds series
-- `id` (0: none); `dropped` when a decoder dropped the row. Past the bounds
-- the key is not cached: it is decoded again at the next scrape.
function M.put(store, lane, key, key_size, entry, id, dropped)
  lib.elx_series_store_put(store.c, lane, key, key_size, entry, id, dropped and 1 or 0)
end

--- Starts a scrape: a new generation (keys and series long gone are swept),
-- and an accumulator with room for `rows` slots. Slot s (1..acc.n) belongs
-- to series acc.order[s]; a kind keeps its per-slot values in acc.sums (add)
-- or in arrays of its own in acc, which lives as long as the store.
function M.begin(store, rows)
  local c = store.c
  lib.elx_series_store_begin(c)
  local acc = store.acc
  if not acc then
    acc = { size = 0 }
    store.acc = acc
  end
  if acc.size < rows + 1 then
    acc.sums, acc.order, acc.size = u64_array(rows + 1), u32_array(rows + 1), rows + 1
  end
  acc.n, acc.gen, acc.gens, acc.slots, acc.capacity = 0, c.gen, c.gens, c.slots, c.capacity
  acc.overflow_id, acc.folded = c.overflow_id, 0
  return acc
end

--- Adds a row's value to its series' sum: equal label sets sum (several
-- cgroup ids can name one path, and an unlabelled metric is the sum of every
-- key). The first row of a series in this scrape gives it a slot.
function M.add(acc, id, v)
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

--- add, for a store with a limit: also counts in acc.folded the rows added
-- to the overflow series.
function M.add_guarded(acc, id, v)
  M.add(acc, id, v)
  if id == acc.overflow_id then
    acc.folded = acc.folded + 1
  end
end

return M
