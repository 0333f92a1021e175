-- Running under systemd: socket activation (fd://N, as ebpf_exporter reads
-- it), readiness and stopping notifications, and the shipped unit files.
local helper = require("helpers.exporter")

local function free_port()
  return tonumber((helper.sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")))
end

describe("systemd", function()
  it("serves on the socket systemd passed with fd://0", function()
    local port = free_port()
    local work = helper.tmpdir()
    helper.sh(("(systemd-socket-activate -l 127.0.0.1:%d %s --config.dir=%s --config.names=uprobe_test "
      .. "--web.listen-address=fd://0 >%s/log 2>&1 & echo $! >%s/pid) </dev/null >/dev/null 2>&1")
      :format(port, helper.binary, helper.spec_dir, work, work))
    -- The first connection makes systemd-socket-activate exec the exporter;
    -- until it listens, connections are refused: retry them for 10 s.
    local body, code = helper.sh(("curl -s -m 20 --retry 40 --retry-delay 0 --retry-max-time 10 "
      .. "--retry-connrefused http://127.0.0.1:%d/metrics"):format(port))
    os.execute("kill -TERM $(cat " .. work .. "/pid)")
    helper.sleep(0.5)
    local log = helper.read_file(work .. "/log")
    os.execute("rm -rf " .. work)
    assert.equal(0, code, log)
    assert.is_truthy(body:find('\nebpf_exporter_enabled_configs{name="uprobe_test"} 1\n', 1, true), log)
    assert.is_truthy(log:find("listening on fd://0 (port " .. port .. ")", 1, true), log)
  end)

  it("says what is wrong with fd://N before loading anything", function()
    local out, code = helper.run("--log.no-timestamps --web.listen-address=fd://0 --config.dir=" .. helper.spec_dir
      .. " --config.names=uprobe_test")
    assert.equal(1, code)
    assert.equal("error: --web.listen-address=fd://0: no sockets were passed (no LISTEN_FDS for this process): "
      .. "use a .socket unit\n", out)
    out, code = helper.run("--log.no-timestamps --web.listen-address=fd://x --config.dir=" .. helper.spec_dir
      .. " --config.names=uprobe_test")
    assert.equal(1, code)
    assert.equal("error: --web.listen-address=fd://x: fd://N needs N, the index of a socket passed by systemd "
      .. "(0 for the first)\n", out)
  end)

  it("notifies READY once serving and STOPPING on SIGTERM", function()
    local work = helper.tmpdir()
    -- A notify socket like systemd's: every datagram goes to a file.
    helper.sh(([[(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w")
while True:
    out.write(s.recv(4096).decode() + "\n--\n"); out.flush()
' %s/notify %s/messages & echo $! > %s/listener) </dev/null >/dev/null 2>&1]]):format(work, work, work))
    -- The messages arrive when the exporter sends them, and reach the file
    -- when the listener gets to them: wait for each, up to 10 s.
    local function wait_for(what, done)
      for _ = 1, 200 do
        local text = helper.read_file(work .. "/messages")
        if done(text) then return text end
        helper.sleep(0.05)
      end
      error("no " .. what .. " in 10 s; received: " .. tostring(helper.read_file(work .. "/messages")))
    end
    wait_for("notify socket", function() return helper.read_file(work .. "/messages") ~= nil end)
    local e = helper.start({ names = "uprobe_test", env = "NOTIFY_SOCKET=" .. work .. "/notify" })
    local ready = wait_for("READY", function(text) return text and text:find("\n--\n", 1, true) end)
    assert.equal(0, (e:stop()))
    wait_for("STOPPING", function(text) return select(2, text:gsub("\n--\n", "")) >= 2 end)
    helper.sleep(0.2) -- nothing more may come
    local all = helper.read_file(work .. "/messages")
    os.execute("kill $(cat " .. work .. "/listener); rm -rf " .. work)
    assert.equal("READY=1\nSTATUS=serving 1 configs on 127.0.0.1:0\n--\n", ready)
    assert.equal(ready .. "STOPPING=1\nSTATUS=detaching programs\n--\n", all)
  end)

  it("ships unit files that systemd accepts", function()
    local work = helper.tmpdir()
    local binary = helper.sh("readlink -f " .. helper.binary):gsub("%s+$", "")
    os.execute(("sed 's|/usr/local/bin/ebpf-lua-exporter|%s|' deploy/ebpf-lua-exporter.service > %s/ebpf-lua-exporter.service"
      .. " && cp deploy/ebpf-lua-exporter.socket %s/"):format(binary, work, work))
    local out, code = helper.sh(("systemd-analyze verify %s/ebpf-lua-exporter.service %s/ebpf-lua-exporter.socket")
      :format(work, work))
    os.execute("rm -rf " .. work)
    assert.equal(0, code, out)
    assert.equal("", out)
  end)
end)
