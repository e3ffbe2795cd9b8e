/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: the flow table. One entry per connection, found from either
 * direction; an established flow is decided by this one lookup. */
#ifndef PALISADE_FLOW_H
#define PALISADE_FLOW_H

#include "maps.h"
#include "parse.h"

#define NSEC 1000000000ULL

/* Orders the endpoints so both directions build the same key. Returns 1 when
 * the packet's source is the key's lo endpoint. */
static __always_inline int flow_key_of(const struct pal_pkt *p, struct pal_flow_key *k)
{
	int src_lo = 1;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (p->src[i] != p->dst[i]) {
			src_lo = p->src[i] < p->dst[i];
			goto order;
		}
	}
	src_lo = p->sport <= p->dport;
order:
	k->proto = p->proto;
	k->family = p->family;
	if (src_lo) {
		__builtin_memcpy(k->lo_addr, p->src, 16);
		__builtin_memcpy(k->hi_addr, p->dst, 16);
		k->lo_port = p->sport;
		k->hi_port = p->dport;
	} else {
		__builtin_memcpy(k->lo_addr, p->dst, 16);
		__builtin_memcpy(k->hi_addr, p->src, 16);
		k->lo_port = p->dport;
		k->hi_port = p->sport;
	}
	return src_lo;
}

/* Does the organisation in slot hold its quota of flows already? Between
 * CPUs opening flows at once it may go over by one each. */
static __always_inline int flow_quota_full(__u32 slot, __u32 quota)
{
	struct pal_org_counts *c;
	struct pal_org_agent *a;

	if (!quota)
		return 0;
	c = bpf_map_lookup_elem(&org_counts, &slot);
	a = bpf_map_lookup_elem(&org_agent, &slot);
	if (!c || !a)
		return 1;
	return (__s64)(c->flows_created - c->flows_removed - a->flows_swept) >= (__s64)quota;
}

static __always_inline void flow_count(__u32 slot, int created)
{
	struct pal_org_counts *c = bpf_map_lookup_elem(&org_counts, &slot);

	if (!c)
		return;
	if (created)
		__sync_fetch_and_add(&c->flows_created, 1);
	else
		__sync_fetch_and_add(&c->flows_removed, 1);
}

static __always_inline __u64 flow_timeout_ns(const struct pal_flow *f, __u8 proto,
					     const struct pal_config *cfg)
{
	if (proto == IPPROTO_TCP) {
		if ((f->flags & PAL_FLOW_RST) ||
		    (f->flags & (PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY)) ==
			    (PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY))
			return cfg->tcp_closing_timeout_s * NSEC;
		if (!(f->flags & PAL_FLOW_SEEN_REPLY))
			return cfg->tcp_syn_timeout_s * NSEC;
		return cfg->tcp_established_timeout_s * NSEC;
	}
	if (proto == IPPROTO_UDP)
		return cfg->udp_timeout_s * NSEC;
	return cfg->icmp_timeout_s * NSEC;
}

static __always_inline int flow_closing(const struct pal_flow *f)
{
	return (f->flags & PAL_FLOW_RST) ||
	       (f->flags & (PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY)) ==
		       (PAL_FLOW_FIN_ORIG | PAL_FLOW_FIN_REPLY);
}

/* TCP flags that end a flow's life sooner; written only when they change,
 * so an established flow's packets do not keep dirtying the entry. */
static __always_inline void flow_track_tcp(struct pal_flow *f, const struct pal_pkt *p, int dir)
{
	__u8 set = 0;

	if (dir == 1)
		set |= PAL_FLOW_SEEN_REPLY;
	if (p->tcp_flags & TCPF_RST)
		set |= PAL_FLOW_RST;
	if (p->tcp_flags & TCPF_FIN)
		set |= dir == 0 ? PAL_FLOW_FIN_ORIG : PAL_FLOW_FIN_REPLY;
	if ((f->flags & set) != set)
		f->flags |= set;
}

static __always_inline void flow_touch(struct pal_flow *f, const struct pal_pkt *p, int dir, __u64 now)
{
	if (f->last_seen_ns != now)
		f->last_seen_ns = now;
	/* Racy between CPUs by design: an approximate per-flow tally for the
	 * flow log; the per-CPU counters are the exact figures. */
	f->packets[dir & 1]++;
	f->bytes[dir & 1] += p->len;
	if (p->proto == IPPROTO_TCP)
		flow_track_tcp(f, p, dir);
	else if (dir == 1 && !(f->flags & PAL_FLOW_SEEN_REPLY))
		f->flags |= PAL_FLOW_SEEN_REPLY;
}

/* Does this packet open a flow? A reply-shaped packet never does: replies are
 * allowed only because a flow was started from the organisation's side. */
static __always_inline int starts_flow(const struct pal_pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		return (p->tcp_flags & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)) == TCPF_SYN;
	if (p->proto == IPPROTO_UDP)
		return 1;
	if (p->family == 4)
		return p->icmp_type == ICMP_ECHO;
	return p->icmp_type == ICMPV6_ECHO_REQUEST;
}

static __always_inline void frag_key_of(const struct pal_pkt *p, struct pal_frag_key *k)
{
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
	k->id = p->frag_id;
	k->proto = p->frag_proto;
	k->family = p->family;
	k->ifindex = p->ifindex;
	k->vlan = p->vlan;
	k->inner_vlan = p->inner_vlan;
}

static __always_inline void frag_count_removed(__u32 slot)
{
	struct pal_org_counts *c = bpf_map_lookup_elem(&org_counts, &slot);

	if (c)
		__sync_fetch_and_add(&c->frags_removed, 1);
}

/* The first fragment of an allowed packet lets its later fragments follow,
 * within its organisation's fragment quota: returns 0, or the drop reason
 * of a first fragment there is no room to remember (its later fragments
 * could not follow). A global function: its key and value live on its own
 * stack, not in the program's deepest call chain (512 bytes for all of it). */
__attribute__((noinline)) int pal_frag_remember(const struct pal_pkt *p, __u32 org_slot, __u32 rule_slot,
						__u32 verdict, __u64 now)
{
	struct pal_frag_key k = {};
	struct pal_frag v = {
		.created_ns = now,
		.org_slot = org_slot,
		.rule_slot = rule_slot,
		.verdict = verdict,
	};
	struct pal_org_counts *c;
	struct pal_org_agent *a;

	if (!p)
		return PAL_DROP_INTERNAL;
	frag_key_of(p, &k);
	if (!bpf_map_update_elem(&frags, &k, &v, BPF_EXIST))
		return 0; /* sent again: no new entry */
	c = bpf_map_lookup_elem(&org_counts, &org_slot);
	a = bpf_map_lookup_elem(&org_agent, &org_slot);
	if (!c || !a)
		return PAL_DROP_INTERNAL;
	if ((__s64)(c->frags_created - c->frags_removed - a->frags_swept) >= (__s64)a->frag_quota)
		return PAL_DROP_FRAGMENT_QUOTA;
	if (bpf_map_update_elem(&frags, &k, &v, BPF_NOEXIST))
		return PAL_DROP_FRAGMENT_QUOTA; /* the table is full, or it came in at once twice */
	__sync_fetch_and_add(&c->frags_created, 1);
	return 0;
}

#endif
