-- kstack: N x 8 bytes of kernel addresses (host byte order, as
-- bpf_get_stack() writes them) -> one line per frame, each the nearest
-- kernel symbol at or below the address ("??" when none), joined by "\n".
-- The first zero address ends the stack: the helper leaves the rest of a
-- fixed-size buffer zeroed. Module symbols keep "\t[module]" as in ksym.
-- The kallsyms index is ksym's (lua/exporter/kallsyms.lua): read once, and
-- re-read for a frame below the first or beyond the last symbol.
local api = require("exporter.decoder_api")
local kallsyms = require("exporter.kallsyms")

local M = {}

function M.new(_, ctx)
  local size = ctx.input_size
  if size ~= nil and (size < 8 or size % 8 ~= 0) then
    return nil, string.format("kstack: input must be a multiple of 8 bytes (kernel addresses), not %d", size)
  end
  return function(input)
    if #input % 8 ~= 0 then
      return nil, string.format("kstack: cannot decode %d bytes (not a multiple of 8)", #input)
    end
    local frames, err = kallsyms.stack(input)
    if not frames then return nil, "kstack: " .. err end
    local unresolved = false
    for i = 1, #frames do
      if not frames[i] then
        frames[i] = "??"
        unresolved = true
      end
    end
    -- A frame not resolved now may be once kallsyms knows more.
    return table.concat(frames, "\n"), unresolved and api.UNCACHED or nil
  end
end

return M
