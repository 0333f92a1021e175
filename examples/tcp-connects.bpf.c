/* Counts TCP connection attempts (connect() sending a SYN) by destination
 * address and port, for IPv4 and IPv6 alike; the exporter prints addresses
 * with the inet_ip decoder.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* One 16-byte address for both families: the tracepoint stores an IPv4 peer
 * as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), which inet_ip prints as
 * plain a.b.c.d. So an IPv4 peer gives the same label whether an AF_INET or
 * a dual-stack AF_INET6 socket connected to it.
 */
struct tcp_connect_key {
	u8 daddr[16];
	u16 dport;
};

/* One series per destination; once the map is full new destinations go
 * uncounted while known ones keep counting.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tcp_connect_key);
	__type(value, u64);
} tcp_connects_total SEC(".maps");

/* A stable tracepoint rather than a kprobe on tcp_v4_connect/tcp_v6_connect:
 * every active open passes CLOSE -> SYN_SENT exactly once, from either
 * family, and the record already has the port in host byte order. Other
 * protocols' sockets change state through the same tracepoint.
 */
SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *args)
{
	struct tcp_connect_key key;

	if (args->protocol != IPPROTO_TCP || args->newstate != TCP_SYN_SENT)
		return 0;

	__builtin_memset(&key, 0, sizeof(key));
	/* Not __builtin_memcpy: clang turns it into loads through an offset
	 * context pointer, which the verifier refuses.
	 */
	bpf_probe_read_kernel(key.daddr, sizeof(key.daddr), args->daddr_v6);
	key.dport = args->dport;
	increment_map(&tcp_connects_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
