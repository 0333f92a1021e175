-- A worked example of a user decoder (see docs/decoders.md): turns a port
-- number into a service name, so a metric keyed by port has a handful of
-- series instead of one per ephemeral port.
--
--   - name: port
--     size: 2
--     decoders:
--       - name: uint
--       - name: port_service
--         protocol: tcp            # which column of /etc/services (default tcp)
--         services: { 9435: ebpf-exporter }   # names of your own, looked up first
--
-- Output: the name from `services`, else from /etc/services, else
-- "ephemeral" inside the kernel's local port range
-- (/proc/sys/net/ipv4/ip_local_port_range), else "system" below 1024,
-- else "other".
local api = require("exporter.decoder_api")

local M = {}

-- /etc/services as { [protocol] = { [port] = name } }, read once per state.
local function services()
  local state = api.state("port_service")
  if not state.services then
    local by_protocol = { tcp = {}, udp = {}, sctp = {}, dccp = {} }
    for line in api.lines(api.paths.services or "/etc/services") or function() end do
      local name, port, protocol = line:match("^([%w%-%._]+)%s+(%d+)/(%a+)")
      local t = by_protocol[protocol]
      if t and not t[tonumber(port)] then -- the first name of a port wins
        t[tonumber(port)] = name
      end
    end
    state.services = by_protocol
  end
  return state.services
end

local function local_port_range()
  local state = api.state("port_service")
  if not state.range then
    -- The decoder sandbox has no io.open: api.read_file reads what every user may read.
    local text = api.read_file(api.paths.ip_local_port_range or "/proc/sys/net/ipv4/ip_local_port_range") or ""
    local low, high = text:match("(%d+)%s+(%d+)")
    state.range = { tonumber(low) or 32768, tonumber(high) or 60999 }
  end
  return state.range
end

function M.new(options, ctx)
  local protocol = options.protocol or "tcp"
  if not services()[protocol] then
    return nil, ('port_service: protocol %q is not one of tcp, udp, sctp, dccp'):format(tostring(protocol))
  end
  if ctx.input_size ~= nil then
    return nil, "port_service: needs the decimal port from a decoder such as uint first"
  end
  local own = {}
  for port, name in pairs(options.services or {}) do
    if not tonumber(port) or type(name) ~= "string" then
      return nil, "port_service: services must map port numbers to names"
    end
    own[tonumber(port)] = name
  end
  return function(input)
    local port = tonumber(input)
    if not port or port ~= math.floor(port) or port < 0 or port > 65535 then
      return nil, "port_service: not a port number: " .. input
    end
    local name = own[port] or services()[protocol][port]
    if name then
      return name
    end
    local range = local_port_range()
    if port >= range[1] and port <= range[2] then
      return "ephemeral"
    end
    return port < 1024 and "system" or "other"
  end
end

return M
