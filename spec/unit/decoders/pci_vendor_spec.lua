-- Specs for decoders/pci_vendor.lua, and for what the four pci decoders share
-- through lua/exporter/pci_ids.lua: finding pci.ids, reading it once, the
-- "missing pci.ids db" label and its log line, and parsing decimal ids.
local decoders = require("exporter.decoders")
local api = require("exporter.decoder_api")
local pci_ids = require("exporter.pci_ids")

local FIXTURE = "spec/fixtures/pci.ids"

describe("pci_vendor decoder", function()
  local registry, logged, original_log
  setup(function()
    registry = assert(decoders.load({ decoders.builtin_dir() }))
    original_log = pci_ids.log
  end)
  before_each(function()
    api.reset()
    api.paths.pci_ids = FIXTURE
    logged = {}
    pci_ids.log = function(msg) logged[#logged + 1] = msg end
  end)
  after_each(function()
    api.reset()
    pci_ids.log = original_log
  end)

  local function new(name)
    return registry:new({ name = name or "pci_vendor" }, { label = "vendor", config = "pci", path = "p" })
  end

  it("names vendors", function()
    local decode = assert(new())
    assert.equal("Intel Corporation", decode("32902")) -- 0x8086
    assert.equal("Advanced Micro Devices, Inc. [AMD/ATI]", decode("4098")) -- 0x1002
    assert.equal("Red Hat, Inc.", decode("6900")) -- 0x1af4, a vendor without devices
    assert.equal("Illegal Vendor ID", decode("65535")) -- 0xffff
    assert.equal("Compaq Computer Corporation", decode("3601")) -- 0x0e11
    assert.equal("Allied Telesis, Inc (Wrong ID)", decode("16")) -- 0x0010
  end)

  it("gives unknown pci vendor: 0x<hex> with at least two digits, as Go's %02x", function()
    local decode = assert(new())
    assert.equal("unknown pci vendor: 0x00", decode("0"))
    assert.equal("unknown pci vendor: 0x0f", decode("15"))
    assert.equal("unknown pci vendor: 0x1234", decode("4660"))
    assert.equal("unknown pci vendor: 0x10000", decode("65536"))
  end)

  it("reads leading zeros and ids of up to 64 bits exactly", function()
    local decode = assert(new())
    assert.equal("Intel Corporation", decode("0000032902"))
    assert.equal("Intel Corporation", decode("000000000000000000032902"))
    assert.equal("unknown pci vendor: 0x20000000000001", decode("9007199254740993"))
    assert.equal("unknown pci vendor: 0xffffffffffffffff", decode("18446744073709551615"))
  end)

  it("is a decode error for input that is not a decimal number", function()
    local decode = assert(new())
    for _, input in ipairs({ "", "0x8086", "-1", "+5", " 5", "5 ", "1e3", "8086\0" }) do
      local out, err = decode(input)
      assert.is_nil(out)
      assert.equal("pci_vendor: not a number: " .. input, err)
    end
    local out, err = decode("18446744073709551616")
    assert.is_nil(out)
    assert.equal("pci_vendor: out of range: 18446744073709551616", err)
  end)

  it("reads pci.ids once, at the first config load, for all four decoders", function()
    local open = spy.on(io, "open")
    local decode = {}
    for _, name in ipairs({ "pci_vendor", "pci_device", "pci_class", "pci_subclass" }) do
      decode[name] = assert(new(name))
    end
    assert.spy(open).was.called(1)
    assert.spy(open).was.called_with(FIXTURE, "rb")
    assert.equal("Intel Corporation", decode.pci_vendor("32902"))
    assert.equal("82542 Gigabit Ethernet Controller (Fiber)", decode.pci_device("2156269568"))
    assert.equal("Network controller", decode.pci_class("2"))
    assert.equal("Ethernet controller", decode.pci_subclass("512"))
    assert.spy(open).was.called(1)
    open:revert()
    assert.same({}, logged)
  end)

  it("takes the first of its paths that exists", function()
    local missing = os.tmpname()
    os.remove(missing)
    local first = os.tmpname()
    local f = assert(io.open(first, "w"))
    f:write("8086  Intel (the first file)\n")
    f:close()
    api.paths.pci_ids = { missing .. "/misc/pci.ids", first, FIXTURE }
    local decode = assert(new())
    os.remove(first)
    assert.equal("Intel (the first file)", decode("32902"))
    assert.equal("unknown pci vendor: 0x1002", decode("4098"))
    assert.same({}, logged)
  end)

  it("looks in /usr/share/misc, then /usr/share/hwdata, by default", function()
    assert.same({ "/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids" }, pci_ids.DEFAULT_PATHS)
    api.paths.pci_ids = nil
    local open = spy.on(io, "open")
    assert(new())
    assert.spy(open).was.called_with("/usr/share/misc/pci.ids", "rb")
    open:revert()
  end)

  it("labels every row missing pci.ids db without pci.ids, and logs that once, naming the paths", function()
    api.paths.pci_ids = { "/nonexistent/misc/pci.ids", "/nonexistent/hwdata/pci.ids" }
    local decode = {}
    for _, name in ipairs({ "pci_vendor", "pci_device", "pci_class", "pci_subclass" }) do
      decode[name] = assert(new(name))
      -- As ebpf_exporter: even input that is not a number.
      assert.equal("missing pci.ids db", decode[name]("32902"))
      assert.equal("missing pci.ids db", decode[name]("x"))
    end
    assert.same({ "pci.ids not found at /nonexistent/misc/pci.ids or /nonexistent/hwdata/pci.ids: "
      .. 'pci_vendor, pci_device, pci_class and pci_subclass labels will read "missing pci.ids db" '
      .. "(Debian: apt install pci.ids, or hwdata)" }, logged)
  end)

  it("is a config error when pci.ids exists but cannot be read", function()
    api.paths.pci_ids = { "/", FIXTURE }
    local decode, err = new()
    assert.is_nil(decode)
    assert.equal("pci_vendor: cannot read pci.ids: /: Is a directory", err)
  end)

  it("logs a warning through the exporter's log", function()
    local warned = {}
    local log = require("exporter.log")
    local saved = log.warn
    log.warn = function(msg) warned[#warned + 1] = msg end
    original_log("pci.ids not found")
    log.warn = saved
    assert.same({ "pci.ids not found" }, warned)
  end)
end)
