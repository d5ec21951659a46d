/* The interface between the socket counter (sockcount.bpf.c) and its loader
 * (sockcount.c): the map key and value, the constants both sides must agree
 * on. Fixed-width types only, explicit padding, every size asserted. See
 * docs/dataplane.md, "Counting connections". */
#ifndef DVIPA_DATAPLANE_SOCKCOUNT_MAPS_H
#define DVIPA_DATAPLANE_SOCKCOUNT_MAPS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Address families are the IP version numbers, as in core/ipaddr.h. */
#define SOCKCOUNT_FAMILY_V4 4
#define SOCKCOUNT_FAMILY_V6 6

/* Local addresses counted at once: the node's own addresses and its DVIPAs.
 * An entry stays once made (a delete would race with the next socket's
 * increment), so this bounds the distinct local addresses ever seen. */
#define SOCKCOUNT_ADDRS_MAX 16384

/* conns: a local address (IPv4 in the first 4 bytes, the rest zero; an IPv4
 * connection on a dual-stack IPv6 socket counts as IPv4). */
struct sockcount_key {
	__u8 family; /* SOCKCOUNT_FAMILY_* */
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct sockcount_key) == 20, "sockcount_key layout");

/* conns value: the TCP sockets of the node's network namespace whose local
 * address is the key and whose state a move would break (see
 * sockcount.bpf.c). Signed so that a bug shows as a negative count rather
 * than a huge one. */
typedef __s64 sockcount_value;

/* The program's global counters (its .bss, which the loader maps): changes
 * grows with every change of a count, so that a reader re-reads conns only
 * when it moved; untracked counts sockets it could not track (no memory for
 * their mark, or conns full). */
struct sockcount_stats {
	__u64 changes;
	__u64 untracked;
};
_Static_assert(sizeof(struct sockcount_stats) == 16, "sockcount_stats layout");

#endif
