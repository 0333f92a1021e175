-- The budgets of users' decoder code: time per section (a config's part of a
-- scrape, one `new`, the load of one decoder file) and a ceiling on the Lua
-- heap while their code runs. The core enforces them (struct elx_guard,
-- core/lua_host.c): this module marks where users' code starts and ends and
-- turns what the core saw into errors that name the decoder. Without the
-- core (unit specs) users' code runs without budgets.
local ffi = require("ffi")
local abi = require("exporter.abi")

local M = {}

local C = ffi.C

--- The limits, from --decoders.time-limit and --decoders.memory-limit.
M.time_limit = 1
M.memory_limit = 512 * 2 ^ 20

local guard -- the state's struct elx_guard, or nil without the core
local collections = 0 -- full collections after a failed allocation in this section
local active = false -- a section is under way
local MAX_COLLECTIONS = 3 -- per section: a leak at the ceiling must not cost one per row

--- Takes the limits of `opts` ({ time_limit = s, memory_limit = bytes }) and
-- the state's guard, from the call the core is making (ELX_ENTRY_INIT).
function M.setup(opts)
  M.time_limit = opts.time_limit or M.time_limit
  M.memory_limit = opts.memory_limit or M.memory_limit
  guard = nil
  if abi.core_available() and C.elx_call.guard ~= nil then
    guard = C.elx_call.guard
  end
end

--- Starts a section: the time budget starts afresh.
function M.begin()
  collections, active = 0, true
  if guard then
    guard.budget, guard.spent, guard.entered, guard.expired = M.time_limit, 0, 0, 0
  end
end

--- Ends a section: the watchdog stops.
function M.finish()
  active = false
  if guard then
    guard.entered, guard.heap_limit = 0, 0
    if guard.armed ~= 0 then
      C.elx_guard_disarm(guard)
    end
  end
end

--- Whether the section's time budget is spent.
function M.spent()
  return guard ~= nil and (guard.expired ~= 0 or guard.spent >= guard.budget)
end

--- What call() answers in place of an error message when the budget ran
-- out: compare by identity.
M.OVERTIME = setmetatable({}, { __tostring = function() return "ran past its time budget" end })
M.OUT_OF_MEMORY = setmetatable({}, { __tostring = function() return "ran out of memory" end })

-- LuaJIT's message for an allocation that failed: ours, under the ceiling.
local NOT_ENOUGH_MEMORY = "not enough memory"

-- elx_guard_leave takes the ceiling away before anything here allocates: at
-- the ceiling, our own code would fail for their memory.
local function leave(ok, a, b, c)
  if C.elx_guard_leave(guard) ~= 0 then
    return false, M.OVERTIME
  end
  if not ok and a == NOT_ENOUGH_MEMORY then
    return false, M.OUT_OF_MEMORY
  end
  return ok, a, b, c
end

local function run(fn, ...)
  if C.elx_guard_enter(guard, M.memory_limit) ~= 0 then
    return false, M.OVERTIME
  end
  return leave(pcall(fn, ...))
end

--- Runs users' code as pcall does: true and its results, or false and its
-- error; false and OVERTIME once the section's time is spent (then without
-- running it), false and OUT_OF_MEMORY when it would take the heap past the
-- ceiling. After such a failure, a full garbage collection and one more try
-- (the garbage may be anybody's, the failed call's own too), a few times per
-- section at most.
function M.call(fn, ...)
  if not guard then
    return pcall(fn, ...)
  end
  if not active then -- a call on its own (a cgroup_id_map's match) is a section of its own
    M.begin()
    local ok, a, b, c = M.call(fn, ...)
    M.finish()
    return ok, a, b, c
  end
  local ok, a, b, c = run(fn, ...)
  if not ok and a == M.OUT_OF_MEMORY and collections < MAX_COLLECTIONS then
    collections = collections + 1
    collectgarbage()
    ok, a, b, c = run(fn, ...)
  end
  return ok, a, b, c
end

--- A sentence for the log and for errors: "ran past its time budget (1 s)".
function M.describe(failure)
  if failure == M.OVERTIME then
    return ("ran past its time budget (--decoders.time-limit=%gs)"):format(M.time_limit)
  end
  return ("ran out of memory: the Lua heap would have passed --decoders.memory-limit=%d (MiB)")
    :format(math.floor(M.memory_limit / 2 ^ 20))
end

return M
