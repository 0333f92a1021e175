-- An index of cgroup v2 ids (the kernfs ids that bpf_get_current_cgroup_id()
-- returns, equal to the inode numbers of the cgroup directories) to paths,
-- kept current by fanotify where the kernel allows it and by rescans where not.
--
--   local index = require("exporter.cgroup_index")
--   local idx = assert(index.new({ log = function(level, msg) ... end }))
--   idx:lookup("1234")  --> "/sys/fs/cgroup/system.slice/ssh.service" or nil
--
-- Ids are decimal strings throughout: they key the tables exactly, whatever
-- their size, and are what the uint decoder produces.
-- @module exporter.cgroup_index
local ffi = require("ffi")
local api = require("exporter.decoder_api")

local M = {}

-- Private names bound to the libc symbols (__asm__), so that other modules
-- may declare these functions their own way. The check keeps a second load of
-- this module (busted insulates spec files) from redefining them.
if not pcall(function() return ffi.C.exporter_cgidx_opendir end) then
  ffi.cdef([[
char *exporter_cgidx_strerror(int errnum) __asm__("strerror");
void *exporter_cgidx_opendir(const char *name) __asm__("opendir");
struct exporter_cgidx_dirent {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[256];
};
struct exporter_cgidx_dirent *exporter_cgidx_readdir(void *dirp) __asm__("readdir");
int exporter_cgidx_closedir(void *dirp) __asm__("closedir");
/* struct statx has the same layout on every architecture; only the head is named. */
struct exporter_cgidx_statx {
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
int exporter_cgidx_statx(int dirfd, const char *path, int flags, unsigned int mask,
                         struct exporter_cgidx_statx *buf) __asm__("statx");
/* f_type is the first word of struct statfs on the 64-bit ABIs LuaJIT runs on;
 * the padding covers the rest of it with room to spare. */
struct exporter_cgidx_statfs { long f_type; uint8_t rest[256]; };
int exporter_cgidx_statfs(const char *path, struct exporter_cgidx_statfs *buf) __asm__("statfs");
int exporter_cgidx_fanotify_init(unsigned int flags, unsigned int event_f_flags) __asm__("fanotify_init");
int exporter_cgidx_fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd,
                                 const char *path) __asm__("fanotify_mark");
long exporter_cgidx_read(int fd, void *buf, size_t count) __asm__("read");
int exporter_cgidx_close(int fd) __asm__("close");
struct exporter_cgidx_fd { int fd; };
struct exporter_cgidx_fan_metadata {
  uint32_t event_len;
  uint8_t vers;
  uint8_t reserved;
  uint16_t metadata_len;
  uint64_t mask;
  int32_t fd;
  int32_t pid;
};
struct exporter_cgidx_fan_info {
  uint8_t info_type;
  uint8_t pad;
  uint16_t len;
  int32_t fsid[2];
  uint32_t handle_bytes;
  int32_t handle_type;
};
]])
end
local C = ffi.C

local AT_FDCWD = -100
local STATX_INO = 0x100
local DT_UNKNOWN, DT_DIR = 0, 4
local S_IFMT, S_IFDIR = 0xf000, 0x4000
local CGROUP2_SUPER_MAGIC = 0x63677270
local EAGAIN, EINTR, EINVAL = 11, 4, 22

local FAN_CLOEXEC, FAN_NONBLOCK = 0x1, 0x2
local FAN_REPORT_FID, FAN_REPORT_DIR_FID, FAN_REPORT_NAME = 0x200, 0x400, 0x800
local FAN_REPORT_TARGET_FID = 0x1000
local FAN_REPORT_DFID_NAME = bit.bor(FAN_REPORT_DIR_FID, FAN_REPORT_NAME)
local FAN_MARK_ADD, FAN_MARK_ONLYDIR, FAN_MARK_FILESYSTEM = 0x1, 0x8, 0x100
local FAN_MOVED_FROM, FAN_MOVED_TO, FAN_CREATE, FAN_DELETE = 0x40, 0x80, 0x100, 0x200
local FAN_Q_OVERFLOW = 0x4000
local FAN_ONDIR = 0x40000000
local FANOTIFY_METADATA_VERSION = 3
local FAN_EVENT_INFO_TYPE_FID, FAN_EVENT_INFO_TYPE_DFID_NAME = 1, 2
-- kernfs encodes a node as this handle type with its 8-byte id.
local FILEID_KERNFS = 0xfe

M.FAN_CREATE, M.FAN_DELETE, M.FAN_MOVED_FROM, M.FAN_MOVED_TO = FAN_CREATE, FAN_DELETE, FAN_MOVED_FROM, FAN_MOVED_TO
M.FAN_Q_OVERFLOW, M.FAN_ONDIR = FAN_Q_OVERFLOW, FAN_ONDIR

local DEFAULTS = {
  mountinfo = "/proc/self/mountinfo",
  -- A deleted cgroup still resolves until this many seconds after its last
  -- lookup, as ebpf_exporter keeps them: rows counted just before the
  -- deletion keep their path for a while, and memory stays bounded.
  grace = 600,
  -- An id that a rescan did not find is not rescanned for again for this
  -- long. Ids are never reused, so the answer rarely changes.
  miss_ttl = 300,
  miss_cache_size = 1024,
  -- rescan_interval: rescans start at most this often. One rescan made after
  -- a scrape read its maps finds every id of that scrape, so the gap only has
  -- to cover the decoding of one scrape, and a longer one would leave ids of
  -- cgroups made between two close scrapes unknown (and the label cache
  -- keeps what a decoder said). By default the gap is this many times what
  -- the last walk cost, so that a flood of unknown ids keeps at most about a
  -- tenth of a CPU busy: ~0.4 s with 2,000 cgroups, a millisecond with a few.
  rescan_cost_factor = 10,
  min_rescan_interval = 0.001,
}

local function strerror(errno)
  return ffi.string(C.exporter_cgidx_strerror(errno))
end

-- A uint64_t cdata as exact decimal.
local EXACT_LIMIT = 2 ^ 53
local function u64_decimal(v)
  if v < EXACT_LIMIT then return string.format("%d", tonumber(v)) end
  return (tostring(v):gsub("ULL$", ""))
end

-- A lookup key from a decimal string, a Lua number or a uint64_t cdata.
local function id_key(id)
  local t = type(id)
  if t == "string" then return id end
  if t == "number" then return string.format("%d", id) end
  if t == "cdata" then return u64_decimal(ffi.cast("uint64_t", id)) end
  error("cgroup_index: an id must be a decimal string, a number or a uint64_t, not a " .. t, 3)
end

local statx_buf = ffi.new("struct exporter_cgidx_statx")

--- The id of the directory at path: its inode number, which for a cgroup
-- directory is the cgroup id; nil when it is missing or not a directory.
-- @tparam string path
-- @treturn string or nil, in decimal
local function dir_id(path)
  if C.exporter_cgidx_statx(AT_FDCWD, path, 0, STATX_INO, statx_buf) ~= 0 then return nil end
  if bit.band(statx_buf.stx_mode, S_IFMT) ~= S_IFDIR then return nil end
  return u64_decimal(statx_buf.stx_ino)
end
M.dir_id = dir_id

local function unescape(s)
  -- mountinfo writes space, tab, newline and backslash as \ooo.
  return (s:gsub("\\(%d%d%d)", function(o) return string.char(tonumber(o, 8)) end))
end

--- The cgroup2 mounts of a mountinfo file, one per filesystem (a hierarchy
-- mounted twice would give every id two paths): the first mount of its whole
-- tree, else the first mount of a part of it.
-- @tparam string path e.g. "/proc/self/mountinfo"
-- @return a list of mount points, or nil and "<path>: <reason>"
function M.cgroup2_mounts(path)
  local lines, err = api.lines(path)
  if not lines then return nil, err end
  local chosen, order = {}, {}
  for line in lines do
    -- "<id> <parent> <maj:min> <root> <mount point> <options> [optional...] - <fstype> <source> <options>"
    local head, fstype = line:match("^(.-) %- (%S+)")
    if fstype == "cgroup2" then
      local dev, root, point = head:match("^%S+ %S+ (%S+) (%S+) (%S+)")
      if dev then
        local prev = chosen[dev]
        if not prev then
          order[#order + 1] = dev
          chosen[dev] = { root = root, point = unescape(point) }
        elseif prev.root ~= "/" and root == "/" then
          chosen[dev] = { root = root, point = unescape(point) }
        end
      end
    end
  end
  local out = {}
  for i, dev in ipairs(order) do out[i] = chosen[dev].point end
  return out
end

-- Walks the directory tree under root into out[id] = path. Directory entries
-- carry the inode number, so the walk stats nothing but the root: thousands
-- of cgroups take milliseconds. An id already in out is not entered again,
-- which keeps a bind mount inside the tree from looping.
local function walk(root, out)
  local root_id = dir_id(root)
  if not root_id then return 0 end
  local n = 0
  if not out[root_id] then
    out[root_id] = root
    n = 1
  end
  local base = root:gsub("/+$", "")
  local stack = { base }
  while #stack > 0 do
    local dir = stack[#stack]
    stack[#stack] = nil
    -- A directory removed since its parent was read cannot be opened: skip it.
    local d = C.exporter_cgidx_opendir(dir == "" and "/" or dir)
    if d ~= nil then
      while true do
        local e = C.exporter_cgidx_readdir(d)
        if e == nil then break end
        local t = e.d_type
        if t == DT_DIR or t == DT_UNKNOWN then
          local name = ffi.string(e.d_name)
          if name ~= "." and name ~= ".." then
            local path = dir .. "/" .. name
            local id
            if t == DT_DIR then id = u64_decimal(e.d_ino) else id = dir_id(path) end
            if id and not out[id] then
              out[id] = path
              n = n + 1
              stack[#stack + 1] = path
            end
          end
        end
      end
      C.exporter_cgidx_closedir(d)
    end
  end
  return n
end

--- Parses a buffer of fanotify events as FAN_REPORT_DFID_NAME reports them.
-- @param buf pointer to the bytes
-- @tparam number len their count
-- @return a list of { mask = <number>, parent = <id> or nil, name = <string>
-- or nil, target = <id> or nil }; parent and target are set only for kernfs
-- handles (ids of cgroups).
function M.parse_events(buf, len)
  local p = ffi.cast("const uint8_t *", buf)
  local meta_size = ffi.sizeof("struct exporter_cgidx_fan_metadata")
  local info_size = ffi.sizeof("struct exporter_cgidx_fan_info")
  local id_buf = ffi.new("uint64_t[1]")
  local events = {}
  local off = 0
  while off + meta_size <= len do
    local meta = ffi.cast("const struct exporter_cgidx_fan_metadata *", p + off)
    local event_len = meta.event_len
    if event_len < meta_size or off + event_len > len then break end
    if meta.vers == FANOTIFY_METADATA_VERSION then
      local ev = { mask = tonumber(meta.mask) }
      local q, stop = off + meta.metadata_len, off + event_len
      while q + 4 <= stop do
        local info = ffi.cast("const struct exporter_cgidx_fan_info *", p + q)
        local info_len = info.len
        if info_len < 4 or q + info_len > stop then break end
        local t = info.info_type
        if (t == FAN_EVENT_INFO_TYPE_DFID_NAME or t == FAN_EVENT_INFO_TYPE_FID) and info_len >= info_size then
          local hb = info.handle_bytes
          local id
          if info.handle_type == FILEID_KERNFS and hb == 8 and info_size + 8 <= info_len then
            -- Copied: the handle is only 4-byte aligned.
            ffi.copy(id_buf, p + q + info_size, 8)
            id = u64_decimal(id_buf[0])
          end
          if t == FAN_EVENT_INFO_TYPE_DFID_NAME then
            ev.parent = id
            if info_size + hb < info_len then ev.name = ffi.string(p + q + info_size + hb) end
          else
            ev.target = id
          end
        end
        q = q + info_len
      end
      events[#events + 1] = ev
    end
    off = off + event_len
  end
  return events
end

local Index = {}
Index.__index = Index

local function log_noop() end

--- Builds an index: finds the cgroup2 mounts, starts following changes with
-- fanotify where possible, then walks the trees.
-- @tparam[opt] table opts
--   mountinfo: file listing the mounts (default /proc/self/mountinfo);
--   roots: a list of directories to index instead of the cgroup2 mounts;
--   log: function(level, msg), level "debug", "info" or "warn";
--   now: clock in seconds (default decoder_api.now, looked up at each call);
--   grace, miss_ttl, miss_cache_size: see DEFAULTS above;
--   rescan_interval: a fixed gap between rescans (default: from their cost);
--   fanotify: false to rescan only;
--   events: for specs, a function returning a list of events as
--   parse_events gives them, used instead of fanotify.
-- @return an index, or nil and a message when mountinfo cannot be read
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("cgroup_index.new: opts must be a table", 2) end
  local self = setmetatable({
    mountinfo = opts.mountinfo or DEFAULTS.mountinfo,
    fixed_roots = opts.roots,
    log = opts.log or log_noop,
    now = opts.now or function() return api.now() end,
    grace = opts.grace or DEFAULTS.grace,
    miss_ttl = opts.miss_ttl or DEFAULTS.miss_ttl,
    rescan_interval = opts.rescan_interval,
    misses = api.bounded_cache(opts.miss_cache_size or DEFAULTS.miss_cache_size),
    paths = {}, -- id -> path, of live and deleted cgroups
    ids = {}, -- path -> id, of live cgroups
    dead = {}, -- id -> last lookup (or deletion) time, of deleted cgroups
    nlive = 0,
    ndead = 0,
    subscribers = {},
    rescans = 0,
    events_applied = 0,
    next_sweep = 0,
  }, Index)
  local roots, err = self:roots()
  if not roots then return nil, err end
  if #roots == 0 then
    self.log("info", ("cgroup index: no cgroup2 mount in %s: every cgroup id is unknown"):format(self.mountinfo))
  end
  -- Events first, the walk second: a cgroup made during the walk is then in
  -- the walk, in an event, or both, never in neither.
  if opts.events then
    self.source = opts.events
  elseif opts.fanotify ~= false and #roots > 0 then
    local ok, why, kind = self:follow(roots)
    if ok then
      self.log("info", ("cgroup index: following %s with fanotify (%s)"):format(table.concat(roots, ", "), kind))
    else
      self.log("info", ("cgroup index: fanotify unavailable for %s (%s): finding new cgroups by rescanning")
        :format(table.concat(roots, ", "), why))
    end
  end
  local t0 = os.clock()
  local found = {}
  for _, root in ipairs(roots) do walk(root, found) end
  for id, path in pairs(found) do self:add(id, path) end
  self.walk_cost = os.clock() - t0
  -- This walk precedes every scrape: the first miss rescans.
  self.last_rescan = -math.huge
  self.log("debug", ("cgroup index: %d cgroups under %s, walked in %.1f ms"):format(
    self.nlive, table.concat(roots, ", "), self.walk_cost * 1000))
  return self
end

-- The directories to index: fixed ones, or the cgroup2 mounts.
function Index:roots()
  if self.fixed_roots then return self.fixed_roots end
  return M.cgroup2_mounts(self.mountinfo)
end

-- Opens a fanotify group with a filesystem mark on each root. Returns true
-- and the kind of mark, or false and why not.
function Index:follow(roots)
  local sfs = ffi.new("struct exporter_cgidx_statfs")
  for _, root in ipairs(roots) do
    if C.exporter_cgidx_statfs(root, sfs) ~= 0 then
      return false, "statfs: " .. strerror(ffi.errno())
    end
    -- Only kernfs reports a parent as a handle that is its cgroup id.
    if tonumber(bit.band(sfs.f_type, 0xffffffff)) ~= CGROUP2_SUPER_MAGIC then
      return false, "not a cgroup2 filesystem"
    end
  end
  local base = bit.bor(FAN_CLOEXEC, FAN_NONBLOCK)
  -- The target's handle as well, where the kernel gives it (5.17+), names a
  -- cgroup that was deleted before its creation was read.
  local with_target = bit.bor(base, FAN_REPORT_DFID_NAME, FAN_REPORT_FID, FAN_REPORT_TARGET_FID)
  local fd = C.exporter_cgidx_fanotify_init(with_target, 0)
  local kind = "DFID_NAME_TARGET"
  if fd < 0 and ffi.errno() == EINVAL then
    fd = C.exporter_cgidx_fanotify_init(bit.bor(base, FAN_REPORT_DFID_NAME), 0)
    kind = "DFID_NAME"
  end
  if fd < 0 then return false, "fanotify_init: " .. strerror(ffi.errno()) end
  local box = ffi.gc(ffi.new("struct exporter_cgidx_fd", fd), function(b)
    if b.fd >= 0 then C.exporter_cgidx_close(b.fd) end
  end)
  -- kernfs takes filesystem marks (Linux 6.6+, CAP_SYS_ADMIN); an inode mark
  -- would only see the root's own children.
  local mask = bit.bor(FAN_CREATE, FAN_DELETE, FAN_MOVED_FROM, FAN_MOVED_TO, FAN_ONDIR)
  for _, root in ipairs(roots) do
    local rc = C.exporter_cgidx_fanotify_mark(fd, bit.bor(FAN_MARK_ADD, FAN_MARK_FILESYSTEM, FAN_MARK_ONLYDIR),
      mask, AT_FDCWD, root)
    if rc ~= 0 then
      local why = "fanotify_mark: " .. strerror(ffi.errno())
      C.exporter_cgidx_close(fd)
      box.fd = -1
      return false, why
    end
  end
  self.fan = box
  self.buf_size = 65536
  self.buf = ffi.new("uint8_t[?]", self.buf_size)
  return true, nil, "filesystem mark, " .. kind
end

function Index:emit(change, id, path)
  for _, fn in ipairs(self.subscribers) do
    local ok, err = pcall(fn, change, id, path)
    if not ok then
      self.log("warn", ("cgroup index: a subscriber failed on %s %s: %s"):format(change, path, tostring(err)))
    end
  end
end

-- A live cgroup: new, or a deleted id seen again (a rescan corrects an event).
function Index:add(id, path)
  if self.dead[id] then
    self.dead[id] = nil
    self.ndead = self.ndead - 1
  elseif self.paths[id] then
    return
  end
  self.paths[id] = path
  self.ids[path] = id
  self.nlive = self.nlive + 1
  self:emit("created", id, path)
end

-- A cgroup that is gone: it still resolves for the grace period.
function Index:remove(id)
  local path = self.paths[id]
  if not path or self.dead[id] then return end
  if self.ids[path] == id then self.ids[path] = nil end
  self.dead[id] = self.now()
  self.nlive = self.nlive - 1
  self.ndead = self.ndead + 1
  self:emit("removed", id, path)
end

function Index:forget(id)
  self.paths[id] = nil
  self.dead[id] = nil
  self.ndead = self.ndead - 1
end

-- Forgets deleted cgroups not looked up within the grace period; runs at
-- most ten times per grace period, so it costs nothing per lookup.
function Index:sweep(now)
  if now < self.next_sweep then return end
  self.next_sweep = now + self.grace / 10
  for id, t in pairs(self.dead) do
    if now - t > self.grace then self:forget(id) end
  end
end

--- Walks the trees again: new cgroups are added, missing ones removed, and
-- moved ones get their new path.
-- @return true, or nil and a message when mountinfo cannot be read
function Index:rescan()
  local roots, err = self:roots()
  if not roots then return nil, err end
  local t0 = os.clock()
  self.rescans = self.rescans + 1
  self.last_rescan = self.now()
  local found = {}
  for _, root in ipairs(roots) do walk(root, found) end
  local added, removed = 0, 0
  for id, path in pairs(self.paths) do
    if not self.dead[id] then
      local now_path = found[id]
      if now_path ~= path then
        self:remove(id)
        removed = removed + 1
      end
    end
  end
  for id, path in pairs(found) do
    if self.dead[id] and self.paths[id] ~= path then self:forget(id) end
    if not self.paths[id] or self.dead[id] then
      self:add(id, path)
      added = added + 1
    end
  end
  self:sweep(self.last_rescan)
  self.walk_cost = os.clock() - t0
  self.log("debug", ("cgroup index: rescan %d: %d cgroups, %d new, %d gone, in %.1f ms"):format(
    self.rescans, self.nlive, added, removed, self.walk_cost * 1000))
  return true
end

-- Applies one event: what now stands at parent path + name decides, so
-- that merged events (a create and a delete of one name in one event) and
-- events of cgroups gone since come out right.
function Index:apply(ev)
  local mask = ev.mask
  if bit.band(mask, FAN_Q_OVERFLOW) ~= 0 or bit.band(mask, bit.bor(FAN_MOVED_FROM, FAN_MOVED_TO)) ~= 0 then
    -- Lost events, or a renamed cgroup whose descendants all change path.
    self.stale = true
    return
  end
  if bit.band(mask, FAN_ONDIR) == 0 or bit.band(mask, bit.bor(FAN_CREATE, FAN_DELETE)) == 0 then return end
  -- A parent not indexed is outside the indexed trees (the mark covers the
  -- whole filesystem), or was deleted and made again under the same name
  -- with this event merged into an older one: nothing here to learn.
  local parent = ev.parent and not self.dead[ev.parent] and self.paths[ev.parent]
  if not parent or not ev.name then return end
  self.events_applied = self.events_applied + 1
  local path = parent .. "/" .. ev.name
  local was = self.ids[path]
  local id = dir_id(path)
  if id and id == was then return end
  if was then
    self:remove(was)
    self.log("debug", ("cgroup index: %s (id %s) removed"):format(path, was))
  end
  if id then
    self:add(id, path)
    self.log("debug", ("cgroup index: learned %s (id %s) from fanotify"):format(path, id))
  elseif ev.target and not self.paths[ev.target] then
    -- Made and deleted between two polls: it never lived here, but rows
    -- counted meanwhile resolve for the grace period.
    self.paths[ev.target] = path
    self.dead[ev.target] = self.now()
    self.ndead = self.ndead + 1
    self.log("debug", ("cgroup index: learned %s (id %s) from fanotify after its deletion"):format(path, ev.target))
  end
end

-- Reads the pending fanotify events, without blocking.
function Index:read_events()
  local events = {}
  local fd = self.fan.fd
  while true do
    local n = tonumber(C.exporter_cgidx_read(fd, self.buf, self.buf_size))
    if n <= 0 then
      local errno = ffi.errno()
      if n == 0 or errno == EAGAIN then break end
      if errno ~= EINTR then
        self.log("warn", "cgroup index: reading fanotify events: " .. strerror(errno))
        self.stale = true
        break
      end
    else
      for _, ev in ipairs(M.parse_events(self.buf, n)) do events[#events + 1] = ev end
    end
  end
  return events
end

--- Applies the pending change events (fanotify), rescans if events were
-- lost, and forgets deleted cgroups past their grace period. Cheap to call
-- often: one non-blocking read when nothing changed.
-- @treturn number the events applied
function Index:poll()
  local applied = 0
  local events
  if self.source then
    events = self.source() or {}
  elseif self.fan then
    events = self:read_events()
  end
  if events then
    local before = self.events_applied
    for _, ev in ipairs(events) do self:apply(ev) end
    applied = self.events_applied - before
    if self.stale then
      self.stale = false
      self:rescan()
    end
  end
  self:sweep(self.now())
  return applied
end

--- The path of a cgroup id, or nil. A known id costs a table access; an
-- unknown one polls for events, or without them rescans (with a gap between
-- rescans, and not again for an id that missed within miss_ttl).
-- @param id a decimal string (as the uint decoder gives), a number or a uint64_t
-- @treturn string or nil
function Index:lookup(id)
  id = id_key(id)
  local path = self.paths[id]
  if path then
    local t = self.dead[id]
    if not t then return path end
    local now = self.now()
    if now - t <= self.grace then
      self.dead[id] = now
      return path
    end
    self:forget(id)
  end
  if self.source or self.fan then
    self:poll()
    return self.paths[id]
  end
  local now = self.now()
  local missed = self.misses.get(id)
  if missed and now - missed < self.miss_ttl then return nil end
  -- Not remembered as a miss when no rescan is made: the next lookup after
  -- the interval rescans for it.
  local gap = self.rescan_interval
    or math.max(DEFAULTS.min_rescan_interval, DEFAULTS.rescan_cost_factor * self.walk_cost)
  if now - self.last_rescan < gap then return nil end
  self:rescan()
  path = self.paths[id]
  if not path then self.misses.put(id, now) end
  return path
end

--- The id of a live cgroup path, or nil.
function Index:id_of(path)
  return self.ids[path]
end

--- Calls fn(id, path) for every live cgroup, in no particular order. fn must
-- not change the index (no lookups).
function Index:each(fn)
  for path, id in pairs(self.ids) do fn(id, path) end
end

--- Calls fn(change, id, path) when a cgroup is "created" or "removed" (a
-- moved cgroup is removed at its old path and created at the new one).
-- Changes are found in lookup, poll and rescan; each() gives the cgroups
-- known before subscribing. A failing fn is logged and stays subscribed.
-- @return a function that unsubscribes
function Index:subscribe(fn)
  if type(fn) ~= "function" then error("cgroup_index: subscribe needs a function", 2) end
  local list = self.subscribers
  list[#list + 1] = fn
  return function()
    for i = #list, 1, -1 do
      if list[i] == fn then table.remove(list, i) end
    end
  end
end

--- The fanotify file descriptor, for an event loop to poll() on readable;
-- nil when rescanning.
function Index:fd()
  return self.fan and self.fan.fd or nil
end

--- "fanotify" when changes arrive as events, "rescan" otherwise.
function Index:mode()
  return (self.fan or self.source) and "fanotify" or "rescan"
end

--- Counters for specs and debugging.
-- @return { cgroups = live, dead = deleted but remembered, rescans = count
-- after the first walk, events = fanotify events applied, mode = }
function Index:stats()
  return { cgroups = self.nlive, dead = self.ndead, rescans = self.rescans, events = self.events_applied,
    mode = self:mode() }
end

--- Closes the fanotify descriptor; lookups go on by rescanning.
function Index:close()
  if self.fan then
    if self.fan.fd >= 0 then C.exporter_cgidx_close(self.fan.fd) end
    self.fan.fd = -1
    self.fan = nil
    self.buf = nil
  end
end

-- The exporter's log, looked up at each call (specs replace it).
local function core_log(level, msg)
  require("exporter.log")[level](msg)
end

--- The index every user in this Lua state shares (the cgroup decoder, the
-- cgroup_id_map sync): one walk, one fanotify group. Kept in
-- decoder_api.state("cgroup"); specs set api.paths.mountinfo and
-- state.log before the first call, and api.reset() forgets it.
-- ELX_CGROUP_FANOTIFY=0 in the environment makes it rescan instead of
-- following fanotify, as on kernels without fanotify for cgroupfs.
-- @return the index, or nil and a message
function M.shared()
  local s = api.state("cgroup")
  if not s.index then
    local idx, err = M.new({
      mountinfo = api.paths.mountinfo or DEFAULTS.mountinfo,
      log = s.log or core_log,
      fanotify = os.getenv("ELX_CGROUP_FANOTIFY") ~= "0",
    })
    if not idx then
      return nil, err
    end
    s.index = idx
  end
  return s.index
end

return M
