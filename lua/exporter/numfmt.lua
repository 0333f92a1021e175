-- Number formatting for the exposition text: exact integers, and floats the
-- way Go's strconv.FormatFloat(f, 'g', -1, 64) writes them, so that `le`
-- label values match ebpf_exporter's byte for byte.
local ffi = require("ffi")

local M = {}

local floor, huge = math.floor, math.huge
local format = string.format

-- string.buffer writes numbers with %.14g: exact for integers below 1e14.
local EXACT_PUT_LIMIT = 1e14

local digits = ffi.new("uint8_t[24]")

-- Writes an unsigned 64-bit value (uint64_t cdata or integral number) in decimal.
local function put_u64(buf, v)
  if v < EXACT_PUT_LIMIT then
    buf:put(tonumber(v))
    return
  end
  v = ffi.cast("uint64_t", v)
  local n = 0
  repeat
    local q = v / 10
    digits[n] = 48 + tonumber(v - q * 10)
    v = q
    n = n + 1
  until v == 0
  local p = buf:reserve(n)
  for j = 0, n - 1 do
    p[j] = digits[n - 1 - j]
  end
  buf:commit(n)
end
M.put_u64 = put_u64

-- Past 2^53 a double no longer holds every integer: tonumber would round.
local EXACT_NUMBER_LIMIT = 2 ^ 53

--- An unsigned 64-bit value (uint64_t cdata or integral number) as exact
-- decimal text: "18446744073709551615", never "1.8446744073709552e+19" or
-- "18446744073709551615ULL".
-- @treturn string
function M.u64_text(v)
  if type(v) == "number" then return format("%d", v) end
  if v < EXACT_NUMBER_LIMIT then return format("%d", tonumber(v)) end
  return (tostring(ffi.cast("uint64_t", v)):gsub("ULL$", ""))
end

-- The shortest decimal digits that read back as f, and the decimal point
-- position: f = 0.<digits> * 10^point. f must be finite and positive.
local function shortest_digits(f)
  for precision = 1, 17 do
    local s = format("%." .. (precision - 1) .. "e", f)
    if tonumber(s) == f or precision == 17 then
      local mantissa, exponent = s:match("^(%d[%.%d]*)e([-+]%d+)$")
      local ds = mantissa:gsub("%.", ""):gsub("0+$", "")
      if ds == "" then ds = "0" end
      return ds, tonumber(exponent) + 1
    end
  end
end

-- Go's 'g' format with the shortest precision. strconv decides between the
-- exponent and the plain form with a precision of 6 in that case: 1e+06,
-- 1.6e-05, but 134.217728 and 0.000128.
local function go_float(f)
  if f ~= f then return "NaN" end
  if f == huge then return "+Inf" end
  if f == -huge then return "-Inf" end
  if f == 0 then
    return 1 / f < 0 and "-0" or "0"
  end
  local sign = ""
  if f < 0 then
    sign, f = "-", -f
  end
  local ds, point = shortest_digits(f)
  local exp = point - 1
  if exp < -4 or exp >= 6 then
    local mant = ds:sub(1, 1)
    if #ds > 1 then
      mant = mant .. "." .. ds:sub(2)
    end
    local esign = exp < 0 and "-" or "+"
    local eabs = exp < 0 and -exp or exp
    return sign .. mant .. "e" .. esign .. (eabs < 10 and "0" .. eabs or tostring(eabs))
  end
  if point <= 0 then
    return sign .. "0." .. string.rep("0", -point) .. ds
  end
  if point >= #ds then
    return sign .. ds .. string.rep("0", point - #ds)
  end
  return sign .. ds:sub(1, point) .. "." .. ds:sub(point + 1)
end
M.go_float = go_float

-- A sample value: integral values as integers (never 1.287408e+06), others
-- in Go's shortest form.
function M.value(f)
  if f == floor(f) and f >= -9007199254740992 and f <= 9007199254740992 then
    return format("%d", f)
  end
  return go_float(f)
end

return M
