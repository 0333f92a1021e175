-- Integration helpers: run the real exporter binary, scrape it with real HTTP
-- clients (curl), and read the exposition text into exact values.
local files = require("helpers.files")

local M = {}

M.build = os.getenv("ELX_BUILD") or "build"
M.binary = M.build .. "/ebpf-lua-exporter"
M.spec_dir = M.build .. "/spec"
M.examples_dir = M.build .. "/examples"

local sh = files.sh
M.sh = sh

function M.sleep(seconds)
  os.execute("sleep " .. seconds)
end

M.read_file = files.try_read

local tmpdir = files.tmpdir
M.tmpdir = tmpdir

--- A config dir holding a copy of a built test object under `name`, with a
-- YAML of the spec's own.
function M.config_dir(object, name, yaml)
  local dir = tmpdir()
  files.run(("cp %s/%s.bpf.o %s/%s.bpf.o"):format(M.spec_dir, object, dir, name))
  files.write(dir .. "/" .. name .. ".yaml", yaml)
  return dir
end

-- Runs the exporter to completion (for --config.check and flag errors),
-- with `env` ("VAR=value ...") if given.
-- Returns its output and exit code, and apart the line with which it logs
-- its version when it starts, taken out of the output so that specs compare
-- the rest exactly.
function M.run(args, env)
  local out, code = sh((env and ("env " .. env .. " ") or "") .. M.binary .. " " .. args)
  local version, rest = out:match("^(info: ebpf%-lua%-exporter [^\n]*)\n(.*)$")
  if version then
    return rest, code, version
  end
  return out, code
end

local Exporter = {}
Exporter.__index = Exporter

--- Starts the exporter on a free loopback port and waits until it serves.
-- opts: { dir = <config dir>, names = "a,b", args = "<more flags>", env = "VAR=value ..." }
function M.start(opts)
  local work = tmpdir()
  local self = setmetatable({ work = work, log = work .. "/log", rc = work .. "/rc" }, Exporter)
  local cmd = ("%s %s --config.dir=%s --config.names=%s --web.listen-address=127.0.0.1:0 %s"):format(
    opts.env and ("env " .. opts.env) or "", M.binary, opts.dir or M.spec_dir, opts.names, opts.args or "")
  -- The subshell records the exit code, which the spec checks at stop().
  local out = sh(("(%s >%s 2>&1; echo $? >%s) </dev/null >/dev/null 2>&1 & echo $!"):format(
    cmd, self.log, self.rc))
  self.shell_pid = tonumber(out:match("%d+"))
  for _ = 1, 200 do
    local log = M.read_file(self.log) or ""
    local port = log:match("listening on [^\n]* %(port (%d+)%)")
    if port then
      self.port = tonumber(port)
      self.url = "http://127.0.0.1:" .. port
      self.pid = tonumber((sh("pgrep -P " .. self.shell_pid .. " -f ebpf-lua-exporter"):match("%d+")))
      return self
    end
    if M.read_file(self.rc) then
      error("the exporter exited at start:\n" .. log)
    end
    M.sleep(0.05)
  end
  error("the exporter did not start listening in 10 s:\n" .. (M.read_file(self.log) or ""))
end

--- GET a path with curl. Returns body, HTTP status, headers text.
function Exporter:get(path, curl_args)
  local hdr = self.work .. "/headers"
  local body = sh(("curl -s -D %s %s %s%s"):format(hdr, curl_args or "", self.url, path or "/metrics"))
  local headers = M.read_file(hdr) or ""
  return body, tonumber(headers:match("^HTTP/1%.1 (%d+)")), headers
end

function Exporter:scrape()
  local body, status = self:get("/metrics")
  assert(status == 200, "scrape answered " .. tostring(status) .. ": " .. body)
  return body
end

--- Samples of a scrape by their exact series text: values["name{a=\"b\"}"] = number.
function M.samples(text)
  local values = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" then
      local series, value = line:match("^(.-) (%S+)$")
      values[series] = tonumber(value)
    end
  end
  return values
end

function Exporter:samples()
  return M.samples(self:scrape())
end

--- A config's decoder errors, every decoder's summed
-- (decoder_errors_total{config,decoder}); nil when it has no such series.
function M.decoder_errors(samples, config)
  local prefix = ('ebpf_exporter_decoder_errors_total{config="%s",decoder="'):format(config)
  local total
  for series, v in pairs(samples) do
    if series:sub(1, #prefix) == prefix then
      total = (total or 0) + v
    end
  end
  return total
end

--- Stops with SIGTERM and returns the exit code and the log.
function Exporter:stop()
  if self.pid then
    os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  end
  return self:wait()
end

--- Waits for the exporter to exit; returns the exit code and the log.
function Exporter:wait()
  for _ = 1, 200 do
    local rc = M.read_file(self.rc)
    if rc and rc:match("%d") then
      local log = M.read_file(self.log)
      os.execute("rm -rf " .. self.work)
      return tonumber(rc), log
    end
    M.sleep(0.05)
  end
  os.execute("kill -KILL " .. tostring(self.pid) .. " 2>/dev/null")
  error("the exporter did not exit within 10 s of SIGTERM")
end

--- The spec objects' directory as an absolute path (as SEC() names hold it).
function M.abs_spec_dir()
  return (sh("realpath " .. M.spec_dir):gsub("%s+$", ""))
end

--- Ids of the programs the exporter reports as loaded.
function M.program_ids(text)
  local ids = {}
  for id in text:gmatch('ebpf_exporter_ebpf_program_info{[^}]*id="(%d+)"') do
    ids[#ids + 1] = tonumber(id)
  end
  return ids
end

--- Whether the kernel still has a program with this id.
function M.program_loaded(id)
  local _, code = sh("bpftool prog show id " .. id)
  return code == 0
end

return M
