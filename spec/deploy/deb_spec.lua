-- The Debian package: its control data, then a real install into a clean
-- Debian 12 root (debootstrap, from the mirror apt uses here), the installed
-- exporter checking the installed examples, and a purge without leftovers.
local deploy = require("helpers.deploy")

-- Examples this machine or the clean root cannot run, and why.
local function left_out(root)
  local out = {}
  if not io.open("/sys/bus/event_source/devices/cpu/type") then
    out.llcstat = "needs hardware cache counters (no cpu PMU here)"
  end
  if not io.open(root .. "/usr/bin/python3.11") then
    out.usdt = "probes /usr/bin/python3.11, which the clean root does not have"
  end
  -- One XDP program per interface: another exporter may hold lo's.
  if deploy.run("ip link show lo"):find(" xdp", 1, true) then
    out.xdp = "lo has an XDP program already: " .. deploy.trim(deploy.run("ip -d link show lo | grep -o 'prog/xdp id [0-9]*'"))
  end
  return out
end

local function field(deb, name)
  return deploy.trim(deploy.run(("dpkg-deb -f %s %s"):format(deb, name)))
end

describe("the Debian package", function()
  local deb = deploy.deb()
  local version = deploy.version()

  it("is the project's version, for this architecture", function()
    local arch = deploy.trim(deploy.run("dpkg --print-architecture"))
    assert.equal(("ebpf-lua-exporter_%s_%s.deb"):format(version, arch), deb:match("[^/]+$"))
    assert.equal(version, field(deb, "Version"))
  end)

  it("depends on exactly the libraries the binary links, lua-yaml and PCRE2; recommends libcurl for spans", function()
    local names = {}
    for dep in field(deb, "Depends"):gmatch("[^,]+") do
      names[#names + 1] = dep:match("^%s*([%w.+-]+)")
    end
    table.sort(names)
    assert.same({ "libbpf1", "libc6", "libcap2", "libcrypt1", "libelf1", "libhttp-parser2.9", "libluajit-5.1-2",
      "libpcre2-8-0", "libprotobuf-c1", "libssl3", "libsystemd0", "libuv1", "lua-yaml", "zlib1g" }, names)
    -- libcurl is loaded (dlopen) only to export spans over OTLP.
    local recommends = {}
    for dep in field(deb, "Recommends"):gmatch("[^,]+") do
      recommends[#recommends + 1] = dep:match("^%s*([%w.+-]+)")
    end
    table.sort(recommends)
    assert.same({ "hwdata", "libcurl4" }, recommends)
  end)

  it("installs into a clean Debian 12 root, checks every example there and purges without leftovers", function()
    local chroot = deploy.chroot()
    finally(function() chroot:remove() end)
    chroot:run("apt-get update -qq")
    local before = chroot:files()
    deploy.run(("cp %s %s/tmp/"):format(deb, chroot.root))
    chroot:run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/"
      .. deb:match("[^/]+$") .. " >/dev/null")

    -- The units are there, and not enabled.
    assert.equal("/lib/systemd/system/ebpf-lua-exporter.service\n/lib/systemd/system/ebpf-lua-exporter.socket\n",
      chroot:run("ls /lib/systemd/system/ebpf-lua-exporter.*"))
    assert.equal("", chroot:run("find /etc/systemd -name 'ebpf-lua-exporter*'"))
    assert.equal("ExecStart=/usr/bin/ebpf-lua-exporter \\\n",
      chroot:run("grep '^ExecStart=' /lib/systemd/system/ebpf-lua-exporter.service"))

    -- The installed exporter loads and attaches every installed example
    -- this machine can run.
    local skip = left_out(chroot.root)
    local names, all = {}, 0
    for file in chroot:run("ls /usr/share/ebpf-lua-exporter/examples"):gmatch("(%S+)%.yaml\n") do
      all = all + 1
      if skip[file] then
        print(("\ndeb: example %s left out: %s"):format(file, skip[file]))
      else
        names[#names + 1] = file
      end
    end
    assert.equal(#deploy.run("ls examples/*.bpf.c"):gsub("[^\n]", ""), all)
    assert.is_true(#names >= all - 3, table.concat(names, ","))
    local out = chroot:run("/usr/bin/ebpf-lua-exporter --log.no-timestamps --config.check --config.strict "
      .. "--config.dir=/usr/share/ebpf-lua-exporter/examples --config.names=" .. table.concat(names, ","))
    local loaded, attached, total = out:match("\ninfo: config check passed: (%d+) configs loaded, (%d+) of (%d+) "
      .. "programs attached\n$")
    assert.equal(#names, tonumber(loaded), out)
    assert.equal(total, attached, out)

    -- Purged: every file dpkg listed is gone, and the root is as it was.
    local listed = chroot:run("dpkg -L ebpf-lua-exporter")
    chroot:run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --auto-remove ebpf-lua-exporter >/dev/null")
    assert.equal("", chroot:run("dpkg-query -W -f='${db:Status-Status}' ebpf-lua-exporter 2>/dev/null || true"))
    local left = {}
    for path in listed:gmatch("[^\n]+") do
      if path ~= "/." and path:match("ebpf%-lua%-exporter") and io.open(chroot.root .. path) then
        left[#left + 1] = path
      end
    end
    assert.same({}, left)
    local after = chroot:files()
    assert.same({}, deploy.missing_from(after, before))
    assert.same({}, deploy.missing_from(before, after))
  end)
end)
