-- The web config mutation run: web configs made from the seeds of
-- fuzz/corpus/web by 1 to 3 mutations each (config_mutate's, with a
-- dictionary of the web config's keys and values), through the parser of
-- --web.config.file (exporter.web_config) in this process. Each must give a
-- config whose answer fills the core's struct, or a list of errors each
-- naming the file; nothing may raise.
--   luajit fuzz/web_config_mutate.lua <build dir> <runs> [seconds] [seed]
package.path = "lua/?.lua;spec/?.lua;./?.lua;" .. package.path
local ffi = require("ffi")
local files = require("helpers.files")
local config_mutate = require("fuzz.config_mutate")
local drive = require("fuzz.drive")
local web_config = require("exporter.web_config")

local M = {}

local FILE = "/etc/elx/web.yml"

local VALUES = { "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "RequireClientCert",
  "VerifyClientCertIfGiven", "RequireAndVerifyClientCert", "TLS10", "TLS11", "TLS12", "TLS13", "TLS14",
  "[TLS_RSA_WITH_AES_128_CBC_SHA]", "[TLS_AES_128_GCM_SHA256]", "[CurveP521, X25519]", "[]", "{}", "true",
  "false", "~", "''", "deny", "sameorigin", "nosniff", "$2y$10$", "$2a$31$" .. string.rep("a", 53),
  "$2x$03$" .. string.rep(".", 53), "/abs/path.pem", "../up.pem", "\"a\\nb\"", "\"\\r\\n\"", "1", "-1",
  "1e309", "[1, [2]]", "{a: {b: c}}", "&a x", "*a", "!!binary AAAA", string.rep("y", 5000) }

local LINES = { "tls_server_config:", "  cert_file: c.pem", "  key: k", "  client_ca: ca",
  "  client_allowed_sans: [x]", "http_server_config:", "  headers:", "    X-Frame-Options: deny",
  "    Server: nope", "basic_auth_users:", "  '': x", "  'a:b': x", "  1: x", "rate_limit: {interval: 1s}",
  "unknown: 1", "---", "...", "- list", "\t- tab" }

-- What a mutated config must come to: a config whose answer fills the
-- struct, or errors that each name the file. Returns an error or nil.
local function check(text)
  local ok, cfg, errors = pcall(web_config.parse, text, FILE)
  if not ok then
    return "the parser raised: " .. tostring(cfg)
  end
  if cfg then
    local call = ffi.new("struct elx_web_config")
    local aok, err = pcall(web_config.answer, call, cfg)
    return not aok and ("the answer raised: " .. tostring(err)) or nil
  end
  if type(errors) ~= "table" or #errors == 0 then
    return "neither a config nor errors"
  end
  for _, e in ipairs(errors) do
    if type(e) ~= "string" or e:sub(1, #FILE + 2) ~= FILE .. ": " then
      return "an error that does not name the file: " .. tostring(e)
    end
  end
end

--- Parses `runs` mutated configs at most, for `seconds` at most (0: no
-- limit), from `seed`. Returns the counts of outcomes, or raises naming
-- what went wrong (the input is kept).
function M.run(runs, seconds, seed)
  local seeds = {}
  for name in files.run("ls fuzz/corpus/web"):gmatch("[^\n]+") do
    seeds[#seeds + 1] = files.read("fuzz/corpus/web/" .. name)
  end
  local outcomes = { runs = 0, accepted = 0, refused = 0 }
  local opts, started = { runs = runs, seconds = seconds }, os.time()
  math.randomseed(seed)
  while drive.more(opts, outcomes.runs, started) do
    local text = config_mutate.mutate(seeds[math.random(#seeds)], LINES, VALUES)
    local err = check(text)
    if err then
      drive.fail("web.yml", text, err)
    end
    outcomes.runs = outcomes.runs + 1
    if web_config.parse(text, FILE) then
      outcomes.accepted = outcomes.accepted + 1
    else
      outcomes.refused = outcomes.refused + 1
    end
  end
  return outcomes
end

if arg and arg[0] and arg[0]:match("[^/]+$") == "web_config_mutate.lua" then
  local opts = drive.options(arg, "luajit fuzz/web_config_mutate.lua")
  local o = M.run(opts.runs, opts.seconds, opts.seed)
  print(("web_config_mutate: %5d web configs (seed %d): %d accepted, %d refused"):format(
    o.runs, opts.seed, o.accepted, o.refused))
end

return M
