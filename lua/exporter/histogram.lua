-- Histogram bucket sets: which map bucket keys make up a histogram, their
-- `le` bounds, and where the kernel keeps the sum (COMPAT.md, "Histograms").
local numfmt = require("exporter.numfmt")

local M = {}

-- The upper bound of bucket key `k` before the multiplier.
local BOUNDS = {
  exp2 = function(k) return 2 ^ k end,
  exp2zero = function(k) return k == 0 and 0 or 2 ^ (k - 1) end,
  linear = function(k) return k end,
  fixed = function(k) return k end,
}

--- The bucket set of a validated histogram metric:
-- { keys = {k...}, le = {"1e-06", ...}, position = {[k] = i}, sum_key = n, multiplier = m }
function M.buckets(metric)
  local keys = {}
  if metric.bucket_type == "fixed" then
    for i, k in ipairs(metric.bucket_keys) do
      keys[i] = k
    end
  else
    for k = metric.bucket_min, metric.bucket_max do
      keys[#keys + 1] = k
    end
  end
  local bound = BOUNDS[metric.bucket_type]
  local m = metric.bucket_multiplier
  local set = { keys = keys, le = {}, position = {}, multiplier = m, sum_key = keys[#keys] + 1 }
  for i, k in ipairs(keys) do
    -- Go computes bound * multiplier in float64, and so do we: same digits.
    set.le[i] = numfmt.go_float(bound(k) * m)
    set.position[k] = i
  end
  return set
end

return M
