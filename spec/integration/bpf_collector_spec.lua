-- --collector.bpf on the real kernel: the programs, maps and links of a
-- test object (a program of each type this machine runs, maps of several
-- types, an XDP link on a veth whose peer is in a test namespace) appear
-- with their exact attributes in the scrape of another exporter that has no
-- config, and are gone once their exporter stops. Other programs are loaded
-- on this machine meanwhile: only objects the spec made are looked at, by
-- the ids the kernel shows in their holder's /proc fdinfo.
local files = require("helpers.files")
local helper = require("helpers.exporter")
local lock = require("helpers.lock")

local TARGET = helper.spec_dir .. "/elx-test-target"
local OBJECTS = helper.spec_dir .. "/elx-bpf-objects"
local NS, ROOT_IF, NS_IF = "elx-bc", "elx-bc0", "elx-bc1"

-- Families of an exposition text: family -> list of { labels = {}, value = n }.
local function parse(text)
  local families = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" then
      local name, labels, value = line:match("^([%w_:]+){(.*)} (%S+)$")
      if not name then
        name, value = line:match("^([%w_:]+) (%S+)$")
        labels = ""
      end
      local t = {}
      for k, v in labels:gmatch('([%w_]+)="([^"]*)"') do
        t[k] = v
      end
      families[name] = families[name] or {}
      table.insert(families[name], { labels = t, value = tonumber(value) })
    end
  end
  return families
end

-- The samples of a family by the value of one label.
local function by(families, family, label)
  local t = {}
  for _, s in ipairs(families[family] or {}) do
    t[s.labels[label]] = s
  end
  return t
end

-- The BPF objects a process holds, from its fdinfo: kind ("bpf-prog",
-- "bpf-map", "bpf_link") -> id -> the fdinfo fields.
local function held_by(pid)
  local out = helper.sh(([[for f in /proc/%d/fd/*; do l=$(readlink $f); case "$l" in
    anon_inode:bpf*) echo "== ${l#anon_inode:}"; cat /proc/%d/fdinfo/${f##*/};; esac; done]]):format(pid, pid))
  local held = { ["bpf-prog"] = {}, ["bpf-map"] = {}, ["bpf_link"] = {} }
  local ID = { ["bpf-prog"] = "prog_id", ["bpf-map"] = "map_id", ["bpf_link"] = "link_id" }
  local fields, kind
  local function done()
    local id = fields and ID[kind] and fields[ID[kind]]
    if id then
      held[kind][id] = fields
    end
  end
  for line in out:gmatch("[^\n]+") do
    local k = line:match("^== (%S+)$")
    if k then
      done()
      kind, fields = k, {}
    elseif fields then
      local key, value = line:match("^([%w_]+):%s*(.-)%s*$")
      if key then
        fields[key] = value
      end
    end
  end
  done()
  return held
end

local function count(t)
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n
end

local function read_number(path)
  return tonumber((helper.read_file(path) or ""):match("%d+"))
end

-- CPUs as a range list ("0-1" or "0,2-3"): how many.
local function cpus(path)
  local n = 0
  for a, b in (helper.read_file(path) or ""):gmatch("(%d+)%-?(%d*)") do
    n = n + (b ~= "" and tonumber(b) - tonumber(a) + 1 or 1)
  end
  return n
end

-- What bpf_collector_test.bpf.c declares, as the collector must label it.
local PROGRAMS = {
  bc_uprobe = "Kprobe", bc_tracepoint = "TracePoint", bc_raw_tp = "RawTracepoint", bc_tp_btf = "Tracing",
  bc_perf_event = "PerfEvent", bc_xdp = "XDP",
  elx_map_count = "Tracing", -- the exporter's own iterator (--collector.bpf.map-entries)
}
local MAPS = {
  bc_hash = { map_type = "Hash", key_size = "8", value_size = "8", max_entries = 1024, flags = "0", entries = 7 },
  bc_hash_np = { map_type = "Hash", key_size = "8", value_size = "4", max_entries = 256, flags = "1", entries = 7 },
  bc_percpu_hash = { map_type = "PerCPUHash", key_size = "8", value_size = "8", max_entries = 128, flags = "0",
    entries = 7 },
  bc_lru_hash = { map_type = "LRUHash", key_size = "8", value_size = "8", max_entries = 512, flags = "0", entries = 7 },
  bc_array = { map_type = "Array", key_size = "4", value_size = "8", max_entries = 8, flags = "0", entries = 8 },
  bc_percpu_array = { map_type = "PerCPUArray", key_size = "4", value_size = "8", max_entries = 4, flags = "0",
    entries = 4 },
  bc_lpm = { map_type = "LPMTrie", key_size = "8", value_size = "8", max_entries = 64, flags = "1", entries = 7 },
  bc_ringbuf = { map_type = "RingBuf", key_size = "0", value_size = "0", max_entries = 4096, flags = "0" },
  bc_perf = { map_type = "PerfEventArray", key_size = "4", value_size = "4",
    max_entries = cpus("/sys/devices/system/cpu/possible"), flags = "0" },
}

local function netns_up()
  os.execute(("ip netns del %s 2>/dev/null; ip link del %s 2>/dev/null"):format(NS, ROOT_IF))
  for _, cmd in ipairs({
    "ip netns add " .. NS,
    ("ip link add %s type veth peer name %s"):format(ROOT_IF, NS_IF),
    ("ip link set %s netns %s"):format(NS_IF, NS),
    ("ip link set %s up"):format(ROOT_IF),
    ("ip netns exec %s ip link set %s up"):format(NS, NS_IF),
  }) do
    local out, code = helper.sh(cmd)
    assert(code == 0, cmd .. ": " .. out)
  end
end

local function netns_down()
  os.execute(("ip netns del %s 2>/dev/null; ip link del %s 2>/dev/null"):format(NS, ROOT_IF))
end

describe("--collector.bpf", function()
  local a, b, held -- a loads the test object; b has no config

  setup(function()
    netns_up()
    a = helper.start({ names = "bpf_collector_test",
      args = "--collector.bpf --collector.bpf.map-entries --collector.bpf.program-owners" })
    local out, code = helper.sh(TARGET .. " range 1 7")
    assert(code == 0, out)
    b = helper.start({ args = "--collector.bpf" })
    held = held_by(a.pid)
  end)
  teardown(function()
    if a then
      a:stop()
    end
    netns_down()
    assert.equal(0, (b:stop()))
  end)

  it("shows each program of the test object, and only those, with its exact type, name and tag", function()
    local info = by(parse(b:scrape()), "ebpf_program_info", "prog_id")
    local seen = {}
    for id, fdinfo in pairs(held["bpf-prog"]) do
      local s = info[id]
      assert.is_not_nil(s, "program " .. id .. " is not in the scrape")
      seen[s.labels.prog_name] = true
      assert.equal(PROGRAMS[s.labels.prog_name], s.labels.prog_type, s.labels.prog_name)
      assert.equal(fdinfo.prog_tag, s.labels.tag)
    end
    assert.same(count(PROGRAMS), count(seen))
    for name in pairs(PROGRAMS) do
      assert.is_true(seen[name], name)
    end
  end)

  it("shows each map with its exact type, sizes, flags and max_entries", function()
    local f = parse(b:scrape())
    local info, max_entries = by(f, "ebpf_map_info", "map_id"), by(f, "ebpf_map_max_entries", "map_id")
    local seen = {}
    for id, fdinfo in pairs(held["bpf-map"]) do
      local s = assert(info[id], "map " .. id .. " is not in the scrape")
      local want = assert(MAPS[s.labels.map_name], "an unexpected map " .. s.labels.map_name)
      seen[s.labels.map_name] = true
      for _, label in ipairs({ "map_type", "key_size", "value_size", "flags" }) do
        assert.equal(want[label], s.labels[label], s.labels.map_name .. " " .. label)
      end
      -- The kernel's own word, in fdinfo, for what it printed as numbers.
      assert.equal(tonumber(fdinfo.key_size), tonumber(s.labels.key_size))
      assert.equal(tonumber(fdinfo.map_flags), tonumber(s.labels.flags))
      assert.equal(want.max_entries, max_entries[id].value, s.labels.map_name)
      assert.equal(tonumber(fdinfo.max_entries), max_entries[id].value)
    end
    assert.equal(count(MAPS), count(seen))
  end)

  it("counts the entries of the maps with keys, and a hash map's fill ratio, with --collector.bpf.map-entries",
    function()
      local f = parse(a:scrape())
      local info, entries = by(f, "ebpf_map_info", "map_id"), by(f, "ebpf_map_entries", "map_id")
      local fill = by(f, "ebpf_map_fill_ratio", "map_id")
      for id in pairs(held["bpf-map"]) do
        local name = info[id].labels.map_name
        local want = MAPS[name]
        assert.equal(want.entries, entries[id] and entries[id].value, name)
        if want.map_type:find("Hash", 1, true) then
          assert.equal(want.entries / want.max_entries, fill[id].value, name)
        else
          assert.is_nil(fill[id], name)
        end
      end
    end)

  it("shows each link with its type and program, and the details of XDP and perf event links", function()
    local f = parse(b:scrape())
    local info = by(f, "ebpf_link_info", "link_id")
    local xdp = by(f, "ebpf_link_xdp_info", "link_id")
    local perf = by(f, "ebpf_link_perf_event_info", "link_id")
    local programs = by(f, "ebpf_program_info", "prog_id")
    local kinds = {}
    for id, fdinfo in pairs(held["bpf_link"]) do
      local s = assert(info[id], "link " .. id .. " is not in the scrape")
      -- fdinfo calls a perf event link "perf".
      assert.equal(fdinfo.link_type == "perf" and "PERF_EVENT" or fdinfo.link_type:upper(), s.labels.link_type)
      assert.equal(fdinfo.prog_id, s.labels.prog_id)
      local program = programs[s.labels.prog_id].labels.prog_name
      local kind = s.labels.link_type
      if perf[id] then
        kind = kind .. " " .. perf[id].labels.perf_event_type
      end
      kinds[program] = kinds[program] or {}
      kinds[program][kind] = (kinds[program][kind] or 0) + 1
      if xdp[id] then
        assert.equal(read_number("/sys/class/net/" .. ROOT_IF .. "/ifindex"), tonumber(xdp[id].labels.interface_index))
      end
    end
    assert.same({
      bc_uprobe = { ["PERF_EVENT UPROBE"] = 1 },
      bc_tracepoint = { ["PERF_EVENT TRACEPOINT"] = 1 },
      bc_raw_tp = { RAW_TRACEPOINT = 1 },
      bc_tp_btf = { RAW_TRACEPOINT = 1 },
      bc_perf_event = { ["PERF_EVENT EVENT"] = cpus("/sys/devices/system/cpu/online") },
      bc_xdp = { XDP = 1 },
      elx_map_count = { ITER = 1 },
    }, kinds)
  end)

  it("names the exporter as the holder of its programs, with --collector.bpf.program-owners", function()
    local owners = parse(a:scrape()).ebpf_program_owner_info
    local mine = {}
    for _, s in ipairs(owners) do
      if s.labels.pid == tostring(a.pid) then
        assert.equal("ebpf-lua-export", s.labels.comm)
        mine[s.labels.prog_id] = true
      end
    end
    assert.equal(count(held["bpf-prog"]), count(mine))
    for id in pairs(held["bpf-prog"]) do
      assert.is_true(mine[id], id)
    end
  end)

  it("tells what the exporter's own maps and programs cost the kernel", function()
    local v = helper.samples(a:scrape())
    local maps, programs = 0, 0
    for _, fdinfo in pairs(held["bpf-map"]) do
      maps = maps + tonumber(fdinfo.memlock)
    end
    for _, fdinfo in pairs(held["bpf-prog"]) do
      programs = programs + tonumber(fdinfo.memlock)
    end
    assert.equal(maps, v['ebpf_exporter_own_memlock_bytes{object="maps"}'])
    assert.equal(programs, v['ebpf_exporter_own_memlock_bytes{object="programs"}'])
    assert.equal(count(held["bpf-map"]), v['ebpf_exporter_own_objects{object="maps"}'])
    assert.equal(count(held["bpf-prog"]), v['ebpf_exporter_own_objects{object="programs"}'])
    assert.equal(1, v.ebpf_exporter_bpf_collector_all_objects_visible)
    for _, part in ipairs({ "programs", "maps", "links", "btf" }) do
      assert.equal(0, v['ebpf_exporter_bpf_collector_errors_total{collector="' .. part .. '"}'], part)
    end
    -- The config's own metric is in the same scrape.
    assert.equal(1, v['ebpf_exporter_bc_hash{value="7"}'])
  end)

  it("shows vmlinux's BTF as the kernel's", function()
    local btf = by(parse(b:scrape()), "ebpf_btf_info", "btf_name").vmlinux
    assert.same({ btf_id = "1", btf_name = "vmlinux", is_kernel = "true" }, btf.labels)
  end)

  it("no longer shows the objects of an exporter that stopped", function()
    assert.equal(0, (a:stop()))
    a = nil
    local parts = {
      { kind = "bpf-prog", family = "ebpf_program_info", label = "prog_id" },
      { kind = "bpf-map", family = "ebpf_map_info", label = "map_id" },
      { kind = "bpf_link", family = "ebpf_link_info", label = "link_id" },
    }
    -- The kernel frees some of them after an RCU grace period: a scrape
    -- may still see them for a moment.
    local left
    for _ = 1, 100 do
      local f = parse(b:scrape())
      left = {}
      for _, part in ipairs(parts) do
        local present = by(f, part.family, part.label)
        assert.is_true(count(held[part.kind]) > 0)
        for id in pairs(held[part.kind]) do
          if present[id] then
            left[#left + 1] = part.family .. " " .. id
          end
        end
      end
      if #left == 0 then
        break
      end
      helper.sleep(0.1)
    end
    assert.same({}, left)
  end)
end)

describe("--collector.bpf without CAP_SYS_ADMIN", function()
  it("shows the exporter's own objects, exactly, and says why once", function()
    netns_up()
    local e = helper.start({ names = "bpf_collector_test",
      args = "--collector.bpf --capabilities.keep=cap_bpf,cap_perfmon" })
    local ok, f = pcall(function()
      e:scrape()
      return parse(e:scrape())
    end)
    local held = held_by(e.pid)
    local _, log = e:stop()
    netns_down()
    assert(ok, f)
    local programs, maps = by(f, "ebpf_program_info", "prog_id"), by(f, "ebpf_map_info", "map_id")
    assert.equal(count(held["bpf-prog"]), count(programs))
    for id in pairs(held["bpf-prog"]) do
      assert.is_not_nil(programs[id], id)
    end
    assert.equal(count(held["bpf-map"]), count(maps))
    assert.equal(0, f.ebpf_exporter_bpf_collector_all_objects_visible[1].value)
    local _, said = log:gsub("without CAP_SYS_ADMIN the kernel lists no other process's BPF objects", "")
    assert.equal(1, said)
  end)
end)

describe("--collector.bpf with 1,000 maps loaded", function()
  local b, pid, work
  setup(function()
    b = helper.start({ args = "--collector.bpf" })
    work = helper.tmpdir()
    pid = tonumber((helper.sh(("%s 1000 0 > %s/ids 2>&1 & echo $!"):format(OBJECTS, work))))
  end)
  teardown(function()
    os.execute("kill " .. pid)
    os.execute("rm -rf " .. work)
    assert.equal(0, (b:stop()))
  end)

  it("scrapes every one of them, in output that promtool accepts", function()
    local ids
    for _ = 1, 100 do
      ids = helper.read_file(work .. "/ids") or ""
      if ids:find("ready", 1, true) then
        break
      end
      helper.sleep(0.1)
    end
    local text = b:scrape()
    local info = by(parse(text), "ebpf_map_info", "map_id")
    local n = 0
    for id in ids:match("maps ([%d ]+)"):gmatch("%d+") do
      local s = assert(info[id], "map " .. id)
      assert.same({ flags = "0", key_size = "4", map_id = id, map_name = "elx_m" .. n, map_type = "Hash",
        value_size = "8" }, s.labels)
      n = n + 1
    end
    assert.equal(1000, n)
    files.write(work .. "/metrics", text)
    local out, code = helper.sh("promtool check metrics < " .. work .. "/metrics")
    if text:find("\n# TYPE ebpf_program_run_count ", 1, true) then
      -- Someone turned kernel.bpf_stats_enabled on meanwhile: the two stats
      -- families, named as digitalocean-labs/ebpf_exporter names them, are
      -- what promtool lints, and only they.
      assert.equal(table.concat({
        'ebpf_program_run_count counter metrics should have "_total" suffix',
        'ebpf_program_run_count non-histogram and non-summary metrics should not have "_count" suffix',
        'ebpf_program_run_duration_nanoseconds counter metrics should have "_total" suffix',
        'ebpf_program_run_duration_nanoseconds use base unit "seconds" instead of "nanoseconds"', "" }, "\n"), out)
      assert.equal(3, code)
    else
      assert.equal("", out)
      assert.equal(0, code)
    end
  end)
end)

describe("--prog-stats-mode", function()
  local function sysctl()
    return (helper.read_file("/proc/sys/kernel/bpf_stats_enabled") or ""):match("%d")
  end

  local function uprobe_id(v)
    for series in pairs(v) do
      local id = series:match('^ebpf_exporter_ebpf_program_info{config="bpf_collector_test",id="(%d+)",'
        .. 'program="bc_uprobe"')
      if id then
        return id
      end
    end
  end

  -- Runs of the uprobe program for 5 hits made between two scrapes that
  -- both saw the same window (want_on) or the same gap between windows,
  -- with the sysctl off all along (another process turning it on would
  -- count runs outside our windows). Windows and gaps of 3 s: two scrapes
  -- and a hit fit in one even on a loaded machine.
  local function runs_for_5_hits(e, want_on)
    for _ = 1, 80 do
      local before = e:samples()
      local id = uprobe_id(before)
      local series = 'ebpf_program_run_count{prog_id="' .. id .. '"}'
      if (before.ebpf_exporter_prog_stats_enabled == 1) == want_on and sysctl() == "0" then
        helper.sh(TARGET .. " hit 5")
        local after = e:samples()
        if after.ebpf_exporter_prog_stats_enabled == before.ebpf_exporter_prog_stats_enabled
          and after.ebpf_exporter_prog_stats_windows_total == before.ebpf_exporter_prog_stats_windows_total
          and sysctl() == "0" then
          return after[series] - before[series]
        end
      end
      helper.sleep(0.05)
    end
    error("no 5 hits fell inside one " .. (want_on and "window" or "gap") .. " in 80 tries")
  end

  it("sample: counts runs only inside windows, with the duty cycle the flags set", function()
    local e = helper.start({ names = "bpf_collector_test",
      args = "--collector.bpf --no-collector.bpf.btf --no-collector.bpf.links "
        .. "--prog-stats-mode=sample --prog-stats-sample-interval=6s --prog-stats-sample-duration=3s" })
    -- Under the lock every copy of the specs takes to set the sysctl.
    local ok, err = pcall(lock.with, "bpf-stats", function()
      local v = e:samples()
      assert.equal(0.5, v.ebpf_exporter_prog_stats_duty_cycle)
      assert.equal(1, v['ebpf_exporter_prog_stats_mode{mode="sample"}'])
      assert.equal(0, runs_for_5_hits(e, false))
      assert.equal(5, runs_for_5_hits(e, true))
      assert.equal(0, runs_for_5_hits(e, false))
      v = e:samples()
      assert.is_true(v.ebpf_exporter_prog_stats_windows_total >= 2)
      assert.equal(0, v.ebpf_exporter_prog_stats_errors_total)
    end)
    assert.equal(0, (e:stop()))
    assert(ok, err)
  end)

  it("enabled: counts every run, with a duty cycle of 1", function()
    local e = helper.start({ names = "bpf_collector_test",
      args = "--collector.bpf --no-collector.bpf.btf --prog-stats-mode=enabled" })
    local ok, before = pcall(e.samples, e)
    helper.sh(TARGET .. " hit 5")
    local after = ok and e:samples()
    assert.equal(0, (e:stop()))
    assert(ok, before)
    local series = 'ebpf_program_run_count{prog_id="' .. uprobe_id(after) .. '"}'
    assert.equal(5, after[series] - before[series])
    assert.equal(1, after.ebpf_exporter_prog_stats_duty_cycle)
    assert.equal(1, after.ebpf_exporter_prog_stats_enabled)
  end)
end)

describe("the flags of --collector.bpf and --prog-stats-mode", function()
  it("print one clear line and exit 1 when they are wrong", function()
    local E = "ebpf-lua-exporter: error: "
    local cases = {
      { "--collector.bpf.maps", "--collector.bpf.maps needs --collector.bpf" },
      { "--config.dir=/tmp --config.names=a --no-collector.bpf.btf", "--collector.bpf.btf needs --collector.bpf" },
      { "--collector.bpf --no-collector.bpf.programs --no-collector.bpf.maps --no-collector.bpf.links "
        .. "--no-collector.bpf.btf", "--collector.bpf: programs, maps, links and BTF are all turned off" },
      { "--collector.bpf --no-collector.bpf.maps --collector.bpf.map-entries",
        "--collector.bpf.map-entries needs --collector.bpf.maps, which --no-collector.bpf.maps turns off" },
      { "--collector.bpf --no-collector.bpf.programs --collector.bpf.program-owners",
        "--collector.bpf.program-owners needs --collector.bpf.programs, which --no-collector.bpf.programs turns off" },
      { "--collector.bpf --config.names=a", "required flag --config.dir not provided" },
      { "--collector.bpf --config.watch", "--config.watch needs --config.dir" },
      { "--collector.bpf --prog-stats-mode=sometimes",
        '--prog-stats-mode: "sometimes" is not a mode (disabled, sample or enabled)' },
      { "--collector.bpf --prog-stats-mode=sample --prog-stats-sample-interval=10s",
        "--prog-stats-mode=sample needs --prog-stats-sample-duration" },
      { "--collector.bpf --prog-stats-mode=sample --prog-stats-sample-duration=10s",
        "--prog-stats-mode=sample needs --prog-stats-sample-interval" },
      { "--collector.bpf --prog-stats-mode=sample --prog-stats-sample-interval=1s --prog-stats-sample-duration=1000ms",
        "--prog-stats-sample-duration must be shorter than --prog-stats-sample-interval "
          .. "(or use --prog-stats-mode=enabled)" },
      { "--collector.bpf --prog-stats-sample-interval=1s", "--prog-stats-sample-interval needs --prog-stats-mode=sample" },
      { "--collector.bpf --prog-stats-mode=enabled --prog-stats-sample-duration=1s",
        "--prog-stats-sample-duration needs --prog-stats-mode=sample" },
      { "--collector.bpf --prog-stats-mode=sample --prog-stats-sample-interval=1e3s",
        "--prog-stats-sample-interval: 1e3s is not a duration (such as 500ms, 10s or 1m30s)" },
      { "--collector.bpf --prog-stats-mode=sample --prog-stats-sample-interval=10 --prog-stats-sample-duration=1s",
        "--prog-stats-sample-interval: 10 is not a duration (such as 500ms, 10s or 1m30s)" },
      { "--collector.bpf --prog-stats-mode=sample --prog-stats-sample-interval=1s --prog-stats-sample-duration=500us",
        "--prog-stats-sample-duration: 500us is shorter than 1ms" },
    }
    for _, c in ipairs(cases) do
      local out, code = helper.run(c[1])
      assert.equal(1, code, c[1])
      assert.equal(E .. c[2] .. ", try --help\n", out, c[1])
    end
  end)

  it("take Go's durations, and run without any config", function()
    local out, code = helper.run("--log.no-timestamps --config.check --collector.bpf --prog-stats-mode=sample "
      .. "--prog-stats-sample-interval=1m30s --prog-stats-sample-duration=1.5s")
    assert.equal(0, code)
    assert.equal(table.concat({
      "info: --prog-stats-mode=sample: program run stats on for 1.500 s every 90.000 s",
      "info: capabilities: keeping all of them (--capabilities.keep=all)",
      "info: config check passed: 0 configs loaded, 0 of 0 programs attached",
      "" }, "\n"), out)
  end)
end)
