-- Label values are valid UTF-8 (issue 9.10): a process named "\xff-worker"
-- made Prometheus reject the whole scrape. Each byte outside a valid
-- sequence becomes U+FFFD, and decoded values so repaired are counted.
local buffer = require("string.buffer")
local collect = require("exporter.collect")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local exposition = require("exporter.exposition")
local fake = require("helpers.fake")
local metric = require("exporter.metric")
local utf8 = require("exporter.utf8")

local R = utf8.REPLACEMENT

describe("utf8.repair", function()
  it("keeps valid UTF-8 as it is, the same string", function()
    for _, s in ipairs({ "", "plain", "é", "日本", "\240\159\152\128", "\0nul", "\239\191\189", "\244\143\191\191" }) do
      local out, n = utf8.repair(s)
      assert.equal(s, out)
      assert.equal(0, n)
      assert.is_true(utf8.valid(s), s)
    end
  end)

  it("replaces each byte outside a valid sequence with U+FFFD", function()
    local cases = {
      { "\255-worker", R .. "-worker", 1 }, -- never valid in UTF-8
      { "a\226\130", "a" .. R .. R, 2 }, -- a sequence cut short
      { "\192\175", R .. R, 2 }, -- an overlong "/"
      { "\224\128\175", R .. R .. R, 3 }, -- an overlong three-byte form
      { "\237\160\128", R .. R .. R, 3 }, -- a surrogate, U+D800
      { "\244\144\128\128", R .. R .. R .. R, 4 }, -- past U+10FFFF
      { "\128x\191", R .. "x" .. R, 2 }, -- continuation bytes alone
      { "ok é \255 日", "ok é " .. R .. " 日", 1 },
    }
    for _, case in ipairs(cases) do
      local out, n = utf8.repair(case[1])
      assert.equal(case[2], out, ("%q"):format(case[1]))
      assert.equal(case[3], n, ("%q"):format(case[1]))
      assert.is_false(utf8.valid(case[1]))
      assert.is_true(utf8.valid(out))
    end
  end)
end)

describe("label values in the exposition", function()
  it("are valid UTF-8 whatever they were, and escaped", function()
    assert.equal('a="' .. R .. '-worker",b="\\"' .. R .. '\\n"', exposition.label_pairs({ "a", "b" },
      { "\255-worker", '"\254\n' }))
  end)

  it("count the decoded values that were not valid UTF-8, once per key decoded", function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))
    local cfg = assert(config.parse([[
metrics:
  counters:
    - { name: c, help: x, labels: [{ name: comm, size: 4, decoders: [{ name: string }] }] }
]], "t.yaml", { config = "t", registry = registry }))
    local p = assert(metric.bind(cfg, { { name = "c", type = 1, key_size = 4, value_size = 8, max_entries = 8 } },
      { cache_size = 8 }))[1]
    local batch = fake.batch({ rows = { { key = "\255ab\0", value = 3 }, { key = "ok\0\0", value = 4 },
      { key = "\254ab\0", value = 5 } } })
    local stats = { decoder_errors = 0, logged = {}, nlogged = 0, log = function() end, invalid_utf8 = 0 }
    local state = collect.new_state(p)
    for _ = 1, 2 do
      local buf = buffer.new()
      collect.metric(p, state, batch, buf, stats)
      -- Two raw names, one label value: their rows sum.
      assert.equal('# HELP ebpf_exporter_c x\n# TYPE ebpf_exporter_c counter\nebpf_exporter_c{comm="' .. R
        .. 'ab"} 8\nebpf_exporter_c{comm="ok"} 4\n', buf:tostring())
    end
    assert.equal(2, stats.invalid_utf8) -- the second scrape found both in the label cache
  end)
end)
