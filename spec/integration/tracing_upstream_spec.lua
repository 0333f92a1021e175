-- ebpf_exporter's tracing examples that this kernel can attach, as
-- spec/integration/upstream/ reproduces them (their record layouts and
-- configs, programs of our own), compiled the way users compile theirs
-- (`make bpf SRC=dir`, against bpf/tracing.bpf.h) and loaded with
-- --config.check --config.strict.
local helper = require("helpers.exporter")

describe("ebpf_exporter's tracing examples", function()
  local dir

  setup(function()
    dir = helper.tmpdir()
    helper.sh("cp spec/integration/upstream/*.bpf.c spec/integration/upstream/*.yaml " .. dir)
    local out, code = helper.sh("make -s bpf SRC=" .. dir)
    assert(code == 0, out)
  end)

  teardown(function()
    os.execute("rm -rf " .. dir)
  end)

  for _, name in ipairs({ "exec-trace", "bio-trace" }) do
    it(name .. " loads and attaches with --config.check --config.strict", function()
      local out, code = helper.run(("--config.dir=%s --config.names=%s --config.check --config.strict")
        :format(dir, name))
      assert.equal(0, code, out)
      assert.truthy(out:find("info: config check passed: 1 configs loaded, 3 of 3 programs attached\n", 1, true), out)
      assert.truthy(out:find("info: tracing: " .. (name == "bio-trace" and 2 or 1) .. " span streams", 1, true), out)
    end)
  end
end)
