-- The C/Lua contract as the FFI sees it. The cdef text below is the block
-- between the CDEF markers of core/abi.h, verbatim: spec/unit/abi_spec.lua
-- fails when they drift, and checks sizes and offsets against the C compiler's.
local ffi = require("ffi")

local M = {}

M.VERSION = 4

M.CDEF = [[
/* One BPF map of a config as libbpf sees it after open, before load. */
struct elx_map_info {
	const char *name;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
};

/* The whole content of one metric map, read at one scrape; for an event
 * counter, the records counted by their label bytes since its last flush.
 * The memory belongs to the core and is valid only during the Lua call that
 * receives it. */
struct elx_batch {
	const char *name;
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_stride; /* bytes from one value slot to the next */
	uint32_t ncpus;	       /* value slots per key: possible CPUs, or 1 */
	uint32_t count;	       /* keys read */
	int32_t error;	       /* 0, or -errno when the read failed */
	const uint8_t *keys;   /* count * key_size bytes */
	const uint8_t *values; /* count * ncpus * value_stride bytes */
	uint64_t lost;	       /* event counters: records never counted */
};

/* One program of a config, for the built-in metrics. */
struct elx_program {
	const char *name;
	const char *tag; /* 16 lowercase hex digits */
	uint32_t id;
	int32_t attached; /* 1 when a link exists */
	uint64_t run_time_ns;
	uint64_t run_count;
};

/* One config's part of a scrape. */
struct elx_config_scrape {
	const char *name;
	uint32_t nbatches; /* in the order the config's bind returned */
	uint32_t nprograms;
	struct elx_batch *batches;
	struct elx_program *programs;
	uint64_t read_ns; /* time the core spent reading this config's maps */
};

/* Everything one scrape hands to Lua, and the body Lua hands back through
 * elx_scrape_set_body(). */
struct elx_scrape {
	uint32_t abi_version;
	uint32_t nconfigs;
	struct elx_config_scrape *configs;
	int32_t stats_enabled; /* kernel.bpf_stats_enabled at this scrape */
	int32_t reserved;
	char *body; /* malloc'd by elx_scrape_set_body; the core frees it */
	uint64_t body_len;
	uint32_t reload_successful; /* the last reload worked (1 before any) */
	uint32_t reserved2;
	uint64_t reload_success_time_ms; /* Unix time of the last successful (re)load */
	uint64_t reloads_success;
	uint64_t reloads_failure;
};

/* Core functions Lua may call. */
uint32_t elx_abi_version(void);
/* Copies the exposition text into scrape->body; returns 0 or -ENOMEM. */
int elx_scrape_set_body(struct elx_scrape *scrape, const char *text, uint64_t len);
void elx_log(int level, const char *msg); /* level: 0 debug, 1 info, 2 warn, 3 error */
]]

ffi.cdef(M.CDEF)

-- The core's functions resolve only inside the exporter binary; specs run
-- without it.
function M.core_available()
  return (pcall(function() return ffi.C.elx_abi_version end))
end

--- Fails when the running core speaks another version of the contract.
function M.check()
  if M.core_available() then
    local v = ffi.C.elx_abi_version()
    if v ~= M.VERSION then
      return nil, ("the core speaks ABI version %d, these Lua modules version %d: "
        .. "install matching versions"):format(v, M.VERSION)
    end
  end
  return true
end

return M
