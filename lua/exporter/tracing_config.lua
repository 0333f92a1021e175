-- The `tracing:` section of a config, as ebpf_exporter reads it: spans made
-- from the records of ring buffers, each record decoded by a label chain.
--
--   tracing:
--     spans:
--       - name: <span name>       # default: the ring buffer's name
--         ringbuf: <map name>     # a BPF_MAP_TYPE_RINGBUF of the object
--         service: <service.name> # default: $OTEL_SERVICE_NAME, else ebpf_exporter
--         labels: [<label>]       # as metrics' labels; some names fill the span
local checker = require("exporter.checker")

local M = {}

local present, is_mapping, is_sequence = checker.present, checker.is_mapping, checker.is_sequence

local TRACING_KEYS = { spans = true }
local SPAN_KEYS = { name = true, ringbuf = true, service = true, labels = true }

-- Labels that fill the span rather than becoming attributes, and the size
-- their usual decoder (hex for ids, uint for times) needs.
M.SPECIAL = {
  trace_id = { hex = 16 },
  parent_span_id = { hex = 8 },
  span_id = { hex = 8 },
  span_monotonic_timestamp_ns = { uint = 8 },
  span_duration_ns = { uint = 8 },
  span_name = {},
}

-- An id read with hex must have its exact size: ebpf_exporter finds out
-- only when every span fails to parse.
local function check_special(c, label, path)
  local special = M.SPECIAL[label.name]
  local chain = label.decoders
  if not special or #chain ~= 1 or not label.size then
    return
  end
  local want = special[chain[1].name]
  if want and chain[1].name == "hex" and label.size ~= want then
    c:fail(path .. ".size", "%s is %d bytes (%d hex digits), not %d", label.name, want, 2 * want, label.size)
  end
end

local function optional_string(c, node, key, path)
  local v = node[key]
  if not present(v) then
    return nil
  end
  if type(v) ~= "string" or v == "" then
    c:fail(path .. "." .. key, "must be a non-empty string")
    return nil
  end
  return v
end

local function check_span(c, node, path, ctx, check_labels)
  c:known_keys(node, path, SPAN_KEYS)
  local span = { path = path }
  span.ringbuf = c:required_string(node, "ringbuf", path)
  span.name = optional_string(c, node, "name", path)
  span.service = optional_string(c, node, "service", path)
  span.labels = check_labels(c, node, path, ctx, {}, true)
  for i, label in ipairs(span.labels) do
    check_special(c, label, ("%s.labels[%d]"):format(path, i - 1))
  end
  return span
end

--- The spans of a `tracing:` node; mistakes go to the checker `c`.
-- `check_labels` is config.lua's label check (labels read the same way).
function M.check(c, node, ctx, check_labels)
  local spans = {}
  if not is_mapping(node) then
    c:fail("tracing", "must be a mapping with spans")
    return spans
  end
  c:known_keys(node, "tracing", TRACING_KEYS)
  local list = node.spans
  if not present(list) then
    c:fail("tracing.spans", "missing: a list of spans, each read from a ring buffer")
    return spans
  end
  if not is_sequence(list) then
    c:fail("tracing.spans", "must be a list of spans")
    return spans
  end
  local seen = {}
  for i, s in ipairs(list) do
    local path = ("tracing.spans[%d]"):format(i - 1)
    if not is_mapping(s) then
      c:fail(path, "must be a mapping with ringbuf and labels")
    else
      local span = check_span(c, s, path, ctx, check_labels)
      if span.ringbuf and seen[span.ringbuf] then
        -- Two readers of one ring buffer would split its records.
        c:fail(path .. ".ringbuf", "ring buffer %q is already read by %s", span.ringbuf, seen[span.ringbuf])
      end
      seen[span.ringbuf or ""] = seen[span.ringbuf or ""] or path
      spans[#spans + 1] = span
    end
  end
  return spans
end

return M
