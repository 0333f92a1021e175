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

  -- Issue 9.11: `printf 'metrics:\n' > x.yaml` and a reload dropped the
  -- config's series and reported success.
  it("refuses a config that defines nothing, as ebpf_exporter does: an empty or cut file", function()
    local nothing = { 'test.yaml: neither metrics nor tracing are defined for config "test"' }
    for _, text in ipairs({ "", "\n", "# a comment\n", "metrics:\n", "metrics: {}\n", "metrics:\n  counters:\n",
      "metrics:\n  counters: []\n  histograms: []\n", "kaddrs: [x]\n", "tracing:\n", "tracing: { spans: [] }\n" }) do
      local cfg, errors = parse(text)
      assert.is_nil(cfg, text)
      assert.same(nothing, errors, text)
    end
    -- Spans alone are a config for ebpf_exporter (and a warning here: not supported yet).
    local cfg = assert(parse("tracing: { spans: [{ name: s, ringbuf: r }] }\n"))
    assert.same({}, cfg.metrics)
  end)

  -- Issue 9.12: lyaml keeps the last of two equal keys and says nothing.
  it("refuses a key given twice in a mapping, naming both lines", function()
    local _, errors = parse([[
metrics:
  counters:
    - name: a_total
      help: first
      labels: []
      help: second
    - { name: b_total, help: x, name: c_total }
metrics:
  histograms: []
]])
    assert.same({
      "test.yaml: metrics.counters[0].help: given twice, at lines 4 and 6: a key may appear once in a mapping",
      "test.yaml: metrics.counters[1].name: given twice, at lines 7 and 7: a key may appear once in a mapping",
      "test.yaml: metrics: given twice, at lines 1 and 8: a key may appear once in a mapping",
    }, errors)
    -- A merge key may come back, and equal keys in different mappings are fine.
    local cfg, errs = parse([[
base: &base { help: x, labels: [] }
metrics:
  counters:
    - { <<: *base, name: a_total }
    - { <<: *base, name: b_total }
]])
    assert.is_nil(errs)
    assert.same({ "a_total", "b_total" }, { cfg.metrics[1].name, cfg.metrics[2].name })
    assert.same({ "x", "x" }, { cfg.metrics[1].help, cfg.metrics[2].help })
  end)

  -- Issue 9.9: exp2 with bucket_max 1100 wrote 78 series of le="+Inf";
  -- linear with bucket_max 10000000 took minutes and gigabytes to load.
  it("refuses histograms whose buckets have no finite, increasing bounds, or are too many", function()
    local function histogram(fields)
      return ("metrics:\n  histograms:\n    - { name: h, help: h, %s,\n"
        .. "        labels: [{ name: bucket, size: 8, decoders: [{ name: uint }] }] }\n"):format(fields)
    end
    local cases = {
      { "bucket_type: exp2, bucket_min: 0, bucket_max: 1100", "bucket_max: bucket 1024 has no finite upper bound "
        .. "(2^1024 × 1 is past the largest float64): at most 1023 with this bucket_type and bucket_multiplier" },
      { "bucket_type: exp2zero, bucket_min: 1020, bucket_max: 1030, bucket_multiplier: 4", "bucket_max: bucket 1023 "
        .. "has no finite upper bound (2^(1023 - 1) × 4 is past the largest float64): at most 1022 with this "
        .. "bucket_type and bucket_multiplier" },
      { "bucket_type: exp2, bucket_min: 1000, bucket_max: 1001, bucket_multiplier: 1e10", "bucket_min: bucket 1000 "
        .. "has no finite upper bound (2^1000 × 1e+10 is past the largest float64)" },
      { "bucket_type: linear, bucket_min: 0, bucket_max: 10000000", "bucket_max: 10000001 buckets (bucket_min 0 "
        .. "to bucket_max 10000000); a histogram may have at most 4096" },
      { "bucket_type: fixed, bucket_keys: [1, 2], bucket_multiplier: 1e308", "bucket_keys[1]: bucket 2 has no "
        .. "finite upper bound (2 × 1e+308 is past the largest float64)" },
      -- Past 2^53 a float64 cannot tell neighbours apart: two buckets, one le.
      { "bucket_type: linear, bucket_min: 9007199254740000, bucket_max: 9007199254740991, bucket_multiplier: 3",
        "bucket_max: bucket 9007199254740003's upper bound 2.702159776422001e+16 is not above the one before it, "
        .. "2.702159776422001e+16" },
    }
    for _, case in ipairs(cases) do
      local _, errors = parse(histogram(case[1]))
      assert.same({ "test.yaml: metrics.histograms[0]." .. case[2] }, errors, case[1])
    end
    -- The largest ones that work.
    assert(parse(histogram("bucket_type: exp2, bucket_min: 0, bucket_max: 1023")))
    assert(parse(histogram("bucket_type: linear, bucket_min: 1, bucket_max: 4096")))
  end)

  -- Issue 9.12: `size: "4"` was reported as `not 4`.
  it("says that a quoted number is a string", function()
    local _, errors = parse([[
metrics:
  counters:
    - name: a_total
      help: x
      labels:
        - { name: a, size: "4", decoders: [{ name: uint }] }
        - { name: b, size: [4], padding: { x: 1 }, decoders: [{ name: uint }] }
        - { name: c, size: 4.5, padding: true, decoders: [{ name: uint }] }
]])
    assert.same({
      'test.yaml: metrics.counters[0].labels[0].size: must be an integer >= 1, not the string "4"',
      "test.yaml: metrics.counters[0].labels[1].size: must be an integer >= 1, not a list",
      "test.yaml: metrics.counters[0].labels[1].padding: must be an integer >= 0, not a mapping",
      "test.yaml: metrics.counters[0].labels[2].size: must be an integer >= 1, not 4.5",
      "test.yaml: metrics.counters[0].labels[2].padding: must be an integer >= 0, not true",
    }, errors)
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
  summaries: []
kaddrs: [ok_symbol, "not a symbol"]
tracing: {}
typo: 1
]], true)
    assert.is_nil(cfg)
    assert.same({
      "test.yaml: typo: unknown key",
      "test.yaml: tracing.spans: missing: a list of spans, each read from a ring buffer",
      "test.yaml: metrics.summaries: unknown key",
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
    local metric = "metrics: { counters: [{ name: a_total, help: x }] }\n"
    local cfg = assert(parse(metric .. [[
cgroup_id_map:
  name: allowed
  type: cgrp_storage
  regexps: ['^/sys/fs/cgroup/(system\.slice/.+)$']
]]))
    assert.equal("allowed", cfg.cgroup_id_map.name)
    assert.equal("cgrp_storage", cfg.cgroup_id_map.type)
    assert.equal("system.slice/ssh.service", cfg.cgroup_id_map.match("/sys/fs/cgroup/system.slice/ssh.service"))
    assert.equal(require("exporter.decoder_api").SKIP, cfg.cgroup_id_map.match("/sys/fs/cgroup/user.slice"))
    assert.equal("hash", assert(parse(metric .. "cgroup_id_map: { name: m, regexps: [x] }")).cgroup_id_map.type)
  end)

  it("names every mistake in cgroup_id_map", function()
    local metric = "metrics: { counters: [{ name: a_total, help: x }] }\n"
    local _, errors = parse(metric .. "cgroup_id_map: { type: tree, regexps: ['(unclosed'], extra: 1 }", true)
    assert.same({
      "test.yaml: cgroup_id_map.extra: unknown key",
      "test.yaml: cgroup_id_map.name: missing",
      'test.yaml: cgroup_id_map.type: "tree" is not one of hash, cgrp_storage',
      'test.yaml: cgroup_id_map.regexps: regexp: regexps[0] "(unclosed" does not compile: missing closing parenthesis at offset 9',
    }, errors)
    _, errors = parse(metric .. "cgroup_id_map: { name: m }")
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
