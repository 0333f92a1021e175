-- The web surface with --web.config.file (issue 15): TLS with certificates
-- made here by openssl, client certificates, basic auth with htpasswd's
-- bcrypt hashes, response headers and changes without a restart, through
-- real clients (curl, openssl s_client) and a real Prometheus scraping with
-- the README's web config and scrape config.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local prometheus = require("helpers.prometheus")

-- Exporters a spec started and has not stopped: a failing spec leaves none
-- running. Those of a describe's setup are its teardown's to stop.
local tracked_start, stop = helper.tracked(after_each)

local function start(opts, shared)
  local e = tracked_start(opts, shared)
  e.https = "https://localhost:" .. e.port
  return e
end

--- A CA; server certificates for localhost and 127.0.0.1 signed by it
-- (server: CN server-one, server2: CN server-two); client certificates it
-- signed (client: SAN prometheus.monitoring.svc, other: intruder.example)
-- and a self-signed one with the good SAN.
local function certificates(dir)
  files.run(([[
set -e; mkdir -p %s/tls; cd %s/tls
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1 2>/dev/null; }
key ca.key; openssl req -x509 -new -key ca.key -subj /CN=elx-spec-ca -days 2 -out ca.pem
sign() {
  key $1.key; openssl req -new -key $1.key -subj /CN=$2 -out $1.csr
  printf 'subjectAltName=%%s\n' "$3" >$1.ext
  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $1.ext -out $1.pem 2>/dev/null
}
sign server server-one DNS:localhost,IP:127.0.0.1
sign server2 server-two DNS:localhost,IP:127.0.0.1
sign client prometheus DNS:prometheus.monitoring.svc
sign other intruder DNS:intruder.example
key self.key
openssl req -x509 -new -key self.key -subj /CN=self -addext subjectAltName=DNS:prometheus.monitoring.svc -days 2 -out self.pem
]]):format(dir, dir))
end

local function bcrypt(password)
  return (files.run(("htpasswd -nbBC 10 '' '%s' | tr -d ':\\n'"):format(password)))
end

--- GET (or `method`) over TLS with curl; body, HTTP status (nil when the
-- connection failed), headers, curl's exit code.
local function fetch(e, path, args)
  local hdr = e.work .. "/https-headers"
  os.remove(hdr)
  local body, code = helper.sh(("curl -s -D %s --cacert %s/tls/ca.pem %s '%s%s'"):format(
    hdr, e.dir, args or "", e.https, path))
  local headers = helper.read_file(hdr) or ""
  if os.getenv("ELX_DEBUG_SPEC") then print(path, args, code, body) end
  return body, tonumber(headers:match("^HTTP/1%.1 (%d+)")), headers, code
end

-- Exactly these header lines, in this order, among a response's.
local SECURITY_HEADERS = "Content-Security-Policy: default-src 'none'\r\nStrict-Transport-Security: "
  .. "max-age=31536000\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: deny\r\n"

local WEB_YML = [[
tls_server_config:
  cert_file: tls/server.pem
  key_file: tls/server.key
http_server_config:
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Content-Type-Options: nosniff
    X-Frame-Options: deny
    Content-Security-Policy: "default-src 'none'"
basic_auth_users:
  prometheus: %s
]]

describe("TLS and basic auth from --web.config.file", function()
  local dir, e
  setup(function()
    dir = helper.tmpdir()
    certificates(dir)
    files.write(dir .. "/web.yml", WEB_YML:format(bcrypt("first secret")))
    e = start({ names = "uprobe_test", args = ("--debug --web.enable-lifecycle --web.config.file=%s/web.yml")
      :format(dir) }, true)
    e.dir = dir
  end)
  teardown(function()
    assert.equal(0, (stop(e)))
    os.execute("rm -rf " .. dir)
  end)

  it("refuses cleartext and TLS 1.1, and serves TLS 1.2 and 1.3", function()
    local body, code = helper.sh(("curl -s -w '%%{http_code}' http://127.0.0.1:%d/metrics"):format(e.port))
    assert.equal(0, code)
    assert.equal("400 this server speaks TLS: use https\n400", body)
    local function s_client(version)
      return helper.sh(("echo | openssl s_client -connect 127.0.0.1:%d %s -CAfile %s/tls/ca.pem 2>&1")
        :format(e.port, version, dir))
    end
    -- The client offers TLS 1.1 (at OpenSSL's security level 0, which it needs): the server says no.
    local out, rc = s_client("-tls1_1 -cipher DEFAULT:@SECLEVEL=0")
    assert.are_not.equal(0, rc)
    assert.is_truthy(out:find("alert protocol version", 1, true), out)
    for _, v in ipairs({ { "-tls1_2", "TLSv1.2" }, { "-tls1_3", "TLSv1.3" } }) do
      out, rc = s_client(v[1])
      assert.equal(0, rc, out)
      assert.is_truthy(out:find("\nNew, " .. v[2] .. ", Cipher is ", 1, true), out)
      assert.is_truthy(out:find("Verify return code: 0 (ok)", 1, true), out)
    end
  end)

  it("asks for credentials on every endpoint but the probes, with WWW-Authenticate: Basic", function()
    for _, req in ipairs({ { "/metrics" }, { "/" }, { "/maps" }, { "/-/reload", "-X POST" }, { "/nope" } }) do
      for _, creds in ipairs({ "", "-u prometheus:wrong", "-u nobody:first\\ secret", "-H 'Authorization: Bearer x'" }) do
        local body, status, headers = fetch(e, req[1], (req[2] or "") .. " " .. creds)
        assert.equal(401, status, req[1] .. " " .. creds)
        assert.equal("401 Unauthorized\n", body)
        assert.is_truthy(headers:find("\r\nWWW-Authenticate: Basic\r\n", 1, true), headers)
      end
    end
    local good = "-u 'prometheus:first secret'"
    local body, status = fetch(e, "/metrics", good)
    assert.equal(200, status)
    assert.is_truthy(body:find('\nebpf_exporter_enabled_configs{name="uprobe_test"} 1\n', 1, true))
    body, status = fetch(e, "/maps", good)
    assert.equal(200, status)
    assert.is_truthy(body:find("test_hits_by_value_total", 1, true), body)
    assert.equal(200, select(2, fetch(e, "/", good)))
    assert.equal("reloaded\n", (fetch(e, "/-/reload", "-X POST " .. good)))
    assert.equal("healthy\n", (fetch(e, "/-/healthy")))
    assert.equal("ready: 1 of 1 programs attached\n", (fetch(e, "/-/ready")))
  end)

  it("adds the configured headers to every response, errors included", function()
    local good = "-u 'prometheus:first secret'"
    for _, case in ipairs({
      { "/metrics", good, 200 }, { "/metrics", "", 401 }, { "/nope", good, 404 }, { "/metrics", "-X POST " .. good, 405 },
      { "/metrics?collect%5B%5D=a&exclude%5B%5D=b", good, 400 }, { "/-/healthy", "", 200 },
    }) do
      local _, status, headers = fetch(e, case[1], case[2])
      assert.equal(case[3], status, case[1])
      assert.is_truthy(headers:find("\r\n" .. SECURITY_HEADERS, 1, true), headers)
    end
  end)

  it("takes a new certificate and password without a restart, and keeps them when the file breaks", function()
    local function subject()
      local out = helper.sh(("echo | openssl s_client -connect 127.0.0.1:%d -CAfile %s/tls/ca.pem 2>/dev/null "
        .. "| openssl x509 -noout -subject"):format(e.port, dir))
      return out:match("CN ?= ?([%w-]+)")
    end
    assert.equal("server-one", subject())
    -- A rotation as tools make it: new files, then renamed over the old ones.
    files.run(("cd %s/tls && cp server2.pem new.pem && cp server2.key new.key && mv new.key server.key && "
      .. "mv new.pem server.pem"):format(dir))
    files.write(dir .. "/web.yml.new", WEB_YML:format(bcrypt("second secret")))
    files.run(("mv %s/web.yml.new %s/web.yml"):format(dir, dir))
    helper.sleep(1.1)
    assert.equal("server-two", subject())
    assert.equal(401, select(2, fetch(e, "/metrics", "-u 'prometheus:first secret'")))
    assert.equal(200, select(2, fetch(e, "/metrics", "-u 'prometheus:second secret'")))
    -- A key that does not match the certificate: the config in force stays, and the log says why.
    files.run(("cp %s/tls/other.key %s/tls/server.key"):format(dir, dir))
    helper.sleep(1.1)
    assert.equal("server-two", subject())
    -- Broken YAML: the same.
    files.write(dir .. "/web.yml", "basic_auth_users: [\n")
    helper.sleep(1.1)
    assert.equal(200, select(2, fetch(e, "/metrics", "-u 'prometheus:second secret'")))
    local log = helper.read_file(e.log)
    assert.is_truthy(log:find(("error: %s/web.yml: tls_server_config.key_file: %s/tls/server.key: the key does "
      .. "not match the certificate\n"):format(dir, dir), 1, true), log)
    assert.is_truthy(log:find(("error: %s/web.yml: line 1, column 19: not valid YAML: did not find expected node "
      .. 'content: "basic_auth_users: ["\n'):format(dir), 1, true), log)
    local _, kept = log:gsub("error: web config " .. dir:gsub("%p", "%%%0") .. "/web.yml: the previous one stays in force\n", "")
    assert.equal(2, kept)
    assert.is_truthy(log:find(("info: web config %s/web.yml read again: TLS (client certificates: NoClientCert), "
      .. "basic auth (1 user), response headers\n"):format(dir), 1, true), log)
  end)
end)

describe("client certificates", function()
  it("are required and verified: the CA's, with an allowed SAN", function()
    local dir = helper.tmpdir()
    certificates(dir)
    files.write(dir .. "/web.yml", [[
tls_server_config:
  cert_file: tls/server.pem
  key_file: tls/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: tls/ca.pem
  client_allowed_sans: [prometheus.monitoring.svc, 192.0.2.1]
]])
    local e = start({ names = "uprobe_test", args = "--web.config.file=" .. dir .. "/web.yml" })
    e.dir = dir
    local function with(cert)
      return cert and ("--cert %s/tls/%s.pem --key %s/tls/%s.key"):format(dir, cert, dir, cert) or ""
    end
    local body, status = fetch(e, "/metrics", with("client"))
    assert.equal(200, status)
    assert.is_truthy(body:find("\nebpf_exporter_test_hits_total 0\n", 1, true))
    -- None, one of the CA's without an allowed SAN, a self-signed one with it.
    for _, cert in ipairs({ false, "other", "self" }) do
      local _, st, _, rc = fetch(e, "/metrics", with(cert))
      assert.is_nil(st, tostring(cert))
      assert.are_not.equal(0, rc)
    end
    -- In TLS 1.2 the refusal comes in the handshake, where s_client shows it.
    for _, case in ipairs({ { false, "handshake failure" }, { "other", "handshake failure" }, { "self", "unknown ca" } }) do
      local out = helper.sh(("echo | openssl s_client -connect 127.0.0.1:%d -tls1_2 -CAfile %s/tls/ca.pem %s 2>&1")
        :format(e.port, dir, with(case[1])))
      assert.is_truthy(out:find("alert " .. case[2], 1, true), out)
    end
    assert.equal(0, (stop(e)))
    os.execute("rm -rf " .. dir)
  end)
end)

-- The fenced block of the README whose first line is `first`.
local function readme_block(first)
  local readme = files.read("README.md")
  for body in readme:gmatch("\n```%w+\n(.-)\n```") do
    if body:sub(1, #first) == first then
      return body .. "\n"
    end
  end
  error("no block starting with " .. first .. " in README.md")
end

describe("the README's web config", function()
  it("serves a real Prometheus with tls_config and basic_auth, and nobody else", function()
    local dir = helper.tmpdir()
    certificates(dir)
    local web = readme_block("# web.yml"):gsub("<bcrypt hash>", bcrypt("scrape me"))
    files.write(dir .. "/web.yml", web)
    local e = start({ names = "uprobe_test", args = "--web.config.file=" .. dir .. "/web.yml" })
    e.dir = dir
    e:target("hit 4321")
    files.write(dir .. "/exporter-password", "scrape me")
    local scrape = readme_block("# prometheus.yml"):gsub("/etc/prometheus/tls/client", dir .. "/tls/client")
      :gsub("/etc/prometheus/tls/", dir .. "/tls/"):gsub("/etc/prometheus/", dir .. "/")
      :gsub("node1%.example:9435", "localhost:" .. e.port)
    local p = prometheus.start("global:\n  scrape_interval: 1s\n" .. scrape)
    local value = p:wait_value("ebpf_exporter_test_hits_total", 4321)
    local up = p:wait_value('up{job="ebpf-lua-exporter"}', 1)
    local log = p:log()
    p:stop()
    assert.equal(4321, value, log)
    assert.equal(1, up)
    -- The same request without the client certificate, or without the password, gets nothing.
    assert.is_nil(select(2, fetch(e, "/metrics", "-u 'prometheus:scrape me'")))
    local cert = ("--cert %s/tls/client.pem --key %s/tls/client.key"):format(dir, dir)
    assert.equal(401, select(2, fetch(e, "/metrics", cert)))
    local _, status, headers = fetch(e, "/metrics", cert .. " -u 'prometheus:scrape me'")
    assert.equal(200, status)
    assert.is_truthy(headers:find("\r\n" .. SECURITY_HEADERS, 1, true), headers)
    assert.equal(0, (stop(e)))
    os.execute("rm -rf " .. dir)
  end)
end)

describe("a web config that does not check", function()
  it("stops the start before anything loads, naming the file and YAML path", function()
    local dir = helper.tmpdir()
    files.write(dir .. "/web.yml", "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n"
      .. "basic_auth_users:\n  prometheus: secret\n")
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. helper.spec_dir
      .. " --config.names=uprobe_test --web.config.file=" .. dir .. "/web.yml")
    assert.equal(1, code)
    assert.equal(("error: %s/web.yml: basic_auth_users.prometheus: must be a bcrypt hash, as htpasswd -nBC 10 \"\" "
      .. "| tr -d ':\\n' makes ($2y$10$ and 53 more characters)\n"):format(dir), out)
    files.write(dir .. "/web.yml", "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n")
    out, code = helper.run("--log.no-timestamps --config.check --config.dir=" .. helper.spec_dir
      .. " --config.names=uprobe_test --web.config.file=" .. dir .. "/web.yml")
    assert.equal(1, code)
    assert.equal(("error: %s/web.yml: tls_server_config.cert_file: %s/missing.pem: No such file or directory\n")
      :format(dir, dir), out)
    os.execute("rm -rf " .. dir)
  end)
end)
