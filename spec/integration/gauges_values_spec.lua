-- Gauges, struct values and the cardinality guard on this kernel: the
-- tasks example (a gauge) and the read-stats example (a struct value, four
-- families from one map) count known events exactly; a struct value that
-- does not match its map's BTF fails the start naming file, YAML path and
-- field; and a map of 100,000 keys under max_series 1,000 gives exactly
-- 1,000 series plus the overflow one, whose sum is the map's.
local helper = require("helpers.exporter")
local files = require("helpers.files")

-- A name of this run's own (the spec's shell pid): parallel runs do not mix.
local function tag()
  return "elx" .. tostring(tonumber((helper.sh("echo $$"))))
end

-- Waits up to 10 s for series `series` to read `want`; returns what it read last.
local function settle(e, series, want)
  local got
  for _ = 1, 100 do
    got = e:samples()[series]
    if got == want then
      return got
    end
    helper.sleep(0.1)
  end
  return got
end

describe("the tasks example (a gauge)", function()
  local e, dir
  setup(function()
    e = helper.start({ dir = helper.examples_dir, names = "tasks" })
    dir = helper.tmpdir()
  end)
  teardown(function()
    os.execute("rm -rf " .. dir)
    assert.equal(0, (e:stop()))
  end)

  it("counts the tasks of a command alive now: N started, then some of them gone", function()
    local name = tag() .. "t" -- at most 15 bytes, as comm keeps them
    local path = dir .. "/" .. name
    assert.equal(0, select(2, helper.sh("ln -s /bin/sleep " .. path)))
    local series = ('ebpf_exporter_tasks_alive{command="%s"}'):format(name)
    assert.is_nil(e:samples()[series])
    local pids = {}
    for i = 1, 5 do
      pids[i] = tonumber((helper.sh(("%s 600 >/dev/null 2>&1 & echo $!"):format(path))))
    end
    assert.equal(5, settle(e, series, 5))
    helper.sh(("kill %d %d; while kill -0 %d 2>/dev/null || kill -0 %d 2>/dev/null; do sleep 0.05; done")
      :format(pids[1], pids[2], pids[1], pids[2]))
    assert.equal(3, settle(e, series, 3))
    helper.sh(("kill %d %d %d"):format(pids[3], pids[4], pids[5]))
    assert.equal(0, settle(e, series, 0))
    assert.equal(0, e:samples()['ebpf_exporter_series_overflow_total{config="tasks",metric="tasks_alive"}'])
  end)
end)

describe("the read-stats example (struct values)", function()
  local e, dir
  setup(function()
    e = helper.start({ dir = helper.examples_dir, names = "read-stats", args = "--web.enable-openmetrics" })
    dir = helper.tmpdir()
  end)
  teardown(function()
    os.execute("rm -rf " .. dir)
    assert.equal(0, (e:stop()))
  end)

  it("gives four families from one map: calls, bytes, errors and the last result", function()
    local name = tag() .. "r"
    local path = dir .. "/" .. name
    assert.equal(0, select(2, helper.sh("ln -s /bin/dd " .. path)))
    -- 7 reads of 1,000 bytes from stdin, then 1 that fails: stdin a directory.
    assert.equal(0, select(2, helper.sh(("%s bs=1000 count=7 </dev/zero >/dev/null 2>&1"):format(path))))
    helper.sh(("%s bs=1000 count=1 </ >/dev/null 2>&1"):format(path))
    local s = e:samples()
    local labels = ('{command="%s",fd="0"}'):format(name)
    assert.same({ 8, 7000, 1, -21 }, {
      s["ebpf_exporter_read_calls_total" .. labels], s["ebpf_exporter_read_bytes_total" .. labels],
      s["ebpf_exporter_read_errors_total" .. labels], s["ebpf_exporter_read_last_result" .. labels],
    })
    local text = e:scrape()
    assert.truthy(text:find("# TYPE ebpf_exporter_read_bytes_total counter\n", 1, true))
    assert.truthy(text:find("# TYPE ebpf_exporter_read_last_result gauge\n", 1, true))
    assert.is_nil(text:find("ebpf_exporter_read_stats", 1, true)) -- the map itself is no family
    -- OpenMetrics: the same counts, the signed field with its sign, and a
    -- created time for each counter field but none for the gauge.
    local om = e:get("/metrics", "-H 'Accept: application/openmetrics-text;version=1.0.0'")
    for _, line in ipairs({ "ebpf_exporter_read_calls_total" .. labels .. " 8\n",
      "ebpf_exporter_read_bytes_total" .. labels .. " 7000\n", "ebpf_exporter_read_last_result" .. labels .. " -21\n",
      "ebpf_exporter_read_calls_created" .. labels .. " " }) do
      assert.truthy(om:find("\n" .. line, 1, true), line)
    end
    assert.is_nil(om:find("ebpf_exporter_read_last_result_created", 1, true))
    assert.truthy(om:find("\n# EOF\n$"))
  end)

  it("refuses a field that falls on no member of the value's BTF type", function()
    local cdir = helper.tmpdir()
    files.run(("cp %s/read-stats.bpf.o %s/rs.bpf.o"):format(helper.examples_dir, cdir))
    local yaml = assert(helper.read_file(helper.examples_dir .. "/read-stats.yaml"))
    files.write(cdir .. "/rs.yaml", (yaml:gsub("offset: 8, size: 8", "offset: 12, size: 8")))
    local out, code = helper.run(("--config.dir=%s --config.names=rs --config.check"):format(cdir))
    os.execute("rm -rf " .. cdir)
    assert.equal(1, code)
    assert.truthy(out:find("rs.yaml: metrics.counters[0].values[1].offset: field read_bytes_total: no member of "
      .. "the map's value type read_stats starts at offset 12; its members: calls (offset 0, 8 bytes), bytes "
      .. "(offset 8, 8 bytes), errors (offset 16, 8 bytes), last (offset 24, 8 bytes)", 1, true), out)
  end)
end)

describe("the cardinality guard", function()
  local N, LIMIT = 100000, 1000
  -- elx-bench-baseline fills key i * 7919 + 1 with i * 3 + 1, i < N.
  local MAP_SUM = 3 * (N - 1) * N / 2 + N

  -- Starts an exporter on the benchmark's 100,000-key map, with `yaml` and
  -- `args`, fills the map and returns two scrapes, then one after a reload
  -- (the object kept, so the map too).
  local function scrape_guarded(yaml, args)
    local cdir = helper.tmpdir()
    files.run(("cp %s/bench/bench.bpf.o %s/"):format(helper.build, cdir))
    files.write(cdir .. "/bench.yaml", yaml)
    local e = helper.start({ dir = cdir, names = "bench", args = args .. " --web.enable-lifecycle" })
    local ids = helper.maps_named(e.pid, "bench_values")
    assert.equal(1, #ids)
    files.run(("%s/elx-bench-baseline fill %d %d"):format(helper.build, ids[1], N))
    local scrapes = { e:scrape(), e:scrape() }
    assert.equal(200, select(2, e:get("/-/reload", "-X POST")))
    scrapes[3] = e:scrape()
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. cdir)
    return scrapes
  end

  local function check(text, rows_folded)
    local n, sum, overflow = 0, 0, nil
    for key, v in text:gmatch('\nebpf_exporter_bench_values{key="([^"]+)"} (%d+)') do
      n, sum = n + 1, sum + tonumber(v)
      if key == "overflow" then
        overflow = tonumber(v)
      end
    end
    assert.equal(LIMIT + 1, n)
    assert.equal(MAP_SUM, sum)
    assert.is_true(overflow > 0)
    assert.equal(rows_folded, helper.samples(text)['ebpf_exporter_series_overflow_total{config="bench",metric="bench_values"}'])
  end

  local YAML = [[
metrics:
  counters:
    - name: bench_values
      help: Benchmark values by key
      max_series: 1000
      labels:
        - { name: key, size: 8, decoders: [{ name: uint }] }
]]

  it("keeps 1,000 series of a 100,000-key map plus the overflow one, the sum exact", function()
    local scrapes = scrape_guarded(YAML, "")
    check(scrapes[1], N - LIMIT) -- each scrape folds the rows of 99,000 keys
    check(scrapes[2], 2 * (N - LIMIT))
    check(scrapes[3], 3 * (N - LIMIT)) -- the count goes on across a reload
  end)

  it("takes its limit from --config.max-series", function()
    local scrapes = scrape_guarded(YAML:gsub("      max_series: 1000\n", ""), "--config.max-series=1000")
    check(scrapes[1], N - LIMIT)
  end)
end)
