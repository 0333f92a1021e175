-- The memory of every index of a system file that decoders share, each
-- built from this machine's files as its decoders build it, and which of
-- them the default examples and all the examples load (from the decoders
-- their YAML names).
local lyaml = require("lyaml")
local api = require("exporter.decoder_api")
local common = require("common")

local DEFAULTS = { timers = true, softirqs = true, syscalls = true, biolatency = true }

-- Builds an index with fn(); returns its Lua heap in bytes, what fn says it
-- holds outside the heap, and fn's note.
local function measure(fn)
  api.reset()
  local h0 = common.heap_kib()
  local outside, note = fn()
  return (common.heap_kib() - h0) * 1024, outside or 0, note
end

local function decoder(path, options, ctx)
  return assert(dofile(path).new(options or {}, ctx or {}))
end

local INDEXES = {
  { name = "kernel symbols (kallsyms)", decoders = { "ksym", "kstack" }, build = function()
    decoder("decoders/ksym.lua")(string.rep("\0", 8))
    local st = require("exporter.kallsyms").stats()
    return st.bytes, ("%d symbols, in the core, one per process"):format(st.symbols)
  end },
  { name = "block devices (/proc/partitions)", decoders = { "majorminor" }, build = function()
    decoder("decoders/majorminor.lua")(string.rep("\0", 4))
    return 0, "per Lua state"
  end },
  { name = "cgroup paths", decoders = { "cgroup" }, cgroup_id_map = true, build = function()
    api.state("cgroup").log = function() end
    local index = assert(require("exporter.cgroup_index").shared())
    local n = index:stats().cgroups
    index:close()
    return 0, ("%d cgroups, per Lua state"):format(n)
  end },
  { name = "network interfaces", decoders = { "ifname" }, build = function()
    local decode = decoder("decoders/ifname.lua")
    local n = 0
    for name in io.popen("ls /sys/class/net"):lines() do
      local f = io.open("/sys/class/net/" .. name .. "/ifindex")
      if f then
        decode(require("helpers.fake").u32(tonumber(f:read("*l"))))
        f:close()
        n = n + 1
      end
    end
    return 0, ("%d interfaces, names cached per Lua state"):format(n)
  end },
  { name = "pci.ids", decoders = { "pci_vendor", "pci_device", "pci_class", "pci_subclass" }, build = function()
    local db = require("exporter.pci_ids").db()
    local name_table = require("exporter.name_table")
    local bytes = 0
    for _, t in pairs(db) do bytes = bytes + name_table.of(t):bytes() end
    return bytes, "malloc'd, per Lua state"
  end },
  { name = "services (/etc/services)", decoders = { "port_service" }, build = function()
    decoder("examples/decoders/port_service.lua", {}, {})
    return 0, "a user decoder's (examples/decoders), per Lua state"
  end },
}

-- Decoder name -> the examples whose YAML uses it.
local function users()
  local by_decoder = {}
  local function use(name, example)
    by_decoder[name] = by_decoder[name] or {}
    by_decoder[name][example] = true
  end
  for path in io.popen("ls examples/*.yaml"):lines() do
    local example = path:match("([^/]+)%.yaml$")
    local doc = lyaml.load(common.helper.read_file(path))
    for _, kind in pairs(doc.metrics or {}) do
      for _, m in ipairs(kind) do
        for _, label in ipairs(m.labels or {}) do
          for _, d in ipairs(label.decoders or {}) do use(d.name, example) end
        end
      end
    end
    if doc.cgroup_id_map then use("cgroup_id_map", example) end
  end
  return by_decoder
end

local function examples_of(index, by_decoder)
  local set = {}
  local names = index.cgroup_id_map and { "cgroup_id_map", unpack(index.decoders) } or index.decoders
  for _, d in ipairs(names) do
    for example in pairs(by_decoder[d] or {}) do set[example] = true end
  end
  local all, defaults = {}, {}
  for example in pairs(set) do
    all[#all + 1] = example
    if DEFAULTS[example] then defaults[#defaults + 1] = example end
  end
  table.sort(all)
  table.sort(defaults)
  return defaults, all
end

return function()
  local by_decoder = users()
  local totals = { defaults = 0, all = 0 }
  print("\nshared indexes of system files, built from this machine's:")
  print(("  %-34s %10s %10s  %-20s %s"):format("index", "Lua heap", "outside", "default examples", "all examples"))
  for _, index in ipairs(INDEXES) do
    local heap, outside, note = measure(index.build)
    local defaults, all = examples_of(index, by_decoder)
    local bytes = math.max(heap, 0) + outside
    if #defaults > 0 then totals.defaults = totals.defaults + bytes end
    if #all > 0 then totals.all = totals.all + bytes end
    print(("  %-34s %10s %10s  %-20s %s"):format(index.name, common.size(math.max(heap, 0)), common.size(outside),
      #defaults > 0 and table.concat(defaults, ",") or "-", #all > 0 and table.concat(all, ",") or "-"))
    print(("  %-34s %s"):format("", note))
  end
  print(("  together: %s with the default examples, %s with all the examples"):format(
    common.size(totals.defaults), common.size(totals.all)))
  api.reset()
end
