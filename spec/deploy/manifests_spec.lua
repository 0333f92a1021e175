-- The Kubernetes manifests agree with each other, with the image and with
-- the project: names, labels, ports, capabilities, version, and the
-- ConfigMap's configs. (container_spec.lua runs the DaemonSet for real.)
local deploy = require("helpers.deploy")
local files = require("helpers.files")
local gen = require("tools.gen-configmap")

local DIR = "deploy/kubernetes/"

local function objects()
  local by_kind = {}
  for _, file in ipairs({ "00-namespace.yaml", "10-configmap.yaml", "20-daemonset.yaml", "30-service.yaml",
    "prometheus-operator/podmonitor.yaml" }) do
    for _, doc in ipairs(deploy.yaml_docs(DIR .. file)) do
      assert.is_nil(by_kind[doc.kind], doc.kind .. " twice")
      by_kind[doc.kind] = doc
    end
  end
  return by_kind
end

local function matches(selector, labels)
  for k, v in pairs(selector) do
    if labels[k] ~= v then
      return false
    end
  end
  return next(selector) ~= nil
end

-- The Containerfile's ARG and USER values.
local function containerfile()
  local text = files.read("Containerfile")
  return {
    caps = text:match("\nARG CAPS=(%S+)"),
    user = text:match("\nUSER (%d+):%d+"),
    port = text:match("\nEXPOSE (%d+)"),
  }
end

describe("the Kubernetes manifests", function()
  local o = objects()
  local ds = o.DaemonSet
  local pod = ds.spec.template.spec
  local exporter = pod.containers[1]

  it("put everything in the one namespace, and select the DaemonSet's pods", function()
    for _, kind in ipairs({ "ConfigMap", "DaemonSet", "Service", "PodMonitor" }) do
      assert.equal(o.Namespace.metadata.name, o[kind].metadata.namespace, kind)
    end
    local labels = ds.spec.template.metadata.labels
    assert.is_true(matches(ds.spec.selector.matchLabels, labels))
    assert.is_true(matches(o.Service.spec.selector, labels))
    assert.is_true(matches(o.PodMonitor.spec.selector.matchLabels, labels))
    assert.equal("None", o.Service.spec.clusterIP)
  end)

  it("agree on the metrics port: flag, container, probes, Service, PodMonitor, image", function()
    local port
    for _, arg in ipairs(exporter.args) do
      port = port or arg:match("^%-%-web%.listen%-address=:(%d+)$")
    end
    assert.equal("metrics", exporter.ports[1].name)
    assert.equal(tonumber(port), exporter.ports[1].containerPort)
    assert.equal(containerfile().port, port)
    assert.equal("metrics", exporter.livenessProbe.httpGet.port)
    assert.equal("/-/healthy", exporter.livenessProbe.httpGet.path)
    assert.equal("metrics", exporter.readinessProbe.httpGet.port)
    assert.equal("/-/ready", exporter.readinessProbe.httpGet.path)
    assert.equal("metrics", o.Service.spec.ports[1].targetPort)
    assert.equal("metrics", o.PodMonitor.spec.podMetricsEndpoints[1].port)
  end)

  it("give the PodMonitor's job the name the plain scrape job, the alerts and the dashboards use", function()
    local job = ds.spec.template.metadata.labels[o.PodMonitor.spec.jobLabel]
    assert.equal("ebpf-lua-exporter", job)
    assert.equal(job, deploy.yaml(DIR .. "prometheus/scrape-config.yaml").scrape_configs[1].job_name)
  end)

  it("run the project's image, as the image's user, allowing every file capability of its binary", function()
    local image = ("ebpf-lua-exporter:%s"):format(deploy.version())
    local want = {}
    for cap in containerfile().caps:gmatch("cap_([%w_]+)") do
      want[#want + 1] = cap:upper()
    end
    for _, c in ipairs({ pod.initContainers[1], exporter }) do
      assert.equal(image, c.image, c.name)
      assert.equal(tonumber(containerfile().user), c.securityContext.runAsUser, c.name)
      assert.is_true(c.securityContext.runAsNonRoot, c.name)
      assert.is_true(c.securityContext.readOnlyRootFilesystem, c.name)
      assert.same({ "ALL" }, c.securityContext.capabilities.drop, c.name)
    end
    local add = exporter.securityContext.capabilities.add
    table.sort(want)
    table.sort(add)
    assert.same(want, add)
    -- no_new_privs would void the file capabilities.
    assert.is_true(exporter.securityContext.allowPrivilegeEscalation)
  end)

  it("run on every node, with host PID and network and the kernel's filesystems", function()
    assert.is_true(pod.hostPID)
    assert.is_true(pod.hostNetwork)
    assert.same({ { operator = "Exists" } }, pod.tolerations)
    local volumes = {}
    for _, v in ipairs(pod.volumes) do
      volumes[v.name] = v
    end
    local mounted = {}
    for _, c in ipairs({ pod.initContainers[1], exporter }) do
      for _, m in ipairs(c.volumeMounts) do
        assert.is_not_nil(volumes[m.name], c.name .. ": no volume " .. m.name)
        if volumes[m.name].hostPath then
          assert.equal(volumes[m.name].hostPath.path, m.mountPath, m.name)
          mounted[m.mountPath] = true
        end
      end
    end
    assert.same({ ["/sys/kernel/btf"] = true, ["/sys/kernel/tracing"] = true, ["/sys/fs/bpf"] = true,
      ["/sys/fs/cgroup"] = true }, mounted)
    assert.equal(o.ConfigMap.metadata.name, volumes.configmap.configMap.name)
    assert.is_string(exporter.resources.limits.memory)
    assert.is_string(exporter.resources.requests.memory)
  end)

  it("carry in the ConfigMap what tools/gen-configmap.lua makes from examples/", function()
    local text = files.read(DIR .. "10-configmap.yaml")
    assert.equal(gen.render(gen.names(files.read(gen.DAEMONSET))), text)
    for name, yaml in pairs(o.ConfigMap.data) do
      assert.equal(files.read("examples/" .. name), yaml, name)
    end
  end)
end)
