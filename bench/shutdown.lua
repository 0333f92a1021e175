-- `make bench`: the time from SIGTERM to the exit of an exporter holding
-- 100,000 series (the bench map, filled and scraped), alone and with the
-- default examples' programs attached; the median of RUNS runs each. The
-- exit is the moment the process is gone (its pidfd becomes readable), not
-- when a poll notices it. Every run must exit 0 and leave none of its
-- programs, maps or links in the kernel.
-- Usage: luajit bench/shutdown.lua <build dir> [<exporter binary>] (or from bench/run.lua)
local standalone = arg and arg[0] and arg[0]:match("shutdown%.lua$")
if standalone then
  package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. package.path
end
local common = require("common")
local files = require("helpers.files")

local helper = common.helper
local N = 100000
local RUNS = 5
local EXAMPLES = { "timers", "softirqs", "syscalls", "biolatency" }

-- SIGTERM, then the milliseconds until the process has exited.
local TIMER = [[
import os, select, signal, sys, time
pid = int(sys.argv[1])
fd = os.pidfd_open(pid)
start = time.monotonic()
os.kill(pid, signal.SIGTERM)
select.select([fd], [], [])
print("%.3f" % ((time.monotonic() - start) * 1e3))
]]

local function config_dir(build, with_examples)
  local dir = helper.tmpdir()
  common.run(("cp %s/bench/bench.bpf.o %s/bench/bench.yaml %s/"):format(build, build, dir))
  for _, name in ipairs(with_examples and EXAMPLES or {}) do
    common.run(("cp %s/examples/%s.bpf.o %s/examples/%s.yaml %s/"):format(build, name, build, name, dir))
  end
  return dir
end

-- Whether the kernel still has the object; a tp_btf link's program goes an
-- RCU grace period after the last close, so it is given up to 5 s.
local function kernel_has(kind, id)
  for _ = 1, 100 do
    local _, code = helper.sh(("bpftool %s show id %d"):format(kind, id))
    if code ~= 0 then return false end
    helper.sleep(0.05)
  end
  return true
end

local function one_run(build, dir, names, timer)
  local e = helper.start({ dir = dir, names = names })
  common.run(("%s/elx-bench-baseline fill %d %d"):format(build, common.map_id(e, "bench_values"), N))
  local _, series = e:scrape():gsub("\nebpf_exporter_bench_values{", "")
  assert(series == N, ("the scrape has %d series, not %d"):format(series, N))
  e:scrape() -- a warm one too, as a running exporter has had
  local owned = helper.bpf_fds(e.pid)
  local ms = tonumber((common.run(("/usr/bin/python3.11 %s %d"):format(timer, e.pid))))
  local code, log = e:wait()
  assert(code == 0, "the exporter exited " .. tostring(code) .. ":\n" .. tostring(log))
  for kind, ids in pairs({ prog = owned.progs, map = owned.maps }) do
    for _, id in ipairs(ids) do
      assert(not kernel_has(kind, id), ("%s %d of the exporter is left in the kernel"):format(kind, id))
    end
  end
  for _, link in ipairs(owned.links) do
    assert(not kernel_has("link", link.id), ("link %d of the exporter is left in the kernel"):format(link.id))
  end
  return ms, #owned.progs
end

local function measure(build, with_examples, timer)
  local dir = config_dir(build, with_examples)
  local names = "bench" .. (with_examples and ("," .. table.concat(EXAMPLES, ",")) or "")
  local times, progs = {}, 0
  for i = 1, RUNS do
    times[i], progs = one_run(build, dir, names, timer)
  end
  os.execute("rm -rf " .. dir)
  return common.median(times), progs
end

local function shutdown(build, binary)
  local saved = helper.binary
  helper.binary = binary or helper.binary
  local work = helper.tmpdir()
  local timer = work .. "/timer.py"
  files.write(timer, TIMER)
  local alone = measure(build, false, timer)
  local with, progs = measure(build, true, timer)
  os.execute("rm -rf " .. work)
  helper.binary = saved
  print(("\nshutdown, SIGTERM to exit, with %d series (median of %d; exit 0, nothing of its own left in the kernel):")
    :format(N, RUNS))
  print(("  %-52s %7.1f ms (target < 200 ms)"):format("the bench map alone", alone))
  print(("  %-52s %7.1f ms"):format(("and the default examples (%d programs attached)"):format(progs), with))
end

if standalone then
  shutdown(arg[1] or "build", arg[2])
end

return shutdown
