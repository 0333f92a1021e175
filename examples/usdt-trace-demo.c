/* usdt-trace-demo [COUNT [INTERVAL_US]]: a user-space span with kernel spans under it
 * (examples/usdt-trace.bpf.c). It makes a trace id and a span id, hands
 * them to the kernel through the USDT probe ebpf_exporter:set_parent_span,
 * writes COUNT times to /dev/null (i + 1 bytes at the i-th write, INTERVAL_US
 * microseconds apart), then
 * fires clear_parent_span. It prints one JSON line: its ids in hex and, per
 * write, the bytes and the wall-clock time (ns) just before it, so that a
 * test can check each kernel span against it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sdt.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#define MAX_WRITES 4096

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void print_hex(const char *key, const uint8_t *p, size_t n)
{
	printf("\"%s\":\"", key);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\",");
}

int main(int argc, char **argv)
{
	static char buf[MAX_WRITES];
	static uint64_t when[MAX_WRITES];
	uint8_t trace_id[16], span_id[8];
	uint64_t hi, lo, span;
	int n = argc > 1 ? atoi(argv[1]) : 3, fd = open("/dev/null", O_WRONLY);
	long interval_us = argc > 2 ? atol(argv[2]) : 0;

	if (n < 0 || n > MAX_WRITES || fd < 0 ||
	    getrandom(trace_id, sizeof(trace_id), 0) != sizeof(trace_id) ||
	    getrandom(span_id, sizeof(span_id), 0) != sizeof(span_id)) {
		fprintf(stderr, "usage: usdt-trace-demo [COUNT <= %d]\n", MAX_WRITES);
		return 2;
	}
	span_id[0] |= 1; /* never all zeros */
	/* Host-order u64s read from the ids' bytes: the hex decoder prints the
	 * bytes back in this order. */
	memcpy(&hi, trace_id, 8);
	memcpy(&lo, trace_id + 8, 8);
	memcpy(&span, span_id, 8);
	DTRACE_PROBE3(ebpf_exporter, set_parent_span, hi, lo, span);
	for (int i = 0; i < n; i++) {
		if (i && interval_us > 0)
			usleep((useconds_t)interval_us);
		when[i] = wall_ns();
		if (write(fd, buf, (size_t)i + 1) != i + 1)
			return 1;
	}
	DTRACE_PROBE(ebpf_exporter, clear_parent_span);
	printf("{");
	print_hex("trace_id", trace_id, sizeof(trace_id));
	print_hex("span_id", span_id, sizeof(span_id));
	printf("\"writes\":[");
	for (int i = 0; i < n; i++)
		printf("%s{\"bytes\":%d,\"wall_ns\":%" PRIu64 "}", i ? "," : "", i + 1, when[i]);
	printf("]}\n");
	return 0;
}
