-- The exposition formats against the real kernel and Debian's real
-- Prometheus: known block IOs counted by the biolatency example's object,
-- scraped as protobuf by a Prometheus with native histograms and as
-- OpenMetrics by one without, and compared with the text format.
--
-- Two exporters run the object: one the example as it ships (microseconds
-- times 0.000001: not a power of two, so classic buckets in protobuf too),
-- the other with bucket_multiplier 1 (its values stay microseconds), whose
-- exp2 buckets map onto the native schema 0 bucket for bucket. Both
-- Prometheus servers scrape both: job "example" and job "us".
local files = require("helpers.files")
local helper = require("helpers.exporter")
local prometheus = require("helpers.prometheus")

local OM = "-H 'Accept: application/openmetrics-text;version=1.0.0'"
local WRITES = 40

-- A config dir with the biolatency example, its bucket_multiplier set to
-- `multiplier` when given.
local function config_dir(multiplier)
  local dir = helper.tmpdir()
  local ex = helper.examples_dir
  files.run(("cp %s/biolatency.yaml %s/biolatency.bpf.o %s/"):format(ex, ex, dir))
  if multiplier then
    local yaml = files.read(ex .. "/biolatency.yaml"):gsub("bucket_multiplier: 0%.000001", "bucket_multiplier: "
      .. multiplier)
    assert(yaml:find("bucket_multiplier: " .. multiplier .. "\n", 1, true))
    files.write(dir .. "/biolatency.yaml", yaml)
  end
  return dir
end

local function prometheus_config(example_port, us_port)
  return ([[
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: example
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: us
    static_configs: [{targets: ["127.0.0.1:%d"]}]
]]):format(example_port, us_port)
end

-- A loop device of our own, on a file in `dir`: its IOs are ours alone.
-- Kept until the end: once gone, majorminor names its number otherwise.
local function loop_device(dir)
  local loop = (helper.sh("truncate -s 8M " .. dir .. "/disk && losetup -f --show " .. dir .. "/disk")):gsub("%s+$", "")
  assert(loop:match("^/dev/loop%d+$"), loop)
  -- majorminor believes a miss for 0.1 s: past that, the number is ours.
  helper.sleep(0.2)
  return loop
end

-- Direct writes of 4 KiB: when dd returns, every one has completed.
local function block_writes(loop, n)
  local out, code = helper.sh(("dd if=/dev/zero of=%s bs=4096 count=%d oflag=direct"):format(loop, n))
  assert(code == 0, out)
end

-- A histogram series' classic buckets in a text scrape: { {le, cumulative}... }.
local function buckets_of(text, family, pairs_)
  local list = {}
  local prefix = family .. "_bucket{" .. pairs_ .. ',le="'
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, #prefix) == prefix then
      local le, v = line:match('le="([^"]+)"} (%S+)$')
      list[#list + 1] = { le = le == "+Inf" and math.huge or tonumber(le), count = tonumber(v) }
    end
  end
  assert(#list > 0, "no buckets " .. prefix .. " in:\n" .. text)
  return list
end

-- The bucket a quantile falls in, as Prometheus's classic
-- histogram_quantile finds it, and its estimate there (linear inside the
-- bucket; the first one's lower bound is 0).
local function classic_quantile(buckets, q)
  local total = buckets[#buckets].count
  local rank = q * total
  local lower, below = 0, 0
  for _, b in ipairs(buckets) do
    if b.count >= rank then
      return lower + (b.le - lower) * (rank - below) / (b.count - below), lower, b.le
    end
    lower, below = b.le, b.count
  end
end

local function query_value(prom, expr)
  local r = prom:query(expr)
  return r[1] and tonumber(r[1].value[2]), #r
end

-- The value of the sample `series` of an OpenMetrics scrape.
local function created_of(text, series)
  local at = text:find("\n" .. series .. " ", 1, true)
  return at and tonumber(text:match("^(%S+)\n", at + #series + 2))
end

-- The created timestamp of a family's first series in an OpenMetrics scrape.
local function family_created(text, family)
  return tonumber(text:match("\n" .. family .. "_created{[^\n]*} (%S+)\n"))
end

describe("exposition formats", function()
  local example, e, native, om, loop, before, before_example, text, example_text, cdir
  local family = "ebpf_exporter_bio_latency_seconds"
  local pairs_ -- the writes' series, in the text format
  local function sel(job, suffix)
    return ('%s%s{job="%s",%s}'):format(family, suffix or "", job, pairs_)
  end
  setup(function()
    cdir = config_dir(1)
    e = helper.start({ dir = cdir, names = "biolatency", args = "--web.enable-openmetrics --web.enable-lifecycle" })
    example = helper.start({ dir = config_dir(), names = "biolatency", args = "--web.enable-openmetrics" })
    native = prometheus.start(prometheus_config(example.port, e.port), nil, "--enable-feature=native-histograms")
    om = prometheus.start(prometheus_config(example.port, e.port))
    loop = loop_device(cdir)
    before, before_example = e:samples(), example:samples()
    block_writes(loop, WRITES)
    pairs_ = ('device="%s",operation="write"'):format(loop:match("loop%d+"))
    text, example_text = e:scrape(), example:scrape()
  end)
  teardown(function()
    if native then native:stop() end
    if om then om:stop() end
    if e then assert.equal(0, (e:stop())) end
    if example then assert.equal(0, (example:stop())) end
    if loop then os.execute("losetup -d " .. loop) end
    if cdir then os.execute("rm -rf " .. cdir) end
  end)

  it("counts the writes exactly in the text format", function()
    local count = ("%s_count{%s}"):format(family, pairs_)
    assert.equal((before[count] or 0) + WRITES, helper.samples(text)[count])
    assert.equal((before_example[count] or 0) + WRITES, helper.samples(example_text)[count])
  end)

  it("sends exp2 buckets of a power-of-two multiplier as a native histogram, exact", function()
    local after = helper.samples(text)
    local count, sum = after[("%s_count{%s}"):format(family, pairs_)], after[("%s_sum{%s}"):format(family, pairs_)]
    assert.equal(count, native:wait_value("histogram_count(" .. sel("us") .. ")", count), native:log())
    assert.equal(sum, (query_value(native, "histogram_sum(" .. sel("us") .. ")")))
    -- Native only: Prometheus keeps no classic bucket series of it.
    assert.equal(0, select(2, query_value(native, sel("us", "_bucket"))))
    -- The median lies in the classic bucket the text format puts it in.
    local q = query_value(native, "histogram_quantile(0.5, " .. sel("us") .. ")")
    local _, lower, upper = classic_quantile(buckets_of(text, family, pairs_), 0.5)
    assert.is_true(q >= lower and q <= upper, ("native median %s outside (%s, %s]"):format(q, lower, upper))
  end)

  it("sends other buckets as classic ones in the same protobuf exposition", function()
    local want = helper.samples(example_text)[("%s_count{%s}"):format(family, pairs_)]
    assert.equal(want, native:wait_value(sel("example", "_count"), want), native:log())
    assert.equal(0, select(2, query_value(native, "histogram_count(" .. sel("example") .. ")")))
    local q = query_value(native, "histogram_quantile(0.5, " .. sel("example", "_bucket") .. ")")
    assert.near(classic_quantile(buckets_of(example_text, family, pairs_), 0.5), q, 1e-12)
  end)

  it("serves OpenMetrics that Prometheus scrapes, with classic buckets that agree", function()
    local count = helper.samples(text)[("%s_count{%s}"):format(family, pairs_)]
    assert.equal(count, om:wait_value(sel("us", "_count"), count), om:log())
    -- Both targets scraped, and taken: a scrape that does not parse is "down".
    local health
    for _ = 1, 300 do
      health = {}
      for _, target in ipairs(om:api("/api/v1/targets").data.activeTargets) do
        health[#health + 1] = target.health .. " " .. target.lastError
      end
      if health[1] ~= "unknown " and health[2] ~= "unknown " then
        break
      end
      helper.sleep(0.1)
    end
    assert.same({ "up ", "up " }, health)
    local classic = query_value(om, "histogram_quantile(0.5, " .. sel("us", "_bucket") .. ")")
    local want, lower, upper = classic_quantile(buckets_of(text, family, pairs_), 0.5)
    assert.near(want, classic, 1e-9)
    local q = query_value(native, "histogram_quantile(0.5, " .. sel("us") .. ")")
    assert.is_true(q >= lower and q <= upper)
    local body, status, headers = e:get("/metrics", OM)
    assert.equal(200, status)
    assert.truthy(headers:find("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8", 1, true))
    assert.equal("\n# EOF\n", body:sub(-7))
    assert.truthy(body:find("\n# TYPE " .. family .. " histogram\n# UNIT " .. family .. " seconds\n", 1, true))
    -- A counter's family drops _total; its samples carry it.
    assert.truthy(body:find('\n# TYPE ebpf_exporter_config_reloads counter\n'
      .. 'ebpf_exporter_config_reloads_total{result="failure"} 0\n'
      .. 'ebpf_exporter_config_reloads_created{result="failure"} ', 1, true))
  end)

  -- Debian's promtool (2.42) lints the text format only: it reads
  -- OpenMetrics as text, which Prometheus's scrape above checks instead.
  it("passes promtool check metrics in the text format, but for ebpf_exporter's own names", function()
    local file = cdir .. "/scrape.txt"
    files.write(file, example:scrape())
    local out = helper.sh("promtool check metrics < " .. file)
    for line in out:gmatch("[^\n]+") do
      -- Kept as ebpf_exporter names it (COMPAT.md); there when run stats are on.
      assert.equal('ebpf_exporter_ebpf_program_run_time_seconds counter metrics should have "_total" suffix', line)
    end
  end)

  it("has created timestamps kept by a reload that keeps the object, moved by one that loads it anew", function()
    local function created()
      return family_created(e:get("/metrics", OM), family)
    end
    local created1 = created()
    local now = tonumber((helper.sh("date +%s.%N")))
    assert.is_true(created1 > now - 600 and created1 <= now, tostring(created1))
    assert.equal(created1, created_of(e:get("/metrics", OM), ("%s_created{%s}"):format(family, pairs_)))
    -- Prometheus stores OpenMetrics' _created as a series of its own.
    assert.equal(created1, om:wait_value(sel("us", "_created"), created1))
    local _, status = e:get("/-/reload", "-X POST")
    assert.equal(200, status)
    assert.equal(created1, created())
    -- Bytes appended to the object: a changed .bpf.o, loaded anew, whose
    -- map starts empty; a write gives the family a series again.
    files.run("printf '\\0\\0\\0\\0' >> " .. cdir .. "/biolatency.bpf.o")
    _, status = e:get("/-/reload", "-X POST")
    assert.equal(200, status)
    block_writes(loop, 1)
    local created2 = created()
    assert.is_true(created2 > created1, ("%s after %s"):format(tostring(created2), created1))
  end)
end)
