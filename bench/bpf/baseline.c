// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Baselines the benchmark measures Palisade against. They do nothing on
 * purpose: whatever they cost is the price of running any XDP program at
 * all (BPF_PROG_RUN or driver overhead), not of a firewall. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The empty program: the denominator of every program-cost ratio, and the
 * program that lets the kernel-stack engines receive live frames on a veth. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The fastest possible firewall: refuses everything, looks at nothing. */
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* Reads the destination address, then drops: what merely looking at a
 * packet costs on this path (its bytes must reach the receiving CPU). */
SEC("xdp")
int xdp_read_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	volatile __u32 dst;

	if (data + 34 > end)
		return XDP_ABORTED;
	dst = *(__u32 *)(data + 30);
	(void)dst;
	return XDP_DROP;
}

/* Reference points for the flow-table hit (part 1): what keeping flows in
 * a BPF hash table costs at the least, and what a per-CPU array probe
 * would. Both parse Ethernet, IPv4 or IPv6 and TCP, build Palisade's flow
 * key (bpf/abi.h), find the entry (made by the first run) and count the
 * packet in it; nothing else of Palisade's (no ordering of the endpoints,
 * no expiry, direction, ingress, verdict or counters). */
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "../../bpf/abi.h"

#define REF_ENTRIES 4096

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, REF_ENTRIES);
	__type(key, struct pal_flow_key);
	__type(value, struct pal_flow);
} ref_flows SEC(".maps");

struct ref_slot {
	struct pal_flow_key key;
	struct pal_flow flow;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REF_ENTRIES);
	__type(key, __u32);
	__type(value, struct ref_slot);
} ref_slots SEC(".maps");

static __always_inline int ref_key(struct xdp_md *ctx, struct pal_flow_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *tcp;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return -1;
		k->lo_addr[0] = ip->saddr;
		k->hi_addr[0] = ip->daddr;
		k->family = 4;
		tcp = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		__builtin_memcpy(k->lo_addr, &ip6->saddr, 16);
		__builtin_memcpy(k->hi_addr, &ip6->daddr, 16);
		k->family = 6;
		tcp = (void *)(ip6 + 1);
	} else {
		return -1;
	}
	if ((void *)(tcp + 1) > end)
		return -1;
	k->lo_port = tcp->source;
	k->hi_port = tcp->dest;
	k->proto = 6; /* IPPROTO_TCP: linux/in.h drags in libc */
	return 0;
}

/* One lookup in a hash table shaped like the flow table. */
SEC("xdp")
int ref_hash_lookup(struct xdp_md *ctx)
{
	struct pal_flow_key k = {};
	struct pal_flow *f;

	if (ref_key(ctx, &k))
		return XDP_ABORTED;
	f = bpf_map_lookup_elem(&ref_flows, &k);
	if (!f) {
		struct pal_flow nf = {};

		bpf_map_update_elem(&ref_flows, &k, &nf, BPF_ANY);
		return XDP_PASS;
	}
	f->packets[0]++;
	f->bytes[0] += ctx->data_end - ctx->data;
	return XDP_PASS;
}

/* One probe of a per-CPU array (a lookup the verifier inlines), the slot
 * chosen by a multiplicative hash of the key, the key compared whole. */
SEC("xdp")
int ref_array_probe(struct xdp_md *ctx)
{
	struct pal_flow_key k = {};
	struct ref_slot *s;
	__u64 *w = (__u64 *)&k, *sw, h = 0;
	__u32 idx;

	if (ref_key(ctx, &k))
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < 5; i++)
		h = (h ^ w[i]) * 0x9E3779B97F4A7C15ULL;
	idx = (h >> 32) % REF_ENTRIES;
	s = bpf_map_lookup_elem(&ref_slots, &idx);
	if (!s)
		return XDP_ABORTED;
	sw = (__u64 *)&s->key;
	if ((sw[0] ^ w[0]) | (sw[1] ^ w[1]) | (sw[2] ^ w[2]) | (sw[3] ^ w[3]) | (sw[4] ^ w[4])) {
		s->key = k;
		__builtin_memset(&s->flow, 0, sizeof(s->flow));
		return XDP_PASS;
	}
	s->flow.packets[0]++;
	s->flow.bytes[0] += ctx->data_end - ctx->data;
	return XDP_PASS;
}

/* Program cost over a spread of flows (part 3): each run writes the next of
 * many prepared frames over the packet, then tail-calls the program under
 * test (slot 0 of spread_target). Repeating one frame keeps every map entry
 * it touches in the cache; spreading the runs over thousands of flows and
 * rules makes each lookup find its bucket and entry as a busy gateway does,
 * mostly not cached. The same driver in front of the empty program is the
 * denominator. Runs on one CPU per call, so its globals need no atomics. */
#define SPREAD_FRAME_LEN 96
#define SPREAD_MAX_FRAMES 4096

struct spread_frame {
	__u8 bytes[SPREAD_FRAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPREAD_MAX_FRAMES);
	__type(key, __u32);
	__type(value, struct spread_frame);
} spread_frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} spread_target SEC(".maps");

__u32 spread_nframes = 1; /* frames in use, set by Go before a call */
__u32 spread_next;        /* the frame the next run writes */

SEC("xdp")
int xdp_spread(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 i = spread_next;
	struct spread_frame *f;

	if (data + SPREAD_FRAME_LEN > end)
		return XDP_ABORTED;
	spread_next = i + 1 >= spread_nframes ? 0 : i + 1;
	f = bpf_map_lookup_elem(&spread_frames, &i);
	if (!f)
		return XDP_ABORTED;
	__builtin_memcpy(data, f->bytes, SPREAD_FRAME_LEN);
	bpf_tail_call(ctx, &spread_target, 0);
	return XDP_ABORTED; /* no program in the slot */
}
