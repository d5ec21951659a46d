/* The displays of the plex: `dvipactl show dynamic` (z/OS NETSTAT VIPADYN,
 * with its DISTSTAT column) and `dvipactl show plex`, as text or JSON. */
#ifndef DVIPA_DAEMON_SHOW_H
#define DVIPA_DAEMON_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/dist.h"
#include "core/plex.h"
#include "fabric/fabric.h"

/* Current connection counts of held DVIPAs. */
struct show_conn {
	struct ipaddr addr;
	uint32_t count;
};

struct show_conns {
	size_t n, cap;
	struct show_conn *v;
};

void show_conns_set(struct show_conns *c, const struct ipaddr *a, uint32_t count);
/* The same for an address not in c yet: no search (a pass over every DVIPA
 * would be quadratic). */
void show_conns_append(struct show_conns *c, const struct ipaddr *a, uint32_t count);
void show_conns_clear(struct show_conns *c);

struct show_ctx {
	const struct config *config;
	const struct plex *plex;        /* NULL while not in the plex */
	const struct plex_facts *facts; /* this node's, as last sent */
	bool connected;                 /* to corosync */
	bool quorate;
	const struct fabric_node *nodelist;
	size_t n_nodelist;
	const struct show_conns *conns;
	/* DVIPAs this node gave up while its connections on them go on
	 * (forwarded by the owner): MOVING, or QUIESCING when deactivated
	 * here. May be NULL. */
	const struct show_conns *kept;
	const struct dist_view *dist; /* the distributor's derived state (may be NULL) */
};

/* One row of `show dynamic`: a DVIPA as this node sees it. */
struct show_dyn_row {
	struct ipaddr addr;
	uint8_t prefix_len;
	uint8_t origin, rank, moveable, status; /* origin: show_origin_name() */
	uint32_t conns;
	uint32_t owner;
	uint64_t activated;
	unsigned role; /* DIST_ROLE_* */
};

/* The rows of `show dynamic`, in profile order, DVIPAs held here without a
 * definition last. *ret is malloc'd. 0 or -ENOMEM. */
int show_dynamic_rows(const struct show_ctx *ctx, struct show_dyn_row **ret, size_t *ret_n);
/* "VIPADEFINE", "VIPABACKUP", "DISTRIBUTE" or "-". */
const char *show_origin_name(uint8_t origin);
char *show_dynamic(const struct show_ctx *ctx, bool json);
char *show_plex(const struct show_ctx *ctx, bool json);

#endif
