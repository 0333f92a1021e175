-- OpenMetrics 1.0.0 text, for scrapers that ask for it: the text format's
-- series with OpenMetrics' rules on top. A counter's family drops `_total`
-- and its samples carry it; `# UNIT` when a family name ends in a base unit;
-- a `_created` sample after each counter and histogram series (when its
-- counts began, Unix seconds); `unknown` for untyped; `# EOF` at the end.
local format_text = require("exporter.format_text")
local numfmt = require("exporter.numfmt")

local M = {
  name = "openmetrics",
  content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
}

local put_u64, put_i64 = numfmt.put_u64, numfmt.put_i64
local format = string.format

-- The base units of Prometheus's naming conventions that a name may end in.
local UNITS = { "seconds", "bytes", "joules", "grams", "meters", "ratio", "volts", "amperes", "celsius" }
local TYPES = { untyped = "unknown" }
local HELP_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n", ['"'] = '\\"' }

-- When the exporter's own counters began: this process's start.
local process_start = false

--- The family name of OpenMetrics: a counter's without `_total`.
function M.family_name(family, type_)
  if type_ == "counter" and family:sub(-6) == "_total" then
    return family:sub(1, -7)
  end
  return family
end

--- The unit a family name ends in, or nil.
function M.unit(name)
  for _, u in ipairs(UNITS) do
    if name:sub(-#u - 1) == "_" .. u then
      return u
    end
  end
end

local function put_header(buf, name, help, type_)
  buf:put("# HELP ", name, " ", (help:gsub('[\\\n"]', HELP_ESCAPES)), "\n# TYPE ", name, " ",
    TYPES[type_] or type_, "\n")
  local unit = M.unit(name)
  if unit then
    buf:put("# UNIT ", name, " ", unit, "\n")
  end
end

local function created_text(created)
  if created == nil then
    created = process_start
  end
  return created and created > 0 and format("%.3f", created) or nil
end

function M.begin(_, scrape)
  process_start = scrape and tonumber(scrape.process.start_time_seconds) or false
end

function M.finish(buf)
  buf:put("# EOF\n")
end

-- A sample series' text is what follows the family name ('{pairs} ' or ' ',
-- exposition.put_sample_labels): the same in a counter's _total and _created.
function M.samples(buf, family, help, type_, store, acc, created)
  local n, order, sums = acc.n, acc.order, acc.sums
  if n == 0 then
    return 0
  elseif type_ ~= "counter" then
    put_header(buf, family, help, type_)
    format_text.sample_lines(buf, family, store, acc)
    return n
  end
  local name = M.family_name(family, type_)
  local total, created_name = name .. "_total", name .. "_created"
  local when = created and created > 0 and format("%.3f", created)
  local arena, text_at, text_len = store.arena, store.text_at, store.text_len
  local put = acc.signed and put_i64 or put_u64 -- a struct field's counter may be signed
  put_header(buf, name, help, type_)
  for s = 1, n do
    local id = order[s]
    local rest, len = arena + text_at[id], text_len[id]
    buf:put(total):putcdata(rest, len)
    put(buf, sums[s])
    buf:put("\n")
    if when then
      buf:put(created_name):putcdata(rest, len):put(when, "\n")
    end
  end
  return n
end

function M.histogram(buf, family, help, le_parts, multiplier, store, acc, created)
  if acc.n == 0 then
    return 0
  end
  put_header(buf, family, help, "histogram")
  local when = created and created > 0 and format("%.3f", created)
  local created_name = family .. "_created"
  format_text.histogram_series(buf, family, le_parts, multiplier, store, acc, when and function(b, pairs_, len)
    if len > 0 then
      b:put(created_name, "{"):putcdata(pairs_, len):put("} ", when, "\n")
    else
      b:put(created_name, " ", when, "\n")
    end
  end)
  return acc.n
end

function M.lines(buf, family, help, type_, lines, created)
  if #lines == 0 then
    return
  end
  local name = M.family_name(family, type_)
  put_header(buf, name, help, type_)
  if type_ ~= "counter" then
    for _, l in ipairs(lines) do
      buf:put(family, l, "\n")
    end
    return
  end
  local when = created_text(created)
  for _, l in ipairs(lines) do
    buf:put(name, "_total", l, "\n")
    if when then
      buf:put(name, "_created", l:match("^(.*) [^ ]*$"), " ", when, "\n")
    end
  end
end

--- Lines of a block (whole lines from the family name on) as put_lines'.
function M.block_lines(family, text)
  local lines, skip = {}, #family + 1
  for line in tostring(text):gmatch("[^\n]+") do
    lines[#lines + 1] = line:sub(skip)
  end
  return lines
end

function M.block(buf, family, help, type_, text, created)
  M.lines(buf, family, help, type_, M.block_lines(family, text), created)
end

return M
