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

local i64 = ffi.typeof("int64_t")

--- Writes the bits of a 64-bit integer (uint64_t or int64_t cdata, or an
-- integral number) as a signed value in decimal.
function M.put_i64(buf, v)
  v = ffi.cast(i64, v)
  if v < 0 then
    buf:put("-")
    put_u64(buf, -ffi.cast("uint64_t", v)) -- -2^63 too: its magnitude fits a u64
  else
    put_u64(buf, v)
  end
end

local u64 = ffi.typeof("uint64_t")

--- A uint64_t from its decimal digits (ids past 2^53 stay exact).
function M.parse_u64(text)
  local v = u64(0)
  for i = 1, #text do
    v = v * 10 + (text:byte(i) - 48)
  end
  return v
end

local text_buf = require("string.buffer").new(24)

--- An unsigned 64-bit value (uint64_t cdata or integral number) as decimal
-- text: "18446744073709551615", never tostring's "...ULL".
function M.u64(v)
  text_buf:reset()
  put_u64(text_buf, v)
  return text_buf:tostring()
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

--- A duration or other small value in plain decimal (0.0000992, never
-- 9.92e-05): what people read and paste. `places` after the point, default
-- 9 (nanoseconds).
function M.decimal(f, places)
  local text = format("%." .. (places or 9) .. "f", f):gsub("0+$", ""):gsub("%.$", "")
  return text
end

return M
