-- The regexp example on this kernel: it passes --config.check
-- --config.strict, and commands run N times count exactly N exits under the
-- label their first matching pattern gives, while commands no pattern
-- matches are not exported at all.
local helper = require("helpers.exporter")

-- A distinct lowercase name per run (a-z only, so that it fits ^[a-z-]+d$),
-- from the spec's shell pid: parallel runs and earlier runs do not mix.
local function letters(n)
  local out = {}
  repeat
    out[#out + 1] = string.char(97 + n % 26)
    n = math.floor(n / 26)
  until n == 0
  return table.concat(out)
end

local function series(command)
  return ('ebpf_exporter_task_exits_total{command="%s"}'):format(command)
end

describe("regexp example", function()
  describe("running", function()
    local e, dir, tag
    setup(function()
      e = helper.start({ dir = helper.examples_dir, names = "regexp" })
      dir = helper.tmpdir()
      tag = letters(tonumber((helper.sh("echo $$"))))
    end)
    teardown(function()
      os.execute("rm -rf " .. dir)
      assert.equal(0, (e:stop()))
    end)

    -- A command named `name` (its comm: exec takes the basename of the path
    -- it runs), which exits at once: one task exit per run.
    local function command(name)
      assert.is_true(#name <= 15, name) -- comm keeps 15 bytes
      local path = dir .. "/" .. name
      local out, code = helper.sh("ln -s /bin/true " .. path)
      assert.equal(0, code, out)
      return path
    end

    local function run(path, n)
      local out, code = helper.sh(("for i in $(seq %d); do %s || exit 1; done"):format(n, path))
      assert.equal(0, code, out)
    end

    it("counts the workers of a pool under the pool's name, the group of ^(.+)-worker-\\d+$", function()
      local pool = tag -- at most 5 letters: "<pool>-worker-27" fits in 15
      local w1, w2 = command(pool .. "-worker-1"), command(pool .. "-worker-27")
      assert.is_nil(e:samples()[series(pool)])
      run(w1, 7)
      run(w2, 5)
      local after = e:samples()
      assert.equal(12, after[series(pool)])
      assert.is_nil(after[series(pool .. "-worker-1")])
      assert.is_nil(after[series(pool .. "-worker-27")])
    end)

    it("counts a daemon under its own name, the whole match of ^[a-z-]+d$", function()
      local name = "elx" .. tag .. "d"
      local daemon = command(name)
      assert.is_nil(e:samples()[series(name)])
      run(daemon, 9)
      assert.equal(9, e:samples()[series(name)])
    end)

    it("does not export commands no pattern matches", function()
      -- Digits keep it from ^[a-z-]+d$, and it has no -worker-<n>.
      local name = "q" .. tag .. "-7d0"
      local path = command(name)
      local marker = command("m" .. tag .. "d") -- proves the scrape saw the same window
      run(path, 6)
      run(marker, 3)
      local text = e:scrape()
      assert.equal(3, helper.samples(text)[series("m" .. tag .. "d")])
      assert.is_nil(text:find("q" .. tag, 1, true), text)
    end)
  end)
end)
