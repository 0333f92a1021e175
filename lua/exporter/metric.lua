-- Binds a config's metrics to the maps of its BPF object: checks that each
-- map exists, holds u64 values and has the key the labels describe, and
-- builds each metric's plan: what to read, the key layout, the decoders and
-- the bounds of its caches, plus what its kind (kinds.lua) adds. A plan never
-- changes after bind; what changes from scrape to scrape is in the metric's
-- state (collect.new_state).
local ffi = require("ffi")
local cardinality = require("exporter.cardinality")
local kinds = require("exporter.kinds")
local labels = require("exporter.labels")

local M = {}

-- BPF map types (uapi/linux/bpf.h) that hold key -> u64 metric values.
local MAP_TYPES = {
  [1] = "hash", [2] = "array", [5] = "percpu_hash", [6] = "percpu_array",
  [9] = "lru_hash", [10] = "lru_percpu_hash", [11] = "lpm_trie",
}
-- Maps whose records the core counts as they arrive (event counters).
local EVENT_MAPS = { [4] = "perf_event_array", [27] = "ringbuf" }
local CPU_LABEL_SIZE = 2

-- What every plan has. plan.read is what the core reads for it: the map,
-- and for an event counter the label bytes of its records and its flush
-- interval (the kind sets those).
local function new_plan(cfg, m)
  return {
    config = cfg.name,
    kind = m.kind,
    name = m.name,
    family = "ebpf_exporter_" .. m.name,
    help = m.help,
    labels = m.labels,
    read = { map = m.name, record_size = 0, flush_ms = 0 },
  }
end

-- Labels read their bytes one after the other, padding skipped.
local function lay_out(list, from, to)
  local offset = 0
  for i = from, to do
    list[i].offset = offset
    offset = offset + list[i].size + list[i].padding
  end
  return offset
end

-- A perf event array or ring buffer: each record's first bytes are its
-- labels, counted by the core, if the kind counts records at all.
local function bind_event_map(cfg, kind, m, info, opts, fail)
  if not kind.bind_events then
    fail(m.path .. ".name", ("map %q is a %s: only counters can count its records")
      :format(m.name, EVENT_MAPS[info.type]))
    return nil
  end
  local plan = new_plan(cfg, m)
  plan.key_size = lay_out(m.labels, 1, #m.labels)
  plan.key_labels = #m.labels
  plan.event = EVENT_MAPS[info.type]
  plan.percpu, plan.split_cpu = false, false
  plan.cache_size = math.max(1, opts.cache_size)
  plan.skip_cache_size = opts.skip_cache_size or 0
  plan.label_order = labels.sorted(m.labels)
  plan.max_series = cardinality.limit(m, opts)
  if kind.bind then
    kind.bind(plan, m, info)
  end
  kind.bind_events(plan, m)
  return plan
end

local function sum_sizes(list, from, to)
  local total = 0
  for i = from, to do
    total = total + (list[i].size or 0) + (list[i].padding or 0)
  end
  return total
end

-- The map's type, value (the kind's check_value, or u64) and key against the
-- labels. Returns whether a trailing cpu label splits the series by CPU, or
-- nil after fail().
local function check_shape(kind, m, info, fail)
  if not MAP_TYPES[info.type] then
    fail(m.path .. ".name", ("map %q has type %d, which does not hold metric values "
      .. "(hash, array, their per-CPU and LRU forms, or lpm_trie)"):format(m.name, info.type))
    return nil
  end
  if kind.check_value then
    if not kind.check_value(m, info, fail) then
      return nil
    end
  elseif info.value_size ~= 8 then
    fail(m.path .. ".name", ("map %q has %d-byte values; counters and histograms need u64 (8 bytes)")
      :format(m.name, info.value_size))
    return nil
  end
  local list, n = m.labels, #m.labels
  local split_cpu = info.percpu and n > 0 and list[n].name == "cpu"
  if split_cpu and list[n].size ~= CPU_LABEL_SIZE then
    fail(("%s.labels[%d].size"):format(m.path, n - 1),
      "the cpu label of a per-CPU map takes the 2-byte CPU index: size must be 2")
    return nil
  end
  -- No labels at all: every key adds to one unlabelled series. A lone cpu
  -- label on a per-CPU map: one series per CPU, whatever the key.
  local key_labels = split_cpu and n - 1 or n
  local used = sum_sizes(list, 1, key_labels)
  if key_labels > 0 and used ~= info.key_size then
    fail(m.path .. ".labels", ("the labels take %d bytes (size + padding)%s, but map %q has %d-byte keys")
      :format(used, split_cpu and " before the cpu label" or "", m.name, info.key_size))
    return nil
  end
  return split_cpu
end

-- A map read whole at each scrape (hash, array, ...).
local function bind_metric_map(cfg, kind, m, info, opts, fail, lenient)
  if kind.check_map and not kind.check_map(m, info, fail, lenient) then
    return nil
  end
  local split_cpu = check_shape(kind, m, info, fail)
  if split_cpu == nil then
    return nil
  end
  local plan = new_plan(cfg, m)
  plan.key_size = info.key_size
  plan.key_labels = split_cpu and #m.labels - 1 or #m.labels
  plan.max_entries = info.max_entries
  plan.percpu, plan.split_cpu = info.percpu, split_cpu
  plan.cache_size = math.max(1, math.min(opts.cache_size, info.max_entries))
  plan.skip_cache_size = math.min(opts.skip_cache_size or 0, info.max_entries)
  lay_out(m.labels, 1, plan.key_labels)
  if split_cpu then
    m.labels[#m.labels].offset = info.key_size -- the CPU index comes after the key bytes
  end
  plan.label_order = labels.sorted(m.labels)
  plan.max_series = cardinality.limit(m, opts)
  if kind.bind then
    kind.bind(plan, m, info)
  end
  return plan
end

-- Checks one metric against its map; returns the plan or adds errors.
local function bind_metric(cfg, m, info, opts, fail, lenient)
  if not info then
    fail(m.path .. ".name", ("no map %q in %s.bpf.o"):format(m.name, cfg.name))
    return nil
  end
  local kind = assert(kinds.get(m.kind), m.kind)
  if EVENT_MAPS[info.type] then
    return bind_event_map(cfg, kind, m, info, opts, fail)
  end
  return bind_metric_map(cfg, kind, m, info, opts, fail, lenient)
end

-- Map types and sizes a cgroup_id_map needs: a hash of u64 cgroup ids, or
-- cgroup storage, keyed by a cgroup fd.
local CGROUP_ID_MAPS = {
  hash = { types = { [1] = true, [9] = true }, key_size = 8, what = "a hash (or LRU hash) with u64 keys" },
  cgrp_storage = { types = { [32] = true }, key_size = 4, what = "a BPF_MAP_TYPE_CGRP_STORAGE" },
}

local function bind_cgroup_id_map(cfg, infos, fail)
  local m = cfg.cgroup_id_map
  if not m or not m.name then
    return
  end
  local want = CGROUP_ID_MAPS[m.type]
  local info = infos[m.name]
  if not info then
    fail("cgroup_id_map.name", ("no map %q in %s.bpf.o"):format(m.name, cfg.name))
  elseif want and (not want.types[info.type] or info.key_size ~= want.key_size or info.value_size ~= 8) then
    fail("cgroup_id_map.name", ("map %q must be %s and u64 values for type %s (it has type %d, %d-byte keys, "
      .. "%d-byte values)"):format(m.name, want.what, m.type, info.type, info.key_size, info.value_size))
  end
end

-- The core says which map types keep one value per CPU (elx_map_info's
-- percpu: 1 or 0); a map info may give it as a number or a boolean.
local function normalised(info)
  local copy = {}
  for k, v in pairs(info) do
    copy[k] = v
  end
  copy.percpu = info.percpu == 1 or info.percpu == true
  return copy
end

--- The maps of a configure call (`maps`, a struct elx_map_info * of `n`) as
-- bind takes them, or nil when the object could not be opened (NULL).
-- value_type and value_fields are the value's BTF (kind_values checks
-- struct fields against them).
function M.infos(maps, n)
  if maps == nil then
    return nil
  end
  local infos = {}
  for i = 0, n - 1 do
    local m = maps[i]
    local info = {
      name = ffi.string(m.name), type = m.type, key_size = m.key_size,
      value_size = m.value_size, max_entries = m.max_entries, percpu = m.percpu == 1,
      value_type = m.value_type ~= nil and ffi.string(m.value_type) or nil, value_fields = {},
    }
    for j = 0, m.nvalue_fields - 1 do
      local f = m.value_fields[j]
      info.value_fields[j + 1] = { name = ffi.string(f.name), offset = f.offset, size = f.size }
    end
    infos[i + 1] = info
  end
  return infos
end

--- Binds every metric of `cfg` to the maps in `infos` (a list of
-- {name, type, key_size, value_size, max_entries, percpu[, value_type,
-- value_fields]}: M.infos). Returns the list
-- of plans in config order, or nil and the list of error lines.
function M.bind(cfg, infos, opts)
  local by_name = {}
  for _, info in ipairs(infos) do
    by_name[info.name] = normalised(info)
  end
  local errors = {}
  local function fail(path, msg)
    errors[#errors + 1] = cfg.file .. ": " .. path .. ": " .. msg
  end
  -- What ebpf_exporter ignores: an error with --config.strict, else a warning.
  local function lenient(path, msg)
    if opts.strict then
      return fail(path, msg)
    end
    cfg.warnings = cfg.warnings or {}
    local warning = cfg.file .. ": " .. path .. ": " .. msg .. " (ignored; --config.strict refuses it)"
    cfg.warnings[#cfg.warnings + 1] = warning
  end
  local plans = {}
  for _, m in ipairs(cfg.metrics) do
    plans[#plans + 1] = bind_metric(cfg, m, by_name[m.name], opts, fail, lenient)
  end
  bind_cgroup_id_map(cfg, by_name, fail)
  if #errors > 0 then
    return nil, errors
  end
  return plans
end

return M
