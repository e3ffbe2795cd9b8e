// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The boundary: every packet entering an attached interface is parsed, tied
 * to a flow or to an organisation and its allowlist, and allowed (forwarded
 * in XDP where possible), flagged for inspection, or dropped with a reason.
 * Default deny: whatever a lookup does not find is dropped. */
#include "lib/parse.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/policy.h"
#include "lib/flow.h"
#include "lib/fwd.h"
#include "lib/icmp.h"
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
 * tag, the kernel's VLAN device does. */
static __always_inline int deliver(struct xdp_md *ctx, const struct pal_pkt *p,
				   const struct pal_config *cfg, __u32 org_slot, __u32 rule_slot,
				   __u8 verdict, __u8 fail_open, int may_fwd, __u64 now)
{
	int act = XDP_PASS;

	if (verdict == PAL_VERDICT_INSPECT) {
		act = pass_marked(ctx, fail_open);
		if (act < 0)
			return drop(ctx, cfg, p, PAL_DROP_INTERNAL, org_slot);
	}
	frag_remember(p, org_slot, rule_slot, verdict, now);
	count_org(org_slot, verdict, p->len);
	count_rule(rule_slot, p->len, now);
	if (cfg->capture_slot) /* before forward() rewrites the headers */
		capture(ctx, cfg, org_slot, rule_slot, verdict, 0);
	if (verdict == PAL_VERDICT_ALLOW)
		act = may_fwd ? forward(ctx, p, cfg) : XDP_PASS;
	return act;
}

static __always_inline int later_fragment(struct xdp_md *ctx, const struct pal_pkt *p,
					  const struct pal_config *cfg, __u64 now)
{
	struct pal_frag_key k = {};
	struct pal_frag *fr;

	frag_key_of(p, &k);
	fr = bpf_map_lookup_elem(&frags, &k);
	if (!fr || now - fr->created_ns > cfg->frag_timeout_s * NSEC)
		return drop(ctx, cfg, p, PAL_DROP_FRAGMENT, 0); /* not tied to an allowed flow */
	return deliver(ctx, p, cfg, fr->org_slot, fr->rule_slot, fr->verdict, 0, 0, now);
}

static __always_inline int same_ingress(const struct pal_flow *f, struct xdp_md *ctx,
					const struct pal_pkt *p)
{
	return f->orig_ifindex == ctx->ingress_ifindex && f->orig_vlan == p->vlan &&
	       f->orig_inner_vlan == p->inner_vlan;
}

/* Replies entering where organisations come in (organisation-to-organisation
 * sharing) must still carry a source registered on that ingress; otherwise
 * a host on one organisation's link could inject into another's flows by
 * spoofing the service side. */
static __always_inline int reply_source_ok(struct xdp_md *ctx, const struct pal_pkt *p, __u32 gen)
{
	__u32 ifindex = ctx->ingress_ifindex;
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

/* A packet whose 5-tuple has a flow. Returns -1 when the flow does not speak
 * for it (expired, reused, or an originator packet from another ingress):
 * then it is decided as a new packet. */
static __always_inline int flow_continue(struct xdp_md *ctx, const struct pal_pkt *p,
					 const struct pal_config *cfg, __u32 gen, struct pal_flow_key *k,
					 struct pal_flow *f, int src_lo, __u64 now)
{
	int dir = src_lo == !!(f->flags & PAL_FLOW_ORIG_LO) ? 0 : 1;

	if (now - f->last_seen_ns > flow_timeout_ns(f, p->proto, cfg) ||
	    (dir == 0 && flow_closing(f) && starts_flow(p))) {
		bpf_map_delete_elem(&flows, k);
		obs_count(PAL_OBS_FLOWS_EXPIRED);
		return -1;
	}
	if (dir == 0 && !same_ingress(f, ctx, p))
		return -1;
	if (dir == 1 && (same_ingress(f, ctx, p) || !reply_source_ok(ctx, p, gen)))
		return drop(ctx, cfg, p, PAL_DROP_SPOOFED_SOURCE, f->org_slot);
	flow_touch(f, p, dir, now);
	if (f->verdict == PAL_VERDICT_DROP)
		return drop(ctx, cfg, p, PAL_DROP_FLOW_DENIED, f->org_slot);
	return deliver(ctx, p, cfg, f->org_slot, f->rule_slot, f->verdict, f->flags & PAL_FLOW_FAIL_OPEN,
		       dir == 0 || !(f->orig_vlan | f->orig_inner_vlan), now);
}

static __always_inline int flow_start(struct xdp_md *ctx, const struct pal_pkt *p,
				      const struct pal_config *cfg, __u32 gen,
				      struct pal_flow_key *k, int src_lo, __u64 now)
{
	struct pal_ingress_key ik = {
		.ifindex = ctx->ingress_ifindex,
		.vlan = p->vlan,
		.inner_vlan = p->inner_vlan,
		.gen = gen,
	};
	struct pal_decision d = {};
	struct pal_ingress *ing;

	ing = bpf_map_lookup_elem(&ingresses, &ik);
	if (!ing)
		return drop(ctx, cfg, p, PAL_DROP_UNKNOWN_INGRESS, 0); /* not ours: drop */
	if (ing->kind != PAL_INGRESS_ORGS || !starts_flow(p))
		return drop(ctx, cfg, p, PAL_DROP_NO_FLOW, 0); /* unsolicited or reply-shaped */
	if (pal_decide(p, ing, gen, &d))
		return drop(ctx, cfg, p, PAL_DROP_INTERNAL, 0);
	if (d.verdict == PAL_VERDICT_DROP)
		return drop(ctx, cfg, p, d.reason, d.org_slot);

	struct pal_flow f = {
		.created_ns = now,
		.last_seen_ns = now,
		.packets = { 1, 0 },
		.bytes = { p->len, 0 },
		.org_slot = d.org_slot,
		.rule_slot = d.rule_slot,
		.orig_ifindex = ctx->ingress_ifindex,
		.orig_vlan = p->vlan,
		.orig_inner_vlan = p->inner_vlan,
		.verdict = d.verdict,
		.flags = (src_lo ? PAL_FLOW_ORIG_LO : 0) |
			 (d.rule_flags & PAL_RULE_FAIL_OPEN ? PAL_FLOW_FAIL_OPEN : 0),
		.gen = gen,
	};
	bpf_map_update_elem(&flows, k, &f, BPF_ANY);
	obs_count(PAL_OBS_FLOWS_CREATED); /* with live and removed counts: evictions */
	if (cfg->log_rate)
		log_flow_start(ctx, p, cfg, d.org_slot, d.rule_slot, d.verdict, now);
	return deliver(ctx, p, cfg, d.org_slot, d.rule_slot, d.verdict,
		       d.rule_flags & PAL_RULE_FAIL_OPEN, 1, now);
}

/* An ICMP error passes only as part of the allowed flow it quotes. */
static __always_inline int related_error(struct xdp_md *ctx, const struct pal_pkt *p,
					 const struct pal_config *cfg, __u32 gen, __u64 now)
{
	struct pal_flow_key k = {};
	struct pal_flow *f;

	if (icmp_quoted_flow(ctx, p, &k))
		return drop(ctx, cfg, p, PAL_DROP_NO_FLOW, 0);
	f = bpf_map_lookup_elem(&flows, &k);
	if (!f || f->verdict != PAL_VERDICT_ALLOW)
		return drop(ctx, cfg, p, PAL_DROP_NO_FLOW, 0); /* not about an allowed flow */
	if (!reply_source_ok(ctx, p, gen))
		return drop(ctx, cfg, p, PAL_DROP_SPOOFED_SOURCE, f->org_slot);
	return deliver(ctx, p, cfg, f->org_slot, f->rule_slot, PAL_VERDICT_ALLOW, 0,
		       !(f->orig_vlan | f->orig_inner_vlan), now);
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
	if (p.family == 0 || is_ndp(&p)) {
		count_org(0, PAL_VERDICT_PASS, p.len);
		return XDP_PASS;
	}
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
