-- A validation pass over parsed YAML: typed reads of a node's keys that
-- report every mistake, each as "<file>: <yaml path>: <what is wrong>", and
-- keep going. config.lua checks a config with it; each metric kind checks
-- its own keys with it.
local lyaml = require("lyaml")

local M = {}

local Checker = {}
Checker.__index = Checker

--- A checker for `file`; its mistakes collect in `checker.errors`, and
-- what ebpf_exporter accepts but we would not in `checker.warnings` (errors
-- too when `strict`: --config.strict).
function M.new(file, strict)
  return setmetatable({ file = file, errors = {}, warnings = {}, strict = strict or false }, Checker)
end

--- true for a present value: YAML's null and an absent key are both missing.
local function present(v)
  return v ~= nil and v ~= lyaml.null
end
M.present = present

function M.is_mapping(v)
  return type(v) == "table" and v ~= lyaml.null and (next(v) == nil or v[1] == nil)
end

function M.is_sequence(v)
  if type(v) ~= "table" or v == lyaml.null then
    return false
  end
  local n = 0
  for _ in pairs(v) do
    n = n + 1
  end
  return n == #v
end

local function is_integer(v)
  return type(v) == "number" and v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53
end
M.is_integer = is_integer

-- Go duration units, as ebpf_exporter's flush_interval takes them.
local DURATION_UNITS = { ns = 1e-9, us = 1e-6, ["µs"] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 }

--- "1h30m" -> 5400, or nil.
function M.parse_duration(s)
  if type(s) ~= "string" or s == "" then
    return nil
  end
  local total, rest = 0, s
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d+%.?%d*)([a-zµ]+)(.*)$")
    local scale = unit and DURATION_UNITS[unit]
    if not scale then
      return nil
    end
    total = total + tonumber(num) * scale
    rest = tail
  end
  return total
end

--- A YAML value as an error message names it: `the string "4"` (a quoted
-- number is a string in YAML), `a list`, `a mapping`, or the value itself.
function M.describe(v)
  if type(v) == "string" then
    return ("the string %q"):format(v)
  elseif type(v) == "table" and next(v) == nil then
    return "an empty list or mapping"
  elseif M.is_sequence(v) then
    return "a list"
  elseif type(v) == "table" then
    return "a mapping"
  end
  return tostring(v)
end

function Checker:fail(path, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  local where = path ~= "" and (path .. ": ") or ""
  self.errors[#self.errors + 1] = self.file .. ": " .. where .. msg
end

--- Something ebpf_exporter accepts (and ignores) that is most likely a
-- mistake: an error with --config.strict, else a warning, and the config
-- loads as it would there.
function Checker:lenient(path, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  if self.strict then
    return self:fail(path, "%s", msg)
  end
  local where = path ~= "" and (path .. ": ") or ""
  self.warnings[#self.warnings + 1] = self.file .. ": " .. where .. msg .. " (ignored; --config.strict refuses it)"
end

-- Whether a and b are one edit apart: a letter added, dropped, changed, or
-- two neighbours swapped.
local function one_edit(a, b)
  if math.abs(#a - #b) > 1 or a == b then
    return false
  end
  local i = 1
  while i <= #a and a:byte(i) == b:byte(i) do
    i = i + 1
  end
  local ra, rb = a:sub(i + 1), b:sub(i + 1)
  return ra == rb or a:sub(i) == rb or ra == b:sub(i)
    or (a:sub(i, i) == b:sub(i + 1, i + 1) and a:sub(i + 1, i + 1) == b:sub(i, i) and a:sub(i + 2) == b:sub(i + 2))
end
M.one_edit = one_edit

-- The known key one edit away from `key`, if exactly one is.
local function suggestion(key, allowed)
  local found
  for k in pairs(allowed) do
    if one_edit(key, k) then
      if found then
        return nil
      end
      found = k
    end
  end
  return found
end

-- Reports keys of `node` that are not in `allowed`. ebpf_exporter silently
-- ignores them; a misspelt key is a mistake the user wants to hear about.
function Checker:known_keys(node, path, allowed)
  local unknown = {}
  for k in pairs(node) do
    if not allowed[k] then
      unknown[#unknown + 1] = tostring(k)
    end
  end
  table.sort(unknown)
  for _, k in ipairs(unknown) do
    local near = suggestion(k, allowed)
    local hint = near and ("; did you mean " .. near .. "?") or ""
    self:lenient(path == "" and k or (path .. "." .. k), "unknown key%s", hint)
  end
end

function Checker:required_string(node, key, path)
  local v = node[key]
  if not present(v) then
    self:fail(path .. "." .. key, "missing")
  elseif type(v) ~= "string" or v == "" then
    self:fail(path .. "." .. key, "must be a non-empty string")
  else
    return v
  end
end

function Checker:optional_integer(node, key, path, min)
  local v = node[key]
  if not present(v) then
    return nil
  end
  if not is_integer(v) or v < min then
    self:fail(path .. "." .. key, "must be an integer >= %d, not %s", min, M.describe(v))
    return nil
  end
  return v
end

function Checker:optional_bool(node, key, path)
  local v = node[key]
  if not present(v) then
    return false
  end
  if type(v) ~= "boolean" then
    self:fail(path .. "." .. key, "must be true or false")
    return false
  end
  return v
end

--- A Go duration ("10m", "1h30m") in seconds, > 0; nil when absent or wrong.
function Checker:optional_duration(node, key, path)
  local v = node[key]
  if not present(v) then
    return nil
  end
  local seconds = M.parse_duration(v)
  if not seconds or seconds <= 0 then
    self:fail(path .. "." .. key, "%q is not a duration like 10m or 1h30m", tostring(v))
    return nil
  end
  return seconds
end

return M
