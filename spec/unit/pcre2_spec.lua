-- Specs for lua/exporter/pcre2.lua: the FFI binding to libpcre2-8 (compile,
-- match, spans, options, JIT, errors, freeing).
local pcre2 = require("exporter.pcre2")

local function spans(re, n)
  local out = {}
  for i = 0, n do
    local s, e = re:span(i)
    out[#out + 1] = s and { s, e } or false
  end
  return out
end

-- Resident memory of this process in KiB, from /proc/self/status.
local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+) kB"))
end

describe("pcre2", function()
  it("loads libpcre2-8 10.x", function()
    assert.is_true((pcre2.available()))
    assert.is_truthy(pcre2.version():match("^10%.%d+ %d%d%d%d%-%d%d%-%d%d$"), pcre2.version())
  end)

  it("counts capture groups, named ones included", function()
    assert.equal(0, assert(pcre2.compile("abc")).captures)
    assert.equal(2, assert(pcre2.compile("(a)(?:b)(?P<name>c)")).captures)
  end)

  it("gives PCRE2's message and the offset where compiling stopped", function()
    local re, err, offset = pcre2.compile("(foo")
    assert.is_nil(re)
    assert.equal("missing closing parenthesis", err)
    assert.equal(4, offset)
    re, err, offset = pcre2.compile("ab[c-")
    assert.is_nil(re)
    assert.equal("missing terminating ] for character class", err)
    assert.equal(5, offset)
    re, err, offset = pcre2.compile("*a")
    assert.is_nil(re)
    assert.equal("quantifier does not follow a repeatable item", err)
    assert.equal(0, offset)
  end)

  it("raises on a pattern that is not a string", function()
    assert.has_error(function() pcre2.compile(nil) end, "pcre2.compile: pattern must be a string, not a nil")
  end)

  it("matches and gives 0-based start and exclusive end of each group", function()
    local re = assert(pcre2.compile("(\\d+):(\\d+)"))
    assert.is_true(re:match("cpu 12:345!"))
    assert.same({ { 4, 10 }, { 4, 6 }, { 7, 10 } }, spans(re, 2))
    assert.is_false(re:match("no digits"))
  end)

  it("gives nil for a group that took no part and for a group the pattern lacks", function()
    local re = assert(pcre2.compile("(a)|(b)"))
    assert.is_true(re:match("xb"))
    assert.same({ { 1, 2 }, false, { 1, 2 } }, spans(re, 2))
    assert.is_true(re:match("a"))
    assert.same({ { 0, 1 }, { 0, 1 }, false }, spans(re, 2))
    assert.is_nil(re:span(3))
    assert.is_nil(re:span(-1))
  end)

  it("tells an empty group from one that took no part", function()
    local re = assert(pcre2.compile("^(x*)(y)?abc"))
    assert.is_true(re:match("abc"))
    assert.same({ { 0, 3 }, { 0, 0 }, false }, spans(re, 2))
  end)

  it("starts at a given offset", function()
    local re = assert(pcre2.compile("a"))
    assert.is_true(re:match("a-a", 1))
    assert.same({ 2, 3 }, { re:span(0) })
  end)

  it("passes lengths, so NUL bytes in patterns and subjects count", function()
    local re = assert(pcre2.compile("b\0c"))
    assert.is_true(re:match("ab\0cd"))
    assert.same({ 1, 4 }, { re:span(0) })
    assert.is_false(re:match("abc"))
  end)

  it("reads characters as bytes without UTF and as UTF-8 with it", function()
    assert.is_false(assert(pcre2.compile("^.$")):match("\195\169"))
    assert.is_true(assert(pcre2.compile("^.$", pcre2.UTF)):match("\195\169"))
  end)

  it("refuses invalid UTF-8 in a UTF subject, unless MATCH_INVALID_UTF, where no item matches it", function()
    local ok, err = assert(pcre2.compile("^a.b$", pcre2.UTF)):match("a\255b")
    assert.is_nil(ok)
    assert.equal("UTF-8 error: illegal byte (0xfe or 0xff)", err)
    local re = assert(pcre2.compile("^a.b$", bit.bor(pcre2.UTF, pcre2.MATCH_INVALID_UTF)))
    assert.is_false(re:match("a\255b"))
    assert.is_true(re:match("a\195\169b"))
    -- Matching still works around the invalid byte.
    re = assert(pcre2.compile("b+", bit.bor(pcre2.UTF, pcre2.MATCH_INVALID_UTF)))
    assert.is_true(re:match("a\255bb"))
    assert.same({ 2, 4 }, { re:span(0) })
  end)

  it("lets $ match before a final newline unless DOLLAR_ENDONLY", function()
    assert.is_true(assert(pcre2.compile("a$")):match("a\n"))
    assert.is_false(assert(pcre2.compile("a$", pcre2.DOLLAR_ENDONLY)):match("a\n"))
  end)

  it("lets a multiline ^ match after a final newline only with ALT_CIRCUMFLEX", function()
    assert.is_false(assert(pcre2.compile("^$", pcre2.MULTILINE)):match("a\n"))
    local re = assert(pcre2.compile("^$", bit.bor(pcre2.MULTILINE, pcre2.ALT_CIRCUMFLEX)))
    assert.is_true(re:match("a\n"))
    assert.same({ 2, 2 }, { re:span(0) })
  end)

  it("refuses \\C with NEVER_BACKSLASH_C", function()
    assert.is_true(assert(pcre2.compile("a\\Cb")):match("axb"))
    local re, err, offset = pcre2.compile("a\\Cb", pcre2.NEVER_BACKSLASH_C)
    assert.is_nil(re)
    assert.equal("using \\C is disabled by the application", err)
    assert.equal(3, offset)
  end)

  it("takes only \\n as a newline, whatever the library's build default", function()
    -- With CR, CRLF or ANY newlines, $ would match before the \r.
    assert.is_false(assert(pcre2.compile("a$", pcre2.MULTILINE)):match("a\r\nb"))
    assert.is_true(assert(pcre2.compile("a$", pcre2.MULTILINE)):match("a\nb"))
    assert.is_true(assert(pcre2.compile("^a.$")):match("a\r"))
    assert.is_false(assert(pcre2.compile("^a.$")):match("a\n"))
  end)

  it("honours CASELESS and DOTALL", function()
    assert.is_true(assert(pcre2.compile("abc", pcre2.CASELESS)):match("xABC"))
    assert.is_true(assert(pcre2.compile("a.b", pcre2.DOTALL)):match("a\nb"))
  end)

  it("JIT-compiles when asked and gives the same matches as the interpreter", function()
    assert.is_true(pcre2.jit_available())
    local pattern = "^(?:(k\\w+)/(\\d+)|(\\w+)-worker-(\\d+))(:\\d)?$"
    local jitted = assert(pcre2.compile(pattern, pcre2.UTF, { jit = true }))
    local interp = assert(pcre2.compile(pattern, pcre2.UTF))
    assert.is_true(jitted.jit)
    assert.is_false(interp.jit)
    local subjects = { "kworker/12", "kworker/1:0", "pool-worker-3", "pool-worker-x", "", "k/1" }
    local matched = 0
    for _, s in ipairs(subjects) do
      local a, b = jitted:match(s), interp:match(s)
      assert.equal(b, a, s)
      if a then
        matched = matched + 1
        assert.same(spans(interp, 5), spans(jitted, 5), s)
      end
    end
    assert.equal(3, matched)
  end)

  it("gives the error of a failed match, such as the match limit", function()
    local re = assert(pcre2.compile("^(a+)+$", 0, { jit = true }))
    local ok, err = re:match(string.rep("a", 40) .. "b")
    assert.is_nil(ok)
    assert.equal("match limit exceeded", err)
  end)

  it("names error codes", function()
    assert.equal("no match", pcre2.error_message(-1))
    assert.equal("match limit exceeded", pcre2.error_message(-47))
  end)

  it("frees compiled patterns and match data when they are collected", function()
    collectgarbage()
    local before = rss_kib()
    -- Each JIT-compiled pattern holds executable memory and match data: kept,
    -- 20,000 of them would take tens of MB.
    for i = 1, 20000 do
      assert(pcre2.compile("^(x" .. i .. ")+(\\d+)-[a-z]{2,9}$", pcre2.UTF, { jit = true }))
      if i % 500 == 0 then collectgarbage() end
    end
    collectgarbage()
    assert.is_true(rss_kib() - before < 8 * 1024, ("RSS grew by %d KiB"):format(rss_kib() - before))
  end)
end)
