-- File and shell helpers for specs, unit and integration alike.
local M = {}

--- A file's content; nil when it cannot be read.
function M.try_read(path)
  local f = io.open(path)
  if not f then
    return nil
  end
  local s = f:read("*a")
  f:close()
  return s
end

--- A file's content; an error when it cannot be read.
function M.read(path)
  return assert(M.try_read(path), "cannot read " .. path)
end

function M.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

--- Runs a shell command; returns its output (stdout and stderr) and exit
-- code. LuaJIT's popen():close() does not give the code: the shell prints it.
function M.sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"__exit=$?\""))
  local out = p:read("*a")
  p:close()
  local body, code = out:match("^(.-)__exit=(%d+)\n$")
  return body, tonumber(code)
end

--- Runs a shell command that must succeed; returns its output.
function M.run(cmd)
  local out, code = M.sh(cmd)
  assert(code == 0, cmd .. ": " .. out)
  return out
end

function M.tmpdir()
  return (M.run("mktemp -d /tmp/elx-spec.XXXXXX"):gsub("%s+$", ""))
end

return M
