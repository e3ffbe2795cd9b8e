/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: the first-packet decision. Its cost follows the number of
 * distinct prefix lengths (hash probes, longest first) and log2 of one
 * destination's port ranges; it never loops over rules. */
#ifndef PALISADE_POLICY_H
#define PALISADE_POLICY_H

#include "maps.h"
#include "parse.h"

struct pal_decision {
	__u32 org_slot;
	__u32 rule_slot;
	__u32 reason; /* drop reason when verdict is PAL_VERDICT_DROP */
	__u8 verdict;
	__u8 rule_flags;
};

static __always_inline __u32 prefix_mask(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(0xffffffff << (32 - bits));
}

static __always_inline void mask_addr(__u32 *out, const __u32 *in, __u8 family, __u8 plen)
{
	out[0] = in[0] & prefix_mask(plen);
	if (family != 6)
		return;
	out[1] = in[1] & prefix_mask(plen - 32);
	out[2] = in[2] & prefix_mask(plen - 64);
	out[3] = in[3] & prefix_mask(plen - 96);
}

/* The organisation owning the source address on this ingress, or -1:
 * a source not registered for the ingress it came in on is spoofed. */
static __always_inline int lookup_org(const struct pal_pkt *p, const struct pal_ingress *ing,
				      __u32 gen, __u32 *org)
{
	struct pal_src_key k = { .ingress = ing->id, .gen = gen, .family = p->family };
	__u8 n = p->family == 4 ? ing->n4 : ing->n6;
	__u32 *v;

	for (int i = 0; i < PAL_MAX_LENS; i++) {
		if (i >= n)
			break;
		k.plen = p->family == 4 ? ing->lens4[i] : ing->lens6[i];
		mask_addr(k.addr, p->src, p->family, k.plen);
		v = bpf_map_lookup_elem(&sources, &k);
		if (v) {
			*org = *v;
			return 0;
		}
	}
	return -1; /* nothing found: spoofed, drop */
}

/* Longest destination prefix of the ruleset containing dst, or NULL. */
static __always_inline struct pal_dst *lookup_dst(const struct pal_pkt *p, const struct pal_ruleset *rs,
						  __u32 ruleset, __u32 gen)
{
	struct pal_dst_key k = { .ruleset = ruleset, .gen = gen, .family = p->family };
	__u8 n = p->family == 4 ? rs->n4 : rs->n6;
	struct pal_dst *v;

	for (int i = 0; i < PAL_MAX_LENS; i++) {
		if (i >= n)
			break;
		k.plen = p->family == 4 ? rs->lens4[i] : rs->lens6[i];
		mask_addr(k.addr, p->dst, p->family, k.plen);
		v = bpf_map_lookup_elem(&dests, &k);
		if (v)
			return v;
	}
	return NULL; /* nothing found: no rule, drop */
}

/* Binary search of a sorted, disjoint list of port ranges. */
static __always_inline struct pal_port_range *lookup_port(const struct pal_port_list *l, __u32 gen, __u16 port)
{
	__u32 base = gen * PAL_MAX_PORT_RANGES + l->off;
	__u32 lo = 0, hi = l->cnt, idx;
	struct pal_port_range *r;

	if (hi > PAL_MAX_PORT_RANGES)
		return NULL;
	for (int i = 0; i < PAL_PORT_SEARCH_STEPS; i++) {
		if (lo >= hi)
			break;
		__u32 mid = (lo + hi) / 2;

		idx = base + mid;
		r = bpf_map_lookup_elem(&port_ranges, &idx);
		if (!r)
			return NULL;
		if (r->hi < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= l->cnt)
		return NULL;
	idx = base + lo;
	r = bpf_map_lookup_elem(&port_ranges, &idx);
	if (!r || r->lo > port || r->hi < port)
		return NULL; /* nothing found: no rule, drop */
	return r;
}

static __always_inline int proto_class(const struct pal_pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		return PAL_CLASS_TCP;
	if (p->proto == IPPROTO_UDP)
		return PAL_CLASS_UDP;
	return PAL_CLASS_ICMP;
}

/* Decide a packet from an organisation's ingress that starts a flow. */
static __always_inline void decide(const struct pal_pkt *p, const struct pal_ingress *ing,
				   __u32 gen, struct pal_decision *d)
{
	__u32 org, idx, ruleset;
	struct pal_org *o;
	struct pal_ruleset *rs;
	struct pal_dst *dst;
	struct pal_port_range *r;
	int cls;

	d->verdict = PAL_VERDICT_DROP;
	if (lookup_org(p, ing, gen, &org)) {
		d->reason = PAL_DROP_SPOOFED_SOURCE;
		return;
	}
	idx = gen * PAL_MAX_ORGS + org;
	o = bpf_map_lookup_elem(&orgs, &idx);
	if (!o) {
		d->reason = PAL_DROP_INTERNAL;
		return;
	}
	d->org_slot = o->slot;
	ruleset = o->state == PAL_ORG_SUSPENDED ? PAL_REMEDIATION_RULESET : o->ruleset;
	d->reason = o->state == PAL_ORG_SUSPENDED ? PAL_DROP_SUSPENDED : PAL_DROP_NO_RULE;
	if (ruleset >= PAL_MAX_RULESETS)
		return;
	idx = gen * PAL_MAX_RULESETS + ruleset;
	rs = bpf_map_lookup_elem(&rulesets, &idx);
	if (!rs)
		return;
	dst = lookup_dst(p, rs, ruleset, gen);
	if (!dst)
		return;
	cls = proto_class(p);
	r = lookup_port(&dst->lists[cls], gen, cls == PAL_CLASS_ICMP ? 0 : p->dport);
	if (!r)
		return;
	d->verdict = r->verdict;
	d->rule_slot = r->rule_slot;
	d->rule_flags = r->flags;
	d->reason = PAL_DROP_NONE;
}

#endif
