-- The FFI's view of the C/Lua contract must be the C compiler's.
local ffi = require("ffi")
local abi = require("exporter.abi")

describe("abi", function()
  for _, part in ipairs({
    { header = "core/abi.h", module = abi },
    { header = "core/abi_bpf.h", module = require("exporter.abi_bpf") },
  }) do
    it("declares exactly the CDEF block of " .. part.header, function()
      local f = assert(io.open(part.header))
      local header = f:read("*a")
      f:close()
      local block = header:match("/%* BEGIN CDEF %*/\n(.-)/%* END CDEF %*/")
      assert.is_not_nil(block)
      assert.equal(block, part.module.CDEF)
    end)
  end

  it("has the version of core/abi.h", function()
    local f = assert(io.open("core/abi.h"))
    local version = tonumber(f:read("*a"):match("#define ELX_ABI_VERSION (%d+)"))
    f:close()
    assert.equal(version, abi.VERSION)
  end)

  it("lays out every struct as the C compiler does", function()
    local p = assert(io.popen("build/tests/test_abi_layout"))
    local text = p:read("*a")
    assert.is_true(p:close(), "build/tests/test_abi_layout failed (run make build)")
    local fields = assert(loadstring(text))()
    assert.is_true(#fields > 20)
    for _, f in ipairs(fields) do
      local struct, field, offset, size = f[1], f[2], f[3], f[4]
      assert.equal(size, ffi.sizeof("struct " .. struct), struct)
      assert.equal(offset, ffi.offsetof("struct " .. struct, field), struct .. "." .. field)
    end
  end)
end)
