-- A family that --collector.bpf fills in one pass over the kernel's
-- objects, while other families fill too: its lines gather in a buffer of
-- its own, kept between scrapes, and go out after its header, and only
-- when it has any.
local buffer = require("string.buffer")
local exposition = require("exporter.exposition")
local numfmt = require("exporter.numfmt")

local M = {}

local put_u64 = numfmt.put_u64

local Family = {}
Family.__index = Family

--- A family `name` of `type_` ("gauge", "counter").
function M.new(name, help, type_)
  return setmetatable({ name = name, help = help, type = type_, lines = buffer.new(), n = 0 }, Family)
end

--- A sample: `labels` is '{a="x"}' (or ""), `value` an unsigned integer
-- (number or uint64_t/int64_t cdata, >= 0).
function Family:u64(labels, value)
  local lines = self.lines
  lines:put(self.name, labels, " ")
  put_u64(lines, value)
  lines:put("\n")
  self.n = self.n + 1
end

--- A sample whose value is already text.
function Family:text(labels, value)
  self.lines:put(self.name, labels, " ", value, "\n")
  self.n = self.n + 1
end

--- Writes the family into `out` when it has samples, and empties it.
function Family:flush(out)
  if self.n > 0 then
    -- The kernel counts these from each object's load, not from our start.
    exposition.put_block(out, self.name, self.help, self.type, self.lines, false)
  end
  self.lines:reset()
  self.n = 0
end

return M
