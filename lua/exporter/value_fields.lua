-- `values:`: the fields of a struct value, each its own family (kind_values
-- collects them). Checked twice: in the YAML (names, offsets, sizes, kinds),
-- then against the map at bind: each field within the value and, when the
-- object has BTF for the value type, on a member of that type of that very
-- offset and size; each mistake names the field.
local checker = require("exporter.checker")
local exposition = require("exporter.exposition")

local M = {}

local present, is_mapping, is_sequence = checker.present, checker.is_mapping, checker.is_sequence

local FIELD_KEYS = { name = true, offset = true, size = true, help = true, kind = true, value_type = true }
local KINDS = { counter = true, gauge = true }
-- A gauge's value_type: its width and whether it is signed.
M.VALUE_TYPES = { u64 = { 8, false }, s64 = { 8, true }, u32 = { 4, false }, s32 = { 4, true } }
local SIZES = { [1] = "uint8_t", [2] = "uint16_t", [4] = "uint32_t", [8] = "uint64_t" }

--- The C type of a field of `size` bytes: "uint32_t", "int32_t".
function M.ctype(size, signed)
  local t = SIZES[size]
  return signed and t:sub(2) or t
end

-- A field's value_type (gauges only): sets field.signed; its width must be
-- the field's size.
local function check_value_type(c, f, fpath, field)
  local vt = f.value_type
  if vt == nil then
    return
  elseif not M.VALUE_TYPES[vt] then
    c:fail(fpath .. ".value_type", "%q is not one of u64, s64, u32, s32", tostring(vt))
  elseif field.kind ~= "gauge" then
    c:fail(fpath .. ".value_type", "only gauges take a value_type: counters are unsigned")
  elseif field.size and M.VALUE_TYPES[vt][1] ~= field.size then
    c:fail(fpath .. ".value_type", "%s takes %d bytes, but the field's size is %d", vt, M.VALUE_TYPES[vt][1],
      field.size)
  else
    field.signed = M.VALUE_TYPES[vt][2]
  end
end

local function check_field(c, f, fpath, default_kind)
  c:known_keys(f, fpath, FIELD_KEYS)
  local field = { path = fpath, kind = default_kind, signed = false }
  field.name = c:required_string(f, "name", fpath)
  if field.name and not field.name:match(exposition.METRIC_NAME) then
    c:fail(fpath .. ".name", "%q is not a valid Prometheus metric name", field.name)
  end
  field.help = c:required_string(f, "help", fpath)
  if not present(f.offset) then
    c:fail(fpath .. ".offset", "missing: the field's first byte in the value")
  else
    field.offset = c:optional_integer(f, "offset", fpath, 0)
  end
  if not present(f.size) then
    c:fail(fpath .. ".size", "missing: 1, 2, 4 or 8 bytes")
  elseif not SIZES[f.size] then
    c:fail(fpath .. ".size", "must be 1, 2, 4 or 8 (bytes), not %s", checker.describe(f.size))
  else
    field.size = f.size
  end
  if f.kind ~= nil and not KINDS[f.kind] then
    c:fail(fpath .. ".kind", "%q is not one of counter, gauge", tostring(f.kind))
  elseif f.kind ~= nil then
    field.kind = f.kind
  end
  check_value_type(c, f, fpath, field)
  return field
end

--- Reads `values:` of a counter or gauge node into m.fields and makes m a
-- metric of kind "values"; each field's kind defaults to the section's.
function M.check(c, node, path, m)
  local default_kind = m.kind
  local list = node.values
  m.kind, m.fields = "values", {}
  if m.perf_event_array then
    c:fail(path .. ".values", "a perf event array or ring buffer has records, not values")
  end
  if node.value_type ~= nil then
    c:fail(path .. ".value_type", "with values, each field takes its own value_type")
  end
  if not is_sequence(list) or #list == 0 then
    c:fail(path .. ".values", "must be a non-empty list of fields, each {name, offset, size, help}")
    return
  end
  for i, f in ipairs(list) do
    local fpath = ("%s.values[%d]"):format(path, i - 1)
    if not is_mapping(f) then
      c:fail(fpath, "must be a mapping with name, offset, size and help")
    else
      m.fields[#m.fields + 1] = check_field(c, f, fpath, default_kind)
    end
  end
end

--- A gauge whose whole value is a 4-byte value_type: one field, its own name.
function M.whole(m)
  local width, signed = M.VALUE_TYPES[m.value_type][1], M.VALUE_TYPES[m.value_type][2]
  m.kind, m.whole_value = "values", true
  m.fields = { { path = m.path, name = m.name, help = m.help, kind = "gauge", offset = 0, size = width,
    signed = signed } }
end

-- "a (offset 0, 8 bytes), b (offset 8, 4 bytes)".
local function members(info)
  local list = {}
  for _, member in ipairs(info.value_fields) do
    list[#list + 1] = ("%s (offset %d, %d bytes)"):format(member.name, member.offset, member.size)
  end
  return table.concat(list, ", ")
end

-- The field against the BTF members of the value's struct: nil when one
-- starts at its offset with its size, else the YAML path and the mistake.
local function btf_mismatch(f, info)
  local type_name = info.value_type ~= "" and info.value_type or "(anonymous)"
  for _, member in ipairs(info.value_fields) do
    if member.offset == f.offset then
      if member.size == f.size then
        return nil
      end
      return f.path .. ".size", ("field %s: member %s of the map's value type %s has %d bytes, not %d")
        :format(f.name, member.name, type_name, member.size, f.size)
    end
  end
  return f.path .. ".offset", ("field %s: no member of the map's value type %s starts at offset %d; its members: %s")
    :format(f.name, type_name, f.offset, members(info))
end

--- kinds.lua's check_value for kind "values".
function M.check_value(m, info, fail)
  if m.whole_value then
    local f = m.fields[1]
    if info.value_size ~= f.size then
      fail(m.path .. ".name", ("map %q has %d-byte values; a gauge of value_type %s needs %d bytes")
        :format(m.name, info.value_size, m.value_type, f.size))
      return false
    end
    return true
  end
  local ok = true
  for _, f in ipairs(m.fields) do
    if f.offset + f.size > info.value_size then
      fail(f.path .. ".offset", ("field %s (offset %d, %d bytes) ends past the %d-byte values of map %q")
        :format(f.name, f.offset, f.size, info.value_size, m.name))
      ok = false
    elseif info.value_fields and #info.value_fields > 0 then
      local path, why = btf_mismatch(f, info)
      if path then
        fail(path, why)
        ok = false
      end
    end
  end
  return ok
end

return M
