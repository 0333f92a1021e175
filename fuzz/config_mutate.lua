-- The config mutation run: a real exporter serving uprobe_test.bpf.o
-- reloads YAMLs made from the seeds of fuzz/corpus/config by 1 to 3
-- mutations each (bytes flipped, lines dropped, doubled, swapped or cut,
-- values and lines from a dictionary of what configs hold and what breaks
-- parsers), and must answer every reload (200, or 500 with the running
-- configuration kept) and every scrape. The YAML changes alone, so every
-- reload keeps the object loaded and takes milliseconds.
--   luajit fuzz/config_mutate.lua <build dir> <runs> [seconds] [seed]
package.path = "spec/?.lua;./?.lua;" .. package.path
local helper = require("helpers.exporter")
local files = require("helpers.files")
local drive = require("fuzz.drive")

local M = {}

local VALUES = { "0", "1", "-1", "2", "3", "4", "7", "8", "9", "16", "255", "65536", "4294967296",
  "18446744073709551615", "18446744073709551616", "1e309", "-1e309", ".nan", ".inf", "0.5", "1e-300",
  "null", "~", "true", "false", "yes", '""', '"4"', "'8'", "[]", "{}", "[1, 2, 1]", "[3, 2, 1]",
  "{a: b}", "exp2", "exp2zero", "linear", "fixed", "uint", "hex", "string", "ksym", "kstack", "errno",
  "syscall", "cgroup", "inet_ip", "static_map", "regexp", "majorminor", "dname", "pci_vendor",
  "'(('", "'[a-'", "'(?P<x>a)'", "test_hits_total", "test_value_exp2", "test_value_linear",
  "&anchor x", "*anchor", "!!binary AAAA", "!!str 1", "\"\\xff\\xfe\"", "|\n  block", ">-\n  folded",
  string.rep("x", 5000), "\"" .. string.rep("\\u00e9", 300) .. "\"" }

local LINES = { "  - name: extra", "      padding: 3", "      size: 0", "    bucket_keys: [1, 1]",
  "    flush_interval: 1h", "    flush_interval: -5s", "    perf_event_array: true", "kaddrs: [schedule]",
  "kaddrs: [no_such_symbol_at_all]", "cgroup_id_map: {name: test_hits_total, type: hash, regexps: [.]}",
  "tracing: {spans: [{name: x, ringbuf: test_hits_total}]}", "metrics:", "  counters:", "  histograms:",
  "        - name: static_map", "          static_map: {1: a, 1: b}", "        - name: regexp",
  "          regexps: ['(']", "---", "...", "%YAML 1.1", "unknown_key: 1", "    unknown_metric_key: 1",
  "\t- tab", "- [ [ [ [ [ [ [ [ [ [ ] ] ] ] ] ] ] ] ] ]" }

local function lines_of(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  return lines
end

local MUTATIONS = {
  function(t) -- a byte flipped
    local at = math.random(#t)
    return t:sub(1, at - 1) .. string.char(bit.bxor(t:byte(at), math.random(255))) .. t:sub(at + 1)
  end,
  function(t) -- cut short
    return t:sub(1, math.random(#t))
  end,
  function(t) -- a line dropped, doubled, or two swapped
    local lines = lines_of(t)
    local i, j = math.random(#lines), math.random(#lines)
    local kind = math.random(3)
    if kind == 1 then
      table.remove(lines, i)
    elseif kind == 2 then
      table.insert(lines, i, lines[i])
    else
      lines[i], lines[j] = lines[j], lines[i]
    end
    return table.concat(lines, "\n")
  end,
  function(t) -- a value replaced
    local lines = lines_of(t)
    local i = math.random(#lines)
    local key = lines[i]:match("^(%s*-?%s*[%w_]+:)")
    if key then
      lines[i] = key .. " " .. VALUES[math.random(#VALUES)]
    end
    return table.concat(lines, "\n")
  end,
  function(t) -- a line from the dictionary
    local lines = lines_of(t)
    table.insert(lines, math.random(#lines + 1), LINES[math.random(#LINES)])
    return table.concat(lines, "\n")
  end,
}

--- `text` after 1 to 3 mutations; `lines` and `values`, when given, take the
-- place of the dictionary's (the web config mutation run has its own).
function M.mutate(text, lines, values)
  local saved_lines, saved_values = LINES, VALUES
  LINES, VALUES = lines or LINES, values or VALUES
  for _ = 1, math.random(3) do
    if #text > 0 then
      text = MUTATIONS[math.random(#MUTATIONS)](text)
    end
  end
  LINES, VALUES = saved_lines, saved_values
  return text
end

--- Reloads `runs` mutated configs at most, for `seconds` at most (0: no
-- limit), from `seed`. Returns the counts of outcomes, or raises an error
-- naming what went wrong (the YAML is kept).
function M.run(runs, seconds, seed)
  local seeds = {}
  for name in helper.sh("ls fuzz/corpus/config"):gmatch("[^\n]+") do
    seeds[#seeds + 1] = files.read("fuzz/corpus/config/" .. name)
  end
  local dir = helper.config_dir("uprobe_test", "fuzz", files.read(helper.spec_dir .. "/uprobe_test.yaml"))
  local e = helper.start({ dir = dir, names = "fuzz", args = "--web.enable-lifecycle" })
  local outcomes = { runs = 0, reloaded = 0, refused = 0 }
  local opts, started = { runs = runs, seconds = seconds }, os.time()
  math.randomseed(seed)
  drive.guard(e, function()
    local ids = helper.program_ids(e:scrape())
    while drive.more(opts, outcomes.runs, started) do
      local yaml = M.mutate(seeds[math.random(#seeds)])
      files.write(dir .. "/fuzz.yaml", yaml)
      local ok, status, _, now = pcall(drive.reload_and_scrape, e, ids)
      if not ok then
        drive.fail("fuzz.yaml", yaml, status)
      end
      outcomes.runs = outcomes.runs + 1
      if status == 200 then
        outcomes.reloaded = outcomes.reloaded + 1
        ids = now
      else
        outcomes.refused = outcomes.refused + 1
      end
    end
  end)
  local rc, log = e:stop()
  if rc ~= 0 then
    error(("the exporter exited %d after %d configs:\n%s"):format(rc, outcomes.runs, log), 0)
  end
  os.execute("rm -rf " .. dir)
  return outcomes
end

-- Run as a script (not required, as web_config_mutate.lua does).
if arg and arg[0] and arg[0]:match("[^/]+$") == "config_mutate.lua" then
  local opts = drive.options(arg, "luajit fuzz/config_mutate.lua")
  local o = M.run(opts.runs, opts.seconds, opts.seed)
  print(("config_mutate: %5d configs (seed %d): %d reloaded, %d refused"):format(
    o.runs, opts.seed, o.reloaded, o.refused))
end

return M
