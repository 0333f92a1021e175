-- The examples ebpf_exporter ships for other attach types, on this kernel:
-- oomkill (tp_btf + perf event array + cgroup), xdp (on lo, and xdp/<ifname>
-- on a veth), usdt (Python's USDT probe), uprobe (libc malloc per cgroup),
-- perf-event (software cpu-clock sampling) and llcstat (hardware counters,
-- pending where the machine has none). Each passes --config.check
-- --config.strict and counts events the spec makes, exactly.
local ffi = require("ffi")
local helper = require("helpers.exporter")

local PYTHON = "/usr/bin/python3.11"
local CGROUP2 = "/sys/fs/cgroup/unified"
local MEMCG1 = "/sys/fs/cgroup/memory"

local function delta(before, after, series)
  return (after[series] or 0) - (before[series] or 0)
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- A name no earlier or concurrent run uses, for cgroups and files.
local function unique(prefix)
  return ("%s-%d-%d"):format(prefix, os.time(), math.random(1e6))
end

-- Polls fn() every 50 ms until it returns a true value (returned), for at
-- most 30 s (a loaded machine starts Python slowly); then fails with what.
local function wait_until(what, fn)
  for _ = 1, 600 do
    local v = fn()
    if v then return v end
    helper.sleep(0.05)
  end
  error("timed out after 30 s waiting for " .. what)
end

-- rmdir of a cgroup fails with EBUSY until the kernel has let go of its last
-- exited task. A missing directory is fine.
local function remove_cgroup(dir)
  for _ = 1, 100 do
    local out, code = helper.sh("rmdir " .. dir)
    if code == 0 or out:find("No such file", 1, true) then return end
    helper.sleep(0.05)
  end
  error("cannot remove " .. dir)
end

local function lines_of(text)
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

local function config_check(name)
  return helper.run("--log.no-timestamps --config.check --config.strict --config.dir="
    .. helper.examples_dir .. " --config.names=" .. name)
end

local function online_cpus()
  local cpus = {}
  local list = assert(helper.read_file("/sys/devices/system/cpu/online"))
  for range in list:gmatch("[^,\n]+") do
    local lo, hi = range:match("^(%d+)%-(%d+)$")
    lo, hi = tonumber(lo or range), tonumber(hi or range)
    for cpu = lo, hi do cpus[#cpus + 1] = cpu end
  end
  return cpus
end

describe("parity examples", function()
  describe("oomkill", function()
    -- The record's global_oom bytes are a kernel stack: build ones from this
    -- kernel's symbols and run them through the example's own decoders.
    it("labels a memory cgroup's OOM 0, a global one 1, a missing stack unknown", function()
      local config = require("exporter.config")
      local decoders = require("exporter.decoders")
      -- The cgroup label's decoder is built too: keep its index quiet.
      require("exporter.decoder_api").state("cgroup").log = function() end
      local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))
      local cfg = assert(config.load(helper.examples_dir, "oomkill", { config = "oomkill", registry = registry }))
      local label = cfg.metrics[1].labels[2]
      assert.equal("global_oom", label.name)
      local function decode(input)
        for _, d in ipairs(label.decoders) do
          local err
          input, err = d.decode(input)
          assert(type(input) == "string", err)
        end
        return input
      end

      local symbols = {}
      for line in io.lines("/proc/kallsyms") do
        local addr, name = line:match("^(%x+) [tT] ([%w_.]+)$")
        if addr and not symbols[name] then symbols[name] = addr end
      end
      -- A frame 16 bytes into each function, innermost first, zero-padded
      -- to the label's 256 bytes as bpf_get_stack leaves it.
      local function stack(names)
        local frames = ffi.new("uint64_t[32]")
        for i, name in ipairs(names) do
          local hex = assert(symbols[name], name .. " is not in /proc/kallsyms")
          local addr = ffi.new("uint64_t", 0)
          for digit in hex:gmatch("%x") do addr = addr * 16 + tonumber(digit, 16) end
          frames[i - 1] = addr + 16
        end
        return ffi.string(frames, 256)
      end

      assert.equal(256, label.size)
      assert.equal("0", decode(stack({ "mark_oom_victim", "oom_kill_process", "out_of_memory",
        "mem_cgroup_out_of_memory", "try_charge_memcg", "handle_mm_fault" })))
      assert.equal("1", decode(stack({ "mark_oom_victim", "oom_kill_process", "out_of_memory",
        "handle_mm_fault" })))
      assert.equal("unknown", decode(string.rep("\0", 256)))
    end)

    it("counts one kill of a process over its memory cgroup's limit, by its cgroup v2 path", function()
      local name = unique("elx-oomkill")
      local memcg, cgroup = MEMCG1 .. "/" .. name, CGROUP2 .. "/" .. name
      local e
      finally(function()
        if e then e:stop() end
        remove_cgroup(memcg)
        remove_cgroup(cgroup)
      end)
      local out, code = helper.sh(("mkdir %s %s && echo 32M > %s/memory.limit_in_bytes"):format(
        memcg, cgroup, memcg))
      assert.equal(0, code, out)
      e = helper.start({ dir = helper.examples_dir, names = "oomkill" })

      -- The shell joins both cgroups, then becomes python, which allocates
      -- 1 MiB at a time: it should die at 32 MiB, long before 1 GiB. The
      -- "; exit" keeps the shell's "Killed" in the captured output.
      out, code = helper.sh(("sh -c 'echo $$ > %s/cgroup.procs && echo $$ > %s/cgroup.procs && exec %s -c "
        .. "\"x = []\nfor _ in range(1024): x.append(bytearray(1 << 20))\"'; exit $?"):format(memcg, cgroup, PYTHON))
      assert.equal(128 + 9, code, "not killed by SIGKILL: " .. out)

      local series = ('ebpf_exporter_oom_kills_total{cgroup_path="%s",global_oom="0"}'):format(cgroup)
      wait_until("the kill to be counted", function() return e:samples()[series] end)
      -- Records arrive asynchronously: a second one would show by now.
      helper.sleep(0.5)
      local s = e:samples()
      assert.equal(1, s[series])
      for other in pairs(s) do
        if other ~= series and other:find(cgroup, 1, true) then
          error("another series for the cgroup: " .. other)
        end
      end
      assert.equal(0, s['ebpf_exporter_event_records_lost_total{config="oomkill",map="oom_kills_total"}'])
      assert.equal(0, helper.decoder_errors(s, "oomkill"))
      local code_stop, log = e:stop()
      e = nil
      assert.equal(0, code_stop, log)
    end)
  end)

  describe("xdp on lo", function()
    -- lo takes one XDP program, and any exporter of the machine may hold the
    -- root namespace's: the spec's exporter and traffic use a namespace's own.
    local e, dir, ns, remove_ns
    setup(function()
      ns, remove_ns = helper.netns()
      e = helper.start({ dir = helper.examples_dir, names = "xdp", netns = ns })
      dir = helper.tmpdir()
    end)
    teardown(function()
      os.execute("rm -rf " .. dir)
      local code = e:stop()
      remove_ns()
      assert.equal(0, code)
    end)

    -- Binds UDP receivers on 127.0.0.1 and ::1 at one free port below the
    -- ephemeral range, and one on an ephemeral port; sends v4, v6 and high
    -- datagrams to them, receives every one, and prints "<port> <high port>".
    local CLIENT = [[
import random, socket, sys
v4, v6, high = (int(a) for a in sys.argv[1:4])
for _ in range(100):
    port = random.randrange(20000, 32768)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        r4.bind(("127.0.0.1", port))
        r6.bind(("::1", port))
        break
    except OSError:
        r4.close()
        r6.close()
else:
    sys.exit("no port below 32768 free on both 127.0.0.1 and ::1")
rh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rh.bind(("127.0.0.1", 0))
high_port = rh.getsockname()[1]
assert high_port >= 32768, high_port
for receiver, family, addr, p, n in ((r4, socket.AF_INET, "127.0.0.1", port, v4),
                                     (r6, socket.AF_INET6, "::1", port, v6),
                                     (rh, socket.AF_INET, "127.0.0.1", high_port, high)):
    s = socket.socket(family, socket.SOCK_DGRAM)
    receiver.settimeout(5)
    for _ in range(n):
        s.sendto(b"elx", (addr, p))
        receiver.recv(16)
print(port, high_port)
]]

    it("counts exactly the UDP datagrams sent to a port, IPv4 and IPv6, and skips ephemeral ports", function()
      local client = dir .. "/xdp_client.py"
      write_file(client, CLIENT)
      local before = e:samples()
      local out, code = helper.sh(("%s%s %s 25 9 6"):format(helper.in_netns(ns), PYTHON, client))
      assert.equal(0, code, out)
      local port, high = out:match("^(%d+) (%d+)\n$")
      assert.is_not_nil(port, out)
      local after = e:samples()
      local function series(ip, dport)
        return ('ebpf_exporter_xdp_incoming_packets_total{dst_port="%s",ip="%s",protocol="udp"}'):format(dport, ip)
      end
      assert.equal(25, delta(before, after, series("ipv4", port)))
      assert.equal(9, delta(before, after, series("ipv6", port)))
      assert.is_nil(after[series("ipv4", high)])
      assert.equal(0, helper.decoder_errors(after, "xdp"))
    end)
  end)

  describe("xdp/<ifname> on a veth", function()
    -- xdp_test.bpf.o names elx-v0: it and its peer live in namespaces of the
    -- spec's own, where no other copy of the specs makes one.
    local IF, PEER_IF = "elx-v0", "elx-v1"
    local ADDR, PEER_ADDR = "10.239.71.1", "10.239.71.2"

    -- Sends a first datagram to port + 1 and waits, so that ARP has resolved
    -- before the counted ones: a datagram queued behind ARP could be dropped.
    local SENDER = [[
import socket, sys, time
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"warm-up", (addr, port + 1))
time.sleep(0.2)
for _ in range(n):
    s.sendto(b"elx", (addr, port))
]]

    it("attaches by interface name and counts exactly the datagrams sent from a namespace", function()
      local ns, remove_ns = helper.netns()
      local peer, remove_peer = helper.netns()
      local e, dir
      finally(function()
        if e then e:stop() end
        remove_peer()
        remove_ns()
        if dir then os.execute("rm -rf " .. dir) end
      end)
      local out, code = helper.sh(table.concat({
        ("ip -n %s link add %s type veth peer name %s netns %s"):format(ns, IF, PEER_IF, peer),
        ("ip -n %s addr add %s/30 dev %s"):format(ns, ADDR, IF),
        ("ip -n %s link set %s up"):format(ns, IF),
        ("ip -n %s addr add %s/30 dev %s"):format(peer, PEER_ADDR, PEER_IF),
        ("ip -n %s link set %s up"):format(peer, PEER_IF),
      }, " && "))
      assert.equal(0, code, out)
      e = helper.start({ names = "xdp_test", netns = ns })
      dir = helper.tmpdir()
      write_file(dir .. "/sender.py", SENDER)

      local port = 24000 + math.random(0, 999)
      out, code = helper.sh(("%s%s %s/sender.py %s %d 40"):format(helper.in_netns(peer), PYTHON, dir, ADDR, port))
      assert.equal(0, code, out)
      local series = ('ebpf_exporter_xdp_test_ipv4_packets_total{dst_port="%d",protocol="17"}'):format(port)
      -- XDP counts on receive, before the datagrams reach any socket.
      wait_until("40 datagrams", function() return e:samples()[series] == 40 end)
      helper.sleep(0.2)
      local s = e:samples()
      assert.equal(40, s[series])
      assert.equal(1, s[('ebpf_exporter_xdp_test_ipv4_packets_total{dst_port="%d",protocol="17"}'):format(port + 1)])
      -- The interface runs the exporter's program, natively: veth has XDP.
      local attached = (helper.sh(("ip -n %s -d link show %s"):format(ns, IF))):match("\n%s+prog/xdp id (%d+) ")
      assert.same(helper.program_ids(e:scrape()), { tonumber(attached) })
      local code_stop, log = e:stop()
      e = nil
      assert.equal(0, code_stop, log)
    end)
  end)

  describe("usdt", function()
    -- Python 3.11 fires function__entry only while a profile or trace
    -- function is set (and for generator throw()): it checks the probe in
    -- its tracing path. The profile function's own calls do not fire it.
    local SCRIPT = [[
import sys

def elx_target():
    pass

def elx_caller():
    elx_target()

direct, nested = int(sys.argv[1]), int(sys.argv[2])
sys.setprofile(lambda frame, event, arg: None)
for _ in range(direct):
    elx_target()
for _ in range(nested):
    elx_caller()
sys.setprofile(None)
]]

    it("counts exactly the calls of a Python function by file and name", function()
      local dir = helper.tmpdir()
      local e
      finally(function()
        if e then e:stop() end
        os.execute("rm -rf " .. dir)
      end)
      local script = dir .. "/usdt_target.py"
      write_file(script, SCRIPT)
      e = helper.start({ dir = helper.examples_dir, names = "usdt" })
      local before = e:samples()
      local out, code = helper.sh(("%s %s 37 5"):format(PYTHON, script))
      assert.equal(0, code, out)
      local after = e:samples()
      local function series(fn)
        return ('ebpf_exporter_python_function_entries_total{function="%s",module="%s"}'):format(fn, script)
      end
      assert.equal(42, delta(before, after, series("elx_target")))
      assert.equal(5, delta(before, after, series("elx_caller")))
      assert.is_nil(after[series("<lambda>")])
      local code_stop, log = e:stop()
      e = nil
      assert.equal(0, code_stop, log)
    end)
  end)

  describe("uprobe", function()
    -- Joins nothing itself (the shell that execs it already joined the
    -- cgroup); loads ctypes, then: "r" to the status file, waits for a byte
    -- on the fifo, calls malloc (and free) exactly n times, "d", waits again.
    -- Between "r" and "d" it makes no other malloc call: os.read and os.write
    -- are plain syscalls, and their small objects come from Python's own
    -- allocator.
    local SCRIPT = [[
import ctypes, os, sys
n, fifo, status_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
libc = ctypes.CDLL("libc.so.6")
malloc, free = libc.malloc, libc.free
malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
free.restype, free.argtypes = None, [ctypes.c_void_p]
go = os.open(fifo, os.O_RDWR)
status = os.open(status_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
os.write(status, b"r")
os.read(go, 1)
for _ in range(n):
    free(malloc(64))
os.write(status, b"d")
os.read(go, 1)
os._exit(0)
]]

    it("counts exactly the malloc calls a process in a fresh cgroup makes between two scrapes", function()
      local dir = helper.tmpdir()
      local cgroup = CGROUP2 .. "/" .. unique("elx-uprobe")
      local e, pid, fifo
      local function release()
        local f = assert(io.open(fifo, "w"))
        f:write("g")
        f:close()
      end
      finally(function()
        if pid then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
        if e then e:stop() end
        remove_cgroup(cgroup)
        os.execute("rm -rf " .. dir)
      end)
      local script, status = dir .. "/malloc_target.py", dir .. "/status"
      fifo = dir .. "/go"
      write_file(script, SCRIPT)
      local out, code = helper.sh(("mkdir %s && mkfifo %s"):format(cgroup, fifo))
      assert.equal(0, code, out)
      e = helper.start({ dir = helper.examples_dir, names = "uprobe" })

      out = helper.sh(("sh -c 'echo $$ > %s/cgroup.procs && exec %s %s 1000 %s %s' >%s/out 2>&1 & echo $!"):format(
        cgroup, PYTHON, script, fifo, status, dir))
      pid = tonumber(out:match("%d+"))
      local series = ('ebpf_exporter_libc_malloc_calls_total{cgroup="%s"}'):format(cgroup)
      wait_until("the process to be ready", function() return helper.read_file(status) == "r" end)
      local before = e:samples()
      release()
      wait_until("the malloc loop to finish", function() return helper.read_file(status) == "rd" end)
      local after = e:samples()
      release()
      wait_until("the process to exit", function() return select(2, helper.sh("kill -0 " .. pid)) ~= 0 end)
      pid = nil
      -- Python's start-up in the cgroup called malloc before "r".
      assert.is_true(before[series] ~= nil and before[series] > 0, "no malloc calls counted at start-up")
      assert.equal(1000, delta(before, after, series))
      assert.equal(0, helper.decoder_errors(after, "uprobe"))
      local code_stop, log = e:stop()
      e = nil
      assert.equal(0, code_stop, log)
    end)
  end)

  describe("perf-event", function()
    it("samples every online CPU, one series per CPU and state", function()
      local e = helper.start({ dir = helper.examples_dir, names = "perf-event" })
      local cpus = online_cpus()
      local before = e:samples()
      -- A third of a second of work pinned on each CPU: at 99 Hz, about 30
      -- busy samples each, where an idle CPU of this VM may give none. The
      -- work calls nothing probed: other exporters' uprobes stay quiet.
      for _, cpu in ipairs(cpus) do
        local out, code = helper.sh(("%s/elx-test-target --cpu %d spin 333"):format(helper.spec_dir, cpu))
        assert.equal(0, code, out)
      end
      local after = e:samples()
      assert.equal(0, (e:stop()))
      local function series(state, cpu)
        return ('ebpf_exporter_cpu_clock_samples_total{cpu="%d",state="%s"}'):format(cpu, state)
      end
      local n = 0
      for s in pairs(after) do
        if s:match("^ebpf_exporter_cpu_clock_samples_total{") then n = n + 1 end
      end
      assert.equal(2 * #cpus, n)
      for _, cpu in ipairs(cpus) do
        assert.is_true(delta(before, after, series("busy", cpu)) > 0, "no busy samples on CPU " .. cpu)
      end
    end)
  end)

  describe("llcstat", function()
    it("counts last level cache references and misses per CPU", function()
      local out, code = config_check("llcstat")
      local missing = "(this machine does not have that event)"
      if code ~= 0 and out:find(missing, 1, true) then
        -- Refused for the right reason, naming the first program's event.
        assert.equal(1, code)
        local lines = lines_of(out)
        local pmu = helper.read_file("/sys/bus/event_source/devices/cpu/type") and "a cpu PMU"
          or "no cpu PMU in /sys/bus/event_source/devices"
        local why = pmu == "a cpu PMU" and "" or (": this machine has no hardware counters: no cpu PMU in "
          .. "/sys/bus/event_source/devices (virtual machines often have none)")
        assert.equal('error: config llcstat: program on_cache_reference (SEC("perf_event/type=0,config=2,frequency=99")): '
          .. "attach failed: perf_event_open(type=0, config=2) on CPU 0: No such file or directory " .. missing .. why,
          lines[#lines])
        return pending("llcstat: no hardware cache counters on this machine (" .. pmu
          .. "): perf_event_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES) fails with ENOENT")
      end
      assert.equal(0, code, out)
      local e = helper.start({ dir = helper.examples_dir, names = "llcstat" })
      local cpus = online_cpus()
      -- Work on every CPU: one busy loop each, pinned.
      helper.sh(("for c in %s; do taskset -c $c %s -c 'sum(range(3000000))' & done; wait"):format(
        table.concat(cpus, " "), PYTHON))
      local s = e:samples()
      assert.equal(0, (e:stop()))
      for _, cpu in ipairs(cpus) do
        assert.is_true((s[('ebpf_exporter_llc_references_total{cpu="%d"}'):format(cpu)] or 0) > 0, "cpu " .. cpu)
        assert.is_not_nil(s[('ebpf_exporter_llc_misses_total{cpu="%d"}'):format(cpu)], "cpu " .. cpu)
      end
    end)
  end)
end)
