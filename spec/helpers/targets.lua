-- Helpers for the targets specs: processes of elx-targets-target started and
-- driven by signals (spec/integration/target/targets_target.c), and what the
-- exporter's debug log says about attaching to them.
local helper = require("helpers.exporter")
local files = require("helpers.files")

local M = {}

M.target = helper.spec_dir .. "/elx-targets-target"
M.moved = helper.spec_dir .. "/elx-targets-target-moved"
M.COMM = "elx-targets-tar" -- the kernel keeps 15 bytes of the name

--- A tag no other process has in its command line: selectors match it.
function M.tag()
  return ("elx-tgt-%d-%d"):format(tonumber((helper.sh("echo $PPID"))), math.random(1e8))
end

local Process = {}
Process.__index = Process

local function wait_for(what, fn, seconds)
  for _ = 1, (seconds or 10) * 20 do
    local v = fn()
    if v then
      return v
    end
    helper.sleep(0.05)
  end
  error("timed out waiting for " .. what)
end
M.wait_for = wait_for

--- Runs `command` (a shell command that execs the target in the end, so
-- that the pid is the target's) in the background with its output in a
-- file, without waiting for it.
function M.spawn(command)
  local out = helper.tmpdir() .. "/out"
  local pid = tonumber((files.run(("(%s) >%s 2>&1 </dev/null & echo $!"):format(command, out)):match("%d+")))
  return setmetatable({ pid = pid, out = out }, Process)
end

--- Waits until the target says it is ready (its handlers set).
function Process:wait_ready()
  wait_for("process " .. self.pid .. " to be ready", function()
    return (files.try_read(self.out) or ""):match("ready %d+ %d+")
  end)
  local pid, ms = files.try_read(self.out):match("ready (%d+) (%d+)")
  assert(tonumber(pid) == self.pid, ("the target says pid %s, the shell %d"):format(pid, self.pid))
  self.ready_ms = tonumber(ms)
  return self
end

--- spawn, then wait_ready.
function M.start(command)
  return M.spawn(command):wait_ready()
end

--- The target binary `bin` (default elx-targets-target) with `tag`, calling
-- elx_targets_hit `hits` times per SIGUSR1.
function M.run(tag, hits, bin)
  return M.start(("exec %s %s %d"):format(bin or M.target, tag, hits))
end

--- One round of calls: waits until the process says it made them.
function Process:hit(total)
  files.run("kill -USR1 " .. self.pid)
  wait_for(("process %d to reach %d hits"):format(self.pid, total), function()
    return (files.try_read(self.out) or ""):find("hit " .. total .. "\n", 1, true)
  end)
end

--- Ends it with SIGTERM; returns its output, which ends with "bye" when it
-- lived to the end normally (a corrupted process dies without it).
function Process:stop()
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  wait_for("process " .. self.pid .. " to exit", function()
    local _, code = helper.sh("kill -0 " .. self.pid .. " 2>/dev/null")
    return code ~= 0
  end)
  return files.try_read(self.out) or ""
end

-- "2026-11-30T04:09:00.566Z" -> Unix time in milliseconds.
local function log_ms(stamp)
  local y, mo, d, h, mi, s, ms = stamp:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.(%d+)Z$")
  y, mo = tonumber(y), tonumber(mo)
  -- Days from the civil date (proleptic Gregorian), without the local time zone.
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000 + tonumber(ms)
end

--- When the exporter first logged a line matching `pattern` (a Lua pattern
-- of the text after "debug: "), in Unix milliseconds; nil if it did not.
function M.logged_ms(exporter, pattern)
  for stamp, text in (helper.read_file(exporter.log) or ""):gmatch("(%S+) debug: ([^\n]*)") do
    if text:find(pattern) then
      return log_ms(stamp)
    end
  end
end

--- The exporter's debug lines about attaching to process `pid`: a list of
-- { program, file = "dev:ino", ms = Unix time } in log order.
function M.attaches(exporter, pid)
  local found = {}
  for stamp, program, file in (helper.read_file(exporter.log) or ""):gmatch(
      "(%S+) debug: config [^\n]-: program (%S+): attached to process " .. pid .. " %(file (%d+:%d+)%)") do
    found[#found + 1] = { program = program, file = file, ms = log_ms(stamp) }
  end
  return found
end

--- Waits until process `pid` has `n` attaches logged; returns them.
function M.wait_attached(exporter, pid, n)
  return wait_for(("%d attaches to process %d"):format(n, pid), function()
    local a = M.attaches(exporter, pid)
    return #a >= n and a
  end)
end

--- The links the exporter holds for programs of config `config`.
function M.links(exporter, config)
  local ids = {}
  for id in exporter:scrape():gmatch('ebpf_exporter_ebpf_program_info{config="' .. config .. '",id="(%d+)"') do
    ids[tonumber(id)] = true
  end
  local links = {}
  for _, l in ipairs(helper.bpf_fds(exporter.pid).links) do
    if ids[l.prog] then
      links[#links + 1] = l.id
    end
  end
  return links
end

--- Seconds on a monotonic clock.
M.now = require("exporter.clock").monotonic

--- The exporter's own CPU time (user + system), in seconds.
function M.cpu_seconds(pid)
  local stat = helper.read_file("/proc/" .. pid .. "/stat")
  local rest = stat:match("^.*%)%s(.*)$")
  local fields = {}
  for f in rest:gmatch("%S+") do fields[#fields + 1] = f end
  -- utime and stime are fields 14 and 15: rest starts at field 3.
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

return M
