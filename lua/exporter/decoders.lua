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
--
-- Built-in decoders (the first directory) are the exporter's own code.
-- Users' decoders run in the sandbox (exporter.sandbox), from files that
-- only root or our own user can change (exporter.file_access), under the
-- guard's time and memory budgets (exporter.guard).
local api = require("exporter.decoder_api")
local file_access = require("exporter.file_access")
local guard = require("exporter.guard")
local libc = require("exporter.libc")
local sandbox = require("exporter.sandbox")

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

--- The longest label value a decoder may return, in bytes: far more than
-- any real label (a 127-frame kstack is ~8 KiB), far less than what would
-- hurt a scrape.
M.MAX_VALUE = 16384

local SAFE_FILES = "decoder files and the directories above them may be writable only by root or the "
  .. "exporter's own user, as sshd requires of its key files"

-- Lua prefixes messages with "<path>:<line>:" (with "=<path>" chunk names a
-- long path is cut short); the path is named already.
local function where(msg, path)
  msg = tostring(msg)
  local prefix, line, rest = msg:match("^([^\n]-):(%d+): (.*)$")
  if prefix and prefix ~= "" and path:sub(1, #prefix) == prefix then
    return ("line %s: %s"):format(line, rest)
  end
  return msg
end

-- Runs a decoder file's chunk; users' under the guard, in a section of its own.
local function run_chunk(chunk, user)
  if not user then
    return pcall(chunk)
  end
  guard.begin()
  local ok, mod = guard.call(chunk)
  guard.finish()
  if not ok and (mod == guard.OVERTIME or mod == guard.OUT_OF_MEMORY) then
    return false, guard.describe(mod)
  end
  return ok, mod
end

-- Runs a decoder file and checks what it returns; the error names the file.
local function load_decoder(name, path, user, unrestricted)
  local function fail(what)
    return nil, string.format('decoder "%s" (%s): %s', name, path, what)
  end
  local why = user and file_access.unsafe_for_code(path, 1)
  if why then return fail("refused: " .. why .. "; " .. SAFE_FILES) end
  local chunk, err
  if user then
    chunk, err = sandbox.load(path, name, unrestricted)
  else
    chunk, err = loadfile(path)
  end
  if not chunk then return fail(where(err, path)) end
  local ok, mod = run_chunk(chunk, user)
  if not ok then return fail("error while loading: " .. where(mod, path)) end
  if type(mod) ~= "table" then
    return fail("did not return a table (returned " .. type(mod) .. ")")
  end
  if type(mod.new) ~= "function" then
    return fail(mod.new == nil and "has no function new" or "new is a " .. type(mod.new) .. ", not a function")
  end
  return mod
end

local function check_dir(dir)
  local why = file_access.unsafe_for_code(dir, 0)
  if why then
    return nil, ("decoder directory %s: refused: %s; %s"):format(dir, why, SAFE_FILES)
  end
  return true
end

local Registry = {}
Registry.__index = Registry

--- Loads every `*.lua` file of each directory, in order; a later directory's
-- decoder replaces an earlier one of the same name, and log(msg) says so.
-- The first directory is normally decoders.builtin_dir(): the exporter's
-- own decoders; the others are users'. `opts.unrestricted` runs users'
-- decoders with all of LuaJIT (--decoders.unrestricted).
-- @return a registry, or nil and the first error
function M.load(dirs, log, opts)
  if type(dirs) ~= "table" then error("decoders.load: dirs must be a list of directories", 2) end
  log = log or function() end
  local unrestricted = opts and opts.unrestricted or false
  local mods, paths = {}, {}
  for i, dir in ipairs(dirs) do
    local user = i > 1
    local files, err = lua_files(dir)
    if files and user then
      local safe, why = check_dir(dir)
      if not safe then files, err = nil, why end
    end
    if not files then return nil, err end
    for _, file in ipairs(files) do
      local name = file:sub(1, -5)
      local path = dir:gsub("/+$", "") .. "/" .. file
      local mod, lerr = load_decoder(name, path, user, unrestricted)
      if not mod then return nil, lerr end
      if mods[name] then
        log(string.format('decoder "%s" from %s overrides %s', name, path,
          paths[name].builtin and "the built-in one" or "the one from " .. paths[name].path))
      end
      mods[name] = mod
      paths[name] = { path = path, builtin = not user }
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

-- Calls a decoder's new: users' under the guard, in a section of its own.
local function call_new(mod, user, options, ctx)
  if not user then
    return pcall(mod.new, options, ctx)
  end
  guard.begin()
  local ok, fn, err = guard.call(mod.new, options, ctx)
  guard.finish()
  if not ok and (fn == guard.OVERTIME or fn == guard.OUT_OF_MEMORY) then
    return false, guard.describe(fn)
  end
  return ok, fn, err
end

--- Raised by a users' decoder that ran past the time budget of the section
-- it runs in: its config's collection stops there (entry.lua catches it).
-- { decoder = <name>, path = <file>, message = "..." }
M.Overtime = { __tostring = function(e) return e.message end }

local SKIP, UNCACHED = api.SKIP, api.UNCACHED

-- What a decode function's answer becomes: a string (maybe with UNCACHED),
-- SKIP, or nil and a message.
local function checked(name, cok, out, derr)
  if not cok then return nil, string.format('decoder "%s" raised: %s', name, tostring(out)) end
  if type(out) == "string" then
    if #out > M.MAX_VALUE then
      return nil, string.format('decoder "%s" returned a value of %d bytes; label values may have at most %d',
        name, #out, M.MAX_VALUE)
    end
    if derr == UNCACHED then return out, UNCACHED end
    return out
  end
  if out == SKIP then return out end
  if out == nil then return nil, derr or string.format('decoder "%s" returned nil', name) end
  return nil, string.format('decoder "%s" returned a %s, not a string', name, type(out))
end

-- The decode function of a users' decoder: under the guard, in the section
-- of the scrape it runs in.
local function guarded(name, path, fn)
  return function(input)
    local cok, out, derr = guard.call(fn, input)
    if not cok and out == guard.OVERTIME then
      error(setmetatable({ decoder = name, path = path,
        message = ('decoder "%s" (%s) %s'):format(name, path, guard.describe(out)) }, M.Overtime), 0)
    elseif not cok and out == guard.OUT_OF_MEMORY then
      return nil, ('decoder "%s" %s'):format(name, guard.describe(out))
    end
    return checked(name, cok, out, derr)
  end
end

--- Whether a decoder is a built-in one that says (`ascii_only = true` in its
-- module) that its answers are always ASCII: labels.lua then skips their
-- UTF-8 check. Users' decoders are always checked.
function Registry:ascii_only(name)
  local p, mod = self.paths[name], self.mods[name]
  return p ~= nil and p.builtin == true and mod.ascii_only == true
end

--- Builds a decode function for one use of a decoder in a config.
-- The result never raises, except M.Overtime for a users' decoder past its
-- time budget: a decoder that raises or returns something other than a
-- string, SKIP or nil+message gives nil, "<message>".
-- @param options the decoder's YAML mapping, with `name`
-- @param ctx { input_size, label, config, path }
-- @return decode(input), or nil and a message (the caller adds file and YAML path);
-- for a built-in decoder also its own function, unchecked: labels.lua calls
-- it directly where it can take a raise back (a pcall per call stops the
-- JIT's trace there, "NYI: return to lower frame", and cost 10x the decoding)
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
  local path, user = self.paths[name].path, not self.paths[name].builtin
  local ok, fn, err = call_new(mod, user, options, ctx or {})
  if not ok then
    return nil, string.format('decoder "%s" (%s): new failed: %s', name, path, where(fn, path))
  end
  if fn == nil then return nil, err or string.format('decoder "%s": new returned nil', name) end
  if type(fn) ~= "function" then
    return nil, string.format('decoder "%s" (%s): new returned a %s, not a function', name, path, type(fn))
  end
  if user then
    return guarded(name, path, fn)
  end
  return function(input)
    return checked(name, pcall(fn, input))
  end, nil, fn
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
