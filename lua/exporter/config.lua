-- Parses and validates one <name>.yaml config. Every mistake is reported, all
-- at once, as "<file>: <yaml path>: <what is wrong>". The metrics under
-- `metrics:` are checked here for what every kind shares (name, help,
-- labels) and by their kind (kinds.lua) for the rest.
local lyaml = require("lyaml")
local checker = require("exporter.checker")
local exposition = require("exporter.exposition")
local kinds = require("exporter.kinds")
local tracing_config = require("exporter.tracing_config")
local yaml_keys = require("exporter.yaml_keys")
local targets = require("exporter.targets")

local M = {}

local present, is_mapping, is_sequence = checker.present, checker.is_mapping, checker.is_sequence

--- "1h30m" -> 5400, or nil.
M.parse_duration = checker.parse_duration

local function check_decoders(c, label_node, path, label, ctx)
  local list = label_node.decoders
  local chain = {}
  if not present(list) then
    c:fail(path .. ".decoders", "missing: a label needs at least one decoder (e.g. uint or string)")
    return chain
  end
  if not is_sequence(list) or #list == 0 then
    c:fail(path .. ".decoders", "must be a non-empty list of decoders")
    return chain
  end
  for i, d in ipairs(list) do
    local dpath = ("%s.decoders[%d]"):format(path, i - 1)
    if not is_mapping(d) then
      c:fail(dpath, "must be a mapping with a name")
    else
      local name = c:required_string(d, "name", dpath)
      if name and ctx.registry then
        local decode, err, direct = ctx.registry:new(d, {
          input_size = i == 1 and label.size or nil,
          label = label.name,
          config = ctx.config,
          path = dpath,
        })
        if decode then
          chain[#chain + 1] = { name = name, decode = decode, options = d, -- options: for fingerprint.lua
            direct = direct, ascii = ctx.registry:ascii_only(name) }
        else
          c:fail(dpath, "%s", err)
        end
      end
    end
  end
  return chain
end

local LABEL_KEYS = { name = true, size = true, padding = true, decoders = true }

-- Span labels become OpenTelemetry attributes, whose names may hold dots
-- (ebpf_exporter's sched-trace has "cpu.orig"): only metrics' labels must be
-- Prometheus label names.
local function check_label_name(c, name, lpath, reserved, seen, attributes)
  if not attributes and (not name:match(exposition.LABEL_NAME) or name:sub(1, 2) == "__") then
    c:fail(lpath .. ".name", "%q is not a valid Prometheus label name", name)
  elseif reserved[name] then
    c:fail(lpath .. ".name", "%q is reserved", name)
  elseif seen[name] then
    c:fail(lpath .. ".name", "duplicate label %q", name)
  end
  seen[name] = true
end

local function check_labels(c, node, path, ctx, reserved, attributes)
  local list = node.labels
  local labels = {}
  if not present(list) then
    return labels
  end
  if not is_sequence(list) then
    c:fail(path .. ".labels", "must be a list of labels")
    return labels
  end
  local seen = {}
  for i, l in ipairs(list) do
    local lpath = ("%s.labels[%d]"):format(path, i - 1)
    if not is_mapping(l) then
      c:fail(lpath, "must be a mapping with name, size and decoders")
    else
      c:known_keys(l, lpath, LABEL_KEYS)
      local label = {}
      label.name = c:required_string(l, "name", lpath)
      if label.name then
        check_label_name(c, label.name, lpath, reserved, seen, attributes)
      end
      if not present(l.size) then
        c:fail(lpath .. ".size", "missing")
      else
        label.size = c:optional_integer(l, "size", lpath, 1)
      end
      label.padding = c:optional_integer(l, "padding", lpath, 0) or 0
      label.decoders = check_decoders(c, l, lpath, label, ctx)
      labels[#labels + 1] = label
    end
  end
  return labels
end

-- The keys every metric takes; its kind adds its own (kind.keys).
local COMMON_KEYS = { name = true, help = true, labels = true, max_series = true }

local function check_metric(c, kind, node, path, ctx)
  local allowed = {}
  for k in pairs(COMMON_KEYS) do
    allowed[k] = true
  end
  for k in pairs(kind.keys) do
    allowed[k] = true
  end
  c:known_keys(node, path, allowed)
  local m = { kind = kind.name, path = path }
  m.name = c:required_string(node, "name", path)
  if m.name and not m.name:match(exposition.METRIC_NAME) then
    c:fail(path .. ".name", "%q is not a valid Prometheus metric name", m.name)
  end
  m.help = c:required_string(node, "help", path)
  m.labels = check_labels(c, node, path, ctx, kind.reserved_labels or {})
  -- 0: no limit, even with --config.max-series (cardinality.lua).
  m.max_series = c:optional_integer(node, "max_series", path, 0)
  kind.check(c, node, path, m)
  return m
end

-- "counters and histograms", "counters, histograms and gauges".
local function section_names()
  local names = {}
  for _, kind in ipairs(kinds.list()) do
    names[#names + 1] = kind.section -- nil: none of its own
  end
  local last = table.remove(names)
  return #names > 0 and table.concat(names, ", ") .. " and " .. last or (last or "")
end

-- Each family comes from one metric and each map gives one metric: a
-- metric's family is its name, or with `values:` each field's (m.fields;
-- a gauge of 4-byte values is one field of its own name, m.whole_value).
local function check_duplicates(c, metrics)
  local maps, families = {}, {}
  local function once(seen, name, path, what)
    if seen[name] then
      c:fail(path .. ".name", "duplicate %s %q (also at %s)", what, name, seen[name])
      return false
    end
    seen[name] = path
    return true
  end
  for _, m in ipairs(metrics) do
    local fresh = true
    if m.name and (not m.fields or m.whole_value) then
      fresh = once(families, m.name, m.path, "metric")
    elseif m.name then
      for _, f in ipairs(m.fields) do
        if f.name then
          once(families, f.name, f.path, "metric")
        end
      end
    end
    if m.name and fresh then
      once(maps, m.name, m.path, "map")
    end
  end
end

-- `metrics:`: one list of metrics per kind, under the kind's section name.
local function check_metrics(c, metrics, cfg, ctx)
  if not is_mapping(metrics) then
    c:fail("metrics", "must be a mapping with " .. section_names())
    return
  end
  local sections = {}
  for _, kind in ipairs(kinds.list()) do
    if kind.section then
      sections[kind.section] = true
    end
  end
  c:known_keys(metrics, "metrics", sections)
  for _, kind in ipairs(kinds.list()) do
    local list = kind.section and metrics[kind.section]
    if present(list) and not is_sequence(list) then
      c:fail("metrics." .. kind.section, "must be a list")
    elseif present(list) then
      for i, node in ipairs(list) do
        local path = ("metrics.%s[%d]"):format(kind.section, i - 1)
        if not is_mapping(node) then
          c:fail(path, "must be a mapping")
        else
          cfg.metrics[#cfg.metrics + 1] = check_metric(c, kind, node, path, ctx)
        end
      end
    end
  end
  check_duplicates(c, cfg.metrics)
end

local CGROUP_ID_MAP_KEYS = { name = true, type = true, regexps = true }
local CGROUP_ID_MAP_TYPES = { hash = true, cgrp_storage = true }

-- cgroup_id_map: a map the exporter keeps filled with the cgroups whose paths
-- match one of the regexps (as the regexp decoder matches them).
local function check_cgroup_id_map(c, node, ctx)
  local path = "cgroup_id_map"
  if not is_mapping(node) then
    c:fail(path, "must be a mapping with name, type and regexps")
    return nil
  end
  c:known_keys(node, path, CGROUP_ID_MAP_KEYS)
  local m = { name = c:required_string(node, "name", path), type = node.type or "hash" }
  if not CGROUP_ID_MAP_TYPES[m.type] then
    c:fail(path .. ".type", "%q is not one of hash, cgrp_storage", tostring(m.type))
  end
  if not present(node.regexps) then
    c:fail(path .. ".regexps", "missing: a list of patterns for the cgroup paths to keep in the map")
  elseif ctx.registry then
    local match, err = ctx.registry:new({ name = "regexp", regexps = node.regexps },
      { label = "cgroup_id_map", config = ctx.config, path = path .. ".regexps" })
    if not match then
      c:fail(path .. ".regexps", "%s", err)
    end
    m.match = match
  end
  return m
end

local function check_kaddrs(c, kaddrs, cfg)
  if not is_sequence(kaddrs) then
    c:fail("kaddrs", "must be a list of kernel symbol names")
    return
  end
  for i, sym in ipairs(kaddrs) do
    if type(sym) ~= "string" or not sym:match("^[%w_.]+$") then
      c:fail(("kaddrs[%d]"):format(i - 1), "%q is not a kernel symbol name", tostring(sym))
    else
      cfg.kaddrs[#cfg.kaddrs + 1] = sym
    end
  end
end

local TOP_KEYS = { metrics = true, kaddrs = true, tracing = true, cgroup_id_map = true, targets = true }

-- As ebpf_exporter: a config must define something. An empty or cut file
-- (`metrics:` and nothing more) is a mistake, not a config without metrics.
-- A config with mistakes said so already: being empty is not one more.
local function check_not_empty(c, cfg)
  if #c.errors > 0 then
    return
  end
  if #cfg.metrics == 0 and #(cfg.spans or {}) == 0 then
    c:fail("", 'neither metrics nor tracing are defined for config "%s"', tostring(cfg.name))
  end
end

local function check_config(c, doc, ctx)
  local cfg = { name = ctx.config, file = c.file, metrics = {}, kaddrs = {}, spans = {} }
  if not present(doc) then
    check_not_empty(c, cfg)
    return cfg
  end
  if not is_mapping(doc) then
    c:fail("", "the top level must be a mapping (metrics:, kaddrs:, ...)")
    return cfg
  end
  c:known_keys(doc, "", TOP_KEYS)
  if present(doc.tracing) then
    cfg.spans = tracing_config.check(c, doc.tracing, ctx, check_labels)
  end
  if present(doc.cgroup_id_map) then
    cfg.cgroup_id_map = check_cgroup_id_map(c, doc.cgroup_id_map, ctx)
  end
  if present(doc.metrics) then
    check_metrics(c, doc.metrics, cfg, ctx)
  end
  if present(doc.kaddrs) then
    check_kaddrs(c, doc.kaddrs, cfg)
  end
  if present(doc.targets) then
    cfg.targets = targets.check(c, doc.targets, ctx)
  end
  check_not_empty(c, cfg)
  return cfg
end

-- "line 4, column 4: not valid YAML: did not find expected key", and the
-- line itself, from lyaml's "4:4: did not find expected key".
local function syntax_error(text, err)
  local line, column, what = tostring(err):match("(%d+):(%d+): ([^\n]*)$")
  if not line then
    return "not valid YAML: " .. tostring(err):gsub("^.-:%d+: ", "")
  end
  local n, source = 0, ""
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if n == tonumber(line) then
      source = l
      break
    end
  end
  return ("line %s, column %s: not valid YAML: %s: %q"):format(line, column, what, source)
end
M.syntax_error = syntax_error -- the web config's too

--- Parses YAML text. `ctx` = { config = <name>, registry = <decoder
-- registry>, strict = <--config.strict> }. Returns the config (with its
-- warnings in cfg.warnings), or nil, the list of error lines and the list
-- of warnings.
function M.parse(text, file, ctx)
  local c = checker.new(file, ctx.strict)
  local ok, doc = pcall(lyaml.load, text)
  if not ok then
    c:fail("", "%s", syntax_error(text, doc))
    return nil, c.errors
  end
  for _, d in ipairs(yaml_keys.duplicates(text)) do
    c:fail(d.path, "given twice, at lines %d and %d: a key may appear once in a mapping", d.first, d.again)
  end
  local cfg = check_config(c, doc, ctx)
  if #c.errors > 0 then
    return nil, c.errors, c.warnings
  end
  cfg.warnings = c.warnings
  return cfg
end

--- Reads and parses <dir>/<name>.yaml.
function M.load(dir, name, ctx)
  local file = name .. ".yaml"
  local f, err = io.open(dir .. "/" .. file, "r")
  if not f then
    return nil, { file .. ": " .. tostring(err):gsub("^[^:]*: ", "") }
  end
  local text = f:read("*a")
  f:close()
  return M.parse(text, file, ctx)
end

return M
