-- Users' decoders run with least privilege (issue 9, "Decoders run with least
-- privilege"): what the sandbox gives them, what it refuses and how it says
-- so, and that nothing they do reaches the exporter's own functions.
local api = require("exporter.decoder_api")
local decoders = require("exporter.decoders")
local log = require("exporter.log")

local function decoder_dir(sources)
  local dir = (io.popen("mktemp -d"):read("*l"))
  for name, source in pairs(sources) do
    local f = assert(io.open(dir .. "/" .. name .. ".lua", "w"))
    f:write(source)
    f:close()
  end
  return dir
end

-- A decoder whose decode function runs `body` with the input in `s` and
-- returns what it returns (as a string).
local function probe(body)
  return ("local api = require('exporter.decoder_api')\n"
    .. "return { new = function() return function(s) return tostring((function() %s end)()) end end }\n"):format(body)
end

describe("the decoder sandbox", function()
  local dir, registry
  local PROBES = {
    io = "return io.open('/etc/hostname')",
    os_exit = "os.exit(1)",
    os_execute = "return os.execute('true')",
    os_remove = "return os.remove('/tmp/x')",
    os_time = "return type(os.time()) .. ' ' .. type(os.clock())",
    ffi = "return require('ffi')",
    jit = "return jit.version",
    debug = "return debug.getregistry()",
    load = "return loadstring('return 1')",
    getfenv = "return getfenv(0)",
    rawset = "return rawset(_G, 'x', 1)",
    dump = "return string.dump(function() end)",
    collect = "collectgarbage('stop')",
    count = "return type(collectgarbage('count'))",
    package = "return package.loaded",
    api_write = "api.read_uint = nil",
    paths_write = "api.paths.kallsyms = '/etc/shadow'",
    reset = "return tostring(api.reset)",
    string_meta = "return getmetatable('')",
    api_meta = "return getmetatable(api)",
    replace_own = "string.format = function() return 'mine' end return string.format('%d', 1)",
    global = "SHARED = 'set by one decoder' return SHARED",
    other_global = "return tostring(SHARED)",
    state = "api.state('ksym').stolen = true return 'ok'",
    pcall = "local ok, err = pcall(error, 'caught', 0) return tostring(ok) .. ' ' .. err",
    shadow = "return select(2, api.read_file('/etc/shadow'))",
    proc = "return (api.read_file('/proc/self/stat'):match('^%d+ %('))",
    dev = "return select(2, api.read_file('/dev/zero'))",
    lines = "local n = 0 for _ in api.lines('/proc/self/status') do n = n + 1 end return n > 5",
    print = "print('hello', 42) return 'printed'",
  }

  setup(function()
    local sources = {}
    for name, body in pairs(PROBES) do
      sources[name] = probe(body)
    end
    dir = decoder_dir(sources)
    registry = assert(decoders.load({ decoders.builtin_dir(), dir }))
  end)
  teardown(function()
    os.execute("rm -rf " .. dir)
    api.reset()
  end)

  local function run(name)
    local decode = assert(registry:new({ name = name }, { path = "p" }))
    local out, err = decode("7")
    return out or err
  end

  local function refused(name, line, what)
    return ('decoder "%s" raised: %s/%s.lua:%d: %s'):format(name, dir, name, line, what)
  end
  local UNRESTRICTED = "(--decoders.unrestricted allows it)"

  it("has no io, os.exit, os.execute, FFI, jit, debug or loading of code, and says so", function()
    local cases = {
      io = "io (read files with api.read_file or api.lines) is not available to decoders " .. UNRESTRICTED,
      os_exit = "os.exit is not available to decoders " .. UNRESTRICTED,
      os_execute = "os.execute is not available to decoders " .. UNRESTRICTED,
      os_remove = "os.remove is not available to decoders " .. UNRESTRICTED,
      ffi = 'require("ffi"): decoders may require exporter.decoder_api, string, table, math, bit, coroutine and os '
        .. UNRESTRICTED,
      jit = "jit is not available to decoders " .. UNRESTRICTED,
      debug = "debug is not available to decoders " .. UNRESTRICTED,
      load = "loadstring is not available to decoders " .. UNRESTRICTED,
      getfenv = "getfenv is not available to decoders " .. UNRESTRICTED,
      rawset = "rawset is not available to decoders " .. UNRESTRICTED,
      package = "package is not available to decoders " .. UNRESTRICTED,
      collect = 'collectgarbage("stop") is not available to decoders; "count" is',
    }
    for name, what in pairs(cases) do
      assert.equal(refused(name, 2, what), run(name), name)
    end
    assert.equal(refused("dump", 2, "attempt to call field 'dump' (a nil value)"), run("dump"))
  end)

  it("keeps what decoders need: os.time and os.clock, pcall, the heap size, print to the log", function()
    assert.equal("number number", run("os_time"))
    assert.equal("false caught", run("pcall"))
    assert.equal("number", run("count"))
    local logged, info = {}, log.info
    log.info = function(msg) logged[#logged + 1] = msg end
    local out = run("print")
    log.info = info
    assert.equal("printed", out)
    assert.same({ 'decoder "print": hello\t42' }, logged)
  end)

  it("cannot change the exporter's functions or tables, nor reach them through metatables", function()
    local read_uint, kallsyms, format = api.read_uint, api.paths.kallsyms, string.format
    assert.equal(refused("api_write", 2, "api.read_uint: api is read-only for decoders"), run("api_write"))
    assert.equal(refused("paths_write", 2, "api.paths.kallsyms: api.paths is read-only for decoders"),
      run("paths_write"))
    assert.equal("nil", run("reset"))
    assert.equal("nil", run("string_meta"))
    assert.equal("false", run("api_meta"))
    assert.equal("mine", run("replace_own")) -- its own copy of string
    assert.equal(read_uint, api.read_uint)
    assert.equal(kallsyms, api.paths.kallsyms)
    assert.equal(format, string.format)
    assert.equal("1", string.format("%d", 1))
  end)

  it("gives each decoder file its own globals and its own state tables", function()
    assert.equal("set by one decoder", run("global"))
    assert.equal("nil", run("other_global"))
    assert.is_nil(rawget(_G, "SHARED"))
    assert.equal("ok", run("state"))
    assert.is_nil(api.state("ksym").stolen)
  end)

  it("reads only regular files that every user may read, such as /proc", function()
    assert.equal("/etc/shadow: not readable by every user: decoders read only files that every user may read",
      run("shadow"))
    assert.equal("/dev/zero: not a regular file: decoders read only files that every user may read", run("dev"))
    assert.is_truthy(run("proc"):match("^%d+ %($"), run("proc"))
    assert.equal("true", run("lines"))
  end)
end)

describe("built-in decoders", function()
  it("keep all of LuaJIT: they are the exporter's own", function()
    local dir = decoder_dir({ mine = probe("return 1") })
    local registry = assert(decoders.load({ decoders.builtin_dir(), dir }))
    os.execute("rm -rf " .. dir)
    -- ksym reaches the core's index through the FFI, which the sandbox lacks.
    for _, name in ipairs(registry:names()) do
      local builtin = name ~= "mine"
      assert.equal(builtin, getfenv(registry.mods[name].new) == _G, name)
      assert.equal(builtin, registry.paths[name].builtin, name)
    end
  end)
end)

describe("--decoders.unrestricted", function()
  it("gives users' decoders LuaJIT's own globals", function()
    local dir = decoder_dir({ free = probe("return type(io.open) .. ' ' .. type(require('ffi').C)") })
    local registry = assert(decoders.load({ decoders.builtin_dir(), dir }, nil, { unrestricted = true }))
    local out = assert(registry:new({ name = "free" }, { path = "p" }))("7")
    os.execute("rm -rf " .. dir)
    assert.equal("function userdata", out)
  end)
end)

describe("label values", function()
  it("may be at most decoders.MAX_VALUE bytes, from any decoder", function()
    local dir = decoder_dir({ long = "return { new = function() return function(s) return ('x'):rep(tonumber(s)) end end }\n" })
    local registry = assert(decoders.load({ decoders.builtin_dir(), dir }))
    local decode = assert(registry:new({ name = "long" }, { path = "p" }))
    os.execute("rm -rf " .. dir)
    assert.equal(16384, decoders.MAX_VALUE)
    assert.equal(16384, #decode("16384"))
    local out, err = decode("16385")
    assert.is_nil(out)
    assert.equal('decoder "long" returned a value of 16385 bytes; label values may have at most 16384', err)
    local hex = assert(registry:new({ name = "hex" }, { path = "p" }))
    assert.equal(16384, #hex(("\1"):rep(8192)))
    out, err = hex(("\1"):rep(8193))
    assert.is_nil(out)
    assert.equal('decoder "hex" returned a value of 16386 bytes; label values may have at most 16384', err)
  end)
end)
