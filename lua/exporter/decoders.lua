-- The decoder registry: loads every decoder file from the built-in directory
-- and users' directories, checks each one's shape, and builds decode functions
-- for the labels of a config.
--
-- A decoder is a file `<name>.lua` returning a table with one function:
--   new(options, ctx) -> decode(input) or nil, "<message>" (a config error)
-- where options is the decoder's YAML mapping (with `name`) and ctx is
--   { input_size = <bytes> or nil, label = <name>, config = <name>, path = <yaml path> }.
-- decode(input) returns a string, decoder_api.SKIP to drop the row, or
-- nil, "<message>" for a decode error.
local api = require("exporter.decoder_api")
local libc = require("exporter.libc")

local M = {}

-- The `*.lua` file names in dir, sorted; nil, err when it cannot be opened.
local function lua_files(dir)
  local names = {}
  local ok, err = libc.each_entry(dir, function(name)
    if name:match("^[^.].*%.lua$") then names[#names + 1] = name end
  end)
  if not ok then
    return nil, "cannot open decoder directory " .. err
  end
  table.sort(names)
  return names
end

-- Runs a decoder file and checks what it returns; the error names the file.
local function load_decoder(name, path)
  local function fail(what)
    return nil, string.format('decoder "%s" (%s): %s', name, path, what)
  end
  -- Lua prefixes messages with "<path>:<line>:"; the path is already named.
  local function where(msg)
    msg = tostring(msg)
    if msg:sub(1, #path + 1) == path .. ":" then
      return (msg:sub(#path + 2):gsub("^(%d+):", "line %1:", 1))
    end
    return msg
  end
  local chunk, err = loadfile(path)
  if not chunk then return fail(where(err)) end
  local ok, mod = pcall(chunk)
  if not ok then return fail("error while loading: " .. where(mod)) end
  if type(mod) ~= "table" then
    return fail("did not return a table (returned " .. type(mod) .. ")")
  end
  if type(mod.new) ~= "function" then
    return fail(mod.new == nil and "has no function new" or "new is a " .. type(mod.new) .. ", not a function")
  end
  return mod
end

local Registry = {}
Registry.__index = Registry

--- Loads every `*.lua` file of each directory, in order; a later directory's
-- decoder replaces an earlier one of the same name, and log(msg) says so.
-- The first directory is normally decoders.builtin_dir().
-- @return a registry, or nil and the first error
function M.load(dirs, log)
  if type(dirs) ~= "table" then error("decoders.load: dirs must be a list of directories", 2) end
  log = log or function() end
  local mods, paths = {}, {}
  for i, dir in ipairs(dirs) do
    local files, err = lua_files(dir)
    if not files then return nil, err end
    for _, file in ipairs(files) do
      local name = file:sub(1, -5)
      local path = dir:gsub("/+$", "") .. "/" .. file
      local mod, lerr = load_decoder(name, path)
      if not mod then return nil, lerr end
      if mods[name] then
        log(string.format('decoder "%s" from %s overrides %s', name, path,
          paths[name].builtin and "the built-in one" or "the one from " .. paths[name].path))
      end
      mods[name] = mod
      paths[name] = { path = path, builtin = (i == 1) }
    end
  end
  return setmetatable({ mods = mods, paths = paths }, Registry)
end

--- The names of all loaded decoders, sorted.
function Registry:names()
  local out = {}
  for name in pairs(self.mods) do out[#out + 1] = name end
  table.sort(out)
  return out
end

--- The file a decoder was loaded from, or nil.
function Registry:path(name)
  local p = self.paths[name]
  return p and p.path
end

--- Builds a decode function for one use of a decoder in a config.
-- The result never raises: a decoder that raises or returns something other
-- than a string, SKIP or nil+message gives nil, "<message>".
-- @param options the decoder's YAML mapping, with `name`
-- @param ctx { input_size, label, config, path }
-- @return decode(input), or nil and a message (the caller adds file and YAML path)
function Registry:new(options, ctx)
  if type(options) ~= "table" then
    return nil, "decoder must be a mapping with a name, not a " .. type(options)
  end
  local name = options.name
  if type(name) ~= "string" then
    return nil, name == nil and "decoder has no name" or "decoder name must be a string"
  end
  local mod = self.mods[name]
  if not mod then return nil, string.format('unknown decoder "%s"', name) end
  local ok, fn, err = pcall(mod.new, options, ctx or {})
  if not ok then
    return nil, string.format('decoder "%s" (%s): new failed: %s', name, self.paths[name].path, tostring(fn))
  end
  if fn == nil then return nil, err or string.format('decoder "%s": new returned nil', name) end
  if type(fn) ~= "function" then
    return nil, string.format('decoder "%s" (%s): new returned a %s, not a function',
      name, self.paths[name].path, type(fn))
  end
  local SKIP, UNCACHED = api.SKIP, api.UNCACHED
  return function(input)
    local cok, out, derr = pcall(fn, input)
    if not cok then return nil, string.format('decoder "%s" raised: %s', name, tostring(out)) end
    if type(out) == "string" then
      if derr == UNCACHED then return out, UNCACHED end
      return out
    end
    if out == SKIP then return out end
    if out == nil then return nil, derr or string.format('decoder "%s" returned nil', name) end
    return nil, string.format('decoder "%s" returned a %s, not a string', name, type(out))
  end
end

--- The built-in decoder directory, `<repo>/decoders`, found from this file's
-- own path (lua/exporter/decoders.lua) so that specs and the binary agree.
function M.builtin_dir()
  local source = debug.getinfo(1, "S").source
  local file = source:sub(1, 1) == "@" and source:sub(2) or "lua/exporter/decoders.lua"
  local dir = file:match("^(.*)/[^/]*$") or "."
  -- An installed rock keeps them next to this module: exporter/decoders/.
  local installed = io.open(dir .. "/decoders/uint.lua")
  if installed then
    installed:close()
    return dir .. "/decoders"
  end
  -- The source tree: <root>/decoders. Drop the two components rather than
  -- append "../..": log lines stay readable.
  if dir == "lua/exporter" or dir == "./lua/exporter" then return "decoders" end
  local root = dir:match("^(.*)/lua/exporter$")
  if root then return root .. "/decoders" end
  return dir .. "/../../decoders"
end

return M
