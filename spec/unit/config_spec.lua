-- Config parsing and validation: every mistake reported, with file and YAML path.
local config = require("exporter.config")
local decoders = require("exporter.decoders")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))

local function parse(text, strict)
  return config.parse(text, "test.yaml", { config = "test", registry = registry, strict = strict })
end

describe("config", function()
  it("parses a counter and a histogram", function()
    local cfg = assert(parse([[
metrics:
  counters:
    - name: timer_starts_total
      help: Timers fired in the kernel
      labels:
        - name: function
          size: 8
          decoders:
            - name: ksym
  histograms:
    - name: bio_latency_seconds
      help: Block IO latency histogram
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 26
      bucket_multiplier: 0.000001
      labels:
        - name: device
          size: 4
          decoders: [{ name: majorminor }]
        - name: operation
          size: 1
          padding: 3
          decoders: [{ name: uint }, { name: static_map, static_map: { 0: read, 1: write } }]
        - name: bucket
          size: 8
          decoders: [{ name: uint }]
kaddrs: [bpf_jit_current]
]]))
    assert.equal("test", cfg.name)
    assert.equal(2, #cfg.metrics)
    local c, h = cfg.metrics[1], cfg.metrics[2]
    assert.equal("counter", c.kind)
    assert.equal("timer_starts_total", c.name)
    assert.equal(8, c.labels[1].size)
    assert.equal(0, c.labels[1].padding)
    assert.equal("ksym", c.labels[1].decoders[1].name)
    assert.equal("histogram", h.kind)
    assert.equal("exp2", h.bucket_type)
    assert.equal(0.000001, h.bucket_multiplier)
    assert.equal(3, h.labels[2].padding)
    assert.equal("write", h.labels[2].decoders[2].decode("1"))
    assert.same({ "bpf_jit_current" }, cfg.kaddrs)
  end)

  it("takes an empty file as a config without metrics", function()
    local cfg = assert(parse(""))
    assert.same({}, cfg.metrics)
  end)

  it("defaults bucket_multiplier to 1, also when it is 0", function()
    local cfg = assert(parse([[
metrics:
  histograms:
    - { name: h, help: x, bucket_type: linear, bucket_min: 0, bucket_max: 0, bucket_multiplier: 0,
        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }
]]))
    assert.equal(1, cfg.metrics[1].bucket_multiplier)
  end)

  it("reports every mistake at once, each with its YAML path (--config.strict)", function()
    local cfg, errors = parse([[
metrics:
  counters:
    - name: 9bad
      labels:
        - name: function
          size: 3
          decoders:
            - name: uint
        - name: function
          size: 0
          decoders: []
        - name: x
          sise: 4
          decoders:
            - name: nosuch
            - name: static_map
  histograms:
    - name: h
      help: h
      bucket_type: exp3
      bucket_min: 4
      bucket_max: 2
      labels:
        - { name: le, size: 8, decoders: [{ name: uint }] }
    - name: f
      help: f
      bucket_type: fixed
      bucket_min: 1
      bucket_keys: [1, 10, 5]
      labels:
        - { name: bucket, size: 8, decoders: [{ name: uint }] }
    - name: g
      help: g
      bucket_type: linear
      labels:
        - { name: bucket, size: 8, decoders: [{ name: uint }] }
  gauges: []
kaddrs: [ok_symbol, "not a symbol"]
tracing: {}
typo: 1
]], true)
    assert.is_nil(cfg)
    assert.same({
      "test.yaml: typo: unknown key",
      "test.yaml: tracing.spans: missing: a list of spans, each read from a ring buffer",
      "test.yaml: metrics.gauges: unknown key",
      'test.yaml: metrics.counters[0].name: "9bad" is not a valid Prometheus metric name',
      "test.yaml: metrics.counters[0].help: missing",
      "test.yaml: metrics.counters[0].labels[0].decoders[0]: uint: cannot decode 3 bytes (size must be 1, 2, 4 or 8)",
      'test.yaml: metrics.counters[0].labels[1].name: duplicate label "function"',
      "test.yaml: metrics.counters[0].labels[1].size: must be an integer >= 1, not 0",
      "test.yaml: metrics.counters[0].labels[1].decoders: must be a non-empty list of decoders",
      "test.yaml: metrics.counters[0].labels[2].sise: unknown key; did you mean size?",
      "test.yaml: metrics.counters[0].labels[2].size: missing",
      'test.yaml: metrics.counters[0].labels[2].decoders[0]: unknown decoder "nosuch"',
      'test.yaml: metrics.counters[0].labels[2].decoders[1]: static_map: option "static_map" must be a mapping of input to output',
      'test.yaml: metrics.histograms[0].labels[0].name: "le" is reserved',
      'test.yaml: metrics.histograms[0].bucket_type: "exp3" is not one of exp2, exp2zero, linear, fixed',
      "test.yaml: metrics.histograms[1].bucket_min: does not apply to fixed buckets (use bucket_keys)",
      "test.yaml: metrics.histograms[1].bucket_keys[2]: must be greater than the key before it",
      "test.yaml: metrics.histograms[2].bucket_min: missing",
      "test.yaml: metrics.histograms[2].bucket_max: missing",
      'test.yaml: kaddrs[1]: "not a symbol" is not a kernel symbol name',
    }, errors)
  end)

  it("reports bucket_max below bucket_min", function()
    local _, errors = parse([[
metrics:
  histograms:
    - { name: h, help: x, bucket_type: exp2, bucket_min: 4, bucket_max: 2,
        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }
]])
    assert.same({ "test.yaml: metrics.histograms[0].bucket_max: must be >= bucket_min (4)" }, errors)
  end)

  it("reports a duplicate metric name and a histogram without labels", function()
    local _, errors = parse([[
metrics:
  counters:
    - { name: a, help: x }
  histograms:
    - { name: a, help: x, bucket_type: exp2, bucket_min: 0, bucket_max: 1 }
]])
    assert.same({
      "test.yaml: metrics.histograms[0].labels: a histogram needs a label for the bucket (its last label)",
      'test.yaml: metrics.histograms[0].name: duplicate metric "a" (also at metrics.counters[0])',
    }, errors)
  end)

  it("checks flush_interval", function()
    local _, errors = parse([[
metrics:
  counters:
    - { name: a, help: x, flush_interval: 10m }
    - { name: b, help: x, perf_event_array: true, flush_interval: soon }
]])
    assert.same({
      'test.yaml: metrics.counters[1].flush_interval: "soon" is not a duration like 10m or 1h30m',
    }, errors)
  end)

  it("names the YAML syntax error with its line, column and text", function()
    local _, errors = parse("metrics:\n  counters:\n    - name: x\n   help: y\n")
    assert.same({ 'test.yaml: line 4, column 4: not valid YAML: did not find expected key: "   help: y"' }, errors)
    _, errors = parse("metrics: [\n")
    assert.same({ 'test.yaml: line 1, column 10: not valid YAML: did not find expected node content: "metrics: ["' },
      errors)
  end)

  it("accepts what ebpf_exporter accepts, with one warning each, unless --config.strict", function()
    local yaml = [[
metrics:
  counters:
    - { name: a, help: x, description: y, helpp: z }
  histograms:
    - { name: h, help: x, bucket_type: exp2, bucket_min: 0, bucket_max: 2, bucket_keys: [1],
        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }
    - { name: f, help: x, bucket_type: fixed, bucket_keys: [1], bucket_max: 3,
        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }
tracing: { spans: [] }
metric: {}
]]
    local cfg = assert(parse(yaml))
    assert.equal(3, #cfg.metrics)
    local IGNORED = " (ignored; --config.strict refuses it)"
    assert.same({
      "test.yaml: metric: unknown key; did you mean metrics?" .. IGNORED,
      "test.yaml: metrics.counters[0].description: unknown key" .. IGNORED,
      "test.yaml: metrics.counters[0].helpp: unknown key; did you mean help?" .. IGNORED,
      "test.yaml: metrics.histograms[0].bucket_keys: only applies to fixed buckets" .. IGNORED,
      "test.yaml: metrics.histograms[1].bucket_max: does not apply to fixed buckets (use bucket_keys)" .. IGNORED,
    }, cfg.warnings)
    local _, errors = parse(yaml, true)
    assert.equal(5, #errors)
    assert.equal("test.yaml: metric: unknown key; did you mean metrics?", errors[1])
  end)

  it("suggests a known key one edit away: a letter added, dropped, changed or swapped", function()
    local checker = require("exporter.checker")
    for _, pair in ipairs({ { "hepl", "help" }, { "helpp", "help" }, { "hlp", "help" }, { "halp", "help" } }) do
      assert.is_true(checker.one_edit(pair[1], pair[2]), pair[1])
    end
    for _, pair in ipairs({ { "help", "help" }, { "lehp", "help" }, { "description", "help" } }) do
      assert.is_false(checker.one_edit(pair[1], pair[2]), pair[1])
    end
  end)

  it("reads the file from the config dir and names a missing one", function()
    local _, errors = config.load("/nonexistent", "timers", { config = "timers", registry = registry })
    assert.same({ "timers.yaml: No such file or directory" }, errors)
  end)

  it("parses cgroup_id_map with its regexps, matched as the regexp decoder matches", function()
    local cfg = assert(parse([[
cgroup_id_map:
  name: allowed
  type: cgrp_storage
  regexps: ['^/sys/fs/cgroup/(system\.slice/.+)$']
]]))
    assert.equal("allowed", cfg.cgroup_id_map.name)
    assert.equal("cgrp_storage", cfg.cgroup_id_map.type)
    assert.equal("system.slice/ssh.service", cfg.cgroup_id_map.match("/sys/fs/cgroup/system.slice/ssh.service"))
    assert.equal(require("exporter.decoder_api").SKIP, cfg.cgroup_id_map.match("/sys/fs/cgroup/user.slice"))
    assert.equal("hash", assert(parse("cgroup_id_map: { name: m, regexps: [x] }")).cgroup_id_map.type)
  end)

  it("names every mistake in cgroup_id_map", function()
    local _, errors = parse("cgroup_id_map: { type: tree, regexps: ['(unclosed'], extra: 1 }", true)
    assert.same({
      "test.yaml: cgroup_id_map.extra: unknown key",
      "test.yaml: cgroup_id_map.name: missing",
      'test.yaml: cgroup_id_map.type: "tree" is not one of hash, cgrp_storage',
      'test.yaml: cgroup_id_map.regexps: regexp: regexps[0] "(unclosed" does not compile: missing closing parenthesis at offset 9',
    }, errors)
    _, errors = parse("cgroup_id_map: { name: m }")
    assert.same({ "test.yaml: cgroup_id_map.regexps: missing: a list of patterns for the cgroup paths to keep in the map" },
      errors)
  end)

  it("parses Go durations", function()
    assert.equal(3600, config.parse_duration("1h"))
    assert.equal(5400, config.parse_duration("1h30m"))
    assert.equal(0.5, config.parse_duration("500ms"))
    assert.equal(10, config.parse_duration("10s"))
    assert.is_nil(config.parse_duration("10"))
    assert.is_nil(config.parse_duration("m"))
  end)
end)
