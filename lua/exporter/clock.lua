-- The core's clock: seconds on CLOCK_MONOTONIC, for its own timings (scrape
-- durations). Decoders have theirs in decoder_api, which specs replace.
local M = {}

M.monotonic = require("exporter.libc").monotonic

return M
