-- cgroup_id_map against the real kernel: the exporter keeps a hash of cgroup
-- ids and a cgroup storage map filled with the cgroups whose paths match,
-- including cgroups created and removed while it runs.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local write = files.write

local function cgroup2_mount()
  return (helper.sh("awk '$9 == \"cgroup2\" { print $5; exit }' /proc/self/mountinfo"):gsub("%s+$", ""))
end

-- Up to 8 s: rescans come every 5 s where fanotify is not used.
local function wait_for_log(e, text)
  for _ = 1, 160 do
    if (helper.read_file(e.log) or ""):find(text, 1, true) then
      return true
    end
    helper.sleep(0.05)
  end
  return false
end

describe("cgroup_id_map", function()
  local mount, tag, dir, made
  before_each(function()
    mount = cgroup2_mount()
    tag = tostring(os.time()) .. tostring(math.random(100000))
    dir = helper.tmpdir()
    made = {}
    for _, name in ipairs({ "cgmap_hash", "cgmap_storage" }) do
      os.execute(("cp %s/cgroup_map_test.bpf.o %s/%s.bpf.o"):format(helper.spec_dir, dir, name))
    end
    local yaml = [[
metrics:
  counters:
    - name: %s
      help: Calls of elx_test_hit from allowed cgroups
      labels:
        - { name: cgroup, size: 8, decoders: [{ name: uint }, { name: cgroup }] }
cgroup_id_map:
  name: %s
  type: %s
  regexps: ['^%s/elx-allowed-%s']
]]
    write(dir .. "/cgmap_hash.yaml", yaml:format("cgroup_map_hash_hits_total", "allowed_cgroup_ids", "hash", mount, tag))
    write(dir .. "/cgmap_storage.yaml",
      yaml:format("cgroup_map_storage_hits_total", "allowed_cgroup_storage", "cgrp_storage", mount, tag))
  end)
  after_each(function()
    for i = #made, 1, -1 do
      os.execute("rmdir " .. made[i] .. " 2>/dev/null")
    end
    os.execute("rm -rf " .. dir)
  end)

  local function mkcgroup(name)
    local path = mount .. "/" .. name
    assert(os.execute("mkdir " .. path) == 0)
    made[#made + 1] = path
    return path
  end

  local function hit_in(e, cgroup, n)
    local out, code = helper.sh(("sh -c 'echo $$ > %s/cgroup.procs && exec %s'"):format(cgroup,
      e:target_command("hit " .. n)))
    assert.equal(0, code, out)
  end

  local function holds_matching(env)
    local early = mkcgroup("elx-allowed-" .. tag .. "-early")
    local e = helper.start({ dir = dir, names = "cgmap_hash,cgmap_storage", args = "--debug", env = env })
    local late = mkcgroup("elx-allowed-" .. tag .. "-late")
    local denied = mkcgroup("elx-denied-" .. tag)
    for _, map in ipairs({ "allowed_cgroup_ids", "allowed_cgroup_storage" }) do
      assert.is_true(wait_for_log(e, ("cgroup_id_map %s: added %s (id"):format(map, late)), map)
    end
    hit_in(e, early, 7)
    hit_in(e, late, 11)
    hit_in(e, denied, 13)
    local s = e:samples()
    for _, metric in ipairs({ "cgroup_map_hash_hits_total", "cgroup_map_storage_hits_total" }) do
      assert.equal(7, s[('ebpf_exporter_%s{cgroup="%s"}'):format(metric, early)], metric)
      assert.equal(11, s[('ebpf_exporter_%s{cgroup="%s"}'):format(metric, late)], metric)
      assert.is_nil(s[('ebpf_exporter_%s{cgroup="%s"}'):format(metric, denied)], metric)
    end
    -- A removed cgroup leaves the hash (cgroup storage leaves with the cgroup).
    assert.equal(0, (os.execute("rmdir " .. late)))
    assert.is_true(wait_for_log(e, ("cgroup_id_map allowed_cgroup_ids: removed %s"):format(late)))
    local _, log = e:stop()
    return log
  end

  it("holds the matching cgroups, from before and after start, and only them", function()
    local log = holds_matching()
    assert.is_truthy(log:find("cgroup index: following " .. mount .. " with fanotify", 1, true), log)
  end)

  it("does the same by rescanning where fanotify is unavailable", function()
    local log = holds_matching("ELX_CGROUP_FANOTIFY=0")
    assert.is_nil(log:find("with fanotify", 1, true), log)
  end)
end)
