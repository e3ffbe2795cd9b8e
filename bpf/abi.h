/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The contract between the XDP datapath and the Go agent: every struct and
 * enum here is shared. Go gets its mirror from `bpf2go -type`, never by hand,
 * so a change here is a change of pkg/datapath's generated types too. */
#ifndef PALISADE_ABI_H
#define PALISADE_ABI_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

/* Capacities. Policy tables hold two generations at once (the active one and
 * the one being built), so the array maps below are 2x these. */
#define PAL_MAX_LENS 24           /* distinct prefix lengths per ingress/ruleset and family */
#define PAL_MAX_ORGS 4096         /* organisations (slot 0 = unattributed traffic) */
#define PAL_MAX_RULESETS (PAL_MAX_ORGS + 1)
#define PAL_MAX_PORT_RANGES (1 << 20)
#define PAL_MAX_RULE_SLOTS (1 << 18)
#define PAL_MAX_INGRESSES 8192
#define PAL_MAX_IFINDEX 65536      /* org_facing covers ifindexes below this */
#define PAL_MAX_SOURCES (1 << 17)
#define PAL_MAX_DESTS (1 << 19)
#define PAL_MAX_BLOCKS (1 << 20)  /* slots per generation of the blocks table (see pal_block_slot) */
#define PAL_BLOCK_PROBES 8        /* a block lies at most this many slots from its home slot */
#define PAL_BLOCK4 24             /* IPv4 prefixes this long or longer are summarised per /24 */
#define PAL_BLOCK6 64             /* IPv6 ones per /64 */
#define PAL_MAX_BLOCK_PREFIXES (1 << 17) /* prefixes listed by crowded blocks, per generation */
#define PAL_BLOCK_LIST_MAX 16     /* a block crowded with more is probed length by length */
#define PAL_PORT_SEARCH_STEPS 21  /* ceil(log2(PAL_MAX_PORT_RANGES)) + 1 */
#define PAL_REMEDIATION_RULESET 0 /* ruleset of every suspended organisation */

enum pal_verdict {
	PAL_VERDICT_DROP = 0,
	PAL_VERDICT_ALLOW = 1,
	PAL_VERDICT_INSPECT = 2,
	PAL_VERDICT_PASS = 3, /* link-local control traffic (ARP, ND): not policy */
	PAL_VERDICT__MAX = 4,
};

/* Why a packet was dropped. Names for logs and metrics live in Go. */
enum pal_drop_reason {
	PAL_DROP_NONE = 0,
	PAL_DROP_L2_TRUNCATED = 1,
	PAL_DROP_VLAN_DEPTH = 2,
	PAL_DROP_L3_UNSUPPORTED = 3,
	PAL_DROP_IPV4_MALFORMED = 4,
	PAL_DROP_IPV4_SOURCE_ROUTE = 5,
	PAL_DROP_IPV6_MALFORMED = 6,
	PAL_DROP_IPV6_EXT_HEADER = 7,
	PAL_DROP_FRAGMENT = 8,
	PAL_DROP_L4_TRUNCATED = 9,
	PAL_DROP_L4_UNSUPPORTED = 10,
	PAL_DROP_UNKNOWN_INGRESS = 11,
	PAL_DROP_SPOOFED_SOURCE = 12,
	PAL_DROP_NO_RULE = 13,
	PAL_DROP_SUSPENDED = 14,
	PAL_DROP_NO_FLOW = 15,
	PAL_DROP_NO_POLICY = 16,
	PAL_DROP_FLOW_DENIED = 17,
	PAL_DROP_INTERNAL = 18,
	PAL_DROP_LINK_CONTROL = 19,       /* ARP, ND or MLD not for the gateway's own link */
	PAL_DROP_REVERSE_PATH = 20,       /* the route to the source does not lead back to the ingress */
	PAL_DROP_FLOW_INGRESS = 21,       /* a flow's own packet from another ingress than the flow's */
	PAL_DROP_ICMP_ERROR_MISMATCH = 22,/* an error not going back to the quoted packet's sender */
	PAL_DROP_ICMP_ERROR_SIZE = 23,    /* an error longer than RFC 1812 / RFC 4443 allow */
	PAL_DROP_FLOW_QUOTA = 24,         /* a new flow of an organisation holding its quota of flows */
	PAL_DROP_FLOW_TABLE_FULL = 25,    /* a new flow with no room left (quotas oversubscribed) */
	PAL_DROP_FRAGMENT_QUOTA = 26,     /* a first fragment of an organisation holding its fragment quota */
	PAL_DROP_RATE_LIMITED = 27,       /* over an organisation's rate limit (new flows, packets or bytes) */
	PAL_DROP__MAX = 28,
};

/* Where an allowed packet went: forwarded in XDP, or handed to the stack. */
enum pal_fwd_path {
	PAL_FWD_STACK = 0,
	PAL_FWD_XDP = 1,
	PAL_FWD__MAX = 2,
};

enum pal_org_state {
	PAL_ORG_ACTIVE = 0,
	PAL_ORG_SUSPENDED = 1,
};

enum pal_proto_class {
	PAL_CLASS_TCP = 0,
	PAL_CLASS_UDP = 1,
	PAL_CLASS_ICMP = 2, /* echo request; ICMPv6 for IPv6 */
	PAL_CLASS__MAX = 3,
};

enum pal_config_flags {
	PAL_CFG_FORWARD = 1 << 0, /* forward allowed packets in XDP (fib lookup + redirect) */
	PAL_CFG_RATE_LIMITS = 1 << 1, /* some organisation has a rate limit: look org_rates up */
};

/* Refusals counted per organisation (org_refusals[slot * PAL_REFUSAL__MAX
 * + reason - PAL_REFUSAL_FIRST]): the drop reasons of its budgets. */
#define PAL_REFUSAL_FIRST PAL_DROP_FLOW_QUOTA
#define PAL_REFUSAL__MAX (PAL_DROP__MAX - PAL_REFUSAL_FIRST)

enum pal_rate_kind {
	PAL_RATE_FLOWS = 0,   /* new flows */
	PAL_RATE_PACKETS = 1, /* packets it sends or receives, allowed ones */
	PAL_RATE_BYTES = 2,
	PAL_RATE__MAX = 3,
};

/* org_rates, by organisation slot: token buckets as GCRA (a theoretical
 * arrival time per limit, advanced by each packet's cost, refused when it
 * runs more than PAL_RATE_BURST_NS ahead of now: a second's worth of
 * burst). Exact across CPUs under the lock. */
#define PAL_RATE_BURST_NS 1000000000ULL
struct pal_rate {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat[PAL_RATE__MAX];     /* ns, bpf_ktime_get_coarse_ns */
	__u64 cost_ps[PAL_RATE__MAX]; /* picoseconds per flow, packet, byte; 0: no limit */
};

enum pal_ingress_kind {
	PAL_INGRESS_ORGS = 0,     /* organisations enter here: identify, then policy */
	PAL_INGRESS_SERVICES = 1, /* service side: only replies to known flows */
};

enum pal_flow_flags {
	PAL_FLOW_ORIG_LO = 1 << 0,     /* the originator is the key's lo endpoint */
	PAL_FLOW_SEEN_REPLY = 1 << 1,
	PAL_FLOW_FIN_ORIG = 1 << 2,
	PAL_FLOW_FIN_REPLY = 1 << 3,
	PAL_FLOW_RST = 1 << 4,
	PAL_FLOW_FAIL_OPEN = 1 << 5,   /* inspected flow passes if the inspector is gone */
};

enum pal_rule_flags {
	PAL_RULE_FAIL_OPEN = 1 << 0,
};

/* The mark an inspected packet carries to netfilter (XDP metadata -> skb->mark). */
#define PAL_MARK_INSPECT 0x50a10000
#define PAL_MARK_FAIL_OPEN 0x1

/* config[0]: read once per packet. active_gen selects the policy generation. */
struct pal_config {
	__u32 active_gen;   /* 0 or 1 */
	__u32 flags;        /* enum pal_config_flags */
	__u32 policy_loaded;/* 0 until the first policy is published: everything drops */
	__u32 tcp_syn_timeout_s;
	__u32 tcp_established_timeout_s;
	__u32 tcp_closing_timeout_s;
	__u32 udp_timeout_s;
	__u32 icmp_timeout_s;
	__u32 frag_timeout_s;
	/* Observation (flow log, captures). Each is read only where it is
	 * used, from the config already in hand: off costs one branch. */
	__u32 capture_slot;    /* org slot + 1 being captured; 0 = no capture */
	__u32 capture_snaplen; /* bytes of each captured packet */
	__u32 log_rate;        /* flow-log events per second per CPU; 0 = flow log off */
	__u32 log_drop_sample; /* log 1 in N refused packets; 0 = none */
};

/* ingresses: where a packet entered. vlan 0 = untagged; inner_vlan for QinQ. */
struct pal_ingress_key {
	__u32 ifindex;
	__u16 vlan;
	__u16 inner_vlan;
	__u32 gen;
};

/* The prefix lengths one owner uses (an ingress's sources, a ruleset's
 * destinations), longest first: the first hit is the longest match. The
 * first long4 (long6) of them are at least a block long, and the blocks
 * map says which of those occur in the packet's block: only they are
 * probed, then the shorter ones. An address outside every block costs one
 * probe plus one per short length, however many lengths the owner uses.
 * Owners with fewer than two long lengths have no blocks: probing their
 * one long length directly costs what the summary would. */
struct pal_lens {
	__u8 n4;
	__u8 n6;
	__u8 long4;
	__u8 long6;
	__u8 lens4[PAL_MAX_LENS];
	__u8 lens6[PAL_MAX_LENS];
};

enum pal_block_kind {
	PAL_BLOCK_SOURCES = 0,
	PAL_BLOCK_DESTS = 1,
};

/* blocks: (owner, block of PAL_BLOCK4/PAL_BLOCK6 bits) -> struct pal_block. */
struct pal_block_key {
	__u32 owner; /* ingress id (sources) or ruleset (destinations) */
	__u8 gen;
	__u8 family;
	__u8 kind; /* enum pal_block_kind */
	__u8 pad;
	__u32 addr[2]; /* network order, masked to the block; IPv4 in addr[0] */
};

struct pal_ingress {
	__u32 id;
	__u8 kind; /* enum pal_ingress_kind */
	__u8 pad[3];
	struct pal_lens lens; /* of the source prefixes registered on this ingress */
};

/* sources: (ingress, source prefix) -> organisation index of that generation. */
struct pal_src_key {
	__u32 ingress;
	__u8 gen;
	__u8 family; /* 4 or 6 */
	__u8 plen;
	__u8 pad;
	__u32 addr[4]; /* network order, masked to plen; IPv4 in addr[0] */
};

/* orgs: indexed gen * PAL_MAX_ORGS + org index. */
struct pal_org {
	__u32 slot;    /* counter slot, stable across applies and restarts */
	__u32 ruleset; /* its own ruleset; PAL_REMEDIATION_RULESET when suspended */
	__u32 state;   /* enum pal_org_state */
	__u32 flow_quota; /* flows it may hold at once; 0: no limit */
};

/* org_counts, by organisation slot: flow-table and fragment-table entries
 * the datapath created and removed (atomic adds from every CPU). The agent
 * counts what it removes in org_agent, a map only it writes; an
 * organisation holds created - removed - swept entries of each table, in
 * wrapping arithmetic. */
struct pal_org_counts {
	__u64 flows_created;
	__u64 flows_removed;
	__u64 frags_created;
	__u64 frags_removed;
};

struct pal_org_agent {
	__u64 flows_swept;
	__u64 frags_swept;
	__u32 frag_quota; /* fragment-table entries it may hold; 0: none */
	__u32 pad;
};

/* rulesets: indexed gen * PAL_MAX_RULESETS + ruleset. */
struct pal_ruleset {
	struct pal_lens lens; /* of its destination prefixes */
};

struct pal_dst_key {
	__u32 ruleset;
	__u8 gen;
	__u8 family;
	__u8 plen;
	__u8 pad;
	__u32 addr[4];
};

/* port_ranges: indexed gen * PAL_MAX_PORT_RANGES + off + i. */
struct pal_port_range {
	__u16 lo;
	__u16 hi;
	__u32 rule_slot;
	__u8 verdict; /* PAL_VERDICT_ALLOW or PAL_VERDICT_INSPECT */
	__u8 flags;   /* enum pal_rule_flags */
	__u16 pad;
};

/* A slice of the port_ranges array: sorted, disjoint ranges; or, off
 * PAL_PORT_INLINE, the one range its pal_dst carries. */
struct pal_port_list {
	__u32 off;
	__u32 cnt;
};

#define PAL_PORT_INLINE 0xffffffff

/* dests value: what a destination prefix allows, per protocol class. The
 * compiler folds every shorter covering prefix of the same ruleset into it.
 * The first class allowed a single range has it inline in one (its list's
 * off is PAL_PORT_INLINE): most destinations are one service on one port,
 * and their decision then reads no port_ranges entry, a cache miss at
 * large policies. */
struct pal_dst {
	struct pal_port_list lists[PAL_CLASS__MAX];
	struct pal_port_range one;
};

/* blocks value. When the block holds a single long prefix of the owner,
 * the summary carries that prefix and its answer, so the common case of a
 * prefix alone in its /24 (/64) costs one lookup, not two. A block several
 * share lists them, longest first, in block_prefixes: one array slice read
 * in order, where probing each length would cost a hash lookup, most of
 * them missing the cache on a busy gateway. Blocks beyond PAL_BLOCK_LIST_MAX
 * prefixes, or beyond the array, list none (list_cnt 0) and are probed. */
struct pal_block {
	__u32 lens;         /* bit i: the owner's i-th length occurs in the block */
	__u8 only_plen;     /* the one prefix's length; 0: several share the block */
	__u8 list_cnt;      /* several: how many block_prefixes lists, 0 none */
	__u8 pad[2];
	__u32 only_addr[4]; /* the one prefix, masked */
	__u32 org;          /* its answer, sources: organisation index */
	struct pal_dst dst; /* its answer, destinations */
	__u32 list_off;     /* the list: block_prefixes[gen * PAL_MAX_BLOCK_PREFIXES + list_off ...] */
};

/* blocks: an open-addressing table in an array, so that finding a block
 * costs one cache miss, not a hash map's two (bucket, then entry). Each
 * generation has its half of pal_block_slots slots (a power of two the
 * loader sets with the array's size): gen * pal_block_slots + (home + i)
 * mod pal_block_slots, home = pal_block_home(key), i < PAL_BLOCK_PROBES.
 * The loader keeps it at most half full and places each key within
 * PAL_BLOCK_PROBES of its home (Robin Hood), growing the table when one
 * does not fit; a lookup stops at the first empty slot (key.family 0). */
struct pal_block_slot {
	struct pal_block_key key;
	struct pal_block block;
};

/* The hash of a block key, the same in Go (pkg/datapath blockHome): three
 * rounds of murmur3's finaliser over owner and kind and family, then the
 * two address words. gen is not hashed: it picks the half. */
static inline __u32 pal_fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	return h ^ (h >> 16);
}

static inline __u32 pal_block_home(const struct pal_block_key *k)
{
	__u32 h = pal_fmix32(k->owner ^ ((__u32)k->kind << 16) ^ ((__u32)k->family << 24));

	h = pal_fmix32(h ^ k->addr[0]);
	return pal_fmix32(h ^ k->addr[1]);
}

/* block_prefixes: one long prefix of a crowded block, and its answer. */
struct pal_block_prefix {
	__u32 addr[4]; /* network order, masked to plen */
	__u8 plen;
	__u8 pad[3];
	__u32 org;          /* sources: organisation index */
	struct pal_dst dst; /* destinations */
};

/* vlan_devs: a VLAN device's ifindex -> the attached interface and tags its
 * frames carry there, so that a route through the VLAN device is known to
 * lead back to that ingress. The agent fills it from the kernel's VLANs. */
struct pal_vlan_dev {
	__u32 parent;
	__u16 vlan;
	__u16 inner_vlan;
};

/* flows: one entry per connection, keyed by its endpoints in canonical order
 * (lo = the smaller address, then port), so both directions find it. */
struct pal_flow_key {
	__u32 lo_addr[4];
	__u32 hi_addr[4];
	__u16 lo_port;
	__u16 hi_port;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct pal_flow {
	__u64 created_ns;   /* bpf_ktime_get_coarse_ns */
	__u64 last_seen_ns;
	__u64 packets[2];   /* [0] originator -> responder, [1] replies */
	__u64 bytes[2];
	__u32 org_slot;
	__u32 rule_slot;
	__u32 orig_ifindex;
	__u16 orig_vlan;
	__u16 orig_inner_vlan;
	__u8 verdict;       /* enum pal_verdict; the inspector rewrites INSPECT */
	__u8 flags;         /* enum pal_flow_flags */
	__u16 pad;
	__u32 gen;          /* policy generation that decided it */
	/* Where replies come in, recorded by the first reply whose source the
	 * routing table leads back there; 0 until then. */
	__u32 reply_ifindex;
	__u16 reply_vlan;
	__u16 reply_inner_vlan;
};

/* frags: non-first fragments follow the verdict of their first fragment,
 * and only on the ingress it came in on. proto is the IP header's protocol
 * (IPv6: the fragment header's next header), the same for every fragment. */
struct pal_frag_key {
	__u32 src[4];
	__u32 dst[4];
	__u32 id;
	__u8 proto;
	__u8 family;
	__u16 vlan;
	__u32 ifindex;
	__u16 inner_vlan;
	__u16 pad;
};

struct pal_frag {
	__u64 created_ns;
	__u32 org_slot;
	__u32 rule_slot;
	__u8 verdict;
	__u8 pad[7];
};

struct pal_counter {
	__u64 packets;
	__u64 bytes;
};

struct pal_rule_counter {
	__u64 packets;
	__u64 bytes;
	__u64 last_hit_ns;
};

/* Flow-log events, sent to userspace through the events ring buffer. */
enum pal_event_type {
	PAL_EVENT_FLOW_START = 1,
	PAL_EVENT_DROP = 2,
};

struct pal_event {
	__u64 ts_ns;     /* bpf_ktime_get_coarse_ns; a flow start's is its created_ns */
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 type;       /* enum pal_event_type */
	__u8 verdict;
	__u32 org_slot;
	__u32 rule_slot;
	__u32 reason;    /* enum pal_drop_reason */
	__u32 len;
	__u32 ifindex;
	__u16 vlan;
	__u16 pad;
};

/* Buckets of the per-CPU flow-log rate limit. */
enum pal_log_bucket_id {
	PAL_LOG_FLOWS = 0,
	PAL_LOG_DROPS = 1,
	PAL_LOG__MAX = 2,
};

struct pal_log_bucket {
	__u64 window_ns; /* start of the current one-second window */
	__u32 count;     /* events let through in it */
	__u32 seen;      /* candidates seen, for 1-in-N sampling */
};

/* Observation counters (per-CPU __u64 each). */
enum pal_obs_stat {
	PAL_OBS_FLOWS_CREATED = 0,
	PAL_OBS_FLOWS_EXPIRED = 1,  /* removed by the datapath when reused after idling out */
	PAL_OBS_FLOWS_SWEPT = 2,    /* removed by the agent's sweep (userspace adds to CPU 0) */
	PAL_OBS_LOG_SENT = 3,
	PAL_OBS_LOG_RATE_LIMITED = 4,
	PAL_OBS_LOG_SAMPLED_OUT = 5,
	PAL_OBS_LOG_LOST = 6,       /* ring buffer full */
	PAL_OBS_CAPTURED = 7,
	PAL_OBS_CAPTURE_LOST = 8,   /* perf buffer full */
	PAL_OBS__MAX = 9,
};

/* What precedes each captured packet's bytes in the captures perf buffer. */
struct pal_capture_meta {
	__u64 ts_ns;   /* bpf_ktime_get_ns */
	__u32 ifindex;
	__u32 org_slot;
	__u32 rule_slot;
	__u32 pkt_len; /* the whole frame */
	__u32 cap_len; /* bytes of it that follow */
	__u8 verdict;
	__u8 pad;
	__u16 reason;
};

/* Not used by the datapath: it only puts every enum above into BTF, so that
 * bpf2go can hand their values to Go. */
struct pal_abi_enums {
	enum pal_verdict verdict;
	enum pal_drop_reason drop_reason;
	enum pal_org_state org_state;
	enum pal_proto_class proto_class;
	enum pal_config_flags config_flags;
	enum pal_ingress_kind ingress_kind;
	enum pal_block_kind block_kind;
	enum pal_flow_flags flow_flags;
	enum pal_rule_flags rule_flags;
	enum pal_fwd_path fwd_path;
	enum pal_event_type event_type;
	enum pal_log_bucket_id log_bucket;
	enum pal_obs_stat obs_stat;
	struct pal_capture_meta capture_meta; /* these two only ever live in buffers or */
	struct pal_event event;               /* on the stack: no BTF of their own */
};

#endif
