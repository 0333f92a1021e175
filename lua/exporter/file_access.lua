-- Who may write or read a file, from its owner and mode and those of every
-- directory above it: decoder files must be safe from other users (as sshd
-- requires of key files), and sandboxed decoders read only what every user
-- may read.
local ffi = require("ffi")
local libc = require("exporter.libc")

local M = {}

-- statx and strerror are libc.lua's; these two are this module's own.
if not pcall(function() return ffi.C.exporter_access_realpath end) then
  ffi.cdef([[
char *exporter_access_realpath(const char *path, char *resolved) __asm__("realpath");
unsigned int exporter_access_geteuid(void) __asm__("geteuid");
]])
end
local C = ffi.C

local STATX_BASIC_STATS = 0x7ff
local S_IFMT, S_IFDIR, S_IFREG = 0xf000, 0x4000, 0x8000
local S_ISVTX = 0x200
local S_IWGRP, S_IWOTH, S_IROTH, S_IXOTH = 0x10, 0x2, 0x4, 0x1

local statx_buf = ffi.new("struct exporter_libc_statx")
local path_buf = ffi.new("char[4096]")

local function errno_text()
  return libc.strerror(ffi.errno())
end

--- { mode = <permission bits and type>, uid = n }, or nil and the reason.
function M.stat(path)
  if C.exporter_libc_statx(libc.AT_FDCWD, path, 0, STATX_BASIC_STATS, statx_buf) ~= 0 then
    return nil, path .. ": " .. errno_text()
  end
  return { mode = statx_buf.stx_mode, uid = statx_buf.stx_uid }
end

--- The absolute path with every symbolic link resolved, or nil and the reason.
function M.realpath(path)
  if C.exporter_access_realpath(path, path_buf) == nil then
    return nil, path .. ": " .. errno_text()
  end
  return ffi.string(path_buf)
end

local function is_dir(st) return bit.band(st.mode, S_IFMT) == S_IFDIR end

-- "/a/b/c" -> "/a/b/c", "/a/b", "/a", "/".
local function self_and_parents(path)
  local out = { path }
  while path ~= "/" do
    path = path:match("^(.*)/[^/]*$")
    path = path == "" and "/" or path
    out[#out + 1] = path
  end
  return out
end

-- Why `path` (with stat `st`) lets another user change what is in it, or nil.
-- A directory further up may be writable by all when it is root's and
-- sticky (/tmp): nobody else can then move or replace what we own in it.
local function unsafe(path, st, uid, strict)
  if st.uid ~= 0 and st.uid ~= uid then
    return ("%s is owned by uid %d"):format(path, st.uid)
  end
  local writable = bit.band(st.mode, S_IWGRP + S_IWOTH)
  if writable == 0 then
    return nil
  end
  if not strict and is_dir(st) and st.uid == 0 and bit.band(st.mode, S_ISVTX) ~= 0 then
    return nil
  end
  return ("%s is writable by %s (mode %04o)"):format(path,
    bit.band(writable, S_IWOTH) ~= 0 and "every user" or "its group", bit.band(st.mode, 0xfff))
end

--- nil when only root or the exporter's own user can change `path` (a
-- decoder file or directory): neither it nor a directory above it is owned
-- by anyone else or writable by its group or by all. Else why not.
-- `strict_levels`: the path itself and that many directories above it get
-- no exception for sticky directories (a decoder directory must not be one).
function M.unsafe_for_code(path, strict_levels)
  local real, err = M.realpath(path)
  if not real then
    return err
  end
  local uid = C.exporter_access_geteuid()
  for i, p in ipairs(self_and_parents(real)) do
    local st, serr = M.stat(p)
    if not st then
      return serr
    end
    local why = unsafe(p, st, uid, i <= 1 + (strict_levels or 0))
    if why then
      return why
    end
  end
  return nil
end

--- The resolved path when every user may read the regular file at `path`
-- (it readable by all, every directory above it searchable by all); else
-- nil and why not.
function M.readable_by_all(path)
  local real, err = M.realpath(path)
  if not real then
    return nil, err
  end
  for i, p in ipairs(self_and_parents(real)) do
    local st, serr = M.stat(p)
    if not st then
      return nil, serr
    end
    if i == 1 and bit.band(st.mode, S_IFMT) ~= S_IFREG then
      return nil, path .. ": not a regular file"
    elseif i == 1 and bit.band(st.mode, S_IROTH) == 0 then
      return nil, path .. ": not readable by every user"
    elseif i > 1 and bit.band(st.mode, S_IXOTH) == 0 then
      return nil, path .. ": " .. p .. " is not open to every user"
    end
  end
  return real
end

return M
