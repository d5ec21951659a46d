/* The kernel's neighbour table (ARP cache, IPv6 Neighbour Discovery cache)
 * of one interface through rtnetlink (libmnl): which link-layer address the
 * kernel knows for a neighbour, and a way to make it find one.
 *
 * A distributor that hands a packet on unchanged needs the next node's MAC;
 * the kernel already keeps those, so they are read here rather than learnt
 * again. See docs/net.md. */
#ifndef DVIPA_NET_NEIGH_H
#define DVIPA_NET_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct nlmsghdr;

#define NEIGH_MAC_LEN 6

struct neigh_entry {
	struct ipaddr addr; /* IPADDR_V4 or IPADDR_V6 */
	uint8_t mac[NEIGH_MAC_LEN];
	/* A 6-byte link-layer address in state REACHABLE, STALE, DELAY, PROBE
	 * or PERMANENT; false for NOARP, INCOMPLETE, FAILED and NONE (mac is
	 * then all zero unless the kernel gave a 6-byte address anyway). */
	bool usable;
	/* Usable but STALE: not confirmed lately; neigh_resolve() has the
	 * kernel probe it again (it leaves a PERMANENT entry alone only if
	 * not asked). */
	bool stale;
};

struct neigh_handle;

/* Open a NETLINK_ROUTE request socket. Returns 0 or -errno; *ret untouched on
 * failure. */
int neigh_open(struct neigh_handle **ret);
void neigh_close(struct neigh_handle *h);

/* Every IPv4 and IPv6 neighbour entry of ifindex (> 0), from one RTM_GETNEIGH
 * dump (the kernel filters by interface when it can; every message is
 * checked again here). Entries without an address are skipped. One malloc'd
 * array the caller frees with free(); *ret_v is NULL when there are none.
 * Returns 0 or -errno (-EBADMSG for a malformed message, -EINTR when
 * concurrent changes interrupted the dump on every retry); outputs untouched
 * on failure. */
int neigh_list(struct neigh_handle *h, int ifindex, struct neigh_entry **ret_v, size_t *ret_n);

/* The entry for addr in v[0..n-1], or NULL. */
const struct neigh_entry *neigh_find(const struct neigh_entry *v, size_t n,
                                     const struct ipaddr *addr);

/* Ask the kernel to resolve addr on ifindex, as if a packet were waiting for
 * it (NTF_USE): an absent, NONE or FAILED entry becomes INCOMPLETE and is
 * probed at once; a STALE one goes to DELAY, and to PROBE after
 * delay_first_probe_time unless traffic confirms it; REACHABLE, DELAY,
 * PROBE, INCOMPLETE and NOARP entries are left as they are. Meant for
 * addresses that neigh_list() shows absent or not usable: since Linux 5.16
 * the kernel also turns a PERMANENT entry into a dynamic one. The answer
 * comes later; read it with neigh_list(). Returns 0 or -errno (-EINVAL,
 * -ENODEV, ...). */
int neigh_resolve(struct neigh_handle *h, int ifindex, const struct ipaddr *addr);

/* One message of a neighbour dump into *out: 1 when filled, 0 for a message
 * to skip (not RTM_NEWNEIGH, another family or interface, no address),
 * -EBADMSG when a header or attribute is short, runs past the message or
 * has the wrong size. Exposed for the unit tests. */
int neigh_parse_msg(const struct nlmsghdr *nlh, int ifindex, struct neigh_entry *out);

#endif
