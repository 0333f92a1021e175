-- ebpf_exporter features beyond maps, against the real kernel: kaddrs,
-- post_attach_mark, perf_event/ sections, --btf.path, program run stats.
local helper = require("helpers.exporter")
local lock = require("helpers.lock")

local function lines_matching(text, pattern)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if line:match(pattern) then
      out[#out + 1] = line
    end
  end
  return out
end

describe("kaddrs and post_attach_mark", function()
  it("give the program the symbol's address, and run the mark's uprobe once", function()
    local address = helper.sh("awk '$3 == \"schedule\" { print $1; exit }' /proc/kallsyms"):gsub("%s+$", "")
    assert.equal(16, #address)
    local decimal = helper.sh("python3 -c 'print(int(\"" .. address .. "\", 16))'"):gsub("%s+$", "")
    local e = helper.start({ names = "kaddrs_test" })
    local text = e:scrape()
    local s = helper.samples(text)
    assert.equal(0, (e:stop()))
    -- As text: a kernel address does not fit a double exactly.
    assert.same({ "ebpf_exporter_kaddrs_schedule_address " .. decimal }, lines_matching(text, "^ebpf_exporter_kaddrs_schedule"))
    -- Every exporter started from this binary runs the uprobe: count our own runs.
    assert.equal(1, s[('ebpf_exporter_kaddrs_post_attach_calls_total{pid="%d"}'):format(e.pid)])
  end)

  it("name an unknown symbol and a missing variable, with the YAML path", function()
    local yaml = "metrics: { counters: [ { name: kaddrs_post_attach_calls_total, help: x } ] }\nkaddrs: [schedule, %s]\n"
    local dir = helper.config_dir("kaddrs_test", "k", yaml:format("elx_no_such_symbol"))
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=k")
    assert.equal(1, code)
    assert.equal('error: k.yaml: kaddrs[1]: no kernel symbol "elx_no_such_symbol" in /proc/kallsyms\n', out)
    os.execute("rm -rf " .. dir)
    dir = helper.config_dir("kaddrs_test", "k", yaml:format("schedule_timeout"))
    out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=k")
    assert.equal(1, code)
    assert.equal("error: k.yaml: kaddrs[1]: the object has no global `const volatile u64 kaddr_schedule_timeout`\n", out)
    os.execute("rm -rf " .. dir)
  end)
end)

describe("perf_event/ sections", function()
  it("open one event per online CPU, sample on each, and detach all of them", function()
    local online = tonumber((helper.sh("nproc")))
    local e = helper.start({ names = "perf_event_test" })
    helper.sleep(0.5)
    local text = e:scrape()
    local ids = helper.program_ids(text)
    assert.equal(1, #ids)
    -- The exporter's own links, from its file descriptors: other BPF users
    -- of the machine may have perf event links of their own.
    local links = {}
    for _, link in ipairs(helper.bpf_fds(e.pid).links) do
      links[#links + 1] = link.type .. " " .. (link.prog == ids[1] and "of the program" or tostring(link.prog))
    end
    assert.equal(0, (e:stop()))
    local s = helper.samples(text)
    for cpu = 0, online - 1 do
      assert.is_true(s[('ebpf_exporter_perf_event_samples_total{cpu="%d"}'):format(cpu)] > 0, "CPU " .. cpu)
    end
    local expected = {}
    for i = 1, online do expected[i] = "perf of the program" end
    assert.same(expected, links)
    -- Detached and unloaded: no link of the program is left in the kernel.
    assert.is_false(helper.program_loaded(ids[1]))
    assert.same({}, helper.links_of(ids[1]))
  end)

  it("refuse a spec with an unknown key, naming it", function()
    local out, code = helper.run("--log.no-timestamps --config.check --config.strict --config.dir="
      .. helper.spec_dir .. " --config.names=perf_event_bad")
    assert.equal(1, code)
    assert.equal('error: config perf_event_bad: program bad_spec (SEC("perf_event/type=1,config=0,period=1000")): '
      .. 'attach failed: unknown key "period" (type, config, frequency)\n', out)
  end)
end)

describe("--btf.path", function()
  it("loads with an external BTF file", function()
    local out, code = helper.run("--log.no-timestamps --config.check --btf.path=/sys/kernel/btf/vmlinux --config.dir="
      .. helper.spec_dir .. " --config.names=uprobe_test")
    assert.equal(0, code, out)
  end)
end)

describe("program run stats", function()
  -- kernel.bpf_stats_enabled is the machine's: every copy of the specs that
  -- sets it or depends on it takes this lock.
  local saved, unlock
  setup(function()
    unlock = lock.take("bpf-stats")
    saved = helper.read_file("/proc/sys/kernel/bpf_stats_enabled"):gsub("%s+$", "")
  end)
  teardown(function()
    os.execute("sysctl -qw kernel.bpf_stats_enabled=" .. saved)
    unlock()
  end)

  -- The kernel counts every run of the program: the uprobe fires for every
  -- process that runs this build's elx-test-target, whatever owner it calls
  -- for. No other spec runs it meanwhile, and other builds have their own.
  it("count every run of a program while kernel.bpf_stats_enabled is 1, and are absent otherwise", function()
    os.execute("sysctl -qw kernel.bpf_stats_enabled=0")
    local e = helper.start({ names = "uprobe_test" })
    local text = e:scrape()
    assert.same({}, lines_matching(text, "^ebpf_exporter_ebpf_program_run_"))
    local id = helper.program_ids(text)[1]
    os.execute("sysctl -qw kernel.bpf_stats_enabled=1")
    e:target("hit 777")
    local s = e:samples()
    os.execute("sysctl -qw kernel.bpf_stats_enabled=0")
    assert.equal(0, (e:stop()))
    assert.equal(777, s[('ebpf_exporter_ebpf_program_run_count_total{id="%d"}'):format(id)])
    assert.is_true(s[('ebpf_exporter_ebpf_program_run_time_seconds{id="%d"}'):format(id)] > 0)
  end)
end)

describe("--capabilities.keep", function()
  local function caps(pid)
    local status = helper.read_file("/proc/" .. pid .. "/status")
    return status:match("CapPrm:%s+(%x+)"), status:match("CapEff:%s+(%x+)"), status:match("CapInh:%s+(%x+)")
  end

  it("leaves exactly the listed capabilities after attach, and scrapes still work", function()
    -- cap_syslog is 34, cap_bpf is 39.
    for _, case in ipairs({ { "cap_syslog,cap_bpf", "0000008400000000" }, { "none", "0000000000000000" } }) do
      local e = helper.start({ names = "uprobe_test", args = "--capabilities.keep=" .. case[1] })
      local prm, eff, inh = caps(e.pid)
      e:target("hit 3")
      local s = e:samples()
      assert.equal(0, (e:stop()))
      assert.equal(case[2], prm, case[1])
      assert.equal(case[2], eff, case[1])
      assert.equal("0000000000000000", inh, case[1])
      assert.equal(3, s["ebpf_exporter_test_hits_total"], case[1])
    end
  end)

  it("keeps everything by default", function()
    local own = select(2, caps("self"))
    local e = helper.start({ names = "uprobe_test" })
    local _, eff = caps(e.pid)
    assert.equal(0, (e:stop()))
    assert.equal(own, eff)
  end)

  it("names an unknown capability", function()
    local out, code = helper.run("--capabilities.keep=cap_bpf,cap_flying --config.dir=/tmp --config.names=x")
    assert.equal(1, code)
    assert.equal('ebpf-lua-exporter: error: --capabilities.keep: "cap_flying" is not a capability (e.g. cap_bpf), '
      .. "try --help\n", out)
  end)
end)

describe("/maps with --debug", function()
  it("shows every key's raw bytes, labels and value before aggregation", function()
    local e = helper.start({ names = "uprobe_test", args = "--debug" })
    e:target("--cpu 1 values 3 3 5")
    local body, status = e:get("/maps")
    assert.equal(0, (e:stop()))
    assert.equal(200, status)
    local function section(map)
      return body:match("### Map: " .. map .. "\n\n```\n(.-)```\n")
    end
    local head = "## Config: uprobe_test\n\n### Map: test_hits_total\n\n```\n00 00 00 00 (labels: []) -> 3\n```\n"
    assert.equal(head, body:sub(1, #head))
    local by_value = section("test_hits_by_value_total")
    assert.is_truthy(by_value:find("03 00 00 00 00 00 00 00 (labels: [3]) -> 2\n", 1, true))
    assert.is_truthy(by_value:find("05 00 00 00 00 00 00 00 (labels: [5]) -> 1\n", 1, true))
    assert.equal(2, select(2, by_value:gsub("\n", "")))
    assert.equal("00 00 00 00 cpu 0 (labels: [0]) -> 0\n00 00 00 00 cpu 1 (labels: [1]) -> 3\n",
      section("test_hits_percpu_total"))
    assert.equal("00 00 00 00 (labels: []) -> [0 3] per CPU\n", section("test_hits_percpu_summed_total"))
  end)

  it("is not there without --debug", function()
    local e = helper.start({ names = "uprobe_test" })
    local _, status = e:get("/maps")
    assert.equal(0, (e:stop()))
    assert.equal(404, status)
  end)
end)
