/* The sysplex distributor's derived state (core/dist.c).
 *
 * For every distributed DVIPA:port: which node distributes it, its targets
 * with their state, and the dispatch table of its distribution method. Like
 * the owner of a DVIPA (core/plex.c), it is a pure function of what every
 * member announced: its plex facts and its distribution facts (struct
 * dist_facts, carried in the extension section of the FACTS message by
 * core/wire_dist.c). docs/distributor.md states the rules.
 *
 *   distributor  the member that holds the DVIPA active on its LAN interface
 *                (its facts say so; this node's own kernel for itself), else
 *                the designated owner. Its VIPADISTRIBUTE statements apply.
 *   target       a member named by DESTIP (its plex address of the DVIPA's
 *                family), or every member for DESTIP ALL; not LEAVEGROUP.
 *   ready        the target listens on DVIPA:port (Rdy > 0) and is not
 *                quiesced for the port: only ready targets get slots.
 *
 * No syscalls, no clock. */
#ifndef DVIPA_CORE_DIST_H
#define DVIPA_CORE_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/dist_health.h"
#include "core/ipaddr.h"
#include "core/plex.h"
#include "core/wlm.h"

/* Slots of a dispatch table (the data plane's DP_DISPATCH_SLOTS). */
#define DIST_SLOTS 256
/* Targets of one service: a plex's size (the data plane's DP_MAX_TARGETS). */
#define DIST_MAX_TARGETS PLEX_MAX_NODES
/* DVIPA:port services in one view, and ports one node reports or quiesces:
 * the size of the data plane's service table. */
#define DIST_MAX_PORTS 1024
_Static_assert(WLM_MAX_SERVERS == DIST_MAX_PORTS, "a WLM report lists each service once at most");

/* A DVIPA:port this node serves as a target, with its listener count. */
struct dist_ready {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t ready; /* listening sockets that take dvipa:port (Rdy), > 0 */
};

/* What a node announces about distribution. Every array is sorted and
 * unique (dist_facts_sort()); dist_facts_check() states the rules. */
struct dist_facts {
	/* Its plex address per family (family 0: none): the outer address of
	 * encapsulated packets, what DESTIP names. */
	struct ipaddr plex_v4, plex_v6;
	/* Its VIPADISTRIBUTE statements, applied while it distributes: sorted
	 * by (DVIPA, first port); ports ascending, dests by address. pos is 0. */
	size_t n_dists;
	struct config_dist *dists;
	/* dvipactl quiesce: every port, or these ports (sorted, unique). */
	bool quiesce_all;
	size_t n_quiesced;
	uint16_t *quiesced;
	/* Ports it serves as a target and listens on, sorted by (DVIPA, port). */
	size_t n_ready;
	struct dist_ready *ready;
	/* Its spare CPU and how its servers keep up (BASEWLM, SERVERWLM):
	 * zeroed when it reports nothing. */
	struct wlm_report wlm;
};

/* Frees the arrays and zeroes *f. NULL is fine. */
void dist_facts_clear(struct dist_facts *f);
/* Deep copy into *dst (cleared first on success). 0 or -ENOMEM; dst untouched
 * on failure. */
int dist_facts_copy(struct dist_facts *dst, const struct dist_facts *src);
/* The VIPADISTRIBUTE statements of a profile, in canonical order, into
 * f->dists (replacing what was there). 0, -ENOMEM, or -EINVAL when the
 * profile breaks a rule of dist_facts_check(). */
int dist_facts_set_config(struct dist_facts *f, const struct config *c);
/* Sorts quiesced and ready. -EINVAL on a duplicate. */
int dist_facts_sort(struct dist_facts *f);
/* 0 when f is well formed, else -EINVAL (or -ENOMEM): addresses of their family, at most
 * CONFIG_DISTS_MAX statements of 1..CONFIG_PORTS_MAX port ranges (1 <= first
 * <= last, ascending, disjoint, also across the statements of one DVIPA)
 * and DESTIP ALL or 1..CONFIG_DEST_MAX dests of the DVIPA's family (sorted,
 * unique, weight 1..CONFIG_WEIGHT_MAX; HOTSTANDBY: one PREFERRED, the others
 * BACKUP 1..254, never DESTIP ALL; other methods neither), methods and
 * TIMEDAFFINITY in range; at most DIST_MAX_PORTS quiesced ports (non-zero)
 * and ready entries (port and count non-zero); every array sorted, unique;
 * the WLM report as wlm_report_check() says. */
int dist_facts_check(const struct dist_facts *f);
/* Quiesces (on) or resumes a port, or every port (port 0). 0; -EALREADY when
 * nothing changes; -EINVAL to resume one port while every port is quiesced;
 * -E2BIG, -ENOMEM. */
int dist_facts_quiesce(struct dist_facts *f, uint16_t port, bool on);
bool dist_facts_is_quiesced(const struct dist_facts *f, uint16_t port);

/* Another member's distribution facts, as its announcement number seq
 * carried them. */
struct dist_peer {
	uint32_t node_id;
	uint64_t seq;
	struct dist_facts facts;
};

/* Connections through the distributor to one target of one service (its
 * flow table): WEIGHTEDACTIVE balances the active ones; displays show both. */
struct dist_conns {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t node_id;
	uint32_t active; /* no FIN or RST seen yet */
	uint32_t total;  /* every flow it knows, closing ones included */
	uint32_t recent; /* new flows since the counts before */
};

struct dist_input {
	const struct plex *plex; /* members, quorum, owners, others' plex facts */
	/* This node's facts as it last sent them, and its distribution facts:
	 * they stand for its own entry and say which DVIPAs its kernel holds. */
	const struct plex_facts *local;
	const struct dist_facts *local_dist;
	/* Other members' distribution facts; used when node_id and seq match
	 * the plex facts applied for that member. Any order. */
	const struct dist_peer *peers;
	size_t n_peers;
	/* This node's flow counts, for the services it distributes (may be
	 * NULL): WEIGHTEDACTIVE uses them; without them weights alone count. */
	const struct dist_conns *conns;
	size_t n_conns;
	/* This node's health measurements of the targets of the services it
	 * distributes (a dist_health_table's entries, sorted; may be NULL):
	 * targets without one, and other distributors' targets, count as
	 * DIST_HEALTH_MAX. */
	const struct dist_health_entry *health;
	size_t n_health;
};

#define DIST_TARGET_LOCAL    0x01u /* the target is the distributor itself */
#define DIST_TARGET_QUIESCED 0x02u /* quiesced for this port */
#define DIST_TARGET_CONNS    0x04u /* active and total are known (the distributor's view) */
#define DIST_TARGET_SILENT   0x08u /* the member announced nothing about distribution */
#define DIST_TARGET_WLM      0x10u /* BASEWLM / SERVERWLM: its wlm weight applies */
#define DIST_TARGET_CAPACITY 0x20u /* its node reported its spare CPU (capacity) */

struct dist_target {
	uint32_t node_id;
	struct ipaddr plex_addr; /* of the DVIPA's family: the outer destination */
	uint32_t weight;         /* DESTIP WEIGHT (CONFIG_WEIGHT_DEFAULT when not written) */
	bool preferred;          /* HOTSTANDBY PREFERRED */
	uint8_t backup_rank;     /* HOTSTANDBY BACKUP rank, 0 when not a backup */
	uint32_t ready;          /* its Rdy for the port, as it announced */
	uint32_t active, total;  /* with DIST_TARGET_CONNS */
	uint32_t recent;         /* new connections since the counts before (idem) */
	/* 0..DIST_HEALTH_MAX: the distributor's measure for its own services,
	 * else DIST_HEALTH_MAX; 0 with DIST_TARGET_SILENT. */
	uint8_t health;
	uint32_t flags; /* DIST_TARGET_* */
	uint16_t slots; /* its slots in the dispatch table */
	/* Its node's reported spare CPU (millicpus, with DIST_TARGET_CAPACITY),
	 * its server's efficiency for the port (0 .. 100; 100 when not
	 * reported), and for BASEWLM and SERVERWLM the WLM weight (0 ..
	 * WLM_WEIGHT_MAX) they give, with DIST_TARGET_WLM. */
	uint32_t capacity;
	uint8_t efficiency;
	uint8_t wlm;
};

struct dist_service {
	struct ipaddr dvipa;
	uint16_t port;
	uint8_t method;            /* enum config_distmethod, of the distributor's statement */
	uint32_t timedaffinity;    /* its TIMEDAFFINITY, seconds; 0 = none */
	uint32_t distributor;      /* whose VIPADISTRIBUTE applies */
	bool distributor_active;   /* it holds the DVIPA active: connections arrive there */
	size_t first_target;       /* its targets: targets[first_target .. + n_targets), */
	size_t n_targets;          /* by node id */
	uint16_t n_slots;          /* 0: no target ready */
	uint8_t slots[DIST_SLOTS]; /* indexes into its targets */
};

struct dist_view {
	uint32_t self;
	size_t n_services; /* sorted by (DVIPA, port) */
	struct dist_service *services;
	size_t n_targets;
	struct dist_target *targets;
	bool truncated; /* more than DIST_MAX_PORTS ports: the last ones left out */
};

/* Fills *ret (the caller clears it with dist_view_clear()). Without quorum,
 * or without a plex, the view is empty. 0 or -ENOMEM, -EINVAL. */
int dist_view(const struct dist_input *in, struct dist_view *ret);
void dist_view_clear(struct dist_view *v);

#define DIST_ROLE_DIST 0x1u /* distributes the DVIPA (holds it active, has services) */
#define DIST_ROLE_DEST 0x2u /* is a target of one of its ports */

/* The role of node for a DVIPA in the view (0: none). */
unsigned dist_view_role(const struct dist_view *v, uint32_t node, const struct ipaddr *dvipa);
/* A service, or NULL. */
const struct dist_service *dist_view_find(const struct dist_view *v, const struct ipaddr *dvipa,
                                          uint16_t port);

/* The dispatch table of a method over targets t[0 .. n) (n <= DIST_MAX_TARGETS):
 * slots[] gets indexes into t, *ret_n how many (0: nobody is ready), and
 * t[i].slots each target's share. Only ready, unquiesced targets get slots.
 *   ROUNDROBIN: each once, in order.
 *   BASEWLM, SERVERWLM: shares proportional to the WLM weights (wlm_weigh())
 *     of capacity (and efficiency), interleaved; round robin while no
 *     eligible target has a weight (nobody reported yet).
 *   WEIGHTEDACTIVE: shares proportional to WEIGHT, interleaved; with
 *     use_active, biased towards targets whose active connections lag behind
 *     their share, so that active connections become proportional (looking
 *     ahead as many connections as `recent` says arrived lately); targets
 *     below DIST_HEALTH_LOW are left out of that balance.
 *   HOTSTANDBY: the PREFERRED target alone while it is ready and healthy
 *     (health >= DIST_HEALTH_LOW), else the ready, healthy BACKUP with the
 *     highest rank (then the lowest index), the preferred one keeping a
 *     share as long as it is ready; with nobody healthy, the PREFERRED
 *     target while it is ready, else the ready BACKUP of highest rank.
 * Then every share is multiplied by its target's health: a target at health
 * h > 0 keeps at least one slot; at 0, none, unless every share would be 0
 * (the shares then stay as the method made them).
 * -EINVAL on a bad method or n. */
int dist_slots(uint8_t method, struct dist_target *t, size_t n, bool use_active,
               uint8_t slots[DIST_SLOTS], uint16_t *ret_n);

/* Whether t may keep a client's TIMEDAFFINITY: ready, not quiesced and
 * healthy (health >= DIST_HEALTH_LOW). A ready target can have no slot for
 * a while, under WEIGHTEDACTIVE or as a HOTSTANDBY backup, and still keep
 * its clients; one that refuses or drops connections must not: its refused
 * connections never close on the distributor, so the affinity's count of
 * open connections would hold the client there. */
bool dist_target_ready(const struct dist_target *t);

/* "DIST", "DEST", "DIST&DEST" or "" for a DIST_ROLE_* combination. */
const char *dist_role_name(unsigned role);

#endif
