-- hex: bytes -> lowercase hex, two digits per byte in input order.
local M = {
  ascii_only = true, -- digits in hex: labels.lua skips the UTF-8 check
}

local function byte_hex(c)
  return string.format("%02x", c:byte())
end

function M.new()
  return function(input)
    return (input:gsub(".", byte_hex))
  end
end

return M
