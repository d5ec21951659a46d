/* A target's health as its distributor measures it (core/dist_health.c):
 * dvipa's counterpart of z/OS's target server responsiveness (TSR), from
 * what a distributor can see. Replies go from the target straight to the
 * client, so the distributor sees only the client's side of each handshake:
 * its first ACK says the target answered the SYN (the connection is
 * established), a second SYN says it did not answer (yet), neither says it
 * refused (answered with a RST). A connection is judged once it is
 * DIST_HEALTH_SETTLE_MS old ("settled"). docs/distributor.md tells the
 * mapping to TSR, TCSR, CER and SEF.
 *
 * Health is 0..100: a smoothed success rate of settled connections, where
 * an interval without any moves it back towards 100, so that a target that
 * got few connections recovers and one at low health still gets an
 * occasional connection that tests it. dist_slots() scales every target's
 * share by it.
 *
 * No syscalls, no clock: the caller measures and says when. */
#ifndef DVIPA_CORE_DIST_HEALTH_H
#define DVIPA_CORE_DIST_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

#define DIST_HEALTH_MAX 100
/* Below this a target is unhealthy: HOTSTANDBY passes it over, WEIGHTEDACTIVE
 * stops balancing its active connections, the log says so. */
#define DIST_HEALTH_LOW 50
/* A new connection is judged at this age: past the client's first SYN
 * retransmission (1 s, the initial RTO of RFC 6298 and of Linux) and the
 * answer to it, so that an unanswered SYN is seen as such. */
#define DIST_HEALTH_SETTLE_MS 1250

/* The new connections of one target that settled in one interval, by what
 * the client's packets said. The four are disjoint. */
struct dist_health_sample {
	uint32_t established; /* the handshake completed at the first SYN */
	uint32_t slow;        /* completed after the client sent its SYN again */
	uint32_t dropped;     /* not completed, the SYN sent again: never answered */
	uint32_t refused;     /* not completed, no second SYN: refused (RST) or abandoned */
};

struct dist_health {
	uint16_t score; /* in hundredths, 0..10000: the smoothing's state */
	uint8_t health; /* score rounded, 0..DIST_HEALTH_MAX */
	/* Connections that failed or were slow since the target was last at
	 * full health: why it is not (dist_health_reason()). */
	uint32_t refused, dropped, slow;
};

/* Full health, nothing seen. */
void dist_health_init(struct dist_health *h);
/* One interval's settled connections (s NULL or all zero: none). Each one
 * moves the score a quarter of the way to its value (100 established, 50
 * slow, 0 failed), in any order; an interval without any moves it a
 * sixteenth of the way to 100. Returns the health before. */
uint8_t dist_health_update(struct dist_health *h, const struct dist_health_sample *s);
/* Why the health is below 100: "connections refused", "connections
 * dropped", "connections refused or dropped", "connections slow to
 * establish", or "" when nothing failed. */
const char *dist_health_reason(const struct dist_health *h);

/* The health of one target of one service this node distributes. */
struct dist_health_entry {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t node_id;
	struct dist_health h;
};

/* Every target this node measures, sorted by (DVIPA, port, node id). */
struct dist_health_table {
	struct dist_health_entry *v;
	size_t n;
};

/* One target's settled connections in one interval. */
struct dist_health_settled {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t node_id;
	struct dist_health_sample sample;
};

struct dist_view;

/* Called for each target whose health fell below DIST_HEALTH_LOW or came back
 * to it; e holds the new state, before the health before. */
typedef void dist_health_fn(void *data, const struct dist_health_entry *e, uint8_t before);

/* One measurement interval: every target of the services that v says this
 * node distributes (v->self, active) takes the sample of its entry in
 * c[0 .. n) (any order; the first of several; no entry: an interval
 * without connections).
 * Targets seen for the first time start at full health; the entries of
 * targets and services no longer there are dropped. fn may be NULL. 0, or
 * -ENOMEM with t unchanged (and fn not called). */
int dist_health_table_update(struct dist_health_table *t, const struct dist_view *v,
                             const struct dist_health_settled *c, size_t n, dist_health_fn *fn,
                             void *data);
/* The entry of a target in v[0 .. n) (sorted as a table's), or NULL. */
const struct dist_health_entry *dist_health_find(const struct dist_health_entry *v, size_t n,
                                                 const struct ipaddr *dvipa, uint16_t port,
                                                 uint32_t node_id);
/* Frees the entries and zeroes *t. NULL is fine. */
void dist_health_table_clear(struct dist_health_table *t);

#endif
