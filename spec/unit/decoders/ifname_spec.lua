-- Specs for decoders/ifname.lua: interface indexes to names, the real lookup
-- for the loopback interface, and the cache with its TTL on a stubbed lookup.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")

-- A u32 in host (little-endian) order.
local function u32(n)
  return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256)
end

describe("ifname decoder", function()
  before_each(function() api.reset() end)
  after_each(function() api.reset() end)

  describe("with the real lookup", function()
    local registry
    setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)

    it("names the loopback interface, index 1 in every network namespace", function()
      local decode = assert(registry:new({ name = "ifname" }, { input_size = 4, label = "dev", config = "c", path = "p" }))
      assert.equal("lo", decode(u32(1)))
    end)

    it("gives unknown:<index> for an index no interface has", function()
      local decode = assert(registry:new({ name = "ifname" }, { input_size = 4 }))
      assert.equal("unknown:0", decode(u32(0)))
      assert.equal("unknown:4294967295", decode(u32(4294967295)))
    end)

    it("uses only the first 4 bytes", function()
      local decode = assert(registry:new({ name = "ifname" }, { input_size = 8 }))
      assert.equal("lo", decode(u32(1) .. "\255\255\255\255"))
    end)

    it("refuses an input shorter than 4 bytes at config load", function()
      for _, size in ipairs({ 1, 2, 3 }) do
        local decode, err = registry:new({ name = "ifname" }, { input_size = size })
        assert.is_nil(decode)
        assert.equal("ifname: input must be at least 4 bytes (a u32 interface index), not " .. size, err)
      end
    end)

    it("fails to decode a shorter input when the size is unknown", function()
      local decode = assert(registry:new({ name = "ifname" }, {}))
      local out, err = decode("\1\0")
      assert.is_nil(out)
      assert.equal("ifname: cannot decode 2 bytes", err)
    end)
  end)

  describe("cache", function()
    -- The module itself, so that its lookup can be replaced.
    local ifname, decode, interfaces, calls, now
    before_each(function()
      ifname = dofile(decoders.builtin_dir() .. "/ifname.lua")
      interfaces, calls, now = { [2] = "eth0", [3] = "wg0" }, 0, 1000
      ifname.index_to_name = function(idx)
        calls = calls + 1
        return interfaces[idx]
      end
      api.now = function() return now end
      decode = assert(ifname.new({ name = "ifname" }, { input_size = 4 }))
    end)

    it("looks an index up once while its name is fresh", function()
      assert.equal("eth0", decode(u32(2)))
      assert.equal("eth0", decode(u32(2)))
      assert.equal("wg0", decode(u32(3)))
      assert.equal(2, calls)
    end)

    it("re-checks a cached name after 60 seconds: renamed, then deleted", function()
      assert.equal("eth0", decode(u32(2)))
      interfaces[2] = "uplink"
      now = now + 59.9
      assert.equal("eth0", decode(u32(2)))
      assert.equal(1, calls)
      now = now + 0.1
      assert.equal("uplink", decode(u32(2)))
      assert.equal(2, calls)
      interfaces[2] = nil
      now = now + 60
      assert.equal("unknown:2", decode(u32(2)))
      assert.equal(3, calls)
    end)

    it("does not cache a miss: an interface created later is named at once", function()
      assert.equal("unknown:7", decode(u32(7)))
      interfaces[7] = "veth7"
      assert.equal("veth7", decode(u32(7)))
      assert.equal(2, calls)
    end)
  end)
end)
