-- /-/healthy and /-/ready, for Kubernetes' liveness and readiness probes:
-- healthy while the loop serves, ready when every program of the running
-- configuration is attached.
local helper = require("helpers.exporter")
local files = require("helpers.files")

local function config(object)
  return files.read(helper.spec_dir .. "/" .. object .. ".yaml")
end

describe("the probe endpoints", function()
  it("answer healthy and ready when every program attached", function()
    local e = helper.start({ names = "uprobe_test" })
    local body, status = e:get("/-/healthy")
    assert.equal(200, status)
    assert.equal("healthy\n", body)
    body, status = e:get("/-/ready")
    assert.equal(200, status)
    assert.equal("ready: 1 of 1 programs attached\n", body)
    local headers
    body, status, headers = e:get("/-/ready", "-I")
    assert.equal(200, status)
    assert.equal(headers, body)
    for _, path in ipairs({ "/-/healthy", "/-/ready" }) do
      _, status, headers = e:get(path, "-X POST")
      assert.equal(405, status)
      assert.is_truthy(headers:find("Allow: GET, HEAD\r\n", 1, true))
    end
    assert.equal(0, (e:stop()))
  end)

  it("are not ready while a program is not attached, and follow reloads", function()
    local dir = helper.config_dir("attach_fail", "probe", config("attach_fail"))
    local e = helper.start({ dir = dir, names = "probe" })
    local body, status = e:get("/-/ready")
    assert.equal(503, status)
    assert.equal("503 not ready: 1 of 2 programs attached (see ebpf_exporter_ebpf_program_attached)\n", body)
    body, status = e:get("/-/healthy")
    assert.equal(200, status)
    assert.equal("healthy\n", body)

    -- The next configuration attaches everything: ready from then on.
    files.run(("cp %s/uprobe_test.bpf.o %s/probe.bpf.o"):format(helper.spec_dir, dir))
    files.write(dir .. "/probe.yaml", config("uprobe_test"))
    os.execute("kill -HUP " .. e.pid)
    for _ = 1, 100 do
      body, status = e:get("/-/ready")
      if status == 200 then
        break
      end
      helper.sleep(0.05)
    end
    assert.equal(200, status)
    assert.equal("ready: 1 of 1 programs attached\n", body)
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
  end)
end)
