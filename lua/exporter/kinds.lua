-- The registry of metric kinds. A kind is one module (kind_counter.lua,
-- kind_histogram.lua) that says which YAML keys it takes, how it binds to a
-- map, how it collects a batch and how it is written; config.lua, metric.lua
-- and collect.lua ask the registry rather than list kinds themselves. A new
-- kind is one new module, registered below (or at run time, as specs do).
local M = {}

-- What a kind is, checked at registration:
--   name        string: the plan's kind and the family's "# TYPE" ("counter");
--               collect.<name> collects it, so not "metric" or "new_state"
--   section     string: its list under `metrics:` in a config ("counters");
--               nil for a kind that another kind's check hands a metric to
--               (m.kind set there: kind_values, for `values:`)
--   keys        { key = true }: the YAML keys it takes besides name, help, labels
--   reserved_labels (optional) { name = true }: label names it writes itself
--   check(checker, node, path, m)  reads its own keys of the YAML node into
--               the metric m, reporting mistakes through the checker
--   check_map(m, info, fail) (optional) refuses a metric map before its shape
--               is checked: calls fail(path, msg) and returns false
--   check_value(m, info, fail) (optional) checks the map's values in place of
--               the u64 check (their size; info.value_type and value_fields
--               are the value's BTF): calls fail(path, msg) and returns false
--   bind(plan, m, info) (optional) adds its own fields to a plan bound to a
--               metric map; a kind whose series may be limited (max_series)
--               sets plan.overflow_text, the text of its overflow series
--   bind_events(plan, m) (optional) present when the kind counts the records
--               of perf event arrays and ring buffers: sets plan.read's
--               record_size and flush_ms
--   collect(plan, state, batch, buf, stats)  writes its family from one batch
--               (exposition.lua's writers); returns the number of series
local FIELDS = {
  name = "string", section = "string?", keys = "table", reserved_labels = "table?",
  check = "function", check_map = "function?", check_value = "function?", bind = "function?",
  bind_events = "function?", collect = "function",
}

local list, by_name, by_section = {}, {}, {}

local function shape_error(kind)
  if type(kind) ~= "table" then
    return "a kind is a table, not " .. type(kind)
  end
  for field, want in pairs(FIELDS) do
    local optional = want:sub(-1) == "?"
    local t = optional and want:sub(1, -2) or want
    local v = kind[field]
    if not (v == nil and optional) and type(v) ~= t then
      return ("kind %s: %s must be a %s, not %s"):format(tostring(kind.name), field, t, type(v))
    end
  end
  if by_name[kind.name] then
    return ("kind %s: already registered"):format(kind.name)
  elseif kind.section and by_section[kind.section] then
    return ("kind %s: section %q is kind %s's"):format(kind.name, kind.section, by_section[kind.section].name)
  end
end

--- Adds a kind; raises on a malformed kind or a name or section taken.
function M.register(kind)
  local err = shape_error(kind)
  if err then
    error(err, 2)
  end
  list[#list + 1] = kind
  by_name[kind.name] = kind
  if kind.section then
    by_section[kind.section] = kind
  end
end

--- Removes the kind registered as `name`, if any.
function M.unregister(name)
  local kind = by_name[name]
  if not kind then
    return
  end
  by_name[name] = nil
  if kind.section then
    by_section[kind.section] = nil
  end
  for i, k in ipairs(list) do
    if k == kind then
      table.remove(list, i)
      break
    end
  end
end

--- The kind registered as `name`, or nil.
function M.get(name)
  return by_name[name]
end

--- Every kind, in the order they were registered: the order of the sections
-- in a config's checks and of its metrics.
function M.list()
  return list
end

M.register(require("exporter.kind_counter"))
M.register(require("exporter.kind_histogram"))
M.register(require("exporter.kind_gauge"))
M.register(require("exporter.kind_values"))

return M
