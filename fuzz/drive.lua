-- What the byte-flip and config mutation runs share: a real exporter that
-- reloads after each change and must answer every reload and every scrape;
-- their command line; and where a finding is kept.
local helper = require("helpers.exporter")
local files = require("helpers.files")

local M = {}

--- Reloads `e` with POST /-/reload and scrapes it. A reload is answered
-- 200, or 500 with the running configuration kept (the same programs as
-- `ids`); returns the status, the answer, and the programs now. A missing
-- answer (the exporter died or hung) is an error.
function M.reload_and_scrape(e, ids)
  local body, status = e:get("/-/reload", "-X POST --max-time 60")
  if status ~= 200 and status ~= 500 then
    error(("the reload was answered %s: %s"):format(tostring(status), body), 0)
  end
  local text, scrape_status = e:get("/metrics", "--max-time 60")
  if scrape_status ~= 200 then
    error(("after a reload answered %d, the scrape was answered %s"):format(status, tostring(scrape_status)), 0)
  end
  local now = helper.program_ids(text)
  if status == 500 and table.concat(now, ",") ~= table.concat(ids, ",") then
    error(("a failed reload changed the running programs from %s to %s"):format(
      table.concat(ids, ","), table.concat(now, ",")), 0)
  end
  return status, body, now
end

--- A run's options from its command line:
--   <build dir> <runs> [seconds] [seed]
-- runs 0 means no limit but the time; the seed defaults to the clock's.
function M.options(args, usage)
  local opts = { build = args[1], runs = tonumber(args[2]), seconds = tonumber(args[3] or "0"),
    seed = tonumber(args[4] or os.time()) }
  if not opts.build or not opts.runs then
    io.stderr:write("usage: ", usage, " <build dir> <runs> [seconds] [seed]\n")
    os.exit(2)
  end
  helper.build = opts.build
  helper.binary = opts.build .. "/ebpf-lua-exporter"
  helper.spec_dir = opts.build .. "/spec"
  return opts
end

--- Whether a run with `opts` has done `done` runs, or run out of time.
function M.more(opts, done, started)
  if opts.runs > 0 and done >= opts.runs then
    return false
  end
  return opts.seconds <= 0 or os.time() - started < opts.seconds
end

--- Keeps what made a run fail in a directory of its own and raises the
-- error.
function M.fail(name, bytes, err)
  local path = ("%s/finding-%s"):format(files.tmpdir(), name)
  files.write(path, bytes)
  io.stderr:write(("FINDING: %s\n  input kept as %s\n"):format(err, path))
  error(err .. " (input kept as " .. path .. ")", 0)
end

--- Runs fn(); on an error, stops `e` (whatever state it is in) and raises
-- the error again.
function M.guard(e, fn)
  local ok, err = pcall(fn)
  if not ok then
    pcall(e.stop, e)
    error(err, 0)
  end
end

return M
