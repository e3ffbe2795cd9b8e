/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: what the gateway's routing table says about an address, for
 * the strict reverse-path check (a packet's source must be reached through
 * the interface and VLAN it came in on) and for link control (would the
 * kernel forward this, or is it for the gateway itself?). */
#ifndef PALISADE_ROUTE_H
#define PALISADE_ROUTE_H

#include "maps.h"
#include "parse.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* An address as the packet carries it: network order, IPv4 in w[0]. */
struct pal_addr {
	__u32 w[4];
};

enum pal_route {
	PAL_ROUTE_FWD_OFF = -1, /* forwarding is off on the ingress: no answer */
	PAL_ROUTE_NONE = 0,     /* not forwarded: local, broadcast, no route, reject */
};

/* The interface the kernel would forward a packet for a to, looked up as
 * for a packet entering ctx's ingress; or an enum pal_route. A global
 * function: the lookup's 64 bytes are its own stack, not the caller's. */
__attribute__((noinline)) int pal_route_dev(struct xdp_md *ctx, const struct pal_addr *a, __u32 family)
{
	struct bpf_fib_lookup fib = {};
	int ret;

	if (!ctx || !a)
		return PAL_ROUTE_NONE;
	fib.ifindex = ctx->ingress_ifindex;
	if (family == 4) {
		fib.family = AF_INET;
		fib.ipv4_dst = a->w[0];
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_dst, a->w, 16);
	}
	ret = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (ret == BPF_FIB_LKUP_RET_SUCCESS || ret == BPF_FIB_LKUP_RET_NO_NEIGH ||
	    ret == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return fib.ifindex > 0 ? (int)fib.ifindex : PAL_ROUTE_NONE;
	if (ret == BPF_FIB_LKUP_RET_FWD_DISABLED)
		return PAL_ROUTE_FWD_OFF;
	return PAL_ROUTE_NONE;
}

/* Does the route to a lead back to where p came in: the ingress itself
 * (also for its VLANs: a host may route them on the parent, as the lab
 * does), or a VLAN device of the ingress carrying p's tags? With
 * forwarding off on the ingress the table cannot answer, and the kernel
 * forwards nothing from it: passed. No route back is a failure, as in the
 * kernel's strict rp_filter. */
static __always_inline int reverse_path_ok(struct xdp_md *ctx, const struct pal_pkt *p, const __u32 *a)
{
	int dev = pal_route_dev(ctx, (const struct pal_addr *)a, p->family);
	struct pal_vlan_dev *vd;
	__u32 idx;

	if (dev == PAL_ROUTE_FWD_OFF)
		return 1;
	if (dev <= 0)
		return 0;
	idx = dev;
	if (idx == p->ifindex)
		return 1;
	vd = bpf_map_lookup_elem(&vlan_devs, &idx);
	return vd && vd->parent == p->ifindex && vd->vlan == p->vlan &&
	       vd->inner_vlan == p->inner_vlan;
}

#endif
