-- The collector's part of the C/Lua contract as the FFI sees it: the block
-- between the CDEF markers of core/abi_bpf.h, verbatim (spec/unit/abi_spec.lua
-- checks it as it checks exporter.abi, which loads this module).
local ffi = require("ffi")

local M = {}

M.CDEF = [[
/* --collector.bpf: the BPF objects in the kernel (or, without CAP_SYS_ADMIN,
 * the exporter's own), read at a metrics scrape into arrays the core keeps
 * and grows between scrapes, each in the order of ids. Lua writes them as
 * the ebpf_* families. */
enum elx_bpf_part {
	ELX_BPF_PROGRAMS = 0,
	ELX_BPF_MAPS = 1,
	ELX_BPF_LINKS = 2,
	ELX_BPF_BTF = 3,
	ELX_BPF_NPARTS = 4,
};

struct elx_bpf_program {
	uint32_t id;
	uint32_t type; /* enum bpf_prog_type */
	char name[16]; /* NUL-terminated, as the kernel keeps it */
	uint8_t tag[8];
	uint32_t jited_bytes;
	uint32_t xlated_bytes;
	uint32_t verified_insns;
	uint32_t own;	       /* 1: loaded by this exporter */
	uint64_t load_time_ns; /* on the boot-time clock */
	uint64_t run_time_ns;  /* counted while the kernel's stats are on */
	uint64_t run_count;
	uint64_t recursion_misses;
	uint64_t memlock; /* bytes, as fdinfo tells; 0 when it did not */
};

struct elx_bpf_map {
	uint32_t id;
	uint32_t type; /* enum bpf_map_type */
	char name[16];
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;
	uint32_t own;
	int32_t entries_error; /* -errno when counting failed */
	uint64_t memlock;
	int64_t entries; /* -1: not counted (not asked for, or a type without keys) */
};

/* Laid out as the kernel's struct bpf_link_info, which the core reads into
 * it in place: `own` is where the kernel has padding, and `info` its union,
 * with the members of the link types that have an info family. */
struct elx_bpf_link {
	uint32_t type; /* enum bpf_link_type */
	uint32_t id;
	uint32_t prog_id;
	uint32_t own;
	union {
		struct {
			uint32_t attach_type;
			uint32_t target_obj_id;
			uint32_t target_btf_id;
		} tracing;
		struct {
			uint64_t cgroup_id;
			uint32_t attach_type;
		} cgroup;
		struct {
			uint32_t netns_ino;
			uint32_t attach_type;
		} netns;
		struct {
			uint32_t ifindex;
		} xdp;
		struct {
			uint32_t pf;
			uint32_t hooknum;
			int32_t priority;
			uint32_t flags;
		} netfilter;
		struct {
			uint64_t addrs; /* stays 0: no addresses are asked for */
			uint32_t count;
			uint32_t flags;
			uint64_t missed;
		} kprobe_multi;
		struct {
			uint32_t type; /* enum bpf_perf_event_type */
		} perf_event;
		struct {
			uint32_t ifindex;
			uint32_t attach_type;
		} tcx;
		struct {
			uint32_t ifindex;
			uint32_t attach_type;
		} netkit;
		uint64_t raw[8]; /* room for the kernel's largest member */
	} info;
};

struct elx_bpf_btf {
	uint32_t id;
	uint32_t kernel; /* 1: vmlinux or a module's */
	uint32_t size;	 /* bytes of BTF data */
	uint32_t own;
	char name[64]; /* "" for a program's */
};

/* A process holding a program, by an fd on it or on one of its links
 * (--collector.bpf.program-owners). */
struct elx_bpf_owner {
	uint32_t prog_id;
	int32_t pid;
	char comm[16];
};

/* What the exporter itself costs the kernel, from its own fds: memory of
 * its maps and programs, and its programs' run stats. */
struct elx_bpf_own {
	uint64_t map_memlock;
	uint64_t program_memlock;
	uint64_t run_time_ns;
	uint64_t run_count;
	uint32_t nmaps;
	uint32_t nprograms;
};

struct elx_bpf_scrape {
	uint32_t parts;		    /* 1 << enum elx_bpf_part, for each part read */
	uint32_t visible_only;	    /* no CAP_SYS_ADMIN: only the exporter's own objects */
	uint32_t counted_entries;   /* --collector.bpf.map-entries */
	uint32_t looked_for_owners; /* --collector.bpf.program-owners */
	uint32_t nprograms;
	uint32_t nmaps;
	uint32_t nlinks;
	uint32_t nbtfs;
	uint32_t nowners;
	uint32_t reserved;
	const struct elx_bpf_program *programs;
	const struct elx_bpf_map *maps;
	const struct elx_bpf_link *links;
	const struct elx_bpf_btf *btfs;
	const struct elx_bpf_owner *owners; /* by program id, then pid */
	uint64_t boot_time_ns;		    /* Unix time of boot: load times count from it */
	uint64_t errors[4];		    /* per part, since start */
	uint64_t duration_ns[4];	    /* per part, at this scrape */
	struct elx_bpf_own own;
};

/* --prog-stats-mode: whether and when the exporter has the kernel count
 * every program's runs (BPF_ENABLE_STATS). */
enum elx_prog_stats_mode {
	ELX_PROG_STATS_DISABLED = 0,
	ELX_PROG_STATS_SAMPLE = 1,
	ELX_PROG_STATS_ENABLED = 2,
};

struct elx_prog_stats {
	uint32_t mode;	      /* enum elx_prog_stats_mode */
	uint32_t on;	      /* the kernel counts now, because of the exporter */
	uint64_t interval_ns; /* sample: a window opens this often */
	uint64_t duration_ns; /* sample: and stays open this long */
	uint64_t windows;     /* times the exporter turned stats on */
	uint64_t on_ns;	      /* time with stats on, since start */
	uint64_t errors;      /* BPF_ENABLE_STATS calls that failed */
};
]]

ffi.cdef(M.CDEF)

return M
