-- The processes this Lua state knows, and which programs of which config
-- each one gets (ELX_ENTRY_PROCESSES): the core says what ran, changed and
-- went; this answers with the attachments. Matched processes are
-- remembered after they exit, with their command, until their series are
-- dropped (the pid_command decoder names them meanwhile); the others only
-- until a listing no longer has them, so that a rescan of /proc looks only
-- at processes it has not seen.
local ffi = require("ffi")
local clock = require("exporter.clock")
local procfs = require("exporter.procfs")
local selector = require("exporter.selector")

local M = {}

local C = ffi.C

-- pid -> { wants = {{config, program, binary}...}, comm, started, exited }.
-- exited: when the process ended, in seconds on the monotonic clock.
local known = {}

--- The command of process `pid`: as it was when the process was matched
-- (also after it exited), else what /proc says now; nil when nobody knows.
function M.command(pid)
  local p = known[pid]
  if p and p.comm then
    return p.comm
  end
  return procfs.comm(pid)
end

--- For specs: forgets every process.
function M.reset()
  known = {}
end

local Engine = {}
Engine.__index = Engine

--- An engine for configs { {name, entries, grace}... } (targets.check's
-- entries). on_gone(config, pid) runs when the core has deleted the keys of
-- an exited process of that config.
function M.new(configs, on_gone)
  local self = setmetatable({ configs = configs, on_gone = on_gone, all_forks = false, grace = 0 }, Engine)
  for _, cfg in ipairs(configs) do
    self.grace = math.max(self.grace, cfg.grace)
    for _, entry in ipairs(cfg.entries) do
      self.all_forks = self.all_forks or entry.parent_comm
    end
  end
  return self
end

-- What the selectors want for process `pid`; facts are what an event said.
function Engine:evaluate(pid, facts)
  local view = selector.view(pid, facts)
  local wants = {}
  for _, cfg in ipairs(self.configs) do
    local taken = {}
    for _, entry in ipairs(cfg.entries) do
      if entry.match and entry.match(view) then
        for _, program in ipairs(entry.programs) do
          if not taken[program] then
            taken[program] = true
            wants[#wants + 1] = { config = cfg.name, program = program, binary = entry.binary }
          end
        end
      end
    end
  end
  local p = { wants = wants }
  if #wants > 0 then
    p.comm = view.comm or nil
    p.started = view.stat and view.stat.started
  end
  known[pid] = p
  return p
end

local function facts(e)
  local f = { comm = ffi.string(e.comm) }
  if e.parent_comm[0] ~= 0 then
    f.parent_comm = ffi.string(e.parent_comm)
  end
  return f
end

-- A pid seen again at a listing is the process we know, unless it matched
-- and its start time changed (the pid was reused while events were lost).
local function still_known(pid)
  local p = known[pid]
  if not p or p.exited then
    return false
  end
  if not p.started then
    return true
  end
  local stat = procfs.stat(pid)
  return stat ~= nil and stat.started == p.started
end

-- After a listing: matched processes it lacks have exited; others are
-- forgotten; exited ones past every grace period too (a config whose keys
-- hold no pid has nothing deleted, so no "gone" ever comes for them).
function Engine:forget_absent(present, now)
  for pid, p in pairs(known) do
    if p.exited then
      if now - p.exited > self.grace + 60 then
        known[pid] = nil
      end
    elseif not present[pid] then
      if #p.wants > 0 then
        p.exited = now
      else
        known[pid] = nil
      end
    end
  end
end

-- The ops of the answer, kept with their strings until the next call.
function Engine:answer(call, pids)
  local list = {}
  for _, pid in ipairs(pids) do
    local p = known[pid]
    for _, w in ipairs(p and not p.exited and p.wants or {}) do
      list[#list + 1] = { w = w, pid = pid }
    end
  end
  local ops = ffi.new("struct elx_target_op[?]", #list + 1)
  for i, item in ipairs(list) do
    local op = ops[i - 1]
    op.config, op.program, op.binary, op.pid = item.w.config, item.w.program, item.w.binary, item.pid
  end
  self.kept = { ops, list }
  call.ops, call.nops = ops, #list
end

local function gone(self, call)
  for i = 0, call.ngone - 1 do
    local g = call.gone[i]
    local pid = g.pid
    self.on_gone(ffi.string(g.config), pid)
    if known[pid] and known[pid].exited then
      known[pid] = nil
    end
  end
end

--- Answers one call (a struct elx_process_sync *).
function Engine:sync(call)
  local now = clock.monotonic()
  local listing = call.listing ~= 0
  local present, pids = {}, {}
  for i = 0, call.nevents - 1 do
    local e = call.events[i]
    local pid = e.pid
    if e.change == C.ELX_PROCESS_EXIT then
      if known[pid] then
        known[pid].exited = now
      end
    elseif e.change == C.ELX_PROCESS_FOUND then
      present[pid] = true
      if not still_known(pid) then
        self:evaluate(pid, nil)
      end
      pids[#pids + 1] = pid
    else -- an exec or a fork: a new program, or a new process
      self:evaluate(pid, facts(e))
      pids[#pids + 1] = pid
    end
  end
  if listing then
    self:forget_absent(present, now)
  end
  gone(self, call)
  self:answer(call, pids)
  call.all_forks = self.all_forks and 1 or 0
  return true
end

return M
