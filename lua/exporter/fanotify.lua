-- fanotify for directories made, deleted and moved anywhere on a filesystem:
-- a group with filesystem marks, read without blocking, and its events parsed
-- as FAN_REPORT_DFID_NAME reports them. Knows nothing of cgroups beyond the
-- kernfs handle type, whose handles are node ids (cgroup ids, for cgroupfs).
--
--   local group, why, kind = fanotify.watch({ "/sys/fs/cgroup" })
--   local events, err = group:read()  -- { { mask =, parent =, name =, target = }... }
-- @module exporter.fanotify
local ffi = require("ffi")
local libc = require("exporter.libc")
local numfmt = require("exporter.numfmt")

local M = {}

-- The kernel's event layouts (uapi linux/fanotify.h), under private names.
if not pcall(ffi.typeof, "struct exporter_fanotify_metadata") then
  ffi.cdef([[
struct exporter_fanotify_metadata {
  uint32_t event_len;
  uint8_t vers;
  uint8_t reserved;
  uint16_t metadata_len;
  uint64_t mask;
  int32_t fd;
  int32_t pid;
};
/* struct fanotify_event_info_fid with the head of its struct file_handle. */
struct exporter_fanotify_info {
  uint8_t info_type;
  uint8_t pad;
  uint16_t len;
  int32_t fsid[2];
  uint32_t handle_bytes;
  int32_t handle_type;
};
struct exporter_fanotify_fd { int fd; };
]])
end

local FAN_CLOEXEC, FAN_NONBLOCK = 0x1, 0x2
local FAN_REPORT_FID, FAN_REPORT_DIR_FID, FAN_REPORT_NAME = 0x200, 0x400, 0x800
local FAN_REPORT_TARGET_FID = 0x1000
local FAN_REPORT_DFID_NAME = bit.bor(FAN_REPORT_DIR_FID, FAN_REPORT_NAME)
local FAN_MARK_ADD, FAN_MARK_ONLYDIR, FAN_MARK_FILESYSTEM = 0x1, 0x8, 0x100
local FANOTIFY_METADATA_VERSION = 3
local FAN_EVENT_INFO_TYPE_FID, FAN_EVENT_INFO_TYPE_DFID_NAME = 1, 2
-- kernfs encodes a node as this handle type with its 8-byte id.
local FILEID_KERNFS = 0xfe
local READ_BUFFER_SIZE = 65536

M.FAN_MOVED_FROM, M.FAN_MOVED_TO, M.FAN_CREATE, M.FAN_DELETE = 0x40, 0x80, 0x100, 0x200
M.FAN_Q_OVERFLOW = 0x4000
M.FAN_ONDIR = 0x40000000

local META_SIZE = ffi.sizeof("struct exporter_fanotify_metadata")
local INFO_SIZE = ffi.sizeof("struct exporter_fanotify_info")
local id_buf = ffi.new("uint64_t[1]")

-- Reads the info records of one event, from byte q to stop, into ev.
local function parse_infos(p, q, stop, ev)
  while q + 4 <= stop do
    local info = ffi.cast("const struct exporter_fanotify_info *", p + q)
    local info_len = info.len
    if info_len < 4 or q + info_len > stop then return end
    local t = info.info_type
    if (t == FAN_EVENT_INFO_TYPE_DFID_NAME or t == FAN_EVENT_INFO_TYPE_FID) and info_len >= INFO_SIZE then
      local hb = info.handle_bytes
      local id
      if info.handle_type == FILEID_KERNFS and hb == 8 and INFO_SIZE + 8 <= info_len then
        -- Copied: the handle is only 4-byte aligned.
        ffi.copy(id_buf, p + q + INFO_SIZE, 8)
        id = numfmt.u64(id_buf[0])
      end
      if t == FAN_EVENT_INFO_TYPE_DFID_NAME then
        ev.parent = id
        if INFO_SIZE + hb < info_len then ev.name = ffi.string(p + q + INFO_SIZE + hb) end
      else
        ev.target = id
      end
    end
    q = q + info_len
  end
end

--- Parses a buffer of fanotify events as FAN_REPORT_DFID_NAME reports them.
-- @param buf pointer to the bytes
-- @tparam number len their count
-- @return a list of { mask = <number>, parent = <id> or nil, name = <string>
-- or nil, target = <id> or nil }; parent and target are decimal strings, set
-- only for kernfs handles (ids of cgroups). A cut event ends the list.
function M.parse_events(buf, len)
  local p = ffi.cast("const uint8_t *", buf)
  local events = {}
  local off = 0
  while off + META_SIZE <= len do
    local meta = ffi.cast("const struct exporter_fanotify_metadata *", p + off)
    local event_len = meta.event_len
    if event_len < META_SIZE or off + event_len > len then break end
    if meta.vers == FANOTIFY_METADATA_VERSION then
      local ev = { mask = tonumber(meta.mask) }
      parse_infos(p, off + meta.metadata_len, off + event_len, ev)
      events[#events + 1] = ev
    end
    off = off + event_len
  end
  return events
end

local Group = {}
Group.__index = Group

-- A group reporting directory names, with the target's handle as well where
-- the kernel gives it (5.17+): it names a directory that was deleted before
-- its creation was read. Returns the fd and which reports it has.
local function init_group()
  local base = bit.bor(FAN_CLOEXEC, FAN_NONBLOCK)
  local fd, errno = libc.fanotify_init(bit.bor(base, FAN_REPORT_DFID_NAME, FAN_REPORT_FID, FAN_REPORT_TARGET_FID), 0)
  if fd then return fd, "DFID_NAME_TARGET" end
  if errno == libc.EINVAL then
    fd, errno = libc.fanotify_init(bit.bor(base, FAN_REPORT_DFID_NAME), 0)
    if fd then return fd, "DFID_NAME" end
  end
  return nil, "fanotify_init: " .. libc.strerror(errno)
end

--- Opens a group that reports directories created, deleted and moved on the
-- filesystems of roots (a filesystem mark each: Linux 6.6+ for kernfs, and
-- CAP_SYS_ADMIN; an inode mark would see only a root's own children).
-- @tparam {string,...} roots
-- @return a group, nil and "filesystem mark, <kind>"; or nil and why not
function M.watch(roots)
  local fd, kind = init_group()
  if not fd then return nil, kind end
  -- Closed when collected, should the owner forget close().
  local box = ffi.gc(ffi.new("struct exporter_fanotify_fd", fd), function(b)
    if b.fd >= 0 then libc.close(b.fd) end
  end)
  local mask = bit.bor(M.FAN_CREATE, M.FAN_DELETE, M.FAN_MOVED_FROM, M.FAN_MOVED_TO, M.FAN_ONDIR)
  local flags = bit.bor(FAN_MARK_ADD, FAN_MARK_FILESYSTEM, FAN_MARK_ONLYDIR)
  for _, root in ipairs(roots) do
    local ok, errno = libc.fanotify_mark(fd, flags, mask, root)
    if not ok then
      libc.close(fd)
      box.fd = -1
      return nil, "fanotify_mark: " .. libc.strerror(errno)
    end
  end
  local group = setmetatable({ box = box, fd = fd, buf = ffi.new("uint8_t[?]", READ_BUFFER_SIZE) }, Group)
  return group, nil, "filesystem mark, " .. kind
end

--- The pending events, without blocking.
-- @return a list of events as parse_events gives them, and a message when
-- reading failed (events may have been lost)
function Group:read()
  local events = {}
  while true do
    local n, errno = libc.read(self.fd, self.buf, READ_BUFFER_SIZE)
    if n == 0 or errno == libc.EAGAIN then break end
    if n then
      for _, ev in ipairs(M.parse_events(self.buf, n)) do events[#events + 1] = ev end
    elseif errno ~= libc.EINTR then
      return events, "reading fanotify events: " .. libc.strerror(errno)
    end
  end
  return events
end

--- Closes the group's fd; the group reads nothing afterwards.
function Group:close()
  if self.box.fd >= 0 then libc.close(self.box.fd) end
  self.box.fd = -1
  self.fd = -1
end

return M
