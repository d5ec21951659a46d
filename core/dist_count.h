/* The distributor's flow counts per service and target (core/dist_count.c):
 * what its flow table says about each target, for WEIGHTEDACTIVE (active,
 * total, and recent: new since the counts before) and for health (the
 * connections that settled in a window, see core/dist_health.h). The daemon
 * walks the data plane's flow table, up to 65536 flows, every 500 ms on its
 * event loop, for up to DIST_MAX_PORTS services of DIST_MAX_TARGETS targets:
 * each flow finds its target through a hash index.
 *
 * No syscalls, no clock: the caller reads the flows and says when. */
#ifndef DVIPA_CORE_DIST_COUNT_H
#define DVIPA_CORE_DIST_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/dist_health.h"
#include "core/dist_index.h"
#include "core/ipaddr.h"

/* One flow of the distributor's flow table, as counting sees it. */
struct dist_count_flow {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t node_id;    /* its target */
	bool closing;        /* FIN or RST seen */
	bool established;    /* the client completed the handshake (its first ACK) */
	bool syn_retrans;    /* the client sent its SYN again before that */
	uint64_t created_ns; /* on the clock of now_ns */
};

/* Zero-initialised: empty. conns[i] and settled[i] are one target's, in the
 * order of their first flows; settled[i] holds the flows created in
 * [settle_from_ns, settle_to_ns): old enough now to be judged. Flows younger
 * than DIST_HEALTH_SETTLE_MS at now_ns count as active before their
 * handshake completes; older ones only once it did (the others failed: the
 * target refused or dropped them). */
struct dist_count {
	struct dist_conns *conns;
	struct dist_health_settled *settled;
	size_t n;
	uint64_t now_ns, settle_from_ns, settle_to_ns;
	/* Private: the arrays' capacity, where each target is. */
	size_t cap;
	struct dist_index index;
};

/* Starts a count at now_ns with the settling window [settle_from_ns,
 * settle_to_ns) (empty: nothing settles): forgets the targets, keeps the
 * memory for them. */
void dist_count_start(struct dist_count *c, uint64_t now_ns, uint64_t settle_from_ns,
                      uint64_t settle_to_ns);
/* Counts one flow. 0, or -ENOMEM (the flow not counted). */
int dist_count_add(struct dist_count *c, const struct dist_count_flow *f);
/* Sets every target's recent: its flows beyond its total in before (a
 * count done earlier; NULL: every flow is recent), never below 0, as the
 * flow table's LRU may have dropped old flows meanwhile. */
void dist_count_recent(struct dist_count *c, const struct dist_count *before);
/* Frees the arrays and zeroes *c. NULL is fine. */
void dist_count_clear(struct dist_count *c);

#endif
