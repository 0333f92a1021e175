-- Copies the CDEF block of core/abi.h (and its version) into
-- lua/exporter/abi.lua. Run after changing abi.h: luajit tools/sync-abi.lua
local function read(path)
  local f = assert(io.open(path))
  local s = f:read("*a")
  f:close()
  return s
end

local header = read("core/abi.h")
local block = assert(header:match("/%* BEGIN CDEF %*/\n(.-)/%* END CDEF %*/"), "no CDEF block in core/abi.h")
local version = assert(header:match("#define ELX_ABI_VERSION (%d+)"), "no ELX_ABI_VERSION in core/abi.h")
local lua = read("lua/exporter/abi.lua")
local synced = lua:gsub("M%.VERSION = %d+", "M.VERSION = " .. version, 1)
synced = synced:gsub("M%.CDEF = %[%[\n.-%]%]", function() return "M.CDEF = [[\n" .. block .. "]]" end, 1)
if synced ~= lua then
  local f = assert(io.open("lua/exporter/abi.lua", "w"))
  f:write(synced)
  f:close()
  print("lua/exporter/abi.lua: updated from core/abi.h")
end
