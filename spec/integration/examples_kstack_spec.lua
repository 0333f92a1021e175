-- The signal-stacks example on this kernel: it passes --config.check
-- --config.strict, and a process sending itself N ignored signals shows as
-- exactly N counts under kernel stacks named from kallsyms by kstack.
local helper = require("helpers.exporter")

local N = 25
local SIGWINCH = 28 -- ignored by default: the signals do nothing but count
local SIGCHLD = 17

-- Renames itself (comm) so that its series are its own, then sends itself
-- SIGWINCH N times with kill(2).
local SENDER = [[
import os, signal, sys
with open("/proc/self/comm", "w") as f:
    f.write(sys.argv[1])
for _ in range(int(sys.argv[2])):
    os.kill(os.getpid(), signal.SIGWINCH)
]]

-- Every symbol name in /proc/kallsyms, module ones with their "\t[module]".
local function kallsyms_names()
  local names = {}
  for line in io.lines("/proc/kallsyms") do
    local name = line:match("^%x+ %S (.+)$")
    if name then names[name] = true end
  end
  return names
end

-- The stacks of one comm and signal: { {frames}, count } per series.
local function stacks(samples, comm, sig)
  local out = {}
  local prefix = ('ebpf_exporter_signal_stacks_total{comm="%s",kstack="'):format(comm)
  local suffix = ('",sig="%d"}'):format(sig)
  for series, value in pairs(samples) do
    if series:sub(1, #prefix) == prefix and series:sub(-#suffix) == suffix then
      local text = series:sub(#prefix + 1, -#suffix - 1)
      local frames = {}
      -- The exposition escapes each newline of the label value as \n; names
      -- hold neither backslashes nor quotes.
      for frame in (text .. "\\n"):gmatch("(.-)\\n") do frames[#frames + 1] = frame end
      out[#out + 1] = { frames = frames, count = value }
    end
  end
  return out
end

local function has(frames, name)
  for _, f in ipairs(frames) do
    if f == name then return true end
  end
  return false
end

describe("signal-stacks example", function()
  describe("running", function()
    local e, sender
    setup(function()
      e = helper.start({ dir = helper.examples_dir, names = "signal-stacks" })
      sender = os.tmpname()
      local f = assert(io.open(sender, "w"))
      f:write(SENDER)
      f:close()
    end)
    teardown(function()
      os.remove(sender)
      assert.equal(0, (e:stop()))
    end)

    it("counts N kill(2) signals under stacks of real symbols through the tracepoint's caller", function()
      -- A name no other process has: the shell's pid is unique while it
      -- runs, and comm holds at most 15 characters (pid_max is 2^22).
      local comm = ("elxks%d"):format(tonumber((helper.sh("echo $$"))))
      local out, code = helper.sh(("python3 %s %s %d"):format(sender, comm, N))
      assert.equal(0, code, out)
      local samples = e:samples()
      local names = kallsyms_names()

      local kills = stacks(samples, comm, SIGWINCH)
      assert.is_true(#kills >= 1)
      local total, through_caller = 0, 0
      for _, s in ipairs(kills) do
        total = total + s.count
        for i, frame in ipairs(s.frames) do
          assert.is_true(names[frame] == true, ("frame %d %q of %s"):format(i, frame, table.concat(s.frames, " < ")))
        end
        -- signal_generate fires in __send_signal_locked, reached from kill(2).
        if has(s.frames, "__send_signal_locked") and has(s.frames, "__x64_sys_kill") then
          through_caller = through_caller + s.count
        end
      end
      assert.equal(N, total)
      assert.equal(N, through_caller)

      -- Its exit raised SIGCHLD for its parent, once, from do_exit.
      local exits = stacks(samples, comm, SIGCHLD)
      assert.equal(1, #exits)
      assert.equal(1, exits[1].count)
      assert.is_true(has(exits[1].frames, "do_exit"), table.concat(exits[1].frames, " < "))
      assert.equal(0, helper.decoder_errors(samples, "signal-stacks"))
    end)
  end)
end)
