/* This node's part in the sysplex distributor: what it announces about
 * distribution (its VIPADISTRIBUTE statements, plex addresses, ready
 * listeners, quiesce), and what the derived state (core/dist.c) asks of its
 * kernel: the BPF data plane (dataplane/) programmed as distributor (the
 * services of the DVIPAs it holds) and as target (decapsulation, MSS clamp),
 * target DVIPAs on lo, arp_ignore / arp_announce on INTERFACE.
 * docs/distributor.md describes it. */
#ifndef DVIPA_DAEMON_DISTRIBUTOR_H
#define DVIPA_DAEMON_DISTRIBUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/dist.h"
#include "core/plex.h"
#include "core/wire_conns.h"
#include "net/addr.h"
#include "net/diag.h"

struct distributor;

/* addr and diag stay the caller's and must outlive the distributor. BPF
 * programs a crashed run left on INTERFACE stay (with the flow table it
 * pinned, which this run adopts) until this run's replace them or
 * distributor_settle() removes them. run_path: a file whose
 * directory keeps state across a crash (see target_new()), may be NULL.
 * 0 or -errno (logged). */
int distributor_new(const struct config *config, int ifindex, struct addr_handle *addr,
                    struct diag_handle *diag, const char *run_path, struct distributor **ret);
/* Once the plex has told this node its part (the first quorate view acted
 * on): without one, an earlier run's programs and flow table go. */
void distributor_settle(struct distributor *d);
/* Takes back what it did: target DVIPAs off lo, programs detached, sysctls
 * restored. NULL is fine. */
void distributor_free(struct distributor *d);
/* A reloaded profile: its VIPADISTRIBUTE statements replace this node's
 * (announced with the next facts), and config is the one in effect from now
 * on (it must outlive d, or the next reconfigure). 0, or -EINVAL (a rule of
 * dist_facts_check() broken), -E2BIG (too large to announce) or -ENOMEM with
 * nothing changed. */
int distributor_reconfigure(struct distributor *d, const struct config *config);
/* What dvipactl quiesce set here: every port, or these (sorted). */
void distributor_quiesced_ports(const struct distributor *d, bool *ret_all,
                                const uint16_t **ret_ports, size_t *ret_n);

/* Another member's announcement number seq carried this extension section
 * (NULL/0: none). -EBADMSG when its distribution records are malformed
 * (the member then counts as announcing nothing about distribution). */
int distributor_peer(struct distributor *d, uint32_t node_id, uint64_t seq, const void *ext,
                     size_t len);
/* Derives the state again from the plex (NULL: not in the plex) and this
 * node's facts as last sent, and reconciles the data plane and lo with it. */
void distributor_update(struct distributor *d, const struct plex *p, const struct plex_facts *local,
                        uint64_t now_ms);
/* The same for the data plane only, lo left as it is: a DVIPA about to go
 * on INTERFACE gets its services first and leaves lo only after. */
void distributor_update_dp(struct distributor *d, const struct plex *p,
                           const struct plex_facts *local, uint64_t now_ms);
/* Periodic work: ready listeners, this node's plex addresses, flow counts,
 * lo repaired. True when this node's distribution facts changed: announce. */
bool distributor_tick(struct distributor *d, const struct plex *p, const struct plex_facts *local,
                      uint64_t now_ms);
/* The extension section of the next announcement. 0, -EMSGSIZE. */
int distributor_ext(struct distributor *d, void *buf, size_t size, size_t *ret_len);

/* dvipactl quiesce / resume [--port P] (port 0: every port). 0, -EALREADY,
 * -EINVAL (resume one port while every port is quiesced), -ENOMEM, -E2BIG;
 * the caller announces on 0. */
int distributor_quiesce(struct distributor *d, uint16_t port, bool on);
bool distributor_quiesced(const struct distributor *d, uint16_t port);

/* DIST_ROLE_* of this node for a DVIPA in the last derived state. */
unsigned distributor_role(const struct distributor *d, const struct ipaddr *dvipa);
/* The last derived state. */
const struct dist_view *distributor_view(const struct distributor *d);

/* ---- takeover (daemon/takeover.c) ---- */

/* The flows of dvipa in the data plane that are not closing (no FIN or RST
 * seen), as report entries (node: the flow's target, this node for local
 * ones). malloc'd; 0 or -errno. */
int distributor_flows_of(struct distributor *d, const struct ipaddr *dvipa,
                         struct wire_conn_entry **ret_v, size_t *ret_n);
/* This node hands dvipa over: its services are removed at once and a MOVING
 * entry forwards the flows it knew for a few seconds more. Call before
 * distributor_flows_of(): no connection is made after it. False when this
 * node did not distribute dvipa. */
bool distributor_release(struct distributor *d, const struct ipaddr *dvipa);
/* Connections of dvipa reported by their nodes (v[i].node), or handed over:
 * flows installed, to this node's stack for its own; those on ports no
 * service names get a MOVING entry until distributor_moving_done() or
 * until their node leaves. The number adopted, or -errno. */
int distributor_adopt(struct distributor *d, const struct plex *p, const struct ipaddr *dvipa,
                      const struct wire_conn_entry *v, size_t n, uint64_t now_ms);
void distributor_moving_done(struct distributor *d, const struct ipaddr *dvipa, uint32_t node);
/* dvipa is this node's again right after distributor_release(): its
 * services come back with the next update, the flows it knew stay. */
void distributor_reclaim(struct distributor *d, const struct ipaddr *dvipa);
/* Until until_ms, every service holds back the packets of connections it
 * does not know (the node that has them may report them yet: a member whose
 * dvipad died while its node stays up comes back). */
void distributor_hold_unknown(struct distributor *d, uint64_t until_ms);
/* The DVIPAs this node gave up while it still has connections on them: on
 * lo and decapsulated until the set no longer names them (the next update
 * applies it). 0 or -ENOMEM. */
struct target_addrs;
int distributor_set_kept(struct distributor *d, const struct target_addrs *kept);

/* Displays (VDPT, VCRT): malloc'd text or JSON, NULL and errno on failure.
 * name_of gives a member's name for a node id. */
char *distributor_show_ports(struct distributor *d, const struct plex *p,
                             const struct plex_facts *local, bool json,
                             const char *(*name_of)(const void *data, uint32_t id),
                             const void *data);
/* The derived state with the flow counts of this moment (show ports, the
 * metrics). 0 or -errno; clear *ret with dist_view_clear() either way. */
int distributor_derive_now(struct distributor *d, const struct plex *p,
                           const struct plex_facts *local, struct dist_view *ret);
/* The data plane's verdict counters (dataplane.h); -ENODEV while no data
 * plane is loaded on this node. */
int distributor_counters(struct distributor *d, uint64_t *out, size_t n);
char *distributor_show_connections(struct distributor *d, bool json,
                                   const char *(*name_of)(const void *data, uint32_t id),
                                   const void *data);

#endif
