-- static_map: maps its input through the `static_map` option, a YAML mapping.
-- A missing input gives "unknown:<in>", or the input itself with
-- `allow_unknown: true`.
local M = {}

-- Largest integer a double holds exactly: a bigger YAML number has already
-- lost digits in the parser, so it cannot be a key the user meant.
local EXACT_LIMIT = 2 ^ 53

-- YAML gives numbers for unquoted numeric scalars (`1: softirq`): keys and
-- values are compared and printed as the decimal text the user wrote.
local function scalar_text(v)
  if type(v) == "string" then return v end
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < EXACT_LIMIT then
    return string.format("%d", v)
  end
  return nil
end

function M.new(options)
  local map = options.static_map
  if type(map) ~= "table" then
    return nil, 'static_map: option "static_map" must be a mapping of input to output'
  end
  local allow_unknown = options.allow_unknown
  if allow_unknown ~= nil and type(allow_unknown) ~= "boolean" then
    return nil, 'static_map: option "allow_unknown" must be true or false'
  end
  local index = {}
  for k, v in pairs(map) do
    local key = scalar_text(k)
    if not key then
      return nil, string.format("static_map: key %s must be a string or an integer", tostring(k))
    end
    local value = scalar_text(v)
    if not value then
      return nil, string.format('static_map: value of key "%s" must be a string or an integer', key)
    end
    if index[key] ~= nil and index[key] ~= value then
      return nil, string.format('static_map: key "%s" is given twice', key)
    end
    index[key] = value
  end
  return function(input)
    local out = index[input]
    if out then return out end
    if allow_unknown then return input end
    return "unknown:" .. input
  end
end

return M
