-- Series stores as a counter's collection uses them: keys that churn keep
-- the store's size flat, stores are taken over by fingerprint, and what
-- changes a fingerprint.
local buffer = require("string.buffer")
local ffi = require("ffi")
local collect = require("exporter.collect")
local config = require("exporter.config")
local decoders = require("exporter.decoders")
local fake = require("helpers.fake")
local fingerprint = require("exporter.fingerprint")
local metric = require("exporter.metric")

local registry = assert(decoders.load({ decoders.builtin_dir() }, function() end))

local function counter(yaml)
  local cfg = assert(config.parse(yaml, "t.yaml", { config = "t", registry = registry }))
  return assert(metric.bind(cfg, { { name = "keys_total", type = 1, key_size = 8, value_size = 8, max_entries = 4096 } },
    { cache_size = 4096, skip_cache_size = 16 }))[1]
end

local function yaml(label, help, one)
  return ([[
metrics:
  counters:
    - name: keys_total
      help: %s
      labels:
        - { name: %s, size: 8, decoders: [{ name: uint }, { name: static_map, static_map: { 1: %s } }] }
]]):format(help or "Keys", label or "key", one or "one")
end

local UINT = [[
metrics:
  counters:
    - name: keys_total
      help: Keys
      labels:
        - { name: key, size: 8, decoders: [{ name: uint }] }
]]

local N = 2000

-- A batch over `keys` (a uint64_t[N]), each value 1.
local function batch_of(keys)
  local b = fake.batch({ rows = { { key = fake.u64(0), value = 1 } }, key_size = 8 })
  local values = ffi.new("uint64_t[?]", N)
  for i = 0, N - 1 do
    values[i] = 1
  end
  fake.anchors[#fake.anchors + 1] = values
  b.keys, b.values, b.count = ffi.cast("const uint8_t *", keys), ffi.cast("const uint8_t *", values), N
  return b
end

local function scrape(plan, state, b)
  local buf = buffer.new()
  local n = collect.metric(plan, state, b, buf, { decoder_errors = 0, logged = {}, nlogged = 0, log = print })
  return n, buf:tostring()
end

describe("a series store", function()
  it("stays the same size while 10% of the keys change at every scrape", function()
    local plan = counter(UINT)
    local state = collect.new_state(plan)
    local keys = ffi.new("uint64_t[?]", N)
    for i = 0, N - 1 do
      keys[i] = i
    end
    local b = batch_of(keys)
    local store = state.series
    local at_20
    for round = 1, 200 do
      for i = 0, N / 10 - 1 do -- a tenth of the keys replaced by new ones
        keys[(round * N / 10 + i) % N] = N * round + i
      end
      local n, text = scrape(plan, state, b)
      assert.equal(N, n)
      local last = N * round + N / 10 - 1
      assert.truthy(text:find(('\nebpf_exporter_keys_total{key="%d"} 1\n'):format(last), 1, true))
      assert.is_nil(text:find(('{key="%d"}'):format(N * (round - 10)), 1, true)) -- replaced 10 rounds ago
      assert.is_true(store.nkeys <= N + N / 8 + 64 + N / 10)
      assert.is_true(store.nseries <= N + N / 8 + 64 + N / 10)
      if round == 20 then
        at_20 = { capacity = store.capacity, nids = store.nids }
      end
    end
    assert.same(at_20, { capacity = store.capacity, nids = store.nids })
  end)

  it("is taken over by a state with the same fingerprint, and only then", function()
    local plan = counter(yaml())
    local fp = fingerprint.of(plan, registry)
    local old = collect.new_state(plan, fp)
    local keys = ffi.new("uint64_t[?]", N, 1)
    scrape(plan, old, batch_of(keys))
    assert.is_false(old.series.adopted)
    local new = collect.new_state(plan, fp)
    assert.is_true(new.series.adopted)
    assert.equal(1, new.series.nseries)
    assert.equal(1, new.series.nkeys)
    local fresh = collect.new_state(plan, fp, true)
    assert.is_false(fresh.series.adopted)
    assert.equal(0, fresh.series.nseries)
    assert.is_false(collect.new_state(plan).series.adopted)
  end)
end)

describe("a metric's fingerprint", function()
  local base = fingerprint.of(counter(yaml()), registry)

  it("is the same for the same metric, whatever its help says", function()
    assert.equal(base, fingerprint.of(counter(yaml()), registry))
    assert.equal(base, fingerprint.of(counter(yaml(nil, "Other help")), registry))
  end)

  it("changes with a label's name or a decoder's options", function()
    assert.not_equal(base, fingerprint.of(counter(yaml("other")), registry))
    assert.not_equal(base, fingerprint.of(counter(yaml(nil, nil, "uno")), registry))
  end)
end)
