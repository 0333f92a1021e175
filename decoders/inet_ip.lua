-- inet_ip: 4 raw bytes -> dotted IPv4 ("10.0.0.1"); 16 raw bytes -> IPv6 in
-- RFC 5952 form ("2001:db8::1"), except IPv4-mapped addresses
-- (::ffff:a.b.c.d), which print as plain dotted IPv4 as ebpf_exporter's Go
-- net.IP.String does: the kernel stores IPv4 peers of IPv6 sockets that way,
-- and one peer should give one label value whichever socket saw it.
local M = {
  ascii_only = true, -- digits, dots, colons and hex digits: labels.lua skips the UTF-8 check
}

local function dotted(input, offset)
  local a, b, c, d = input:byte(offset, offset + 3)
  return string.format("%d.%d.%d.%d", a, b, c, d)
end

local MAPPED_PREFIX = string.rep("\0", 10) .. "\255\255"

-- Hex digits of a byte: without leading zeros (a group's first byte), and
-- always two (after a non-zero first byte).
local HEX, HEX2 = {}, {}
for b = 0, 255 do
  HEX[b], HEX2[b] = string.format("%x", b), string.format("%02x", b)
end

local out = require("string.buffer").new(64)
local groups = {}

-- Groups from..to, colon-separated, into out.
local function put_groups(input, from, to)
  for k = from, to do
    if k > from then out:put(":") end
    local hi, lo = input:byte(2 * k - 1, 2 * k)
    if hi > 0 then out:put(HEX[hi], HEX2[lo]) else out:put(HEX[lo]) end
  end
end

local function ipv6(input)
  if input:sub(1, 12) == MAPPED_PREFIX then return dotted(input, 13) end
  for i = 1, 8 do
    local hi, lo = input:byte(2 * i - 1, 2 * i)
    groups[i] = hi * 256 + lo
  end
  -- The longest run of two or more zero groups becomes "::"; on a tie the
  -- first run wins. A lone zero group stays "0" (RFC 5952 4.2.2).
  local best_start, best_len = nil, 1
  local i = 1
  while i <= 8 do
    if groups[i] == 0 then
      local j = i
      while j < 8 and groups[j + 1] == 0 do j = j + 1 end
      if j - i + 1 > best_len then best_start, best_len = i, j - i + 1 end
      i = j + 1
    else
      i = i + 1
    end
  end
  out:reset()
  if not best_start then
    put_groups(input, 1, 8)
  else
    put_groups(input, 1, best_start - 1)
    out:put("::")
    put_groups(input, best_start + best_len, 8)
  end
  return out:tostring()
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
