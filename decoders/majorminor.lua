-- majorminor: a device number as the kernel's new_encode_dev() u32 (first 4
-- bytes, host byte order) -> its name from /proc/partitions, e.g. "nvme0n1".
-- A device not listed gives "unknown:<major>:<minor>".
local api = require("exporter.decoder_api")

local M = {}

-- Devices that missed even after a fresh read of /proc/partitions, and for
-- how long such a miss is believed: a device number comes back with a new
-- device (loop devices are made and removed all the time), and a miss kept
-- for good would leave that device unknown. Within the TTL a row of the
-- same device (every bucket of a histogram) costs no read.
local MISS_CACHE_SIZE = 1024
local MISS_TTL = 0.1 -- seconds

-- new_encode_dev(): minor bits 0-7 and 20-31, major bits 8-19.
local function split_dev(dev)
  local major = bit.rshift(bit.band(dev, 0xfff00), 8)
  local minor = bit.bor(bit.band(dev, 0xff), bit.band(bit.rshift(dev, 12), 0xfff00))
  return major, minor
end

-- Reads /proc/partitions into { ["<major>:<minor>"] = name }. Lines are
-- "major minor #blocks name"; the header and blank lines do not match.
local function read_index(path)
  local lines, err = api.lines(path)
  if not lines then return nil, err end
  local index = {}
  for line in lines do
    local major, minor, name = line:match("^%s*(%d+)%s+(%d+)%s+%d+%s+(%S+)%s*$")
    if major then
      local key = tonumber(major) .. ":" .. tonumber(minor)
      if index[key] == nil then index[key] = name end
    end
  end
  return index
end

-- The name of device key "<major>:<minor>", or nil; reads the file on first
-- use and again on a miss not seen within MISS_TTL (devices added since).
local function lookup(key)
  local s = api.state("majorminor")
  if not s.misses then s.misses = api.bounded_cache(MISS_CACHE_SIZE) end
  if s.index then
    local name = s.index[key]
    if name then return name end
    local missed = s.misses.get(key)
    if missed and api.now() - missed < MISS_TTL then return nil end
  end
  local index, err = read_index(api.paths.partitions)
  if not index then return nil, err end
  s.index = index
  local name = index[key]
  if not name then s.misses.put(key, api.now()) end
  return name
end

function M.new(_, ctx)
  if ctx.input_size ~= nil and ctx.input_size < 4 then
    return nil, string.format("majorminor: input must be at least 4 bytes (a u32 device number), not %d",
      ctx.input_size)
  end
  return function(input)
    if #input < 4 then
      return nil, string.format("majorminor: cannot decode %d bytes", #input)
    end
    local major, minor = split_dev(api.read_uint(input, 1, 4))
    local key = major .. ":" .. minor
    local name, err = lookup(key)
    if name then return name end
    if err then return nil, "majorminor: " .. err end
    return "unknown:" .. key, api.UNCACHED
  end
end

return M
