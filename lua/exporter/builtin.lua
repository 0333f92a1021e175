-- The exporter's own metrics: enabled configs, program info, attach state and
-- run stats, decoder and map read errors, scrape durations. Names and help
-- texts are ebpf_exporter's where it has the metric.
local ffi = require("ffi")
local exposition = require("exporter.exposition")
local numfmt = require("exporter.numfmt")

local M = {}

local esc = exposition.escape_label_value

local function family(buf, name, help, kind, lines)
  if #lines == 0 then
    return
  end
  exposition.put_header(buf, name, help, kind)
  for _, l in ipairs(lines) do
    buf:put(name, l, "\n")
  end
end

--- Writes the built-in families. `configs` are the loaded config states in
-- order ({name, stats, plans}); `scrape` the core's struct elx_scrape *.
function M.write(buf, scrape, configs)
  local enabled, info, attached, run_time, run_count = {}, {}, {}, {}, {}
  local decoder_errors, read_errors, durations, lost = {}, {}, {}, {}
  local programs = {}
  for i = 0, scrape.nconfigs - 1 do
    local c = scrape.configs[i]
    for j = 0, c.nprograms - 1 do
      local p = c.programs[j]
      programs[#programs + 1] = {
        config = ffi.string(c.name), name = ffi.string(p.name), tag = ffi.string(p.tag),
        id = p.id, attached = p.attached, run_time_ns = p.run_time_ns, run_count = p.run_count,
      }
    end
  end
  table.sort(programs, function(a, b) return a.id < b.id end)
  for _, p in ipairs(programs) do
    local id = '{id="' .. p.id .. '"} '
    info[#info + 1] = ('{config="%s",id="%d",program="%s",tag="%s"} 1'):format(
      esc(p.config), p.id, esc(p.name), p.tag)
    attached[#attached + 1] = id .. p.attached
    if scrape.stats_enabled ~= 0 then
      run_time[#run_time + 1] = id .. numfmt.value(tonumber(p.run_time_ns) / 1e9)
      run_count[#run_count + 1] = id .. numfmt.u64(p.run_count)
    end
  end
  local names = {}
  for _, cfg in ipairs(configs) do
    names[#names + 1] = cfg.name
  end
  table.sort(names)
  local by_name = {}
  for _, cfg in ipairs(configs) do
    by_name[cfg.name] = cfg
  end
  for _, name in ipairs(names) do
    local cfg = by_name[name]
    local label = '{config="' .. esc(name) .. '"} '
    enabled[#enabled + 1] = '{name="' .. esc(name) .. '"} 1'
    decoder_errors[#decoder_errors + 1] = label .. cfg.stats.decoder_errors
    durations[#durations + 1] = label .. numfmt.value(cfg.stats.duration)
    local maps = {}
    for map in pairs(cfg.stats.read_errors) do
      maps[#maps + 1] = map
    end
    table.sort(maps)
    for _, map in ipairs(maps) do
      read_errors[#read_errors + 1] = ('{config="%s",map="%s"} %d'):format(esc(name), esc(map),
        cfg.stats.read_errors[map])
      if cfg.stats.lost[map] then
        lost[#lost + 1] = ('{config="%s",map="%s"} %d'):format(esc(name), esc(map), cfg.stats.lost[map])
      end
    end
  end
  family(buf, "ebpf_exporter_config_last_reload_successful", "Whether the last configuration reload worked",
    "gauge", { " " .. scrape.reload_successful })
  family(buf, "ebpf_exporter_config_last_reload_success_timestamp_seconds",
    "When the configuration was last loaded or reloaded successfully", "gauge",
    { " " .. numfmt.value(tonumber(scrape.reload_success_time_ms) / 1000) })
  family(buf, "ebpf_exporter_config_reloads_total", "Configuration reloads by result", "counter", {
    '{result="failure"} ' .. numfmt.u64(scrape.reloads_failure),
    '{result="success"} ' .. numfmt.u64(scrape.reloads_success),
  })
  family(buf, "ebpf_exporter_decoder_errors_total", "How many times has decoders encountered errors",
    "counter", decoder_errors)
  family(buf, "ebpf_exporter_ebpf_program_attached", "Whether a program is attached", "gauge", attached)
  family(buf, "ebpf_exporter_ebpf_program_info", "Info about ebpf programs", "gauge", info)
  family(buf, "ebpf_exporter_ebpf_program_run_count_total", "How many times has the program been executed",
    "counter", run_count)
  family(buf, "ebpf_exporter_ebpf_program_run_time_seconds", "How long has the program been executing",
    "counter", run_time)
  family(buf, "ebpf_exporter_enabled_configs", "The set of enabled configs", "gauge", enabled)
  family(buf, "ebpf_exporter_event_records_lost_total",
    "Records of perf event arrays and ring buffers never counted: lost by the kernel or past the exporter's bound",
    "counter", lost)
  family(buf, "ebpf_exporter_map_read_errors_total", "How many times reading a metric map failed",
    "counter", read_errors)
  family(buf, "ebpf_exporter_scrape_duration_seconds",
    "How long reading and decoding a config's maps took at this scrape", "gauge", durations)
end

return M
