-- The entry points the C core calls in a Lua state: init once, configure
-- each config (parse, validate, bind to its maps), then scrape.
local ffi = require("ffi")
local buffer = require("string.buffer")
local abi = require("exporter.abi")
local builtin = require("exporter.builtin")
local cgroup_index = require("exporter.cgroup_index")
local cgroup_sync = require("exporter.cgroup_sync")
local collect = require("exporter.collect")
local config = require("exporter.config")
local debug_maps = require("exporter.debug_maps")
local decoders = require("exporter.decoders")
local metric = require("exporter.metric")

local now = require("exporter.decoder_api").monotonic

local M = {}

local LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = 0, 1, 2, 3

local function logger(level)
  if abi.core_available() then
    return function(msg) ffi.C.elx_log(level, msg) end
  end
  return function(msg) io.stderr:write(msg, "\n") end
end
M.log = { debug = logger(LOG_DEBUG), info = logger(LOG_INFO), warn = logger(LOG_WARN), error = logger(LOG_ERROR) }

local state

--- opts: { config_dir = <dir>, decoder_dirs = {<dir>...}, cache_size = <n>, skip_cache_size = <n> }
-- decoder_dirs come after the built-in decoders and <config_dir>/decoders.
function M.init(opts)
  local ok, err = abi.check()
  if not ok then
    return nil, err
  end
  local dirs = { decoders.builtin_dir() }
  local user_dir = opts.config_dir .. "/decoders"
  local d = io.open(user_dir .. "/.")
  if d then
    d:close()
    dirs[#dirs + 1] = user_dir
  end
  for _, dir in ipairs(opts.decoder_dirs or {}) do
    dirs[#dirs + 1] = dir
  end
  local registry, rerr = decoders.load(dirs, M.log.info)
  if not registry then
    return nil, rerr
  end
  state = {
    opts = {
      config_dir = opts.config_dir,
      cache_size = opts.cache_size or 1048576,
      skip_cache_size = opts.skip_cache_size or 65536,
    },
    registry = registry,
    configs = {},
    family_owner = {},
    cgroup_id_maps = {},
    buf = buffer.new(65536),
  }
  return true
end

-- TEMPORARY (issue 8, i8-lua branch): the map types the core reads per CPU
-- (map_reader.c's is_percpu), until the core passes elx_map_info.percpu
-- itself; then this table goes and map_infos copies m.percpu.
local CORE_PERCPU_TYPES = { [5] = 1, [6] = 1, [10] = 1, [15] = 1 }

local function map_infos(ptr, n)
  if ptr == nil then
    return nil
  end
  local infos = {}
  local arr = ffi.cast("const struct elx_map_info *", ptr)
  for i = 0, n - 1 do
    local m = arr[i]
    infos[i + 1] = {
      name = ffi.string(m.name), type = m.type, key_size = m.key_size,
      value_size = m.value_size, max_entries = m.max_entries, percpu = CORE_PERCPU_TYPES[m.type] or 0,
    }
  end
  return infos
end

--- Parses <config_dir>/<name>.yaml and binds it to the maps of its opened
-- object (`infos`, an array of struct elx_map_info, or nil when the object
-- could not be opened: then only the YAML is checked).
-- Returns { maps = { {name =, record_size =, flush_ms =}... }, kaddrs = {...} }:
-- the maps to read at each scrape, in order; record_size is 0 for maps read
-- whole, else the label bytes of the records an event counter counts.
-- Or nil and every error, one per line.
function M.configure(name, infos_ptr, ninfos)
  local cfg, errors = config.load(state.opts.config_dir, name, { config = name, registry = state.registry })
  if not cfg then
    return nil, table.concat(errors, "\n")
  end
  local infos = map_infos(infos_ptr, ninfos)
  if not infos then
    return { maps = {}, kaddrs = cfg.kaddrs }
  end
  local plans
  plans, errors = metric.bind(cfg, infos, state.opts)
  if not plans then
    return nil, table.concat(errors, "\n")
  end
  errors = {}
  for _, plan in ipairs(plans) do
    local owner = state.family_owner[plan.family]
    if owner then
      errors[#errors + 1] = ("%s: metric %s is also defined by config %s"):format(cfg.file, plan.name, owner)
    end
  end
  if #errors > 0 then
    return nil, table.concat(errors, "\n")
  end
  local maps, states, read_errors, lost = {}, {}, {}, {}
  for i, plan in ipairs(plans) do
    state.family_owner[plan.family] = name
    maps[i] = { name = plan.read.map, record_size = plan.read.record_size, flush_ms = plan.read.flush_ms }
    states[i] = collect.new_state(plan)
    read_errors[plan.name] = 0
    if plan.event then
      lost[plan.name] = 0
    end
  end
  if cfg.cgroup_id_map then
    state.cgroup_id_maps[#state.cgroup_id_maps + 1] = {
      config = name, map = cfg.cgroup_id_map.name, type = cfg.cgroup_id_map.type, match = cfg.cgroup_id_map.match,
    }
  end
  state.configs[#state.configs + 1] = {
    name = name,
    plans = plans,
    states = states,
    stats = {
      decoder_errors = 0, read_errors = read_errors, lost = lost, duration = 0,
      logged = {}, nlogged = 0, log = M.log.warn,
    },
  }
  return { maps = maps, kaddrs = cfg.kaddrs }
end

--- The counters kept in Lua, as text for the next Lua state after a reload:
-- "decoder_errors\t<config>\t<n>" and "read_errors\t<config>\t<map>\t<n>" lines.
function M.export_stats()
  local lines = {}
  for _, cfg in ipairs(state.configs) do
    lines[#lines + 1] = ("decoder_errors\t%s\t%d"):format(cfg.name, cfg.stats.decoder_errors)
    for map, n in pairs(cfg.stats.read_errors) do
      lines[#lines + 1] = ("read_errors\t%s\t%s\t%d"):format(cfg.name, map, n)
    end
  end
  return table.concat(lines, "\n")
end

--- Adds what export_stats() of the previous state gave, for the configs and
-- maps this state still has.
function M.import_stats(text)
  local by_name = {}
  for _, cfg in ipairs(state.configs) do
    by_name[cfg.name] = cfg
  end
  for line in text:gmatch("[^\n]+") do
    local kind, name, rest = line:match("^(%w+)\t([^\t]+)\t(.*)$")
    local cfg = by_name[name]
    if cfg and kind == "decoder_errors" then
      cfg.stats.decoder_errors = cfg.stats.decoder_errors + (tonumber(rest) or 0)
    elseif cfg and kind == "read_errors" then
      local map, n = rest:match("^([^\t]+)\t(%d+)$")
      if map and cfg.stats.read_errors[map] then
        cfg.stats.read_errors[map] = cfg.stats.read_errors[map] + tonumber(n)
      end
    end
  end
  return ""
end

-- cgroup_id_map: the sync starts with the first call, once every config
-- is configured.
local function cgroup_syncer()
  if not state.cgroup_sync and #state.cgroup_id_maps > 0 then
    local index, err = cgroup_index.shared()
    if not index then
      return nil, "cgroup_id_map: " .. err
    end
    state.cgroup_sync = cgroup_sync.new(state.cgroup_id_maps, index)
  end
  return state.cgroup_sync
end

--- The map updates cgroup_id_maps need now: a list of
-- { config =, map =, type = "hash"|"cgrp_storage", op = "set"|"delete", id = "<decimal>", path = }.
-- At the first call, every matching cgroup. `rescan`: walk for changes first.
function M.cgroup_operations(rescan)
  local sync, err = cgroup_syncer()
  if err then
    return nil, err
  end
  return sync and sync:operations(rescan) or {}
end

--- The fd whose readability means cgroup changes (fanotify), or nil:
-- -1 when no config has a cgroup_id_map, 0 to poll on a timer instead.
function M.cgroup_watch_fd()
  local sync = cgroup_syncer()
  if not sync then
    return -1
  end
  return sync:fd() or 0
end

local scrape_type = ffi.typeof("struct elx_scrape *")

-- If a metric fails half-way (a bug, or memory), the scrape loses that
-- metric's series, not its syntax: the buffer goes back to what it held before.
local function collect_metric(plan, plan_state, batch, buf, stats)
  local before = #buf
  local ok, err = pcall(collect.metric, plan, plan_state, batch, buf, stats)
  if not ok then
    local kept = buf:get(before)
    buf:reset()
    buf:put(kept)
    M.log.error(("config %s, metric %s: %s"):format(plan.config, plan.name, tostring(err)))
  end
end

--- Builds the exposition text of one scrape from the core's struct
-- elx_scrape * into a string.buffer (valid until the next scrape).
function M.render(ptr)
  local scrape = ffi.cast(scrape_type, ptr)
  local buf = state.buf
  buf:reset()
  local by_name = {}
  for i = 0, scrape.nconfigs - 1 do
    by_name[ffi.string(scrape.configs[i].name)] = scrape.configs[i]
  end
  for _, cfg in ipairs(state.configs) do
    local c = by_name[cfg.name]
    if c then
      local started = now()
      for i, plan in ipairs(cfg.plans) do
        local batch = c.batches[i - 1]
        if plan.event then
          cfg.stats.lost[plan.name] = tonumber(batch.lost)
        end
        if batch.error ~= 0 then
          cfg.stats.read_errors[plan.name] = cfg.stats.read_errors[plan.name] + 1
        else
          collect_metric(plan, cfg.states[i], batch, buf, cfg.stats)
        end
      end
      cfg.stats.duration = now() - started + tonumber(c.read_ns) * 1e-9
    end
  end
  builtin.write(buf, scrape, state.configs)
  return buf
end

-- Copies the text straight out of the buffer into the core's body, without
-- a Lua string in between.
local function hand_over(ptr, buf)
  local data, len = buf:ref()
  if ffi.C.elx_scrape_set_body(ffi.cast("struct elx_scrape *", ptr), data, len) ~= 0 then
    return nil, "out of memory for the body"
  end
  return true
end

--- The core's entry for /metrics.
function M.scrape(ptr)
  return hand_over(ptr, M.render(ptr))
end

--- The /maps page (--debug), from one read of every map.
function M.render_maps(ptr)
  local buf = state.buf
  buf:reset()
  debug_maps.write(buf, ffi.cast(scrape_type, ptr), state.configs)
  return buf
end

--- The core's entry for /maps.
function M.maps(ptr)
  return hand_over(ptr, M.render_maps(ptr))
end

return M
