-- The binary's start, failure and exit paths, against the real kernel.
local helper = require("helpers.exporter")
local files = require("helpers.files")

local function lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    out[#out + 1] = line
  end
  return out
end

describe("flags", function()
  it("prints one clear line and exits 1 for a bad flag or a missing file", function()
    local cases = {
      { "--nope", "ebpf-lua-exporter: error: unknown flag --nope, try --help" },
      { "--config.dir=/nonexistent --config.names=x",
        "ebpf-lua-exporter: error: --config.dir: /nonexistent: No such file or directory, try --help" },
      { "--config.names=x", "ebpf-lua-exporter: error: required flag --config.dir not provided, try --help" },
      { "--config.dir=/tmp", "ebpf-lua-exporter: error: required flag --config.names not provided, try --help" },
      { "--config.dir=/tmp --config.names=a,b,a",
        'ebpf-lua-exporter: error: --config.names: "a" is listed twice, try --help' },
      { "--config.dir=/tmp --config.names=a --config.cache-size=lots",
        "ebpf-lua-exporter: error: --config.cache-size: lots is not a count (a whole number >= 0), try --help" },
      { "--config.dir=/tmp --config.names=a --config.max-series=-1",
        "ebpf-lua-exporter: error: --config.max-series: -1 is not a count (a whole number >= 0), try --help" },
      { "--config.dir=/tmp --config.names=a --web.telemetry-path=metrics",
        "ebpf-lua-exporter: error: --web.telemetry-path: metrics must start with /, try --help" },
      { "--config.dir=/tmp --config.names=a --decoders.time-limit=soon",
        "ebpf-lua-exporter: error: --decoders.time-limit: soon is not a duration (such as 500ms, 10s or 1m30s), try --help" },
      { "--config.dir=/tmp --config.names=a --decoders.time-limit=0s",
        "ebpf-lua-exporter: error: --decoders.time-limit: 0s is shorter than 1ms, try --help" },
      { "--config.dir=/tmp --config.names=a --decoders.time-limit=1x",
        "ebpf-lua-exporter: error: --decoders.time-limit: 1x is not a duration (such as 500ms, 10s or 1m30s), try --help" },
      { "--config.dir=/tmp --config.names=a --decoders.memory-limit=0",
        "ebpf-lua-exporter: error: --decoders.memory-limit must be at least 1 (MiB), try --help" },
      { "--debug=1", "ebpf-lua-exporter: error: --debug takes no value, try --help" },
      { "--config.dir", "ebpf-lua-exporter: error: --config.dir needs a value, try --help" },
    }
    for _, c in ipairs(cases) do
      local out, code = helper.run(c[1])
      assert.equal(1, code, c[1])
      assert.equal(c[2] .. "\n", out, c[1])
    end
  end)

  it("fails at once on a port in use, with the reason, before loading anything", function()
    local e = helper.start({ names = "uprobe_test" })
    local out, code = helper.run(("--log.no-timestamps --config.dir=%s --config.names=uprobe_test "
      .. "--web.listen-address=127.0.0.1:%d"):format(helper.spec_dir, e.port))
    assert.equal(0, (e:stop()))
    assert.equal(1, code)
    assert.equal(("error: --web.listen-address=127.0.0.1:%d: cannot bind the listen address: "
      .. "Address already in use\n"):format(e.port), out)
  end)

  it("logs its version, revision and libraries when it starts", function()
    local _, code, version = helper.run("--log.no-timestamps --config.check --config.dir=" .. helper.spec_dir
      .. " --config.names=uprobe_test")
    assert.equal(0, code)
    local revision = helper.revision()
    local libbpf = helper.sh("pkg-config --modversion libbpf"):match("^(%d+%.%d+)")
    assert.equal(("info: ebpf-lua-exporter 0.1.0 (revision %s), libbpf v%s, %s"):format(revision, libbpf, jit.version),
      version)
  end)

  it("answers --help and --version with exit 0", function()
    local out, code = helper.run("--help")
    assert.equal(0, code)
    assert.equal("usage: ebpf-lua-exporter --config.dir=DIR --config.names=NAMES [flags]", lines(out)[1])
    for _, flag in ipairs({ "--config.dir=DIR", "--config.names=NAMES", "--[no-]config.strict", "--[no-]config.check",
      "--[no-]debug", "--[no-]log.no-timestamps", "--web.listen-address=ADDR", "--web.telemetry-path=PATH", "--version",
      "--decoders.time-limit=DURATION", "--decoders.memory-limit=MIB", "--[no-]decoders.unrestricted" }) do
      assert.is_truthy(out:find("\n  " .. flag .. " ", 1, true), flag)
    end
    out, code = helper.run("--version")
    assert.equal(0, code)
    assert.equal("ebpf-lua-exporter version 0.1.0\n", out)
  end)
end)

describe("config errors", function()
  it("reports every error of every config with file and YAML path, and exits 1", function()
    local dir = helper.config_dir("uprobe_test", "broken", [[
metrics:
  counters:
    - name: test_hits_total
      help: x
      labels:
        - { name: v, size: 8, decoders: [{ name: uint }] }
    - name: no_such_map
      help: x
  histograms:
    - name: test_value_exp2
      help: x
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 10
      labels:
        - { name: bucket, size: 4, decoders: [{ name: uint }] }
]])
    local f = assert(io.open(dir .. "/other.yaml", "w"))
    f:write("metrics:\n  counters:\n    - name: x\n      helpp: y\n")
    f:close()
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=broken,other,absent")
    assert.equal(1, code)
    local errors = {}
    for _, l in ipairs(lines(out)) do
      if l:match("^error: ") then
        errors[#errors + 1] = l
      end
    end
    assert.same({
      "error: --config.names: no config absent in " .. dir .. " (neither absent.yaml nor absent.bpf.o); "
        .. "the configs there: broken",
      'error: broken.yaml: metrics.counters[0].labels: the labels take 8 bytes (size + padding), but map "test_hits_total" has 4-byte keys',
      'error: broken.yaml: metrics.counters[1].name: no map "no_such_map" in broken.bpf.o',
      'error: broken.yaml: metrics.histograms[0].labels: the labels take 4 bytes (size + padding), but map "test_value_exp2" has 8-byte keys',
      "error: " .. dir .. "/other.bpf.o: No such file or directory",
      "error: other.yaml: metrics.counters[0].help: missing",
    }, errors)
    -- ebpf_exporter ignores unknown keys: a warning here, an error with --config.strict.
    assert.is_truthy(out:find("\nwarn: other.yaml: metrics.counters[0].helpp: unknown key; did you mean help? "
      .. "(ignored; --config.strict refuses it)\n", 1, true), out)
    os.execute("rm -rf " .. dir)
  end)

  it("prints the verifier's reason for a rejected program and exits 1", function()
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. helper.spec_dir .. " --config.names=bad_verifier")
    assert.equal(1, code)
    assert.is_truthy(out:find("R0 invalid mem access 'map_value_or_null'", 1, true))
    assert.is_truthy(out:find("\nerror: config bad_verifier: loading " .. helper.spec_dir
      .. "/bad_verifier.bpf.o failed: prog 'unchecked_lookup': BPF program load failed: Permission denied\n", 1, true),
      out)
  end)

  it("says what libbpf found wrong with an object, not its error number", function()
    local dir = helper.config_dir("uprobe_test", "bad", "metrics:\n  counters:\n    - { name: test_hits_total, help: x }\n")
    files.write(dir .. "/bad.bpf.o", "\127ELF but not really")
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=bad")
    os.execute("rm -rf " .. dir)
    assert.equal(1, code)
    assert.equal(("error: %s/bad.bpf.o: libbpf cannot open it: elf: '%s/bad.bpf.o' is not a proper ELF object")
      :format(dir, dir), lines(out)[#lines(out)])
  end)

  it("names the kernel function an object needs and this kernel lacks", function()
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. helper.spec_dir .. " --config.names=bad_extern")
    assert.equal(1, code)
    assert.is_truthy(out:find("\nerror: config bad_extern: loading " .. helper.spec_dir
      .. "/bad_extern.bpf.o failed: extern (func ksym) 'elx_no_such_kfunc': not found in kernel or module BTFs\n",
      1, true), out)
  end)
end)

describe("configs ebpf_exporter accepts", function()
  it("load with a warning for what it ignores, and fail with --config.strict", function()
    local dir = helper.config_dir("uprobe_test", "lenient", [[
metrics:
  counters:
    - name: test_hits_total
      help: Calls of elx_test_hit
      description: ebpf_exporter ignores this key
      flush_interval: 1m
]])
    local e = helper.start({ dir = dir, names = "lenient" })
    e:target("hit 9")
    local s = e:samples()
    local code, log = e:stop()
    assert.equal(0, code)
    assert.equal(9, s["ebpf_exporter_test_hits_total"])
    for _, line in ipairs({
      "warn: lenient.yaml: metrics.counters[0].description: unknown key (ignored; --config.strict refuses it)",
      "warn: lenient.yaml: metrics.counters[0].flush_interval: only applies to counters of perf event arrays and ring "
        .. "buffers (ignored; --config.strict refuses it)",
    }) do
      assert.is_truthy(log:find(line, 1, true), log)
    end
    local out
    out, code = helper.run("--log.no-timestamps --config.strict --config.check --config.dir=" .. dir
      .. " --config.names=lenient")
    os.execute("rm -rf " .. dir)
    assert.equal(1, code)
    assert.equal("error: lenient.yaml: metrics.counters[0].description: unknown key\n", out)
  end)
end)

describe("config names", function()
  local dir
  before_each(function()
    dir = helper.tmpdir()
    for _, name in ipairs({ "alpha", "beta" }) do
      os.execute(("cp %s/uprobe_test.bpf.o %s/%s.bpf.o"):format(helper.spec_dir, dir, name))
      files.write(("%s/%s.yaml"):format(dir, name), "metrics: {}\n")
    end
    files.write(dir .. "/orphan.yaml", "metrics: {}\n")
  end)
  after_each(function()
    os.execute("rm -rf " .. dir)
  end)

  it("that do not exist list the configs there are", function()
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=exec")
    assert.equal(1, code)
    assert.equal("error: --config.names: no config exec in " .. dir .. " (neither exec.yaml nor exec.bpf.o); "
      .. "the configs there: alpha, beta\n", out)
  end)

  it("=all logs each YAML without its object, and refuses to start with none", function()
    os.execute(("rm %s/alpha.bpf.o %s/beta.bpf.o"):format(dir, dir))
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=all")
    assert.equal(1, code)
    assert.same({
      "warn: --config.names=all: skipping " .. dir .. "/alpha.yaml: no alpha.bpf.o next to it",
      "warn: --config.names=all: skipping " .. dir .. "/beta.yaml: no beta.bpf.o next to it",
      "warn: --config.names=all: skipping " .. dir .. "/orphan.yaml: no orphan.bpf.o next to it",
      "error: --config.names=all: no config to load in " .. dir .. ": no <name>.yaml there has its <name>.bpf.o",
    }, lines(out))
  end)
end)

describe("attach failures", function()
  it("report the program as not attached, and still count the others", function()
    local e = helper.start({ names = "attach_fail" })
    e:target("hit 17")
    local text = e:scrape()
    local s = helper.samples(text)
    assert.equal(17, s["ebpf_exporter_attach_fail_hits_total"])
    local attached = {}
    for program, id in text:gmatch('ebpf_exporter_ebpf_program_info{config="attach_fail",id="(%d+)",program="([%w_]+)"') do
      attached[id] = s[('ebpf_exporter_ebpf_program_attached{id="%s"}'):format(program)]
    end
    assert.same({ attached_hit = 1, never_attached = 0 }, attached)
    local code, log = e:stop()
    assert.equal(0, code)
    assert.is_truthy(log:find('error: config attach_fail: program never_attached '
      .. '(SEC("tracepoint/elx_no_such_system/elx_no_such_event")): attach failed: failed to determine tracepoint '
      .. "'elx_no_such_system/elx_no_such_event' perf event ID: No such file or directory: this kernel has no "
      .. "tracepoint elx_no_such_system/elx_no_such_event\n", 1, true), log)
  end)

  it("are fatal with --config.strict", function()
    local out, code = helper.run("--log.no-timestamps --config.strict --config.check --config.dir="
      .. helper.spec_dir .. " --config.names=attach_fail")
    assert.equal(1, code)
    assert.is_truthy(out:find("perf event ID: No such file or directory: this kernel has no tracepoint", 1, true), out)
  end)

  -- Each program of explain_test.bpf.o fails for a reason of its own; where
  -- this machine has what one lacks elsewhere, its line is not checked.
  it("say why, in words an operator can act on", function()
    local path = helper.tmpdir()
    os.execute("mkdir -p " .. path .. "/shims && printf '#!/bin/sh\\nexit 0\\n' > " .. path
      .. "/shims/elx-shim && chmod +x " .. path .. "/shims/elx-shim")
    local out, code = helper.run(("--log.no-timestamps --config.check --config.dir=%s --config.names=explain_test")
      :format(helper.spec_dir), "PATH=" .. path .. "/shims:/usr/bin:/bin")
    os.execute("rm -rf " .. path)
    assert.equal(0, code, out)
    local why = {}
    for program, reason in out:gmatch('error: config explain_test: program ([%w_]+) %(SEC%("[^"]*"%)%): attach failed: ([^\n]*)') do
      why[program] = reason
    end
    local function has(dir) return helper.sh("test -e " .. dir .. " && echo yes"):match("yes") end
    if not has("/sys/kernel/tracing/kprobe_events") then
      assert.equal("failed to add legacy kprobe event for 'do_nanosleep+0x0': No such file or directory: this kernel "
        .. "has no kprobes: there is no kprobe_events in tracefs (it was built without CONFIG_KPROBES)", why.on_kprobe)
    end
    if why.on_fentry then
      assert.equal("this kernel cannot run fentry/fexit programs: it refuses to load one (it has no BPF "
        .. "trampolines)", why.on_fentry)
    end
    assert.equal("failed to determine tracepoint 'sched/elx_no_such_event' perf event ID: No such file or directory: "
      .. "this kernel has no tracepoint sched/elx_no_such_event", why.on_missing_tracepoint)
    if not has("/sys/bus/event_source/devices/cpu") then
      assert.equal("perf_event_open(type=0, config=0) on CPU 0: No such file or directory (this machine does not have "
        .. "that event): this machine has no hardware counters: no cpu PMU in /sys/bus/event_source/devices (virtual "
        .. "machines often have none)", why.on_cycles)
    end
    assert.equal("failed to open /elx/no/such/binary: No such file or directory: no binary /elx/no/such/binary to "
      .. "probe", why.on_missing_binary)
    assert.is_truthy(why.on_shim:find(": " .. path .. "/shims/elx-shim is a script, not an ELF binary (a pyenv shim): "
      .. "name the interpreter's own binary (for Python, /usr/bin/python3.11)", 1, true), why.on_shim)
  end)

  it("pass --config.check without --config.strict, saying what attached", function()
    local out, code = helper.run("--log.no-timestamps --config.check --config.dir="
      .. helper.spec_dir .. " --config.names=attach_fail,uprobe_test")
    assert.equal(0, code)
    local last = lines(out)
    assert.equal("warn: config check passed: 2 configs loaded, 1 of 3 programs not attached (the errors above say "
      .. "why; --config.strict fails then)", last[#last])
  end)
end)

--- Whether the kernel still has the object of this kind ("prog", "map",
-- "link") and id; waits up to 5 s for it to go, as the kernel frees some
-- objects (a tp_btf link's program) an RCU grace period after the last close.
local function kernel_has(kind, id)
  for _ = 1, 100 do
    local _, code = helper.sh(("bpftool %s show id %d"):format(kind, id))
    if code ~= 0 then return false end
    helper.sleep(0.05)
  end
  return true
end

describe("shutdown", function()
  it("of an exporter holding 100,000 series and the default examples exits 0 and leaves nothing of its own", function()
    local dir = helper.tmpdir()
    files.run(("cp %s/bench/bench.bpf.o %s/bench/bench.yaml %s/"):format(helper.build, helper.build, dir))
    for _, name in ipairs({ "timers", "softirqs", "syscalls", "biolatency" }) do
      files.run(("cp %s/%s.bpf.o %s/%s.yaml %s/"):format(helper.examples_dir, name, helper.examples_dir, name, dir))
    end
    local e = helper.start({ dir = dir, names = "bench,timers,softirqs,syscalls,biolatency" })
    local map = helper.maps_named(e.pid, "bench_values")
    assert.equal(1, #map)
    files.run(("%s/elx-bench-baseline fill %d 100000"):format(helper.build, map[1]))
    local _, series = e:scrape():gsub("\nebpf_exporter_bench_values{", "")
    assert.equal(100000, series)
    local owned = helper.bpf_fds(e.pid)
    -- timers 1, softirqs 1, syscalls 2, biolatency 3: a link each.
    assert.equal(7, #owned.progs)
    assert.equal(7, #owned.links)
    os.execute("kill -TERM " .. e.pid)
    local code, log = e:wait()
    assert.equal(0, code, log)
    for kind, ids in pairs({ prog = owned.progs, map = owned.maps }) do
      for _, id in ipairs(ids) do
        assert.is_false(kernel_has(kind, id), kind .. " " .. id .. " left in the kernel")
      end
    end
    for _, link in ipairs(owned.links) do
      assert.is_false(kernel_has("link", link.id), "link " .. link.id .. " left in the kernel")
    end
    os.execute("rm -rf " .. dir)
  end)

  for _, signal in ipairs({ "TERM", "INT" }) do
    it("on SIG" .. signal .. " detaches everything and exits 0", function()
      local e = helper.start({ names = "uprobe_test,attach_fail" })
      local ids = helper.program_ids(e:scrape())
      assert.equal(3, #ids)
      for _, id in ipairs(ids) do
        assert.is_true(helper.program_loaded(id), "program " .. id .. " loaded while running")
      end
      os.execute("kill -" .. signal .. " " .. e.pid)
      local code, log = e:wait()
      assert.equal(0, code)
      assert.is_truthy(log:find("shutting down", 1, true))
      for _, id in ipairs(ids) do
        assert.is_false(helper.program_loaded(id), "program " .. id .. " left loaded")
      end
    end)
  end
end)
