-- What /proc/<pid> says about a process, for target selectors and the
-- pid_command decoder: its command, executable, command line, cgroup, parent
-- and start time. Every read may fail (the process exited): nil then.
-- Specs point api.paths.proc at a fixture directory.
local api = require("exporter.decoder_api")
local libc = require("exporter.libc")

local M = {}

local function dir(pid)
  return (api.paths.proc or "/proc") .. "/" .. pid
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local s = f:read("*a")
  f:close()
  return s
end

--- /proc/PID/comm: the command, at most 15 bytes.
function M.comm(pid)
  local s = read(dir(pid) .. "/comm")
  return s and (s:gsub("\n$", ""))
end

--- The executable's path as the process sees it, also when the file was
-- replaced or removed since it started (/proc marks that " (deleted)").
function M.exe(pid)
  local path = libc.readlink(dir(pid) .. "/exe")
  return path and (path:gsub(" %(deleted%)$", ""))
end

--- The arguments joined by spaces ("" for kernel threads, which have none).
function M.cmdline(pid)
  local s = read(dir(pid) .. "/cmdline")
  return s and (s:gsub("%z+$", ""):gsub("%z", " "))
end

--- The cgroup v2 path ("/system.slice/x.service"), or "" when the process's
-- cgroup v2 line is missing (a cgroup v1 only machine).
function M.cgroup(pid)
  local s = read(dir(pid) .. "/cgroup")
  if not s then
    return nil
  end
  return s:match("^0::([^\n]*)") or s:match("\n0::([^\n]*)") or ""
end

--- The parent's pid and the start time (clock ticks after boot, field 22)
-- from /proc/PID/stat: a pid whose start time changed names another process.
function M.stat(pid)
  local s = read(dir(pid) .. "/stat")
  -- The command, field 2, may hold spaces and parentheses: fields are
  -- counted after its last ")".
  local rest = s and s:match("^.*%)%s(.*)$")
  if not rest then
    return nil
  end
  local fields = {}
  for f in rest:gmatch("%S+") do
    fields[#fields + 1] = f
    if #fields == 20 then
      break
    end
  end
  -- rest starts at field 3 (state): field n is fields[n - 2].
  return { ppid = tonumber(fields[2]), started = tonumber(fields[20]) }
end

return M
