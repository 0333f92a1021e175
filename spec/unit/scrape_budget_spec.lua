-- The scrape's time budget, through the whole Lua side of a scrape: a
-- config whose decoder is slow is cut at its share of the budget and costs
-- itself only; the next scrapes collect it last; without a budget it is
-- collected whole. Time is a fake clock that the slow decoder advances.
local api = require("exporter.decoder_api")
local clock = require("exporter.clock")
local entry = require("exporter.entry")
local log = require("exporter.log")
local scrape_budget = require("exporter.scrape_budget")
local fake = require("helpers.fake")
local files = require("helpers.files")

local COUNTER = [[
metrics:
  counters:
    - name: %s_calls_total
      help: Calls by value
      labels:
        - name: value
          size: 4
          decoders:
            - name: uint
%s
]]

-- Each key the slow decoder sees costs 1/8 s of the fake clock.
local SLOW_DECODER = [[
local api = require("exporter.decoder_api")
return { new = function() return function(s) api.now() return s end end }
]]

describe("the scrape budget", function()
  local dir, t, logged
  local saved = {}

  before_each(function()
    dir = files.tmpdir()
    files.run("mkdir -p " .. dir .. "/decoders")
    files.write(dir .. "/fast.yaml", COUNTER:format("fast", ""))
    files.write(dir .. "/slow.yaml", COUNTER:format("slow", "            - name: slow"))
    files.write(dir .. "/decoders/slow.lua", SLOW_DECODER)
    t, logged = 1000, {}
    saved.monotonic, saved.now, saved.warn, saved.info = clock.monotonic, api.now, log.warn, log.info
    clock.monotonic = function() return t end
    api.now = function()
      t = t + 0.125
      return t
    end
    log.warn = function(msg) logged[#logged + 1] = "warn: " .. msg end
    log.info = function(msg) logged[#logged + 1] = "info: " .. msg end
    assert(entry.init(fake.init({ config_dir = dir })))
    for _, name in ipairs({ "slow", "fast" }) do
      assert(entry.configure(fake.configure(name, { { name = name .. "_calls_total", type = 1, key_size = 4 } })))
    end
  end)

  after_each(function()
    clock.monotonic, api.now, log.warn, log.info = saved.monotonic, saved.now, saved.warn, saved.info
    files.run("rm -rf " .. dir)
  end)

  -- 30 keys for each config, the slow one first in the core's order.
  local function scrape(deadline)
    local function batch(from)
      local rows = {}
      for i = 1, 30 do
        rows[i] = { key = fake.u32(from + i), value = i }
      end
      return fake.batch({ rows = rows })
    end
    local text = entry.metrics_text(fake.scrape({ deadline = deadline, configs = {
      { name = "slow", batches = { batch(100) } },
      { name = "fast", batches = { batch(200) } },
    } })):tostring()
    local s, series = {}, { slow = 0, fast = 0 }
    for name, value in text:gmatch('\nebpf_exporter_scrape_success{config="(%a+)"} (%d)') do
      s[name] = tonumber(value)
    end
    for name in text:gmatch("\nebpf_exporter_(%a+)_calls_total{") do
      series[name] = series[name] + 1
    end
    return s, series
  end

  it("cuts a slow config at its share, serves the others, and collects it whole without a budget", function()
    -- 1 s for two configs: the slow one gets 0.5 s, four keys' worth.
    local success, series = scrape(t + 1)
    assert.same({ slow = 0, fast = 1 }, success)
    assert.same({ slow = 0, fast = 30 }, series)
    assert.equal(1000.5, t)
    assert.same({ "warn: config slow: not collected in full within the scrape's time budget; what was not is "
      .. "left out, and ebpf_exporter_scrape_success is 0" }, logged)
    -- Cut last time, it goes last and gets what the fast one leaves: all
    -- of 1 s, eight more keys (the four decoded are cached).
    success, series = scrape(t + 1)
    assert.same({ slow = 0, fast = 1 }, success)
    assert.same({ slow = 0, fast = 30 }, series)
    assert.equal(1001.5, t)
    assert.equal(1, #logged) -- said once
    -- No budget: the rest of its keys, and it is whole again.
    success, series = scrape(0)
    assert.same({ slow = 1, fast = 1 }, success)
    assert.same({ slow = 30, fast = 30 }, series)
    assert.equal(1001.5 + 18 * 0.125, t)
    assert.same("info: config slow: collected within the scrape's time budget again", logged[2])
  end)

  it("leaves the order alone without a budget, and puts cut and dear configs last with one", function()
    local function cfg(name, duration, cut)
      return { name = name, stats = { duration = duration, cut = cut } }
    end
    local a, b, c, d = cfg("a", 0.3, false), cfg("b", 0.1, true), cfg("c", 0.2, false), cfg("d", 0.2, false)
    local function names(list)
      local out = {}
      for i, x in ipairs(list) do
        out[i] = x.name
      end
      return table.concat(out, ",")
    end
    assert.equal("a,b,c,d", names(scrape_budget.order({ a, b, c, d }, 0)))
    assert.equal("c,d,a,b", names(scrape_budget.order({ a, b, c, d }, 5)))
  end)

  it("gives each config its share of what is left", function()
    scrape_budget.enter(t + 3, 3)
    assert.is_false(scrape_budget.spent())
    t = t + 0.99
    assert.is_false(scrape_budget.spent())
    t = t + 0.01
    assert.is_true(scrape_budget.spent())
    assert.has_error(function() scrape_budget.check() end, scrape_budget.CUT)
    scrape_budget.leave()
    assert.is_false(scrape_budget.spent())
    -- Past the deadline: no time at all.
    scrape_budget.enter(t - 1, 2)
    assert.is_true(scrape_budget.spent())
    scrape_budget.leave()
  end)
end)
