-- Users' decoders against the real exporter (issue 9.3, 9.4, 9.7 and "least
-- privilege"): whatever a decoder does, it costs its rows or its config's
-- series at one scrape, never the process, the other configs, the landing
-- page, reloads or SIGTERM.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local write = files.write

-- A config dir (helper.decoded_hits_dir) whose decoder after uint is
-- `decoder`, written from `source` into <dir>/decoders.
local function config_dir(name, decoder, source)
  local dir = helper.decoded_hits_dir(name, { decoder })
  write(("%s/decoders/%s.lua"):format(dir, decoder), source)
  return dir
end

-- The log lines after the timestamp, and how often `line` is among them.
local function count_lines(log, line)
  local n = 0
  for l in log:gmatch("[^\n]+") do
    if l:gsub("^%S+ ", "", 1) == line then
      n = n + 1
    end
  end
  return n
end

local function elapsed(fn)
  local t0 = tonumber((helper.sh("date +%s.%N")))
  local a, b, c = fn()
  return tonumber((helper.sh("date +%s.%N"))) - t0, a, b, c
end

describe("a users' decoder that tries to end the process", function()
  -- Before: os.exit(3) ended the exporter at the first scrape (exit 3), and
  -- os.execute or the FFI could kill it just as well.
  local EVIL = [[
return { new = function() return function(s)
  if s == "1" then os.exit(3) end
  if s == "2" then os.execute("kill -KILL $PPID") end
  if s == "3" then
    local ffi = require("ffi")
    ffi.cdef("int raise(int sig);")
    ffi.C.raise(11)
  end
  return s
end end }
]]

  it("is refused what it would need, and costs only its rows", function()
    local dir = config_dir("evil", "evil", EVIL)
    local e = helper.start({ dir = dir, names = "evil" })
    e:target("values 1 2 3 4 4")
    local s = e:samples()
    local code, log = e:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
    assert.equal(2, s['ebpf_exporter_test_hits_by_value_total{value="4"}'])
    assert.equal(3, s['ebpf_exporter_decoder_errors_total{config="evil",decoder="evil"}'])
    assert.equal(0, s['ebpf_exporter_decoder_errors_total{config="evil",decoder="uint"}'])
    local prefix = 'warn: config evil, metric test_hits_by_value_total, label value: decoder "evil" raised: '
      .. dir .. "/decoders/evil.lua:"
    for _, line in ipairs({
      "2: os.exit is not available to decoders (--decoders.unrestricted allows it)",
      "3: os.execute is not available to decoders (--decoders.unrestricted allows it)",
      '5: require("ffi"): decoders may require exporter.decoder_api, string, table, math, bit, coroutine and os '
        .. "(--decoders.unrestricted allows it)",
    }) do
      assert.equal(1, count_lines(log, prefix .. line), prefix .. line .. "\n---\n" .. log)
    end
  end)

  it("at load, fails the start with the decoder named", function()
    local dir = config_dir("evil", "evil", "os.exit(0)\n")
    local out, code = helper.run("--log.no-timestamps --config.check --config.dir=" .. dir .. " --config.names=evil")
    os.execute("rm -rf " .. dir)
    assert.equal(1, code)
    assert.equal(('error: decoder "evil" (%s/decoders/evil.lua): error while loading: line 1: os.exit is not '
      .. "available to decoders (--decoders.unrestricted allows it)\n"):format(dir), out)
  end)

  it("has all of LuaJIT with --decoders.unrestricted", function()
    local dir = config_dir("free", "free", [[
local ffi = require("ffi")
ffi.cdef("int getpid(void);")
return { new = function() return function(s)
  local f = assert(io.open("/proc/self/stat"))
  local pid = tonumber(f:read("*l"):match("^%d+"))
  f:close()
  return s .. (pid == ffi.C.getpid() and "-same" or "-other")
end end }
]])
    local e = helper.start({ dir = dir, names = "free", args = "--decoders.unrestricted" })
    e:target("values 5")
    local s = e:samples()
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
    assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="5-same"}'])
  end)
end)

describe("a users' decoder that never returns", function()
  -- Before: the scrape never answered, nor did / or SIGTERM (only kill -9);
  -- a `new` that looped hung a reload and --config.check.
  local SPIN = [[
return { new = function() return function(s)
  if s == "13" then while true do end end
  return s
end end }
]]
  -- Each ends at the budget its own way. Each is a config of its own (its own
  -- copy of the object, its own map of every bucket of the values), so one
  -- scrape meets them all.
  local SPINNERS = {
    spin_loop = { metric = "test_value_exp2", loop = "while true do end" },
    -- A numeric loop the JIT would compile into a trace, where no hook fires.
    spin_jit = { metric = "test_value_exp2zero", loop = "local x = 0 for i = 1, 1e15 do x = x + i end s = x" },
    -- A loop that catches the error the budget raises, and tries again.
    spin_pcall = { metric = "test_value_linear", loop = "while true do pcall(function() while true do end end) end" },
  }

  local function spinner(dir, name, spin)
    files.run(("cp %s/uprobe_test.bpf.o %s/%s.bpf.o"):format(helper.spec_dir, dir, name))
    write(("%s/%s.yaml"):format(dir, name), ([[
metrics:
  histograms:
    - name: %s
      help: Values passed to elx_test_hit
      bucket_type: exp2
      bucket_min: 0
      bucket_max: 10
      labels:
        - name: bucket
          size: 8
          decoders:
            - name: uint
            - name: %s
]]):format(spin.metric, name))
    write(("%s/decoders/%s.lua"):format(dir, name), ([[
return { new = function() return function(s)
  %s
  return s
end end }
]]):format(spin.loop))
  end

  it("loses its config's series at that scrape, after the budget, and nothing else", function()
    local dir = config_dir("calm", "plain", "return { new = function() return function(s) return s end end }\n")
    for name, spin in pairs(SPINNERS) do
      spinner(dir, name, spin)
    end
    local e = helper.start({ dir = dir, names = "calm,spin_loop,spin_jit,spin_pcall", args = "--decoders.time-limit=700ms" })
    e:target("values 1 1 2 13")
    for scrape = 1, 2 do
      local took, s = elapsed(function() return e:samples() end)
      assert.is_true(took > 3 * 0.7 and took < 6, "the scrape took " .. took .. " s")
      assert.equal(2, s['ebpf_exporter_test_hits_by_value_total{value="1"}']) -- calm's, whole
      assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="13"}'])
      for name, spin in pairs(SPINNERS) do
        assert.is_nil(s[("ebpf_exporter_%s_count"):format(spin.metric)])
        assert.equal(scrape, s[('ebpf_exporter_decoder_errors_total{config="%s",decoder="%s"}'):format(name, name)])
        assert.equal(0, s[('ebpf_exporter_decoder_errors_total{config="%s",decoder="uint"}'):format(name)])
      end
    end
    local code, log = e:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
    for name in pairs(SPINNERS) do
      local line = ('error: config %s: decoder "%s" (%s/decoders/%s.lua) ran past its time budget '
        .. "(--decoders.time-limit=0.7s): its series are left out of this scrape"):format(name, name, dir, name)
      assert.equal(2, count_lines(log, line), line .. "\n---\n" .. log)
    end
  end)

  it("leaves the landing page, SIGTERM and other scrapes working while it runs", function()
    local dir = config_dir("spin", "spin", SPIN)
    local e = helper.start({ dir = dir, names = "spin", args = "--decoders.time-limit=2s" })
    e:target("values 13")
    local background = "curl -s -o /dev/null %s/metrics </dev/null >/dev/null 2>&1 & sleep 0.3"
    helper.sh(background:format(e.url))
    local took, _, status = elapsed(function() return e:get("/") end)
    assert.equal(200, status)
    assert.is_true(took < 4, "the landing page took " .. took .. " s")
    helper.sh(background:format(e.url))
    local code
    took, code = elapsed(function() return e:stop() end)
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
    assert.is_true(took < 4, "SIGTERM took " .. took .. " s")
  end)

  it("in new fails a reload, which a fixed decoder then passes, and fails --config.check", function()
    local dir = config_dir("spin", "spin", "return { new = function() return function(s) return s end end }\n")
    local e = helper.start({ dir = dir, names = "spin", args = "--web.enable-lifecycle --decoders.time-limit=500ms" })
    e:target("values 8 8")
    write(dir .. "/decoders/spin.lua", "return { new = function() while true do end end }\n")
    local took, body, status = elapsed(function() return e:get("/-/reload", "-X POST") end)
    assert.equal(500, status)
    assert.is_true(took < 3, "the reload took " .. took .. " s")
    local failure = ('spin.yaml: metrics.counters[0].labels[0].decoders[1]: decoder "spin" (%s/decoders/spin.lua): '
      .. "new failed: ran past its time budget (--decoders.time-limit=0.5s)"):format(dir)
    assert.is_truthy(body:find(failure, 1, true), body)
    local s = e:samples()
    assert.equal(2, s['ebpf_exporter_test_hits_by_value_total{value="8"}']) -- the old configuration runs on
    assert.equal(1, s['ebpf_exporter_config_reloads_total{result="failure"}'])
    local out, code = helper.run("--log.no-timestamps --config.check --decoders.time-limit=500ms --config.dir=" .. dir
      .. " --config.names=spin")
    assert.equal(1, code)
    assert.equal("error: " .. failure .. "\n", out)
    write(dir .. "/decoders/spin.lua", 'return { new = function() return function(s) return "v" .. s end end }\n')
    local _, fixed = e:get("/-/reload", "-X POST")
    assert.equal(200, fixed)
    e:target("values 8")
    s = e:samples()
    assert.equal(3, s['ebpf_exporter_test_hits_by_value_total{value="v8"}'])
    assert.equal(1, s['ebpf_exporter_config_reloads_total{result="success"}'])
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
  end)

  it("while its file loads fails the start, naming it", function()
    local dir = config_dir("spin", "spin", "while true do end\n")
    local took, out, code = elapsed(function()
      return helper.run("--log.no-timestamps --config.check --decoders.time-limit=300ms --config.dir=" .. dir
        .. " --config.names=spin")
    end)
    os.execute("rm -rf " .. dir)
    assert.equal(1, code)
    assert.is_true(took < 3, "the check took " .. took .. " s")
    assert.equal(('error: decoder "spin" (%s/decoders/spin.lua): error while loading: ran past its time budget '
      .. "(--decoders.time-limit=0.3s)\n"):format(dir), out)
  end)
end)

describe("a users' decoder that eats memory", function()
  -- Before: a decoder allocating in a loop reached 6 GB in 28 s, and one
  -- returning 64 MiB label values took RSS to 3 GB and a 27.6 s scrape.
  it("stops at the heap ceiling and at the longest label value, naming the decoder", function()
    local dir = config_dir("hog", "hog", [[
return { new = function() return function(s)
  if s == "21" then local t = {} while true do t[#t + 1] = ("x"):rep(4096) .. #t end end
  if s == "22" then return ("y"):rep(64 * 2 ^ 20) end
  if s == "23" then return ("z"):rep(2 ^ 30) end
  return s
end end }
]])
    -- A time limit far off: on a loaded machine the 1 GiB value may take past
    -- the default 1 s, and the time guard would stop the config first.
    local e = helper.start({ dir = dir, names = "hog", args = "--decoders.memory-limit=256 --decoders.time-limit=60s" })
    e:target("values 20 21 22 23")
    local took, first = elapsed(function() return e:samples() end)
    assert.is_true(took < 5, "the scrape took " .. took .. " s")
    assert.equal(3, first['ebpf_exporter_decoder_errors_total{config="hog",decoder="hog"}'])
    local s = e:samples()
    local code, log = e:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
    assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="20"}'])
    assert.equal(6, s['ebpf_exporter_decoder_errors_total{config="hog",decoder="hog"}']) -- 3 keys, 2 scrapes
    -- The ceiling and what LuaJIT keeps of the heap it had.
    assert.is_true(s.process_resident_memory_bytes < 400 * 2 ^ 20, "RSS " .. s.process_resident_memory_bytes)
    local prefix = 'warn: config hog, metric test_hits_by_value_total, label value: decoder "hog" '
    for _, line in ipairs({
      "ran out of memory: the Lua heap would have passed --decoders.memory-limit=256 (MiB)",
      "returned a value of 67108864 bytes; label values may have at most 16384",
    }) do
      assert.equal(1, count_lines(log, prefix .. line), prefix .. line .. "\n---\n" .. log)
    end
  end)
end)

describe("decoder files other users could change", function()
  local function check(dir)
    return helper.run("--log.no-timestamps --config.check --config.dir=" .. dir .. " --config.names=mine")
  end
  local RULE = "decoder files and the directories above them may be writable only by root or the exporter's own "
    .. "user, as sshd requires of its key files"

  it("are refused, naming the file, its mode or its owner", function()
    local dir = config_dir("mine", "mine", "return { new = function() return function(s) return s end end }\n")
    local file = dir .. "/decoders/mine.lua"
    local cases = {
      { "chmod 666 " .. file, ('error: decoder "mine" (%s): refused: %s is writable by every user (mode 0666); %s\n')
        :format(file, file, RULE) },
      { "chmod 664 " .. file, ('error: decoder "mine" (%s): refused: %s is writable by its group (mode 0664); %s\n')
        :format(file, file, RULE) },
      { "chown 4321 " .. file, ('error: decoder "mine" (%s): refused: %s is owned by uid 4321; %s\n')
        :format(file, file, RULE) },
      { "chmod 777 " .. dir .. "/decoders", ("error: decoder directory %s/decoders: refused: %s/decoders is writable "
        .. "by every user (mode 0777); %s\n"):format(dir, dir, RULE) },
      { "chmod 1777 " .. dir .. "/decoders", ("error: decoder directory %s/decoders: refused: %s/decoders is "
        .. "writable by every user (mode 1777); %s\n"):format(dir, dir, RULE) },
      { "chmod 770 " .. dir, ("error: decoder directory %s/decoders: refused: %s is writable by its group "
        .. "(mode 0770); %s\n"):format(dir, dir, RULE) },
    }
    for _, case in ipairs(cases) do
      files.run(case[1])
      local out, code = check(dir)
      files.run(("chmod 644 %s && chown 0 %s && chmod 755 %s/decoders %s"):format(file, file, dir, dir))
      assert.equal(1, code, case[1])
      assert.equal(case[2], out, case[1])
    end
    -- /tmp above it is writable by all but root's and sticky: nobody else can replace what is ours in it.
    local out, code = check(dir)
    os.execute("rm -rf " .. dir)
    assert.equal(0, code, out)
  end)
end)
