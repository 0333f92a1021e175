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

--- The most buckets a histogram may have: a linear histogram of one bucket
-- per millisecond for four seconds, or every finite exp2 bucket four times
-- over. Each one is a line per series at every scrape.
M.MAX_BUCKETS = 4096

local function describe_bound(bucket_type, k, m)
  local what = ({ exp2 = "2^%d", exp2zero = "2^(%d - 1)", linear = "%d", fixed = "%d" })[bucket_type]
  return (what .. " × %s"):format(k, numfmt.go_float(m))
end

--- Whether a histogram's buckets can be written: at most MAX_BUCKETS of
-- them, each with a finite upper bound above the one before (else `le`
-- bounds repeat, or print as +Inf, which is the bucket that counts
-- everything). `metric` has its bucket_type, bucket_multiplier and
-- bucket_min and bucket_max, or bucket_keys, checked already.
-- @return nil, or the key at fault ("bucket_max", "bucket_keys[3]") and why
function M.check(metric)
  local fixed = metric.bucket_type == "fixed"
  local n = fixed and #metric.bucket_keys or metric.bucket_max - metric.bucket_min + 1
  if n > M.MAX_BUCKETS then
    return fixed and "bucket_keys" or "bucket_max", fixed
      and ("%d bucket keys; a histogram may have at most %d"):format(n, M.MAX_BUCKETS)
      or ("%d buckets (bucket_min %d to bucket_max %d); a histogram may have at most %d")
        :format(n, metric.bucket_min, metric.bucket_max, M.MAX_BUCKETS)
  end
  local bound, m = BOUNDS[metric.bucket_type], metric.bucket_multiplier
  local before
  for i = 1, n do
    local k = fixed and metric.bucket_keys[i] or metric.bucket_min + i - 1
    local where = fixed and ("bucket_keys[%d]"):format(i - 1) or (i == 1 and "bucket_min" or "bucket_max")
    local le = bound(k) * m
    if le == math.huge then
      local most = not fixed and i > 1 and (": at most %d with this bucket_type and bucket_multiplier"):format(k - 1)
      return where, ("bucket %d has no finite upper bound (%s is past the largest float64)%s"):format(k,
        describe_bound(metric.bucket_type, k, m), most or "")
    elseif before and le <= before then
      return where, ("bucket %d's upper bound %s is not above the one before it, %s"):format(k,
        numfmt.go_float(le), numfmt.go_float(before))
    end
    before = le
  end
end

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
