-- The .bpf.o byte-flip run: a real exporter reloads copies of a real object
-- with 1 to 4 bytes changed. libbpf 1.1 crashes on some of them; the
-- exporter checks objects in a child process first, and must answer every
-- reload and scrape and keep its running configuration on every failure.
-- spec/integration/hardening_spec.lua runs 500 flips with one seed; `make
-- fuzz` runs it with the objects of fuzz/corpus/bpf/objects:
--   luajit fuzz/bpf_flip.lua <build dir> <runs> [seconds] [seed]
package.path = "spec/?.lua;./?.lua;" .. package.path
local helper = require("helpers.exporter")
local files = require("helpers.files")
local drive = require("fuzz.drive")

local M = {}

--- `bytes` with 1 to 4 of them changed, by LuaJIT's seeded generator.
function M.flipped(bytes)
  local out = bytes
  for _ = 1, math.random(4) do
    local at = math.random(#out)
    out = out:sub(1, at - 1) .. string.char(bit.bxor(out:byte(at), math.random(255))) .. out:sub(at + 1)
  end
  return out
end

--- Flips `object` (a built spec object, served with its own YAML) `runs`
-- times at most, for `seconds` at most (0: no limit), from `seed`. Returns
-- the counts of outcomes and the first object that crashed libbpf, or
-- raises an error naming what went wrong (the object is kept).
function M.run(object, runs, seconds, seed)
  local dir = helper.config_dir(object, "flip", files.read(helper.spec_dir .. "/" .. object .. ".yaml"))
  local original = files.read(helper.spec_dir .. "/" .. object .. ".bpf.o")
  local e = helper.start({ dir = dir, names = "flip", args = "--web.enable-lifecycle" })
  local outcomes, crashing = { runs = 0, reloaded = 0, refused = 0, crashed = 0 }, nil
  local opts, started = { runs = runs, seconds = seconds }, os.time()
  math.randomseed(seed)
  drive.guard(e, function()
    local ids = helper.program_ids(e:scrape())
    while drive.more(opts, outcomes.runs, started) do
      local bytes = M.flipped(original)
      files.write(dir .. "/flip.bpf.o", bytes)
      local ok, status, body, now = pcall(drive.reload_and_scrape, e, ids)
      if not ok then
        drive.fail(object .. ".bpf.o", bytes, status)
      end
      outcomes.runs = outcomes.runs + 1
      if status == 200 then
        outcomes.reloaded = outcomes.reloaded + 1
        ids = now
      elseif body:find("libbpf crashed", 1, true) then
        outcomes.refused = outcomes.refused + 1
        outcomes.crashed = outcomes.crashed + 1
        crashing = crashing or bytes
      else
        outcomes.refused = outcomes.refused + 1
      end
    end
  end)
  local rc, log = e:stop()
  if rc ~= 0 then
    error(("the exporter exited %d after %d flips of %s:\n%s"):format(rc, outcomes.runs, object, log), 0)
  end
  os.execute("rm -rf " .. dir)
  return outcomes, crashing
end

if arg and arg[0] and arg[0]:match("bpf_flip%.lua$") then
  local opts = drive.options(arg, "luajit fuzz/bpf_flip.lua")
  local objects = {}
  for line in files.read("fuzz/corpus/bpf/objects"):gmatch("[^\n]+") do
    if not line:match("^#") then
      objects[#objects + 1] = line
    end
  end
  for i, object in ipairs(objects) do
    local runs = opts.runs > 0 and math.ceil(opts.runs / #objects) or 0
    local seconds = opts.seconds > 0 and math.ceil(opts.seconds / #objects) or 0
    local o = M.run(object, runs, seconds, opts.seed + i)
    print(("bpf_flip: %-16s %5d flips (seed %d): %d reloaded, %d refused, %d crashed libbpf in a child")
      :format(object, o.runs, opts.seed + i, o.reloaded, o.refused, o.crashed))
  end
end

return M
