-- The cgroup directories under a root, by id: a cgroup v2 id (what
-- bpf_get_current_cgroup_id() returns) is the inode number of the cgroup's
-- directory. Ids are decimal strings, exact whatever their size.
-- @module exporter.cgroup_tree
local libc = require("exporter.libc")
local numfmt = require("exporter.numfmt")

local M = {}

local u64_text = numfmt.u64
local DT_DIR, DT_UNKNOWN = libc.DT_DIR, libc.DT_UNKNOWN

--- The id of the directory at path: its inode number, which for a cgroup
-- directory is the cgroup id; nil when it is missing or not a directory.
-- @tparam string path
-- @treturn string or nil, in decimal
function M.dir_id(path)
  local ino, mode = libc.stat_ino(path)
  if not ino or bit.band(mode, libc.S_IFMT) ~= libc.S_IFDIR then return nil end
  return u64_text(ino)
end

--- Walks the directory tree under root into out[id] = path. Directory
-- entries carry the inode number, so the walk stats nothing but the root:
-- thousands of cgroups take milliseconds. An id already in out is not
-- entered again, which keeps a bind mount inside the tree from looping.
-- Symbolic links are not followed.
-- @tparam string root
-- @tparam table out
-- @treturn number the directories added to out
function M.walk(root, out)
  local root_id = M.dir_id(root)
  if not root_id then return 0 end
  local n = 0
  if not out[root_id] then
    out[root_id] = root
    n = 1
  end
  local stack = { (root:gsub("/+$", "")) }
  local dir
  local function visit(name, d_type, d_ino)
    if (d_type ~= DT_DIR and d_type ~= DT_UNKNOWN) or name == "." or name == ".." then return end
    local path = dir .. "/" .. name
    local id
    if d_type == DT_DIR then id = u64_text(d_ino) else id = M.dir_id(path) end
    if id and not out[id] then
      out[id] = path
      n = n + 1
      stack[#stack + 1] = path
    end
  end
  while #stack > 0 do
    dir = stack[#stack]
    stack[#stack] = nil
    -- A directory removed since its parent was read cannot be opened: skip it.
    libc.each_entry(dir == "" and "/" or dir, visit)
  end
  return n
end

return M
