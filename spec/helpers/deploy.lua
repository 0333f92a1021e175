-- Helpers of the deploy specs (spec/deploy/): the clean Debian root, the
-- .deb, commands inside a chroot, the manifests as data.
local files = require("helpers.files")
local lyaml = require("lyaml")

local M = {}

M.build = os.getenv("ELX_BUILD") or "build"
M.work = M.build .. "/deploy"
M.sh, M.run = files.sh, files.run

local function trim(s)
  return (s:gsub("%s+$", ""))
end
M.trim = trim

--- The project's version, from CMakeLists.txt.
function M.version()
  return files.read("CMakeLists.txt"):match("project%(ebpf%-lua%-exporter VERSION ([%d.]+)")
end

--- A clean Debian 12 root made once by tools/debian-root.sh (cached in the
-- build directory). Never changed: copy it before use.
function M.debian_root()
  local root = M.work .. "/debian-root"
  M.run("sh tools/debian-root.sh " .. root)
  return root
end

--- The .deb of this tree: $ELX_DEB (the Makefile builds it first), else
-- tools/make-deb.sh builds it now.
function M.deb()
  local deb = os.getenv("ELX_DEB")
  if deb and deb ~= "" then
    return deb
  end
  return trim(M.run("sh tools/make-deb.sh " .. M.build .. "/deb"):match("([^\n]+)\n?$"))
end

--- Parses a YAML file: a list of its documents.
function M.yaml_docs(path)
  local docs = lyaml.load(files.read(path), { all = true })
  return docs
end

function M.yaml(path)
  return M.yaml_docs(path)[1]
end

--- A Debian root of its own for one spec: a copy of the clean root, with
-- this machine's resolver so apt reaches the mirror. The chroot sees /proc,
-- /sys (BTF, tracefs, bpffs, cgroups) and /dev in a mount namespace of its
-- own, so nothing stays mounted when a command ends, whatever happens.
local Chroot = {}
Chroot.__index = Chroot

function M.chroot()
  local dir = files.tmpdir()
  local self = setmetatable({ dir = dir, root = dir .. "/root" }, Chroot)
  M.run(("cp -a %s %s && cp /etc/resolv.conf %s/etc/resolv.conf"):format(M.debian_root(), self.root, self.root))
  -- Downloaded packages are kept across runs: only the first one fetches.
  self.archives = M.work .. "/apt-archives"
  M.run("mkdir -p " .. self.archives .. "/partial")
  return self
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
M.quote = quote

--- Runs a shell command line inside the root; returns output and exit code.
function Chroot:sh(cmd)
  local r = self.root
  local setup = table.concat({
    ("mount --rbind /sys %s/sys"):format(r),
    ("mount -t proc proc %s/proc"):format(r),
    ("mount --rbind /dev %s/dev"):format(r),
    ("mount --bind %s %s/var/cache/apt/archives"):format(M.trim(M.run("realpath " .. self.archives)), r),
  }, " && ")
  return M.sh(("unshare --mount --propagation private sh -c %s"):format(
    quote(setup .. " && exec chroot " .. r .. " /bin/sh -c " .. quote(cmd))))
end

function Chroot:run(cmd)
  local out, code = self:sh(cmd)
  assert(code == 0, cmd .. " (in the chroot): " .. out)
  return out
end

--- Every path in the root, but apt's and dpkg's own state, caches and logs
-- (they change with any apt run), sorted, as a set.
function Chroot:files()
  local list = M.run(("cd %s && find . -xdev \\( -path ./proc -o -path ./sys -o -path ./dev "
    .. "-o -path ./var/cache/apt -o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./var/log "
    .. "-o -path ./tmp \\) -prune -o -print"):format(self.root))
  local set = {}
  for path in list:gmatch("[^\n]+") do
    set[path:sub(2)] = true
  end
  return set
end

function Chroot:remove()
  os.execute("rm -rf " .. self.dir)
end

--- What `a` has that `b` has not, sorted.
function M.missing_from(a, b)
  local list = {}
  for k in pairs(a) do
    if not b[k] then
      list[#list + 1] = k
    end
  end
  table.sort(list)
  return list
end

return M
