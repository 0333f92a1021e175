/* Test object for xdp/<ifname> on an interface other than lo: counts the IPv4
 * packets arriving on elx-v0, the root side of a veth pair that the spec
 * creates, by IP protocol and (TCP, UDP) destination port. ARP and IPv6
 * neighbour discovery on the link are not counted. */
#include <vmlinux.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

#define ETH_P_IP 0x0800

struct ipv4_packet_key {
	u16 protocol;
	u16 port;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ipv4_packet_key);
	__type(value, u64);
} xdp_test_ipv4_packets_total SEC(".maps");

SEC("xdp/elx-v0")
int xdp_test_ipv4_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv4_packet_key key = {};
	struct ethhdr *eth = data;
	struct iphdr *ip;
	void *l4;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return XDP_PASS;
	key.protocol = ip->protocol;
	l4 = (void *)ip + ip->ihl * 4;
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		key.port = bpf_ntohs(udp->dest);
	} else if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return XDP_PASS;
		key.port = bpf_ntohs(tcp->dest);
	}
	increment_map(&xdp_test_ipv4_packets_total, &key, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
