-- regexp: keeps a row only when its input matches one of the `regexps`, and
-- labels it with the first pattern that matches: that pattern's capture group
-- 1 when it has groups ("" if the group took no part), else the whole match.
-- No match drops the row. Patterns are RE2 (Go) syntax, as ebpf_exporter
-- configs have them; PCRE2 runs them with Go's semantics (see FLAGS).
local ffi = require("ffi")
local api = require("exporter.decoder_api")
local pcre2 = require("exporter.pcre2")
local utf8 = require("exporter.utf8")

local M = {}

-- How Go's regexp differs from PCRE2's defaults, and the fix for each:
--  * `$` matches only at the very end of the text, not before a final "\n":
--    DOLLAR_ENDONLY.
--  * (?m)^ also matches after a "\n" that ends the text: ALT_CIRCUMFLEX.
--  * Patterns and text are UTF-8: `.` and [^x] take a whole character, (?i)
--    folds non-ASCII letters, \pL works: UTF. Without UCP, \d \w \s \b stay
--    ASCII, as Go's are.
--  * Go has no \C (one byte inside a character): NEVER_BACKSLASH_C refuses it.
--  * Only "\n" ends a line: pcre2.lua sets newline to LF.
-- MATCH_INVALID_UTF makes any bytes a safe subject and spares PCRE2 its
-- UTF-8 check of every subject (it measured faster than without); go_text
-- gives PCRE2 valid UTF-8 anyway, so it changes no result.
-- Left as they are: PCRE2 also accepts syntax Go refuses (backreferences,
-- lookaround), which no working Go config has; its \s also matches "\v",
-- which Go's does not; and it backtracks, so a pathological pattern on a long
-- input can hit PCRE2's match limit (a decode error) where Go runs in linear
-- time.
local FLAGS = bit.bor(pcre2.UTF, pcre2.MATCH_INVALID_UTF, pcre2.DOLLAR_ENDONLY,
  pcre2.ALT_CIRCUMFLEX, pcre2.NEVER_BACKSLASH_C)

-- JIT-compiled patterns: 100,000 distinct short names through 4 patterns
-- took ~150 ns per decode against ~345 ns with the interpreter (2-core VM,
-- best of 15); the JIT costs ~15 us more per pattern, once, at config load.
local USE_JIT = true

local REPLACEMENT = utf8.REPLACEMENT
local sequence = utf8.sequence

-- Go reads text as UTF-8 and takes each byte that does not start a valid
-- sequence as one U+FFFD (exporter.utf8's rule, which label values follow
-- too), which `.`, [^x] and \x{FFFD} then match. PCRE2
-- would instead let no pattern item match such a byte, so the same text is
-- built here: for input with invalid bytes, returns the text with each of
-- them replaced by U+FFFD, and a map from the text's character offsets back
-- to the input's (both 0-based); nil for valid input, the common case.
local function go_text(input)
  -- A loop over the bytes rather than input:find("[\128-\255]"): LuaJIT
  -- does not compile pattern finds, and this check runs on every decode.
  local p = ffi.cast("const uint8_t *", input)
  local ascii = true
  for k = 0, #input - 1 do
    if p[k] >= 0x80 then
      ascii = false
      break
    end
  end
  if ascii then return nil end
  local n = #input
  local parts, map = {}, {}
  local i, out, invalid = 1, 0, false
  while i <= n do
    local len = sequence(input, i) or 0
    map[out] = i - 1
    if len > 0 then
      parts[#parts + 1] = input:sub(i, i + len - 1)
      out = out + len
      i = i + len
    else
      parts[#parts + 1] = REPLACEMENT
      out = out + 3
      i = i + 1
      invalid = true
    end
  end
  if not invalid then return nil end
  map[out] = n
  return table.concat(parts), map
end

-- The list of patterns, or nil and the config error.
local function patterns_of(options)
  local list = options.regexps
  local msg = 'regexp: option "regexps" must be a list of patterns'
  if type(list) ~= "table" or #list == 0 then return nil, msg end
  local n = 0
  for _ in pairs(list) do n = n + 1 end
  if n ~= #list then return nil, msg end
  for i, p in ipairs(list) do
    if type(p) ~= "string" then
      return nil, string.format("regexp: regexps[%d] must be a string (quote it in YAML), not a %s",
        i - 1, type(p) == "table" and "list or mapping" or type(p))
    end
  end
  return list
end

function M.new(options)
  local list, err = patterns_of(options)
  if not list then return nil, err end
  local ok, why = pcre2.available()
  if not ok then
    return nil, "regexp: cannot load libpcre2-8 (Debian package libpcre2-8-0): " .. why
  end
  local res = {}
  for i, p in ipairs(list) do
    local re, cerr, offset = pcre2.compile(p, FLAGS, { jit = USE_JIT })
    if not re then
      return nil, string.format('regexp: regexps[%d] "%s" does not compile: %s at offset %d',
        i - 1, p, cerr, offset)
    end
    -- Group 1 when the pattern has groups, else the whole match.
    res[i] = { re = re, group = re.captures > 0 and 1 or 0 }
  end
  local count = #res
  return function(input)
    local text, map = go_text(input)
    local subject = text or input
    for i = 1, count do
      local r = res[i]
      local matched, merr = r.re:match(subject)
      if matched then
        local s, e = r.re:span(r.group)
        if not s then return "" end
        if map then s, e = map[s], map[e] end
        return input:sub(s + 1, e)
      elseif matched == nil then
        return nil, string.format('regexp: matching regexps[%d] "%s" failed: %s', i - 1, r.re.pattern, merr)
      end
    end
    return api.SKIP
  end
end

return M
