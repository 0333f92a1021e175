-- The one place where the Lua side declares libc functions for the FFI, with
-- thin helpers that turn C conventions (-1 and errno, NULL) into Lua ones
-- (nil and a message). Every module that needs a directory listing, a stat,
-- a read or a close uses this; none declares libc functions of its own.
--
-- It also loads every shared library that the FFI binds (load_library): see
-- there for the rule that keeps a library mapped while finalizers still need it.
-- @module exporter.libc
local ffi = require("ffi")

local M = {}

-- Private names bound to the libc symbols (__asm__), so that users' decoders
-- may declare these functions their own way without a clash. The check keeps
-- a second load of this module (busted insulates spec files) from declaring
-- them again, which the FFI refuses.
if not pcall(function() return ffi.C.exporter_libc_strerror end) then
  ffi.cdef([[
char *exporter_libc_strerror(int errnum) __asm__("strerror");
/* glibc's struct dirent on 64-bit Linux. */
struct exporter_libc_dirent {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[256];
};
void *exporter_libc_opendir(const char *name) __asm__("opendir");
struct exporter_libc_dirent *exporter_libc_readdir(void *dirp) __asm__("readdir");
int exporter_libc_closedir(void *dirp) __asm__("closedir");
/* struct statx has the same layout on every architecture; only the head is named. */
struct exporter_libc_statx {
  uint32_t stx_mask;
  uint32_t stx_blksize;
  uint64_t stx_attributes;
  uint32_t stx_nlink;
  uint32_t stx_uid;
  uint32_t stx_gid;
  uint16_t stx_mode;
  uint16_t spare0;
  uint64_t stx_ino;
  uint8_t rest[216];
};
int exporter_libc_statx(int dirfd, const char *path, int flags, unsigned int mask,
                        struct exporter_libc_statx *buf) __asm__("statx");
/* f_type is the first word of struct statfs on the 64-bit ABIs LuaJIT runs on;
 * the padding covers the rest of it with room to spare. */
struct exporter_libc_statfs { long f_type; uint8_t rest[256]; };
int exporter_libc_statfs(const char *path, struct exporter_libc_statfs *buf) __asm__("statfs");
int exporter_libc_open(const char *path, int flags, int mode) __asm__("open");
long exporter_libc_read(int fd, void *buf, size_t count) __asm__("read");
int exporter_libc_close(int fd) __asm__("close");
int exporter_libc_flock(int fd, int operation) __asm__("flock");
int exporter_libc_fanotify_init(unsigned int flags, unsigned int event_f_flags) __asm__("fanotify_init");
int exporter_libc_fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd,
                                const char *path) __asm__("fanotify_mark");
char *exporter_libc_if_indextoname(unsigned int ifindex, char *ifname) __asm__("if_indextoname");
void *exporter_libc_dlopen(const char *file, int mode) __asm__("dlopen");
char *exporter_libc_dlerror(void) __asm__("dlerror");
void *exporter_libc_realloc(void *p, size_t size) __asm__("realloc");
void exporter_libc_free(void *p) __asm__("free");
struct exporter_libc_timespec { int64_t tv_sec; long tv_nsec; };
int exporter_libc_clock_gettime(int clock, struct exporter_libc_timespec *ts) __asm__("clock_gettime");
long exporter_libc_readlink(const char *path, char *buf, size_t size) __asm__("readlink");
int exporter_libc_fnmatch(const char *pattern, const char *string, int flags) __asm__("fnmatch");
]])
end
local C = ffi.C

M.AT_FDCWD = -100
M.DT_UNKNOWN, M.DT_DIR = 0, 4
M.S_IFMT, M.S_IFDIR = 0xf000, 0x4000
M.EINTR, M.EAGAIN, M.EINVAL = 4, 11, 22
M.O_RDONLY, M.O_RDWR, M.O_CREAT, M.O_CLOEXEC = 0, 2, 0x40, 0x80000
M.LOCK_EX, M.LOCK_UN = 2, 8
local STATX_INO = 0x100
local RTLD_NOW, RTLD_NODELETE = 0x2, 0x1000
local IF_NAMESIZE = 16

local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct exporter_libc_timespec")

--- Seconds on CLOCK_MONOTONIC.
function M.monotonic()
  C.exporter_libc_clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

--- libc's text for an errno value.
-- @tparam number errno
-- @treturn string e.g. "No such file or directory"
function M.strerror(errno)
  return ffi.string(C.exporter_libc_strerror(errno))
end

--- Calls fn(name, d_type, d_ino) for each entry of a directory, "." and ".."
-- included, in the order readdir gives them. d_ino is a uint64_t cdata, valid
-- only during the call (copy it, e.g. with numfmt.u64, to keep it).
-- @tparam string path
-- @tparam function fn
-- @return true, or nil and "<path>: <reason>" when the directory cannot be opened
function M.each_entry(path, fn)
  local d = C.exporter_libc_opendir(path)
  if d == nil then return nil, path .. ": " .. M.strerror(ffi.errno()) end
  -- The entry is libc's own buffer: fn reads it before the next readdir.
  local ok, err = pcall(function()
    while true do
      local e = C.exporter_libc_readdir(d)
      if e == nil then break end
      fn(ffi.string(e.d_name), e.d_type, e.d_ino)
    end
  end)
  C.exporter_libc_closedir(d)
  if not ok then error(err, 0) end
  return true
end

local statx_buf = ffi.new("struct exporter_libc_statx")

--- The inode number and file mode of path (symbolic links followed).
-- @tparam string path
-- @return the inode number (a uint64_t cdata) and the mode (a number), or
-- nil and the errno
function M.stat_ino(path)
  if C.exporter_libc_statx(M.AT_FDCWD, path, 0, STATX_INO, statx_buf) ~= 0 then return nil, ffi.errno() end
  return ffi.new("uint64_t", statx_buf.stx_ino), statx_buf.stx_mode
end

local statfs_buf = ffi.new("struct exporter_libc_statfs")

--- The filesystem type (statfs f_type, e.g. 0x63677270 for cgroup2) of path.
-- @return a number, or nil and "statfs: <reason>"
function M.fs_type(path)
  if C.exporter_libc_statfs(path, statfs_buf) ~= 0 then return nil, "statfs: " .. M.strerror(ffi.errno()) end
  return tonumber(bit.band(statfs_buf.f_type, 0xffffffff))
end

--- open(2). @return the fd, or nil and the errno
function M.open(path, flags, mode)
  local fd = C.exporter_libc_open(path, flags, mode or 0)
  if fd < 0 then return nil, ffi.errno() end
  return fd
end

--- read(2) into buf. @return the byte count (0 at the end), or nil and the errno
function M.read(fd, buf, size)
  local n = tonumber(C.exporter_libc_read(fd, buf, size))
  if n < 0 then return nil, ffi.errno() end
  return n
end

--- close(2).
function M.close(fd)
  return C.exporter_libc_close(fd)
end

--- flock(2), retried on EINTR. @return true, or nil and the errno
function M.flock(fd, operation)
  while C.exporter_libc_flock(fd, operation) ~= 0 do
    local errno = ffi.errno()
    if errno ~= M.EINTR then return nil, errno end
  end
  return true
end

--- fanotify_init(2). @return the fd, or nil and the errno
function M.fanotify_init(flags, event_f_flags)
  local fd = C.exporter_libc_fanotify_init(flags, event_f_flags)
  if fd < 0 then return nil, ffi.errno() end
  return fd
end

--- fanotify_mark(2) with a path relative to the working directory.
-- @return true, or nil and the errno
function M.fanotify_mark(fd, flags, mask, path)
  if C.exporter_libc_fanotify_mark(fd, flags, mask, M.AT_FDCWD, path) ~= 0 then return nil, ffi.errno() end
  return true
end

local ifname_buf = ffi.new("char[?]", IF_NAMESIZE)

--- The name of network interface index idx, or nil when there is none.
function M.if_indextoname(idx)
  local p = C.exporter_libc_if_indextoname(idx, ifname_buf)
  if p == nil then return nil end
  return ffi.string(p)
end

local link_buf = ffi.new("char[?]", 4096)

--- readlink(2): where a symbolic link points (/proc/PID/exe: the executable).
-- @return the target, or nil and the errno
function M.readlink(path)
  local n = tonumber(C.exporter_libc_readlink(path, link_buf, 4096))
  if n < 0 then return nil, ffi.errno() end
  return ffi.string(link_buf, n)
end

--- fnmatch(3) without flags: shell wildcards, where `*` also matches "/".
-- @return true when `s` matches `pattern`
function M.fnmatch(pattern, s)
  return C.exporter_libc_fnmatch(pattern, s, 0) == 0
end

-- Libraries loaded by load_library, by the name that worked: one FFI
-- namespace per library for the life of the Lua state.
local loaded = {}

--- Loads a shared library for the FFI: the first of names that loads.
--
-- The lifetime rule, for every library the FFI binds: a library stays mapped
-- until the process exits. Objects of such a library are freed by finalizers
-- (`ffi.gc(obj, lib.x_free)`), and the FFI unloads a library (dlclose) when
-- its namespace object is collected. In one collection cycle LuaJIT runs the
-- finalizers of userdata, the namespace's among them, before those of cdata:
-- a namespace that died with the objects it allocated is unloaded first, and
-- their finalizers then jump into unmapped code. Holding the namespace in a
-- table or an upvalue only helps while someone holds that, which a spec
-- that reloads modules, or a Lua state being closed, does not guarantee.
-- So the library is first opened with RTLD_NODELETE, and that handle is never
-- closed: the dynamic loader then never unmaps it, whatever dlclose the FFI
-- makes later, in this Lua state or in any other of the process (each
-- reload's state loads it again).
-- @tparam {string,...} names e.g. { "pcre2-8", "libpcre2-8.so.0" }, tried in order
-- @return the FFI namespace, or nil and the loader's message for the last name
function M.load_library(names)
  local err
  for _, name in ipairs(names) do
    if loaded[name] then return loaded[name] end
    -- The same file name lookup as ffi.load's: a bare name becomes lib<name>.so.
    local file = name:find("[/.]") and name or ("lib" .. name .. ".so")
    if C.exporter_libc_dlopen(file, bit.bor(RTLD_NOW, RTLD_NODELETE)) ~= nil then
      local ok, lib = pcall(ffi.load, file)
      if ok then
        loaded[name] = lib
        return lib
      end
      err = tostring(lib)
    else
      local msg = C.exporter_libc_dlerror()
      err = msg ~= nil and ffi.string(msg) or file .. ": cannot be loaded"
    end
  end
  return nil, err
end

return M
