-- Number formatting: exact integers and Go's shortest float form.
local buffer = require("string.buffer")
local numfmt = require("exporter.numfmt")

describe("numfmt", function()
  it("formats floats as Go's strconv 'g' with the shortest precision", function()
    local cases = {
      { 1e-06, "1e-06" }, { 1.6e-05, "1.6e-05" }, { 0.000128, "0.000128" },
      { 134.217728, "134.217728" }, { 1e6, "1e+06" }, { 12345678, "1.2345678e+07" },
      { 123456, "123456" }, { 0.5, "0.5" }, { 1824 * 0.000001, "0.0018239999999999999" },
      { -3.5e-7, "-3.5e-07" }, { 1e21, "1e+21" }, { 1e100, "1e+100" }, { 0, "0" },
      { math.huge, "+Inf" }, { -math.huge, "-Inf" }, { 0 / 0, "NaN" },
    }
    for _, c in ipairs(cases) do
      assert.equal(c[2], numfmt.go_float(c[1]))
    end
  end)

  it("writes integral sample values as integers", function()
    assert.equal("1287408", numfmt.value(1287408))
    assert.equal("9007199254740992", numfmt.value(2 ^ 53))
    assert.equal("0.021772", numfmt.value(21772 * 0.000001))
  end)

  it("writes u64 values exactly over the whole range", function()
    local buf = buffer.new()
    for _, v in ipairs({ 0ULL, 7ULL, 99999999999999ULL, 100000000000000ULL, 12345678901234567ULL,
      0xffffffffffffffffULL }) do
      numfmt.put_u64(buf, v)
      buf:put(" ")
    end
    numfmt.put_u64(buf, 42)
    assert.equal("0 7 99999999999999 100000000000000 12345678901234567 18446744073709551615 42", buf:tostring())
  end)

  it("reads and writes u64 decimal text exactly past 2^53", function()
    local ffi = require("ffi")
    assert.equal("18446744073709551615", numfmt.u64(numfmt.parse_u64("18446744073709551615")))
    assert.equal("9007199254740993", numfmt.u64(numfmt.parse_u64("9007199254740993")))
    assert.equal("0", numfmt.u64(ffi.new("uint64_t", 0)))
    assert.equal("42", numfmt.u64(42))
  end)

  it("writes durations in plain decimal to the nanosecond", function()
    assert.equal("0.0000992", numfmt.decimal(9.92e-05))
    assert.equal("1.5", numfmt.decimal(1.5))
    assert.equal("2", numfmt.decimal(2))
    assert.equal("0", numfmt.decimal(0))
    assert.equal("0.000000001", numfmt.decimal(1e-9))
  end)

  it("gives u64 values as exact decimal text", function()
    assert.equal("0", numfmt.u64(0ULL))
    assert.equal("42", numfmt.u64(42))
    assert.equal("100000000000000", numfmt.u64(100000000000000ULL))
    assert.equal("18446744073709551615", numfmt.u64(0xffffffffffffffffULL))
  end)

  it("turns u64 values into exact text, from cdata and from numbers", function()
    local out = {}
    for _, v in ipairs({ 0ULL, 9007199254740991ULL, 9007199254740993ULL, 0xffffffffffffffffULL, 42, 2 ^ 53,
      require("ffi").new("uint64_t", 5) }) do
      out[#out + 1] = numfmt.u64(v)
    end
    assert.same({ "0", "9007199254740991", "9007199254740993", "18446744073709551615", "42", "9007199254740992", "5" },
      out)
  end)
end)
