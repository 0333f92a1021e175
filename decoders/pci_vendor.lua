-- pci_vendor: a PCI vendor id as decimal text (e.g. from uint) -> the vendor's
-- name in pci.ids; an unknown id gives "unknown pci vendor: 0x<%02x>".
local pci_ids = require("exporter.pci_ids")

local M = {}

local function lookup(db, id)
  return db.vendors[id] or "unknown pci vendor: 0x" .. pci_ids.hex(id, 2)
end

function M.new()
  return pci_ids.decoder("pci_vendor", lookup)
end

return M
