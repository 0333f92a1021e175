-- The Grafana dashboards and the Kubernetes scrape job against a real
-- Prometheus scraping a real exporter (the DaemonSet's configs): every
-- panel's query returns data, the scrape job's relabelling keeps exactly the
-- exporter's pod, and every alerting and recording rule evaluates cleanly.
local cjson = require("cjson")
local deploy = require("helpers.deploy")
local files = require("helpers.files")
local helper = require("helpers.exporter")
local lyaml = require("lyaml")
local prometheus = require("helpers.prometheus")

local STATS = "/proc/sys/kernel/bpf_stats_enabled"

local DASHBOARDS = { "deploy/grafana/ebpf-lua-exporter.json", "deploy/grafana/ebpf-lua-exporter-examples.json" }
local RULES = { "deploy/prometheus/ebpf-lua-exporter-alerts.yml", "deploy/prometheus/ebpf-lua-exporter-recording.yml" }
local JOB = "ebpf-lua-exporter"
local NODE = "node-1"
-- What Grafana puts in place of the variables: every node, and a rate
-- window of several 1 s scrapes.
local VARIABLES = { ["$job"] = JOB, ["$instance"] = ".+", ["$__rate_interval"] = "15s" }

local function dashboard(path)
  return cjson.decode((files.read(path)))
end

local function expand(expr)
  return (expr:gsub("%$[%w_]+", function(name)
    return assert(VARIABLES[name], "unknown variable " .. name .. " in " .. expr)
  end))
end

-- The DaemonSet's --config.names.
local function daemonset_configs()
  for _, arg in ipairs(deploy.yaml("deploy/kubernetes/20-daemonset.yaml").spec.template.spec.containers[1].args) do
    local names = arg:match("^%-%-config%.names=(.+)$")
    if names then
      return names
    end
  end
  error("the DaemonSet has no --config.names")
end

-- The plain Kubernetes scrape job, as shipped, with its pod discovery
-- replaced by a file of targets carrying the labels Kubernetes discovery
-- gives a pod (Debian's Prometheus is built without Kubernetes discovery):
-- the relabelling runs as written.
local function prometheus_config(dir, exporter_port)
  local job = deploy.yaml("deploy/kubernetes/prometheus/scrape-config.yaml").scrape_configs[1]
  job.kubernetes_sd_configs = nil
  job.file_sd_configs = { { files = { dir .. "/targets.json" } } }
  job.scrape_interval, job.scrape_timeout = "1s", "1s"
  local function pod(port, app, port_name)
    return { targets = { "127.0.0.1:" .. port }, labels = {
      __meta_kubernetes_pod_label_app_kubernetes_io_name = app,
      __meta_kubernetes_pod_container_port_name = port_name,
      __meta_kubernetes_pod_node_name = NODE,
    } }
  end
  files.write(dir .. "/targets.json", cjson.encode({
    pod(exporter_port, "ebpf-lua-exporter", "metrics"),
    pod(1, "another-app", "metrics"),
    pod(2, "ebpf-lua-exporter", "profiling"),
  }))
  local top = deploy.trim(deploy.run("pwd"))
  return lyaml.dump({ {
    global = { scrape_interval = "1s", evaluation_interval = "1s" },
    rule_files = { top .. "/" .. RULES[1], top .. "/" .. RULES[2] },
    scrape_configs = { job },
  } })
end

-- Direct writes to a loop device: block IO the biolatency config sees. One
-- write first, so that the series exist in Prometheus before the counted
-- ones (a rate needs the series' earlier sample). The device may have
-- counts from another test that used its number before: they are the base.
-- Returns the series and the count Prometheus must reach.
local function block_io(e, prom, writes)
  local dir = helper.tmpdir()
  local loop = deploy.trim(deploy.run("truncate -s 8M " .. dir .. "/disk && losetup -f --show " .. dir .. "/disk"))
  local series = ('ebpf_exporter_bio_latency_seconds_count{device="%s",operation="write"}'):format(loop:match("loop%d+"))
  local base = e:samples()[series] or 0
  local function write(n)
    return deploy.sh(("dd if=/dev/zero of=%s bs=4096 count=%d oflag=direct"):format(loop, n))
  end
  local out, code = write(1)
  local first = code == 0 and prom:wait_value(series, base + 1)
  if first == base + 1 then
    out, code = write(writes)
  end
  deploy.run("losetup -d " .. loop .. " && rm -rf " .. dir)
  assert(code == 0, out)
  assert(first == base + 1, ("Prometheus saw %s writes to %s, not %d:\n%s"):format(first, loop, base + 1, prom:log()))
  return series, base + 1 + writes
end

describe("the dashboards", function()
  for _, path in ipairs(DASHBOARDS) do
    it(path .. " is a well-formed dashboard with one data source variable", function()
      local d = dashboard(path)
      assert.is_string(d.uid)
      local vars = {}
      for _, v in ipairs(d.templating.list) do
        vars[v.name] = v
      end
      assert.equal("prometheus", vars.datasource.query)
      local ids = {}
      for _, p in ipairs(d.panels) do
        assert.is_nil(ids[p.id], "panel id " .. p.id .. " twice")
        ids[p.id] = true
        assert.equal("${datasource}", p.datasource.uid, p.title)
        assert.is_true(p.gridPos.x + p.gridPos.w <= 24, p.title)
        assert.is_true(#p.targets > 0, p.title)
        for _, t in ipairs(p.targets) do
          assert.equal("${datasource}", t.datasource.uid, p.title)
          for name in t.expr:gmatch("%$([%w_]+)") do
            assert.is_true(vars[name] ~= nil or name:match("^__") ~= nil, p.title .. ": $" .. name .. " is not defined")
          end
        end
      end
    end)
  end

  describe("against a real Prometheus scraping the exporter", function()
    local e, prom, saved_stats
    setup(function()
      -- Program run times for the CPU time panel, as parity_spec.lua does
      -- it: the sysctl is what the exporter reads.
      saved_stats = deploy.trim(files.read(STATS))
      deploy.run("sysctl -qw kernel.bpf_stats_enabled=1")
      e = helper.start({ dir = helper.examples_dir, names = daemonset_configs() })
      local dir = helper.tmpdir()
      prom = prometheus.start(prometheus_config(dir, e.port))
      prom.targets_dir = dir
      -- Known events, counted exactly by Prometheus, so that every panel
      -- has something to show.
      local series = 'ebpf_exporter_syscall_failures_total{errno="EINVAL",syscall="setpriority"}'
      local before, seen
      require("helpers.lock").with("setpriority-einval", function()
        before = e:samples()[series] or 0
        deploy.run(helper.spec_dir .. "/elx-test-target fail 250")
        seen = prom:wait_value(series, before + 250)
      end)
      assert(seen == before + 250, ("Prometheus returned %s, not %d:\n%s"):format(seen, before + 250, prom:log()))
      local bio, want = block_io(e, prom, 40)
      seen = prom:wait_value(bio, want)
      assert(seen == want, ("Prometheus returned %s block writes, not %d:\n%s"):format(seen, want, prom:log()))
      -- Two more scrapes, so that every rate window holds the events.
      deploy.run("sleep 2.5")
    end)
    teardown(function()
      if saved_stats then os.execute("sysctl -qw kernel.bpf_stats_enabled=" .. saved_stats) end
      if prom then prom:stop() end
      if prom then os.execute("rm -rf " .. prom.targets_dir) end
      if e then assert.equal(0, (e:stop())) end
    end)

    it("scrapes exactly the exporter's pod, as the Kubernetes job relabels it", function()
      local targets = prom:api("/api/v1/targets").data
      assert.equal(1, #targets.activeTargets)
      assert.same({ instance = NODE, job = JOB }, targets.activeTargets[1].labels)
      assert.equal("up", targets.activeTargets[1].health)
      assert.equal(2, #targets.droppedTargets)
    end)

    for _, path in ipairs(DASHBOARDS) do
      it(path .. ": every variable and every panel's query returns data", function()
        local d = dashboard(path)
        for _, v in ipairs(d.templating.list) do
          if v.type == "query" then
            local metric, label = v.query.query:match("^label_values%((.+), (%w+)%)$")
            local values = prom:api("/api/v1/label/" .. label .. "/values", { { "match[]", expand(metric) } }).data
            assert.same(({ job = { JOB }, instance = { NODE } })[v.name], values, v.name)
          end
        end
        for _, p in ipairs(d.panels) do
          for _, t in ipairs(p.targets) do
            local result = prom:query(expand(t.expr))
            assert.is_true(#result > 0, p.title .. ": no data for " .. expand(t.expr))
            local finite = 0
            for _, r in ipairs(result) do
              local v = tonumber(r.value[2])
              if v == v and v ~= math.huge and v ~= -math.huge then finite = finite + 1 end
            end
            assert.is_true(finite > 0, p.title .. ": only NaN or infinite values for " .. expand(t.expr))
          end
        end
      end)
    end

    it("evaluates every alerting and recording rule without error; no alert fires on a healthy exporter", function()
      local want = 0
      for _, path in ipairs(RULES) do
        for _, g in ipairs(deploy.yaml(path).groups) do
          want = want + #g.rules
        end
      end
      local got = 0
      for _ = 1, 50 do
        got = 0
        for _, g in ipairs(prom:api("/api/v1/rules").data.groups) do
          for _, r in ipairs(g.rules) do
            if r.health == "ok" then
              got = got + 1
              assert.is_true(r.type ~= "alerting" or r.state == "inactive", r.name .. " is " .. tostring(r.state))
            else
              assert.equal("unknown", r.health, r.name .. ": " .. tostring(r.lastError))
            end
          end
        end
        if got == want then break end
        deploy.run("sleep 0.2")
      end
      assert.equal(want, got)
      for _, path in ipairs({ RULES[2] }) do
        for _, g in ipairs(deploy.yaml(path).groups) do
          for _, r in ipairs(g.rules) do
            assert.is_true(#prom:query(r.record) > 0, r.record .. " recorded nothing")
          end
        end
      end
    end)
  end)
end)
