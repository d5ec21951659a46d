#include "daemon/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct events_status {
	struct ipaddr addr;
	uint8_t status;
};

struct events {
	events_sink_fn fn;
	void *data;
	struct events_counts counts;
	/* `show dynamic`'s statuses at the last events_statuses(). */
	struct events_status *statuses;
	size_t n_statuses;
	bool primed;
};

struct events *events_new(void)
{
	return calloc(1, sizeof(struct events));
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	free(ev->statuses);
	free(ev);
}

void events_set_sink(struct events *ev, events_sink_fn fn, void *data)
{
	ev->fn = fn;
	ev->data = data;
}

static void events_emit(struct events *ev, const struct event *e)
{
	if (ev->fn)
		ev->fn(ev->data, e);
}

static void events_word(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static bool events_is_takeback(uint8_t reason)
{
	return reason == PLEX_REASON_OWNER_RETURNED_TAKEBACK ||
	       reason == PLEX_REASON_HOLDER_IDLE_TAKEBACK;
}

void events_owner(struct events *ev, const struct plex_transition *t, const char *old_name,
                  const char *new_name, uint64_t wall_ms)
{
	struct event e = {
	    .wall_ms = wall_ms,
	    .type = EVENT_OWNER,
	    .dvipa = t->dvipa,
	    .old_id = t->old_owner,
	    .new_id = t->new_owner,
	};

	if (t->reason < PLEX_REASON_MAX)
		ev->counts.owner_changes[t->reason]++;
	/* Between two owners: a takeback when the reason says so, else a
	 * takeover. From or to no owner (quorum, start, definitions) is
	 * neither. */
	if (t->old_owner != PLEX_NODE_NONE && t->new_owner != PLEX_NODE_NONE) {
		if (events_is_takeback(t->reason))
			ev->counts.takebacks++;
		else
			ev->counts.takeovers++;
	}
	events_word(e.old, sizeof(e.old), old_name);
	events_word(e.new, sizeof(e.new), new_name);
	events_word(e.reason, sizeof(e.reason), plex_reason_name(t->reason));
	events_emit(ev, &e);
}

void events_member(struct events *ev, uint32_t id, const char *name, bool joined, uint64_t wall_ms)
{
	struct event e = {.wall_ms = wall_ms, .type = EVENT_MEMBER, .node_id = id};

	if (joined)
		ev->counts.members_joined++;
	else
		ev->counts.members_left++;
	events_word(e.node, sizeof(e.node), name);
	events_word(e.old, sizeof(e.old), joined ? "down" : "member");
	events_word(e.new, sizeof(e.new), joined ? "member" : "down");
	events_emit(ev, &e);
}

void events_quorum(struct events *ev, uint32_t self, const char *name, bool quorate,
                   uint64_t wall_ms)
{
	struct event e = {.wall_ms = wall_ms, .type = EVENT_QUORUM, .node_id = self};

	if (!quorate)
		ev->counts.quorum_lost++;
	events_word(e.node, sizeof(e.node), name);
	events_word(e.old, sizeof(e.old), quorate ? "none" : "quorate");
	events_word(e.new, sizeof(e.new), quorate ? "quorate" : "none");
	events_emit(ev, &e);
}

static int events_status_cmp(const void *a, const void *b)
{
	return ipaddr_cmp(&((const struct events_status *)a)->addr,
	                  &((const struct events_status *)b)->addr);
}

static void events_status_changed(struct events *ev, const struct ipaddr *a, uint8_t from,
                                  uint8_t to, uint64_t wall_ms)
{
	struct event e = {.wall_ms = wall_ms, .type = EVENT_STATUS, .dvipa = *a};

	events_word(e.old, sizeof(e.old), plex_status_name(from));
	events_word(e.new, sizeof(e.new), plex_status_name(to));
	events_emit(ev, &e);
}

void events_statuses(struct events *ev, const struct show_dyn_row *rows, size_t n, uint64_t wall_ms)
{
	struct events_status *now = calloc(n ? n : 1, sizeof(*now));
	size_t i = 0, j = 0, m = 0;

	if (!now)
		return;
	for (size_t k = 0; k < n; k++) {
		bool dup = false;

		for (size_t l = 0; l < m && !dup; l++)
			dup = ipaddr_equal(&now[l].addr, &rows[k].addr);
		if (!dup)
			now[m++] = (struct events_status){rows[k].addr, rows[k].status};
	}
	qsort(now, m, sizeof(*now), events_status_cmp);
	/* Both lists sorted: a merge finds the changed, new and gone ones. */
	while (ev->primed && (i < ev->n_statuses || j < m)) {
		int c = i == ev->n_statuses ? 1
		        : j == m            ? -1
		                            : ipaddr_cmp(&ev->statuses[i].addr, &now[j].addr);

		if (c < 0) {
			if (ev->statuses[i].status != PLEX_STATUS_INACTIVE)
				events_status_changed(ev, &ev->statuses[i].addr,
				                      ev->statuses[i].status, PLEX_STATUS_INACTIVE,
				                      wall_ms);
			i++;
		} else if (c > 0) {
			if (now[j].status != PLEX_STATUS_INACTIVE)
				events_status_changed(ev, &now[j].addr, PLEX_STATUS_INACTIVE,
				                      now[j].status, wall_ms);
			j++;
		} else {
			if (ev->statuses[i].status != now[j].status)
				events_status_changed(ev, &now[j].addr, ev->statuses[i].status,
				                      now[j].status, wall_ms);
			i++;
			j++;
		}
	}
	free(ev->statuses);
	ev->statuses = now;
	ev->n_statuses = m;
	ev->primed = true;
}

void events_statuses_reset(struct events *ev)
{
	ev->primed = false;
}

const struct events_counts *events_counts(const struct events *ev)
{
	return &ev->counts;
}
