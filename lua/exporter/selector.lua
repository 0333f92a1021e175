-- Process selectors of `targets:`: criteria on what /proc says about a
-- process, all of which must hold. A process is looked at through a view
-- that reads each fact the first time a criterion asks for it, cheapest
-- criteria first: a selector whose comm does not match reads nothing more.
local api = require("exporter.decoder_api")
local libc = require("exporter.libc")
local procfs = require("exporter.procfs")

local M = {}

--- The criteria a selector may have, in the order they are tried.
M.CRITERIA = { "comm", "parent_comm", "exe", "cmdline", "cgroup" }

-- Each fact of a view, read on first use.
local READERS = {
  comm = procfs.comm,
  exe = procfs.exe,
  cmdline = procfs.cmdline,
  cgroup = procfs.cgroup,
  stat = procfs.stat,
  parent_comm = function(_, view)
    local stat = view.stat
    return stat and stat.ppid and procfs.comm(stat.ppid)
  end,
}

local view_mt = {
  __index = function(view, fact)
    local read = READERS[fact]
    if not read then
      return nil
    end
    -- false: read and missing (the process went), never read again.
    local value = read(view.pid, view) or false
    rawset(view, fact, value)
    return value
  end,
}

--- A view of process `pid`; `known` holds facts an event already gave
-- (comm, parent_comm), which are then not read.
function M.view(pid, known)
  local view = { pid = pid }
  for k, v in pairs(known or {}) do
    view[k] = v
  end
  return setmetatable(view, view_mt)
end

-- A pattern as the regexp decoder matches it (RE2 syntax, unanchored).
local function regexp(registry, pattern, ctx)
  local decode, err = registry:new({ name = "regexp", regexps = { pattern } }, ctx)
  if not decode then
    return nil, (tostring(err):gsub("^regexp: regexps%[0%] ", ""))
  end
  return function(s)
    if not s then
      return false
    end
    local out = decode(s)
    return out ~= nil and out ~= api.SKIP
  end
end

local function glob(pattern)
  if not pattern:find("[*?[]") then
    return function(s) return s == pattern end
  end
  return function(s) return s and libc.fnmatch(pattern, s) or false end
end

-- A test of one criterion: test(view) -> boolean; or nil and why not.
local function test_of(name, value, registry, ctx)
  if name == "comm" or name == "parent_comm" then
    return function(view) return view[name] == value end
  elseif name == "exe" then
    local match = glob(value)
    return function(view) return match(view.exe) end
  end
  local match, err = regexp(registry, value, ctx)
  if not match then
    return nil, err
  end
  return function(view) return match(view[name]) end
end

--- Compiles criteria ({comm =, exe =, ...}) into match(view) -> boolean.
-- `registry` is the decoder registry (for the regexp decoder), `ctx` its
-- context. Returns the function, or nil and { [criterion] = error }.
function M.compile(criteria, registry, ctx)
  local tests, errors = {}, nil
  for _, name in ipairs(M.CRITERIA) do
    if criteria[name] ~= nil then
      local test, err = test_of(name, criteria[name], registry, ctx)
      if test then
        tests[#tests + 1] = test
      else
        errors = errors or {}
        errors[name] = err
      end
    end
  end
  if errors then
    return nil, errors
  end
  return function(view)
    for i = 1, #tests do
      if not tests[i](view) then
        return false
      end
    end
    return true
  end
end

return M
