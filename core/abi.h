/* The C/Lua contract: every struct and function Lua sees through the FFI.
 *
 * lua/exporter/abi.lua carries the block between the CDEF markers verbatim as
 * its ffi.cdef text (and lua/exporter/abi_bpf.lua that of core/abi_bpf.h,
 * the collector's part); spec/unit/abi_spec.lua fails when they drift, and
 * core/tests/test_abi_layout.c prints the sizes and offsets that the same spec
 * compares with ffi.sizeof/ffi.offsetof. Bump ELX_ABI_VERSION on any change,
 * then run `luajit tools/sync-abi.lua`.
 */
#ifndef ELX_ABI_H
#define ELX_ABI_H

#include <stdint.h>

#define ELX_ABI_VERSION 16

/* Functions called from Lua must be visible to the FFI (-rdynamic). */
#define ELX_EXPORT __attribute__((visibility("default")))

/* BEGIN CDEF */
/* The Lua entry points. The core calls one by filling elx_call and running
 * the Lua state's dispatcher, which reads elx_call through the FFI. */
enum elx_entry {
	ELX_ENTRY_INIT = 1,	   /* arg: struct elx_init * */
	ELX_ENTRY_CONFIGURE = 2,   /* arg: struct elx_configure * */
	ELX_ENTRY_RENDER = 3,	   /* arg: struct elx_scrape * */
	ELX_ENTRY_CGROUP_SYNC = 4, /* arg: struct elx_cgroup_sync * */
	ELX_ENTRY_SPANS = 5,	   /* arg: struct elx_span_call * */
	ELX_ENTRY_PROCESSES = 6,   /* arg: struct elx_process_sync * */
	ELX_ENTRY_WEB_CONFIG = 7,  /* arg: struct elx_web_config * */
};

/* The call in progress from the core into Lua. Lua sets `error` (a string
 * its state keeps alive until its next call) when the call fails for a
 * reason it expected; an uncaught Lua error comes back through lua_pcall. */
struct elx_call {
	uint32_t entry; /* enum elx_entry */
	uint32_t reserved;
	void *arg;
	const char *error;
	struct elx_guard *guard; /* the called state's guard of users' decoder code */
};

/* What users' decoder code may spend, one guard per Lua state
 * (core/lua_host.c). Lua marks the sections it is budgeted in (a config's
 * part of a scrape, one `new`, one file's load) and each call of users' code
 * (elx_guard_enter/leave); the core enforces the budget:
 * - memory: the state's allocator fails an allocation that would take the
 *   heap past heap_limit while it is set (during users' calls);
 * - time: a watchdog timer, armed when users' code starts and the section's
 *   budget remains, sets a count hook from its signal handler; the hook
 *   raises an error in users' code once its time in the section reaches the
 *   budget. Users' chunks are compiled with jit.off, since hooks never fire
 *   inside compiled traces. */
struct elx_guard {
	uint64_t heap_bytes; /* core: what the state's heap holds now */
	uint64_t heap_limit; /* core: while not 0, the most the heap may hold */
	double budget;	     /* Lua: seconds users' code may run in this section */
	double spent;	     /* seconds it ran in this section, in calls that returned */
	double entered;	     /* core: CLOCK_MONOTONIC seconds when the running call of
			      * users' code began; 0 when none runs */
	uint32_t armed;	     /* core: the watchdog's timer is set */
	uint32_t expired;    /* core: the hook found the section's budget spent */
};

/* ELX_ENTRY_INIT: the options the Lua side works with. */
struct elx_init {
	const char *config_dir;
	const char *const *decoder_dirs; /* after the built-in and <config_dir>/decoders */
	uint32_t ndecoder_dirs;
	uint32_t strict;	       /* --config.strict: what ebpf_exporter ignores is an error */
	uint64_t cache_size;	       /* decoded label sets kept per metric */
	uint64_t skip_cache_size;      /* keys whose rows a decoder dropped, per metric */
	double decoder_time_limit;     /* --decoders.time-limit, seconds */
	uint64_t decoder_memory_limit; /* --decoders.memory-limit, bytes */
	uint32_t decoders_unrestricted; /* --decoders.unrestricted */
	uint32_t reserved;
	uint64_t max_series; /* --config.max-series: series kept per metric; 0: no limit */
};

/* One BPF map of a config as libbpf sees it after open, before load. */
/* A member of a map's value type, from the object's BTF. */
struct elx_value_field {
	const char *name;
	uint32_t offset; /* bytes from the start of the value */
	uint32_t size;	 /* bytes; 0 for a bitfield */
};

struct elx_map_info {
	const char *name;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t percpu;	/* 1 for the per-CPU map types: a value slot per possible CPU */
	uint32_t nvalue_fields; /* members of value_fields */
	/* the value's BTF type name ("tcp_stats", "u64"; "" when anonymous), or
	 * NULL when the object has no BTF for it; a struct or union has its
	 * members in value_fields, in order (typedefs and qualifiers resolved) */
	const char *value_type;
	const struct elx_value_field *value_fields;
};

/* A map the core reads at each scrape for a config. */
struct elx_metric_map {
	const char *name;
	uint32_t record_size; /* 0: read the map whole; else count its records' label bytes */
	uint32_t reserved;
	uint64_t flush_ms; /* event counters: how often their counts start afresh */
	/* targets: where the key holds a process id (pid_size 4 or 8 bytes at
	 * pid_offset), so that an exited process's keys can be deleted; 0: none */
	uint32_t pid_offset;
	uint32_t pid_size;
};

/* One program of a config's opened object, for configure. */
struct elx_program_info {
	const char *name;
	const char *section; /* its SEC() name */
};

/* A ring buffer whose records become spans (a config's tracing.spans[i]). */
struct elx_span_stream {
	const char *map;
	const char *service; /* its service.name, or NULL for the default */
};

/* ELX_ENTRY_CONFIGURE: the core names a config and the maps of its opened
 * object; Lua parses <name>.yaml, binds it and answers in the out fields.
 * The answer's memory is the Lua state's, valid until its next call. */
struct elx_configure {
	const char *name;
	const struct elx_map_info *maps; /* NULL when the object could not be opened */
	uint32_t nmaps;
	/* out: the maps to read at each scrape, in the order of the batches
	 * elx_config_scrape hands back */
	uint32_t nmetric_maps;
	const struct elx_metric_map *metric_maps;
	/* out: kernel symbols whose addresses go into kaddr_<symbol> */
	const char *const *kaddrs;
	uint32_t nkaddrs;
	/* out: ring buffers read as spans, in tracing.spans order */
	uint32_t nspan_streams;
	const struct elx_span_stream *span_streams;
	/* in: the object's programs (NULL when it could not be opened) */
	const struct elx_program_info *programs;
	uint32_t nprograms;
	/* out: programs that `targets:` attaches per process, not at load */
	uint32_t ntarget_programs;
	const char *const *target_programs;
	uint64_t target_grace_ms; /* out: how long an exited process's keys stay */
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
	uint64_t read_errors;  /* reads of this map that failed, across reloads */
	/* Unix seconds when the counts began: the object's attach (kept across
	 * reloads that keep the object), or an event counter's last flush */
	double created;
};

/* One program of a config, for the built-in metrics. */
struct elx_program {
	const char *name;
	const char *tag; /* 16 lowercase hex digits */
	uint32_t id;
	int32_t attached; /* 1 when a link exists */
	uint64_t run_time_ns;
	uint64_t run_count;
	const char *section;	       /* its SEC() name */
	const char *attach_error;      /* why it is not attached, or NULL */
	uint32_t targeted;	       /* 1: attached per process by `targets:` */
	uint32_t attached_processes;   /* targeted: processes it has links in now */
	uint64_t target_attach_errors; /* targeted: attaches to a process that failed */
};

/* The errors of one decoder in a config. */
struct elx_decoder_count {
	char decoder[48]; /* its name, NUL-terminated; "" for a free slot */
	uint64_t errors;
};

/* Counters of a config that Lua adds to and the core keeps: a reload
 * carries them to the config of the same name. Decoders past the 32nd of a
 * config count in the last slot. */
/* Rows a metric's cardinality guard folded into its overflow series. */
struct elx_overflow_count {
	char metric[64]; /* the metric's name, NUL-terminated; "" for a free slot */
	uint64_t rows;
};
struct elx_config_counters {
	uint64_t invalid_utf8; /* label values decoded with invalid UTF-8, repaired */
	uint32_t ndecoders;    /* slots in use */
	uint32_t reserved;
	struct elx_decoder_count decoders[32];
	uint32_t noverflows; /* slots of overflows in use */
	uint32_t reserved2;
	struct elx_overflow_count overflows[32];
};

/* One config's part of a scrape. */
struct elx_config_scrape {
	const char *name;
	uint32_t nbatches; /* in the order of the config's elx_configure answer */
	uint32_t nprograms;
	struct elx_batch *batches;
	struct elx_program *programs;
	struct elx_config_counters *counters;
	uint64_t read_ns; /* time the core spent reading this config's maps */
};

/* The pages rendered from one read of the maps. */
enum elx_page {
	ELX_PAGE_METRICS = 0, /* the exposition text */
	ELX_PAGE_MAPS = 1,    /* --debug's /maps */
	ELX_PAGE_LANDING = 2, /* / */
};

/* The exposition formats of the metrics page, negotiated by Accept. */
enum elx_format {
	ELX_FORMAT_TEXT = 0,	    /* text/plain; version=0.0.4: the default */
	ELX_FORMAT_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
	ELX_FORMAT_PROTOBUF = 2,    /* io.prometheus.client.MetricFamily, delimited */
};

/* ELX_FORMAT_PROTOBUF: Lua's body is a run of records that the core encodes
 * into MetricFamily messages (core/format_protobuf.c): each record is its
 * header struct's bytes, then the bytes it announces, unaligned. Label
 * pairs are the text format's `a="x",b="y"`, escaped as there. */
enum elx_pb_record {
	ELX_PB_FAMILY = 1,    /* starts a family: its samples or histograms follow */
	ELX_PB_SAMPLE = 2,    /* a counter, gauge or untyped series */
	ELX_PB_HISTOGRAM = 3, /* a histogram series */
};

struct elx_pb_family {
	uint32_t record; /* ELX_PB_FAMILY */
	uint32_t
	    type; /* io.prometheus.client.MetricType: 0 counter, 1 gauge, 3 untyped, 4 histogram */
	uint32_t name_len; /* then the name's bytes */
	uint32_t help_len; /* then the help's, unescaped */
};

struct elx_pb_sample {
	uint32_t record;     /* ELX_PB_SAMPLE */
	uint32_t labels_len; /* then the label pairs */
	double value;
	double created; /* Unix seconds, counters only; 0: none */
};

/* A histogram: its label pairs, then nbuckets classic buckets (struct
 * elx_pb_bucket, +Inf left out), then nnative uint64_t counts of the
 * native buckets native_first, native_first + 1, ... of `schema`. */
struct elx_pb_histogram {
	uint32_t record; /* ELX_PB_HISTOGRAM */
	uint32_t labels_len;
	uint64_t count;
	double sum;
	double created; /* Unix seconds; 0: none */
	uint32_t nbuckets;
	uint32_t native; /* 1: a native histogram too */
	int32_t schema;
	int32_t native_first;
	uint32_t nnative;
	uint32_t reserved;
	double zero_threshold;
	uint64_t zero_count;
};

struct elx_pb_bucket {
	double upper_bound;
	uint64_t cumulative_count;
};

/* The exporter's own process, as Prometheus client libraries export it. */
struct elx_process {
	double cpu_seconds;	   /* user + system */
	double start_time_seconds; /* since the Unix epoch */
	uint64_t resident_bytes;
	uint64_t virtual_bytes;
	uint64_t open_fds;
	uint64_t max_fds;
};

/* What the exporter is: build_info's labels, the landing page's links. */
struct elx_about {
	const char *version;
	const char *revision; /* the source's git revision, or "unknown" */
	const char *libbpf;   /* the libbpf the binary runs with */
	const char *telemetry_path;
	int32_t debug; /* --debug: /maps is served */
	int32_t reserved;
};

/* What became of one config's spans, for spans_total; across reloads. */
struct elx_span_stats {
	const char *config;
	uint64_t exported;
	uint64_t dropped; /* the queue was full, or the exporter stopped first */
	uint64_t failed;  /* the receiver refused them, or kept failing */
};

/* The span export, for the built-in metrics of a scrape. */
struct elx_span_export_stats {
	const struct elx_span_stats *configs;
	uint32_t nconfigs;
	uint32_t enabled;      /* 1 when spans are exported (OTEL_TRACES_EXPORTER) */
	uint64_t queue_length; /* spans waiting, and in the export under way */
	uint64_t queue_capacity;
};
/* The collector of the BPF subsystem (--collector.bpf) and the program
 * stats mode: their structs are in core/abi_bpf.h. */
struct elx_bpf_scrape;
struct elx_prog_stats;

/* ELX_ENTRY_RENDER: everything one scrape hands to Lua, and the body Lua
 * hands back through elx_scrape_set_body(). */
struct elx_scrape {
	uint32_t abi_version;
	uint32_t page; /* enum elx_page */
	struct elx_config_scrape *configs;
	uint32_t nconfigs;
	int32_t stats_enabled; /* runs are counted: the sysctl, or --prog-stats-mode */
	char *body;	       /* malloc'd by elx_scrape_set_body; the core frees it */
	uint64_t body_len;
	const char *content_type;	 /* out: a string the Lua state keeps alive */
	uint32_t reload_successful;	 /* the last reload worked (1 before any) */
	uint32_t format;		 /* enum elx_format: ELX_PAGE_METRICS's */
	uint64_t reload_success_time_ms; /* Unix time of the last successful (re)load */
	uint64_t reloads_success;
	uint64_t reloads_failure;
	const struct elx_about *about;
	struct elx_process process;
	struct elx_span_export_stats spans;
	const struct elx_bpf_scrape *bpf;	 /* --collector.bpf, or NULL */
	const struct elx_prog_stats *prog_stats; /* NULL: disabled */
	/* CLOCK_MONOTONIC seconds by which the page must be done (Prometheus's
	 * scrape timeout less --web.timeout-offset), or 0: no budget. A config
	 * not collected by then is left out, and its scrape_success is 0. */
	double deadline;
};

/* One update of a cgroup_id_map. */
struct elx_cgroup_op {
	const char *config;
	const char *map;
	const char *path; /* the cgroup's directory */
	uint64_t id;	  /* the cgroup id: the key of a hash map */
	uint32_t storage; /* 1: a BPF_MAP_TYPE_CGRP_STORAGE, keyed by a cgroup fd */
	uint32_t set;	  /* 1: add the cgroup; 0: remove it */
};

/* ELX_ENTRY_CGROUP_SYNC: the cgroup_id_map updates to apply now (every
 * matching cgroup at the first call). The ops are the Lua state's, valid
 * until its next call. */
struct elx_cgroup_sync {
	int32_t rescan;	  /* in: walk cgroupfs for changes first */
	int32_t watch_fd; /* out: readable on cgroup changes; 0: call again on a
			   * timer with rescan; -1: no config has a cgroup_id_map */
	uint32_t nops;	  /* out */
	uint32_t reserved;
	const struct elx_cgroup_op *ops; /* out */
};

/* One ring-buffer record of a span stream: `size` bytes at `offset` of the
 * call's data. */
struct elx_span_record {
	uint32_t offset;
	uint32_t size;
};

/* An attribute of a span: a label's name and its decoded value. */
struct elx_span_attr {
	const char *key;
	const char *value;
	uint32_t key_len;
	uint32_t value_len;
};

/* Bits of elx_span.flags. */
enum elx_span_flag {
	ELX_SPAN_HAS_TIMESTAMP = 1, /* monotonic_ns is the record's; else: when decoded */
};

/* A span decoded from one record; ids as the OTLP bytes (all zeros: none,
 * for the parent; generate one, for the trace and the span). */
struct elx_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	uint64_t monotonic_ns; /* start, on CLOCK_MONOTONIC */
	uint64_t duration_ns;
	const char *name;
	uint32_t name_len;
	uint32_t nattributes;
	const struct elx_span_attr *attributes;
	uint32_t flags; /* enum elx_span_flag */
	uint32_t reserved;
};

/* ELX_ENTRY_SPANS: records of one span stream of a config, drained from its
 * ring buffer; Lua decodes each into spans[nspans++] (room for nrecords),
 * or drops it (a decoder skipped it, or failed: counted in counters). The
 * records' memory is the core's, valid during the call; the spans' strings
 * are the Lua state's, valid until its next call. */
struct elx_span_call {
	const char *config;
	uint32_t stream; /* index in the config's span_streams */
	uint32_t nrecords;
	const uint8_t *data;
	const struct elx_span_record *records;
	struct elx_config_counters *counters;
	struct elx_span *spans;
	uint32_t nspans; /* out */
	uint32_t reserved;
};

/* What the core learned about a process (ELX_ENTRY_PROCESSES). */
enum elx_process_change {
	ELX_PROCESS_FOUND = 1, /* running at a scan of /proc */
	ELX_PROCESS_EXEC = 2,  /* ran a new program: its links are gone */
	ELX_PROCESS_FORK = 3,  /* a new process, child of ppid */
	ELX_PROCESS_EXIT = 4,  /* exited: its links are gone, its keys stay for the grace period */
};

struct elx_process_event {
	uint32_t change; /* enum elx_process_change */
	uint32_t pid;	 /* the process (thread group) id */
	uint32_t ppid;	 /* 0 when unknown (FOUND) */
	uint32_t reserved;
	char comm[16];	      /* "" when unknown: read /proc */
	char parent_comm[16]; /* "" when unknown */
};

/* A process of a config whose grace period is over: its keys were deleted. */
struct elx_process_gone {
	const char *config;
	uint32_t pid;
	uint32_t reserved;
};

/* Attach a program of a config to a process, on `binary` as the process sees
 * it (NULL: the path of the program's SEC()). */
struct elx_target_op {
	const char *config;
	const char *program;
	const char *binary;
	uint32_t pid;
	uint32_t reserved;
};

/* ELX_ENTRY_PROCESSES: processes that ran, changed or went; Lua answers
 * with the attachments they need. With `listing`, the FOUND events are every
 * process there is, and the answer is the whole set of attachments wanted:
 * the core detaches the others. The ops are the Lua state's, valid until its
 * next call. */
struct elx_process_sync {
	const struct elx_process_event *events;
	uint32_t nevents;
	uint32_t listing;
	const struct elx_process_gone *gone;
	uint32_t ngone;
	uint32_t all_forks;		 /* out: a selector needs every fork (parent_comm) */
	const struct elx_target_op *ops; /* out */
	uint32_t nops;			 /* out */
	uint32_t reserved;
};

/* The policies of tls_server_config.client_auth_type (exporter-toolkit's,
 * after Go's tls.ClientAuthType). */
enum elx_tls_client_auth {
	ELX_TLS_NO_CLIENT_CERT = 0,
	ELX_TLS_REQUEST_CLIENT_CERT = 1,	    /* asked for, never checked */
	ELX_TLS_REQUIRE_ANY_CLIENT_CERT = 2,	    /* required, never checked */
	ELX_TLS_VERIFY_CLIENT_CERT_IF_GIVEN = 3,    /* checked when sent */
	ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT = 4, /* required and checked */
};

/* A user of basic_auth_users. */
struct elx_web_user {
	const char *name;
	const char *hash; /* bcrypt, as the file has it */
};

/* ELX_ENTRY_WEB_CONFIG: the core names --web.config.file; Lua reads and
 * checks it (exporter-toolkit's format) and answers in the out fields, in
 * memory the Lua state keeps until its next call. Paths are the file's own,
 * made relative to its directory; absent keys are NULL or 0. */
struct elx_web_config {
	const char *path;
	uint32_t tls;	      /* out: tls_server_config asks for TLS */
	uint32_t client_auth; /* out: enum elx_tls_client_auth */
	const char *cert_file;
	const char *cert; /* inline PEM */
	const char *key_file;
	const char *key;
	const char *client_ca_file;
	const char *client_ca;
	const char *const *client_allowed_sans;
	uint32_t nclient_allowed_sans;
	uint32_t min_version; /* TLS protocol numbers as OpenSSL has them (0x0303: 1.2) */
	uint32_t max_version; /* 0: the newest */
	uint32_t prefer_server_cipher_suites;
	const char *cipher_suites;     /* OpenSSL's names, ':' between them, or NULL */
	const char *curve_preferences; /* OpenSSL's group names, ':' between them, or NULL */
	const struct elx_web_user *users;
	uint32_t nusers;
	uint32_t reserved;
	const char *headers; /* "Name: value\r\n" lines for every response, or NULL */
};

/* The kernel symbol index (core/ksym_index.c): kallsyms read by the core
 * into sorted addresses and one arena of names, outside every Lua state.
 * Addresses go in as the 8 host-order bytes a BPF program stored. Names come
 * back pointing into the index, valid until the next call on it: copy them
 * at once. `now` is seconds on a monotonic clock: a lookup that misses reads
 * the file again, at most once per 5 seconds, and an address that missed
 * even in a fresh read is not looked for again while it stays in the
 * index's miss cache. */
struct elx_ksym_index;

struct elx_ksym_stats {
	uint64_t reads;	      /* reads of the file tried, failed ones too */
	uint64_t read_cpu_ns; /* CPU time of the last successful read */
	uint64_t bytes;	      /* memory the index holds */
	uint32_t symbols;
	uint32_t reserved;
};

/* The index that the whole process shares (every generation, decoder and
 * kaddrs) when path is /proc/kallsyms; NULL for any other path. */
struct elx_ksym_index *elx_ksym_shared(const char *path);
/* An index of its own for another file (specs' fixtures); nothing is read
 * before the first lookup. NULL when out of memory. */
struct elx_ksym_index *elx_ksym_index_new(const char *path);
void elx_ksym_index_free(struct elx_ksym_index *index);
/* The symbol starting exactly at the address: 1 with *name set, 0 when no
 * symbol starts there, or -errno when the file cannot be read. */
int elx_ksym_symbol(struct elx_ksym_index *index, const char *addr, double now, const char **name);
/* The n frames of a stack up to the first zero one: names[i] is the symbol
 * at the greatest address at or below frame i, NULL when there is none (or
 * the file shows only zero addresses). Returns the number of frames before
 * the first zero one, or -errno when the file cannot be read. */
int elx_ksym_stack(struct elx_ksym_index *index, const char *frames, uint32_t n, double now,
		   const char **names);
/* Why the last read failed: "<path>: <reason>". */
const char *elx_ksym_index_error(const struct elx_ksym_index *index);
void elx_ksym_index_stats(const struct elx_ksym_index *index, struct elx_ksym_stats *stats);

/* Around each call of users' code (see struct elx_guard). enter returns 1,
 * and arms nothing, when the section's time is spent; else it arms the
 * watchdog for what remains (unless it runs), sets the heap ceiling and
 * returns 0. leave takes the ceiling away first, adds the call's time and
 * returns `expired`. disarm, at the end of a section, stops the watchdog and
 * takes its hook away. */
int elx_guard_enter(struct elx_guard *guard, uint64_t heap_limit);
int elx_guard_leave(struct elx_guard *guard);
void elx_guard_disarm(struct elx_guard *guard);

/* A metric's series and the label cache of its keys (core/series_store.c),
 * in memory outside every Lua state, so that the configuration a reload makes
 * takes over the stores of its metrics whose fingerprint (config, metric,
 * labels, decoders and their files) did not change, and scrapes them warm.
 * Series ids are 1..nids (freed ones are handed out again); the text of id
 * is text_len[id] bytes at arena + text_at[id]. gens[id] is the scrape that
 * last visited the series and slots[id] its slot in it: Lua writes both. */
struct elx_series_private;
struct elx_series_store {
	uint8_t *arena;
	uint32_t *text_at;
	uint32_t *text_len;
	uint32_t *gens;
	uint32_t *slots;
	uint32_t nids;	      /* the highest id handed out */
	uint32_t capacity;    /* of the id arrays: ids are below it */
	uint32_t gen;	      /* scrapes begun */
	uint32_t nseries;     /* series alive */
	uint32_t nkeys;	      /* keys cached, on every lane, dropped rows' too */
	uint32_t adopted;     /* configurations that took this store over */
	uint32_t max_series;  /* 0: no bound; else new texts past it get overflow_id */
	uint32_t overflow_id; /* the overflow series (elx_series_store_limit), 0 until made */
	uint64_t arena_used;
	uint64_t arena_size;
	struct elx_series_private *priv;
};

/* The store registered under `fingerprint` (a reference more), or a new one
 * registered under it; with fresh, always a new one, which replaces the
 * registered one. fingerprint NULL: a store of its own, never registered.
 * *adopted is 1 when an existing store came back. NULL when out of memory. */
struct elx_series_store *elx_series_store_open(const char *fingerprint, int fresh, int *adopted);
/* Drops a reference; the last one frees the store. */
void elx_series_store_close(struct elx_series_store *store);
/* Bounds of the key cache: cached rows with a series, rows a decoder dropped. */
void elx_series_store_bound(struct elx_series_store *store, uint32_t max_keys, uint32_t max_skips);
/* Starts a scrape: gen + 1; keys not seen in the scrape before and series
 * no key holds that it did not visit go, when there are enough of them. */
void elx_series_store_begin(struct elx_series_store *store);
/* Looks up `count` keys of key_size bytes at keys on lane (a CPU, or 0):
 * entries[i] is the cached entry of key i, or -1 with i in misses. Returns
 * the number of misses. */
uint32_t elx_series_store_find(struct elx_series_store *store, uint32_t lane, const uint8_t *keys,
			       uint32_t count, uint32_t key_size, double *entries,
			       uint32_t *misses);
/* Caches key -> entry (0: a row never exported) holding series id (0:
 * none); dropped: a decoder dropped the row, which counts against the bound
 * of dropped rows. Returns 0, -ENOSPC past the bound (not cached) or -ENOMEM. */
int elx_series_store_put(struct elx_series_store *store, uint32_t lane, const uint8_t *key,
			 uint32_t key_size, double entry, uint32_t id, int dropped);
/* Bounds the series to max_series (0: none; max_series in a config): a text
 * not known yet while max_series series other than the overflow one live gets
 * the id of the overflow series, whose text is overflow_text (copied; made
 * when first needed). Returns 0 or -ENOMEM. */
int elx_series_store_limit(struct elx_series_store *store, uint32_t max_series,
			   const uint8_t *overflow_text, uint32_t len);
/* The id of a series text, known or new (the text copied), or past the bound
 * the overflow series'; 0 when out of memory. */
uint32_t elx_series_store_id(struct elx_series_store *store, const uint8_t *text, uint32_t len);

/* Core symbols Lua may use. */
extern struct elx_call elx_call;
uint32_t elx_abi_version(void);
/* Copies the page into scrape->body; returns 0 or -ENOMEM. */
int elx_scrape_set_body(struct elx_scrape *scrape, const char *text, uint64_t len);
void elx_log(int level, const char *msg); /* level: 0 debug, 1 info, 2 warn, 3 error */
/* END CDEF */

#include "abi_bpf.h"

#endif
