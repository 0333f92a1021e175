-- `make bench`: what the BPF programs cost the kernel per event, with
-- kernel.bpf_stats_enabled=1 (its previous value restored after): the run
-- time per run (run_time_ns / run_cnt) of
--  1. the default examples' programs, under a known load (syscalls, TCP on
--     loopback, fsync'd writes), next to bpftrace's count() (and hist()) on
--     the same tracepoints, attached at the same time;
--  2. bench/kernel_cost.bpf.c: bpf/maps.bpf.h's increment_map,
--     increment_map_nosync and increment_exp2_histogram next to the least
--     inline code that does the same, and bpftrace's count() and hist(), all
--     on the getpgid calls the bench makes (exactly N, which the exporter's
--     scrape must count).
-- Only programs that the exporter under test (its program info) or the
-- bpftrace the bench started (its file descriptors) hold are read, by id.
-- Usage: luajit bench/kernel_cost.lua <build dir> (or from bench/run.lua)
local standalone = arg and arg[0] and arg[0]:match("kernel_cost%.lua$")
if standalone then
  package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. package.path
end
local common = require("common")
local files = require("helpers.files")
local lock = require("helpers.lock")

local helper = common.helper
local N = 100000 -- getpgid calls of the micro programs, per round
local ROUNDS = 5 -- of each load; the median round's ns per run is printed
local SYSCALLS = 50000 -- getppid + failing close(-1) pairs, per round
local ROUND_TRIPS = 2000 -- TCP on loopback: softirqs and timers
local FSYNCS = 50 -- 4 KiB writes, each fsync'd: block IO
local MAGIC = 0x40000000 -- kernel_cost.bpf.c's: getpgid(MAGIC + v) counts

-- The load: `getpgid n` or `examples syscalls round_trips fsyncs <dir>`.
local LOAD = [[
import os, socket, sys, threading
MAGIC = 0x40000000
def getpgid(n):
    for i in range(n):
        try:
            os.getpgid(MAGIC + (i * 7919) % (1 << 20))
        except ProcessLookupError:
            pass
def syscalls(n):
    for _ in range(n):
        os.getppid()
        try:
            os.close(-1)
        except OSError:
            pass
def tcp(n):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    def echo():
        c, _ = server.accept()
        while True:
            b = c.recv(64)
            if not b:
                return
            c.sendall(b)
    t = threading.Thread(target=echo)
    t.start()
    c = socket.create_connection(server.getsockname())
    for _ in range(n):
        c.sendall(b"x" * 64)
        got = 0
        while got < 64:
            got += len(c.recv(64))
    c.close()
    t.join()
def disk(n, directory):
    path = os.path.join(directory, "fsync")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    for i in range(n):
        os.pwrite(fd, b"y" * 4096, i * 4096)
        os.fsync(fd)
    os.close(fd)
    os.unlink(path)
if sys.argv[1] == "getpgid":
    getpgid(int(sys.argv[2]))
else:
    syscalls(int(sys.argv[2]))
    tcp(int(sys.argv[3]))
    disk(int(sys.argv[4]), sys.argv[5])
]]

-- bpftrace on the examples' tracepoints, one probe per program of theirs
-- (`of` names the example's program), in the order bpftrace loads them.
local EXAMPLES_BT = {
  { of = "syscalls/sys_enter", what = "count()",
    probe = "tracepoint:raw_syscalls:sys_enter /args->id >= 0/ { @enter[args->id] = count(); }" },
  { of = "syscalls/sys_exit", what = "count()", probe = "tracepoint:raw_syscalls:sys_exit /args->id >= 0 && "
    .. "args->ret < 0 && args->ret >= -4095/ { @failed[args->id, -args->ret] = count(); }" },
  { of = "timers/timer_start", what = "count()",
    probe = "tracepoint:timer:timer_start { @timers[args->function] = count(); }" },
  { of = "softirqs/softirq_entry", what = "count()",
    probe = "tracepoint:irq:softirq_entry { @softirqs[args->vec] = count(); }" },
  { of = "biolatency/block_rq_insert", what = "map update",
    probe = "tracepoint:block:block_rq_insert { @start[args->dev, args->sector] = nsecs; }" },
  { of = "biolatency/block_rq_issue", what = "map update",
    probe = "tracepoint:block:block_rq_issue /@start[args->dev, args->sector] == 0/ "
      .. "{ @start[args->dev, args->sector] = nsecs; }" },
  { of = "biolatency/block_rq_complete", what = "delete + hist()",
    probe = "tracepoint:block:block_rq_complete /@start[args->dev, args->sector] != 0/ "
      .. "{ @us[args->dev] = hist((nsecs - @start[args->dev, args->sector]) / 1000); "
      .. "delete(@start[args->dev, args->sector]); }" },
}

local FILTER = ("/args->pid >= %d && args->pid < %d/"):format(MAGIC, MAGIC + 2 ^ 20)
local MICRO_BT = {
  { of = "count", probe = "tracepoint:syscalls:sys_enter_getpgid " .. FILTER .. " { @c[args->pid & 63] = count(); }" },
  { of = "hist", probe = "tracepoint:syscalls:sys_enter_getpgid " .. FILTER
    .. " { @h[args->pid & 63] = hist(args->pid - " .. MAGIC .. "); }" },
}

--- run_time_ns and run_cnt of a program, by id, from the kernel.
local function prog_stats(id)
  local out = common.run("bpftool prog show id " .. id .. " -j")
  return tonumber(out:match('"run_time_ns":(%d+)')) or 0, tonumber(out:match('"run_cnt":(%d+)')) or 0
end

local function snapshot(ids)
  local s = {}
  for _, id in ipairs(ids) do
    local ns, cnt = prog_stats(id)
    s[id] = { ns = ns, cnt = cnt }
  end
  return s
end

-- { [id] = { ns_per_run, runs } } between two snapshots.
local function per_run(before, after)
  local out = {}
  for id, a in pairs(after) do
    local runs = a.cnt - before[id].cnt
    out[id] = { ns = runs > 0 and (a.ns - before[id].ns) / runs or 0 / 0, runs = runs }
  end
  return out
end

--- The exporter's programs, "config/program" -> id, from its program info.
local function exporter_programs(e)
  local ids = {}
  for config, id, program in e:scrape():gmatch('ebpf_exporter_ebpf_program_info{config="([^"]*)",id="(%d+)",'
    .. 'program="([^"]*)"') do
    ids[config .. "/" .. program] = tonumber(id)
  end
  return ids
end

--- Starts bpftrace on the probes; returns its pid and { of -> program id }
-- (its programs are loaded in the script's order: ascending ids).
local function start_bpftrace(work, probes)
  local script, out = work .. "/probes.bt", work .. "/bpftrace.out"
  local lines = {}
  for i, p in ipairs(probes) do lines[i] = p.probe end
  files.write(script, table.concat(lines, "\n") .. "\n")
  local pid = tonumber((common.run(("bpftrace %s >%s 2>&1 </dev/null & echo $!"):format(script, out))))
  local progs = {}
  for _ = 1, 600 do
    progs = helper.bpf_fds(pid).progs
    if #progs == #probes then break end
    helper.sleep(0.05)
  end
  assert(#progs == #probes, ("bpftrace holds %d programs, not %d:\n%s"):format(#progs, #probes,
    helper.read_file(out) or ""))
  helper.sleep(0.2) -- it attaches each program right after loading it
  local ids = {}
  for i, p in ipairs(probes) do ids[p.of] = progs[i] end
  return pid, ids
end

local function stop_bpftrace(pid)
  os.execute(("kill -INT %d; while kill -0 %d 2>/dev/null; do sleep 0.05; done"):format(pid, pid))
end

local function values(map)
  local ids = {}
  for _, id in pairs(map) do ids[#ids + 1] = id end
  return ids
end

-- Runs `load` ROUNDS times; { [id] = { ns = median ns per run, runs = all runs } }.
local function measured(ids_a, ids_b, load)
  local all = values(ids_a)
  for _, id in ipairs(values(ids_b)) do all[#all + 1] = id end
  local rounds = {}
  for r = 1, ROUNDS do
    local before = snapshot(all)
    common.run(load)
    rounds[r] = per_run(before, snapshot(all))
  end
  local out = {}
  for _, id in ipairs(all) do
    local ns, runs = {}, 0
    for r = 1, ROUNDS do
      ns[r], runs = rounds[r][id].ns, runs + rounds[r][id].runs
    end
    out[id] = { ns = common.median(ns), runs = runs }
  end
  return out
end

local function examples(build, work, load)
  local cost, mine, theirs
  common.with_exporter({ dir = build .. "/examples", names = "timers,softirqs,syscalls,biolatency" }, function(e)
    mine = exporter_programs(e)
    local pid
    pid, theirs = start_bpftrace(work, EXAMPLES_BT)
    local ok, err = pcall(function()
      cost = measured(mine, theirs, ("/usr/bin/python3.11 %s examples %d %d %d %s"):format(load, SYSCALLS,
        ROUND_TRIPS, FSYNCS, work))
    end)
    stop_bpftrace(pid)
    assert(ok, err)
  end)
  print(("\nkernel-side cost of the default examples, ns per run (run_time_ns / run_cnt; median of %d rounds of %d "
    .. "getppid + %d failing close, %d TCP round trips on loopback, %d fsync'd writes, and whatever else the machine "
    .. "ran):"):format(ROUNDS, SYSCALLS, SYSCALLS, ROUND_TRIPS, FSYNCS))
  print(("  %-30s %10s %9s   %-26s %9s"):format("program", "runs", "ns/run", "bpftrace, same tracepoint", "ns/run"))
  for _, p in ipairs(EXAMPLES_BT) do
    local m, t = cost[mine[p.of]], cost[theirs[p.of]]
    print(("  %-30s %10d %9.1f   %-26s %9.1f"):format(p.of, m.runs, m.ns, p.what, t.ns))
  end
end

--- The sum of a scrape's samples of a family (all its series).
local function family_sum(text, family)
  local sum = 0
  for v in text:gmatch("\n" .. family .. "{[^}]*} (%d+)") do sum = sum + tonumber(v) end
  return sum
end

local MICRO = {
  { name = "increment_map, HASH (atomic add)", mine = "kernel_cost/helper_hash", inline = "kernel_cost/inline_hash",
    family = "cost_helper_hash", bt = "count" },
  { name = "increment_map_nosync, PERCPU_HASH", mine = "kernel_cost/helper_percpu",
    inline = "kernel_cost/inline_percpu", family = "cost_helper_percpu", bt = "count" },
  { name = "increment_exp2_histogram, HASH", mine = "kernel_cost/helper_hist", inline = "kernel_cost/inline_hist",
    family = "cost_helper_hist_count", bt = "hist" },
}

local function micro(build, work, load)
  local cost, mine, theirs
  common.with_exporter({ dir = build .. "/bench", names = "kernel_cost" }, function(e)
    mine = exporter_programs(e)
    local pid
    pid, theirs = start_bpftrace(work, MICRO_BT)
    local ok, err = pcall(function()
      cost = measured(mine, theirs, ("/usr/bin/python3.11 %s getpgid %d"):format(load, N))
    end)
    stop_bpftrace(pid)
    assert(ok, err)
    local text = e:scrape()
    for _, m in ipairs(MICRO) do
      for _, family in ipairs({ m.family, (m.family:gsub("helper", "inline")) }) do
        local counted = family_sum(text, "ebpf_exporter_" .. family)
        assert(counted == N * ROUNDS, ("%s counted %d getpgid calls, not %d"):format(family, counted, N * ROUNDS))
      end
    end
  end)
  print(("\nbpf/maps.bpf.h's helpers, ns per run (median of %d rounds of %d getpgid calls; 64 keys; every map "
    .. "counted exactly %d):"):format(ROUNDS, N, N * ROUNDS))
  print(("  %-36s %9.1f"):format("the filter alone (a program that counts nothing)",
    cost[mine["kernel_cost/filter_only"]].ns))
  print(("  %-36s %9s %9s %9s"):format("", "helper", "inline", "bpftrace"))
  for _, m in ipairs(MICRO) do
    print(("  %-36s %9.1f %9.1f %9.1f   (bpftrace: %s())"):format(m.name, cost[mine[m.mine]].ns,
      cost[mine[m.inline]].ns, cost[theirs[m.bt]].ns, m.bt))
  end
  -- Measured: with helper_hash and inline_hash swapped in the object, ~10 ns
  -- went from the one to the other.
  print("  (programs on one tracepoint run in attach order, and the order alone moves ~10 ns between neighbours)")
end

-- The sysctl is the machine's: set and put back under the lock that every
-- copy of the specs takes for it (spec/helpers/lock.lua), so that no spec
-- sees it change under its feet, nor puts back a value of ours.
local function kernel_cost(build)
  lock.with("bpf-stats", function()
    local previous = common.run("sysctl -n kernel.bpf_stats_enabled"):match("%d+")
    common.run("sysctl -q -w kernel.bpf_stats_enabled=1")
    local work = helper.tmpdir()
    local load = work .. "/load.py"
    files.write(load, LOAD)
    local ok, err = pcall(function()
      examples(build, work, load)
      micro(build, work, load)
    end)
    os.execute("rm -rf " .. work)
    common.run("sysctl -q -w kernel.bpf_stats_enabled=" .. previous)
    assert(ok, err)
  end)
end

if standalone then kernel_cost(arg[1] or "build") end

return kernel_cost
