-- Hostile and clumsy clients against the real exporter: none of them may kill,
-- hang or bloat it (issue 9). Each case reproduces a finding against the binary.
local helper = require("helpers.exporter")
local files = require("helpers.files")

--- Runs a Python client script (argv[1] is the port) and returns its output.
local function client(e, script)
  local path = files.tmpdir() .. "/client.py"
  files.write(path, script)
  local out, code = helper.sh(("/usr/bin/python3.11 %s %d"):format(path, e.port))
  assert(code == 0, "client failed: " .. out)
  return out
end

describe("a client that closes its connection early", function()
  -- Pipelined requests, then close: the server's writes of the later responses
  -- meet a closed socket (EPIPE), which used to raise SIGPIPE and exit 141.
  local CLOSER = [[
import socket, sys
for path in ["/", "/metrics"] * 10:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode() * 50)
    s.close()
]]

  it("costs that connection, never the process", function()
    local e = helper.start({ names = "uprobe_test" })
    client(e, CLOSER)
    local _, status = e:get("/")
    assert.equal(200, status)
    assert.equal(0, (e:stop()))
  end)
end)
