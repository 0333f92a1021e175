/* fdinfo text of BPF fds, read with one openat + read + close each. */
#define _GNU_SOURCE
#include "fdinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum elx_fd_kind elx_fd_kind(int fd_dir, const char *name)
{
	static const char *const links[ELX_FD_NKINDS] = {
		[ELX_FD_PROG] = "anon_inode:bpf-prog",
		[ELX_FD_MAP] = "anon_inode:bpf-map",
		[ELX_FD_LINK] = "anon_inode:bpf_link",
		[ELX_FD_BTF] = "anon_inode:btf",
	};
	char target[32];
	ssize_t n = readlinkat(fd_dir, name, target, sizeof(target) - 1);

	if (n <= 0)
		return ELX_FD_OTHER;
	target[n] = '\0';
	for (int k = 0; k < ELX_FD_NKINDS; k++) {
		if (strcmp(target, links[k]) == 0)
			return (enum elx_fd_kind)k;
	}
	return ELX_FD_OTHER;
}

int elx_fdinfo_read(int fdinfo_dir, const char *name, char *buf, size_t size)
{
	int fd = openat(fdinfo_dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* The kernel writes the whole text at the first read of a file this
	 * small (seq_file, one page). */
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return (int)n;
}

int elx_fdinfo_u64(const char *text, const char *key, uint64_t *out)
{
	size_t len = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			*out = strtoull(line + len + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

void elx_fdinfo_reader_init(struct elx_fdinfo_reader *r, int fdinfo_dir)
{
	r->dir = fdinfo_dir;
	r->file = -1;
	r->num = -1;
}

int elx_fdinfo_reader_read(struct elx_fdinfo_reader *r, int fd, char *buf, size_t size)
{
	ssize_t n;

	if (r->file < 0 || r->num != fd) {
		char name[16];

		elx_fdinfo_reader_close(r);
		snprintf(name, sizeof(name), "%d", fd);
		r->file = openat(r->dir, name, O_RDONLY | O_CLOEXEC);
		if (r->file < 0)
			return -errno;
		r->num = fd;
	}
	n = pread(r->file, buf, size - 1, 0);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

void elx_fdinfo_reader_close(struct elx_fdinfo_reader *r)
{
	if (r->file >= 0)
		close(r->file);
	r->file = -1;
	r->num = -1;
}
