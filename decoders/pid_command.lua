-- pid_command: a process id (decimal, from uint) -> the process's command,
-- as /proc/<pid>/comm has it ("python3.11"). A process that `targets:`
-- attached to is named as it was when it matched, also after it exited,
-- until its series are dropped; any other is looked up in /proc, and one
-- that no longer exists there gives "unknown".
--
--   labels:
--     - name: pid          # the key holds the process id twice:
--       size: 4            # once for each label
--       decoders: [{ name: uint }]
--     - name: command
--       size: 4
--       decoders: [{ name: uint }, { name: pid_command }]
local processes = require("exporter.processes")

local M = {}

function M.new(_, ctx)
  if ctx.input_size ~= nil then
    return nil, "pid_command: needs the decimal process id from a decoder such as uint first"
  end
  return function(input)
    local digits = input:match("^0*(%d+)$")
    if not digits or #digits > 10 then
      return nil, "pid_command: not a process id: " .. input
    end
    return processes.command(tonumber(digits)) or "unknown"
  end
end

return M
