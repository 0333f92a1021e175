-- uint: 1, 2, 4 or 8 raw bytes in host byte order -> decimal, exact over the
-- whole unsigned 64-bit range (e.g. "18446744073709551615").
local api = require("exporter.decoder_api")

local M = {}

local SIZES = { [1] = true, [2] = true, [4] = true, [8] = true }

function M.new(_, ctx)
  if ctx.input_size ~= nil and not SIZES[ctx.input_size] then
    return nil, string.format("uint: cannot decode %d bytes (size must be 1, 2, 4 or 8)", ctx.input_size)
  end
  return function(input)
    local n = #input
    if not SIZES[n] then
      return nil, string.format("uint: cannot decode %d bytes", n)
    end
    if n == 8 then return api.u64_decimal(input) end
    return string.format("%d", api.read_uint(input, 1, n))
  end
end

return M
