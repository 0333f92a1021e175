-- Specs for decoders/string.lua: bytes up to the first NUL.
local decoders = require("exporter.decoders")

describe("string decoder", function()
  local decode
  setup(function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "string" }, { input_size = 16 }))
  end)

  it("stops at the first NUL", function()
    assert.equal("bash", decode("bash\0\0\0\0\0\0\0\0\0\0\0\0"))
    assert.equal("a", decode("a\0b\0"))
  end)

  it("keeps the whole input without a NUL", function()
    assert.equal("systemd-journald", decode("systemd-journald"))
  end)

  it("gives an empty string for a leading NUL or empty input", function()
    assert.equal("", decode("\0abc"))
    assert.equal("", decode(""))
  end)
end)
