-- The web config (--web.config.file): exporter-toolkit's keys and what each
-- becomes in the core's struct elx_web_config, and every mistake, all at
-- once, with the file and the YAML path.
local ffi = require("ffi")
local web_config = require("exporter.web_config")

local HASH = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"

local function parse(text, file)
  return web_config.parse(text, file or "/etc/elx/web.yml")
end

-- The answer as the core reads it.
local function answer(cfg)
  local call = ffi.new("struct elx_web_config")
  web_config.answer(call, cfg)
  local function str(p) return p ~= nil and ffi.string(p) or nil end
  local out = {
    tls = call.tls, client_auth = call.client_auth, cert_file = str(call.cert_file), cert = str(call.cert),
    key_file = str(call.key_file), key = str(call.key), client_ca_file = str(call.client_ca_file),
    client_ca = str(call.client_ca), min_version = call.min_version, max_version = call.max_version,
    prefer = call.prefer_server_cipher_suites, ciphers = str(call.cipher_suites),
    curves = str(call.curve_preferences), headers = str(call.headers), sans = {}, users = {},
  }
  for i = 0, call.nclient_allowed_sans - 1 do
    out.sans[#out.sans + 1] = ffi.string(call.client_allowed_sans[i])
  end
  for i = 0, call.nusers - 1 do
    out.users[#out.users + 1] = ffi.string(call.users[i].name) .. "=" .. ffi.string(call.users[i].hash)
  end
  return out
end

describe("the web config", function()
  it("turns every key of exporter-toolkit's format into the core's settings", function()
    local cfg = assert(parse(([[
tls_server_config:
  cert_file: tls/server.pem
  key_file: /keys/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  client_allowed_sans: [prometheus.example, spiffe://example/prom]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP384]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Content-Security-Policy: "default-src 'none'"
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    X-XSS-Protection: ""
basic_auth_users:
  prometheus: %s
  alice: "%s"
]]):format(HASH, HASH)))
    assert.same({
      tls = 1, client_auth = 4, cert_file = "/etc/elx/tls/server.pem", key_file = "/keys/server.key",
      client_ca_file = "/etc/elx/ca.pem", min_version = 0x0304, max_version = 0x0304, prefer = 0,
      ciphers = "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA", curves = "X25519:P-384",
      headers = "Content-Security-Policy: default-src 'none'\r\nStrict-Transport-Security: max-age=31536000\r\n"
        .. "X-Content-Type-Options: nosniff\r\nX-Frame-Options: deny\r\n",
      sans = { "prometheus.example", "spiffe://example/prom" },
      users = { "alice=" .. HASH, "prometheus=" .. HASH },
    }, answer(cfg))
  end)

  it("takes inline PEM, and the defaults: TLS 1.2 up, no client certificates", function()
    local cfg = assert(parse("tls_server_config:\n  cert: CERT\n  key: KEY\n", "web.yml"))
    assert.same({ tls = 1, client_auth = 0, cert = "CERT", key = "KEY", min_version = 0x0303, max_version = 0,
      prefer = 1, sans = {}, users = {} }, answer(cfg))
    -- A file in the working directory stays relative to it.
    cfg = assert(parse("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n", "web.yml"))
    assert.equal("c.pem", answer(cfg).cert_file)
  end)

  it("is plain HTTP without a word of TLS, as an empty file is", function()
    for _, text in ipairs({ "", "# nothing\n", "tls_server_config: {}\n", "basic_auth_users: {}\n" }) do
      assert.same({ tls = 0, client_auth = 0, min_version = 0x0303, max_version = 0, prefer = 1, sans = {},
        users = {} }, answer(assert(parse(text))), text)
    end
  end)

  it("names every mistake with the file and the YAML path", function()
    local _, errors = parse(([[
tls_server_config:
  cert: x
  cert_file: y
  client_auth_type: Maybe
  client_allowed_sans: [1]
  min_version: TLS9
  max_version: TLS10
  cipher_suites: [NOPE]
  curve_preferences: [CurveP999]
  prefer_server_cipher_suites: "yes"
  certfile: z
http_server_config:
  http3: true
  headers:
    X-Frame-Options: allow
    Server: x
    X-XSS-Protection: "1\nSet-Cookie: a"
basic_auth_user:
  x: y
basic_auth_users:
  "a:b": %s
  bob: plaintext
  carol: $2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG
rate_limit: {interval: 1s}
]]):format(HASH), "web.yml")
    assert.same({
      "web.yml: basic_auth_user: unknown key; did you mean basic_auth_users?",
      "web.yml: rate_limit: not supported by ebpf-lua-exporter: limit requests in front of it",
      "web.yml: tls_server_config.certfile: unknown key; did you mean cert_file?",
      "web.yml: tls_server_config.cert_file: give either cert_file or cert, not both",
      "web.yml: tls_server_config.key_file: missing: TLS needs key_file or key",
      "web.yml: tls_server_config.client_auth_type: Maybe is not one of NoClientCert, RequestClientCert, "
        .. "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert",
      "web.yml: tls_server_config.client_allowed_sans[0]: must be a string",
      "web.yml: tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert or "
        .. "RequireAndVerifyClientCert (a client must send a certificate)",
      "web.yml: tls_server_config.min_version: TLS9 is not a TLS version: TLS10, TLS11, TLS12 or TLS13",
      "web.yml: tls_server_config.max_version: is below min_version",
      'web.yml: tls_server_config.cipher_suites[0]: unknown cipher suite "NOPE"',
      'web.yml: tls_server_config.curve_preferences[0]: unknown curve "CurveP999"',
      "web.yml: tls_server_config.prefer_server_cipher_suites: must be true or false",
      "web.yml: http_server_config.http3: unknown key; did you mean http2?",
      "web.yml: http_server_config.headers.Server: this header cannot be set (Content-Security-Policy, "
        .. "Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options or X-XSS-Protection can)",
      'web.yml: http_server_config.headers.X-Frame-Options: "allow" is not deny or sameorigin',
      "web.yml: http_server_config.headers.X-XSS-Protection: must not hold control characters (a line break "
        .. "would start a header of its own)",
      "web.yml: basic_auth_users.a:b: a user name cannot hold ':' or control characters (basic auth sends "
        .. "user:password)",
      "web.yml: basic_auth_users.bob: must be a bcrypt hash, as htpasswd -nBC 10 \"\" | tr -d ':\\n' makes "
        .. "($2y$10$ and 53 more characters)",
      "web.yml: basic_auth_users.carol: must be a bcrypt hash, as htpasswd -nBC 10 \"\" | tr -d ':\\n' makes "
        .. "($2y$10$ and 53 more characters)",
    }, errors)
  end)

  it("asks client certificates of the policies that check them", function()
    local _, errors = parse("tls_server_config:\n  cert: c\n  key: k\n  client_ca: CA\n", "w.yml")
    assert.same({ "w.yml: tls_server_config.client_ca: client CAs need a client_auth_type that asks for client "
      .. "certificates" }, errors)
    _, errors = parse("tls_server_config:\n  cert: c\n  key: k\n  client_auth_type: VerifyClientCertIfGiven\n",
      "w.yml")
    assert.same({ "w.yml: tls_server_config.client_auth_type: VerifyClientCertIfGiven needs client_ca_file or "
      .. "client_ca to check certificates against" }, errors)
    -- RequireAnyClientCert checks nothing: no CA needed; RequireClientCert is its old name.
    local cfg = assert(parse("tls_server_config:\n  cert: c\n  key: k\n  client_auth_type: RequireClientCert\n"))
    assert.equal(2, answer(cfg).client_auth)
  end)

  it("says where YAML breaks, and when the file is missing", function()
    local _, errors = parse("basic_auth_users: [\n", "w.yml")
    assert.same({ 'w.yml: line 1, column 19: not valid YAML: did not find expected node content: '
      .. '"basic_auth_users: ["' }, errors)
    _, errors = parse("- a\n", "w.yml")
    assert.same({ "w.yml: the web config must be a mapping (tls_server_config, http_server_config, "
      .. "basic_auth_users)" }, errors)
    _, errors = web_config.load("/nonexistent/web.yml")
    assert.same({ "/nonexistent/web.yml: No such file or directory" }, errors)
  end)
end)
