-- The tcp-connects example on this kernel: it passes --config.check
-- --config.strict, and counts known connection attempts exactly, IPv4 and
-- IPv6, with addresses printed by the inet_ip decoder.
local helper = require("helpers.exporter")

-- Opens listeners on 127.0.0.1 and [::1] sharing one free port, a bound but
-- not listening socket on another (connecting to it is refused), and makes
-- the given numbers of attempts: AF_INET to 127.0.0.1, AF_INET6 to the
-- IPv4-mapped ::ffff:127.0.0.1, AF_INET6 to ::1, and AF_INET to the refused
-- port. Prints "<port> <refused port>".
local CLIENT = [[
import errno, socket, sys
v4, mapped, v6, refused = (int(a) for a in sys.argv[1:5])
for _ in range(20):
    s6 = socket.socket(socket.AF_INET6)
    s6.bind(("::1", 0))
    port = s6.getsockname()[1]
    s4 = socket.socket(socket.AF_INET)
    try:
        s4.bind(("127.0.0.1", port))
        break
    except OSError:
        s6.close()
        s4.close()
else:
    sys.exit("no port free on both 127.0.0.1 and ::1")
s4.listen(64)
s6.listen(64)
closed = socket.socket(socket.AF_INET)
closed.bind(("127.0.0.1", 0))
closed_port = closed.getsockname()[1]

def attempt(family, addr, port, listener):
    c = socket.socket(family)
    c.connect((addr, port))
    c.close()
    listener.accept()[0].close()

for _ in range(v4):
    attempt(socket.AF_INET, "127.0.0.1", port, s4)
for _ in range(mapped):
    attempt(socket.AF_INET6, "::ffff:127.0.0.1", port, s4)
for _ in range(v6):
    attempt(socket.AF_INET6, "::1", port, s6)
for _ in range(refused):
    c = socket.socket(socket.AF_INET)
    assert c.connect_ex(("127.0.0.1", closed_port)) == errno.ECONNREFUSED
    c.close()
print(port, closed_port)
]]

local function delta(before, after, series)
  return (after[series] or 0) - (before[series] or 0)
end

describe("tcp-connects example", function()
  describe("running", function()
    local e, client
    setup(function()
      e = helper.start({ dir = helper.examples_dir, names = "tcp-connects" })
      client = os.tmpname()
      local f = assert(io.open(client, "w"))
      f:write(CLIENT)
      f:close()
    end)
    teardown(function()
      os.remove(client)
      assert.equal(0, (e:stop()))
    end)

    it("counts exact attempts by destination: IPv4, IPv4-mapped, IPv6 and refused", function()
      local before = e:samples()
      local out, code = helper.sh(("python3 %s 5 4 7 3"):format(client))
      assert.equal(0, code, out)
      local port, refused = out:match("^(%d+) (%d+)\n$")
      assert.is_not_nil(port, out)
      local after = e:samples()
      local function series(daddr, dport)
        return ('ebpf_exporter_tcp_connects_total{daddr="%s",dport="%s"}'):format(daddr, dport)
      end
      -- AF_INET and IPv4-mapped AF_INET6 attempts share one series: 5 + 4.
      assert.equal(9, delta(before, after, series("127.0.0.1", port)))
      assert.equal(7, delta(before, after, series("::1", port)))
      -- A refused connect() still sent its SYN.
      assert.equal(3, delta(before, after, series("127.0.0.1", refused)))
      -- The mapped form never shows as IPv6 text.
      assert.is_nil(after[series("::ffff:127.0.0.1", port)])
      assert.is_nil(after[series("::ffff:7f00:1", port)])
      assert.equal(0, helper.decoder_errors(after, "tcp-connects"))
    end)
  end)
end)
