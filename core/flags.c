/* Command-line flags in the style of Go's kingpin, which ebpf_exporter uses:
 * --name=value or --name value, --flag / --no-flag for booleans. */
#define _GNU_SOURCE
#include "flags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi.h"
#include "build_config.h"
#include "caps.h"

enum flag_kind { FLAG_BOOL, FLAG_STRING, FLAG_COUNT, FLAG_LIST, FLAG_DURATION, FLAG_ACTION };

struct flag_def {
	const char *name;
	enum flag_kind kind;
	size_t offset; /* into struct elx_flags */
	const char *placeholder;
	const char *help;
};

#define FIELD(f) offsetof(struct elx_flags, f)

static const struct flag_def flag_defs[] = {
	{ "config.dir", FLAG_STRING, FIELD(config_dir), "DIR",
	  "Directory with the <name>.yaml and <name>.bpf.o of each config (required)." },
	{ "config.names", FLAG_STRING, 0, "NAMES",
	  "Comma separated names of the configs to load, or all: every <name>.yaml with its "
	  "<name>.bpf.o in --config.dir, looked for again at each reload (required)." },
	{ "config.strict", FLAG_BOOL, FIELD(config_strict), NULL,
	  "Fail when any program fails to attach, instead of reporting it as not attached." },
	{ "config.check", FLAG_BOOL, FIELD(config_check), NULL,
	  "Load and attach every config, then exit: 0 when all of it worked." },
	{ "config.watch", FLAG_BOOL, FIELD(config_watch), NULL,
	  "Reload when a YAML, .bpf.o or decoder script in --config.dir (or --decoders.path) "
	  "changes." },
	{ "config.cache-size", FLAG_COUNT, FIELD(config_cache_size), "N",
	  "Decoded label sets kept per metric, and never more than its map holds (default "
	  "1048576)." },
	{ "config.skip-cache-size", FLAG_COUNT, FIELD(config_skip_cache_size), "N",
	  "Keys whose rows a decoder dropped (regexp), kept per metric so they are not decoded "
	  "again; 0 decodes them at every scrape (default 65536)." },
	{ "config.max-series", FLAG_COUNT, FIELD(config_max_series), "N",
	  "Series kept per metric without a max_series of its own; past it, new label sets "
	  "add to one overflow series (default 0: no limit)." },
	{ "capabilities.keep", FLAG_STRING, FIELD(capabilities_keep), "CAPS",
	  "Capabilities kept after attaching: all, none, or a list like cap_syslog,cap_bpf "
	  "(default all)." },
	{ "btf.path", FLAG_STRING, FIELD(btf_path), "FILE",
	  "Kernel BTF to use where the kernel has no /sys/kernel/btf/vmlinux." },
	{ "decoders.path", FLAG_LIST, FIELD(decoder_dirs), "DIR",
	  "A directory of decoder scripts (<name>.lua), after <config.dir>/decoders; repeatable." },
	{ "decoders.time-limit", FLAG_DURATION, FIELD(decoders_time_limit_ns), "DURATION",
	  "Time users' decoders may run in one config's scrape, in one new() or while their file "
	  "loads; past it the config's series are left out of that scrape (default 1s)." },
	{ "decoders.memory-limit", FLAG_COUNT, FIELD(decoders_memory_limit), "MIB",
	  "The Lua heap, in MiB, past which users' decoders may not allocate (default 512)." },
	{ "decoders.unrestricted", FLAG_BOOL, FIELD(decoders_unrestricted), NULL,
	  "Run users' decoders with all of LuaJIT (os, io, the FFI) rather than in their "
	  "sandbox." },
	{ "debug", FLAG_BOOL, FIELD(debug), NULL, "Log debug messages, libbpf's among them." },
	{ "log.no-timestamps", FLAG_BOOL, 0, NULL, "Leave timestamps out of log lines." },
	{ "web.listen-address", FLAG_LIST, FIELD(listen_addresses), "ADDR",
	  "Where to serve HTTP: [host]:port, or fd://N for a socket passed by systemd; repeatable "
	  "(default :9435)." },
	{ "web.systemd-socket", FLAG_BOOL, FIELD(web_systemd_socket), NULL,
	  "Serve on every socket systemd passed (socket activation), not on "
	  "--web.listen-address." },
	{ "web.config.file", FLAG_STRING, FIELD(web_config_file), "FILE",
	  "A web config (exporter-toolkit's format) with TLS, basic auth and response headers; "
	  "read again when it or a file it names changes." },
	{ "web.telemetry-path", FLAG_STRING, FIELD(telemetry_path), "PATH",
	  "Path of the metrics page (default /metrics)." },
	{ "web.enable-lifecycle", FLAG_BOOL, FIELD(web_enable_lifecycle), NULL,
	  "Reload with POST /-/reload (SIGHUP always reloads)." },
	{ "web.enable-openmetrics", FLAG_BOOL, FIELD(web_enable_openmetrics), NULL,
	  "Serve OpenMetrics to scrapers that ask for it (counters then end in _total and have "
	  "_created series in Prometheus); otherwise they get the text format." },
	{ "collector.bpf", FLAG_BOOL, FIELD(collector_bpf), NULL,
	  "Export every BPF program, map, link and BTF object in the kernel (the ebpf_* families), "
	  "with or without configs." },
	{ "collector.bpf.programs", FLAG_BOOL, FIELD(collector_bpf_programs), NULL,
	  "With --collector.bpf: programs (default on)." },
	{ "collector.bpf.maps", FLAG_BOOL, FIELD(collector_bpf_maps), NULL,
	  "With --collector.bpf: maps (default on)." },
	{ "collector.bpf.links", FLAG_BOOL, FIELD(collector_bpf_links), NULL,
	  "With --collector.bpf: links (default on)." },
	{ "collector.bpf.btf", FLAG_BOOL, FIELD(collector_bpf_btf), NULL,
	  "With --collector.bpf: BTF objects (default on)." },
	{ "collector.bpf.map-entries", FLAG_BOOL, FIELD(collector_bpf_map_entries), NULL,
	  "With --collector.bpf: count the entries of every map (default off)." },
	{ "collector.bpf.program-owners", FLAG_BOOL, FIELD(collector_bpf_program_owners), NULL,
	  "With --collector.bpf: the processes holding each program, from /proc (default off)." },
	{ "prog-stats-mode", FLAG_STRING, 0, "MODE",
	  "Have the kernel count the runs and run time of every program: disabled (default), "
	  "sample (for --prog-stats-sample-duration every --prog-stats-sample-interval) or "
	  "enabled." },
	{ "prog-stats-sample-interval", FLAG_DURATION, FIELD(prog_stats_sample_interval_ns),
	  "DURATION", "How often a sampling window opens, as 10s or 1m30s." },
	{ "prog-stats-sample-duration", FLAG_DURATION, FIELD(prog_stats_sample_duration_ns),
	  "DURATION", "How long a sampling window stays open." },
	{ "web.max-connections", FLAG_COUNT, FIELD(web_max_connections), "N",
	  "HTTP connections served at once; beyond, a new one takes the place of an idle or "
	  "slow one (default 1024)." },
	{ "web.max-requests", FLAG_COUNT, FIELD(web_max_requests), "N",
	  "Scrapes answered at once; beyond, 503 (default 40; 0: no limit)." },
	{ "web.timeout-offset", FLAG_DURATION, FIELD(web_timeout_offset_ns), "DURATION",
	  "Taken off Prometheus's scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to leave "
	  "time for the network: what is not collected by then is left out (default 500ms)." },
	{ "version", FLAG_ACTION, 0, NULL, "Print the version and exit." },
	{ "help", FLAG_ACTION, 0, NULL, "Print this help and exit." },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ebpf-lua-exporter --config.dir=DIR --config.names=NAMES [flags]\n"
		"       ebpf-lua-exporter --collector.bpf [flags]\n\n"
		"A Prometheus exporter for custom eBPF metrics, compatible with ebpf_exporter's\n"
		"configs. Serves /metrics after loading and attaching every config.\n\nFlags:\n");
	for (size_t i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
		const struct flag_def *d = &flag_defs[i];
		char head[64];

		if (d->kind == FLAG_BOOL)
			snprintf(head, sizeof(head), "--[no-]%s", d->name);
		else if (d->placeholder)
			snprintf(head, sizeof(head), "--%s=%s", d->name, d->placeholder);
		else
			snprintf(head, sizeof(head), "--%s", d->name);
		fprintf(out, "  %-30s %s\n", head, d->help);
	}
}

/* One line on stderr, as kingpin words it, then ELX_FLAGS_ERROR. */
__attribute__((format(printf, 1, 2))) static enum elx_flags_result flag_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ebpf-lua-exporter: error: %s, try --help\n", msg);
	return ELX_FLAGS_ERROR;
}

static const struct flag_def *find_flag(const char *name, size_t len, int *negated)
{
	*negated = 0;
	if (len > 3 && strncmp(name, "no-", 3) == 0) {
		for (size_t i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
			const struct flag_def *d = &flag_defs[i];

			if (d->kind == FLAG_BOOL && strlen(d->name) == len - 3 &&
			    strncmp(d->name, name + 3, len - 3) == 0) {
				*negated = 1;
				return d;
			}
		}
	}
	for (size_t i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
		if (strlen(flag_defs[i].name) == len && strncmp(flag_defs[i].name, name, len) == 0)
			return &flag_defs[i];
	}
	return NULL;
}

/* Splits "a,b,,c" into a NULL-terminated list, dropping empty items. */
static char **split_list(const char *s, size_t *count)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	char **list = calloc(n + 1, sizeof(*list));
	char *copy = strdup(s);
	size_t k = 0;

	if (!list || !copy) {
		free(list);
		free(copy);
		return NULL;
	}
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && end[-1] == ' ')
			*--end = '\0';
		if (*tok)
			list[k++] = strdup(tok);
	}
	free(copy);
	*count = k;
	return list;
}

static int append_list(char ***list, size_t *n, const char *value)
{
	char **grown = realloc(*list, (*n + 2) * sizeof(**list));

	if (!grown)
		return -ENOMEM;
	grown[*n] = strdup(value);
	grown[*n + 1] = NULL;
	*list = grown;
	(*n)++;
	return 0;
}

static enum elx_flags_result parse_count(const char *name, const char *value, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || *value == '\0' || *end != '\0' || v < 0)
		return flag_error("--%s: %s is not a count (a whole number >= 0)", name, value);
	*out = v;
	return ELX_FLAGS_OK;
}

/* Go's time.ParseDuration forms, as the Go exporters' flags take them:
 * "1m30s", "1.5s", "500ms"; every number has its unit. */
static int duration_ns(const char *text, uint64_t *out)
{
	/* "ms" before "m": the first unit that matches is taken. */
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 },  { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
		      { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 } };
	const size_t nunits = sizeof(units) / sizeof(units[0]);
	const char *p = text;
	double total = 0;

	if (strcmp(text, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		size_t i = 0;

		/* strtod takes more than Go does: "1e3", "0x10", "inf". */
		if (end == p || strspn(p, "0123456789.") != (size_t)(end - p))
			return -EINVAL;
		while (i < nunits && strncmp(end, units[i].unit, strlen(units[i].unit)) != 0)
			i++;
		if (i == nunits)
			return -EINVAL;
		total += v * units[i].ns;
		p = end + strlen(units[i].unit);
	}
	if (total >= 1.8e19)
		return -ERANGE;
	*out = (uint64_t)(total + 0.5);
	return 0;
}

static enum elx_flags_result parse_duration(const char *name, const char *value, uint64_t *out)
{
	if (duration_ns(value, out) != 0)
		return flag_error("--%s: %s is not a duration (such as 500ms, 10s or 1m30s)", name,
				  value);
	if (*out < 1000000)
		return flag_error("--%s: %s is shorter than 1ms", name, value);
	return ELX_FLAGS_OK;
}

static enum elx_flags_result parse_stats_mode(const char *value, int *out)
{
	static const char *const modes[] = {
		[ELX_PROG_STATS_DISABLED] = "disabled",
		[ELX_PROG_STATS_SAMPLE] = "sample",
		[ELX_PROG_STATS_ENABLED] = "enabled",
	};

	for (int i = 0; i < 3; i++) {
		if (strcmp(value, modes[i]) == 0) {
			*out = i;
			return ELX_FLAGS_OK;
		}
	}
	return flag_error("--prog-stats-mode: \"%s\" is not a mode (disabled, sample or enabled)",
			  value);
}

static enum elx_flags_result check_dir(const char *name, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return flag_error("--%s: %s: %s", name, path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return flag_error("--%s: %s is not a directory", name, path);
	return ELX_FLAGS_OK;
}

static void set_defaults(struct elx_flags *f)
{
	memset(f, 0, sizeof(*f));
	f->log_timestamps = 1;
	f->telemetry_path = "/metrics";
	f->config_cache_size = 1048576;
	f->config_skip_cache_size = 65536;
	f->capabilities_keep = "all";
	f->collector_bpf_programs = -1;
	f->collector_bpf_maps = -1;
	f->collector_bpf_links = -1;
	f->collector_bpf_btf = -1;
	f->collector_bpf_map_entries = -1;
	f->collector_bpf_program_owners = -1;
	f->prog_stats_mode = ELX_PROG_STATS_DISABLED;
	f->web_max_connections = 1024;
	f->web_max_requests = 40;
	f->web_timeout_offset_ns = 500000000;
	f->decoders_time_limit_ns = 1000000000; /* 1 s */
	f->decoders_memory_limit = 512;
}

/* Reads argv[*i]: which flag, and its value, from "=value" or from the next
 * argument (then *i moves past it). */
static enum elx_flags_result read_flag(int argc, char **argv, int *i, const struct flag_def **def,
				       const char **value, int *negated)
{
	const char *arg = argv[*i], *name, *eq;
	size_t len;

	if (strcmp(arg, "-h") == 0)
		arg = "--help";
	if (strncmp(arg, "--", 2) != 0)
		return flag_error("unexpected argument %s", arg);
	name = arg + 2;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	*def = find_flag(name, len, negated);
	*value = NULL;
	if (!*def)
		return flag_error("unknown flag --%.*s", (int)len, name);
	if ((*def)->kind == FLAG_BOOL || (*def)->kind == FLAG_ACTION) {
		if (eq)
			return flag_error("--%s takes no value", (*def)->name);
	} else if (eq) {
		*value = eq + 1;
	} else if (*i + 1 < argc) {
		*value = argv[++*i];
	} else {
		return flag_error("--%s needs a value", (*def)->name);
	}
	return ELX_FLAGS_OK;
}

/* Stores one flag. --help and --version print and end the parse; the names
 * of --config.names are kept in *names until every flag is read. */
static enum elx_flags_result apply_flag(struct elx_flags *f, const struct flag_def *d,
					const char *value, int negated, const char **names)
{
	void *field = (char *)f + d->offset;

	if (strcmp(d->name, "help") == 0) {
		usage(stdout);
		return ELX_FLAGS_EXIT_OK;
	}
	if (strcmp(d->name, "version") == 0) {
		printf("ebpf-lua-exporter version %s\n", ELX_VERSION);
		return ELX_FLAGS_EXIT_OK;
	}
	if (strcmp(d->name, "config.names") == 0) {
		*names = value;
		return ELX_FLAGS_OK;
	}
	if (strcmp(d->name, "log.no-timestamps") == 0) {
		f->log_timestamps = negated;
		return ELX_FLAGS_OK;
	}
	if (strcmp(d->name, "prog-stats-mode") == 0)
		return parse_stats_mode(value, &f->prog_stats_mode);
	if (strcmp(d->name, "web.listen-address") == 0)
		return append_list(&f->listen_addresses, &f->nlisten_addresses, value) == 0
			   ? ELX_FLAGS_OK
			   : flag_error("out of memory");
	/* No offset at all is a choice too: no minimum here. */
	if (strcmp(d->name, "web.timeout-offset") == 0)
		return duration_ns(value, &f->web_timeout_offset_ns) == 0
			   ? ELX_FLAGS_OK
			   : flag_error(
				 "--web.timeout-offset: %s is not a duration (such as 500ms, "
				 "1s or 0)",
				 value);
	switch (d->kind) {
	case FLAG_BOOL:
		*(int *)field = !negated;
		break;
	case FLAG_STRING:
		*(const char **)field = value;
		break;
	case FLAG_COUNT:
		return parse_count(d->name, value, (long *)field);
	case FLAG_LIST:
		if (append_list(&f->decoder_dirs, &f->ndecoder_dirs, value) != 0)
			return flag_error("out of memory");
		break;
	case FLAG_DURATION:
		return parse_duration(d->name, value, (uint64_t *)field);
	case FLAG_ACTION:
		break;
	}
	return ELX_FLAGS_OK;
}

/* The parts of --collector.bpf: each needs it, and they default to on
 * (programs, maps, links, BTF) or off (map entries, program owners). */
static enum elx_flags_result check_collector(struct elx_flags *f)
{
	const struct {
		const char *name;
		int *value;
		int dflt;
		int *needs; /* another part this one adds to */
	} parts[] = {
		{ "collector.bpf.programs", &f->collector_bpf_programs, 1, NULL },
		{ "collector.bpf.maps", &f->collector_bpf_maps, 1, NULL },
		{ "collector.bpf.links", &f->collector_bpf_links, 1, NULL },
		{ "collector.bpf.btf", &f->collector_bpf_btf, 1, NULL },
		{ "collector.bpf.map-entries", &f->collector_bpf_map_entries, 0,
		  &f->collector_bpf_maps },
		{ "collector.bpf.program-owners", &f->collector_bpf_program_owners, 0,
		  &f->collector_bpf_programs },
	};
	size_t n = sizeof(parts) / sizeof(parts[0]);

	for (size_t i = 0; i < n; i++) {
		if (*parts[i].value != -1 && !f->collector_bpf)
			return flag_error("--%s needs --collector.bpf", parts[i].name);
		if (*parts[i].value == -1)
			*parts[i].value = parts[i].dflt;
	}
	for (size_t i = 0; i < n; i++) {
		const char *needs = parts[i].needs == &f->collector_bpf_maps
					? "collector.bpf.maps"
					: "collector.bpf.programs";

		if (*parts[i].value && parts[i].needs && !*parts[i].needs)
			return flag_error("--%s needs --%s, which --no-%s turns off", parts[i].name,
					  needs, needs);
	}
	if (f->collector_bpf && !f->collector_bpf_programs && !f->collector_bpf_maps &&
	    !f->collector_bpf_links && !f->collector_bpf_btf)
		return flag_error(
		    "--collector.bpf: programs, maps, links and BTF are all turned off");
	return ELX_FLAGS_OK;
}

/* Sampling needs both of its durations, a window shorter than its interval,
 * and neither duration makes sense in another mode. */
static enum elx_flags_result check_stats_mode(const struct elx_flags *f)
{
	uint64_t interval = f->prog_stats_sample_interval_ns;
	uint64_t duration = f->prog_stats_sample_duration_ns;

	if (f->prog_stats_mode != ELX_PROG_STATS_SAMPLE) {
		if (interval)
			return flag_error("--prog-stats-sample-interval needs "
					  "--prog-stats-mode=sample");
		if (duration)
			return flag_error("--prog-stats-sample-duration needs "
					  "--prog-stats-mode=sample");
		return ELX_FLAGS_OK;
	}
	if (!interval)
		return flag_error("--prog-stats-mode=sample needs --prog-stats-sample-interval");
	if (!duration)
		return flag_error("--prog-stats-mode=sample needs --prog-stats-sample-duration");
	if (duration >= interval)
		return flag_error(
		    "--prog-stats-sample-duration must be shorter than "
		    "--prog-stats-sample-interval (or use --prog-stats-mode=enabled)");
	return ELX_FLAGS_OK;
}

/* Where to listen: the addresses given, systemd's sockets, or :9435. */
static enum elx_flags_result check_listen(struct elx_flags *f)
{
	if (f->web_systemd_socket && f->nlisten_addresses)
		return flag_error("--web.systemd-socket takes every socket systemd passed: give no "
				  "--web.listen-address with it");
	if (!f->web_systemd_socket && !f->nlisten_addresses &&
	    append_list(&f->listen_addresses, &f->nlisten_addresses, ":9435") != 0)
		return flag_error("out of memory");
	return ELX_FLAGS_OK;
}

/* What every flag says, once all are read, in the order of the help text's
 * requirements: required flags, paths, then values. */
static enum elx_flags_result check_flags(struct elx_flags *f, const char *names)
{
	char *msg = NULL;

	/* A part of the collector named without it: --collector.bpf forgotten,
	 * which is also why no config may be named. */
	if (check_collector(f) != ELX_FLAGS_OK)
		return ELX_FLAGS_ERROR;
	/* --collector.bpf runs without configs; with either flag both are needed. */
	if (!f->config_dir && (names || !f->collector_bpf))
		return flag_error("required flag --config.dir not provided");
	if (!names && (f->config_dir || !f->collector_bpf))
		return flag_error("required flag --config.names not provided");
	if (f->config_dir && check_dir("config.dir", f->config_dir) != ELX_FLAGS_OK)
		return ELX_FLAGS_ERROR;
	if (f->config_watch && !f->config_dir)
		return flag_error("--config.watch needs --config.dir");
	for (size_t i = 0; i < f->ndecoder_dirs; i++) {
		if (check_dir("decoders.path", f->decoder_dirs[i]) != ELX_FLAGS_OK)
			return ELX_FLAGS_ERROR;
	}
	if (elx_caps_check(f->capabilities_keep, &msg) != 0) {
		flag_error("--capabilities.keep: %s", msg ? msg : "out of memory");
		free(msg);
		return ELX_FLAGS_ERROR;
	}
	if (f->btf_path && access(f->btf_path, R_OK) != 0)
		return flag_error("--btf.path: %s: %s", f->btf_path, strerror(errno));
	if (f->telemetry_path[0] != '/')
		return flag_error("--web.telemetry-path: %s must start with /", f->telemetry_path);
	if (f->config_cache_size < 1)
		return flag_error("--config.cache-size must be at least 1");
	if (f->web_max_connections < 1 || f->web_max_connections > 1000000)
		return flag_error("--web.max-connections must be from 1 to 1000000");
	if (check_listen(f) != ELX_FLAGS_OK)
		return ELX_FLAGS_ERROR;
	if (f->decoders_memory_limit < 1 || f->decoders_memory_limit > (1L << 40))
		return flag_error("--decoders.memory-limit must be at least 1 (MiB)");
	/* A day at most: past that, a budget is none. */
	if (f->decoders_time_limit_ns > 86400ull * 1000000000)
		return flag_error("--decoders.time-limit must be a day at most");
	return check_stats_mode(f);
}

/* --config.names: plain names (no paths), none listed twice, or "all". */
static enum elx_flags_result set_config_names(struct elx_flags *f, const char *names)
{
	if (strcmp(names, "all") == 0)
		f->config_names_all = 1;
	f->config_names = split_list(names, &f->nconfig_names);
	if (!f->config_names)
		return flag_error("out of memory");
	if (f->nconfig_names == 0)
		return flag_error("--config.names: no config names in \"%s\"", names);
	for (size_t i = 0; i < f->nconfig_names; i++) {
		const char *n = f->config_names[i];

		if (strchr(n, '/') || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			return flag_error("--config.names: \"%s\" is not a config name (no paths)",
					  n);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(n, f->config_names[j]) == 0)
				return flag_error("--config.names: \"%s\" is listed twice", n);
		}
	}
	return ELX_FLAGS_OK;
}

enum elx_flags_result elx_flags_parse(struct elx_flags *f, int argc, char **argv)
{
	const char *names = NULL;
	enum elx_flags_result r;

	set_defaults(f);
	for (int i = 1; i < argc; i++) {
		const struct flag_def *d = NULL;
		const char *value = NULL;
		int negated = 0;

		r = read_flag(argc, argv, &i, &d, &value, &negated);
		if (r == ELX_FLAGS_OK)
			r = apply_flag(f, d, value, negated, &names);
		if (r != ELX_FLAGS_OK)
			return r;
	}
	r = check_flags(f, names);
	if (r == ELX_FLAGS_OK && names)
		r = set_config_names(f, names);
	/* Without configs: an empty list, as --config.names of none would be. */
	if (r == ELX_FLAGS_OK && !names && !(f->config_names = calloc(1, sizeof(char *))))
		r = flag_error("out of memory");
	return r;
}

void elx_flags_free(struct elx_flags *f)
{
	for (size_t i = 0; f->config_names && f->config_names[i]; i++)
		free(f->config_names[i]);
	free(f->config_names);
	for (size_t i = 0; f->decoder_dirs && f->decoder_dirs[i]; i++)
		free(f->decoder_dirs[i]);
	free(f->decoder_dirs);
	for (size_t i = 0; f->listen_addresses && f->listen_addresses[i]; i++)
		free(f->listen_addresses[i]);
	free(f->listen_addresses);
	memset(f, 0, sizeof(*f));
}
