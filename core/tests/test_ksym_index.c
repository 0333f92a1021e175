/* The kernel symbol index on files written here: the lines it keeps and
 * skips, first-in-file among equal addresses, the names that share arena
 * bytes, the sort of out-of-order lines, kaddrs' lookups by name, the re-read
 * rules, and the index of /proc/kallsyms being one per process. The decoders'
 * view of the same index is in spec/unit/decoders/ksym_spec.lua and
 * kstack_spec.lua. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksym_index.h"
#include "check.h"

static char path[] = "/tmp/elx-test-ksym-XXXXXX";

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	CHECK(fputs(text, f) >= 0);
	CHECK(fclose(f) == 0);
}

/* The exact symbol at addr, "" for none; NULL when the file failed. */
static const char *symbol(struct elx_ksym_index *ix, uint64_t addr, double now)
{
	const char *name = NULL;
	int ret = elx_ksym_symbol(ix, (const char *)&addr, now, &name);

	if (ret < 0)
		return NULL;
	return ret ? name : "";
}

static const char *nearest(struct elx_ksym_index *ix, uint64_t addr, double now)
{
	const char *name = NULL;
	uint64_t frames[2] = { addr, 0 };

	CHECK_INT(elx_ksym_stack(ix, (const char *)frames, 2, now, &name), 1);
	return name ? name : "";
}

static uint64_t reads(struct elx_ksym_index *ix)
{
	struct elx_ksym_stats st;

	elx_ksym_index_stats(ix, &st);
	return st.reads;
}

/* Line shapes, first-in-file, shared names, sorting and a last line without
 * its newline. */
static void test_lines(void)
{
	struct elx_ksym_index *ix;
	struct elx_ksym_stats st;
	char long_line[8192];

	memset(long_line, 'x', sizeof(long_line) - 2);
	long_line[sizeof(long_line) - 2] = '\n';
	long_line[sizeof(long_line) - 1] = '\0';
	write_file("ffffffff81000ff0 T __pfx_do_one_initcall\n"
		   "ffffffff81001000 T do_one_initcall\n"
		   "ffffffff81001000 T do_one_initcall_alias\n"
		   "FFFFFFFF81002000 t Upper_Hex\n"
		   "ffffffffc0001000 t commit_timeout\t[jbd2]\n"
		   "ffffffffc0000ff0 t __pfx_commit_timeout\t[jbd2]\n"
		   "ffffffffa0000000 t bpf_prog_1_x\t[bpf]\n"
		   "ffffffffa0000000 t bpf_prog_1_x\t[bpf]\n"
		   "1ffffffff81003000 T seventeen_digits\n"
		   "ffffffff81004000  T two_spaces\n"
		   "ffffffff81005000 T\n"
		   "garbage\n");
	ix = elx_ksym_index_new(path);
	CHECK(ix != NULL);
	CHECK_STR(symbol(ix, 0xffffffff81001000ull, 0), "do_one_initcall");
	CHECK_STR(symbol(ix, 0xffffffff81000ff0ull, 0), "__pfx_do_one_initcall");
	CHECK_STR(symbol(ix, 0xffffffff81002000ull, 0), "Upper_Hex");
	CHECK_STR(symbol(ix, 0xffffffffc0001000ull, 0), "commit_timeout\t[jbd2]");
	CHECK_STR(symbol(ix, 0xffffffffc0000ff0ull, 0), "__pfx_commit_timeout\t[jbd2]");
	CHECK_STR(symbol(ix, 0xffffffffa0000000ull, 0), "bpf_prog_1_x\t[bpf]");
	CHECK_STR(nearest(ix, 0xffffffff81001fffull, 0), "do_one_initcall");
	CHECK_STR(nearest(ix, 0xffffffffa0000010ull, 0), "bpf_prog_1_x\t[bpf]");
	CHECK_STR(nearest(ix, 0xffffffffc0000ff8ull, 0), "__pfx_commit_timeout\t[jbd2]");
	CHECK_STR(symbol(ix, 0xffffffff81004000ull, 0), "");
	CHECK_STR(symbol(ix, 0xffffffff81005000ull, 0), "");
	elx_ksym_index_stats(ix, &st);
	CHECK_INT(st.symbols, 8);
	CHECK_INT(st.reads, 1);
	elx_ksym_index_free(ix);

	/* A line longer than the read buffer is skipped, the next one kept; so
	 * is a last line without its newline. */
	write_file("ffffffff81000000 T first\n");
	{
		FILE *f = fopen(path, "a");

		CHECK(f != NULL);
		for (int i = 0; i < 20; i++)
			fputs(long_line, f);
		fputs("ffffffff81001000 T after_long\nffffffff81002000 T no_newline", f);
		fclose(f);
	}
	ix = elx_ksym_index_new(path);
	CHECK_STR(symbol(ix, 0xffffffff81001000ull, 0), "after_long");
	CHECK_STR(symbol(ix, 0xffffffff81002000ull, 0), "no_newline");
	elx_ksym_index_free(ix);
}

/* kaddrs' lookups: by bare name, module names without their suffix, zero
 * addresses skipped, and no addresses at all. */
static void test_addresses(void)
{
	struct elx_ksym_index *ix;
	uint64_t addr = 0;

	write_file("0000000000000000 A fixed_percpu_data\n"
		   "ffffffff81000000 T _stext\n"
		   "ffffffff81000000 T startup_64\n"
		   "ffffffff81001000 T schedule\n"
		   "ffffffffc0001000 t schedule_mod\t[m]\n"
		   "ffffffffc0002000 t schedule\t[m]\n");
	ix = elx_ksym_index_new(path);
	CHECK_INT(elx_ksym_index_refresh(ix, 0, ELX_KSYM_REREAD_INTERVAL), 0);
	CHECK_INT(elx_ksym_index_address(ix, "startup_64", &addr), 0);
	CHECK_INT(addr, 0xffffffff81000000ull);
	CHECK_INT(elx_ksym_index_address(ix, "schedule", &addr), 0);
	CHECK_INT(addr, 0xffffffff81001000ull);
	CHECK_INT(elx_ksym_index_address(ix, "schedule_mod", &addr), 0);
	CHECK_INT(addr, 0xffffffffc0001000ull);
	CHECK_INT(elx_ksym_index_address(ix, "schedul", &addr), -ENOENT);
	CHECK_INT(elx_ksym_index_address(ix, "fixed_percpu_data", &addr), -ENOENT);
	/* Read again only once it is max_age old. */
	CHECK_INT(elx_ksym_index_refresh(ix, 4.9, ELX_KSYM_REREAD_INTERVAL), 0);
	CHECK_INT(reads(ix), 1);
	CHECK_INT(elx_ksym_index_refresh(ix, 5, ELX_KSYM_REREAD_INTERVAL), 0);
	CHECK_INT(reads(ix), 2);
	elx_ksym_index_free(ix);

	write_file("0000000000000000 T _stext\n0000000000000000 T schedule\n");
	ix = elx_ksym_index_new(path);
	CHECK_INT(elx_ksym_index_refresh(ix, 0, ELX_KSYM_REREAD_INTERVAL), 0);
	CHECK_INT(elx_ksym_index_address(ix, "schedule", &addr), -EPERM);
	elx_ksym_index_free(ix);
}

/* A stack whose frames force a re-read after the first frame resolved: every
 * name comes from the new table. */
static void test_stack_reread(void)
{
	struct elx_ksym_index *ix;
	uint64_t frames[4] = { 0xffffffff81001010ull, 0xffffffffc0200010ull, 0xffffffff81001020ull,
			       0 };
	const char *names[4] = { 0 };

	write_file("ffffffff81001000 T do_one_initcall\nffffffff81002000 T last\n");
	ix = elx_ksym_index_new(path);
	CHECK_STR(symbol(ix, 0xffffffff81001000ull, 0), "do_one_initcall");
	write_file("ffffffff81001000 T do_one_initcall\nffffffff81002000 T last\n"
		   "ffffffffc0200000 t xfs_log_worker\t[xfs]\n");
	CHECK_INT(elx_ksym_stack(ix, (const char *)frames, 4, 60, names), 3);
	CHECK_INT(reads(ix), 2);
	CHECK_STR(names[0], "do_one_initcall");
	CHECK_STR(names[1], "xfs_log_worker\t[xfs]");
	CHECK_STR(names[2], "do_one_initcall");
	elx_ksym_index_free(ix);
}

static void test_errors_and_sharing(void)
{
	struct elx_ksym_index *ix = elx_ksym_index_new("/nonexistent/kallsyms");

	CHECK(symbol(ix, 1, 0) == NULL);
	CHECK_STR(elx_ksym_index_error(ix), "/nonexistent/kallsyms: No such file or directory");
	/* A missing file is tried again at every lookup: nothing was read. */
	CHECK(symbol(ix, 1, 0) == NULL);
	CHECK_INT(reads(ix), 2);
	elx_ksym_index_free(ix);

	CHECK(elx_ksym_shared(path) == NULL);
	CHECK(elx_ksym_shared(NULL) == NULL);
	ix = elx_ksym_shared(ELX_KSYM_KALLSYMS);
	CHECK(ix != NULL);
	CHECK(elx_ksym_shared(ELX_KSYM_KALLSYMS) == ix);
	CHECK_STR(elx_ksym_index_path(ix), ELX_KSYM_KALLSYMS);
	CHECK_INT(reads(ix), 0);
}

int main(void)
{
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	test_lines();
	test_addresses();
	test_stack_reread();
	test_errors_and_sharing();
	unlink(path);
	return 0;
}
