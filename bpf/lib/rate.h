/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: per-organisation rate limits (struct pal_rate). An operator
 * caps a misbehaving organisation's new flows, packets or bytes per second
 * without suspending it; others are untouched. */
#ifndef PALISADE_RATE_H
#define PALISADE_RATE_H

#include "maps.h"

/* Charges cost units of kind to the organisation in slot: 0 when within
 * its limit (or it has none), 1 when over. GCRA under the bucket's lock,
 * so all CPUs draw on one budget. */
static __always_inline int rate_over(__u32 slot, __u32 kind, __u64 units, __u64 now)
{
	struct pal_rate *r = bpf_map_lookup_elem(&org_rates, &slot);
	__u64 cost, tat, next;
	int over = 0;

	if (!r || kind >= PAL_RATE__MAX || !r->cost_ps[kind])
		return 0;
	cost = units * r->cost_ps[kind] / 1000;
	bpf_spin_lock(&r->lock);
	tat = r->tat[kind] > now ? r->tat[kind] : now;
	next = tat + cost;
	if (next - now > PAL_RATE_BURST_NS)
		over = 1;
	else
		r->tat[kind] = next;
	bpf_spin_unlock(&r->lock);
	return over;
}

/* A packet of the organisation in slot against its packet and byte limits. */
static __always_inline int rate_over_packet(__u32 slot, __u32 len, __u64 now)
{
	return rate_over(slot, PAL_RATE_PACKETS, 1, now) || rate_over(slot, PAL_RATE_BYTES, len, now);
}

#endif
