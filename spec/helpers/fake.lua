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
function M.s32(n) return ffi.string(ffi.new("int32_t[1]", n), 4) end
function M.s64(n) return ffi.string(ffi.new("int64_t[1]", n), 8) end

-- A batch: rows = { { key = <bytes>, value = n } or { key = <bytes>, cpus = { n, ... } } }.
-- The returned cdata keeps its buffers alive through `anchors`.
function M.batch(spec)
  local rows = spec.rows
  local ncpus = spec.ncpus or 1
  local key_size = spec.key_size or (rows[1] and #rows[1].key) or 4
  local count = #rows
  local keys = ffi.new("uint8_t[?]", math.max(1, count * key_size))
  -- Values of other sizes (structs, 4-byte gauges): spec.stride bytes a
  -- slot, each row's `bytes` (or `cpu_bytes`, one string per CPU).
  local stride = spec.stride or 8
  local values = ffi.new("uint8_t[?]", math.max(8, count * ncpus * stride))
  for i, row in ipairs(rows) do
    assert(#row.key == key_size, "row key of the wrong size")
    ffi.copy(keys + (i - 1) * key_size, row.key, key_size)
    local cpus = row.cpu_bytes or { row.bytes }
    for c = 1, ncpus do
      local slot = values + ((i - 1) * ncpus + c - 1) * stride
      if spec.stride then
        ffi.copy(slot, cpus[c] or "", math.min(stride, #(cpus[c] or "")))
      else
        ffi.cast("uint64_t *", slot)[0] = (row.cpus or { row.value })[c] or 0
      end
    end
  end
  local b = ffi.new("struct elx_batch")
  local name = ffi.new("char[?]", #(spec.name or "m") + 1, spec.name or "m")
  b.name = name
  b.map_type = spec.map_type or 1
  b.key_size = key_size
  b.value_stride = stride
  b.ncpus = ncpus
  b.count = count
  b.error = spec.error or 0
  b.keys = keys
  b.values = ffi.cast("const uint8_t *", values)
  b.read_errors = spec.read_errors or 0
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
    local counters = c.counters or ffi.new("struct elx_config_counters")
    anchors[#anchors + 1] = counters
    cs.counters = counters
  end
  local s = ffi.new("struct elx_scrape")
  s.abi_version = require("exporter.abi").VERSION
  s.page = spec.page or 0
  s.nconfigs = n
  s.configs = configs
  s.stats_enabled = spec.stats_enabled and 1 or 0
  s.reload_successful = spec.reload_successful or 1
  s.reload_success_time_ms = spec.reload_success_time_ms or 0
  s.reloads_success = spec.reloads_success or 0
  s.reloads_failure = spec.reloads_failure or 0
  s.deadline = spec.deadline or 0
  anchors[#anchors + 1] = s
  M.anchors = M.anchors or {}
  M.anchors[#M.anchors + 1] = anchors
  return s
end

-- BPF map types (uapi/linux/bpf.h) with a value slot per CPU, as the core's
-- elx_map_type_percpu() says.
local PERCPU = { [5] = true, [6] = true, [10] = true, [15] = true }

local function anchor(...)
  M.anchors = M.anchors or {}
  M.anchors[#M.anchors + 1] = { ... }
end

-- Map infos as the core passes them to configure: an array and its length.
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
    local percpu = m.percpu
    if percpu == nil then
      percpu = PERCPU[m.type or 1] or false
    end
    arr[i - 1].percpu = percpu and 1 or 0
  end
  anchor(arr, names)
  return arr, #list
end

-- A struct elx_configure for config `name`; `maps` as map_infos takes them,
-- or nil for an object that could not be opened.
function M.configure(name, maps)
  local call = ffi.new("struct elx_configure")
  local cname = ffi.new("char[?]", #name + 1, name)
  call.name = cname
  if maps then
    local arr, n = M.map_infos(maps)
    call.maps, call.nmaps = arr, n
  end
  anchor(call, cname)
  return call
end

-- The answer a configure call left in `call`: { maps = {{name, record_size,
-- flush_ms}...}, kaddrs = {...} }.
function M.answer(call)
  local out = { maps = {}, kaddrs = {} }
  for i = 0, call.nmetric_maps - 1 do
    local m = call.metric_maps[i]
    out.maps[i + 1] = { name = ffi.string(m.name), record_size = m.record_size, flush_ms = tonumber(m.flush_ms) }
  end
  for i = 0, call.nkaddrs - 1 do
    out.kaddrs[i + 1] = ffi.string(call.kaddrs[i])
  end
  return out
end

-- A struct elx_init: opts = { config_dir, decoder_dirs = {...}, cache_size, skip_cache_size }.
function M.init(opts)
  local init = ffi.new("struct elx_init")
  local strings = {}
  local function cstr(v)
    strings[#strings + 1] = ffi.new("char[?]", #v + 1, v)
    return strings[#strings]
  end
  local dirs = opts.decoder_dirs or {}
  local arr = ffi.new("const char *[?]", #dirs + 1)
  for i, d in ipairs(dirs) do
    arr[i - 1] = cstr(d)
  end
  init.config_dir = cstr(opts.config_dir)
  init.decoder_dirs, init.ndecoder_dirs = arr, #dirs
  init.cache_size = opts.cache_size or 1048576
  init.skip_cache_size = opts.skip_cache_size or 65536
  init.strict = opts.strict and 1 or 0
  anchor(init, arr, strings)
  return init
end

--- A copy of `v` as assert.same compares it: tables copied (cycles kept),
-- functions and cdata shared. A plan's copy at bind time, compared after
-- scrapes, shows that nothing changed it.
function M.copy(v, seen)
  if type(v) ~= "table" then
    return v
  end
  seen = seen or {}
  if seen[v] then
    return seen[v]
  end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do
    c[k] = M.copy(x, seen)
  end
  return c
end

return M
