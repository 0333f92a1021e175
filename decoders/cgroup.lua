-- cgroup: a decimal cgroup v2 id (usually from uint; the id that
-- bpf_get_current_cgroup_id() returns) -> the cgroup's path under its cgroup2
-- mount, e.g. "/sys/fs/cgroup/system.slice/ssh.service".
-- An id that is no cgroup gives "unknown_cgroup_id:<id>".
local api = require("exporter.decoder_api")
local cgroup_index = require("exporter.cgroup_index")

local M = {}

-- One index for every use of the decoder, shared with cgroup_id_map.
local index = cgroup_index.shared

local byte = string.byte

-- The id's digits without leading zeros, or nil when input is not a decimal
-- number. A byte loop the JIT compiles; a pattern match would not be.
local function decimal(input)
  local n = #input
  if n == 0 then return nil end
  for i = 1, n do
    local c = byte(input, i)
    if c < 48 or c > 57 then return nil end
  end
  if n > 1 and byte(input, 1) == 48 then return input:match("^0*(%d+)$") end
  return input
end

function M.new(_, ctx)
  if ctx.input_size ~= nil then
    return nil, "cgroup: needs the decimal cgroup id from a decoder such as uint first"
  end
  -- Built now rather than at the first scrape, so that it follows cgroup
  -- changes from the start; a failure shows at decode time.
  index()
  return function(input)
    local id = decimal(input)
    if not id then return nil, "cgroup: not a number: " .. input end
    local idx, err = index()
    if not idx then return nil, "cgroup: " .. err end
    local path = idx:lookup(id)
    if path then return path end
    -- Maybe a cgroup the index has not learned yet: ask again next scrape.
    return "unknown_cgroup_id:" .. id, api.UNCACHED
  end
end

return M
