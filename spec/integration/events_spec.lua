-- Event counters against the real kernel: records from a perf event array
-- (ebpf_exporter's perf_event_array counters) and from a ring buffer, counted
-- by their labels, flushed on time, bounded, with the lost ones exported.
local helper = require("helpers.exporter")

local function wait_for(e, series, value)
  local s
  for _ = 1, 50 do
    s = e:samples()
    if s[series] == value then
      return s
    end
    helper.sleep(0.1)
  end
  return s
end

describe("event counters", function()
  it("count exactly N records by their labels, from a perf event array and a ring buffer", function()
    local e = helper.start({ names = "events_test" })
    e:target("values 1 1 2")
    e:target("hit 500 7")
    local s = wait_for(e, 'ebpf_exporter_events_ring_total{value="7"}', 500)
    assert.equal(0, (e:stop()))
    for _, map in ipairs({ "events_perf_total", "events_ring_total" }) do
      assert.equal(2, s[('ebpf_exporter_%s{value="1"}'):format(map)], map)
      assert.equal(1, s[('ebpf_exporter_%s{value="2"}'):format(map)], map)
      assert.equal(500, s[('ebpf_exporter_%s{value="7"}'):format(map)], map)
      assert.equal(0, s[('ebpf_exporter_event_records_lost_total{config="events_test",map="%s"}'):format(map)], map)
    end
  end)

  it("start afresh at each flush_interval", function()
    local e = helper.start({ names = "events_test" })
    e:target("hit 10 5")
    local before = wait_for(e, 'ebpf_exporter_events_perf_total{value="5"}', 10)
    helper.sleep(3.5) -- events_perf_total flushes every 3s, events_ring_total every hour
    local after = e:samples()
    assert.equal(0, (e:stop()))
    assert.equal(10, before['ebpf_exporter_events_perf_total{value="5"}'])
    assert.is_nil(after['ebpf_exporter_events_perf_total{value="5"}'])
    assert.equal(10, after['ebpf_exporter_events_ring_total{value="5"}'])
  end)

  it("have their last flush as their created timestamp (OpenMetrics)", function()
    local e = helper.start({ names = "events_test", args = "--web.enable-openmetrics" })
    local function created()
      local text = e:get("/metrics", "-H 'Accept: application/openmetrics-text;version=1.0.0'")
      return tonumber(text:match('\nebpf_exporter_events_perf_created{value="5"} (%S+)\n')),
        tonumber(text:match('\nebpf_exporter_events_ring_created{value="5"} (%S+)\n'))
    end
    e:target("hit 10 5")
    wait_for(e, 'ebpf_exporter_events_perf_total{value="5"}', 10)
    local perf1, ring1 = created()
    helper.sleep(3.5) -- events_perf_total flushes every 3s, events_ring_total every hour
    e:target("hit 1 5")
    wait_for(e, 'ebpf_exporter_events_perf_total{value="5"}', 1)
    local perf2, ring2 = created()
    assert.equal(0, (e:stop()))
    -- One flush or more came between (every 3 s from the start): a multiple of 3 s later.
    local flushes = (perf2 - perf1) / 3
    assert.is_true(flushes >= 0.9 and math.abs(flushes - math.floor(flushes + 0.5)) < 0.1,
      ("%s then %s"):format(perf1, perf2))
    assert.equal(ring1, ring2)
    assert.is_true(math.abs(perf1 - ring1) < 0.5)
  end)

  it("hold at most 65536 label sets between flushes and count the rest as lost", function()
    local e = helper.start({ names = "events_test" })
    e:target("range 1000 70000")
    local series = 'ebpf_exporter_event_records_lost_total{config="events_test",map="events_ring_total"}'
    local s = wait_for(e, series, 70000 - 65536)
    local text = e:scrape()
    assert.equal(0, (e:stop()))
    assert.equal(4464, s[series])
    local _, counted = text:gsub("\nebpf_exporter_events_ring_total{", "")
    assert.equal(65536, counted)
  end)
end)
