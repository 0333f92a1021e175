-- Hostile and clumsy clients against the real exporter: none of them may kill,
-- hang or bloat it (issue 9). Each case reproduces a finding against the binary.
local helper = require("helpers.exporter")
local files = require("helpers.files")

-- Exporters a spec started and has not stopped: a failing spec leaves none
-- running (their uprobes would slow down every later spec's target).
local start, stop = helper.tracked(after_each)

--- Runs a Python client script (argv[1] is the port) and returns its output.
local function client(e, script)
  local path = files.tmpdir() .. "/client.py"
  files.write(path, script)
  local out, code = helper.sh(("/usr/bin/python3.11 %s %d"):format(path, e.port))
  assert(code == 0, "client failed: " .. out)
  return out
end

describe("a client that closes its connection early", function()
  -- Pipelined requests, then close: the server's writes of the later responses
  -- meet a closed socket (EPIPE), which used to raise SIGPIPE and exit 141.
  local CLOSER = [[
import socket, sys
for path in ["/", "/metrics"] * 10:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode() * 50)
    s.close()
]]

  it("costs that connection, never the process", function()
    local e = start({ names = "uprobe_test" })
    client(e, CLOSER)
    local _, status = e:get("/")
    assert.equal(200, status)
    assert.equal(0, (stop(e)))
  end)
end)

--- Starts a Python client script in the background (argv[1] is the port,
-- then `args`); returns the path of the file its output goes to, and of
-- the file that appears when it ends.
local function client_background(e, script, args)
  local dir = files.tmpdir()
  files.write(dir .. "/client.py", script)
  helper.sh(("(/usr/bin/python3.11 %s/client.py %d %s > %s/out 2>&1; echo $? > %s/done) </dev/null >/dev/null 2>&1 &")
    :format(dir, e.port, args or "", dir, dir))
  return dir .. "/out", dir .. "/done"
end

local function wait_for_file(path, seconds)
  for _ = 1, seconds * 20 do
    local text = helper.read_file(path)
    if text then
      return text
    end
    helper.sleep(0.05)
  end
  error("no " .. path .. " after " .. seconds .. " s")
end

--- A scrape with curl: status and seconds, as curl measures them.
local function timed_get(e, path, curl_args)
  local out = helper.sh(("curl -s -o /dev/null -w '%%{http_code} %%{time_total}' %s %s%s"):format(
    curl_args or "", e.url, path or "/metrics"))
  local status, seconds = out:match("^(%d+) ([%d.]+)$")
  return tonumber(status), tonumber(seconds)
end

local function process_status(pid, field)
  local status = helper.read_file("/proc/" .. pid .. "/status") or ""
  return tonumber(status:match(field .. ":%s+(%d+)"))
end

describe("HTTP versions", function()
  -- http_parser takes any digit for either part of the version.
  local VERSIONS = [[
import socket, sys
for version in ["9.9", "1.2", "2.0", "1.1"]:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(("GET / HTTP/%s\r\nHost: x\r\nConnection: close\r\n\r\n" % version).encode())
    answer = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        answer += chunk
    print(version, answer.split(b"\r\n")[0].decode())
]]

  it("other than 1.0 and 1.1 get 505", function()
    local e = start({ names = "uprobe_test" })
    assert.equal("9.9 HTTP/1.1 505 HTTP Version Not Supported\n1.2 HTTP/1.1 505 HTTP Version Not Supported\n"
      .. "2.0 HTTP/1.1 505 HTTP Version Not Supported\n1.1 HTTP/1.1 200 OK\n", client(e, VERSIONS))
    assert.equal(0, (stop(e)))
  end)
end)

describe("a corrupt .bpf.o", function()
  local bpf_flip = require("fuzz.bpf_flip")

  -- libbpf 1.1 segfaults inside bpf_object__open_file, or bpf_object__load,
  -- on some byte-flipped objects (~1 in 200): that took the exporter and every
  -- config down, where a failed reload must leave the running configuration
  -- alone. perf_event_test: its programs attach and detach in microseconds,
  -- where a uprobe's detach waits ~100 ms for the kernel, so 500 reloads are
  -- quick; seed 9 meets two objects that crash libbpf.
  it("fails the reload and the start that meet it, never the process", function()
    local o, crashing = bpf_flip.run("perf_event_test", 500, 0, 9)
    print(("\n  %d flipped objects: %d reloaded, %d refused, %d of those crashed libbpf in a child"):format(
      o.runs, o.reloaded, o.refused, o.crashed))
    assert.equal(500, o.runs)
    assert.is_true(o.crashed >= 1) -- the run met what used to kill the exporter

    -- At start, one such object is a clear error and exit 1.
    local dir = helper.config_dir("perf_event_test", "flip", "metrics: {}\n")
    files.write(dir .. "/flip.bpf.o", crashing)
    local out, code = helper.run(("--config.dir=%s --config.names=flip --web.listen-address=127.0.0.1:0"):format(dir))
    assert.equal(1, code)
    assert.is_truthy(out:match("error: libbpf crashed [a-z]+ " .. dir:gsub("%p", "%%%0")
      .. "/flip%.bpf%.o %(signal %d+%): the file is corrupt\n"), out)
  end)
end)

describe("slow clients (slowloris)", function()
  -- argv: port, connections, ready file, seconds. Each connection sends a
  -- request line, then one header line every second and never the end of
  -- its headers. Prints, per first line of what the server answered (or
  -- "closed"), how many and after how many seconds, fastest and slowest.
  local SLOW = [[
import collections, resource, selectors, socket, sys, time
port, n, ready, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
sel, start, answers, ended = selectors.DefaultSelector(), {}, {}, {}
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    except OSError:
        pass
    start[s] = time.monotonic()
    answers[s] = b""
    sel.register(s, selectors.EVENT_READ)
open(ready, "w").write("ready\n")
end, next_line = time.monotonic() + seconds, time.monotonic() + 1
while len(ended) < n and time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            chunk = s.recv(65536)
        except OSError:
            chunk = b""
        answers[s] += chunk
        if not chunk:
            ended[s] = time.monotonic() - start[s]
            sel.unregister(s)
    if time.monotonic() >= next_line:
        next_line += 1
        for s in start:
            if s not in ended:
                try:
                    s.send(b"X-Slow: 1\r\n")
                except OSError:
                    pass
kinds = collections.defaultdict(list)
for s in start:
    first = answers[s].split(b"\r\n")[0].decode() or "closed"
    kinds[first if s in ended else "open"].append(ended.get(s, 0))
for kind, times in sorted(kinds.items()):
    print("%s: %d, %.1f s to %.1f s" % (kind, len(times), min(times), max(times)))
]]

  it("cannot keep a normal client from being served, and are cut off after 10 s", function()
    -- A soft limit of 1024 open files: the exporter raises it for its 1024 connections.
    local e = start({ names = "uprobe_test", wrap = "prlimit --nofile=1024:20000" })
    local ready = e.work .. "/ready"
    local out, done = client_background(e, SLOW, ("1000 %s 16"):format(ready))
    wait_for_file(ready, 30)
    local worst = 0
    for _ = 1, 10 do
      local status, seconds = timed_get(e, "/metrics")
      assert.equal(200, status)
      worst = math.max(worst, seconds)
      helper.sleep(0.2)
    end
    assert.is_true(worst < 1, "a scrape took " .. worst .. " s")
    local limits = helper.read_file("/proc/" .. e.pid .. "/limits")
    local soft = tonumber(limits:match("Max open files%s+(%d+)"))
    assert.is_true(soft > 1024, limits)
    wait_for_file(done, 40)
    -- Every one of them, 10 s after its first byte: 408 and the end.
    local summary = helper.read_file(out)
    local count, from, to = summary:match("^HTTP/1%.1 408 Request Timeout: (%d+), ([%d.]+) s to ([%d.]+) s\n$")
    assert.is_truthy(count, summary)
    assert.equal(1000, tonumber(count))
    assert.is_true(tonumber(from) >= 9.5 and tonumber(to) <= 12, summary)
    assert.equal(0, (stop(e)))
  end)

  it("give way to a new connection at --web.max-connections, slowest first", function()
    local e = start({ names = "uprobe_test", args = "--web.max-connections=100" })
    local ready = e.work .. "/ready"
    local out, done = client_background(e, SLOW, ("300 %s 3"):format(ready))
    wait_for_file(ready, 30)
    for _ = 1, 5 do
      local status, seconds = timed_get(e, "/metrics")
      assert.equal(200, status)
      assert.is_true(seconds < 1)
    end
    -- The exporter holds no more than its 100 connections and its listener.
    local sockets = tonumber((helper.sh("ls -l /proc/" .. e.pid .. "/fd | grep -c socket:")))
    assert.is_true(sockets <= 101, sockets .. " sockets")
    wait_for_file(done, 30)
    local closed = helper.read_file(out):match("closed: (%d+),")
    assert.is_true(tonumber(closed) >= 200, helper.read_file(out))
    assert.equal(0, (stop(e)))
  end)
end)

describe("reload storms", function()

  --- Three configs over uprobe_test.bpf.o, each with a metric of its own.
  local function three_configs()
    local dir = helper.tmpdir()
    for i, map in ipairs({ "test_hits_by_value_total", "test_value_exp2", "test_value_linear" }) do
      helper.sh(("cp %s/uprobe_test.bpf.o %s/c%d.bpf.o"):format(helper.spec_dir, dir, i))
      files.write(("%s/c%d.yaml"):format(dir, i), ([[
metrics:
  counters:
    - name: %s
      help: Calls of elx_test_hit by value
      labels:
        - { name: value, size: 8, decoders: [ { name: uint } ] }
]]):format(map))
    end
    return dir
  end

  -- argv: port, pid, seconds. SIGHUP every millisecond; prints how many.
  local HUPS = [[
import os, signal, sys, time
pid, seconds, sent = int(sys.argv[2]), float(sys.argv[3]), 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    os.kill(pid, signal.SIGHUP)
    sent += 1
    time.sleep(0.001)
print(sent)
]]

  it("leave scrapes their latency: reloads are coalesced and paced", function()
    local e = start({ dir = three_configs(), names = "c1,c2,c3" })
    local out, done = client_background(e, HUPS, e.pid .. " 6")
    local scrapes, worst = 0, 0
    repeat
      local status, seconds = timed_get(e, "/metrics")
      assert.equal(200, status)
      scrapes = scrapes + 1
      worst = math.max(worst, seconds)
    until helper.read_file(done)
    local signals = tonumber(helper.read_file(out))
    local s = e:samples()
    local reloads = s['ebpf_exporter_config_reloads_total{result="success"}']
    print(("\n  %d SIGHUPs in 6 s: %d reloads; %d scrapes meanwhile, the slowest %.0f ms"):format(
      signals, reloads, scrapes, worst * 1e3))
    assert.is_true(worst < 0.5, "a scrape took " .. worst .. " s")
    assert.is_true(scrapes >= 30, scrapes .. " scrapes")
    assert.is_true(reloads >= 1 and reloads < signals / 2)
    assert.equal(1, s["ebpf_exporter_config_last_reload_successful"])
    assert.equal(0, (stop(e)))
  end)

  --- POSTs `n` reloads at once; returns their statuses, sorted, as one string.
  local function parallel_reloads(e, n)
    local urls = {}
    for _ = 1, n do
      urls[#urls + 1] = ('url = "%s/-/reload"\noutput = "/dev/null"'):format(e.url)
    end
    files.write(e.work .. "/reloads", table.concat(urls, "\n") .. "\n")
    local out = helper.sh(("curl -s -Z --parallel-max %d -X POST -w 'status=%%{http_code}\\n' -K %s/reloads")
      :format(n, e.work))
    local statuses = {}
    for code in out:gmatch("status=(%d+)") do
      statuses[#statuses + 1] = code
    end
    table.sort(statuses)
    return table.concat(statuses, ",")
  end

  it("answer each POST /-/reload with the outcome of a reload that began after it", function()
    local dir = three_configs()
    local e = start({ dir = dir, names = "c1,c2,c3", args = "--web.enable-lifecycle" })
    e:target("hit 3 1")
    assert.equal(string.rep("200,", 49) .. "200", parallel_reloads(e, 50))
    local reloads = e:samples()['ebpf_exporter_config_reloads_total{result="success"}']
    assert.is_true(reloads >= 1 and reloads < 50, reloads .. " reloads")
    files.write(dir .. "/c2.yaml", "metrics: [\n")
    assert.equal(string.rep("500,", 19) .. "500", parallel_reloads(e, 20))
    local body, status = e:get("/-/reload", "-X POST")
    assert.equal(500, status)
    assert.is_truthy(body:find('\nc2.yaml: line 1, column 10: not valid YAML', 1, true), body)
    local s = e:samples()
    assert.equal(3, s['ebpf_exporter_test_hits_by_value_total{value="1"}'])
    assert.equal(0, s["ebpf_exporter_config_last_reload_successful"])
    assert.equal(0, (stop(e)))
  end)
end)

describe("clients that never read", function()
  local N = 100000

  it("hold one rendered body between them on a 100,000-series map", function()
    -- No --web.max-requests: all 250 hold a body (past the default 40 they
    -- would be answered 503, which scrape_spec checks).
    local e = start({ dir = helper.build .. "/bench", names = "bench", args = "--web.max-requests=0" })
    local map = helper.maps_named(e.pid, "bench_values")
    assert.equal(1, #map)
    local out, code = helper.sh(("%s/elx-bench-baseline fill %d %d"):format(helper.build, map[1], N))
    assert.equal(0, code, out)
    e:scrape() -- decoded once
    local before = process_status(e.pid, "VmRSS")
    local ready = e.work .. "/ready"
    local _, done = client_background(e, files.read("spec/helpers/stalled_clients.py"), ("250 %s 6"):format(ready))
    wait_for_file(ready, 30)
    helper.sleep(2)
    local stalled = process_status(e.pid, "VmRSS")
    local body, status = e:get("/metrics")
    assert.equal(200, status)
    local _, series = body:gsub("\nebpf_exporter_bench_values{", "")
    assert.equal(N, series)
    print(("\n  RSS %.1f MiB before, %.1f MiB with 250 clients that read nothing"):format(
      before / 1024, stalled / 1024))
    assert.is_true(stalled - before < 64 * 1024, ("RSS grew by %d KiB"):format(stalled - before))
    wait_for_file(done, 30)
    assert.equal(0, (stop(e)))
  end)
end)
