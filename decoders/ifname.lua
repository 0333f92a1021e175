-- ifname: the first 4 bytes (u32, host byte order) are a network interface
-- index -> the interface's name in the exporter's network namespace ("eth0"),
-- or "unknown:<index>" when no interface has that index.
--
-- Names are cached per index, but only for NAME_TTL seconds: an interface can
-- be renamed, or deleted and its index given to a new one, and a stale name
-- would be a wrong label forever. A miss is not cached: an interface that
-- appears later is named on the next decode. (Go's ebpf_exporter caches hits
-- for ever and misses never.) The exporter's own label cache may still keep
-- a decoded row longer; the TTL bounds what this decoder hands out.
local api = require("exporter.decoder_api")
local libc = require("exporter.libc")

local M = {}

local NAME_TTL = 60 -- seconds
local CACHE_SIZE = 4096

--- The name of interface idx, or nil when there is none. A module field, so
-- that specs can replace it.
M.index_to_name = libc.if_indextoname

local function cache()
  local s = api.state("ifname")
  if not s.names then s.names = api.bounded_cache(CACHE_SIZE) end
  return s.names
end

function M.new(_, ctx)
  if ctx.input_size ~= nil and ctx.input_size < 4 then
    return nil, string.format("ifname: input must be at least 4 bytes (a u32 interface index), not %d", ctx.input_size)
  end
  return function(input)
    if #input < 4 then
      return nil, string.format("ifname: cannot decode %d bytes", #input)
    end
    local idx = api.read_uint(input, 1, 4)
    local names = cache()
    local now = api.now()
    local entry = names.get(idx)
    if entry and now - entry.at < NAME_TTL then return entry.name end
    local name = M.index_to_name(idx)
    if not name then return string.format("unknown:%d", idx), api.UNCACHED end
    names.put(idx, { name = name, at = now })
    return name
  end
end

return M
