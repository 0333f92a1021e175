-- The `targets:` section of a config: which uprobe, uretprobe and USDT
-- programs attach per process rather than to every process running their
-- binary, and which processes they attach to. Checked with the rest of the
-- YAML (check), then against the object's programs and the metrics' key
-- layouts (bind).
--
--   targets:
--     grace_period: 1m         # an exited process's series stay this long
--     pid_label: pid           # the label whose key bytes hold the process id
--     processes:               # entries are ORed
--       - programs: [count_calls]
--         binary: /usr/bin/app # optional; default: the path in SEC()
--         comm: app            # criteria are ANDed; at least one
--         exe: /usr/bin/app*   # exact, or a glob
--         cmdline: --serve     # regexp
--         cgroup: ^/system\.slice/app\.service$
--         parent_comm: systemd
local ffi = require("ffi")
local checker = require("exporter.checker")
local selector = require("exporter.selector")

local M = {}

local present, is_mapping, is_sequence = checker.present, checker.is_mapping, checker.is_sequence

M.DEFAULT_GRACE = 60 -- seconds
M.DEFAULT_PID_LABEL = "pid"

local KEYS = { grace_period = true, pid_label = true, processes = true }
local ENTRY_KEYS = { programs = true, binary = true }
for _, name in ipairs(selector.CRITERIA) do
  ENTRY_KEYS[name] = true
end

-- The kernel keeps 15 bytes of a command (TASK_COMM_LEN 16 with the NUL).
local COMM_MAX = 15

local function check_programs(c, node, path)
  local list = node.programs
  if not present(list) then
    c:fail(path .. ".programs", "missing: the names of the programs to attach (their C function names)")
    return {}
  end
  if not is_sequence(list) or #list == 0 then
    c:fail(path .. ".programs", "must be a non-empty list of program names")
    return {}
  end
  local names = {}
  for i, name in ipairs(list) do
    if type(name) ~= "string" or name == "" then
      c:fail(("%s.programs[%d]"):format(path, i - 1), "must be a program name")
    else
      names[#names + 1] = name
    end
  end
  return names
end

local function check_criteria(c, node, path)
  local criteria, any = {}, false
  for _, name in ipairs(selector.CRITERIA) do
    local v = node[name]
    if present(v) then
      any = true
      if type(v) ~= "string" or v == "" then
        c:fail(path .. "." .. name, "must be a non-empty string")
      elseif (name == "comm" or name == "parent_comm") and #v > COMM_MAX then
        c:fail(path .. "." .. name, "%q can never match: the kernel keeps the first %d bytes of a command "
          .. "(use exe or cmdline for longer names)", v, COMM_MAX)
      else
        criteria[name] = v
      end
    end
  end
  if not any then
    c:fail(path, "needs at least one of comm, parent_comm, exe, cmdline, cgroup: "
      .. "a program for every process is one without targets")
  end
  return criteria
end

local function check_entry(c, node, path, ctx)
  if not is_mapping(node) then
    c:fail(path, "must be a mapping with programs and process criteria")
    return nil
  end
  c:known_keys(node, path, ENTRY_KEYS)
  local entry = { path = path, programs = check_programs(c, node, path) }
  if present(node.binary) then
    if type(node.binary) ~= "string" or node.binary:sub(1, 1) ~= "/" then
      c:fail(path .. ".binary", "must be an absolute path, as the processes see it")
    else
      entry.binary = node.binary
    end
  end
  local criteria = check_criteria(c, node, path)
  if ctx.registry and next(criteria) then
    local match, errors = selector.compile(criteria, ctx.registry,
      { label = "targets", config = ctx.config, path = path })
    for _, name in ipairs(selector.CRITERIA) do
      if errors and errors[name] then
        c:fail(path .. "." .. name, "%s", errors[name])
      end
    end
    entry.match = match
  end
  entry.parent_comm = criteria.parent_comm ~= nil
  return entry
end

--- Checks the `targets:` node. Returns { grace, pid_label, entries }.
function M.check(c, node, ctx)
  if not is_mapping(node) then
    c:fail("targets", "must be a mapping with processes (and grace_period, pid_label)")
    return nil
  end
  c:known_keys(node, "targets", KEYS)
  local t = {
    grace = c:optional_duration(node, "grace_period", "targets") or M.DEFAULT_GRACE,
    pid_label = M.DEFAULT_PID_LABEL,
    entries = {},
  }
  if present(node.pid_label) then
    t.pid_label = c:required_string(node, "pid_label", "targets") or t.pid_label
  end
  if not present(node.processes) then
    c:fail("targets.processes", "missing: a list of programs and the processes they attach to")
  elseif not is_sequence(node.processes) or #node.processes == 0 then
    c:fail("targets.processes", "must be a non-empty list")
  else
    for i, e in ipairs(node.processes) do
      t.entries[#t.entries + 1] = check_entry(c, e, ("targets.processes[%d]"):format(i - 1), ctx)
    end
  end
  return t
end

-- SEC() forms a target may be: kind and what follows "/" ("<binary>:...").
local SECTIONS = { "uprobe", "uretprobe", "uprobe.s", "uretprobe.s", "usdt" }

local function section_binary(section)
  local kind, rest = section:match("^([%w%.]+)/(.*)$")
  for _, k in ipairs(SECTIONS) do
    if kind == k then
      return true, rest:match("^([^:]*):")
    end
  end
  return false
end

-- Each entry's programs against the object's: uprobe, uretprobe or usdt,
-- with a binary to probe. Returns the sorted list of targeted programs.
local function bind_programs(t, programs, fail)
  local sections, targeted, names = {}, {}, {}
  for _, p in ipairs(programs) do
    sections[p.name] = p.section
  end
  for _, entry in ipairs(t.entries) do
    for i, name in ipairs(entry.programs) do
      local path = ("%s.programs[%d]"):format(entry.path, i - 1)
      local section = sections[name]
      local ok, binary = section_binary(section or "")
      if not section then
        fail(path, ("no program %q in the object"):format(name))
      elseif not ok then
        fail(path, ('program %s has SEC("%s"): targets attach uprobe, uretprobe and usdt programs')
          :format(name, section))
      elseif not entry.binary and not (binary and binary:sub(1, 1) == "/") then
        fail(path, ('SEC("%s") names no absolute path: give the entry a binary'):format(section))
      elseif not targeted[name] then
        targeted[name] = true
        names[#names + 1] = name
      end
    end
  end
  table.sort(names)
  return names
end

-- Where each metric's keys hold the pid: its label named pid_label.
local function pid_fields(cfg, plans, fail)
  local t, fields, any = cfg.targets, {}, false
  for i, plan in ipairs(plans) do
    for j, label in ipairs(plan.labels) do
      if label.name == t.pid_label and not plan.event then
        if label.size ~= 4 and label.size ~= 8 then
          fail(("%s.labels[%d].size"):format(cfg.metrics[i].path, j - 1),
            ("the %s label holds a process id: size must be 4 or 8, not %s"):format(t.pid_label, tostring(label.size)))
        else
          fields[i] = { offset = label.offset, size = label.size }
          any = true
        end
      end
    end
  end
  return fields, any
end

--- Binds the checked section to the object's programs ({name, section}) and
-- the metrics' plans. Returns { programs = {names}, grace_ms, pid_fields =
-- {[plan index] = {offset, size}} } and warnings, or nil and error lines.
function M.bind(cfg, programs, plans)
  local t, errors, warnings = cfg.targets, {}, {}
  local function fail(path, msg)
    errors[#errors + 1] = cfg.file .. ": " .. path .. ": " .. msg
  end
  local names = bind_programs(t, programs, fail)
  local fields, any = pid_fields(cfg, plans, fail)
  if #errors > 0 then
    return nil, errors
  end
  if not any and #plans > 0 then
    warnings[1] = ("%s: targets.pid_label: no metric has a label %q: the series of exited processes are never "
      .. "dropped"):format(cfg.file, t.pid_label)
  end
  return { programs = names, grace_ms = math.floor(t.grace * 1000), pid_fields = fields }, warnings
end

--- The object's programs from a struct elx_configure *: {name, section}.
function M.program_infos(call)
  local list = {}
  for i = 0, call.nprograms - 1 do
    local p = call.programs[i]
    list[#list + 1] = { name = ffi.string(p.name), section = ffi.string(p.section) }
  end
  return list
end

--- Puts bind's result into the configure call's out fields and the metric
-- maps' pid fields. Returns what must stay alive until the next call.
function M.answer(call, bound, maps)
  local names = ffi.new("const char *[?]", #bound.programs + 1)
  for i, name in ipairs(bound.programs) do
    names[i - 1] = name
  end
  for i, field in pairs(bound.pid_fields) do
    maps[i - 1].pid_offset, maps[i - 1].pid_size = field.offset, field.size
  end
  call.target_programs, call.ntarget_programs = names, #bound.programs
  call.target_grace_ms = bound.grace_ms
  return { names, bound.programs }
end

return M
