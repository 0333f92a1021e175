/* A test program for the integration specs: calls functions that the test BPF
 * objects probe, an exact number of times, with exact values.
 *
 *   elx-test-target [--cpu N] hit <count> [value]   elx_test_hit(value) count times
 *   elx-test-target [--cpu N] values <v>...         elx_test_hit(v) once per value
 *   elx-test-target [--cpu N] range <first> <count> elx_test_hit(first + i), i < count
 *   elx-test-target fail <count>                    getpriority(99, 0) count times:
 *                                                   a syscall failing with EINVAL that
 *                                                   nothing else on the machine makes
 *   elx-test-target futex-fail <count>              futex() with an unknown operation
 *                                                   count times: fails with ENOSYS
 *   elx-test-target exit <count>                    count children that each exit_group()
 *   elx-test-target now                             prints the wall-clock time in ns
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The uprobe target. noinline and the empty asm keep one real call per hit. */
__attribute__((noinline, used)) void elx_test_hit(uint64_t value)
{
	__asm__ volatile("" : : "r"(value) : "memory");
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "elx-test-target: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

/* Children that end with the raw exit_group syscall, one after the other. */
static int exit_children(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("elx-test-target: fork");
			return 1;
		}
		if (pid == 0)
			syscall(SYS_exit_group, 0);
		waitpid(pid, NULL, 0);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: elx-test-target [--cpu N] hit <count> [value] | values <v>... | "
			"fail <count> | futex-fail <count> | exit <count> | now\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc > 2 && strcmp(argv[i], "--cpu") == 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET((int)parse_u64(argv[i + 1]), &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			perror("elx-test-target: sched_setaffinity");
			return 1;
		}
		i += 2;
	}
	if (i >= argc)
		usage();
	if (strcmp(argv[i], "hit") == 0 && argc - i >= 2) {
		uint64_t n = parse_u64(argv[i + 1]);
		uint64_t value = argc - i >= 3 ? parse_u64(argv[i + 2]) : 1;

		for (uint64_t k = 0; k < n; k++)
			elx_test_hit(value);
	} else if (strcmp(argv[i], "values") == 0) {
		for (int k = i + 1; k < argc; k++)
			elx_test_hit(parse_u64(argv[k]));
	} else if (strcmp(argv[i], "range") == 0 && argc - i == 3) {
		uint64_t first = parse_u64(argv[i + 1]), n = parse_u64(argv[i + 2]);

		for (uint64_t k = 0; k < n; k++)
			elx_test_hit(first + k);
	} else if (strcmp(argv[i], "fail") == 0 && argc - i == 2) {
		uint64_t n = parse_u64(argv[i + 1]);

		/* The raw syscall: glibc would not pass an invalid `which` on. */
		for (uint64_t k = 0; k < n; k++)
			syscall(SYS_getpriority, 99, 0);
	} else if (strcmp(argv[i], "futex-fail") == 0 && argc - i == 2) {
		uint64_t n = parse_u64(argv[i + 1]);
		uint32_t word = 0;

		/* 0x7f is no futex operation: the kernel answers ENOSYS. */
		for (uint64_t k = 0; k < n; k++)
			syscall(SYS_futex, &word, 0x7f, 0, NULL, NULL, 0);
	} else if (strcmp(argv[i], "now") == 0 && argc - i == 1) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		printf("%" PRIu64 "\n", (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	} else if (strcmp(argv[i], "exit") == 0 && argc - i == 2) {
		return exit_children(parse_u64(argv[i + 1]));
	} else {
		usage();
	}
	return 0;
}
