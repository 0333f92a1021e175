-- The kernel symbol index on this machine's /proc/kallsyms: what building it
-- costs (CPU, memory, a full garbage collection) and what a ksym or kstack
-- lookup costs, for the core's index (core/ksym_index.c, through
-- build/libelx_ksym.so, the same code the exporter runs) and for the Lua
-- index it replaced (bench/baseline_kallsyms.lua). Both must give the same
-- label for every symbol of the file, and for an address inside each.
local ffi = require("ffi")
require("exporter.abi")
local api = require("exporter.decoder_api")
local baseline = require("baseline_kallsyms")
local common = require("common")

-- The decoders as they were with the Lua index (decoders/ksym.lua and
-- kstack.lua before the core's index).
local function baseline_ksym(input)
  local hex = baseline.address_hex(input)
  local name = baseline.symbol(hex)
  if name then return name end
  return "unknown_addr:0x" .. (hex:match("^0*(%x.*)$") or "0")
end

local ZERO_ADDRESS = string.rep("\0", 8)

local function baseline_kstack(input)
  local frames = {}
  for offset = 1, #input, 8 do
    if input:sub(offset, offset + 7) == ZERO_ADDRESS then break end
    frames[#frames + 1] = baseline.nearest(baseline.address_hex(input, offset)) or "??"
  end
  return table.concat(frames, "\n")
end

local function bytes_of(hex)
  local v = ffi.new("uint64_t[1]")
  v[0] = tonumber(hex:sub(1, 8), 16) * 0x100000000ULL + tonumber(hex:sub(9, 16), 16)
  return v, ffi.string(v, 8)
end

-- The address of every symbol of the kernel proper, and one 5 bytes into
-- it, as the 8 bytes a BPF program stores. Not modules' nor BPF programs':
-- other processes load and unload those while the two indexes are read.
local function addresses()
  local starts, inside = {}, {}
  for line in io.lines("/proc/kallsyms") do
    local hex = line:match("^(%x+) ")
    if hex and #hex == 16 and hex ~= string.rep("0", 16) and not line:find("\t", 1, true) then
      local v, s = bytes_of(hex)
      starts[#starts + 1] = s
      v[0] = v[0] + 5
      inside[#inside + 1] = ffi.string(v, 8)
    end
  end
  return starts, inside
end

-- Stacks of 16 frames of addresses inside functions.
local function stacks(inside, n)
  local out, k = {}, 1
  for i = 1, n do
    local frames = {}
    for f = 1, 16 do
      frames[f] = inside[k]
      k = (k + 7919) % #inside + 1 -- spread over the file
    end
    out[i] = table.concat(frames)
  end
  return out
end

-- CPU ns per call of decode over inputs, repeated to about `calls` calls.
local function ns_per_call(decode, inputs, calls)
  local rounds = math.max(1, math.floor(calls / #inputs))
  local t0 = os.clock()
  for _ = 1, rounds do
    for i = 1, #inputs do decode(inputs[i]) end
  end
  return (os.clock() - t0) * 1e9 / (rounds * #inputs)
end

local function build_core(lib)
  local best, stats = math.huge, ffi.new("struct elx_ksym_stats")
  local out = ffi.new("const char *[1]")
  for _ = 1, 5 do
    local ix = lib.elx_ksym_index_new("/proc/kallsyms")
    lib.elx_ksym_symbol(ix, ZERO_ADDRESS, 0, out)
    lib.elx_ksym_index_stats(ix, stats)
    best = math.min(best, tonumber(stats.read_cpu_ns) / 1e6)
    lib.elx_ksym_index_free(ix)
  end
  assert(stats.symbols > 0, "no symbols read")
  return best, tonumber(stats.bytes), stats.symbols
end

local function build_baseline()
  local best, heap, gc = math.huge, 0, 0
  for _ = 1, 2 do
    api.reset()
    local h0 = common.heap_kib()
    local t0 = os.clock()
    baseline.symbol("ffffffff81000000")
    baseline.nearest("ffffffff81000000") -- sorts the addresses
    best = math.min(best, (os.clock() - t0) * 1e3)
    heap = (common.heap_kib() - h0) * 1024
    local t1 = os.clock()
    collectgarbage()
    gc = (os.clock() - t1) * 1e3
  end
  return best, heap, gc
end

return function(build)
  local lib = ffi.load(build .. "/libelx_ksym.so")
  api.reset()
  local core_ms, core_bytes, symbols = build_core(lib)
  local t0 = os.clock()
  collectgarbage()
  local core_gc = (os.clock() - t0) * 1e3
  local base_ms, base_heap, base_gc = build_baseline()
  api.reset()
  local ksym = assert(dofile("decoders/ksym.lua").new({}, { input_size = 8 }))
  local kstack = assert(dofile("decoders/kstack.lua").new({}, { input_size = 128 }))
  local starts, inside = addresses()
  local stack_inputs = stacks(inside, 2048)
  -- The same labels, symbol by symbol: the index changed, the output did not.
  for i = 1, #starts do
    assert(ksym(starts[i]) == baseline_ksym(starts[i]), "ksym differs at symbol " .. i)
    assert(ksym(inside[i]) == baseline_ksym(inside[i]), "ksym differs inside symbol " .. i)
  end
  for i = 1, #stack_inputs do
    assert(kstack(stack_inputs[i]) == baseline_kstack(stack_inputs[i]), "kstack differs for stack " .. i)
  end
  local n = 300000
  local rows = {
    { "ksym lookup, a symbol's start", ns_per_call(baseline_ksym, starts, n), ns_per_call(ksym, starts, n) },
    { "ksym lookup, not a symbol's start", ns_per_call(baseline_ksym, inside, n), ns_per_call(ksym, inside, n) },
    { "kstack lookup, per frame of 16-frame stacks", ns_per_call(baseline_kstack, stack_inputs, n / 16) / 16,
      ns_per_call(kstack, stack_inputs, n / 16) / 16 },
  }
  print(("\nkernel symbol index, %d symbols in /proc/kallsyms (Lua tables before, the core's index after):")
    :format(symbols))
  print(("  %-44s %12s %12s"):format("", "before", "after"))
  print(("  %-44s %9.1f ms %9.1f ms (target <= 50 ms)"):format("build, CPU (best of 2 / of 5)", base_ms, core_ms))
  print(("  %-44s %12s %12s"):format("memory", common.size(base_heap) .. " Lua",
    common.size(core_bytes) .. " C"))
  print(("  %-44s %9.1f ms %9.1f ms"):format("a full garbage collection, the index built", base_gc, core_gc))
  for _, r in ipairs(rows) do
    print(("  %-44s %9.0f ns %9.0f ns"):format(r[1], r[2], r[3]))
  end
  print(("  both gave the same label for all %d kernel symbols, an address inside each, and %d stacks"):format(
    #starts, #stack_inputs))
  api.reset()
end
