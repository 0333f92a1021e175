-- The series of one metric: every label set it has seen gets an id; its
-- text lives in one contiguous FFI arena and its per-scrape state in FFI
-- arrays, so a series costs a few bytes, not a table, and writing the output
-- reads memory in order (the same text as scattered Lua strings cost 4x as
-- much to copy out).
--
-- A store's fields, read by exposition.lua's writers: the text of series id
-- is `text_len[id]` bytes at `arena + text_at[id]`: for a sample family the
-- sample line up to the value, for a histogram its label pairs.
local ffi = require("ffi")

local M = {}

local u64_array = ffi.typeof("uint64_t[?]")
local u32_array = ffi.typeof("uint32_t[?]")
local u8_array = ffi.typeof("uint8_t[?]")

--- An empty store.
function M.new()
  return {
    ids = {}, -- series text -> id: keys of one label set share an id
    nids = 0,
    gen = 0, -- scrapes begun
    capacity = 64,
    gens = u32_array(64), -- id -> scrape that last saw it
    slots = u32_array(64), -- id -> its slot in that scrape
    text_at = u32_array(64),
    text_len = u32_array(64),
    arena = u8_array(4096),
    arena_size = 4096,
    arena_used = 0,
    acc = nil, -- this scrape's accumulator, see begin
    limit = nil, -- series kept at most (M.limit), then overflow_id for new texts
    overflow_text = nil,
    overflow_id = nil,
  }
end

--- Bounds the store to `limit` series (max_series, cardinality.lua): past
-- it, M.id gives every text it does not know the id of one more series,
-- whose text is `overflow_text`, so that the store never grows past
-- limit + 1 series whatever the map holds.
function M.limit(store, limit, overflow_text)
  store.limit, store.overflow_text = limit, overflow_text
end

local function grow(array, ctype, new)
  local grown = ctype(new)
  ffi.copy(grown, array, ffi.sizeof(array))
  return grown
end

local function store_text(store, id, text)
  local used, n = store.arena_used, #text
  if used + n > store.arena_size then
    local size = math.max(store.arena_size * 2, used + n)
    store.arena = grow(store.arena, u8_array, size)
    store.arena_size = size
  end
  ffi.copy(store.arena + used, text, n)
  store.text_at[id], store.text_len[id] = used, n
  store.arena_used = used + n
end

local new_id

-- The overflow series' id, made when first needed; a label set whose every
-- value reads "overflow" already is that series (one text, one line).
local function overflow_id(store)
  local id = store.overflow_id
  if not id then
    id = store.ids[store.overflow_text] or new_id(store, store.overflow_text)
    store.overflow_id = id
    if store.acc then
      store.acc.overflow_id = id
    end
  end
  return id
end

--- The id of a series text, new or known (past the store's limit, a new
-- text gets the overflow series' id).
function M.id(store, text)
  local id = store.ids[text]
  if id then
    return id
  elseif store.limit and store.nids >= store.limit then
    return overflow_id(store)
  end
  return new_id(store, text)
end

function new_id(store, text)
  local id = store.nids + 1
  store.nids = id
  store.ids[text] = id
  if id >= store.capacity then
    local cap = store.capacity * 2
    store.gens, store.slots = grow(store.gens, u32_array, cap), grow(store.slots, u32_array, cap)
    store.text_at, store.text_len = grow(store.text_at, u32_array, cap), grow(store.text_len, u32_array, cap)
    store.capacity = cap
    if store.acc then -- the scrape under way must write to the new arrays
      store.acc.gens, store.acc.slots = store.gens, store.slots
    end
  end
  store_text(store, id, text)
  return id
end

--- Starts a scrape: a new generation, and an accumulator with room for
-- `rows` slots. Slot s (1..acc.n) belongs to series acc.order[s]; a kind
-- keeps its per-slot values in acc.sums (add) or in arrays of its own in
-- acc, which lives as long as the store.
function M.begin(store, rows)
  store.gen = store.gen + 1
  local acc = store.acc
  if not acc then
    acc = { size = 0 }
    store.acc = acc
  end
  if acc.size < rows + 1 then
    acc.sums, acc.order, acc.size = u64_array(rows + 1), u32_array(rows + 1), rows + 1
  end
  acc.n, acc.gen, acc.gens, acc.slots = 0, store.gen, store.gens, store.slots
  acc.overflow_id, acc.folded = store.overflow_id, 0
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
