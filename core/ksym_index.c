/* The kernel symbol index: /proc/kallsyms read into one array of addresses
 * in ascending order, one array of name offsets and one arena of names,
 * outside every Lua state, so that a reload's new Lua state finds it built.
 *
 * The same file is also built alone as build/libelx_ksym.so for the unit
 * specs (see CMakeLists.txt): it must depend on nothing but libc. */
#define _GNU_SOURCE
#include "ksym_index.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Addresses that missed even in a fresh read, per kind of lookup: a table
 * of MISS_SLOTS addresses where a new one takes the slot of whichever was
 * there, so it remembers recent misses in bounded memory. */
#define MISS_BITS  11
#define MISS_SLOTS (1u << MISS_BITS)

enum match { EXACT = 0, NEAREST = 1 };

struct miss_set {
	uint64_t addr[MISS_SLOTS];
	uint8_t used[MISS_SLOTS];
};

/* A buffer in a mapping of its own rather than in malloc's heap: the
 * scratch memory of a read goes back to the kernel when it is unmapped, where
 * a block freed in the middle of the heap would stay in the RSS. Pages never
 * touched cost no memory, so buffers grow by doubling. */
struct region {
	void *p;
	size_t size; /* bytes mapped */
};

static int region_reserve(struct region *r, size_t need)
{
	size_t n = r->size ? r->size : 1 << 16;
	void *q;

	if (need <= r->size)
		return 0;
	while (n < need)
		n *= 2;
	if (r->p)
		q = mremap(r->p, r->size, n, MREMAP_MAYMOVE);
	else
		q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		return -ENOMEM;
	r->p = q;
	r->size = n;
	return 0;
}

static void region_free(struct region *r)
{
	if (r->p)
		munmap(r->p, r->size);
	r->p = NULL;
	r->size = 0;
}

/* Unmaps the pages past the first `used` bytes. */
static void region_trim(struct region *r, size_t used)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t keep = (used + page - 1) / page * page;

	if (keep == 0) {
		region_free(r);
	} else if (keep < r->size) {
		munmap((char *)r->p + keep, r->size - keep);
		r->size = keep;
	}
}

/* What one read of the file gives. */
struct table {
	struct region addrs; /* uint64_t, ascending; equal addresses in file order */
	struct region names; /* uint32_t: each entry's name, an offset into arena */
	struct region arena; /* NUL-terminated names, "name\t[module]" for modules */
	uint32_t count;
	uint32_t arena_len;
	int any_address; /* 0 when the kernel hid every address */
};

#define ADDRS(t)   ((const uint64_t *)(t)->addrs.p)
#define NAME(t, i) ((const char *)(t)->arena.p + ((const uint32_t *)(t)->names.p)[i])

struct elx_ksym_index {
	char *path;
	struct table t;
	int has_table;
	double read_at; /* `now` of the last successful read */
	uint64_t reads;
	uint64_t read_cpu_ns;
	struct miss_set misses[2]; /* by enum match: an address can miss one only */
	char error[320];
};

/* ---------------------------------------------------------------- reading */

/* An entry while the file is read; seq keeps file order among equal
 * addresses through the sort, so that the first symbol at an address wins,
 * as in the kernel's own lookups. */
struct entry {
	uint64_t addr;
	uint32_t name;
	uint32_t seq;
};

struct parse {
	struct region entries;
	size_t n;
	struct region arena;
	size_t len;
	size_t last_off, last_len; /* the name appended last */
	int sorted, any_address;
};

/* The arena offset of a name. A name that ends the one appended last is not
 * stored again: every function's "__pfx_<name>" padding symbol comes right
 * before "<name>" (about half of all lines), and repeated names (a BPF
 * program's lines) are next to each other. */
static int intern(struct parse *p, const char *name, size_t len, uint32_t *off)
{
	char *arena = p->arena.p;

	if (p->len && len <= p->last_len &&
	    memcmp(arena + p->last_off + p->last_len - len, name, len) == 0) {
		*off = (uint32_t)(p->last_off + p->last_len - len);
		return 0;
	}
	if (p->len + len + 1 > UINT32_MAX || region_reserve(&p->arena, p->len + len + 1))
		return -ENOMEM;
	arena = p->arena.p;
	memcpy(arena + p->len, name, len);
	arena[p->len + len] = '\0';
	*off = (uint32_t)p->len;
	p->last_off = p->len;
	p->last_len = len;
	p->len += len + 1;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One line, "<addr> <type> <name>[\t[module]]": the name is everything after
 * the type and one space. Lines of another shape are skipped. */
static int parse_line(struct parse *p, const char *line, size_t len)
{
	uint64_t addr = 0;
	size_t i = 0;
	struct entry *e;
	uint32_t off;
	int d;

	while (i < len && (d = hex_digit(line[i])) >= 0) {
		addr = addr << 4 | (uint64_t)d;
		i++;
	}
	if (i == 0 || i > 16 || i + 3 >= len || line[i] != ' ' ||
	    isspace((unsigned char)line[i + 1]) || line[i + 2] != ' ')
		return 0;
	if (region_reserve(&p->entries, (p->n + 1) * sizeof(*e)) ||
	    intern(p, line + i + 3, len - i - 3, &off))
		return -ENOMEM;
	e = p->entries.p;
	if (p->n && addr < e[p->n - 1].addr)
		p->sorted = 0;
	p->any_address |= addr != 0;
	e[p->n] = (struct entry){ .addr = addr, .name = off, .seq = (uint32_t)p->n };
	p->n++;
	return 0;
}

/* Every line of fd. Large reads: the kernel makes the text as it is read. */
static int parse_fd(struct parse *p, int fd)
{
	size_t cap = 1 << 16, have = 0;
	char *buf = malloc(cap);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t got = read(fd, buf + have, cap - have);
		size_t start = 0;
		char *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			break;
		}
		have += (size_t)got;
		while (!ret && (nl = memchr(buf + start, '\n', have - start))) {
			ret = parse_line(p, buf + start, (size_t)(nl - buf - start));
			start = (size_t)(nl - buf) + 1;
		}
		if (ret || got == 0) {
			if (!ret && have > start) /* a last line without its newline */
				ret = parse_line(p, buf + start, have - start);
			break;
		}
		/* A line longer than the buffer is no symbol line: dropped. */
		if (start == 0 && have == cap)
			have = 0;
		memmove(buf, buf + start, have - start);
		have -= start;
	}
	free(buf);
	return ret;
}

static int by_address(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void table_free(struct table *t)
{
	region_free(&t->addrs);
	region_free(&t->names);
	region_free(&t->arena);
	memset(t, 0, sizeof(*t));
}

/* kallsyms lists the kernel's symbols in address order, then modules' and
 * BPF programs': the tail after the longest sorted run is sorted apart and
 * merged in from the back, in place. */
static int sort_entries(struct entry *e, size_t n)
{
	size_t k = 1, m, i, j, out = n;
	struct entry *tail;

	while (k < n && by_address(&e[k - 1], &e[k]) <= 0)
		k++;
	if (k >= n)
		return 0;
	m = n - k;
	tail = malloc(m * sizeof(*tail));
	if (!tail)
		return -ENOMEM;
	memcpy(tail, e + k, m * sizeof(*tail));
	qsort(tail, m, sizeof(*tail), by_address);
	for (i = k, j = m; j > 0;) {
		if (i > 0 && by_address(&e[i - 1], &tail[j - 1]) > 0)
			e[--out] = e[--i];
		else
			e[--out] = tail[--j];
	}
	free(tail);
	return 0;
}

/* The parsed entries, sorted, as the arrays a table keeps; the arena is
 * handed over. */
static int make_table(struct parse *p, struct table *t)
{
	const struct entry *e = p->entries.p;
	uint64_t *addrs;
	uint32_t *names;

	memset(t, 0, sizeof(*t));
	if ((!p->sorted && sort_entries(p->entries.p, p->n)) ||
	    region_reserve(&t->addrs, p->n * sizeof(*addrs)) ||
	    region_reserve(&t->names, p->n * sizeof(*names))) {
		table_free(t);
		return -ENOMEM;
	}
	addrs = t->addrs.p;
	names = t->names.p;
	for (size_t i = 0; i < p->n; i++) {
		addrs[i] = e[i].addr;
		names[i] = e[i].name;
	}
	region_trim(&t->addrs, p->n * sizeof(*addrs));
	region_trim(&t->names, p->n * sizeof(*names));
	t->arena = p->arena;
	memset(&p->arena, 0, sizeof(p->arena));
	region_trim(&t->arena, p->len);
	t->count = (uint32_t)p->n;
	t->arena_len = (uint32_t)p->len;
	t->any_address = p->any_address;
	return 0;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(struct elx_ksym_index *ix, int ret)
{
	snprintf(ix->error, sizeof(ix->error), "%s: %s", ix->path, strerror(-ret));
	return ret;
}

/* Reads the file into a new table. A read that shows only zero addresses
 * (capabilities dropped since the first read) keeps the table read before:
 * it is still right. Returns 0 or -errno. */
static int index_read(struct elx_ksym_index *ix, double now)
{
	struct parse p = { .sorted = 1 };
	struct table t;
	uint64_t start = cpu_ns();
	int fd, ret;

	ix->reads++;
	fd = open(ix->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(ix, -errno);
	ret = parse_fd(&p, fd);
	close(fd);
	if (!ret)
		ret = make_table(&p, &t);
	region_free(&p.entries);
	region_free(&p.arena);
	if (ret)
		return fail(ix, ret);
	if (t.any_address || !ix->has_table) {
		table_free(&ix->t);
		ix->t = t;
		ix->has_table = 1;
	} else {
		table_free(&t);
	}
	ix->read_at = now;
	ix->read_cpu_ns = cpu_ns() - start;
	return 0;
}

/* ---------------------------------------------------------------- lookups */

/* The first entry at or above addr (count when none). */
static uint32_t lower_bound(const struct table *t, uint64_t addr)
{
	uint32_t lo = 0, hi = t->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ADDRS(t)[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The symbol starting at addr. A hit is certain; a miss may be a symbol
 * loaded since the read. Returns whether the answer is certain. */
static int find_exact(const struct table *t, uint64_t addr, const char **name)
{
	uint32_t i = lower_bound(t, addr);

	*name = i < t->count && ADDRS(t)[i] == addr ? NAME(t, i) : NULL;
	return *name != NULL;
}

/* The symbol at the greatest address <= addr. It is certain only between the
 * first and the last symbol: below the first there is nothing, and above the
 * last is where code loaded after the read (a module, a BPF program) lands,
 * so that is worth a re-read before the last symbol is taken as the answer,
 * as ebpf_exporter would take it. */
static int find_nearest(const struct table *t, uint64_t addr, const char **name)
{
	uint32_t i;

	*name = NULL;
	/* With only zero addresses every frame would "resolve" to the symbol at 0. */
	if (!t->any_address || t->count == 0 || addr < ADDRS(t)[0])
		return 0;
	i = lower_bound(t, addr);
	if (i == t->count || ADDRS(t)[i] != addr)
		i = lower_bound(t, ADDRS(t)[i - 1]); /* the first symbol at that address */
	*name = NAME(t, i);
	return ADDRS(t)[i] == addr || ADDRS(t)[i] != ADDRS(t)[t->count - 1];
}

static uint32_t miss_slot(uint64_t addr)
{
	return (uint32_t)((addr * 0x9e3779b97f4a7c15ull) >> (64 - MISS_BITS));
}

static int miss_has(const struct miss_set *m, uint64_t addr)
{
	uint32_t s = miss_slot(addr);

	return m->used[s] && m->addr[s] == addr;
}

static void miss_put(struct miss_set *m, uint64_t addr)
{
	uint32_t s = miss_slot(addr);

	m->used[s] = 1;
	m->addr[s] = addr;
}

/* Looks addr up; reads the file on first use, and again for an uncertain
 * answer not seen before (symbols loaded since), at most once per interval,
 * so that a program reporting many addresses that are not symbol starts
 * costs one read per interval, not one per address. Returns 1 when it read
 * the file (names found before point into a freed table), 0 when it did not,
 * or -errno. */
static int lookup(struct elx_ksym_index *ix, enum match how, uint64_t addr, double now,
		  const char **name)
{
	int (*find)(const struct table *, uint64_t, const char **) =
	    how == EXACT ? find_exact : find_nearest;
	int ret;

	if (ix->has_table) {
		if (find(&ix->t, addr, name) || miss_has(&ix->misses[how], addr))
			return 0;
		/* Not remembered as a miss: it was not checked against a fresh
		 * read, so a call after the interval may read for it. */
		if (now - ix->read_at < ELX_KSYM_REREAD_INTERVAL)
			return 0;
	}
	*name = NULL;
	ret = index_read(ix, now);
	if (ret)
		return ret;
	if (!find(&ix->t, addr, name))
		miss_put(&ix->misses[how], addr);
	return 1;
}

static uint64_t address_at(const char *bytes)
{
	uint64_t addr;

	memcpy(&addr, bytes, sizeof(addr)); /* no alignment is promised */
	return addr;
}

ELX_EXPORT int elx_ksym_symbol(struct elx_ksym_index *ix, const char *addr, double now,
			       const char **name)
{
	int ret = lookup(ix, EXACT, address_at(addr), now, name);

	return ret < 0 ? ret : *name != NULL;
}

static int stack(struct elx_ksym_index *ix, const char *frames, uint32_t n, double now,
		 const char **names, int again)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = address_at(frames + (size_t)i * 8);
		int ret;

		if (addr == 0)
			return (int)i;
		ret = lookup(ix, NEAREST, addr, now, &names[i]);
		if (ret < 0)
			return ret;
		/* The frames before point into the table the read replaced. The
		 * read was at `now`: the second pass reads nothing. */
		if (ret > 0 && i > 0 && again)
			return stack(ix, frames, n, now, names, 0);
	}
	return (int)n;
}

ELX_EXPORT int elx_ksym_stack(struct elx_ksym_index *ix, const char *frames, uint32_t n, double now,
			      const char **names)
{
	return stack(ix, frames, n, now, names, 1);
}

/* ---------------------------------------------------------------- the index */

ELX_EXPORT struct elx_ksym_index *elx_ksym_index_new(const char *path)
{
	struct elx_ksym_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	ix->path = strdup(path);
	if (!ix->path) {
		free(ix);
		return NULL;
	}
	return ix;
}

ELX_EXPORT void elx_ksym_index_free(struct elx_ksym_index *ix)
{
	if (!ix)
		return;
	table_free(&ix->t);
	free(ix->path);
	free(ix);
}

/* Made on first use and kept for the life of the process: generations come
 * and go, the kernel's symbols stay. */
ELX_EXPORT struct elx_ksym_index *elx_ksym_shared(const char *path)
{
	static struct elx_ksym_index *shared;

	if (!path || strcmp(path, ELX_KSYM_KALLSYMS) != 0)
		return NULL;
	if (!shared)
		shared = elx_ksym_index_new(path);
	return shared;
}

ELX_EXPORT const char *elx_ksym_index_error(const struct elx_ksym_index *ix)
{
	return ix->error;
}

ELX_EXPORT void elx_ksym_index_stats(const struct elx_ksym_index *ix, struct elx_ksym_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->reads = ix->reads;
	stats->read_cpu_ns = ix->read_cpu_ns;
	stats->symbols = ix->t.count;
	stats->bytes = sizeof(*ix) + ix->t.addrs.size + ix->t.names.size + ix->t.arena.size;
}

const char *elx_ksym_index_path(const struct elx_ksym_index *ix)
{
	return ix->path;
}

int elx_ksym_index_refresh(struct elx_ksym_index *ix, double now, double max_age)
{
	if (ix->has_table && now - ix->read_at < max_age)
		return 0;
	return index_read(ix, now);
}

int elx_ksym_index_address(const struct elx_ksym_index *ix, const char *name, uint64_t *addr)
{
	const struct table *t = &ix->t;
	size_t len = strlen(name);

	if (!t->any_address)
		return -EPERM;
	/* In address order: the lowest address is the file's first for kernel
	 * symbols, which kallsyms lists in address order before modules'. */
	for (uint32_t i = 0; i < t->count; i++) {
		const char *s = NAME(t, i);

		if (ADDRS(t)[i] && strncmp(s, name, len) == 0 &&
		    (s[len] == '\0' || s[len] == '\t')) {
			*addr = ADDRS(t)[i];
			return 0;
		}
	}
	return -ENOENT;
}
