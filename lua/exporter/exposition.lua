-- Prometheus text format 0.0.4: escaping, label sets and family headers.
local M = {}

M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

local HELP_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n" }
local LABEL_ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n", ['"'] = '\\"' }

function M.escape_help(s)
  return (s:gsub("[\\\n]", HELP_ESCAPES))
end

-- Plain finds first: they are compiled, gsub is not, and most values need
-- no escaping at all.
local find = string.find

function M.escape_label_value(s)
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

-- "# HELP" and "# TYPE" lines of a family.
function M.put_header(buf, family, help, kind)
  buf:put("# HELP ", family, " ", M.escape_help(help), "\n# TYPE ", family, " ", kind, "\n")
end

M.METRIC_NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
M.LABEL_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$"

return M
