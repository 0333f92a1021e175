-- The kernel symbol index that the ksym and kstack decoders share, and kaddrs
-- with them: the core's (core/ksym_index.c), which reads /proc/kallsyms into
-- sorted addresses and one arena of names outside the Lua heap, once per
-- process, and again only for a miss that may be a symbol loaded since (at
-- most once per 5 seconds; addresses that missed in a fresh read are
-- remembered). This module finds the index, hands it addresses and copies
-- the names out.
local ffi = require("ffi")
local abi = require("exporter.abi") -- declares the index's functions
local api = require("exporter.decoder_api")

local M = {}

-- Inside the exporter the index's functions are the binary's own. Specs and
-- tools run without the binary: for them the build makes the same C file a
-- library of its own (see CMakeLists.txt), loaded from $ELX_BUILD (default
-- "build", relative to the source tree).
local lib, lib_err

local function library()
  if lib or lib_err then return lib, lib_err end
  if abi.core_available() then
    lib = ffi.C
  else
    local path = (os.getenv("ELX_BUILD") or "build") .. "/libelx_ksym.so"
    -- Loaded as every FFI library is: kept mapped for the life of the
    -- process (libc.load_library), so finalizers never outlive it.
    local loaded, err = require("exporter.libc").load_library({ path })
    if loaded then lib = loaded else lib_err = "cannot load the symbol index: " .. tostring(err) end
  end
  return lib, lib_err
end

-- The index of api.paths.kallsyms: for /proc/kallsyms the process's, which
-- a reload's new Lua state finds already read; for another file (a spec's
-- fixture) one of this decoder state's own, freed with it.
local function index()
  local l, err = library()
  if not l then return nil, err end
  local s = api.state("kallsyms")
  local path = api.paths.kallsyms
  if s.path ~= path then
    local ix = l.elx_ksym_shared(path)
    if ix == nil then
      ix = l.elx_ksym_index_new(path)
      if ix == nil then return nil, "out of memory" end
      ix = ffi.gc(ix, l.elx_ksym_index_free)
    end
    s.index, s.path = ix, path
  end
  return s.index
end

local function read_error(ix)
  return nil, ffi.string(lib.elx_ksym_index_error(ix))
end

--- The 16-digit lowercase hex of the 8-byte host-order address at offset in
-- s, as kallsyms prints addresses. The caller checks that 8 bytes are there.
-- @tparam string s raw bytes
-- @tparam[opt=1] number offset 1-based position of the first byte
function M.address_hex(s, offset)
  offset = offset or 1
  local b1, b2, b3, b4, b5, b6, b7, b8 = s:byte(offset, offset + 7)
  if ffi.abi("le") then
    return string.format("%02x%02x%02x%02x%02x%02x%02x%02x", b8, b7, b6, b5, b4, b3, b2, b1)
  end
  return string.format("%02x%02x%02x%02x%02x%02x%02x%02x", b1, b2, b3, b4, b5, b6, b7, b8)
end

local name_out = ffi.new("const char *[1]")

--- The symbol that starts exactly at an address.
-- @tparam string bytes the 8-byte host-order address (the caller checks the length)
-- @return the name (module symbols as "name\t[module]"), nil when no symbol
-- starts there, or nil and "<path>: <reason>" when kallsyms cannot be read
function M.symbol(bytes)
  local ix, err = index()
  if not ix then return nil, err end
  local found = lib.elx_ksym_symbol(ix, bytes, api.now(), name_out)
  if found < 0 then return read_error(ix) end
  if found == 0 then return nil end
  return ffi.string(name_out[0])
end

local names_out, names_cap = nil, 0

--- The frames of a kernel stack up to the first zero address, each named by
-- the symbol at the greatest address at or below it: the function a return
-- address lies in.
-- @tparam string bytes 8-byte host-order addresses (the caller checks the length)
-- @return a list with a name per frame, false for a frame below every symbol
-- (or when kallsyms shows only zero addresses); or nil and "<path>: <reason>"
-- when kallsyms cannot be read
function M.stack(bytes)
  local ix, err = index()
  if not ix then return nil, err end
  local n = #bytes / 8
  if n > names_cap then names_out, names_cap = ffi.new("const char *[?]", n), n end
  local count = lib.elx_ksym_stack(ix, bytes, n, api.now(), names_out)
  if count < 0 then return read_error(ix) end
  local frames = {}
  for i = 0, count - 1 do
    local name = names_out[i]
    frames[i + 1] = name ~= nil and ffi.string(name)
  end
  return frames
end

--- What the index in use holds and has cost (struct elx_ksym_stats as a
-- table): reads, read_cpu_ns, bytes, symbols. For specs and the benchmark.
function M.stats()
  local ix, err = index()
  if not ix then return nil, err end
  local st = ffi.new("struct elx_ksym_stats")
  lib.elx_ksym_index_stats(ix, st)
  return { reads = tonumber(st.reads), read_cpu_ns = tonumber(st.read_cpu_ns),
    bytes = tonumber(st.bytes), symbols = st.symbols }
end

return M
