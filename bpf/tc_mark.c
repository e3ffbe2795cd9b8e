// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tcx ingress on every attached interface: an inspected packet leaves XDP
 * with PAL_MARK_INSPECT in 4 bytes of metadata, which netfilter cannot see.
 * Copying it into skb->mark lets an iptables mark match send the packet to
 * NFQUEUE. Runs first on ingress (tcx head), before anything that could move
 * the packet's headers and lose the metadata, and never decides: TCX_NEXT. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifndef TCX_NEXT
#define TCX_NEXT -1
#endif

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	__u32 *meta = (void *)(long)skb->data_meta;
	__u32 mark;

	if ((void *)(meta + 1) > (void *)(long)skb->data)
		return TCX_NEXT; /* no metadata: not an inspected packet */
	mark = *meta;
	/* Only our own mark: metadata written by any other XDP program must
	 * not be able to steer packets into (or around) the inspector. */
	if ((mark & ~(__u32)PAL_MARK_FAIL_OPEN) == PAL_MARK_INSPECT)
		skb->mark = mark;
	return TCX_NEXT;
}
