-- string: bytes up to the first NUL (C strings in fixed-size key fields), or
-- the whole input when it has none.
local M = {}

function M.new()
  return function(input)
    local nul = input:find("\0", 1, true)
    if nul then return input:sub(1, nul - 1) end
    return input
  end
end

return M
