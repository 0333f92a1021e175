-- A reload that leaves a metric's labels and decoders as they were takes
-- over its series and label cache (core/series_store.c, lua/exporter/
-- fingerprint.lua): the log says so with the counts it kept, and the counts
-- go on. A changed label list, decoder option or decoder file starts afresh.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local write = files.write

local KEPT = "config reuse, metric test_hits_by_value_total: series taken over from the running configuration"
local AFRESH = "config reuse, metric test_hits_by_value_total: series start afresh"

local function yaml(label, one, help, decoder)
  return ([[
metrics:
  counters:
    - name: test_hits_by_value_total
      help: %s
      labels:
        - name: %s
          size: 8
          decoders:
            - name: uint
            - name: %s
              static_map: { 1: %s, 2: two }
]]):format(help or "Calls of elx_test_hit by value", label, decoder or "static_map", one)
end

-- How many times each of the two messages is in the log.
local function said(e)
  local log = helper.read_file(e.log) or ""
  local _, kept = log:gsub(KEPT:gsub("%p", "%%%0"), "")
  local _, afresh = log:gsub(AFRESH:gsub("%p", "%%%0"), "")
  return { kept = kept, afresh = afresh }
end

local function reload(e)
  local body, status = e:get("/-/reload", "-X POST")
  assert.equal(200, status, body)
end

describe("a reload", function()
  local dir, e
  before_each(function()
    dir = helper.tmpdir()
    os.execute(("cp %s/uprobe_test.bpf.o %s/reuse.bpf.o"):format(helper.spec_dir, dir))
    write(dir .. "/reuse.yaml", yaml("value", "one"))
    e = helper.start({ dir = dir, names = "reuse", args = "--web.enable-lifecycle --debug" })
  end)
  after_each(function()
    e:stop()
    os.execute("rm -rf " .. dir)
  end)

  it("with the same labels and decoders keeps the metric's series and cache", function()
    assert.same({ kept = 0, afresh = 1 }, said(e))
    e:target("hit 5 1")
    e:target("hit 3 2")
    local s = e:samples()
    assert.equal(5, s['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    assert.equal(3, s['ebpf_exporter_test_hits_by_value_total{value="two"}'])
    reload(e) -- the same file
    assert.same({ kept = 1, afresh = 1 }, said(e))
    assert.truthy((helper.read_file(e.log)):find(KEPT .. " (2 series, 2 keys)", 1, true))
    write(dir .. "/reuse.yaml", yaml("value", "one", "Another help text, which no series holds"))
    reload(e)
    assert.same({ kept = 2, afresh = 1 }, said(e))
    e:target("hit 2 1")
    s = e:samples()
    assert.equal(7, s['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    assert.equal(3, s['ebpf_exporter_test_hits_by_value_total{value="two"}'])
  end)

  it("with a changed label list or decoder option starts afresh", function()
    e:target("hit 4 1")
    assert.equal(4, e:samples()['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    write(dir .. "/reuse.yaml", yaml("arg", "one"))
    reload(e)
    assert.same({ kept = 0, afresh = 2 }, said(e))
    local s = e:samples()
    assert.equal(4, s['ebpf_exporter_test_hits_by_value_total{arg="one"}'])
    assert.is_nil(s['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    write(dir .. "/reuse.yaml", yaml("arg", "uno"))
    reload(e)
    assert.same({ kept = 0, afresh = 3 }, said(e))
    s = e:samples()
    assert.equal(4, s['ebpf_exporter_test_hits_by_value_total{arg="uno"}'])
    assert.is_nil(s['ebpf_exporter_test_hits_by_value_total{arg="one"}'])
  end)

  it("with a changed decoder file starts afresh", function()
    os.execute("mkdir -p " .. dir .. "/decoders")
    local decoder = [[
local M = {}
function M.new(options)
  return function(input)
    local map = options.static_map
    return (map[tonumber(input)] or map[input] or input) .. "%s"
  end
end
return M
]]
    write(dir .. "/decoders/named.lua", decoder:format(""))
    write(dir .. "/reuse.yaml", yaml("value", "one", nil, "named"))
    reload(e)
    e:target("hit 1 1")
    assert.equal(1, e:samples()['ebpf_exporter_test_hits_by_value_total{value="one"}'])
    reload(e)
    assert.same({ kept = 1, afresh = 2 }, said(e))
    write(dir .. "/decoders/named.lua", decoder:format("!"))
    reload(e)
    assert.same({ kept = 1, afresh = 3 }, said(e))
    assert.equal(1, e:samples()['ebpf_exporter_test_hits_by_value_total{value="one!"}'])
  end)
end)
