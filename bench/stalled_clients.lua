-- Clients that never read (issue 9.8): the exporter's RSS on the
-- 100,000-series map while 250 of them have asked for /metrics and read
-- nothing, and after they left. Each used to get a body of its own
-- (rendered and, unread, held); concurrent scrapes now share one.
-- Usage from bench/run.lua, or alone against another build's exporter:
--   luajit bench/stalled_clients.lua <exporter build> <build with elx-bench-baseline>
package.path = "bench/?.lua;spec/?.lua;lua/?.lua;" .. package.path
local common = require("common")
local files = require("helpers.files")

local N, CLIENTS, STAY = 100000, 250, 20

local function peak_rss(pid, seconds)
  local peak = 0
  for _ = 1, seconds * 4 do
    peak = math.max(peak, common.rss_kib(pid) or 0)
    common.helper.sleep(0.25)
  end
  return peak
end

local function measure(build, tools)
  common.helper.build = build
  common.helper.binary = build .. "/ebpf-lua-exporter"
  common.with_exporter({ dir = build .. "/bench", names = "bench" }, function(e)
    common.run(("%s/elx-bench-baseline fill %d %d"):format(tools, common.map_id(e, "bench_values"), N))
    e:scrape()
    local before = common.rss_kib(e.pid)
    local ready = e.work .. "/ready"
    local script = e.work .. "/stalled.py"
    files.write(script, files.read("spec/helpers/stalled_clients.py"))
    common.helper.sh(("(/usr/bin/python3.11 %s %d %d %s %d; echo done > %s.done) </dev/null >/dev/null 2>&1 &")
      :format(script, e.port, CLIENTS, ready, STAY, ready))
    while not common.helper.read_file(ready) do common.helper.sleep(0.05) end
    local peak = peak_rss(e.pid, STAY - 2)
    while not common.helper.read_file(ready .. ".done") do common.helper.sleep(0.1) end
    common.helper.sleep(2)
    local after = common.rss_kib(e.pid)
    print(("\n%d clients that ask for /metrics of %d series and never read (%s):"):format(CLIENTS, N, build))
    print(("  exporter RSS %.1f MiB before, %.1f MiB at most in the %d s they stay, %.1f MiB after they left")
      :format(before / 1024, peak / 1024, STAY, after / 1024))
  end)
end

if arg and arg[0] and arg[0]:match("stalled_clients%.lua$") then
  measure(arg[1], arg[2] or arg[1])
end

return function(build)
  measure(build, build)
end
