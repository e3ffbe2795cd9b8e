/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: per-CPU counters. Plain adds: each CPU owns its copy. */
#ifndef PALISADE_STATS_H
#define PALISADE_STATS_H

#include "maps.h"

static __always_inline void count_org(__u32 slot, __u32 verdict, __u32 len)
{
	__u32 idx = slot * PAL_VERDICT__MAX + verdict;
	struct pal_counter *c = bpf_map_lookup_elem(&org_stats, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void count_rule(__u32 slot, __u32 len, __u64 now)
{
	struct pal_rule_counter *c = bpf_map_lookup_elem(&rule_stats, &slot);

	if (c) {
		c->packets++;
		c->bytes += len;
		c->last_hit_ns = now;
	}
}

static __always_inline void count_drop(__u32 reason, __u32 len)
{
	struct pal_counter *c = bpf_map_lookup_elem(&drop_stats, &reason);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

/* An organisation's own budget refusals, by reason, for its counters. */
static __always_inline void count_refusal(__u32 slot, __u32 reason, __u32 len)
{
	__u32 idx = slot * PAL_REFUSAL__MAX + (reason - PAL_REFUSAL_FIRST);
	struct pal_counter *c;

	if (reason < PAL_REFUSAL_FIRST || reason >= PAL_DROP__MAX)
		return;
	c = bpf_map_lookup_elem(&org_refusals, &idx);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void count_fwd(__u32 path, __u32 len)
{
	struct pal_counter *c = bpf_map_lookup_elem(&fwd_stats, &path);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

#endif
