-- ksym: an 8-byte kernel address (host byte order) -> its exact symbol name
-- from /proc/kallsyms; module symbols keep their module: "name\t[module]".
-- An address that is not a symbol start gives "unknown_addr:0x<hex>".
local api = require("exporter.decoder_api")
local ffi = require("ffi")

local M = {}

-- A re-read costs a pass over ~10 MB of text (~0.15 s), so misses are rate
-- limited twice: an address that missed even in a fresh read is not looked
-- for again until it falls out of this cache, and kallsyms is read at most
-- once per interval, so that a program reporting many addresses that are not
-- symbol starts costs one re-read per scrape, not one per address.
local MISS_CACHE_SIZE = 1024
local REREAD_INTERVAL = 5 -- seconds

-- The 16-digit lowercase hex of an 8-byte host-order address: the key of the
-- index, as kallsyms prints addresses on 64-bit kernels.
local BYTE_ORDER = ffi.abi("le") and { 8, 7, 6, 5, 4, 3, 2, 1 } or { 1, 2, 3, 4, 5, 6, 7, 8 }
local function address_hex(input)
  local b = { input:byte(1, 8) }
  local parts = {}
  for i, pos in ipairs(BYTE_ORDER) do parts[i] = string.format("%02x", b[pos]) end
  return table.concat(parts)
end

-- Reads kallsyms into { [address hex] = name }; the first symbol at an
-- address wins, as the kernel's own lookups return the first. Also returns
-- whether any address was non-zero: without CAP_SYSLOG the kernel prints
-- every address as zero.
local ZERO = string.rep("0", 16)
local function read_index(path)
  local lines, err = api.lines(path)
  if not lines then return nil, err end
  local index, any_address = {}, false
  for line in lines do
    -- "<addr> <type> <name>[\t[module]]": the name is everything after the
    -- type and one space, module suffix included.
    local addr, name = line:match("^(%x+) %S (.+)$")
    if addr then
      addr = addr:lower()
      if #addr < 16 then addr = string.rep("0", 16 - #addr) .. addr end
      if index[addr] == nil then index[addr] = name end
      any_address = any_address or addr ~= ZERO
    end
  end
  return index, nil, any_address
end

local function state()
  local s = api.state("ksym")
  if not s.misses then s.misses = api.bounded_cache(MISS_CACHE_SIZE) end
  return s
end

-- The symbol at address hex, or nil; reads kallsyms on first use and again on
-- a miss not seen before (symbols of modules loaded since).
local function lookup(hex)
  local s = state()
  if s.index then
    local name = s.index[hex]
    if name or s.misses.get(hex) then return name end
    -- Not remembered as a miss: it was not checked against a fresh read, so
    -- the next call after the interval may re-read for it.
    if api.now() - s.read_at < REREAD_INTERVAL then return nil end
  end
  local index, err, any_address = read_index(api.paths.kallsyms)
  if not index then return nil, err end
  s.read_at = api.now()
  -- A re-read after capabilities were dropped sees only zero addresses: the
  -- index read before is still right.
  if any_address or not s.index then s.index = index end
  local name = s.index[hex]
  if not name then s.misses.put(hex, true) end
  return name
end

function M.new(_, ctx)
  if ctx.input_size ~= nil and ctx.input_size ~= 8 then
    return nil, string.format("ksym: input must be 8 bytes (a kernel address), not %d", ctx.input_size)
  end
  return function(input)
    if #input ~= 8 then
      return nil, string.format("ksym: cannot decode %d bytes", #input)
    end
    local hex = address_hex(input)
    local name, err = lookup(hex)
    if name then return name end
    if err then return nil, "ksym: " .. err end
    return "unknown_addr:0x" .. (hex:match("^0*(%x.*)$") or "0")
  end
end

return M
