-- A test OTLP/HTTP receiver (spec/helpers/otlp_receiver.py, Debian's
-- Python), and the spans it received, decoded from the wire by itself.
local files = require("helpers.files")

local M = {}

M.PYTHON = "/usr/bin/python3.11"
M.SCRIPT = "spec/helpers/otlp_receiver.py"

local Receiver = {}
Receiver.__index = Receiver

--- Starts a receiver on a free loopback port. opts: { status = <answer
-- every request with it>, discard = <answer 200, decode nothing> }.
function M.start(opts)
  opts = opts or {}
  local dir = files.tmpdir()
  local self = setmetatable({ dir = dir, out = dir .. "/spans" }, Receiver)
  local args = ("--port-file %s/port --out %s%s%s"):format(dir, self.out,
    opts.status and (" --status " .. opts.status) or "", opts.discard and " --discard" or "")
  local pid = files.sh(("%s %s %s </dev/null >%s/log 2>&1 & echo $!"):format(M.PYTHON, M.SCRIPT, args, dir))
  self.pid = tonumber(pid:match("%d+"))
  for _ = 1, 100 do
    local port = files.try_read(dir .. "/port")
    if port then
      self.port = tonumber(port)
      self.url = "http://127.0.0.1:" .. port
      return self
    end
    os.execute("sleep 0.05")
  end
  error("the OTLP receiver did not start: " .. (files.try_read(dir .. "/log") or ""))
end

--- The spans received so far, in order, each a table: name, trace_id,
-- span_id, parent_span_id (hex, "" for none), kind, start, end_ (Unix ns),
-- flags, attributes and resource (key -> string value), scope, scope_version.
function Receiver:spans()
  local spans = {}
  for line in (files.try_read(self.out) or ""):gmatch("[^\n]+") do
    spans[#spans + 1] = assert(loadstring("return " .. line))()
  end
  return spans
end

--- Requests, spans and body bytes received.
function Receiver:stats()
  local out = files.sh("curl -s " .. self.url .. "/stats")
  local requests, spans, bytes = out:match("(%d+) (%d+) (%d+)")
  return tonumber(requests), tonumber(spans), tonumber(bytes)
end

--- Waits until `n` spans matching `pred` (all when nil) have arrived, at most
-- `seconds`; returns them.
function Receiver:wait(n, pred, seconds)
  local found
  for _ = 1, (seconds or 10) * 10 do
    found = {}
    for _, s in ipairs(self:spans()) do
      if not pred or pred(s) then
        found[#found + 1] = s
      end
    end
    if #found >= n then
      return found
    end
    os.execute("sleep 0.1")
  end
  return found
end

--- The last request's headers, names in lower case: name -> value.
function Receiver:headers()
  local headers = {}
  for name, value in files.sh("curl -s " .. self.url .. "/headers"):gmatch("([^:\n]+): ([^\n]*)") do
    headers[name] = value
  end
  return headers
end

function Receiver:log()
  return files.try_read(self.dir .. "/log") or ""
end

function Receiver:stop()
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  os.execute("rm -rf " .. self.dir)
end

--- The OTEL_* environment that sends spans to this receiver, quickly.
function Receiver:env(extra)
  return ("OTEL_EXPORTER_OTLP_ENDPOINT=%s OTEL_BSP_SCHEDULE_DELAY=100 %s"):format(self.url, extra or "")
end

return M
