-- The bounded two-generation label cache.
local label_cache = require("exporter.label_cache")

describe("label cache", function()
  it("keeps a stable set of up to size keys", function()
    local c = label_cache.new(3)
    for round = 1, 5 do
      for k = 1, 3 do
        if round == 1 then c:put(k, "v" .. k) end
        assert.equal("v" .. k, c:get(k))
      end
    end
  end)

  it("ages out keys that stop appearing, holding at most 2 * size", function()
    local c = label_cache.new(2)
    c:put("a", 1)
    c:put("b", 2)
    c:put("c", 3) -- a and b become old
    c:put("d", 4) -- young is full: a and b are dropped
    c:put("e", 5)
    assert.is_nil(c:get("a"))
    assert.is_nil(c:get("b"))
    assert.equal(3, c:get("c"))
    assert.equal(5, c:get("e"))
  end)

  it("moves an old key back on lookup", function()
    local c = label_cache.new(2)
    c:put("a", 1)
    c:put("b", 2)
    c:put("c", 3)
    assert.equal(1, c:get("a")) -- promoted into the young generation
    c:put("d", 4) -- rotation: young {c, a} becomes old
    assert.equal(1, c:get("a"))
  end)

  it("counts what it holds and clears", function()
    local c = label_cache.new(2)
    for i = 1, 5 do c:put(i, i) end
    assert.equal(3, c:count()) -- young {5}, old {3, 4}
    assert.equal(3, c:get(3))
    assert.equal(3, c:count()) -- moved, not copied
    c:clear()
    assert.equal(0, c:count())
    assert.is_nil(c:get(5))
  end)

  it("refuses a size below 1", function()
    assert.has_error(function() label_cache.new(0) end, "cache size must be a number >= 1, not 0")
  end)
end)
