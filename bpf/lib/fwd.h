/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: forwarding of allowed packets in XDP. Anything it cannot finish
 * (no route or neighbour yet, TTL expiring, a tagged frame, an egress
 * that is not one of ours) goes to the kernel stack, which does it right. */
#ifndef PALISADE_FWD_H
#define PALISADE_FWD_H

#include <linux/if_ether.h>
#include "maps.h"
#include "parse.h"
#include "stats.h"
#include "route.h" /* AF_INET, AF_INET6 */

static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

static __always_inline int fib_fill(struct xdp_md *ctx, struct bpf_fib_lookup *fib, __u8 family)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (family == 4) {
		struct iphdr *ip = data + sizeof(struct ethhdr);

		if ((void *)(ip + 1) > end || ip->ttl <= 1)
			return -1;
		fib->family = AF_INET;
		fib->tos = ip->tos;
		fib->l4_protocol = ip->protocol;
		fib->tot_len = bpf_ntohs(ip->tot_len);
		fib->ipv4_src = ip->saddr;
		fib->ipv4_dst = ip->daddr;
		return 0;
	}
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

	if ((void *)(ip6 + 1) > end || ip6->hop_limit <= 1)
		return -1;
	fib->family = AF_INET6;
	fib->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0FFFFFFF);
	fib->l4_protocol = ip6->nexthdr;
	fib->tot_len = bpf_ntohs(ip6->payload_len);
	__builtin_memcpy(fib->ipv6_src, &ip6->saddr, 16);
	__builtin_memcpy(fib->ipv6_dst, &ip6->daddr, 16);
	return 0;
}

/* A global function: its route lookup's stack is its own, not added to
 * the program's deepest call chain (BPF has 512 bytes for all of it). */
__attribute__((noinline)) int pal_try_forward(struct xdp_md *ctx, __u8 family)
{
	struct bpf_fib_lookup fib = {};
	void *data, *end;
	struct ethhdr *eth;

	if (!ctx)
		return XDP_PASS;
	fib.ifindex = ctx->ingress_ifindex;
	if (fib_fill(ctx, &fib, family))
		return XDP_PASS;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&tx_ports, &fib.ifindex))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (family == 4) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		ipv4_decrease_ttl(ip);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		ip6->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&tx_ports, fib.ifindex, 0);
}

/* Forwards when it can, and counts which way the packet went. */
static __always_inline int forward(struct xdp_md *ctx, const struct pal_pkt *p,
				   const struct pal_config *cfg)
{
	int act = XDP_PASS;

	/* Only untagged frames: fib_fill and the rewrite read the IP header
	 * right after the Ethernet header, and a priority tag (VLAN ID 0)
	 * leaves vlan 0 with four more bytes before it. */
	if ((cfg->flags & PAL_CFG_FORWARD) && p->l3_off == sizeof(struct ethhdr))
		act = pal_try_forward(ctx, p->family);

	count_fwd(act == XDP_REDIRECT ? PAL_FWD_XDP : PAL_FWD_STACK, p->len);
	return act;
}

#endif
