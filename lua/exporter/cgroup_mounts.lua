-- Where the cgroup2 hierarchies are mounted, from a mountinfo file.
-- @module exporter.cgroup_mounts
local api = require("exporter.decoder_api")

local M = {}

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

return M
