-- Specs for decoders/dname.lua: DNS wire-format names to dotted text.
local decoders = require("exporter.decoders")

describe("dname decoder", function()
  local decode
  setup(function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "dname" }, { input_size = nil, label = "qname", config = "c", path = "p" }))
  end)

  it("joins labels with dots, as ebpf_exporter does", function()
    assert.equal(".", decode(""))
    assert.equal("com", decode("\3com"))
    assert.equal("example.com", decode("\7example\3com"))
    assert.equal("www.example.com", decode("\3www\7example\3com"))
  end)

  it("gives back the input unchanged when a label runs past its end", function()
    assert.equal("\5com", decode("\5com"))
    assert.equal("\7example\4com", decode("\7example\4com"))
    -- A compression pointer (0xc0..) reads as a long label: not followed.
    assert.equal("\3www\192\12", decode("\3www\192\12"))
  end)

  it("decodes a label that ends exactly at the end of the input", function()
    assert.equal("a", decode("\1a"))
  end)

  it("gives . for the root name, a lone zero byte", function()
    assert.equal(".", decode("\0"))
    assert.equal(".", decode(string.rep("\0", 32)))
  end)

  it("ends the name at the first zero length byte and ignores the bytes after it", function()
    assert.equal("example.com", decode("\7example\3com\0"))
    assert.equal("example.com", decode("\7example\3com" .. string.rep("\0", 19)))
    assert.equal("com", decode("\3com\0\3org\255garbage"))
  end)

  it("keeps label bytes as they are, dots included", function()
    assert.equal("a.b.com", decode("\3a.b\3com"))
    assert.equal("_dmarc.EXAMPLE.org", decode("\6_dmarc\7EXAMPLE\3org\0"))
    assert.equal("x y\1.com", decode("\4x y\1\3com"))
  end)
end)
