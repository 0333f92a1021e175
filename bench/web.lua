-- The web surface's cost (issue 15): a 100,000-series scrape over plain
-- HTTP, over TLS (a new connection and handshake per scrape, as Prometheus
-- makes when keep-alive is off, and curl does), and over TLS with basic auth
-- (bcrypt cost 10; the first request hashes, later ones hit the cache), in
-- the same run on the same map.
local common = require("common")
local helper = require("helpers.exporter")
local files = require("helpers.files")

local N, RUNS = 100000, 9

local function certs(dir)
  common.run(([[cd %s && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem 2>/dev/null &&
    openssl req -x509 -new -key key.pem -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -days 2 \
      -out cert.pem 2>/dev/null]]):format(dir))
end

local function web_config(dir, auth)
  local yml = ("tls_server_config:\n  cert_file: %s/cert.pem\n  key_file: %s/key.pem\n"):format(dir, dir)
  if auth then
    local hash = common.run("htpasswd -nbBC 10 '' bench | tr -d ':\\n'")
    yml = yml .. ("basic_auth_users:\n  bench: '%s'\n"):format(hash)
  end
  files.write(dir .. "/web.yml", yml)
end

local function scrape_ms(url, extra)
  local cmd = ("curl -s -f -o /dev/null -w '%%{time_total}' %s %s/metrics"):format(extra or "", url)
  return tonumber((common.run(cmd))) * 1e3
end

-- Median of RUNS scrapes, after one that warms the exporter's caches.
local function median_ms(url, extra)
  scrape_ms(url, extra)
  local t = {}
  for i = 1, RUNS do
    t[i] = scrape_ms(url, extra)
  end
  return common.median(t)
end

local function measure(build, dir, what, auth)
  local args
  if what ~= "plain" then
    web_config(dir, auth)
    args = "--web.config.file=" .. dir .. "/web.yml"
  end
  local t
  common.with_exporter({ dir = build .. "/bench", names = "bench", args = args }, function(e)
    local url = e.url
    local extra = ""
    if what ~= "plain" then
      url = url:gsub("^http:", "https:")
      extra = "--cacert " .. dir .. "/cert.pem" .. (auth and " -u bench:bench" or "")
    end
    common.run(("%s/elx-bench-baseline fill %d %d"):format(build, common.map_id(e, "bench_values"), N))
    t = median_ms(url, extra)
  end)
  return t
end

return function(build)
  local dir = helper.tmpdir()
  certs(dir)
  local plain = measure(build, dir, "plain")
  local tls = measure(build, dir, "tls")
  local auth = measure(build, dir, "tls", true)
  print(("\nweb surface, scrape of %d series with curl (median of %d, a new connection each):"):format(N, RUNS))
  print(("  %-44s %9.1f ms"):format("plain HTTP", plain))
  print(("  %-44s %9.1f ms  (%.2fx plain)"):format("TLS 1.3 (handshake included)", tls, tls / plain))
  print(("  %-44s %9.1f ms  (%.2fx plain)"):format("TLS 1.3 + basic auth (bcrypt cost 10, cached)", auth, auth / plain))
end
