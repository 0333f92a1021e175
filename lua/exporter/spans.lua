-- Spans from ring-buffer records (a config's tracing.spans): binds each span
-- config to its object's ring buffer, and decodes the records the core
-- drained (ELX_ENTRY_SPANS) into its struct elx_span array, as ebpf_exporter
-- does: labels with special names fill the span (ids, start, duration,
-- name), every other label is a string attribute, and
-- ebpf_exporter.config=<config> is added. No label cache: each record has
-- ids of its own, so a cache would only grow.
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local tracing_config = require("exporter.tracing_config")
local table_clear = require("table.clear")

local M = {}

local RINGBUF = 27 -- BPF_MAP_TYPE_RINGBUF
local CONFIG_ATTRIBUTE = "ebpf_exporter.config"
local SKIP = api.SKIP
local HAS_TIMESTAMP = ffi.C.ELX_SPAN_HAS_TIMESTAMP
local SPAN_SIZE = ffi.sizeof("struct elx_span")
local u64p = ffi.typeof("const uint64_t *")
local attr_array = ffi.typeof("struct elx_span_attr[?]")

-- Ids as ebpf_exporter parses them (otel-go's ...FromHex): exactly 2n
-- lowercase hex digits.
local function set_hex(dst, v, n, what)
  if #v ~= 2 * n or not v:match("^[0-9a-f]+$") then
    return nil, ("%s %q is not %d lowercase hex digits"):format(what, v, 2 * n)
  end
  for i = 0, n - 1 do
    dst[i] = tonumber(v:sub(2 * i + 1, 2 * i + 2), 16)
  end
  return true
end

local U64_MAX = "18446744073709551615"

-- A decimal string as an exact uint64_t (strconv.ParseUint's range).
local function parse_u64(v, what)
  if not v:match("^%d+$") or #v > 20 or (#v == 20 and v > U64_MAX) then
    return nil, ("%s %q is not an unsigned 64-bit number"):format(what, v)
  end
  local x = 0ULL
  for i = 1, #v do
    x = x * 10 + (v:byte(i) - 48)
  end
  return x
end

local NIL_SPAN_ID = "0000000000000000"

-- What a special label does with its decoded value: (span, value, keep)
-- -> true, or nil and why.
local SETTERS = {
  trace_id = function(span, v) return set_hex(span.trace_id, v, 16, "trace_id") end,
  span_id = function(span, v)
    return v == NIL_SPAN_ID or set_hex(span.span_id, v, 8, "span_id") -- zero: one is generated
  end,
  parent_span_id = function(span, v)
    return v == NIL_SPAN_ID or set_hex(span.parent_span_id, v, 8, "parent_span_id") -- zero: a root span
  end,
  span_monotonic_timestamp_ns = function(span, v)
    local x, err = parse_u64(v, "span_monotonic_timestamp_ns")
    span.monotonic_ns = x or 0
    return x and true, err
  end,
  span_duration_ns = function(span, v)
    local x, err = parse_u64(v, "span_duration_ns")
    span.duration_ns = x or 0
    return x and true, err
  end,
  span_name = function(span, v, keep)
    keep[#keep + 1] = v
    span.name, span.name_len = v, #v
    return true
  end,
}

-- The struct field a label with a usual decoder chain fills straight from
-- the record: decoding to hex (or decimal) and parsing it back gives the
-- very bytes (or number), so the decoders need not run.
local FAST = {
  trace_id = { field = "trace_id", decoder = "hex", size = 16, kind = "bytes" },
  span_id = { field = "span_id", decoder = "hex", size = 8, kind = "bytes" },
  parent_span_id = { field = "parent_span_id", decoder = "hex", size = 8, kind = "bytes" },
  span_monotonic_timestamp_ns = { field = "monotonic_ns", decoder = "uint", size = 8, kind = "u64" },
  span_duration_ns = { field = "duration_ns", decoder = "uint", size = 8, kind = "u64" },
}

local function field_of(label, offset)
  local f = { name = label.name, offset = offset, size = label.size, decoders = label.decoders }
  local fast = FAST[label.name]
  if fast and #label.decoders == 1 and label.decoders[1].name == fast.decoder and label.size == fast.size then
    f.fast, f.field = fast.kind, fast.field
  end
  f.set = SETTERS[label.name]
  return f
end

local function new_plan(cfg, span)
  local plan = {
    config = cfg.name, ringbuf = span.ringbuf, service = span.service,
    name = span.name or span.ringbuf, fields = {}, nattrs = 1,
  }
  plan.name_len = #plan.name
  local offset = 0
  for _, label in ipairs(span.labels) do
    local f = field_of(label, offset)
    plan.fields[#plan.fields + 1] = f
    plan.nattrs = plan.nattrs + (f.set and 0 or 1)
    plan.has_trace_id = plan.has_trace_id or label.name == "trace_id"
    plan.has_timestamp = plan.has_timestamp or label.name == "span_monotonic_timestamp_ns"
    offset = offset + (label.size or 0) + (label.padding or 0)
  end
  plan.min_size = offset
  return plan
end

--- Binds the spans of `cfg` (config.lua's cfg.spans) to the maps of its
-- object, `infos` as metric.bind takes them. Returns the plans in config
-- order, or nil and error lines.
function M.bind(cfg, infos)
  local by_name, metric_maps, errors, plans = {}, {}, {}, {}
  for _, info in ipairs(infos) do
    by_name[info.name] = info
  end
  for _, m in ipairs(cfg.metrics) do
    metric_maps[m.name or ""] = m.path
  end
  local function fail(path, msg)
    errors[#errors + 1] = cfg.file .. ": " .. path .. ".ringbuf: " .. msg
  end
  for _, span in ipairs(cfg.spans or {}) do
    local info = span.ringbuf and by_name[span.ringbuf]
    if not info then
      fail(span.path, ("no map %q in %s.bpf.o"):format(tostring(span.ringbuf), cfg.name))
    elseif info.type ~= RINGBUF then
      fail(span.path, ("map %q has type %d: spans come from a ring buffer (BPF_MAP_TYPE_RINGBUF)")
        :format(span.ringbuf, info.type))
    elseif metric_maps[span.ringbuf] then
      fail(span.path, ("ring buffer %q is also read by %s"):format(span.ringbuf, metric_maps[span.ringbuf]))
    else
      plans[#plans + 1] = new_plan(cfg, span)
    end
  end
  if #errors > 0 then
    return nil, errors
  end
  return plans
end

--- What decoding a plan's records keeps between calls: the attribute
-- array the spans point into and the strings it anchors.
function M.new_state()
  return { attrs = nil, cap = 0, keep = {} }
end

-- A record that cannot become a span: counted (as ebpf_exporter counts it
-- in decoder_errors_total: under its label's last decoder, or "span" when no
-- decoder failed) and logged once per distinct reason.
local function failed(stats, plan, field, err)
  local decoders = field and field.decoders
  local name = decoders and #decoders > 0 and decoders[#decoders].name or "span"
  stats.errors_by_decoder[name] = (stats.errors_by_decoder[name] or 0) + 1
  local msg = ("config %s, span %s%s: %s"):format(plan.config, plan.name,
    field and (", label " .. field.name) or "", tostring(err))
  if not stats.logged[msg] and stats.nlogged < 100 then
    stats.logged[msg] = true
    stats.nlogged = stats.nlogged + 1
    stats.log(msg)
  end
  return false
end

-- A label through its decoder chain: the value, SKIP, or nil and why.
local function decode_field(f, p)
  local v = ffi.string(p + f.offset, f.size)
  for _, d in ipairs(f.decoders) do
    local out, err = d.decode(v)
    if out == SKIP or out == nil then
      return out, err
    end
    v = out
  end
  return v
end

local function zero_trace(span)
  local ids = ffi.cast(u64p, span.trace_id)
  return ids[0] == 0 and ids[1] == 0
end

-- One record into `span`, its attributes from attrs[a]. Returns the number
-- of attributes used, or false when the record makes no span.
local function fill(plan, span, p, size, attrs, a, keep, stats)
  if size < plan.min_size then
    return failed(stats, plan, nil, ("a %d-byte record is shorter than its labels (%d bytes)")
      :format(size, plan.min_size))
  end
  ffi.fill(span, SPAN_SIZE)
  span.name, span.name_len = plan.name, plan.name_len
  local first = a
  for _, f in ipairs(plan.fields) do
    if f.fast == "bytes" then
      ffi.copy(span[f.field], p + f.offset, f.size)
    elseif f.fast == "u64" then
      span[f.field] = ffi.cast(u64p, p + f.offset)[0]
    else
      local v, err = decode_field(f, p)
      if v == SKIP then
        return false
      elseif v == nil then
        return failed(stats, plan, f, err)
      elseif f.set then
        local ok, serr = f.set(span, v, keep)
        if not ok then
          return failed(stats, plan, f, serr)
        end
      else
        keep[#keep + 1] = v
        local at = attrs[a]
        at.key, at.key_len, at.value, at.value_len = f.name, #f.name, v, #v
        a = a + 1
      end
    end
  end
  -- otel-go refuses an all-zero trace id; without a trace_id label one is made.
  if plan.has_trace_id and zero_trace(span) then
    return failed(stats, plan, nil, "trace_id is all zeros")
  end
  local at = attrs[a]
  at.key, at.key_len, at.value, at.value_len = CONFIG_ATTRIBUTE, #CONFIG_ATTRIBUTE, plan.config, #plan.config
  a = a + 1
  span.attributes, span.nattributes = attrs + first, a - first
  span.flags = plan.has_timestamp and HAS_TIMESTAMP or 0
  return a - first
end

--- Decodes the records of a struct elx_span_call into call.spans, setting
-- call.nspans. `state` is the plan's (new_state), `stats` its config's
-- ({logged, nlogged, log, errors_by_decoder}); the caller adds the decoder
-- errors counted there to call.counters (config_counters.sync).
function M.decode(plan, state, call, stats)
  local nrecords = call.nrecords
  local need = nrecords * plan.nattrs
  if state.cap < need then
    state.attrs, state.cap = attr_array(need), need
  end
  table_clear(state.keep)
  local attrs, keep, data, records, spans = state.attrs, state.keep, call.data, call.records, call.spans
  local n, a = 0, 0
  for i = 0, nrecords - 1 do
    local r = records[i]
    local used = fill(plan, spans[n], data + r.offset, r.size, attrs, a, keep, stats)
    if used then
      n, a = n + 1, a + used
    end
  end
  call.nspans = n
  return n
end

M.SPECIAL = tracing_config.SPECIAL

return M
