-- pci_subclass: a PCI class and subclass as decimal text of
-- (class << 8) | subclass -> the subclass name in pci.ids. A subclass missing
-- from a known class gives "unknown pci subclass: 0xSS (class 0xCC)", an
-- unknown class "unknown pci class: 0xCC".
local pci_ids = require("exporter.pci_ids")

local M = {}

local function lookup(db, id)
  local name = db.subclasses[id]
  if name then return name end
  -- Numbers below 2^53 or uint64_t cdata: / and % are exact on both here.
  local class, sub
  if type(id) == "number" then
    class, sub = math.floor(id / 256), id % 256
  else
    class, sub = id / 256, id % 256
  end
  if db.classes[class] then
    return string.format("unknown pci subclass: 0x%s (class 0x%s)", pci_ids.hex(sub, 2), pci_ids.hex(class, 2))
  end
  return "unknown pci class: 0x" .. pci_ids.hex(class, 2)
end

function M.new()
  return pci_ids.decoder("pci_subclass", lookup)
end

return M
