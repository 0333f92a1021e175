-- The binary's start, failure and exit paths, against the real kernel.
local helper = require("helpers.exporter")

local function lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    out[#out + 1] = line
  end
  return out
end

describe("flags", function()
  it("prints one clear line and exits 1 for a bad flag or a missing file", function()
    local cases = {
      { "--nope", "ebpf-lua-exporter: error: unknown flag --nope, try --help" },
      { "--config.dir=/nonexistent --config.names=x",
        "ebpf-lua-exporter: error: --config.dir: /nonexistent: No such file or directory, try --help" },
      { "--config.names=x", "ebpf-lua-exporter: error: required flag --config.dir not provided, try --help" },
      { "--config.dir=/tmp", "ebpf-lua-exporter: error: required flag --config.names not provided, try --help" },
      { "--config.dir=/tmp --config.names=a,b,a",
        'ebpf-lua-exporter: error: --config.names: "a" is listed twice, try --help' },
      { "--config.dir=/tmp --config.names=a --config.cache-size=lots",
        "ebpf-lua-exporter: error: --config.cache-size: lots is not a count (a whole number >= 0), try --help" },
      { "--config.dir=/tmp --config.names=a --web.telemetry-path=metrics",
        "ebpf-lua-exporter: error: --web.telemetry-path: metrics must start with /, try --help" },
      { "--debug=1", "ebpf-lua-exporter: error: --debug takes no value, try --help" },
      { "--config.dir", "ebpf-lua-exporter: error: --config.dir needs a value, try --help" },
    }
    for _, c in ipairs(cases) do
      local out, code = helper.run(c[1])
      assert.equal(1, code, c[1])
      assert.equal(c[2] .. "\n", out, c[1])
    end
  end)

  it("answers --help and --version with exit 0", function()
    local out, code = helper.run("--help")
    assert.equal(0, code)
    assert.equal("usage: ebpf-lua-exporter --config.dir=DIR --config.names=NAMES [flags]", lines(out)[1])
    for _, flag in ipairs({ "--config.dir=DIR", "--config.names=NAMES", "--[no-]config.strict", "--[no-]config.check",
      "--[no-]debug", "--[no-]log.no-timestamps", "--web.listen-address=ADDR", "--web.telemetry-path=PATH", "--version" }) do
      assert.is_truthy(out:find("\n  " .. flag .. " ", 1, true), flag)
    end
    out, code = helper.run("--version")
    assert.equal(0, code)
    assert.equal("ebpf-lua-exporter version 0.1.0\n", out)
  end)
end)

describe("config errors", function()
  it("reports every error of every config with file and YAML path, and exits 1", function()
    local dir = helper.config_dir("uprobe_test", "broken", [[
metrics:
  counters:
    - name: test_hits_total
      help: x
      labels:
        - { name: v, size: 8, decoders: [{ name: uint }] }
    - name: no_such_map
      help: x
  histograms:
    - name: test_value_exp2
      help: x
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 10
      labels:
        - { name: bucket, size: 4, decoders: [{ name: uint }] }
]])
    local f = assert(io.open(dir .. "/other.yaml", "w"))
    f:write("metrics:\n  counters:\n    - name: x\n      helpp: y\n")
    f:close()
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=broken,other,absent")
    assert.equal(1, code)
    local errors = {}
    for _, l in ipairs(lines(out)) do
      if l:match("^error: ") then
        errors[#errors + 1] = l
      end
    end
    assert.same({
      'error: broken.yaml: metrics.counters[0].labels: the labels take 8 bytes (size + padding), but map "test_hits_total" has 4-byte keys',
      'error: broken.yaml: metrics.counters[1].name: no map "no_such_map" in broken.bpf.o',
      'error: broken.yaml: metrics.histograms[0].labels: the labels take 4 bytes (size + padding), but map "test_value_exp2" has 8-byte keys',
      "error: other.bpf.o: No such file or directory",
      "error: other.yaml: metrics.counters[0].helpp: unknown key",
      "error: other.yaml: metrics.counters[0].help: missing",
      "error: absent.bpf.o: No such file or directory",
      "error: absent.yaml: No such file or directory",
    }, errors)
    os.execute("rm -rf " .. dir)
  end)

  it("prints the verifier's reason for a rejected program and exits 1", function()
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. helper.spec_dir .. " --config.names=bad_verifier")
    assert.equal(1, code)
    assert.is_truthy(out:find("R0 invalid mem access 'map_value_or_null'", 1, true))
    assert.is_truthy(out:find("\nerror: config bad_verifier: loading " .. helper.spec_dir
      .. "/bad_verifier.bpf.o failed: Permission denied\n", 1, true))
  end)
end)

describe("attach failures", function()
  it("report the program as not attached, and still count the others", function()
    local e = helper.start({ names = "attach_fail" })
    e:target("hit 17")
    local text = e:scrape()
    local s = helper.samples(text)
    assert.equal(17, s["ebpf_exporter_attach_fail_hits_total"])
    local attached = {}
    for program, id in text:gmatch('ebpf_exporter_ebpf_program_info{config="attach_fail",id="(%d+)",program="([%w_]+)"') do
      attached[id] = s[('ebpf_exporter_ebpf_program_attached{id="%s"}'):format(program)]
    end
    assert.same({ attached_hit = 1, never_attached = 0 }, attached)
    local code, log = e:stop()
    assert.equal(0, code)
    assert.is_truthy(log:find('error: config attach_fail: program never_attached '
      .. '(SEC("tracepoint/elx_no_such_system/elx_no_such_event")): attach failed: No such file or directory', 1, true))
  end)

  it("are fatal with --config.strict", function()
    local out, code = helper.run("--log.no-timestamps --config.strict --config.check --config.dir="
      .. helper.spec_dir .. " --config.names=attach_fail")
    assert.equal(1, code)
    assert.is_truthy(out:find("attach failed: No such file or directory", 1, true))
  end)

  it("pass --config.check without --config.strict, saying what attached", function()
    local out, code = helper.run("--log.no-timestamps --config.check --config.dir="
      .. helper.spec_dir .. " --config.names=attach_fail,uprobe_test")
    assert.equal(0, code)
    local last = lines(out)
    assert.equal("info: config check passed: 2 configs loaded, 2 of 3 programs attached", last[#last])
  end)
end)

describe("shutdown", function()
  for _, signal in ipairs({ "TERM", "INT" }) do
    it("on SIG" .. signal .. " detaches everything and exits 0", function()
      local e = helper.start({ names = "uprobe_test,attach_fail" })
      local ids = helper.program_ids(e:scrape())
      assert.equal(3, #ids)
      for _, id in ipairs(ids) do
        assert.is_true(helper.program_loaded(id), "program " .. id .. " loaded while running")
      end
      os.execute("kill -" .. signal .. " " .. e.pid)
      local code, log = e:wait()
      assert.equal(0, code)
      assert.is_truthy(log:find("shutting down", 1, true))
      for _, id in ipairs(ids) do
        assert.is_false(helper.program_loaded(id), "program " .. id .. " left loaded")
      end
    end)
  end
end)
