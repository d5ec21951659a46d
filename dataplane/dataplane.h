/* The data plane's loader: loads the BPF programs of dataplane.bpf.c,
 * attaches them to INTERFACE (tc clsact, ingress and egress) and programs
 * their maps. See docs/dataplane.md.
 *
 * Every function returns 0 or -errno and prints nothing; libbpf's own
 * messages go where the caller sent them with libbpf_set_print(). */
#ifndef DVIPA_DATAPLANE_DATAPLANE_H
#define DVIPA_DATAPLANE_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "dataplane/dataplane_maps.h"

struct dp;

struct dp_open_opts {
	/* Pin every map in this directory (on a bpffs, created if missing)
	 * and reuse the maps already pinned there: flows, counters and
	 * tables then survive a restart of their user. NULL: no pinning. */
	const char *pin_dir;
	/* Remove what is pinned in pin_dir first (start from empty maps). */
	bool reset_pins;
	/* Pin the flow table alone: the connections survive a restart, every
	 * other table starts empty and is filled again by its user. */
	bool pin_flows_only;
	/* Size of the flow table; 0 = DP_FLOWS_DEFAULT. */
	uint32_t flow_max;
	/* Size of the affinity table (TIMEDAFFINITY); 0 = the flow table's. */
	uint32_t affinity_max;
};

/* Opens and loads the programs and maps. opts may be NULL. On failure *ret
 * is untouched; -EINVAL from a pin_dir whose maps have another layout. */
int dp_open(const struct dp_open_opts *opts, struct dp **ret);
/* Removes what dp_open() pinned in dir (ENOENT is no error), and dir. */
int dp_unpin(const char *dir);
/* Frees the loader's side. The programs stay attached if they were: a
 * restarted user finds them and their pinned maps (see dp_attach()). */
void dp_free(struct dp *dp);

/* Attaches ingress and egress to ifindex (creating the clsact qdisc if
 * needed), replacing whatever a previous loader left at the same tc handle
 * and priority. -EBUSY if this dp is attached elsewhere. */
int dp_attach(struct dp *dp, int ifindex);
/* Detaches this dp's programs; removes the clsact qdisc if dp_attach()
 * created it. */
int dp_detach(struct dp *dp);
/* Removes dvipa's tc programs from ifindex, whoever attached them (a
 * crashed daemon, a test). 0 also when there were none. */
int dp_detach_ifindex(int ifindex);

/* This node: its id and plex addresses (either may be NULL: no encapsulation
 * or decapsulation in that family). */
int dp_set_node(struct dp *dp, uint32_t node_id, const struct ipaddr *plex_v4,
                const struct ipaddr *plex_v6);
/* MSS clamps for SYNs leaving from target DVIPAs; 0 = no clamp. */
int dp_set_mss(struct dp *dp, uint16_t mss_v4, uint16_t mss_v6);
/* The largest MSS whose segments fit an MTU once encapsulated in the same
 * family (IPv4: MTU - 60, IPv6: MTU - 100); 0 if the MTU is too small. */
uint16_t dp_mss_for_mtu(int family, unsigned mtu);

/* Plex members: the outer sources accepted for decapsulation. */
int dp_member_add(struct dp *dp, const struct ipaddr *plex_addr, uint32_t node_id);
int dp_member_remove(struct dp *dp, const struct ipaddr *plex_addr);

/* A target of a distributed service. */
struct dp_service_target {
	uint32_t node_id;
	struct ipaddr plex_addr; /* same family as the DVIPA */
	bool is_local;           /* this node: delivered, not encapsulated */
	/* On INTERFACE's link with a known MAC: packets go to mac unchanged
	 * (TTL lowered) instead of encapsulated. */
	bool direct;
	uint8_t mac[6];
	/* In a service: ready, not quiesced and healthy, so it keeps the
	 * clients that have an affinity to it (TIMEDAFFINITY), even without
	 * slots. Only this says so: a target with slots but not ready (an
	 * unhealthy one keeps a slot to be probed) does not keep them. */
	bool ready;
};

/* Sets (adds or replaces) the TCP service dvipa:port: its targets and its
 * dispatch table, slots[i] an index into targets (a weighted method repeats
 * an index). slots NULL: each target once, in order. n_slots 0 with slots
 * non-NULL: no target ready (SYNs go to the local stack). The round-robin
 * position and the affinity time survive a replace. -EINVAL on bad sizes
 * or indexes, -EAFNOSUPPORT on a target of the other family. */
int dp_service_set(struct dp *dp, const struct ipaddr *dvipa, uint16_t port,
                   const struct dp_service_target *targets, size_t n_targets, const uint8_t *slots,
                   size_t n_slots);
int dp_service_remove(struct dp *dp, const struct ipaddr *dvipa, uint16_t port);
/* TIMEDAFFINITY of the service dvipa:port, in seconds (0: none): a client
 * address keeps the target its connections went to while one is open and
 * for that long after the last one ended, as long as the target is ready.
 * -ENOENT without such a service. Entries made under an earlier value stay
 * (see dp_affinity_clear()). */
/* A service's DP_SERVICE_HOLD_UNKNOWN (dp_service_set() keeps it): -ENOENT
 * without the service. */
int dp_service_set_flags(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, uint32_t flags);
/* The MOVING entry of a DVIPA (port 0, DP_SERVICE_MOVING): packets to ports
 * that no service names follow their flows (connections an earlier holder
 * keeps), the rest go to the stack; with hold (a distributor that handed the
 * DVIPA over), the rest are dropped instead (DP_SERVICE_HOLD_UNKNOWN): they
 * are the new owner's. Setting it again changes hold. */
int dp_moving_set(struct dp *dp, const struct ipaddr *dvipa, bool hold);
int dp_moving_remove(struct dp *dp, const struct ipaddr *dvipa);
int dp_service_set_affinity(struct dp *dp, const struct ipaddr *dvipa, uint16_t port,
                            uint32_t seconds);

/* DVIPAs this node serves as a target: decapsulated (from members only),
 * their SYNs MSS-clamped. */
int dp_target_dvipa_add(struct dp *dp, const struct ipaddr *dvipa);
int dp_target_dvipa_remove(struct dp *dp, const struct ipaddr *dvipa);

/* SYSPLEXPORTS: TCP ports (block << DP_PORT_BLOCK_SHIFT) .. + 63 of dvipa
 * belong to target. */
int dp_port_block_set(struct dp *dp, const struct ipaddr *dvipa, uint16_t block,
                      const struct dp_service_target *target);
int dp_port_block_remove(struct dp *dp, const struct ipaddr *dvipa, uint16_t block);

/* Sums the per-CPU counters into out[0 .. n-1], n <= DP_CNT_MAX. */
int dp_counters_read(struct dp *dp, uint64_t *out, size_t n);
/* "encap", "drop_not_member"...; NULL past DP_CNT_MAX. */
const char *dp_counter_name(unsigned counter);
/* One line of help for a counter; NULL past DP_CNT_MAX. */
const char *dp_counter_help(unsigned counter);

/* A connection known to the distributor. */
struct dp_flow_info {
	struct ipaddr client;
	struct ipaddr dvipa;
	uint16_t client_port;
	uint16_t dvipa_port;
	struct dp_service_target target;
	bool closing;     /* FIN or RST seen */
	bool established; /* the client completed the handshake (its first ACK) */
	bool syn_retrans; /* the client sent its SYN again before that */
	/* Counted in its client's affinity entry (TIMEDAFFINITY) until it
	 * closes: the entry whose gen is affinity_gen (dp_affinity_info). */
	bool affinity;
	uint32_t affinity_gen;
	uint64_t created_ns; /* CLOCK_MONOTONIC */
};

/* Calls fn for each flow (a snapshot that packets may change meanwhile);
 * stops at fn's first non-zero return and returns it. */
int dp_flow_foreach(struct dp *dp, int (*fn)(const struct dp_flow_info *flow, void *data),
                    void *data);
/* Adds or replaces a flow (rebuilding the table from targets' reports). */
int dp_flow_set(struct dp *dp, const struct dp_flow_info *flow);
/* Deletes the flow of flow's 5-tuple (-ENOENT: none). */
int dp_flow_delete(struct dp *dp, const struct dp_flow_info *flow);
/* Moves the flows of node from_node in to's family to *to (call once per
 * family), or deletes all of from_node's flows when to is NULL; *ret_n (may
 * be NULL) = flows changed. Only while the programs are detached (no
 * loader has them on an interface): a flow is rewritten whole, and a flag
 * the program set meanwhile would be lost (docs/dataplane.md). -EBUSY when
 * this dp is attached. A deleted flow still counted in an affinity entry
 * leaves its count, as its close would have. */
int dp_flows_retarget(struct dp *dp, uint32_t from_node, const struct dp_service_target *to,
                      size_t *ret_n);

/* A client's affinity to a target of a service (TIMEDAFFINITY). */
struct dp_affinity_info {
	struct ipaddr client;
	struct ipaddr dvipa;
	uint16_t dvipa_port;
	struct dp_service_target target; /* ready is not kept: false */
	uint32_t open;                   /* its connections without FIN or RST yet */
	/* Which entry this is (its flows carry it). dp_affinity_set(): 0 keeps
	 * the entry's gen, or makes a new one when there is no entry. */
	uint32_t gen;
	uint64_t last_end_ns; /* CLOCK_MONOTONIC; 0 = none ended yet */
};

/* Calls fn for each affinity entry, expired ones included (a snapshot);
 * stops at fn's first non-zero return and returns it. */
int dp_affinity_foreach(struct dp *dp, int (*fn)(const struct dp_affinity_info *a, void *data),
                        void *data);
/* Adds or replaces an entry (tests; rebuilding the table). */
int dp_affinity_set(struct dp *dp, const struct dp_affinity_info *a);
/* Deletes the entries of dvipa:port (port 0: of every port of dvipa), or
 * every entry when dvipa is NULL; *ret_n (may be NULL) = entries deleted. */
int dp_affinity_clear(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, size_t *ret_n);

/* The programs' fds, for BPF_PROG_TEST_RUN. */
enum dp_prog { DP_PROG_INGRESS = 0, DP_PROG_EGRESS, DP_PROG_MAX };
int dp_prog_fd(const struct dp *dp, enum dp_prog prog);

#endif
