-- `make run` installs and builds only what serving the examples needs;
-- `make test` adds the test tools (issue 10).
local sh = require("helpers.files").sh

local function words(text)
  local set = {}
  for w in text:gmatch("%S+") do set[w] = true end
  return set
end

describe("make run", function()
  it("installs the packages running needs and none of the test tools", function()
    local run = words(sh("sh tools/install-deps.sh --list run"))
    local test = words(sh("sh tools/install-deps.sh --list test"))
    for _, p in ipairs({ "libbpf-dev", "luajit", "lua-yaml", "libuv1-dev", "clang", "bpftool" }) do
      assert.is_true(run[p], p)
    end
    for _, p in ipairs({ "prometheus", "lua-busted", "lua-check", "luarocks", "debootstrap", "debhelper" }) do
      assert.is_nil(run[p], p)
      assert.is_true(test[p], p)
    end
  end)

  it("builds the binary and the examples only, and serves them where LISTEN and EXAMPLES say", function()
    local out = sh("make --no-print-directory -n run BUILD=/tmp/elx-make-run-spec LISTEN=127.0.0.1:1234 EXAMPLES=timers")
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal("sh tools/install-deps.sh run", lines[1])
    assert.equal("cmake --build /tmp/elx-make-run-spec -j " .. sh("nproc"):gsub("%s+$", "")
      .. " --target ebpf-lua-exporter examples -- --no-print-directory", lines[3])
    assert.equal("exec /tmp/elx-make-run-spec/ebpf-lua-exporter --config.dir=/tmp/elx-make-run-spec/examples "
      .. "\\", lines[5])
    assert.equal("	--config.names=timers --web.listen-address=127.0.0.1:1234", lines[6])
  end)
end)
