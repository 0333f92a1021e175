-- A worked example of a user decoder (see docs/decoders.md): turns a pid into
-- the process's command line, or the id of the container it runs in.
--
--   - name: pid
--     size: 4
--     decoders:
--       - name: uint
--       - name: pid_process
--         show: command            # or: container (default command)
--         max_length: 64           # command lines are cut there (default 128)
--
-- command: the arguments from /proc/<pid>/cmdline joined by spaces.
-- container: the 64-hex-digit container id found in /proc/<pid>/cgroup
-- (docker, containerd, CRI-O and podman name their cgroups with it), or
-- "host" for a process outside any container.
-- A process that has exited gives "exited:<pid>". Pids are reused, so an
-- answer is kept for `ttl` seconds only (default 60).
--
-- It runs in the decoder sandbox: api.read_file reads /proc, which every
-- user may read, where io.open is not available.
local api = require("exporter.decoder_api")

local M = {}

local read_file = api.read_file

local function command_line(pid, max_length)
  local raw = read_file(("%s/%d/cmdline"):format(api.paths.proc or "/proc", pid))
  if raw == nil then
    return nil
  end
  -- Kernel threads have an empty cmdline: their name is in comm.
  if raw == "" then
    local comm = read_file(("%s/%d/comm"):format(api.paths.proc or "/proc", pid)) or ""
    return "[" .. comm:gsub("\n$", "") .. "]"
  end
  local line = raw:gsub("%z+$", ""):gsub("%z", " ")
  return line:sub(1, max_length)
end

local function container_id(pid)
  local cgroups = read_file(("%s/%d/cgroup"):format(api.paths.proc or "/proc", pid))
  if cgroups == nil then
    return nil
  end
  -- e.g. 0::/system.slice/docker-<id>.scope, .../cri-containerd-<id>.scope,
  -- 4:memory:/docker/<id>, .../libpod-<id>.scope: the first run of exactly
  -- 64 hex digits is the id.
  for id in cgroups:gmatch("%x+") do
    if #id == 64 then
      return id
    end
  end
  return "host"
end

function M.new(options, ctx)
  local show = options.show or "command"
  if show ~= "command" and show ~= "container" then
    return nil, ('pid_process: show must be command or container, not %q'):format(tostring(show))
  end
  if ctx.input_size ~= nil then
    return nil, "pid_process: needs the decimal pid from a decoder such as uint first"
  end
  local max_length = options.max_length or 128
  local ttl = options.ttl or 60
  local cache = api.bounded_cache(4096)
  return function(input)
    local pid = tonumber(input)
    if not pid or pid ~= math.floor(pid) or pid < 1 then
      return nil, "pid_process: not a pid: " .. input
    end
    local now = api.now()
    local hit = cache.get(pid)
    if hit and now - hit.at < ttl then
      return hit.value
    end
    local value = show == "command" and command_line(pid, max_length) or container_id(pid)
    value = value or ("exited:%d"):format(pid)
    cache.put(pid, { value = value, at = now })
    return value
  end
end

return M
