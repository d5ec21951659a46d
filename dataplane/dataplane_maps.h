/* The interface between the BPF data plane (dataplane.bpf.c) and its loader
 * (dataplane.c): every map key and value, the counters, the constants both
 * sides must agree on. Included by both, so: fixed-width types only, explicit
 * padding, every size asserted. Changing a struct changes the pinned maps'
 * layout: a loader refuses pinned maps of another layout (see dp_open()).
 * See docs/dataplane.md for what each map means. */
#ifndef DVIPA_DATAPLANE_MAPS_H
#define DVIPA_DATAPLANE_MAPS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Address families are the IP version numbers, as in core/ipaddr.h. */
#define DP_FAMILY_V4 4
#define DP_FAMILY_V6 6

/* A plex has at most 32 nodes, so a service has at most 32 targets. */
#define DP_MAX_TARGETS 32
/* Slots of a dispatch table; a weighted method repeats a target's index. Must
 * be a power of two (the program masks indexes with it). */
#define DP_DISPATCH_SLOTS 256
/* SYSPLEXPORTS hands out ephemeral ports in blocks of 64. */
#define DP_PORT_BLOCK_SHIFT 6

/* Default sizes; the flow table's and the affinity table's can be changed at
 * open time (the affinity table takes the flow table's size by default). */
#define DP_FLOWS_DEFAULT   65536
#define DP_SERVICES_MAX    1024
#define DP_MEMBERS_MAX     128
#define DP_DVIPAS_MAX      1024
#define DP_PORT_BLOCKS_MAX 16384

/* tc filter identity: the same handle and priority on every start, so that a
 * new loader replaces what a crashed one left attached. */
#define DP_TC_HANDLE   0xd1fa
#define DP_TC_PRIORITY 1

/* dp_config.flags */
#define DP_CONFIG_PORT_BLOCKS 0x01 /* port_blocks has (had) entries: worth a lookup */
/* dist_services has (had) a DP_SERVICE_MOVING entry (port 0): a packet to a
 * port that no service names looks it up. */
#define DP_CONFIG_MOVING 0x02

/* The one entry of the `config` array map. */
struct dp_config {
	__u32 node_id;
	__u32 flags;  /* DP_CONFIG_* */
	__u16 mss_v4; /* clamp for SYNs from target DVIPAs; 0 = no clamp */
	__u16 mss_v6;
	__u8 plex_v4[4];  /* this node's plex addresses (outer source when */
	__u8 plex_v6[16]; /* encapsulating, outer destination when decapsulating) */
};
_Static_assert(sizeof(struct dp_config) == 32, "dp_config layout");

/* Key of `dist_services`: a distributed DVIPA and port. */
struct dp_service_key {
	__u8 family; /* DP_FAMILY_* */
	__u8 proto;  /* IPPROTO_TCP */
	__be16 port;
	__u8 addr[16]; /* IPv4 in addr[0..3], rest zero */
};
_Static_assert(sizeof(struct dp_service_key) == 20, "dp_service_key layout");

#define DP_TARGET_LOCAL 0x01 /* the target is this node: deliver, do not encapsulate */
/* In a service's targets: ready and not quiesced, so it keeps the clients
 * that have an affinity to it (TIMEDAFFINITY), slots or not. */
#define DP_TARGET_READY 0x02
/* The target is on INTERFACE's link and its MAC address is known: its
 * packets go to it unchanged, to mac (as z/OS forwards over an XCF link),
 * instead of encapsulated (VIPAROUTE). Like a router, the distributor lowers
 * the TTL / hop limit: a packet passed back and forth between two nodes
 * that both think they distribute (for a moment, while the distributor
 * moves) dies out. */
#define DP_TARGET_DIRECT 0x04

/* Where a connection goes: a node and its plex address (same family as the
 * DVIPA: IPv4 in IPv4, IPv6 in IPv6). */
struct dp_target {
	__u32 node_id;
	__u8 family;
	__u8 flags; /* DP_TARGET_* */
	__u16 pad;
	__u8 addr[16];
	__u8 mac[6]; /* with DP_TARGET_DIRECT: the target's MAC on INTERFACE */
	__u16 pad2;
};
_Static_assert(sizeof(struct dp_target) == 32, "dp_target layout");

/* dp_service.flags, for a distributor that takes over or hands over (see
 * docs/dataplane.md, "Takeover"). */
/* A non-SYN packet of a connection the flow table does not know is dropped
 * instead of handed to the stack (which would reset it): the table is being
 * rebuilt from the targets' reports, and the client sends it again. */
#define DP_SERVICE_HOLD_UNKNOWN 0x01
/* The entry with port 0 of a DVIPA whose earlier holder still has
 * connections on it (MOVING), or that this node has just handed over: their
 * flows are forwarded, any other packet goes to the stack. No targets, no
 * slots. */
#define DP_SERVICE_MOVING 0x04

/* Value of `dist_services`: the targets and the dispatch table built for the
 * distribution method. A new connection takes slots[rr++ % n_slots]. */
struct dp_service {
	__u32 rr; /* advanced atomically by the program */
	__u16 n_targets;
	__u16 n_slots;    /* 0: no target is ready */
	__u32 flags;      /* DP_SERVICE_* */
	__u32 affinity_s; /* TIMEDAFFINITY in seconds; 0 = none */
	struct dp_target targets[DP_MAX_TARGETS];
	__u8 slots[DP_DISPATCH_SLOTS]; /* indexes into targets[] */
};
_Static_assert(sizeof(struct dp_service) == 16 + 32 * DP_MAX_TARGETS + DP_DISPATCH_SLOTS,
               "dp_service layout");

/* Key of `flows`, as the client sends: src = client, dst = DVIPA. */
struct dp_flow_key {
	__u8 family;
	__u8 proto;
	__u16 pad;
	__be16 src_port;
	__be16 dst_port;
	__u8 src[16];
	__u8 dst[16];
};
_Static_assert(sizeof(struct dp_flow_key) == 40, "dp_flow_key layout");

#define DP_FLOW_CLOSING 0x01 /* a FIN or RST was seen; a new SYN picks a new target */
/* Health (docs/distributor.md): the distributor sees only the client's side
 * of the handshake. Its first ACK says the target answered the SYN; a SYN
 * again says the target did not answer it (yet). Set once, atomically. */
#define DP_FLOW_ESTABLISHED 0x02 /* the client sent a non-SYN ACK: the handshake completed */
#define DP_FLOW_SYN_RETRANS 0x04 /* the client sent its SYN again before that */
/* Counted in its client's `affinity` entry until it closes (a high bit:
 * the low ones are for the connection's own state). */
#define DP_FLOW_AFFINITY 0x80

/* Value of `flows`. */
struct dp_flow {
	struct dp_target target;
	__u32 flags; /* DP_FLOW_* */
	/* With DP_FLOW_AFFINITY: the gen of the `affinity` entry that counts
	 * it. Its close decrements that entry only if it is still the same
	 * one: the key's entry may have been deleted and made anew, even for
	 * the same node, while this flow was open. */
	__u32 affinity_gen;
	__u64 created_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
};
_Static_assert(sizeof(struct dp_flow) == 48, "dp_flow layout");

/* Key of `affinity` (TIMEDAFFINITY): a client address and a service. */
struct dp_affinity_key {
	__u8 family;
	__u8 proto;
	__be16 port; /* the DVIPA's */
	__u8 client[16];
	__u8 dvipa[16];
};
_Static_assert(sizeof(struct dp_affinity_key) == 36, "dp_affinity_key layout");

/* Value of `affinity`: the client's target for the service. It holds while
 * open > 0 or for the service's affinity_s after last_end_ns, and only
 * while the target is DP_TARGET_READY in the service. */
struct dp_affinity {
	struct dp_target target;
	__u32 open; /* its connections through it without FIN or RST yet */
	/* Which entry this is: set when the entry is made (the low 32 bits of
	 * the clock, never 0) and kept while it lives; its flows carry it. 0
	 * only in entries older than the field. */
	__u32 gen;
	__u64 last_end_ns; /* when one last ended (bpf_ktime_get_ns); 0 = none yet */
};
_Static_assert(sizeof(struct dp_affinity) == 48, "dp_affinity layout");

/* Key of `members` and `target_dvipas`: one address. */
struct dp_addr_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct dp_addr_key) == 20, "dp_addr_key layout");

/* Value of `members`: a plex member's plex address belongs to this node. */
struct dp_member {
	__u32 node_id;
};
_Static_assert(sizeof(struct dp_member) == 4, "dp_member layout");

/* Value of `target_dvipas`: a DVIPA this node serves as a target. */
struct dp_target_dvipa {
	__u32 flags; /* reserved, 0 */
};
_Static_assert(sizeof(struct dp_target_dvipa) == 4, "dp_target_dvipa layout");

/* Key of `port_blocks` (SYSPLEXPORTS); the value is a struct dp_target. */
struct dp_port_block_key {
	__u8 family;
	__u8 proto;
	__u16 block; /* host order: port >> DP_PORT_BLOCK_SHIFT */
	__u8 addr[16];
};
_Static_assert(sizeof(struct dp_port_block_key) == 20, "dp_port_block_key layout");

/* The verdict counters, one per-CPU __u64 each in `counters`. Append only:
 * the index is the interface. X(name, "display name", "what it means"). */
#define DP_COUNTERS(X)                                                                             \
	X(PASS, "pass", "not for the data plane, handed to the stack")                             \
	X(TRUNCATED, "truncated", "a header ends past the packet, handed to the stack")            \
	X(MALFORMED, "malformed", "impossible IP or TCP header, handed to the stack")              \
	X(FRAGMENT, "fragment", "TCP or tunnel fragment, handed to the stack")                     \
	X(IPV6_EXT, "ipv6_ext", "IPv6 extension header not walked, handed to the stack")           \
	X(FLOW_HIT, "flow_hit", "packet of a known connection")                                    \
	X(FLOW_NEW, "flow_new", "SYN: new connection given a target")                              \
	X(FLOW_REUSED, "flow_reused", "SYN on a closing connection: given a new target")           \
	X(FLOW_CLOSING, "flow_closing", "FIN or RST seen on a known connection")                   \
	X(SYN_NO_TARGET, "syn_no_target", "SYN for a service without ready target, to the stack")  \
	X(NO_TARGET, "no_target", "non-SYN of an unknown connection, to the stack")                \
	X(PORT_BLOCK_HIT, "port_block_hit", "packet routed by a SYSPLEXPORTS port block")          \
	X(TO_LOCAL, "to_local", "target is this node: delivered by the stack")                     \
	X(ENCAP, "encap", "encapsulated and sent to a target")                                     \
	X(ENCAP_ERROR, "encap_error", "encapsulation failed, dropped")                             \
	X(FIB_NO_NEIGH, "fib_no_neigh", "target's MAC unknown: sent through the neighbour table")  \
	X(FIB_ERROR, "fib_error", "no route to the target, dropped")                               \
	X(TOO_BIG, "too_big", "too big for the MTU once encapsulated, dropped")                    \
	X(DECAP, "decap", "decapsulated from a member, delivered by the stack")                    \
	X(DECAP_ERROR, "decap_error", "decapsulation failed, dropped")                             \
	X(DROP_NOT_MEMBER, "drop_not_member", "encapsulated to a target DVIPA by a non-member")    \
	X(DROP_MALFORMED, "drop_malformed", "encapsulated by a member, inner header broken")       \
	X(ENCAP_NOT_OURS, "encap_not_ours", "encapsulated, not to a DVIPA we serve: to the stack") \
	X(MSS_CLAMPED, "mss_clamped", "MSS option lowered in a SYN from a target DVIPA")           \
	X(FIB_FWD_DISABLED, "fib_fwd_disabled",                                                    \
	  "forwarding off on INTERFACE: sent through the kernel's route and neighbour lookup")     \
	X(AFFINITY_HIT, "affinity_hit", "SYN sent to the target its client has an affinity to")    \
	X(AFFINITY_NEW, "affinity_new",                                                            \
	  "SYN of a TIMEDAFFINITY service dispatched: its client's affinity (re)starts")           \
	X(AFFINITY_EXPIRED, "affinity_expired",                                                    \
	  "SYN whose client's affinity ran out (no connection open, time passed): dispatched")     \
	X(AFFINITY_NOT_READY, "affinity_not_ready",                                                \
	  "SYN whose client's affinity target is no longer ready or is quiesced: dispatched")      \
	X(FORWARD, "forward", "sent unchanged to a target's MAC on the link (no VIPAROUTE)")       \
	X(TTL_EXCEEDED, "ttl_exceeded", "TTL or hop limit ran out before a target: dropped")       \
	X(FORWARD_ERROR, "forward_error",                                                          \
	  "rewriting MACs or TTL for a direct target failed, dropped")                             \
	X(NOT_FOR_US, "not_for_us", "TCP frame to another MAC or a group address, to the stack")   \
	X(HELD_UNKNOWN, "held_unknown",                                                            \
	  "non-SYN of an unknown connection while the flow table is rebuilt, dropped")             \
	X(HELD_SYN, "held_syn",                                                                    \
	  "SYN reaching a handed-over service (the new owner's to take), dropped")                 \
	X(MOVING_HIT, "moving_hit", "packet of a connection that an earlier holder keeps (MOVING)")

#define DP_COUNTER_ENUM_(name, text, help) DP_CNT_##name,
enum dp_counter { DP_COUNTERS(DP_COUNTER_ENUM_) DP_CNT_MAX };
#undef DP_COUNTER_ENUM_

#endif
