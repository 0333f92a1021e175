-- Specs for decoders/uint.lua: host-order unsigned integers of 1, 2, 4 or 8 bytes.
local decoders = require("exporter.decoders")

describe("uint decoder", function()
  local registry
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)

  local function uint(input_size)
    return assert(registry:new({ name = "uint" }, { input_size = input_size, label = "l", config = "c", path = "p" }))
  end

  it("decodes each size in host (little-endian) order", function()
    assert.equal("0", uint(1)("\0"))
    assert.equal("255", uint(1)("\255"))
    assert.equal("513", uint(2)("\1\2"))
    assert.equal("65535", uint(2)("\255\255"))
    assert.equal("67305985", uint(4)("\1\2\3\4"))
    assert.equal("4294967295", uint(4)("\255\255\255\255"))
    assert.equal("578437695752307201", uint(8)("\1\2\3\4\5\6\7\8"))
  end)

  it("prints the whole 64-bit range exactly", function()
    local decode = uint(8)
    assert.equal("0", decode(string.rep("\0", 8)))
    assert.equal("9007199254740993", decode("\1\0\0\0\0\0\32\0"))
    assert.equal("9223372036854775808", decode("\0\0\0\0\0\0\0\128"))
    assert.equal("18446744073709551615", decode(string.rep("\255", 8)))
  end)

  it("decodes a previous decoder's output when the input size is unknown", function()
    local decode = uint(nil)
    assert.equal("7", decode("\7"))
    assert.equal("7", decode("\7\0\0\0\0\0\0\0"))
  end)

  it("refuses an input size other than 1, 2, 4 or 8 at config load", function()
    for _, size in ipairs({ 0, 3, 5, 16 }) do
      local decode, err = registry:new({ name = "uint" }, { input_size = size })
      assert.is_nil(decode)
      assert.equal("uint: cannot decode " .. size .. " bytes (size must be 1, 2, 4 or 8)", err)
    end
  end)

  it("fails to decode input of another length", function()
    local decode = uint(nil)
    for _, input in ipairs({ "", "\1\2\3", "123456789" }) do
      local out, err = decode(input)
      assert.is_nil(out)
      assert.equal("uint: cannot decode " .. #input .. " bytes", err)
    end
  end)
end)
