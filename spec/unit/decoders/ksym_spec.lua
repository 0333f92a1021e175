-- Specs for decoders/ksym.lua: kernel addresses to symbols from a kallsyms
-- fixture, including the re-read on a miss and its rate limit.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local files = require("helpers.files")
local symbol_index = require("exporter.kallsyms")
local read = files.read
local write = files.write

-- A kernel address as the 8 bytes a BPF program stores (little-endian host).
local function addr(hex)
  local bytes = {}
  for i = 15, 1, -2 do bytes[#bytes + 1] = string.char(tonumber(hex:sub(i, i + 1), 16)) end
  return table.concat(bytes)
end

-- Reads of kallsyms so far: the core's index counts them (it reads the file
-- in C; each spec gets an index of its own, see before_each).
local function reads() return symbol_index.stats().reads end

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
    decode(addr("ffffffff81001000"))
    decode(addr("ffffffff81234567"))
    decode(addr("ffffffffc0001000"))
    assert.equal(1, reads())
  end)

  it("re-reads kallsyms on a new miss, but not on the same miss again", function()
    assert.equal("do_one_initcall", decode(addr("ffffffff81001000")))
    assert.equal(1, reads())

    -- A module loaded after the first read.
    write(kallsyms, read(kallsyms) .. "ffffffffc0200000 t xfs_log_worker\t[xfs]\n")
    now = now + 60
    assert.equal("xfs_log_worker\t[xfs]", decode(addr("ffffffffc0200000")))
    assert.equal(2, reads())

    -- A miss re-reads once; the same miss again does not read at all...
    now = now + 60
    assert.equal("unknown_addr:0xffffffffc0300000", decode(addr("ffffffffc0300000")))
    assert.equal(3, reads())
    write(kallsyms, read(kallsyms) .. "ffffffffc0300000 t nfs_probe\t[nfs]\n")
    now = now + 60
    assert.equal("unknown_addr:0xffffffffc0300000", decode(addr("ffffffffc0300000")))
    assert.equal(3, reads())

    -- ...until another miss re-reads the file and the symbol is in it.
    assert.equal("unknown_addr:0xffffffffc0400000", decode(addr("ffffffffc0400000")))
    assert.equal(4, reads())
    assert.equal("nfs_probe\t[nfs]", decode(addr("ffffffffc0300000")))
    assert.equal(4, reads())
  end)

  it("re-reads at most once per 5 seconds", function()
    assert.equal("unknown_addr:0xffffffff81001001", decode(addr("ffffffff81001001")))
    assert.equal(1, reads())
    write(kallsyms, read(kallsyms) .. "ffffffffc0200000 t xfs_log_worker\t[xfs]\n")

    -- Within the interval a new miss does not read...
    now = now + 4.9
    assert.equal("unknown_addr:0xffffffffc0200000", decode(addr("ffffffffc0200000")))
    assert.equal("unknown_addr:0xffffffff81001002", decode(addr("ffffffff81001002")))
    assert.equal(1, reads())

    -- ...and is not remembered as a miss: after it, the same address re-reads.
    now = now + 0.1
    assert.equal("xfs_log_worker\t[xfs]", decode(addr("ffffffffc0200000")))
    assert.equal(2, reads())
  end)

  it("keeps the index when a re-read sees only zero addresses (no CAP_SYSLOG)", function()
    assert.equal("do_one_initcall", decode(addr("ffffffff81001000")))
    write(kallsyms, (read(kallsyms):gsub("%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x ", string.rep("0", 16) .. " ")))
    now = now + 60
    assert.equal("unknown_addr:0xffffffff81001001", decode(addr("ffffffff81001001")))
    assert.equal(2, reads())
    assert.equal("native_flush_tlb_one_user", decode(addr("ffffffff81234567")))
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
