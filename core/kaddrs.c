/* kaddrs: kernel symbol addresses written into `kaddr_<symbol>` globals of a
 * BPF object between open and load, found through the object's BTF. */
#define _GNU_SOURCE
#include "kaddrs.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ksym_index.h"
#include "log.h"

/* Kernel symbols do not move, but a module loaded again does: an index read
 * more than this long ago is read again before kaddrs are taken from it. */
#define KADDRS_MAX_AGE ELX_KSYM_REREAD_INTERVAL

static double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Every symbol's address, from the index the decoders share (or, for a file
 * other than /proc/kallsyms, one read for this call only). */
static int resolve(char *const *symbols, size_t n, const char *kallsyms, uint64_t *addrs,
		   char **err)
{
	struct elx_ksym_index *own = NULL, *index = elx_ksym_shared(kallsyms);
	int ret;

	if (!index)
		index = own = elx_ksym_index_new(kallsyms);
	if (!index)
		return elx_errorf(err, -ENOMEM, "out of memory");
	ret = elx_ksym_index_refresh(index, monotonic_now(), KADDRS_MAX_AGE);
	if (ret)
		ret = elx_errorf(err, ret, "%s", elx_ksym_index_error(index));
	for (size_t i = 0; !ret && i < n; i++) {
		ret = elx_ksym_index_address(index, symbols[i], &addrs[i]);
		if (ret == -EPERM)
			ret =
			    elx_errorf(err, ret,
				       "kaddrs[%zu]: %s shows no addresses (kernel.kptr_restrict, "
				       "or no CAP_SYSLOG)",
				       i, kallsyms);
		else if (ret)
			ret = elx_errorf(err, ret, "kaddrs[%zu]: no kernel symbol \"%s\" in %s", i,
					 symbols[i], kallsyms);
	}
	elx_ksym_index_free(own);
	return ret;
}

/* The internal map (.rodata, .data, ...) holding a global variable, and the
 * variable's offset in it. */
static struct bpf_map *find_variable(struct bpf_object *obj, const char *name, size_t *offset)
{
	struct btf *btf = bpf_object__btf(obj);
	int var_id;

	if (!btf)
		return NULL;
	var_id = btf__find_by_name_kind(btf, name, BTF_KIND_VAR);
	if (var_id < 0)
		return NULL;
	for (unsigned int id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_var_secinfo *vs;
		const char *sec;
		struct bpf_map *map;

		if (!btf_is_datasec(t))
			continue;
		vs = btf_var_secinfos(t);
		for (unsigned int k = 0; k < btf_vlen(t); k++, vs++) {
			if (vs->type != (unsigned int)var_id || vs->size != sizeof(__u64))
				continue;
			sec = btf__name_by_offset(btf, t->name_off);
			/* libbpf names internal maps "<object>.<section>", cut short. */
			bpf_object__for_each_map(map, obj)
			{
				const char *mname = bpf_map__name(map);
				size_t ml = strlen(mname), sl = strlen(sec);

				if (bpf_map__is_internal(map) && ml >= sl &&
				    strcmp(mname + ml - sl, sec) == 0) {
					*offset = vs->offset;
					return map;
				}
			}
		}
	}
	return NULL;
}

int elx_kaddrs_set(struct bpf_object *obj, char *const *symbols, size_t n, const char *kallsyms,
		   char **err)
{
	uint64_t *addrs;
	int ret;

	if (n == 0)
		return 0;
	addrs = calloc(n, sizeof(*addrs));
	if (!addrs)
		return elx_errorf(err, -ENOMEM, "out of memory");
	ret = resolve(symbols, n, kallsyms, addrs, err);
	for (size_t i = 0; !ret && i < n; i++) {
		char var[300];
		size_t offset = 0, size = 0;
		struct bpf_map *map;
		const void *initial;
		char *data;

		snprintf(var, sizeof(var), "kaddr_%s", symbols[i]);
		map = find_variable(obj, var, &offset);
		initial = map ? bpf_map__initial_value(map, &size) : NULL;
		if (!initial || offset + sizeof(__u64) > size) {
			ret = elx_errorf(
			    err, -ENOENT,
			    "kaddrs[%zu]: the object has no global `const volatile u64 %s`", i,
			    var);
			break;
		}
		/* The section's bytes, with this variable set, become its new
		 * initial value: what the program sees once loaded. */
		data = malloc(size);
		if (!data) {
			ret = elx_errorf(err, -ENOMEM, "out of memory");
			break;
		}
		memcpy(data, initial, size);
		memcpy(data + offset, &addrs[i], sizeof(__u64));
		ret = bpf_map__set_initial_value(map, data, size);
		free(data);
		if (ret)
			ret = elx_errorf(err, ret, "kaddrs[%zu]: setting %s: %s", i, var,
					 strerror(-ret));
	}
	free(addrs);
	return ret;
}
