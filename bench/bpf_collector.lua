-- --collector.bpf with 1,000 maps and 1,000 programs loaded (and whatever
-- else the machine runs): a scrape's time over HTTP and its CPU in the
-- exporter, the collector's own walk time per part, with the opt-in parts
-- one at a time; next to the floor (the same walk with nothing but the
-- syscalls, by bench/bpf_walk.c) and bpftool listing the same objects.
local common = require("common")

local helper = common.helper
local RUNS = 21

local function curl_ms(e)
  local cmd = ("curl -s -o %s/out -w '%%{time_total}' %s/metrics"):format(e.work, e.url)
  return tonumber((common.run(cmd))) * 1e3
end

local function count(text, family)
  local _, n = text:gsub("\n" .. family .. "{", "")
  return n
end

local function case(what, args)
  common.with_exporter({ args = args }, function(e)
    curl_ms(e) -- the first scrape: label caches filled
    local wall, cpu = {}, {}
    for i = 1, RUNS do
      wall[i] = curl_ms(e)
      cpu[i] = common.scrape_cpu_ms(e)
    end
    local text = helper.read_file(e.work .. "/out")
    local v = helper.samples(e:scrape())
    local walk = {}
    for _, part in ipairs({ "programs", "maps", "links", "btf" }) do
      walk[#walk + 1] = ("%s %.2f"):format(part,
        v['ebpf_exporter_bpf_collector_duration_seconds{collector="' .. part .. '"}'] * 1e3)
    end
    print(("  %-44s %7.2f ms  %7.2f ms CPU  (%d programs, %d maps, %d KiB)"):format(what, common.median(wall),
      common.median(cpu), count(text, "ebpf_program_info"), count(text, "ebpf_map_info"), math.floor(#text / 1024)))
    print(("  %-44s walk in ms: %s; RSS %.1f MiB"):format("", table.concat(walk, ", "),
      common.rss_kib(e.pid) / 1024))
  end)
end

local function best_ms(cmd, runs)
  local best = math.huge
  for _ = 1, runs do
    local out = common.run(("t0=$(date +%%s%%N); %s >/dev/null; echo $(($(date +%%s%%N) - t0))"):format(cmd))
    local ms = tonumber(out:match("%d+")) / 1e6
    best = math.min(best, ms)
  end
  return best
end

return function(build)
  local work = helper.tmpdir()
  local pid = tonumber((helper.sh(("%s/spec/elx-bpf-objects 1000 1000 > %s/ids 2>&1 & echo $!"):format(build, work))))
  for _ = 1, 300 do
    if (helper.read_file(work .. "/ids") or ""):find("ready", 1, true) then
      break
    end
    helper.sleep(0.1)
  end
  assert((helper.read_file(work .. "/ids") or ""):find("ready", 1, true), "elx-bpf-objects did not get ready")
  print(("\n--collector.bpf with 1,000 maps and 1,000 programs more loaded, over HTTP (median of %d):"):format(RUNS))
  local ok, err = pcall(function()
    case("--collector.bpf", "--collector.bpf")
    case("  + --collector.bpf.map-entries", "--collector.bpf --collector.bpf.map-entries")
    case("  + --collector.bpf.program-owners", "--collector.bpf --collector.bpf.program-owners")
    local floor = common.run(build .. "/elx-bench-bpf-walk " .. RUNS)
    local info, n = floor:match("info ([%d.]+) (%d+)")
    local fdinfo = floor:match("info%+fdinfo ([%d.]+)")
    print(("  %-44s %7.2f ms  (%d programs and maps)"):format("floor: info of each, in C (best of " .. RUNS .. ")",
      tonumber(info), tonumber(n)))
    print(("  %-44s %7.2f ms"):format("floor + fdinfo of each (memlock)", tonumber(fdinfo)))
    print(("  %-44s %7.2f ms"):format("bpftool prog show -j + map show -j (best of 3)",
      best_ms("bpftool prog show -j", 3) + best_ms("bpftool map show -j", 3)))
  end)
  os.execute("kill " .. pid)
  os.execute("rm -rf " .. work)
  assert(ok, err)
end
