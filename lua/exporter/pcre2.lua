-- A small LuaJIT FFI binding to libpcre2-8 (Debian's libpcre2-8-0): compile a
-- pattern once, then match it against byte strings many times.
--
--   local re, err, offset = pcre2.compile("^(kworker)/", pcre2.UTF, { jit = true })
--   if re:match(subject) then local s, e = re:span(1) end  -- subject:sub(s + 1, e)
--
-- Each compiled pattern owns one match data block that every match reuses, so
-- a match allocates nothing; a pattern is therefore not reentrant (one match
-- at a time, which is all a Lua state can do). PCRE2 memory is freed when the
-- Lua object is collected.
-- @module exporter.pcre2
local ffi = require("ffi")

local M = {}

-- The real type and symbol names of the 8-bit library (pcre2.h maps the
-- unsuffixed names onto these). PCRE2_SPTR is declared as const char * so that
-- Lua strings pass without a cast; the ABI is the same as const uint8_t *.
-- busted loads this module again in each spec file: declare once.
if not pcall(ffi.typeof, "pcre2_code_8") then
  ffi.cdef([[
typedef struct pcre2_real_code_8 pcre2_code_8;
typedef struct pcre2_real_match_data_8 pcre2_match_data_8;
typedef struct pcre2_real_compile_context_8 pcre2_compile_context_8;
typedef struct pcre2_real_general_context_8 pcre2_general_context_8;
typedef struct pcre2_real_match_context_8 pcre2_match_context_8;

pcre2_code_8 *pcre2_compile_8(const char *pattern, size_t length, uint32_t options,
  int *errorcode, size_t *erroroffset, pcre2_compile_context_8 *ccontext);
void pcre2_code_free_8(pcre2_code_8 *code);
int pcre2_pattern_info_8(const pcre2_code_8 *code, uint32_t what, void *where);
int pcre2_jit_compile_8(pcre2_code_8 *code, uint32_t options);

pcre2_compile_context_8 *pcre2_compile_context_create_8(pcre2_general_context_8 *gcontext);
void pcre2_compile_context_free_8(pcre2_compile_context_8 *ccontext);
int pcre2_set_newline_8(pcre2_compile_context_8 *ccontext, uint32_t value);

pcre2_match_data_8 *pcre2_match_data_create_from_pattern_8(const pcre2_code_8 *code,
  pcre2_general_context_8 *gcontext);
void pcre2_match_data_free_8(pcre2_match_data_8 *match_data);
size_t *pcre2_get_ovector_pointer_8(pcre2_match_data_8 *match_data);
int pcre2_match_8(const pcre2_code_8 *code, const char *subject, size_t length,
  size_t startoffset, uint32_t options, pcre2_match_data_8 *match_data,
  pcre2_match_context_8 *mcontext);

int pcre2_get_error_message_8(int errorcode, uint8_t *buffer, size_t bufflen);
int pcre2_config_8(uint32_t what, void *where);
]])
end

-- Compile options, from pcre2.h (10.42). Combine them with bit.bor.
M.CASELESS = 0x00000008
M.DOLLAR_ENDONLY = 0x00000010
M.DOTALL = 0x00000020
M.MULTILINE = 0x00000400
M.UCP = 0x00020000
M.UTF = 0x00080000
M.NEVER_BACKSLASH_C = 0x00100000
M.ALT_CIRCUMFLEX = 0x00200000
M.MATCH_INVALID_UTF = 0x04000000

local ERROR_NOMATCH = -1
local INFO_CAPTURECOUNT = 4
local CONFIG_JIT = 1
local CONFIG_VERSION = 11
local JIT_COMPLETE = 0x1
local NEWLINE_LF = 2
local UNSET = 0xffffffffffffffffULL -- PCRE2_UNSET: ~(size_t)0

-- libpcre2-8.so exists only with the -dev package; the runtime package ships
-- the soname.
--
-- Loaded once more with RTLD_NODELETE first: when a Lua state closes, LuaJIT
-- may unload the library before the finalizers of the codes and match data
-- made from it run (ffi.gc with its free functions), which then jump into
-- unmapped memory (busted segfaulted at exit so). NODELETE keeps it mapped.
if not pcall(function() return ffi.C.exporter_pcre2_dlopen end) then
  ffi.cdef([[void *exporter_pcre2_dlopen(const char *file, int mode) __asm__("dlopen");]])
end
local RTLD_NOW, RTLD_NODELETE = 0x2, 0x1000
for _, name in ipairs({ "libpcre2-8.so.0", "libpcre2-8.so" }) do
  if ffi.C.exporter_pcre2_dlopen(name, RTLD_NOW + RTLD_NODELETE) ~= nil then break end
end
local lib, load_err
do
  local ok, l = pcall(ffi.load, "pcre2-8")
  if not ok then
    local ok2, l2 = pcall(ffi.load, "libpcre2-8.so.0")
    if ok2 then
      ok, l = true, l2
    else
      load_err = tostring(l2)
    end
  end
  if ok then lib = l end
end

--- Whether libpcre2-8 could be loaded.
-- @return true, or false and the loader's message
function M.available()
  if lib then return true end
  return false, load_err
end

local function need_lib()
  if not lib then
    error("pcre2: libpcre2-8 is not available (Debian package libpcre2-8-0): " .. load_err, 3)
  end
end

local message_buf = ffi.new("uint8_t[256]")

--- PCRE2's text for an error code (negative codes from compile or match).
-- @tparam number code
-- @treturn string
function M.error_message(code)
  need_lib()
  local n = lib.pcre2_get_error_message_8(code, message_buf, 256)
  if n < 0 then return "unknown PCRE2 error " .. code end
  return ffi.string(message_buf, n)
end

--- The library's version, e.g. "10.42 2022-12-11".
function M.version()
  need_lib()
  local n = lib.pcre2_config_8(CONFIG_VERSION, nil)
  local buf = ffi.new("uint8_t[?]", n)
  lib.pcre2_config_8(CONFIG_VERSION, buf)
  return ffi.string(buf, n - 1)
end

--- Whether this build of the library has the JIT compiler.
function M.jit_available()
  need_lib()
  local v = ffi.new("uint32_t[1]")
  lib.pcre2_config_8(CONFIG_JIT, v)
  return v[0] == 1
end

-- One compile context for every pattern: newline is LF whatever the
-- library's build default, so `.`, `$` and (?m) treat only "\n" as a line
-- end. Created on first use and kept for the life of the Lua state.
local compile_context
local function get_compile_context()
  if not compile_context then
    local ctx = lib.pcre2_compile_context_create_8(nil)
    if ctx == nil then return nil end
    lib.pcre2_set_newline_8(ctx, NEWLINE_LF)
    compile_context = ffi.gc(ctx, lib.pcre2_compile_context_free_8)
  end
  return compile_context
end

local Regex = {}
Regex.__index = Regex

local errorcode = ffi.new("int[1]")
local erroroffset = ffi.new("size_t[1]")
local capturecount = ffi.new("uint32_t[1]")

--- Compiles a pattern (any bytes, NULs included: its length is passed).
-- @tparam string pattern
-- @tparam[opt=0] number options compile options, e.g. bit.bor(pcre2.UTF, pcre2.DOLLAR_ENDONLY)
-- @tparam[opt] table opts `{ jit = true }` JIT-compiles the pattern when the
-- library can; it falls back to the interpreter silently (`re.jit` says which).
-- @return a regex with fields `pattern`, `captures` (number of capture
-- groups) and `jit`; or nil, PCRE2's message, and the 0-based byte offset in
-- the pattern where compiling stopped.
function M.compile(pattern, options, opts)
  need_lib()
  if type(pattern) ~= "string" then
    error("pcre2.compile: pattern must be a string, not a " .. type(pattern), 2)
  end
  local ctx = get_compile_context()
  if ctx == nil then return nil, M.error_message(-48), 0 end -- PCRE2_ERROR_NOMEMORY
  local code = lib.pcre2_compile_8(pattern, #pattern, options or 0, errorcode, erroroffset, ctx)
  if code == nil then
    return nil, M.error_message(errorcode[0]), tonumber(erroroffset[0])
  end
  code = ffi.gc(code, lib.pcre2_code_free_8)
  lib.pcre2_pattern_info_8(code, INFO_CAPTURECOUNT, capturecount)
  local jit = false
  if opts and opts.jit and M.jit_available() then
    -- Fails only when executable memory cannot be had (e.g. an SELinux
    -- execmem denial): the interpreter gives the same results.
    jit = lib.pcre2_jit_compile_8(code, JIT_COMPLETE) == 0
  end
  local md = lib.pcre2_match_data_create_from_pattern_8(code, nil)
  if md == nil then return nil, M.error_message(-48), 0 end
  md = ffi.gc(md, lib.pcre2_match_data_free_8)
  return setmetatable({
    pattern = pattern,
    captures = tonumber(capturecount[0]),
    jit = jit,
    code = code,
    md = md,
    -- Valid as long as md is: the regex holds both.
    ovector = lib.pcre2_get_ovector_pointer_8(md),
  }, Regex)
end

--- Matches the pattern against subject, from byte offset start (0-based).
-- Afterwards `span` reads the match.
-- @tparam string subject any bytes
-- @tparam[opt=0] number start
-- @return true on a match, false when there is none, or nil and PCRE2's
-- message on an error (e.g. the match limit, or invalid UTF-8 in a subject of
-- a UTF pattern compiled without MATCH_INVALID_UTF)
function Regex:match(subject, start)
  local rc = lib.pcre2_match_8(self.code, subject, #subject, start or 0, 0, self.md, nil)
  if rc > 0 then return true end
  if rc == ERROR_NOMATCH then return false end
  -- rc == 0 means the ovector was too small, which a match data block made
  -- from the pattern never is.
  return nil, M.error_message(rc)
end

--- Where group n (0 = the whole match) of the last successful match is.
-- @tparam number n
-- @return the 0-based start and the end (exclusive) byte offsets, so that
-- subject:sub(start + 1, stop) is the text; nil when the group did not take
-- part in the match or the pattern has no group n.
function Regex:span(n)
  if n < 0 or n > self.captures then return nil end
  local ov = self.ovector
  local s = ov[2 * n]
  if s == UNSET then return nil end
  return tonumber(s), tonumber(ov[2 * n + 1])
end

return M
