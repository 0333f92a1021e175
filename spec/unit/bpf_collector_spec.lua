-- The families of --collector.bpf and --prog-stats-mode from a fake struct
-- elx_bpf_scrape: the whole text against a golden file, names of the
-- kernel's enums as digitalocean-labs/ebpf_exporter prints them, what stats
-- off leaves out, and what promtool says of it.
local ffi = require("ffi")
require("exporter.abi")
local bpf_collector = require("exporter.bpf_collector")
local names = require("exporter.bpf_names")
local prog_stats = require("exporter.prog_stats")
local files = require("helpers.files")

local GOLDEN = "spec/fixtures/golden/bpf.prom"

local function fill(ctype, list)
  local arr = ffi.new(ctype .. "[?]", math.max(1, #list))
  for i, fields in ipairs(list) do
    for k, v in pairs(fields) do
      if k == "info" then
        for member, values in pairs(v) do
          for field, value in pairs(values) do
            arr[i - 1].info[member][field] = value
          end
        end
      elseif k == "tag" then
        for b = 1, 8 do
          arr[i - 1].tag[b - 1] = v[b]
        end
      else
        arr[i - 1][k] = v
      end
    end
  end
  return arr, #list
end

local anchors = {}

-- A scrape with a bit of everything the collector reads.
local function bpf_scrape(opts)
  opts = opts or {}
  local b = ffi.new("struct elx_bpf_scrape")
  local programs, nprograms = fill("struct elx_bpf_program", opts.programs or {
    { id = 7, type = 2, name = "elx_test_hit", tag = { 0xe5, 0x68, 0xbe, 0x42, 0x18, 0x42, 0xd4, 0x78 },
      jited_bytes = 2486, xlated_bytes = 3072, verified_insns = 1307, own = 1, load_time_ns = 5000000000,
      run_time_ns = 152441, run_count = 275, recursion_misses = 2, memlock = 8192 },
    { id = 31, type = 26, name = "dump_bpf_map", tag = { 0, 1, 2, 3, 4, 5, 6, 255 }, load_time_ns = 1500,
      memlock = 4096 },
  })
  local maps, nmaps = fill("struct elx_bpf_map", opts.maps or {
    { id = 3, type = 1, name = "test_hits", key_size = 8, value_size = 8, max_entries = 1024, flags = 1,
      own = 1, memlock = 82960, entries = 3 },
    { id = 4, type = 27, name = "events", max_entries = 4096, memlock = 12288, entries = -1 },
    { id = 5, type = 2, name = 'we"ird\\', key_size = 4, value_size = 8, max_entries = 16, memlock = 320,
      entries = 16 },
    { id = 6, type = 99, name = "future", key_size = 4, value_size = 4, max_entries = 1, memlock = 0,
      entries = -1 },
  })
  local links, nlinks = fill("struct elx_bpf_link", {
    { id = 40, type = 1, prog_id = 7 },
    { id = 41, type = 2, prog_id = 7, info = { tracing = { attach_type = 24, target_obj_id = 1, target_btf_id = 9 } } },
    { id = 42, type = 3, prog_id = 7, info = { cgroup = { cgroup_id = 12345, attach_type = 0 } } },
    { id = 43, type = 5, prog_id = 7, info = { netns = { netns_ino = 4026531840, attach_type = 36 } } },
    { id = 44, type = 6, prog_id = 7, info = { xdp = { ifindex = 2 } } },
    { id = 45, type = 7, prog_id = 7, info = { perf_event = { type = 1 } } },
    { id = 46, type = 8, prog_id = 7, info = { kprobe_multi = { count = 3, flags = 1, missed = 5 } } },
    { id = 47, type = 9, prog_id = 31 },
    { id = 48, type = 10, prog_id = 7, info = { netfilter = { pf = 2, hooknum = 1, priority = -100, flags = 0 } } },
    { id = 49, type = 11, prog_id = 7, info = { tcx = { ifindex = 3, attach_type = 46 } } },
    { id = 50, type = 13, prog_id = 7, info = { netkit = { ifindex = 4, attach_type = 55 } } },
    { id = 51, type = 77, prog_id = 7 },
  })
  local btfs, nbtfs = fill("struct elx_bpf_btf", {
    { id = 1, kernel = 1, size = 5000000, name = "vmlinux" },
    { id = 90, kernel = 0, size = 1200, name = "", own = 1 },
  })
  local owners, nowners = fill("struct elx_bpf_owner", {
    { prog_id = 7, pid = 100, comm = "ebpf-lua-export" },
    { prog_id = 7, pid = 101, comm = 'a"b' },
  })
  b.programs, b.nprograms = programs, nprograms
  b.maps, b.nmaps = maps, nmaps
  b.links, b.nlinks = links, nlinks
  b.btfs, b.nbtfs = btfs, nbtfs
  b.owners, b.nowners = owners, nowners
  b.parts = opts.parts or 15
  b.visible_only = opts.visible_only or 0
  b.boot_time_ns = 1700000000 * 1e9
  for part = 0, 3 do
    b.errors[part] = part
    b.duration_ns[part] = 250000 * (part + 1)
  end
  b.own.map_memlock, b.own.program_memlock = 82960, 8192
  b.own.run_time_ns, b.own.run_count = 152441, 275
  b.own.nmaps, b.own.nprograms = 1, 1
  anchors[#anchors + 1] = { b, programs, maps, links, btfs, owners }
  local s = ffi.new("struct elx_scrape")
  s.bpf = b
  s.stats_enabled = opts.stats == false and 0 or 1
  anchors[#anchors + 1] = s
  return s
end

local function text(scrape)
  local buf = require("string.buffer").new()
  bpf_collector.write(buf, scrape)
  return buf:tostring()
end

describe("bpf_collector", function()
  it("writes every family of the objects read, as the golden file has them", function()
    local out = text(bpf_scrape())
    if os.getenv("ELX_UPDATE_GOLDEN") then
      files.write(GOLDEN, out)
    end
    assert.equal(files.read(GOLDEN), out)
  end)

  it("writes the same again at the next scrape, from its label caches", function()
    assert.equal(text(bpf_scrape()), text(bpf_scrape()))
  end)

  it("formats the labels of an id anew when the kernel reuses it for another type", function()
    text(bpf_scrape())
    local out = text(bpf_scrape({ maps = { { id = 3, type = 2, name = "again", key_size = 4, value_size = 8,
      max_entries = 4, entries = -1 } } }))
    assert.truthy(out:find(
      'ebpf_map_info{flags="0",key_size="4",map_id="3",map_name="again",map_type="Array",value_size="8"} 1\n',
      1, true))
  end)

  it("leaves out the run stats when the kernel does not count runs", function()
    local out = text(bpf_scrape({ stats = false }))
    assert.is_nil(out:find("run_count", 1, true))
    assert.is_nil(out:find("run_duration", 1, true))
    assert.is_nil(out:find("ebpf_exporter_own_program_run", 1, true))
  end)

  it("writes only the parts read, and says when only the exporter's own objects are seen", function()
    local out = text(bpf_scrape({ parts = 2, visible_only = 1, programs = {} }))
    assert.truthy(out:find('\nebpf_exporter_bpf_collector_errors_total{collector="maps"} 1\n# ', 1, true))
    assert.is_nil(out:find('collector="programs"', 1, true))
    assert.truthy(out:find("\nebpf_exporter_bpf_collector_all_objects_visible 0\n", 1, true))
    assert.is_nil(out:find("ebpf_program_info", 1, true))
  end)

  it("writes nothing without --collector.bpf", function()
    assert.equal("", text(ffi.new("struct elx_scrape")))
  end)

  it("passes promtool but for the two stats families named as digitalocean-labs/ebpf_exporter names them", function()
    local path = os.tmpname()
    files.write(path, text(bpf_scrape()))
    local p = io.popen("promtool check metrics < " .. path .. " 2>&1; echo rc=$?")
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.equal(table.concat({
      'ebpf_program_run_count counter metrics should have "_total" suffix',
      'ebpf_program_run_count non-histogram and non-summary metrics should not have "_count" suffix',
      'ebpf_program_run_duration_nanoseconds counter metrics should have "_total" suffix',
      'ebpf_program_run_duration_nanoseconds use base unit "seconds" instead of "nanoseconds"',
      "rc=3", "" }, "\n"), out)
    path = os.tmpname()
    files.write(path, text(bpf_scrape({ stats = false })))
    p = io.popen("promtool check metrics < " .. path .. " 2>&1; echo rc=$?")
    out = p:read("*a")
    p:close()
    os.remove(path)
    assert.equal("rc=0\n", out)
  end)
end)

describe("bpf_names", function()
  it("names map and program types as cilium/ebpf does, and unknown ones as it prints them", function()
    assert.equal("UnspecifiedMap", names.map_type(0))
    assert.equal("PerCPUHash", names.map_type(5))
    assert.equal("StructOpsMap", names.map_type(26))
    assert.equal("RingBuf", names.map_type(27))
    assert.equal("Arena", names.map_type(33))
    assert.equal("MapType(34)", names.map_type(34))
    assert.equal("TracePoint", names.prog_type(5))
    assert.equal("RawTracepoint", names.prog_type(17))
    assert.equal("Netfilter", names.prog_type(32))
    assert.equal("ProgramType(33)", names.prog_type(33))
  end)

  it("names link, attach and perf event types as digitalocean-labs/ebpf_exporter does", function()
    assert.equal("RAW_TRACEPOINT", names.link_type(1))
    assert.equal("NETKIT", names.link_type(13))
    assert.equal("15", names.link_type(15))
    assert.equal("CGROUP_INET_INGRESS", names.attach_type(0))
    assert.equal("NETKIT_PEER", names.attach_type(55))
    assert.equal("58", names.attach_type(58))
    assert.equal("TRACEPOINT", names.perf_event_type(5))
    assert.equal("7", names.perf_event_type(7))
  end)
end)

describe("prog_stats", function()
  local function stats_text(fields)
    local s = ffi.new("struct elx_scrape")
    local st = fields and ffi.new("struct elx_prog_stats", fields)
    s.prog_stats = st
    local buf = require("string.buffer").new()
    prog_stats.write(buf, s)
    anchors[#anchors + 1] = st
    return buf:tostring()
  end

  it("writes the duty cycle the flags set, and the windows as they went", function()
    assert.equal(table.concat({
      "# HELP ebpf_exporter_prog_stats_duty_cycle Fraction of the time the exporter has the kernel count "
        .. "program runs, as the flags set it",
      "# TYPE ebpf_exporter_prog_stats_duty_cycle gauge",
      "ebpf_exporter_prog_stats_duty_cycle 0.25",
      "# HELP ebpf_exporter_prog_stats_enabled 1 while the exporter has the kernel count program runs",
      "# TYPE ebpf_exporter_prog_stats_enabled gauge",
      "ebpf_exporter_prog_stats_enabled 1",
      "# HELP ebpf_exporter_prog_stats_enabled_seconds_total Time the exporter has had the kernel count program runs",
      "# TYPE ebpf_exporter_prog_stats_enabled_seconds_total counter",
      "ebpf_exporter_prog_stats_enabled_seconds_total 1.2505",
      "# HELP ebpf_exporter_prog_stats_errors_total Times the kernel refused to count program runs",
      "# TYPE ebpf_exporter_prog_stats_errors_total counter",
      "ebpf_exporter_prog_stats_errors_total 0",
      "# HELP ebpf_exporter_prog_stats_mode The --prog-stats-mode the exporter runs with",
      "# TYPE ebpf_exporter_prog_stats_mode gauge",
      'ebpf_exporter_prog_stats_mode{mode="sample"} 1',
      "# HELP ebpf_exporter_prog_stats_windows_total Times the exporter turned the kernel's counting on",
      "# TYPE ebpf_exporter_prog_stats_windows_total counter",
      "ebpf_exporter_prog_stats_windows_total 6",
      "",
    }, "\n"), stats_text({ mode = 1, on = 1, interval_ns = 2e9, duration_ns = 5e8, windows = 6,
      on_ns = 1250500000 }))
  end)

  it("has a duty cycle of 1 when enabled, and writes nothing when disabled", function()
    assert.truthy(stats_text({ mode = 2, on = 1, windows = 1 }):find(
      "\nebpf_exporter_prog_stats_duty_cycle 1\n", 1, true))
    assert.equal("", stats_text(nil))
  end)
end)
