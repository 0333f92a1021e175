-- `targets:`: the YAML section's checks (every mistake, with its path), its
-- binding to the object's programs and the metrics' keys, the selectors on
-- a fixture /proc, and the policy that turns process events into attaches.
local ffi = require("ffi")
require("exporter.abi")
local api = require("exporter.decoder_api")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local metric = require("exporter.metric")
local processes = require("exporter.processes")
local selector = require("exporter.selector")
local targets = require("exporter.targets")
local files = require("helpers.files")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))

local function parse(text)
  return config.parse(text, "t.yaml", { config = "t", registry = registry })
end

local METRICS = [[
metrics:
  counters:
    - name: hits_total
      help: Hits
      labels:
        - { name: pid, size: 4, decoders: [{ name: uint }] }
        - { name: command, size: 4, decoders: [{ name: uint }, { name: pid_command }] }
]]

local PROGRAMS = {
  { name = "hit", section = "uprobe//proc/self/exe:hit" },
  { name = "ret", section = "uretprobe//usr/bin/app:hit" },
  { name = "py", section = "usdt//usr/bin/python3.11:python:function__entry" },
  { name = "lib", section = "uprobe/libc.so.6:malloc" },
  { name = "tick", section = "tracepoint/sched/sched_switch" },
}

local MAPS = { { name = "hits_total", type = 1, key_size = 8, value_size = 8, max_entries = 64, percpu = 0 } }

describe("targets config", function()
  it("reads processes, criteria, grace_period and pid_label", function()
    local cfg = assert(parse(METRICS .. [[
targets:
  grace_period: 90s
  processes:
    - programs: [hit, ret]
      comm: app
      exe: /usr/bin/app*
      cmdline: --serve
      cgroup: ^/system\.slice/
      parent_comm: systemd
      binary: /usr/bin/app
]]))
    local t = cfg.targets
    assert.equal(90, t.grace)
    assert.equal("pid", t.pid_label)
    assert.equal(1, #t.entries)
    assert.same({ "hit", "ret" }, t.entries[1].programs)
    assert.equal("/usr/bin/app", t.entries[1].binary)
    assert.is_true(t.entries[1].parent_comm)
    assert.is_function(t.entries[1].match)
  end)

  it("reports every mistake with its path", function()
    local cfg, errors, warnings = parse(METRICS .. [[
targets:
  grace_period: soon
  procesess: []
  processes:
    - programs: []
      comm: a-name-longer-than-fifteen
    - programs: [hit]
      cmdline: "(unclosed"
      binary: relative/path
    - programs: [hit]
    - comm: app
    - just a string
]])
    assert.is_nil(cfg)
    assert.same({
      't.yaml: targets.procesess: unknown key; did you mean processes? (ignored; --config.strict refuses it)',
    }, warnings)
    assert.same({
      't.yaml: targets.grace_period: "soon" is not a duration like 10m or 1h30m',
      't.yaml: targets.processes[0].programs: must be a non-empty list of program names',
      't.yaml: targets.processes[0].comm: "a-name-longer-than-fifteen" can never match: the kernel keeps the first '
        .. '15 bytes of a command (use exe or cmdline for longer names)',
      't.yaml: targets.processes[1].binary: must be an absolute path, as the processes see it',
      't.yaml: targets.processes[1].cmdline: "(unclosed" does not compile: missing closing parenthesis at offset 9',
      't.yaml: targets.processes[2]: needs at least one of comm, parent_comm, exe, cmdline, cgroup: a program for '
        .. 'every process is one without targets',
      't.yaml: targets.processes[3].programs: missing: the names of the programs to attach (their C function names)',
      't.yaml: targets.processes[4]: must be a mapping with programs and process criteria',
    }, errors)
  end)

  local function bind(text)
    local cfg = assert(parse(METRICS .. text))
    local plans = assert(metric.bind(cfg, MAPS, { cache_size = 16 }))
    return targets.bind(cfg, PROGRAMS, plans)
  end

  it("binds to uprobe, uretprobe and usdt programs and finds the pid in the keys", function()
    local bound, warnings = bind([[
targets:
  grace_period: 2m
  processes:
    - { programs: [ret, hit], comm: app }
    - { programs: [py, hit], exe: /usr/bin/python3.11 }
    - { programs: [lib], comm: app, binary: /lib/x86_64-linux-gnu/libc.so.6 }
]])
    assert.same({ programs = { "hit", "lib", "py", "ret" }, grace_ms = 120000,
      pid_fields = { { offset = 0, size = 4 } } }, bound)
    assert.same({}, warnings)
  end)

  it("refuses programs it cannot attach per process, each with its path", function()
    local bound, errors = bind([[
targets:
  processes:
    - { programs: [tick, nope, lib], comm: app }
]])
    assert.is_nil(bound)
    assert.same({
      't.yaml: targets.processes[0].programs[0]: program tick has SEC("tracepoint/sched/sched_switch"): targets '
        .. 'attach uprobe, uretprobe and usdt programs',
      't.yaml: targets.processes[0].programs[1]: no program "nope" in the object',
      't.yaml: targets.processes[0].programs[2]: SEC("uprobe/libc.so.6:malloc") names no absolute path: give the '
        .. 'entry a binary',
    }, errors)
  end)

  it("says when no metric has the pid label: series of exited processes then stay", function()
    local _, warnings = bind([[
targets:
  pid_label: tgid
  processes:
    - { programs: [hit], comm: app }
]])
    assert.same({ 't.yaml: targets.pid_label: no metric has a label "tgid": the series of exited processes are '
      .. 'never dropped' }, warnings)
  end)
end)

-- A fixture /proc: pid -> { comm, cmdline (args), cgroup, ppid, started, exe }.
local function fake_proc(procs)
  local root = files.tmpdir()
  for pid, p in pairs(procs) do
    local dir = root .. "/" .. pid
    files.run("mkdir -p " .. dir)
    files.write(dir .. "/comm", p.comm .. "\n")
    files.write(dir .. "/cmdline", table.concat(p.cmdline or { p.comm }, "\0") .. "\0")
    files.write(dir .. "/cgroup", "0::" .. (p.cgroup or "/") .. "\n")
    files.write(dir .. "/stat", ("%d (%s) S %d 1 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 %d 1000 100 0\n")
      :format(pid, p.comm, p.ppid or 1, p.started or 100))
    if p.exe then
      files.run(("ln -s '%s' %s/exe"):format(p.exe, dir))
    end
  end
  api.paths.proc = root
  return root
end

describe("selectors", function()
  after_each(api.reset)

  local function matches(criteria, pid, known)
    local match = assert(selector.compile(criteria, registry, { path = "test" }))
    return match(selector.view(pid, known))
  end

  it("match comm, parent_comm, exe (exact or glob), cmdline and cgroup, all of them", function()
    fake_proc({
      [10] = { comm = "python3.11", cmdline = { "/usr/bin/python3.11", "app.py", "--serve" },
        cgroup = "/system.slice/app.service", ppid = 1, exe = "/usr/bin/python3.11 (deleted)" },
      [1] = { comm = "systemd" },
    })
    assert.is_true(matches({ comm = "python3.11" }, 10))
    assert.is_false(matches({ comm = "python3" }, 10))
    assert.is_true(matches({ parent_comm = "systemd" }, 10))
    assert.is_true(matches({ exe = "/usr/bin/python3.11" }, 10)) -- replaced on disk: still its path
    assert.is_true(matches({ exe = "/usr/bin/python3*" }, 10))
    assert.is_true(matches({ exe = "*/python3.1?" }, 10))
    assert.is_false(matches({ exe = "/usr/local/*" }, 10))
    assert.is_true(matches({ cmdline = "app\\.py --serve$" }, 10))
    assert.is_false(matches({ cmdline = "^app" }, 10))
    assert.is_true(matches({ cgroup = "^/system\\.slice/app" }, 10))
    assert.is_true(matches({ comm = "python3.11", cmdline = "--serve", cgroup = "app" }, 10))
    assert.is_false(matches({ comm = "python3.11", cmdline = "--debug" }, 10))
    assert.is_false(matches({ comm = "x" }, 99)) -- no such process
    assert.is_false(matches({ exe = "*" }, 99))
  end)

  it("take what the event said over /proc, and read no more than they need", function()
    fake_proc({ [10] = { comm = "bash" } })
    assert.is_true(matches({ comm = "make", parent_comm = "sh" }, 10, { comm = "make", parent_comm = "sh" }))
    local view = selector.view(10, { comm = "make" })
    local match = assert(selector.compile({ comm = "cc", cmdline = "x" }, registry, { path = "test" }))
    assert.is_false(match(view))
    assert.is_nil(rawget(view, "cmdline")) -- the comm did not match: nothing read
  end)
end)

describe("processes", function()
  local gone
  before_each(function()
    processes.reset()
    gone = {}
  end)
  after_each(function()
    api.reset()
    processes.reset()
  end)

  local function engine(entries, grace)
    local cfg = assert(parse(METRICS .. "targets:\n  processes:\n" .. entries))
    return processes.new({ { name = "t", entries = cfg.targets.entries, grace = grace or 60 } },
      function(name, pid) gone[#gone + 1] = name .. " " .. pid end)
  end

  local CHANGE = { found = 1, exec = 2, fork = 3, exit = 4 }

  -- A call with events { "exec 10 make sh", "found 11", ... } and gone pids.
  local function call(events, listing, gone_pids)
    local ev = ffi.new("struct elx_process_event[?]", #events + 1)
    for i, e in ipairs(events) do
      local change, pid, comm, parent = e:match("^(%S+) (%d+) ?(%S*) ?(%S*)$")
      local x = ev[i - 1]
      x.change, x.pid = CHANGE[change], tonumber(pid)
      ffi.copy(x.comm, comm)
      ffi.copy(x.parent_comm, parent)
    end
    local g = ffi.new("struct elx_process_gone[?]", #(gone_pids or {}) + 1)
    for i, pid in ipairs(gone_pids or {}) do
      g[i - 1].config, g[i - 1].pid = "t", pid
    end
    local c = ffi.new("struct elx_process_sync", { events = ev, nevents = #events, listing = listing and 1 or 0,
      gone = g, ngone = #(gone_pids or {}) })
    return c, { ev, g }
  end

  local function ops(e, events, listing, gone_pids)
    local c, keep = call(events, listing, gone_pids)
    assert.is_true(e:sync(c))
    local out = {}
    for i = 0, c.nops - 1 do
      local op = c.ops[i]
      out[#out + 1] = ("%s %s %d %s"):format(ffi.string(op.config), ffi.string(op.program), op.pid,
        op.binary ~= nil and ffi.string(op.binary) or "-")
    end
    table.sort(out)
    return out, c.all_forks, keep
  end

  it("attaches each matching process's programs, once each, and nothing to the others", function()
    fake_proc({ [10] = { comm = "app", cmdline = { "app", "--serve" } }, [11] = { comm = "app" },
      [12] = { comm = "cc" } })
    local e = engine([[
    - { programs: [hit, ret], comm: app }
    - { programs: [ret, py], cmdline: serve, binary: /opt/app }
]])
    local got, all_forks = ops(e, { "found 10", "found 11", "found 12" }, true)
    assert.same({ "t hit 10 -", "t hit 11 -", "t py 10 /opt/app", "t ret 10 -", "t ret 11 -" }, got)
    assert.equal(0, all_forks)
  end)

  it("follows execs and forks, and answers a listing with everything wanted", function()
    fake_proc({ [10] = { comm = "sh" }, [20] = { comm = "app" } })
    local e = engine("    - { programs: [hit], comm: app }\n")
    assert.same({ "t hit 20 -" }, (ops(e, { "found 10", "found 20" }, true)))
    -- 10 execs app: the event's comm is taken, /proc is not read for it.
    assert.same({ "t hit 10 -" }, (ops(e, { "exec 10 app sh" })))
    assert.same({}, (ops(e, { "exec 20 cc app" }))) -- 20 runs something else now
    assert.same({ "t hit 21 -" }, (ops(e, { "fork 21 app app" })))
    fake_proc({ [10] = { comm = "app" }, [20] = { comm = "cc" }, [21] = { comm = "app" } })
    assert.same({ "t hit 10 -", "t hit 21 -" }, (ops(e, { "found 10", "found 20", "found 21" }, true)))
  end)

  it("asks the core for every fork when a selector needs the parent's command", function()
    local _, all_forks = ops(engine("    - { programs: [hit], parent_comm: gunicorn }\n"), {}, false)
    assert.equal(1, all_forks)
  end)

  it("names a matched process after it exited, until its keys are gone", function()
    fake_proc({ [10] = { comm = "app" } })
    local e = engine("    - { programs: [hit], comm: app }\n")
    ops(e, { "found 10" }, true)
    fake_proc({})
    ops(e, { "exit 10" })
    assert.equal("app", processes.command(10))
    local decode = assert(registry:new({ name = "pid_command" }, { path = "test" }))
    assert.equal("app", decode("10"))
    assert.same({}, (ops(e, {}, true))) -- exited: nothing to attach
    assert.equal("app", processes.command(10))
    ops(e, {}, false, { 10 })
    assert.same({ "t 10" }, gone)
    assert.is_nil(processes.command(10))
    assert.equal("unknown", decode("10"))
  end)

  it("sees a pid reused while events were lost: another start time is another process", function()
    fake_proc({ [10] = { comm = "app", started = 100 } })
    local e = engine("    - { programs: [hit], comm: app }\n")
    assert.same({ "t hit 10 -" }, (ops(e, { "found 10" }, true)))
    fake_proc({ [10] = { comm = "cc", started = 200 } })
    assert.same({}, (ops(e, { "found 10" }, true)))
    fake_proc({ [10] = { comm = "cc", started = 200 } })
    assert.same({}, (ops(e, { "found 10" }, true)))
  end)

  it("forgets processes that left a listing unmatched, and exited ones past every grace period", function()
    fake_proc({ [10] = { comm = "cc" }, [11] = { comm = "app" } })
    local e = engine("    - { programs: [hit], comm: app }\n", 0)
    ops(e, { "found 10", "found 11" }, true)
    ops(e, {}, true) -- both gone: 11 matched, so it counts as exited now
    assert.equal("app", processes.command(11))
    local now = require("exporter.clock").monotonic
    local clock = require("exporter.clock")
    clock.monotonic = function() return now() + 120 end
    finally(function() clock.monotonic = now end)
    ops(e, {}, true)
    fake_proc({})
    assert.is_nil(processes.command(11))
  end)
end)

describe("pid_command decoder", function()
  after_each(function()
    api.reset()
    processes.reset()
  end)

  it("names a live process from /proc and refuses what is no pid", function()
    fake_proc({ [4242] = { comm = "nginx" } })
    local decode = assert(registry:new({ name = "pid_command" }, { path = "test" }))
    assert.equal("nginx", decode("4242"))
    assert.equal("unknown", decode("4243"))
    local _, err = decode("x1")
    assert.equal("pid_command: not a process id: x1", err)
    local none, why = registry:new({ name = "pid_command" }, { path = "test", input_size = 4 })
    assert.is_nil(none)
    assert.matches("needs the decimal process id from a decoder such as uint first", why)
  end)
end)
