/* This node as a target of distributed DVIPAs, the kernel side: the target
 * DVIPAs on lo (never answered in ARP/ND: arp_ignore / arp_announce on
 * INTERFACE), their ready listeners (Rdy, from sock_diag), leftovers of an
 * earlier run, repair of what someone else removed, and this node's own
 * connections on distributed ports (VCRT). The BPF side (decapsulation, MSS
 * clamp) is programmed by daemon/distributor.c. */
#ifndef DVIPA_DAEMON_TARGET_H
#define DVIPA_DAEMON_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/dist.h"
#include "core/plex.h"
#include "daemon/show_dist.h"
#include "daemon/target_addrs.h"
#include "net/addr.h"
#include "net/diag.h"

struct target;

/* addr and diag stay the caller's. In the directory of run_path (may be
 * NULL) the sysctl values it replaced are kept while they are replaced, so
 * that a run after a crash restores the operator's, not the crashed run's.
 * 0 or -errno (logged). */
int target_new(const struct config *config, struct addr_handle *addr, struct diag_handle *diag,
               const char *run_path, struct target **ret);
/* The profile in effect after a reload (same INTERFACE). */
void target_set_config(struct target *t, const struct config *config);
/* Takes its DVIPAs off lo and restores the sysctls. NULL is fine. */
void target_free(struct target *t);

/* arp_ignore=1 / arp_announce=2 on INTERFACE (on), or their old values
 * back (off): those found before the first run that changed them. */
void target_sysctls(struct target *t, bool on);
/* Puts exactly these DVIPAs on lo (of those it manages: adds what is
 * missing, removes what it added and is no longer wanted). */
void target_set_lo(struct target *t, const struct target_addrs *want);
bool target_on_lo(const struct target *t, const struct ipaddr *dvipa);

/* Rdy of every service of v whose targets include self and for which
 * can_serve(data, dvipa) holds: listeners that take DVIPA:port. A malloc'd
 * array sorted like the services (NULL when none). 0 or -errno. */
int target_ready(struct target *t, const struct dist_view *v, uint32_t self,
                 bool (*can_serve)(const void *data, const struct ipaddr *dvipa), const void *data,
                 struct dist_ready **ret, size_t *ret_n);

/* Puts back target DVIPAs removed from lo behind dvipa's back. */
void target_repair(struct target *t);
/* Removes host addresses on lo that are DVIPAs (of the profile, of the
 * plex, of v) and that this run did not put there or adopt. Only with a
 * complete, quorate view of the plex. */
void target_leftovers(struct target *t, const struct plex *p, const struct dist_view *v);

/* This node's own connections on the services of v it is a target of, as
 * VCRT rows, passed to push (which returns 0 or -errno). */
int target_connections(struct target *t, const struct dist_view *v, uint32_t self,
                       int (*push)(void *data, const struct show_dist_conn *row), void *data);

#endif
