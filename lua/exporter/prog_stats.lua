-- --prog-stats-mode's families: what the exporter does to have the kernel
-- count program runs, so that run counts and times can be read for what
-- they are. In sample mode they grow only inside windows: dividing their
-- rate by the duty cycle (or by the rate of enabled seconds) scales them
-- to the whole time.
local exposition = require("exporter.exposition")
local numfmt = require("exporter.numfmt")

local M = {}

local put_lines = exposition.put_lines

local MODES = { [0] = "disabled", "sample", "enabled" }

--- Writes the families of scrape.prog_stats (a struct elx_prog_stats *,
-- NULL when the mode is disabled).
function M.write(out, scrape)
  local s = scrape.prog_stats
  if s == nil then
    return
  end
  local duty = 1
  if s.mode == 1 then
    duty = tonumber(s.duration_ns) / tonumber(s.interval_ns)
  end
  put_lines(out, "ebpf_exporter_prog_stats_duty_cycle",
    "Fraction of the time the exporter has the kernel count program runs, as the flags set it", "gauge",
    { " " .. numfmt.value(duty) })
  put_lines(out, "ebpf_exporter_prog_stats_enabled", "1 while the exporter has the kernel count program runs",
    "gauge", { " " .. s.on })
  put_lines(out, "ebpf_exporter_prog_stats_enabled_seconds_total",
    "Time the exporter has had the kernel count program runs", "counter",
    { " " .. numfmt.decimal(tonumber(s.on_ns) / 1e9) })
  put_lines(out, "ebpf_exporter_prog_stats_errors_total", "Times the kernel refused to count program runs",
    "counter", { " " .. numfmt.u64(s.errors) })
  put_lines(out, "ebpf_exporter_prog_stats_mode", "The --prog-stats-mode the exporter runs with", "gauge",
    { ('{mode="%s"} 1'):format(MODES[s.mode] or tostring(s.mode)) })
  put_lines(out, "ebpf_exporter_prog_stats_windows_total", "Times the exporter turned the kernel's counting on",
    "counter", { " " .. numfmt.u64(s.windows) })
end

return M
