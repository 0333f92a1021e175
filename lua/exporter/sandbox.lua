-- How users' decoder files are compiled and what they may reach. Their code
-- always runs in LuaJIT's interpreter (jit.off), where the guard's hook can
-- stop it (exporter.guard). By default each file gets an environment of its
-- own, with copies of the safe parts of the standard libraries and a
-- read-only view of exporter.decoder_api: no os.execute, os.exit, io, FFI,
-- debug, loading of code, or way to change the exporter's own functions and
-- tables. --decoders.unrestricted gives them LuaJIT's own globals instead.
local api = require("exporter.decoder_api")
local guard = require("exporter.guard")
local log = require("exporter.log")

local M = {}

local UNRESTRICTED = "--decoders.unrestricted allows it"

-- Copies of the libraries decoders may use, minus what is not safe in them.
local LIBRARIES = {
  string = { except = { dump = true } },
  table = {},
  math = {},
  bit = {},
  coroutine = {},
  os = { only = { clock = true, date = true, difftime = true, time = true } },
}

local function copy(lib, spec)
  local out = {}
  for k, v in pairs(lib) do
    if not (spec.except and spec.except[k]) and (not spec.only or spec.only[k]) then
      out[k] = v
    end
  end
  return out
end

-- Names that exist in full LuaJIT: using them says why they are missing.
local function refusing(t, prefix)
  return setmetatable(t, {
    __index = function(_, k)
      error(("%s%s is not available to decoders (%s)"):format(prefix, tostring(k), UNRESTRICTED), 2)
    end,
    __metatable = false,
  })
end

local REFUSED_GLOBALS = {
  io = "io (read files with api.read_file or api.lines)", debug = "debug", jit = "jit", ffi = "the FFI",
  package = "package", load = "load", loadstring = "loadstring", loadfile = "loadfile", dofile = "dofile",
  setfenv = "setfenv", getfenv = "getfenv", module = "module", newproxy = "newproxy", rawset = "rawset",
}

-- pcall and xpcall that cannot catch the end of the time budget.
local function passing_overtime(ok, ...)
  if not ok and guard.spent() then
    error((...), 0)
  end
  return ok, ...
end

local function base_functions(env, name)
  for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "select",
    "setmetatable", "tonumber", "tostring", "type", "unpack", "_VERSION" }) do
    env[k] = _G[k]
  end
  env.pcall = function(f, ...) return passing_overtime(pcall(f, ...)) end
  env.xpcall = function(f, h, ...) return passing_overtime(xpcall(f, h, ...)) end
  -- Strings share one metatable, whose __index is the real string library.
  env.getmetatable = function(v)
    if type(v) == "table" then return getmetatable(v) end
    return nil
  end
  env.collectgarbage = function(opt)
    if opt == "count" then return collectgarbage("count") end
    error(('collectgarbage("%s") is not available to decoders; "count" is'):format(tostring(opt)), 2)
  end
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    log.info(('decoder "%s": %s'):format(name, table.concat(parts, "\t")))
  end
end

--- The environment of one decoder file in the sandbox.
function M.env(name)
  local env = {}
  base_functions(env, name)
  for lib, spec in pairs(LIBRARIES) do
    env[lib] = copy(_G[lib], spec)
  end
  refusing(env.os, "os.")
  local view = api.sandboxed()
  env.require = function(module)
    if module == "exporter.decoder_api" then return view end
    if LIBRARIES[module] then return env[module] end
    error(('require("%s"): decoders may require exporter.decoder_api, string, table, math, bit, coroutine and os '
      .. "(%s)"):format(tostring(module), UNRESTRICTED), 2)
  end
  env._G = env
  return setmetatable(env, {
    __index = function(_, k)
      if REFUSED_GLOBALS[k] then
        error(("%s is not available to decoders (%s)"):format(REFUSED_GLOBALS[k], UNRESTRICTED), 2)
      end
    end,
    __metatable = false,
  })
end

--- Compiles a decoder file for the interpreter, in the sandbox unless
-- `unrestricted`. Its chunk name is "=<path>": messages say "<path>:<line>:",
-- and the guard's hook knows users' code by it.
function M.load(path, name, unrestricted)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local text = f:read("*a")
  f:close()
  if text:byte(1) == 27 then
    return nil, "is compiled bytecode: decoders are Lua source"
  end
  local chunk, cerr = loadstring(text, "=" .. path)
  if not chunk then
    return nil, cerr
  end
  jit.off(chunk, true)
  if not unrestricted then
    setfenv(chunk, M.env(name))
  end
  return chunk
end

return M
