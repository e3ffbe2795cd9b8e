/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: link control (ARP, IPv6 neighbour discovery, MLD) passes
 * without a rule, so it must be something only the gateway's own stack can
 * take: nothing the kernel would forward. An ND message from one host to a
 * global address behind the gateway is otherwise a tunnel through it. */
#ifndef PALISADE_LINK_H
#define PALISADE_LINK_H

#include "parse.h"
#include "route.h"

enum pal_link {
	PAL_LINK_NOT = -1, /* not link control: decided by the policy */
	PAL_LINK_PASS = 0, /* for the gateway's own stack */
	/* > 0: a drop reason */
};

static __always_inline int ipv6_link_local(const __u32 *a)
{
	return (a[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000);
}

static __always_inline int ipv6_multicast(const __u32 *a)
{
	return (a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000);
}

/* ff01::/16 and ff02::/16, whatever the flags: never routed off the link. */
static __always_inline int ipv6_link_multicast(const __u32 *a)
{
	return ipv6_multicast(a) && (bpf_ntohl(a[0]) >> 16 & 0x0f) <= 2;
}

/* Router and neighbour solicitation and advertisement, redirect: hop limit
 * 255 (RFC 4861: proof that no router forwarded it) to a link-local or
 * link-scope multicast address, or to one the kernel would not forward
 * (the gateway's own). */
static __always_inline int nd_check(struct xdp_md *ctx, const struct pal_pkt *p)
{
	int dev;

	if (p->ttl != 255)
		return PAL_DROP_LINK_CONTROL;
	if (ipv6_link_local(p->dst) || ipv6_link_multicast(p->dst))
		return PAL_LINK_PASS;
	/* With forwarding off on this device IPv6 may still forward (the
	 * all-interfaces switch decides): only "not routed" passes. */
	dev = pal_route_dev(ctx, (const struct pal_addr *)p->dst, 6);
	return dev == PAL_ROUTE_NONE ? PAL_LINK_PASS : PAL_DROP_LINK_CONTROL;
}

/* Multicast listener queries, reports and done (RFC 2710, 3810): hop limit
 * 1, from a link-local or unspecified source, to a multicast group. */
static __always_inline int mld_check(const struct pal_pkt *p)
{
	if (p->ttl == 1 && ipv6_multicast(p->dst) &&
	    (ipv6_link_local(p->src) || !(p->src[0] | p->src[1] | p->src[2] | p->src[3])))
		return PAL_LINK_PASS;
	return PAL_DROP_LINK_CONTROL;
}

/* ARP the gateway itself answers or learns from: a target address the
 * kernel would not forward to another host (its own, or unroutable). A
 * request for a neighbour on the same link, a gratuitous announcement, or
 * a proxy-ARP probe for a host behind the gateway is not for it. */
static __always_inline int arp_check(struct xdp_md *ctx, const struct pal_pkt *p)
{
	return pal_route_dev(ctx, (const struct pal_addr *)p->dst, 4) > 0 ? PAL_DROP_LINK_CONTROL
									 : PAL_LINK_PASS;
}

static __always_inline int link_control(struct xdp_md *ctx, const struct pal_pkt *p)
{
	__u8 t = p->icmp_type;

	if (p->family == 0)
		return arp_check(ctx, p);
	if (p->family != 6 || p->proto != IPPROTO_ICMPV6 || p->frag != PAL_FRAG_NONE)
		return PAL_LINK_NOT;
	if (t >= 133 && t <= 137)
		return nd_check(ctx, p);
	if ((t >= 130 && t <= 132) || t == 143)
		return mld_check(p);
	return PAL_LINK_NOT;
}

#endif
