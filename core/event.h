/* The events `dvipactl monitor` streams (core/event.c): owner and status
 * changes of DVIPAs, members joining and leaving, quorum. Each is one line
 * of text or one JSON object; docs/metrics.md gives both formats. Pure: the
 * time is the caller's. */
#ifndef DVIPA_CORE_EVENT_H
#define DVIPA_CORE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "core/plex.h"
#include "core/strbuf.h"

enum event_type {
	EVENT_OWNER = 0, /* a DVIPA's designated owner changed (every member sees it) */
	EVENT_STATUS,    /* a DVIPA's status on this node changed (show dynamic's STATUS) */
	EVENT_MEMBER,    /* a node joined or left the group */
	EVENT_QUORUM,    /* this node gained or lost quorum */
	EVENT_DROPPED,   /* the last line to a subscriber that fell behind */
	EVENT_TYPE_MAX
};

/* Room for "name" or "#id" and for status and state words. */
#define EVENT_WORD_MAX (PLEX_NAME_MAX + 16)

struct event {
	uint64_t wall_ms;    /* milliseconds since the epoch, UTC */
	uint8_t type;        /* enum event_type */
	struct ipaddr dvipa; /* EVENT_OWNER, EVENT_STATUS */
	uint32_t node_id;    /* EVENT_MEMBER, EVENT_QUORUM: the node */
	/* EVENT_OWNER: the old and new owners' ids (PLEX_NODE_NONE: none). */
	uint32_t old_id, new_id;
	char node[EVENT_WORD_MAX]; /* EVENT_MEMBER, EVENT_QUORUM: the node's name, may be "" */
	/* Before and after: owner names ("" for none), status names
	 * (ACTIVE...), "member"/"down", "quorate"/"none". */
	char old[EVENT_WORD_MAX], new[EVENT_WORD_MAX];
	char reason[64]; /* EVENT_OWNER: plex_reason_name(); EVENT_DROPPED: why */
};

const char *event_type_name(enum event_type t);
/* "2024-05-01T12:00:00.123Z". buf must hold 25 bytes. */
const char *event_time_format(uint64_t wall_ms, char *buf, size_t size);
/* Appends the event as one line ending in '\n': text, or one JSON object. */
void event_format(const struct event *e, bool json, struct strbuf *sb);

#endif
