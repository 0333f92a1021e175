-- Binding metrics to maps and turning fake batches into exposition text.
local buffer = require("string.buffer")
local collect = require("exporter.collect")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local fake = require("helpers.fake")
local metric = require("exporter.metric")
local spec_files = require("helpers.files")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))
local HASH, PERCPU_HASH, PERCPU_ARRAY, PERF_EVENT_ARRAY = 1, 5, 6, 4

local function plans(yaml, infos, opts)
  local cfg = assert(config.parse(yaml, "t.yaml", { config = "t", registry = registry }))
  return metric.bind(cfg, infos, opts or { cache_size = 1000 })
end

local function new_stats()
  local logged = {}
  return { decoder_errors = 0, logged = {}, nlogged = 0, log = function(m) logged[#logged + 1] = m end,
    messages = logged }
end

-- A registry of the built-in decoders and `files` ({ [name] = source }) as
-- users' decoders, unrestricted; with `builtin`, of `files` alone as the
-- built-in decoders. The files go once loaded: nothing reads them again.
local function registry_with(files, builtin)
  local dir = spec_files.tmpdir()
  for name, source in pairs(files) do
    spec_files.write(dir .. "/" .. name .. ".lua", source)
  end
  local reg = assert(decoders.load(builtin and { dir } or { decoders.builtin_dir(), dir }, function() end,
    { unrestricted = true }))
  os.execute("rm -rf " .. dir)
  return reg
end

local function run(plan, batch, stats)
  local buf = buffer.new()
  local n = collect[plan.kind](plan, batch, buf, stats or new_stats())
  return buf:tostring(), n
end

local COUNTER = [[
metrics:
  counters:
    - name: events_total
      help: Events by kind and cpu
      labels:
        - name: kind
          size: 4
          decoders: [{ name: uint }, { name: static_map, static_map: { 1: one, 2: two } }]
        - name: id
          size: 2
          padding: 2
          decoders: [{ name: uint }]
]]

describe("metric binding", function()
  it("binds a counter to its map", function()
    local p = assert(plans(COUNTER, { { name = "events_total", type = HASH, key_size = 8, value_size = 8, max_entries = 64 } }))
    assert.equal(1, #p)
    assert.equal("ebpf_exporter_events_total", p[1].family)
    assert.equal(64, p[1].cache_size)
    assert.equal(4, p[1].labels[2].offset)
  end)

  it("names every mismatch between config and maps", function()
    local yaml = [[
metrics:
  counters:
    - { name: missing, help: x }
    - { name: small, help: x }
    - { name: keyed, help: x, labels: [{ name: a, size: 4, decoders: [{ name: uint }] }] }
    - { name: ring, help: x }
    - { name: percpu, help: x, labels: [{ name: a, size: 4, decoders: [{ name: uint }] }, { name: cpu, size: 4, decoders: [{ name: uint }] }] }
    - { name: perf, help: x, perf_event_array: true }
]]
    local _, errors = plans(yaml, {
      { name = "small", type = HASH, key_size = 4, value_size = 4, max_entries = 1 },
      { name = "keyed", type = HASH, key_size = 8, value_size = 8, max_entries = 1 },
      { name = "ring", type = 27, key_size = 0, value_size = 0, max_entries = 4096 },
      { name = "percpu", type = PERCPU_HASH, percpu = 1, key_size = 4, value_size = 8, max_entries = 1 },
      { name = "perf", type = PERF_EVENT_ARRAY, key_size = 4, value_size = 4, max_entries = 2 },
    })
    assert.same({
      't.yaml: metrics.counters[0].name: no map "missing" in t.bpf.o',
      't.yaml: metrics.counters[1].name: map "small" has 4-byte values; counters and histograms need u64 (8 bytes)',
      't.yaml: metrics.counters[2].labels: the labels take 4 bytes (size + padding), but map "keyed" has 8-byte keys',
      "t.yaml: metrics.counters[4].labels[1].size: the cpu label of a per-CPU map takes the 2-byte CPU index: size must be 2",
    }, errors)
  end)
end)

describe("cgroup_id_map binding", function()
  it("wants a u64-keyed hash or a cgroup storage, with u64 values", function()
    -- A config defines a metric too: the counter c.
    local c = { name = "c", type = HASH, key_size = 4, value_size = 8, max_entries = 1 }
    local function bind(type_, info)
      return plans("metrics: { counters: [{ name: c, help: x }] }\ncgroup_id_map: { name: ids, type: " .. type_
        .. ", regexps: [x] }", { info, c })
    end
    assert.equal(1, #assert(bind("hash", { name = "ids", type = HASH, key_size = 8, value_size = 8 })))
    assert.equal(1, #assert(bind("cgrp_storage", { name = "ids", type = 32, key_size = 4, value_size = 8 })))
    local _, errors = bind("hash", { name = "ids", type = 32, key_size = 4, value_size = 8 })
    assert.same({ 't.yaml: cgroup_id_map.name: map "ids" must be a hash (or LRU hash) with u64 keys and u64 values '
      .. "for type hash (it has type 32, 4-byte keys, 8-byte values)" }, errors)
    _, errors = bind("hash", { name = "other", type = HASH, key_size = 8, value_size = 8 })
    assert.same({ 't.yaml: cgroup_id_map.name: no map "ids" in t.bpf.o' }, errors)
  end)
end)

describe("event counters", function()
  it("bind perf event arrays and ring buffers, with the record's label bytes and the flush interval", function()
    local yaml = [[
metrics:
  counters:
    - name: oom_kills
      help: x
      perf_event_array: true
      flush_interval: 10m
      labels:
        - { name: cgroup, size: 8, decoders: [{ name: uint }] }
        - { name: kind, size: 4, padding: 4, decoders: [{ name: uint }] }
    - { name: ring_events, help: x, labels: [{ name: id, size: 4, decoders: [{ name: uint }] }] }
]]
    local p = assert(plans(yaml, {
      { name = "oom_kills", type = 4, key_size = 4, value_size = 4, max_entries = 2 },
      { name = "ring_events", type = 27, key_size = 0, value_size = 0, max_entries = 4096 },
    }))
    assert.equal("perf_event_array", p[1].event)
    assert.equal(16, p[1].key_size)
    assert.equal(600, p[1].flush_interval)
    assert.equal("ringbuf", p[2].event)
    assert.equal(4, p[2].key_size)
    assert.equal(3600, p[2].flush_interval)
  end)

  it("refuse what does not fit them", function()
    local yaml = [[
metrics:
  counters:
    - { name: hashed, help: x, perf_event_array: true }
    - { name: flushed, help: x, flush_interval: 1h }
  histograms:
    - { name: ring_hist, help: x, bucket_type: exp2, bucket_min: 0, bucket_max: 1, labels: [{ name: b, size: 8, decoders: [{ name: uint }] }] }
]]
    local infos = {
      { name = "hashed", type = HASH, key_size = 4, value_size = 8 },
      { name = "flushed", type = HASH, key_size = 4, value_size = 8, max_entries = 8 },
      { name = "ring_hist", type = 27, key_size = 0, value_size = 0 },
    }
    local _, errors = plans(yaml, infos, { cache_size = 1000, strict = true })
    assert.same({
      't.yaml: metrics.counters[0].perf_event_array: map "hashed" is not a perf event array or ring buffer (type 1)',
      "t.yaml: metrics.counters[1].flush_interval: only applies to counters of perf event arrays and ring buffers",
      't.yaml: metrics.histograms[0].name: map "ring_hist" is a ringbuf: only counters can count its records',
    }, errors)
    -- Without --config.strict, flush_interval on a map counter is ignored, as
    -- ebpf_exporter ignores it, with a warning.
    local cfg = assert(config.parse(yaml, "t.yaml", { config = "t", registry = registry }))
    _, errors = metric.bind(cfg, infos, { cache_size = 1000 })
    assert.equal(2, #errors)
    assert.same({ "t.yaml: metrics.counters[1].flush_interval: only applies to counters of perf event arrays and ring "
      .. "buffers (ignored; --config.strict refuses it)" }, cfg.warnings)
  end)
end)

describe("counters", function()
  local plan
  before_each(function()
    plan = assert(plans(COUNTER, { { name = "events_total", type = HASH, key_size = 8, value_size = 8, max_entries = 64 } }))[1]
  end)

  it("decodes keys into sorted label pairs and writes exact values", function()
    local out, n = run(plan, fake.batch({ rows = {
      { key = fake.u32(1) .. fake.u16(7) .. "\0\0", value = 5 },
      { key = fake.u32(3) .. fake.u16(8) .. "\0\0", value = 0xffffffffffffffffULL },
    } }))
    assert.equal(2, n)
    assert.equal(table.concat({
      "# HELP ebpf_exporter_events_total Events by kind and cpu",
      "# TYPE ebpf_exporter_events_total counter",
      'ebpf_exporter_events_total{id="7",kind="one"} 5',
      'ebpf_exporter_events_total{id="8",kind="unknown:3"} 18446744073709551615',
      "",
    }, "\n"), out)
  end)

  it("sums rows whose labels are equal, and ignores padding bytes", function()
    local out = run(plan, fake.batch({ rows = {
      { key = fake.u32(1) .. fake.u16(7) .. "\0\0", value = 5 },
      { key = fake.u32(1) .. fake.u16(7) .. "\1\2", value = 6 },
      { key = fake.u32(2) .. fake.u16(7) .. "\0\0", value = 1 },
    } }))
    assert.equal(table.concat({
      "# HELP ebpf_exporter_events_total Events by kind and cpu",
      "# TYPE ebpf_exporter_events_total counter",
      'ebpf_exporter_events_total{id="7",kind="one"} 11',
      'ebpf_exporter_events_total{id="7",kind="two"} 1',
      "",
    }, "\n"), out)
  end)

  it("keeps every series when their number outgrows the first arrays", function()
    local yaml = "metrics: { counters: [ { name: c, help: x, labels: [{ name: k, size: 4, decoders: [{ name: uint }] }] } ] }"
    local p = assert(plans(yaml, { { name = "c", type = HASH, key_size = 4, value_size = 8, max_entries = 5000 } }))[1]
    local rows, expected = {}, { "# HELP ebpf_exporter_c x", "# TYPE ebpf_exporter_c counter" }
    for k = 1, 5000 do
      rows[k] = { key = fake.u32(k), value = k * 3 }
      expected[#expected + 1] = ('ebpf_exporter_c{k="%d"} %d'):format(k, k * 3)
    end
    expected[#expected + 1] = ""
    local batch = fake.batch({ rows = rows })
    assert.equal(table.concat(expected, "\n"), run(p, batch))
    assert.equal(table.concat(expected, "\n"), run(p, batch)) -- warm, from the cache
  end)

  it("writes nothing for an empty map", function()
    local out, n = run(plan, fake.batch({ key_size = 8, rows = {} }))
    assert.equal("", out)
    assert.equal(0, n)
  end)

  it("gives the same output from the cache on the next scrape", function()
    local batch = fake.batch({ rows = { { key = fake.u32(2) .. fake.u16(1) .. "\0\0", value = 9 } } })
    local first = run(plan, batch)
    assert.equal(first, run(plan, batch))
    assert.equal('ebpf_exporter_events_total{id="1",kind="two"} 9\n', first:match("\n(ebpf[^\n]*\n)$"))
  end)

  it("writes one unlabelled series summing every key", function()
    local p = assert(plans("metrics: { counters: [ { name: total, help: All } ] }",
      { { name = "total", type = 2, key_size = 4, value_size = 8, max_entries = 2 } }))[1]
    local out = run(p, fake.batch({ rows = { { key = fake.u32(0), value = 40 }, { key = fake.u32(1), value = 2 } } }))
    assert.equal("# HELP ebpf_exporter_total All\n# TYPE ebpf_exporter_total counter\nebpf_exporter_total 42\n", out)
  end)

  it("escapes label values and help text", function()
    local p = assert(plans([[
metrics:
  counters:
    - name: s
      help: "a \\ b\nc"
      labels: [{ name: s, size: 4, decoders: [{ name: string }] }]
]], { { name = "s", type = HASH, key_size = 4, value_size = 8, max_entries = 2 } }))[1]
    local out = run(p, fake.batch({ rows = { { key = 'a"\\\n', value = 1 } } }))
    assert.equal('# HELP ebpf_exporter_s a \\\\ b\\nc\n# TYPE ebpf_exporter_s counter\nebpf_exporter_s{s="a\\"\\\\\\n"} 1\n', out)
  end)

  it("drops skipped rows and counts decoder errors once per row, logging each message once", function()
    local yaml = [[
metrics:
  counters:
    - { name: c, help: x, labels: [{ name: n, size: 4, decoders: [{ name: string }, { name: errno }] }] }
]]
    local p = assert(plans(yaml, { { name = "c", type = HASH, key_size = 4, value_size = 8, max_entries = 8 } }))[1]
    local stats = new_stats()
    local batch = fake.batch({ rows = { { key = "11\0\0", value = 3 }, { key = "xx\0\0", value = 4 }, { key = "yy\0\0", value = 5 } } })
    local out = run(p, batch, stats)
    assert.equal('# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\nebpf_exporter_c{n="EAGAIN"} 3\n', out)
    assert.equal(2, stats.decoder_errors)
    run(p, batch, stats) -- errors are not cached: they count again
    assert.equal(4, stats.decoder_errors)
    assert.same({
      "config t, metric c, label n: errno: not a number: xx",
      "config t, metric c, label n: errno: not a number: yy",
    }, stats.messages)
  end)

  it("drops rows a decoder skips", function()
    local reg = registry_with({ odd_only = [[
local api = require("exporter.decoder_api")
return { new = function() return function(s)
  ODD_ONLY_CALLS = ODD_ONLY_CALLS + 1
  return tonumber(s) % 2 == 1 and s or api.SKIP
end end }
]] })
    local cfg = assert(config.parse([[
metrics:
  counters:
    - { name: c, help: x, labels: [{ name: n, size: 4, decoders: [{ name: uint }, { name: odd_only }] }] }
]], "t.yaml", { config = "t", registry = reg }))
    local batch = fake.batch({ rows = { { key = fake.u32(1), value = 1 }, { key = fake.u32(2), value = 2 },
      { key = fake.u32(3), value = 3 } } })
    local expected = '# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\nebpf_exporter_c{n="1"} 1\nebpf_exporter_c{n="3"} 3\n'
    -- With a skip cache, the dropped key 2 is decoded once; without, at every scrape.
    for _, case in ipairs({ { skip_cache_size = 8, calls = 3 }, { skip_cache_size = 0, calls = 4 } }) do
      local infos = { { name = "c", type = HASH, key_size = 4, value_size = 8, max_entries = 8 } }
      local p = assert(metric.bind(cfg, infos, { cache_size = 8, skip_cache_size = case.skip_cache_size }))[1]
      _G.ODD_ONLY_CALLS = 0
      assert.equal(expected, run(p, batch))
      assert.equal(expected, run(p, batch))
      assert.equal(case.calls, _G.ODD_ONLY_CALLS, "skip_cache_size " .. case.skip_cache_size)
    end
    _G.ODD_ONLY_CALLS = nil
  end)
end)

describe("UNCACHED answers", function()
  it("are exported, not cached, and replaced once the decoder knows better", function()
    _G.LATE_CALLS, _G.LATE_KNOWN = {}, false
    local reg = registry_with({ late = [[
local api = require("exporter.decoder_api")
return { new = function() return function(s)
  LATE_CALLS[s] = (LATE_CALLS[s] or 0) + 1
  if s == "2" and not LATE_KNOWN then return "unknown:" .. s, api.UNCACHED end
  return "dev" .. s
end end }
]] })
    local cfg = assert(config.parse([[
metrics:
  counters:
    - { name: c, help: x, labels: [{ name: d, size: 4, decoders: [{ name: uint }, { name: late }] }] }
]], "t.yaml", { config = "t", registry = reg }))
    local p = assert(metric.bind(cfg, { { name = "c", type = HASH, key_size = 4, value_size = 8, max_entries = 8 } },
      { cache_size = 8 }))[1]
    local batch = fake.batch({ rows = { { key = fake.u32(1), value = 5 }, { key = fake.u32(2), value = 6 } } })
    local head = "# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\n"
    assert.equal(head .. 'ebpf_exporter_c{d="dev1"} 5\nebpf_exporter_c{d="unknown:2"} 6\n', run(p, batch))
    assert.equal(head .. 'ebpf_exporter_c{d="dev1"} 5\nebpf_exporter_c{d="unknown:2"} 6\n', run(p, batch))
    _G.LATE_KNOWN = true
    assert.equal(head .. 'ebpf_exporter_c{d="dev1"} 5\nebpf_exporter_c{d="dev2"} 6\n', run(p, batch))
    run(p, batch)
    assert.same({ ["1"] = 1, ["2"] = 3 }, _G.LATE_CALLS) -- key 2 asked until known, then cached
    _G.LATE_CALLS, _G.LATE_KNOWN = nil, nil
  end)

  it("come from the decoders whose stand-ins may turn real", function()
    local api = require("exporter.decoder_api")
    local function second(options, input)
      return select(2, assert(registry:new(options, { path = "p" }))(input))
    end
    api.paths.partitions = "spec/fixtures/partitions"
    assert.equal(api.UNCACHED, second({ name = "majorminor" }, fake.u32(0xfffff)))
    assert.is_nil(second({ name = "majorminor" }, fake.u32(0x10300)))
    api.reset()
  end)
end)

describe("a label's repeated inputs within one scrape", function()
  it("are decoded once, except answers marked UNCACHED, errors and repaired values, which count per row", function()
    _G.COUNTED_CALLS = {}
    local reg = registry_with({ counted = [[
local api = require("exporter.decoder_api")
local answers = { ["1"] = "one", ["3"] = api.SKIP, ["5"] = "bad\255" }
return { new = function() return function(s)
  COUNTED_CALLS[s] = (COUNTED_CALLS[s] or 0) + 1
  if s == "2" then return "two", api.UNCACHED end
  if s == "4" then return nil, "no four" end
  return answers[s]
end end }
]] })
    local cfg = assert(config.parse([[
metrics:
  counters:
    - name: c
      help: x
      labels:
        - { name: kind, size: 4, decoders: [{ name: uint }, { name: counted }] }
        - { name: id, size: 4, decoders: [{ name: uint }] }
]], "t.yaml", { config = "t", registry = reg }))
    local p = assert(metric.bind(cfg, { { name = "c", type = HASH, key_size = 8, value_size = 8, max_entries = 64 } },
      { cache_size = 64 }))[1]
    local rows = {}
    for id = 1, 15 do -- kinds 1..5, three rows each
      rows[id] = { key = fake.u32((id - 1) % 5 + 1) .. fake.u32(id), value = id }
    end
    local stats = new_stats()
    local lines, kinds = { "# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\n" },
      { "one", "two", nil, nil, "bad\239\191\189" } -- kind 3 skipped, kind 4 failed
    for id = 1, 15 do
      local kind = kinds[(id - 1) % 5 + 1]
      if kind then
        lines[#lines + 1] = ('ebpf_exporter_c{id="%d",kind="%s"} %d\n'):format(id, kind, id)
      end
    end
    assert.equal(table.concat(lines), run(p, fake.batch({ rows = rows }), stats))
    assert.same({ ["1"] = 1, ["2"] = 3, ["3"] = 1, ["4"] = 3, ["5"] = 3 }, _G.COUNTED_CALLS)
    assert.equal(3, stats.decoder_errors)
    assert.equal(3, stats.invalid_utf8)
    -- The next scrape: cached keys are not decoded; the UNCACHED ones, the
    -- failed ones and the skipped ones (without a skip cache) are, once per input again.
    _G.COUNTED_CALLS = {}
    run(p, fake.batch({ rows = rows }), stats)
    assert.same({ ["2"] = 3, ["3"] = 1, ["4"] = 3 }, _G.COUNTED_CALLS)
    _G.COUNTED_CALLS = nil
  end)
end)

describe("a built-in decoder that raises or answers a non-string", function()
  it("costs the rows it fails on, each counted, and the scrape goes on", function()
    -- It says it answers only ASCII: its answers skip the UTF-8 check that
    -- would raise on a number by chance.
    local reg = registry_with({ boom = [[
return { ascii_only = true, new = function() return function(s)
  local b = s:byte(1)
  if b == 2 then error("boom") end
  if b == 3 then return 42 end
  return "v" .. b
end end }
]] }, true) -- as a built-in decoder
    local cfg = assert(config.parse([[
metrics:
  counters:
    - name: c
      help: x
      labels:
        - { name: kind, size: 4, decoders: [{ name: boom }] }
        - { name: id, size: 4, decoders: [{ name: boom }] }
    - { name: one, help: x, labels: [{ name: kind, size: 4, decoders: [{ name: boom }] }] }
]], "t.yaml", { config = "t", registry = reg }))
    local infos = { { name = "c", type = HASH, key_size = 8, value_size = 8, max_entries = 64 },
      { name = "one", type = HASH, key_size = 4, value_size = 8, max_entries = 64 } }
    local p = assert(metric.bind(cfg, infos, { cache_size = 64 }))
    local rows, single = {}, {}
    for id = 10, 18 do -- kinds 1, 2, 3, three rows each
      rows[#rows + 1] = { key = fake.u32((id - 10) % 3 + 1) .. fake.u32(id), value = id }
    end
    for kind = 1, 3 do
      single[kind] = { key = fake.u32(kind), value = kind }
    end
    local stats = new_stats()
    local head = "# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\n"
    assert.equal(head .. 'ebpf_exporter_c{id="v10",kind="v1"} 10\nebpf_exporter_c{id="v13",kind="v1"} 13\n'
      .. 'ebpf_exporter_c{id="v16",kind="v1"} 16\n', run(p[1], fake.batch({ rows = rows }), stats))
    assert.equal(6, stats.decoder_errors)
    assert.equal('# HELP ebpf_exporter_one x\n# TYPE ebpf_exporter_one counter\nebpf_exporter_one{kind="v1"} 1\n',
      run(p[2], fake.batch({ rows = single }), stats))
    assert.equal(8, stats.decoder_errors)
    assert.equal(4, #stats.messages) -- each distinct message once
    for i, m in ipairs({ "c", "one" }) do
      assert.truthy(stats.messages[2 * i - 1]:find(('config t, metric %s, label kind: decoder "boom" raised: .*boom')
        :format(m)))
      assert.equal(('config t, metric %s, label kind: decoder "boom" returned a number, not a string'):format(m),
        stats.messages[2 * i])
    end
  end)
end)

describe("per-CPU counters", function()
  it("sums CPUs without a cpu label", function()
    local p = assert(plans("metrics: { counters: [ { name: c, help: x, labels: [{ name: k, size: 4, decoders: [{ name: uint }] }] } ] }",
      { { name = "c", type = PERCPU_HASH, percpu = 1, key_size = 4, value_size = 8, max_entries = 4 } }))[1]
    local out = run(p, fake.batch({ ncpus = 3, rows = { { key = fake.u32(5), cpus = { 1, 2, 4 } } } }))
    assert.equal('# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\nebpf_exporter_c{k="5"} 7\n', out)
  end)

  it("splits CPUs with a trailing cpu label", function()
    local p = assert(plans([[
metrics:
  counters:
    - name: softirqs_total
      help: x
      labels:
        - { name: kind, size: 4, decoders: [{ name: uint }, { name: static_map, static_map: { 0: hi, 1: timer } }] }
        - { name: cpu, size: 2, decoders: [{ name: uint }] }
]], { { name = "softirqs_total", type = PERCPU_ARRAY, percpu = 1, key_size = 4, value_size = 8, max_entries = 2 } }))[1]
    assert.is_true(p.split_cpu)
    local out = run(p, fake.batch({ ncpus = 2, rows = {
      { key = fake.u32(0), cpus = { 10, 20 } }, { key = fake.u32(1), cpus = { 0, 7 } } } }))
    assert.equal(table.concat({
      "# HELP ebpf_exporter_softirqs_total x",
      "# TYPE ebpf_exporter_softirqs_total counter",
      'ebpf_exporter_softirqs_total{cpu="0",kind="hi"} 10',
      'ebpf_exporter_softirqs_total{cpu="0",kind="timer"} 0',
      'ebpf_exporter_softirqs_total{cpu="1",kind="hi"} 20',
      'ebpf_exporter_softirqs_total{cpu="1",kind="timer"} 7',
      "",
    }, "\n"), out)
  end)

  it("exports one series per CPU for a lone cpu label", function()
    local p = assert(plans("metrics: { counters: [ { name: c, help: x, labels: [{ name: cpu, size: 2, decoders: [{ name: uint }] }] } ] }",
      { { name = "c", type = PERCPU_ARRAY, percpu = 1, key_size = 4, value_size = 8, max_entries = 1 } }))[1]
    local out = run(p, fake.batch({ ncpus = 2, rows = { { key = fake.u32(0), cpus = { 5, 6 } } } }))
    assert.equal('# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\nebpf_exporter_c{cpu="0"} 5\nebpf_exporter_c{cpu="1"} 6\n', out)
  end)
end)

describe("histograms", function()
  local function hist(spec, key_rows, ncpus, map_type)
    local yaml = ([[
metrics:
  histograms:
    - name: h
      help: A histogram
      %s
      labels:
        - { name: op, size: 4, decoders: [{ name: uint }, { name: static_map, static_map: { 0: read, 1: write } }] }
        - { name: bucket, size: 4, decoders: [{ name: uint }] }
        %s
]]):format(spec, ncpus and "- { name: cpu, size: 2, decoders: [{ name: uint }] }" or "")
    local p = assert(plans(yaml, { { name = "h", type = map_type or HASH, percpu = map_type == PERCPU_HASH and 1 or 0, key_size = 8,
      value_size = 8, max_entries = 64 } }))[1]
    local rows = {}
    for _, r in ipairs(key_rows) do
      rows[#rows + 1] = { key = fake.u32(r[1]) .. fake.u32(r[2]), value = r[3], cpus = r.cpus }
    end
    return run(p, fake.batch({ rows = rows, ncpus = ncpus }))
  end

  it("rebuilds exp2 buckets cumulatively with the sum key and the multiplier", function()
    local out = hist("bucket_type: exp2\n      bucket_min: 0\n      bucket_max: 3\n      bucket_multiplier: 0.5",
      { { 1, 0, 2 }, { 1, 2, 3 }, { 1, 4, 21 }, { 1, 9, 100 } })
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h A histogram",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{op="write",le="0.5"} 2',
      'ebpf_exporter_h_bucket{op="write",le="1"} 2',
      'ebpf_exporter_h_bucket{op="write",le="2"} 5',
      'ebpf_exporter_h_bucket{op="write",le="4"} 5',
      'ebpf_exporter_h_bucket{op="write",le="+Inf"} 5',
      'ebpf_exporter_h_sum{op="write"} 10.5',
      'ebpf_exporter_h_count{op="write"} 5',
      "",
    }, "\n"), out)
  end)

  it("exp2zero: le 0 first", function()
    local out = hist("bucket_type: exp2zero\n      bucket_min: 0\n      bucket_max: 2", { { 0, 0, 1 }, { 0, 2, 1 }, { 0, 3, 2 } })
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h A histogram",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{op="read",le="0"} 1',
      'ebpf_exporter_h_bucket{op="read",le="1"} 1',
      'ebpf_exporter_h_bucket{op="read",le="2"} 2',
      'ebpf_exporter_h_bucket{op="read",le="+Inf"} 2',
      'ebpf_exporter_h_sum{op="read"} 2',
      'ebpf_exporter_h_count{op="read"} 2',
      "",
    }, "\n"), out)
  end)

  it("linear and fixed buckets; a missing sum key gives 0", function()
    local lin = hist("bucket_type: linear\n      bucket_min: 1\n      bucket_max: 2\n      bucket_multiplier: 10", { { 0, 2, 4 } })
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h A histogram",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{op="read",le="10"} 0',
      'ebpf_exporter_h_bucket{op="read",le="20"} 4',
      'ebpf_exporter_h_bucket{op="read",le="+Inf"} 4',
      'ebpf_exporter_h_sum{op="read"} 0',
      'ebpf_exporter_h_count{op="read"} 4',
      "",
    }, "\n"), lin)
    local fixed = hist("bucket_type: fixed\n      bucket_keys: [1, 10, 100]", { { 1, 10, 3 }, { 1, 100, 1 }, { 1, 101, 130 }, { 1, 50, 99 } })
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h A histogram",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{op="write",le="1"} 0',
      'ebpf_exporter_h_bucket{op="write",le="10"} 3',
      'ebpf_exporter_h_bucket{op="write",le="100"} 4',
      'ebpf_exporter_h_bucket{op="write",le="+Inf"} 4',
      'ebpf_exporter_h_sum{op="write"} 130',
      'ebpf_exporter_h_count{op="write"} 4',
      "",
    }, "\n"), fixed)
  end)

  it("keeps one series per label set and a one-bucket histogram", function()
    local out = hist("bucket_type: linear\n      bucket_min: 7\n      bucket_max: 7", { { 0, 7, 1 }, { 1, 7, 2 }, { 1, 8, 9 } })
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h A histogram",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{op="read",le="7"} 1',
      'ebpf_exporter_h_bucket{op="read",le="+Inf"} 1',
      'ebpf_exporter_h_sum{op="read"} 0',
      'ebpf_exporter_h_count{op="read"} 1',
      'ebpf_exporter_h_bucket{op="write",le="7"} 2',
      'ebpf_exporter_h_bucket{op="write",le="+Inf"} 2',
      'ebpf_exporter_h_sum{op="write"} 9',
      'ebpf_exporter_h_count{op="write"} 2',
      "",
    }, "\n"), out)
  end)

  it("splits a per-CPU histogram by cpu with the bucket before the cpu label", function()
    local out = hist("bucket_type: linear\n      bucket_min: 0\n      bucket_max: 0", {
      { 0, 0, cpus = { 3, 4 } }, { 0, 1, cpus = { 30, 40 } } }, 2, PERCPU_HASH)
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h A histogram",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{cpu="0",op="read",le="0"} 3',
      'ebpf_exporter_h_bucket{cpu="0",op="read",le="+Inf"} 3',
      'ebpf_exporter_h_sum{cpu="0",op="read"} 30',
      'ebpf_exporter_h_count{cpu="0",op="read"} 3',
      'ebpf_exporter_h_bucket{cpu="1",op="read",le="0"} 4',
      'ebpf_exporter_h_bucket{cpu="1",op="read",le="+Inf"} 4',
      'ebpf_exporter_h_sum{cpu="1",op="read"} 40',
      'ebpf_exporter_h_count{cpu="1",op="read"} 4',
      "",
    }, "\n"), out)
  end)
end)
