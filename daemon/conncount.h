/* How many connections use a DVIPA here: what MOVEABLE WHENIDLE waits on,
 * what QUIESCING and MOVING wait to end, the CONNS of `show dynamic`.
 * Counted in the kernel as sockets change state (dataplane/sockcount.h),
 * so a count costs one map lookup whatever the number of DVIPAs and
 * sockets; when that counter cannot load, by a sock_diag dump per count
 * (net/diag.h), which walks every TCP socket of the kernel. */
#ifndef DVIPA_DAEMON_CONNCOUNT_H
#define DVIPA_DAEMON_CONNCOUNT_H

#include <stdint.h>

#include "core/ipaddr.h"
#include "net/diag.h"

struct conncount;

/* diag stays the caller's (the fallback). 0 or -ENOMEM; a counter that
 * cannot load is logged once and replaced by diag. */
int conncount_new(struct diag_handle *diag, struct conncount **ret);
void conncount_free(struct conncount *c);

/* The connections whose local address is dvipa now, in *ret. 0 or -errno. */
int conncount_get(struct conncount *c, const struct ipaddr *dvipa, uint32_t *ret);

/* For a pass over every DVIPA: conncount_refresh() once (it re-reads the
 * counts only when one changed), then conncount_cached() for each (no
 * system call; a dump each without the BPF counter). 0 or -errno. */
int conncount_refresh(struct conncount *c);
int conncount_cached(struct conncount *c, const struct ipaddr *dvipa, uint32_t *ret);

#endif
