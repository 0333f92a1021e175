/* The floor of --collector.bpf for `make bench`: the walk of every program
 * and map in the kernel with nothing else, GET_NEXT_ID + GET_FD_BY_ID +
 * OBJ_GET_INFO_BY_FD + close per object, and the same walk reading each
 * object's fdinfo too, as the collector does (where it finds memlock).
 *   elx-bench-bpf-walk <runs>
 * prints two lines: "info <ms>" and "info+fdinfo <ms>", each the best of
 * <runs>, and the objects walked. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* As the collector reads it: each object comes at the same fd number, so
 * one fdinfo file, read again with pread, serves them all. */
static int info_file = -1, info_num = -1;

static void read_fdinfo(int fd)
{
	char path[64], text[1024];

	if (fd != info_num) {
		if (info_file >= 0)
			close(info_file);
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		info_file = open(path, O_RDONLY | O_CLOEXEC);
		info_num = fd;
	}
	if (info_file < 0 || pread(info_file, text, sizeof(text), 0) < 0)
		perror("fdinfo");
}

/* One walk of programs and maps; returns the objects read. */
static unsigned walk(int fdinfo)
{
	unsigned n = 0;
	__u32 id = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		n += bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
		if (fdinfo)
			read_fdinfo(fd);
		close(fd);
	}
	id = 0;
	while (bpf_map_get_next_id(id, &id) == 0) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		n += bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
		if (fdinfo)
			read_fdinfo(fd);
		close(fd);
	}
	return n;
}

int main(int argc, char **argv)
{
	int runs = argc == 2 ? atoi(argv[1]) : 0;

	if (runs < 1) {
		fprintf(stderr, "usage: elx-bench-bpf-walk <runs>\n");
		return 2;
	}
	for (int fdinfo = 0; fdinfo <= 1; fdinfo++) {
		double best = 1e18;
		unsigned n = 0;

		for (int r = 0; r < runs; r++) {
			double start = now_ms(), ms;

			n = walk(fdinfo);
			ms = now_ms() - start;
			if (ms < best)
				best = ms;
		}
		printf("%s %.3f %u\n", fdinfo ? "info+fdinfo" : "info", best, n);
	}
	return 0;
}
