-- Specs for decoders/cgroup.lua: cgroup ids to paths on a fake cgroup2 tree
-- (a temporary directory named by a fake mountinfo; inode numbers are the
-- ids), with the clock stubbed to drive rescans and the grace period.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local fake = require("helpers.fake")
local files = require("helpers.files")
local sh = files.run
local write = files.write

local function ino(path) return (sh("stat -c %i '" .. path .. "'"):gsub("%s+$", "")) end

describe("cgroup decoder", function()
  local registry, tmp, root, decode, logs
  local now -- the stubbed clock, in seconds
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)

  local function index() return api.state("cgroup").index end

  before_each(function()
    api.reset()
    now = 1000
    api.now = function() return now end
    logs = {}
    api.state("cgroup").log = function(level, msg)
      if level ~= "debug" then logs[#logs + 1] = level .. ": " .. msg end
    end
    tmp = (sh("mktemp -d /tmp/elx-cgroup.XXXXXX"):gsub("%s+$", ""))
    root = tmp .. "/unified"
    sh(("mkdir -p %s/system.slice/ssh.service %s/user.slice"):format(root, root))
    write(root .. "/cgroup.procs", "")
    api.paths.mountinfo = tmp .. "/mountinfo"
    write(api.paths.mountinfo, table.concat({
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "41 31 0:99 / " .. root .. " rw,relatime - cgroup2 cgroup2 rw",
      "",
    }, "\n"))
    decode = assert(registry:new({ name = "cgroup" }, { label = "cgroup", config = "cgroup", path = "p" }))
  end)
  after_each(function()
    if index() then index():close() end
    api.reset()
    os.execute("rm -rf " .. tmp)
  end)

  it("gives the full path of a cgroup id", function()
    assert.equal(root, decode(ino(root)))
    assert.equal(root .. "/system.slice", decode(ino(root .. "/system.slice")))
    assert.equal(root .. "/system.slice/ssh.service", decode(ino(root .. "/system.slice/ssh.service")))
    assert.equal(root .. "/user.slice", decode(ino(root .. "/user.slice")))
  end)

  it("takes the id from uint's output", function()
    local uint = assert(registry:new({ name = "uint" }, { input_size = 8 }))
    local id = ino(root .. "/user.slice")
    assert.equal(root .. "/user.slice", decode(assert(uint(fake.u64(tonumber(id))))))
  end)

  it("ignores leading zeros", function()
    assert.equal(root .. "/user.slice", decode("000" .. ino(root .. "/user.slice")))
  end)

  it("gives unknown_cgroup_id:<id> for an id that is no cgroup", function()
    now = now + 1
    assert.equal("unknown_cgroup_id:18446744073709551615", decode("18446744073709551615"))
    assert.equal("unknown_cgroup_id:0", decode("0"))
    assert.equal("unknown_cgroup_id:0", decode("000"))
  end)

  it("builds one index at config load, shared by every use", function()
    local first = index()
    assert.is_not_nil(first)
    local other = assert(registry:new({ name = "cgroup" }, { label = "cgroup", config = "oomkill", path = "p" }))
    assert.equal(root .. "/user.slice", other(ino(root .. "/user.slice")))
    assert.equal(first, index())
    assert.same({
      "info: cgroup index: fanotify unavailable for " .. root
        .. " (not a cgroup2 filesystem): finding new cgroups by rescanning",
    }, logs)
  end)

  it("finds a cgroup made after the index with one rescan", function()
    sh("mkdir " .. root .. "/user.slice/user-1000.slice")
    now = now + 1
    assert.equal(0, index():stats().rescans)
    assert.equal(root .. "/user.slice/user-1000.slice", decode(ino(root .. "/user.slice/user-1000.slice")))
    assert.equal(1, index():stats().rescans)
  end)

  it("does not rescan for the same unknown id again within 300 s", function()
    now = now + 1
    assert.equal("unknown_cgroup_id:123456789", decode("123456789"))
    assert.equal(1, index():stats().rescans)
    now = now + 299
    assert.equal("unknown_cgroup_id:123456789", decode("123456789"))
    assert.equal(1, index():stats().rescans)
    now = now + 1
    assert.equal("unknown_cgroup_id:123456789", decode("123456789"))
    assert.equal(2, index():stats().rescans)
  end)

  it("resolves a deleted cgroup for 600 s after its last use, then forgets it", function()
    local id = ino(root .. "/user.slice")
    sh("rmdir " .. root .. "/user.slice")
    -- Any miss rescans and finds the deletion.
    now = now + 1
    assert.equal("unknown_cgroup_id:123456789", decode("123456789"))
    assert.equal(1, index():stats().dead)
    now = now + 600
    assert.equal(root .. "/user.slice", decode(id))
    now = now + 600.5
    assert.equal("unknown_cgroup_id:" .. id, decode(id))
    assert.equal(0, index():stats().dead)
  end)

  it("fails to decode input that is not a decimal number", function()
    for _, input in ipairs({ "abc", "-1", "", "12a", "1.5", "\1\0\0\0\0\0\0\0" }) do
      local out, err = decode(input)
      assert.is_nil(out)
      assert.equal("cgroup: not a number: " .. input, err)
    end
  end)

  it("refuses raw key bytes at config load", function()
    local d, err = registry:new({ name = "cgroup" }, { input_size = 8 })
    assert.is_nil(d)
    assert.equal("cgroup: needs the decimal cgroup id from a decoder such as uint first", err)
  end)

  it("is a decode error when mountinfo cannot be read", function()
    api.reset()
    api.paths.mountinfo = "/nonexistent/mountinfo"
    local d = assert(registry:new({ name = "cgroup" }, {}))
    local out, err = d("1")
    assert.is_nil(out)
    assert.equal("cgroup: /nonexistent/mountinfo: No such file or directory", err)
  end)

  it("knows no cgroup without a cgroup2 mount, and says so", function()
    index():close()
    api.reset()
    api.now = function() return now end
    api.state("cgroup").log = function(level, msg)
      if level ~= "debug" then logs[#logs + 1] = level .. ": " .. msg end
    end
    logs = {}
    api.paths.mountinfo = tmp .. "/mountinfo.v1"
    write(api.paths.mountinfo, "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n")
    local d = assert(registry:new({ name = "cgroup" }, {}))
    now = now + 1
    assert.equal("unknown_cgroup_id:" .. ino(root), d(ino(root)))
    assert.same({ "info: cgroup index: no cgroup2 mount in " .. tmp .. "/mountinfo.v1: every cgroup id is unknown" },
      logs)
  end)
end)
