// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The boundary: every packet entering an attached interface is parsed, tied
 * to a flow or to an organisation and its allowlist, and allowed (forwarded
 * in XDP where possible), flagged for inspection, or dropped with a reason.
 * Default deny: whatever a lookup does not find is dropped. */
#include <linux/errno.h>
#include "lib/parse.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/policy.h"
#include "lib/flow.h"
#include "lib/fwd.h"
#include "lib/icmp.h"
#include "lib/link.h"
#include "lib/route.h"
#include "lib/rate.h"
#include "lib/observe.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const struct pal_abi_enums *unused_abi_enums __attribute__((unused));

/* Every refusal ends here: counted by reason, and seen by the flow log and
 * a running capture when they are on (a branch each on the config). */
static __always_inline int drop(struct xdp_md *ctx, const struct pal_config *cfg,
				const struct pal_pkt *p, __u32 reason, __u32 org_slot)
{
	count_drop(reason, p->len);
	count_org(org_slot, PAL_VERDICT_DROP, p->len);
	if (reason >= PAL_REFUSAL_FIRST)
		count_refusal(org_slot, reason, p->len);
	if (cfg->log_drop_sample)
		log_drop(ctx, p, cfg, reason, org_slot);
	if (cfg->capture_slot)
		capture(ctx, cfg, org_slot, 0, PAL_VERDICT_DROP, reason);
	return XDP_DROP;
}

/* Inspected packets go to the kernel stack carrying a mark in the XDP
 * metadata (copied to skb->mark on tc ingress, then NFQUEUE). Without the
 * mark they would bypass inspection, so failing to write it drops. */
static __always_inline int pass_marked(struct xdp_md *ctx, __u8 fail_open)
{
	__u32 *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return -1;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return -1;
	*meta = PAL_MARK_INSPECT | (fail_open ? PAL_MARK_FAIL_OPEN : 0);
	return XDP_PASS;
}

/* The tail every packet with a positive verdict goes through. may_fwd is
 * off for replies towards a VLAN-tagged organisation: XDP cannot add the
 * tag (or a QinQ ingress's two), the kernel's VLAN device does; those, and
 * later fragments, are counted as handed to the stack like any other. */
static __always_inline int deliver(struct xdp_md *ctx, const struct pal_pkt *p,
				   const struct pal_config *cfg, __u32 org_slot, __u32 rule_slot,
				   __u8 verdict, __u8 fail_open, int may_fwd, __u64 now)
{
	int act = XDP_PASS, err;

	if ((cfg->flags & PAL_CFG_RATE_LIMITS) && rate_over_packet(org_slot, p->len, now))
		return drop(ctx, cfg, p, PAL_DROP_RATE_LIMITED, org_slot);
	if (p->frag == PAL_FRAG_FIRST) {
		err = pal_frag_remember(p, org_slot, rule_slot, verdict, now);
		if (err)
			return drop(ctx, cfg, p, err, org_slot);
	}
	if (verdict == PAL_VERDICT_INSPECT) {
		act = pass_marked(ctx, fail_open);
		if (act < 0)
			return drop(ctx, cfg, p, PAL_DROP_INTERNAL, org_slot);
	}
	count_org(org_slot, verdict, p->len);
	count_rule(rule_slot, p->len, now);
	if (cfg->capture_slot) /* before forward() rewrites the headers */
		capture(ctx, cfg, org_slot, rule_slot, verdict, 0);
	if (verdict == PAL_VERDICT_ALLOW && may_fwd)
		act = forward(ctx, p, cfg);
	else if (verdict == PAL_VERDICT_ALLOW)
		count_fwd(PAL_FWD_STACK, p->len);
	return act;
}

/* A later fragment follows the first fragment that came in on the same
 * ingress with the same source, destination, id and protocol: the first
 * one passed the identity and policy checks, so the rest need not. */
static __always_inline int later_fragment(struct xdp_md *ctx, const struct pal_pkt *p,
					  const struct pal_config *cfg, __u64 now)
{
	struct pal_frag_key k = {};
	struct pal_frag *fr;

	frag_key_of(p, &k);
	fr = bpf_map_lookup_elem(&frags, &k);
	if (!fr)
		return drop(ctx, cfg, p, PAL_DROP_FRAGMENT, 0); /* not tied to an allowed flow */
	if (now - fr->created_ns > cfg->frag_timeout_s * NSEC) {
		__u32 slot = fr->org_slot;

		if (!bpf_map_delete_elem(&frags, &k))
			frag_count_removed(slot);
		return drop(ctx, cfg, p, PAL_DROP_FRAGMENT, 0);
	}
	return deliver(ctx, p, cfg, fr->org_slot, fr->rule_slot, fr->verdict, 0, 0, now);
}

static __always_inline int same_ingress(const struct pal_flow *f, const struct pal_pkt *p)
{
	return f->orig_ifindex == p->ifindex && f->orig_vlan == p->vlan &&
	       f->orig_inner_vlan == p->inner_vlan;
}

/* Replies entering where organisations come in (organisation-to-organisation
 * sharing) must still carry a source registered on that ingress; otherwise
 * a host on one organisation's link could inject into another's flows by
 * spoofing the service side. */
static __always_inline int reply_source_ok(const struct pal_pkt *p, __u32 gen)
{
	__u32 ifindex = p->ifindex;
	struct pal_ingress_key ik = {
		.ifindex = ifindex, .vlan = p->vlan, .inner_vlan = p->inner_vlan, .gen = gen,
	};
	struct pal_ingress *ing;
	__u32 *facing;

	if (ifindex < PAL_MAX_IFINDEX) {
		facing = bpf_map_lookup_elem(&org_facing, &ifindex);
		if (facing && !*facing)
			return 1;
	}
	ing = bpf_map_lookup_elem(&ingresses, &ik);
	if (!ing)
		return 0; /* not ours: spoofed */
	if (ing->kind != PAL_INGRESS_ORGS)
		return 1;
	return pal_source_org(p, ing, gen) >= 0;
}

/* Is p's source registered on its ingress to the organisation counted in
 * org_slot? For what comes back from an organisation's side of a flow. */
static __always_inline int owner_source_ok(const struct pal_pkt *p, __u32 gen, __u32 org_slot)
{
	struct pal_ingress_key ik = {
		.ifindex = p->ifindex, .vlan = p->vlan, .inner_vlan = p->inner_vlan, .gen = gen,
	};
	struct pal_ingress *ing;
	struct pal_org *o;
	__u32 idx;
	int org;

	ing = bpf_map_lookup_elem(&ingresses, &ik);
	if (!ing || ing->kind != PAL_INGRESS_ORGS)
		return 0;
	org = pal_source_org(p, ing, gen);
	if (org < 0)
		return 0;
	idx = gen * PAL_MAX_ORGS + (__u32)org;
	o = bpf_map_lookup_elem(&orgs, &idx);
	return o && o->slot == org_slot;
}

/* Replies to a flow come in where the route to its far end leads: checked
 * by a route lookup of far at the first reply, which records the ingress;
 * later replies must come in there. record 0 only checks. */
static __always_inline int reply_ingress_ok(struct xdp_md *ctx, const struct pal_pkt *p,
					    struct pal_flow *f, const __u32 *far, int record)
{
	if (f->reply_ifindex)
		return f->reply_ifindex == p->ifindex && f->reply_vlan == p->vlan &&
		       f->reply_inner_vlan == p->inner_vlan;
	if (!reverse_path_ok(ctx, p, far))
		return 0;
	if (record) {
		f->reply_vlan = p->vlan;
		f->reply_inner_vlan = p->inner_vlan;
		asm volatile("" ::: "memory"); /* the tags before the index that says they are set */
		f->reply_ifindex = p->ifindex;
	}
	return 1;
}

/* A packet whose 5-tuple has a flow. Returns -1 when the flow no longer
 * speaks for it (expired, or closed and reopened): then it is decided as a
 * new packet. A flow is never taken over: its originator's packets come in
 * on its ingress, its replies where the route to the responder leads. */
static __always_inline int flow_continue(struct xdp_md *ctx, const struct pal_pkt *p,
					 const struct pal_config *cfg, __u32 gen, struct pal_flow_key *k,
					 struct pal_flow *f, int src_lo, __u64 now)
{
	int dir = src_lo == !!(f->flags & PAL_FLOW_ORIG_LO) ? 0 : 1;

	if (now - f->last_seen_ns > flow_timeout_ns(f, p->proto, cfg) ||
	    (dir == 0 && flow_closing(f) && starts_flow(p))) {
		__u32 slot = f->org_slot; /* the entry's memory is reused once deleted */

		if (!bpf_map_delete_elem(&flows, k)) {
			flow_count(slot, 0);
			obs_count(PAL_OBS_FLOWS_EXPIRED);
		}
		return -1;
	}
	if (dir == 0 && !same_ingress(f, p))
		return drop(ctx, cfg, p, PAL_DROP_FLOW_INGRESS, f->org_slot);
	if (dir == 1 && (same_ingress(f, p) || !reply_source_ok(p, gen)))
		return drop(ctx, cfg, p, PAL_DROP_SPOOFED_SOURCE, f->org_slot);
	if (dir == 1 && !reply_ingress_ok(ctx, p, f, p->src, 1))
		return drop(ctx, cfg, p, PAL_DROP_REVERSE_PATH, f->org_slot);
	flow_touch(f, p, dir, now);
	if (f->verdict == PAL_VERDICT_DROP)
		return drop(ctx, cfg, p, PAL_DROP_FLOW_DENIED, f->org_slot);
	return deliver(ctx, p, cfg, f->org_slot, f->rule_slot, f->verdict, f->flags & PAL_FLOW_FAIL_OPEN,
		       dir == 0 || !(f->orig_vlan | f->orig_inner_vlan), now);
}

/* Writes p's new flow, decided as d, unless its key has one: 0 or the
 * map's error. A global function: the 80-byte record is built on its own
 * stack, not the program's deepest call chain (512 bytes for all of it).
 * lo_gen: whether p's source is the key's lo endpoint, | generation << 1. */
__attribute__((noinline)) int pal_flow_insert(const struct pal_pkt *p, struct pal_flow_key *k,
					      const struct pal_decision *d, __u64 now, __u32 lo_gen)
{
	if (!p || !k || !d)
		return -EINVAL;

	struct pal_flow f = {
		.created_ns = now,
		.last_seen_ns = now,
		.packets = { 1, 0 },
		.bytes = { p->len, 0 },
		.org_slot = d->org_slot,
		.rule_slot = d->rule_slot,
		.orig_ifindex = p->ifindex,
		.orig_vlan = p->vlan,
		.orig_inner_vlan = p->inner_vlan,
		.verdict = d->verdict,
		.flags = (lo_gen & 1 ? PAL_FLOW_ORIG_LO : 0) |
			 (d->rule_flags & PAL_RULE_FAIL_OPEN ? PAL_FLOW_FAIL_OPEN : 0),
		.gen = lo_gen >> 1,
	};
	return bpf_map_update_elem(&flows, k, &f, BPF_NOEXIST);
}

static __always_inline int flow_start(struct xdp_md *ctx, const struct pal_pkt *p,
				      const struct pal_config *cfg, __u32 gen,
				      struct pal_flow_key *k, int src_lo, __u64 now)
{
	struct pal_ingress_key ik = {
		.ifindex = p->ifindex,
		.vlan = p->vlan,
		.inner_vlan = p->inner_vlan,
		.gen = gen,
	};
	struct pal_decision d = {};
	struct pal_ingress *ing;
	long err;

	ing = bpf_map_lookup_elem(&ingresses, &ik);
	if (!ing)
		return drop(ctx, cfg, p, PAL_DROP_UNKNOWN_INGRESS, 0); /* not ours: drop */
	if (ing->kind != PAL_INGRESS_ORGS || !starts_flow(p))
		return drop(ctx, cfg, p, PAL_DROP_NO_FLOW, 0); /* unsolicited or reply-shaped */
	if (pal_decide(p, ing, gen, &d))
		return drop(ctx, cfg, p, PAL_DROP_INTERNAL, 0);
	if (d.verdict == PAL_VERDICT_DROP)
		return drop(ctx, cfg, p, d.reason, d.org_slot);
	if (!reverse_path_ok(ctx, p, p->src))
		return drop(ctx, cfg, p, PAL_DROP_REVERSE_PATH, d.org_slot);
	if (flow_quota_full(d.org_slot, d.flow_quota))
		return drop(ctx, cfg, p, PAL_DROP_FLOW_QUOTA, d.org_slot);
	if ((cfg->flags & PAL_CFG_RATE_LIMITS) && rate_over(d.org_slot, PAL_RATE_FLOWS, 1, now))
		return drop(ctx, cfg, p, PAL_DROP_RATE_LIMITED, d.org_slot);

	/* Never over another flow: one that came in at the same time from
	 * elsewhere keeps its 5-tuple. */
	err = pal_flow_insert(p, k, &d, now, (__u32)src_lo | gen << 1);
	if (err)
		return drop(ctx, cfg, p, err == -EEXIST ? PAL_DROP_FLOW_INGRESS : PAL_DROP_FLOW_TABLE_FULL,
			    d.org_slot);
	flow_count(d.org_slot, 1);
	obs_count(PAL_OBS_FLOWS_CREATED);
	if (cfg->log_rate)
		log_flow_start(ctx, p, cfg, d.org_slot, d.rule_slot, d.verdict, now);
	return deliver(ctx, p, cfg, d.org_slot, d.rule_slot, d.verdict,
		       d.rule_flags & PAL_RULE_FAIL_OPEN, 1, now);
}

static __always_inline int addr_eq(const __u32 *a, const __u32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

/* An ICMP error passes only as part of the allowed flow it quotes, going
 * back to the quoted packet's sender from the side that packet was sent
 * to: what the first packet's own path could have produced. */
static __always_inline int related_error(struct xdp_md *ctx, const struct pal_pkt *p,
					 const struct pal_config *cfg, __u32 gen, __u64 now)
{
	struct pal_flow_key k = {};
	struct pal_flow *f;
	int qlo, qdir, may_fwd = 1;

	if (p->ip_len > (p->family == 4 ? ICMP_ERROR_MAX4 : ICMP_ERROR_MAX6))
		return drop(ctx, cfg, p, PAL_DROP_ICMP_ERROR_SIZE, 0);
	qlo = icmp_quoted_flow(ctx, p, &k);
	if (qlo < 0)
		return drop(ctx, cfg, p, PAL_DROP_NO_FLOW, 0);
	f = bpf_map_lookup_elem(&flows, &k);
	if (!f || f->verdict != PAL_VERDICT_ALLOW)
		return drop(ctx, cfg, p, PAL_DROP_NO_FLOW, 0); /* not about an allowed flow */
	if (!addr_eq(qlo ? k.lo_addr : k.hi_addr, p->dst))
		return drop(ctx, cfg, p, PAL_DROP_ICMP_ERROR_MISMATCH, f->org_slot);
	qdir = qlo == !!(f->flags & PAL_FLOW_ORIG_LO) ? 0 : 1;
	if (qdir == 0) { /* back to the originator, from the responder's side */
		if (same_ingress(f, p))
			return drop(ctx, cfg, p, PAL_DROP_ICMP_ERROR_MISMATCH, f->org_slot);
		if (!reply_source_ok(p, gen))
			return drop(ctx, cfg, p, PAL_DROP_SPOOFED_SOURCE, f->org_slot);
		if (!reply_ingress_ok(ctx, p, f, qlo ? k.hi_addr : k.lo_addr, 0))
			return drop(ctx, cfg, p, PAL_DROP_REVERSE_PATH, f->org_slot);
		may_fwd = !(f->orig_vlan | f->orig_inner_vlan);
	} else { /* back to the responder, from the originator's own side */
		if (!same_ingress(f, p))
			return drop(ctx, cfg, p, PAL_DROP_ICMP_ERROR_MISMATCH, f->org_slot);
		if (!owner_source_ok(p, gen, f->org_slot))
			return drop(ctx, cfg, p, PAL_DROP_SPOOFED_SOURCE, f->org_slot);
	}
	return deliver(ctx, p, cfg, f->org_slot, f->rule_slot, PAL_VERDICT_ALLOW, 0, may_fwd, now);
}

SEC("xdp")
int xdp_boundary(struct xdp_md *ctx)
{
	struct pal_pkt p = {};
	struct pal_flow_key k = {};
	struct pal_config *cfg;
	struct pal_flow *f;
	__u32 zero = 0;
	__u64 now;
	__u32 gen;
	int err, src_lo, act;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return XDP_DROP;
	err = parse_packet(ctx, &p);
	if (err)
		return drop(ctx, cfg, &p, err, 0);
	err = link_control(ctx, &p);
	if (err == PAL_LINK_PASS) {
		count_org(0, PAL_VERDICT_PASS, p.len);
		return XDP_PASS;
	}
	if (err > 0)
		return drop(ctx, cfg, &p, err, 0);
	if (!cfg->policy_loaded)
		return drop(ctx, cfg, &p, PAL_DROP_NO_POLICY, 0);
	/* Read once: the whole packet is decided by one policy generation. */
	gen = *(volatile __u32 *)&cfg->active_gen & 1;
	now = bpf_ktime_get_coarse_ns();
	if (p.frag == PAL_FRAG_LATER)
		return later_fragment(ctx, &p, cfg, now);
	if (icmp_is_error(&p))
		return related_error(ctx, &p, cfg, gen, now);
	src_lo = flow_key_of(&p, &k);
	f = bpf_map_lookup_elem(&flows, &k);
	if (f) {
		act = flow_continue(ctx, &p, cfg, gen, &k, f, src_lo, now);
		if (act >= 0)
			return act;
	}
	return flow_start(ctx, &p, cfg, gen, &k, src_lo, now);
}
