-- targets: uprobes attached per process to the processes a selector
-- matches, started before or after the exporter, followed through restarts,
-- execs, a binary replaced on disk and another mount namespace, and let go
-- of when they exit. Each spec's processes carry a tag in their command
-- line that no other process has (other copies of these specs run
-- elx-targets-target too), and every count is of pids the spec started.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local t = require("helpers.targets")

local CONFIG = "targets_test"
local PROGRAMS = 2 -- targets_hit (uprobe) and targets_return (uretprobe)

-- The test object's metrics: hits and returns by pid and command.
local function yaml(entries, grace)
  local labels = [[
      labels:
        - name: pid
          size: 4
          decoders:
            - name: uint
        - name: command
          size: 4
          decoders:
            - name: uint
            - name: pid_command
]]
  return "metrics:\n  counters:\n"
    .. "    - name: targets_hits_total\n      help: Calls of elx_targets_hit by process\n" .. labels
    .. "    - name: targets_returns_total\n      help: Returns of elx_targets_hit by process\n" .. labels
    .. "targets:\n  grace_period: " .. (grace or "1m") .. "\n  processes:\n" .. entries
end

-- One entry: both programs, for processes named `comm` (default the
-- target's) whose command line has `tag`.
local function entry(tag, extra, comm)
  return ("    - programs: [targets_hit, targets_return]\n      comm: %s\n      cmdline: ' %s '\n%s")
    :format(comm or t.COMM, tag, extra or "")
end

local function start(entries, grace)
  local dir = helper.config_dir(CONFIG, CONFIG, yaml(entries, grace))
  local e = helper.start({ dir = dir, names = CONFIG, args = "--debug --web.enable-lifecycle" })
  e.dir = dir
  return e
end

local function series(name, pid, comm)
  return ('ebpf_exporter_%s{command="%s",pid="%d"}'):format(name, comm or t.COMM, pid)
end

local function attached(s)
  return s[('ebpf_exporter_attached_processes{config="%s",program="targets_hit"}'):format(CONFIG)]
end

describe("targets", function()
  local exporter, procs
  before_each(function()
    procs = {}
  end)
  after_each(function()
    for _, p in ipairs(procs) do
      p:stop()
    end
    if exporter then
      assert.equal(0, (exporter:stop()))
      exporter = nil
    end
  end)

  local function run(...)
    local p = t.run(...)
    procs[#procs + 1] = p
    return p
  end

  it("attaches to matching processes started after it, counts each exactly, and not the others", function()
    local tag, other = t.tag(), t.tag()
    exporter = start(entry(tag))
    local before = exporter:samples()
    assert.equal(0, attached(before))
    assert.same({}, t.links(exporter, CONFIG)) -- nothing attached at load
    local a, b, c = run(tag, 100), run(tag, 250), run(other, 7)
    for _, p in ipairs({ a, b }) do
      local found = t.wait_attached(exporter, p.pid, PROGRAMS)
      for _, at in ipairs(found) do
        -- Within one second of the process being ready to run.
        assert.is_true(at.ms - p.ready_ms < 1000, ("attached %d ms after start"):format(at.ms - p.ready_ms))
      end
    end
    a:hit(100)
    b:hit(250)
    b:hit(500)
    c:hit(7)
    local s = exporter:samples()
    assert.equal(100, s[series("targets_hits_total", a.pid)])
    assert.equal(500, s[series("targets_hits_total", b.pid)])
    assert.equal(100, s[series("targets_returns_total", a.pid)])
    assert.equal(500, s[series("targets_returns_total", b.pid)])
    assert.is_nil(s[series("targets_hits_total", c.pid)])
    assert.is_nil(s[series("targets_returns_total", c.pid)])
    assert.same({}, t.attaches(exporter, c.pid))
    assert.equal(2, attached(s))
    assert.equal(0, s[('ebpf_exporter_target_attach_errors_total{config="%s",program="targets_hit"}'):format(CONFIG)])
    assert.equal(2 * PROGRAMS, #t.links(exporter, CONFIG))
  end)

  it("attaches to matching processes that ran before it started", function()
    local tag = t.tag()
    local early = run(tag, 40)
    exporter = start(entry(tag))
    t.wait_attached(exporter, early.pid, PROGRAMS)
    early:hit(40)
    assert.equal(40, exporter:samples()[series("targets_hits_total", early.pid)])
  end)

  it("attaches again to a matching process restarted after it started, and to one that execs into the binary",
    function()
      local tag = t.tag()
      exporter = start(entry(tag))
      local first = run(tag, 10)
      t.wait_attached(exporter, first.pid, PROGRAMS)
      first:hit(10)
      assert.matches("bye\n$", first:stop())
      local second = run(tag, 20)
      t.wait_attached(exporter, second.pid, PROGRAMS)
      second:hit(20)
      -- A shell (comm "sh": no match) that execs the target: same pid, now a match.
      local go = helper.tmpdir() .. "/go"
      local execd = t.spawn(("exec sh -c 'while [ ! -e %s ]; do sleep 0.05; done; exec %s %s 30'")
        :format(go, t.target, tag))
      procs[#procs + 1] = execd
      helper.sleep(0.5)
      assert.same({}, t.attaches(exporter, execd.pid))
      files.write(go, "")
      execd:wait_ready()
      t.wait_attached(exporter, execd.pid, PROGRAMS)
      execd:hit(30)
      local s = exporter:samples()
      assert.equal(10, s[series("targets_hits_total", first.pid)]) -- within its grace period
      assert.equal(20, s[series("targets_hits_total", second.pid)])
      assert.equal(30, s[series("targets_hits_total", execd.pid)])
    end)

  it("probes each process in the build it runs when the binary is replaced on disk, and neither crashes", function()
    local tag, dir = t.tag(), helper.tmpdir()
    local app = dir .. "/app"
    local function offset(bin)
      return files.run("nm " .. bin .. " | awk '$3 == \"elx_targets_hit\" { print $1 }'"):gsub("%s+$", "")
    end
    assert.are_not.equal(offset(t.target), offset(t.moved)) -- another build: the function moved
    exporter = start(entry(tag, "      binary: " .. app .. "\n", "app"))
    files.run(("cp %s %s"):format(t.target, app))
    local old = run(tag, 100, app)
    local old_file = t.wait_attached(exporter, old.pid, PROGRAMS)[1].file
    -- A package upgrade: the new build is renamed over the old file.
    files.run(("cp %s %s.new && mv %s.new %s"):format(t.moved, app, app, app))
    local new = run(tag, 250, app)
    local new_file = t.wait_attached(exporter, new.pid, PROGRAMS)[1].file
    assert.are_not.equal(old_file, new_file) -- each process's own inode
    old:hit(100)
    new:hit(250)
    local s = exporter:samples()
    assert.equal(100, s[series("targets_hits_total", old.pid, "app")])
    assert.equal(250, s[series("targets_hits_total", new.pid, "app")])
    assert.equal(100, s[series("targets_returns_total", old.pid, "app")])
    assert.equal(250, s[series("targets_returns_total", new.pid, "app")])
    assert.matches("hit 100\nbye\n$", old:stop())
    assert.matches("hit 250\nbye\n$", new:stop())
    procs = {}
  end)

  it("attaches in another mount namespace to the binary as the process sees it there", function()
    local tag, dir = t.tag(), helper.tmpdir()
    local path, copy = dir .. "/app", dir .. "/copy"
    -- Here, the path holds another build; in the namespace, a bind mount
    -- puts a copy of the real one over it.
    files.run(("cp %s %s && cp %s %s"):format(t.moved, path, t.target, copy))
    exporter = start(entry(tag, "      binary: " .. path .. "\n", "app"))
    local p = t.start(("exec unshare -m --propagation private sh -c 'mount --bind %s %s && exec %s %s 60'")
      :format(copy, path, path, tag))
    procs[#procs + 1] = p
    local found = t.wait_attached(exporter, p.pid, PROGRAMS)
    local ino = files.run("stat -c %i " .. copy):gsub("%s+$", "")
    assert.equal(ino, found[1].file:match(":(%d+)$"))
    p:hit(60)
    assert.equal(60, exporter:samples()[series("targets_hits_total", p.pid, "app")])
    assert.matches("bye\n$", p:stop())
    procs = {}
  end)

  it("detaches from exited processes at once, drops their series after the grace period, and leaks nothing",
    function()
      local tag = t.tag()
      exporter = start(entry(tag), "2s")
      local idle = helper.bpf_fds(exporter.pid).kinds
      local a, b = run(tag, 5), run(tag, 6)
      t.wait_attached(exporter, a.pid, PROGRAMS)
      t.wait_attached(exporter, b.pid, PROGRAMS)
      a:hit(5)
      b:hit(6)
      assert.equal(2 * PROGRAMS, #t.links(exporter, CONFIG))
      a:stop()
      -- The links go at once; the kernel then takes its time (~0.1 s a
      -- probe, one at a time machine-wide) to tear the probes down.
      t.wait_for("a's links to go", function() return attached(exporter:samples()) == 1 end)
      assert.equal(5, exporter:samples()[series("targets_hits_total", a.pid)]) -- kept for the grace period
      t.wait_for("a's series to go", function()
        return exporter:samples()[series("targets_hits_total", a.pid)] == nil
      end, 6)
      -- The grace period after the exit, as the exporter saw both: its
      -- timer counts from the loop's time at the exit, cached before the
      -- detach is logged, and log lines have whole milliseconds, so a few
      -- ms under 2000 is the same moment.
      local detached = t.logged_ms(exporter, "detached 2 program%(s%) from process " .. a.pid .. "$")
      local deleted = t.logged_ms(exporter, "map targets_hits_total: 1 keys of 1 exited process")
      assert.is_true(deleted - detached >= 1990 and deleted - detached < 2500,
        ("keys deleted %d ms after the exit, for a grace period of 2 s"):format(deleted - detached))
      local s = exporter:samples()
      assert.is_nil(s[series("targets_returns_total", a.pid)])
      assert.equal(6, s[series("targets_hits_total", b.pid)])
      b:stop()
      procs = {}
      t.wait_for("b's series to go", function()
        return exporter:samples()[series("targets_hits_total", b.pid)] == nil
      end, 6)
      assert.equal(0, attached(exporter:samples()))
      t.wait_for("every probe to be torn down", function() return #t.links(exporter, CONFIG) == 0 end, 60)
      local now = helper.bpf_fds(exporter.pid).kinds
      assert.equal(idle["anon_inode:bpf_link"], now["anon_inode:bpf_link"])
      assert.equal(idle["anon_inode:[perf_event]"], now["anon_inode:[perf_event]"])
      assert.same(idle, now)
    end)

  it("keeps the links of processes still selected across a reload and drops the others", function()
    local keep, drop = t.tag(), t.tag()
    exporter = start(entry(keep) .. entry(drop))
    local ids = helper.program_ids(exporter:scrape())
    local a, b = run(keep, 10), run(drop, 20)
    t.wait_attached(exporter, a.pid, PROGRAMS)
    t.wait_attached(exporter, b.pid, PROGRAMS)
    a:hit(10)
    b:hit(20)
    local links = t.links(exporter, CONFIG)
    assert.equal(2 * PROGRAMS, #links)
    files.write(exporter.dir .. "/" .. CONFIG .. ".yaml", yaml(entry(keep)))
    local _, status = exporter:get("/-/reload", "-X POST")
    assert.equal(200, status)
    assert.same(ids, helper.program_ids(exporter:scrape())) -- the object was kept
    t.wait_for("b's links to go", function() return attached(exporter:samples()) == 1 end)
    a:hit(20)
    local s = exporter:samples()
    assert.equal(20, s[series("targets_hits_total", a.pid)]) -- counting on, on the same links
    assert.equal(20, s[series("targets_hits_total", b.pid)])
    assert.equal(1, #t.attaches(exporter, a.pid) / PROGRAMS) -- never attached again
    t.wait_for("b's probes to be torn down", function() return #t.links(exporter, CONFIG) == PROGRAMS end, 30)
    for _, id in ipairs(t.links(exporter, CONFIG)) do
      local kept = false
      for _, old in ipairs(links) do kept = kept or old == id end
      assert.is_true(kept, "link " .. id .. " is new")
    end
  end)

  it("counts a failed attach once, logs it once, and tries again only when the process execs", function()
    local tag = t.tag()
    -- A shell has no elx_targets_hit: attaching to it fails.
    exporter = start(("    - programs: [targets_hit]\n      cmdline: ' %s$'\n"):format(tag))
    local errors = ('ebpf_exporter_target_attach_errors_total{config="%s",program="targets_hit"}'):format(CONFIG)
    local go = helper.tmpdir() .. "/go"
    local pid = tonumber((files.run(("sh -c 'while [ ! -e %s ]; do sleep 0.05; done; exec sh -c \"sleep 30\" x %s' "
      .. "x %s >/dev/null 2>&1 & echo $!"):format(go, tag, tag)):match("%d+")))
    t.wait_for("the failure", function() return exporter:samples()[errors] == 1 end)
    helper.sleep(1) -- other processes come and go meanwhile: no retry
    assert.equal(1, exporter:samples()[errors])
    files.write(go, "")
    t.wait_for("the failure after the exec", function() return exporter:samples()[errors] == 2 end)
    local log = helper.read_file(exporter.log)
    local _, logged = log:gsub("attaching to process " .. pid .. " %(sh%) failed: no function elx_targets_hit", "")
    assert.equal(2, logged)
    files.run("kill " .. pid)
  end)

  it("uses no CPU while nothing happens: no polling", function()
    local tag = t.tag()
    exporter = start(entry(tag))
    run(tag, 1)
    t.wait_attached(exporter, procs[1].pid, PROGRAMS)
    local before = t.cpu_seconds(exporter.pid)
    helper.sleep(3)
    -- Other processes' execs on this machine cost a little; a polling loop
    -- would cost a whole core.
    assert.is_true(t.cpu_seconds(exporter.pid) - before < 0.3)
  end)
end)
