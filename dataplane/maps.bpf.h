/* The data plane's maps (BPF side); their keys and values are declared in
 * dataplane_maps.h, shared with the loader. */
#ifndef DVIPA_DATAPLANE_MAPS_BPF_H
#define DVIPA_DATAPLANE_MAPS_BPF_H

#include "dataplane/dataplane_maps.h"

/* This node: id, plex addresses, MSS clamps. One entry, index 0 (named node_config: vmlinux.h has a
 * type `config`). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dp_config);
} node_config SEC(".maps");

/* enum dp_counter -> packets, per CPU (summed by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Connections through this distributor -> their target. LRU: idle
 * connections age out when the table is full, so no timer is needed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DP_FLOWS_DEFAULT);
	__type(key, struct dp_flow_key);
	__type(value, struct dp_flow);
} flows SEC(".maps");

/* TIMEDAFFINITY: a client of a service -> its target, open connections,
 * when the last one ended. LRU like `flows` (the loader gives it the flow
 * table's size): an expired entry is simply rewritten by the client's next
 * SYN or evicted, so no timer is needed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DP_FLOWS_DEFAULT);
	__type(key, struct dp_affinity_key);
	__type(value, struct dp_affinity);
} affinity SEC(".maps");

/* Distributed DVIPA:port -> targets and dispatch table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DP_SERVICES_MAX);
	__type(key, struct dp_service_key);
	__type(value, struct dp_service);
} dist_services SEC(".maps");

/* Plex addresses of the current members: the only outer sources whose
 * encapsulated packets are decapsulated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DP_MEMBERS_MAX);
	__type(key, struct dp_addr_key);
	__type(value, struct dp_member);
} members SEC(".maps");

/* DVIPAs this node serves as a target (held on lo). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DP_DVIPAS_MAX);
	__type(key, struct dp_addr_key);
	__type(value, struct dp_target_dvipa);
} target_dvipas SEC(".maps");

/* SYSPLEXPORTS: DVIPA and port block -> the node that owns the block. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DP_PORT_BLOCKS_MAX);
	__type(key, struct dp_port_block_key);
	__type(value, struct dp_target);
} port_blocks SEC(".maps");

static __always_inline void count(__u32 counter)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &counter);

	if (v)
		*v += 1;
}

#endif
