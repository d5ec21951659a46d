/* What the distributor measures from its flow table (daemon/flowstats.c):
 * every FLOWSTATS_MS while this node distributes a service, the flows per
 * service and target (core/dist_count.c: active and total for WEIGHTEDACTIVE
 * and the displays, recent since the read before), and from the connections
 * that settled since then the health of the targets (core/dist_health.c),
 * logged when it falls below DIST_HEALTH_LOW and when it is back.
 * docs/distributor.md, Health, tells the rules. */
#ifndef DVIPA_DAEMON_FLOWSTATS_H
#define DVIPA_DAEMON_FLOWSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/dist_count.h"
#include "core/dist_health.h"
#include "core/plex.h"
#include "dataplane/dataplane.h"

/* How often the flow table is read. */
#define FLOWSTATS_MS 500

/* Zero-initialised: nothing measured yet. The fields are flowstats.c's. */
struct flowstats {
	struct dist_count conns, prev_conns; /* the last read, the one before */
	bool have_conns;
	uint64_t next_ms; /* when to read next */
	uint64_t last_ms; /* when the last read was (0: none) */
	struct dist_health_table health;
};

/* Periodic work: every FLOWSTATS_MS, while the view v has node self
 * distribute a service (as its distributor, active), reads the flows of dp
 * (NULL: not loaded, no counts) and measures the health of the targets,
 * logging those that cross DIST_HEALTH_LOW (named from p, NULL outside the
 * plex, or local for this node); otherwise forgets the counts and the
 * health. */
void flowstats_tick(struct flowstats *fs, struct dp *dp, const struct dist_view *v, uint32_t self,
                    const struct plex *p, const struct plex_facts *local, uint64_t now_ms);
/* The last counts, or NULL when there are none (not distributing, the
 * data plane not loaded, a read failed). */
const struct dist_count *flowstats_conns(const struct flowstats *fs);
/* The targets' health as last measured (entries sorted, maybe none). */
const struct dist_health_table *flowstats_health(const struct flowstats *fs);
/* The flows of dp counted at this moment into *ret, nothing settling and
 * every flow recent, for displays: WEIGHTEDACTIVE keeps its own rhythm.
 * 0, -ENODEV without dp (then *ret is empty), -errno of reading. The caller
 * clears *ret (dist_count_clear()). */
int flowstats_count_now(struct dp *dp, struct dist_count *ret);
/* Frees what fs holds and zeroes it. NULL is fine. */
void flowstats_clear(struct flowstats *fs);

#endif
