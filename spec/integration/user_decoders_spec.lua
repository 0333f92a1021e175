-- Users' own decoders in real scrapes: from <config.dir>/decoders and from
-- --decoders.path, overriding a built-in one, and failing without harm.
local helper = require("helpers.exporter")
local files = require("helpers.files")
local write = files.write

describe("user decoders", function()
  it("from <config.dir>/decoders label a real scrape", function()
    local dir = helper.decoded_hits_dir("ports", { "port_service" })
    os.execute("cp examples/decoders/port_service.lua " .. dir .. "/decoders/")
    local e = helper.start({ dir = dir, names = "ports" })
    e:target("values 22 443 22 50000 1500 22")
    local s = e:samples()
    assert.equal(0, (e:stop()))
    os.execute("rm -rf " .. dir)
    assert.equal(3, s['ebpf_exporter_test_hits_by_value_total{value="ssh"}'])
    assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="https"}'])
    assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="ephemeral"}'])
    assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="other"}'])
    assert.equal(0, helper.decoder_errors(s, "ports"))
  end)

  it("from --decoders.path, and one that overrides a built-in decoder", function()
    local dir = helper.decoded_hits_dir("shout", { "string", "shout" })
    local extra = helper.tmpdir()
    write(extra .. "/shout.lua", [[
return { new = function() return function(s) return s:upper() .. "!" end end }
]])
    -- The built-in string would cut at the first NUL; this one keeps the digits only.
    write(dir .. "/decoders/string.lua", [[
return { new = function() return function(s) return (s:gsub("%D", "")) end end }
]])
    local e = helper.start({ dir = dir, names = "shout", args = "--decoders.path=" .. extra })
    e:target("values 7 7 42")
    local s = e:samples()
    local code, log = e:stop()
    os.execute("rm -rf " .. dir .. " " .. extra)
    assert.equal(0, code)
    assert.equal(2, s['ebpf_exporter_test_hits_by_value_total{value="7!"}'])
    assert.equal(1, s['ebpf_exporter_test_hits_by_value_total{value="42!"}'])
    assert.is_truthy(log:find('info: decoder "string" from ' .. dir .. '/decoders/string.lua overrides the built-in one', 1, true), log)
  end)

  it("that throw cost only their rows, count errors, and log each message once", function()
    local dir = helper.decoded_hits_dir("fragile", { "fragile" })
    write(dir .. "/decoders/fragile.lua", [[
return { new = function() return function(s)
  if s == "13" then error("unlucky number", 0) end
  return s
end end }
]])
    local e = helper.start({ dir = dir, names = "fragile" })
    e:target("values 1 13 2 13 13")
    local first = e:samples()
    local second = e:samples()
    local code, log = e:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
    assert.equal(1, first['ebpf_exporter_test_hits_by_value_total{value="1"}'])
    assert.equal(1, first['ebpf_exporter_test_hits_by_value_total{value="2"}'])
    assert.is_nil(first['ebpf_exporter_test_hits_by_value_total{value="13"}'])
    -- One failing key, counted at each scrape that meets it.
    assert.equal(1, first['ebpf_exporter_decoder_errors_total{config="fragile",decoder="fragile"}'])
    assert.equal(2, second['ebpf_exporter_decoder_errors_total{config="fragile",decoder="fragile"}'])
    local message = 'config fragile, metric test_hits_by_value_total, label value: decoder "fragile" raised: unlucky number'
    local _, times = log:gsub(message:gsub("%p", "%%%0"), "")
    assert.equal(1, times, log)
  end)

  it("count errors on across reloads, kept objects and reloaded ones alike", function()
    local dir = helper.decoded_hits_dir("fragile", { "fragile" })
    write(dir .. "/decoders/fragile.lua", [[
return { new = function() return function(s)
  if s == "13" then error("unlucky number", 0) end
  return s
end end }
]])
    local e = helper.start({ dir = dir, names = "fragile", args = "--web.enable-lifecycle" })
    e:target("values 13")
    local function errors()
      return e:samples()['ebpf_exporter_decoder_errors_total{config="fragile",decoder="fragile"}']
    end
    assert.equal(1, errors())
    -- YAML-only: the object is kept and its key 13 fails again at each scrape.
    local _, status = e:get("/-/reload", "-X POST")
    assert.equal(200, status)
    assert.equal(2, errors())
    -- A changed .bpf.o loads anew with empty maps: the count goes on from 2.
    os.execute(("printf x >> %s/fragile.bpf.o"):format(dir))
    _, status = e:get("/-/reload", "-X POST")
    assert.equal(200, status)
    assert.equal(2, errors())
    e:target("values 13")
    assert.equal(3, errors())
    local code = e:stop()
    os.execute("rm -rf " .. dir)
    assert.equal(0, code)
  end)

  it("with a mistake stop the start with the file named", function()
    local dir = helper.decoded_hits_dir("broken", { "broken" })
    write(dir .. "/decoders/broken.lua", "return { new = 42 }\n")
    local out, code = helper.run("--log.no-timestamps --config.dir=" .. dir .. " --config.names=broken")
    os.execute("rm -rf " .. dir)
    assert.equal(1, code)
    assert.equal(('error: decoder "broken" (%s/decoders/broken.lua): new is a number, not a function\n'):format(dir), out)
  end)
end)
