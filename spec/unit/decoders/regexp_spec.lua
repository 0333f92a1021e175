-- Specs for decoders/regexp.lua: RE2 (Go) patterns run by PCRE2. Every
-- expected output in the "behaves like Go" vectors below was produced by Go's
-- regexp package (Go 1.19) with the same rule: the first pattern that
-- matches, its group 1 if it has groups, else the whole match; no match
-- skips the row.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local pcre2 = require("exporter.pcre2")

local SKIP = api.SKIP

describe("regexp decoder", function()
  local registry
  setup(function() registry = assert(decoders.load({ decoders.builtin_dir() })) end)

  local function regexp(options)
    options.name = "regexp"
    return registry:new(options, { label = "command", config = "regexp", path = "p" })
  end

  -- Runs each { input, expected } through a decoder of these patterns.
  local function check(patterns, cases)
    local decode = assert(regexp({ regexps = patterns }))
    for _, c in ipairs(cases) do
      local out, err = decode(c[1])
      assert.is_nil(err)
      assert.equal(c[2], out, ("patterns %q, input %q"):format(table.concat(patterns, " | "), c[1]))
    end
  end

  describe("behaves like Go", function()
    it("ebpf_exporter's own cases", function()
      check({ "^systemd-journal$", "^syslog-ng$" }, {
        { "systemd-journal", "systemd-journal" },
        { "syslog-ng", "syslog-ng" },
        { "systemd-bananad", SKIP },
      })
      check({ "^(systemd).*$", "^syslog-ng$" }, { { "systemd-bananad", "systemd" } })
    end)

    it("matches anywhere unless anchored, and gives the match, not the input", function()
      check({ "worker" }, { { "kworker/0:1", "worker" }, { "kthreadd", SKIP } })
      check({ "(\\d+)" }, { { "kworker/12:3", "12" } })
      check({ "\\Aab\\z" }, { { "ab", "ab" }, { "xab", SKIP } })
      check({ "" }, { { "anything", "" } })
      check({ "^.*$" }, { { "python3", "python3" } })
    end)

    it("$ matches only at the very end, not before a final newline", function()
      check({ "^kworker$" }, { { "kworker\n", SKIP }, { "kworker", "kworker" } })
      check({ "kworker$" }, { { "kworker\n", SKIP } })
    end)

    it("(?m) makes ^ and $ match at \\n, also after a final one, and not at \\r", function()
      check({ "(?m)^b$" }, { { "a\nb\n", "b" } })
      check({ "(?m)^$" }, { { "a\n", "" } })
      check({ "(?m)a$" }, { { "a\r\n", SKIP } })
    end)

    it("takes group 1, of named groups too, and of patterns with several groups", function()
      check({ "^(?P<kind>[a-z]+)/" }, { { "kworker/u8:2", "kworker" } })
      check({ "^(\\w+)-(\\d+)$" }, { { "worker-12", "worker" } })
    end)

    it("gives \"\" for a group that took no part or matched nothing", function()
      check({ "^(x)?abc" }, { { "abc", "" } })
      check({ "(a)|b" }, { { "b", "" } })
      check({ "^(x*)abc" }, { { "abc", "" } })
    end)

    it("tries the patterns in order: the first that matches wins", function()
      check({ "^zzz", "b", "a" }, { { "abc", "b" } })
      local patterns = { "^(kworker)/", "^(.+)-worker-\\d+$", "^[a-z-]+d$" }
      check(patterns, {
        { "kworker/u8:2-events", "kworker" },
        { "elxre-worker-12", "elxre" },
        { "systemd-udevd", "systemd-udevd" },
        { "bash", SKIP },
      })
    end)

    it("classes, POSIX classes, ranges and \\d \\w \\s", function()
      check({ "[^a-z]+" }, { { "abc123def", "123" } })
      check({ "^[[:alpha:]]+" }, { { "abc123def", "abc" } })
      check({ "^[a-c]+" }, { { "abcd", "abc" } })
      check({ "(\\w+)\\s(\\d+)" }, { { "cpu 42", "cpu" } })
      check({ "^[[:space:]]+$" }, { { "\v", "\v" } })
    end)

    it("alternation is leftmost-first, not longest", function()
      check({ "^(ksoftirqd|migration)/" }, { { "migration/3", "migration" } })
      check({ "(a|ab)" }, { { "ab", "a" } })
    end)

    it("greedy, non-greedy, counted and (?U) quantifiers", function()
      check({ "^(.+?)-" }, { { "a-b-c", "a" } })
      check({ "^(.+)-" }, { { "a-b-c", "a-b" } })
      check({ "^x{2,3}" }, { { "xxxx", "xxx" } })
      check({ "(?U)^(a+)" }, { { "aaa", "a" } })
      -- Not a valid repeat, so literal text in Go and in PCRE2 10.42.
      check({ "a{,3}" }, { { "a{,3}", "a{,3}" } })
    end)

    it("flags: (?i) keeps the input's own bytes, (?s) lets . match \\n", function()
      check({ "(?i)^(SYSTEMD)" }, { { "systemd-udevd", "systemd" } })
      check({ "^a.b$" }, { { "a\nb", SKIP } })
      check({ "(?s)^a.b$" }, { { "a\nb", "a\nb" } })
    end)

    it("escapes: \\b, \\Q...\\E, \\x", function()
      check({ "\\bfoo\\b" }, { { "a foo b", "foo" }, { "afoob", SKIP } })
      check({ "\\Qa.b\\E" }, { { "xa.bx", "a.b" }, { "xaxbx", SKIP } })
      check({ "^\\x41\\x{42}" }, { { "AB", "AB" } })
      check({ "^a\\x00b$" }, { { "a\0b", "a\0b" } })
    end)

    it("reads UTF-8 characters, not bytes", function()
      check({ "^.$" }, { { "é", "é" } })
      check({ "^...$" }, { { "é", SKIP } })
      check({ "\\pL+" }, { { "日本語x1", "日本語x" } })
      check({ "\\p{Greek}+" }, { { "abcαβγd", "αβγ" } })
    end)

    it("folds case beyond ASCII, with Unicode's simple folding only", function()
      check({ "(?i)^CAFÉ$" }, { { "café", "café" } })
      check({ "(?i)k" }, { { "\u{212A}", "\u{212A}" } }) -- KELVIN SIGN
      check({ "(?i)ǅ" }, { { "ǆ", "ǆ" } })
      check({ "(?i)straße" }, { { "STRASSE", SKIP } })
    end)

    it("keeps \\d, \\w and \\b ASCII, as Go's are", function()
      check({ "^\\w+$" }, { { "café", SKIP } })
      check({ "^\\d+$" }, { { "١٢", SKIP } }) -- Arabic-Indic digits
      check({ "\\bfoo\\b" }, { { "éfooé", "foo" } })
      check({ ".\\b." }, { { "é", SKIP } })
    end)

    it("reads each byte of invalid UTF-8 as U+FFFD and gives the input's own bytes back", function()
      check({ "^a.b$" }, { { "a\255b", "a\255b" } })
      check({ "^(.*)$" }, { { "ab\230\151", "ab\230\151" } }) -- a character cut short
      check({ "\\x{FFFD}" }, { { "x\255y", "\255" } })
      check({ "^[^a]+" }, { { "\255\254ab", "\255\254" } })
      -- An overlong "/" (C0 AF) and a surrogate half (ED A0 80) are invalid too.
      check({ "^(..)/$" }, { { "\192\175/", "\192\175" } })
      check({ "^(.)" }, { { "\237\160\128", "\237" } })
      check({ "^...$" }, { { "\237\160\128", "\237\160\128" } })
      -- Valid characters after an invalid byte keep their place.
      check({ "(é+)" }, { { "\255éé!", "éé" } })
    end)
  end)

  describe("known differences from Go", function()
    it("PCRE2's \\s matches \\v (VT), Go's does not", function()
      check({ "^\\s+$" }, { { "\v", "\v" } })
    end)

    it("accepts syntax Go refuses", function()
      check({ "(?<n>a)" }, { { "a", "a" } })
      check({ "(a)\\1" }, { { "xaa", "a" } })
    end)

    it("backtracks: a pathological pattern hits the match limit, a decode error (Go would skip)", function()
      local decode = assert(regexp({ regexps = { "^(a+)+$" } }))
      local out, err = decode(string.rep("a", 40) .. "b")
      assert.is_nil(out)
      assert.equal('regexp: matching regexps[0] "^(a+)+$" failed: match limit exceeded', err)
      -- Label-sized inputs stay far below the limit.
      assert.equal(SKIP, decode(string.rep("a", 15) .. "b"))
    end)
  end)

  it("compiles each pattern once, at config load, and never while decoding", function()
    local compile = spy.on(pcre2, "compile")
    local decode = assert(regexp({ regexps = { "^(kworker)", "^systemd", "d$" } }))
    assert.spy(compile).was.called(3)
    for _, name in ipairs({ "kworker/0:1", "systemd", "sshd", "bash", "\255" }) do decode(name) end
    assert.spy(compile).was.called(3)
    compile:revert()
  end)

  it("JIT-compiles its patterns", function()
    local compile = spy.on(pcre2, "compile")
    assert(regexp({ regexps = { "^(kworker)" } }))
    assert.spy(compile).was.called_with("^(kworker)", match._, { jit = true })
    compile:revert()
  end)

  it("refuses a missing, empty or non-list regexps option", function()
    local msg = 'regexp: option "regexps" must be a list of patterns'
    for _, options in ipairs({ {}, { regexps = {} }, { regexps = "^a$" }, { regexps = { a = "^a$" } },
      { regexps = { "^a$", x = "^b$" } } }) do
      local decode, err = regexp(options)
      assert.is_nil(decode)
      assert.equal(msg, err)
    end
  end)

  it("refuses a pattern that is not a string", function()
    local _, err = regexp({ regexps = { "^a$", 123 } })
    assert.equal("regexp: regexps[1] must be a string (quote it in YAML), not a number", err)
    _, err = regexp({ regexps = { { "^a$" } } })
    assert.equal("regexp: regexps[0] must be a string (quote it in YAML), not a list or mapping", err)
  end)

  it("refuses a pattern that does not compile, with PCRE2's message and offset", function()
    local _, err = regexp({ regexps = { "^ok$", "(foo" } })
    assert.equal('regexp: regexps[1] "(foo" does not compile: missing closing parenthesis at offset 4', err)
    _, err = regexp({ regexps = { "a\\C" } })
    assert.equal('regexp: regexps[0] "a\\C" does not compile: using \\C is disabled by the application at offset 3',
      err)
    _, err = regexp({ regexps = { "\255" } })
    assert.equal('regexp: regexps[0] "\255" does not compile: UTF-8 error: illegal byte (0xfe or 0xff) at offset 0',
      err)
  end)
end)
