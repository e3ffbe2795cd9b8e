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
