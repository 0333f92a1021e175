/* Tests of checking a .bpf.o in a child process: a good object passes (and
 * is not checked again), one libbpf cannot open fails with libbpf's reason,
 * and a child that crashes or hangs while opening or loading is reported
 * as a corrupt file, the exporter's process unharmed. The crashes and the
 * hang are stood in for by the test hook: which bytes crash a given libbpf
 * is up to that libbpf (the integration specs flip real objects). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "libbpf_log.h"
#include "object_check.h"

#define OBJECT ELX_SPEC_DIR "/uprobe_test.bpf.o"

static const char *crash_in, *hang_in;

static void hook(const char *phase)
{
	if (crash_in && !strcmp(phase, crash_in))
		raise(SIGSEGV);
	if (hang_in && !strcmp(phase, hang_in))
		sleep(30);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	CHECK(f);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len);
	CHECK(buf && fread(buf, 1, *len, f) == *len);
	fclose(f);
	return buf;
}

static void expect_error(const void *image, size_t len, uint64_t hash, const char *want)
{
	char *err = NULL;

	CHECK(elx_object_check(image, len, hash, OBJECT, NULL, &err) < 0);
	CHECK_STR(err, want);
	free(err);
}

int main(void)
{
	static const char junk[] = "not an object at all";
	size_t len;
	char *image = read_all(OBJECT, &len), *err = NULL;
	struct timespec t0, t1;

	elx_libbpf_log_setup();
	elx_object_check_hook = hook;
	CHECK_INT(elx_object_check(image, len, 1, OBJECT, NULL, &err), 0);
	CHECK(err == NULL);

	expect_error(junk, sizeof(junk), 2,
		     OBJECT ": libbpf cannot open it: elf: '" OBJECT
			    "' is not a proper ELF object");

	crash_in = "opening";
	expect_error(image, len, 3,
		     "libbpf crashed opening " OBJECT " (signal 11): the file is corrupt");
	crash_in = "loading";
	expect_error(image, len, 4,
		     "libbpf crashed loading " OBJECT " (signal 11): the file is corrupt");
	/* Bytes that passed are not checked again. */
	CHECK_INT(elx_object_check(image, len, 1, OBJECT, NULL, &err), 0);
	crash_in = NULL;

	hang_in = "loading";
	elx_object_check_timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error(image, len, 5,
		     "libbpf did not finish loading " OBJECT " in 0.3 s: the file is corrupt");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 3);
	free(image);
	printf("test_object_check: all passed\n");
	return 0;
}
