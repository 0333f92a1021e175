-- The /maps page (with --debug): every key of every metric map as read, its
-- raw bytes, its decoded labels and its value, before equal label sets sum.
-- The layout follows ebpf_exporter's page: a section per config and map.
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local guard = require("exporter.guard")
local labels = require("exporter.labels")
local numfmt = require("exporter.numfmt")

local M = {}

M.CONTENT_TYPE = "text/plain; charset=utf-8"

local u64p = ffi.typeof("const uint64_t *")

-- The value in slot `slot` of the batch: a u64 (an s64 gauge's signed), or
-- with struct values each field's ("read_calls_total=8 read_last_result=-21").
local function value_text(plan, batch, slot)
  local p = batch.values + slot * batch.value_stride
  if not plan.fields then
    local v = ffi.cast(u64p, p)[0]
    return plan.signed and tostring(ffi.cast("int64_t", v)):gsub("LL$", "") or numfmt.u64(v)
  end
  local out = {}
  for i, f in ipairs(plan.fields) do
    local v = ffi.cast(f.ptr, p + f.offset)[0]
    out[i] = f.family:sub(#"ebpf_exporter_" + 1) .. "=" .. tostring(v):gsub("U?LL$", "")
  end
  return table.concat(out, " ")
end

local function hex(p, n)
  local out = {}
  for i = 0, n - 1 do
    out[#out + 1] = ("%02x"):format(p[i])
  end
  return table.concat(out, " ")
end

-- "[read 4]", "(skipped by a decoder)" or "(decoder error)": decoding here
-- never touches the caches or the error counters of real scrapes.
local function labels_text(plan, raw)
  local quiet = { decoder_errors = 0, logged = {}, nlogged = 0, log = function() end }
  local values = labels.decode(plan, raw, quiet)
  if values == api.SKIP then
    return "(skipped by a decoder)"
  elseif values == nil then
    return "(decoder error)"
  end
  return "[" .. table.concat(values, " ") .. "]"
end

local function write_map(buf, plan, batch)
  buf:put("### Map: ", plan.name, "\n\n```\n")
  if batch.error ~= 0 then
    buf:put("read failed: errno ", tostring(-batch.error), "\n```\n\n")
    return
  end
  local ks, ncpus = batch.key_size, batch.ncpus
  for i = 0, batch.count - 1 do
    local p = batch.keys + i * ks
    local raw = ffi.string(p, ks)
    if plan.split_cpu then
      for c = 0, ncpus - 1 do
        local cpu = ffi.new("uint16_t[1]", c)
        buf:put(hex(p, ks), " cpu ", c, " (labels: ", labels_text(plan, raw .. ffi.string(cpu, 2)), ") -> ",
          value_text(plan, batch, i * ncpus + c), "\n")
      end
    else
      local shown = {}
      for c = 0, ncpus - 1 do
        shown[#shown + 1] = value_text(plan, batch, i * ncpus + c)
      end
      local value = ncpus > 1 and ("[" .. table.concat(shown, " ") .. "] per CPU") or shown[1]
      buf:put(hex(p, ks), " (labels: ", labels_text(plan, raw), ") -> ", value, "\n")
    end
  end
  buf:put("```\n\n")
end

--- Writes the page for one read of every config's maps.
function M.write(buf, scrape, configs)
  local by_name = {}
  for i = 0, scrape.nconfigs - 1 do
    by_name[ffi.string(scrape.configs[i].name)] = scrape.configs[i]
  end
  for _, cfg in ipairs(configs) do
    local c = by_name[cfg.name]
    if c then
      buf:put("## Config: ", cfg.name, "\n\n")
      -- Users' decoders get the time budget of a scrape, per config here too.
      guard.begin()
      local ok, err = pcall(function()
        for i, plan in ipairs(cfg.plans) do
          write_map(buf, plan, c.batches[i - 1])
        end
      end)
      guard.finish()
      if not ok then
        buf:put("\n(stopped: ", tostring(err), ")\n\n")
      end
    end
  end
end

return M
