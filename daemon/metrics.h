/* The metrics endpoint: Prometheus text of this node's part in the plex
 * (metrics.c renders it; docs/metrics.md lists every metric) and the small
 * HTTP server that serves it on the event loop (metrics_http.c). */
#ifndef DVIPA_DAEMON_METRICS_H
#define DVIPA_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/ipaddr.h"
#include "daemon/events.h"
#include "daemon/loop.h"
#include "daemon/show.h"

struct metrics_input {
	uint32_t self;
	const char *self_name;
	bool connected; /* to corosync */
	bool quorate;
	size_t n_members;
	const struct show_dyn_row *rows; /* show dynamic */
	size_t n_rows;
	const struct dist_view *dist; /* NULL: none */
	const uint64_t *counters;     /* DP_CNT_MAX of them; NULL: no data plane */
	const struct events_counts *events;
	const char *(*name_of)(const void *data, uint32_t id); /* "" when unknown */
	const void *data;
};

/* malloc'd text, NULL and errno on failure. */
char *metrics_render(const struct metrics_input *in);

/* Gives the text of one scrape: malloc'd, NULL on failure. */
typedef char *(*metrics_fn)(void *data);

struct metrics_http;

/* Listens on addr:port (TCP). 0 or -errno. */
int metrics_http_open(struct loop *l, const struct ipaddr *addr, uint16_t port, metrics_fn fn,
                      void *data, struct metrics_http **ret);
/* Drops connections that have not finished within their time. */
void metrics_http_tick(struct metrics_http *h, uint64_t now_ms);
void metrics_http_close(struct metrics_http *h);

#endif
