-- Keys given twice in one YAML mapping. lyaml.load keeps the last value of a
-- key given twice and says nothing, so a config can lose half of what it
-- says without a word; libyaml's events (lyaml's low-level parser) still have
-- both, with their lines.
local yaml = require("yaml")

local M = {}

-- The path of the node that starts now in the frame on top (nil for a key
-- of a mapping, which the caller checks), moving the frame on.
local function child_path(top)
  if not top then
    return ""
  elseif top.sequence then
    top.n = top.n + 1
    return ("%s[%d]"):format(top.path, top.n - 1)
  elseif top.want_key then
    top.want_key = false
    return nil
  end
  top.want_key = true
  return top.path == "" and top.key or (top.path .. "." .. top.key)
end

-- A scalar key: the first line each key came at, and the duplicates.
local function key(top, ev, found)
  local name, line = ev.value, ev.start_mark.line + 1
  top.key = name
  if name == "<<" then -- a merge key: the YAML 1.1 way to share a mapping
    return
  end
  local first = top.lines[name]
  if first then
    local path = top.path == "" and name or (top.path .. "." .. name)
    found[#found + 1] = { path = path, first = first, again = line }
  else
    top.lines[name] = line
  end
end

--- The keys that some mapping of `text` has twice: a list of
-- { path = "metrics.counters[0].help", first = <line>, again = <line> },
-- lines from 1. Text that is not valid YAML has none (lyaml says why).
function M.duplicates(text)
  local found, frames = {}, {}
  local ok = pcall(function()
    for ev in yaml.parser(text) do
      local t, top = ev.type, frames[#frames]
      if t == "MAPPING_END" or t == "SEQUENCE_END" then
        frames[#frames] = nil
      elseif t == "SCALAR" or t == "ALIAS" or t == "MAPPING_START" or t == "SEQUENCE_START" then
        local path = child_path(top)
        if path == nil and t == "SCALAR" then
          key(top, ev, found)
        elseif path == nil then
          top.key = "?" -- a complex key: what is under it is not checked
          path = "?"
        end
        if t == "MAPPING_START" then
          frames[#frames + 1] = { path = path, want_key = true, lines = {} }
        elseif t == "SEQUENCE_START" then
          frames[#frames + 1] = { path = path, sequence = true, n = 0 }
        end
      end
    end
  end)
  return ok and found or {}
end

return M
