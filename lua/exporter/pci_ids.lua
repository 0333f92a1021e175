-- The PCI ID database (pci.ids) for the pci_vendor, pci_device, pci_class and
-- pci_subclass decoders: found, parsed once per Lua state into tables kept
-- outside the Lua heap (exporter.name_table), and shared by all four; plus
-- the number parsing and hex formatting they share.
-- @module exporter.pci_ids
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local name_table = require("exporter.name_table")

local M = {}

--- Where pci.ids is looked for, in order (Debian's pci.ids package installs
-- the first, hwdata links the second to it). Specs set `api.paths.pci_ids` to
-- a path or a list of paths instead.
M.DEFAULT_PATHS = { "/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids" }

--- What every pci decoder gives when no pci.ids exists, as ebpf_exporter does.
M.MISSING = "missing pci.ids db"

local ENOENT = 2

--- Writes one warning line: to api.log should the decoder API have one,
-- else to the exporter's log. Specs replace it.
function M.log(msg)
  if type(api.log) == "function" then return api.log(msg) end
  return require("exporter.log").warn(msg)
end

--- Parses the lines of a pci.ids file.
-- Lines: `vvvv  vendor`, `\tdddd  device` (of the vendor above), `C cc  class`,
-- `\tss  subclass` (of the class above); lines with two tabs (subsystems,
-- programming interfaces), comments and blank lines are skipped. An id's
-- first line wins (the file has no duplicates).
-- @tparam function lines an iterator over the lines
-- @return { vendors = {[vendor] = name}, devices = {[vendor * 65536 + device] = name},
--   classes = {[class] = name}, subclasses = {[class * 256 + subclass] = name} },
--   keyed by number: exporter.name_table tables, outside the Lua heap
function M.parse(lines)
  local vendors, devices = name_table.builder(), name_table.builder()
  local classes, subclasses = name_table.builder(), name_table.builder()
  local tonumber = tonumber
  -- What one-tab lines belong to: a vendor id, a class id, or neither (after
  -- a line this parser does not know).
  local vendor, class
  for line in lines do
    local c = line:byte(1)
    if c == 9 then -- "\t"
      if line:byte(2) ~= 9 then
        if vendor then
          local id, name = line:match("^\t(%x%x%x%x)  (.*)$")
          if id then devices.add(vendor * 65536 + tonumber(id, 16), name) end
        elseif class then
          local id, name = line:match("^\t(%x%x)  (.*)$")
          if id then subclasses.add(class * 256 + tonumber(id, 16), name) end
        end
      end
    elseif c ~= 35 then -- not "#"
      local id, name = line:match("^(%x%x%x%x)  (.*)$")
      if id then
        vendor, class = tonumber(id, 16), nil
        vendors.add(vendor, name)
      else
        id, name = line:match("^C (%x%x)  (.*)$")
        if id then
          vendor, class = nil, tonumber(id, 16)
          classes.add(class, name)
        else
          vendor, class = nil, nil
        end
      end
    end
  end
  return { vendors = vendors.build(), devices = devices.build(), classes = classes.build(),
    subclasses = subclasses.build() }
end

local function candidates()
  local p = api.paths.pci_ids
  if type(p) == "string" then return { p } end
  if type(p) == "table" then return p end
  return M.DEFAULT_PATHS
end

-- Reads the first pci.ids that exists: the parsed db, or false when none
-- exists, or nil and an error when one exists but cannot be read.
local function read_db()
  local paths = candidates()
  for _, path in ipairs(paths) do
    local f, err, code = io.open(path, "rb")
    if f then
      -- Line by line: the whole text would be 1.4 MB of Lua heap. A read
      -- error shows at the first read (a directory), so probe for it.
      local probe, rerr = f:read(0)
      if probe == nil and rerr then
        f:close()
        return nil, path .. ": " .. tostring(rerr)
      end
      local db = M.parse(f:lines())
      f:close()
      return db, path
    end
    if code ~= ENOENT then return nil, err end
  end
  return false, table.concat(paths, " or ")
end

--- The database, read on the first call in this Lua state, which is the
-- config load of the first pci decoder (a reset of the decoder API forgets it).
-- @return the parsed db (see parse), or false when no pci.ids exists (logged
-- once), or nil and "<path>: <reason>" when it exists but cannot be read
function M.db()
  local s = api.state("pci_ids")
  if s.db == nil and not s.err then
    local db, where = read_db()
    if db == false then
      M.log(string.format('pci.ids not found at %s: pci_vendor, pci_device, pci_class and '
        .. 'pci_subclass labels will read "%s" (Debian: apt install pci.ids, or hwdata)', where, M.MISSING))
    end
    if db == nil then
      s.err = where
    else
      s.db = db
    end
  end
  if s.err then return nil, s.err end
  return s.db
end

local U64_MAX_TEXT = "18446744073709551615"

-- Inputs of more than 15 digits (the uint decoder prints 8-byte values up to
-- 20): exact as a uint64_t cdata at 2^53 and above.
local function parse_long_id(input)
  if not input:find("^%d+$") then return nil, "not a number" end
  local digits = input:match("^0*(%d.-)$")
  if #digits <= 15 then return tonumber(digits) end
  if #digits > #U64_MAX_TEXT or (#digits == #U64_MAX_TEXT and digits > U64_MAX_TEXT) then
    return nil, "out of range"
  end
  local v = 0ULL
  for i = 1, #digits do v = v * 10 + (digits:byte(i) - 48) end
  if v < 2 ^ 53 then return tonumber(v) end
  return v
end

-- A decimal input as a number (a Lua number below 2^53, a uint64_t cdata
-- above), or nil and what is wrong with it. A byte loop rather than a string
-- pattern: LuaJIT compiles it, and a scrape may decode 100,000 ids.
local function parse_id(input)
  local n = #input
  if n == 0 then return nil, "not a number" end
  if n > 15 then return parse_long_id(input) end
  local p = ffi.cast("const uint8_t *", input)
  local v = 0
  for i = 0, n - 1 do
    local d = p[i] - 48
    if d < 0 or d > 9 then return nil, "not a number" end
    v = v * 10 + d
  end
  return v
end

local FORMATS = { [2] = "%02x", [4] = "%04x" }

--- Lowercase hex of an id with at least `width` digits (2 or 4), as Go's
-- %02x and %04x print it. Takes numbers and uint64_t cdata.
function M.hex(id, width)
  return string.format(FORMATS[width], id)
end

--- Builds a decode function for one of the pci decoders, at config load.
-- @tparam string name the decoder name, for messages
-- @tparam function lookup(db, id) -> the label for a parsed id (a number, or
-- a uint64_t cdata for ids of 2^53 and above)
-- @return decode(input), or nil and a config error when pci.ids exists but
-- cannot be read
function M.decoder(name, lookup)
  local db, err = M.db()
  if db == nil then return nil, string.format("%s: cannot read pci.ids: %s", name, err) end
  return function(input)
    -- ebpf_exporter answers this before it even looks at the input.
    if not db then return M.MISSING end
    local id, why = parse_id(input)
    if id == nil then return nil, string.format("%s: %s: %s", name, why, input) end
    return lookup(db, id)
  end
end

return M
