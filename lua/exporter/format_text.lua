-- The Prometheus text format 0.0.4: the default, byte for byte what
-- ebpf_exporter writes. The family writers of exposition.lua come here when
-- the scraper did not ask for another format (the interface is described at
-- exposition.format_for).
local exposition = require("exporter.exposition")
local numfmt = require("exporter.numfmt")

local M = {
  name = "text",
  content_type = exposition.CONTENT_TYPE,
}

local put_u64, put_i64 = numfmt.put_u64, numfmt.put_i64
local put_header = exposition.put_header

function M.begin() end

function M.finish() end

--- The lines of a family of samples (without its header): the family name,
-- each series' text (what follows the name, up to the value), its u64 value
-- (a signed 64-bit one when acc.signed: gauges of value_type s64 or s32).
function M.sample_lines(buf, family, store, acc)
  local order, sums = acc.order, acc.sums
  local put = acc.signed and put_i64 or put_u64
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  for s = 1, acc.n do
    local id = order[s]
    buf:put(family)
    buf:putcdata(arena + text_at[id], text_len[id])
    put(buf, sums[s])
    buf:put("\n")
  end
end

function M.samples(buf, family, help, type_, store, acc)
  if acc.n == 0 then
    return 0
  end
  put_header(buf, family, help, type_)
  M.sample_lines(buf, family, store, acc)
  return acc.n
end

-- '{pairs} ' or ' ' after a histogram's _sum or _count name.
local function put_pairs(buf, pairs_, len)
  if len > 0 then
    buf:put("{"):putcdata(pairs_, len):put("} ")
  else
    buf:put(" ")
  end
end

--- The lines of a histogram's series (without its header): per series every
-- bucket, counted cumulatively, +Inf, _sum and _count; then
-- after(buf, pairs, len, s) when given (OpenMetrics adds _created there).
function M.histogram_series(buf, family, le_parts, multiplier, store, acc, after)
  local n, order, counts, span = acc.n, acc.order, acc.counts, acc.span
  local le = le_parts
  local nb = #le - 1
  local bucket_open = family .. "_bucket{"
  local sum_name, count_name = family .. "_sum", family .. "_count"
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  for s = 1, n do
    local id = order[s]
    local pairs_, len = arena + text_at[id], text_len[id]
    local sep = len > 0 and "," or ""
    local base = s * span
    local total = 0
    for i = 1, nb + 1 do
      if i <= nb then
        total = total + counts[base + i]
      end
      buf:put(bucket_open)
      buf:putcdata(pairs_, len)
      buf:put(sep, le[i])
      put_u64(buf, total)
      buf:put("\n")
    end
    buf:put(sum_name)
    put_pairs(buf, pairs_, len)
    buf:put(numfmt.value(counts[base + nb + 1] * multiplier))
    buf:put("\n", count_name)
    put_pairs(buf, pairs_, len)
    put_u64(buf, total)
    buf:put("\n")
    if after then
      after(buf, pairs_, len, s)
    end
  end
end

function M.histogram(buf, family, help, le_parts, multiplier, store, acc)
  if acc.n == 0 then
    return 0
  end
  put_header(buf, family, help, "histogram")
  M.histogram_series(buf, family, le_parts, multiplier, store, acc)
  return acc.n
end

function M.lines(buf, family, help, type_, lines)
  if #lines == 0 then
    return
  end
  put_header(buf, family, help, type_)
  for _, l in ipairs(lines) do
    buf:put(family, l, "\n")
  end
end

function M.block(buf, family, help, type_, text)
  if #text == 0 then
    return
  end
  put_header(buf, family, help, type_)
  buf:put(text)
end

return M
