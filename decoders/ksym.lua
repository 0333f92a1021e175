-- ksym: an 8-byte kernel address (host byte order) -> its exact symbol name
-- from /proc/kallsyms; module symbols keep their module: "name\t[module]".
-- An address that is not a symbol start gives "unknown_addr:0x<hex>".
-- The index, its re-reads on a miss and their rate limits are shared with
-- kstack and kaddrs: lua/exporter/kallsyms.lua.
local api = require("exporter.decoder_api")
local kallsyms = require("exporter.kallsyms")

local M = {}

function M.new(_, ctx)
  if ctx.input_size ~= nil and ctx.input_size ~= 8 then
    return nil, string.format("ksym: input must be 8 bytes (a kernel address), not %d", ctx.input_size)
  end
  return function(input)
    if #input ~= 8 then
      return nil, string.format("ksym: cannot decode %d bytes", #input)
    end
    local name, err = kallsyms.symbol(input)
    if name then return name end
    if err then return nil, "ksym: " .. err end
    -- Maybe a module or program loaded since: ask again next scrape.
    return "unknown_addr:0x" .. (kallsyms.address_hex(input):match("^0*(%x.*)$") or "0"), api.UNCACHED
  end
end

return M
