-- syscall: a decimal syscall number (usually from uint) -> its name on this
-- architecture, from the table generated at build time from <asm/unistd_64.h>.
-- An unknown number gives "unknown_syscall:<n>".
local names = require("exporter.gen.syscall_names")

local M = {}

function M.new()
  return function(input)
    local digits = input:match("^0*(%d+)$")
    if not digits then
      return nil, "syscall: not a number: " .. input
    end
    -- Compare as text past 15 digits: tonumber would round and could hit a
    -- real number; no syscall number is that long anyway.
    local name = #digits <= 15 and names[tonumber(digits)]
    return name or "unknown_syscall:" .. digits
  end
end

return M
