-- What the benchmark's sections share: running commands, starting the
-- exporter, and reading a process's memory and CPU time.
local helper = require("helpers.exporter")

local M = {}

M.helper = helper

function M.run(cmd)
  local out, code = helper.sh(cmd)
  assert(code == 0, cmd .. " failed: " .. out)
  return out
end

function M.median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  return s[math.floor((#s + 1) / 2)]
end

function M.mean(xs)
  local sum = 0
  for _, x in ipairs(xs) do sum = sum + x end
  return sum / #xs
end

function M.rss_kib(pid)
  local status = helper.read_file("/proc/" .. pid .. "/status") or ""
  return tonumber(status:match("VmRSS:%s+(%d+) kB"))
end

--- CPU time a process has used, in ns, all its threads: from schedstat,
-- which counts in nanoseconds where /proc/<pid>/stat counts in 10 ms ticks.
function M.cpu_ns(pid)
  local total = 0
  for tid in helper.sh("ls /proc/" .. pid .. "/task"):gmatch("%d+") do
    local s = helper.read_file("/proc/" .. pid .. "/task/" .. tid .. "/schedstat")
    if s then total = total + tonumber(s:match("^(%d+)")) end
  end
  return total
end

--- Scrapes e once; returns the CPU the exporter spent on it (ms) and the body.
function M.scrape_cpu_ms(e)
  local before = M.cpu_ns(e.pid)
  local body = e:scrape()
  return (M.cpu_ns(e.pid) - before) / 1e6, body
end

--- The id of the map named `name` among the maps the exporter under test
-- holds (its file descriptors, not the machine's maps: another copy of the
-- bench object may be loaded elsewhere, with a map of the same name).
function M.map_id(e, name)
  local ids = helper.maps_named(e.pid, name)
  assert(#ids == 1, ("the exporter holds %d maps named %s, not 1"):format(#ids, name))
  return ids[1]
end

function M.reload(e)
  M.run(("curl -s -f -X POST -o /dev/null %s/-/reload"):format(e.url))
end

--- Runs fn(e) with an exporter started with `opts`; stops it whatever
-- happens, and ends the bench on an error.
function M.with_exporter(opts, fn)
  local e = helper.start(opts)
  local ok, err = pcall(fn, e)
  e:stop()
  if not ok then
    io.stderr:write("bench failed: ", tostring(err), "\n")
    os.exit(1)
  end
end

--- Lua heap in KiB after full collections.
function M.heap_kib()
  collectgarbage()
  collectgarbage()
  return collectgarbage("count")
end

function M.size(bytes)
  if bytes >= 1024 * 1024 then return ("%.1f MiB"):format(bytes / 1024 / 1024) end
  return ("%.1f KiB"):format(bytes / 1024)
end

return M
