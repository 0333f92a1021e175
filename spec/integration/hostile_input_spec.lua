-- Hostile and clumsy input against the real exporter (issue 9.9 to 9.12):
-- process names that are not UTF-8, histograms without a bound, empty, cut
-- and half-written configs, keys given twice, quoted numbers.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local write = files.write

local REPLACEMENT = "\239\191\189" -- U+FFFD

local function elapsed(fn)
  local t0 = tonumber((helper.sh("date +%s.%N")))
  local a, b, c = fn()
  return tonumber((helper.sh("date +%s.%N"))) - t0, a, b, c
end

-- Starts a real Prometheus scraping `e` every second; returns a function
-- that runs an instant query (the value of its first series, or nil), and
-- one that stops it and returns the target's health and Prometheus' log.
local function prometheus(e)
  local dir = helper.tmpdir()
  write(dir .. "/prometheus.yml", ([[
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ebpf
    static_configs:
      - targets: ["127.0.0.1:%d"]
]]):format(e.port))
  local port = tonumber((helper.sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); "
    .. "print(s.getsockname()[1])'")))
  helper.sh(("(prometheus --config.file=%s/prometheus.yml --storage.tsdb.path=%s/data "
    .. "--web.listen-address=127.0.0.1:%d >%s/log 2>&1 & echo $! >%s/pid) </dev/null >/dev/null 2>&1")
    :format(dir, dir, port, dir, dir))
  local function query(q)
    local body = helper.sh(("curl -s -G --data-urlencode 'query=%s' http://127.0.0.1:%d/api/v1/query"):format(q, port))
    return body:match('"value":%[[%d.]+,"(%d+)"%]')
  end
  local function stop()
    local targets = helper.sh(("curl -s http://127.0.0.1:%d/api/v1/targets"):format(port))
    helper.sh("kill $(cat " .. dir .. "/pid)")
    local log = helper.read_file(dir .. "/log")
    os.execute("rm -rf " .. dir)
    return targets:match('"health":"(%a+)"'), targets:match('"lastError":"([^"]*)"'), log
  end
  return query, stop
end

describe("a process whose name is not UTF-8", function()
  -- Before: `invalid UTF-8 label value`, and Prometheus dropped the whole
  -- scrape (up 0) until the name left the map.
  it("is exported with U+FFFD for the bad byte, counted, and promtool and Prometheus take the scrape", function()
    local dir = helper.tmpdir()
    files.run(("cp %s/regexp.bpf.o %s/comms.bpf.o"):format(helper.examples_dir, dir))
    write(dir .. "/comms.yaml", [[
metrics:
  counters:
    - name: task_exits_total
      help: Exits of tasks by command name
      labels:
        - name: command
          size: 16
          decoders:
            - name: string
]])
    local e = helper.start({ dir = dir, names = "comms" })
    -- A name of ours alone: 0xff, then "elx" and digits (the kernel keeps 15 bytes).
    local digits = tostring(math.random(100000, 999999))
    local name = "\255elx" .. digits
    files.run(("cp /bin/true '%s/%s'"):format(dir, name))
    for _ = 1, 5 do
      files.run(("'%s/%s'"):format(dir, name))
    end
    local text = e:scrape()
    local s = helper.samples(text)
    assert.equal(5, s[('ebpf_exporter_task_exits_total{command="%selx%s"}'):format(REPLACEMENT, digits)])
    assert.is_nil(text:find("\255", 1, true))
    -- Ours, and any other such name that exited on the machine meanwhile.
    assert.is_true(s['ebpf_exporter_invalid_utf8_label_values_total{config="comms"}'] >= 1)
    write(e.work .. "/metrics.prom", text)
    assert.equal("", helper.promtool_lint(e.work .. "/metrics.prom"))
    local query, stop = prometheus(e)
    local value
    for _ = 1, 150 do
      value = query(('ebpf_exporter_task_exits_total{command=~".elx%s"}'):format(digits))
      if value then break end
      helper.sleep(0.2)
    end
    local health, last_error, log = stop()
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
    assert.equal("5", value, "Prometheus never returned the series; its log:\n" .. tostring(log))
    assert.equal("up", health, last_error)
  end)
end)

describe("a config with unbounded histograms and clumsy keys", function()
  -- Before: the linear histogram ran past 120 s and 1.5 GB at load; exp2 up
  -- to 1100 wrote 78 series of le="+Inf"; the key given twice and the
  -- quoted size went unnoticed or were reported as `not 8`.
  it("is refused at once, with every mistake named", function()
    local dir = helper.config_dir("uprobe_test", "bad", [[
metrics:
  counters:
    - name: test_hits_by_value_total
      help: Calls
      help: Calls of elx_test_hit
      labels:
        - { name: value, size: "8", decoders: [{ name: uint }] }
  histograms:
    - { name: test_value_exp2, help: h, bucket_type: exp2, bucket_min: 0, bucket_max: 1100,
        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }
    - { name: test_value_linear, help: h, bucket_type: linear, bucket_min: 0, bucket_max: 10000000,
        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }
]])
    local took, out, code = elapsed(function()
      return helper.run("--log.no-timestamps --config.check --config.dir=" .. dir .. " --config.names=bad")
    end)
    os.execute("rm -rf " .. dir)
    assert.equal(1, code)
    assert.is_true(took < 5, "the check took " .. took .. " s")
    assert.equal(table.concat({
      "error: bad.yaml: metrics.counters[0].help: given twice, at lines 4 and 5: a key may appear once in a mapping",
      'error: bad.yaml: metrics.counters[0].labels[0].size: must be an integer >= 1, not the string "8"',
      "error: bad.yaml: metrics.histograms[0].bucket_max: bucket 1024 has no finite upper bound (2^1024 × 1 is past "
        .. "the largest float64): at most 1023 with this bucket_type and bucket_multiplier",
      "error: bad.yaml: metrics.histograms[1].bucket_max: 10000001 buckets (bucket_min 0 to bucket_max 10000000); a "
        .. "histogram may have at most 4096",
      "",
    }, "\n"), out)
  end)
end)

describe("an empty or cut config", function()
  -- Before: `printf 'metrics:\n' > x.yaml` and a reload dropped the
  -- config's series and answered that it worked.
  it("fails the reload, and the running configuration goes on", function()
    local dir = helper.config_dir("uprobe_test", "x", "metrics:\n  counters:\n    - name: test_hits_total\n"
      .. "      help: Calls of elx_test_hit\n")
    local e = helper.start({ dir = dir, names = "x", args = "--web.enable-lifecycle" })
    e:target("hit 7")
    for _, text in ipairs({ "metrics:\n", "", "metrics:\n  counters:\n" }) do
      write(dir .. "/x.yaml", text)
      local body, status = e:get("/-/reload", "-X POST")
      assert.equal(500, status)
      assert.equal("500 the reload failed and the previous configuration keeps running:\n"
        .. 'x.yaml: neither metrics nor tracing are defined for config "x"\n', body)
      assert.equal(7, e:samples()["ebpf_exporter_test_hits_total"])
    end
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
  end)
end)

describe("--config.watch", function()
  -- Before: a reload 300 ms after the first write loaded whatever the file
  -- held then: here, a valid config of one metric where the writer meant two.
  it("waits for a file being written to be closed, and loads it whole, once", function()
    local one = "metrics:\n  counters:\n    - name: test_hits_total\n      help: Calls of elx_test_hit\n"
    local dir = helper.config_dir("uprobe_test", "w", one)
    local e = helper.start({ dir = dir, names = "w", args = "--config.watch" })
    e:target("values 5 5")
    local script, first, second = e.work .. "/writer.py", e.work .. "/first", e.work .. "/second"
    write(first, (one:gsub("help: Calls of elx_test_hit", "help: Two metrics now")))
    write(second, "    - name: test_hits_by_value_total\n      help: by value\n      labels:\n"
      .. "        - {name: value, size: 8, decoders: [{name: uint}]}\n")
    write(script, [[
import sys, time
with open(sys.argv[1], "w") as f:
    f.write(open(sys.argv[2]).read())
    f.flush()
    time.sleep(2)
    f.write(open(sys.argv[3]).read())
]])
    helper.sh(("/usr/bin/python3.11 %s %s/w.yaml %s %s </dev/null >/dev/null 2>&1 & sleep 1.2"):format(script, dir,
      first, second))
    -- Half of it is on disk, and has been for longer than the 300 ms debounce.
    local half = helper.samples(e:scrape())
    assert.is_nil(half['ebpf_exporter_test_hits_by_value_total{value="5"}'])
    assert.equal(0, half['ebpf_exporter_config_reloads_total{result="success"}'])
    local s
    for _ = 1, 60 do
      s = e:samples()
      if s['ebpf_exporter_test_hits_by_value_total{value="5"}'] then break end
      helper.sleep(0.1)
    end
    helper.sleep(0.5) -- a second reload would come 300 ms after the last event
    s = e:samples()
    local text = e:scrape()
    local code = e:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
    assert.equal(2, s['ebpf_exporter_test_hits_by_value_total{value="5"}'])
    assert.equal(1, s['ebpf_exporter_config_reloads_total{result="success"}'])
    assert.equal(0, s['ebpf_exporter_config_reloads_total{result="failure"}'])
    assert.is_truthy(text:find("# HELP ebpf_exporter_test_hits_total Two metrics now\n", 1, true))
  end)
end)
