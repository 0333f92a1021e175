-- The scrape of a 100,000-series map over real HTTP (issue 17's targets),
-- each figure next to its target and to baselines measured in the same run
-- on the same map by a C program (bench/baseline.c): the floor (one batch
-- lookup + sprintf per line, measured between the warm scrapes) and a
-- key-by-key walk (get_next_key + lookup, the way ebpf_exporter reads
-- maps). Then: the first scrape after a reload
-- that changes nothing, keys that churn (10% replaced before each of 1,000
-- scrapes), memory per series, the same series in each exposition format
-- (bench/formats.lua) and the decoder-heavy map.
local common = require("common")
local helper = common.helper

local N = 100000
local WARM_RUNS = 15
local CHURN_ROUNDS = 1000

local run, median, rss_kib = common.run, common.median, common.rss_kib

local function ms(cmd)
  return tonumber((run(cmd)))
end

local function row(what, t, note) -- milliseconds, and nanoseconds per series
  print(("  %-54s %8.1f ms  %6.0f ns/series%s"):format(what, t, t * 1e6 / N, note and ("  " .. note) or ""))
end

local function curl_ms(e, extra)
  local cmd = ("curl -s -o %s/out -w '%%{time_total}' %s %s/metrics"):format(e.work, extra or "", e.url)
  return tonumber((run(cmd))) * 1e3
end

local function series_in(e, family)
  local _, n = helper.read_file(e.work .. "/out"):gsub("\n" .. family .. "{", "")
  return n
end

local function check(ok)
  return ok and "ok" or "MISSED"
end

local function reload(e)
  run(("curl -s -f -X POST -o /dev/null %s/-/reload"):format(e.url))
end

-- Scrapes after each round of churn: their times, and the RSS before the
-- first round, after round 100 and after the last.
local function churn(e, baseline)
  local rss, times = { rss_kib(e.pid) }, {}
  local map = common.map_id(e, "bench_values") -- after the reload: the exporter's own, by id
  for round = 1, CHURN_ROUNDS do
    run(("%s churn %d %d"):format(baseline, map, round))
    times[round] = curl_ms(e)
    if round == 100 then
      rss[2] = rss_kib(e.pid)
    end
  end
  assert(series_in(e, "ebpf_exporter_bench_values") == N, "the churned scrape lost series")
  rss[3] = rss_kib(e.pid)
  return times, rss
end

local function uint_map(build)
  local baseline = build .. "/elx-bench-baseline"
  local args = "--web.enable-lifecycle --web.enable-openmetrics"
  common.with_exporter({ dir = build .. "/bench", names = "bench", args = args }, function(e)
    local rss_idle = rss_kib(e.pid)
    local map = common.map_id(e, "bench_values")
    run(("%s fill %d %d"):format(baseline, map, N))
    local cold = curl_ms(e)
    local lines = series_in(e, "ebpf_exporter_bench_values")
    assert(lines == N, ("the scrape has %d series, not %d"):format(lines, N))
    -- Warm scrapes and the floor take turns, so that both see the machine
    -- as it is at the time (its speed drifts by a quarter over a minute).
    local warm, floors = {}, {}
    for i = 1, WARM_RUNS do
      floors[i] = ms(("%s floor %d 3"):format(baseline, map))
      warm[i] = curl_ms(e)
    end
    local warm_ms, floor = median(warm), median(floors)
    local gz = {}
    for i = 1, 5 do
      gz[i] = curl_ms(e, "-H 'Accept-Encoding: gzip'")
    end
    local rss = rss_kib(e.pid)
    reload(e)
    local after_reload = curl_ms(e)
    local walk = ms(("%s walk %d 3"):format(baseline, map))
    local times, rss_churn = churn(e, baseline)
    local churn_ms = median(times)
    print(("\nscrape of %d series (u64 keys, uint decoder), over HTTP with curl:"):format(N))
    row("exporter, cold (first scrape, decoding)", cold, ("target <= 1000 ns/series and <= key by key: %s")
      :format(check(cold <= N * 1e-3 and cold <= walk)))
    row("exporter, warm (median of " .. WARM_RUNS .. ")", warm_ms)
    row("exporter, warm, gzip (median of 5)", median(gz))
    row("exporter, first scrape after a reload", after_reload, ("= %.2fx warm (target <= 2x, issue 18): %s")
      :format(after_reload / warm_ms, check(after_reload <= 2 * warm_ms)))
    row(("exporter, 10%% of keys new (median of %d)"):format(CHURN_ROUNDS), churn_ms,
      ("= %.2fx warm (target <= 1.5x): %s"):format(churn_ms / warm_ms, check(churn_ms <= 1.5 * warm_ms)))
    row("floor: batch lookup + sprintf (" .. WARM_RUNS .. " x best of 3, median)", floor)
    row("key by key: get_next_key + lookup (best of 3)", walk)
    print(("  warm / floor = %.2fx (target <= 1.5x): %s; cold / key by key = %.2fx (target <= 1x)"):format(
      warm_ms / floor, check(warm_ms <= 1.5 * floor), cold / walk))
    print(("  exporter RSS: %.1f MiB before the map was filled, %.1f MiB after %d scrapes (target <= 25 MB: %s);"
      .. " %.0f bytes/series"):format(rss_idle / 1024, rss / 1024, WARM_RUNS + 6,
      check(rss * 1024 <= 25e6), (rss - rss_idle) * 1024 / N))
    print(("  RSS over %d scrapes of keys that churn: %.1f MiB before, %.1f MiB after 100, %.1f MiB after %d"
      .. " (flat from 100 on: %s)"):format(CHURN_ROUNDS, rss_churn[1] / 1024, rss_churn[2] / 1024, rss_churn[3] / 1024,
      CHURN_ROUNDS, check(rss_churn[3] <= rss_churn[2] * 1.05)))
    require("formats")(e, N)
  end)
end

-- Decoder-heavy: every key through uint -> cgroup, inet_ip, and a user Lua
-- decoder (examples/decoders/port_service.lua, from build/bench/decoders).
local function decoded_map(build)
  common.with_exporter({ dir = build .. "/bench", names = "bench_decoded" }, function(e)
    run(("%s/elx-bench-baseline fill-decoded %d %d"):format(build, common.map_id(e, "bench_decoded"), N))
    local cold = curl_ms(e)
    local lines = series_in(e, "ebpf_exporter_bench_decoded")
    local text = helper.read_file(e.work .. "/out")
    assert(not text:find("unknown_cgroup_id", 1, true), "a cgroup id did not resolve")
    local warm = {}
    for i = 1, WARM_RUNS do
      warm[i] = curl_ms(e)
    end
    print(("\nscrape of %d keys through uint->cgroup, inet_ip and a user decoder, %d series:"):format(N, lines))
    row("exporter, cold (first scrape, decoding)", cold, ("target <= 2500 ns/series: %s")
      :format(check(cold <= N * 2.5e-3)))
    row("exporter, warm (median of " .. WARM_RUNS .. ")", median(warm))
    print(("  exporter RSS: %.1f MiB"):format(rss_kib(e.pid) / 1024))
  end)
end

return function(build)
  uint_map(build)
  decoded_map(build)
end
