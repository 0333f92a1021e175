-- Gauges (kind_gauge), struct values (kind_values, value_fields) and the
-- cardinality guard (cardinality.lua), from YAML to exposition text.
local buffer = require("string.buffer")
local ffi = require("ffi")
local cardinality = require("exporter.cardinality")
local collect = require("exporter.collect")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local fake = require("helpers.fake")
local metric = require("exporter.metric")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))

local function parse(yaml)
  return config.parse(yaml, "t.yaml", { config = "t", registry = registry, strict = true })
end

local function stats()
  return { decoder_errors = 0, logged = {}, nlogged = 0, log = error }
end

-- The text of `scrapes` collections of the metric of `yaml` (its only one)
-- bound to a map of `info`, and the stats of the last.
local function run(yaml, info, batch, opts, scrapes)
  local cfg = assert(parse(yaml))
  info.name = info.name or cfg.metrics[1].name
  info.max_entries = info.max_entries or 1024
  local plans, errors = metric.bind(cfg, { info }, opts or { cache_size = 1024 })
  assert(plans, errors and errors[1])
  local state, out, st = collect.new_state(plans[1]), nil, nil
  for _ = 1, scrapes or 2 do -- cold, then warm: both must give the same text
    local buf = buffer.new()
    st = stats()
    collect.metric(plans[1], state, batch, buf, st)
    local text = buf:tostring()
    assert.equal(out or text, text)
    out = text
  end
  return out, st, plans[1]
end

local function lines(list)
  return table.concat(list, "\n") .. "\n"
end

local LABEL = "{ name: k, size: 4, decoders: [{ name: uint }] }"
local CPU = "{ name: cpu, size: 2, decoders: [{ name: uint }] }"

describe("gauges", function()
  it("export u64 values as they are, equal label sets summed", function()
    local yaml = [[
metrics:
  gauges:
    - { name: depth, help: Queued, labels: [{ name: q, size: 4, decoders: [{ name: uint },
        { name: static_map, static_map: { 1: disk, 2: disk, 3: net } }] }] }
]]
    local batch = fake.batch({ rows = {
      { key = fake.u32(1), value = 3 }, { key = fake.u32(2), value = 4 }, { key = fake.u32(3), value = 2 ^ 60 },
    } })
    assert.equal(lines({
      "# HELP ebpf_exporter_depth Queued",
      "# TYPE ebpf_exporter_depth gauge",
      'ebpf_exporter_depth{q="disk"} 7',
      'ebpf_exporter_depth{q="net"} 1152921504606846976',
    }), (run(yaml, { type = 1, key_size = 4, value_size = 8 }, batch)))
  end)

  it("read s64 values as signed, and sum or split a per-CPU map's CPUs", function()
    local batch = fake.batch({ ncpus = 2, stride = 8, rows = {
      { key = fake.u32(1), cpu_bytes = { fake.s64(-5), fake.s64(2) } },
      { key = fake.u32(2), cpu_bytes = { fake.s64(7), fake.s64(0) } },
    } })
    local info = { type = 5, percpu = 1, key_size = 4, value_size = 8 }
    assert.equal(lines({
      "# HELP ebpf_exporter_g G",
      "# TYPE ebpf_exporter_g gauge",
      'ebpf_exporter_g{k="1"} -3',
      'ebpf_exporter_g{k="2"} 7',
    }), (run("metrics: { gauges: [ { name: g, help: G, value_type: s64, labels: [" .. LABEL .. "] } ] }",
      info, batch)))
    assert.equal(lines({
      "# HELP ebpf_exporter_g G",
      "# TYPE ebpf_exporter_g gauge",
      'ebpf_exporter_g{cpu="0",k="1"} -5',
      'ebpf_exporter_g{cpu="0",k="2"} 7',
      'ebpf_exporter_g{cpu="1",k="1"} 2',
      'ebpf_exporter_g{cpu="1",k="2"} 0',
    }), (run("metrics: { gauges: [ { name: g, help: G, value_type: s64, labels: [" .. LABEL .. ", " .. CPU
      .. "] } ] }", info, batch)))
  end)

  it("read 4-byte s32 values, per CPU summed", function()
    local batch = fake.batch({ ncpus = 2, stride = 8, rows = {
      { key = fake.u32(1), cpu_bytes = { fake.s32(-2), fake.s32(-3) } },
      { key = fake.u32(2), cpu_bytes = { fake.s32(2147483647), fake.s32(1) } },
    } })
    assert.equal(lines({
      "# HELP ebpf_exporter_g G",
      "# TYPE ebpf_exporter_g gauge",
      'ebpf_exporter_g{k="1"} -5',
      'ebpf_exporter_g{k="2"} 2147483648',
    }), (run("metrics: { gauges: [ { name: g, help: G, value_type: s32, labels: [" .. LABEL .. "] } ] }",
      { type = 6, percpu = 1, key_size = 4, value_size = 4 }, batch)))
  end)

  it("refuse a value of the wrong size or type, naming file and YAML path", function()
    local cfg = assert(parse("metrics: { gauges: [ { name: g, help: G, value_type: s32 } ] }"))
    local _, errors = metric.bind(cfg, { { name = "g", type = 1, key_size = 4, value_size = 8, max_entries = 1 } },
      { cache_size = 1 })
    assert.same({ 't.yaml: metrics.gauges[0].name: map "g" has 8-byte values; a gauge of value_type s32 needs 4 bytes' },
      errors)
    cfg = assert(parse("metrics: { gauges: [ { name: g, help: G } ] }"))
    _, errors = metric.bind(cfg, { { name = "g", type = 1, key_size = 4, value_size = 4, max_entries = 1 } },
      { cache_size = 1 })
    assert.same({ 't.yaml: metrics.gauges[0].name: map "g" has 4-byte values; a gauge of value_type u64 needs 8 '
      .. "bytes (value_type u32 or s32 for 4)" }, errors)
    _, errors = parse("metrics: { gauges: [ { name: g, help: G, value_type: f64 } ] }")
    assert.same({ 't.yaml: metrics.gauges[0].value_type: "f64" is not one of u64, s64, u32, s32' }, errors)
  end)
end)

-- struct tcp_stats { u64 bytes; u64 packets; s32 inflight; u32 pad; }
local STATS = [[
metrics:
  counters:
    - name: tcp_stats
      help: TCP stats by port
      labels: [{ name: port, size: 4, decoders: [{ name: uint }] }]
      values:
        - { name: tcp_sent_bytes_total, offset: 0, size: 8, help: Bytes sent }
        - { name: tcp_sent_packets_total, offset: 8, size: 8, help: Packets sent }
        - { name: tcp_inflight, offset: 16, size: 4, kind: gauge, value_type: s32, help: Packets in flight }
]]
local STATS_BTF = {
  value_type = "tcp_stats",
  value_fields = {
    { name = "bytes", offset = 0, size = 8 }, { name = "packets", offset = 8, size = 8 },
    { name = "inflight", offset = 16, size = 4 }, { name = "pad", offset = 20, size = 4 },
  },
}

local function stats_value(bytes, packets, inflight)
  return fake.u64(bytes) .. fake.u64(packets) .. fake.s32(inflight) .. fake.u32(0)
end

describe("struct values", function()
  local info = { type = 5, percpu = 1, key_size = 4, value_size = 24, value_type = STATS_BTF.value_type,
    value_fields = STATS_BTF.value_fields }

  it("give one family per field from one walk of the map, per-CPU values summed", function()
    local batch = fake.batch({ ncpus = 2, stride = 24, rows = {
      { key = fake.u32(80), cpu_bytes = { stats_value(100, 2, 1), stats_value(50, 1, -3) } },
      { key = fake.u32(443), cpu_bytes = { stats_value(7, 1, 0), stats_value(0, 0, 4) } },
    } })
    local text, _, plan = run(STATS, info, batch)
    assert.equal(lines({
      "# HELP ebpf_exporter_tcp_sent_bytes_total Bytes sent",
      "# TYPE ebpf_exporter_tcp_sent_bytes_total counter",
      'ebpf_exporter_tcp_sent_bytes_total{port="80"} 150',
      'ebpf_exporter_tcp_sent_bytes_total{port="443"} 7',
      "# HELP ebpf_exporter_tcp_sent_packets_total Packets sent",
      "# TYPE ebpf_exporter_tcp_sent_packets_total counter",
      'ebpf_exporter_tcp_sent_packets_total{port="80"} 3',
      'ebpf_exporter_tcp_sent_packets_total{port="443"} 1',
      "# HELP ebpf_exporter_tcp_inflight Packets in flight",
      "# TYPE ebpf_exporter_tcp_inflight gauge",
      'ebpf_exporter_tcp_inflight{port="80"} -2',
      'ebpf_exporter_tcp_inflight{port="443"} 4',
    }), text)
    assert.same({ map = "tcp_stats", record_size = 0, flush_ms = 0 }, plan.read)
    assert.same({ "ebpf_exporter_tcp_sent_bytes_total", "ebpf_exporter_tcp_sent_packets_total",
      "ebpf_exporter_tcp_inflight" }, plan.families)
  end)

  it("split by CPU with a cpu label", function()
    local batch = fake.batch({ ncpus = 2, stride = 24, rows = {
      { key = fake.u32(80), cpu_bytes = { stats_value(100, 2, 1), stats_value(50, 1, -3) } },
    } })
    local yaml = STATS:gsub("decoders: %[{ name: uint }%] }%]", "decoders: [{ name: uint }] }, " .. CPU .. "]")
    local text = run(yaml, info, batch)
    assert.truthy(text:find('ebpf_exporter_tcp_inflight{cpu="0",port="80"} 1\nebpf_exporter_tcp_inflight{cpu="1",port="80"} -3\n',
      1, true))
  end)

  it("are checked against the map's BTF value type, naming the field", function()
    local yaml = STATS:gsub("offset: 8, size: 8", "offset: 12, size: 8"):gsub("offset: 16, size: 4, kind: gauge, value_type: s32",
      "offset: 16, size: 8, kind: gauge")
    local cfg = assert(parse(yaml))
    local bad = {}
    for k, v in pairs(info) do
      bad[k] = v
    end
    bad.name, bad.max_entries = "tcp_stats", 8
    local _, errors = metric.bind(cfg, { bad }, { cache_size = 1 })
    assert.same({
      "t.yaml: metrics.counters[0].values[1].offset: field tcp_sent_packets_total: no member of the map's value type "
        .. "tcp_stats starts at offset 12; its members: bytes (offset 0, 8 bytes), packets (offset 8, 8 bytes), "
        .. "inflight (offset 16, 4 bytes), pad (offset 20, 4 bytes)",
      "t.yaml: metrics.counters[0].values[2].size: field tcp_inflight: member inflight of the map's value type "
        .. "tcp_stats has 4 bytes, not 8",
    }, errors)
    bad.value_type, bad.value_fields, bad.value_size = nil, {}, 16
    _, errors = metric.bind(cfg, { bad }, { cache_size = 1 })
    assert.same({
      't.yaml: metrics.counters[0].values[1].offset: field tcp_sent_packets_total (offset 12, 8 bytes) ends past '
        .. 'the 16-byte values of map "tcp_stats"',
      't.yaml: metrics.counters[0].values[2].offset: field tcp_inflight (offset 16, 8 bytes) ends past '
        .. 'the 16-byte values of map "tcp_stats"',
    }, errors)
  end)

  it("report YAML mistakes with their paths", function()
    local _, errors = parse([[
metrics:
  counters:
    - name: m
      help: x
      values:
        - { name: a, offset: -1, size: 3, help: x, kind: histogram }
        - { name: b, offset: 0, size: 8, help: x, value_type: s64 }
        - { name: 9c, size: 8, help: x }
    - { name: b, help: x }
  gauges:
    - { name: g, help: x, value_type: s64, values: [] }
]])
    assert.same({
      "t.yaml: metrics.counters[0].values[0].offset: must be an integer >= 0, not -1",
      "t.yaml: metrics.counters[0].values[0].size: must be 1, 2, 4 or 8 (bytes), not 3",
      't.yaml: metrics.counters[0].values[0].kind: "histogram" is not one of counter, gauge',
      "t.yaml: metrics.counters[0].values[1].value_type: only gauges take a value_type: counters are unsigned",
      't.yaml: metrics.counters[0].values[2].name: "9c" is not a valid Prometheus metric name',
      "t.yaml: metrics.counters[0].values[2].offset: missing: the field's first byte in the value",
      "t.yaml: metrics.gauges[0].value_type: with values, each field takes its own value_type",
      "t.yaml: metrics.gauges[0].values: must be a non-empty list of fields, each {name, offset, size, help}",
      't.yaml: metrics.counters[1].name: duplicate metric "b" (also at metrics.counters[0].values[1])',
    }, errors)
  end)
end)

describe("the cardinality guard", function()
  -- 100 keys 0..99 of value key + 1: 5,050 in all.
  local function hundred()
    local rows = {}
    for k = 0, 99 do
      rows[#rows + 1] = { key = fake.u32(k), value = k + 1 }
    end
    return fake.batch({ rows = rows })
  end

  local function sum_of(text, family)
    local total, n = 0, 0
    for v in text:gmatch(family .. "{[^}]*} (%d+)") do
      total, n = total + tonumber(v), n + 1
    end
    return total, n
  end

  it("keeps max_series series and folds the others into one overflow series", function()
    local yaml = "metrics: { counters: [ { name: c, help: C, max_series: 10, labels: [" .. LABEL .. "] } ] }"
    local text, st = run(yaml, { type = 1, key_size = 4, value_size = 8 }, hundred())
    local total, n = sum_of(text, "ebpf_exporter_c")
    assert.equal(5050, total)
    assert.equal(11, n)
    assert.truthy(text:find('\nebpf_exporter_c{k="overflow"} 4995\n', 1, true)) -- keys 10..99
    assert.same({ c = 90 }, st.folded)
  end)

  it("takes --config.max-series where a metric has no max_series, and max_series: 0 for none", function()
    local yaml = "metrics: { gauges: [ { name: g, help: G, labels: [" .. LABEL .. "] } ] }"
    local opts = { cache_size = 1024, max_series = 3 }
    local text = run(yaml, { type = 1, key_size = 4, value_size = 8 }, hundred(), opts)
    assert.same({ 5050, 4 }, { sum_of(text, "ebpf_exporter_g") })
    text = run(yaml:gsub("help: G", "help: G, max_series: 0"), { type = 1, key_size = 4, value_size = 8 },
      hundred(), opts)
    assert.same({ 5050, 100 }, { sum_of(text, "ebpf_exporter_g") })
  end)

  it("guards histograms and struct values alike", function()
    local rows = {}
    for k = 0, 99 do
      rows[#rows + 1] = { key = fake.u32(k) .. fake.u32(1), value = 1 }
    end
    local text, st = run([[
metrics:
  histograms:
    - { name: h, help: H, max_series: 5, bucket_type: exp2, bucket_min: 0, bucket_max: 2,
        labels: [{ name: k, size: 4, decoders: [{ name: uint }] }, { name: bucket, size: 4, decoders: [{ name: uint }] }] }
]], { type = 1, key_size = 8, value_size = 8 }, fake.batch({ rows = rows }))
    assert.same({ 100, 6 }, { sum_of(text, "ebpf_exporter_h_count") })
    assert.truthy(text:find('ebpf_exporter_h_count{k="overflow"} 95\n', 1, true))
    assert.same({ h = 95 }, st.folded)
    local vrows = {}
    for k = 0, 99 do
      vrows[#vrows + 1] = { key = fake.u32(k), bytes = stats_value(k, 1, -1) }
    end
    text, st = run(STATS:gsub("help: TCP stats by port", "help: x\n      max_series: 20"),
      { type = 1, key_size = 4, value_size = 24 }, fake.batch({ stride = 24, rows = vrows }))
    assert.same({ 4950, 21 }, { sum_of(text, "ebpf_exporter_tcp_sent_bytes_total") })
    assert.truthy(text:find('ebpf_exporter_tcp_inflight{port="overflow"} -80\n', 1, true))
    assert.same({ tcp_stats = 80 }, st.folded)
  end)

  it("counts the rows folded in the core's counters, from 0, and writes them", function()
    local counters = ffi.new("struct elx_config_counters")
    local plans = { { name = "a", max_series = 1 }, { name = "b" }, { name = "c", max_series = 2 } }
    local st = { folded = { a = 7 } }
    cardinality.sync(counters, st, plans)
    st.folded = { a = 1, c = 2 }
    cardinality.sync(counters, st, plans)
    assert.same({ a = 8, c = 2 }, st.overflow_totals)
    local out = {}
    cardinality.lines({ name = "cfg", stats = st }, out)
    assert.same({ '{config="cfg",metric="a"} 8', '{config="cfg",metric="c"} 2' }, out)
  end)
end)

describe("the cardinality guard, as keys come and go", function()
  local function keys(from, to)
    local rows = {}
    for k = from, to do
      rows[#rows + 1] = { key = fake.u32(k), value = 1 }
    end
    return fake.batch({ rows = rows })
  end

  local function scrape(plan, state, batch)
    local buf = buffer.new()
    collect.metric(plan, state, batch, buf, stats())
    local labels = {}
    for k in buf:tostring():gmatch('ebpf_exporter_c{k="([^"]+)"}') do
      labels[#labels + 1] = k
    end
    return table.concat(labels, ","), buf:tostring()
  end

  it("gives the places of label sets that left to new ones, once a tenth of them are gone", function()
    local cfg = assert(parse("metrics: { counters: [ { name: c, help: C, max_series: 10, labels: [" .. LABEL .. "] } ] }"))
    local plan = assert(metric.bind(cfg, { { name = "c", type = 1, key_size = 4, value_size = 8, max_entries = 64 } },
      { cache_size = 64 }))[1]
    local state = collect.new_state(plan)
    assert.equal("0,1,2,3,4,5,6,7,8,9,overflow", (scrape(plan, state, keys(0, 19))))
    -- Key 0 left: its place is still held in this scrape, the state starts afresh at the next.
    local _, text = scrape(plan, state, keys(1, 19))
    assert.truthy(text:find('ebpf_exporter_c{k="overflow"} 10\n', 1, true))
    assert.equal("1,2,3,4,5,6,7,8,9,10,overflow", (scrape(plan, state, keys(1, 19))))
    assert.equal("1,2,3,4,5,6,7,8,9,10,overflow", (scrape(plan, state, keys(1, 19))))
  end)
end)

describe("the cardinality guard's overflow series", function()
  it("is one with a label set that reads overflow already: one line, not two", function()
    local yaml = [[
metrics:
  counters:
    - { name: c, help: C, max_series: 1, labels: [{ name: k, size: 4, decoders: [{ name: uint },
        { name: static_map, static_map: { 1: overflow }, allow_unknown: true }] }] }
]]
    local batch = fake.batch({ rows = {
      { key = fake.u32(1), value = 1 }, { key = fake.u32(2), value = 10 }, { key = fake.u32(3), value = 100 },
    } })
    local text, st = run(yaml, { type = 1, key_size = 4, value_size = 8 }, batch)
    assert.equal(lines({ "# HELP ebpf_exporter_c C", "# TYPE ebpf_exporter_c counter", 'ebpf_exporter_c{k="overflow"} 111' }),
      text)
    assert.same({ c = 3 }, st.folded) -- the overflow series' rows, its own included
  end)
end)

describe("struct values of a gauge", function()
  it("are gauges unless a field says counter, signed where value_type says so", function()
    local yaml = [[
metrics:
  gauges:
    - name: q
      help: Q
      values:
        - { name: q_depth, offset: 0, size: 4, value_type: s32, help: Depth }
        - { name: q_bytes, offset: 4, size: 2, help: Bytes }
        - { name: q_drops_total, offset: 8, size: 8, kind: counter, help: Drops }
]]
    local batch = fake.batch({ stride = 16, rows = {
      { key = fake.u32(0), bytes = fake.s32(-4) .. fake.u16(65535) .. fake.u16(0) .. fake.u64(12) },
      { key = fake.u32(1), bytes = fake.s32(6) .. fake.u16(1) .. fake.u16(9) .. fake.u64(30) },
    } })
    assert.equal(lines({
      "# HELP ebpf_exporter_q_depth Depth",
      "# TYPE ebpf_exporter_q_depth gauge",
      "ebpf_exporter_q_depth 2",
      "# HELP ebpf_exporter_q_bytes Bytes",
      "# TYPE ebpf_exporter_q_bytes gauge",
      "ebpf_exporter_q_bytes 65536",
      "# HELP ebpf_exporter_q_drops_total Drops",
      "# TYPE ebpf_exporter_q_drops_total counter",
      "ebpf_exporter_q_drops_total 42",
    }), (run(yaml, { type = 2, key_size = 4, value_size = 16 }, batch)))
  end)
end)

describe("gauge and values plans", function()
  it("stay as binding made them, guarded or not: what changes is in the metric's state", function()
    local cfg = assert(parse([[
metrics:
  counters:
    - name: tcp_stats
      help: x
      max_series: 1
      labels: [{ name: port, size: 4, decoders: [{ name: uint }] }]
      values:
        - { name: a_total, offset: 0, size: 8, help: x }
        - { name: b, offset: 16, size: 4, kind: gauge, value_type: s32, help: x }
  gauges:
    - { name: g, help: x, value_type: s64, max_series: 1, labels: [{ name: k, size: 4, decoders: [{ name: uint }] }] }
]]))
    local plans = assert(metric.bind(cfg, {
      { name = "tcp_stats", type = 1, key_size = 4, value_size = 24, max_entries = 8 },
      { name = "g", type = 1, key_size = 4, value_size = 8, max_entries = 8 },
    }, { cache_size = 8, skip_cache_size = 8 }))
    local bound = fake.copy(plans)
    local batches = {
      fake.batch({ stride = 24, rows = { { key = fake.u32(1), bytes = stats_value(1, 2, 3) },
        { key = fake.u32(2), bytes = stats_value(4, 5, 6) } } }),
      fake.batch({ rows = { { key = fake.u32(1), value = 1 }, { key = fake.u32(2), value = 2 } } }),
    }
    for i, plan in ipairs(plans) do
      local state = collect.new_state(plan)
      for _ = 1, 2 do
        collect.metric(plan, state, batches[i], buffer.new(), stats())
      end
    end
    assert.same(bound, plans)
  end)
end)

describe("a gauge's, struct values' or guarded metric's fingerprint", function()
  local fingerprint = require("exporter.fingerprint")

  local function fp(yaml, info)
    local cfg = assert(parse(yaml))
    info.name, info.max_entries = cfg.metrics[1].name, 1024
    return fingerprint.of(assert(metric.bind(cfg, { info }, { cache_size = 1024 }))[1], registry)
  end

  local U64 = { type = 1, key_size = 4, value_size = 8 }
  local function gauge(extra)
    return "metrics: { gauges: [ { name: g, help: G, labels: [" .. LABEL .. "]" .. extra .. " } ] }"
  end

  it("changes with max_series and value_type, so that a reload changing them starts afresh", function()
    local base = fp(gauge(""), U64)
    assert.equal(base, fp(gauge(""), U64))
    assert.equal(base, fp(gauge(", value_type: u64"), U64))
    assert.not_equal(base, fp(gauge(", value_type: s64"), U64))
    local guarded = fp(gauge(", max_series: 10"), U64)
    assert.not_equal(base, guarded)
    assert.not_equal(guarded, fp(gauge(", max_series: 20"), U64))
  end)

  it("changes with a struct value field's offset, size or sign", function()
    local info = { type = 1, key_size = 4, value_size = 24, value_type = STATS_BTF.value_type,
      value_fields = STATS_BTF.value_fields }
    local base = fp(STATS, info)
    assert.equal(base, fp(STATS, info))
    local narrow = { type = 1, key_size = 4, value_size = 24, value_type = STATS_BTF.value_type, value_fields = {
      { name = "bytes", offset = 0, size = 8 }, { name = "packets", offset = 8, size = 4 },
      { name = "inflight", offset = 16, size = 4 }, { name = "pad", offset = 20, size = 4 },
    } }
    assert.not_equal(base, fp(STATS:gsub("offset: 8, size: 8", "offset: 8, size: 4"), narrow))
    assert.not_equal(base, fp(STATS:gsub("offset: 16, size: 4, kind: gauge, value_type: s32",
      "offset: 16, size: 4, kind: gauge, value_type: u32"), info))
    assert.not_equal(base, fp(STATS:gsub("offset: 16, size: 4", "offset: 20, size: 4"), info))
  end)
end)
