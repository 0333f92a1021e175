-- Specs for lua/exporter/fanotify.lua: events parsed from the bytes the
-- kernel writes, and a real group on a temporary directory.
local ffi = require("ffi")
local fanotify = require("exporter.fanotify")
local files = require("helpers.files")

local CREATE_DIR = bit.bor(fanotify.FAN_CREATE, fanotify.FAN_ONDIR)
local DELETE_DIR = bit.bor(fanotify.FAN_DELETE, fanotify.FAN_ONDIR)

describe("fanotify.parse_events", function()
  -- One event as fanotify writes it: struct fanotify_event_metadata, then
  -- info records { type, handle type, 8-byte id, name }.
  local function event(mask, records)
    local parts = {}
    for _, info in ipairs(records) do
      local handle = ffi.string(ffi.new("uint64_t[1]", info.id), 8)
      local body = ffi.string(ffi.new("int32_t[2]", { 7, 7 }), 8) -- fsid
        .. ffi.string(ffi.new("uint32_t[1]", #handle), 4)
        .. ffi.string(ffi.new("int32_t[1]", info.handle_type or 0xfe), 4)
        .. handle .. (info.name and info.name .. "\0" or "")
      local len = 4 + #body
      local pad = (4 - len % 4) % 4
      parts[#parts + 1] = string.char(info.type, 0) .. ffi.string(ffi.new("uint16_t[1]", len + pad), 2)
        .. body .. string.rep("\0", pad)
    end
    local infos_bytes = table.concat(parts)
    local meta = ffi.new("struct exporter_fanotify_metadata")
    meta.event_len = 24 + #infos_bytes
    meta.vers = 3
    meta.metadata_len = 24
    meta.mask = mask
    meta.fd = -1
    meta.pid = 42
    return ffi.string(meta, 24) .. infos_bytes
  end

  local function parse(bytes) return fanotify.parse_events(bytes, #bytes) end

  it("reads the parent's kernfs id and the name of each event", function()
    local bytes = event(CREATE_DIR, { { type = 2, id = 1, name = "protoA" } })
      .. event(DELETE_DIR, { { type = 2, id = 63, name = "b" }, { type = 1, id = 82 } })
      .. event(fanotify.FAN_Q_OVERFLOW, {})
    assert.same({
      { mask = CREATE_DIR, parent = "1", name = "protoA" },
      { mask = DELETE_DIR, parent = "63", name = "b", target = "82" },
      { mask = fanotify.FAN_Q_OVERFLOW },
    }, parse(bytes))
  end)

  it("keeps 64-bit ids exact", function()
    local bytes = event(CREATE_DIR, { { type = 2, id = ffi.new("uint64_t", 0xffffffffffffffffULL), name = "x" } })
    assert.same({ { mask = CREATE_DIR, parent = "18446744073709551615", name = "x" } }, parse(bytes))
  end)

  it("gives no id for a handle that is not kernfs'", function()
    local bytes = event(CREATE_DIR, { { type = 2, id = 12, handle_type = 1, name = "x" } })
    assert.same({ { mask = CREATE_DIR, name = "x" } }, parse(bytes))
  end)

  it("stops at a cut event", function()
    local one = event(CREATE_DIR, { { type = 2, id = 1, name = "a" } })
    local bytes = one .. event(CREATE_DIR, { { type = 2, id = 1, name = "b" } })
    assert.same({ { mask = CREATE_DIR, parent = "1", name = "a" } }, parse(bytes:sub(1, #bytes - 1)))
    assert.same({}, parse(one:sub(1, 23)))
  end)
end)

describe("fanotify.watch", function()
  local tmp
  before_each(function() tmp = files.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. tmp .. "'") end)

  -- Filesystem marks need CAP_SYS_ADMIN.
  local root = (files.sh("id -u")) == "0\n"

  it("reports directories made and deleted, by name, and reads nothing once closed", function()
    if not root then return pending("filesystem marks need root") end
    local group, why, kind = fanotify.watch({ tmp })
    assert.is_nil(why)
    assert.is_truthy(kind == "filesystem mark, DFID_NAME_TARGET" or kind == "filesystem mark, DFID_NAME", kind)
    -- The mark covers the whole filesystem: other processes' events come
    -- too, so only names made here are looked at.
    local dir, file = "elx-fan-" .. tmp:match("[^.]+$"), "elx-fan-file-" .. tmp:match("[^.]+$")
    files.run(("cd '%s' && mkdir %s && rmdir %s && touch %s"):format(tmp, dir, dir, file))
    -- The kernel may merge the directory's create and delete into one
    -- event: what each name saw is the union of its masks.
    local seen = {}
    for _, ev in ipairs((group:read())) do
      if ev.name == dir or ev.name == file then
        -- Not kernfs: no ids, only names and masks.
        assert.is_nil(ev.parent)
        seen[ev.name] = bit.bor(seen[ev.name] or 0, ev.mask)
      end
    end
    assert.same({ [dir] = bit.bor(CREATE_DIR, DELETE_DIR), [file] = fanotify.FAN_CREATE }, seen)
    group:close()
    assert.equal(-1, group.fd)
    local events, err = group:read()
    assert.same({}, events)
    assert.equal("reading fanotify events: Bad file descriptor", err)
  end)

  it("says why it cannot mark a root", function()
    if not root then return pending("filesystem marks need root") end
    local group, why = fanotify.watch({ tmp .. "/missing" })
    assert.is_nil(group)
    assert.equal("fanotify_mark: No such file or directory", why)
  end)
end)
