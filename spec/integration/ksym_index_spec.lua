-- The kernel symbol index against the real kernel: read at the first ksym
-- lookup, and kept by the core across reloads, so that a reload's new Lua
-- state does not read /proc/kallsyms again.
local helper = require("helpers.exporter")

-- Bytes the process has read so far, from files and sockets alike.
local function bytes_read(pid)
  return tonumber(helper.read_file("/proc/" .. pid .. "/io"):match("rchar: (%d+)"))
end

-- Counted by wc: reading it line by line here would make garbage enough for
-- a full collection in the middle of the spec.
local function kallsyms_size()
  return tonumber((helper.sh("wc -c < /proc/kallsyms"):match("%d+")))
end

describe("the kernel symbol index", function()
  it("is read once per process: a reload and the scrape after it read no kallsyms", function()
    local e = helper.start({ dir = helper.examples_dir, names = "timers", args = "--web.enable-lifecycle" })
    local stopped = false
    finally(function()
      if not stopped then e:stop() end
    end)
    -- Timers fire all the time; wait for the first ones to be counted.
    local before, text
    for _ = 1, 100 do
      before = bytes_read(e.pid)
      text = e:scrape()
      if text:find("\nebpf_exporter_timer_starts_total{", 1, true) then break end
      helper.sleep(0.05)
    end
    local size = kallsyms_size()
    -- That scrape named the timers' functions, so it read the file: more
    -- than its size went in. The reload and the scrape after it come within
    -- the 5 seconds in which even a miss would not read it again.
    local first = bytes_read(e.pid) - before
    assert.is_true(first >= size, ("the first scrape read %d bytes, kallsyms has %d"):format(first, size))
    before = bytes_read(e.pid)
    local _, code = helper.sh("curl -s -f -X POST -o /dev/null " .. e.url .. "/-/reload")
    assert.equal(0, code)
    text = e:scrape()
    local after = bytes_read(e.pid) - before
    stopped = true
    assert.equal(0, (e:stop()))
    assert.truthy(text:find("\nebpf_exporter_timer_starts_total{", 1, true))
    assert.is_true(after < size / 10, ("the reload and its scrape read %d bytes, kallsyms has %d"):format(after, size))
  end)
end)
