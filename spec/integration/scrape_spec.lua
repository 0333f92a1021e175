-- What a scrape may ask and how much of the exporter it may take (issue
-- 15): Prometheus's scrape timeout as a budget (a config made slow on
-- purpose is cut and reported, the rest served in time), collect[] and
-- exclude[], --web.max-requests, several listen addresses and every socket
-- systemd passes.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local prometheus = require("helpers.prometheus")

local start, stop = helper.tracked(after_each)

-- Fills the bench_values map of exporter e (found by its own fds) with n keys.
local function fill(e, n)
  local map = helper.maps_named(e.pid, "bench_values")
  assert.equal(1, #map)
  local out, code = helper.sh(("%s/elx-bench-baseline fill %d %d"):format(helper.build, map[1], n))
  assert.equal(0, code, out)
end

-- 25 ms of CPU per key, every scrape (UNCACHED: it never gets cheaper).
local SLOWDOWN = [[
local api = require("exporter.decoder_api")
return { new = function()
  return function(s)
    local t = os.clock()
    while os.clock() - t < 0.025 do end
    return s, api.UNCACHED
  end
end }
]]

-- A config dir: `slow` (the benchmark's hash map, its keys through the slow
-- decoder) and uprobe_test.
local function slow_dir()
  local dir = helper.tmpdir()
  files.run(("mkdir -p %s/decoders && cp %s/bench/bench.bpf.o %s/slow.bpf.o && cp %s/uprobe_test.bpf.o "
    .. "%s/uprobe_test.yaml %s/"):format(dir, helper.build, dir, helper.spec_dir, helper.spec_dir, dir))
  files.write(dir .. "/decoders/slowdown.lua", SLOWDOWN)
  files.write(dir .. "/slow.yaml", [[
metrics:
  counters:
    - name: bench_values
      help: Values, decoded slowly on purpose
      labels:
        - name: key
          size: 8
          decoders:
            - name: uint
            - name: slowdown
]])
  return dir
end

--- GET /metrics with curl's time; samples, text, seconds.
local function timed_scrape(e, args)
  local body = helper.sh(("curl -s -w '\\n%%{time_total}' %s %s/metrics"):format(args or "", e.url))
  local text, seconds = body:match("^(.*)\n([%d.]+)$")
  return helper.samples(text), text, tonumber(seconds)
end

--- GET a path whose query holds [] and &: quoted, without curl's globbing.
local function get(e, path)
  local hdr = e.work .. "/headers"
  local body = helper.sh(("curl -sg -D %s '%s%s'"):format(hdr, e.url, path))
  return body, tonumber((helper.read_file(hdr) or ""):match("^HTTP/1%.1 (%d+)"))
end

local function count(text, pattern)
  local _, n = text:gsub(pattern, "")
  return n
end

describe("the scrape budget", function()
  it("cuts a slow config, reports it in scrape_success, and serves the rest in time", function()
    local dir = slow_dir()
    -- The decoders' own time limit far off: on a loaded machine 20 x 25 ms
    -- of CPU can take past its default 1 s, and it would cut the config too.
    local e = start({ dir = dir, names = "slow,uprobe_test",
      args = "--web.timeout-offset=500ms --decoders.time-limit=60s" })
    fill(e, 20)
    e:target("hit 7")
    -- Prometheus gives 0.8 s: 0.3 s after the offset, 0.15 s the slow config's share.
    local header = "-H 'X-Prometheus-Scrape-Timeout-Seconds: 0.8'"
    for _ = 1, 3 do
      local s, text, seconds = timed_scrape(e, header)
      assert.is_true(seconds < 0.8, "the scrape took " .. seconds .. " s")
      assert.equal(0, s['ebpf_exporter_scrape_success{config="slow"}'])
      assert.equal(1, s['ebpf_exporter_scrape_success{config="uprobe_test"}'])
      assert.equal(7, s["ebpf_exporter_test_hits_total"])
      assert.equal(0, count(text, "\nebpf_exporter_bench_values{"))
      -- Its share, and the one key under way when the share ran out.
      assert.is_true(s['ebpf_exporter_scrape_duration_seconds{config="slow"}'] < 0.3 + 0.1)
    end
    -- No budget: all of it, in 20 x 25 ms.
    local s, text, seconds = timed_scrape(e)
    assert.is_true(seconds >= 0.5, seconds)
    assert.equal(1, s['ebpf_exporter_scrape_success{config="slow"}'])
    assert.equal(20, count(text, "\nebpf_exporter_bench_values{"))
    -- A real Prometheus, with the same timeout.
    local p = prometheus.start(([[
global: { scrape_interval: 1s, scrape_timeout: 800ms }
scrape_configs:
  - job_name: ebpf
    static_configs: [{ targets: ["127.0.0.1:%d"] }]
]]):format(e.port))
    local hits = p:wait_value("ebpf_exporter_test_hits_total", 7)
    local success = p:wait_value('ebpf_exporter_scrape_success{config="slow"}', 0)
    local up = p:wait_value("up", 1)
    local duration = tonumber(p:query("scrape_duration_seconds")[1].value[2])
    p:stop()
    assert.equal(7, hits)
    assert.equal(0, success)
    assert.equal(1, up)
    assert.is_true(duration < 0.8, duration)
    local code2, log = stop(e)
    assert.equal(0, code2)
    -- Said once when it was first cut, once when whole again, once more when Prometheus cut it.
    assert.equal(2, count(log, "warn: config slow: not collected in full within the scrape's time budget; what "
      .. "was not is left out, and ebpf_exporter_scrape_success is 0\n"))
    assert.equal(1, count(log, "info: config slow: collected within the scrape's time budget again\n"))
    os.execute("rm -rf " .. dir)
  end)

  it("refuses a timeout header that is not a number of seconds", function()
    local e = start({ names = "uprobe_test" })
    local body, status = e:get("/metrics", "-H 'X-Prometheus-Scrape-Timeout-Seconds: soon'")
    assert.equal(400, status)
    assert.equal("400 X-Prometheus-Scrape-Timeout-Seconds is not a number of seconds\n", body)
    assert.equal(0, (stop(e)))
  end)
end)

describe("collect[] and exclude[]", function()
  it("scrape some configs only, and refuse both at once or a name no config has", function()
    local dir = slow_dir()
    local e = start({ dir = dir, names = "slow,uprobe_test" })
    fill(e, 3)
    e:target("hit 5")
    local function configs(text)
      local seen = {}
      for name in text:gmatch('config="([%w_]+)"') do
        seen[name] = true
      end
      local list = {}
      for name in pairs(seen) do
        list[#list + 1] = name
      end
      table.sort(list)
      return table.concat(list, ",")
    end
    local only, status = get(e, "/metrics?collect%5B%5D=uprobe_test")
    assert.equal(200, status)
    assert.equal("uprobe_test", configs(only))
    assert.equal(0, count(only, "\nebpf_exporter_bench_values{"))
    assert.is_truthy(only:find("\nebpf_exporter_test_hits_total 5\n", 1, true))
    assert.is_truthy(only:find("\nebpf_exporter_build_info{", 1, true)) -- the exporter's own
    local rest = get(e, "/metrics?exclude[]=uprobe_test")
    assert.equal("slow", configs(rest))
    assert.equal(3, count(rest, "\nebpf_exporter_bench_values{"))
    local both = get(e, "/metrics?collect[]=slow&collect[]=uprobe_test")
    assert.equal("slow,uprobe_test", configs(both))
    local body
    body, status = get(e, "/metrics?collect[]=slow&exclude[]=uprobe_test")
    assert.equal(400, status)
    assert.equal("400 collect[] and exclude[] cannot be used together\n", body)
    body, status = get(e, "/metrics?collect[]=nope")
    assert.equal(400, status)
    assert.equal('400 no config is named "nope" (collect[], exclude[])\n', body)
    assert.equal(0, (stop(e)))
    os.execute("rm -rf " .. dir)
  end)
end)

describe("--web.max-requests", function()
  it("answers 503 to scrapes beyond it while others are being answered", function()
    local e = start({ dir = helper.build .. "/bench", names = "bench", args = "--web.max-requests=2" })
    fill(e, 100000)
    e:scrape() -- decoded once
    local ready = e.work .. "/ready"
    local bg = ("/usr/bin/python3.11 spec/helpers/stalled_clients.py %d 2 %s 3 >/dev/null 2>&1 &"):format(e.port,
      ready)
    os.execute(bg)
    for _ = 1, 100 do
      if helper.read_file(ready) then break end
      helper.sleep(0.1)
    end
    helper.sleep(0.5)
    local body, status = e:get("/metrics")
    assert.equal(503, status)
    assert.equal("503 too many scrapes are being answered (--web.max-requests)\n", body)
    -- Other pages are no scrapes.
    assert.equal(200, select(2, e:get("/-/healthy")))
    -- Once the two clients went, scrapes are answered again.
    helper.sleep(3.5)
    assert.equal(200, select(2, e:get("/metrics")))
    assert.equal(0, (stop(e)))
  end)
end)

describe("listening", function()
  it("serves every --web.listen-address given", function()
    local e = start({ names = "uprobe_test", args = "--web.listen-address=[::1]:0" })
    local log = helper.read_file(e.log)
    local v6 = tonumber(log:match("listening on %[::1%]:0 %(port (%d+)%)"))
    assert.is_truthy(v6, log)
    e:target("hit 3")
    local body = helper.sh(("curl -s http://[::1]:%d/metrics"):format(v6))
    assert.is_truthy(body:find("\nebpf_exporter_test_hits_total 3\n", 1, true), body)
    assert.is_truthy(e:scrape():find("\nebpf_exporter_test_hits_total 3\n", 1, true))
    assert.equal(0, (stop(e)))
    -- One address that cannot be bound fails the start, naming it.
    local out, code = helper.run(("--log.no-timestamps --config.dir=%s --config.names=uprobe_test "
      .. "--web.listen-address=127.0.0.1:0 --web.listen-address=192.0.2.1:9"):format(helper.spec_dir))
    assert.equal(1, code)
    assert.equal("error: --web.listen-address=192.0.2.1:9: cannot bind the listen address: Cannot assign requested "
      .. "address\n", out)
  end)

  it("serves on every socket systemd passed with --web.systemd-socket", function()
    local p1, p2 = prometheus.free_port(), prometheus.free_port()
    local work = helper.tmpdir()
    helper.sh(("(systemd-socket-activate -l 127.0.0.1:%d -l 127.0.0.1:%d %s --config.dir=%s "
      .. "--config.names=uprobe_test --web.systemd-socket >%s/log 2>&1 & echo $! >%s/pid) </dev/null >/dev/null 2>&1")
      :format(p1, p2, helper.binary, helper.spec_dir, work, work))
    local function fetch(port)
      return helper.sh(("curl -s -m 20 --retry 40 --retry-delay 0 --retry-max-time 10 --retry-connrefused "
        .. "http://127.0.0.1:%d/metrics"):format(port))
    end
    local a, b = fetch(p1), fetch(p2)
    os.execute("kill -TERM $(cat " .. work .. "/pid)")
    helper.sleep(0.5)
    local log = helper.read_file(work .. "/log")
    os.execute("rm -rf " .. work)
    assert.is_truthy(a:find('\nebpf_exporter_enabled_configs{name="uprobe_test"} 1\n', 1, true), log)
    assert.is_truthy(b:find('\nebpf_exporter_enabled_configs{name="uprobe_test"} 1\n', 1, true), log)
    assert.is_truthy(log:find("listening on fd://0 (port " .. p1 .. ")", 1, true), log)
    assert.is_truthy(log:find("listening on fd://1 (port " .. p2 .. ")", 1, true), log)
  end)

  it("says what is wrong with --web.systemd-socket", function()
    local out, code = helper.run("--log.no-timestamps --web.systemd-socket --config.dir=" .. helper.spec_dir
      .. " --config.names=uprobe_test")
    assert.equal(1, code)
    assert.equal("ebpf-lua-exporter: error: --web.systemd-socket takes every socket systemd passed: give no "
      .. "--web.listen-address with it, try --help\n", out)
    out, code = helper.sh(("%s --log.no-timestamps --web.systemd-socket --config.dir=%s --config.names=uprobe_test")
      :format(helper.binary, helper.spec_dir))
    assert.equal(1, code)
    assert.equal("error: --web.systemd-socket: no sockets were passed (no LISTEN_FDS for this process): use a "
      .. ".socket unit\n", out)
  end)
end)
