-- errno: a decimal errno value (usually from uint) -> the name
-- ebpf_exporter prints for it (Go's table: 95 is ENOTSUP, 117 EFSCORRUPTED).
-- 0 and unknown values give "unknown:<n>".
local api = require("exporter.decoder_api")
local names = require("exporter.names")

return {
  new = function()
    local t, err = names.table("errno")
    if not t then
      return nil, "errno: " .. err
    end
    return api.name_by_number(t, "errno", "unknown:")
  end,
}
