/* Connections per local address, counted in the kernel as TCP states
 * change (sockcount.bpf.c) instead of by a walk of every socket: the cost of
 * a count is one map lookup whatever the number of sockets and addresses.
 * Counts the caller's network namespace, in the states net/diag.c's
 * diag_count_conns() counts, less half-open connections not yet past their
 * handshake. See docs/dataplane.md, "Counting connections". */
#ifndef DVIPA_DATAPLANE_SOCKCOUNT_H
#define DVIPA_DATAPLANE_SOCKCOUNT_H

#include <stdint.h>

#include "core/ipaddr.h"

struct sockcount;

/* Loads and attaches the counter, then counts the sockets already open.
 * 0 or -errno (no BPF, no BTF, no permission...). */
int sockcount_open(struct sockcount **ret);
void sockcount_free(struct sockcount *s);

/* The connections whose local address is addr now, in *ret: one map
 * lookup. 0 or -errno. */
int sockcount_conns(const struct sockcount *s, const struct ipaddr *addr, uint64_t *ret);

/* Reads every count into a snapshot when any changed since the last read
 * (the program counts its changes in memory this process maps: no system
 * call when nothing changed, one when something did). 0 or -errno. */
int sockcount_refresh(struct sockcount *s);
/* The count of addr as of the last sockcount_refresh(), without a system
 * call. 0, -EAGAIN before the first refresh, -EINVAL. */
int sockcount_cached(const struct sockcount *s, const struct ipaddr *addr, uint64_t *ret);

/* Sockets the counter could not track since it was opened (out of memory,
 * too many addresses): when not 0, its counts may be short. */
uint64_t sockcount_untracked(const struct sockcount *s);

#endif
