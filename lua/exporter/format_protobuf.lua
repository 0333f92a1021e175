-- The protobuf exposition, for scrapers that ask for it (Prometheus with
-- native histograms enabled). Lua writes compact records (core/abi.h,
-- struct elx_pb_*: per family a header, per series its text format label
-- pairs and numbers) and the core encodes them into io.prometheus.client
-- MetricFamily messages with libprotobuf-c (core/format_protobuf.c).
-- Counters and histograms carry their created timestamps; a histogram whose
-- buckets map onto the exponential schema 0 (histogram.lua) is a native
-- histogram too, next to its classic buckets.
local ffi = require("ffi")
local format_openmetrics = require("exporter.format_openmetrics")

local M = {
  name = "protobuf",
  content_type = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
}

local C = ffi.C
local sizeof = ffi.sizeof
local TYPES = { counter = 0, gauge = 1, untyped = 3, histogram = 4 }

local family_rec = ffi.new("struct elx_pb_family")
local sample_rec = ffi.new("struct elx_pb_sample")
local hist_rec = ffi.new("struct elx_pb_histogram")
local bucket_array = ffi.typeof("struct elx_pb_bucket[?]")
local u64_array = ffi.typeof("uint64_t[?]")
local scratch = { n = 0 } -- buckets and native counts, grown to the largest histogram

local process_start = 0

local function put_family(buf, name, help, type_)
  family_rec.record = C.ELX_PB_FAMILY
  family_rec.type = TYPES[type_] or TYPES.untyped
  family_rec.name_len, family_rec.help_len = #name, #help
  buf:putcdata(family_rec, sizeof(family_rec)):put(name, help)
end

function M.begin(_, scrape)
  process_start = scrape and tonumber(scrape.process.start_time_seconds) or 0
end

function M.finish() end

-- A sample series' text is '{pairs} ' or ' ' (exposition.put_sample_labels):
-- the pairs are what lies between the braces.
function M.samples(buf, family, help, type_, store, acc, created)
  local n, order, sums = acc.n, acc.order, acc.sums
  if n == 0 then
    return 0
  end
  put_family(buf, family, help, type_)
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  -- Signed values (acc.signed: value_type s64 or s32) read as int64_t.
  sums = acc.signed and ffi.cast("int64_t *", sums) or sums
  sample_rec.record = C.ELX_PB_SAMPLE
  sample_rec.created = type_ == "counter" and tonumber(created) or 0
  for s = 1, n do
    local id = order[s]
    local len = text_len[id] - 3
    sample_rec.labels_len = len > 0 and len or 0
    sample_rec.value = sums[s]
    buf:putcdata(sample_rec, sizeof(sample_rec))
    if len > 0 then
      buf:putcdata(arena + text_at[id] + 1, len)
    end
  end
  return n
end

local function grow_scratch(nb)
  if scratch.n < nb then
    scratch.buckets, scratch.natives, scratch.n = bucket_array(nb), u64_array(nb), nb
  end
end

-- The upper bounds of the classic buckets from their le parts, when the
-- caller gave no bucket set.
local uppers_of = setmetatable({}, { __mode = "k" })
local function uppers(le_parts, buckets)
  if buckets and buckets.upper then
    return buckets.upper
  end
  local u = uppers_of[le_parts]
  if not u then
    u = {}
    for i = 1, #le_parts - 1 do
      u[i] = tonumber(le_parts[i]:match('^le="(.*)"} $'))
    end
    uppers_of[le_parts] = u
  end
  return u
end

-- The native part of a histogram record: its counts from slot `base`.
local function set_native(native, counts, base, nb)
  if not native then
    hist_rec.native, hist_rec.nnative, hist_rec.zero_count = 0, 0, 0
    return 0
  end
  local from = native.zero and 2 or 1
  hist_rec.native, hist_rec.schema, hist_rec.native_first = 1, native.schema, native.first
  hist_rec.zero_threshold = 0
  hist_rec.zero_count = native.zero and counts[base + 1] or 0
  local natives = scratch.natives
  for i = from, nb do
    natives[i - from] = counts[base + i]
  end
  hist_rec.nnative = nb - from + 1
  return nb - from + 1
end

function M.histogram(buf, family, help, le_parts, multiplier, store, acc, created, buckets)
  local n, order, counts, span = acc.n, acc.order, acc.counts, acc.span
  if n == 0 then
    return 0
  end
  put_family(buf, family, help, "histogram")
  local nb = #le_parts - 1
  local upper, native = uppers(le_parts, buckets), buckets and buckets.native
  grow_scratch(nb)
  local bucket_recs, natives = scratch.buckets, scratch.natives
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  hist_rec.record, hist_rec.nbuckets = C.ELX_PB_HISTOGRAM, nb
  hist_rec.created = tonumber(created) or 0
  for s = 1, n do
    local id, base, total = order[s], s * span, 0
    for i = 1, nb do
      total = total + counts[base + i]
      bucket_recs[i - 1].upper_bound, bucket_recs[i - 1].cumulative_count = upper[i], total
    end
    hist_rec.labels_len, hist_rec.count = text_len[id], total
    hist_rec.sum = counts[base + nb + 1] * multiplier
    local nnative = set_native(native, counts, base, nb)
    buf:putcdata(hist_rec, sizeof(hist_rec)):putcdata(arena + text_at[id], text_len[id])
    buf:putcdata(bucket_recs, nb * sizeof(bucket_recs[0])):putcdata(natives, nnative * 8)
  end
  return n
end

local SPECIAL = { ["+Inf"] = math.huge, ["-Inf"] = -math.huge, NaN = 0 / 0 }

--- A ready sample line ('{a="x"} 1' or ' 1') as its label pairs and value.
function M.parse_line(l)
  local pairs_, value = l:match("^{(.*)} ([^ ]*)$")
  if not pairs_ then
    pairs_, value = "", l:match("^ ([^ ]*)$")
  end
  return pairs_, tonumber(value) or SPECIAL[value]
end

function M.lines(buf, family, help, type_, lines, created)
  if #lines == 0 then
    return
  end
  if created == nil then
    created = process_start
  end
  put_family(buf, family, help, type_)
  sample_rec.record = C.ELX_PB_SAMPLE
  sample_rec.created = type_ == "counter" and created or 0
  for _, l in ipairs(lines) do
    local pairs_, value = M.parse_line(l)
    if not value then
      error(("family %s: a sample line that does not parse: %q"):format(family, l))
    end
    sample_rec.labels_len, sample_rec.value = #pairs_, value
    buf:putcdata(sample_rec, sizeof(sample_rec)):put(pairs_)
  end
end

function M.block(buf, family, help, type_, text, created)
  M.lines(buf, family, help, type_, format_openmetrics.block_lines(family, text), created)
end

return M
