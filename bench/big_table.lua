-- A user decoder that holds a big Lua table must not make every scrape pay
-- for it (a garbage collector walking it at each scrape would): the CPU of a
-- warm scrape of the same 1,000 keys, with the decoder's table empty and
-- with 100,000 entries.
local common = require("common")
local files = require("helpers.files")

local KEYS = 1000
local SCRAPES = 200

-- Names each key from a table of `entries` names made at config load.
local DECODER = [[
local M = {}
function M.new(options)
  local n = options.entries
  local names = {}
  for i = 0, n - 1 do names[i] = "name_" .. i end
  return function(input)
    return names[tonumber(input) % math.max(n, 1)] or "none"
  end
end
return M
]]

local YAML = [[
metrics:
  counters:
    - name: bench_values
      help: Benchmark values by key, named by a user decoder
      labels:
        - name: key
          size: 8
          decoders:
            - name: uint
            - name: big_table
              entries: %d
]]

local function scrape_cpu(build, dir, entries)
  common.helper.sh("mkdir -p " .. dir .. "/decoders")
  common.run(("cp %s/bench/bench.bpf.o %s/big.bpf.o"):format(build, dir))
  files.write(dir .. "/decoders/big_table.lua", DECODER)
  files.write(dir .. "/big.yaml", YAML:format(entries))
  local median, mean, rss
  common.with_exporter({ dir = dir, names = "big" }, function(e)
    common.run(("%s/elx-bench-baseline fill %d %d"):format(build, common.map_id(e, "bench_values"), KEYS))
    for _ = 1, 20 do common.scrape_cpu_ms(e) end -- decoded, cached, compiled
    local cpu = {}
    for i = 1, SCRAPES do cpu[i] = common.scrape_cpu_ms(e) end
    median, mean, rss = common.median(cpu), common.mean(cpu), common.rss_kib(e.pid)
  end)
  return median, mean, rss
end

return function(build)
  local dir = common.helper.tmpdir()
  local small = { scrape_cpu(build, dir, 0) }
  local big = { scrape_cpu(build, dir, 100000) }
  os.execute("rm -rf " .. dir)
  print(("\na user decoder holding a big table, %d keys, %d warm scrapes each:"):format(KEYS, SCRAPES))
  print(("  %-44s %12s %12s %10s"):format("the decoder's table", "CPU median", "CPU mean", "RSS"))
  print(("  %-44s %9.2f ms %9.2f ms %6.1f MiB"):format("empty", small[1], small[2], small[3] / 1024))
  print(("  %-44s %9.2f ms %9.2f ms %6.1f MiB"):format("100,000 entries", big[1], big[2], big[3] / 1024))
  print(("  100,000 entries / empty: %.2fx (median), %.2fx (mean, with the garbage collections)"):format(
    big[1] / small[1], big[2] / small[2]))
end
