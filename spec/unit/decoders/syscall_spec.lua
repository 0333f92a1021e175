-- Specs for decoders/syscall.lua: syscall numbers to names.
local decoders = require("exporter.decoders")

describe("syscall decoder", function()
  local decode
  setup(function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    decode = assert(registry:new({ name = "syscall" }, { label = "syscall", config = "syscalls" }))
  end)

  it("names syscalls", function()
    assert.equal("read", decode("0"))
    assert.equal("write", decode("1"))
    assert.equal("execve", decode("59"))
    assert.equal("io_uring_setup", decode("425"))
  end)

  it("uses strace's names, as ebpf_exporter prints them", function()
    if jit.arch ~= "x64" then
      pending("the numbers below are amd64's")
    end
    assert.equal("futex_time64", decode("202"))
    assert.equal("exit", decode("231"))
    assert.equal("pread", decode("17"))
    assert.equal("clock_gettime64", decode("228"))
    assert.equal("cachestat", decode("451"))
  end)

  it("gives unknown_syscall:<n> for an unknown number", function()
    assert.equal("unknown_syscall:99999", decode("99999"))
    assert.equal("unknown_syscall:18446744073709551615", decode("18446744073709551615"))
  end)

  it("ignores leading zeros", function()
    assert.equal("execve", decode("059"))
    assert.equal("read", decode("000"))
  end)

  it("fails to decode input that is not a decimal number", function()
    for _, input in ipairs({ "", "abc", "-1", "1.0", " 1", "0x3b" }) do
      local out, err = decode(input)
      assert.is_nil(out)
      assert.equal("syscall: not a number: " .. input, err)
    end
  end)
end)
