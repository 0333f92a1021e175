-- Specs for decoders/kstack.lua: stacks of kernel addresses to the nearest
-- symbols of a kallsyms fixture, the index it shares with ksym, and the
-- re-read for frames beyond the last symbol.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local ffi = require("ffi")
local files = require("helpers.files")
local symbol_index = require("exporter.kallsyms")
local read = files.read
local write = files.write

-- One frame as the 8 bytes bpf_get_stack() stores (host byte order).
local function frame(hex)
  hex = string.rep("0", 16 - #hex) .. hex
  local bytes = {}
  for i = 1, 15, 2 do bytes[#bytes + 1] = string.char(tonumber(hex:sub(i, i + 1), 16)) end
  local s = table.concat(bytes)
  return ffi.abi("le") and s:reverse() or s
end

-- A stack buffer: the frames, then zeros up to `slots` frames.
local function stack(slots, ...)
  local frames = { ... }
  local parts = {}
  for i = 1, slots do parts[i] = frames[i] and frame(frames[i]) or string.rep("\0", 8) end
  return table.concat(parts)
end

-- Reads of kallsyms so far: the core's index counts them (it reads the file
-- in C; each spec gets an index of its own, see before_each).
local function reads() return symbol_index.stats().reads end

describe("kstack decoder", function()
  local registry, kallsyms, decode
  local now -- the stubbed clock, in seconds
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)
  before_each(function()
    api.reset()
    now = 1000
    api.now = function() return now end
    -- A copy, so that specs can change it between calls. The fixture's last
    -- line (a BPF program) is out of address order, as in the real file.
    kallsyms = os.tmpname()
    write(kallsyms, read("spec/fixtures/kallsyms"))
    api.paths.kallsyms = kallsyms
    decode = assert(registry:new({ name = "kstack" },
      { input_size = 128, label = "kstack", config = "kstack", path = "p" }))
  end)
  after_each(function()
    os.remove(kallsyms)
    api.reset()
  end)

  it("names each frame by the nearest symbol at or below it, top frame first", function()
    assert.equal("native_flush_tlb_one_user\ndo_one_initcall\n_stext",
      decode(stack(16, "ffffffff81234600", "ffffffff8100101f", "ffffffff81000fff")))
  end)

  it("gives the symbol itself for an exact address, the first one at a shared address", function()
    assert.equal("do_one_initcall\n_stext\njiffies_64",
      decode(stack(16, "ffffffff81001000", "ffffffff81000000", "ffffffff8200a000")))
  end)

  it("keeps a module symbol's tab and module name, and sorts out-of-order lines", function()
    assert.equal("jbd2_journal_start\t[jbd2]\ncommit_timeout\t[jbd2]\nbpf_prog_6deef7357e7b4530_sd_fw_ingress\t[bpf]",
      decode(stack(16, "ffffffffc0001044", "ffffffffc000103f", "ffffffffc0000fff")))
  end)

  it("stops at the first zero address and ignores what follows it", function()
    local input = frame("ffffffff81001010") .. frame("0") .. frame("ffffffff81234567")
    assert.equal("do_one_initcall", assert(registry:new({ name = "kstack" }, { input_size = 24 }))(input))
  end)

  it("gives an empty string for an empty stack", function()
    assert.equal("", decode(stack(16)))
  end)

  it("uses every frame of a full buffer", function()
    local frames = {}
    for i = 1, 16 do frames[i] = i % 2 == 1 and "ffffffff81001001" or "ffffffff8123456f" end
    local want = {}
    for i = 1, 16 do want[i] = i % 2 == 1 and "do_one_initcall" or "native_flush_tlb_one_user" end
    assert.equal(table.concat(want, "\n"), decode(stack(16, unpack(frames))))
  end)

  it("gives ?? for a frame below the first symbol", function()
    write(kallsyms, "0000000000000004 T four\n0000000000000009 T nine\n00000000000000f0 T last\n")
    assert.equal("??\nfour\nfour\nnine\n??", decode(stack(16, "3", "4", "8", "9", "1")))
  end)

  it("re-reads kallsyms once for a frame beyond the last symbol, then answers the last symbol", function()
    assert.equal("do_one_initcall", decode(stack(16, "ffffffff81001001")))
    assert.equal(1, reads())

    -- A module loaded after the first read, above every known symbol.
    write(kallsyms, read(kallsyms) .. "ffffffffc0200000 t xfs_log_worker\t[xfs]\n")
    now = now + 60
    assert.equal("xfs_log_worker\t[xfs]", decode(stack(16, "ffffffffc0200010")))
    assert.equal(2, reads())

    -- Beyond it even in a fresh read: the last symbol, as ebpf_exporter
    -- answers, and the same frame does not re-read again.
    now = now + 60
    assert.equal("xfs_log_worker\t[xfs]", decode(stack(16, "ffffffffc0300000")))
    assert.equal(3, reads())
    now = now + 60
    assert.equal("xfs_log_worker\t[xfs]", decode(stack(16, "ffffffffc0300000")))
    assert.equal(3, reads())
  end)

  it("re-reads at most once per 5 seconds", function()
    assert.equal("jbd2_journal_start\t[jbd2]", decode(stack(16, "ffffffffc0001100")))
    assert.equal(1, reads())
    write(kallsyms, read(kallsyms) .. "ffffffffc0200000 t xfs_log_worker\t[xfs]\n")

    now = now + 4.9
    assert.equal("jbd2_journal_start\t[jbd2]", decode(stack(16, "ffffffffc0200010")))
    assert.equal(1, reads())

    now = now + 0.1
    assert.equal("xfs_log_worker\t[xfs]", decode(stack(16, "ffffffffc0200010")))
    assert.equal(2, reads())
  end)

  it("shares one read of kallsyms with ksym, whose lookups stay exact", function()
    local ksym = assert(registry:new({ name = "ksym" }, { input_size = 8 }))
    assert.equal("do_one_initcall", decode(stack(16, "ffffffff81001010")))
    assert.equal("unknown_addr:0xffffffff81001010", ksym(frame("ffffffff81001010")))
    assert.equal("do_one_initcall", ksym(frame("ffffffff81001000")))
    assert.equal(1, reads())
  end)

  it("gives ?? for every frame when kallsyms shows only zero addresses (no CAP_SYSLOG)", function()
    write(kallsyms, "0000000000000000 T _stext\n0000000000000000 T do_one_initcall\n")
    assert.equal("??\n??", decode(stack(16, "ffffffff81001000", "ffffffff81234567")))
  end)

  it("is a decode error when kallsyms cannot be read", function()
    api.paths.kallsyms = "/nonexistent/kallsyms"
    local out, err = decode(stack(16, "ffffffff81001000"))
    assert.is_nil(out)
    assert.equal("kstack: /nonexistent/kallsyms: No such file or directory", err)
  end)

  it("refuses an input size that is not a multiple of 8 at config load", function()
    for _, size in ipairs({ 4, 12, 130 }) do
      local d, err = registry:new({ name = "kstack" }, { input_size = size })
      assert.is_nil(d)
      assert.equal("kstack: input must be a multiple of 8 bytes (kernel addresses), not " .. size, err)
    end
    assert.is_function(registry:new({ name = "kstack" }, { input_size = 8 }))
  end)

  it("fails to decode input of another length", function()
    local d = assert(registry:new({ name = "kstack" }, {}))
    local out, err = d("\1\2\3\4")
    assert.is_nil(out)
    assert.equal("kstack: cannot decode 4 bytes (not a multiple of 8)", err)
  end)
end)
