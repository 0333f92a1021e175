-- The lifetime rule for FFI-loaded libraries (lua/exporter/libc.lua,
-- load_library): objects freed by finalizers that call into a library must
-- never outlive its code. A collection that takes a library's namespace
-- together with the objects it allocated ran the namespace's finalizer
-- (dlclose) first, and the objects' finalizers then jumped into unmapped
-- memory: luajit died with SIGSEGV at a full GC or at exit.
local files = require("helpers.files")

-- Run in a child luajit, so that a crash is an exit code and not the end of
-- busted. Each round loads the modules afresh (as busted does per spec file),
-- compiles patterns, drops every reference, and collects: the namespace and
-- the regexes die in the same cycle, with no other handle on the library.
-- The last round's regexes stay alive: closing the state at exit frees them.
local CHILD = [[
package.path = "lua/?.lua;" .. package.path
local function forget_modules()
  for name in pairs(package.loaded) do
    if name:match("^exporter%.") then package.loaded[name] = nil end
  end
end
local function compile_some()
  local pcre2 = require("exporter.pcre2")
  local regexes = {}
  for i = 1, 20 do
    regexes[i] = assert(pcre2.compile("^(elx)-" .. i .. "$", 0, { jit = i % 2 == 0 }))
    assert(regexes[i]:match("elx-" .. i))
  end
  return regexes
end
for _ = 1, ROUNDS do
  compile_some()
  forget_modules()
  collectgarbage("collect")
end
local last = compile_some()
io.write(#last, " regexes alive at exit\n")
]]

describe("FFI-loaded libraries", function()
  it("outlive every object a finalizer frees with them, at a full GC and at exit", function()
    local script = os.tmpname()
    files.write(script, (CHILD:gsub("ROUNDS", "200")))
    local out, code = files.sh("luajit " .. script)
    os.remove(script)
    assert.equal("20 regexes alive at exit\n", out)
    assert.equal(0, code)
  end)

  it("are loaded only through libc.load_library, which keeps them mapped", function()
    local out = files.sh("grep -rl --include='*.lua' 'ffi\\.load' lua decoders")
    assert.equal("lua/exporter/libc.lua\n", out)
  end)
end)
