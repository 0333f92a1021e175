-- Specs for lua/exporter/libc.lua: the one set of libc bindings, and the
-- loader of FFI libraries (whose lifetime rule ffi_lifetime_spec.lua checks).
local ffi = require("ffi")
local libc = require("exporter.libc")
local files = require("helpers.files")

describe("libc", function()
  local tmp
  before_each(function() tmp = files.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. tmp .. "'") end)

  it("names errno values", function()
    assert.equal("No such file or directory", libc.strerror(2))
    assert.equal("Invalid argument", libc.strerror(libc.EINVAL))
  end)

  it("lists a directory's entries with their types and inode numbers", function()
    files.run(("mkdir '%s/sub' && touch '%s/file' && ln -s sub '%s/link'"):format(tmp, tmp, tmp))
    local seen = {}
    assert.is_true(libc.each_entry(tmp, function(name, d_type, d_ino)
      seen[name] = { d_type, tostring(tonumber(d_ino)) }
    end))
    local function ino(name) return (files.run(("stat -c %%i '%s/%s'"):format(tmp, name)):gsub("%s+$", "")) end
    assert.same({
      ["."] = { libc.DT_DIR, ino(".") }, [".."] = { libc.DT_DIR, ino("..") }, sub = { libc.DT_DIR, ino("sub") },
      file = { 8, ino("file") }, link = { 10, (files.run(("stat -c %%i '%s/link'"):format(tmp)):gsub("%s+$", "")) },
    }, seen)
  end)

  it("says why a directory cannot be listed, and closes it when the callback fails", function()
    local ok, err = libc.each_entry(tmp .. "/missing", function() end)
    assert.is_nil(ok)
    assert.equal(tmp .. "/missing: No such file or directory", err)
    -- Whether this process (the shell's parent) has the directory open.
    local function open_here() return files.run("ls -l /proc/$PPID/fd/"):find(tmp, 1, true) ~= nil end
    local seen_open
    assert.has_error(function()
      libc.each_entry(tmp, function()
        seen_open = open_here()
        error("stop", 0)
      end)
    end, "stop")
    assert.is_true(seen_open)
    assert.is_false(open_here())
  end)

  it("gives inode numbers and modes, following links", function()
    files.run(("mkdir '%s/sub' && ln -s sub '%s/link'"):format(tmp, tmp))
    local ino, mode = libc.stat_ino(tmp .. "/link")
    assert.equal(files.run(("stat -c %%i '%s/sub'"):format(tmp)), tostring(tonumber(ino)) .. "\n")
    assert.equal(libc.S_IFDIR, bit.band(mode, libc.S_IFMT))
    local none, errno = libc.stat_ino(tmp .. "/missing")
    assert.is_nil(none)
    assert.equal(2, errno)
  end)

  it("gives filesystem types", function()
    assert.equal(0x9fa0, libc.fs_type("/proc")) -- PROC_SUPER_MAGIC
    local none, err = libc.fs_type(tmp .. "/missing")
    assert.is_nil(none)
    assert.equal("statfs: No such file or directory", err)
  end)

  it("opens, locks, reads and closes files", function()
    files.write(tmp .. "/f", "hello")
    local fd = assert(libc.open(tmp .. "/f", bit.bor(libc.O_RDONLY, libc.O_CLOEXEC)))
    assert.is_true(libc.flock(fd, libc.LOCK_EX))
    local buf = ffi.new("char[16]")
    assert.equal(5, libc.read(fd, buf, 16))
    assert.equal("hello", ffi.string(buf, 5))
    assert.equal(0, libc.read(fd, buf, 16))
    assert.is_true(libc.flock(fd, libc.LOCK_UN))
    assert.equal(0, libc.close(fd))
    local none, errno = libc.read(fd, buf, 16)
    assert.is_nil(none)
    assert.equal(9, errno) -- EBADF
    none, errno = libc.open(tmp .. "/missing", libc.O_RDONLY)
    assert.is_nil(none)
    assert.equal(2, errno)
  end)

  it("names network interfaces by index", function()
    assert.equal("lo", libc.if_indextoname(1))
    assert.is_nil(libc.if_indextoname(0x7ffffff0))
  end)

  it("loads a library once per name, and says why one cannot be loaded", function()
    local a = assert(libc.load_library({ "elx-no-such-library", "libpcre2-8.so.0" }))
    assert.equal(a, libc.load_library({ "libpcre2-8.so.0" }))
    local none, err = libc.load_library({ "elx-no-such-library" })
    assert.is_nil(none)
    assert.equal("libelx-no-such-library.so: cannot open shared object file: No such file or directory", err)
  end)
end)
