-- Parses and validates one <name>.yaml config. Every mistake is reported, all
-- at once, as "<file>: <yaml path>: <what is wrong>".
local lyaml = require("lyaml")
local exposition = require("exporter.exposition")

local M = {}

local BUCKET_TYPES = { exp2 = true, exp2zero = true, linear = true, fixed = true }

-- Go duration units, as ebpf_exporter's flush_interval takes them.
local DURATION_UNITS = { ns = 1e-9, us = 1e-6, ["µs"] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 }

--- "1h30m" -> 5400, or nil.
function M.parse_duration(s)
  if type(s) ~= "string" or s == "" then
    return nil
  end
  local total, rest = 0, s
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d+%.?%d*)([a-zµ]+)(.*)$")
    local scale = unit and DURATION_UNITS[unit]
    if not scale then
      return nil
    end
    total = total + tonumber(num) * scale
    rest = tail
  end
  return total
end

-- A validation pass: errors collect here, prefixed with the file name.
local Checker = {}
Checker.__index = Checker

local function new_checker(file)
  return setmetatable({ file = file, errors = {} }, Checker)
end

function Checker:fail(path, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  local where = path ~= "" and (path .. ": ") or ""
  self.errors[#self.errors + 1] = self.file .. ": " .. where .. msg
end

local function is_mapping(v)
  return type(v) == "table" and v ~= lyaml.null and (next(v) == nil or v[1] == nil)
end

local function is_sequence(v)
  if type(v) ~= "table" or v == lyaml.null then
    return false
  end
  local n = 0
  for _ in pairs(v) do
    n = n + 1
  end
  return n == #v
end

local function is_integer(v)
  return type(v) == "number" and v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53
end

-- Reports keys of `node` that are not in `allowed`. ebpf_exporter silently
-- ignores them; a misspelt key is a mistake the user wants to hear about.
function Checker:known_keys(node, path, allowed)
  local unknown = {}
  for k in pairs(node) do
    if not allowed[k] then
      unknown[#unknown + 1] = tostring(k)
    end
  end
  table.sort(unknown)
  for _, k in ipairs(unknown) do
    self:fail(path == "" and k or (path .. "." .. k), "unknown key")
  end
end

function Checker:required_string(node, key, path)
  local v = node[key]
  if v == nil or v == lyaml.null then
    self:fail(path .. "." .. key, "missing")
  elseif type(v) ~= "string" or v == "" then
    self:fail(path .. "." .. key, "must be a non-empty string")
  else
    return v
  end
end

function Checker:optional_integer(node, key, path, min)
  local v = node[key]
  if v == nil or v == lyaml.null then
    return nil
  end
  if not is_integer(v) or v < min then
    self:fail(path .. "." .. key, "must be an integer >= %d, not %s", min, tostring(v))
    return nil
  end
  return v
end

function Checker:optional_bool(node, key, path)
  local v = node[key]
  if v == nil or v == lyaml.null then
    return false
  end
  if type(v) ~= "boolean" then
    self:fail(path .. "." .. key, "must be true or false")
    return false
  end
  return v
end

function Checker:decoders(label_node, path, label, ctx)
  local list = label_node.decoders
  local chain = {}
  if list == nil or list == lyaml.null then
    self:fail(path .. ".decoders", "missing: a label needs at least one decoder (e.g. uint or string)")
    return chain
  end
  if not is_sequence(list) or #list == 0 then
    self:fail(path .. ".decoders", "must be a non-empty list of decoders")
    return chain
  end
  for i, d in ipairs(list) do
    local dpath = ("%s.decoders[%d]"):format(path, i - 1)
    if not is_mapping(d) then
      self:fail(dpath, "must be a mapping with a name")
    else
      local name = self:required_string(d, "name", dpath)
      if name and ctx.registry then
        local decode, err = ctx.registry:new(d, {
          input_size = i == 1 and label.size or nil,
          label = label.name,
          config = ctx.config,
          path = dpath,
        })
        if decode then
          chain[#chain + 1] = { name = name, decode = decode }
        else
          self:fail(dpath, "%s", err)
        end
      end
    end
  end
  return chain
end

local LABEL_KEYS = { name = true, size = true, padding = true, decoders = true }

function Checker:labels(node, path, ctx, reserved)
  local list = node.labels
  local labels = {}
  if list == nil or list == lyaml.null then
    return labels
  end
  if not is_sequence(list) then
    self:fail(path .. ".labels", "must be a list of labels")
    return labels
  end
  local seen = {}
  for i, l in ipairs(list) do
    local lpath = ("%s.labels[%d]"):format(path, i - 1)
    if not is_mapping(l) then
      self:fail(lpath, "must be a mapping with name, size and decoders")
    else
      self:known_keys(l, lpath, LABEL_KEYS)
      local label = {}
      label.name = self:required_string(l, "name", lpath)
      if label.name then
        if not label.name:match(exposition.LABEL_NAME) or label.name:sub(1, 2) == "__" then
          self:fail(lpath .. ".name", "%q is not a valid Prometheus label name", label.name)
        elseif reserved[label.name] then
          self:fail(lpath .. ".name", "%q is reserved", label.name)
        elseif seen[label.name] then
          self:fail(lpath .. ".name", "duplicate label %q", label.name)
        end
        seen[label.name] = true
      end
      if l.size == nil or l.size == lyaml.null then
        self:fail(lpath .. ".size", "missing")
      else
        label.size = self:optional_integer(l, "size", lpath, 1)
      end
      label.padding = self:optional_integer(l, "padding", lpath, 0) or 0
      label.decoders = self:decoders(l, lpath, label, ctx)
      labels[#labels + 1] = label
    end
  end
  return labels
end

local COUNTER_KEYS = {
  name = true, help = true, labels = true, perf_event_array = true, flush_interval = true,
}
local HISTOGRAM_KEYS = {
  name = true, help = true, labels = true, bucket_type = true, bucket_multiplier = true,
  bucket_min = true, bucket_max = true, bucket_keys = true,
}

function Checker:metric_common(node, path, kind, allowed, ctx)
  self:known_keys(node, path, allowed)
  local m = { kind = kind, path = path }
  m.name = self:required_string(node, "name", path)
  if m.name and not m.name:match(exposition.METRIC_NAME) then
    self:fail(path .. ".name", "%q is not a valid Prometheus metric name", m.name)
  end
  m.help = self:required_string(node, "help", path)
  local reserved = kind == "histogram" and { le = true } or {}
  m.labels = self:labels(node, path, ctx, reserved)
  return m
end

function Checker:counter(node, path, ctx)
  local m = self:metric_common(node, path, "counter", COUNTER_KEYS, ctx)
  m.perf_event_array = self:optional_bool(node, "perf_event_array", path)
  local fi = node.flush_interval
  if fi ~= nil and fi ~= lyaml.null then
    -- Whether the map is an event map is known at bind, from its type.
    m.flush_interval = M.parse_duration(fi)
    if not m.flush_interval or m.flush_interval <= 0 then
      self:fail(path .. ".flush_interval", "%q is not a duration like 10m or 1h30m", tostring(fi))
    end
  end
  return m
end

function Checker:histogram(node, path, ctx)
  local m = self:metric_common(node, path, "histogram", HISTOGRAM_KEYS, ctx)
  local bt = node.bucket_type
  if bt == nil or bt == lyaml.null then
    self:fail(path .. ".bucket_type", "missing: one of exp2, exp2zero, linear, fixed")
  elseif not BUCKET_TYPES[bt] then
    self:fail(path .. ".bucket_type", "%q is not one of exp2, exp2zero, linear, fixed", tostring(bt))
    bt = nil
  end
  m.bucket_type = bt
  local mult = node.bucket_multiplier
  if mult == nil or mult == lyaml.null or mult == 0 then
    m.bucket_multiplier = 1
  elseif type(mult) ~= "number" or mult < 0 or mult ~= mult or mult == math.huge then
    self:fail(path .. ".bucket_multiplier", "must be a positive number")
  else
    m.bucket_multiplier = mult
  end
  if #m.labels == 0 then
    self:fail(path .. ".labels", "a histogram needs a label for the bucket (its last label)")
  end
  if bt == "fixed" then
    for _, k in ipairs({ "bucket_min", "bucket_max" }) do
      if node[k] ~= nil then
        self:fail(path .. "." .. k, "does not apply to fixed buckets (use bucket_keys)")
      end
    end
    local keys = node.bucket_keys
    if keys == nil or keys == lyaml.null then
      self:fail(path .. ".bucket_keys", "missing: fixed buckets need a list of bucket keys")
    elseif not is_sequence(keys) or #keys == 0 then
      self:fail(path .. ".bucket_keys", "must be a non-empty list of integers")
    else
      local ok = true
      for i, k in ipairs(keys) do
        if not is_integer(k) or k < 0 then
          self:fail(("%s.bucket_keys[%d]"):format(path, i - 1), "must be an integer >= 0")
          ok = false
        elseif i > 1 and is_integer(keys[i - 1]) and k <= keys[i - 1] then
          self:fail(("%s.bucket_keys[%d]"):format(path, i - 1), "must be greater than the key before it")
          ok = false
        end
      end
      if ok then
        m.bucket_keys = keys
      end
    end
  elseif bt then
    if node.bucket_keys ~= nil then
      self:fail(path .. ".bucket_keys", "only applies to fixed buckets")
    end
    for _, k in ipairs({ "bucket_min", "bucket_max" }) do
      if node[k] == nil or node[k] == lyaml.null then
        self:fail(path .. "." .. k, "missing")
      else
        m[k] = self:optional_integer(node, k, path, 0)
      end
    end
    -- ebpf_exporter refuses bucket_min == bucket_max; one bucket is a valid histogram.
    if m.bucket_min and m.bucket_max and m.bucket_min > m.bucket_max then
      self:fail(path .. ".bucket_max", "must be >= bucket_min (%d)", m.bucket_min)
    end
  end
  return m
end

local CGROUP_ID_MAP_KEYS = { name = true, type = true, regexps = true }
local CGROUP_ID_MAP_TYPES = { hash = true, cgrp_storage = true }

-- cgroup_id_map: a map the exporter keeps filled with the cgroups whose paths
-- match one of the regexps (as the regexp decoder matches them).
function Checker:cgroup_id_map(node, ctx)
  local path = "cgroup_id_map"
  if not is_mapping(node) then
    self:fail(path, "must be a mapping with name, type and regexps")
    return nil
  end
  self:known_keys(node, path, CGROUP_ID_MAP_KEYS)
  local m = { name = self:required_string(node, "name", path), type = node.type or "hash" }
  if not CGROUP_ID_MAP_TYPES[m.type] then
    self:fail(path .. ".type", "%q is not one of hash, cgrp_storage", tostring(m.type))
  end
  if node.regexps == nil or node.regexps == lyaml.null then
    self:fail(path .. ".regexps", "missing: a list of patterns for the cgroup paths to keep in the map")
  elseif ctx.registry then
    local match, err = ctx.registry:new({ name = "regexp", regexps = node.regexps },
      { label = "cgroup_id_map", config = ctx.config, path = path .. ".regexps" })
    if not match then
      self:fail(path .. ".regexps", "%s", err)
    end
    m.match = match
  end
  return m
end

local TOP_KEYS = { metrics = true, kaddrs = true, tracing = true, cgroup_id_map = true }
local METRICS_KEYS = { counters = true, histograms = true }

function Checker:config(doc, ctx)
  local cfg = { name = ctx.config, file = self.file, metrics = {}, kaddrs = {} }
  if doc == nil or doc == lyaml.null then
    return cfg
  end
  if not is_mapping(doc) then
    self:fail("", "the top level must be a mapping (metrics:, kaddrs:, ...)")
    return cfg
  end
  self:known_keys(doc, "", TOP_KEYS)
  if doc.tracing ~= nil then
    self:fail("tracing", "OpenTelemetry spans are not supported by ebpf-lua-exporter")
  end
  if doc.cgroup_id_map ~= nil and doc.cgroup_id_map ~= lyaml.null then
    cfg.cgroup_id_map = self:cgroup_id_map(doc.cgroup_id_map, ctx)
  end
  local metrics = doc.metrics
  if metrics ~= nil and metrics ~= lyaml.null then
    if not is_mapping(metrics) then
      self:fail("metrics", "must be a mapping with counters and histograms")
    else
      self:known_keys(metrics, "metrics", METRICS_KEYS)
      for _, kind in ipairs({ "counters", "histograms" }) do
        local list = metrics[kind]
        if list ~= nil and list ~= lyaml.null then
          if not is_sequence(list) then
            self:fail("metrics." .. kind, "must be a list")
          else
            for i, node in ipairs(list) do
              local path = ("metrics.%s[%d]"):format(kind, i - 1)
              if not is_mapping(node) then
                self:fail(path, "must be a mapping")
              elseif kind == "counters" then
                cfg.metrics[#cfg.metrics + 1] = self:counter(node, path, ctx)
              else
                cfg.metrics[#cfg.metrics + 1] = self:histogram(node, path, ctx)
              end
            end
          end
        end
      end
    end
  end
  local seen = {}
  for _, m in ipairs(cfg.metrics) do
    if m.name then
      if seen[m.name] then
        self:fail(m.path .. ".name", "duplicate metric %q (also at %s)", m.name, seen[m.name])
      end
      seen[m.name] = seen[m.name] or m.path
    end
  end
  local kaddrs = doc.kaddrs
  if kaddrs ~= nil and kaddrs ~= lyaml.null then
    if not is_sequence(kaddrs) then
      self:fail("kaddrs", "must be a list of kernel symbol names")
    else
      for i, sym in ipairs(kaddrs) do
        if type(sym) ~= "string" or not sym:match("^[%w_.]+$") then
          self:fail(("kaddrs[%d]"):format(i - 1), "%q is not a kernel symbol name", tostring(sym))
        else
          cfg.kaddrs[#cfg.kaddrs + 1] = sym
        end
      end
    end
  end
  return cfg
end

--- Parses YAML text. `ctx` = { config = <name>, registry = <decoder registry> }.
-- Returns the config, or nil and the list of error lines.
function M.parse(text, file, ctx)
  local checker = new_checker(file)
  local ok, doc = pcall(lyaml.load, text)
  if not ok then
    checker:fail("", "not valid YAML: %s", tostring(doc):gsub("^.-:%d+: ", ""))
    return nil, checker.errors
  end
  local cfg = checker:config(doc, ctx)
  if #checker.errors > 0 then
    return nil, checker.errors
  end
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
