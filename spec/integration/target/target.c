/* A test program for the integration specs: calls functions that the test BPF
 * objects probe, an exact number of times, with exact values.
 *
 *   elx-test-target [--cpu N] [--owner ID[,ID...]] hit <count> [value]
 *                                    elx_test_hit(value) count times
 *   elx-test-target [--cpu N] [--owner ...] values <v>...
 *                                    elx_test_hit(v) once per value
 *   elx-test-target [--cpu N] [--owner ...] range <first> <count>
 *                                    elx_test_hit(first + i), i < count
 *   elx-test-target fail <count>     setpriority(99, 0, 0) count times: a
 *                                    syscall failing with EINVAL that nothing
 *                                    else on the machine makes
 *   elx-test-target [--cpu N] spin <ms>
 *                                    busy for ms milliseconds of CPU, without
 *                                    calling anything probed
 *   elx-test-target futex-fail <count>
 *                                    futex() with an unknown operation count
 *                                    times: fails with ENOSYS
 *   elx-test-target exit <count>     count children that each exit_group()
 *   elx-test-target now              prints the wall-clock time in ns
 *
 * Each call of elx_test_hit(value) is made once per owner ID, as
 * elx_test_hit(value, ID): a test object counts only the calls whose ID is
 * that of its own elx_owner map (spec/integration/bpf/elx_owner.bpf.h), so
 * calls made for one exporter never count in another. Without --owner the
 * ID is 0, which no object counts.
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
__attribute__((noinline, used)) void elx_test_hit(uint64_t value, uint64_t owner)
{
	__asm__ volatile("" : : "r"(value), "r"(owner) : "memory");
}

#define MAX_OWNERS 16

static uint64_t owners[MAX_OWNERS];
static int nowners = 1; /* owner 0 unless --owner says otherwise */

static void hit(uint64_t value)
{
	for (int i = 0; i < nowners; i++)
		elx_test_hit(value, owners[i]);
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

static void usage(void)
{
	fprintf(stderr,
		"usage: elx-test-target [--cpu N] [--owner ID[,ID...]] hit <count> [value] | "
		"values <v>... | range <first> <count> | fail <count> | spin <ms> | "
		"futex-fail <count> | exit <count> | now\n");
	exit(2);
}

static void pin_to_cpu(const char *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)parse_u64(arg), &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		perror("elx-test-target: sched_setaffinity");
		exit(1);
	}
}

/* "12,40,7": the owner IDs every hit is made for. */
static void parse_owners(const char *arg)
{
	char copy[512], *save = NULL;

	if (strlen(arg) >= sizeof(copy))
		usage();
	strcpy(copy, arg);
	nowners = 0;
	for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
		if (nowners == MAX_OWNERS)
			usage();
		owners[nowners++] = parse_u64(id);
	}
	if (nowners == 0)
		usage();
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Busy for ms milliseconds of this process's CPU time. */
static void spin(uint64_t ms)
{
	volatile uint64_t sink = 0;
	double end = cpu_seconds() + (double)ms / 1000;

	while (cpu_seconds() < end)
		for (int k = 0; k < 100000; k++)
			sink += (uint64_t)k;
}

/* Children that end with the raw exit_group syscall, one after the other. */
static void exit_children(uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("elx-test-target: fork");
			exit(1);
		}
		if (pid == 0)
			syscall(SYS_exit_group, 0);
		waitpid(pid, NULL, 0);
	}
}

/* futex() with 0x7f, no futex operation: the kernel answers ENOSYS. */
static void futex_fail(uint64_t n)
{
	uint32_t word = 0;

	for (uint64_t k = 0; k < n; k++)
		syscall(SYS_futex, &word, 0x7f, 0, NULL, NULL, 0);
}

/* The wall-clock time in ns, for specs that compare span start times. */
static void print_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("%" PRIu64 "\n", (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

static void run(int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "hit") == 0 && (argc == 2 || argc == 3)) {
		uint64_t n = parse_u64(argv[1]);
		uint64_t value = argc == 3 ? parse_u64(argv[2]) : 1;

		for (uint64_t k = 0; k < n; k++)
			hit(value);
	} else if (strcmp(cmd, "values") == 0) {
		for (int k = 1; k < argc; k++)
			hit(parse_u64(argv[k]));
	} else if (strcmp(cmd, "range") == 0 && argc == 3) {
		uint64_t first = parse_u64(argv[1]), n = parse_u64(argv[2]);

		for (uint64_t k = 0; k < n; k++)
			hit(first + k);
	} else if (strcmp(cmd, "fail") == 0 && argc == 2) {
		uint64_t n = parse_u64(argv[1]);

		/* The raw syscall, one per call, whatever glibc makes of `which`. */
		for (uint64_t k = 0; k < n; k++)
			syscall(SYS_setpriority, 99, 0, 0);
	} else if (strcmp(cmd, "spin") == 0 && argc == 2) {
		spin(parse_u64(argv[1]));
	} else if (strcmp(cmd, "futex-fail") == 0 && argc == 2) {
		futex_fail(parse_u64(argv[1]));
	} else if (strcmp(cmd, "exit") == 0 && argc == 2) {
		exit_children(parse_u64(argv[1]));
	} else if (strcmp(cmd, "now") == 0 && argc == 1) {
		print_now();
	} else {
		usage();
	}
}

int main(int argc, char **argv)
{
	int i = 1;

	while (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--cpu") == 0)
			pin_to_cpu(argv[i + 1]);
		else if (strcmp(argv[i], "--owner") == 0)
			parse_owners(argv[i + 1]);
		else
			usage();
		i += 2;
	}
	if (i >= argc)
		usage();
	run(argc - i, argv + i);
	return 0;
}
