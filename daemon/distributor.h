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
#include "net/addr.h"
#include "net/diag.h"

struct distributor;

/* addr and diag stay the caller's and must outlive the distributor. Removes
 * BPF programs a crashed run left on INTERFACE. run_path: a file whose
 * directory keeps state across a crash (see target_new()), may be NULL.
 * 0 or -errno (logged). */
int distributor_new(const struct config *config, int ifindex, struct addr_handle *addr,
                    struct diag_handle *diag, const char *run_path, struct distributor **ret);
/* Takes back what it did: target DVIPAs off lo, programs detached, sysctls
 * restored. NULL is fine. */
void distributor_free(struct distributor *d);

/* Another member's announcement number seq carried this extension section
 * (NULL/0: none). -EBADMSG when its distribution records are malformed
 * (the member then counts as announcing nothing about distribution). */
int distributor_peer(struct distributor *d, uint32_t node_id, uint64_t seq, const void *ext,
                     size_t len);
/* Derives the state again from the plex (NULL: not in the plex) and this
 * node's facts as last sent, and reconciles the data plane and lo with it. */
void distributor_update(struct distributor *d, const struct plex *p, const struct plex_facts *local,
                        uint64_t now_ms);
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

/* Displays (VDPT, VCRT): malloc'd text or JSON, NULL and errno on failure.
 * name_of gives a member's name for a node id. */
char *distributor_show_ports(struct distributor *d, const struct plex *p,
                             const struct plex_facts *local, bool json,
                             const char *(*name_of)(const void *data, uint32_t id),
                             const void *data);
char *distributor_show_connections(struct distributor *d, bool json,
                                   const char *(*name_of)(const void *data, uint32_t id),
                                   const void *data);

#endif
