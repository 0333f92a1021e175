-- errno: a decimal errno value (usually from uint) -> its name ("EPIPE"),
-- from the table generated at build time from the asm-generic errno headers.
-- 0 and unknown values give "unknown:<n>".
local api = require("exporter.decoder_api")
local names = require("exporter.gen.errno_names")

return {
  new = function() return api.name_by_number(names, "errno", "unknown:") end,
}
