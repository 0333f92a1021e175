-- Specs for decoders/static_map.lua: mapping through the static_map option.
local decoders = require("exporter.decoders")

describe("static_map decoder", function()
  local registry
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)

  local function static_map(options)
    options.name = "static_map"
    return registry:new(options, { label = "kind", config = "softirqs", path = "p" })
  end

  it("maps integer and string keys given as numbers or strings", function()
    -- The YAML parser gives numbers for unquoted numeric keys and values.
    local decode = assert(static_map({ static_map = { [0] = "hi", [1] = "timer", ["2"] = "net_tx", ["x"] = 7 } }))
    assert.equal("hi", decode("0"))
    assert.equal("timer", decode("1"))
    assert.equal("net_tx", decode("2"))
    assert.equal("7", decode("x"))
  end)

  it("gives unknown:<in> for a missing input", function()
    local decode = assert(static_map({ static_map = { [1] = "timer" } }))
    assert.equal("unknown:9", decode("9"))
    assert.equal("unknown:", decode(""))
  end)

  it("gives the input itself with allow_unknown", function()
    local decode = assert(static_map({ static_map = { [1] = "timer" }, allow_unknown = true }))
    assert.equal("timer", decode("1"))
    assert.equal("9", decode("9"))
    decode = assert(static_map({ static_map = { [1] = "timer" }, allow_unknown = false }))
    assert.equal("unknown:9", decode("9"))
  end)

  it("accepts an empty mapping", function()
    local decode = assert(static_map({ static_map = {} }))
    assert.equal("unknown:1", decode("1"))
  end)

  it("refuses a missing or non-mapping static_map option", function()
    local msg = 'static_map: option "static_map" must be a mapping of input to output'
    local decode, err = static_map({})
    assert.is_nil(decode)
    assert.equal(msg, err)
    decode, err = static_map({ static_map = "1: timer" })
    assert.is_nil(decode)
    assert.equal(msg, err)
  end)

  it("refuses a non-boolean allow_unknown", function()
    local _, err = static_map({ static_map = {}, allow_unknown = "yes" })
    assert.equal('static_map: option "allow_unknown" must be true or false', err)
  end)

  it("refuses keys and values it cannot print exactly", function()
    local _, err = static_map({ static_map = { [1.5] = "x" } })
    assert.equal("static_map: key 1.5 must be a string or an integer", err)
    _, err = static_map({ static_map = { [true] = "x" } })
    assert.equal("static_map: key true must be a string or an integer", err)
    _, err = static_map({ static_map = { [1] = { "x" } } })
    assert.equal('static_map: value of key "1" must be a string or an integer', err)
  end)

  it("refuses a key given both as a number and as a string with different values", function()
    local _, err = static_map({ static_map = { [1] = "a", ["1"] = "b" } })
    assert.equal('static_map: key "1" is given twice', err)
  end)
end)
