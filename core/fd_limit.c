/* RLIMIT_NOFILE for the HTTP server's connections. The soft limit is often
 * 1024 while the hard one is far higher; a connection is one descriptor,
 * and --web.max-connections defaults to 1024. */
#include "fd_limit.h"

#include <dirent.h>
#include <sys/resource.h>

/* Open descriptors now: the loaded objects' programs, maps and links. */
static unsigned open_now(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!dir)
		return 64;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

unsigned elx_fd_limit_fit(unsigned connections)
{
	struct rlimit rl;
	/* A reload loads changed objects before it closes the old ones: it
	 * may need as many descriptors again as are open now. */
	rlim_t reserve = 2 * (rlim_t)open_now() + 64, want = reserve + connections;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return connections;
	if (rl.rlim_cur < want && rl.rlim_cur != RLIM_INFINITY) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return connections;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return connections;
	return rl.rlim_cur > reserve + 16 ? (unsigned)(rl.rlim_cur - reserve) : 16;
}
