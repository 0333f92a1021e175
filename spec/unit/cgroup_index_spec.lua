-- Specs for lua/exporter/cgroup_index.lua on a fake cgroup2 tree: a temporary
-- directory named by a fake mountinfo, whose inode numbers serve as ids.
-- It is not a cgroup2 filesystem, so the index rescans; the event path is
-- driven with events as fanotify reports them (the real kernel's in the
-- integration spec).
local ffi = require("ffi")
local index = require("exporter.cgroup_index")
local files = require("helpers.files")
local sh = files.run
local write = files.write

local function q(path) return "'" .. path .. "'" end

-- The inode number of a path, as stat(1) prints it: the id the index must give.
local function ino(path) return (sh("stat -c %i " .. q(path)):gsub("%s+$", "")) end

local CREATE_DIR = bit.bor(index.FAN_CREATE, index.FAN_ONDIR)
local DELETE_DIR = bit.bor(index.FAN_DELETE, index.FAN_ONDIR)

describe("cgroup_index", function()
  local tmp, root, mountinfo, now, logs

  -- Log lines other than debug ones (those carry timings).
  local function infos()
    local out = {}
    for _, l in ipairs(logs) do
      if l[1] ~= "debug" then out[#out + 1] = l[1] .. ": " .. l[2] end
    end
    return out
  end
  local function has_log(level, msg)
    for _, l in ipairs(logs) do
      if l[1] == level and l[2] == msg then return true end
    end
    return false
  end

  local function new(opts)
    opts = opts or {}
    opts.mountinfo = opts.mountinfo or mountinfo
    opts.now = function() return now end
    opts.log = function(level, msg) logs[#logs + 1] = { level, msg } end
    return assert(index.new(opts))
  end

  before_each(function()
    now = 1000
    logs = {}
    tmp = (sh("mktemp -d /tmp/elx-cgidx.XXXXXX"):gsub("%s+$", ""))
    -- A space in the root checks mountinfo's octal escapes.
    root = tmp .. "/cg root"
    sh("mkdir -p " .. q(root .. "/system.slice/ssh.service") .. " " .. q(root .. "/system.slice/cron.service")
      .. " " .. q(root .. "/user.slice"))
    write(root .. "/cgroup.procs", "1\n")
    write(root .. "/system.slice/memory.stat", "")
    mountinfo = tmp .. "/mountinfo"
    write(mountinfo, table.concat({
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      ("41 31 0:99 / %s rw,relatime shared:9 - cgroup2 cgroup2 rw"):format((root:gsub(" ", "\\040"))),
      "",
    }, "\n"))
  end)
  after_each(function()
    os.execute("rm -rf " .. q(tmp))
  end)

  describe("without events", function()
    it("indexes every directory by inode number, and nothing else", function()
      local idx = new()
      assert.equal(root, idx:lookup(ino(root)))
      assert.equal(root .. "/system.slice", idx:lookup(ino(root .. "/system.slice")))
      assert.equal(root .. "/system.slice/ssh.service", idx:lookup(ino(root .. "/system.slice/ssh.service")))
      assert.equal(root .. "/system.slice/cron.service", idx:lookup(ino(root .. "/system.slice/cron.service")))
      assert.equal(root .. "/user.slice", idx:lookup(ino(root .. "/user.slice")))
      now = now + 1
      assert.is_nil(idx:lookup(ino(root .. "/cgroup.procs")))
      local all = {}
      idx:each(function(id, path) all[path] = id end)
      assert.same({
        [root] = ino(root),
        [root .. "/system.slice"] = ino(root .. "/system.slice"),
        [root .. "/system.slice/ssh.service"] = ino(root .. "/system.slice/ssh.service"),
        [root .. "/system.slice/cron.service"] = ino(root .. "/system.slice/cron.service"),
        [root .. "/user.slice"] = ino(root .. "/user.slice"),
      }, all)
      assert.equal(ino(root .. "/user.slice"), idx:id_of(root .. "/user.slice"))
      assert.same({ cgroups = 5, dead = 0, rescans = 1, events = 0, mode = "rescan" }, idx:stats())
    end)

    it("takes ids as decimal strings, numbers and uint64_t", function()
      local idx = new()
      local id = ino(root .. "/user.slice")
      assert.equal(root .. "/user.slice", idx:lookup(tonumber(id)))
      assert.equal(root .. "/user.slice", idx:lookup(ffi.new("uint64_t", tonumber(id))))
    end)

    it("says once that fanotify is unavailable, and rescans", function()
      local idx = new()
      for _ = 1, 3 do
        now = now + 1
        assert.is_nil(idx:lookup("999999999999"))
        now = now + 1000
      end
      assert.equal(3, idx:stats().rescans)
      assert.same({
        "info: cgroup index: fanotify unavailable for " .. root
          .. " (not a cgroup2 filesystem): finding new cgroups by rescanning",
      }, infos())
      assert.equal("rescan", idx:mode())
      assert.is_nil(idx:fd())
    end)

    it("does not follow symbolic links", function()
      sh("ln -s .. " .. q(root .. "/system.slice/up") .. " && ln -s /tmp " .. q(root .. "/tmp"))
      local idx = new()
      assert.equal(5, idx:stats().cgroups)
    end)

    it("finds a directory made after the first walk with one rescan, at once", function()
      local idx = new()
      sh("mkdir " .. q(root .. "/user.slice/user-1000.slice"))
      local id = ino(root .. "/user.slice/user-1000.slice")
      assert.equal(root .. "/user.slice/user-1000.slice", idx:lookup(id))
      assert.equal(1, idx:stats().rescans)
      assert.equal(root .. "/user.slice/user-1000.slice", idx:lookup(id))
      assert.equal(1, idx:stats().rescans)
    end)

    it("rescans at most once per rescan_interval, and remembers no miss without one", function()
      local idx = new({ rescan_interval = 0.5 })
      now = now + 1
      assert.is_nil(idx:lookup("999999991"))
      assert.equal(1, idx:stats().rescans)
      -- Within 0.5 s of that rescan: no other rescan, even for a new directory...
      sh("mkdir " .. q(root .. "/late"))
      local late = ino(root .. "/late")
      now = now + 0.4
      assert.is_nil(idx:lookup("999999992"))
      assert.is_nil(idx:lookup(late))
      assert.equal(1, idx:stats().rescans)
      -- ...which the first lookup after the interval finds.
      now = now + 0.1
      assert.equal(root .. "/late", idx:lookup(late))
      assert.equal(2, idx:stats().rescans)
    end)

    it("by default leaves a gap between rescans of ten times the last one's cost", function()
      local idx = new()
      assert.is_nil(idx:lookup("999999991"))
      assert.equal(1, idx:stats().rescans)
      -- No time has passed on the stubbed clock: whatever the walk cost, too soon.
      assert.is_nil(idx:lookup("999999992"))
      assert.equal(1, idx:stats().rescans)
      now = now + 1
      assert.is_nil(idx:lookup("999999992"))
      assert.equal(2, idx:stats().rescans)
    end)

    it("remembers a miss for miss_ttl seconds", function()
      local idx = new()
      now = 1001
      assert.is_nil(idx:lookup("999999991"))
      assert.equal(1, idx:stats().rescans)
      now = 1300.9
      assert.is_nil(idx:lookup("999999991"))
      assert.equal(1, idx:stats().rescans)
      now = 1301
      assert.is_nil(idx:lookup("999999991"))
      assert.equal(2, idx:stats().rescans)
      -- The memory is per id: another one rescans.
      now = 1302
      assert.is_nil(idx:lookup("999999992"))
      assert.equal(3, idx:stats().rescans)
    end)

    it("remembers a bounded number of misses", function()
      local idx = new({ miss_cache_size = 2 })
      for _, id in ipairs({ "91", "92", "93", "94", "95" }) do
        now = now + 1
        assert.is_nil(idx:lookup(id))
      end
      assert.equal(5, idx:stats().rescans)
      -- Two generations of two: 93 to 95 are remembered, 91 and 92 were
      -- dropped to keep the bound.
      now = now + 1
      assert.is_nil(idx:lookup("95"))
      assert.is_nil(idx:lookup("93"))
      assert.equal(5, idx:stats().rescans)
      assert.is_nil(idx:lookup("91"))
      assert.equal(6, idx:stats().rescans)
    end)

    it("resolves a deleted directory until grace seconds after its last lookup", function()
      local idx = new()
      local path = root .. "/system.slice/cron.service"
      local id = ino(path)
      local changes = {}
      idx:subscribe(function(change, cid, cpath) changes[#changes + 1] = { change, cid, cpath } end)
      sh("rmdir " .. q(path))
      now = 1001
      assert.is_true(idx:rescan())
      assert.same({ { "removed", id, path } }, changes)
      assert.same({ cgroups = 4, dead = 1, rescans = 1, events = 0, mode = "rescan" }, idx:stats())
      assert.is_nil(idx:id_of(path))
      -- Exactly 600 s after the deletion: still there, and the lookup counts as a use.
      now = 1601
      assert.equal(path, idx:lookup(id))
      now = 2201
      assert.equal(path, idx:lookup(id))
      now = 2801.5
      assert.is_nil(idx:lookup(id))
      assert.same({ cgroups = 4, dead = 0, rescans = 2, events = 0, mode = "rescan" }, idx:stats())
    end)

    it("forgets deleted directories nobody looks up at a poll after grace + grace/10", function()
      local idx = new()
      sh("rm -r " .. q(root .. "/system.slice"))
      now = 1001
      idx:rescan()
      assert.equal(3, idx:stats().dead)
      now = 1601
      idx:poll()
      assert.equal(3, idx:stats().dead)
      now = 1660.9
      idx:poll()
      assert.equal(3, idx:stats().dead)
      now = 1661
      idx:poll()
      assert.equal(0, idx:stats().dead)
      assert.equal(2, idx:stats().cgroups)
    end)

    it("gives a moved directory its new path", function()
      local idx = new()
      local id = ino(root .. "/user.slice")
      local changes = {}
      idx:subscribe(function(change, cid, cpath) changes[#changes + 1] = { change, cid, cpath } end)
      sh("mv " .. q(root .. "/user.slice") .. " " .. q(root .. "/users.slice"))
      idx:rescan()
      assert.equal(root .. "/users.slice", idx:lookup(id))
      assert.equal(id, idx:id_of(root .. "/users.slice"))
      assert.is_nil(idx:id_of(root .. "/user.slice"))
      assert.same({ { "removed", id, root .. "/user.slice" }, { "created", id, root .. "/users.slice" } }, changes)
      assert.same({ cgroups = 5, dead = 0, rescans = 1, events = 0, mode = "rescan" }, idx:stats())
    end)

    it("tells subscribers of changes until they unsubscribe, and logs a failing one", function()
      local idx = new()
      local changes = {}
      local unsubscribe = idx:subscribe(function(change, id, path) changes[#changes + 1] = { change, id, path } end)
      idx:subscribe(function() error("boom", 0) end)
      sh("mkdir " .. q(root .. "/a") .. " && rmdir " .. q(root .. "/user.slice"))
      local a, user = ino(root .. "/a"), idx:id_of(root .. "/user.slice")
      idx:rescan()
      assert.same({ { "removed", user, root .. "/user.slice" }, { "created", a, root .. "/a" } }, changes)
      assert.is_true(has_log("warn", "cgroup index: a subscriber failed on removed " .. root .. "/user.slice: boom"))
      assert.is_true(has_log("warn", "cgroup index: a subscriber failed on created " .. root .. "/a: boom"))
      unsubscribe()
      sh("rmdir " .. q(root .. "/a"))
      idx:rescan()
      assert.equal(2, #changes)
    end)

    it("has no cgroups without a cgroup2 mount, and says so", function()
      write(mountinfo, "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n")
      local idx = new()
      now = now + 1
      assert.is_nil(idx:lookup(ino(root)))
      assert.equal(0, idx:stats().cgroups)
      assert.same({ "info: cgroup index: no cgroup2 mount in " .. mountinfo .. ": every cgroup id is unknown" },
        infos())
    end)

    it("fails when mountinfo cannot be read", function()
      local idx, err = index.new({ mountinfo = tmp .. "/missing" })
      assert.is_nil(idx)
      assert.equal(tmp .. "/missing: No such file or directory", err)
    end)

    it("indexes the given roots instead of the mounts", function()
      local idx = new({ roots = { root .. "/system.slice" } })
      assert.equal(root .. "/system.slice/ssh.service", idx:lookup(ino(root .. "/system.slice/ssh.service")))
      assert.equal(3, idx:stats().cgroups)
    end)

    it("walks thousands of directories at once, then looks them up without rescans", function()
      sh("bash -c " .. q("mkdir -p \"$0\"/kubepods/pod{1..40}/ctr{1..50}") .. " " .. q(root))
      local expect = {}
      for line in sh("find " .. q(root) .. " -type d -printf '%i %p\\n'"):gmatch("[^\n]+") do
        local id, path = line:match("^(%d+) (.+)$")
        expect[id] = path
      end
      local t0 = os.clock()
      local idx = new()
      local elapsed = os.clock() - t0
      assert.equal(2046, idx:stats().cgroups)
      for id, path in pairs(expect) do
        assert.equal(path, idx:lookup(id))
      end
      assert.equal(0, idx:stats().rescans)
      -- ~40 ms on the 2-core VM; seconds would mean a stat or a rescan per directory.
      assert.is_true(elapsed < 1, ("walk took %.3f s"):format(elapsed))
    end)
  end)

  describe("with events", function()
    local queue, idx
    local function push(ev) queue[#queue + 1] = ev end
    before_each(function()
      queue = {}
      idx = new({ events = function()
        local out = queue
        queue = {}
        return out
      end })
    end)

    it("learns a new directory from its event, without a rescan", function()
      local slice = idx:id_of(root .. "/system.slice")
      sh("mkdir " .. q(root .. "/system.slice/new.service"))
      local id = ino(root .. "/system.slice/new.service")
      push({ mask = CREATE_DIR, parent = slice, name = "new.service" })
      assert.equal(root .. "/system.slice/new.service", idx:lookup(id))
      assert.same({ cgroups = 6, dead = 0, rescans = 0, events = 1, mode = "fanotify" }, idx:stats())
      assert.is_true(has_log("debug", ("cgroup index: learned %s/system.slice/new.service (id %s) from fanotify")
        :format(root, id)))
      assert.same({}, infos())
    end)

    it("does not rescan on a miss: the events are the truth", function()
      sh("mkdir " .. q(root .. "/quiet"))
      now = now + 10
      assert.is_nil(idx:lookup(ino(root .. "/quiet")))
      assert.equal(0, idx:stats().rescans)
    end)

    it("removes a deleted directory on its event; it resolves for the grace period", function()
      local path = root .. "/system.slice/ssh.service"
      local id = idx:id_of(path)
      local changes = {}
      idx:subscribe(function(change, cid, cpath) changes[#changes + 1] = { change, cid, cpath } end)
      sh("rmdir " .. q(path))
      push({ mask = DELETE_DIR, parent = idx:id_of(root .. "/system.slice"), name = "ssh.service" })
      assert.equal(1, idx:poll())
      assert.same({ { "removed", id, path } }, changes)
      assert.is_true(has_log("debug", ("cgroup index: %s (id %s) removed"):format(path, id)))
      assert.equal(path, idx:lookup(id))
      now = now + 600.5
      assert.is_nil(idx:lookup(id))
      assert.same({ cgroups = 4, dead = 0, rescans = 0, events = 1, mode = "fanotify" }, idx:stats())
    end)

    it("sorts out a merged delete and create of one name", function()
      local path = root .. "/user.slice"
      local old = idx:id_of(path)
      -- Made before the old one goes, so that the filesystem cannot hand
      -- out the same inode number again (kernfs never does).
      sh("mv " .. q(path) .. " " .. q(path .. ".old") .. " && mkdir " .. q(path) .. " && rmdir " .. q(path .. ".old"))
      local new_id = ino(path)
      assert.are_not.equal(old, new_id)
      push({ mask = bit.bor(CREATE_DIR, DELETE_DIR), parent = ino(root), name = "user.slice" })
      idx:poll()
      assert.equal(new_id, idx:id_of(path))
      assert.equal(path, idx:lookup(new_id))
      assert.equal(path, idx:lookup(old))
      assert.same({ cgroups = 5, dead = 1, rescans = 0, events = 1, mode = "fanotify" }, idx:stats())
    end)

    it("names a directory deleted before its event was read, from the target id", function()
      push({ mask = bit.bor(CREATE_DIR, DELETE_DIR), parent = ino(root), name = "brief.scope", target = "987654321" })
      assert.equal(root .. "/brief.scope", idx:lookup("987654321"))
      assert.same({ cgroups = 5, dead = 1, rescans = 0, events = 1, mode = "fanotify" }, idx:stats())
    end)

    it("ignores events outside the tree and of files", function()
      sh("mkdir " .. q(root .. "/x"))
      push({ mask = CREATE_DIR, parent = "424242424242", name = "x" })
      push({ mask = CREATE_DIR, name = "x" })
      push({ mask = index.FAN_CREATE, parent = ino(root), name = "x" })
      assert.equal(0, idx:poll())
      assert.is_nil(idx:id_of(root .. "/x"))
      assert.equal(0, idx:stats().rescans)
    end)

    it("rescans after lost events and after a move", function()
      sh("mkdir " .. q(root .. "/unseen"))
      push({ mask = index.FAN_Q_OVERFLOW })
      idx:poll()
      assert.equal(1, idx:stats().rescans)
      assert.equal(ino(root .. "/unseen"), idx:id_of(root .. "/unseen"))
      sh("mv " .. q(root .. "/unseen") .. " " .. q(root .. "/seen"))
      push({ mask = bit.bor(index.FAN_MOVED_FROM, index.FAN_ONDIR), parent = ino(root), name = "unseen" })
      push({ mask = bit.bor(index.FAN_MOVED_TO, index.FAN_ONDIR), parent = ino(root), name = "seen" })
      idx:poll()
      assert.equal(2, idx:stats().rescans)
      assert.equal(root .. "/seen", idx:lookup(ino(root .. "/seen")))
    end)
  end)
end)
