-- A real BPF object under a real uprobe: elx-test-target calls elx_test_hit()
-- an exact number of times with exact values, and the scrape must say so.
-- The calls are made for this exporter's object only (helper target()).
local helper = require("helpers.exporter")

describe("uprobe counters and histograms", function()
  local exporter
  before_each(function()
    exporter = helper.start({ names = "uprobe_test" })
  end)
  after_each(function()
    assert.equal(0, (exporter:stop()))
  end)

  it("counts exactly N calls", function()
    local before = exporter:samples()
    assert.equal(0, before["ebpf_exporter_test_hits_total"]) -- an array always has its entry
    assert.is_nil(before['ebpf_exporter_test_hits_by_value_total{value="1"}']) -- an empty hash has none
    exporter:target("hit 1000")
    local s = exporter:samples()
    assert.equal(1000, s["ebpf_exporter_test_hits_total"])
    assert.equal(1000, s['ebpf_exporter_test_hits_by_value_total{value="1"}'])
    exporter:target("hit 234 7")
    s = exporter:samples()
    assert.equal(1234, s["ebpf_exporter_test_hits_total"])
    assert.equal(234, s['ebpf_exporter_test_hits_by_value_total{value="7"}'])
  end)

  it("splits a per-CPU map by cpu and sums it without a cpu label", function()
    exporter:target("--cpu 0 hit 300")
    exporter:target("--cpu 1 hit 200")
    local s = exporter:samples()
    assert.equal(300, s['ebpf_exporter_test_hits_percpu_total{cpu="0"}'])
    assert.equal(200, s['ebpf_exporter_test_hits_percpu_total{cpu="1"}'])
    assert.equal(500, s["ebpf_exporter_test_hits_percpu_summed_total"])
    assert.equal(500, s["ebpf_exporter_test_hits_total"])
  end)

  it("rebuilds exp2, exp2zero, linear and fixed histograms exactly", function()
    exporter:target("values 0 1 2 3 4 5 1000 5000")
    local s = exporter:samples()
    local function buckets(name, les)
      local got = {}
      for i, le in ipairs(les) do
        got[i] = s[("ebpf_exporter_%s_bucket{le=\"%s\"}"):format(name, le)]
      end
      return got
    end
    assert.same({ 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 8, 8 },
      buckets("test_value_exp2", { "1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024", "+Inf" }))
    assert.same({ 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 8, 8 },
      buckets("test_value_exp2zero", { "0", "1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "+Inf" }))
    assert.same({ 6, 6, 6, 6, 6, 6, 6, 6, 6, 8, 8 },
      buckets("test_value_linear", { "0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "+Inf" }))
    assert.same({ 2, 6, 6, 8, 8 }, buckets("test_value_fixed", { "1", "10", "100", "1000", "+Inf" }))
    for _, name in ipairs({ "test_value_exp2", "test_value_exp2zero", "test_value_linear", "test_value_fixed" }) do
      assert.equal(8, s["ebpf_exporter_" .. name .. "_count"], name)
    end
    assert.equal(6015, s["ebpf_exporter_test_value_exp2_sum"])
    assert.equal(6015, s["ebpf_exporter_test_value_exp2zero_sum"])
    assert.equal(6015, s["ebpf_exporter_test_value_fixed_sum"])
    -- The program adds raw values to the linear sum key, and the exporter
    -- multiplies every sum by bucket_multiplier (10), as ebpf_exporter does.
    assert.equal(60150, s["ebpf_exporter_test_value_linear_sum"])
  end)

  it("counts only the calls made for its own object, not another exporter's nor ownerless ones", function()
    local other = helper.start({ names = "uprobe_test" })
    finally(function()
      if other then other:stop() end
    end)
    helper.sh(helper.target .. " hit 5") -- for no one
    other:target("hit 7")
    exporter:target("hit 2")
    local mine, theirs = exporter:samples(), other:samples()
    local owners = { helper.maps_named(exporter.pid, "elx_owner"), helper.maps_named(other.pid, "elx_owner") }
    local code = other:stop()
    other = nil
    assert.equal(0, code)
    assert.equal(2, mine["ebpf_exporter_test_hits_total"])
    assert.equal(7, theirs["ebpf_exporter_test_hits_total"])
    assert.equal(1, #owners[1])
    assert.equal(1, #owners[2])
    assert.are_not.equal(owners[1][1], owners[2][1])
  end)

  it("reports its programs, attached, and zero decoder errors", function()
    local s = exporter:samples()
    assert.equal(1, s['ebpf_exporter_enabled_configs{name="uprobe_test"}'])
    assert.equal(0, helper.decoder_errors(s, "uprobe_test"))
    local text = exporter:scrape()
    local ids = helper.program_ids(text)
    assert.equal(1, #ids)
    assert.equal(1, s[('ebpf_exporter_ebpf_program_attached{id="%d"}'):format(ids[1])])
  end)
end)
