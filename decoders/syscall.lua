-- syscall: a decimal syscall number (usually from uint) -> its name on this
-- architecture, from the table generated at build time from <asm/unistd_64.h>.
-- An unknown number gives "unknown_syscall:<n>".
local api = require("exporter.decoder_api")
local names = require("exporter.gen.syscall_names")

return {
  new = function() return api.name_by_number(names, "syscall", "unknown_syscall:") end,
}
