-- Where a cold scrape of 100,000 u64 keys (uint decoder, bench/bench.yaml)
-- spends its time, in this process without HTTP or BPF: the metric's
-- collection from a batch like the map's, under LuaJIT's sampling profiler
-- (jit.p), with a new series store each time. Prints the time of each run,
-- the VM states (compiled, interpreted, C, garbage collector), then the
-- functions of a second profile run with the JIT off: in compiled code jit.p
-- gives every sample to the function where the trace starts, so only the
-- interpreter says what each part costs (relatively: all of it is slower).
local buffer = require("string.buffer")

local N = 100000
local RUNS = 10

local function setup(build)
  package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
  collectgarbage("setpause", 100) -- as the core sets its Lua state's (core/lua_host.c)
  local collect = require("exporter.collect")
  local config = require("exporter.config")
  local decoders = require("exporter.decoders")
  local fake = require("helpers.fake")
  local metric = require("exporter.metric")
  local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))
  local yaml = assert(io.open(build .. "/bench/bench.yaml")):read("*a")
  local cfg = assert(config.parse(yaml, "bench.yaml", { config = "bench", registry = registry }))
  local plan = assert(metric.bind(cfg, { { name = "bench_values", type = 1, key_size = 8, value_size = 8,
    max_entries = N } }, { cache_size = 1048576, skip_cache_size = 65536 }))[1]
  local rows = {}
  for i = 1, N do
    rows[i] = { key = fake.u64(i * 7919 + 1), value = i }
  end
  return plan, collect, fake.batch({ rows = rows, key_size = 8 })
end

-- One profile of RUNS cold collections in `mode` (jit.p's); its report.
local function profile(plan, collect, batch, mode)
  local clock = require("exporter.clock")
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
  local f = assert(io.open(out))
  local report = f:read("*a")
  f:close()
  os.remove(out)
  return table.concat(times, " "), report
end

return function(build)
  local plan, collect, batch = setup(build)
  local times, states = profile(plan, collect, batch, "vi1")
  jit.off()
  jit.flush() -- the traces made so far would still run
  local slow, lines = profile(plan, collect, batch, "Fi1")
  jit.on()
  local function show(report)
    for line in report:gmatch("[^\n]+") do
      local pct = tonumber(line:match("^%s*(%d+)%%"))
      if pct and pct >= 2 then
        print("  " .. line)
      end
    end
  end
  print(("\nprofile of %d cold collections of %d u64 keys in one process (ms each: %s):"):format(RUNS, N, times))
  show(states)
  print(("  by function, with the JIT off (ms each: %s):"):format(slow))
  show(lines)
end
