-- The syscall and errno names ebpf_exporter prints, for the architecture the
-- exporter runs on (tables in this directory, generated from the facts in
-- ../shared/compat by tools/gen-names.lua).
local M = {}

-- LuaJIT's name for an architecture -> the name the tables use.
M.ARCHES = { x64 = "amd64", arm64 = "arm64" }

--- The `kind` table ("syscalls" or "errno") of an architecture (default:
-- this one), or nil and why.
function M.table(kind, arch)
  arch = arch or M.ARCHES[jit.arch]
  if not arch then
    return nil, ("no %s table for this architecture (%s): amd64 and arm64 have one"):format(kind, jit.arch)
  end
  return require("exporter.names." .. kind .. "_" .. arch)
end

return M
