-- What the exporter costs a node with the default examples (`make run`'s):
-- its RSS after 100 scrapes, and the CPU of a scrape: the first one (which
-- reads kallsyms), a warm one, and the first one after a reload that changes
-- nothing, which finds the kernel symbol index the core kept.
local common = require("common")

local DEFAULTS = "timers,softirqs,syscalls,biolatency"
local RELOADS = 10

return function(build)
  common.with_exporter({ dir = build .. "/examples", names = DEFAULTS, args = "--web.enable-lifecycle" }, function(e)
    common.helper.sleep(1) -- let the programs count something
    local rss_start = common.rss_kib(e.pid)
    local first = common.scrape_cpu_ms(e)
    local warm = {}
    for i = 1, 99 do warm[i] = common.scrape_cpu_ms(e) end
    local rss = common.rss_kib(e.pid)
    local after_reload, next_three = {}, {}
    for i = 1, RELOADS do
      common.reload(e)
      after_reload[i] = common.scrape_cpu_ms(e)
      for _ = 1, 3 do next_three[#next_three + 1] = common.scrape_cpu_ms(e) end
      for _ = 1, 20 do common.scrape_cpu_ms(e) end -- warm again
    end
    local warm_ms = common.median(warm)
    print(("\nthe default examples (%s), scraped over HTTP:"):format(DEFAULTS))
    print(("  %-48s %7.1f MiB (target <= 12 MiB); %.1f MiB at start"):format("exporter RSS after 100 scrapes",
      rss / 1024, rss_start / 1024))
    print(("  %-48s %7.2f ms"):format("CPU of the first scrape (reads kallsyms)", first))
    print(("  %-48s %7.2f ms"):format("CPU of a warm scrape (median of 99)", warm_ms))
    print(("  %-48s %7.2f ms = %.1fx a warm one (target <= 2x)"):format(
      ("CPU, first scrape after a reload (median of %d)"):format(RELOADS), common.median(after_reload),
      common.median(after_reload) / warm_ms))
    print(("  %-48s %7.2f ms"):format("CPU of the 3 scrapes after it (median)", common.median(next_three)))
  end)
end
