-- Specs for lua/exporter/kallsyms.lua: which index a decoder state gets (the
-- process's for /proc/kallsyms, one of its own for any other file), and that
-- indexes of their own are freed safely. The lookups
-- themselves: spec/unit/decoders/ksym_spec.lua and kstack_spec.lua.
local api = require("exporter.decoder_api")
local ffi = require("ffi")
local files = require("helpers.files")
local kallsyms = require("exporter.kallsyms")

-- The 8 host-order bytes of a 16-digit hex address.
local function address(hex)
  local v = ffi.new("uint64_t[1]", tonumber(hex:sub(1, 8), 16) * 2 ^ 32 + tonumber(hex:sub(9), 16))
  return ffi.string(v, 8)
end

describe("kallsyms", function()
  before_each(function() api.reset() end)
  after_each(function() api.reset() end)

  it("uses the process's index of /proc/kallsyms: a new decoder state does not read it again", function()
    local first = assert(io.open("/proc/kallsyms")):read("*l")
    local bytes = address(first:match("^(%x+)"))
    kallsyms.symbol(bytes)
    local reads = kallsyms.stats().reads
    assert.is_true(reads >= 1)
    -- What a reload's new Lua state starts with.
    api.reset()
    kallsyms.symbol(bytes)
    assert.equal(reads, kallsyms.stats().reads)
  end)

  it("gives another file an index of its own, read on the first lookup", function()
    api.paths.kallsyms = "spec/fixtures/kallsyms"
    assert.equal(0, kallsyms.stats().reads)
    assert.equal("do_one_initcall", kallsyms.symbol(address("ffffffff81001000")))
    assert.same({ "do_one_initcall", "_stext" },
      kallsyms.stack(address("ffffffff81001010") .. address("ffffffff81000010") .. address("0000000000000000")))
    local stats = kallsyms.stats()
    assert.equal(1, stats.reads)
    assert.equal(9, stats.symbols)
  end)

  it("frees indexes of its own after the library's handle is gone, without a crash", function()
    -- In a child process. A function pointer does not keep its ffi.load'ed
    -- library alive: once the module is dropped (busted does it between
    -- files; a Lua state closing does it too), a GC cycle may unload the
    -- library while an index made from it waits for its finalizer, which
    -- would then jump into unmapped code. build/libelx_ksym.so is linked
    -- never to be unmapped.
    local script = [[
      package.path = "lua/?.lua;build/gen/?.lua;" .. package.path
      local api = require("exporter.decoder_api")
      for _ = 1, 20 do
        local kallsyms = require("exporter.kallsyms")
        api.reset()
        api.paths.kallsyms = "spec/fixtures/kallsyms"
        assert(kallsyms.symbol("\1" .. string.rep("\0", 7)) == nil)
        package.loaded["exporter.kallsyms"] = nil
        kallsyms = nil -- luacheck: ignore
        collectgarbage()
        collectgarbage() -- the library's handle: dlclose
        api.reset()
        collectgarbage()
        collectgarbage() -- the index's finalizer
      end
      os.exit(0, true)
    ]]
    local dir = files.tmpdir()
    files.write(dir .. "/close.lua", script)
    local out, code = files.sh("luajit " .. dir .. "/close.lua")
    os.execute("rm -rf " .. dir)
    assert.equal("", out)
    assert.equal(0, code)
  end)
end)
