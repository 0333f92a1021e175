-- Spans: N records of a ring buffer decoded into spans and exported with
-- OTLP/HTTP to a receiver on localhost that answers at once
-- (spec/helpers/otlp_receiver.py --discard); the exporter's CPU time from
-- its first record to its last span exported gives spans per second of one
-- core and the CPU of 10,000 spans.
local common = require("common")
local otlp = require("helpers.otlp")

local N = 200000
local RUNS = 3

local function exported(e)
  return e:samples()['ebpf_exporter_spans_total{config="spans",result="exported"}'] or 0
end

local function one_run(build, r)
  local result
  common.with_exporter({ dir = build .. "/bench", names = "spans",
    env = r:env("OTEL_BSP_MAX_QUEUE_SIZE=" .. N) }, function(e)
    local before = common.cpu_ns(e.pid)
    local requests0 = r:stats()
    common.run(e:target_command(("hit %d 7"):format(N)))
    for _ = 1, 600 do
      if exported(e) >= N then break end
      common.helper.sleep(0.05)
    end
    local cpu_ms = (common.cpu_ns(e.pid) - before) / 1e6
    local requests = r:stats() - requests0
    local s = e:samples()
    result = { cpu_ms = cpu_ms, exported = s['ebpf_exporter_spans_total{config="spans",result="exported"}'],
      dropped = s['ebpf_exporter_spans_total{config="spans",result="dropped"}'], requests = requests,
      rss = common.rss_kib(e.pid) }
  end)
  return result
end

return function(build)
  local r = otlp.start({ discard = true })
  local runs, cpu = {}, {}
  for i = 1, RUNS do
    runs[i] = one_run(build, r)
    cpu[i] = runs[i].cpu_ms
  end
  r:stop()
  local best = common.median(cpu)
  local run
  for _, x in ipairs(runs) do
    if x.cpu_ms == best then run = x end
  end
  print(("\nspans: %d ring-buffer records -> OTLP/HTTP protobuf to a receiver on localhost (median of %d runs):")
    :format(N, RUNS))
  print(("  %-48s %9d of %d (%d dropped), in %d requests"):format("spans exported", run.exported, N, run.dropped,
    run.requests))
  print(("  %-48s %9.0f ms"):format("exporter CPU, first record to last export", run.cpu_ms))
  print(("  %-48s %9.0f spans/s"):format("spans exported per second of one core", run.exported / run.cpu_ms * 1e3))
  print(("  %-48s %9.1f ms"):format("exporter CPU per 10,000 spans", run.cpu_ms * 1e4 / run.exported))
  print(("  %-48s %9.1f MiB"):format("exporter RSS after the run", run.rss / 1024))
end
