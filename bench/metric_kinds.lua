-- The scrape of the 100,000-key map read as each metric kind reads it: a
-- counter as today, the same under max_series 1,000 (the cardinality guard),
-- a gauge, and struct values of one and of two fields (kind_values, each
-- key looked up once for all fields). Over HTTP, cold then warm.
-- Usage from bench/run.lua, or alone: luajit bench/metric_kinds.lua <build>
package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. package.path
local common = require("common")
local files = require("helpers.files")

local N, WARM_RUNS = 100000, 15

local LABELS = "      labels:\n        - { name: key, size: 8, decoders: [{ name: uint }] }\n"
local VARIANTS = {
  { "counter (as before)", "  counters:\n    - name: bench_values\n      help: x\n" },
  { "counter, max_series: 1000", "  counters:\n    - name: bench_values\n      help: x\n      max_series: 1000\n" },
  { "gauge", "  gauges:\n    - name: bench_values\n      help: x\n" },
  { "values: 1 field (8 bytes)", "  counters:\n    - name: bench_values\n      help: x\n"
    .. "      values: [{ name: f_total, offset: 0, size: 8, help: x }]\n" },
  { "values: 2 fields (4 bytes each)", "  counters:\n    - name: bench_values\n      help: x\n"
    .. "      values: [{ name: lo_total, offset: 0, size: 4, help: x },\n"
    .. "               { name: hi_total, offset: 4, size: 4, help: x }]\n" },
}

local function curl_ms(e)
  return tonumber((common.run(("curl -s -o %s/out -w '%%{time_total}' %s/metrics"):format(e.work, e.url)))) * 1e3
end

local function measure(build)
  print(("\nthe %d-key map by metric kind, over HTTP with curl (median of %d warm):"):format(N, WARM_RUNS))
  for _, v in ipairs(VARIANTS) do
    local dir = common.helper.tmpdir()
    files.run(("cp %s/bench/bench.bpf.o %s/"):format(build, dir))
    files.write(dir .. "/bench.yaml", "metrics:\n" .. v[2] .. LABELS)
    common.with_exporter({ dir = dir, names = "bench" }, function(e)
      common.run(("%s/elx-bench-baseline fill %d %d"):format(build, common.map_id(e, "bench_values"), N))
      local cold, warm = curl_ms(e), {}
      for i = 1, WARM_RUNS do
        warm[i] = curl_ms(e)
      end
      local _, lines = (common.helper.read_file(e.work .. "/out") or ""):gsub("\nebpf_exporter_", "")
      print(("  %-34s cold %7.1f ms  warm %6.1f ms  %6d samples  RSS %5.1f MiB"):format(v[1], cold,
        common.median(warm), lines, common.rss_kib(e.pid) / 1024))
    end)
    os.execute("rm -rf " .. dir)
  end
end

if arg and arg[0] and arg[0]:match("metric_kinds%.lua$") then
  common.helper.build = arg[1] or "build"
  common.helper.binary = common.helper.build .. "/ebpf-lua-exporter"
  measure(arg[1] or "build")
end

return measure
