-- `make bench`: what the exporter costs a node with the default examples,
-- the kernel symbol index before and after it moved into the core, the
-- memory of every shared index, a user decoder holding a big table; then the
-- scrape cost of a 100,000-series map over real HTTP, next to two baselines
-- measured in the same run on the same map by a C program: the floor (one
-- batch lookup + sprintf per line) and a key-by-key walk (get_next_key +
-- lookup, the way ebpf_exporter reads maps); reloads; spans exported to an
-- OTLP receiver on localhost; --collector.bpf with 1,000 maps and 1,000
-- programs loaded; and targets: 200 processes attached in a burst.
-- Usage: luajit bench/run.lua <build dir>
package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. (arg[1] or "build") .. "/gen/?.lua;" .. package.path
local common = require("common")
local files = require("helpers.files")
local helper = require("helpers.exporter")
local write = files.write

local build = arg[1] or "build"
local BASELINE = build .. "/elx-bench-baseline"
local N = 100000
local WARM_RUNS = 15

local run, median, rss_kib = common.run, common.median, common.rss_kib

local function ms(cmd)
  return tonumber((run(cmd)))
end

local function row(what, t) -- milliseconds, and nanoseconds per series
  print(("  %-44s %9.1f ms  %6.0f ns/series"):format(what, t, t * 1e6 / N))
end

local function curl_ms(e, extra)
  local cmd = ("curl -s -o %s/out -w '%%{time_total}' %s %s/metrics"):format(e.work, extra or "", e.url)
  return tonumber((run(cmd))) * 1e3
end

local with_exporter = common.with_exporter

local function series_in(e, family)
  local _, n = helper.read_file(e.work .. "/out"):gsub("\n" .. family .. "{", "")
  return n
end

require("footprint")(build)
require("ksym")(build)
require("indexes")(build)
require("big_table")(build)
require("spans")(build)
require("bpf_collector")(build)
require("stalled_clients")(build)
require("targets")(build)
require("metric_kinds")(build)

with_exporter({ dir = build .. "/bench", names = "bench" }, function(e)
  local rss_idle = rss_kib(e.pid)
  run(("%s fill bench_values %d"):format(BASELINE, N))
  local cold = curl_ms(e)
  local lines = series_in(e, "ebpf_exporter_bench_values")
  assert(lines == N, ("the scrape has %d series, not %d"):format(lines, N))
  local warm = {}
  for i = 1, WARM_RUNS do
    warm[i] = curl_ms(e)
  end
  local warm_ms = median(warm)
  local gz = {}
  for i = 1, 5 do
    gz[i] = curl_ms(e, "-H 'Accept-Encoding: gzip'")
  end
  local rss = rss_kib(e.pid)
  local floor = ms(("%s floor bench_values %d"):format(BASELINE, WARM_RUNS))
  local walk = ms(("%s walk bench_values 3"):format(BASELINE))
  print(("\nscrape of %d series (u64 keys, uint decoder), over HTTP with curl:"):format(N))
  row("exporter, cold (first scrape, decoding)", cold)
  row("exporter, warm (median of " .. WARM_RUNS .. ")", warm_ms)
  row("exporter, warm, gzip (median of 5)", median(gz))
  row("floor: batch lookup + sprintf (best of " .. WARM_RUNS .. ")", floor)
  row("key by key: get_next_key + lookup (best of 3)", walk)
  print(("  warm / floor = %.2fx (target <= 2x); key-by-key / warm = %.1fx (target >= 10x)"):format(
    warm_ms / floor, walk / warm_ms))
  print(("  exporter RSS: %.1f MiB before the map was filled, %.1f MiB after %d scrapes"):format(
    rss_idle / 1024, rss / 1024, WARM_RUNS + 6))
end)

-- Decoder-heavy: every key through uint -> cgroup, inet_ip, and a user Lua
-- decoder (examples/decoders/port_service.lua, from build/bench/decoders).
with_exporter({ dir = build .. "/bench", names = "bench_decoded" }, function(e)
  run(("%s fill-decoded bench_decoded %d"):format(BASELINE, N))
  local cold = curl_ms(e)
  local lines = series_in(e, "ebpf_exporter_bench_decoded")
  local text = helper.read_file(e.work .. "/out")
  assert(not text:find("unknown_cgroup_id", 1, true), "a cgroup id did not resolve")
  local warm = {}
  for i = 1, WARM_RUNS do
    warm[i] = curl_ms(e)
  end
  print(("\nscrape of %d keys through uint->cgroup, inet_ip and a user decoder, %d series:"):format(N, lines))
  row("exporter, cold (first scrape, decoding)", cold)
  row("exporter, warm (median of " .. WARM_RUNS .. ")", median(warm))
  print(("  exporter RSS: %.1f MiB"):format(rss_kib(e.pid) / 1024))
end)

-- Reloads with 10 configs loaded: a YAML-only change (every object kept
-- loaded) and a changed .bpf.o (that object loaded and attached anew, the old
-- one detached), timed as the POST /-/reload that runs them; and the RSS
-- over 1,000 reloads.
local dir = helper.tmpdir()
local names = {}
local function yaml(n, help)
  return ([[
metrics:
  counters:
    - name: reload_%d_total
      help: %s
      labels:
        - { name: function, size: 8, decoders: [{ name: ksym }] }
]]):format(n, help)
end
for n = 0, 9 do
  run(("cp %s/bench/reload/reload_%d.bpf.o %s/"):format(build, n, dir))
  write(("%s/reload_%d.yaml"):format(dir, n), yaml(n, "Timer starts"))
  names[#names + 1] = "reload_" .. n
end
with_exporter({ dir = dir, names = table.concat(names, ","), args = "--web.enable-lifecycle" }, function(e)
  local function reload_ms()
    local out = run(("curl -s -f -X POST -o /dev/null -w '%%{time_total}' %s/-/reload"):format(e.url))
    return tonumber(out) * 1e3
  end
  curl_ms(e) -- a first scrape, as a running exporter has had
  local yaml_only, swap = {}, {}
  for i = 1, 21 do
    write(dir .. "/reload_3.yaml", yaml(3, "Timer starts, edit " .. i))
    yaml_only[i] = reload_ms()
  end
  for i = 1, 11 do
    run("printf 'x' >> " .. dir .. "/reload_7.bpf.o")
    swap[i] = reload_ms()
  end
  curl_ms(e) -- the first scrape of the last Lua state (the ksym index is the core's, kept)
  local rss_before = rss_kib(e.pid)
  local urls = {}
  for _ = 1, 1000 do
    urls[#urls + 1] = ('url = "%s/-/reload"'):format(e.url)
  end
  write(e.work .. "/reloads", table.concat(urls, "\n") .. "\n")
  run(("curl -s -f -X POST -K %s/reloads -o /dev/null"):format(e.work))
  curl_ms(e)
  local rss_after = rss_kib(e.pid)
  print("\nreloads with 10 configs (POST /-/reload, as curl times it):")
  print(("  %-44s %9.1f ms (target < 50 ms)"):format("YAML only (median of 21)", median(yaml_only)))
  print(("  %-44s %9.1f ms"):format("one .bpf.o changed (median of 11)", median(swap)))
  print(("  exporter RSS after a scrape: %.1f MiB; after 1,000 more reloads and a scrape: %.1f MiB"):format(
    rss_before / 1024, rss_after / 1024))
end)
os.execute("rm -rf " .. dir)
