/* process_* metrics. The start time is the kernel's (boot time plus the
 * process's start in clock ticks), not when main() ran. */
#define _GNU_SOURCE
#include "process_stats.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double boot_time(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	double btime = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "btime %lf", &btime) == 1)
			break;
	}
	if (f)
		fclose(f);
	return btime;
}

/* Field 22 of /proc/self/stat, after the command in parentheses (which may
 * hold spaces and parentheses itself: the last ')' ends it). */
static double start_time(void)
{
	FILE *f = fopen("/proc/self/stat", "re");
	char buf[1024], *p;
	unsigned long long ticks = 0;
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After ") ": state is field 3; starttime is the 20th field from there. */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &ticks) != 1)
		return 0;
	return boot_time() + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *ent;
	uint64_t n = 0;

	if (!d)
		return 0;
	while ((ent = readdir(d)))
		n += ent->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd, open while we count */
}

void elx_process_stats_read(struct elx_process *p)
{
	static double started;
	struct rusage ru;
	struct rlimit rl;
	unsigned long long pages_total = 0, pages_resident = 0;
	FILE *f;

	memset(p, 0, sizeof(*p));
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		p->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
				 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = rl.rlim_cur;
	f = fopen("/proc/self/statm", "re");
	if (f && fscanf(f, "%llu %llu", &pages_total, &pages_resident) == 2) {
		p->virtual_bytes = pages_total * (uint64_t)sysconf(_SC_PAGESIZE);
		p->resident_bytes = pages_resident * (uint64_t)sysconf(_SC_PAGESIZE);
	}
	if (f)
		fclose(f);
	p->open_fds = open_fds();
	if (!started)
		started = start_time();
	p->start_time_seconds = started;
}
