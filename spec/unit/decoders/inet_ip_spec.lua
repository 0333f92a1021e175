-- Specs for decoders/inet_ip.lua: IPv4 and IPv6 addresses in network byte
-- order to text, with the golden outputs of Go's net.IP.String.
local decoders = require("exporter.decoders")

-- 16 bytes from 8 groups given as numbers.
local function v6(...)
  local groups = { ... }
  assert(#groups == 8)
  local out = {}
  for i, g in ipairs(groups) do out[i] = string.char(math.floor(g / 256), g % 256) end
  return table.concat(out)
end

describe("inet_ip decoder", function()
  local registry
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)

  local function inet_ip(input_size)
    return assert(registry:new({ name = "inet_ip" }, { input_size = input_size, label = "daddr", config = "c", path = "p" }))
  end

  it("prints 4 bytes as dotted IPv4", function()
    local decode = inet_ip(4)
    assert.equal("1.2.3.4", decode("\1\2\3\4"))
    assert.equal("127.0.0.1", decode("\127\0\0\1"))
    assert.equal("0.0.0.0", decode("\0\0\0\0"))
    assert.equal("255.255.255.255", decode("\255\255\255\255"))
  end)

  -- Every case: 16 input bytes and the exact text Go prints for them.
  local golden = {
    { v6(0, 0, 0, 0, 0, 0, 0, 0), "::" },
    { v6(0, 0, 0, 0, 0, 0, 0, 1), "::1" },
    { v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), "2001:db8::1" },
    -- Two runs of two: the first one.
    { v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), "2001:db8::1:0:0:1" },
    -- The longer run wins even when it comes second.
    { v6(0x2001, 0, 0, 1, 0, 0, 0, 1), "2001:0:0:1::1" },
    { v6(0xfe80, 0, 0, 0, 0, 0, 0, 0), "fe80::" },
    -- A lone zero group is not shortened.
    { v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), "2001:db8:0:1:1:1:1:1" },
    { v6(0x2001, 0xdb8, 1, 1, 1, 1, 1, 0), "2001:db8:1:1:1:1:1:0" },
    { v6(1, 0, 0, 0, 0, 0, 0, 0), "1::" },
    { v6(0, 0, 1, 0, 0, 0, 0, 0), "0:0:1::" },
    -- IPv4-mapped prints as the IPv4 address alone...
    { v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304), "1.2.3.4" },
    { v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001), "127.0.0.1" },
    -- ...but IPv4-compatible (deprecated) and other near misses stay IPv6.
    { v6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304), "::102:304" },
    { v6(0, 0, 0, 0, 1, 0xffff, 0x0102, 0x0304), "::1:ffff:102:304" },
    { v6(0, 0, 0, 0, 0, 0xfffe, 0x0102, 0x0304), "::fffe:102:304" },
    { v6(0x2400, 0xcb00, 4, 0x1024, 0, 0, 0xa29e, 0xfd8f), "2400:cb00:4:1024::a29e:fd8f" },
    -- Lowercase, no leading zeros, every group non-zero.
    { v6(0xABCD, 0xEF01, 0x0023, 0x4567, 0x89AB, 0xCDEF, 0x000A, 0xFFFF), "abcd:ef01:23:4567:89ab:cdef:a:ffff" },
  }

  for _, case in ipairs(golden) do
    it("prints " .. case[2], function()
      assert.equal(case[2], inet_ip(16)(case[1]))
    end)
  end

  -- RFC 5952 as plainly as it can be written, to check the decoder against
  -- on many addresses with zero runs of every length and place.
  local function reference(bytes)
    local g = {}
    for i = 1, 8 do
      g[i] = bytes:byte(2 * i - 1) * 256 + bytes:byte(2 * i)
    end
    if g[1] + g[2] + g[3] + g[4] + g[5] == 0 and g[6] == 0xffff then
      return ("%d.%d.%d.%d"):format(bytes:byte(13, 16))
    end
    local best_start, best_len = nil, 1
    for start = 1, 8 do
      local len = 0
      while start + len <= 8 and g[start + len] == 0 do
        len = len + 1
      end
      if len > best_len then
        best_start, best_len = start, len
      end
    end
    local parts = {}
    for i = 1, 8 do
      parts[i] = ("%x"):format(g[i])
    end
    if not best_start then
      return table.concat(parts, ":")
    end
    return table.concat(parts, ":", 1, best_start - 1) .. "::" .. table.concat(parts, ":", best_start + best_len, 8)
  end

  it("agrees with a plain RFC 5952 formatter on 20,000 addresses", function()
    math.randomseed(5952)
    local decode = inet_ip(16)
    local choices = { 0, 0, 0, 0xffff }
    for _ = 1, 20000 do
      local g = {}
      for i = 1, 8 do
        local c = math.random(1, 6)
        g[i] = choices[c] or (c == 5 and math.random(1, 0xf) or math.random(1, 0xffff))
      end
      local bytes = v6(unpack(g))
      assert.equal(reference(bytes), decode(bytes))
    end
  end)

  it("decodes either size when the input size is unknown", function()
    local decode = inet_ip(nil)
    assert.equal("10.0.0.1", decode("\10\0\0\1"))
    assert.equal("::1", decode(v6(0, 0, 0, 0, 0, 0, 0, 1)))
  end)

  it("refuses an input size other than 4 or 16 at config load", function()
    for _, size in ipairs({ 1, 6, 8, 32 }) do
      local decode, err = registry:new({ name = "inet_ip" }, { input_size = size })
      assert.is_nil(decode)
      assert.equal("inet_ip: input must be 4 bytes (IPv4) or 16 bytes (IPv6), not " .. size, err)
    end
  end)

  it("fails to decode input of another length", function()
    local decode = inet_ip(nil)
    for _, input in ipairs({ "", "\1\2\3", string.rep("\0", 15), string.rep("\0", 17) }) do
      local out, err = decode(input)
      assert.is_nil(out)
      assert.equal("inet_ip: cannot decode " .. #input .. " bytes", err)
    end
  end)
end)
