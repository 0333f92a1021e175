-- The entry points the C core calls in a Lua state, through one dispatcher
-- that reads the call from elx_call (core/abi.h): init once, configure each
-- config (parse, check, bind to its maps), render pages from a read of the
-- maps, answer cgroup_id_map syncs, and say which processes targets attach
-- to.
local ffi = require("ffi")
local buffer = require("string.buffer")
local abi = require("exporter.abi")
local bpf_collector = require("exporter.bpf_collector")
local builtin = require("exporter.builtin")
local cgroup_id_map = require("exporter.cgroup_id_map")
local cgroup_index = require("exporter.cgroup_index")
local collect = require("exporter.collect")
local collect_config = require("exporter.collect_config")
local config = require("exporter.config")
local config_counters = require("exporter.config_counters")
local debug_maps = require("exporter.debug_maps")
local decoders = require("exporter.decoders")
local exposition = require("exporter.exposition")
local guard = require("exporter.guard")
local landing = require("exporter.landing")
local log = require("exporter.log")
local metric = require("exporter.metric")
local span_metrics = require("exporter.span_metrics")
local spans = require("exporter.spans")
local prog_stats = require("exporter.prog_stats")
local processes = require("exporter.processes")
local targets = require("exporter.targets")
local web_config = require("exporter.web_config")

local M = {}

local C = ffi.C
local state

local function is_dir(path)
  local d = io.open(path .. "/.")
  if d then
    d:close()
  end
  return d ~= nil
end

--- ELX_ENTRY_INIT, with a struct elx_init *. Decoders load from the built-in
-- dir, <config_dir>/decoders, then each of opts.decoder_dirs.
function M.init(opts)
  local ok, err = abi.check()
  if not ok then
    return nil, err
  end
  -- No config dir: --collector.bpf alone, without configs.
  local config_dir = opts.config_dir ~= nil and ffi.string(opts.config_dir) or nil
  local dirs = { decoders.builtin_dir() }
  if config_dir and is_dir(config_dir .. "/decoders") then
    dirs[#dirs + 1] = config_dir .. "/decoders"
  end
  for i = 0, opts.ndecoder_dirs - 1 do
    dirs[#dirs + 1] = ffi.string(opts.decoder_dirs[i])
  end
  guard.setup({ time_limit = opts.decoder_time_limit, memory_limit = tonumber(opts.decoder_memory_limit) })
  local registry, rerr = decoders.load(dirs, log.info, { unrestricted = opts.decoders_unrestricted ~= 0 })
  if not registry then
    return nil, rerr
  end
  state = {
    opts = {
      config_dir = config_dir,
      cache_size = tonumber(opts.cache_size),
      skip_cache_size = tonumber(opts.skip_cache_size),
      max_series = tonumber(opts.max_series),
      strict = opts.strict ~= 0,
    },
    registry = registry,
    configs = {},
    by_name = {},
    family_owner = {},
    cgroup_id_maps = {},
    target_configs = {},
    buf = buffer.new(65536),
  }
  return true
end

-- Binds the config's metrics, each family owned by one config, and its spans.
local function bind(cfg, infos)
  local plans, errors = metric.bind(cfg, infos, state.opts)
  local span_plans, span_errors = spans.bind(cfg, infos)
  if not plans or not span_plans then
    errors = errors or {}
    for _, e in ipairs(span_errors or {}) do
      errors[#errors + 1] = e
    end
    return nil, errors
  end
  errors = {}
  for _, plan in ipairs(plans) do
    for _, family in ipairs(plan.families or { plan.family }) do -- plan.families: kind_values'
      local owner = state.family_owner[family]
      if owner then
        errors[#errors + 1] = ("%s: metric %s is also defined by config %s"):format(cfg.file,
          family:sub(#"ebpf_exporter_" + 1), owner)
      end
    end
  end
  if #errors > 0 then
    return nil, errors
  end
  return plans, span_plans
end

-- The names of the decoders a config's metrics and spans use, sorted.
local function decoder_names(plans, span_plans)
  local seen, names = {}, {}
  local function add(labels)
    for _, label in ipairs(labels) do
      for _, d in ipairs(label.decoders) do
        if not seen[d.name] then
          seen[d.name] = true
          names[#names + 1] = d.name
        end
      end
    end
  end
  for _, plan in ipairs(plans) do
    add(plan.labels)
  end
  for _, plan in ipairs(span_plans or {}) do
    add(plan.fields)
  end
  table.sort(names)
  return names
end

local function register(name, cfg, plans, span_plans, bound)
  local read_errors, lost, states, fingerprints = {}, {}, {}, {}
  for i, plan in ipairs(plans) do
    states[i], fingerprints[i] = collect.bound_state(plan, state.registry)
    for _, family in ipairs(plan.families or { plan.family }) do
      state.family_owner[family] = name
    end
    read_errors[plan.name] = 0
    lost[plan.name] = plan.event and 0 or nil
  end
  if cfg.targets then
    state.target_configs[#state.target_configs + 1] = { name = name, entries = cfg.targets.entries,
      grace = cfg.targets.grace }
  end
  if cfg.cgroup_id_map then
    local m = cfg.cgroup_id_map
    state.cgroup_id_maps[#state.cgroup_id_maps + 1] = { config = name, map = m.name, type = m.type, match = m.match }
  end
  local span_states = {}
  for i in ipairs(span_plans) do
    span_states[i] = spans.new_state()
  end
  state.configs[#state.configs + 1] = {
    name = name,
    plans = plans,
    states = states, -- per plan: its caches and series, changed by every scrape
    fingerprints = fingerprints, -- per plan: what its series store is registered under
    span_plans = span_plans,
    span_states = span_states,
    decoders = decoder_names(plans, span_plans),
    slots = {}, -- decoder name -> its slot in the core's counters (config_counters)
    pid_fields = bound and bound.pid_fields, -- targets: per plan, where keys hold a pid
    stats = {
      decoder_errors = 0, errors_by_decoder = {}, errors = {}, invalid_utf8 = 0, invalid_utf8_total = 0,
      read_errors = read_errors, lost = lost, duration = 0, logged = {}, nlogged = 0, log = log.warn,
    },
  }
  state.by_name[name] = state.configs[#state.configs]
end

-- The answer goes into the call's out fields, in memory this state keeps
-- until its next call (the core copies it at once).
local function answer(call, plans, kaddrs, span_plans, bound)
  local maps = ffi.new("struct elx_metric_map[?]", #plans + 1)
  local syms = ffi.new("const char *[?]", #kaddrs + 1)
  local streams = ffi.new("struct elx_span_stream[?]", #span_plans + 1)
  for i, plan in ipairs(span_plans) do
    streams[i - 1].map, streams[i - 1].service = plan.ringbuf, plan.service
  end
  for i, plan in ipairs(plans) do
    local m = maps[i - 1]
    m.name, m.record_size, m.flush_ms = plan.read.map, plan.read.record_size, plan.read.flush_ms
  end
  for i, sym in ipairs(kaddrs) do
    syms[i - 1] = sym
  end
  state.answer = { maps, syms, plans, kaddrs, streams, span_plans, bound and targets.answer(call, bound, maps) }
  call.metric_maps, call.nmetric_maps = maps, #plans
  call.kaddrs, call.nkaddrs = syms, #kaddrs
  call.span_streams, call.nspan_streams = streams, #span_plans
end

--- ELX_ENTRY_CONFIGURE, with a struct elx_configure *: parses
-- <config_dir>/<name>.yaml and binds it to the maps of its opened object
-- (call.maps NULL when it could not be opened: then only the YAML is
-- checked). Fails with every mistake, one per line.
function M.configure(call)
  local name = ffi.string(call.name)
  local cfg, errors, warnings = config.load(state.opts.config_dir, name,
    { config = name, registry = state.registry, strict = state.opts.strict })
  if not cfg then
    for _, warning in ipairs(warnings or {}) do
      log.warn(warning)
    end
    return nil, table.concat(errors, "\n")
  end
  local infos, plans, span_plans, bound, target_warnings = metric.infos(call.maps, call.nmaps), {}, {}, nil, {}
  if infos then
    plans, span_plans = bind(cfg, infos)
    if not plans then
      return nil, table.concat(span_plans, "\n")
    end
    if cfg.targets then
      bound, target_warnings = targets.bind(cfg, targets.program_infos(call), plans)
      if not bound then
        return nil, table.concat(target_warnings, "\n")
      end
    end
    register(name, cfg, plans, span_plans, bound)
  end
  for _, warning in ipairs(cfg.warnings or {}) do
    log.warn(warning)
  end
  for _, warning in ipairs(bound and target_warnings or {}) do
    log.warn(warning)
  end
  answer(call, plans, cfg.kaddrs, span_plans, bound)
  return true
end


--- The metrics page of one scrape (a struct elx_scrape *) in the format
-- it asks for (scrape.format), in a string.buffer valid until the next
-- render, and that format's content type: the configs the core read
-- (collect[] and exclude[] leave some out), within the scrape's time budget.
function M.metrics_text(scrape)
  local buf = state.buf
  buf:reset()
  local fmt = exposition.format_for(scrape.format)
  -- Room for as much as the last page took, at once rather than by doubling.
  buf:reserve(state.metrics_len or 0)
  local text = exposition.use(fmt)
  fmt.begin(buf, scrape)
  local present = collect_config.scrape(scrape, state.configs, buf)
  builtin.write(buf, scrape, present)
  span_metrics.write(buf, scrape, state.configs)
  prog_stats.write(buf, scrape)
  bpf_collector.write(buf, scrape)
  fmt.finish(buf)
  exposition.use(text)
  state.metrics_len = #buf + #buf / 8
  return buf, fmt.content_type
end

--- The /maps page (--debug), from one read of every map.
function M.maps_text(scrape)
  local buf = state.buf
  buf:reset()
  debug_maps.write(buf, scrape, state.configs)
  return buf
end

--- The landing page (/), from the programs of the scrape, without map reads.
function M.landing_text(scrape)
  local buf = state.buf
  buf:reset()
  landing.write(buf, scrape, state.configs)
  return buf
end

local TEXT = exposition.format_for(0)

-- Each page: how it is written and what it is.
local PAGES = {
  [C.ELX_PAGE_LANDING] = { text = M.landing_text, content_type = landing.CONTENT_TYPE },
  [C.ELX_PAGE_METRICS] = { text = M.metrics_text }, -- its content type is its format's
  [C.ELX_PAGE_MAPS] = { text = M.maps_text, content_type = debug_maps.CONTENT_TYPE },
}

--- ELX_ENTRY_RENDER, with a struct elx_scrape *: the page goes into the
-- core's body straight from the buffer, without a Lua string in between.
function M.render(scrape)
  local page = PAGES[scrape.page]
  if not page then
    return nil, "no such page: " .. tostring(scrape.page)
  end
  -- Every page starts in the text format: a metrics page that raised
  -- half-way has not put it back.
  exposition.use(TEXT)
  local buf, content_type = page.text(scrape)
  local data, len = buf:ref()
  local ret = C.elx_scrape_set_body(scrape, data, len)
  -- The core has its copy: the buffer's memory goes back until the next page
  -- (a 100,000-series page is ~5 MiB, and growing by doubling held up to 2x).
  buf:free()
  if ret ~= 0 then
    return nil, "out of memory for the body"
  end
  scrape.content_type = content_type or page.content_type
  return true
end

-- The cgroup_id_map sync starts with the first call, once every config is
-- configured.
local function cgroup_sync()
  if not state.cgroup_sync and #state.cgroup_id_maps > 0 then
    local index, err = cgroup_index.shared()
    if not index then
      return nil, "cgroup_id_map: " .. err
    end
    state.cgroup_sync = cgroup_id_map.new(state.cgroup_id_maps, index)
  end
  return state.cgroup_sync
end

--- ELX_ENTRY_CGROUP_SYNC, with a struct elx_cgroup_sync *.
function M.cgroup_sync(call)
  local sync, err = cgroup_sync()
  if err then
    return nil, err
  end
  if not sync then
    call.watch_fd, call.nops = -1, 0
    return true
  end
  sync:answer(call)
  return true
end

--- ELX_ENTRY_SPANS, with a struct elx_span_call *: one batch of a span
-- stream's records into spans.
function M.spans(call)
  local cfg = state.by_name[ffi.string(call.config)]
  local plan = cfg and cfg.span_plans[call.stream + 1]
  if not plan then
    return nil, ("no span stream %d in config %s"):format(call.stream, ffi.string(call.config))
  end
  spans.decode(plan, cfg.span_states[call.stream + 1], call, cfg.stats)
  config_counters.sync(call.counters, cfg.stats, cfg.decoders, cfg.slots)
  return true
end

-- A process whose keys the core deleted: its config's metrics with a pid
-- label decode afresh, so that a reused pid is never named by a label set
-- cached for the process that had it before.
local function forget_process(config_name)
  for _, cfg in ipairs(state.configs) do
    if cfg.name == config_name then
      for i, plan in ipairs(cfg.plans) do
        if cfg.pid_fields and cfg.pid_fields[i] then
          cfg.states[i] = collect.new_state(plan, cfg.fingerprints[i], true)
        end
      end
    end
  end
end

--- ELX_ENTRY_PROCESSES, with a struct elx_process_sync *.
function M.processes(call)
  if not state.processes then
    state.processes = processes.new(state.target_configs, forget_process)
  end
  return state.processes:sync(call)
end

local ENTRIES = {
  [C.ELX_ENTRY_INIT] = { fn = M.init, ctype = ffi.typeof("struct elx_init *") },
  [C.ELX_ENTRY_CONFIGURE] = { fn = M.configure, ctype = ffi.typeof("struct elx_configure *") },
  [C.ELX_ENTRY_RENDER] = { fn = M.render, ctype = ffi.typeof("struct elx_scrape *") },
  [C.ELX_ENTRY_CGROUP_SYNC] = { fn = M.cgroup_sync, ctype = ffi.typeof("struct elx_cgroup_sync *") },
  [C.ELX_ENTRY_SPANS] = { fn = M.spans, ctype = ffi.typeof("struct elx_span_call *") },
  [C.ELX_ENTRY_PROCESSES] = { fn = M.processes, ctype = ffi.typeof("struct elx_process_sync *") },
  [C.ELX_ENTRY_WEB_CONFIG] = { fn = web_config.entry, ctype = ffi.typeof("struct elx_web_config *") },
}

-- Kept until the next call, so that elx_call.error may point into it.
local last_error

--- What the core runs for every call: the entry and its argument are in
-- elx_call; a failure's reason goes back in elx_call.error.
function M.dispatch()
  local call = C.elx_call
  local entry = ENTRIES[call.entry]
  local ok, err
  if entry then
    ok, err = entry.fn(ffi.cast(entry.ctype, call.arg))
  else
    err = "no such entry: " .. tostring(call.entry)
  end
  if not ok then
    last_error = tostring(err)
    call.error = last_error
  end
end

return M
