-- The exporter over real HTTP: curl as the client, promtool on the output,
-- and a real Prometheus server scraping it.
local helper = require("helpers.exporter")
local lock = require("helpers.lock")

describe("HTTP", function()
  local e
  setup(function()
    e = helper.start({ names = "uprobe_test" })
  end)
  teardown(function()
    assert.equal(0, (e:stop()))
  end)

  it("serves the landing page linking to the metrics", function()
    local body, status, headers = e:get("/")
    assert.equal(200, status)
    assert.is_truthy(headers:find("Content-Type: text/html; charset=utf-8\r\n", 1, true))
    assert.is_truthy(body:find('<a href="/metrics">Metrics</a>', 1, true))
  end)

  it("answers 404 for other paths and 405 for other methods", function()
    local body, status = e:get("/nope")
    assert.equal(404, status)
    assert.equal("404 page not found\n", body)
    local _, code, headers = e:get("/metrics", "-X POST")
    assert.equal(405, code)
    assert.is_truthy(headers:find("Allow: GET, HEAD\r\n", 1, true))
    _, code = e:get("/metrics", "-X DELETE")
    assert.equal(405, code)
  end)

  it("answers HEAD with headers only", function()
    local body, status, headers = e:get("/metrics", "-I")
    assert.equal(200, status)
    assert.is_truthy(headers:find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", 1, true))
    assert.equal(headers, body) -- curl -I prints only the headers
  end)

  it("gzips for clients that accept it, with the same content", function()
    e:target("hit 5")
    local plain = e:scrape()
    local _, status, headers = e:get("/metrics", "--compressed -o " .. e.work .. "/body")
    assert.equal(200, status)
    assert.is_truthy(headers:find("Content-Encoding: gzip\r\n", 1, true))
    local unzipped = helper.read_file(e.work .. "/body")
    -- Durations and the process's own figures differ between two scrapes;
    -- everything else is the same.
    local function stable(text)
      return (text:gsub("scrape_duration_seconds{[^}]*} %S+", ""):gsub("\nprocess_[%w_]+ %S+", ""))
    end
    assert.equal(stable(plain), stable(unzipped))
  end)

  it("keeps the connection alive across requests", function()
    local out = helper.sh(("curl -sv -o /dev/null -o /dev/null %s/metrics %s/metrics"):format(e.url, e.url))
    assert.is_truthy(out:find("Re-using existing connection", 1, true))
  end)

  it("writes output that promtool accepts, but for the run time name ebpf_exporter gives", function()
    e:target("values 1 2 3 1000")
    local path = e.work .. "/metrics.prom"
    local function check()
      local f = assert(io.open(path, "w"))
      f:write(e:scrape())
      f:close()
      return helper.sh("promtool check metrics < " .. path)
    end
    -- Program run stats are in the output while the machine's
    -- kernel.bpf_stats_enabled is 1: set it each way, under the lock every
    -- copy of the specs takes for it.
    local off, off_code, on, on_code
    lock.with("bpf-stats", function()
      local saved = helper.read_file("/proc/sys/kernel/bpf_stats_enabled"):gsub("%s+$", "")
      local ok, err = pcall(function()
        os.execute("sysctl -qw kernel.bpf_stats_enabled=0")
        off, off_code = check()
        os.execute("sysctl -qw kernel.bpf_stats_enabled=1")
        on, on_code = check()
      end)
      os.execute("sysctl -qw kernel.bpf_stats_enabled=" .. saved)
      assert(ok, err)
    end)
    assert.equal("", off)
    assert.equal(0, off_code)
    -- ebpf_exporter's name, kept so that its dashboards work: a lint, not an error.
    assert.equal('ebpf_exporter_ebpf_program_run_time_seconds counter metrics should have "_total" suffix\n', on)
    assert.equal(3, on_code)
  end)
end)

describe("what the exporter says of itself", function()
  local e
  setup(function()
    e = helper.start({ names = "uprobe_test,attach_fail", args = "--debug" })
  end)
  teardown(function()
    assert.equal(0, (e:stop()))
  end)

  local function revision()
    return helper.revision()
  end

  it("has a landing page with the version, each config's programs and maps, and why one did not attach", function()
    local body, status = e:get("/")
    assert.equal(200, status)
    local ids = helper.program_ids(e:scrape())
    local lines = {}
    for line in body:gmatch("[^\n]+") do
      lines[line] = true
    end
    local libbpf = body:match("libbpf (v%d+%.%d+)")
    for _, line in ipairs({
      ("<p>Version 0.1.0 (revision %s), libbpf %s, %s.</p>"):format(revision(), libbpf, jit.version),
      '<p><a href="/metrics">Metrics</a> &middot; <a href="/maps">Maps</a> (raw keys and decoded labels, --debug)</p>',
      "<h3>uprobe_test</h3>",
      ("<tr><td>elx_test_hit</td><td><code>uprobe/%s/elx-test-target:elx_test_hit</code></td><td>%d</td>"
        .. "<td>yes</td></tr>"):format(helper.abs_spec_dir(), ids[1]),
      "<li><code>ebpf_exporter_test_value_exp2</code> (histogram, map <code>test_value_exp2</code>)</li>",
      "<h3>attach_fail</h3>",
      ("<tr><td>never_attached</td><td><code>tracepoint/elx_no_such_system/elx_no_such_event</code></td><td>%d</td>"
        .. "<td>no: failed to determine tracepoint &#39;elx_no_such_system/elx_no_such_event&#39; perf event ID: "
        .. "No such file or directory: this kernel has no tracepoint elx_no_such_system/elx_no_such_event</td></tr>")
        :format(ids[3]),
    }) do
      assert.is_true(lines[line] or false, line .. "\n---\n" .. body)
    end
  end)

  it("exports build_info and the process metrics of client libraries", function()
    local s = helper.samples(e:scrape())
    local libbpf = (helper.sh("pkg-config --modversion libbpf"):match("^(%d+%.%d+)"))
    assert.equal(1, s[('ebpf_exporter_build_info{libbpf="v%s",luajit="%s",revision="%s",version="0.1.0"}')
      :format(libbpf, jit.version, revision())])
    local limits = helper.read_file("/proc/" .. e.pid .. "/limits")
    assert.equal(tonumber(limits:match("Max open files%s+(%d+)")), s["process_max_fds"])
    -- The fds open while idle, and the scrape's own connection.
    local idle = tonumber((helper.sh("ls /proc/" .. e.pid .. "/fd | wc -l")))
    assert.equal(idle + 1, helper.samples(e:scrape())["process_open_fds"])
    local stat = helper.read_file("/proc/" .. e.pid .. "/stat"):match("%) (.*)$")
    local fields = {}
    for f in stat:gmatch("%S+") do fields[#fields + 1] = f end
    local btime = tonumber(helper.read_file("/proc/stat"):match("\nbtime (%d+)"))
    assert.equal(btime + tonumber(fields[20]) / 100, s["process_start_time_seconds"])
    assert.is_true(s["process_resident_memory_bytes"] > 1e6 and s["process_virtual_memory_bytes"] > s["process_resident_memory_bytes"])
    assert.is_true(s["process_cpu_seconds_total"] > 0)
  end)

  it("prints scrape durations in plain decimal", function()
    local text = e:scrape()
    local value = text:match('\nebpf_exporter_scrape_duration_seconds{config="uprobe_test"} (%S+)\n')
    assert.is_truthy(value:match("^0%.%d+$"), value)
  end)
end)

describe("a real Prometheus server", function()
  it("scrapes the exporter and its query API returns the exact count", function()
    local e = helper.start({ names = "uprobe_test" })
    e:target("hit 4321")
    local dir = helper.tmpdir()
    local f = assert(io.open(dir .. "/prometheus.yml", "w"))
    f:write(([[
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ebpf
    static_configs:
      - targets: ["127.0.0.1:%d"]
]]):format(e.port))
    f:close()
    -- A free port for Prometheus itself: the kernel picks one, we reuse it.
    local port = tonumber((helper.sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")))
    helper.sh(("(prometheus --config.file=%s/prometheus.yml --storage.tsdb.path=%s/data "
      .. "--web.listen-address=127.0.0.1:%d >%s/log 2>&1 & echo $! >%s/pid) </dev/null >/dev/null 2>&1")
      :format(dir, dir, port, dir, dir))
    local query = ("http://127.0.0.1:%d/api/v1/query?query=ebpf_exporter_test_hits_total"):format(port)
    local value, health
    for _ = 1, 150 do
      local body = helper.sh("curl -s '" .. query .. "'")
      value = body:match('"value":%[[%d.]+,"(%d+)"%]')
      if value then
        break
      end
      helper.sleep(0.2)
    end
    local targets = helper.sh(("curl -s http://127.0.0.1:%d/api/v1/targets"):format(port))
    health = targets:match('"health":"(%a+)"')
    helper.sh("kill $(cat " .. dir .. "/pid)")
    local log = helper.read_file(dir .. "/log")
    os.execute("rm -rf " .. dir)
    assert.equal(0, (e:stop()))
    assert.equal("4321", value, "Prometheus never returned the series; its log:\n" .. tostring(log))
    assert.equal("up", health)
  end)
end)
