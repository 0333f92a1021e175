-- Spans from ring buffers against the real kernel, exported over OTLP/HTTP to
-- a test receiver that decodes the protobuf itself (spec/helpers/otlp.lua):
-- N known events make exactly N spans, with their names, attributes, parent
-- links and start times; console output; a receiver that fails or is away
-- costs counted spans, never the exporter; reloads lose and repeat nothing.
local helper = require("helpers.exporter")
local otlp = require("helpers.otlp")

local EXAMPLES = helper.examples_dir
local DEMO = EXAMPLES .. "/usdt-trace-demo"
local TARGET = helper.spec_dir .. "/elx-test-target"

-- The demo's ids and writes (one JSON line of its own making).
local function run_demo(n, interval_us)
  local out = helper.sh(("%s %d %d"):format(DEMO, n, interval_us or 0))
  local demo = { trace_id = out:match('"trace_id":"(%x+)"'), span_id = out:match('"span_id":"(%x+)"'), writes = {} }
  for bytes, wall in out:gmatch('{"bytes":(%d+),"wall_ns":(%d+)}') do
    demo.writes[#demo.writes + 1] = { bytes = bytes, wall = tonumber(wall) }
  end
  assert(#demo.writes == n, out)
  return demo
end

local function of_trace(trace_id)
  return function(s) return s.trace_id == trace_id end
end

local function spans_total(e, config)
  local s = e:samples()
  local function v(result)
    return s[('ebpf_exporter_spans_total{config="%s",result="%s"}'):format(config, result)]
  end
  return { exported = v("exported"), dropped = v("dropped"), failed = v("failed"),
    queued = s["ebpf_exporter_span_queue_length"], decoder_errors = helper.decoder_errors(s, config) }
end

-- Waits until the config's spans have all gone somewhere.
local function settled(e, config, n)
  local t
  for _ = 1, 100 do
    t = spans_total(e, config)
    if t.exported + t.dropped + t.failed >= n and t.queued == 0 then
      return t
    end
    helper.sleep(0.1)
  end
  return t
end

describe("tracing", function()
  it("exports exactly N kernel spans under a user-space parent set through USDT", function()
    local r = otlp.start()
    local e = helper.start({ dir = EXAMPLES, names = "usdt-trace", env = r:env() })
    local demo = run_demo(20)
    local spans = r:wait(20, of_trace(demo.trace_id))
    local totals = settled(e, "usdt-trace", 20)
    assert.equal(0, (e:stop()))
    r:stop()
    assert.equal(20, #spans)
    table.sort(spans, function(a, b) return a.start < b.start end)
    local ids = {}
    for i, s in ipairs(spans) do
      local w = demo.writes[i]
      assert.equal("write", s.name)
      assert.equal(demo.span_id, s.parent_span_id)
      assert.same({ fd = "3", bytes = w.bytes, ["ebpf_exporter.config"] = "usdt-trace" }, s.attributes)
      assert.same({ ["service.name"] = "usdt-trace" }, s.resource)
      assert.equal("ebpf-lua-exporter", s.scope)
      assert.equal(1, s.kind) -- SPAN_KIND_INTERNAL
      assert.equal(1, s.flags) -- sampled
      -- The write starts after the demo read the clock, and within 5 ms.
      assert.is_true(s.start >= w.wall and s.start - w.wall < 5e6, ("span %d starts %d ns after the write"):format(i, s.start - w.wall))
      assert.is_true(s.end_ >= s.start)
      assert.equal(16, #s.span_id)
      assert.is_nil(ids[s.span_id], "span ids are unique")
      ids[s.span_id] = true
    end
    assert.same({ exported = 20, dropped = 0, failed = 0, queued = 0, decoder_errors = 0 }, totals)
  end)

  it("refuses an OTEL_* mistake when a config has spans, naming the variable, and ignores it otherwise", function()
    local env = "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"
    local out, code = helper.run("--log.no-timestamps --config.check --config.dir=" .. EXAMPLES
      .. " --config.names=usdt-trace", env)
    assert.equal(1, code)
    assert.truthy(out:find("error: tracing: OTEL_EXPORTER_OTLP_PROTOCOL=grpc: only http/protobuf is supported "
      .. "(OTLP over HTTP, port 4318)\n", 1, true), out)
    out, code = helper.run("--log.no-timestamps --config.check --config.dir=" .. EXAMPLES .. " --config.names=timers", env)
    assert.equal(0, code, out)
  end)

  it("exec-trace: a span per process, the commands of a shell under the shell's span", function()
    local r = otlp.start()
    local e = helper.start({ dir = EXAMPLES, names = "exec-trace", env = r:env() })
    -- Its absolute path: other worktrees on this machine run their own.
    local target = helper.sh("realpath " .. TARGET):gsub("%s+$", "")
    local out = helper.sh(("sh -c '%s now; %s now; %s now; exit 0'"):format(target, target, target))
    local walls = {}
    for t in out:gmatch("%d+") do
      walls[#walls + 1] = tonumber(t)
    end
    local children = r:wait(3, function(s) return s.name == target end)
    local shell = children[1] and children[1].parent_span_id
    local shells = r:wait(1, function(s) return s.span_id == shell end)
    -- The trace starts at the first process whose parent has no span: a
    -- shell that the spec's own shell started.
    local trace = children[1] and children[1].trace_id
    local roots = r:wait(1, function(s) return s.trace_id == trace and s.parent_span_id == "" end)
    assert.equal(0, (e:stop()))
    r:stop()
    assert.equal(3, #walls)
    assert.equal(3, #children)
    assert.equal(1, #shells)
    assert.truthy(shells[1].name:match("/sh$"), shells[1].name)
    assert.equal(trace, shells[1].trace_id)
    assert.equal(1, #roots)
    assert.truthy(roots[1].name:match("/sh$"), roots[1].name)
    table.sort(children, function(a, b) return a.start < b.start end)
    for i, s in ipairs(children) do
      assert.equal(shell, s.parent_span_id)
      assert.equal(children[1].trace_id, s.trace_id)
      assert.equal("exec-trace", s.resource["service.name"])
      -- exec happens before main() reads the clock; in between, the dynamic
      -- loader (and AddressSanitizer's start-up, in that build): some ms.
      assert.is_true(walls[i] >= s.start and walls[i] - s.start < 25e6, ("%d ns"):format(walls[i] - s.start))
      assert.is_true(s.end_ > walls[i])
    end
  end)

  it("bio-trace: a span per block request, with its device, operation and size", function()
    local r = otlp.start()
    local e = helper.start({ dir = EXAMPLES, names = "bio-trace", env = r:env() })
    local dir = helper.tmpdir()
    local loop = (helper.sh("truncate -s 8M " .. dir .. "/disk && losetup -f --show " .. dir .. "/disk")):gsub("%s+$", "")
    local dev = loop:match("loop%d+")
    local started = tonumber((helper.sh(TARGET .. " now")))
    local out, code = helper.sh("dd if=/dev/zero of=" .. loop .. " bs=4096 count=40 oflag=direct")
    local ended = tonumber((helper.sh(TARGET .. " now")))
    local spans = r:wait(40, function(s) return s.attributes.device == dev end)
    helper.sh("losetup -d " .. loop)
    os.execute("rm -rf " .. dir)
    assert.equal(0, (e:stop()))
    r:stop()
    assert.equal(0, code, out)
    assert.equal(40, #spans)
    for _, s in ipairs(spans) do
      assert.equal("block_request", s.name)
      assert.same({ device = dev, operation = "write", bytes = "4096", ["ebpf_exporter.config"] = "bio-trace" },
        s.attributes)
      assert.equal("", s.parent_span_id)
      assert.is_true(s.start > started and s.end_ < ended and s.end_ > s.start)
    end
  end)

  it("prints spans on stdout with OTEL_TRACES_EXPORTER=console", function()
    local e = helper.start({ dir = EXAMPLES, names = "usdt-trace",
      env = "OTEL_TRACES_EXPORTER=console OTEL_BSP_SCHEDULE_DELAY=100" })
    local demo = run_demo(5)
    local t = settled(e, "usdt-trace", 5)
    local _, log = e:stop()
    assert.same({ exported = 5, dropped = 0, failed = 0, queued = 0, decoder_errors = 0 }, t)
    local lines = {}
    for line in log:gmatch("[^\n]+") do
      if line:match('^{"name":"write"') and line:find(demo.trace_id, 1, true) then
        lines[#lines + 1] = line
      end
    end
    assert.equal(5, #lines)
    for i, line in ipairs(lines) do
      assert.equal(demo.span_id, line:match('"parent_span_id":"(%x*)"'))
      assert.equal(demo.writes[i].bytes, line:match('"bytes":"(%d+)"'))
      assert.equal("usdt-trace", line:match('"service.name":"([^"]*)"'))
      assert.equal("usdt-trace", line:match('"ebpf_exporter.config":"([^"]*)"'))
    end
  end)

  it("sends what is queued when it stops (SIGTERM), gzipped and with the headers asked for", function()
    local r = otlp.start()
    local e = helper.start({ dir = EXAMPLES, names = "usdt-trace",
      env = ("OTEL_EXPORTER_OTLP_ENDPOINT=%s OTEL_BSP_SCHEDULE_DELAY=600000 OTEL_EXPORTER_OTLP_COMPRESSION=gzip "
        .. "OTEL_EXPORTER_OTLP_HEADERS='X-Elx-Test=a%%20b,authorization=token' "
        .. "OTEL_RESOURCE_ATTRIBUTES=host.name=elx-test"):format(r.url) })
    local demo = run_demo(7)
    helper.sleep(0.3) -- read and queued; the batch would wait ten minutes
    local queued = e:samples()["ebpf_exporter_span_queue_length"]
    local requests_before = r:stats()
    local code = e:stop()
    local spans = r:wait(7, of_trace(demo.trace_id), 2)
    local headers = r:headers()
    r:stop()
    assert.equal(0, code)
    assert.equal(7, queued)
    assert.equal(0, requests_before)
    assert.equal(7, #spans)
    assert.same({ ["service.name"] = "usdt-trace", ["host.name"] = "elx-test" }, spans[1].resource)
    assert.equal("a b", headers["x-elx-test"])
    assert.equal("token", headers["authorization"])
    assert.equal("gzip", headers["content-encoding"])
    assert.equal("application/x-protobuf", headers["content-type"])
    assert.equal("ebpf-lua-exporter/0.1.0", headers["user-agent"])
  end)

  it("counts spans a receiver answers 503 as failed, after retrying, and keeps serving", function()
    local r = otlp.start({ status = 503 })
    local e = helper.start({ dir = EXAMPLES, names = "usdt-trace",
      env = r:env("OTEL_EXPORTER_OTLP_TIMEOUT=1000") })
    run_demo(10)
    local t = settled(e, "usdt-trace", 10)
    local requests = r:stats()
    assert.equal(0, (e:stop()))
    r:stop()
    assert.same({ exported = 0, dropped = 0, failed = 10, queued = 0, decoder_errors = 0 }, t)
    assert.is_true(requests >= 2, "retried: " .. requests .. " requests")
  end)

  it("drops the oldest spans when the queue is full and the receiver is away", function()
    local r = otlp.start()
    local url = r.url
    r:stop() -- nothing listens there now: connections are refused
    local e = helper.start({ dir = EXAMPLES, names = "usdt-trace",
      env = ("OTEL_EXPORTER_OTLP_ENDPOINT=%s OTEL_BSP_SCHEDULE_DELAY=100 OTEL_EXPORTER_OTLP_TIMEOUT=500 "
        .. "OTEL_BSP_MAX_QUEUE_SIZE=8 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=8"):format(url) })
    run_demo(50)
    local t = settled(e, "usdt-trace", 50)
    local s = e:samples()
    local code, log = e:stop()
    assert.equal(0, code)
    assert.equal(0, t.exported)
    assert.equal(50, t.dropped + t.failed)
    assert.is_true(t.dropped >= 34, "dropped " .. t.dropped)
    assert.equal(8, s["ebpf_exporter_span_queue_capacity"])
    assert.truthy(log:find("span export to " .. url .. "/v1/traces failed", 1, true))
  end)

  it("keeps reading ring buffers across reloads: no span lost or sent twice", function()
    local r = otlp.start()
    local e = helper.start({ dir = EXAMPLES, names = "usdt-trace", env = r:env() })
    local out = e.work .. "/demo"
    helper.sh(("%s 300 2000 > %s & echo $! > %s.pid"):format(DEMO, out, out))
    for _ = 1, 5 do
      helper.sleep(0.1)
      os.execute("kill -HUP " .. e.pid)
    end
    helper.sh("while kill -0 $(cat " .. out .. ".pid) 2>/dev/null; do sleep 0.05; done")
    local trace_id = helper.read_file(out):match('"trace_id":"(%x+)"')
    local spans = r:wait(300, of_trace(trace_id))
    local t = settled(e, "usdt-trace", 300)
    local s = e:samples()
    local _, log = e:stop()
    r:stop()
    local _, reloads = log:gsub("reloaded 1 configs", "")
    assert.equal(5, reloads)
    assert.equal(5, s['ebpf_exporter_config_reloads_total{result="success"}'])
    assert.equal(300, #spans)
    local bytes = {}
    for _, sp in ipairs(spans) do
      local b = tonumber(sp.attributes.bytes)
      assert.is_nil(bytes[b], "no write twice")
      bytes[b] = true
    end
    for b = 1, 300 do
      assert.is_true(bytes[b], "write " .. b)
    end
    assert.same({ exported = 300, dropped = 0, failed = 0, queued = 0, decoder_errors = 0 }, t)
  end)

  it("reads out the ring buffer of an object a reload replaces: every span once", function()
    local r = otlp.start()
    local dir = helper.tmpdir()
    helper.sh(("cp %s/usdt-trace.bpf.o %s/usdt-trace.yaml %s/"):format(EXAMPLES, EXAMPLES, dir))
    local e = helper.start({ dir = dir, names = "usdt-trace", env = r:env() })
    -- Stopped, the exporter reads nothing: the 30 records wait in the ring
    -- while another .bpf.o (a byte more at its end) replaces the object. At
    -- SIGCONT the reload and the ring's readiness are both pending, in either
    -- order: the old object's records are read before it closes, or by it.
    os.execute("kill -STOP " .. e.pid)
    local first = run_demo(30)
    helper.sh("printf x >> " .. dir .. "/usdt-trace.bpf.o")
    os.execute("kill -HUP " .. e.pid .. "; kill -CONT " .. e.pid)
    local second
    for _ = 1, 50 do
      if (helper.read_file(e.log) or ""):find("1 objects loaded anew", 1, true) then
        second = run_demo(20)
        break
      end
      helper.sleep(0.1)
    end
    local a = r:wait(30, of_trace(first.trace_id))
    local b = r:wait(20, of_trace(second and second.trace_id or "none"))
    local t = settled(e, "usdt-trace", 50)
    assert.equal(0, (e:stop()))
    r:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(30, #a)
    assert.equal(20, #b)
    assert.same({ exported = 50, dropped = 0, failed = 0, queued = 0, decoder_errors = 0 }, t)
  end)
end)
