-- The whole Lua side of a scrape, from the configure entry to the exposition
-- text, compared with a golden file.
local api = require("exporter.decoder_api")
local collect = require("exporter.collect")
local entry = require("exporter.entry")
local log = require("exporter.log")
local fake = require("helpers.fake")
local files = require("helpers.files")
local read = files.read

local GOLDEN = "spec/fixtures/golden/demo.prom"

local function configure()
  assert(entry.init(fake.init({ config_dir = "spec/fixtures/configs", cache_size = 100 })))
  api.paths.partitions = "spec/fixtures/partitions"
  local call = fake.configure("demo", {
    { name = "demo_events_total", type = 1, key_size = 4 },
    { name = "demo_all_total", type = 2, key_size = 4, max_entries = 1 },
    { name = "demo_percpu_total", type = 6, key_size = 4, max_entries = 1 },
    { name = "demo_latency_seconds", type = 1, key_size = 8 },
    { name = "events", type = 4, key_size = 4, value_size = 4 },
  })
  assert(entry.configure(call))
  return fake.answer(call)
end

-- new_encode_dev(259, 0): the fixture's nvme0n1
local NVME = fake.u32(0x10300)

local function scrape(opts)
  opts = opts or {}
  return entry.metrics_text(fake.scrape({
    stats_enabled = true,
    reload_successful = 0,
    reload_success_time_ms = 1795435200123,
    reloads_success = 3,
    reloads_failure = 1,
    configs = { {
      name = "demo",
      read_ns = 1500000,
      batches = {
        fake.batch({ rows = { { key = fake.u32(1), value = 10 }, { key = fake.u32(2), value = 20 },
          { key = fake.u32(3), value = 1 } } }),
        fake.batch({ rows = { { key = fake.u32(0), value = 1287408 } } }),
        fake.batch({ ncpus = 2, rows = { { key = fake.u32(0), cpus = { 5, 7 } } } }),
        fake.batch({ error = opts.latency_error or 0, read_errors = opts.latency_error and 1 or 0, rows = {
          { key = NVME .. fake.u32(0), value = 1 }, { key = NVME .. fake.u32(2), value = 3 },
          { key = NVME .. fake.u32(4), value = 9 } } }),
      },
      programs = {
        { name = "demo_prog", tag = "0123456789abcdef", id = 42, attached = 1, run_time_ns = 1500, run_count = 3 },
        { name = "demo_other", tag = "fedcba9876543210", id = 41, attached = 0 },
      },
    } },
  })):tostring()
end

describe("core", function()
  after_each(function() api.reset() end)

  it("answers configure with the maps to read, in order", function()
    local plan = configure()
    local function map(name) return { name = name, record_size = 0, flush_ms = 0 } end
    assert.same({ map("demo_events_total"), map("demo_all_total"), map("demo_percpu_total"),
      map("demo_latency_seconds") }, plan.maps)
    assert.same({}, plan.kaddrs)
  end)

  it("writes the whole scrape as the golden file has it", function()
    configure()
    local text = scrape():gsub('(scrape_duration_seconds{config="demo"}) %S+', "%1 <duration>")
    if os.getenv("ELX_UPDATE_GOLDEN") then
      local f = assert(io.open(GOLDEN, "w"))
      f:write(text)
      f:close()
    end
    assert.equal(read(GOLDEN), text)
  end)

  it("counts a failed map read and keeps the other metrics", function()
    configure()
    local text = scrape({ latency_error = -5 })
    assert.is_nil(text:find("demo_latency_seconds_bucket", 1, true))
    assert.is_truthy(text:find('\nebpf_exporter_map_read_errors_total{config="demo",map="demo_latency_seconds"} 1\n', 1, true))
    assert.is_truthy(text:find('\nebpf_exporter_demo_all_total 1287408\n', 1, true))
  end)

  it("loses only the series of a metric whose collection fails", function()
    configure()
    local original, log_error = collect.histogram, log.error
    local logged = {}
    collect.histogram = function(_, _, buf) buf:put("half a line"); error("boom", 0) end
    log.error = function(msg) logged[#logged + 1] = msg end
    local ok, text = pcall(scrape)
    collect.histogram, log.error = original, log_error
    assert.same({ "config demo, metric demo_latency_seconds: boom" }, logged)
    assert.is_true(ok)
    assert.is_nil(text:find("half a line", 1, true))
    assert.is_truthy(text:find('\nebpf_exporter_demo_all_total 1287408\n', 1, true))
  end)

  it("refuses a metric another config already defines", function()
    configure()
    local _, err = entry.configure(fake.configure("demo", {
      { name = "demo_events_total", type = 1, key_size = 4 },
      { name = "demo_all_total", type = 2, key_size = 4, max_entries = 1 },
      { name = "demo_percpu_total", type = 6, key_size = 4, max_entries = 1 },
      { name = "demo_latency_seconds", type = 1, key_size = 8 },
    }))
    assert.equal(table.concat({
      "demo.yaml: metric demo_events_total is also defined by config demo",
      "demo.yaml: metric demo_all_total is also defined by config demo",
      "demo.yaml: metric demo_percpu_total is also defined by config demo",
      "demo.yaml: metric demo_latency_seconds is also defined by config demo",
    }, "\n"), err)
  end)
end)
