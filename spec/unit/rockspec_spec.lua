-- The rockspec installs exactly the Lua modules and decoders that exist, and
-- the installed tree works on its own.
local sh = require("helpers.files").sh

local ROCKSPEC = "ebpf-lua-exporter-scm-1.rockspec"

local function lua_files(dir)
  local list = {}
  for path in sh("find " .. dir .. " -name '*.lua'"):gmatch("[^\n]+") do
    list[#list + 1] = path
  end
  table.sort(list)
  return list
end

describe("rockspec", function()
  it("lists every module and decoder, and nothing else", function()
    local spec = {}
    assert(loadfile(ROCKSPEC, "t", spec) or setfenv(assert(loadfile(ROCKSPEC)), spec))()
    local listed = {}
    for module, path in pairs(spec.build.install.lua) do
      listed[#listed + 1] = path
      local expected = path:match("^lua/(.*)%.lua$") or ("exporter/" .. path:match("^(.*)%.lua$"))
      assert.equal((expected:gsub("/init$", ""):gsub("/", ".")), module)
    end
    table.sort(listed)
    local existing = lua_files("lua/exporter")
    for _, f in ipairs(lua_files("decoders")) do
      existing[#existing + 1] = f
    end
    table.sort(existing)
    assert.same(existing, listed)
  end)

  it("installs with luarocks make, and the installed modules find their decoders", function()
    local tree = (sh("mktemp -d"):gsub("%s+$", ""))
    local out, code = sh("luarocks make --deps-mode=none --tree=" .. tree .. " " .. ROCKSPEC)
    assert.equal(0, code, out)
    local check = [[
local reg = assert(require("exporter.decoders").load({ require("exporter.decoders").builtin_dir() }))
print(require("exporter.decoders").builtin_dir())
print(table.concat(reg:names(), ","))
print(reg:new({ name = "syscall" }, {})("59"))
print(require("exporter.entry") ~= nil)
]]
    out, code = sh(("cd /tmp && LUA_PATH='%s/share/lua/5.1/?.lua;;' luajit -e '%s'"):format(tree, check))
    os.execute("rm -rf " .. tree)
    assert.equal(0, code, out)
    local names = {}
    for _, f in ipairs(lua_files("decoders")) do
      names[#names + 1] = f:match("([^/]+)%.lua$")
    end
    assert.equal(table.concat({
      tree .. "/share/lua/5.1/exporter/decoders",
      table.concat(names, ","),
      "execve",
      "true",
      "",
    }, "\n"), out)
  end)
end)
