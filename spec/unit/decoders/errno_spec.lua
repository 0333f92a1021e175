-- Specs for decoders/errno.lua: errno values to names.
local decoders = require("exporter.decoders")

describe("errno decoder", function()
  local decode
  setup(function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "errno" }, { label = "errno", config = "syscalls" }))
  end)

  it("names errno values", function()
    assert.equal("EPERM", decode("1"))
    assert.equal("EAGAIN", decode("11"))
    assert.equal("EPIPE", decode("32"))
    -- Go's names, as ebpf_exporter prints them (the kernel's are EOPNOTSUPP and EUCLEAN).
    assert.equal("ENOTSUP", decode("95"))
    assert.equal("EFSCORRUPTED", decode("117"))
    assert.equal("EHWPOISON", decode("133"))
  end)

  it("gives unknown:<n> for 0 and unknown values", function()
    assert.equal("unknown:0", decode("0"))
    assert.equal("unknown:9999", decode("9999"))
    assert.equal("unknown:18446744073709551615", decode("18446744073709551615"))
  end)

  it("fails to decode input that is not a decimal number", function()
    for _, input in ipairs({ "", "EPIPE", "-11", "11 " }) do
      local out, err = decode(input)
      assert.is_nil(out)
      assert.equal("errno: not a number: " .. input, err)
    end
  end)
end)
