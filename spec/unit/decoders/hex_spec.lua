-- Specs for decoders/hex.lua: bytes as lowercase hex.
local decoders = require("exporter.decoders")

describe("hex decoder", function()
  local decode
  setup(function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "hex" }, { input_size = 4 }))
  end)

  it("prints each byte as two lowercase digits, in input order", function()
    assert.equal("00010aff", decode("\0\1\10\255"))
    assert.equal("deadbeef", decode("\222\173\190\239"))
    assert.equal("41", decode("A"))
  end)

  it("prints nothing for empty input", function()
    assert.equal("", decode(""))
  end)
end)
