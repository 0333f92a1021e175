-- The container image, run with podman as deploy/kubernetes/20-daemonset.yaml
-- runs it: the spec reads the DaemonSet and translates its pod, field by
-- field, into podman runs (image, command, args, env, user, capabilities,
-- seccomp, limits, host PID and network, every volume and mount, the init
-- container, the probes), so the manifest cannot drift from what is tested.
-- A field it does not know fails the spec. Known events are made on the
-- host and the counts are scraped from the host.
--
-- What differs from a kubelet, because of this machine: runc (crun refuses
-- the hybrid cgroup layout here), nofile/nproc limits no higher than the
-- host's (root here lacks CAP_SYS_RESOURCE), a base image imported from the
-- debootstrap root (no image registry is reachable), and the metrics port:
-- with host networking the DaemonSet's port is the host's, which other
-- exporters on a shared machine may hold, so the spec moves it to a free
-- one everywhere it appears (the flag, containerPort and so the probes, and
-- the image's health check through ELX_HEALTH_PORT).
local deploy = require("helpers.deploy")
local files = require("helpers.files")
local helper = require("helpers.exporter")

local DAEMONSET = "deploy/kubernetes/20-daemonset.yaml"
local BASE = "localhost/elx-debian-root:bookworm"

local POD_FIELDS = { hostPID = true, hostNetwork = true, dnsPolicy = true, automountServiceAccountToken = true,
  tolerations = true, terminationGracePeriodSeconds = true, initContainers = true, containers = true, volumes = true }
local CONTAINER_FIELDS = { name = true, image = true, command = true, args = true, env = true, ports = true,
  securityContext = true, resources = true, livenessProbe = true, readinessProbe = true, volumeMounts = true }

local quote = deploy.quote

local function check_known(what, t, known)
  for k in pairs(t) do
    assert(known[k], ("%s: %s is not emulated by container_spec.lua: teach it"):format(what, k))
  end
end

-- The base image, imported once from the clean Debian root.
local function base_image()
  local root = deploy.debian_root()
  local id_file = root .. ".image-id"
  local id = files.try_read(id_file)
  if id and deploy.sh("podman image exists " .. deploy.trim(id)) and select(2, deploy.sh("podman image exists "
    .. deploy.trim(id))) == 0 then
    return BASE
  end
  id = deploy.run(("tar -C %s --exclude=./.elx-ready -c . | podman import -q - %s"):format(root, BASE))
  files.write(id_file, id)
  return BASE
end

local function hard_limit(flag)
  return deploy.trim(deploy.run("bash -c 'ulimit -H" .. flag .. "'"))
end


-- podman's default limits are higher than root here may grant: the host's
-- own file limit, and a process limit far above the exporter's one thread
-- (runc here fails to set more than 32768).
local function machine_flags()
  return ("--runtime runc --ulimit nofile=%s:%s --ulimit nproc=4096:4096"):format(hard_limit("n"), hard_limit("n"))
end

-- A ConfigMap volume as the kubelet lays it out: the files in a timestamped
-- directory, ..data pointing at it, each key a symlink through ..data.
local function configmap_dir(configmap)
  local dir = files.tmpdir()
  deploy.run("mkdir " .. dir .. "/..2026_01_01_00_00_00.000000000 && ln -s ..2026_01_01_00_00_00.000000000 "
    .. dir .. "/..data && chmod 0755 " .. dir)
  for key, text in pairs(configmap.data) do
    files.write(dir .. "/..data/" .. key, text)
    deploy.run(("ln -s ..data/%s %s/%s"):format(key, dir, key))
  end
  return dir
end

-- Host directories for the pod's volumes.
local function volumes(pod, configmap)
  local host, temporary = {}, {}
  for _, v in ipairs(pod.volumes) do
    if v.emptyDir then
      host[v.name] = files.tmpdir()
      deploy.run("chmod 0777 " .. host[v.name])
      temporary[#temporary + 1] = host[v.name]
    elseif v.configMap then
      assert.equal(configmap.metadata.name, v.configMap.name)
      host[v.name] = configmap_dir(configmap)
      temporary[#temporary + 1] = host[v.name]
    elseif v.hostPath then
      if v.hostPath.type == "Directory" then
        assert.equal(0, select(2, deploy.sh("test -d " .. v.hostPath.path)), v.hostPath.path)
      end
      host[v.name] = v.hostPath.path
    else
      error("volume " .. v.name .. ": only emptyDir, configMap and hostPath are emulated")
    end
  end
  return host, temporary
end

local function quantity_memory(q)
  local n, unit = q:match("^(%d+)(%a*)$")
  local scale = ({ [""] = 1, Ki = 1024, Mi = 1024 ^ 2, Gi = 1024 ^ 3 })[unit]
  return assert(scale and tonumber(n) * scale, "memory quantity " .. q)
end

local function quantity_cpu(q)
  local m = q:match("^(%d+)m$")
  return m and tonumber(m) / 1000 or assert(tonumber(q), "cpu quantity " .. q)
end

-- podman run's flags for one of the pod's containers; `port` replaces the
-- container's metrics port.
local function podman_run_flags(pod, c, host_volumes, port)
  check_known("container " .. c.name, c, CONTAINER_FIELDS)
  local flags = { machine_flags() }
  local listen = c.ports and ("--web.listen-address=:%d"):format(c.ports[1].containerPort)
  local function add(f) flags[#flags + 1] = f end
  if pod.hostNetwork then add("--network host") end
  if pod.hostPID then add("--pid host") end
  local sc = c.securityContext or {}
  check_known("securityContext of " .. c.name, sc, { runAsUser = true, runAsGroup = true, runAsNonRoot = true,
    readOnlyRootFilesystem = true, capabilities = true, allowPrivilegeEscalation = true, seccompProfile = true })
  if sc.runAsUser then add(("--user %d:%d"):format(sc.runAsUser, sc.runAsGroup or sc.runAsUser)) end
  if sc.readOnlyRootFilesystem then add("--read-only --read-only-tmpfs=false") end
  for _, cap in ipairs((sc.capabilities or {}).drop or {}) do add("--cap-drop " .. cap:lower()) end
  for _, cap in ipairs((sc.capabilities or {}).add or {}) do add("--cap-add " .. cap) end
  if sc.allowPrivilegeEscalation == false then add("--security-opt no-new-privileges") end
  if sc.seccompProfile then
    assert.equal("Unconfined", sc.seccompProfile.type)
    add("--security-opt seccomp=unconfined")
  end
  local limits = (c.resources or {}).limits or {}
  if limits.memory then add("--memory " .. quantity_memory(limits.memory)) end
  if limits.cpu then add("--cpus " .. quantity_cpu(limits.cpu)) end
  for _, env in ipairs(c.env or {}) do
    local value = env.value
    if env.valueFrom then
      assert.equal("spec.nodeName", env.valueFrom.fieldRef.fieldPath)
      value = deploy.trim(deploy.run("hostname"))
    end
    add("--env " .. quote(env.name .. "=" .. value))
  end
  for _, m in ipairs(c.volumeMounts or {}) do
    add(("-v %s:%s%s"):format(assert(host_volumes[m.name], m.name), m.mountPath, m.readOnly and ":ro" or ""))
  end
  local argv = {}
  if c.command then
    add("--entrypoint " .. quote(c.command[1]))
    for i = 2, #c.command do argv[#argv + 1] = quote(c.command[i]) end
  end
  for _, a in ipairs(c.args or {}) do
    if a == listen then
      a = ("--web.listen-address=:%d"):format(port)
      add("--env ELX_HEALTH_PORT=" .. port)
    end
    argv[#argv + 1] = quote(a)
  end
  return table.concat(flags, " ") .. " " .. c.image .. " " .. table.concat(argv, " ")
end

-- GET from the host: body and status, or nil before the exporter listens.
local function get(port, path)
  local body, code = deploy.sh(("curl -s -o /dev/stdout -w ' %%{http_code}' http://127.0.0.1:%d%s"):format(port, path))
  if code ~= 0 then
    return nil
  end
  local text, status = body:match("^(.-) (%d+)$")
  return text, tonumber(status)
end

local function samples(port)
  local text, status = get(port, "/metrics")
  assert(status == 200, text)
  return helper.samples(text), text
end

describe("the container image run as the DaemonSet runs it", function()
  local ds = deploy.yaml(DAEMONSET)
  local pod = ds.spec.template.spec
  local exporter = pod.containers[1]
  local configmap = deploy.yaml("deploy/kubernetes/10-configmap.yaml")
  local port = require("helpers.prometheus").free_port()
  local name = "elx-daemonset-" .. deploy.trim(deploy.run("echo $$"))
  local temporary = {}

  setup(function()
    check_known("the pod", pod, POD_FIELDS)
    assert(#pod.containers == 1 and #pod.initContainers == 1, "one init container and one container are emulated")
    local listen = ("--web.listen-address=:%d"):format(exporter.ports[1].containerPort)
    local found = false
    for _, a in ipairs(exporter.args) do found = found or a == listen end
    assert(found, "the exporter's args have no " .. listen .. " (its containerPort)")
    deploy.run(("sh tools/build-image.sh %s %s --build-arg BASE=%s --network host %s"):format(
      deploy.deb(), exporter.image, base_image(), machine_flags()))
  end)
  teardown(function()
    os.execute("podman rm -f " .. name .. " >/dev/null 2>&1")
    for _, dir in ipairs(temporary) do
      os.execute("rm -rf " .. dir)
    end
  end)

  it("has the pod's capabilities, and no other, as file capabilities of the binary", function()
    local mount = deploy.trim(deploy.run("podman image mount " .. exporter.image))
    local caps = deploy.run("getcap " .. mount .. "/usr/bin/ebpf-lua-exporter")
    deploy.run("podman image unmount " .. exporter.image)
    local got, want = {}, {}
    for cap in caps:match(" (%S+)=ep\n$"):gmatch("cap_([%w_]+)") do got[#got + 1] = cap:upper() end
    for _, cap in ipairs(exporter.securityContext.capabilities.add) do want[#want + 1] = cap end
    table.sort(got)
    table.sort(want)
    assert.same(want, got)
  end)

  it("serves, ready and healthy, as a non-root user; counts N host events exactly; stops leaving nothing", function()
    local host_volumes
    host_volumes, temporary = volumes(pod, configmap)

    -- The init container assembles the config dir: the image's objects and
    -- the ConfigMap's YAML.
    local init = pod.initContainers[1]
    deploy.run("podman run --rm " .. podman_run_flags(pod, init, host_volumes))
    local configs
    for _, m in ipairs(exporter.volumeMounts) do
      if m.mountPath == "/configs" then configs = host_volumes[m.name] end
    end
    for key, text in pairs(configmap.data) do
      assert.equal(text, files.read(configs .. "/" .. key), key)
      assert.is_truthy(files.try_read(configs .. "/" .. key:gsub("%.yaml$", ".bpf.o")), key)
    end

    deploy.run(("podman run -d --name %s %s"):format(name, podman_run_flags(pod, exporter, host_volumes, port)))
    local ready, status
    for _ = 1, 300 do
      ready, status = get(port, exporter.readinessProbe.httpGet.path)
      if status == 200 then break end
      deploy.run("sleep 0.1")
    end
    assert.equal(200, status, (ready or "") .. deploy.run("podman logs " .. name))
    assert.equal("ready: 7 of 7 programs attached\n", ready)
    local healthy
    healthy, status = get(port, exporter.livenessProbe.httpGet.path)
    assert.equal(200, status)
    assert.equal("healthy\n", healthy)
    local out, code = deploy.sh("podman healthcheck run " .. name .. " 2>/dev/null")
    assert.equal(0, code, out)

    -- Not root, and after attach only the capabilities it keeps.
    local pid = deploy.trim(deploy.run("podman inspect -f '{{.State.Pid}}' " .. name))
    local status_file = files.read("/proc/" .. pid .. "/status")
    local uid = tostring(exporter.securityContext.runAsUser)
    assert.equal(("%s\t%s\t%s\t%s"):format(uid, uid, uid, uid), status_file:match("\nUid:\t([^\n]+)"))
    assert.equal("0000000400000000", status_file:match("\nCapEff:\t(%x+)")) -- cap_syslog alone

    -- Known events on the host, counted in the container.
    -- The loop device is attached before counting starts: a device number
    -- another test used a moment ago may have counts of its own already.
    local failures = 'ebpf_exporter_syscall_failures_total{errno="EINVAL",syscall="setpriority"}'
    local dir = files.tmpdir()
    temporary[#temporary + 1] = dir
    local loop = deploy.trim(deploy.run("truncate -s 8M " .. dir .. "/disk && losetup -f --show " .. dir .. "/disk"))
    local release = require("helpers.lock").take("setpriority-einval")
    local before = samples(port)
    deploy.run(helper.spec_dir .. "/elx-test-target fail 250")
    local writes = ('ebpf_exporter_bio_latency_seconds_count{device="%s",operation="write"}'):format(loop:match("loop%d+"))
    out, code = deploy.sh("dd if=/dev/zero of=" .. loop .. " bs=4096 count=40 oflag=direct")
    local after, text = samples(port)
    release()
    deploy.run("losetup -d " .. loop)
    assert.equal(0, code, out)
    assert.equal(250, (after[failures] or 0) - (before[failures] or 0))
    assert.equal(40, (after[writes] or 0) - (before[writes] or 0))
    local named, unknown = 0, 0
    for fn in text:gmatch('ebpf_exporter_timer_starts_total{function="([^"]+)"}') do
      if fn:match("^unknown_addr:") then unknown = unknown + 1 else named = named + 1 end
    end
    assert.is_true(named > 0)
    assert.equal(0, unknown)

    -- SIGTERM as the kubelet sends it: exit 0, and no program of ours left.
    local ids = helper.program_ids(text)
    assert.equal(7, #ids)
    deploy.run(("podman stop -t %d %s"):format(pod.terminationGracePeriodSeconds, name))
    assert.equal("0", deploy.trim(deploy.run("podman inspect -f '{{.State.ExitCode}}' " .. name)))
    for _, id in ipairs(ids) do
      assert.is_false(helper.program_loaded(id), "program " .. id .. " is still loaded")
    end
    local log = deploy.run("podman logs " .. name .. " 2>&1")
    assert.is_truthy(log:find('info: capabilities: dropped to "cap_syslog=ep"', 1, true), log)
  end)
end)
