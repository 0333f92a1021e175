-- The shipped examples on this kernel: every one of them passes
-- --config.check --config.strict, unless the machine lacks what it needs
-- (then the test is pending, saying why); and the four `make run` starts
-- count known events exactly. Other examples have their own specs.
local helper = require("helpers.exporter")
local lock = require("helpers.lock")

local EXAMPLES = { "timers", "softirqs", "syscalls", "biolatency" }

-- What an example needs beyond a BTF kernel: nil when this machine has it,
-- else the reason to skip.
local NEEDS = {
  llcstat = function()
    if helper.read_file("/sys/bus/event_source/devices/cpu/type") then
      return nil
    end
    return "llcstat needs hardware cache counters: this machine has no cpu PMU in /sys/bus/event_source/devices"
  end,
}

local function all_examples()
  local names = {}
  for file in helper.sh("ls " .. helper.examples_dir):gmatch("[^\n]+") do
    local name = file:match("^(.+)%.yaml$")
    if name then
      names[#names + 1] = name
    end
  end
  return names
end
local TARGET = helper.spec_dir .. "/elx-test-target"

-- Examples that take what only one program can hold, lo's XDP slot, are
-- checked in a network namespace of their own: another exporter of the
-- machine may hold the root namespace's.
local OWN_NETNS = { xdp = true }

local function delta(before, after, series)
  return (after[series] or 0) - (before[series] or 0)
end

describe("examples", function()
  local names = all_examples()
  it("are all built: every examples/<name>.bpf.c with its <name>.yaml", function()
    local sources = {}
    for file in helper.sh("ls examples"):gmatch("[^\n]+") do
      sources[#sources + 1] = file:match("^(.+)%.bpf%.c$")
    end
    assert.same(sources, names)
    for _, name in ipairs(names) do
      assert.is_truthy(helper.read_file(helper.examples_dir .. "/" .. name .. ".bpf.o"), name)
    end
  end)

  for _, name in ipairs(names) do
    it(name .. " passes --config.check --config.strict", function()
      local missing = NEEDS[name] and NEEDS[name]()
      if missing then
        print("\nskipped: " .. missing)
        return pending(missing)
      end
      local ns, remove_ns
      if OWN_NETNS[name] then ns, remove_ns = helper.netns() end
      local out, code = helper.sh(helper.in_netns(ns) .. helper.binary .. " --log.no-timestamps --config.check "
        .. "--config.strict --config.dir=" .. helper.examples_dir .. " --config.names=" .. name)
      if remove_ns then remove_ns() end
      assert.equal(0, code, out)
      local last = out:match("([^\n]*)\n$")
      assert.is_truthy(last:match("^info: config check passed: 1 configs loaded, (%d+) of %1 programs attached$"), out)
    end)
  end

  describe("running together", function()
    local e
    setup(function()
      e = helper.start({ dir = helper.examples_dir, names = table.concat(EXAMPLES, ",") })
    end)
    teardown(function()
      assert.equal(0, (e:stop()))
    end)

    it("syscalls: counts N failing setpriority calls by name and errno", function()
      local series = 'ebpf_exporter_syscall_failures_total{errno="EINVAL",syscall="setpriority"}'
      -- The example counts every process's syscalls by name and errno only.
      -- setpriority(99, 0, 0) is made by no one but elx-test-target's
      -- `fail`, which every copy of this spec runs under this lock.
      local before, after
      lock.with("setpriority-einval", function()
        before = e:samples()
        helper.sh(TARGET .. " fail 250")
        after = e:samples()
      end)
      assert.equal(250, delta(before, after, series))
      assert.is_true(delta(before, after, 'ebpf_exporter_syscalls_total{syscall="setpriority"}') >= 250)
    end)

    -- The names ebpf_exporter prints, where the kernel's headers say
    -- futex and exit_group.
    it("syscalls: names 202 futex_time64 and 231 exit as ebpf_exporter does", function()
      if jit.arch ~= "x64" then
        pending("202 and 231 are amd64's numbers")
      end
      -- futex ENOSYS is as rare as the failure above: every copy of this
      -- spec makes it under this lock.
      local before, after
      lock.with("futex-enosys", function()
        before = e:samples()
        helper.sh(TARGET .. " futex-fail 120")
        helper.sh(TARGET .. " exit 30")
        after = e:samples()
      end)
      assert.equal(120, delta(before, after,
        'ebpf_exporter_syscall_failures_total{errno="ENOSYS",syscall="futex_time64"}'))
      -- Every process on the machine exits the same way: at least ours.
      assert.is_true(delta(before, after, 'ebpf_exporter_syscalls_total{syscall="exit"}') >= 30)
      assert.is_nil(after['ebpf_exporter_syscalls_total{syscall="exit_group"}'])
      assert.is_nil(after['ebpf_exporter_syscalls_total{syscall="futex"}'])
    end)

    it("softirqs: one series per softirq kind and CPU", function()
      local s = e:samples()
      local n = 0
      for series in pairs(s) do
        if series:match("^ebpf_exporter_softirqs_total{") then
          n = n + 1
        end
      end
      local cpus = tonumber((helper.sh("nproc --all")))
      assert.equal(10 * cpus, n)
      for cpu = 0, cpus - 1 do
        for _, kind in ipairs({ "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu" }) do
          assert.is_not_nil(s[('ebpf_exporter_softirqs_total{cpu="%d",kind="%s"}'):format(cpu, kind)])
        end
      end
    end)

    it("timers: names timer functions from kallsyms", function()
      helper.sleep(0.5)
      local text = e:scrape()
      local named, unknown = 0, 0
      for fn in text:gmatch('ebpf_exporter_timer_starts_total{function="([^"]+)"}') do
        if fn:match("^unknown_addr:") then unknown = unknown + 1 else named = named + 1 end
      end
      assert.is_true(named > 0)
      assert.equal(0, unknown)
    end)

    it("biolatency: an exact count of direct writes to a loop device", function()
      local dir = helper.tmpdir()
      local loop = (helper.sh("truncate -s 8M " .. dir .. "/disk && losetup -f --show " .. dir .. "/disk")):gsub("%s+$", "")
      assert.is_truthy(loop:match("^/dev/loop%d+$"), loop)
      local dev = loop:match("loop%d+")
      local count = ('ebpf_exporter_bio_latency_seconds_count{device="%s",operation="write"}'):format(dev)
      -- The map counts by device number, and numbers come back: another
      -- process's loop device of the same number may have just gone, and
      -- majorminor believes such a miss for 0.1 s. Past that, both scrapes
      -- name the number after our device.
      helper.sleep(0.2)
      local before = e:samples()
      local out, code = helper.sh("dd if=/dev/zero of=" .. loop .. " bs=4096 count=40 oflag=direct")
      local after = e:samples()
      helper.sh("losetup -d " .. loop)
      os.execute("rm -rf " .. dir)
      assert.equal(0, code, out)
      assert.equal(40, delta(before, after, count))
      -- The full bucket set, bucket_min..bucket_max plus +Inf, and a sum in seconds.
      local buckets = 0
      for series in pairs(after) do
        if series:match('^ebpf_exporter_bio_latency_seconds_bucket{device="' .. dev .. '",operation="write",') then
          buckets = buckets + 1
        end
      end
      assert.equal(28, buckets)
      assert.equal(after[count], after[('ebpf_exporter_bio_latency_seconds_bucket{device="%s",operation="write",le="+Inf"}'):format(dev)])
      assert.is_true(after[('ebpf_exporter_bio_latency_seconds_sum{device="%s",operation="write"}'):format(dev)] > 0)
    end)
  end)
end)
