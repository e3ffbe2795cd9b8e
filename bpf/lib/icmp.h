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
/* The longest error a router or host sends: as much of the offending
 * packet as fits in 576 bytes (RFC 1812 4.3.2.3) or the IPv6 minimum MTU
 * (RFC 4443 2.4). Anything longer carries more than a quote. */
#define ICMP_ERROR_MAX4 576
#define ICMP_ERROR_MAX6 1280
/* Beyond any transport offset the parser can reach in a frame of the
 * largest MTU: an error whose ICMP header lies further is not read. */
#define ICMP_MAX_L4_OFF 0x3fff

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

/* Builds the flow key of the quoted packet and returns whether the quoted
 * source is the key's lo endpoint (flow_key_of), or returns -1. The quote
 * is read at the ICMP header's own offset, never at a folded one. */
static __always_inline int icmp_quoted_flow(struct xdp_md *ctx, const struct pal_pkt *p,
					    struct pal_flow_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 off = p->l4_off;
	void *inner;
	struct pal_pkt q = { .family = p->family };

	if (off > ICMP_MAX_L4_OFF)
		return -1;
	inner = data + off + ICMP_HDR_LEN;

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
	return flow_key_of(&q, k);
}

#endif
