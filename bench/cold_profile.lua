-- Where a cold scrape spends its time, in this process without HTTP or BPF:
-- a metric's collection from a batch like its map's, under LuaJIT's
-- sampling profiler (jit.p), with a new series store each time. Two maps:
-- 100,000 u64 keys (uint decoder, bench/bench.yaml) and the decoder-heavy
-- one (bench/bench_decoded.yaml: cgroup ids of this machine, IPv6 addresses
-- and ports through a user decoder). Prints the time of each run, the VM
-- states (compiled, interpreted, C, garbage collector), then the functions
-- of a second profile run with the JIT off: in compiled code jit.p gives
-- every sample to the function where the trace starts, so only the
-- interpreter says what each part costs (relatively: all of it is slower).
local buffer = require("string.buffer")
local ffi = require("ffi")

local N = 100000
local RUNS = 10
local PORTS = { 22, 80, 443, 5432, 8080, 40000, 50001, 61000 } -- as bench/baseline.c fills them

local function plan_of(build, case)
  local config = require("exporter.config")
  local decoders = require("exporter.decoders")
  local metric = require("exporter.metric")
  local registry = assert(decoders.load({ decoders.builtin_dir(), build .. "/bench/decoders" }, function() end))
  local yaml = assert(io.open(build .. "/bench/" .. case.file)):read("*a")
  local cfg = assert(config.parse(yaml, case.file, { config = "bench", registry = registry }))
  return assert(metric.bind(cfg, { { name = case.name, type = 1, key_size = case.key_size, value_size = 8,
    max_entries = N } }, { cache_size = 1048576, skip_cache_size = 65536 }))[1]
end

-- The ids of the cgroups under the cgroup2 mount (its directories' inodes).
local function cgroup_ids()
  local mount = assert(require("exporter.cgroup_mounts").cgroup2_mounts("/proc/self/mountinfo"))[1]
  local ids = {}
  for line in io.popen("find " .. mount .. " -type d -printf '%i\\n'"):lines() do
    ids[#ids + 1] = tonumber(line)
  end
  return ids
end

-- Key i of the decoder-heavy map: a cgroup id, 2001:db8::<i>, a port.
local function decoded_key(i, ids, k)
  ffi.fill(k, 32)
  ffi.cast("uint64_t *", k)[0] = ids[(i - 1) % #ids + 1]
  k[8], k[9], k[10], k[11] = 0x20, 0x01, 0x0d, 0xb8
  ffi.cast("uint32_t *", k + 20)[0] = bit.bswap(i)
  ffi.cast("uint32_t *", k + 24)[0] = PORTS[(i - 1) % #PORTS + 1]
  return ffi.string(k, 32)
end

local CASES = {
  { file = "bench.yaml", name = "bench_values", what = "u64 keys", key_size = 8,
    key = function(i) return require("helpers.fake").u64(i * 7919 + 1) end },
  { file = "bench_decoded.yaml", name = "bench_decoded", key_size = 32,
    what = "keys through uint->cgroup, inet_ip and a user decoder",
    key = function(i, state)
      state.ids, state.k = state.ids or cgroup_ids(), state.k or ffi.new("uint8_t[32]")
      return decoded_key(i, state.ids, state.k)
    end },
}

local function batch_of(case)
  local rows, state = {}, {}
  for i = 1, N do
    rows[i] = { key = case.key(i, state), value = i }
  end
  return require("helpers.fake").batch({ rows = rows, key_size = case.key_size })
end

-- One profile of RUNS cold collections in `mode` (jit.p's); its report.
local function profile(plan, batch, mode)
  local clock = require("exporter.clock")
  local collect = require("exporter.collect")
  local stats = { decoder_errors = 0, logged = {}, nlogged = 0, log = print, errors_by_decoder = {} }
  local buf, times = buffer.new(8 * N), {}
  local out = os.tmpname()
  local jp = require("jit.p")
  jp.start(mode, out)
  for r = 1, RUNS do
    local state = collect.new_state(plan)
    buf:reset()
    local t = clock.monotonic()
    collect.metric(plan, state, batch, buf, stats)
    times[r] = ("%.1f"):format((clock.monotonic() - t) * 1e3)
  end
  jp.stop()
  assert(stats.decoder_errors == 0, "the profiled collection had decoder errors")
  local f = assert(io.open(out))
  local report = f:read("*a")
  f:close()
  os.remove(out)
  return table.concat(times, " "), report
end

-- Each profile runs in a process of its own: after one profile (and the
-- JIT turned off and on), jit.p's next one in the same process came out
-- empty or charged everything to the garbage collector.
local function run_profile(build, case, mode)
  package.path = ("lua/?.lua;lua/?/init.lua;spec/?.lua;%s/gen/?.lua;"):format(build) .. package.path
  collectgarbage("setpause", 100) -- as the core sets its Lua state's (core/lua_host.c)
  case = CASES[tonumber(case)]
  local plan, batch = plan_of(build, case), batch_of(case)
  if mode:sub(1, 1) == "F" then
    jit.off() -- only the interpreter says what each part costs
  end
  local times, report = profile(plan, batch, mode)
  io.write(times, "\n", report)
end

local function show(report)
  for line in report:gmatch("[^\n]+") do
    local pct = tonumber(line:match("^%s*(%d+)%%"))
    if pct and pct >= 2 then
      print("  " .. line)
    end
  end
end

if arg and arg[0] and arg[0]:match("cold_profile%.lua$") then
  run_profile(arg[1], arg[2], arg[3])
  return
end

return function(build)
  local script = debug.getinfo(1, "S").source:sub(2)
  local function spawn(case, mode)
    local p = assert(io.popen(("luajit %s %s %d %s 2>/dev/null"):format(script, build, case, mode)))
    local out = p:read("*a")
    p:close()
    return out:match("^([^\n]*)\n(.*)$")
  end
  for i, case in ipairs(CASES) do
    local times, states = spawn(i, "vi1")
    local slow, lines = spawn(i, "Fi1")
    assert(times and slow, "the profile of " .. case.name .. " failed")
    print(("\nprofile of %d cold collections of %d %s in one process (ms each: %s):"):format(RUNS, N, case.what,
      times))
    show(states)
    print(("  by function, with the JIT off (ms each: %s):"):format(slow))
    show(lines)
  end
end
