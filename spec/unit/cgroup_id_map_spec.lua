-- cgroup_id_map's policy: which cgroups go into which map, and when they leave.
local cgroup_index = require("exporter.cgroup_index")
local cgroup_id_map = require("exporter.cgroup_id_map")
local ffi = require("ffi")
require("exporter.abi")
local files = require("helpers.files")
local sh = files.run

local function id_of(path)
  return tostring(cgroup_index.dir_id(path))
end

describe("cgroup_id_map policy", function()
  local root, index
  before_each(function()
    root = os.tmpname()
    os.remove(root)
    sh("mkdir -p " .. root .. "/app-1 " .. root .. "/db " .. root .. "/app-2/inner")
    index = assert(cgroup_index.new({ roots = { root }, fanotify = false, rescan_interval = 0 }))
  end)
  after_each(function()
    sh("rm -rf " .. root)
  end)

  local function entry(config, map, type_, pattern)
    return { config = config, map = map, type = type_, match = function(path)
      return path:match(pattern)
    end }
  end

  local function sorted(ops)
    local out = {}
    for _, op in ipairs(ops) do
      out[#out + 1] = ("%s %s %s %s %s"):format(op.config, op.map, op.op, op.id == id_of(op.path) and "id" or op.id,
        op.path:sub(#root + 1))
    end
    table.sort(out)
    return out
  end

  it("sets every matching cgroup first, then follows creations and removals", function()
    local sync = cgroup_id_map.new({
      entry("a", "apps", "hash", "/app%-%d+$"),
      entry("b", "dbs", "cgrp_storage", "/db"),
    }, index)
    assert.same({ "a apps set id /app-1", "a apps set id /app-2", "b dbs set id /db" }, sorted(sync:operations()))
    assert.same({}, sync:operations(true))
    sh("mkdir " .. root .. "/app-3 " .. root .. "/db-replica " .. root .. "/web")
    assert.same({ "a apps set id /app-3", "b dbs set id /db-replica" }, sorted(sync:operations(true)))
    local app1, db = id_of(root .. "/app-1"), id_of(root .. "/db")
    sh("rmdir " .. root .. "/app-1 " .. root .. "/db")
    local ops = sync:operations(true)
    -- A hash entry is deleted; cgroup storage goes with its cgroup by itself.
    assert.equal(1, #ops)
    assert.same({ config = "a", map = "apps", type = "hash", op = "delete", id = app1, path = root .. "/app-1" }, ops[1])
    assert.equal(root .. "/db", index:lookup(db)) -- still known during the grace period
    sync:close()
  end)

  it("answers no fd when the index rescans", function()
    local sync = cgroup_id_map.new({ entry("a", "apps", "hash", ".") }, index)
    assert.is_nil(sync:fd())
  end)

  it("answers the core's call with the operations as structs, ids exact", function()
    local sync = cgroup_id_map.new({
      entry("a", "apps", "hash", "/app%-1$"),
      entry("b", "dbs", "cgrp_storage", "/db$"),
    }, index)
    local call = ffi.new("struct elx_cgroup_sync")
    sync:answer(call)
    assert.equal(2, call.nops)
    assert.equal(0, call.watch_fd) -- the index rescans: the core calls again on a timer
    local got = {}
    for i = 0, call.nops - 1 do
      local op = call.ops[i]
      got[#got + 1] = ("%s %s %s %d %d %s"):format(ffi.string(op.config), ffi.string(op.map),
        ffi.string(op.path):sub(#root + 1), op.storage, op.set, tostring(op.id):gsub("ULL$", ""))
    end
    table.sort(got)
    assert.same({
      "a apps /app-1 0 1 " .. id_of(root .. "/app-1"),
      "b dbs /db 1 1 " .. id_of(root .. "/db"),
    }, got)
    sync:close()
  end)
end)
