/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: what the datapath tells the agent besides counters: flow-log
 * events (flow starts, sampled refusals) through a ring buffer, and packets
 * of the organisation being captured through a perf buffer. Everything here
 * is called behind a test of a config word the caller already holds, so a
 * boundary with the flow log or captures off pays one branch for each. */
#ifndef PALISADE_OBSERVE_H
#define PALISADE_OBSERVE_H

#include "maps.h"
#include "parse.h"

#define PAL_NSEC 1000000000ULL

static __always_inline void obs_count(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&obs_stats, &stat);

	if (c)
		(*c)++;
}

/* Sampling (1 in sample) then a per-CPU budget of rate events a second, so
 * a flood costs the agent and the disk at most rate x CPUs lines a second.
 * Per-CPU state: no atomics, no contention between CPUs. */
static __always_inline int log_admit(__u32 bucket, __u32 sample, __u32 rate, __u64 now)
{
	struct pal_log_bucket *b = bpf_map_lookup_elem(&log_buckets, &bucket);

	if (!b)
		return 0;
	if (sample > 1 && b->seen++ % sample != 0) {
		obs_count(PAL_OBS_LOG_SAMPLED_OUT);
		return 0;
	}
	if (now - b->window_ns >= PAL_NSEC) {
		b->window_ns = now;
		b->count = 0;
	}
	if (b->count >= rate) {
		obs_count(PAL_OBS_LOG_RATE_LIMITED);
		return 0;
	}
	b->count++;
	return 1;
}

static __always_inline void log_event(struct xdp_md *ctx, const struct pal_pkt *p, __u8 type,
				      __u8 verdict, __u32 reason, __u32 org_slot, __u32 rule_slot,
				      __u64 now)
{
	struct pal_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		obs_count(PAL_OBS_LOG_LOST);
		return;
	}
	e->ts_ns = now;
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->proto = p->proto;
	e->family = p->family;
	e->type = type;
	e->verdict = verdict;
	e->org_slot = org_slot;
	e->rule_slot = rule_slot;
	e->reason = reason;
	e->len = p->len;
	e->ifindex = p->ifindex;
	e->vlan = p->vlan;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	obs_count(PAL_OBS_LOG_SENT);
}

static __always_inline void log_flow_start(struct xdp_md *ctx, const struct pal_pkt *p,
					   const struct pal_config *cfg, __u32 org_slot,
					   __u32 rule_slot, __u8 verdict, __u64 now)
{
	if (log_admit(PAL_LOG_FLOWS, 1, cfg->log_rate, now))
		log_event(ctx, p, PAL_EVENT_FLOW_START, verdict, 0, org_slot, rule_slot, now);
}

static __always_inline void log_drop(struct xdp_md *ctx, const struct pal_pkt *p,
				     const struct pal_config *cfg, __u32 reason, __u32 org_slot)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	if (log_admit(PAL_LOG_DROPS, cfg->log_drop_sample, cfg->log_rate, now))
		log_event(ctx, p, PAL_EVENT_DROP, PAL_VERDICT_DROP, reason, org_slot, 0, now);
}

/* Copies the packet's first snaplen bytes with its verdict to the agent, at
 * the point of decision: dropped packets are captured too. The perf buffer
 * is per CPU and lossy by design: when the agent falls behind, samples are
 * lost and counted, enforcement never waits. A global function, so its
 * record is on its own stack; verdict_reason is verdict << 16 | reason. */
__attribute__((noinline)) int pal_capture(struct xdp_md *ctx, __u32 snaplen, __u32 org_slot,
					  __u32 rule_slot, __u32 verdict_reason)
{
	struct pal_capture_meta m = {};
	__u64 len, snap = snaplen;

	if (!ctx)
		return -1;
	len = (__u64)(ctx->data_end - ctx->data);
	if (snap > len)
		snap = len;
	m.ts_ns = bpf_ktime_get_ns();
	m.ifindex = ctx->ingress_ifindex;
	m.org_slot = org_slot;
	m.rule_slot = rule_slot;
	m.pkt_len = len;
	m.cap_len = snap;
	m.verdict = verdict_reason >> 16;
	m.reason = verdict_reason & 0xffff;
	if (bpf_perf_event_output(ctx, &captures, BPF_F_CURRENT_CPU | (snap << 32), &m, sizeof(m)))
		obs_count(PAL_OBS_CAPTURE_LOST);
	else
		obs_count(PAL_OBS_CAPTURED);
	return 0;
}

static __always_inline void capture(struct xdp_md *ctx, const struct pal_config *cfg,
				    __u32 org_slot, __u32 rule_slot, __u8 verdict, __u32 reason)
{
	if (cfg->capture_slot == org_slot + 1)
		pal_capture(ctx, cfg->capture_snaplen, org_slot, rule_slot, (__u32)verdict << 16 | reason);
}

#endif
