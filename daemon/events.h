/* What happens to this node's part in the plex, as events for `dvipactl
 * monitor` (core/event.h) and as counters for the metrics endpoint: node.c
 * reports owner changes, members and quorum where it logs them; status
 * changes of this node's DVIPAs are found by comparing `show dynamic`'s
 * rows from one call of events_statuses() to the next. */
#ifndef DVIPA_DAEMON_EVENTS_H
#define DVIPA_DAEMON_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/plex.h"
#include "daemon/show.h"

struct events_counts {
	/* Every owner change this node's state machine computed, by reason
	 * (plex-wide: every member counts the same ones). */
	uint64_t owner_changes[PLEX_REASON_MAX];
	/* Of those, the changes from one owner to another: takebacks (the
	 * VIPADEFINE node taking it back, MOVEABLE IMMEDIATE or WHENIDLE) and
	 * takeovers (every other reason: the owner died, left, deactivated
	 * it...). Changes from or to no owner count as neither. */
	uint64_t takeovers, takebacks;
	uint64_t members_joined, members_left;
	uint64_t quorum_lost;
};

/* Gets every event; data is the sink's. */
typedef void (*events_sink_fn)(void *data, const struct event *e);

struct events;

struct events *events_new(void);
void events_free(struct events *ev);
/* Where events go (NULL: nowhere; they are still counted). */
void events_set_sink(struct events *ev, events_sink_fn fn, void *data);

/* One owner change; the names may be "" (not known). */
void events_owner(struct events *ev, const struct plex_transition *t, const char *old_name,
                  const char *new_name, uint64_t wall_ms);
void events_member(struct events *ev, uint32_t id, const char *name, bool joined, uint64_t wall_ms);
void events_quorum(struct events *ev, uint32_t self, const char *name, bool quorate,
                   uint64_t wall_ms);
/* The rows of `show dynamic` now: one EVENT_STATUS per DVIPA whose status
 * differs from the last call's (a DVIPA that appears or goes away changes
 * from or to INACTIVE). The first call after events_statuses_reset() only
 * remembers. */
void events_statuses(struct events *ev, const struct show_dyn_row *rows, size_t n,
                     uint64_t wall_ms);
void events_statuses_reset(struct events *ev);

const struct events_counts *events_counts(const struct events *ev);

#endif
