/* Connections that survive a move of their DVIPA (docs/distributor.md,
 * "Takeover and takeback"). When the owner of a DVIPA changes, every node
 * with connections on it tells the new owner which (a WIRE_CONNS report);
 * the old distributor, when alive, hands its flow table over the same way.
 * The new owner installs them in its data plane: its distribution goes on
 * where the old one stopped, and connections an earlier holder keeps on
 * ports it does not distribute are forwarded to it (MOVING) until that
 * holder says its last one ended. */
#ifndef DVIPA_DAEMON_TAKEOVER_H
#define DVIPA_DAEMON_TAKEOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/plex.h"
#include "daemon/conncount.h"
#include "daemon/distributor.h"
#include "net/diag.h"

struct takeover;

/* Sends one message to the plex (agreed order); 0 or -errno. */
typedef int (*takeover_send_fn)(void *data, const void *msg, size_t len);

/* diag, conncount and dist stay the caller's. 0 or -ENOMEM. */
int takeover_new(struct diag_handle *diag, struct conncount *conncount, struct distributor *dist,
                 takeover_send_fn send, void *send_data, struct takeover **ret);
void takeover_free(struct takeover *t);

/* After a plex input, before this node acts on it: for each owner change
 * tr[0..n), reports this node's connections (and, if it distributed the
 * DVIPA, its flows) to the new owner, or adopts its own when the new owner
 * is this node. True when the DVIPAs kept on lo changed (the caller updates
 * the distributor before it removes any from INTERFACE). */
bool takeover_moved(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                    const struct plex_transition *tr, size_t n, uint64_t now_ms);
/* A WIRE_CONNS message from node from. True when it completed a report
 * this node waited for (the caller reconciles: the DVIPA may go on
 * INTERFACE now). */
bool takeover_receive(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                      uint32_t from, const void *msg, size_t len, uint64_t now_ms);
/* Whether this node still waits for the report of dvipa's earlier holder
 * before it puts dvipa on INTERFACE; then *ret_until_ms says until when. */
bool takeover_awaits(struct takeover *t, const struct ipaddr *dvipa, uint64_t now_ms,
                     uint64_t *ret_until_ms);
/* Reports that came before this node's view made it their DVIPA's owner
 * are applied as soon as it does: the caller asks on every change of the
 * view. True when an awaited one was among them. */
bool takeover_retry(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                    uint64_t now_ms);
/* Periodic: DVIPAs kept for connections whose last one ended are let go
 * (their owner is told). */
void takeover_tick(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                   uint64_t now_ms);
/* A DVIPA this node gave up while connections of its own were open on it:
 * kept on lo, its packets forwarded by the owner, until the last one ends
 * (z/OS shows it MOVING). */
struct takeover_kept {
	struct ipaddr dvipa;
	uint32_t owner; /* the node its report went to */
	uint32_t conns; /* at the last count */
};

size_t takeover_kept(const struct takeover *t, const struct takeover_kept **ret);

#endif
