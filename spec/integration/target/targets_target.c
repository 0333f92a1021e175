/* A process for the targets specs: it waits for signals and, on each
 * SIGUSR1, calls elx_targets_hit() an exact number of times.
 *
 *   elx-targets-target <tag> <hits>
 *
 * It prints "ready <pid> <ms>" once its handlers are set (ms: the Unix time in
 * milliseconds, to time the attach against), "hit <total>" after each
 * round of calls, and "bye" when SIGTERM ends it normally; a process a probe
 * corrupted (a breakpoint at a wrong offset) dies without "bye". The tag is
 * only for selectors: its command line is what no other process has.
 *
 * Built twice: elx-targets-target, and with ELX_TARGETS_MOVED
 * elx-targets-target-moved, whose elx_targets_hit() is at another offset in
 * the file (a padding function before it): the stand-in for a new build of
 * a binary that replaces the old one on disk.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifdef ELX_TARGETS_MOVED
/* Pushes elx_targets_hit() further into .text. */
__attribute__((noinline, used)) uint64_t elx_targets_padding(uint64_t x)
{
	__asm__ volatile(".fill 4096, 1, 0x90" ::: "memory");
	return x * 3 + 1;
}
#endif

/* The probed function. noinline and the asm keep one real call per hit. */
__attribute__((noinline, used)) void elx_targets_hit(uint64_t n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
}

static volatile sig_atomic_t rounds, stop;

static void on_usr1(int sig)
{
	rounds++;
}

static void on_term(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction usr1 = { .sa_handler = on_usr1 }, term = { .sa_handler = on_term };
	sigset_t block, old;
	uint64_t hits, total = 0;
	struct timespec now;
	int done = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: elx-targets-target <tag> <hits per SIGUSR1>\n");
		return 2;
	}
	hits = strtoull(argv[2], NULL, 10);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &usr1, NULL);
	sigaction(SIGTERM, &term, NULL);
	clock_gettime(CLOCK_REALTIME, &now);
	printf("ready %d %lld\n", (int)getpid(),
	       (long long)now.tv_sec * 1000 + (long long)now.tv_nsec / 1000000);
	while (!stop) {
		sigsuspend(&old); /* signals arrive only here: none is missed */
		for (; done < rounds; done++) {
			for (uint64_t i = 0; i < hits; i++)
				elx_targets_hit(i);
			total += hits;
			printf("hit %llu\n", (unsigned long long)total);
		}
	}
	printf("bye\n");
	return 0;
}
