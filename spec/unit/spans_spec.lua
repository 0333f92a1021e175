-- tracing.spans: the config's checks, binding to ring buffers, and records
-- decoded into the core's span structs as ebpf_exporter makes spans of them.
local ffi = require("ffi")
require("exporter.abi")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local spans = require("exporter.spans")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))

local function parse(text, strict)
  return config.parse(text, "test.yaml", { config = "test", registry = registry, strict = strict })
end

local BASE = [[
        - { name: trace_id, size: 16, decoders: [{ name: hex }] }
        - { name: parent_span_id, size: 8, decoders: [{ name: hex }] }
        - { name: span_id, size: 8, decoders: [{ name: hex }] }
        - { name: span_monotonic_timestamp_ns, size: 8, decoders: [{ name: uint }] }
        - { name: span_duration_ns, size: 8, decoders: [{ name: uint }] }
]]

local RINGBUF = { name = "events", type = 27, key_size = 0, value_size = 0, max_entries = 4096 }

local function plans_of(yaml)
  local cfg = assert(parse(yaml))
  return assert(spans.bind(cfg, { RINGBUF }))
end

-- Records laid out as a program writes them: u64 fields in host order.
local function record(fields)
  local buf = {}
  for _, f in ipairs(fields) do
    if type(f) == "string" then
      buf[#buf + 1] = f
    else
      local v = ffi.new("uint64_t[1]", f)
      buf[#buf + 1] = ffi.string(v, 8)
    end
  end
  return table.concat(buf)
end

-- A struct elx_span_call over `records` (strings), as the core hands it.
local function call_of(records)
  local size = 0
  for _, r in ipairs(records) do
    size = size + #r
  end
  local data = ffi.new("uint8_t[?]", size + 1)
  local recs = ffi.new("struct elx_span_record[?]", #records + 1)
  local off = 0
  for i, r in ipairs(records) do
    ffi.copy(data + off, r, #r)
    recs[i - 1].offset, recs[i - 1].size = off, #r
    off = off + #r
  end
  local counters = ffi.new("struct elx_config_counters")
  local out = ffi.new("struct elx_span[?]", #records + 1)
  local call = ffi.new("struct elx_span_call", { config = "test", nrecords = #records, data = data,
    records = recs, counters = counters, spans = out })
  return call, { data, recs, counters, out }
end

local function hex(p, n)
  return (ffi.string(p, n):gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function attributes(span)
  local a = {}
  for i = 0, span.nattributes - 1 do
    local at = span.attributes[i]
    a[ffi.string(at.key, at.key_len)] = ffi.string(at.value, at.value_len)
  end
  return a
end

local function stats()
  local logged = {}
  return { logged = {}, nlogged = 0, log = function(m) logged[#logged + 1] = m end, lines = logged,
    errors_by_decoder = {} }
end

local TRACE = "\1\2\3\4\5\6\7\8\9\10\11\12\13\14\15\16"

describe("tracing config", function()
  it("reads spans with ebpf_exporter's keys; attribute names may hold dots", function()
    local cfg = assert(parse("tracing:\n  spans:\n    - name: s\n      ringbuf: events\n      service: svc\n"
      .. "      labels:\n" .. BASE .. "        - { name: cpu.orig, size: 4, decoders: [{ name: uint }] }\n"))
    assert.equal(1, #cfg.spans)
    assert.equal("events", cfg.spans[1].ringbuf)
    assert.equal("svc", cfg.spans[1].service)
    assert.equal(6, #cfg.spans[1].labels)
    assert.equal("cpu.orig", cfg.spans[1].labels[6].name)
  end)

  it("reports every mistake with its YAML path", function()
    local _, errors = parse([[
tracing:
  spans:
    - name: a
      labels:
        - { name: trace_id, size: 8, decoders: [{ name: hex }] }
        - { name: x, size: 4, decoders: [{ name: uint }] }
        - { name: x, size: 4, decoders: [{ name: uint }] }
    - { ringbuf: r, service: "" }
    - { ringbuf: r, servce: s }
    - 7
]], true)
    assert.same({
      "test.yaml: tracing.spans[0].ringbuf: missing",
      "test.yaml: tracing.spans[0].labels[2].name: duplicate label \"x\"",
      "test.yaml: tracing.spans[0].labels[0].size: trace_id is 16 bytes (32 hex digits), not 8",
      "test.yaml: tracing.spans[1].service: must be a non-empty string",
      "test.yaml: tracing.spans[2].servce: unknown key; did you mean service?",
      'test.yaml: tracing.spans[2].ringbuf: ring buffer "r" is already read by tracing.spans[1]',
      "test.yaml: tracing.spans[3]: must be a mapping with ringbuf and labels",
    }, errors)
    _, errors = parse("tracing: [1]\n")
    assert.same({ "test.yaml: tracing: must be a mapping with spans" }, errors)
    _, errors = parse("tracing: { spans: { a: 1 } }\n")
    assert.same({ "test.yaml: tracing.spans: must be a list of spans" }, errors)
  end)

  it("binds each span to a ring buffer of the object", function()
    local cfg = assert(parse([[
metrics:
  counters:
    - { name: counted, help: x, labels: [{ name: v, size: 8, decoders: [{ name: uint }] }] }
tracing:
  spans:
    - { ringbuf: nosuch }
    - { ringbuf: hashmap }
    - { ringbuf: counted }
]]))
    local _, errors = spans.bind(cfg, { { name = "hashmap", type = 1 }, { name = "counted", type = 27 } })
    assert.same({
      'test.yaml: tracing.spans[0].ringbuf: no map "nosuch" in test.bpf.o',
      'test.yaml: tracing.spans[1].ringbuf: map "hashmap" has type 1: spans come from a ring buffer (BPF_MAP_TYPE_RINGBUF)',
      'test.yaml: tracing.spans[2].ringbuf: ring buffer "counted" is also read by metrics.counters[0]',
    }, errors)
  end)
end)

describe("spans from records", function()
  local yaml = "tracing:\n  spans:\n    - ringbuf: events\n      labels:\n" .. BASE .. [[
        - { name: comm, size: 8, decoders: [{ name: string }] }
        - { name: op, size: 4, decoders: [{ name: uint }, { name: static_map, static_map: { 1: write } }] }
        - { name: kept, size: 4, decoders: [{ name: uint }, { name: regexp, regexps: ["^[0-9]$"] }] }
]]

  local function rec(parent, span_id, ts, dur, comm, op, kept, trace)
    return record({ trace or TRACE, parent, span_id, ts, dur, comm .. ("\0"):rep(8 - #comm),
      ffi.string(ffi.new("uint32_t[1]", op), 4), ffi.string(ffi.new("uint32_t[1]", kept), 4) })
  end

  it("fill the span from the special labels and make the rest attributes", function()
    local plan = plans_of(yaml)[1]
    local call = call_of({ rec(0, 0xabcdef, 123456789, 1000, "cat", 1, 5), rec(7, 9, 1, 2, "ls", 3, 6) })
    local st = stats()
    assert.equal(2, spans.decode(plan, spans.new_state(), call, st))
    assert.equal(2, call.nspans)
    local s = call.spans[0]
    assert.equal("events", ffi.string(s.name, s.name_len)) -- the ring buffer's name by default
    assert.equal("0102030405060708090a0b0c0d0e0f10", hex(s.trace_id, 16))
    assert.equal("0000000000000000", hex(s.parent_span_id, 8)) -- a root span
    assert.equal("efcdab0000000000", hex(s.span_id, 8)) -- the u64's bytes, as hex prints them
    assert.equal(123456789ULL, s.monotonic_ns)
    assert.equal(1000ULL, s.duration_ns)
    assert.equal(1, s.flags) -- ELX_SPAN_HAS_TIMESTAMP
    assert.same({ comm = "cat", op = "write", kept = "5", ["ebpf_exporter.config"] = "test" }, attributes(s))
    assert.same({ comm = "ls", op = "unknown:3", kept = "6", ["ebpf_exporter.config"] = "test" },
      attributes(call.spans[1]))
    assert.equal("0700000000000000", hex(call.spans[1].parent_span_id, 8))
    assert.same({}, st.errors_by_decoder)
  end)

  it("drop records a decoder skips, and count those that cannot be spans", function()
    local plan = plans_of(yaml)[1]
    local short = rec(0, 1, 1, 1, "x", 1, 1):sub(1, 60)
    local zero = rec(0, 1, 1, 1, "x", 1, 1, ("\0"):rep(16))
    local call = call_of({ rec(0, 1, 1, 1, "a", 1, 10), short, zero, rec(0, 1, 1, 1, "b", 1, 2) })
    local st = stats()
    assert.equal(1, spans.decode(plan, spans.new_state(), call, st))
    assert.same({ comm = "b", op = "write", kept = "2", ["ebpf_exporter.config"] = "test" }, attributes(call.spans[0]))
    assert.same({ span = 2 }, st.errors_by_decoder) -- no decoder failed: the records did
    assert.same({
      "config test, span events: a 60-byte record is shorter than its labels (64 bytes)",
      "config test, span events: trace_id is all zeros",
    }, st.lines)
  end)

  it("parse special labels decoded by other chains as ebpf_exporter does", function()
    local plan = plans_of([[
tracing:
  spans:
    - name: fallback
      ringbuf: events
      labels:
        - name: trace_id
          size: 4
          decoders: [{ name: uint }, { name: static_map, static_map: { 1: 0102030405060708090a0b0c0d0e0f10 }, allow_unknown: true }]
        - { name: span_id, size: 4, decoders: [{ name: uint }, { name: static_map, static_map: { 0: "0000000000000000" } }] }
        - { name: span_duration_ns, size: 4, decoders: [{ name: uint }] }
        - { name: span_name, size: 8, decoders: [{ name: string }] }
]])[1]
    local function r(trace, duration, name)
      return record({ ffi.string(ffi.new("uint32_t[1]", trace), 4), ffi.string(ffi.new("uint32_t[1]", 0), 4),
        ffi.string(ffi.new("uint32_t[1]", duration), 4), name .. ("\0"):rep(8 - #name) })
    end
    local call = call_of({ r(1, 77, "named"), r(2, 1, "bad") })
    local st = stats()
    assert.equal(1, spans.decode(plan, spans.new_state(), call, st))
    local s = call.spans[0]
    assert.equal("named", ffi.string(s.name, s.name_len))
    assert.equal("0102030405060708090a0b0c0d0e0f10", hex(s.trace_id, 16))
    assert.equal("0000000000000000", hex(s.span_id, 8)) -- the core makes one up
    assert.equal(77ULL, s.duration_ns)
    assert.equal(0, s.flags) -- no timestamp: the span starts when it is decoded
    assert.same({ ["ebpf_exporter.config"] = "test" }, attributes(s))
    assert.same({ static_map = 1 }, st.errors_by_decoder) -- trace_id's last decoder
    assert.same({ 'config test, span fallback, label trace_id: trace_id "2" is not 32 lowercase hex digits' }, st.lines)
  end)
end)

describe("span metrics", function()
  local span_metrics = require("exporter.span_metrics")
  local buffer = require("string.buffer")

  it("write spans_total for each config with spans, and the queue", function()
    local counts = ffi.new("struct elx_span_stats[2]")
    counts[0].config, counts[0].exported, counts[0].dropped, counts[0].failed = "b", 10, 2, 1
    counts[1].config = "gone" -- a config of an earlier reload: not written
    local scrape = ffi.new("struct elx_scrape")
    scrape.spans.configs, scrape.spans.nconfigs = counts, 2
    scrape.spans.queue_length, scrape.spans.queue_capacity = 3, 2048
    local buf = buffer.new()
    span_metrics.write(buf, scrape, { { name = "b", span_plans = { {} } }, { name = "a", span_plans = { {} } },
      { name = "metrics_only", span_plans = {} } })
    assert.equal([[
# HELP ebpf_exporter_span_queue_capacity Spans the export queue holds before it drops its oldest (OTEL_BSP_MAX_QUEUE_SIZE)
# TYPE ebpf_exporter_span_queue_capacity gauge
ebpf_exporter_span_queue_capacity 2048
# HELP ebpf_exporter_span_queue_length Spans waiting for export, the batch under way included
# TYPE ebpf_exporter_span_queue_length gauge
ebpf_exporter_span_queue_length 3
# HELP ebpf_exporter_spans_total Spans made from ring-buffer records, by what became of them: exported, dropped (the queue was full or the exporter stopped first) or failed (the receiver refused them or kept failing)
# TYPE ebpf_exporter_spans_total counter
ebpf_exporter_spans_total{config="a",result="dropped"} 0
ebpf_exporter_spans_total{config="a",result="exported"} 0
ebpf_exporter_spans_total{config="a",result="failed"} 0
ebpf_exporter_spans_total{config="b",result="dropped"} 2
ebpf_exporter_spans_total{config="b",result="exported"} 10
ebpf_exporter_spans_total{config="b",result="failed"} 1
]], buf:tostring())
    buf:reset()
    span_metrics.write(buf, scrape, { { name = "metrics_only", span_plans = {} } })
    assert.equal("", buf:tostring())
  end)
end)
