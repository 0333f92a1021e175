-- The exporter's own metrics: enabled configs, program info, attach state and
-- run stats, decoder and map read errors, scrape durations. Names and help
-- texts are ebpf_exporter's where it has the metric.
local ffi = require("ffi")
local cardinality = require("exporter.cardinality")
local exposition = require("exporter.exposition")
local numfmt = require("exporter.numfmt")

local M = {}

local esc = exposition.escape_label_value

local family = exposition.put_lines

-- The programs of every config, by id.
local function programs_of(scrape)
  local programs = {}
  for i = 0, scrape.nconfigs - 1 do
    local c = scrape.configs[i]
    for j = 0, c.nprograms - 1 do
      local p = c.programs[j]
      programs[#programs + 1] = {
        config = ffi.string(c.name), name = ffi.string(p.name), tag = ffi.string(p.tag),
        id = p.id, attached = p.attached, run_time_ns = p.run_time_ns, run_count = p.run_count,
        targeted = p.targeted ~= 0, processes = p.attached_processes, target_errors = p.target_attach_errors,
      }
    end
  end
  table.sort(programs, function(a, b) return a.id < b.id end)
  return programs
end

-- Sample lines (after the family name) of the program families.
local function program_lines(scrape)
  local out = { info = {}, attached = {}, run_time = {}, run_count = {}, processes = {}, target_errors = {} }
  for _, p in ipairs(programs_of(scrape)) do
    local id = '{id="' .. p.id .. '"} '
    if p.targeted then -- attached per process by targets:
      local pair = ('{config="%s",program="%s"} '):format(esc(p.config), esc(p.name))
      out.processes[#out.processes + 1] = pair .. p.processes
      out.target_errors[#out.target_errors + 1] = pair .. numfmt.u64(p.target_errors)
    end
    out.info[#out.info + 1] = ('{config="%s",id="%d",program="%s",tag="%s"} 1'):format(
      esc(p.config), p.id, esc(p.name), p.tag)
    out.attached[#out.attached + 1] = id .. p.attached
    if scrape.stats_enabled ~= 0 then
      out.run_time[#out.run_time + 1] = id .. numfmt.value(tonumber(p.run_time_ns) / 1e9)
      out.run_count[#out.run_count + 1] = id .. numfmt.u64(p.run_count)
    end
  end
  return out
end

-- Sample lines of the per-config and per-map families, configs by name.
local function config_lines(configs)
  local out = { enabled = {}, decoder_errors = {}, durations = {}, read_errors = {}, lost = {}, success = {},
    invalid_utf8 = {}, overflow = {} }
  local sorted = {}
  for i, cfg in ipairs(configs) do
    sorted[i] = cfg
  end
  table.sort(sorted, function(a, b) return a.name < b.name end)
  for _, cfg in ipairs(sorted) do
    local name, stats = esc(cfg.name), cfg.stats
    local label = '{config="' .. name .. '"} '
    out.enabled[#out.enabled + 1] = '{name="' .. name .. '"} 1'
    local decoders = {}
    for decoder in pairs(stats.errors) do
      decoders[#decoders + 1] = decoder
    end
    table.sort(decoders)
    for _, decoder in ipairs(decoders) do
      out.decoder_errors[#out.decoder_errors + 1] = ('{config="%s",decoder="%s"} %d'):format(name, esc(decoder),
        stats.errors[decoder])
    end
    out.durations[#out.durations + 1] = label .. numfmt.decimal(stats.duration)
    out.success[#out.success + 1] = label .. (stats.success == false and "0" or "1")
    cardinality.lines(cfg, out.overflow)
    out.invalid_utf8[#out.invalid_utf8 + 1] = label .. stats.invalid_utf8_total
    local maps = {}
    for map in pairs(stats.read_errors) do
      maps[#maps + 1] = map
    end
    table.sort(maps)
    for _, map in ipairs(maps) do
      local pair = ('{config="%s",map="%s"} '):format(name, esc(map))
      out.read_errors[#out.read_errors + 1] = pair .. stats.read_errors[map]
      if stats.lost[map] then
        out.lost[#out.lost + 1] = pair .. stats.lost[map]
      end
    end
  end
  return out
end

local function write_reloads(buf, scrape)
  family(buf, "ebpf_exporter_config_last_reload_successful", "Whether the last configuration reload worked",
    "gauge", { " " .. scrape.reload_successful })
  family(buf, "ebpf_exporter_config_last_reload_success_timestamp_seconds",
    "When the configuration was last loaded or reloaded successfully", "gauge",
    { " " .. numfmt.value(tonumber(scrape.reload_success_time_ms) / 1000) })
  family(buf, "ebpf_exporter_config_reloads_total", "Configuration reloads by result", "counter", {
    '{result="failure"} ' .. numfmt.u64(scrape.reloads_failure),
    '{result="success"} ' .. numfmt.u64(scrape.reloads_success),
  })
end

-- build_info, as every exporter has one: what runs, to tell hosts apart.
local function write_build_info(buf, about)
  if about == nil then
    return
  end
  family(buf, "ebpf_exporter_build_info", "The version of ebpf-lua-exporter and of the libraries it runs with",
    "gauge", { ('{libbpf="%s",luajit="%s",revision="%s",version="%s"} 1'):format(esc(ffi.string(about.libbpf)),
      esc(jit.version), esc(ffi.string(about.revision)), esc(ffi.string(about.version))) })
end

-- The process_* families of Prometheus client libraries, from the core's read.
local function write_process(buf, p)
  family(buf, "process_cpu_seconds_total", "User and system CPU time of the exporter, in seconds", "counter",
    { " " .. numfmt.decimal(p.cpu_seconds) })
  family(buf, "process_max_fds", "The exporter's limit of open file descriptors", "gauge",
    { " " .. numfmt.u64(p.max_fds) })
  family(buf, "process_open_fds", "File descriptors the exporter has open", "gauge", { " " .. numfmt.u64(p.open_fds) })
  family(buf, "process_resident_memory_bytes", "The exporter's resident memory, in bytes", "gauge",
    { " " .. numfmt.u64(p.resident_bytes) })
  family(buf, "process_start_time_seconds", "When the exporter started, in seconds since the Unix epoch", "gauge",
    { " " .. numfmt.decimal(p.start_time_seconds, 2) }) -- clock ticks: 1/100 s
  family(buf, "process_virtual_memory_bytes", "The exporter's virtual memory, in bytes", "gauge",
    { " " .. numfmt.u64(p.virtual_bytes) })
end

--- Writes the built-in families, in name order. `configs` are the config
-- states of the scrape in order ({name, stats, plans}): collect[] and
-- exclude[] leave the others out; `scrape` the core's struct elx_scrape *.
function M.write(buf, scrape, configs)
  local p, c = program_lines(scrape), config_lines(configs)
  if #p.processes > 0 then
    family(buf, "ebpf_exporter_attached_processes", "Processes a program of targets: is attached to", "gauge",
      p.processes)
  end
  write_build_info(buf, scrape.about)
  write_reloads(buf, scrape)
  family(buf, "ebpf_exporter_decoder_errors_total", "How many times has decoders encountered errors",
    "counter", c.decoder_errors)
  family(buf, "ebpf_exporter_ebpf_program_attached", "Whether a program is attached", "gauge", p.attached)
  family(buf, "ebpf_exporter_ebpf_program_info", "Info about ebpf programs", "gauge", p.info)
  family(buf, "ebpf_exporter_ebpf_program_run_count_total", "How many times has the program been executed",
    "counter", p.run_count)
  family(buf, "ebpf_exporter_ebpf_program_run_time_seconds", "How long has the program been executing",
    "counter", p.run_time)
  family(buf, "ebpf_exporter_enabled_configs", "The set of enabled configs", "gauge", c.enabled)
  family(buf, "ebpf_exporter_event_records_lost_total",
    "Records of perf event arrays and ring buffers never counted: lost by the kernel or past the exporter's bound",
    "counter", c.lost)
  family(buf, "ebpf_exporter_invalid_utf8_label_values_total",
    "Label values decoded with bytes that are not UTF-8, each such byte exported as U+FFFD", "counter",
    c.invalid_utf8)
  family(buf, "ebpf_exporter_map_read_errors_total", "How many times reading a metric map failed",
    "counter", c.read_errors)
  family(buf, "ebpf_exporter_scrape_duration_seconds",
    "How long reading and decoding a config's maps took at this scrape", "gauge", c.durations)
  family(buf, "ebpf_exporter_scrape_success",
    "Whether every metric of a config was collected in full at this scrape (0: a map read failed, or the "
      .. "scrape's time budget ran out first)", "gauge", c.success)
  family(buf, "ebpf_exporter_series_overflow_total",
    "Rows of a metric with max_series added to its overflow series, whose labels all read overflow", "counter",
    c.overflow)
  if #p.target_errors > 0 then
    family(buf, "ebpf_exporter_target_attach_errors_total",
      "Attaches of a program of targets: to a process that failed", "counter", p.target_errors)
  end
  write_process(buf, scrape.process)
end

return M
