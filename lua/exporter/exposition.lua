-- Prometheus text format 0.0.4: escaping, label sets and family headers.
local M = {}

M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

local HELP_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n" }
local LABEL_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n", ['"'] = '\\"' }

function M.escape_help(s)
  return (s:gsub("[\\\n]", HELP_ESCAPES))
end

function M.escape_label_value(s)
  return (s:gsub('[\\\n"]', LABEL_ESCAPES))
end

-- 'a="x",b="y"' for parallel lists of names and raw values.
function M.label_pairs(names, values)
  local parts = {}
  for i = 1, #names do
    parts[i] = names[i] .. '="' .. M.escape_label_value(values[i]) .. '"'
  end
  return table.concat(parts, ",")
end

-- "# HELP" and "# TYPE" lines of a family.
function M.put_header(buf, family, help, kind)
  buf:put("# HELP ", family, " ", M.escape_help(help), "\n# TYPE ", family, " ", kind, "\n")
end

M.METRIC_NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
M.LABEL_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$"

return M
