-- A read-only table from ids (integers 0 .. 2^32-1) to names, kept outside
-- the Lua heap: ascending uint32 ids, name offsets and one arena of names, in
-- malloc'd memory that the garbage collector neither counts nor walks. For
-- the large indexes of system files that decoders hold (pci.ids: as a Lua
-- table, ~20,000 strings and 2.4 MB of heap that every full cycle walks).
-- @module exporter.name_table
local ffi = require("ffi")

local M = {}

-- malloc'd memory, outside the Lua heap; ffi.C is never unloaded, so the
-- finalizers below can always run.
require("exporter.libc")
local C = ffi.C

local u32_ptr = ffi.typeof("uint32_t *")
local char_ptr = ffi.typeof("char *")

-- Resizes a malloc'd buffer to n elements of `size` bytes.
local function resize(buf, n, ctype, size)
  local p = C.exporter_libc_realloc(buf, math.max(n, 1) * size)
  if p == nil then error("name_table: out of memory", 3) end
  return ffi.cast(ctype, p)
end

-- The capacity to grow to for `need` elements: doubling.
local function capacity(cap, need)
  local n = math.max(cap, 1024)
  while n < need do n = n * 2 end
  return n
end

local Table = {}
Table.__index = Table

--- The name of an id, or nil. Takes numbers and uint64_t cdata alike.
function Table:get(id)
  if type(id) ~= "number" or id < 0 or id >= 4294967296 or id % 1 ~= 0 then return nil end
  local ids, lo, hi = self.ids, 0, self.count
  -- The first entry at or above id: among equal ids, the first added.
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if ids[mid] < id then lo = mid + 1 else hi = mid end
  end
  if lo < self.count and ids[lo] == id then return ffi.string(self.arena + self.offsets[lo]) end
  return nil
end

--- Bytes of malloc'd memory the table holds.
function Table:bytes()
  return self.count * 8 + self.arena_len
end

--- Collects (id, name) pairs, in any order, and makes the table.
-- @return a builder with add(id, name) and build() -> table; build() gives
-- a table whose `t[id]` is t:get(id), so it reads like a Lua table
function M.builder()
  local ids, offsets, arena
  local count, cap, len, arena_cap = 0, 0, 0, 0
  local sorted = true
  local b = {}
  function b.add(id, name)
    if count == cap then
      cap = capacity(cap, count + 1)
      ids, offsets = resize(ids, cap, u32_ptr, 4), resize(offsets, cap, u32_ptr, 4)
    end
    if len + #name + 1 > arena_cap then
      arena_cap = capacity(arena_cap, len + #name + 1)
      arena = resize(arena, arena_cap, char_ptr, 1)
    end
    ffi.copy(arena + len, name) -- with its NUL
    if count > 0 and id < ids[count - 1] then sorted = false end
    ids[count], offsets[count] = id, len
    count, len = count + 1, len + #name + 1
  end
  -- Puts the entries in id order, the first added first among equal ids.
  local function sort()
    local order = {}
    for i = 0, count - 1 do order[i + 1] = i end
    table.sort(order, function(x, y)
      if ids[x] ~= ids[y] then return ids[x] < ids[y] end
      return x < y
    end)
    local new_ids, new_offsets = resize(nil, count, u32_ptr, 4), resize(nil, count, u32_ptr, 4)
    for i, j in ipairs(order) do new_ids[i - 1], new_offsets[i - 1] = ids[j], offsets[j] end
    C.exporter_libc_free(ids)
    C.exporter_libc_free(offsets)
    ids, offsets = new_ids, new_offsets
  end
  function b.build()
    if not sorted then sort() end
    -- At least one element each, so that every pointer is a real one.
    ids, offsets = resize(ids, count, u32_ptr, 4), resize(offsets, count, u32_ptr, 4)
    arena = resize(arena, len, char_ptr, 1)
    local free = C.exporter_libc_free
    local t = setmetatable({ ids = ffi.gc(ids, free), offsets = ffi.gc(offsets, free),
      arena = ffi.gc(arena, free), count = count, arena_len = len }, Table)
    ids, offsets, arena = nil, nil, nil
    return setmetatable({}, { __index = function(_, id) return t:get(id) end, table = t })
  end
  return b
end

--- The table behind what build() returned (for get and bytes).
function M.of(view)
  return getmetatable(view).table
end

return M
