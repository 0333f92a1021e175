-- The benchmark's baseline for the kernel symbol index: the Lua index that
-- lua/exporter/kallsyms.lua was before the core's (core/ksym_index.c) took
-- its place, kept as it was (its state under another name), so that `make
-- bench` measures both on the same machine in the same run. Not used by the
-- exporter.
--
-- It held /proc/kallsyms as Lua tables of strings: { [address hex] = name }
-- and the distinct addresses, sorted on the first nearest lookup.
local api = require("exporter.decoder_api")
local ffi = require("ffi")

local M = {}

-- A re-read costs a pass over ~10 MB of text (~0.15 s), so misses are rate
-- limited twice: an address that missed even in a fresh read is not looked
-- for again until it falls out of a miss cache, and kallsyms is read at most
-- once per interval, so that a program reporting many addresses that are not
-- symbol starts costs one re-read per scrape, not one per address.
local MISS_CACHE_SIZE = 1024
local REREAD_INTERVAL = 5 -- seconds

local ZERO = string.rep("0", 16)

--- The 16-digit hex of the 8-byte host-order address at offset in s.
-- @tparam string s raw bytes; the caller checks that 8 bytes are there
-- @tparam[opt=1] number offset 1-based position of the first byte
function M.address_hex(s, offset)
  offset = offset or 1
  local b1, b2, b3, b4, b5, b6, b7, b8 = s:byte(offset, offset + 7)
  if ffi.abi("le") then
    return string.format("%02x%02x%02x%02x%02x%02x%02x%02x", b8, b7, b6, b5, b4, b3, b2, b1)
  end
  return string.format("%02x%02x%02x%02x%02x%02x%02x%02x", b1, b2, b3, b4, b5, b6, b7, b8)
end

-- Reads kallsyms into { [address hex] = name } and the distinct addresses in
-- file order. The first symbol at an address wins, as the kernel's own lookups
-- return the first. Also returns whether any address was non-zero: without
-- CAP_SYSLOG the kernel prints every address as zero.
local function read_index(path)
  local lines, err = api.lines(path)
  if not lines then return nil, err end
  local index, addresses, any_address = {}, {}, false
  for line in lines do
    -- "<addr> <type> <name>[\t[module]]": the name is everything after the
    -- type and one space, module suffix included.
    local addr, name = line:match("^(%x+) %S (.+)$")
    if addr then
      addr = addr:lower()
      if #addr < 16 then addr = string.rep("0", 16 - #addr) .. addr end
      if index[addr] == nil then
        index[addr] = name
        addresses[#addresses + 1] = addr
      end
      any_address = any_address or addr ~= ZERO
    end
  end
  return { names = index, addresses = addresses, any_address = any_address }
end

local function state()
  local s = api.state("kallsyms_baseline")
  if not s.misses then
    -- Separate caches: an address can be a miss for one kind of lookup only.
    s.misses = { exact = api.bounded_cache(MISS_CACHE_SIZE), nearest = api.bounded_cache(MISS_CACHE_SIZE) }
  end
  return s
end

-- The exact lookup: a hit is always certain.
local function find_exact(index, hex)
  local name = index.names[hex]
  return name, name ~= nil
end

-- The addresses sorted ascending, built on the first nearest lookup of an
-- index (ksym alone never pays for it). kallsyms is mostly in address order
-- already (modules and BPF programs may follow out of order), so the check
-- usually saves the sort.
local function sorted_addresses(index)
  local list = index.addresses
  if not index.sorted then
    for i = 2, #list do
      if list[i] < list[i - 1] then
        table.sort(list)
        break
      end
    end
    index.sorted = true
  end
  return list
end

-- The nearest lookup: the symbol at the greatest address <= hex. It is
-- certain only between the first and the last symbol: below the first there
-- is nothing, and above the last is where code loaded after the read (a
-- module, a BPF program) lands, so that is worth a re-read before the last
-- symbol is taken as the answer, as ebpf_exporter would take it.
local function find_nearest(index, hex)
  -- With only zero addresses (no CAP_SYSLOG) every frame would "resolve" to
  -- the symbol at 0.
  if not index.any_address then return nil, false end
  local list = sorted_addresses(index)
  local lo, hi = 1, #list
  if hi == 0 or hex < list[1] then return nil, false end
  -- Invariant: list[lo] <= hex; the answer is in lo..hi.
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if list[mid] <= hex then lo = mid else hi = mid - 1 end
  end
  return index.names[list[lo]], lo < #list or list[lo] == hex
end

-- Looks hex up with find(index, hex) -> name, certain. Reads kallsyms on
-- first use, and again for an uncertain answer not seen before (symbols of
-- modules loaded since), within the rate limits above.
local function lookup(find, misses, hex)
  local s = state()
  if s.index then
    local name, certain = find(s.index, hex)
    if certain or misses.get(hex) then return name end
    -- Not remembered as a miss: it was not checked against a fresh read, so
    -- the next call after the interval may re-read for it.
    if api.now() - s.read_at < REREAD_INTERVAL then return name end
  end
  local index, err = read_index(api.paths.kallsyms)
  if not index then return nil, err end
  s.read_at = api.now()
  -- A re-read after capabilities were dropped sees only zero addresses: the
  -- index read before is still right.
  if index.any_address or not s.index then s.index = index end
  local name, certain = find(s.index, hex)
  if not certain then misses.put(hex, true) end
  return name
end

--- The symbol that starts exactly at an address.
-- @tparam string hex 16 lowercase hex digits (see address_hex)
-- @return the name (module symbols as "name\t[module]"), nil when no symbol
-- starts there, or nil and "<path>: <reason>" when kallsyms cannot be read
function M.symbol(hex)
  return lookup(find_exact, state().misses.exact, hex)
end

--- The symbol at the greatest address at or below an address: the function
-- a stack frame's return address lies in.
-- @tparam string hex 16 lowercase hex digits (see address_hex)
-- @return the name, nil when the address is below every symbol (or kallsyms
-- shows only zero addresses), or nil and "<path>: <reason>" when kallsyms
-- cannot be read
function M.nearest(hex)
  return lookup(find_nearest, state().misses.nearest, hex)
end

return M
