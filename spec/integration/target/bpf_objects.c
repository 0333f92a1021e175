/* Many BPF objects held by one process, for the collector's spec and
 * benchmark: N small hash maps and M two-instruction socket filters, their
 * ids printed, then held until a signal ends the process (and the kernel
 * frees them with its fds).
 *
 *   elx-bpf-objects <maps> <programs>
 *
 * Prints "maps <id>...", "programs <id>..." and "ready", one line each. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/bpf.h>

static unsigned id_of(int fd)
{
	struct bpf_map_info info = { 0 }; /* a program's id sits at the same offset */
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

static int make_map(unsigned i)
{
	char name[16];

	snprintf(name, sizeof(name), "elx_m%u", i);
	return bpf_map_create(BPF_MAP_TYPE_HASH, name, 4, 8, 16, NULL);
}

/* r0 = 0; exit */
static int make_program(unsigned i)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char name[16];

	snprintf(name, sizeof(name), "elx_p%u", i);
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, name, "GPL", insns, 2, NULL);
}

static int make(const char *what, unsigned n, int (*fn)(unsigned))
{
	printf("%s", what);
	for (unsigned i = 0; i < n; i++) {
		int fd = fn(i);

		if (fd < 0) {
			fprintf(stderr, "elx-bpf-objects: %s %u: %s\n", what, i, strerror(errno));
			return 1;
		}
		printf(" %u", id_of(fd));
	}
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit fds;

	if (argc != 3) {
		fprintf(stderr, "usage: elx-bpf-objects <maps> <programs>\n");
		return 2;
	}
	/* One fd per object, and a thousand of each is past the usual 1024. */
	if (getrlimit(RLIMIT_NOFILE, &fds) == 0) {
		fds.rlim_cur = fds.rlim_max;
		setrlimit(RLIMIT_NOFILE, &fds);
	}
	if (make("maps", (unsigned)atoi(argv[1]), make_map) ||
	    make("programs", (unsigned)atoi(argv[2]), make_program))
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
