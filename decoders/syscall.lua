-- syscall: a decimal syscall number (usually from uint) -> the name
-- ebpf_exporter prints for it on this architecture (strace's names, such as
-- futex_time64 and exit). An unknown number gives "unknown_syscall:<n>".
local api = require("exporter.decoder_api")
local names = require("exporter.names")

return {
  new = function()
    local t, err = names.table("syscalls")
    if not t then
      return nil, "syscall: " .. err
    end
    return api.name_by_number(t, "syscall", "unknown_syscall:")
  end,
}
