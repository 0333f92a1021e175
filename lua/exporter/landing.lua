-- The landing page (/): what runs, each config with its programs (attached,
-- or why not) and metric maps, and links to the metrics path and /maps.
local ffi = require("ffi")

local M = {}

M.CONTENT_TYPE = "text/html; charset=utf-8"

local HTML_ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

local function html(s)
  return (tostring(s):gsub("[&<>\"']", HTML_ESCAPES))
end

local function cstring(p, default)
  return p ~= nil and ffi.string(p) or default
end

local function write_head(buf, about)
  local path = cstring(about.telemetry_path, "/metrics")
  buf:put("<!DOCTYPE html>\n<html>\n<head><title>ebpf-lua-exporter</title></head>\n<body>\n",
    "<h1>ebpf-lua-exporter</h1>\n<p>Prometheus exporter for custom eBPF metrics.</p>\n",
    "<p>Version ", html(cstring(about.version, "")), " (revision ", html(cstring(about.revision, "unknown")),
    "), libbpf ", html(cstring(about.libbpf, "")), ", ", html(jit.version), ".</p>\n",
    '<p><a href="', html(path), '">Metrics</a>')
  if about.debug ~= 0 then
    buf:put(' &middot; <a href="/maps">Maps</a> (raw keys and decoded labels, --debug)')
  end
  buf:put("</p>\n")
end

local function write_programs(buf, c)
  buf:put("<table>\n<tr><th>Program</th><th>Section</th><th>Id</th><th>Attached</th></tr>\n")
  for j = 0, c.nprograms - 1 do
    local p = c.programs[j]
    local state = p.attached == 1 and "yes" or ("no: " .. cstring(p.attach_error, "not loaded"))
    if p.targeted ~= 0 then -- targets: attaches it per process
      state = ("to %d processes (targets), %s failed attaches"):format(p.attached_processes,
        tostring(p.target_attach_errors):gsub("ULL$", ""))
    end
    buf:put("<tr><td>", html(ffi.string(p.name)), "</td><td><code>", html(cstring(p.section, "")),
      "</code></td><td>", p.id, "</td><td>", html(state), "</td></tr>\n")
  end
  buf:put("</table>\n")
end

local function write_maps(buf, cfg)
  if #cfg.plans == 0 then
    buf:put("<p>No metric maps.</p>\n")
    return
  end
  buf:put("<p>Metrics:</p>\n<ul>\n")
  for _, plan in ipairs(cfg.plans) do
    -- A map of struct values gives a family per field (kind_values: plan.fields).
    for i, family in ipairs(plan.families or { plan.family }) do
      local kind = plan.fields and plan.fields[i].type or plan.kind
      buf:put("<li><code>", html(family), "</code> (", html(kind), ", map <code>", html(plan.name),
        "</code>)</li>\n")
    end
  end
  buf:put("</ul>\n")
end

--- Writes the page. `scrape` is the core's struct elx_scrape * (programs,
-- about); `configs` the loaded configs in order ({name, plans}).
function M.write(buf, scrape, configs)
  write_head(buf, scrape.about)
  local by_name = {}
  for i = 0, scrape.nconfigs - 1 do
    by_name[ffi.string(scrape.configs[i].name)] = scrape.configs[i]
  end
  buf:put("<h2>Configs</h2>\n")
  for _, cfg in ipairs(configs) do
    buf:put("<h3>", html(cfg.name), "</h3>\n")
    if by_name[cfg.name] then
      write_programs(buf, by_name[cfg.name])
    end
    write_maps(buf, cfg)
  end
  buf:put("</body>\n</html>\n")
end

return M
