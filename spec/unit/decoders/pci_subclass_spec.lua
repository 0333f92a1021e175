-- Specs for decoders/pci_subclass.lua: (class << 8) | subclass -> the
-- subclass name in a pci.ids fixture.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")

describe("pci_subclass decoder", function()
  local decode
  setup(function()
    api.reset()
    api.paths.pci_ids = "spec/fixtures/pci.ids"
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "pci_subclass" }, { label = "subclass", config = "pci", path = "p" }))
  end)
  teardown(function() api.reset() end)

  it("names subclasses", function()
    assert.equal("Non-VGA unclassified device", decode("0")) -- 0x0000
    assert.equal("Image coprocessor", decode("5")) -- 0x0005
    assert.equal("SATA controller", decode("262")) -- 0x0106
    assert.equal("Non-Volatile memory controller", decode("264")) -- 0x0108
    assert.equal("Ethernet controller", decode("512")) -- 0x0200
    assert.equal("USB controller", decode("3075")) -- 0x0c03
  end)

  it("gives unknown pci subclass: 0xSS (class 0xCC) in a known class", function()
    assert.equal("unknown pci subclass: 0x0b (class 0x01)", decode("267"))
    assert.equal("unknown pci subclass: 0x03 (class 0x00)", decode("3"))
    assert.equal("unknown pci subclass: 0x00 (class 0xff)", decode("65280"))
  end)

  it("ignores programming interface lines (two tabs)", function()
    -- "\t\t01  NVMHCI" under 01:08 is not subclass 01 of class 01.
    assert.equal("unknown pci subclass: 0x01 (class 0x01)", decode("257"))
  end)

  it("gives unknown pci class: 0xCC for an unknown class", function()
    assert.equal("unknown pci class: 0xfd", decode("64768"))
    assert.equal("unknown pci class: 0x03", decode("770"))
    assert.equal("unknown pci class: 0x1234", decode("1193046")) -- 0x123456
  end)

  it("splits ids of 2^53 and above exactly", function()
    -- 0x20000000000102: class 0x200000000001, subclass 0x02.
    assert.equal("unknown pci class: 0x200000000001", decode("9007199254741250"))
  end)

  it("is a decode error for input that is not a decimal number", function()
    local out, err = decode("")
    assert.is_nil(out)
    assert.equal("pci_subclass: not a number: ", err)
  end)
end)
