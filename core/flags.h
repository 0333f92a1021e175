/* Command-line flags, with ebpf_exporter's names and defaults. */
#ifndef ELX_FLAGS_H
#define ELX_FLAGS_H

#include <stddef.h>
#include <stdint.h>

struct elx_flags {
	const char *config_dir; /* NULL: no configs (--collector.bpf alone) */
	char **config_names;	/* NULL-terminated, split from --config.names */
	size_t nconfig_names;
	int config_names_all; /* --config.names=all: every <name>.yaml with its .bpf.o */
	int config_check;
	int config_watch;
	int config_strict;
	long config_cache_size;
	long config_skip_cache_size;
	long config_max_series; /* 0: no limit */
	int debug;
	int log_timestamps;
	char **listen_addresses; /* NULL-terminated, from repeated --web.listen-address */
	size_t nlisten_addresses;
	const char *telemetry_path;
	int web_enable_lifecycle;
	int web_enable_openmetrics; /* negotiate OpenMetrics (client_golang's EnableOpenMetrics) */
	long web_max_connections;
	int web_systemd_socket;		/* every socket systemd passed */
	const char *web_config_file;	/* NULL: no TLS, no auth */
	uint64_t web_timeout_offset_ns; /* taken off Prometheus's scrape timeout */
	long web_max_requests;		/* scrapes at once; 0: no limit */
	const char *btf_path;		/* NULL: the kernel's own /sys/kernel/btf/vmlinux */
	const char *capabilities_keep;
	char **decoder_dirs; /* NULL-terminated, from repeated --decoders.path */
	size_t ndecoder_dirs;
	/* --collector.bpf and its parts; the parts are -1 until a flag sets them,
	 * then resolved to 0 or 1. */
	int collector_bpf;
	int collector_bpf_programs;
	int collector_bpf_maps;
	int collector_bpf_links;
	int collector_bpf_btf;
	int collector_bpf_map_entries;
	int collector_bpf_program_owners;
	int prog_stats_mode; /* enum elx_prog_stats_mode */
	uint64_t prog_stats_sample_interval_ns;
	uint64_t prog_stats_sample_duration_ns;
	uint64_t decoders_time_limit_ns;
	long decoders_memory_limit; /* MiB */
	int decoders_unrestricted;
};

enum elx_flags_result { ELX_FLAGS_OK, ELX_FLAGS_EXIT_OK, ELX_FLAGS_ERROR };

/* Parses argv. On ELX_FLAGS_ERROR one line naming the flag has gone to
 * stderr; ELX_FLAGS_EXIT_OK means --help or --version was printed. */
enum elx_flags_result elx_flags_parse(struct elx_flags *f, int argc, char **argv);
void elx_flags_free(struct elx_flags *f);

#endif
