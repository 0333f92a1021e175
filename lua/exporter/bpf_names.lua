-- Names of the kernel's BPF enums as --collector.bpf's labels print them,
-- so that dashboards made for digitalocean-labs/ebpf_exporter carry over:
-- map and program types as the cilium/ebpf library names them (its
-- MapType and ProgramType), link, attach and perf event types as that
-- exporter's own tables do (the kernel's names without their BPF_ prefix).
-- A value newer than these tables prints as cilium/ebpf prints one:
-- MapType(34), ProgramType(33); other enums print it in decimal.
local M = {}

-- Indexed from 0, as the kernel's enum bpf_map_type.
local MAP_TYPES = {
  [0] = "UnspecifiedMap", "Hash", "Array", "ProgramArray", "PerfEventArray", "PerCPUHash",
  "PerCPUArray", "StackTrace", "CGroupArray", "LRUHash", "LRUCPUHash", "LPMTrie", "ArrayOfMaps",
  "HashOfMaps", "DevMap", "SockMap", "CPUMap", "XSKMap", "SockHash", "CGroupStorage",
  "ReusePortSockArray", "PerCPUCGroupStorage", "Queue", "Stack", "SkStorage", "DevMapHash",
  "StructOpsMap", "RingBuf", "InodeStorage", "TaskStorage", "BloomFilter", "UserRingbuf",
  "CgroupStorage", "Arena",
}

-- enum bpf_prog_type.
local PROG_TYPES = {
  [0] = "UnspecifiedProgram", "SocketFilter", "Kprobe", "SchedCLS", "SchedACT", "TracePoint", "XDP",
  "PerfEvent", "CGroupSKB", "CGroupSock", "LWTIn", "LWTOut", "LWTXmit", "SockOps", "SkSKB",
  "CGroupDevice", "SkMsg", "RawTracepoint", "CGroupSockAddr", "LWTSeg6Local", "LircMode2",
  "SkReuseport", "FlowDissector", "CGroupSysctl", "RawTracepointWritable", "CGroupSockopt", "Tracing",
  "StructOps", "Extension", "LSM", "SkLookup", "Syscall", "Netfilter",
}

-- enum bpf_link_type. That exporter has no name for STRUCT_OPS (9) and
-- SOCKMAP (14) and prints their numbers; these are the kernel's names.
local LINK_TYPES = {
  [0] = "UNSPEC", "RAW_TRACEPOINT", "TRACING", "CGROUP", "ITER", "NETNS", "XDP", "PERF_EVENT",
  "KPROBE_MULTI", "STRUCT_OPS", "NETFILTER", "TCX", "UPROBE_MULTI", "NETKIT", "SOCKMAP",
}

-- enum bpf_attach_type; past NETKIT_PEER (55), the kernel's newer names.
local ATTACH_TYPES = {
  [0] = "CGROUP_INET_INGRESS", "CGROUP_INET_EGRESS", "CGROUP_INET_SOCK_CREATE", "CGROUP_SOCK_OPS",
  "SK_SKB_STREAM_PARSER", "SK_SKB_STREAM_VERDICT", "CGROUP_DEVICE", "SK_MSG_VERDICT",
  "CGROUP_INET4_BIND", "CGROUP_INET6_BIND", "CGROUP_INET4_CONNECT", "CGROUP_INET6_CONNECT",
  "CGROUP_INET4_POST_BIND", "CGROUP_INET6_POST_BIND", "CGROUP_UDP4_SENDMSG", "CGROUP_UDP6_SENDMSG",
  "LIRC_MODE2", "FLOW_DISSECTOR", "CGROUP_SYSCTL", "CGROUP_UDP4_RECVMSG", "CGROUP_UDP6_RECVMSG",
  "CGROUP_GETSOCKOPT", "CGROUP_SETSOCKOPT", "TRACE_RAW_TP", "TRACE_FENTRY", "TRACE_FEXIT",
  "MODIFY_RETURN", "LSM_MAC", "TRACE_ITER", "CGROUP_INET4_GETPEERNAME", "CGROUP_INET6_GETPEERNAME",
  "CGROUP_INET4_GETSOCKNAME", "CGROUP_INET6_GETSOCKNAME", "XDP_DEVMAP", "CGROUP_INET_SOCK_RELEASE",
  "XDP_CPUMAP", "SK_LOOKUP", "XDP", "SK_SKB_VERDICT", "SK_REUSEPORT_SELECT",
  "SK_REUSEPORT_SELECT_OR_MIGRATE", "PERF_EVENT", "TRACE_KPROBE_MULTI", "LSM_CGROUP", "STRUCT_OPS",
  "NETFILTER", "TCX_INGRESS", "TCX_EGRESS", "TRACE_UPROBE_MULTI", "CGROUP_UNIX_CONNECT",
  "CGROUP_UNIX_SENDMSG", "CGROUP_UNIX_RECVMSG", "CGROUP_UNIX_GETPEERNAME", "CGROUP_UNIX_GETSOCKNAME",
  "NETKIT_PRIMARY", "NETKIT_PEER", "TRACE_KPROBE_SESSION", "TRACE_UPROBE_SESSION",
}

-- enum bpf_perf_event_type.
local PERF_EVENT_TYPES = {
  [0] = "UNSPEC", "UPROBE", "URETPROBE", "KPROBE", "KRETPROBE", "TRACEPOINT", "EVENT",
}

local function namer(names, unknown)
  return function(value)
    value = tonumber(value)
    return names[value] or unknown:format(value)
  end
end

M.map_type = namer(MAP_TYPES, "MapType(%d)")
M.prog_type = namer(PROG_TYPES, "ProgramType(%d)")
M.link_type = namer(LINK_TYPES, "%d")
M.attach_type = namer(ATTACH_TYPES, "%d")
M.perf_event_type = namer(PERF_EVENT_TYPES, "%d")

-- The map types whose entries the kernel counts, for a fill ratio.
M.HASH_MAP_TYPES = { [1] = true, [5] = true, [9] = true, [10] = true, [13] = true }

return M
