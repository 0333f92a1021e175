-- Specs for decoders/ksym.lua: kernel addresses to symbols from a kallsyms
-- fixture, including the re-read on a miss and its rate limit.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local files = require("helpers.files")
local read = files.read
local write = files.write

-- A kernel address as the 8 bytes a BPF program stores (little-endian host).
local function addr(hex)
  local bytes = {}
  for i = 15, 1, -2 do bytes[#bytes + 1] = string.char(tonumber(hex:sub(i, i + 1), 16)) end
  return table.concat(bytes)
end

describe("ksym decoder", function()
  local registry, kallsyms, decode
  local now -- the stubbed clock, in seconds
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)
  before_each(function()
    api.reset()
    now = 1000
    api.now = function() return now end
    -- A copy, so that specs can change it between calls.
    kallsyms = os.tmpname()
    write(kallsyms, read("spec/fixtures/kallsyms"))
    api.paths.kallsyms = kallsyms
    decode = assert(registry:new({ name = "ksym" },
      { input_size = 8, label = "function", config = "timers", path = "p" }))
  end)
  after_each(function()
    os.remove(kallsyms)
    api.reset()
  end)

  it("gives the exact symbol at an address", function()
    assert.equal("do_one_initcall", decode(addr("ffffffff81001000")))
    assert.equal("native_flush_tlb_one_user", decode(addr("ffffffff81234567")))
    assert.equal("jiffies_64", decode(addr("ffffffff8200a000")))
  end)

  it("keeps the first symbol defined at an address", function()
    assert.equal("_stext", decode(addr("ffffffff81000000")))
  end)

  it("keeps a module symbol's tab and module name", function()
    assert.equal("commit_timeout\t[jbd2]", decode(addr("ffffffffc0001000")))
    assert.equal("jbd2_journal_start\t[jbd2]", decode(addr("ffffffffc0001040")))
  end)

  it("gives unknown_addr:0x<hex> for an address that is not a symbol start", function()
    assert.equal("unknown_addr:0xffffffff81001001", decode(addr("ffffffff81001001")))
    assert.equal("unknown_addr:0x1234", decode(addr("0000000000001234")))
  end)

  it("reads kallsyms once for all hits", function()
    local lines = spy.on(api, "lines")
    decode(addr("ffffffff81001000"))
    decode(addr("ffffffff81234567"))
    decode(addr("ffffffffc0001000"))
    assert.spy(lines).was.called(1)
    lines:revert()
  end)

  it("re-reads kallsyms on a new miss, but not on the same miss again", function()
    local lines = spy.on(api, "lines")
    assert.equal("do_one_initcall", decode(addr("ffffffff81001000")))
    assert.spy(lines).was.called(1)

    -- A module loaded after the first read.
    write(kallsyms, read(kallsyms) .. "ffffffffc0200000 t xfs_log_worker\t[xfs]\n")
    now = now + 60
    assert.equal("xfs_log_worker\t[xfs]", decode(addr("ffffffffc0200000")))
    assert.spy(lines).was.called(2)

    -- A miss re-reads once; the same miss again does not read at all...
    now = now + 60
    assert.equal("unknown_addr:0xffffffffc0300000", decode(addr("ffffffffc0300000")))
    assert.spy(lines).was.called(3)
    write(kallsyms, read(kallsyms) .. "ffffffffc0300000 t nfs_probe\t[nfs]\n")
    now = now + 60
    assert.equal("unknown_addr:0xffffffffc0300000", decode(addr("ffffffffc0300000")))
    assert.spy(lines).was.called(3)

    -- ...until another miss re-reads the file and the symbol is in it.
    assert.equal("unknown_addr:0xffffffffc0400000", decode(addr("ffffffffc0400000")))
    assert.spy(lines).was.called(4)
    assert.equal("nfs_probe\t[nfs]", decode(addr("ffffffffc0300000")))
    assert.spy(lines).was.called(4)
    lines:revert()
  end)

  it("re-reads at most once per 5 seconds", function()
    local lines = spy.on(api, "lines")
    assert.equal("unknown_addr:0xffffffff81001001", decode(addr("ffffffff81001001")))
    assert.spy(lines).was.called(1)
    write(kallsyms, read(kallsyms) .. "ffffffffc0200000 t xfs_log_worker\t[xfs]\n")

    -- Within the interval a new miss does not read...
    now = now + 4.9
    assert.equal("unknown_addr:0xffffffffc0200000", decode(addr("ffffffffc0200000")))
    assert.equal("unknown_addr:0xffffffff81001002", decode(addr("ffffffff81001002")))
    assert.spy(lines).was.called(1)

    -- ...and is not remembered as a miss: after it, the same address re-reads.
    now = now + 0.1
    assert.equal("xfs_log_worker\t[xfs]", decode(addr("ffffffffc0200000")))
    assert.spy(lines).was.called(2)
    lines:revert()
  end)

  it("keeps the index when a re-read sees only zero addresses (no CAP_SYSLOG)", function()
    assert.equal("do_one_initcall", decode(addr("ffffffff81001000")))
    write(kallsyms, (read(kallsyms):gsub("%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x ", string.rep("0", 16) .. " ")))
    now = now + 60
    local lines = spy.on(api, "lines")
    assert.equal("unknown_addr:0xffffffff81001001", decode(addr("ffffffff81001001")))
    assert.spy(lines).was.called(1)
    assert.equal("native_flush_tlb_one_user", decode(addr("ffffffff81234567")))
    lines:revert()
  end)

  it("is a decode error when kallsyms cannot be read", function()
    api.paths.kallsyms = "/nonexistent/kallsyms"
    local out, err = decode(addr("ffffffff81001000"))
    assert.is_nil(out)
    assert.equal("ksym: /nonexistent/kallsyms: No such file or directory", err)
  end)

  it("refuses an input size other than 8 at config load", function()
    local d, err = registry:new({ name = "ksym" }, { input_size = 4 })
    assert.is_nil(d)
    assert.equal("ksym: input must be 8 bytes (a kernel address), not 4", err)
  end)

  it("fails to decode input of another length", function()
    local d = assert(registry:new({ name = "ksym" }, {}))
    local out, err = d("\1\2\3\4")
    assert.is_nil(out)
    assert.equal("ksym: cannot decode 4 bytes", err)
  end)
end)
