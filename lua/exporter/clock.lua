-- The core's clock: seconds on CLOCK_MONOTONIC, for its own timings (scrape
-- durations). Decoders have theirs in decoder_api, which specs replace.
local ffi = require("ffi")

local M = {}

-- A private name for clock_gettime, so that other modules may declare it
-- their own way; the check keeps a second load from redefining it.
if not pcall(function() return ffi.C.exporter_clock_gettime end) then
  ffi.cdef([[
struct exporter_clock_timespec { int64_t tv_sec; long tv_nsec; };
int exporter_clock_gettime(int clock, struct exporter_clock_timespec *ts) __asm__("clock_gettime");
]])
end
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct exporter_clock_timespec")

function M.monotonic()
  ffi.C.exporter_clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

return M
