// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Traffic generator, run with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES
 * (as xdp-trafficgen does): each run writes the next prepared frame over the
 * live frame and transmits it (XDP_TX) out of the veth named in the run's
 * context, into the engine under test on its peer. Cycling through many
 * frames spreads the load over many rules, so caches do not flatter large
 * rule sets. Runs on one CPU only, so its globals need no atomics. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define GEN_FRAME_LEN 60 /* 64 bytes on the wire with the FCS */
#define GEN_MAX_FRAMES 4096

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct gen_frame {
	__u8 bytes[GEN_FRAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEN_MAX_FRAMES);
	__type(key, __u32);
	__type(value, struct gen_frame);
} frames SEC(".maps");

__u32 nframes = 1;  /* frames in use, set by Go before a burst */
__u32 next_frame;   /* the frame the next run sends */
__u64 sent;         /* frames handed to XDP_TX, for the accounting check */

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 i = next_frame;
	struct gen_frame *f;

	if (data + GEN_FRAME_LEN > end)
		return XDP_ABORTED;
	next_frame = i + 1 >= nframes ? 0 : i + 1;
	f = bpf_map_lookup_elem(&frames, &i);
	if (!f)
		return XDP_ABORTED;
	__builtin_memcpy(data, f->bytes, GEN_FRAME_LEN);
	sent++;
	return XDP_TX;
}
