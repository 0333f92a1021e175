-- The span export's own metrics, for configs with tracing.spans: what became
-- of each config's spans (exported, dropped by the bounded queue, refused
-- by or never answered by the receiver) and the queue itself. The counts
-- are the core's, kept across reloads.
local ffi = require("ffi")
local exposition = require("exporter.exposition")
local numfmt = require("exporter.numfmt")

local M = {}

local RESULTS = { "dropped", "exported", "failed" }

-- The core's counts by config name.
local function counts_by_config(s)
  local by_name = {}
  for i = 0, s.nconfigs - 1 do
    local c = s.configs[i]
    by_name[ffi.string(c.config)] = { exported = c.exported, dropped = c.dropped, failed = c.failed }
  end
  return by_name
end

--- Writes spans_total and the queue gauges when any config of `configs`
-- (entry.lua's config states) makes spans; `scrape` is a struct elx_scrape *.
function M.write(buf, scrape, configs)
  local names = {}
  for _, cfg in ipairs(configs) do
    if cfg.span_plans and #cfg.span_plans > 0 then
      names[#names + 1] = cfg.name
    end
  end
  if #names == 0 then
    return
  end
  table.sort(names)
  local s = scrape.spans
  local counts, lines = counts_by_config(s), {}
  for _, name in ipairs(names) do
    local c = counts[name] or {}
    for _, result in ipairs(RESULTS) do
      lines[#lines + 1] = ('{config="%s",result="%s"} %s'):format(exposition.escape_label_value(name), result,
        numfmt.u64(c[result] or 0))
    end
  end
  exposition.put_lines(buf, "ebpf_exporter_span_queue_capacity",
    "Spans the export queue holds before it drops its oldest (OTEL_BSP_MAX_QUEUE_SIZE)", "gauge",
    { " " .. numfmt.u64(s.queue_capacity) })
  exposition.put_lines(buf, "ebpf_exporter_span_queue_length",
    "Spans waiting for export, the batch under way included", "gauge", { " " .. numfmt.u64(s.queue_length) })
  exposition.put_lines(buf, "ebpf_exporter_spans_total",
    "Spans made from ring-buffer records, by what became of them: exported, dropped (the queue was full or the "
      .. "exporter stopped first) or failed (the receiver refused them or kept failing)", "counter", lines)
end

return M
