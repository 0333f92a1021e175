/* Counts packets arriving on the loopback interface by EtherType, IP protocol
 * and destination port, from XDP: before the stack spends anything on them.
 * Every packet passes on unchanged.
 */
#include <vmlinux.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* Macros in the kernel's headers, so not in vmlinux.h. */
#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD
#define IP_OFFSET  0x1fff

/* Ports from 32768 on are the kernel's default ephemeral range: the client
 * side of connections, one series each, so they are not counted.
 */
#define FIRST_EPHEMERAL_PORT 32768

/* Host byte order, as the uint decoder reads it. protocol is 0 for a packet
 * that is not IP, port 0 for one that is neither TCP nor UDP.
 */
struct packet_key {
	u16 eth_type;
	u16 protocol;
	u16 port;
};

/* LRU: a flood of new ports evicts old series instead of filling the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct packet_key);
	__type(value, u64);
} xdp_incoming_packets_total SEC(".maps");

/* Each header is checked against data_end before it is read, as the verifier
 * demands; a packet too short for its headers passes uncounted.
 */
SEC("xdp/lo")
int xdp_incoming_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet_key key = {};
	struct ethhdr *eth = data;
	void *l4 = NULL;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	key.eth_type = bpf_ntohs(eth->h_proto);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		u32 header_len;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		key.protocol = ip->protocol;
		/* A fragment after the first has no TCP or UDP header. */
		if (ip->frag_off & bpf_htons(IP_OFFSET))
			goto count;
		/* ihl counts 32-bit words and includes the options. */
		header_len = ip->ihl * 4;
		if (header_len < sizeof(*ip))
			return XDP_PASS;
		l4 = (void *)ip + header_len;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		/* The next header after the fixed one: a packet with extension
		 * headers counts under the first extension, with no port.
		 */
		key.protocol = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		goto count;
	}

	if (key.protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return XDP_PASS;
		key.port = bpf_ntohs(tcp->dest);
	} else if (key.protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		key.port = bpf_ntohs(udp->dest);
	}
	if (key.port >= FIRST_EPHEMERAL_PORT)
		return XDP_PASS;

count:
	increment_map(&xdp_incoming_packets_total, &key, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
