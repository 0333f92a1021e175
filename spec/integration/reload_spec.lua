-- Hot reloads against the real kernel: counts survive, mistakes leave the
-- running configuration in place, changed and added and removed configs are
-- picked up, scrapes never see half a reload, and nothing leaks.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local write = files.write

local TARGET = helper.spec_dir .. "/elx-test-target"

local function hits(n, value)
  local out, code = helper.sh(("%s hit %d %d"):format(TARGET, n, value))
  assert(code == 0, out)
end

-- A config over uprobe_test.bpf.o, labelling elx_test_hit's argument through
-- a static_map. Configs served together need metrics of their own: `map` is
-- test_hits_by_value_total, or one of the other u64-keyed maps of the object.
local function named_values(one, map)
  return ([[
metrics:
  counters:
    - name: %s
      help: Calls of elx_test_hit by named value
      labels:
        - name: value
          size: 8
          decoders:
            - name: uint
            - name: static_map
              static_map: { 1: %s }
]]):format(map or "test_hits_by_value_total", one)
end

-- The object's maps keyed by the u64 argument, one per config.
local VALUE_MAPS = { "test_hits_by_value_total", "test_value_exp2", "test_value_linear" }

local function setup_dir(names)
  local dir = helper.tmpdir()
  for i, name in ipairs(names) do
    os.execute(("cp %s/uprobe_test.bpf.o %s/%s.bpf.o"):format(helper.spec_dir, dir, name))
    write(("%s/%s.yaml"):format(dir, name), named_values("one", VALUE_MAPS[i]))
  end
  return dir
end

local function reload(e)
  local body, status = e:get("/-/reload", "-X POST")
  return status, body
end

local function reload_metrics(s)
  return { s["ebpf_exporter_config_last_reload_successful"], s['ebpf_exporter_config_reloads_total{result="success"}'],
    s['ebpf_exporter_config_reloads_total{result="failure"}'] }
end

describe("reload", function()
  local dir, e
  after_each(function()
    if e then
      e:stop()
      e = nil
    end
    os.execute("rm -rf " .. dir)
  end)

  it("keeps counting across a YAML-only reload, under the new labels", function()
    dir = setup_dir({ "named" })
    e = helper.start({ dir = dir, names = "named", args = "--web.enable-lifecycle" })
    local ids = helper.program_ids(e:scrape())
    hits(40, 1)
    assert.equal(40, e:samples()['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    write(dir .. "/named.yaml", named_values("uno"))
    assert.equal(200, reload(e))
    hits(2, 1)
    local text = e:scrape()
    local s = helper.samples(text)
    assert.equal(42, s['ebpf_exporter_test_hits_by_value_total{value="uno"}'])
    assert.is_nil(s['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    assert.same(ids, helper.program_ids(text)) -- the same programs, never reloaded
    assert.same({ 1, 1, 0 }, reload_metrics(s))
  end)

  it("also on SIGHUP, and event counters keep their counts", function()
    dir = helper.tmpdir()
    os.execute(("cp %s/events_test.bpf.o %s/ev.bpf.o && cp %s/events_test.yaml %s/ev.yaml"):format(
      helper.spec_dir, dir, helper.spec_dir, dir))
    e = helper.start({ dir = dir, names = "ev" })
    hits(5, 9)
    helper.sleep(0.2)
    os.execute("kill -HUP " .. e.pid)
    helper.sleep(0.3)
    hits(3, 9)
    helper.sleep(0.2)
    local s = e:samples()
    assert.equal(8, s['ebpf_exporter_events_ring_total{value="9"}'])
    assert.same({ 1, 1, 0 }, reload_metrics(s))
  end)

  -- Each case: how to break the config, and the first line of the reason
  -- the reload's answer gives, as a pattern (<dir> is the config dir).
  for _, case in ipairs({
    { what = "a broken YAML", break_it = function(d) write(d .. "/named.yaml", "metrics: [\n") end,
      reason = '^named%.yaml: line 1, column 10: not valid YAML: did not find expected node content: "metrics: %["$' },
    { what = "a decoder script with a syntax error", break_it = function(d)
      os.execute("mkdir -p " .. d .. "/decoders")
      write(d .. "/decoders/oops.lua", "return {\n")
    end, reason = '^decoder "oops" %(<dir>/decoders/oops%.lua%): line 2: unexpected symbol near \'<eof>\'$' },
    { what = "an object the verifier rejects", break_it = function(d)
      os.execute(("cp %s/bad_verifier.bpf.o %s/named.bpf.o"):format(helper.spec_dir, d))
      write(d .. "/named.yaml", "metrics: { counters: [ { name: bad_total, help: x } ] }\n")
    end, reason = "^config named: loading <dir>/named%.bpf%.o failed: prog 'unchecked_lookup': BPF program load failed: "
      .. "Permission denied$" },
  }) do
    it("with " .. case.what .. " fails, says why, and the running configuration stays", function()
      dir = setup_dir({ "named" })
      e = helper.start({ dir = dir, names = "named", args = "--web.enable-lifecycle" })
      hits(7, 1)
      case.break_it(dir)
      local status, body = reload(e)
      assert.equal(500, status)
      local head, first = body:match("^([^\n]*)\n([^\n]*)\n")
      assert.equal("500 the reload failed and the previous configuration keeps running:", head)
      local pattern = case.reason:gsub("<dir>", (dir:gsub("%p", "%%%%%0")))
      assert.is_truthy(first:match(pattern), body)
      hits(1, 1)
      local s = e:samples()
      assert.equal(8, s['ebpf_exporter_test_hits_by_value_total{value="one"}'])
      local m = reload_metrics(s)
      assert.same({ 0, 0, 1 }, m)
      assert.is_true(s["ebpf_exporter_config_last_reload_success_timestamp_seconds"] > 1.7e9)
    end)
  end

  it("loads a changed .bpf.o anew", function()
    dir = setup_dir({ "named" })
    e = helper.start({ dir = dir, names = "named", args = "--web.enable-lifecycle" })
    hits(4, 1)
    local before = helper.program_ids(e:scrape())
    -- Other bytes, the same programs: a changed object as far as a reload knows.
    os.execute("printf 'x' >> " .. dir .. "/named.bpf.o")
    assert.equal(200, reload(e))
    local text = e:scrape()
    local after = helper.program_ids(text)
    assert.equal(1, #after)
    assert.are_not.equal(before[1], after[1])
    assert.is_false(helper.program_loaded(before[1])) -- the old one is detached and gone
    assert.is_nil(helper.samples(text)['ebpf_exporter_test_hits_by_value_total{value="one"}']) -- fresh maps
    hits(2, 1)
    assert.equal(2, e:samples()['ebpf_exporter_test_hits_by_value_total{value="one"}'])
  end)

  it("with --config.names=all and --config.watch adds and removes config pairs", function()
    dir = setup_dir({ "first" })
    e = helper.start({ dir = dir, names = "all", args = "--config.watch" })
    local function enabled()
      local s = e:samples()
      local names = {}
      for series in pairs(s) do
        local name = series:match('^ebpf_exporter_enabled_configs{name="([^"]+)"}$')
        if name then
          names[#names + 1] = name
        end
      end
      table.sort(names)
      return table.concat(names, ",")
    end
    local function wait_for(want)
      for _ = 1, 60 do
        if enabled() == want then
          return want
        end
        helper.sleep(0.1)
      end
      return enabled()
    end
    assert.equal("first", enabled())
    local first_ids = helper.program_ids(e:scrape())
    -- The object first: the YAML completes the pair, as a deploy would copy them.
    os.execute(("cp %s/uprobe_test.bpf.o %s/second.bpf.o"):format(helper.spec_dir, dir))
    write(dir .. "/second.yaml", named_values("two", "test_value_exp2"))
    assert.equal("first,second", wait_for("first,second"))
    os.remove(dir .. "/first.yaml")
    assert.equal("second", wait_for("second"))
    assert.equal(1, #first_ids)
    assert.is_false(helper.program_loaded(first_ids[1])) -- the removed config is detached and closed
    local _, log = e:stop()
    e = nil
    assert.is_truthy(log:find("--config.watch: reloading on changes in " .. dir, 1, true))
  end)

  it("over HTTP needs --web.enable-lifecycle and POST or PUT", function()
    dir = setup_dir({ "named" })
    e = helper.start({ dir = dir, names = "named" })
    local body, status = e:get("/-/reload", "-X POST")
    assert.equal(403, status)
    assert.equal("403 the lifecycle API is not enabled (--web.enable-lifecycle)\n", body)
    local _, get_status, headers = e:get("/-/reload")
    assert.equal(405, get_status)
    assert.is_truthy(headers:find("Allow: POST, PUT\r\n", 1, true))
  end)

  it("never gives a scrape an error or half an output while reloads run", function()
    dir = setup_dir({ "a", "b", "c" })
    e = helper.start({ dir = dir, names = "a,b,c", args = "--web.enable-lifecycle" })
    hits(3, 1)
    local work = e.work
    local urls = {}
    for _ = 1, 150 do
      urls[#urls + 1] = ('url = "%s/-/reload"'):format(e.url)
    end
    write(work .. "/reloads", table.concat(urls, "\n") .. "\n")
    -- Reloads in the background, scrapes in the foreground, each on its own connection.
    helper.sh(("(curl -s -X POST -K %s/reloads -o /dev/null; echo done > %s/reloads.done) "
      .. "</dev/null >/dev/null 2>&1 &"):format(work, work))
    local scrapes = 0
    repeat
      local body, status = e:get("/metrics")
      assert.equal(200, status)
      local last = body:match("([^\n]*)\n$")
      -- Complete: the last family of a scrape is there, whole.
      assert.is_truthy(last:match("^process_virtual_memory_bytes %d+$"), last)
      assert.equal(3, helper.samples(body)['ebpf_exporter_test_hits_by_value_total{value="one"}'])
      scrapes = scrapes + 1
    until helper.read_file(work .. "/reloads.done")
    assert.is_true(scrapes > 3)
    assert.equal(150, e:samples()['ebpf_exporter_config_reloads_total{result="success"}'])
  end)

  it("leaves no file descriptor and no BPF program behind after 1,000 reloads", function()
    dir = setup_dir({ "named" })
    e = helper.start({ dir = dir, names = "named", args = "--web.enable-lifecycle" })
    local function fds()
      return tonumber((helper.sh("ls /proc/" .. e.pid .. "/fd | wc -l")))
    end
    -- Ours only: other programs come and go on a shared machine.
    local function programs()
      return tonumber((helper.sh("ls -l /proc/" .. e.pid .. "/fd | grep -c bpf-prog")))
    end
    assert.equal(200, reload(e)) -- the first reload's lazily made things count as the start
    local fds_before, programs_before = fds(), programs()
    local urls = {}
    for _ = 1, 1000 do
      urls[#urls + 1] = ('url = "%s/-/reload"'):format(e.url)
    end
    write(e.work .. "/reloads", table.concat(urls, "\n") .. "\n")
    local out, code = helper.sh(("curl -s -f -X POST -K %s/reloads -o /dev/null"):format(e.work))
    assert.equal(0, code, out)
    assert.equal(1001, e:samples()['ebpf_exporter_config_reloads_total{result="success"}'])
    assert.equal(fds_before, fds())
    assert.equal(programs_before, programs())
  end)
end)
