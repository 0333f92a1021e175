-- targets: 200 matching processes started in a burst. How long until the
-- exporter has attached to every one of them, and how much CPU it spent
-- finding them (exec events, /proc reads, Lua's selectors) and attaching;
-- then the same processes ended at once: the links go at once, the kernel's
-- teardown of the probes runs off the loop, and a scrape meanwhile; and the
-- exporter's CPU while nothing happens.
local common = require("common")
local files = require("helpers.files")

local N = 200

local function yaml(tag)
  return ([[
metrics:
  counters:
    - name: targets_hits_total
      help: Calls by process
      labels:
        - { name: pid, size: 4, decoders: [{ name: uint }] }
        - { name: command, size: 4, decoders: [{ name: uint }, { name: pid_command }] }
targets:
  processes:
    - programs: [targets_hit]
      comm: elx-targets-tar
      cmdline: ' %s '
]]):format(tag)
end

local function fds(pid)
  local n = 0
  for _ in (common.run("ls /proc/" .. pid .. "/fd")):gmatch("%d+") do n = n + 1 end
  return n
end

local now = require("exporter.clock").monotonic

-- Polls until cond() or `seconds`; returns the time it took, or nil.
local function until_true(cond, seconds)
  local start = now()
  while now() - start < seconds do
    if cond() then return now() - start end
    os.execute("sleep 0.01")
  end
end

return function(build)
  local helper = common.helper
  local dir = helper.tmpdir()
  local tag = ("bench-%d"):format(math.random(1e8))
  common.run(("cp %s/spec/targets_test.bpf.o %s/"):format(build, dir))
  files.write(dir .. "/targets_test.yaml", yaml(tag))
  common.with_exporter({ dir = dir, names = "targets_test" }, function(e)
    e:scrape()
    local idle_start = common.cpu_ns(e.pid)
    os.execute("sleep 5")
    local idle_ms = (common.cpu_ns(e.pid) - idle_start) / 1e6
    local base = fds(e.pid)
    local pids = dir .. "/pids"
    -- One shell starts them all, as fast as it can fork and exec.
    local function burst(with_tag, file)
      common.run(("sh -c 'for i in $(seq %d); do %s/spec/elx-targets-target %s 1 >/dev/null 2>&1 & echo $!; done' >%s")
        :format(N, build, with_tag, file))
    end
    -- First processes that do not match: what finding out costs alone.
    local cpu_other = common.cpu_ns(e.pid)
    burst("other-" .. tag, dir .. "/others")
    os.execute("sleep 1")
    local others_ms = (common.cpu_ns(e.pid) - cpu_other) / 1e6
    common.run("kill $(cat " .. dir .. "/others)")
    os.execute("sleep 1")
    local cpu0, t0 = common.cpu_ns(e.pid), now()
    burst(tag, pids)
    local spawned = now() - t0
    -- Each attach holds two fds: the perf event and the BPF link.
    assert(until_true(function() return fds(e.pid) >= base + 2 * N end, 60),
      "not every process was attached within 60 s")
    local took = now() - t0
    local cpu_ms = (common.cpu_ns(e.pid) - cpu0) / 1e6
    local attached = e:samples()['ebpf_exporter_attached_processes{config="targets_test",program="targets_hit"}']
    assert(attached == N, ("%s processes attached, not %d"):format(tostring(attached), N))
    -- All of them end at once.
    local cpu1, t1 = common.cpu_ns(e.pid), now()
    common.run("kill $(cat " .. pids .. ")")
    local gone = until_true(function()
      return e:samples()['ebpf_exporter_attached_processes{config="targets_test",program="targets_hit"}'] == 0
    end, 60)
    local scrape_start = now()
    e:scrape()
    local scrape_ms = (now() - scrape_start) * 1e3
    local exit_cpu_ms = (common.cpu_ns(e.pid) - cpu1) / 1e6
    -- A restart of them all: new processes while the kernel still tears
    -- the old probes down.
    local t2 = now()
    burst(tag, pids)
    assert(until_true(function()
      return e:samples()['ebpf_exporter_attached_processes{config="targets_test",program="targets_hit"}'] == N
    end, 120), "the second burst was not attached within 120 s")
    local again = now() - t2
    common.run("kill $(cat " .. pids .. ")")
    local teardown = until_true(function() return fds(e.pid) <= base end, 300)
    local teardown_s = now() - t1
    print(("\ntargets: %d matching processes started in a burst (the shell took %.0f ms to start them):"):format(
      N, spawned * 1e3))
    print(("  all attached, from the first fork         %9.0f ms (target: each within 1 s of its exec)"):format(
      took * 1e3))
    print(("  exporter CPU meanwhile (discovery + attach) %7.1f ms, %.0f us a process"):format(cpu_ms,
      cpu_ms * 1e3 / N))
    print(("  exporter CPU for %d that do not match       %7.1f ms, %.0f us a process (discovery alone)"):format(
      N, others_ms, others_ms * 1e3 / N))
    print(("  all %d exited: links gone after           %9.0f ms, exporter CPU %.1f ms"):format(N, gone * 1e3,
      exit_cpu_ms))
    print(("  a scrape during the kernel's teardown     %9.1f ms"):format(scrape_ms))
    print(("  %d more started during the teardown: all attached after %.0f ms"):format(N, again * 1e3))
    print(("  the kernel's teardown of both bursts' %d probes, off the loop: %.1f s, %.0f ms a probe"):format(
      2 * N, teardown_s, teardown_s * 1e3 / (2 * N)))
    print(("  exporter CPU while idle                   %9.1f ms in 5 s (other processes' execs included)")
      :format(idle_ms))
    assert(teardown, "the kernel's teardown did not end within 300 s")
  end)
  os.execute("rm -rf " .. dir)
end
