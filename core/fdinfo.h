/* /proc/<pid>/fdinfo/<fd> of BPF objects: what the kernel tells of the
 * object behind an fd that no syscall gives (memlock), and the ids behind
 * fds the core did not open itself. */
#ifndef ELX_FDINFO_H
#define ELX_FDINFO_H

#include <stddef.h>
#include <stdint.h>

/* The kind of BPF object an fd is, from its /proc link
 * ("anon_inode:bpf-prog"...). */
enum elx_fd_kind {
	ELX_FD_PROG = 0,
	ELX_FD_MAP = 1,
	ELX_FD_LINK = 2,
	ELX_FD_BTF = 3,
	ELX_FD_NKINDS = 4,
	ELX_FD_OTHER = 5,
};

/* The kind of the fd named `name` in the /proc fd directory `fd_dir`. */
enum elx_fd_kind elx_fd_kind(int fd_dir, const char *name);

/* Reads the fdinfo file `name` of the fdinfo directory `fdinfo_dir` into
 * buf (NUL-terminated). Returns its length or -errno. */
int elx_fdinfo_read(int fdinfo_dir, const char *name, char *buf, size_t size);

/* Reads the fdinfo of one fd after another with one pread each while they
 * share an fd number, as a walk that closes each fd before opening the next
 * gets them: the file stays open, and the kernel writes its text anew at
 * each read from 0 for whatever object the fd number holds then. */
struct elx_fdinfo_reader {
	int dir;  /* /proc/self/fdinfo, the caller's */
	int file; /* the open fdinfo file, or -1 */
	int num;  /* the fd number it is of */
};

void elx_fdinfo_reader_init(struct elx_fdinfo_reader *r, int fdinfo_dir);

/* The fdinfo of the process's own fd `fd` into buf (NUL-terminated).
 * Returns its length or -errno. */
int elx_fdinfo_reader_read(struct elx_fdinfo_reader *r, int fd, char *buf, size_t size);

/* Closes the file it keeps open. */
void elx_fdinfo_reader_close(struct elx_fdinfo_reader *r);

/* The value of the line "<key>:\t<n>" of an fdinfo text. Returns 0, or
 * -ENOENT when there is no such line. */
int elx_fdinfo_u64(const char *text, const char *key, uint64_t *out);

#endif
