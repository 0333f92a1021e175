-- A config's counters that outlive its Lua state: the core keeps them in
-- struct elx_config_counters and carries them over reloads by config name.
-- A scrape adds what it counted (stats.errors_by_decoder, stats.invalid_utf8)
-- and reads back the totals for the built-in metrics.
local ffi = require("ffi")

local M = {}

--- A named slot of the core's per-config counters: the index of the slot
-- named `name` in `t.array` (`counters[t.array]`, `counters[t.used]` used,
-- `t.slots` in all; each a struct with a char[t.name_bytes + 1] `t.name` and
-- a counter `t.count`), taken (named, counter zeroed) when missing. Past the
-- last slot, the last one counts for every other name.
function M.named_slot(counters, t, name)
  local array, used = counters[t.array], counters[t.used]
  local key = name:sub(1, t.name_bytes)
  for i = 0, used - 1 do
    if ffi.string(array[i][t.name]) == key then
      return i
    end
  end
  if used >= t.slots then
    return t.slots - 1
  end
  ffi.fill(array[used][t.name], t.name_bytes + 1)
  ffi.copy(array[used][t.name], key, #key)
  array[used][t.count] = 0
  counters[t.used] = used + 1
  return used
end

-- struct elx_config_counters' decoders[]: errors by decoder.
local DECODERS = { array = "decoders", used = "ndecoders", slots = 32, name = "decoder", name_bytes = 47,
  count = "errors" }

local function slot(counters, name)
  return M.named_slot(counters, DECODERS, name)
end

--- Adds this scrape's counts of `stats` to `counters` (a struct
-- elx_config_counters *) and sets stats.errors (decoder name -> total, for
-- every decoder of `names` and every one counted before) and
-- stats.invalid_utf8_total.
-- The slots of a config are the same at every scrape: `slots` (name ->
-- index, kept by the caller for the config's life) saves looking them up.
function M.sync(counters, stats, names, slots)
  for _, name in ipairs(names) do
    if not slots[name] then
      slots[name] = slot(counters, name)
    end
  end
  for name, n in pairs(stats.errors_by_decoder) do
    if not slots[name] then
      slots[name] = slot(counters, name)
    end
    local d = counters.decoders[slots[name]]
    d.errors = d.errors + n
  end
  stats.errors_by_decoder = {}
  -- Every slot, those a previous configuration filled too: a counter goes
  -- on while the config has it.
  local totals = {}
  for i = 0, counters.ndecoders - 1 do
    totals[ffi.string(counters.decoders[i].decoder)] = tonumber(counters.decoders[i].errors)
  end
  stats.errors = totals
  counters.invalid_utf8 = counters.invalid_utf8 + stats.invalid_utf8
  stats.invalid_utf8 = 0
  stats.invalid_utf8_total = tonumber(counters.invalid_utf8)
end

return M
