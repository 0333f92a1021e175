-- The exporter's log: the core's (elx_log, with its timestamps and levels)
-- when the binary runs us, stderr otherwise (specs, tools). Modules look the
-- level functions up at each call, so specs may replace them.
local ffi = require("ffi")
local abi = require("exporter.abi")

local M = {}

local LEVELS = { debug = 0, info = 1, warn = 2, error = 3 }

for name, level in pairs(LEVELS) do
  if abi.core_available() then
    M[name] = function(msg) ffi.C.elx_log(level, msg) end
  else
    M[name] = function(msg) io.stderr:write(name, ": ", msg, "\n") end
  end
end

return M
