-- Copies the CDEF block of each part of the C/Lua contract into its Lua
-- module: core/abi.h (and its version) into lua/exporter/abi.lua,
-- core/abi_bpf.h into lua/exporter/abi_bpf.lua.
-- Run after changing either header: luajit tools/sync-abi.lua
local function read(path)
  local f = assert(io.open(path))
  local s = f:read("*a")
  f:close()
  return s
end

local PARTS = {
  { header = "core/abi.h", lua = "lua/exporter/abi.lua" },
  { header = "core/abi_bpf.h", lua = "lua/exporter/abi_bpf.lua" },
}

local version = assert(read("core/abi.h"):match("#define ELX_ABI_VERSION (%d+)"), "no ELX_ABI_VERSION in core/abi.h")
for _, part in ipairs(PARTS) do
  local block = assert(read(part.header):match("/%* BEGIN CDEF %*/\n(.-)/%* END CDEF %*/"),
    "no CDEF block in " .. part.header)
  local lua = read(part.lua)
  local synced = lua:gsub("M%.VERSION = %d+", "M.VERSION = " .. version, 1)
  synced = synced:gsub("M%.CDEF = %[%[\n.-%]%]", function() return "M.CDEF = [[\n" .. block .. "]]" end, 1)
  if synced ~= lua then
    local f = assert(io.open(part.lua, "w"))
    f:write(synced)
    f:close()
    print(part.lua .. ": updated from " .. part.header)
  end
end
