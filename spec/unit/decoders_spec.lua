-- Specs for the decoder loader and registry (lua/exporter/decoders.lua) and the
-- helpers decoder authors use (lua/exporter/decoder_api.lua).
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")

-- A fresh temporary directory holding the given { [file name] = source }.
local function decoder_dir(files)
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("*l")
  p:close()
  for name, source in pairs(files) do
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(source)
    f:close()
  end
  return dir
end

local function remove_dir(dir)
  assert(dir:match("^/tmp/"), "refusing to remove " .. dir)
  os.execute("rm -rf '" .. dir .. "'")
end

local OK_DECODER = [[
local M = {}
function M.new(options)
  return function(input) return (options.prefix or "user:") .. input end
end
return M
]]

describe("decoders.builtin_dir", function()
  it("is the repository's decoders directory", function()
    local dir = decoders.builtin_dir()
    assert.equal("decoders", dir)
    local f = io.open(dir .. "/uint.lua")
    assert.is_not_nil(f)
    f:close()
  end)
end)

describe("decoders.load", function()
  local dirs = {}
  local function tmp(files)
    local dir = decoder_dir(files)
    dirs[#dirs + 1] = dir
    return dir
  end
  after_each(function()
    for _, dir in ipairs(dirs) do remove_dir(dir) end
    dirs = {}
  end)

  it("loads the built-in decoders", function()
    local registry = assert(decoders.load({ decoders.builtin_dir() }))
    local names = registry:names()
    for _, name in ipairs({ "errno", "hex", "ksym", "majorminor", "static_map", "string", "syscall", "uint" }) do
      assert.is_true(registry:path(name) ~= nil, name)
    end
    local sorted = { unpack(names) }
    table.sort(sorted)
    assert.same(sorted, names)
  end)

  it("lists names sorted", function()
    local dir = tmp({ ["b.lua"] = OK_DECODER, ["a.lua"] = OK_DECODER, ["c.lua"] = OK_DECODER,
      ["notes.txt"] = "not a decoder", [".hidden.lua"] = "syntax error here" })
    local registry = assert(decoders.load({ dir }))
    assert.same({ "a", "b", "c" }, registry:names())
  end)

  it("lets a later directory override a decoder and logs it", function()
    local user = tmp({ ["uint.lua"] = OK_DECODER })
    local logged = {}
    local registry = assert(decoders.load({ decoders.builtin_dir(), user }, function(msg)
      logged[#logged + 1] = msg
    end))
    assert.same({ 'decoder "uint" from ' .. user .. '/uint.lua overrides the built-in one' }, logged)
    assert.equal(user .. "/uint.lua", registry:path("uint"))
    local decode = assert(registry:new({ name = "uint" }, { input_size = 4 }))
    assert.equal("user:abc", decode("abc"))
  end)

  it("names the earlier user file when two user directories define a decoder", function()
    local a = tmp({ ["mine.lua"] = OK_DECODER })
    local b = tmp({ ["mine.lua"] = OK_DECODER })
    local logged = {}
    assert(decoders.load({ decoders.builtin_dir(), a, b }, function(msg) logged[#logged + 1] = msg end))
    assert.same({ 'decoder "mine" from ' .. b .. '/mine.lua overrides the one from ' .. a .. '/mine.lua' }, logged)
  end)

  it("reports a syntax error with the decoder's name and file", function()
    local dir = tmp({ ["broken.lua"] = "local M = {}\nlocal x = = 1\nreturn M\n" })
    local registry, err = decoders.load({ dir })
    assert.is_nil(registry)
    assert.equal('decoder "broken" (' .. dir .. "/broken.lua): line 2: unexpected symbol near '='", err)
  end)

  it("reports an error raised while the file runs", function()
    local dir = tmp({ ["raises.lua"] = "error('no config for me', 0)\n" })
    local _, err = decoders.load({ dir })
    assert.equal('decoder "raises" (' .. dir .. "/raises.lua): error while loading: no config for me", err)
  end)

  it("reports a file that does not return a table", function()
    local dir = tmp({ ["number.lua"] = "return 42\n" })
    local _, err = decoders.load({ dir })
    assert.equal('decoder "number" (' .. dir .. "/number.lua): did not return a table (returned number)", err)
  end)

  it("reports a file that returns nothing", function()
    local dir = tmp({ ["empty.lua"] = "-- nothing here\n" })
    local _, err = decoders.load({ dir })
    assert.equal('decoder "empty" (' .. dir .. "/empty.lua): did not return a table (returned nil)", err)
  end)

  it("reports a table without new", function()
    local dir = tmp({ ["nonew.lua"] = "return { decode = function() end }\n" })
    local _, err = decoders.load({ dir })
    assert.equal('decoder "nonew" (' .. dir .. "/nonew.lua): has no function new", err)
  end)

  it("reports a new that is not a function", function()
    local dir = tmp({ ["badnew.lua"] = "return { new = 'uint' }\n" })
    local _, err = decoders.load({ dir })
    assert.equal('decoder "badnew" (' .. dir .. "/badnew.lua): new is a string, not a function", err)
  end)

  it("reports a directory that cannot be opened", function()
    local _, err = decoders.load({ "/nonexistent/decoders" })
    assert.equal("cannot open decoder directory /nonexistent/decoders: No such file or directory", err)
  end)
end)

describe("registry:new", function()
  local dir, registry
  setup(function()
    dir = decoder_dir({
      ["user.lua"] = OK_DECODER,
      ["refuses.lua"] = "return { new = function() return nil, 'user: option \"x\" is required' end }\n",
      ["raisesnew.lua"] = "return { new = function() error('boom', 0) end }\n",
      ["notfn.lua"] = "return { new = function() return 'decode' end }\n",
      ["decodes.lua"] = [[
local api = require("exporter.decoder_api")
return { new = function()
  return function(input)
    if input == "skip" then return api.SKIP end
    if input == "raise" then error("bad input", 0) end
    if input == "number" then return 42 end
    if input == "nil" then return nil end
    if input == "err" then return nil, "decodes: cannot decode err" end
    return input
  end
end }
]],
    })
    registry = assert(decoders.load({ decoders.builtin_dir(), dir }))
  end)
  teardown(function() remove_dir(dir) end)

  it("refuses an unknown decoder", function()
    local decode, err = registry:new({ name = "foo" }, { input_size = 4 })
    assert.is_nil(decode)
    assert.equal('unknown decoder "foo"', err)
  end)

  it("refuses a decoder without a name", function()
    local _, err = registry:new({ static_map = {} }, {})
    assert.equal("decoder has no name", err)
    _, err = registry:new({ name = 5 }, {})
    assert.equal("decoder name must be a string", err)
    _, err = registry:new("uint", {})
    assert.equal("decoder must be a mapping with a name, not a string", err)
  end)

  it("passes options to the decoder", function()
    local decode = assert(registry:new({ name = "user", prefix = "p:" }, {}))
    assert.equal("p:x", decode("x"))
  end)

  it("returns the decoder's own config error", function()
    local decode, err = registry:new({ name = "refuses" }, {})
    assert.is_nil(decode)
    assert.equal('user: option "x" is required', err)
  end)

  it("turns an error raised by new into a config error", function()
    local _, err = registry:new({ name = "raisesnew" }, {})
    assert.equal('decoder "raisesnew" (' .. dir .. "/raisesnew.lua): new failed: boom", err)
  end)

  it("refuses a new that returns something other than a function", function()
    local _, err = registry:new({ name = "notfn" }, {})
    assert.equal('decoder "notfn" (' .. dir .. "/notfn.lua): new returned a string, not a function", err)
  end)

  it("gives decode functions that never raise", function()
    local decode = assert(registry:new({ name = "decodes" }, {}))
    assert.equal("abc", decode("abc"))
    assert.equal(api.SKIP, decode("skip"))
    local out, err = decode("raise")
    assert.is_nil(out)
    assert.equal('decoder "decodes" raised: bad input', err)
    out, err = decode("number")
    assert.is_nil(out)
    assert.equal('decoder "decodes" returned a number, not a string', err)
    out, err = decode("nil")
    assert.is_nil(out)
    assert.equal('decoder "decodes" returned nil', err)
    out, err = decode("err")
    assert.is_nil(out)
    assert.equal("decodes: cannot decode err", err)
  end)
end)

describe("decoder_api", function()
  after_each(function() api.reset() end)

  describe("SKIP", function()
    it("is a unique table", function()
      assert.equal("table", type(api.SKIP))
      assert.equal("exporter.decoder_api.SKIP", tostring(api.SKIP))
    end)
  end)

  describe("read_uint", function()
    it("reads host (little-endian) order by default", function()
      assert.equal(0xfe, api.read_uint("\254", 1, 1))
      assert.equal(0x0201, api.read_uint("\1\2", 1, 2))
      assert.equal(0x04030201, api.read_uint("\1\2\3\4", 1, 4))
      assert.equal(4294967295, api.read_uint("\255\255\255\255", 1, 4))
      assert.equal(0x0000060504030201, api.read_uint("\1\2\3\4\5\6\0\0", 1, 8))
      assert.equal("578437695752307201ULL", tostring(api.read_uint("\1\2\3\4\5\6\7\8", 1, 8)))
    end)

    it("reads big-endian order on request", function()
      assert.equal(0x0102, api.read_uint("\1\2", 1, 2, true))
      assert.equal(0x01020304, api.read_uint("\1\2\3\4", 1, 4, true))
      assert.equal(0x010203040506, api.read_uint("\0\0\1\2\3\4\5\6", 1, 8, true))
      assert.equal("72623859790382856ULL", tostring(api.read_uint("\1\2\3\4\5\6\7\8", 1, 8, true)))
    end)

    it("reads at a 1-based offset, unaligned", function()
      assert.equal(0x0302, api.read_uint("\1\2\3\4", 2, 2))
      assert.equal(0x05040302, api.read_uint("\1\2\3\4\5", 2, 4))
      assert.equal(0x0807060504, api.read_uint("\1\2\3\4\5\6\7\8\0\0\0", 4, 8))
    end)

    it("returns a number below 2^53 and an exact uint64_t from there on", function()
      local below = api.read_uint("\255\255\255\255\255\255\31\0", 1, 8)
      assert.equal("number", type(below))
      assert.equal(9007199254740991, below)
      local max = api.read_uint(string.rep("\255", 8), 1, 8)
      assert.equal("cdata", type(max))
      assert.equal("18446744073709551615ULL", tostring(max))
      local at = api.read_uint("\0\0\0\0\0\0\32\0", 1, 8)
      assert.equal("9007199254740992ULL", tostring(at))
    end)

    it("raises for a bad size or bytes past the end", function()
      assert.has_error(function() api.read_uint("\1\2\3", 1, 3) end, "read_uint: size must be 1, 2, 4 or 8, not 3")
      assert.has_error(function() api.read_uint("\1\2\3", 1, 4) end,
        "read_uint: 4 bytes at offset 1 do not fit in the input")
      assert.has_error(function() api.read_uint("\1\2\3\4", 2, 4) end,
        "read_uint: 4 bytes at offset 2 do not fit in the input")
    end)
  end)

  describe("u64_decimal", function()
    it("prints every 8-byte value exactly", function()
      assert.equal("0", api.u64_decimal(string.rep("\0", 8)))
      assert.equal("18446744073709551615", api.u64_decimal(string.rep("\255", 8)))
      assert.equal("9007199254740993", api.u64_decimal("\1\0\0\0\0\0\32\0"))
      assert.equal("72623859790382856", api.u64_decimal("\1\2\3\4\5\6\7\8", 1, true))
      assert.equal("1", api.u64_decimal("\9\1\0\0\0\0\0\0\0", 2))
    end)
  end)

  describe("bounded_cache", function()
    it("gets what was put", function()
      local c = api.bounded_cache(2)
      assert.is_nil(c.get("a"))
      c.put("a", 1)
      c.put("b", false)
      assert.equal(1, c.get("a"))
      assert.equal(false, c.get("b"))
      assert.equal(2, c.count())
    end)

    it("keeps at most two generations of n entries", function()
      local c = api.bounded_cache(2)
      for i = 1, 10 do c.put(i, i * 10) end
      assert.equal(4, c.count())
      assert.is_nil(c.get(6))
      assert.equal(70, c.get(7))
      assert.equal(100, c.get(10))
    end)

    it("keeps an entry that is hit", function()
      local c = api.bounded_cache(2)
      c.put("hot", 1)
      c.put("x1", 1)
      c.put("x2", 1) -- "hot" is now old
      assert.equal(1, c.get("hot")) -- and back in the young generation
      c.put("x3", 1) -- the young generation rolls over
      assert.equal(1, c.get("hot"))
      assert.is_nil(c.get("x1"))
    end)

    it("clears", function()
      local c = api.bounded_cache(4)
      c.put("a", 1)
      c.clear()
      assert.is_nil(c.get("a"))
      assert.equal(0, c.count())
    end)

    it("refuses a bad size and nil values", function()
      assert.has_error(function() api.bounded_cache(0) end, "bounded_cache: size must be a number >= 1, not 0")
      assert.has_error(function() api.bounded_cache(1).put("a", nil) end, "bounded_cache: put of a nil value")
    end)
  end)

  describe("read_lines and lines", function()
    it("reads a file's lines without newlines", function()
      local lines = assert(api.read_lines("spec/fixtures/partitions"))
      assert.equal(10, #lines)
      assert.equal("major minor  #blocks  name", lines[1])
      assert.equal("", lines[2])
      assert.equal(" 253   1048575       1024 dm-max", lines[10])
    end)

    it("says why a file cannot be read", function()
      local lines, err = api.read_lines("/nonexistent/file")
      assert.is_nil(lines)
      assert.equal("/nonexistent/file: No such file or directory", err)
      local it_, err2 = api.lines("/nonexistent/file")
      assert.is_nil(it_)
      assert.equal("/nonexistent/file: No such file or directory", err2)
    end)
  end)

  describe("state and reset", function()
    it("shares a table per name until reset", function()
      local s = api.state("x")
      s.value = 1
      assert.equal(s, api.state("x"))
      assert.are_not.equal(s, api.state("y"))
      api.reset()
      assert.is_nil(api.state("x").value)
    end)

    it("restores the default paths and clock", function()
      api.paths.kallsyms = "spec/fixtures/kallsyms"
      api.paths.extra = "/x"
      local default_now = api.now
      api.now = function() return 0 end
      api.reset()
      assert.same({ kallsyms = "/proc/kallsyms", partitions = "/proc/partitions" }, api.paths)
      assert.equal(default_now, api.now)
    end)
  end)

  describe("now", function()
    it("is a monotonic clock in seconds", function()
      local a = api.now()
      local b = api.now()
      assert.is_true(a > 0)
      assert.is_true(b >= a)
    end)
  end)
end)
