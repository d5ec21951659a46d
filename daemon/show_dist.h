/* The distributor's displays: `dvipactl show ports` (z/OS NETSTAT VDPT, the
 * destination port table) and `dvipactl show connections` (NETSTAT VCRT, the
 * connection routing table), as text or JSON. */
#ifndef DVIPA_DAEMON_SHOW_DIST_H
#define DVIPA_DAEMON_SHOW_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/ipaddr.h"

/* One connection: from the distributor's flow table, or from a target's
 * own stack. */
struct show_dist_conn {
	struct ipaddr dvipa;
	uint16_t port;
	struct ipaddr client;
	uint16_t client_port;
	uint32_t target;
	const char *state; /* ACTIVE / CLOSING (flows), the TCP state (a target's own) */
	bool distributed;  /* from this node's flow table (it distributes) */
};

struct show_dist_ctx {
	uint32_t self;
	const struct dist_view *view;
	/* A member's name ("" when unknown). */
	const char *(*name_of)(const void *data, uint32_t id);
	const void *data;
	const struct show_dist_conn *rows; /* show connections */
	size_t n_rows;
};

char *show_dist_ports(const struct show_dist_ctx *ctx, bool json);
char *show_dist_connections(const struct show_dist_ctx *ctx, bool json);

#endif
