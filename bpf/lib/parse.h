/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: header parsing. Every read goes through the cursor and its bounds
 * check; every loop has a fixed bound. A parse function returns 0 or the
 * drop reason, so anything not understood within bounds is dropped, counted. */
#ifndef PALISADE_PARSE_H
#define PALISADE_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "../abi.h"

#define PAL_VLAN_MAX_DEPTH 2
#define PAL_IPV6_MAX_EXT 6
#define PAL_IPV4_MAX_OPTS 10

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

struct hdr_cursor {
	void *pos;
	void *end;
};

enum pal_frag_kind {
	PAL_FRAG_NONE = 0,
	PAL_FRAG_FIRST = 1,
	PAL_FRAG_LATER = 2,
};

/* What the datapath needs to know about a packet, filled by parse_packet. */
struct pal_pkt {
	__u32 src[4];
	__u32 dst[4];
	__u32 frag_id;
	__u32 len;
	__u16 vlan;
	__u16 inner_vlan;
	__u16 sport;  /* host order; ICMP echo: the identifier */
	__u16 dport;
	__u16 eth_proto; /* network order: ETH_P_IP or ETH_P_IPV6 */
	__u8 family;  /* 4 or 6; 0 = link-local control traffic to pass */
	__u8 proto;   /* IPPROTO_* of the transport header */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 frag;    /* enum pal_frag_kind */
	__u8 l3_off;  /* offset of the IP header from data (for forwarding) */
	__u16 l4_off; /* offset of the transport header from data */
	__u8 ttl;     /* TTL or hop limit */
	__u8 frag_proto; /* the protocol every fragment names: IPv4's, or the IPv6 fragment header's next header */
	__u16 pad;
	__u32 ip_len; /* the IP datagram's length, header included */
	__u32 ifindex; /* where it came in */
};

/* ICMP and ICMPv6 share this layout for echo; linux/icmp.h drags in libc. */
struct icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

#define ICMP_ECHO 8
#define ICMPV6_ECHO_REQUEST 128

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

static __always_inline int vlan_proto(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

/* Ethernet and up to PAL_VLAN_MAX_DEPTH tags (802.1Q, 802.1ad). */
static __always_inline int parse_eth(struct hdr_cursor *c, struct pal_pkt *p, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vh;
	__u16 h_proto;

	if ((void *)(eth + 1) > c->end)
		return PAL_DROP_L2_TRUNCATED;
	c->pos = eth + 1;
	h_proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < PAL_VLAN_MAX_DEPTH; i++) {
		if (!vlan_proto(h_proto))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return PAL_DROP_L2_TRUNCATED;
		if (i == 0)
			p->vlan = bpf_ntohs(vh->tci) & 0x0fff;
		else
			p->inner_vlan = bpf_ntohs(vh->tci) & 0x0fff;
		h_proto = vh->encap_proto;
		c->pos = vh + 1;
	}
	if (vlan_proto(h_proto))
		return PAL_DROP_VLAN_DEPTH;
	*proto = h_proto;
	return 0;
}

/* Source-routing options would let a packet's real path differ from the
 * destination the policy checked, so they are refused; others are skipped. */
static __always_inline int scan_ipv4_options(struct hdr_cursor *c, void *opt_end)
{
	__u8 *o = c->pos;

#pragma unroll
	for (int i = 0; i < PAL_IPV4_MAX_OPTS; i++) {
		if ((void *)o >= opt_end)
			return 0;
		if ((void *)(o + 1) > c->end)
			return PAL_DROP_IPV4_MALFORMED;
		if (o[0] == IPOPT_EOL)
			return 0;
		if (o[0] == IPOPT_NOP) {
			o += 1;
			continue;
		}
		if ((void *)(o + 2) > c->end)
			return PAL_DROP_IPV4_MALFORMED;
		if (o[0] == IPOPT_LSRR || o[0] == IPOPT_SSRR)
			return PAL_DROP_IPV4_SOURCE_ROUTE;
		if (o[1] < 2 || (void *)o + o[1] > opt_end)
			return PAL_DROP_IPV4_MALFORMED;
		o += o[1];
	}
	return (void *)o >= opt_end ? 0 : PAL_DROP_IPV4_MALFORMED;
}

static __always_inline int parse_ipv4(struct hdr_cursor *c, struct pal_pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;
	__u16 off;
	int err;

	if ((void *)(ip + 1) > c->end)
		return PAL_DROP_IPV4_MALFORMED;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || hlen < sizeof(*ip) || tot < hlen ||
	    (void *)ip + tot > c->end)
		return PAL_DROP_IPV4_MALFORMED;
	c->pos = ip + 1;
	if (hlen > sizeof(*ip)) {
		err = scan_ipv4_options(c, (void *)ip + hlen);
		if (err)
			return err;
	}
	c->pos = (void *)ip + hlen;
	p->family = 4;
	p->proto = ip->protocol;
	p->frag_proto = ip->protocol;
	p->ttl = ip->ttl;
	p->ip_len = tot;
	p->src[0] = ip->saddr;
	p->dst[0] = ip->daddr;
	off = bpf_ntohs(ip->frag_off);
	if (off & IP_OFFSET) {
		/* Tiny offsets could overwrite the transport header of the
		 * first fragment (RFC 1858): never tied to a flow. */
		if ((off & IP_OFFSET) < 2)
			return PAL_DROP_FRAGMENT;
		p->frag = PAL_FRAG_LATER;
	} else if (off & IP_MF) {
		p->frag = PAL_FRAG_FIRST;
	}
	p->frag_id = bpf_ntohs(ip->id);
	return 0;
}

/* Walks hop-by-hop, routing, destination-options and fragment headers. */
static __always_inline int parse_ipv6(struct hdr_cursor *c, struct pal_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u8 next;

	if ((void *)(ip6 + 1) > c->end)
		return PAL_DROP_IPV6_MALFORMED;
	if (ip6->version != 6 ||
	    (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > c->end)
		return PAL_DROP_IPV6_MALFORMED;
	c->pos = ip6 + 1;
	p->family = 6;
	p->ttl = ip6->hop_limit;
	p->ip_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	next = ip6->nexthdr;

#pragma unroll
	for (int i = 0; i < PAL_IPV6_MAX_EXT; i++) {
		if (next == IPPROTO_HOPOPTS || next == IPPROTO_DSTOPTS) {
			struct ipv6_ext *e = c->pos;

			if ((void *)(e + 1) > c->end)
				return PAL_DROP_IPV6_MALFORMED;
			next = e->nexthdr;
			c->pos += (e->hdrlen + 1) * 8;
		} else if (next == IPPROTO_ROUTING) {
			struct ipv6_rt_hdr *rt = c->pos;

			if ((void *)(rt + 1) > c->end)
				return PAL_DROP_IPV6_MALFORMED;
			/* Segments left means the real destination is not
			 * the one in the header the policy would check. */
			if (rt->segments_left)
				return PAL_DROP_IPV6_EXT_HEADER;
			next = rt->nexthdr;
			c->pos += (rt->hdrlen + 1) * 8;
		} else if (next == IPPROTO_FRAGMENT) {
			struct ipv6_frag_hdr *fh = c->pos;
			__u16 off;

			if ((void *)(fh + 1) > c->end)
				return PAL_DROP_IPV6_MALFORMED;
			if (p->frag)
				return PAL_DROP_IPV6_EXT_HEADER; /* two fragment headers */
			off = bpf_ntohs(fh->frag_off);
			if (off >> 3) {
				if ((off >> 3) < 2)
					return PAL_DROP_FRAGMENT;
				p->frag = PAL_FRAG_LATER;
			} else if (off & 1) {
				p->frag = PAL_FRAG_FIRST;
			} else {
				p->frag = PAL_FRAG_NONE; /* atomic fragment */
			}
			p->frag_id = bpf_ntohl(fh->identification);
			p->frag_proto = fh->nexthdr;
			next = fh->nexthdr;
			c->pos = fh + 1;
			if (p->frag == PAL_FRAG_LATER)
				break;
		} else {
			break;
		}
		if (c->pos > c->end)
			return PAL_DROP_IPV6_MALFORMED;
	}
	if (p->frag != PAL_FRAG_LATER &&
	    (next == IPPROTO_HOPOPTS || next == IPPROTO_DSTOPTS ||
	     next == IPPROTO_ROUTING || next == IPPROTO_FRAGMENT))
		return PAL_DROP_IPV6_EXT_HEADER; /* chain longer than we walk */
	p->proto = next;
	return 0;
}

/* Transport header. Later fragments carry none: their ports stay zero. */
static __always_inline int parse_l4(struct hdr_cursor *c, struct pal_pkt *p, void *data)
{
	if (p->frag == PAL_FRAG_LATER)
		return 0;
	p->l4_off = c->pos - data;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end || th->doff < 5 ||
		    c->pos + th->doff * 4 > c->end)
			return PAL_DROP_L4_TRUNCATED;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
		return 0;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end || bpf_ntohs(uh->len) < sizeof(*uh))
			return PAL_DROP_L4_TRUNCATED;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		return 0;
	}
	if ((p->proto == IPPROTO_ICMP && p->family == 4) ||
	    (p->proto == IPPROTO_ICMPV6 && p->family == 6)) {
		struct icmp_echo_hdr *ih = c->pos;

		if ((void *)(ih + 1) > c->end)
			return PAL_DROP_L4_TRUNCATED;
		p->icmp_type = ih->type;
		p->sport = bpf_ntohs(ih->id);
		p->dport = p->sport;
		return 0;
	}
	return PAL_DROP_L4_UNSUPPORTED;
}

/* ARP for IPv4 over Ethernet, the only kind a gateway's links carry: the
 * sender's address in src[0], the target's in dst[0], the operation in
 * icmp_type. Anything else claiming to be ARP is refused. */
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

static __always_inline int parse_arp(struct hdr_cursor *c, struct pal_pkt *p)
{
	struct arp_eth_ipv4 *a = c->pos;
	__u16 op;

	if ((void *)(a + 1) > c->end)
		return PAL_DROP_LINK_CONTROL;
	op = bpf_ntohs(a->op);
	if (a->htype != bpf_htons(1) || a->ptype != bpf_htons(ETH_P_IP) || a->hlen != 6 ||
	    a->plen != 4 || (op != 1 && op != 2))
		return PAL_DROP_LINK_CONTROL;
	p->icmp_type = op;
	p->src[0] = a->spa;
	p->dst[0] = a->tpa;
	return 0;
}

static __always_inline int parse_packet(struct xdp_md *ctx, struct pal_pkt *p)
{
	struct hdr_cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	__u16 proto = 0;
	int err;

	p->len = c.end - c.pos;
	p->ifindex = ctx->ingress_ifindex;
	err = parse_eth(&c, p, &proto);
	if (err)
		return err;
	p->eth_proto = proto;
	p->l3_off = c.pos - (void *)(long)ctx->data;
	if (proto == bpf_htons(ETH_P_ARP))
		return parse_arp(&c, p); /* family 0: link control, see link.h */
	if (proto == bpf_htons(ETH_P_IP))
		err = parse_ipv4(&c, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		err = parse_ipv6(&c, p);
	else
		return PAL_DROP_L3_UNSUPPORTED;
	if (err)
		return err;
	return parse_l4(&c, p, (void *)(long)ctx->data);
}

#endif
