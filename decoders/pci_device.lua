-- pci_device: a PCI device as decimal text of (vendor << 16) | device -> the
-- device's name in pci.ids; an unknown one gives "unknown pci device: 0x<%04x>"
-- of the whole number, e.g. "unknown pci device: 0x8086ffff".
local pci_ids = require("exporter.pci_ids")

local M = {}

-- ebpf_exporter looks the %04x text up among 8-digit "<vendor><device>" keys,
-- so it never names a device of a vendor below 0x1000 (0x0e11 Compaq, ...);
-- the index is by number, so those are named too.
local function lookup(db, id)
  return db.devices[id] or "unknown pci device: 0x" .. pci_ids.hex(id, 4)
end

function M.new()
  return pci_ids.decoder("pci_device", lookup)
end

return M
