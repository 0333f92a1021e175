/* elx-worker: the small program the worker-jobs example probes. It reads job
 * ids from its standard input, one a line, runs each with run_job(), and
 * ends at the end of its input. Several of them, started and stopped at any
 * time, are each counted apart: see worker-jobs.yaml.
 *
 *   printf '1\n2\n3\n' | elx-worker
 */
#include <stdio.h>
#include <stdlib.h>

/* What the example's uprobe counts; noinline keeps one real call per job. */
__attribute__((noinline, used)) int run_job(long id)
{
	__asm__ volatile("" : : "r"(id) : "memory");
	return id % 7 == 0; /* "failed" */
}

int main(void)
{
	char line[64];
	long done = 0, failed = 0;

	while (fgets(line, sizeof(line), stdin)) {
		failed += run_job(strtol(line, NULL, 10));
		done++;
	}
	printf("%ld jobs, %ld failed\n", done, failed);
	return 0;
}
