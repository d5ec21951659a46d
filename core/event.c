#include "core/event.h"

#include <stdio.h>

static const char *const event_type_names[EVENT_TYPE_MAX] = {
    [EVENT_OWNER] = "owner",   [EVENT_STATUS] = "status",   [EVENT_MEMBER] = "member",
    [EVENT_QUORUM] = "quorum", [EVENT_DROPPED] = "dropped",
};

const char *event_type_name(enum event_type t)
{
	return (unsigned)t < EVENT_TYPE_MAX ? event_type_names[t] : "unknown";
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm): no libc
 * time zone machinery, so the same everywhere. */
static void event_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

const char *event_time_format(uint64_t wall_ms, char *buf, size_t size)
{
	uint64_t s = wall_ms / 1000, days = s / 86400, sod = s % 86400;
	int64_t y;
	unsigned m, d;

	event_civil((int64_t)days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
	         (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
	         (unsigned)(wall_ms % 1000));
	return buf;
}

/* A node as the text line names it: its name, or "#id" when it has none. */
static const char *event_text_node(const char *name, uint32_t id, char *buf, size_t size)
{
	if (name[0])
		return name;
	if (id == PLEX_NODE_NONE)
		return "-";
	snprintf(buf, size, "#%u", id);
	return buf;
}

static void event_json_id(struct strbuf *sb, const char *key, uint32_t id)
{
	if (id == PLEX_NODE_NONE)
		strbuf_printf(sb, ", \"%s\": null", key);
	else
		strbuf_printf(sb, ", \"%s\": %u", key, id);
}

static void event_json_word(struct strbuf *sb, const char *key, const char *word)
{
	strbuf_printf(sb, ", \"%s\": ", key);
	if (word[0])
		strbuf_json_string(sb, word);
	else
		strbuf_puts(sb, "null");
}

static void event_format_json(const struct event *e, struct strbuf *sb)
{
	char when[32], addr[IPADDR_STRLEN];

	strbuf_puts(sb, "{\"time\": ");
	strbuf_json_string(sb, event_time_format(e->wall_ms, when, sizeof(when)));
	strbuf_printf(sb, ", \"time_ms\": %llu, \"event\": \"%s\"", (unsigned long long)e->wall_ms,
	              event_type_name(e->type));
	switch (e->type) {
	case EVENT_OWNER:
	case EVENT_STATUS:
		strbuf_puts(sb, ", \"dvipa\": ");
		strbuf_json_string(sb, ipaddr_format(&e->dvipa, addr, sizeof(addr)));
		break;
	case EVENT_MEMBER:
	case EVENT_QUORUM:
		strbuf_puts(sb, ", \"node\": ");
		strbuf_json_string(sb, e->node);
		event_json_id(sb, "node_id", e->node_id);
		break;
	default:
		break;
	}
	if (e->type != EVENT_DROPPED) {
		event_json_word(sb, "old", e->old);
		event_json_word(sb, "new", e->new);
	}
	if (e->type == EVENT_OWNER) {
		event_json_id(sb, "old_id", e->old_id);
		event_json_id(sb, "new_id", e->new_id);
	}
	if (e->type == EVENT_OWNER || e->type == EVENT_DROPPED)
		event_json_word(sb, "reason", e->reason);
	strbuf_puts(sb, "}\n");
}

void event_format(const struct event *e, bool json, struct strbuf *sb)
{
	char when[32], subject[IPADDR_STRLEN + EVENT_WORD_MAX], o[EVENT_WORD_MAX + 16],
	    n[EVENT_WORD_MAX + 16];
	const char *old = e->old, *new = e->new, *subj = subject;

	if (json) {
		event_format_json(e, sb);
		return;
	}
	event_time_format(e->wall_ms, when, sizeof(when));
	switch (e->type) {
	case EVENT_OWNER:
		old = event_text_node(e->old, e->old_id, o, sizeof(o));
		new = event_text_node(e->new, e->new_id, n, sizeof(n));
		/* fall through */
	case EVENT_STATUS:
		ipaddr_format(&e->dvipa, subject, sizeof(subject));
		break;
	case EVENT_MEMBER:
	case EVENT_QUORUM:
		subj = event_text_node(e->node, e->node_id, subject, sizeof(subject));
		break;
	default:
		strbuf_printf(sb, "%s %s %s\n", when, event_type_name(e->type), e->reason);
		return;
	}
	strbuf_printf(sb, "%s %s %s %s -> %s", when, event_type_name(e->type), subj,
	              old[0] ? old : "-", new[0] ? new : "-");
	if (e->type == EVENT_OWNER && e->reason[0])
		strbuf_printf(sb, " (%s)", e->reason);
	strbuf_puts(sb, "\n");
}
