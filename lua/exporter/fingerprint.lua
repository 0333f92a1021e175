-- A metric's fingerprint: everything that decides which series its keys
-- become. A reload's configuration takes over the series store (series.lua)
-- of a metric whose fingerprint did not change, so its first scrape is warm;
-- a changed label list, decoder option, map shape, bucket set or decoder file
-- changes the fingerprint, and the metric starts afresh.
--
-- The fingerprint is the plan (metric.lua: config and metric names, kind,
-- labels with their decoders' YAML options, key layout, bounds, and whatever
-- its kind added) written out in a canonical form, plus a hash of the file of
-- every decoder its labels name. The help text is left out: no series holds it.
local buffer = require("string.buffer")

local M = {}

-- Plan fields that no series text depends on.
local IGNORED = { help = true, path = true }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then
      return ta < tb
    end
    return a < b
  end)
  return keys
end

-- Functions (decode functions), cdata and userdata have no canonical form:
-- what they do is in the options and files next to them.
local WRITTEN = { table = true, string = true, number = true, boolean = true }

local function put(buf, v, seen)
  local t = type(v)
  if t == "string" then
    buf:put(("%q"):format(v))
  elseif t == "number" then
    buf:put(("%.17g"):format(v))
  elseif t ~= "table" then
    buf:put(tostring(v))
  elseif seen[v] then
    buf:put("@", seen[v]) -- a table met before: its first place
  else
    seen.n = seen.n + 1
    seen[v] = seen.n
    buf:put("{")
    for _, k in ipairs(sorted_keys(v)) do
      local x = v[k]
      if WRITTEN[type(x)] and not IGNORED[k] then
        put(buf, k, seen)
        buf:put("=")
        put(buf, x, seen)
        buf:put(",")
      end
    end
    buf:put("}")
  end
end

-- FNV-1a and djb2 side by side: 64 bits of the file's bytes, in hex. The
-- FNV prime is 2^24 + 403: multiplying by its parts keeps every product
-- exact in a double.
local function file_hash(path)
  local f = path and io.open(path, "rb")
  if not f then
    return "-"
  end
  local text = f:read("*a")
  f:close()
  local a, b = 2166136261, 5381
  for i = 1, #text do
    local c = text:byte(i)
    a = bit.bxor(a, c)
    a = bit.tobit(bit.lshift(a, 24) + a * 403)
    b = bit.tobit(b * 33 + c)
  end
  return bit.tohex(a) .. bit.tohex(b)
end

-- The decoders the plan's labels name, sorted.
local function decoder_names(plan)
  local seen, names = {}, {}
  for _, label in ipairs(plan.labels or {}) do
    for _, d in ipairs(label.decoders or {}) do
      if not seen[d.name] then
        seen[d.name] = true
        names[#names + 1] = d.name
      end
    end
  end
  table.sort(names)
  return names
end

--- The fingerprint of a bound plan; `registry` (decoders.lua) says where
-- each decoder's file is.
function M.of(plan, registry)
  local buf = buffer.new()
  put(buf, plan, { n = 0 })
  for _, name in ipairs(decoder_names(plan)) do
    buf:put("\n", name, " ", file_hash(registry:path(name)))
  end
  return buf:tostring()
end

return M
