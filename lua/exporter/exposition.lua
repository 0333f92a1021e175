-- Prometheus text format 0.0.4: escaping, label sets, and the writers of
-- every family a metric kind exports (samples, histograms) from its series
-- (series.lua) and their values at this scrape.
local numfmt = require("exporter.numfmt")
local utf8 = require("exporter.utf8")

local M = {}

local put_u64, put_i64 = numfmt.put_u64, numfmt.put_i64

M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

local HELP_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n" }
local LABEL_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n", ['"'] = '\\"' }

function M.escape_help(s)
  return (s:gsub("[\\\n]", HELP_ESCAPES))
end

-- Plain finds first: they are compiled, gsub is not, and most values need
-- no escaping at all.
local find = string.find
local is_ascii = utf8.is_ascii

--- A label value as the text format writes it: escaped, and valid UTF-8
-- (exporter.utf8; decoded values were repaired and counted before).
function M.escape_label_value(s)
  if not is_ascii(s) then
    s = utf8.repair(s)
  end
  if find(s, '"', 1, true) or find(s, "\\", 1, true) or find(s, "\n", 1, true) then
    return (s:gsub('[\\\n"]', LABEL_ESCAPES))
  end
  return s
end

local pairs_buf = require("string.buffer").new(256)

-- 'a="x",b="y"' for parallel lists of names and raw values.
function M.label_pairs(names, values)
  pairs_buf:reset()
  for i = 1, #names do
    if i > 1 then
      pairs_buf:put(",")
    end
    pairs_buf:put(names[i], '="', M.escape_label_value(values[i]), '"')
  end
  return pairs_buf:tostring()
end

-- A label value already valid UTF-8 (labels.decode repaired it), escaped.
local function escaped_valid(s)
  if find(s, '"', 1, true) or find(s, "\\", 1, true) or find(s, "\n", 1, true) then
    return (s:gsub('[\\\n"]', LABEL_ESCAPES))
  end
  return s
end

--- Writes what follows the family name in a sample line, up to the value:
-- '{a="x",b="y"} ', or ' ' without labels: values[index[j]] is the value of
-- label names[j], valid UTF-8 already. The text of a sample series (no Lua
-- string is made; the family name is not repeated in every series' text).
function M.put_sample_labels(buf, names, index, values)
  local n = #names
  if n == 0 then
    buf:put(" ")
    return
  end
  buf:put("{")
  for j = 1, n do
    buf:put(j > 1 and "," or "", names[j], '="', escaped_valid(values[index[j]]), '"')
  end
  buf:put("} ")
end

-- "# HELP" and "# TYPE" lines of a family.
function M.put_header(buf, family, help, type_)
  buf:put("# HELP ", family, " ", M.escape_help(help), "\n# TYPE ", family, " ", type_, "\n")
end

--- A sample line up to its value: 'family{a="x"} ', or 'family ' without labels.
function M.sample_start(family, pairs_text)
  if pairs_text == "" then
    return family .. " "
  end
  return family .. "{" .. pairs_text .. "} "
end

--- Writes a family of samples (counter, gauge), one line per series: the
-- family name, the series' text (put_sample_labels) then its u64 value. `store` is a series
-- store, `acc` its accumulator of this scrape: slots 1..acc.n, series
-- acc.order[s], value acc.sums[s], a signed 64-bit value when acc.signed
-- (gauges of value_type s64 or s32). Nothing at all without series.
-- Returns the number of series.
function M.put_samples(buf, family, help, type_, store, acc)
  local n, order, sums = acc.n, acc.order, acc.sums
  local put = acc.signed and put_i64 or put_u64
  if n == 0 then
    return 0
  end
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  M.put_header(buf, family, help, type_)
  for s = 1, n do
    local id = order[s]
    buf:put(family)
    buf:putcdata(arena + text_at[id], text_len[id])
    put(buf, sums[s])
    buf:put("\n")
  end
  return n
end

--- The end of each `_bucket` line after the label pairs, for a bucket set's
-- `le` bounds and then +Inf: 'le="0.5"} '.
function M.le_parts(le)
  local parts = {}
  for i = 1, #le do
    parts[i] = 'le="' .. le[i] .. '"} '
  end
  parts[#le + 1] = 'le="+Inf"} '
  return parts
end

-- '{pairs} ' or ' ' after a histogram's _sum or _count name.
local function put_pairs(buf, pairs_, len)
  if len > 0 then
    buf:put("{"):putcdata(pairs_, len):put("} ")
  else
    buf:put(" ")
  end
end

--- Writes a histogram family. `le_parts` (le_parts()) ends each bucket
-- line, `multiplier` scales the sum; the series' text in `store` is its label
-- pairs, and acc.counts holds, from slot s * acc.span, each bucket's own
-- count at positions 1..#le_parts - 1 and the sum after them. Per series:
-- every bucket, counted cumulatively, +Inf, _sum and _count.
-- Returns the number of series.
function M.put_histogram(buf, family, help, le_parts, multiplier, store, acc)
  local n, order, counts, span = acc.n, acc.order, acc.counts, acc.span
  if n == 0 then
    return 0
  end
  local le = le_parts
  local nb = #le - 1
  local bucket_open = family .. "_bucket{"
  local sum_name, count_name = family .. "_sum", family .. "_count"
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  M.put_header(buf, family, help, "histogram")
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
  end
  return n
end

--- Writes a family whose sample lines are ready: each line is the text after
-- the family name ('{a="x"} 1' or ' 1'). Nothing at all without lines.
function M.put_lines(buf, family, help, type_, lines)
  if #lines == 0 then
    return
  end
  M.put_header(buf, family, help, type_)
  for _, l in ipairs(lines) do
    buf:put(family, l, "\n")
  end
end

M.METRIC_NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
M.LABEL_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$"

return M
