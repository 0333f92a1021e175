-- The exposition writers that need no series store.
local buffer = require("string.buffer")
local exposition = require("exporter.exposition")

describe("exposition", function()
  it("writes a family of ready lines, and nothing without lines", function()
    local buf = buffer.new()
    exposition.put_lines(buf, "ebpf_exporter_x", "X\\y\nz", "gauge", { '{a="1"} 1', " 2" })
    exposition.put_lines(buf, "ebpf_exporter_empty", "E", "counter", {})
    assert.equal(table.concat({
      "# HELP ebpf_exporter_x X\\\\y\\nz",
      "# TYPE ebpf_exporter_x gauge",
      'ebpf_exporter_x{a="1"} 1',
      "ebpf_exporter_x 2",
      "",
    }, "\n"), buf:tostring())
  end)

  it("ends bucket lines with each bound, then +Inf", function()
    assert.same({ 'le="0.5"} ', 'le="1"} ', 'le="+Inf"} ' }, exposition.le_parts({ "0.5", "1" }))
  end)
end)
