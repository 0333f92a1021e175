-- Helpers for decoder authors: the skip sentinel, reading integers from raw key
-- bytes, a bounded cache, reading system files, and hooks that let specs point
-- decoders at fixture files instead of /proc.
--
-- A decoder is a file `<name>.lua` returning a table with `new(options, ctx)`;
-- see lua/exporter/decoders.lua for the full contract.
-- @module exporter.decoder_api
local ffi = require("ffi")

local label_cache = require("exporter.label_cache")
local numfmt = require("exporter.numfmt")

local M = {}

--- Returned by a decode function to drop the whole row (map key) from the scrape.
-- Compare by identity: `if out == api.SKIP then`.
M.SKIP = setmetatable({}, { __tostring = function() return "exporter.decoder_api.SKIP" end, __metatable = false })

--- Returned after a label value, `return "unknown:7", api.UNCACHED`, for a
-- stand-in answer that may become a real one (a device or cgroup not seen
-- yet): the row is exported with it, but not cached, so the decoder is asked
-- again at the next scrape.
M.UNCACHED = setmetatable({}, { __tostring = function() return "exporter.decoder_api.UNCACHED" end,
  __metatable = false })

local DEFAULT_PATHS = {
  kallsyms = "/proc/kallsyms",
  partitions = "/proc/partitions",
}

--- Files that decoders read. Specs replace entries with fixture paths; decoders
-- must look the path up here each time they open the file (never copy it at
-- load), so a change applies to the next read.
-- @table paths
M.paths = {}
for k, v in pairs(DEFAULT_PATHS) do M.paths[k] = v end

-- One scratch buffer for read_uint: the union gives each width its own view.
local scratch = ffi.new("union { uint8_t b[8]; uint16_t u16; uint32_t u32; uint64_t u64; }")
local HOST_BIG_ENDIAN = ffi.abi("be")
local EXACT_LIMIT = 2 ^ 53

--- Reads an unsigned integer from a byte string.
-- @tparam string s the bytes
-- @tparam[opt=1] number offset 1-based position of the first byte, as in string.sub
-- @tparam number size 1, 2, 4 or 8
-- @tparam[opt=false] boolean big_endian true for network order; default is host order
-- @return a Lua number for sizes 1, 2 and 4. For size 8, a Lua number when the
-- value is below 2^53 (so it is exact), else a `uint64_t` cdata: exact, it
-- compares and does arithmetic with numbers, but it is a distinct object per
-- call (do not use it as a table key) and `tostring` appends "ULL". Use
-- `u64_decimal` to print 8-byte values.
-- Raises an error when size is not 1, 2, 4 or 8 or the bytes run past the end
-- of `s`: decoders check the input length first.
function M.read_uint(s, offset, size, big_endian)
  offset = offset or 1
  if size ~= 1 and size ~= 2 and size ~= 4 and size ~= 8 then
    error("read_uint: size must be 1, 2, 4 or 8, not " .. tostring(size), 2)
  end
  if type(s) ~= "string" or offset < 1 or offset + size - 1 > #s then
    error(string.format("read_uint: %d bytes at offset %s do not fit in the input", size, tostring(offset)), 2)
  end
  local p = ffi.cast("const uint8_t *", s) + (offset - 1)
  -- Copy rather than cast: the input need not be aligned for the width.
  if (big_endian and true or false) == HOST_BIG_ENDIAN then
    ffi.copy(scratch.b, p, size)
  else
    for i = 0, size - 1 do
      scratch.b[i] = p[size - 1 - i]
    end
  end
  if size == 1 then return scratch.b[0] end
  if size == 2 then return scratch.u16 end
  if size == 4 then return scratch.u32 end
  local v = scratch.u64 -- a fresh boxed uint64_t
  if v < EXACT_LIMIT then return tonumber(v) end
  return v
end

--- Formats an 8-byte unsigned integer exactly in decimal.
-- @tparam string s the bytes
-- @tparam[opt=1] number offset 1-based position of the first byte
-- @tparam[opt=false] boolean big_endian
-- @treturn string e.g. "18446744073709551615"
function M.u64_decimal(s, offset, big_endian)
  return numfmt.u64(M.read_uint(s, offset, 8, big_endian))
end

--- A cache that holds a bounded number of entries, for decoders that look
-- things up by input.
-- Entries live in two generations: puts go to the young one; when it holds n
-- entries it becomes the old one and the previous old one is dropped; a hit in
-- the old generation moves the entry back to the young one. So the cache keeps
-- at least the n most recently put or hit keys and never more than 2n, with
-- O(1) work per call.
-- @tparam number n the size of a generation, at least 1
-- @return a cache with `get(key)`, `put(key, value)` (value must not be nil),
-- `clear()` and `count()`
function M.bounded_cache(n)
  if type(n) ~= "number" or n < 1 then
    error("bounded_cache: size must be a number >= 1, not " .. tostring(n), 2)
  end
  -- The label cache's implementation, with plain functions as this API has them.
  local c = label_cache.new(n)
  return {
    get = function(key) return c:get(key) end,
    put = function(key, value)
      if value == nil then error("bounded_cache: put of a nil value", 2) end
      c:put(key, value)
    end,
    clear = function() c:clear() end,
    count = function() return c:count() end,
  }
end

--- Reads a whole file, such as /proc/<pid>/cmdline, as a string (bytes as
-- they are), at most `max_bytes` of it (default 1 MiB).
-- @tparam string path
-- @tparam[opt=1048576] number max_bytes
-- @return the content, or nil and "<path>: <reason>"
function M.read_file(path, max_bytes)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local s = f:read(max_bytes or 1048576) or ""
  f:close()
  return s
end

--- Iterates over the lines of a file, for large files such as /proc/kallsyms.
-- The file is closed when the iteration reaches its end.
-- @tparam string path
-- @return an iterator, or nil and "<path>: <reason>"
function M.lines(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  return function()
    if not f then return nil end
    local line = f:read("*l")
    if line == nil then
      f:close()
      f = nil
    end
    return line
  end
end

--- Reads a whole file as lines.
-- @tparam string path
-- @return an array of lines (without newlines), or nil and "<path>: <reason>"
function M.read_lines(path)
  local it, err = M.lines(path)
  if not it then return nil, err end
  local out = {}
  for line in it do out[#out + 1] = line end
  return out
end

local monotonic_now = require("exporter.clock").monotonic

--- Seconds on a monotonic clock, for rate limits (e.g. how often a system
-- file is re-read). Specs may replace it; `reset` restores it.
-- @treturn number
M.now = monotonic_now

--- A decode function for "a decimal number (from uint) -> its name in a
-- table", as the errno and syscall decoders are.
-- @tparam table names number -> name
-- @tparam string decoder the decoder's name, for the error on non-numbers
-- @tparam string miss prefix of the number for those the table lacks
function M.name_by_number(names, decoder, miss)
  return function(input)
    local digits = input:match("^0*(%d+)$")
    if not digits then
      return nil, decoder .. ": not a number: " .. input
    end
    -- Past 15 digits tonumber would round and could hit a real number.
    local name = #digits <= 15 and names[tonumber(digits)]
    return name or miss .. digits
  end
end

-- Per-name state shared by every use of a decoder (e.g. one kallsyms index for
-- all ksym labels): see state() and reset().
local states = {}

--- A table for state that every use of a decoder shares, such as an index of a
-- system file. Call it whenever you need the state (not once at load), so that
-- `reset` takes effect.
-- @tparam string name usually the decoder name
-- @treturn table
function M.state(name)
  local s = states[name]
  if not s then
    s = {}
    states[name] = s
  end
  return s
end

local function read_only(t, what)
  return setmetatable({}, {
    __index = t,
    __newindex = function(_, k)
      error(("%s.%s: %s is read-only for decoders"):format(what, tostring(k), what), 2)
    end,
    __metatable = false,
  })
end

-- Reads of sandboxed decoders: only files every user may read.
local function readable(fn)
  return function(path, ...)
    if type(path) ~= "string" then
      error("a file path must be a string, not " .. type(path), 2)
    end
    local ok, err = require("exporter.file_access").readable_by_all(path)
    if not ok then
      return nil, err .. ": decoders read only files that every user may read"
    end
    return fn(path, ...)
  end
end

--- The API as sandboxed decoders see it (exporter.sandbox): read-only, with
-- their own state tables, and reads of files that every user may read only.
function M.sandboxed()
  local view = {}
  for k, v in pairs(M) do
    view[k] = v
  end
  view.paths = read_only(M.paths, "api.paths")
  view.state = function(name) return M.state("user:" .. tostring(name)) end
  view.read_file, view.lines, view.read_lines = readable(M.read_file), readable(M.lines), readable(M.read_lines)
  view.reset, view.sandboxed = nil, nil
  -- Looked up at each call: specs replace M.now.
  view.now = function() return M.now() end
  return read_only(view, "api")
end

--- For specs: forgets all decoder state and restores the default paths and
-- clock.
function M.reset()
  states = {}
  M.now = monotonic_now
  for k in pairs(M.paths) do M.paths[k] = nil end
  for k, v in pairs(DEFAULT_PATHS) do M.paths[k] = v end
end

return M
