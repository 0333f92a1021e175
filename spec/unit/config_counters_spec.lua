-- The counters a config keeps in the core across reloads: decoder errors by
-- decoder, in the slots of struct elx_config_counters, and repaired values.
local ffi = require("ffi")
require("exporter.abi")
local config_counters = require("exporter.config_counters")

local function stats(errors, invalid)
  return { errors_by_decoder = errors, invalid_utf8 = invalid or 0 }
end

describe("config_counters.sync", function()
  it("lists every decoder of the config from 0 and adds each scrape's errors", function()
    local counters = ffi.new("struct elx_config_counters")
    local s, slots = stats({ spin = 2 }, 1), {}
    config_counters.sync(counters, s, { "spin", "uint" }, slots)
    assert.same({ spin = 2, uint = 0 }, s.errors)
    assert.equal(1, s.invalid_utf8_total)
    s.errors_by_decoder, s.invalid_utf8 = { spin = 1, uint = 3 }, 2
    config_counters.sync(counters, s, { "spin", "uint" }, slots)
    assert.same({ spin = 3, uint = 3 }, s.errors)
    assert.equal(3, s.invalid_utf8_total)
    assert.same({}, s.errors_by_decoder)
    assert.equal(0, s.invalid_utf8)
  end)

  it("goes on from the counts a previous Lua state left in the core, by name", function()
    local counters = ffi.new("struct elx_config_counters")
    config_counters.sync(counters, stats({ b = 5 }), { "a", "b" }, {})
    -- A reload: a new state, and a config that now uses c where it used a.
    local s = stats({ c = 1 })
    config_counters.sync(counters, s, { "b", "c" }, {})
    assert.same({ a = 0, b = 5, c = 1 }, s.errors)
  end)

  it("counts decoders past the 32nd in the last slot", function()
    local counters = ffi.new("struct elx_config_counters")
    local names, errors = {}, {}
    for i = 1, 34 do
      names[i] = ("d%02d"):format(i)
      errors[names[i]] = 1
    end
    local s = stats(errors)
    config_counters.sync(counters, s, names, {})
    assert.equal(32, counters.ndecoders)
    assert.equal(1, s.errors.d31)
    assert.equal(3, s.errors.d32) -- its own and d33's and d34's
    assert.is_nil(s.errors.d33)
  end)
end)
