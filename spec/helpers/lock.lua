-- A lock shared by every copy of the integration specs on this machine,
-- whatever its worktree or build, for counts of events that only these
-- specs make but that the program counting them cannot tell apart: the
-- shipped syscalls example counts every process's failures by syscall and
-- errno, so two copies failing setpriority(99, 0, 0) at once would count
-- each other's.
local libc = require("exporter.libc")

local M = {}

M.dir = "/run/lock"

--- Takes the lock `name`, waiting for it; returns a function that releases it.
-- A process that dies releases its locks with its file descriptors.
function M.take(name)
  local path = ("%s/ebpf-lua-exporter-spec-%s.lock"):format(M.dir, name)
  local fd, errno = libc.open(path, bit.bor(libc.O_RDWR, libc.O_CREAT, libc.O_CLOEXEC), tonumber("666", 8))
  assert(fd, path .. ": " .. (errno and libc.strerror(errno) or "?"))
  local ok, err = libc.flock(fd, libc.LOCK_EX)
  assert(ok, path .. ": flock: " .. (err and libc.strerror(err) or "?"))
  return function()
    if fd then
      libc.close(fd)
      fd = nil
    end
  end
end

--- Runs fn() holding the lock `name`, and releases it however fn ends.
function M.with(name, fn)
  local release = M.take(name)
  local ok, err = pcall(fn)
  release()
  if not ok then error(err, 0) end
end

return M
