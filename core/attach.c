/* Attaching programs from their SEC() names. libbpf knows most forms; the
 * others are rows of one table (section_kinds, at the end): a prefix, the
 * program and attach types libbpf loads it with, a setup step at open, how
 * to attach it (producing one link or many) and how to detach it. Both the
 * registration with libbpf and the attach-time dispatch walk that table, so
 * a new form is one row. Today's rows come from ebpf_exporter:
 * perf_event/<spec> opens one perf event per online CPU, and xdp/<ifname>
 * attaches to an interface by name. */
#define _GNU_SOURCE
#include "attach.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libbpf_log.h"
#include "log.h"

/* Attaches one program; `rest` is its section name after the row's prefix.
 * On success *links holds *nlinks links (malloc'd); on failure *err says
 * why and nothing is left attached. */
typedef int (*attach_fn)(struct bpf_program *prog, const char *rest, struct bpf_link ***links,
			 size_t *nlinks, char **err);
/* Undoes attach_fn: detaches every link and frees the array. */
typedef void (*detach_fn)(struct bpf_link **links, size_t nlinks);

struct section_kind {
	const char *prefix; /* "" matches any section: libbpf's own forms */
	enum bpf_prog_type prog_type;
	enum bpf_attach_type attach_type;
	/* At open, before the load (libbpf's prog_setup_fn), or NULL. The
	 * cookie is the row's index in section_kinds. */
	int (*setup)(struct bpf_program *prog, long cookie);
	attach_fn attach;
	detach_fn detach;
};

static const struct section_kind *section_kind_at(long index);

/* Our rows are attached by elx_attach_program, not by libbpf's auto-attach:
 * one program may need a link per CPU. */
static int no_auto_attach(const struct bpf_program *prog, long cookie, struct bpf_link **link)
{
	*link = NULL;
	return 0;
}

/* A link owns what it attached (a perf event link closes its event fd):
 * destroying it is the whole detach. */
static void destroy_links(struct bpf_link **links, size_t nlinks)
{
	for (size_t i = 0; links && i < nlinks; i++)
		bpf_link__destroy(links[i]);
	free(links);
}

/* SEC("xdp/devmap") and SEC("xdp/cpumap") are libbpf's own forms for
 * programs run from those maps; our "xdp/" row must not turn them into
 * interface attachments. */
static int xdp_setup(struct bpf_program *prog, long cookie)
{
	const char *dev = bpf_program__section_name(prog) + strlen(section_kind_at(cookie)->prefix);

	if (strcmp(dev, "devmap") == 0)
		return bpf_program__set_expected_attach_type(prog, BPF_XDP_DEVMAP);
	if (strcmp(dev, "cpumap") == 0)
		return bpf_program__set_expected_attach_type(prog, BPF_XDP_CPUMAP);
	return 0;
}

int elx_attach_parse_perf_event(const char *spec, struct perf_event_attr *attr, char **err)
{
	char *copy = strdup(spec), *save = NULL;
	int have_type = 0, have_config = 0, ret = 0;

	if (!copy)
		return elx_errorf(err, -ENOMEM, "out of memory");
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		unsigned long long value;

		if (!eq) {
			ret = elx_errorf(err, -EINVAL, "\"%s\" is not key=value", item);
			goto out;
		}
		*eq = '\0';
		errno = 0;
		value = strtoull(eq + 1, &end, 0);
		if (errno || eq[1] == '\0' || *end != '\0' || eq[1] == '-') {
			ret = elx_errorf(err, -EINVAL, "%s: \"%s\" is not a number", item, eq + 1);
			goto out;
		}
		if (strcmp(item, "type") == 0) {
			attr->type = (__u32)value;
			have_type = 1;
		} else if (strcmp(item, "config") == 0) {
			attr->config = value;
			have_config = 1;
		} else if (strcmp(item, "frequency") == 0) {
			attr->sample_freq = value;
			attr->freq = 1;
		} else {
			ret = elx_errorf(err, -EINVAL,
					 "unknown key \"%s\" (type, config, frequency)", item);
			goto out;
		}
	}
	if (!have_type || !have_config)
		ret = elx_errorf(err, -EINVAL, "needs type=<n> and config=<n>");
out:
	free(copy);
	return ret;
}

int elx_attach_parse_cpus(const char *list, int **cpus, size_t *ncpus)
{
	size_t n = 0, cap = 16;
	int *out = malloc(cap * sizeof(*out));
	const char *p = list;

	if (!out)
		return -ENOMEM;
	while (*p && *p != '\n') {
		char *end;
		long lo = strtol(p, &end, 10), hi;

		if (end == p || lo < 0)
			goto bad;
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			hi = strtol(p, &end, 10);
			if (end == p || hi < lo)
				goto bad;
		}
		for (long c = lo; c <= hi; c++) {
			if (n == cap) {
				int *grown = realloc(out, (cap *= 2) * sizeof(*out));

				if (!grown) {
					free(out);
					return -ENOMEM;
				}
				out = grown;
			}
			out[n++] = (int)c;
		}
		p = end;
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			goto bad;
	}
	*cpus = out;
	*ncpus = n;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

static int online_cpus(int **cpus, size_t *ncpus)
{
	char buf[4096];
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	int ret;

	if (!f)
		return -errno;
	ret = fgets(buf, sizeof(buf), f) ? elx_attach_parse_cpus(buf, cpus, ncpus) : -EIO;
	fclose(f);
	return ret;
}

static int attach_perf_event(struct bpf_program *prog, const char *spec, struct bpf_link ***out,
			     size_t *nout, char **err)
{
	struct perf_event_attr attr;
	struct bpf_link **links = NULL;
	int *cpus = NULL;
	size_t ncpus = 0, n = 0;
	int ret;

	ret = elx_attach_parse_perf_event(spec, &attr, err);
	if (ret)
		return ret;
	ret = online_cpus(&cpus, &ncpus);
	if (ret)
		return elx_errorf(err, ret, "cannot read the online CPUs: %s", strerror(-ret));
	links = calloc(ncpus ? ncpus : 1, sizeof(*links));
	if (!links) {
		ret = elx_errorf(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ncpus; i++) {
		int fd =
		    (int)syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			ret = -errno;
			elx_errorf(
			    err, ret, "perf_event_open(type=%u, config=%llu) on CPU %d: %s%s",
			    attr.type, (unsigned long long)attr.config, cpus[i], strerror(-ret),
			    ret == -ENOENT || ret == -EOPNOTSUPP
				? " (this machine does not have that event)"
				: "");
			goto out;
		}
		/* The link owns the perf event fd from here: destroying it closes it. */
		links[n] = bpf_program__attach_perf_event(prog, fd);
		if (!links[n]) {
			ret = -errno;
			close(fd);
			elx_errorf(err, ret, "attaching to the perf event on CPU %d: %s", cpus[i],
				   strerror(-ret));
			goto out;
		}
		n++;
	}
	*out = links;
	*nout = n;
	links = NULL;
	ret = 0;
out:
	destroy_links(links, n);
	free(cpus);
	return ret;
}

/* Hands back a single link as a one-element array, or the error behind it. */
static int one_link(struct bpf_link *link, struct bpf_link ***out, size_t *nout, char **err)
{
	int ret = -errno;
	struct bpf_link **links;

	if (!link)
		return elx_errorf(err, ret, "%s", elx_libbpf_why(ret));
	links = calloc(1, sizeof(*links));
	if (!links) {
		bpf_link__destroy(link);
		return elx_errorf(err, -ENOMEM, "out of memory");
	}
	links[0] = link;
	*out = links;
	*nout = 1;
	return 0;
}

static int attach_xdp(struct bpf_program *prog, const char *dev, struct bpf_link ***links,
		      size_t *nlinks, char **err)
{
	unsigned int ifindex;

	if (strcmp(dev, "devmap") == 0 || strcmp(dev, "cpumap") == 0)
		return elx_errorf(err, -EOPNOTSUPP, "runs from a %s, not attached to an interface",
				  dev);
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		return elx_errorf(err, -errno, "no network interface \"%s\"", dev);
	return one_link(bpf_program__attach_xdp(prog, (int)ifindex), links, nlinks, err);
}

/* Every other section is one of libbpf's own forms: its auto-attach knows it. */
static int attach_by_libbpf(struct bpf_program *prog, const char *sec, struct bpf_link ***links,
			    size_t *nlinks, char **err)
{
	return one_link(bpf_program__attach(prog), links, nlinks, err);
}

static const struct section_kind section_kinds[] = {
	{ "perf_event/", BPF_PROG_TYPE_PERF_EVENT, BPF_PERF_EVENT, NULL, attach_perf_event,
	  destroy_links },
	{ "xdp/", BPF_PROG_TYPE_XDP, BPF_XDP, xdp_setup, attach_xdp, destroy_links },
	/* Last, matching whatever the rows above did not. */
	{ "", BPF_PROG_TYPE_UNSPEC, 0, NULL, attach_by_libbpf, destroy_links },
};

#define NKINDS (sizeof(section_kinds) / sizeof(section_kinds[0]))

static const struct section_kind *section_kind_at(long index)
{
	return &section_kinds[index];
}

static const struct section_kind *section_kind_of(const char *sec)
{
	size_t i = 0;

	while (strncmp(sec, section_kinds[i].prefix, strlen(section_kinds[i].prefix)) != 0)
		i++;
	return &section_kinds[i];
}

int elx_attach_register_handlers(void)
{
	static int registered;
	int ids[NKINDS];
	size_t i;
	int ret = 0;

	if (registered)
		return 0;
	for (i = 0; section_kinds[i].prefix[0] != '\0'; i++) {
		const struct section_kind *k = &section_kinds[i];
		LIBBPF_OPTS(libbpf_prog_handler_opts, opts, .cookie = (long)i,
			    .prog_setup_fn = k->setup, .prog_attach_fn = no_auto_attach);

		ret = libbpf_register_prog_handler(k->prefix, k->prog_type, k->attach_type, &opts);
		if (ret < 0)
			break;
		ids[i] = ret;
	}
	if (ret < 0) {
		/* All or nothing, so that a second call starts clean. */
		while (i-- > 0)
			libbpf_unregister_prog_handler(ids[i]);
		return ret;
	}
	registered = 1;
	return 0;
}

int elx_attach_program(struct bpf_program *prog, struct bpf_link ***links, size_t *nlinks,
		       char **err)
{
	const char *sec = bpf_program__section_name(prog);
	const struct section_kind *k = section_kind_of(sec);

	*err = NULL;
	return k->attach(prog, sec + strlen(k->prefix), links, nlinks, err);
}

void elx_attach_detach(const struct bpf_program *prog, struct bpf_link **links, size_t nlinks)
{
	section_kind_of(bpf_program__section_name(prog))->detach(links, nlinks);
}
