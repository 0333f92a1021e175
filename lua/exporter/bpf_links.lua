-- --collector.bpf's link families: ebpf_link_info for every link, and for
-- the link types whose info the kernel details, an info family of that
-- type with its labels, named and labelled as digitalocean-labs/ebpf_exporter
-- does (ebpf_link_xdp_info{interface_index,link_id}...).
local family = require("exporter.bpf_family")
local names = require("exporter.bpf_names")
local numfmt = require("exporter.numfmt")

local M = {}

local format = string.format
local attach = names.attach_type

local INFO = family.new("ebpf_link_info", "A BPF link: its type and the program it attaches", "gauge")

-- By enum bpf_link_type: the family, and its sorted label pairs after
-- link_id from the link's part of the kernel's info union.
local BY_TYPE = {
  [3] = {
    family = family.new("ebpf_link_cgroup_info", "A cgroup link: its attach type and cgroup", "gauge"),
    labels = function(i)
      return format('attach_type="%s",cgroup_id="%s",', attach(i.cgroup.attach_type), numfmt.u64(i.cgroup.cgroup_id))
    end,
  },
  [5] = {
    family = family.new("ebpf_link_netns_info", "A network namespace link: its attach type and namespace", "gauge"),
    labels = function(i)
      return format('attach_type="%s",', attach(i.netns.attach_type)), format('netns_ino="%d"', i.netns.netns_ino)
    end,
  },
  [2] = {
    family = family.new("ebpf_link_tracing_info", "A tracing link: its attach type and BTF target", "gauge"),
    labels = function(i)
      local t = i.tracing
      return format('attach_type="%s",', attach(t.attach_type)),
        format('target_btf_id="%d",target_obj_id="%d"', t.target_btf_id, t.target_obj_id)
    end,
  },
  [6] = {
    family = family.new("ebpf_link_xdp_info", "An XDP link: its network interface", "gauge"),
    labels = function(i)
      return format('interface_index="%d",', i.xdp.ifindex)
    end,
  },
  [11] = {
    family = family.new("ebpf_link_tcx_info", "A TCX link: its attach type and network interface", "gauge"),
    labels = function(i)
      return format('attach_type="%s",interface_index="%d",', attach(i.tcx.attach_type), i.tcx.ifindex)
    end,
  },
  [10] = {
    family = family.new("ebpf_link_netfilter_info", "A netfilter link: its hook", "gauge"),
    labels = function(i)
      local n = i.netfilter
      return format('flags="%d",hook_num="%d",', n.flags, n.hooknum),
        format('pf="%d",priority="%d"', n.pf, n.priority)
    end,
  },
  [13] = {
    family = family.new("ebpf_link_netkit_info", "A netkit link: its attach type and network interface", "gauge"),
    labels = function(i)
      return format('attach_type="%s",interface_index="%d",', attach(i.netkit.attach_type), i.netkit.ifindex)
    end,
  },
  [8] = {
    family = family.new("ebpf_link_kprobe_info", "A kprobe_multi link: its functions, flags and missed runs",
      "gauge"),
    labels = function(i)
      local k = i.kprobe_multi
      return format('count="%d",flags="%d",', k.count, k.flags), format('missed="%s"', numfmt.u64(k.missed))
    end,
  },
  [7] = {
    family = family.new("ebpf_link_perf_event_info", "A perf event link: the kind of its event", "gauge"),
    labels = function(i)
      return "", format('perf_event_type="%s"', names.perf_event_type(i.perf_event.type))
    end,
  },
}

-- The families in name order, for the output.
local ORDER = { INFO }
for _, t in pairs(BY_TYPE) do
  ORDER[#ORDER + 1] = t.family
end
table.sort(ORDER, function(a, b) return a.name < b.name end)

-- A type's labels come in two parts around link_id, which sorts between
-- them: the pairs before it (each with its comma) and the pairs after it.
local function type_sample(t, link, link_id)
  local before, after = t.labels(link.info)
  if after then
    t.family:text(format("{%s%s,%s}", before, link_id, after), "1")
  else
    t.family:text(format("{%s%s}", before, link_id), "1")
  end
end

--- Writes the link families of a struct elx_bpf_scrape *.
function M.write(out, b)
  for i = 0, b.nlinks - 1 do
    local link = b.links[i]
    local link_id = format('link_id="%d"', link.id)
    INFO:text(format('{%s,link_type="%s",prog_id="%d"}', link_id, names.link_type(link.type), link.prog_id), "1")
    local t = BY_TYPE[tonumber(link.type)]
    if t then
      type_sample(t, link, link_id)
    end
  end
  for _, f in ipairs(ORDER) do
    f:flush(out)
  end
end

return M
