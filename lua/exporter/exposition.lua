-- The exposition: escaping and label sets of the text format (which series
-- texts are made of, in every format), and the writers of every family that
-- metric kinds and the exporter's own metrics export. The writers hand each
-- family to the format of this scrape (format_text.lua, the default;
-- format_openmetrics.lua; format_protobuf.lua), chosen by the scraper's
-- Accept header (core/accept.c).
local utf8 = require("exporter.utf8")

local M = {}

local active -- the format of the scrape under way (M.use)

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

--- Writes a family of samples (counter, gauge), one series each: the family
-- name, the series' text in `store` (put_sample_labels: what follows the
-- family name in a sample line) and its u64 value. `acc` is the
-- store's accumulator of this scrape: slots 1..acc.n, series acc.order[s],
-- value acc.sums[s]. `created` (optional): Unix seconds when a counter's
-- counts began (batch.created), for the formats that carry it. Nothing at
-- all without series. Returns the number of series.
function M.put_samples(buf, family, help, type_, store, acc, created)
  return active.samples(buf, family, help, type_, store, acc, created)
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

--- Writes a histogram family. `le_parts` (le_parts()) ends each bucket
-- line, `multiplier` scales the sum; the series' text in `store` is its label
-- pairs, and acc.counts holds, from slot s * acc.span, each bucket's own
-- count at positions 1..#le_parts - 1 and the sum after them. Optional:
-- `created` as for put_samples, and `buckets`, the bucket set
-- (histogram.buckets) whose `native` mapping lets the protobuf format send a
-- native histogram. Returns the number of series.
function M.put_histogram(buf, family, help, le_parts, multiplier, store, acc, created, buckets)
  return active.histogram(buf, family, help, le_parts, multiplier, store, acc, created, buckets)
end

--- Writes a family whose sample lines are ready: each line is the text after
-- the family name ('{a="x"} 1' or ' 1'). Nothing at all without lines.
-- `created`: Unix seconds a counter's counts began; nil for the exporter's
-- start (the scrape's process start time), false for unknown.
function M.put_lines(buf, family, help, type_, lines, created)
  return active.lines(buf, family, help, type_, lines, created)
end

--- Writes a family whose sample lines are ready in one text (or
-- string.buffer): whole lines, each beginning with the family name.
-- `created` as for put_lines.
function M.put_block(buf, family, help, type_, text, created)
  return active.block(buf, family, help, type_, text, created)
end

-- The formats by enum elx_format (core/abi.h), loaded when first asked for.
local FORMAT_MODULES = { [0] = "exporter.format_text", [1] = "exporter.format_openmetrics",
  [2] = "exporter.format_protobuf" }

--- The format module of an enum elx_format value (text for an unknown one).
-- A format is { name, content_type, begin(buf, scrape), finish(buf),
-- samples, histogram, lines, block } with the put_* arguments above.
function M.format_for(n)
  return require(FORMAT_MODULES[tonumber(n)] or FORMAT_MODULES[0])
end

--- Makes `format` the one the writers use (until the next call); returns
-- the one used before.
function M.use(format)
  local before = active
  active = format
  return before
end

M.METRIC_NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
M.LABEL_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$"

-- The formats require this module: it is complete before they load.
package.loaded["exporter.exposition"] = M
active = M.format_for(0)

return M
