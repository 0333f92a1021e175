-- A real Prometheus server on loopback for the specs: started with a config
-- of the spec's own, asked through its HTTP API, stopped.
local cjson = require("cjson")
local files = require("helpers.files")

local M = {}

--- A free loopback port: the kernel picks one, we reuse it.
function M.free_port()
  return tonumber((files.run("python3 -c 'import socket; s=socket.socket(); "
    .. "s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")))
end

local Server = {}
Server.__index = Server

--- Starts Prometheus with `config` (prometheus.yml's text); extra files
-- (name -> text) are written next to it, for rule_files.
function M.start(config, extra)
  local dir = files.tmpdir()
  files.write(dir .. "/prometheus.yml", config)
  for name, text in pairs(extra or {}) do
    files.write(dir .. "/" .. name, text)
  end
  local self = setmetatable({ dir = dir, port = M.free_port() }, Server)
  self.url = "http://127.0.0.1:" .. self.port
  files.run(("(prometheus --config.file=%s/prometheus.yml --storage.tsdb.path=%s/data "
    .. "--web.listen-address=127.0.0.1:%d >%s/log 2>&1 & echo $! >%s/pid) </dev/null >/dev/null 2>&1")
    :format(dir, dir, self.port, dir, dir))
  for _ = 1, 100 do
    local _, code = files.sh(("curl -sf %s/-/ready >/dev/null"):format(self.url))
    if code == 0 then
      return self
    end
    os.execute("sleep 0.1")
  end
  error("Prometheus did not start in 10 s:\n" .. (files.try_read(dir .. "/log") or ""))
end

--- GET an API path with URL-encoded parameters; the decoded JSON answer.
function Server:api(path, params)
  local args = {}
  for _, kv in ipairs(params or {}) do
    args[#args + 1] = "--data-urlencode '" .. kv[1] .. "=" .. kv[2]:gsub("'", "'\\''") .. "'"
  end
  local body = files.run(("curl -sG %s %s%s"):format(table.concat(args, " "), self.url, path))
  local ok, doc = pcall(cjson.decode, body)
  assert(ok, path .. ": not JSON: " .. body)
  return doc
end

--- An instant query: the result list, or an error naming the query.
function Server:query(expr)
  local doc = self:api("/api/v1/query", { { "query", expr } })
  assert(doc.status == "success", expr .. ": " .. tostring(doc.error))
  return doc.data.result
end

--- Polls until `expr` gives one sample equal to `value` (30 s at most);
-- returns the last value seen.
function Server:wait_value(expr, value)
  local seen
  -- Up to 30 s: on a loaded machine a scrape, a rule evaluation and a
  -- query each take their time; an exact value ends the wait at once.
  for _ = 1, 300 do
    local r = self:query(expr)
    seen = r[1] and tonumber(r[1].value[2])
    if seen == value then
      return seen
    end
    os.execute("sleep 0.1")
  end
  return seen
end

function Server:log()
  return files.try_read(self.dir .. "/log") or ""
end

function Server:stop()
  os.execute(("pid=$(cat %s/pid); kill $pid 2>/dev/null; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; "
    .. "rm -rf %s"):format(self.dir, self.dir))
end

return M
