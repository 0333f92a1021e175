-- The exposition formats behind exposition.lua's writers: which one a
-- scrape uses, OpenMetrics' text, the protobuf format's records (the core
-- encodes them: core/tests/test_format_protobuf.c), and the native mapping
-- of histogram buckets.
local ffi = require("ffi")
local buffer = require("string.buffer")
require("exporter.abi")
local exposition = require("exporter.exposition")
local histogram = require("exporter.histogram")
local series = require("exporter.series")

-- A store with sample series `texts` (what follows the family name up to
-- the value: '{a="1"} ' or ' ') and an accumulator holding `values` (u64
-- sums), as a kind leaves them.
local function samples(texts, values)
  local store = series.new()
  local acc = series.begin(store, #texts)
  for i, t in ipairs(texts) do
    series.add(acc, series.id(store, t), values[i])
  end
  return store, acc
end

-- A histogram store: one series per {pairs, {bucket counts...}, sum}.
local function histograms(list, nb)
  local store = series.new()
  local acc = series.begin(store, #list)
  local span = nb + 2
  acc.span, acc.counts = span, ffi.new("double[?]", (#list + 1) * span)
  for s, h in ipairs(list) do
    acc.n, acc.order[s] = s, series.id(store, h[1])
    for i, c in ipairs(h[2]) do
      acc.counts[s * span + i] = c
    end
    acc.counts[s * span + nb + 1] = h[3]
  end
  return store, acc
end

local function with_format(n, scrape, f)
  local fmt = exposition.format_for(n)
  local buf = buffer.new()
  local before = exposition.use(fmt)
  fmt.begin(buf, scrape)
  local ok, err = pcall(f, buf)
  fmt.finish(buf)
  exposition.use(before)
  assert(ok, err)
  return buf
end

local SCRAPE = { process = { start_time_seconds = 1600000000.5 } }

describe("formats", function()
  it("are chosen by the core's enum elx_format, text for anything else", function()
    assert.equal("text", exposition.format_for(0).name)
    assert.equal("openmetrics", exposition.format_for(1).name)
    assert.equal("protobuf", exposition.format_for(2).name)
    assert.equal("text", exposition.format_for(7).name)
    assert.equal(exposition.CONTENT_TYPE, exposition.format_for(0).content_type)
  end)

  describe("OpenMetrics", function()
    it("writes counters as _total samples of a family without it, each with its _created", function()
      local store, acc = samples({ '{a="1"} ', " " }, { 5, 7 })
      local ystore, yacc = samples({ '{b="\\"q"} ' }, { 3 })
      local buf = with_format(1, SCRAPE, function(buf)
        exposition.put_samples(buf, "x", 'Say "x"\\', "counter", store, acc, 1700000000.25)
        exposition.put_samples(buf, "y_seconds_total", "Y", "counter", ystore, yacc, 0)
        exposition.put_samples(buf, "g_bytes", "G", "gauge", ystore, yacc, 1)
      end)
      assert.equal(table.concat({
        '# HELP x Say \\"x\\"\\\\',
        "# TYPE x counter",
        'x_total{a="1"} 5',
        'x_created{a="1"} 1700000000.250',
        "x_total 7",
        "x_created 1700000000.250",
        -- No created timestamp known (0): no _created.
        "# HELP y_seconds Y",
        "# TYPE y_seconds counter",
        "# UNIT y_seconds seconds",
        'y_seconds_total{b="\\"q"} 3',
        "# HELP g_bytes G",
        "# TYPE g_bytes gauge",
        "# UNIT g_bytes bytes",
        'g_bytes{b="\\"q"} 3',
        "# EOF",
        "",
      }, "\n"), buf:tostring())
    end)

    it("writes the exporter's own counters with the process start as created, unless told none", function()
      local buf = with_format(1, SCRAPE, function(buf)
        exposition.put_lines(buf, "r_total", "R", "counter", { '{result="ok"} 2', " 3" })
        exposition.put_lines(buf, "k_total", "K", "counter", { " 4" }, false)
        exposition.put_lines(buf, "u", "U", "untyped", { " 1" })
        exposition.put_block(buf, "b", "B", "counter", 'b{id="1"} 9\n', 1234)
      end)
      assert.equal(table.concat({
        "# HELP r R", "# TYPE r counter",
        'r_total{result="ok"} 2', 'r_created{result="ok"} 1600000000.500',
        "r_total 3", "r_created 1600000000.500",
        "# HELP k K", "# TYPE k counter", "k_total 4",
        "# HELP u U", "# TYPE u unknown", "u 1",
        "# HELP b B", "# TYPE b counter", 'b_total{id="1"} 9', 'b_created{id="1"} 1234.000',
        "# EOF", "",
      }, "\n"), buf:tostring())
    end)

    it("adds _created after each histogram series", function()
      local store, acc = histograms({ { 'd="a"', { 1, 2 }, 9 }, { "", { 0, 1 }, 1 } }, 2)
      local buf = with_format(1, SCRAPE, function(buf)
        exposition.put_histogram(buf, "h_seconds", "H", exposition.le_parts({ "1", "2" }), 0.5, store, acc, 42.5)
      end)
      assert.equal(table.concat({
        "# HELP h_seconds H", "# TYPE h_seconds histogram", "# UNIT h_seconds seconds",
        'h_seconds_bucket{d="a",le="1"} 1', 'h_seconds_bucket{d="a",le="2"} 3', 'h_seconds_bucket{d="a",le="+Inf"} 3',
        'h_seconds_sum{d="a"} 4.5', 'h_seconds_count{d="a"} 3', 'h_seconds_created{d="a"} 42.500',
        'h_seconds_bucket{le="1"} 0', 'h_seconds_bucket{le="2"} 1', 'h_seconds_bucket{le="+Inf"} 1',
        "h_seconds_sum 0.5", "h_seconds_count 1", "h_seconds_created 42.500",
        "# EOF", "",
      }, "\n"), buf:tostring())
    end)
  end)

  describe("protobuf records", function()
    -- Reads the records of a buffer back through the FFI.
    local function records(buf)
      local out, p, left = {}, ffi.cast("const uint8_t *", (buf:ref())), #buf
      local function take(ctype)
        local v = ffi.new(ctype)
        ffi.copy(v, p, ffi.sizeof(ctype))
        p, left = p + ffi.sizeof(ctype), left - ffi.sizeof(ctype)
        return v
      end
      local function str(n)
        local s = ffi.string(p, n)
        p, left = p + n, left - n
        return s
      end
      while left > 0 do
        local kind = ffi.cast("const uint32_t *", p)[0]
        if kind == ffi.C.ELX_PB_FAMILY then
          local f = take("struct elx_pb_family")
          out[#out + 1] = { "family", f.type, str(f.name_len), str(f.help_len) }
        elseif kind == ffi.C.ELX_PB_SAMPLE then
          local s = take("struct elx_pb_sample")
          out[#out + 1] = { "sample", str(s.labels_len), s.value, s.created }
        else
          local h = take("struct elx_pb_histogram")
          local r = { "histogram", str(h.labels_len), tonumber(h.count), h.sum, h.created, {}, h.native }
          for i = 1, h.nbuckets do
            local b = take("struct elx_pb_bucket")
            r[6][i] = { b.upper_bound, tonumber(b.cumulative_count) }
          end
          if h.native == 1 then
            r[8] = { schema = h.schema, first = h.native_first, zero = tonumber(h.zero_count), counts = {} }
            for i = 1, h.nnative do
              r[8].counts[i] = tonumber(take("uint64_t[1]")[0])
            end
          end
          out[#out + 1] = r
        end
      end
      return out
    end

    it("hold each sample series' label pairs, value and a counter's created timestamp", function()
      local store, acc = samples({ '{a="1",b="\\\\"} ', " " }, { 5, 7 })
      local buf = with_format(2, SCRAPE, function(buf)
        exposition.put_samples(buf, "x_total", "X", "counter", store, acc, 99.5)
        exposition.put_samples(buf, "x_total", "G", "gauge", store, acc, 99.5)
        exposition.put_lines(buf, "l", "L", "counter", { '{a="} 1"} 2', " +Inf" })
      end)
      assert.same({
        { "family", 0, "x_total", "X" }, { "sample", 'a="1",b="\\\\"', 5, 99.5 }, { "sample", "", 7, 99.5 },
        { "family", 1, "x_total", "G" }, { "sample", 'a="1",b="\\\\"', 5, 0 }, { "sample", "", 7, 0 },
        { "family", 0, "l", "L" }, { "sample", 'a="} 1"', 2, 1600000000.5 }, { "sample", "", math.huge, 1600000000.5 },
      }, records(buf))
    end)

    it("hold a histogram's classic buckets, and its native ones when they map", function()
      local set = histogram.buckets({ bucket_type = "exp2zero", bucket_min = 0, bucket_max = 3, bucket_multiplier = 2 })
      local store, acc = histograms({ { 'd="a"', { 4, 0, 2, 1 }, 10 } }, 4)
      local classic = histogram.buckets({ bucket_type = "linear", bucket_min = 1, bucket_max = 4, bucket_multiplier = 1 })
      local buf = with_format(2, SCRAPE, function(buf)
        exposition.put_histogram(buf, "h", "H", exposition.le_parts(set.le), 2, store, acc, 7, set)
        exposition.put_histogram(buf, "c", "C", exposition.le_parts(classic.le), 1, store, acc, nil, classic)
      end)
      assert.same({
        { "family", 4, "h", "H" },
        -- exp2zero × 2: bucket 0 (bound 0) is the zero bucket, bucket k>0 (2^k) native index k.
        { "histogram", 'd="a"', 7, 20, 7, { { 0, 4 }, { 2, 4 }, { 4, 6 }, { 8, 7 } }, 1,
          { schema = 0, first = 1, zero = 4, counts = { 0, 2, 1 } } },
        { "family", 4, "c", "C" },
        { "histogram", 'd="a"', 7, 10, 0, { { 1, 4 }, { 2, 4 }, { 3, 6 }, { 4, 7 } }, 0 },
      }, records(buf))
    end)
  end)

  describe("native mapping of histogram buckets", function()
    local function native(bucket_type, min, max, m)
      return histogram.buckets({ bucket_type = bucket_type, bucket_min = min, bucket_max = max,
        bucket_multiplier = m }).native
    end

    it("maps exp2 buckets with a power-of-two multiplier onto schema 0, bucket for bucket", function()
      assert.same({ schema = 0, first = 0, zero = false }, native("exp2", 0, 26, 1))
      assert.same({ schema = 0, first = -17, zero = false }, native("exp2", 3, 26, 2 ^ -20))
      assert.same({ schema = 0, first = 2, zero = true }, native("exp2zero", 0, 5, 4))
      assert.same({ schema = 0, first = 4, zero = false }, native("exp2zero", 3, 5, 4))
    end)

    it("has none for other multipliers and bucket types", function()
      assert.is_nil(native("exp2", 0, 26, 0.000001))
      assert.is_nil(native("exp2", 0, 26, 3))
      assert.is_nil(native("linear", 0, 26, 1))
      assert.is_nil(histogram.buckets({ bucket_type = "fixed", bucket_keys = { 1, 2 }, bucket_multiplier = 1 }).native)
    end)
  end)
end)
