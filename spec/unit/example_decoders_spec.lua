-- The worked examples of docs/decoders.md, loaded the way users load them:
-- from a directory of decoder scripts.
local api = require("exporter.decoder_api")
local decoders = require("exporter.decoders")

local registry = assert(decoders.load({ decoders.builtin_dir(), "examples/decoders" }, function() end))

local function decoder(options)
  return assert(registry:new(options, { label = "l", config = "c", path = "p" }))
end

describe("example decoder port_service", function()
  before_each(function()
    api.reset()
    api.paths.services = "spec/fixtures/services"
    api.paths.ip_local_port_range = "spec/fixtures/ip_local_port_range"
  end)
  after_each(function() api.reset() end)

  it("names ports from /etc/services, then buckets the rest", function()
    local d = decoder({ name = "port_service" })
    local got = {}
    for _, port in ipairs({ "22", "443", "5432", "67", "80", "1023", "1024", "32767", "32768", "60999", "61000" }) do
      got[#got + 1] = d(port)
    end
    assert.same({ "ssh", "https", "postgresql", "system", "system", "system", "other", "other",
      "ephemeral", "ephemeral", "other" }, got)
  end)

  it("takes the protocol's column and the user's own names first", function()
    local d = decoder({ name = "port_service", protocol = "udp", services = { [9435] = "ebpf-exporter", [53] = "dns" } })
    assert.equal("bootps", d("67"))
    assert.equal("dns", d("53"))
    assert.equal("ebpf-exporter", d("9435"))
  end)

  it("refuses bad options and bad input", function()
    assert.same({ nil, 'port_service: protocol "icmp" is not one of tcp, udp, sctp, dccp' },
      { registry:new({ name = "port_service", protocol = "icmp" }, { path = "p" }) })
    local _, err = registry:new({ name = "port_service" }, { input_size = 2, path = "p" })
    assert.equal("port_service: needs the decimal port from a decoder such as uint first", err)
    local out, derr = decoder({ name = "port_service" })("70000")
    assert.is_nil(out)
    assert.equal("port_service: not a port number: 70000", derr)
  end)
end)

describe("example decoder pid_process", function()
  before_each(function()
    api.reset()
    api.paths.proc = "spec/fixtures/proc"
  end)
  after_each(function() api.reset() end)

  it("gives the command line, kernel threads in brackets, exited processes by pid", function()
    local d = decoder({ name = "pid_process" })
    assert.equal("nginx: worker process --flag", d("4242"))
    assert.equal("/usr/bin/sleep 1000", d("77"))
    assert.equal("[kworker/0:1]", d("9"))
    assert.equal("exited:5", d("5"))
    assert.equal("nginx: wor", decoder({ name = "pid_process", max_length = 10 })("4242"))
  end)

  it("gives the container id, or host", function()
    local d = decoder({ name = "pid_process", show = "container" })
    assert.equal("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", d("4242"))
    assert.equal("host", d("77"))
    assert.equal("exited:5", d("5"))
  end)

  it("keeps an answer for ttl seconds only, since pids are reused", function()
    local proc = os.tmpname()
    os.remove(proc)
    os.execute("mkdir -p " .. proc)
    api.paths.proc = proc
    local now = 1000
    api.now = function() return now end
    local d = decoder({ name = "pid_process", ttl = 30 })
    assert.equal("exited:5", d("5"))
    os.execute("mkdir -p " .. proc .. "/5 && printf 'new\\0process\\0' > " .. proc .. "/5/cmdline")
    now = 1029
    assert.equal("exited:5", d("5")) -- still the cached answer
    now = 1031
    assert.equal("new process", d("5")) -- looked up again after the ttl
    os.execute("rm -rf " .. proc)
  end)
end)
