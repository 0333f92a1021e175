-- uint: 1, 2, 4 or 8 raw bytes in host byte order -> decimal, exact over the
-- whole unsigned 64-bit range (e.g. "18446744073709551615").
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local numfmt = require("exporter.numfmt")

local M = {
  ascii_only = true, -- digits: labels.lua skips the UTF-8 check
}

local SIZES = { [1] = true, [2] = true, [4] = true, [8] = true }
local u64p = ffi.typeof("const uint64_t *")
local EXACT = 2 ^ 53 -- below it a double holds the value, and %d prints it
local format = string.format

function M.new(_, ctx)
  if ctx.input_size ~= nil and not SIZES[ctx.input_size] then
    return nil, string.format("uint: cannot decode %d bytes (size must be 1, 2, 4 or 8)", ctx.input_size)
  end
  return function(input)
    local n = #input
    if not SIZES[n] then
      return nil, string.format("uint: cannot decode %d bytes", n)
    end
    if n == 8 then
      local v = ffi.cast(u64p, input)[0] -- host order, as the key holds it
      if v < EXACT then return format("%d", tonumber(v)) end
      return numfmt.u64(v)
    end
    return format("%d", api.read_uint(input, 1, n))
  end
end

return M
