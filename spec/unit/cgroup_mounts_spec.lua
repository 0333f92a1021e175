-- Specs for lua/exporter/cgroup_mounts.lua: the cgroup2 mounts of a
-- mountinfo file.
local mounts = require("exporter.cgroup_mounts")
local files = require("helpers.files")
local write = files.write

describe("cgroup_mounts.cgroup2_mounts", function()
  local tmp, mountinfo
  before_each(function()
    tmp = files.tmpdir()
    mountinfo = tmp .. "/mountinfo"
  end)
  after_each(function()
    os.execute("rm -rf '" .. tmp .. "'")
  end)

  it("lists one mount per cgroup2 filesystem, the whole tree first, unescaped", function()
    write(mountinfo, table.concat({
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "40 31 0:38 /sub /mnt/sub rw,relatime shared:9 - cgroup2 cgroup2 rw",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw",
      "42 31 0:38 / /mnt/again rw,relatime - cgroup2 cgroup2 rw",
      "43 31 0:51 /x /tmp/with\\040space\\134 rw - cgroup2 cgroup2 rw",
      "",
    }, "\n"))
    assert.same({ "/sys/fs/cgroup/unified", "/tmp/with space\\" }, mounts.cgroup2_mounts(mountinfo))
  end)

  it("is empty without a cgroup2 mount, and names an unreadable file", function()
    write(mountinfo, "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n")
    assert.same({}, mounts.cgroup2_mounts(mountinfo))
    local out, err = mounts.cgroup2_mounts(tmp .. "/missing")
    assert.is_nil(out)
    assert.equal(tmp .. "/missing: No such file or directory", err)
  end)

  it("is what cgroup_index gives under the same name", function()
    assert.equal(mounts.cgroup2_mounts, require("exporter.cgroup_index").cgroup2_mounts)
  end)
end)
