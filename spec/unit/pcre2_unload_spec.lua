-- The PCRE2 library outlives every pattern compiled with it, also in a host
-- that drops its modules (busted does between spec files): a collection that
-- found the module, its library namespace and a pattern garbage at once used
-- to unload the library first, then call its free function in unmapped code.
-- In a luajit of its own: the bug killed the process.
local files = require("helpers.files")

describe("pcre2 patterns", function()
  it("are freed before their library is unloaded", function()
    local script = files.tmpdir() .. "/unload.lua"
    files.write(script, [[
package.path = "lua/?.lua;" .. package.path
do
  local pcre2 = require("exporter.pcre2")
  assert(pcre2.compile("a(b)c", 0, { jit = true }))
  package.loaded["exporter.pcre2"] = nil
end
collectgarbage()
collectgarbage()
io.write("survived")
]])
    local out, code = files.sh("luajit " .. script)
    assert.equal("survived", out)
    assert.equal(0, code)
  end)
end)
