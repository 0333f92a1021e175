-- `make bench`: what the exporter costs a node with the default examples,
-- the kernel symbol index before and after it moved into the core, the
-- memory of every shared index, a user decoder holding a big table; then the
-- scrape cost of a 100,000-series map over real HTTP (bench/scrape.lua) and
-- where a cold scrape spends its time (bench/cold_profile.lua); reloads;
-- spans exported to an OTLP receiver on localhost; --collector.bpf with 1,000 maps and 1,000
-- programs loaded; targets: 200 processes attached in a burst; and the web
-- surface: the same scrape over TLS, and with basic auth. The 100,000
-- series go out in each exposition format too (bench/formats.lua).
-- Usage: luajit bench/run.lua <build dir>
package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. (arg[1] or "build") .. "/gen/?.lua;" .. package.path
local common = require("common")
local files = require("helpers.files")
local helper = require("helpers.exporter")
local write = files.write

local build = arg[1] or "build"

local run, median, rss_kib = common.run, common.median, common.rss_kib

local function curl_ms(e, extra)
  local cmd = ("curl -s -o %s/out -w '%%{time_total}' %s %s/metrics"):format(e.work, extra or "", e.url)
  return tonumber((run(cmd))) * 1e3
end

local with_exporter = common.with_exporter

-- ELX_BENCH_ONLY=scrape runs the scrape sections alone (bench/scrape.lua,
-- bench/cold_profile.lua).
if os.getenv("ELX_BENCH_ONLY") == "scrape" then
  require("scrape")(build)
  require("cold_profile")(build)
  os.exit(0)
end

require("footprint")(build)
require("ksym")(build)
require("indexes")(build)
require("big_table")(build)
require("spans")(build)
require("bpf_collector")(build)
require("stalled_clients")(build)
require("targets")(build)
require("kernel_cost")(build)
require("shutdown")(build)
require("web")(build)
require("metric_kinds")(build)

require("scrape")(build)
require("cold_profile")(build)

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
