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

local HITS_BY_VALUE = [[
metrics:
  counters:
    - name: test_hits_by_value_total
      help: Calls of elx_test_hit by a user decoder's view of the argument
      labels:
        - name: value
          size: 8
          decoders:
            - name: uint
%s
]]

--- A config dir of uprobe_test.bpf.o under `name` whose one metric labels
-- elx_test_hit's argument with uint and then `decoders` (names, in order),
-- and an empty <dir>/decoders for users' decoders.
function M.decoded_hits_dir(name, decoders)
  local chain = {}
  for i, d in ipairs(decoders) do
    chain[i] = "            - name: " .. d
  end
  local dir = M.config_dir("uprobe_test", name, HITS_BY_VALUE:format(table.concat(chain, "\n")))
  files.run("mkdir -p " .. dir .. "/decoders")
  return dir
end

-- Runs the exporter to completion (for --config.check and flag errors),
-- with `env` ("VAR=value ...") if given, on a free port unless `args` names
-- a listen address.
-- Returns its output and exit code, and apart the line with which it logs
-- its version when it starts, taken out of the output so that specs compare
-- the rest exactly.
function M.run(args, env)
  -- The exporter binds its address before it loads anything: a spec that
  -- names none gets a free port, never the default :9435 that may be taken.
  if not args:find("--web.listen-address", 1, true) then
    args = "--web.listen-address=127.0.0.1:0 " .. args
  end
  local out, code = sh((env and ("env " .. env .. " ") or "") .. M.binary .. " " .. args)
  local version, rest = out:match("^(info: ebpf%-lua%-exporter [^\n]*)\n(.*)$")
  if version then
    return rest, code, version
  end
  return out, code
end

local Exporter = {}
Exporter.__index = Exporter

--- The command prefix that runs a command in network namespace ns ("" for none).
function M.in_netns(ns)
  return ns and ("ip netns exec " .. ns .. " ") or ""
end

--- A network namespace of the spec's own, with lo up: interfaces in it
-- (lo's XDP slot among them) are no other process's. Returns its name and a
-- function that deletes it.
function M.netns()
  local name = ("elx-%d-%d"):format(tonumber((sh("echo $PPID"))), math.random(1e6))
  files.run(("ip netns add %s && ip -n %s link set lo up"):format(name, name))
  return name, function() os.execute("ip netns del " .. name .. " 2>/dev/null") end
end

--- Starts the exporter on a free loopback port and waits until it serves.
-- opts: { dir = <config dir>, names = "a,b", args = "<more flags>", env = "VAR=value ...",
-- netns = <network namespace to run in, whose loopback it then listens on>,
-- wrap = "<a command that runs the exporter, such as prlimit ...>" }; without
-- names, no config flags (--collector.bpf alone).
function M.start(opts)
  local work = tmpdir()
  local self = setmetatable({ work = work, log = work .. "/log", rc = work .. "/rc", netns = opts.netns }, Exporter)
  local configs = opts.names and ("--config.dir=%s --config.names=%s"):format(opts.dir or M.spec_dir, opts.names)
    or ""
  local cmd = ("%s%s %s %s %s --web.listen-address=127.0.0.1:0 %s"):format(
    M.in_netns(opts.netns), opts.env and ("env " .. opts.env) or "", opts.wrap or "", M.binary, configs,
    opts.args or "")
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
  local body = sh(("%scurl -s -D %s %s %s%s"):format(M.in_netns(self.netns), hdr, curl_args or "", self.url,
    path or "/metrics"))
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

--- The git revision the binary was built from, as the build recorded it;
-- it must name a commit of this repository.
--- A start and a stop for a spec file whose exporters must not outlive a
-- failing test: each one start()ed is stopped after its test however it
-- ended, but those started `shared` (a describe's setup: its teardown's to
-- stop). stop(e) returns e's exit code and log. `after_each` is the spec
-- file's (busted's globals live in the spec's environment, not here).
function M.tracked(after_each)
  local running = {}
  local function start(opts, shared)
    local e = M.start(opts)
    running[e] = not shared or nil
    return e
  end
  local function stop(e)
    running[e] = nil
    return e:stop()
  end
  after_each(function()
    for e in pairs(running) do
      pcall(stop, e)
    end
  end)
  return start, stop
end

--- promtool's lint of the exposition in `path`, less its one complaint about
-- a name ebpf_exporter gives (the programs' run time, in the output while
-- anything on the machine has kernel.bpf_stats_enabled on): "" when clean.
function M.promtool_lint(path)
  local out = M.sh("promtool check metrics < " .. path)
  return (out:gsub('ebpf_exporter_ebpf_program_run_time_seconds counter metrics should have "_total" suffix\n', ""))
end

function M.revision()
  local text = assert(M.read_file(M.build .. "/gen/revision.h"), "no revision.h: run make build")
  local rev = assert(text:match('#define ELX_REVISION "(%x+)"'), text)
  local _, code = sh("git cat-file -e " .. rev .. "^{commit}")
  assert(code == 0, rev .. " is no commit of this repository")
  return rev
end

--- The spec objects' directory as an absolute path (as SEC() names hold it).
function M.abs_spec_dir()
  return (sh("realpath " .. M.spec_dir):gsub("%s+$", ""))
end

--- The BPF objects a process holds file descriptors of, from
-- /proc/<pid>/fdinfo: what belongs to that process and to nothing else on
-- the machine. Returns { progs = {id...}, maps = {id...}, links = {{ id =,
-- type =, prog = }...}, kinds = { [fd target, e.g. "anon_inode:bpf-prog"] =
-- count } }, ids sorted.
function M.bpf_fds(pid)
  -- An fd closed while the list is read has no target: it is left out.
  local out = sh(("for f in /proc/%d/fd/*; do t=$(readlink $f) && echo \"fd $t\" && "
    .. "cat /proc/%d/fdinfo/${f##*/} 2>/dev/null; done"):format(pid, pid))
  local fds = { progs = {}, maps = {}, links = {}, kinds = {} }
  local link
  for line in out:gmatch("[^\n]+") do
    local target = line:match("^fd (.*)$")
    local key, value = line:match("^([%w_]+):%s+(%S+)")
    if target then
      -- "socket:[43214]" and the like: counted by kind.
      local kind = target:gsub("%[%d+%]$", "[]")
      fds.kinds[kind] = (fds.kinds[kind] or 0) + 1
      link = nil
    elseif key == "link_type" then
      link = { type = value }
      fds.links[#fds.links + 1] = link
    elseif key == "link_id" and link then
      link.id = tonumber(value)
    elseif key == "prog_id" and link then
      link.prog = tonumber(value)
    elseif key == "prog_id" then
      fds.progs[#fds.progs + 1] = tonumber(value)
    elseif key == "map_id" then
      fds.maps[#fds.maps + 1] = tonumber(value)
    end
  end
  table.sort(fds.progs)
  table.sort(fds.maps)
  table.sort(fds.links, function(a, b) return a.id < b.id end)
  return fds
end

--- Ids of the maps named `name` among those the process holds.
function M.maps_named(pid, name)
  local mine = {}
  for _, id in ipairs(M.bpf_fds(pid).maps) do mine[id] = true end
  local ids = {}
  for line in sh("bpftool map list"):gmatch("[^\n]+") do
    local id, map = line:match("^(%d+): %S+%s+name (%S+)")
    if map == name and mine[tonumber(id)] then ids[#ids + 1] = tonumber(id) end
  end
  table.sort(ids)
  return ids
end

M.target = M.spec_dir .. "/elx-test-target"

--- The elx-test-target command line that makes its calls for this
-- exporter's objects only: --owner with the ids of their elx_owner maps
-- (spec/integration/bpf/elx_owner.bpf.h). Looked up at each call: a reload
-- may load objects anew.
function Exporter:target_command(args)
  local owners = M.maps_named(self.pid, "elx_owner")
  assert(#owners > 0, "the exporter holds no elx_owner map: no test object counts calls for it")
  return ("%s --owner %s %s"):format(M.target, table.concat(owners, ","), args)
end

--- Runs elx-test-target for this exporter (see target_command); it must succeed.
function Exporter:target(args)
  local cmd = self:target_command(args)
  local out, code = sh(cmd)
  assert(code == 0, cmd .. " failed: " .. out)
  return out
end

--- Ids of the programs the exporter reports as loaded.
function M.program_ids(text)
  local ids = {}
  for id in text:gmatch('ebpf_exporter_ebpf_program_info{[^}]*id="(%d+)"') do
    ids[#ids + 1] = tonumber(id)
  end
  return ids
end

--- The links the kernel has for a program id, from `bpftool link list`:
-- { "<link id> <type>"... }.
function M.links_of(prog_id)
  local links = {}
  for line in sh("bpftool link list"):gmatch("[^\n]+") do
    local id, kind, prog = line:match("^(%d+): (%S+)%s+prog (%d+)")
    if id and tonumber(prog) == prog_id then links[#links + 1] = id .. " " .. kind end
  end
  return links
end

--- Whether the kernel still has a program with this id.
function M.program_loaded(id)
  local _, code = sh("bpftool prog show id " .. id)
  return code == 0
end

return M
