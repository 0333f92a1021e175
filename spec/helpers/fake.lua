-- Fake core data for unit specs: struct elx_batch and struct elx_scrape built
-- from Lua values, so the Lua half runs without root and without a kernel.
local ffi = require("ffi")
require("exporter.abi")

local M = {}

-- Raw host-order bytes of unsigned integers.
function M.u8(n) return ffi.string(ffi.new("uint8_t[1]", n), 1) end
function M.u16(n) return ffi.string(ffi.new("uint16_t[1]", n), 2) end
function M.u32(n) return ffi.string(ffi.new("uint32_t[1]", n), 4) end
function M.u64(n) return ffi.string(ffi.new("uint64_t[1]", n), 8) end

-- A batch: rows = { { key = <bytes>, value = n } or { key = <bytes>, cpus = { n, ... } } }.
-- The returned cdata keeps its buffers alive through `anchors`.
function M.batch(spec)
  local rows = spec.rows
  local ncpus = spec.ncpus or 1
  local key_size = spec.key_size or (rows[1] and #rows[1].key) or 4
  local count = #rows
  local keys = ffi.new("uint8_t[?]", math.max(1, count * key_size))
  local values = ffi.new("uint64_t[?]", math.max(1, count * ncpus))
  for i, row in ipairs(rows) do
    assert(#row.key == key_size, "row key of the wrong size")
    ffi.copy(keys + (i - 1) * key_size, row.key, key_size)
    local cpus = row.cpus or { row.value }
    for c = 1, ncpus do
      values[(i - 1) * ncpus + c - 1] = cpus[c] or 0
    end
  end
  local b = ffi.new("struct elx_batch")
  local name = ffi.new("char[?]", #(spec.name or "m") + 1, spec.name or "m")
  b.name = name
  b.map_type = spec.map_type or 1
  b.key_size = key_size
  b.value_stride = 8
  b.ncpus = ncpus
  b.count = count
  b.error = spec.error or 0
  b.keys = keys
  b.values = ffi.cast("const uint8_t *", values)
  M.anchors = M.anchors or {}
  M.anchors[#M.anchors + 1] = { keys, values, name }
  return b
end

-- A struct elx_scrape: configs = { { name = , batches = {batch...}, programs = {{name, tag, id, attached, run_time_ns, run_count}} } }
function M.scrape(spec)
  local anchors = {}
  local function cstr(s)
    local p = ffi.new("char[?]", #s + 1, s)
    anchors[#anchors + 1] = p
    return p
  end
  local n = #spec.configs
  local configs = ffi.new("struct elx_config_scrape[?]", math.max(1, n))
  anchors[#anchors + 1] = configs
  for i, c in ipairs(spec.configs) do
    local cs = configs[i - 1]
    cs.name = cstr(c.name)
    local batches = ffi.new("struct elx_batch[?]", math.max(1, #c.batches))
    anchors[#anchors + 1] = batches
    for j, b in ipairs(c.batches) do
      batches[j - 1] = b
    end
    cs.batches, cs.nbatches = batches, #c.batches
    local progs = c.programs or {}
    local parr = ffi.new("struct elx_program[?]", math.max(1, #progs))
    anchors[#anchors + 1] = parr
    for j, p in ipairs(progs) do
      local cp = parr[j - 1]
      cp.name, cp.tag, cp.id, cp.attached = cstr(p.name), cstr(p.tag), p.id, p.attached or 1
      cp.run_time_ns, cp.run_count = p.run_time_ns or 0, p.run_count or 0
    end
    cs.programs, cs.nprograms = parr, #progs
    cs.read_ns = c.read_ns or 0
  end
  local s = ffi.new("struct elx_scrape")
  s.abi_version = require("exporter.abi").VERSION
  s.nconfigs = n
  s.configs = configs
  s.stats_enabled = spec.stats_enabled and 1 or 0
  s.reload_successful = spec.reload_successful or 1
  s.reload_success_time_ms = spec.reload_success_time_ms or 0
  s.reloads_success = spec.reloads_success or 0
  s.reloads_failure = spec.reloads_failure or 0
  anchors[#anchors + 1] = s
  M.anchors = M.anchors or {}
  M.anchors[#M.anchors + 1] = anchors
  return s
end

-- The map types the core reads per CPU (map_reader.c's is_percpu):
-- PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE.
local PERCPU_TYPES = { [5] = true, [6] = true, [10] = true, [15] = true }
local HAS_PERCPU = ffi.offsetof("struct elx_map_info", "percpu") ~= nil

-- Map infos as the core passes them to configure(); percpu follows the type
-- unless given.
function M.map_infos(list)
  local arr = ffi.new("struct elx_map_info[?]", math.max(1, #list))
  local names = {}
  for i, m in ipairs(list) do
    names[i] = ffi.new("char[?]", #m.name + 1, m.name)
    arr[i - 1].name = names[i]
    arr[i - 1].type = m.type or 1
    arr[i - 1].key_size = m.key_size
    arr[i - 1].value_size = m.value_size or 8
    arr[i - 1].max_entries = m.max_entries or 1024
    if HAS_PERCPU then
      local percpu = m.percpu
      if percpu == nil then
        percpu = PERCPU_TYPES[arr[i - 1].type] or false
      end
      arr[i - 1].percpu = percpu and 1 or 0
    end
  end
  M.anchors = M.anchors or {}
  M.anchors[#M.anchors + 1] = { arr, names }
  return arr, #list
end

return M
