-- A config's counters that outlive its Lua state: the core keeps them in
-- struct elx_config_counters and carries them over reloads by config name.
-- A scrape adds what it counted (stats.errors_by_decoder, stats.invalid_utf8)
-- and reads back the totals for the built-in metrics.
local ffi = require("ffi")

local M = {}

local SLOTS = 32 -- struct elx_config_counters' decoders[]
local NAME_BYTES = 47 -- decoders[].decoder, less the NUL

-- The slot of decoder `name` in `counters`, taken when missing; past the
-- last slot, the last slot counts for every other name.
local function slot(counters, name)
  local key = name:sub(1, NAME_BYTES)
  for i = 0, counters.ndecoders - 1 do
    if ffi.string(counters.decoders[i].decoder) == key then
      return i
    end
  end
  if counters.ndecoders >= SLOTS then
    return SLOTS - 1
  end
  local i = counters.ndecoders
  ffi.fill(counters.decoders[i].decoder, NAME_BYTES + 1)
  ffi.copy(counters.decoders[i].decoder, key, #key)
  counters.decoders[i].errors = 0
  counters.ndecoders = i + 1
  return i
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
