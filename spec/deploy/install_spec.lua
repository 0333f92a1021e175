-- `make install` into a staging root (DESTDIR), and the installed binary run
-- from there: it finds its Lua modules relative to itself, never in the
-- build tree, also once the tree is moved; it counts real events.
local deploy = require("helpers.deploy")
local helper = require("helpers.exporter")
local files = require("helpers.files")

local DEFAULTS = "timers,softirqs,syscalls,biolatency"

local function ls(dir, pattern)
  local list = {}
  for name in deploy.run("ls " .. dir):gmatch("[^\n]+") do
    if name:match(pattern) then
      list[#list + 1] = name
    end
  end
  return list
end

-- What the install must hold under PREFIX=/usr, from the source tree.
local function expected_files()
  local set = {}
  local function add(path) set[path] = true end
  add("/usr/bin/ebpf-lua-exporter")
  add("/usr/bin/ebpf-lua-exporter-bpf-cc")
  local lua = "/usr/share/ebpf-lua-exporter/lua/exporter/"
  -- Modules in subdirectories of lua/exporter too.
  for f in deploy.run("cd lua/exporter && find . -name '*.lua'"):gmatch("%./([^\n]+)") do add(lua .. f) end
  for _, f in ipairs(ls("decoders", "%.lua$")) do add(lua .. "decoders/" .. f) end
  for _, f in ipairs(ls("examples", "%.bpf%.c$")) do
    local name = f:match("^(.*)%.bpf%.c$")
    add("/usr/share/ebpf-lua-exporter/examples/" .. name .. ".bpf.o")
    add("/usr/share/ebpf-lua-exporter/examples/" .. name .. ".yaml")
  end
  add("/usr/share/ebpf-lua-exporter/examples/usdt-trace-demo") -- the program usdt-trace probes
  for _, dir in ipairs({ "grafana", "prometheus" }) do
    for _, f in ipairs(ls("deploy/" .. dir, ".")) do add("/usr/share/ebpf-lua-exporter/" .. dir .. "/" .. f) end
  end
  for _, f in ipairs(ls("bpf", "%.h$")) do add("/usr/include/ebpf-lua-exporter/" .. f) end
  add("/usr/lib/systemd/system/ebpf-lua-exporter.service")
  add("/usr/lib/systemd/system/ebpf-lua-exporter.socket")
  add("/usr/share/man/man1/ebpf-lua-exporter.1")
  for _, f in ipairs({ "README.md", "docs/decoders.md" }) do
    add("/usr/share/doc/ebpf-lua-exporter/" .. f:match("[^/]+$"))
  end
  for _, f in ipairs(ls("examples/decoders", "%.lua$")) do
    add("/usr/share/doc/ebpf-lua-exporter/examples/decoders/" .. f)
  end
  return set
end

local function installed_files(root)
  local set = {}
  for path in deploy.run("cd " .. root .. " && find . -type f -o -type l"):gmatch("[^\n]+") do
    set[path:sub(2)] = true
  end
  return set
end

describe("make install", function()
  local stage = files.tmpdir()
  local root = stage .. "/root"
  setup(function()
    deploy.run(("make --no-print-directory install BUILD=%s PREFIX=/usr DESTDIR=%s"):format(helper.build, root))
  end)
  teardown(function()
    -- The build directory goes back to the default prefix.
    deploy.run(("cmake -S . -B %s -DCMAKE_INSTALL_PREFIX=/usr/local"):format(helper.build))
    os.execute("rm -rf " .. stage)
  end)

  it("installs exactly the binary, Lua modules, decoders, examples, headers, units, man page and docs", function()
    local got, want = installed_files(root), expected_files()
    assert.same({}, deploy.missing_from(want, got))
    assert.same({}, deploy.missing_from(got, want))
  end)

  it("names the installed binary in the service unit", function()
    local unit = files.read(root .. "/usr/lib/systemd/system/ebpf-lua-exporter.service")
    assert.equal("ExecStart=/usr/bin/ebpf-lua-exporter \\", unit:match("\n(ExecStart=[^\n]*)"))
  end)

  it("has a man page with every flag of --help", function()
    local help = deploy.run(root .. "/usr/bin/ebpf-lua-exporter --help")
    local man = deploy.run("MANWIDTH=200 man -l " .. root .. "/usr/share/man/man1/ebpf-lua-exporter.1 | col -b")
    assert.is_truthy(man:find("\nNAME\n       ebpf-lua-exporter - Prometheus exporter for custom eBPF metrics\n", 1, true))
    local flags = 0
    for flag in help:gmatch("\n  (%-%-[%w.%-%[%]]+)") do
      flags = flags + 1
      assert.is_truthy(man:find(flag, 1, true), flag .. " is not in the man page")
    end
    assert.is_true(flags >= 17, help)
  end)

  describe("the installed binary", function()
    local binary = root .. "/usr/bin/ebpf-lua-exporter"
    local examples = root .. "/usr/share/ebpf-lua-exporter/examples"

    it("checks the installed examples with its installed modules", function()
      local out, code = deploy.sh(("%s --log.no-timestamps --config.check --config.strict --config.dir=%s "
        .. "--config.names=%s"):format(binary, examples, DEFAULTS))
      assert.equal(0, code, out)
      assert.equal("info: config check passed: 4 configs loaded, 7 of 7 programs attached", out:match("([^\n]*)\n$"))
    end)

    it("compiles your own program with its installed headers (ebpf-lua-exporter-bpf-cc)", function()
      local dir = files.tmpdir()
      files.write(dir .. "/mine.bpf.c", [[
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} mine_total SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_kill")
int count_kill(void *ctx)
{
	u32 zero = 0;

	increment_map(&mine_total, &zero, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
]])
      files.write(dir .. "/mine.yaml", "metrics:\n  counters:\n    - name: mine_total\n      help: kill calls\n"
        .. "      labels: [{ name: k, size: 4, decoders: [{ name: uint }] }]\n")
      -- Copied out of the tree, as an installed script finds its headers.
      local out, code = deploy.sh(root .. "/usr/bin/ebpf-lua-exporter-bpf-cc " .. dir)
      assert.equal(0, code, out)
      assert.equal(dir .. "/mine.bpf.o\n", out)
      out, code = deploy.sh(("%s --log.no-timestamps --web.listen-address=127.0.0.1:0 --config.check --config.strict "
        .. "--config.dir=%s --config.names=mine"):format(binary, dir))
      assert.equal(0, code, out)
      assert.equal("info: config check passed: 1 configs loaded, 1 of 1 programs attached", out:match("([^\n]*)\n$"))
    end)

    it("counts N real events", function()
      local build_binary = helper.binary
      helper.binary = binary
      local ok, e = pcall(helper.start, { dir = examples, names = "syscalls" })
      helper.binary = build_binary
      assert(ok, e)
      -- setpriority(99, ...) fails with EINVAL, made by nothing but the
      -- test target, under the lock every copy of the specs takes for it.
      local series = 'ebpf_exporter_syscall_failures_total{errno="EINVAL",syscall="setpriority"}'
      local before, after
      require("helpers.lock").with("setpriority-einval", function()
        before = e:samples()[series] or 0
        deploy.run(helper.spec_dir .. "/elx-test-target fail 321")
        after = e:samples()[series]
      end)
      assert.equal(0, (e:stop()))
      assert.equal(321, after - before)
    end)

    it("works moved elsewhere as a whole, and says in one line where it looked for a missing module", function()
      local moved = stage .. "/opt/elx"
      deploy.run(("mkdir -p %s/opt && cp -a %s/usr %s"):format(stage, root, moved))
      local check = ("LUA_PATH='/nonexistent/?.lua;;' %s/bin/ebpf-lua-exporter --log.no-timestamps --config.check "
        .. "--config.dir=%s/share/ebpf-lua-exporter/examples --config.names=timers"):format(moved, moved)
      local out, code = deploy.sh(check)
      assert.equal(0, code, out)
      -- The build tree has every module: only the installed tree is looked in.
      local lua = moved .. "/share/ebpf-lua-exporter/lua"
      local default = deploy.run("LUA_PATH='/nonexistent/?.lua;;' luajit -e 'io.write(package.path)'")
      for _, module in ipairs({ "entry", "config" }) do
        deploy.run(("mv %s/exporter/%s.lua %s/exporter/%s.lua.away"):format(lua, module, lua, module))
        out, code = deploy.sh(check)
        deploy.run(("mv %s/exporter/%s.lua.away %s/exporter/%s.lua"):format(lua, module, lua, module))
        assert.equal(1, code)
        -- After the line with which it starts, the one that says why it stops.
        out = out:gsub("^info: ebpf%-lua%-exporter [^\n]*\n", "")
        assert.equal(("error: Lua module 'exporter.%s' not found on the Lua path %s/?.lua;%s/?/init.lua;%s\n")
          :format(module, lua, lua, default), out)
      end
    end)
  end)
end)
