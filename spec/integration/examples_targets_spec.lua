-- The targets examples, as shipped: worker-jobs counts the jobs of each
-- elx-worker process, python-calls the function calls of each Python
-- process, both attached per process after the exporter started. Other
-- copies of these specs run workers and Pythons of their own, which the
-- examples select too: only the spec's own pids are counted.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local t = require("helpers.targets")

local PYTHON = "/usr/bin/python3.11"

local function start(name)
  return helper.start({ dir = helper.examples_dir, names = name, args = "--debug" })
end

-- A command that starts once the file `go` exists: its process runs (and
-- can be attached to) before it does anything.
local function after(go, command)
  return ("sh -c 'while [ ! -e %s ]; do sleep 0.05; done; %s'"):format(go, command)
end

describe("targets examples", function()
  local exporter
  after_each(function()
    if exporter then
      assert.equal(0, (exporter:stop()))
      exporter = nil
    end
  end)

  it("worker-jobs counts the jobs of each elx-worker started after the exporter", function()
    exporter = start("worker-jobs")
    local dir = helper.tmpdir()
    local workers = {}
    for i, jobs in ipairs({ 12, 31 }) do
      local go = ("%s/go%d"):format(dir, i)
      -- The worker reads its jobs from a pipe that stays empty until go.
      local out = ("%s/out%d"):format(dir, i)
      local pid = tonumber((files.run(("%s 2>/dev/null </dev/null | %s/elx-worker >%s 2>&1 & echo $!"):format(
        after(go, "seq " .. jobs), helper.examples_dir, out)):match("%d+")))
      workers[i] = { pid = pid, go = go, out = out, jobs = jobs }
    end
    for _, w in ipairs(workers) do
      t.wait_attached(exporter, w.pid, 1)
      files.write(w.go, "")
    end
    for _, w in ipairs(workers) do
      t.wait_for("worker " .. w.pid, function()
        return (files.try_read(w.out) or ""):find(("%d jobs"):format(w.jobs), 1, true)
      end)
    end
    local s = exporter:samples()
    for _, w in ipairs(workers) do
      assert.equal(w.jobs, s[('ebpf_exporter_worker_jobs_total{command="elx-worker",pid="%d"}'):format(w.pid)])
    end
  end)

  it("python-calls counts a Python process's calls of a function, by pid and function", function()
    if not helper.read_file(PYTHON) then
      return pending(PYTHON .. " is not installed")
    end
    exporter = start("python-calls")
    local dir = helper.tmpdir()
    local fn = ("elx_spec_fn_%d"):format(math.random(1e8))
    files.write(dir .. "/calls.py", ([[
import os, sys, time
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.02)
def %s():
    pass
sys.setprofile(lambda *args: None)
for _ in range(%d):
    %s()
sys.setprofile(None)
print("done", flush=True)
]]):format(fn, 77, fn))
    local pid = tonumber((files.run(("%s %s/calls.py %s/go >%s/out 2>&1 </dev/null & echo $!"):format(
      PYTHON, dir, dir, dir)):match("%d+")))
    t.wait_attached(exporter, pid, 1)
    files.write(dir .. "/go", "")
    t.wait_for("the Python calls", function()
      return (files.try_read(dir .. "/out") or ""):find("done", 1, true)
    end)
    local s = exporter:samples()
    assert.equal(77, s[('ebpf_exporter_python_process_calls_total{command="python3.11",function="%s",pid="%d"}')
      :format(fn, pid)])
  end)
end)
