-- The metric kind registry: a kind registered at run time (a toy gauge kind,
-- "level", not shipped) flows through config checking, binding, collection and exposition.
local buffer = require("string.buffer")
local collect = require("exporter.collect")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local exposition = require("exporter.exposition")
local fake = require("helpers.fake")
local kinds = require("exporter.kinds")
local metric = require("exporter.metric")
local rows = require("exporter.rows")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))

-- A gauge-like kind whose family name ends in its unit: one YAML key of its own,
-- checked with the Checker and used at bind.
local level = {
  name = "level",
  section = "levels",
  keys = { unit = true },
  check = function(c, node, path, m)
    m.unit = c:required_string(node, "unit", path)
  end,
  bind = function(plan, m)
    plan.family = plan.family .. "_" .. m.unit
  end,
  collect = function(plan, state, batch, buf, stats)
    local acc = rows.sum(plan, state, batch, stats)
    return exposition.put_samples(buf, plan.family, plan.help, "gauge", state.series, acc)
  end,
}

local function parse(yaml, strict)
  return config.parse(yaml, "t.yaml", { config = "t", registry = registry, strict = strict })
end

local GAUGES = [[
metrics:
  counters:
    - { name: events_total, help: Events }
  levels:
    - name: queue_depth
      help: Requests waiting, by queue
      unit: requests
      labels:
        - { name: queue, size: 4, decoders: [{ name: uint }, { name: static_map, static_map: { 1: disk, 2: net } }] }
]]

describe("metric kinds", function()
  before_each(function() kinds.register(level) end)
  after_each(function() kinds.unregister("level") end)

  it("check, bind, collect and write a kind registered at run time", function()
    local cfg = assert(parse(GAUGES))
    assert.same({ "counter", "level" }, { cfg.metrics[1].kind, cfg.metrics[2].kind })
    assert.equal("requests", cfg.metrics[2].unit)
    local plans = assert(metric.bind(cfg, {
      { name = "events_total", type = 2, key_size = 4, value_size = 8, max_entries = 1 },
      { name = "queue_depth", type = 1, key_size = 4, value_size = 8, max_entries = 16 },
    }, { cache_size = 100 }))
    local plan = plans[2]
    assert.equal("ebpf_exporter_queue_depth_requests", plan.family)
    assert.same({ map = "queue_depth", record_size = 0, flush_ms = 0 }, plan.read)
    local batch = fake.batch({ rows = {
      { key = fake.u32(1), value = 3 }, { key = fake.u32(2), value = 0 }, { key = fake.u32(7), value = 12 },
    } })
    local state = collect.new_state(plan)
    local expected = table.concat({
      "# HELP ebpf_exporter_queue_depth_requests Requests waiting, by queue",
      "# TYPE ebpf_exporter_queue_depth_requests gauge",
      'ebpf_exporter_queue_depth_requests{queue="disk"} 3',
      'ebpf_exporter_queue_depth_requests{queue="net"} 0',
      'ebpf_exporter_queue_depth_requests{queue="unknown:7"} 12',
      "",
    }, "\n")
    for _ = 1, 2 do -- cold, then warm from the caches
      local buf = buffer.new()
      local stats = { decoder_errors = 0, logged = {}, nlogged = 0, log = error }
      assert.equal(3, collect.metric(plan, state, batch, buf, stats))
      assert.equal(expected, buf:tostring())
    end
  end)

  it("report the kind's own YAML mistakes with their paths, and its section among the others", function()
    local _, errors = parse([[
metrics:
  levels:
    - { name: g, help: x, units: s }
]], true)
    assert.same({
      "t.yaml: metrics.levels[0].units: unknown key; did you mean unit?",
      "t.yaml: metrics.levels[0].unit: missing",
    }, errors)
    _, errors = parse("metrics: [1]")
    assert.same({ "t.yaml: metrics: must be a mapping with counters, histograms, gauges and levels" }, errors)
  end)

  it("refuse event maps for a kind that does not count records", function()
    local cfg = assert(parse("metrics: { levels: [ { name: ring, help: x, unit: s } ] }"))
    local _, errors = metric.bind(cfg, { { name = "ring", type = 27, key_size = 0, value_size = 0 } }, { cache_size = 1 })
    assert.same({ 't.yaml: metrics.levels[0].name: map "ring" is a ringbuf: only counters can count its records' },
      errors)
  end)

  it("are gone once unregistered", function()
    kinds.unregister("level")
    local _, errors = parse("metrics: { levels: [] }", true)
    -- One mistake, said once: that the config is left empty by it is no second one.
    assert.same({ "t.yaml: metrics.levels: unknown key" }, errors)
    assert.is_nil(collect.level)
    kinds.register(level)
    assert.is_function(collect.level)
  end)

  it("refuse a malformed kind, a name or a section already taken", function()
    assert.has_error(function() kinds.register({ name = "x", section = "xs", keys = {}, check = function() end }) end,
      "kind x: collect must be a function, not nil")
    assert.has_error(function() kinds.register(level) end, "kind level: already registered")
    local other = setmetatable({ name = "other" }, { __index = level })
    assert.has_error(function() kinds.register(other) end, 'kind other: section "levels" is kind level\'s')
  end)
end)

describe("shipped kinds", function()
  it("leave their plans as binding made them: what changes is in the metric's state", function()
    local cfg = assert(parse([[
metrics:
  counters:
    - { name: c, help: x, labels: [{ name: k, size: 4, decoders: [{ name: uint }] }, { name: cpu, size: 2, decoders: [{ name: uint }] }] }
  histograms:
    - { name: h, help: x, bucket_type: exp2, bucket_min: 0, bucket_max: 2,
        labels: [{ name: op, size: 4, decoders: [{ name: uint }] }, { name: bucket, size: 4, decoders: [{ name: uint }] }] }
]]))
    local plans = assert(metric.bind(cfg, {
      { name = "c", type = 5, percpu = 1, key_size = 4, value_size = 8, max_entries = 8 },
      { name = "h", type = 1, key_size = 8, value_size = 8, max_entries = 8 },
    }, { cache_size = 8, skip_cache_size = 8 }))
    local batches = {
      fake.batch({ ncpus = 2, rows = { { key = fake.u32(1), cpus = { 1, 2 } } } }),
      fake.batch({ rows = { { key = fake.u32(0) .. fake.u32(1), value = 4 }, { key = fake.u32(0) .. fake.u32(3), value = 9 } } }),
    }
    local bound = fake.copy(plans)
    local outputs = {}
    for i, plan in ipairs(plans) do
      local state = collect.new_state(plan)
      for _ = 1, 2 do
        local buf = buffer.new()
        collect.metric(plan, state, batches[i], buf, { decoder_errors = 0, logged = {}, nlogged = 0, log = error })
        outputs[#outputs + 1] = buf:tostring()
      end
    end
    assert.same(bound, plans)
    assert.equal(table.concat({
      "# HELP ebpf_exporter_c x",
      "# TYPE ebpf_exporter_c counter",
      'ebpf_exporter_c{cpu="0",k="1"} 1',
      'ebpf_exporter_c{cpu="1",k="1"} 2',
      "",
    }, "\n"), outputs[2])
    assert.equal(table.concat({
      "# HELP ebpf_exporter_h x",
      "# TYPE ebpf_exporter_h histogram",
      'ebpf_exporter_h_bucket{op="0",le="1"} 0',
      'ebpf_exporter_h_bucket{op="0",le="2"} 4',
      'ebpf_exporter_h_bucket{op="0",le="4"} 4',
      'ebpf_exporter_h_bucket{op="0",le="+Inf"} 4',
      'ebpf_exporter_h_sum{op="0"} 9',
      'ebpf_exporter_h_count{op="0"} 4',
      "",
    }, "\n"), outputs[4])
  end)
end)
