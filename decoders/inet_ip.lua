-- inet_ip: 4 raw bytes -> dotted IPv4 ("10.0.0.1"); 16 raw bytes -> IPv6 in
-- RFC 5952 form ("2001:db8::1"), except IPv4-mapped addresses
-- (::ffff:a.b.c.d), which print as plain dotted IPv4 as ebpf_exporter's Go
-- net.IP.String does: the kernel stores IPv4 peers of IPv6 sockets that way,
-- and one peer should give one label value whichever socket saw it.
local M = {
  ascii_only = true, -- digits, dots, colons and hex digits: labels.lua skips the UTF-8 check
}

local ffi = require("ffi")

local u8p = ffi.typeof("const uint8_t *")

local function dotted(input, offset)
  local a, b, c, d = input:byte(offset, offset + 3)
  return string.format("%d.%d.%d.%d", a, b, c, d)
end

local MAPPED_PREFIX = string.rep("\0", 10) .. "\255\255"

-- The text is put together byte by byte in `text` and made a string once:
-- plain stores the JIT compiles, where a buffer put or a string per group
-- made this decoder a third of a cold scrape of addresses.
local DIGITS = ffi.new("const uint8_t[16]", { 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102 })
local COLON = 58
local text = ffi.new("uint8_t[40]") -- 8 groups of 4 digits and 7 colons at most
local groups = ffi.new("int32_t[9]") -- 1-based

-- Group g's hex digits without leading zeros at text[pos]; the next position.
local function put_group(pos, g)
  if g >= 0x1000 then
    text[pos], pos = DIGITS[bit.rshift(g, 12)], pos + 1
  end
  if g >= 0x100 then
    text[pos], pos = DIGITS[bit.band(bit.rshift(g, 8), 15)], pos + 1
  end
  if g >= 0x10 then
    text[pos], pos = DIGITS[bit.band(bit.rshift(g, 4), 15)], pos + 1
  end
  text[pos] = DIGITS[bit.band(g, 15)]
  return pos + 1
end

-- Groups from..to, colon-separated, from text[pos]; the next position.
local function put_groups(pos, from, to)
  for k = from, to do
    if k > from then
      text[pos], pos = COLON, pos + 1
    end
    pos = put_group(pos, groups[k])
  end
  return pos
end

local function ipv6(input)
  if input:sub(1, 12) == MAPPED_PREFIX then return dotted(input, 13) end
  local p = ffi.cast(u8p, input)
  for i = 1, 8 do
    groups[i] = p[2 * i - 2] * 256 + p[2 * i - 1]
  end
  -- The longest run of two or more zero groups becomes "::"; on a tie the
  -- first run wins. A lone zero group stays "0" (RFC 5952 4.2.2).
  local best_start, best_len, run = 0, 1, 0
  for i = 1, 8 do
    if groups[i] == 0 then
      run = run + 1
      if run > best_len then best_start, best_len = i - run + 1, run end
    else
      run = 0
    end
  end
  local pos
  if best_start == 0 then
    pos = put_groups(0, 1, 8)
  else
    pos = put_groups(0, 1, best_start - 1)
    text[pos], text[pos + 1] = COLON, COLON
    pos = put_groups(pos + 2, best_start + best_len, 8)
  end
  return ffi.string(text, pos)
end

function M.new(_, ctx)
  if ctx.input_size ~= nil and ctx.input_size ~= 4 and ctx.input_size ~= 16 then
    return nil, string.format("inet_ip: input must be 4 bytes (IPv4) or 16 bytes (IPv6), not %d", ctx.input_size)
  end
  return function(input)
    if #input == 4 then return dotted(input, 1) end
    if #input == 16 then return ipv6(input) end
    return nil, string.format("inet_ip: cannot decode %d bytes", #input)
  end
end

return M
