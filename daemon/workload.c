/* This node's workload report (see daemon/workload.h). */
#include "daemon/workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "daemon/capacity.h"
#include "daemon/log.h"

/* A ready port of a SERVERWLM service: its listeners' figures over the
 * interval. */
struct workload_port {
	struct ipaddr dvipa;
	uint16_t port;
	uint64_t queued, room; /* summed over the interval's samples */
	bool sampled;          /* at least one sample this interval */
	bool has_drops;        /* drops_last is known; drops_base too once set */
	bool has_base;
	uint64_t drops_base, drops_last; /* its listeners' drops, summed */
};

struct workload {
	struct diag_handle *diag;
	bool in_scope; /* a target of a BASEWLM or SERVERWLM service */
	/* CPU counters at the start of the interval, and where from. */
	bool have_base;
	bool moved; /* dvipad went to another cgroup: the next figure goes out */
	struct wlm_sample base;
	uint64_t base_ms;
	char base_where[CAPACITY_WHERE_MAX], now_where[CAPACITY_WHERE_MAX];
	uint64_t next_sample_ms, next_interval_ms, interval_start_ms;
	struct wlm_damp damp; /* holds back the changes of a flapping node */
	/* The ports whose servers are measured, sorted like the services. */
	struct workload_port *ports;
	size_t n_ports, cap_ports;
};

int workload_new(struct diag_handle *diag, struct workload **ret)
{
	struct workload *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->diag = diag;
	*ret = w;
	return 0;
}

void workload_free(struct workload *w)
{
	if (!w)
		return;
	free(w->ports);
	free(w);
}

static bool workload_is_target(const struct dist_view *v, const struct dist_service *s,
                               uint32_t self)
{
	for (size_t j = 0; j < s->n_targets; j++)
		if (v->targets[s->first_target + j].node_id == self)
			return true;
	return false;
}

static bool workload_is_ready(const struct dist_ready *ready, size_t n, const struct ipaddr *dvipa,
                              uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ready[i].port == port && ipaddr_equal(&ready[i].dvipa, dvipa))
			return true;
	return false;
}

static struct workload_port *workload_find(struct workload *w, const struct ipaddr *dvipa,
                                           uint16_t port)
{
	for (size_t i = 0; i < w->n_ports; i++)
		if (w->ports[i].port == port && ipaddr_equal(&w->ports[i].dvipa, dvipa))
			return &w->ports[i];
	return NULL;
}

/* Whether this node is a target of a WLM service; the ready ports of
 * SERVERWLM services become w->ports (keeping the figures of those that
 * stay). */
static bool workload_scope(struct workload *w, const struct dist_view *v, uint32_t self,
                           const struct dist_ready *ready, size_t n_ready)
{
	struct workload_port *keep = NULL;
	size_t n = 0, cap = 0;
	bool in = false;

	for (size_t i = 0; i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];
		struct workload_port p = {.dvipa = s->dvipa, .port = s->port};
		const struct workload_port *old;

		if ((s->method != CONFIG_DIST_BASEWLM && s->method != CONFIG_DIST_SERVERWLM) ||
		    !workload_is_target(v, s, self))
			continue;
		in = true;
		if (s->method != CONFIG_DIST_SERVERWLM ||
		    !workload_is_ready(ready, n_ready, &s->dvipa, s->port) || n == WLM_MAX_SERVERS)
			continue;
		old = workload_find(w, &s->dvipa, s->port);
		if (array_grow(&keep, &cap, n + 1, sizeof(*keep)) < 0)
			break;
		keep[n++] = old ? *old : p;
	}
	free(w->ports);
	w->ports = keep;
	w->n_ports = n;
	w->cap_ports = cap;
	return in;
}

/* One look at the accept queues of the listeners behind every port. */
static void workload_sample_servers(struct workload *w)
{
	struct diag_listener *l = NULL;
	size_t n = 0;
	int err;

	if (!w->n_ports)
		return;
	err = diag_listeners(w->diag, &l, &n);
	if (err < 0) {
		log_debug("WLM: listing listeners: %s", strerror(-err));
		return;
	}
	for (size_t i = 0; i < w->n_ports; i++) {
		struct workload_port *p = &w->ports[i];
		uint64_t drops = 0;
		bool has_drops = true;

		for (size_t j = 0; j < n; j++) {
			if (!diag_listener_accepts(&l[j], &p->dvipa, p->port))
				continue;
			p->queued += l[j].queued;
			/* The queue holds one more than the backlog. */
			p->room += (uint64_t)l[j].backlog + 1;
			drops += l[j].drops;
			has_drops &= l[j].has_drops;
		}
		p->sampled = true;
		p->has_drops = has_drops;
		p->drops_last = drops;
		if (has_drops && !p->has_base) {
			p->drops_base = drops;
			p->has_base = true;
		}
	}
	free(l);
}

/* Restarts the interval: CPU counters of now as the base. */
static void workload_rebase(struct workload *w, uint64_t now_ms)
{
	w->have_base = capacity_sample(&w->base, w->base_where) == 0;
	w->base_ms = now_ms;
}

/* The spare CPU of the interval, into r when it moved by a step, or in any
 * case in the first interval in a new cgroup (a new limit is news: true). */
static bool workload_capacity(struct workload *w, uint64_t now_ms, struct wlm_report *r)
{
	struct wlm_sample now;
	bool forced = false;
	uint32_t q;

	if (capacity_sample(&now, w->now_where) < 0) {
		w->have_base = false;
		return false;
	}
	/* Counters of another cgroup do not compare: start again. */
	if (w->have_base && strcmp(w->now_where, w->base_where) != 0)
		w->moved = true;
	else if (w->have_base && now_ms > w->base_ms) {
		q = wlm_quantize_capacity(wlm_spare(&w->base, &now, now_ms - w->base_ms));
		forced = w->moved && (!r->has_capacity || r->capacity != q);
		if (!r->has_capacity || forced || wlm_capacity_changed(r->capacity, q)) {
			r->has_capacity = true;
			r->capacity = q;
		}
		w->moved = false;
	}
	w->base = now;
	w->base_ms = now_ms;
	w->have_base = true;
	memcpy(w->base_where, w->now_where, sizeof(w->base_where));
	return forced;
}

/* The servers' efficiency over the interval into r (those below full),
 * each replaced only when it moved by a step. */
static int workload_servers(struct workload *w, uint64_t elapsed_ms, const struct wlm_report *old,
                            struct wlm_report *r)
{
	for (size_t i = 0; i < w->n_ports; i++) {
		struct workload_port *p = &w->ports[i];
		unsigned before = wlm_report_efficiency(old, &p->dvipa, p->port), e = before;

		if (p->sampled) {
			uint64_t drops =
			    p->has_drops && p->has_base && p->drops_last >= p->drops_base
			        ? p->drops_last - p->drops_base
			        : 0;

			e = wlm_quantize_efficiency(
			    wlm_efficiency(p->queued, p->room, drops, elapsed_ms));
			if (!wlm_efficiency_changed(before, e))
				e = before;
		}
		p->queued = p->room = 0;
		p->sampled = false;
		p->drops_base = p->drops_last;
		p->has_base = p->has_drops;
		if (e >= WLM_EFFICIENCY_FULL)
			continue;
		if (!r->servers) {
			r->servers = calloc(w->n_ports, sizeof(*r->servers));
			if (!r->servers)
				return -ENOMEM;
		}
		r->servers[r->n_servers++] = (struct wlm_server){
		    .dvipa = p->dvipa, .port = p->port, .efficiency = (uint8_t)e};
	}
	return 0;
}

/* A server that stopped keeping up: its news goes out despite the damping. */
static bool workload_stopped(const struct wlm_report *old, const struct wlm_report *r)
{
	for (size_t i = 0; i < r->n_servers; i++)
		if (r->servers[i].efficiency == 0 &&
		    wlm_report_efficiency(old, &r->servers[i].dvipa, r->servers[i].port) != 0)
			return true;
	return false;
}

static void workload_log(const struct wlm_report *old, const struct wlm_report *r)
{
	char a[IPADDR_STRLEN];

	if (r->has_capacity && (!old->has_capacity || old->capacity != r->capacity))
		log_debug("WLM: spare CPU %u.%03u", r->capacity / 1000, r->capacity % 1000);
	for (size_t i = 0; i < r->n_servers; i++) {
		const struct wlm_server *s = &r->servers[i];

		if (wlm_report_efficiency(old, &s->dvipa, s->port) != s->efficiency)
			log_debug("WLM: server of %s port %u keeps up at %u%%",
			          ipaddr_format(&s->dvipa, a, sizeof(a)), s->port, s->efficiency);
	}
}

bool workload_tick(struct workload *w, const struct dist_view *v, uint32_t self,
                   const struct dist_ready *ready, size_t n_ready, uint64_t now_ms,
                   struct wlm_report *report)
{
	struct wlm_report r = {0};
	bool changed, urgent;

	if (!workload_scope(w, v, self, ready, n_ready)) {
		w->in_scope = false;
		changed = report->has_capacity || report->n_servers;
		wlm_report_clear(report);
		return changed;
	}
	if (!w->in_scope) {
		/* The first report covers a whole interval as a target. */
		w->in_scope = true;
		workload_rebase(w, now_ms);
		w->interval_start_ms = now_ms;
		w->next_interval_ms = now_ms + WORKLOAD_INTERVAL_MS;
		w->next_sample_ms = now_ms;
	}
	if (now_ms >= w->next_sample_ms) {
		workload_sample_servers(w);
		w->next_sample_ms = now_ms + WORKLOAD_SAMPLE_MS;
	}
	if (now_ms < w->next_interval_ms)
		return false;
	r.has_capacity = report->has_capacity;
	r.capacity = report->capacity;
	urgent = workload_capacity(w, now_ms, &r);
	if (workload_servers(w, now_ms - w->interval_start_ms, report, &r) < 0) {
		wlm_report_clear(&r);
		return false;
	}
	w->interval_start_ms = now_ms;
	w->next_interval_ms = now_ms + WORKLOAD_INTERVAL_MS;
	changed = !wlm_report_equal(report, &r);
	urgent |= workload_stopped(report, &r);
	if (!wlm_damp_allow(&w->damp, now_ms, changed, urgent)) {
		if (changed)
			log_debug("WLM: a change held back (the figures keep moving)");
		wlm_report_clear(&r);
		return false;
	}
	workload_log(report, &r);
	wlm_report_clear(report);
	*report = r;
	return true;
}
