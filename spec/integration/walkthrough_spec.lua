-- The README's "Your own programs, step by step", run as written: its
-- program and YAML, compiled with `make bpf` in a directory outside the
-- source tree, checked, run, and scraped for an exact count.
local helper = require("helpers.exporter")
local files = require("helpers.files")

-- The fenced block of the README whose first line is `first`, unindented.
local function readme_block(first)
  local readme = assert(files.try_read("README.md"))
  for indent, body in readme:gmatch("\n( *)```%w+\n(.-)\n *```") do
    local text = body:gsub("\n" .. indent, "\n"):gsub("^" .. indent, "")
    if text:sub(1, #first) == first then
      return text .. "\n"
    end
  end
  error("no block starting with " .. first .. " in README.md")
end

describe("the README's walk-through for your own program", function()
  it("compiles outside the tree, passes the strict check, and counts exactly", function()
    local dir = helper.tmpdir()
    files.write(dir .. "/signals.bpf.c", readme_block("// signals.bpf.c"))
    files.write(dir .. "/signals.yaml", readme_block("# signals.yaml"))
    local out, code = helper.sh("make --no-print-directory bpf SRC=" .. dir)
    assert.equal(0, code, out)
    assert.equal(dir .. "/signals.bpf.o\n", out)
    out, code = helper.run(("--log.no-timestamps --config.check --config.strict --config.dir=%s --config.names=signals")
      :format(dir))
    assert.equal(0, code, out)
    local e = helper.start({ dir = dir, names = "signals" })
    -- A shell under a name of its own, so that no other sender shares the series.
    helper.sh(("cp /bin/sh %s/elx-walker && %s/elx-walker -c 'for i in $(seq 25); do kill -0 $$; done'")
      :format(dir, dir))
    local s = e:samples()
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
    assert.equal(25, s['ebpf_exporter_signals_sent_total{command="elx-walker",signal="0"}'])
  end)
end)
