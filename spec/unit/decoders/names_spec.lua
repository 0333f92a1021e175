-- Every row of ../shared/compat's tables against what the syscall and errno
-- decoders print: these strings are what ebpf_exporter users' dashboards match.
local decoders = require("exporter.decoders")
local names = require("exporter.names")

local COMPAT = "../shared/compat"

-- number -> name, the first line of a number winning, as the README says.
local function read_tsv(path)
  local f = assert(io.open(path), path .. " is missing: it comes with the shared material")
  local t = {}
  for line in f:lines() do
    local n, name = line:match("^(%d+)\t(%S+)$")
    n = assert(tonumber(n), line)
    t[n] = t[n] or name
  end
  f:close()
  return t
end

local KINDS = { syscalls = { decoder = "syscall", miss = "unknown_syscall:" }, errno = { decoder = "errno", miss = "unknown:" } }

describe("name tables", function()
  for kind in pairs(KINDS) do
    for _, arch in ipairs({ "amd64", "arm64" }) do
      it(("match %s-%s.tsv exactly"):format(kind, arch), function()
        assert.same(read_tsv(("%s/%s-%s.tsv"):format(COMPAT, kind, arch)), assert(names.table(kind, arch)))
      end)
    end
  end

  for kind, k in pairs(KINDS) do
    it(("are what the %s decoder prints on this machine, row by row, and misses are %sN"):format(k.decoder, k.miss),
      function()
        local arch = assert(names.ARCHES[jit.arch], "no table for " .. jit.arch)
        local expected = read_tsv(("%s/%s-%s.tsv"):format(COMPAT, kind, arch))
        local registry = assert(decoders.load({ decoders.builtin_dir() }))
        local decode = assert(registry:new({ name = k.decoder }, { label = "x", config = "c" }))
        local checked = 0
        for n = 0, 1023 do
          assert.equal(expected[n] or (k.miss .. n), decode(tostring(n)), kind .. " " .. n)
          checked = checked + (expected[n] and 1 or 0)
        end
        local rows = 0
        for _ in pairs(expected) do rows = rows + 1 end
        assert.equal(rows, checked) -- every row of the table was among 0..1023
      end)
  end

  it("say which architectures have tables when this one has none", function()
    local saved = names.ARCHES
    names.ARCHES = {}
    local t, err = names.table("syscalls")
    names.ARCHES = saved
    assert.is_nil(t)
    assert.equal(("no syscalls table for this architecture (%s): amd64 and arm64 have one"):format(jit.arch), err)
  end)
end)
