-- The scrape of the 100,000-series map in each exposition format, next to
-- the text format, with the bytes each puts on the wire: called by run.lua
-- with the exporter that serves the filled map (--web.enable-openmetrics).
local common = require("common")

local RUNS = 9

local FORMATS = {
  { "text 0.0.4 (the default)", "" },
  { "text, gzip", "-H 'Accept-Encoding: gzip'" },
  { "OpenMetrics 1.0.0", "-H 'Accept: application/openmetrics-text;version=1.0.0'" },
  { "OpenMetrics, gzip", "-H 'Accept: application/openmetrics-text;version=1.0.0' -H 'Accept-Encoding: gzip'" },
  { "protobuf (delimited)", "-H 'Accept: application/vnd.google.protobuf;"
    .. "proto=io.prometheus.client.MetricFamily;encoding=delimited'" },
  { "protobuf, gzip", "-H 'Accept: application/vnd.google.protobuf;"
    .. "proto=io.prometheus.client.MetricFamily;encoding=delimited' -H 'Accept-Encoding: gzip'" },
}

-- Median scrape time (ms) of RUNS scrapes, and the bytes of the last one.
local function measure(e, headers)
  local times, bytes, ctype = {}, nil, nil
  for i = 1, RUNS do
    local out = common.run(("curl -s -o /dev/null -w '%%{time_total} %%{size_download} %%{content_type}' %s %s/metrics")
      :format(headers, e.url))
    local t, b, c = out:match("^(%S+) (%d+) (.*)$")
    times[i], bytes, ctype = tonumber(t) * 1e3, tonumber(b), c
  end
  return common.median(times), bytes, ctype
end

return function(e, n)
  print(("\nthe same %d series in each exposition format (median of %d scrapes, curl; bytes on the wire):"):format(n,
    RUNS))
  local base
  for _, f in ipairs(FORMATS) do
    local t, bytes, ctype = measure(e, f[2])
    base = base or t
    assert(bytes > 0 and ctype ~= "", f[1] .. ": nothing served")
    print(("  %-28s %8.1f ms  %5.2fx text  %9s  %5.1f bytes/series"):format(f[1], t, t / base,
      common.size(bytes), bytes / n))
  end
end
