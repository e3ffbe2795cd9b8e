/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF-only: the maps of the boundary program. Policy tables carry a
 * generation in their key or index; everything else is generation-free. */
#ifndef PALISADE_MAPS_H
#define PALISADE_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../abi.h"

#ifndef PAL_FLOW_TABLE_SIZE
#define PAL_FLOW_TABLE_SIZE 262144 /* the loader may resize it before load */
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pal_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* sized for scale, filled on demand */
	__uint(max_entries, 2 * PAL_MAX_INGRESSES);
	__type(key, struct pal_ingress_key);
	__type(value, struct pal_ingress);
} ingresses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* sized for scale, filled on demand */
	__uint(max_entries, 2 * PAL_MAX_SOURCES);
	__type(key, struct pal_src_key);
	__type(value, __u32);
} sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PAL_MAX_ORGS);
	__type(key, __u32);
	__type(value, struct pal_org);
} orgs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PAL_MAX_RULESETS);
	__type(key, __u32);
	__type(value, struct pal_ruleset);
} rulesets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* sized for scale, filled on demand */
	__uint(max_entries, 2 * PAL_MAX_DESTS);
	__type(key, struct pal_dst_key);
	__type(value, struct pal_dst);
} dests SEC(".maps");

/* The loader sizes blocks to the policy (two halves of a power of two)
 * and sets pal_block_slots to one half: read-only, so the verifier and
 * the JIT see a constant. */
volatile const __u32 pal_block_slots = PAL_MAX_BLOCKS;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PAL_MAX_BLOCKS);
	__type(key, __u32);
	__type(value, struct pal_block_slot);
} blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PAL_MAX_BLOCK_PREFIXES);
	__type(key, __u32);
	__type(value, struct pal_block_prefix);
} block_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * PAL_MAX_PORT_RANGES);
	__type(key, __u32);
	__type(value, struct pal_port_range);
} port_ranges SEC(".maps");

/* Not an LRU: a full table never evicts one organisation's flow for
 * another's. Each organisation holds at most its quota (org_flows), idle
 * flows go when a packet finds them expired or the agent's sweep does. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PAL_FLOW_TABLE_SIZE);
	__type(key, struct pal_flow_key);
	__type(value, struct pal_flow);
} flows SEC(".maps");

/* Not an LRU either: one sender's first fragments cannot flush another
 * organisation's (org_agent's frag_quota each). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pal_frag_key);
	__type(value, struct pal_frag);
} frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_MAX_ORGS);
	__type(key, __u32);
	__type(value, struct pal_org_counts);
} org_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_MAX_ORGS);
	__type(key, __u32);
	__type(value, struct pal_org_agent);
} org_agent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_MAX_ORGS * PAL_REFUSAL__MAX);
	__type(key, __u32);
	__type(value, struct pal_counter);
} org_refusals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_MAX_ORGS);
	__type(key, __u32);
	__type(value, struct pal_rate);
} org_rates SEC(".maps");

/* Egress ports XDP may redirect to: the attached interfaces. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* Counters: per-CPU, no atomics on the hot path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_MAX_ORGS * PAL_VERDICT__MAX);
	__type(key, __u32);
	__type(value, struct pal_counter);
} org_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_MAX_RULE_SLOTS);
	__type(key, __u32);
	__type(value, struct pal_rule_counter);
} rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_DROP__MAX);
	__type(key, __u32);
	__type(value, struct pal_counter);
} drop_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_FWD__MAX);
	__type(key, __u32);
	__type(value, struct pal_counter);
} fwd_stats SEC(".maps");

/* org_facing[ifindex] != 0: organisations come in on this interface, so
 * every packet entering it, replies included, must carry a source address
 * registered there. Not generational: the loader sets an interface before
 * publishing a policy that uses it, and clears it only after. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PAL_MAX_IFINDEX);
	__type(key, __u32);
	__type(value, __u32);
} org_facing SEC(".maps");

/* A VLAN device's ifindex -> where its frames come in (see struct
 * pal_vlan_dev). Not generational: it follows the host's links. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pal_vlan_dev);
} vlan_devs SEC(".maps");

/* Observation: flow-log events, their per-CPU rate limit, and captures. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* ~16k events: seconds of the default limit */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_LOG__MAX);
	__type(key, __u32);
	__type(value, struct pal_log_bucket);
} log_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PAL_OBS__MAX);
	__type(key, __u32);
	__type(value, __u64);
} obs_stats SEC(".maps");

/* bpf_perf_event_output target (with the packet appended); the loader sizes it to the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} captures SEC(".maps");

#endif
