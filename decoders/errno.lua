-- errno: a decimal errno value (usually from uint) -> its name ("EPIPE"),
-- from the table generated at build time from the asm-generic errno headers.
-- 0 and unknown values give "unknown:<n>".
local names = require("exporter.gen.errno_names")

local M = {}

function M.new()
  return function(input)
    local digits = input:match("^0*(%d+)$")
    if not digits then
      return nil, "errno: not a number: " .. input
    end
    -- Past 15 digits tonumber would round and could hit a real number.
    local name = #digits <= 15 and names[tonumber(digits)]
    return name or "unknown:" .. digits
  end
end

return M
