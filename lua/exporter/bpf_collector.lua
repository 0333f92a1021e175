-- --collector.bpf: the kernel's BPF programs, maps and BTF objects as the
-- ebpf_* families, named and labelled as digitalocean-labs/ebpf_exporter
-- does so that its dashboards carry over (links: bpf_links.lua), with
-- more of what the kernel tells (sizes, memlock, load time, entries);
-- and the collector's own families: its errors and durations, and what
-- the exporter's own objects cost the kernel.
local bit = require("bit")
local ffi = require("ffi")
local clear = require("table.clear")
local exposition = require("exporter.exposition")
local family = require("exporter.bpf_family")
local links = require("exporter.bpf_links")
local names = require("exporter.bpf_names")
local numfmt = require("exporter.numfmt")

local M = {}

local esc = exposition.escape_label_value
local format = string.format
local put_lines = exposition.put_lines

local P = {
  info = family.new("ebpf_program_info", "A BPF program loaded in the kernel: its type, name and tag", "gauge"),
  jited = family.new("ebpf_program_jited_bytes", "Size of the program's JIT-compiled machine code", "gauge"),
  load_time = family.new("ebpf_program_load_time_seconds", "When the program was loaded, in Unix time", "gauge"),
  memlock = family.new("ebpf_program_memlock_bytes", "Kernel memory the program holds", "gauge"),
  owner = family.new("ebpf_program_owner_info",
    "A process holding the program through an fd on it or on one of its links", "gauge"),
  recursion_misses = family.new("ebpf_program_recursion_misses_total",
    "Runs the kernel skipped because the program was running already on that CPU", "counter"),
  run_count = family.new("ebpf_program_run_count", "Runs of the program while the kernel counted them",
    "counter"),
  run_duration = family.new("ebpf_program_run_duration_nanoseconds",
    "Time the program ran while the kernel counted it, in nanoseconds", "counter"),
  translated = family.new("ebpf_program_translated_bytes", "Size of the program's instructions after the verifier",
    "gauge"),
  verified = family.new("ebpf_program_verified_instructions", "Instructions the verifier went through",
    "gauge"),
}

local MAP = {
  entries = family.new("ebpf_map_entries", "Entries the map holds", "gauge"),
  fill = family.new("ebpf_map_fill_ratio", "Entries of a hash map over its max_entries", "gauge"),
  info = family.new("ebpf_map_info", "A BPF map in the kernel: its type, name, key and value sizes and flags",
    "gauge"),
  max_entries = family.new("ebpf_map_max_entries", "The map's max_entries", "gauge"),
  memlock = family.new("ebpf_map_memlock_bytes", "Kernel memory the map holds", "gauge"),
}

local BTF = {
  info = family.new("ebpf_btf_info", "A BTF object in the kernel: its name, and whether it is the kernel's",
    "gauge"),
  size = family.new("ebpf_btf_size_bytes", "Size of the BTF object's type data", "gauge"),
}

local function flush(out, set)
  local sorted = {}
  for _, f in pairs(set) do
    sorted[#sorted + 1] = f
  end
  table.sort(sorted, function(a, b) return a.name < b.name end)
  for _, f in ipairs(sorted) do
    f:flush(out)
  end
end

-- Label texts by id: what a program or map was loaded with never changes,
-- so each is formatted once; ids gone from the kernel leave the cache.
local caches = { programs = { {}, {} }, maps = { {}, {} }, btfs = { {}, {} } }

local function cached(cache, id, type_, make, obj)
  local c = cache[1][id]
  if c == nil or c.type ~= type_ then
    c = make(obj, id)
    c.type = type_
  end
  cache[2][id] = c
  return c
end

local function next_scrape(cache)
  clear(cache[1])
  cache[1], cache[2] = cache[2], cache[1]
end

local function program_labels(p, id)
  local t = p.tag
  local tag = format("%02x%02x%02x%02x%02x%02x%02x%02x", t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7])
  return {
    id = format('{prog_id="%d"}', id),
    -- digitalocean-labs/ebpf_exporter labels this family `id`, not `prog_id`.
    run = format('{id="%d"}', id),
    info = format('{prog_id="%d",prog_name="%s",prog_type="%s",tag="%s"}', id, esc(ffi.string(p.name)),
      names.prog_type(p.type), tag),
  }
end

local function write_programs(out, b, stats_enabled)
  local boot_s = tonumber(b.boot_time_ns) / 1e9
  for i = 0, b.nprograms - 1 do
    local p = b.programs[i]
    local c = cached(caches.programs, p.id, p.type, program_labels, p)
    P.info:text(c.info, "1")
    if stats_enabled then
      P.run_count:u64(c.id, p.run_count)
      P.run_duration:u64(c.run, p.run_time_ns)
    end
    P.verified:u64(c.id, p.verified_insns)
    P.jited:u64(c.id, p.jited_bytes)
    P.translated:u64(c.id, p.xlated_bytes)
    P.memlock:u64(c.id, p.memlock)
    P.recursion_misses:u64(c.id, p.recursion_misses)
    P.load_time:text(c.id, numfmt.decimal(boot_s + tonumber(p.load_time_ns) / 1e9, 6))
  end
  next_scrape(caches.programs)
  for i = 0, b.nowners - 1 do
    local o = b.owners[i]
    P.owner:text(format('{comm="%s",pid="%d",prog_id="%d"}', esc(ffi.string(o.comm)), o.pid, o.prog_id), "1")
  end
  flush(out, P)
end

local function map_labels(m, id)
  return {
    id = format('{map_id="%d"}', id),
    info = format('{flags="%d",key_size="%d",map_id="%d",map_name="%s",map_type="%s",value_size="%d"}', m.flags,
      m.key_size, id, esc(ffi.string(m.name)), names.map_type(m.type), m.value_size),
  }
end

local function write_maps(out, b)
  for i = 0, b.nmaps - 1 do
    local m = b.maps[i]
    local c = cached(caches.maps, m.id, m.type, map_labels, m)
    MAP.info:text(c.info, "1")
    MAP.max_entries:u64(c.id, m.max_entries)
    MAP.memlock:u64(c.id, m.memlock)
    local entries = tonumber(m.entries)
    if entries >= 0 then
      MAP.entries:u64(c.id, entries)
      if names.HASH_MAP_TYPES[m.type] and m.max_entries > 0 then
        MAP.fill:text(c.id, numfmt.value(entries / m.max_entries))
      end
    end
  end
  next_scrape(caches.maps)
  flush(out, MAP)
end

local function btf_labels(t, id)
  return {
    id = format('{btf_id="%d"}', id),
    info = format('{btf_id="%d",btf_name="%s",is_kernel="%s"}', id, esc(ffi.string(t.name)),
      t.kernel ~= 0 and "true" or "false"),
  }
end

local function write_btf(out, b)
  for i = 0, b.nbtfs - 1 do
    local t = b.btfs[i]
    local c = cached(caches.btfs, t.id, t.kernel, btf_labels, t)
    BTF.info:text(c.info, "1")
    BTF.size:u64(c.id, t.size)
  end
  next_scrape(caches.btfs)
  flush(out, BTF)
end

-- The parts, by enum elx_bpf_part, as the collector label names them.
local PARTS = { [0] = "programs", "maps", "links", "btf" }

-- The collector's own families: per part read, its errors since start and
-- its duration at this scrape; whether it sees every process's objects.
local function write_collector(out, b)
  local errors, durations = {}, {}
  for part = 0, 3 do
    if bit.band(b.parts, bit.lshift(1, part)) ~= 0 then
      local label = format('{collector="%s"} ', PARTS[part])
      errors[#errors + 1] = label .. numfmt.u64(b.errors[part])
      durations[#durations + 1] = label .. numfmt.decimal(tonumber(b.duration_ns[part]) / 1e9)
    end
  end
  put_lines(out, "ebpf_exporter_bpf_collector_all_objects_visible",
    "1 when the kernel lists every process's BPF objects to the exporter (CAP_SYS_ADMIN), 0 when only its own",
    "gauge", { " " .. (b.visible_only ~= 0 and 0 or 1) })
  put_lines(out, "ebpf_exporter_bpf_collector_duration_seconds",
    "How long reading each part of the BPF subsystem took at this scrape", "gauge", durations)
  put_lines(out, "ebpf_exporter_bpf_collector_errors_total",
    "Objects of each part of the BPF subsystem that could not be read, and other failures of the collector",
    "counter", errors)
end

-- What the exporter's own maps and programs cost the kernel.
local function write_own(out, own, stats_enabled)
  put_lines(out, "ebpf_exporter_own_memlock_bytes", "Kernel memory held by the exporter's own BPF maps and programs",
    "gauge", { '{object="maps"} ' .. numfmt.u64(own.map_memlock),
      '{object="programs"} ' .. numfmt.u64(own.program_memlock) })
  put_lines(out, "ebpf_exporter_own_objects", "The exporter's own BPF maps and programs", "gauge",
    { '{object="maps"} ' .. own.nmaps, '{object="programs"} ' .. own.nprograms })
  if stats_enabled then
    put_lines(out, "ebpf_exporter_own_program_run_count_total",
      "Runs of the exporter's own BPF programs while the kernel counted them", "counter",
      { " " .. numfmt.u64(own.run_count) })
    put_lines(out, "ebpf_exporter_own_program_run_time_seconds_total",
      "Time the exporter's own BPF programs ran while the kernel counted it", "counter",
      { " " .. numfmt.decimal(tonumber(own.run_time_ns) / 1e9) })
  end
end

--- Writes the families of scrape.bpf (a struct elx_bpf_scrape *, NULL
-- without --collector.bpf).
function M.write(out, scrape)
  local b = scrape.bpf
  if b == nil then
    return
  end
  local stats_enabled = scrape.stats_enabled ~= 0
  write_btf(out, b)
  write_collector(out, b)
  write_own(out, b.own, stats_enabled)
  links.write(out, b)
  write_maps(out, b)
  write_programs(out, b, stats_enabled)
end

return M
