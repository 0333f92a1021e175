-- Specs for decoders/pci_class.lua: a class code byte -> the class name in a
-- pci.ids fixture.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")

describe("pci_class decoder", function()
  local decode
  setup(function()
    api.reset()
    api.paths.pci_ids = "spec/fixtures/pci.ids"
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "pci_class" }, { label = "class", config = "pci", path = "p" }))
  end)
  teardown(function() api.reset() end)

  it("names classes", function()
    assert.equal("Unclassified device", decode("0"))
    assert.equal("Mass storage controller", decode("1"))
    assert.equal("Network controller", decode("2"))
    assert.equal("Serial bus controller", decode("12"))
    assert.equal("Unassigned class", decode("255"))
  end)

  it("gives unknown pci class: 0x<hex> with at least two digits", function()
    assert.equal("unknown pci class: 0x03", decode("3"))
    assert.equal("unknown pci class: 0xfd", decode("253"))
    assert.equal("unknown pci class: 0x100", decode("256"))
  end)

  it("does not take vendors for classes", function()
    -- Vendor 0010 exists; class 0x10 does not.
    assert.equal("unknown pci class: 0x10", decode("16"))
  end)

  it("is a decode error for input that is not a decimal number", function()
    local out, err = decode("two")
    assert.is_nil(out)
    assert.equal("pci_class: not a number: two", err)
  end)
end)
