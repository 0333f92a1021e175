-- pci_class: a PCI class code byte as decimal text -> the class name in
-- pci.ids; an unknown one gives "unknown pci class: 0x<%02x>".
local pci_ids = require("exporter.pci_ids")

local M = {}

local function lookup(db, id)
  return db.classes[id] or "unknown pci class: 0x" .. pci_ids.hex(id, 2)
end

function M.new()
  return pci_ids.decoder("pci_class", lookup)
end

return M
