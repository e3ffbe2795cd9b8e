/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: the first-packet decision. A source or destination costs one
 * block-summary lookup (which long prefix lengths occur in its /24 or /64,
 * or the one prefix there with its answer), a probe per length found there
 * and one per short length; then log2 of one destination's port ranges,
 * none when it allows the class a single range (inline, see pal_dst).
 * It never loops over rules. */
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
	__u32 flow_quota; /* the organisation's; 0: no limit */
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

/* The summary of addr's block for an owner, or NULL: the slots from the
 * key's home on, up to the first empty one (see struct pal_block_slot). */
static __always_inline struct pal_block *block_of(__u8 kind, __u32 owner, __u32 gen, __u8 family,
						  const __u32 *addr)
{
	struct pal_block_key k = { .owner = owner, .gen = gen, .family = family, .kind = kind };
	__u32 mask = pal_block_slots - 1, home, idx;
	struct pal_block_slot *s;

	if (family == 4) {
		k.addr[0] = addr[0] & prefix_mask(PAL_BLOCK4);
	} else {
		k.addr[0] = addr[0]; /* PAL_BLOCK6 is 64: two whole words */
		k.addr[1] = addr[1];
	}
	home = pal_block_home(&k);
	for (__u32 i = 0; i < PAL_BLOCK_PROBES; i++) {
		idx = gen * pal_block_slots + ((home + i) & mask);
		s = bpf_map_lookup_elem(&blocks, &idx);
		if (!s || !s->key.family)
			return NULL;
		if (s->key.owner == k.owner && s->key.gen == k.gen && s->key.family == k.family &&
		    s->key.kind == k.kind && s->key.addr[0] == k.addr[0] && s->key.addr[1] == k.addr[1])
			return &s->block;
	}
	return NULL;
}

/* The first (longest) of a crowded block's listed prefixes containing
 * addr, in *out: 1 found, 0 none of them, -1 the list is not there. */
static __always_inline int block_list(const struct pal_block *b, __u32 gen, __u8 family,
				      const __u32 *addr, struct pal_block_prefix **out)
{
	__u32 base = gen * PAL_MAX_BLOCK_PREFIXES + b->list_off, cnt = b->list_cnt, idx;
	struct pal_block_prefix *e;
	__u32 m[4] = {};

	if (b->list_off >= PAL_MAX_BLOCK_PREFIXES)
		return -1;
	for (int i = 0; i < PAL_BLOCK_LIST_MAX; i++) {
		if (i >= cnt)
			break;
		idx = base + i;
		e = bpf_map_lookup_elem(&block_prefixes, &idx);
		if (!e)
			return -1;
		mask_addr(m, addr, family, e->plen);
		if (m[0] == e->addr[0] && m[1] == e->addr[1] && m[2] == e->addr[2] && m[3] == e->addr[3]) {
			*out = e;
			return 1;
		}
	}
	return 0;
}

/* Index of the lowest bit set in x (x != 0), without a branch. */
static __always_inline __u32 lowest_bit(__u32 x)
{
	x = (x & -x) - 1; /* the bits below it */
	x = x - ((x >> 1) & 0x55555555);
	x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
	x = (x + (x >> 4)) & 0x0f0f0f0f;
	return (x * 0x01010101) >> 24;
}

/* The longest prefix of owner in map (sources or dests, whose keys share a
 * layout) containing addr, or NULL. Probes the owner's long lengths that
 * occur in addr's block, then its short lengths, longest first. Every turn
 * of the loop probes (none skips), which keeps the verifier's walk linear. */
static __always_inline void *lookup_prefix(void *map, __u8 kind, __u32 owner, __u32 gen,
					   __u8 family, const __u32 *addr, const struct pal_lens *l)
{
	struct pal_src_key k = { .ingress = owner, .gen = gen, .family = family };
	__u8 n = family == 4 ? l->n4 : l->n6, nlong = family == 4 ? l->long4 : l->long6;
	__u32 in_block = ~0U, todo, i; /* one long length: probing it costs what a summary would */
	struct pal_block_prefix *e;
	struct pal_block *b;
	void *v;
	int found;

	if (n > PAL_MAX_LENS || nlong > n)
		return NULL;
	if (nlong >= 2) {
		b = block_of(kind, owner, gen, family, addr);
		in_block = b ? b->lens : 0;
		if (b && b->only_plen) {
			/* The block's one long prefix carries its answer: no second lookup. */
			mask_addr(k.addr, addr, family, b->only_plen);
			if (k.addr[0] == b->only_addr[0] && k.addr[1] == b->only_addr[1] &&
			    k.addr[2] == b->only_addr[2] && k.addr[3] == b->only_addr[3])
				return kind == PAL_BLOCK_SOURCES ? (void *)&b->org : (void *)&b->dst;
			in_block = 0; /* it does not hold addr: only the short lengths remain */
		} else if (b && b->list_cnt) {
			found = block_list(b, gen, family, addr, &e);
			if (found < 0)
				return NULL; /* the tables disagree: drop */
			if (found)
				return kind == PAL_BLOCK_SOURCES ? (void *)&e->org : (void *)&e->dst;
			in_block = 0; /* none of its long prefixes holds addr */
		}
	}
	/* Every length, less the long ones that do not occur in this block. */
	todo = ((1U << n) - 1) & ~(((1U << nlong) - 1) & ~in_block);
	for (int j = 0; j < PAL_MAX_LENS; j++) {
		if (!todo)
			break;
		i = lowest_bit(todo);
		todo &= todo - 1;
		if (i >= PAL_MAX_LENS)
			break;
		k.plen = family == 4 ? l->lens4[i] : l->lens6[i];
		mask_addr(k.addr, addr, family, k.plen);
		v = bpf_map_lookup_elem(map, &k);
		if (v)
			return v;
	}
	return NULL; /* nothing found: the caller drops */
}

_Static_assert(sizeof(struct pal_src_key) == sizeof(struct pal_dst_key), "sources and dests share a key layout");

/* The organisation owning the packet's source on this ingress, or -1: a
 * source not registered for the ingress it came in on is spoofed. */
static __always_inline int lookup_org(const struct pal_pkt *p, const struct pal_ingress *ing,
				      __u32 gen, __u32 *org)
{
	__u32 *v = lookup_prefix(&sources, PAL_BLOCK_SOURCES, ing->id, gen, p->family, p->src, &ing->lens);

	if (!v)
		return -1; /* nothing found: spoofed, drop */
	*org = *v;
	return 0;
}

/* lookup_org as a global function, for the reply checks: the verifier
 * walks it once, on its own, not once per place the program calls it. */
__attribute__((noinline)) int pal_source_org(const struct pal_pkt *p, const struct pal_ingress *ing, __u32 gen)
{
	__u32 org;

	if (!p || !ing)
		return -1;
	return lookup_org(p, ing, gen, &org) ? -1 : (int)org;
}

/* The port ranges of protocol class cls that the ruleset's longest
 * destination prefix containing the packet's destination allows, in out
 * (and in one, when they are its inline range); -1 when no prefix
 * contains it (no rule: drop). */
static __always_inline int find_ports(const struct pal_pkt *p, __u32 ruleset, __u32 gen, __u32 cls,
				      struct pal_port_list *out, struct pal_port_range *one)
{
	__u32 idx = gen * PAL_MAX_RULESETS + ruleset;
	struct pal_ruleset *rs;
	struct pal_dst *v;

	if (ruleset >= PAL_MAX_RULESETS)
		return -1;
	rs = bpf_map_lookup_elem(&rulesets, &idx);
	if (!rs)
		return -1;
	v = lookup_prefix(&dests, PAL_BLOCK_DESTS, ruleset, gen, p->family, p->dst, &rs->lens);
	if (!v)
		return -1;
	/* Constant offsets: the verifier forgets cls's bound across the loop. */
	if (cls == PAL_CLASS_TCP)
		*out = v->lists[PAL_CLASS_TCP];
	else if (cls == PAL_CLASS_UDP)
		*out = v->lists[PAL_CLASS_UDP];
	else
		*out = v->lists[PAL_CLASS_ICMP];
	if (out->off == PAL_PORT_INLINE)
		*one = v->one; /* else left unread: it may lie on another cache line */
	return 0;
}

/* Binary search of a sorted, disjoint list of port ranges. */
static __always_inline struct pal_port_range *lookup_port(__u32 off, __u32 cnt, __u32 gen, __u16 port)
{
	__u32 base = gen * PAL_MAX_PORT_RANGES + off;
	__u32 lo = 0, hi = cnt, idx;
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
	if (lo >= cnt)
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

/* Decide a packet from an organisation's ingress that starts a flow. A
 * global function too: the program's many paths share one walk of it. */
__attribute__((noinline)) int pal_decide(const struct pal_pkt *p, const struct pal_ingress *ing,
					 __u32 gen, struct pal_decision *d)
{
	__u32 org, idx, ruleset;
	struct pal_org *o;
	struct pal_port_list ports = {};
	struct pal_port_range one = {}, *r;
	__u16 port;
	int cls;

	if (!p || !ing || !d)
		return -1;
	d->verdict = PAL_VERDICT_DROP;
	if (lookup_org(p, ing, gen, &org)) {
		d->reason = PAL_DROP_SPOOFED_SOURCE;
		return 0;
	}
	idx = gen * PAL_MAX_ORGS + org;
	o = bpf_map_lookup_elem(&orgs, &idx);
	if (!o) {
		d->reason = PAL_DROP_INTERNAL;
		return 0;
	}
	d->org_slot = o->slot;
	d->flow_quota = o->flow_quota;
	ruleset = o->state == PAL_ORG_SUSPENDED ? PAL_REMEDIATION_RULESET : o->ruleset;
	d->reason = o->state == PAL_ORG_SUSPENDED ? PAL_DROP_SUSPENDED : PAL_DROP_NO_RULE;
	cls = proto_class(p);
	if (find_ports(p, ruleset, gen, cls, &ports, &one))
		return 0;
	port = cls == PAL_CLASS_ICMP ? 0 : p->dport;
	if (ports.off == PAL_PORT_INLINE)
		r = one.lo <= port && port <= one.hi ? &one : NULL;
	else
		r = lookup_port(ports.off, ports.cnt, gen, port);
	if (!r)
		return 0;
	d->verdict = r->verdict;
	d->rule_slot = r->rule_slot;
	d->rule_flags = r->flags;
	d->reason = PAL_DROP_NONE;
	return 0;
}

#endif
