-- Specs for decoders/pci_device.lua: (vendor << 16) | device -> the device's
-- name in a pci.ids fixture.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")

describe("pci_device decoder", function()
  local decode
  setup(function()
    api.reset()
    api.paths.pci_ids = "spec/fixtures/pci.ids"
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "pci_device" }, { label = "device", config = "pci", path = "p" }))
  end)
  teardown(function() api.reset() end)

  it("names devices", function()
    assert.equal("82542 Gigabit Ethernet Controller (Fiber)", decode("2156269568")) -- 0x80861000
    assert.equal("82540EM Gigabit Ethernet Controller", decode("2156269582")) -- 0x8086100e
    assert.equal("Navi 22 [Radeon RX 6700/6700 XT/6750 XT / 6800M/6850M XT]", decode("268596191")) -- 0x100273df
    assert.equal("AD103 [GeForce RTX 4080]", decode("282994436")) -- 0x10de2704
  end)

  it("takes device lines after a comment as the same vendor's", function()
    assert.equal("AT-2500TX V3 Ethernet", decode("1081657")) -- 0x00108139
  end)

  it("names devices of vendors below 0x1000, which ebpf_exporter cannot", function()
    assert.equal("PCI to EISA Bridge", decode("235995137")) -- 0x0e110001
    assert.equal("Smart Array 5i/532", decode("236040568")) -- 0x0e11b178
  end)

  it("gives unknown pci device: 0x<hex> of the whole number with at least 4 digits", function()
    assert.equal("unknown pci device: 0x8086ffff", decode("2156331007"))
    assert.equal("unknown pci device: 0xdeadbeef", decode("3735928559"))
    assert.equal("unknown pci device: 0x0001", decode("1"))
    assert.equal("unknown pci device: 0x10002", decode("65538"))
  end)

  it("ignores subsystem lines (two tabs)", function()
    -- "\t\t0e11 b0df  NC6132 ..." under 8086:1000 is not device 0e11 of 8086.
    assert.equal("unknown pci device: 0x80860e11", decode("2156269073"))
  end)

  it("does not take a subclass line for a device of the last vendor", function()
    -- "C 02  Network controller\n\t00  Ethernet controller" follows vendor ffff.
    assert.equal("unknown pci device: 0xffff0000", decode("4294901760"))
  end)

  it("is a decode error for input that is not a decimal number", function()
    local out, err = decode("0x80861000")
    assert.is_nil(out)
    assert.equal("pci_device: not a number: 0x80861000", err)
  end)
end)
