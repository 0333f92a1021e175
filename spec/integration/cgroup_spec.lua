-- The cgroup example and decoder on the real kernel: a cgroup made after the
-- exporter started shows as its exact path with an exact migration count, and
-- the index learned it from fanotify (its debug log says how it learned each
-- cgroup), not from a rescan.
local helper = require("helpers.exporter")
local cgroup_index = require("exporter.cgroup_index")

local SERIES = 'ebpf_exporter_cgroup_sched_migrations_total{cgroup="%s"}'

-- The cgroup2 mount the exporter indexes, found the same way.
local function cgroup2_mount()
  local mounts = cgroup_index.cgroup2_mounts("/proc/self/mountinfo")
  return mounts and mounts[1]
end

-- Why this machine cannot run the spec, or nil.
local function missing()
  if (helper.sh("id -u")):gsub("%s+$", "") ~= "0" then return "needs root" end
  if not cgroup2_mount() then return "no cgroup2 mount" end
  if tonumber((helper.sh("nproc"))) < 2 then return "needs two CPUs to migrate between" end
  local _, code = helper.sh("command -v taskset")
  if code ~= 0 then return "needs taskset (util-linux)" end
  return nil
end

-- Linux 6.6 and later take fanotify marks on cgroupfs.
local function kernel_has_kernfs_fanotify()
  local major, minor = (helper.sh("uname -r")):match("^(%d+)%.(%d+)")
  major, minor = tonumber(major), tonumber(minor)
  return major > 6 or (major == 6 and minor >= 6)
end

-- Runs a process that joins the cgroup at dir and then migrates between CPUs
-- exactly n times: it starts pinned to CPU 0, and each taskset pins it to the
-- other CPU before exec'ing the next. A task pinned to one CPU is never moved
-- by the load balancer, so these are its only migrations.
local function migrate(dir, n)
  local chain = {}
  for i = 1, n do chain[i] = "taskset -c " .. (i % 2) end
  local out, code = helper.sh(("taskset -c 0 sh -c 'echo $$ > %s/cgroup.procs && exec %s true'"):format(
    dir, table.concat(chain, " ")))
  assert(code == 0, out)
end

local function ino(path) return ((helper.sh("stat -c %i " .. path)):gsub("%s+$", "")) end

-- rmdir fails with EBUSY until the kernel has let go of the last exited task.
local function remove(dir)
  for _ = 1, 100 do
    local _, code = helper.sh("rmdir " .. dir)
    if code == 0 then return end
    helper.sleep(0.02)
  end
  error("cannot remove " .. dir)
end

local function log_lines(e)
  local lines = {}
  for line in (helper.read_file(e.log) or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

local function count_lines(lines, pred)
  local n = 0
  for _, l in ipairs(lines) do
    if pred(l) then n = n + 1 end
  end
  return n
end

local function exactly(line)
  return function(l) return l == line end
end

describe("cgroup example", function()
  describe("running", function()
    local why = missing()
    local e, base, first, second
    setup(function()
      if why then return end
      base = cgroup2_mount()
      local tag = ("%d-%d"):format(os.time(), math.random(1e6))
      first, second = base .. "/elx-spec-" .. tag .. "-a", base .. "/elx-spec-" .. tag .. "-b"
      e = helper.start({ dir = helper.examples_dir, names = "cgroup", args = "--debug --log.no-timestamps" })
    end)
    teardown(function()
      if why then return end
      local code, log = e:stop()
      os.execute("rmdir " .. first .. " " .. second .. " 2>/dev/null")
      assert.equal(0, code, log)
    end)

    it("names a cgroup made after the start by its path, learned from fanotify", function()
      if why then return pending(why) end
      local out, code = helper.sh("mkdir " .. first)
      assert.equal(0, code, out)
      local id = ino(first)
      migrate(first, 10)
      local s = e:samples()
      assert.equal(10, s[SERIES:format(first)])
      assert.equal(0, helper.decoder_errors(s, "cgroup"))

      local lines = log_lines(e)
      -- Rescan lines carry timings: count them by their start.
      local prefix = "debug: cgroup index: rescan "
      local rescans = count_lines(lines, function(l) return l:sub(1, #prefix) == prefix end)
      if kernel_has_kernfs_fanotify() then
        assert.equal(1, count_lines(lines, exactly(
          "info: cgroup index: following " .. base .. " with fanotify (filesystem mark, DFID_NAME_TARGET)")))
        assert.equal(1, count_lines(lines, exactly(
          ("debug: cgroup index: learned %s (id %s) from fanotify"):format(first, id))))
        assert.equal(0, rescans)
      else
        assert.equal(1, count_lines(lines, function(l)
          return l:match("^info: cgroup index: fanotify unavailable for ") ~= nil
        end))
        assert.is_true(rescans >= 1)
      end
    end)

    it("goes on after the cgroup is removed, and names the next one", function()
      if why then return pending(why) end
      local first_id = ino(first)
      remove(first)
      local out, code = helper.sh("mkdir " .. second)
      assert.equal(0, code, out)
      local id = ino(second)
      migrate(second, 4)
      local s = e:samples()
      assert.equal(4, s[SERIES:format(second)])
      -- The deleted cgroup's row keeps its path.
      assert.equal(10, s[SERIES:format(first)])
      assert.equal(0, helper.decoder_errors(s, "cgroup"))
      remove(second)
      s = e:samples()
      assert.equal(4, s[SERIES:format(second)])

      if kernel_has_kernfs_fanotify() then
        local lines = log_lines(e)
        assert.equal(1, count_lines(lines, exactly(
          ("debug: cgroup index: %s (id %s) removed"):format(first, first_id))))
        assert.equal(1, count_lines(lines, exactly(
          ("debug: cgroup index: learned %s (id %s) from fanotify"):format(second, id))))
      end
    end)
  end)
end)
