-- The web config (--web.config.file): exporter-toolkit's file of TLS, basic
-- auth and response headers, checked like any config: every mistake at
-- once, each with the file and its YAML path. The core builds TLS and basic
-- auth from the answer (core/web_config.c); the certificate files are its
-- to read. Unlike a metrics config, an unknown key is always an error: a
-- misspelt basic_auth_users would leave every endpoint open.
local ffi = require("ffi")
local lyaml = require("lyaml")
local abi = require("exporter.abi")
local checker = require("exporter.checker")
local config = require("exporter.config")

local M = {}

local present, is_mapping, is_sequence = checker.present, checker.is_mapping, checker.is_sequence

local TOP_KEYS = { tls_server_config = true, http_server_config = true, basic_auth_users = true, rate_limit = true }
local TLS_KEYS = {
  cert = true, key = true, client_ca = true, cert_file = true, key_file = true, client_ca_file = true,
  client_auth_type = true, client_allowed_sans = true, min_version = true, max_version = true,
  cipher_suites = true, prefer_server_cipher_suites = true, curve_preferences = true,
}
local HTTP_KEYS = { http2 = true, headers = true }

-- client_auth_type: enum elx_tls_client_auth; RequireClientCert is
-- exporter-toolkit's old name of RequireAnyClientCert.
local CLIENT_AUTH = {
  NoClientCert = 0, RequestClientCert = 1, RequireAnyClientCert = 2, RequireClientCert = 2,
  VerifyClientCertIfGiven = 3, RequireAndVerifyClientCert = 4,
}
local CLIENT_AUTH_NAMES = "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven "
  .. "or RequireAndVerifyClientCert"
local VERSIONS = { TLS10 = 0x0301, TLS11 = 0x0302, TLS12 = 0x0303, TLS13 = 0x0304 }

-- Go's names of the cipher suites it offers (tls.CipherSuites()), as
-- OpenSSL names them. TLS 1.3 suites cannot be chosen in Go: they are taken
-- and ignored (false), as there.
local CIPHERS = {
  TLS_RSA_WITH_AES_128_CBC_SHA = "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA = "AES256-SHA",
  TLS_RSA_WITH_AES_128_GCM_SHA256 = "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384 = "AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA = "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA = "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA = "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA = "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_AES_128_GCM_SHA256 = false,
  TLS_AES_256_GCM_SHA384 = false,
  TLS_CHACHA20_POLY1305_SHA256 = false,
}
local CURVES = { CurveP256 = "P-256", CurveP384 = "P-384", CurveP521 = "P-521", X25519 = "X25519" }

-- The response headers exporter-toolkit lets a config set, and the values
-- it allows where they are a closed set.
local HEADERS = {
  ["Content-Security-Policy"] = true,
  ["Strict-Transport-Security"] = true,
  ["X-Content-Type-Options"] = { nosniff = true },
  ["X-Frame-Options"] = { deny = true, sameorigin = true },
  ["X-XSS-Protection"] = true,
}

local function optional_string(c, node, key, path)
  local v = node[key]
  if not present(v) then
    return nil
  end
  if type(v) ~= "string" then
    c:fail(path .. key, "must be a string")
    return nil
  end
  return v ~= "" and v or nil
end

local function string_list(c, node, key, path)
  local v = node[key]
  if not present(v) then
    return nil
  end
  if not is_sequence(v) then
    c:fail(path .. key, "must be a list of strings")
    return nil
  end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" then
      c:fail(("%s%s[%d]"):format(path, key, i - 1), "must be a string")
    else
      out[#out + 1] = s
    end
  end
  return out
end

-- A file named in the config is relative to the config's directory, as in
-- exporter-toolkit.
local function beside(file, dir)
  if not file or file:sub(1, 1) == "/" or dir == "." then
    return file
  end
  return dir .. "/" .. file
end

local function one_of(c, t, inline, file, path)
  if t[inline] and t[file] then
    c:fail(path .. file, "give either %s or %s, not both", file, inline)
  end
  return t[inline] or t[file]
end

local function version(c, node, key, path, default)
  local v = node[key]
  if not present(v) then
    return default
  end
  if type(v) ~= "string" or not VERSIONS[v] then
    c:fail(path .. key, "%s is not a TLS version: TLS10, TLS11, TLS12 or TLS13", tostring(v))
    return default
  end
  return VERSIONS[v]
end

-- A list of names, each mapped by `known` (false: taken and left out).
local function mapped_list(c, node, key, path, known, what)
  local names = string_list(c, node, key, path)
  if not names then
    return nil
  end
  local out = {}
  for i, n in ipairs(names) do
    if known[n] == nil then
      c:fail(("%s%s[%d]"):format(path, key, i - 1), "unknown %s %q", what, n)
    elseif known[n] then
      out[#out + 1] = known[n]
    end
  end
  return #out > 0 and table.concat(out, ":") or nil
end

local function check_client_auth(c, node, path, t)
  local v = node.client_auth_type
  t.client_auth = 0
  if present(v) and (type(v) ~= "string" or not CLIENT_AUTH[v]) then
    c:fail(path .. "client_auth_type", "%s is not one of %s", tostring(v), CLIENT_AUTH_NAMES)
  elseif present(v) then
    t.client_auth = CLIENT_AUTH[v]
  end
  local ca = t.client_ca_file or t.client_ca
  if ca and t.client_auth == 0 then
    c:fail(path .. (t.client_ca_file and "client_ca_file" or "client_ca"),
      "client CAs need a client_auth_type that asks for client certificates")
  elseif not ca and (t.client_auth == 3 or t.client_auth == 4) then
    c:fail(path .. "client_auth_type", "%s needs client_ca_file or client_ca to check certificates against", v)
  end
  t.client_allowed_sans = string_list(c, node, "client_allowed_sans", path)
  if t.client_allowed_sans and t.client_auth ~= 2 and t.client_auth ~= 4 then
    c:fail(path .. "client_allowed_sans",
      "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (a client must send a certificate)")
  end
end

local function check_tls(c, node, dir)
  local path = "tls_server_config."
  c:known_keys(node, "tls_server_config", TLS_KEYS)
  local t = {}
  for _, k in ipairs({ "cert", "key", "client_ca", "cert_file", "key_file", "client_ca_file" }) do
    t[k] = optional_string(c, node, k, path)
  end
  one_of(c, t, "cert", "cert_file", path)
  one_of(c, t, "key", "key_file", path)
  one_of(c, t, "client_ca", "client_ca_file", path)
  t.cert_file, t.key_file, t.client_ca_file = beside(t.cert_file, dir), beside(t.key_file, dir),
    beside(t.client_ca_file, dir)
  -- As exporter-toolkit: any of these turns TLS on; then it needs both.
  t.tls = (t.cert or t.cert_file or t.key or t.key_file or t.client_ca or t.client_ca_file
    or present(node.client_auth_type)) and true or false
  if t.tls and not (t.cert or t.cert_file) then
    c:fail(path .. "cert_file", "missing: TLS needs cert_file or cert")
  end
  if t.tls and not (t.key or t.key_file) then
    c:fail(path .. "key_file", "missing: TLS needs key_file or key")
  end
  check_client_auth(c, node, path, t)
  t.min_version = version(c, node, "min_version", path, VERSIONS.TLS12)
  t.max_version = version(c, node, "max_version", path, 0)
  if t.max_version ~= 0 and t.max_version < t.min_version then
    c:fail(path .. "max_version", "is below min_version")
  end
  t.cipher_suites = mapped_list(c, node, "cipher_suites", path, CIPHERS, "cipher suite")
  t.curve_preferences = mapped_list(c, node, "curve_preferences", path, CURVES, "curve")
  t.prefer_server_cipher_suites = not present(node.prefer_server_cipher_suites)
    or c:optional_bool(node, "prefer_server_cipher_suites", "tls_server_config")
  return t
end

-- The header lines of http_server_config.headers, in name order.
local function check_headers(c, node, path)
  if not is_mapping(node) then
    c:fail(path, "must be a mapping of header names to values")
    return nil
  end
  local names = {}
  for name in pairs(node) do
    names[#names + 1] = tostring(name)
  end
  table.sort(names)
  local lines = {}
  for _, name in ipairs(names) do
    local v, hpath = node[name], path .. "." .. name
    local allowed = HEADERS[name]
    if not allowed then
      c:fail(hpath, "this header cannot be set (Content-Security-Policy, Strict-Transport-Security, "
        .. "X-Content-Type-Options, X-Frame-Options or X-XSS-Protection can)")
    elseif present(v) and type(v) ~= "string" then
      c:fail(hpath, "must be a string")
    elseif present(v) and v:find("[%c\127]") then
      c:fail(hpath, "must not hold control characters (a line break would start a header of its own)")
    elseif present(v) and v ~= "" and type(allowed) == "table" and not allowed[v] then
      local values = {}
      for a in pairs(allowed) do
        values[#values + 1] = a
      end
      table.sort(values)
      c:fail(hpath, "%q is not %s", v, table.concat(values, " or "))
    elseif present(v) and v ~= "" then
      lines[#lines + 1] = name .. ": " .. v .. "\r\n"
    end
  end
  return #lines > 0 and table.concat(lines) or nil
end

local function check_http(c, node)
  c:known_keys(node, "http_server_config", HTTP_KEYS)
  c:optional_bool(node, "http2", "http_server_config")
  if present(node.headers) then
    return check_headers(c, node.headers, "http_server_config.headers")
  end
end

-- "$2y$10$" and 53 characters of bcrypt's base64: what htpasswd -B makes.
local function is_bcrypt(hash)
  local cost = hash:match("^%$2[abxy]%$(%d%d)%$[./A-Za-z0-9]+$")
  return cost and #hash == 60 and tonumber(cost) >= 4 and tonumber(cost) <= 31
end

local function check_users(c, node)
  local path = "basic_auth_users"
  if not is_mapping(node) then
    c:fail(path, "must be a mapping of user names to bcrypt hashes")
    return {}
  end
  local users, names = {}, {}
  for name in pairs(node) do
    names[#names + 1] = name
  end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  for _, name in ipairs(names) do
    local hash, upath = node[name], path .. "." .. tostring(name)
    if type(name) ~= "string" or name == "" then
      c:fail(upath, "a user name must be a non-empty string (quote it)")
    elseif name:find(":", 1, true) or name:find("[%c\127]") then
      c:fail(upath, "a user name cannot hold ':' or control characters (basic auth sends user:password)")
    elseif type(hash) ~= "string" or not is_bcrypt(hash) then
      c:fail(upath, 'must be a bcrypt hash, as htpasswd -nBC 10 "" | tr -d \':\\n\' makes '
        .. "($2y$10$ and 53 more characters)")
    else
      users[#users + 1] = { name = name, hash = hash }
    end
  end
  return users
end

local function check(c, doc, dir)
  local cfg = { tls = { tls = false, client_auth = 0, min_version = VERSIONS.TLS12, max_version = 0 }, users = {} }
  if not present(doc) then
    return cfg -- an empty file: no TLS, no auth, as in exporter-toolkit
  end
  if not is_mapping(doc) then
    c:fail("", "the web config must be a mapping (tls_server_config, http_server_config, basic_auth_users)")
    return cfg
  end
  c:known_keys(doc, "", TOP_KEYS)
  if present(doc.rate_limit) then
    c:fail("rate_limit", "not supported by ebpf-lua-exporter: limit requests in front of it")
  end
  if present(doc.tls_server_config) then
    if is_mapping(doc.tls_server_config) then
      cfg.tls = check_tls(c, doc.tls_server_config, dir)
    else
      c:fail("tls_server_config", "must be a mapping")
    end
  end
  if present(doc.http_server_config) then
    if is_mapping(doc.http_server_config) then
      cfg.headers = check_http(c, doc.http_server_config)
    else
      c:fail("http_server_config", "must be a mapping")
    end
  end
  if present(doc.basic_auth_users) then
    cfg.users = check_users(c, doc.basic_auth_users)
  end
  return cfg
end

--- Parses the text of web config `file`. Returns the config, or nil and
-- the list of error lines ("<file>: <yaml path>: <what>").
function M.parse(text, file)
  local c = checker.new(file, true)
  local ok, doc = pcall(lyaml.load, text)
  if not ok then
    c:fail("", "%s", config.syntax_error(text, doc))
    return nil, c.errors
  end
  local cfg = check(c, doc, file:match("^(.*)/[^/]*$") or ".")
  if #c.errors > 0 then
    return nil, c.errors
  end
  return cfg
end

--- Reads and parses the web config at `path`.
function M.load(path)
  local f, err = io.open(path, "r")
  if not f then
    return nil, { path .. ": " .. tostring(err):gsub("^[^:]*: ", "") }
  end
  local text = f:read("*a")
  f:close()
  return M.parse(text, path)
end

-- The answer's memory, kept until the next answer.
local kept

--- Fills the out fields of a struct elx_web_config * from a parsed config;
-- returns what holds their memory (this module keeps it too).
function M.answer(call, cfg)
  local t = cfg.tls
  local sans = t.client_allowed_sans or {}
  local users = ffi.new("struct elx_web_user[?]", #cfg.users + 1)
  local san_array = ffi.new("const char *[?]", #sans + 1)
  for i, u in ipairs(cfg.users) do
    users[i - 1].name, users[i - 1].hash = u.name, u.hash
  end
  for i, s in ipairs(sans) do
    san_array[i - 1] = s
  end
  kept = { cfg, users, san_array }
  call.tls, call.client_auth = t.tls and 1 or 0, t.client_auth
  call.cert_file, call.cert, call.key_file, call.key = t.cert_file, t.cert, t.key_file, t.key
  call.client_ca_file, call.client_ca = t.client_ca_file, t.client_ca
  call.client_allowed_sans, call.nclient_allowed_sans = san_array, #sans
  call.min_version, call.max_version = t.min_version, t.max_version
  call.prefer_server_cipher_suites = t.prefer_server_cipher_suites == false and 0 or 1
  call.cipher_suites, call.curve_preferences = t.cipher_suites, t.curve_preferences
  call.users, call.nusers = users, #cfg.users
  call.headers = cfg.headers
  return kept
end

--- ELX_ENTRY_WEB_CONFIG, with a struct elx_web_config *: reads and checks
-- --web.config.file. It needs no init: the core asks a state of its own.
function M.entry(call)
  local ok, err = abi.check()
  if not ok then
    return nil, err
  end
  local cfg, errors = M.load(ffi.string(call.path))
  if not cfg then
    return nil, table.concat(errors, "\n")
  end
  M.answer(call, cfg)
  return true
end

return M
