/* The sysplex distributor's data plane: tc programs on the node's LAN
 * interface (INTERFACE).
 *
 * dp_ingress, distributor role: a TCP packet to a distributed DVIPA:port
 * follows its connection's entry in `flows`; a SYN without one takes the next
 * slot of the service's dispatch table. The target is this node (the stack
 * delivers it: the DVIPA is on INTERFACE) or another one: the packet then
 * goes to the target's MAC as it is (TTL lowered) when dvipad marked the
 * target direct (on the link, MAC known, no VIPAROUTE), else it is wrapped
 * in an outer IPv4 (RFC 2003) or IPv6 (RFC 2473) header from this node's
 * plex address to the target's and sent out.
 *
 * dp_ingress, target role: an encapsulated packet to this node's plex address
 * whose inner destination is a DVIPA this node serves loses its outer header
 * and goes up the stack (the DVIPA is on lo), but only when the outer source
 * is a plex member.
 *
 * dp_egress: SYNs from a target DVIPA advertise an MSS small enough for the
 * client's segments to fit the MTU once the distributor encapsulates them.
 *
 * Anything else goes to the stack untouched: a node without this program
 * behaves like one whose maps are empty. See docs/dataplane.md. */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dataplane/dataplane_maps.h"
#include "dataplane/maps.bpf.h"
#include "dataplane/parse.bpf.h"

#define OUTER_TTL 64
/* skb->pkt_type of a frame sent to this host's MAC (<linux/if_packet.h>). */
#define PACKET_HOST 0

static __always_inline struct dp_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&node_config, &zero);
}

/* Sends the encapsulated packet towards the target's plex address. */
static __always_inline int forward(struct __sk_buff *skb, __u8 family, const struct dp_config *cfg,
                                   const struct dp_target *t)
{
	struct bpf_fib_lookup fib = {};
	struct bpf_redir_neigh nh = {};
	__u32 mtu_len = 0;
	struct ethhdr eth;
	int rc;

	/* The kernel would drop an encapsulated packet past the MTU without a
	 * word; GSO packets are checked segment by segment. */
	if (bpf_check_mtu(skb, 0, &mtu_len, 0, BPF_MTU_CHK_SEGS) != BPF_MTU_CHK_RET_SUCCESS) {
		count(DP_CNT_TOO_BIG);
		return TC_ACT_SHOT;
	}
	fib.ifindex = skb->ifindex;
	if (family == DP_FAMILY_V4) {
		fib.family = AF_INET;
		__builtin_memcpy(&fib.ipv4_src, cfg->plex_v4, 4);
		__builtin_memcpy(&fib.ipv4_dst, t->addr, 4);
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, cfg->plex_v6, 16);
		__builtin_memcpy(fib.ipv6_dst, t->addr, 16);
	}
	/* tot_len stays 0: a non-zero one answers FRAG_NEEDED for every GSO
	 * super-packet (the MTU was checked above). */
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		__builtin_memcpy(eth.h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth.h_source, fib.smac, ETH_ALEN);
		eth.h_proto = bpf_htons(family == DP_FAMILY_V4 ? ETH_P_IP : ETH_P_IPV6);
		if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) < 0) {
			count(DP_CNT_ENCAP_ERROR);
			return TC_ACT_SHOT;
		}
		count(DP_CNT_ENCAP);
		return bpf_redirect(fib.ifindex, 0);
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		/* The target's MAC is not resolved yet (first packet after a
		 * while): the kernel's neighbour table resolves it. */
		nh.nh_family = fib.family;
		if (family == DP_FAMILY_V4)
			nh.ipv4_nh = fib.ipv4_dst;
		else
			__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, 16);
		count(DP_CNT_FIB_NO_NEIGH);
		count(DP_CNT_ENCAP);
		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		/* bpf_fib_lookup() wants forwarding on INTERFACE even for an
		 * output lookup; without it the kernel routes the packet and
		 * fills the MACs itself. */
		count(DP_CNT_FIB_FWD_DISABLED);
		count(DP_CNT_ENCAP);
		return bpf_redirect_neigh(skb->ifindex, NULL, 0, 0);
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		count(DP_CNT_TOO_BIG);
		return TC_ACT_SHOT;
	default:
		count(DP_CNT_FIB_ERROR);
		return TC_ACT_SHOT;
	}
}

static __always_inline int encap_ipv4(struct __sk_buff *skb, const struct packet *p,
                                      const struct dp_config *cfg, const struct dp_target *t)
{
	struct iphdr outer = {};
	__u32 tot_len = bpf_ntohs(p->tot_len) + sizeof(outer);

	if (tot_len > 0xffff) {
		count(DP_CNT_TOO_BIG);
		return TC_ACT_SHOT;
	}
	/* The kernel inserts the room after the MAC header, marks the skb as
	 * IP-in-IP for GSO and lowers gso_size by 20 so that the segments
	 * still fit the MTU. */
	if (bpf_skb_adjust_room(skb, sizeof(outer), BPF_ADJ_ROOM_MAC,
	                        BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) < 0) {
		count(DP_CNT_ENCAP_ERROR);
		return TC_ACT_SHOT;
	}
	outer.version = 4;
	outer.ihl = 5;
	outer.tos = p->tos; /* RFC 2003 3.1: copied, ECN included */
	outer.tot_len = bpf_htons(tot_len);
	/* The inner ID is unique enough per source and destination; copying it
	 * (and DF) keeps the outer header a function of the inner one. */
	outer.id = p->id;
	outer.frag_off = p->frag_off & bpf_htons(IP_DF);
	outer.ttl = OUTER_TTL;
	outer.protocol = IPPROTO_IPIP;
	__builtin_memcpy(&outer.saddr, cfg->plex_v4, 4);
	__builtin_memcpy(&outer.daddr, t->addr, 4);
	outer.check = ipv4_checksum(&outer);
	/* A header with a correct checksum sums to zero, so a CHECKSUM_COMPLETE
	 * skb->csum needs no update. */
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &outer, sizeof(outer), 0) < 0) {
		count(DP_CNT_ENCAP_ERROR);
		return TC_ACT_SHOT;
	}
	return forward(skb, DP_FAMILY_V4, cfg, t);
}

static __always_inline int encap_ipv6(struct __sk_buff *skb, const struct packet *p,
                                      const struct dp_config *cfg, const struct dp_target *t)
{
	struct ipv6hdr outer = {};
	__u32 payload_len = bpf_ntohs(p->tot_len) + sizeof(outer);

	/* payload_len 0 is a jumbogram (BIG TCP): not tunnelled. */
	if (p->tot_len == 0 || payload_len > 0xffff) {
		count(DP_CNT_TOO_BIG);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_adjust_room(skb, sizeof(outer), BPF_ADJ_ROOM_MAC,
	                        BPF_F_ADJ_ROOM_ENCAP_L3_IPV6) < 0) {
		count(DP_CNT_ENCAP_ERROR);
		return TC_ACT_SHOT;
	}
	/* Version, traffic class and flow label copied from the inner header
	 * (RFC 2473 6.5, 6.6). */
	__builtin_memcpy(&outer, &p->v6_word0, 4);
	outer.payload_len = bpf_htons(payload_len);
	outer.nexthdr = IPPROTO_IPV6;
	outer.hop_limit = OUTER_TTL;
	__builtin_memcpy(&outer.saddr, cfg->plex_v6, 16);
	__builtin_memcpy(&outer.daddr, t->addr, 16);
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &outer, sizeof(outer), 0) < 0) {
		count(DP_CNT_ENCAP_ERROR);
		return TC_ACT_SHOT;
	}
	/* Keep a CHECKSUM_COMPLETE skb->csum right; fails harmlessly otherwise. */
	bpf_csum_update(skb, bpf_csum_diff(NULL, 0, (__be32 *)&outer, sizeof(outer), 0));
	return forward(skb, DP_FAMILY_V6, cfg, t);
}

/* The packet unchanged to the target's MAC on INTERFACE's link, as a router
 * would send it (TTL / hop limit lowered), but without a route or neighbour
 * lookup: dvipad put the MAC in the target. This node's own MAC is where the
 * client sent the packet. */
static __always_inline int forward_direct(struct __sk_buff *skb, const struct packet *p,
                                          const struct dp_target *t)
{
	struct {
		__u8 dst[ETH_ALEN];
		__u8 src[ETH_ALEN];
	} macs;
	__u8 ttl = p->ttl - 1;
	__u32 mtu_len = 0;

	if (p->ttl <= 1) {
		count(DP_CNT_TTL_EXCEEDED);
		return TC_ACT_SHOT;
	}
	/* The same size out as in, but what LRO merged is no GSO packet the
	 * kernel would split again. */
	if (bpf_check_mtu(skb, 0, &mtu_len, 0, BPF_MTU_CHK_SEGS) != BPF_MTU_CHK_RET_SUCCESS) {
		count(DP_CNT_TOO_BIG);
		return TC_ACT_SHOT;
	}
	if (load_header(skb, 0, macs.src, ETH_ALEN) < 0)
		goto error;
	__builtin_memcpy(macs.dst, t->mac, ETH_ALEN);
	if (bpf_skb_store_bytes(skb, 0, &macs, sizeof(macs), 0) < 0)
		goto error;
	if (p->family == DP_FAMILY_V4) {
		/* The TTL shares a checksummed 16-bit word with the protocol. */
		__be16 old = bpf_htons((__u16)(p->ttl << 8 | p->proto));
		__be16 new = bpf_htons((__u16)(ttl << 8 | p->proto));

		if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, ttl), &ttl, 1, 0) <
		        0 ||
		    bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old, new,
		                        2) < 0)
			goto error;
		/* The header still sums to zero: a CHECKSUM_COMPLETE skb->csum
		 * stays right. */
	} else {
		__be32 old = 0, new = 0;

		((__u8 *)&old)[3] = p->ttl;
		((__u8 *)&new)[3] = ttl;
		if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, hop_limit), &ttl,
		                        1, 0) < 0)
			goto error;
		/* Keep a CHECKSUM_COMPLETE skb->csum right; fails harmlessly
		 * otherwise. */
		bpf_csum_update(skb, bpf_csum_diff(&old, 4, &new, 4, 0));
	}
	count(DP_CNT_FORWARD);
	return bpf_redirect(skb->ifindex, 0);
error:
	count(DP_CNT_FORWARD_ERROR);
	return TC_ACT_SHOT;
}

/* Delivers locally, forwards or encapsulates to the target. A function of its own
 * (four callers), not inlined four times. */
static __noinline int send_to_target(struct __sk_buff *skb, const struct packet *p,
                                     const struct dp_config *cfg, const struct dp_target *t)
{
	if (t->flags & DP_TARGET_LOCAL) {
		count(DP_CNT_TO_LOCAL);
		return TC_ACT_OK;
	}
	if (t->family != p->family) {
		/* The loader refuses such targets; never let a stale entry
		 * send an IPv6 packet to an IPv4 address. */
		count(DP_CNT_ENCAP_ERROR);
		return TC_ACT_SHOT;
	}
	if (t->flags & DP_TARGET_DIRECT)
		return forward_direct(skb, p, t);
	if (p->family == DP_FAMILY_V4)
		return encap_ipv4(skb, p, cfg, t);
	return encap_ipv6(skb, p, cfg, t);
}

/* SYSPLEXPORTS: the node that owns the port's block gets the packet.
 * Returns -1 when no block matches. */
static __always_inline int try_port_block(struct __sk_buff *skb, const struct packet *p,
                                          const struct dp_config *cfg)
{
	struct dp_port_block_key key = {};
	struct dp_target *owner;
	struct dp_target t;

	if (!(cfg->flags & DP_CONFIG_PORT_BLOCKS))
		return -1;
	key.family = p->family;
	key.proto = p->proto;
	key.block = bpf_ntohs(p->dport) >> DP_PORT_BLOCK_SHIFT;
	__builtin_memcpy(key.addr, p->dst, 16);
	owner = bpf_map_lookup_elem(&port_blocks, &key);
	if (!owner)
		return -1;
	t = *owner;
	count(DP_CNT_PORT_BLOCK_HIT);
	return send_to_target(skb, p, cfg, &t);
}

/* ---- TIMEDAFFINITY ------------------------------------------------------------
 * A client address sticks to the target that a service gave it while it has a
 * connection open through it, and for the service's affinity_s seconds after
 * the last one ended (z/OS VIPADISTRIBUTE TIMEDAFFINITY). Its `affinity`
 * entry counts the open connections: +1 when a flow is created under it (the
 * flow carries DP_FLOW_AFFINITY and the entry's gen), -1 the first time that
 * flow sees a FIN or RST, if the entry still has that gen. The node alone
 * would not do: the entry may be deleted (LRU, dp_affinity_clear()) and made
 * anew for the same node while old flows are open, and their closes would
 * then take the new entry's count to 0 under a connection it counts. Three
 * hooks in distribute(): affinity_target() before the dispatch,
 * affinity_opened() before the flow is written (so that the flow is written
 * with its gen), affinity_closed() when it closes or could not be written. */

#define NSEC_PER_SEC 1000000000ULL
/* Attempts at a contended decrement before giving up (the count then stays
 * one too high, which only makes the affinity last longer). */
#define AFFINITY_CAS_TRIES 8

static __always_inline void affinity_key(struct dp_affinity_key *k, const struct packet *p)
{
	k->family = p->family;
	k->proto = p->proto;
	k->port = p->dport;
	__builtin_memcpy(k->client, p->src, 16);
	__builtin_memcpy(k->dvipa, p->dst, 16);
}

/* The target the client's affinity names, into *t, while the affinity holds
 * and the target is still ready for the service (its current entry in the
 * service, so a changed plex address is followed). 1 then, else 0: the
 * dispatch table picks. */
static __noinline int affinity_target(const struct dp_service *svc, const struct packet *p,
                                      struct dp_target *t)
{
	struct dp_affinity_key k = {};
	struct dp_affinity *a;
	__u64 ttl_ns = (__u64)svc->affinity_s * NSEC_PER_SEC;
	__u32 node, n = svc->n_targets;

	affinity_key(&k, p);
	a = bpf_map_lookup_elem(&affinity, &k);
	if (!a)
		return 0;
	/* Signed: a last end a little in the future (another CPU wrote it
	 * after our clock read) is a fresh one. */
	if (a->open == 0 && (__s64)(bpf_ktime_get_ns() - a->last_end_ns) >= (__s64)ttl_ns) {
		count(DP_CNT_AFFINITY_EXPIRED);
		return 0;
	}
	node = a->target.node_id;
	for (__u32 i = 0; i < DP_MAX_TARGETS; i++) {
		if (i >= n)
			break;
		if (svc->targets[i].node_id != node)
			continue;
		if (!(svc->targets[i].flags & DP_TARGET_READY))
			break;
		*t = svc->targets[i];
		count(DP_CNT_AFFINITY_HIT);
		return 1;
	}
	count(DP_CNT_AFFINITY_NOT_READY);
	return 0;
}

/* A connection's target as its service lists that node now, into *t: the
 * way (direct or encapsulated), the MAC and the plex address may have
 * changed since the flow was made, and its packets follow. The flow's own
 * copy stays when the service no longer lists the node. */
static __noinline int current_target(const struct dp_service *svc, struct dp_target *t)
{
	__u32 node = t->node_id, n = svc->n_targets;

	for (__u32 i = 0; i < DP_MAX_TARGETS; i++) {
		if (i >= n)
			break;
		if (svc->targets[i].node_id != node)
			continue;
		*t = svc->targets[i];
		return 1;
	}
	return 0;
}

/* Joins the entry a: its gen is read from the element that was incremented,
 * so that a flow always carries the gen of the entry that counts it, even if
 * another CPU replaced the entry meanwhile. */
static __always_inline __u32 affinity_join(struct dp_affinity *a)
{
	__sync_fetch_and_add(&a->open, 1);
	return a->gen;
}

/* A flow to t is about to be created under the client's affinity (hit:
 * affinity_target() chose t): counted in the client's entry, or the entry
 * (re)starts with t when the client had none, or one for another target.
 * Returns the gen of the entry that counts it, for the flow. */
static __noinline __u32 affinity_opened(const struct packet *p, const struct dp_target *t, int hit)
{
	struct dp_affinity_key k = {};
	struct dp_affinity fresh = {};
	struct dp_affinity *a;

	affinity_key(&k, p);
	a = bpf_map_lookup_elem(&affinity, &k);
	if (a && a->target.node_id == t->node_id) {
		if (!hit)
			count(DP_CNT_AFFINITY_NEW);
		return affinity_join(a);
	}
	fresh.target = *t;
	fresh.open = 1;
	/* Unique enough: an entry made anew for the same key gets another
	 * gen unless it is made a multiple of 2^32 ns (4.3 s) later to the
	 * nanosecond. */
	fresh.gen = (__u32)bpf_ktime_get_ns() ?: 1;
	count(DP_CNT_AFFINITY_NEW);
	if (bpf_map_update_elem(&affinity, &k, &fresh, a ? BPF_ANY : BPF_NOEXIST) == -EEXIST) {
		/* The client's first connections on two CPUs at once: join
		 * the entry the other one made if it names the same target;
		 * otherwise the last writer wins and the other flow's close
		 * leaves this count alone (it carries another gen). */
		a = bpf_map_lookup_elem(&affinity, &k);
		if (a && a->target.node_id == t->node_id)
			return affinity_join(a);
		bpf_map_update_elem(&affinity, &k, &fresh, BPF_ANY);
	}
	return fresh.gen;
}

/* A flow counted in its client's affinity under gen saw its first FIN or RST
 * (ended), or was not written after all: one connection less, if the entry is
 * still the one that counted it. The count never goes below 0. */
static __noinline void affinity_closed(const struct packet *p, __u32 gen, int ended)
{
	struct dp_affinity_key k = {};
	struct dp_affinity *a;

	affinity_key(&k, p);
	a = bpf_map_lookup_elem(&affinity, &k);
	if (!a || a->gen != gen)
		return;
	/* Before the decrement: whoever reads open == 0 sees this time. A
	 * flow never written ended nothing: an entry it made expires. */
	if (ended)
		a->last_end_ns = bpf_ktime_get_ns();
	for (int i = 0; i < AFFINITY_CAS_TRIES; i++) {
		__u32 open = a->open;

		if (open == 0 || __sync_val_compare_and_swap(&a->open, open, open - 1) == open)
			break;
	}
}

/* Health: what the client's packets say about the target's answer to its
 * SYN (docs/distributor.md). The flow is written only the first time a flag
 * applies; atomically, as other CPUs may mark the same flow. */
static __always_inline void mark_handshake(struct dp_flow *f, __u8 tcp_flags)
{
	__u32 flags = f->flags;

	if ((tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_ACK) {
		if (!(flags & DP_FLOW_ESTABLISHED))
			__sync_fetch_and_or(&f->flags, DP_FLOW_ESTABLISHED);
	} else if ((tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		if (!(flags & (DP_FLOW_CLOSING | DP_FLOW_ESTABLISHED | DP_FLOW_SYN_RETRANS)))
			__sync_fetch_and_or(&f->flags, DP_FLOW_SYN_RETRANS);
	}
}

static __always_inline bool target_equal(const struct dp_target *a, const struct dp_target *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 4); i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* A reused 4-tuple (f, claimed by clearing its closing flag) found no
 * target: closing again, so that the client's next SYN tries anew. */
static __always_inline void reuse_unclaim(struct dp_flow *f)
{
	if (f)
		__sync_fetch_and_or(&f->flags, DP_FLOW_CLOSING);
}

/* Distributor role, for a TCP packet. */
static __always_inline int distribute(struct __sk_buff *skb, const struct packet *p,
                                      const struct dp_config *cfg)
{
	struct dp_service_key skey = {};
	struct dp_flow_key fkey = {};
	struct dp_flow flow = {};
	struct dp_service *svc;
	struct dp_flow *f;
	bool syn = (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	__u64 update = BPF_NOEXIST;
	__u32 n, rr, slot;
	int ret, hit = 0;

	skey.family = p->family;
	skey.proto = p->proto;
	skey.port = p->dport;
	__builtin_memcpy(skey.addr, p->dst, 16);
	svc = bpf_map_lookup_elem(&dist_services, &skey);
	if (!svc && (cfg->flags & DP_CONFIG_MOVING)) {
		/* A port no service names: connections an earlier holder of
		 * the DVIPA keeps (MOVING) are forwarded to it. */
		skey.port = 0;
		svc = bpf_map_lookup_elem(&dist_services, &skey);
		if (svc && !(svc->flags & DP_SERVICE_MOVING))
			svc = NULL;
	}
	if (!svc) {
		ret = try_port_block(skb, p, cfg);
		if (ret >= 0)
			return ret;
		count(DP_CNT_PASS);
		return TC_ACT_OK;
	}

	fkey.family = p->family;
	fkey.proto = p->proto;
	fkey.src_port = p->sport;
	fkey.dst_port = p->dport;
	__builtin_memcpy(fkey.src, p->src, 16);
	__builtin_memcpy(fkey.dst, p->dst, 16);
	f = bpf_map_lookup_elem(&flows, &fkey);
	if (f) {
		/* The client reuses the 4-tuple: a new connection. Claimed
		 * atomically, so that of a SYN and its retransmission on two
		 * CPUs only one makes (and counts) the new connection; the
		 * other follows it like any retransmitted SYN. */
		if (syn && (f->flags & DP_FLOW_CLOSING) &&
		    (__sync_fetch_and_and(&f->flags, ~DP_FLOW_CLOSING) & DP_FLOW_CLOSING)) {
			count(DP_CNT_FLOW_REUSED);
			update = BPF_ANY;
			goto pick;
		}
		if (svc->flags & DP_SERVICE_MOVING) {
			count(DP_CNT_MOVING_HIT);
		} else {
			count(DP_CNT_FLOW_HIT);
			mark_handshake(f, p->tcp_flags);
		}
		/* Atomic: the connection closes once, whatever CPUs its
		 * FIN and RST arrive on (its affinity count depends on it). */
		if ((p->tcp_flags & (TCP_FIN | TCP_RST)) && !(f->flags & DP_FLOW_CLOSING) &&
		    !(__sync_fetch_and_or(&f->flags, DP_FLOW_CLOSING) & DP_FLOW_CLOSING)) {
			count(DP_CNT_FLOW_CLOSING);
			if (f->flags & DP_FLOW_AFFINITY)
				affinity_closed(p, f->affinity_gen, 1);
		}
		flow.target = f->target;
		current_target(svc, &flow.target);
		return send_to_target(skb, p, cfg, &flow.target);
	}
	if (!syn) {
		/* No connection known: a port block's owner, or the local
		 * stack, which answers with a RST like any host. */
		ret = try_port_block(skb, p, cfg);
		if (ret >= 0)
			return ret;
		if (svc->flags & DP_SERVICE_HOLD_UNKNOWN) {
			/* Its flow may be on its way from a target's report;
			 * the stack would reset it. The client sends again. */
			count(DP_CNT_HELD_UNKNOWN);
			return TC_ACT_SHOT;
		}
		count(svc->flags & DP_SERVICE_MOVING ? DP_CNT_PASS : DP_CNT_NO_TARGET);
		return TC_ACT_OK;
	}

pick:
	if (svc->flags & DP_SERVICE_MOVING) {
		reuse_unclaim(f);
		/* Handed over: new connections are the new owner's, and the
		 * client sends its SYN again once it found it. */
		if (svc->flags & DP_SERVICE_HOLD_UNKNOWN) {
			count(DP_CNT_HELD_SYN);
			return TC_ACT_SHOT;
		}
		/* Else a new connection is this node's own. */
		count(DP_CNT_PASS);
		return TC_ACT_OK;
	}
	n = svc->n_slots;
	if (n == 0 || n > DP_DISPATCH_SLOTS) {
		reuse_unclaim(f);
		count(DP_CNT_SYN_NO_TARGET);
		return TC_ACT_OK;
	}
	if (svc->affinity_s) {
		flow.flags = DP_FLOW_AFFINITY;
		hit = affinity_target(svc, p, &flow.target);
		if (hit)
			goto dispatched;
	}
	rr = __sync_fetch_and_add(&svc->rr, 1) % n;
	/* clang knows rr < 256 and would drop the mask the verifier needs. */
	barrier_var(rr);
	slot = svc->slots[rr & (DP_DISPATCH_SLOTS - 1)];
	if (slot >= svc->n_targets || slot >= DP_MAX_TARGETS) {
		reuse_unclaim(f);
		count(DP_CNT_SYN_NO_TARGET);
		return TC_ACT_OK;
	}
	flow.target = svc->targets[slot & (DP_MAX_TARGETS - 1)];
dispatched:
	flow.created_ns = bpf_ktime_get_ns();
	/* Counted before the flow is written, so that the flow is written
	 * with the gen of the entry that counts it; undone below if it is
	 * not written. */
	if (flow.flags & DP_FLOW_AFFINITY)
		flow.affinity_gen = affinity_opened(p, &flow.target, hit);
	if (f && target_equal(&f->target, &flow.target)) {
		/* A reused 4-tuple sent where it went before: the entry is
		 * reset in place. Replacing it would take a fresh entry from
		 * the LRU (evicting another flow when the table is full) and
		 * free this one, on every reuse. The target is not written,
		 * so no CPU can read half of it. The gen before the flags that
		 * say it counts. */
		f->affinity_gen = flow.affinity_gen;
		f->flags = flow.flags;
		f->created_ns = flow.created_ns;
		ret = 0;
	} else {
		ret = bpf_map_update_elem(&flows, &fkey, &flow, update);
	}
	if (ret != 0 && (flow.flags & DP_FLOW_AFFINITY))
		affinity_closed(p, flow.affinity_gen, 0);
	if (ret == -EEXIST) {
		/* A retransmitted SYN raced us on another CPU: follow it. */
		f = bpf_map_lookup_elem(&flows, &fkey);
		if (f)
			flow.target = f->target;
	}
	count(DP_CNT_FLOW_NEW);
	return send_to_target(skb, p, cfg, &flow.target);
}

/* clang does not inline memcmp() for BPF. */
static __always_inline bool addr_equal(const __u8 *a, const __u8 *b, __u8 family)
{
	__u8 diff = 0;

#pragma unroll
	for (int i = 0; i < 16; i++)
		if (i < 4 || family == DP_FAMILY_V6)
			diff |= a[i] ^ b[i];
	return diff == 0;
}

/* Target role, for an IP-in-IP or IPv6-in-IPv6 packet. */
static __always_inline int decapsulate(struct __sk_buff *skb, const struct packet *p,
                                       const struct dp_config *cfg)
{
	struct dp_addr_key member = {}, dvipa = {};
	const __u8 *plex;
	bool is_member;
	__u32 outer_len;
	int r;

	/* Only IPv4 in IPv4 and IPv6 in IPv6 are ours; 6in4 / 4in6 tunnels
	 * (and anything not sent to our plex address) belong to the stack. */
	plex = p->family == DP_FAMILY_V4 ? cfg->plex_v4 : cfg->plex_v6;
	if ((p->family == DP_FAMILY_V4 && p->proto != IPPROTO_IPIP) ||
	    (p->family == DP_FAMILY_V6 && p->proto != IPPROTO_IPV6) ||
	    !addr_equal(p->dst, plex, p->family)) {
		count(DP_CNT_ENCAP_NOT_OURS);
		return TC_ACT_OK;
	}
	if (p->fragment) {
		count(DP_CNT_FRAGMENT);
		return TC_ACT_OK;
	}
	member.family = p->family;
	__builtin_memcpy(member.addr, p->src, 16);
	is_member = bpf_map_lookup_elem(&members, &member) != NULL;

	dvipa.family = p->family;
	r = parse_inner_dst(skb, p, dvipa.addr);
	if (r != PARSE_OK) {
		if (is_member) {
			count(DP_CNT_DROP_MALFORMED);
			return TC_ACT_SHOT;
		}
		count(DP_CNT_ENCAP_NOT_OURS);
		return TC_ACT_OK;
	}
	if (!bpf_map_lookup_elem(&target_dvipas, &dvipa)) {
		count(DP_CNT_ENCAP_NOT_OURS);
		return TC_ACT_OK;
	}
	if (!is_member) {
		count(DP_CNT_DROP_NOT_MEMBER);
		return TC_ACT_SHOT;
	}
	outer_len = p->l4_off - ETH_HLEN;
	if (bpf_skb_adjust_room(skb, -(__s32)outer_len, BPF_ADJ_ROOM_MAC, 0) < 0) {
		count(DP_CNT_DECAP_ERROR);
		return TC_ACT_SHOT;
	}
	count(DP_CNT_DECAP);
	return TC_ACT_OK;
}

SEC("tc")
int dp_ingress(struct __sk_buff *skb)
{
	struct packet p = {};
	struct dp_config *cfg;
	int r;

	r = parse_ip(skb, &p);
	switch (r) {
	case PARSE_OK:
		break;
	case PARSE_TRUNCATED:
		count(DP_CNT_TRUNCATED);
		return TC_ACT_OK;
	case PARSE_MALFORMED:
		count(DP_CNT_MALFORMED);
		return TC_ACT_OK;
	case PARSE_IPV6_EXT:
		count(DP_CNT_IPV6_EXT);
		return TC_ACT_OK;
	default:
		count(DP_CNT_PASS);
		return TC_ACT_OK;
	}
	cfg = get_config();
	if (!cfg)
		return TC_ACT_OK;

	if (p.proto == IPPROTO_IPIP || p.proto == IPPROTO_IPV6)
		return decapsulate(skb, &p, cfg);
	if (p.proto != IPPROTO_TCP) {
		count(DP_CNT_PASS);
		return TC_ACT_OK;
	}
	/* Only the first fragment has ports: the stack reassembles them. */
	if (p.fragment) {
		count(DP_CNT_FRAGMENT);
		return TC_ACT_OK;
	}
	r = parse_tcp(skb, &p);
	if (r == PARSE_TRUNCATED) {
		count(DP_CNT_TRUNCATED);
		return TC_ACT_OK;
	}
	if (r != PARSE_OK) {
		count(DP_CNT_MALFORMED);
		return TC_ACT_OK;
	}
	/* A frame for another MAC (flooded by a switch, seen in promiscuous
	 * mode) or a group address is no client's packet to this node: sent
	 * on, it would carry another host's MAC as its source. */
	if (skb->pkt_type != PACKET_HOST) {
		count(DP_CNT_NOT_FOR_US);
		return TC_ACT_OK;
	}
	return distribute(skb, &p, cfg);
}

/* Lowers the MSS option of a SYN to limit. */
static __always_inline void clamp_mss(struct __sk_buff *skb, const struct packet *p, __u16 limit)
{
	__u8 opts[TCP_OPTS_MAX] = {};
	__u32 len = p->tcp_hlen - TCP_HDR_MIN;
	__u32 i = 0;

	if (len == 0 || len > TCP_OPTS_MAX)
		return;
	if (bpf_skb_load_bytes(skb, p->l4_off + TCP_HDR_MIN, opts, len) < 0)
		return;
	for (int n = 0; n < TCP_OPTS_MAX; n++) {
		__u8 kind, olen;

		if (i >= len || i >= TCP_OPTS_MAX - 1)
			return;
		kind = opts[i];
		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		olen = opts[i + 1];
		if (olen < 2)
			return;
		if (kind == TCPOPT_MSS) {
			__be16 old_mss, new_mss = bpf_htons(limit);
			__u32 off = p->l4_off + TCP_HDR_MIN + i + 2;

			if (olen != TCPOLEN_MSS || i + TCPOLEN_MSS > len ||
			    i > TCP_OPTS_MAX - TCPOLEN_MSS)
				return;
			__builtin_memcpy(&old_mss, &opts[i + 2], 2);
			if (bpf_ntohs(old_mss) <= limit)
				return;
			/* Without BPF_F_PSEUDO_HDR the replace leaves a
			 * CHECKSUM_PARTIAL checksum alone, as it must. */
			if (bpf_skb_store_bytes(skb, off, &new_mss, 2, 0) < 0 ||
			    bpf_l4_csum_replace(skb, p->l4_off + 16, old_mss, new_mss, 2) < 0)
				return;
			count(DP_CNT_MSS_CLAMPED);
			return;
		}
		i += olen;
	}
}

SEC("tc")
int dp_egress(struct __sk_buff *skb)
{
	struct dp_addr_key dvipa = {};
	struct packet p = {};
	struct dp_config *cfg;
	__u16 limit;

	if (parse_ip(skb, &p) != PARSE_OK || p.proto != IPPROTO_TCP || p.fragment)
		return TC_ACT_OK;
	if (parse_tcp(skb, &p) != PARSE_OK || !(p.tcp_flags & TCP_SYN))
		return TC_ACT_OK;
	cfg = get_config();
	if (!cfg)
		return TC_ACT_OK;
	limit = p.family == DP_FAMILY_V4 ? cfg->mss_v4 : cfg->mss_v6;
	if (!limit)
		return TC_ACT_OK;
	dvipa.family = p.family;
	__builtin_memcpy(dvipa.addr, p.src, 16);
	if (!bpf_map_lookup_elem(&target_dvipas, &dvipa))
		return TC_ACT_OK;
	clamp_mss(skb, &p, limit);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
