-- Binds a config's metrics to the maps of its BPF object: checks that each
-- map exists, holds u64 values and has the key the labels describe, and
-- builds each metric's plan (key layout, decoders, buckets, label cache).
local histogram = require("exporter.histogram")

local M = {}

-- BPF map types (uapi/linux/bpf.h) that hold key -> u64 metric values.
local MAP_TYPES = {
  [1] = "hash", [2] = "array", [5] = "percpu_hash", [6] = "percpu_array",
  [9] = "lru_hash", [10] = "lru_percpu_hash", [11] = "lpm_trie",
}
local PERCPU = { [5] = true, [6] = true, [10] = true }
M.PERCPU = PERCPU
-- Maps whose records the core counts as they arrive (event counters).
local EVENT_MAPS = { [4] = "perf_event_array", [27] = "ringbuf" }
local DEFAULT_FLUSH_INTERVAL = 3600 -- seconds, as ebpf_exporter

-- A counter fed by a perf event array or a ring buffer: each record's first
-- bytes are its labels, and the core counts records by them until each flush.
local function bind_event_counter(cfg, m, info, opts, fail)
  if m.kind ~= "counter" then
    fail(m.path .. ".name", ("map %q is a %s: only counters can count its records")
      :format(m.name, EVENT_MAPS[info.type]))
    return nil
  end
  local size, offset = 0, 0
  for _, l in ipairs(m.labels) do
    l.offset = offset
    offset = offset + l.size + l.padding
    size = offset
  end
  return {
    config = cfg.name,
    kind = "counter",
    name = m.name,
    family = "ebpf_exporter_" .. m.name,
    help = m.help,
    labels = m.labels,
    key_size = size,
    event = EVENT_MAPS[info.type],
    flush_interval = m.flush_interval or DEFAULT_FLUSH_INTERVAL,
    percpu = false,
    split_cpu = false,
    cache_size = math.max(1, opts.cache_size),
    skip_cache_size = opts.skip_cache_size or 0,
  }
end

local CPU_LABEL_SIZE = 2

local function sum_sizes(labels, from, to)
  local total = 0
  for i = from, to do
    total = total + (labels[i].size or 0) + (labels[i].padding or 0)
  end
  return total
end

-- Checks one metric against its map; returns the plan or adds errors.
local function bind_metric(cfg, m, info, opts, fail)
  if not info then
    fail(m.path .. ".name", ("no map %q in %s.bpf.o"):format(m.name, cfg.name))
    return nil
  end
  if EVENT_MAPS[info.type] then
    return bind_event_counter(cfg, m, info, opts, fail)
  end
  if m.perf_event_array then
    fail(m.path .. ".perf_event_array", ("map %q is not a perf event array or ring buffer (type %d)")
      :format(m.name, info.type))
    return nil
  end
  if m.flush_interval then
    fail(m.path .. ".flush_interval", "only applies to counters of perf event arrays and ring buffers")
    return nil
  end
  if not MAP_TYPES[info.type] then
    fail(m.path .. ".name", ("map %q has type %d, which does not hold metric values "
      .. "(hash, array, their per-CPU and LRU forms, or lpm_trie)"):format(m.name, info.type))
    return nil
  end
  if info.value_size ~= 8 then
    fail(m.path .. ".name", ("map %q has %d-byte values; counters and histograms need u64 (8 bytes)")
      :format(m.name, info.value_size))
    return nil
  end
  local labels = m.labels
  local n = #labels
  local percpu = PERCPU[info.type] or false
  local split_cpu = percpu and n > 0 and labels[n].name == "cpu"
  local key_labels = split_cpu and n - 1 or n
  if split_cpu and labels[n].size ~= CPU_LABEL_SIZE then
    fail(("%s.labels[%d].size"):format(m.path, n - 1),
      "the cpu label of a per-CPU map takes the 2-byte CPU index: size must be 2")
    return nil
  end
  -- No labels at all: every key adds to one unlabelled series. A lone cpu
  -- label on a per-CPU map: one series per CPU, whatever the key.
  if key_labels > 0 then
    local used = sum_sizes(labels, 1, key_labels)
    if used ~= info.key_size then
      fail(m.path .. ".labels", ("the labels take %d bytes (size + padding)%s, but map %q has %d-byte keys")
        :format(used, split_cpu and " before the cpu label" or "", m.name, info.key_size))
      return nil
    end
  end
  local plan = {
    config = cfg.name,
    kind = m.kind,
    name = m.name,
    family = "ebpf_exporter_" .. m.name,
    help = m.help,
    labels = labels,
    key_size = info.key_size,
    max_entries = info.max_entries,
    percpu = percpu,
    split_cpu = split_cpu,
    cache_size = math.max(1, math.min(opts.cache_size, info.max_entries)),
    skip_cache_size = math.min(opts.skip_cache_size or 0, info.max_entries),
  }
  local offset = 0
  for i = 1, key_labels do
    labels[i].offset = offset
    offset = offset + labels[i].size + labels[i].padding
  end
  if split_cpu then
    labels[n].offset = info.key_size -- the CPU index comes after the key bytes
  end
  if m.kind == "histogram" then
    -- The bucket is the last label; on a per-CPU map split by CPU it is the
    -- last one before `cpu` (ebpf_exporter cannot split histograms by CPU).
    plan.bucket_label = key_labels
    plan.buckets = histogram.buckets(m)
  end
  return plan
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

--- Binds every metric of `cfg` to the maps in `infos` (a list of
-- {name, type, key_size, value_size, max_entries}). Returns the list of plans
-- in config order, or nil and the list of error lines.
function M.bind(cfg, infos, opts)
  local by_name = {}
  for _, info in ipairs(infos) do
    by_name[info.name] = info
  end
  local errors = {}
  local function fail(path, msg)
    errors[#errors + 1] = cfg.file .. ": " .. path .. ": " .. msg
  end
  local plans = {}
  for _, m in ipairs(cfg.metrics) do
    plans[#plans + 1] = bind_metric(cfg, m, by_name[m.name], opts, fail)
  end
  bind_cgroup_id_map(cfg, by_name, fail)
  if #errors > 0 then
    return nil, errors
  end
  return plans
end

return M
