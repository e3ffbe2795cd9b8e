/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: ICMP errors (destination unreachable, fragmentation needed,
 * packet too big, time exceeded, parameter problem) quote the header of the
 * packet that caused them. They belong to that packet's flow: they pass when
 * the flow exists and is allowed, and are dropped otherwise. Path MTU
 * discovery depends on them. */
#ifndef PALISADE_ICMP_H
#define PALISADE_ICMP_H

#include "parse.h"
#include "flow.h"

#define ICMP_HDR_LEN 8

static __always_inline int icmp_is_error(const struct pal_pkt *p)
{
	if (p->family == 4 && p->proto == IPPROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12;
	if (p->family == 6 && p->proto == IPPROTO_ICMPV6)
		return p->icmp_type >= 1 && p->icmp_type <= 4;
	return 0;
}

/* The quoted transport header's ports (or echo identifier). */
static __always_inline int quoted_ports(void *l4, void *end, __u8 proto, struct pal_pkt *q)
{
	__be16 *ports = l4;

	if ((void *)(ports + 2) > end)
		return -1;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		q->sport = bpf_ntohs(ports[0]);
		q->dport = bpf_ntohs(ports[1]);
		return 0;
	}
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		struct icmp_echo_hdr *e = l4;

		if ((void *)(e + 1) > end)
			return -1;
		q->sport = q->dport = bpf_ntohs(e->id);
		return 0;
	}
	return -1;
}

/* Builds the flow key of the quoted packet, or returns -1. */
static __always_inline int icmp_quoted_flow(struct xdp_md *ctx, const struct pal_pkt *p,
					    struct pal_flow_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	void *inner = data + (p->l4_off & 0x1ff) + ICMP_HDR_LEN;
	struct pal_pkt q = { .family = p->family };

	if (p->family == 4) {
		struct iphdr *ip = inner;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return -1;
		q.proto = ip->protocol;
		q.src[0] = ip->saddr;
		q.dst[0] = ip->daddr;
		if (quoted_ports(inner + ip->ihl * 4, end, q.proto, &q))
			return -1;
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return -1;
		q.proto = ip6->nexthdr;
		__builtin_memcpy(q.src, &ip6->saddr, 16);
		__builtin_memcpy(q.dst, &ip6->daddr, 16);
		if (quoted_ports(ip6 + 1, end, q.proto, &q))
			return -1;
	}
	flow_key_of(&q, k);
	return 0;
}

#endif
