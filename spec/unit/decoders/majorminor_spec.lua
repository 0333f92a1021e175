-- Specs for decoders/majorminor.lua: new_encode_dev() device numbers to names
-- from a /proc/partitions fixture.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local files = require("helpers.files")
local read = files.read
local write = files.write

-- The kernel's new_encode_dev(MKDEV(major, minor)) as 4 little-endian bytes.
local function dev(major, minor)
  local v = bit.bor(bit.band(minor, 0xff), bit.lshift(major, 8), bit.lshift(bit.band(minor, bit.bnot(0xff)), 12))
  return string.char(bit.band(v, 0xff), bit.band(bit.rshift(v, 8), 0xff),
    bit.band(bit.rshift(v, 16), 0xff), bit.band(bit.rshift(v, 24), 0xff))
end

describe("majorminor decoder", function()
  local registry, partitions, decode
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)
  before_each(function()
    api.reset()
    partitions = os.tmpname()
    write(partitions, read("spec/fixtures/partitions"))
    api.paths.partitions = partitions
    decode = assert(registry:new({ name = "majorminor" }, { input_size = 4, label = "device", config = "biolatency" }))
  end)
  after_each(function()
    os.remove(partitions)
    api.reset()
  end)

  it("names devices", function()
    assert.equal("nvme0n1", decode(dev(259, 0)))
    assert.equal("nvme0n1p1", decode(dev(259, 1)))
    assert.equal("sda", decode(dev(8, 0)))
    assert.equal("sdb", decode(dev(8, 16)))
    assert.equal("sdb1", decode(dev(8, 17)))
    assert.equal("dm-1", decode(dev(252, 1)))
  end)

  it("decodes minors above 255 from the high bits", function()
    assert.equal("\44\3\17\0", dev(259, 300)) -- the encoding itself: 0x0011032c
    assert.equal("nvme0n1p300", decode(dev(259, 300)))
    assert.equal("dm-max", decode(dev(253, 1048575)))
  end)

  it("uses only the first 4 bytes", function()
    local d = assert(registry:new({ name = "majorminor" }, { input_size = 8 }))
    assert.equal("sdb", d(dev(8, 16) .. "\255\255\255\255"))
  end)

  it("gives unknown:<major>:<minor> for a device not listed", function()
    assert.equal("unknown:8:32", decode(dev(8, 32)))
    assert.equal("unknown:259:4096", decode(dev(259, 4096)))
    assert.equal("unknown:0:0", decode("\0\0\0\0"))
  end)

  it("re-reads partitions on a new miss, but not on the same miss within 0.1 s", function()
    local now = 1000
    api.now = function() return now end
    local lines = spy.on(api, "lines")
    assert.equal("sda", decode(dev(8, 0)))
    assert.equal("sdb", decode(dev(8, 16)))
    assert.spy(lines).was.called(1)

    write(partitions, read(partitions) .. "   8       32  976762584 sdc\n")
    assert.equal("sdc", decode(dev(8, 32)))
    assert.spy(lines).was.called(2)

    assert.equal("unknown:8:48", decode(dev(8, 48)))
    assert.spy(lines).was.called(3)
    write(partitions, read(partitions) .. "   8       48  976762584 sdd\n")
    assert.equal("unknown:8:48", decode(dev(8, 48)))
    assert.spy(lines).was.called(3)

    assert.equal("unknown:8:64", decode(dev(8, 64)))
    assert.spy(lines).was.called(4)
    assert.equal("sdd", decode(dev(8, 48)))
    lines:revert()
  end)

  it("names a device made with a number that missed more than 0.1 s ago", function()
    local now = 1000
    api.now = function() return now end
    local lines = spy.on(api, "lines")
    assert.equal("unknown:7:3", decode(dev(7, 3)))
    write(partitions, read(partitions) .. "   7        3       8192 loop3\n")
    now = 1000.099
    assert.equal("unknown:7:3", decode(dev(7, 3)))
    assert.spy(lines).was.called(1)
    now = 1000.1
    assert.equal("loop3", decode(dev(7, 3)))
    assert.spy(lines).was.called(2)
    lines:revert()
  end)

  it("is a decode error when partitions cannot be read", function()
    api.paths.partitions = "/nonexistent/partitions"
    local out, err = decode(dev(8, 0))
    assert.is_nil(out)
    assert.equal("majorminor: /nonexistent/partitions: No such file or directory", err)
  end)

  it("refuses an input shorter than 4 bytes", function()
    local d, err = registry:new({ name = "majorminor" }, { input_size = 2 })
    assert.is_nil(d)
    assert.equal("majorminor: input must be at least 4 bytes (a u32 device number), not 2", err)
    local out
    out, err = assert(registry:new({ name = "majorminor" }, {}))("\1\2")
    assert.is_nil(out)
    assert.equal("majorminor: cannot decode 2 bytes", err)
  end)
end)
