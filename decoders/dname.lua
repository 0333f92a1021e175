-- dname: a DNS name in wire format (length-prefixed labels) -> dotted text,
-- as ebpf_exporter decodes it: "\7example\3com" -> "example.com".
--
-- BPF keys are fixed-size, so a name is normally followed by zero padding:
-- the first zero length byte ends the name and whatever follows it is
-- ignored ("\3com\0\0\0" -> "com"). The root name, empty or a lone zero
-- byte, is ".". Label bytes are kept as they are, dots included. A label
-- that runs past the end of the input (a cut or corrupt name, or a
-- compression pointer) gives the input back unchanged, as ebpf_exporter does.
local M = {}

function M.new()
  return function(input)
    local labels = {}
    local pos, n = 1, #input
    while pos <= n do
      local len = input:byte(pos)
      if len == 0 then break end
      if pos + len > n then return input end
      labels[#labels + 1] = input:sub(pos + 1, pos + len)
      pos = pos + len + 1
    end
    if #labels == 0 then return "." end
    return table.concat(labels, ".")
  end
end

return M
