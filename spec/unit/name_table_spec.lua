-- Specs for lua/exporter/name_table.lua: ids to names outside the Lua heap.
local name_table = require("exporter.name_table")

local function build(pairs_)
  local b = name_table.builder()
  for _, p in ipairs(pairs_) do b.add(p[1], p[2]) end
  return b.build()
end

describe("name_table", function()
  it("names the ids it was given, in any order, and nothing else", function()
    local t = build({ { 0x8086, "Intel" }, { 0x1002, "AMD" }, { 0, "zero" }, { 4294967295, "max" }, { 7, "" } })
    assert.equal("Intel", t[0x8086])
    assert.equal("AMD", t[0x1002])
    assert.equal("zero", t[0])
    assert.equal("max", t[4294967295])
    assert.equal("", t[7])
    for _, id in ipairs({ 1, 0x8085, 0x8087, 4294967296, -1, 0.5, 1 / 0 }) do
      assert.is_nil(t[id], tostring(id))
    end
    assert.is_nil(t[0x8086ULL])
    assert.is_nil(t["32902"])
  end)

  it("keeps the first name given for an id, sorted or not", function()
    local sorted = build({ { 1, "one" }, { 2, "two" }, { 2, "deux" }, { 3, "three" } })
    assert.equal("two", sorted[2])
    local unsorted = build({ { 3, "three" }, { 2, "two" }, { 1, "one" }, { 2, "deux" } })
    assert.equal("two", unsorted[2])
    assert.equal("one", unsorted[1])
    assert.equal("three", unsorted[3])
  end)

  it("holds many entries, and says how many bytes", function()
    local b = name_table.builder()
    for i = 20000, 1, -1 do b.add(i * 3, "name " .. i) end
    local t = b.build()
    assert.equal("name 1", t[3])
    assert.equal("name 12345", t[37035])
    assert.equal("name 20000", t[60000])
    assert.is_nil(t[60001])
    local names = 0
    for i = 1, 20000 do names = names + #("name " .. i) + 1 end
    assert.equal(20000 * 8 + names, name_table.of(t):bytes())
  end)

  it("is empty when given nothing", function()
    local t = build({})
    assert.is_nil(t[0])
    assert.equal(0, name_table.of(t):bytes())
  end)
end)
