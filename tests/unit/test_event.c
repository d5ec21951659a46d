/* dvipactl monitor's lines (core/event.c): times, each event as text and
 * as JSON, and names that need escaping. */
#include <errno.h>
#include <stdlib.h>

#include "core/event.h"
#include "tests/unit/unit.h"

static char *format(const struct event *e, bool json)
{
	struct strbuf sb = {0};

	event_format(e, json, &sb);
	return strbuf_take(&sb);
}

TEST(event_times)
{
	char buf[32];

	CHECK_STR(event_time_format(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
	CHECK_STR(event_time_format(951782400123ull, buf, sizeof(buf)), "2000-02-29T00:00:00.123Z");
	CHECK_STR(event_time_format(1714564800999ull, buf, sizeof(buf)),
	          "2024-05-01T12:00:00.999Z");
	CHECK_STR(event_time_format(4102444799000ull, buf, sizeof(buf)),
	          "2099-12-31T23:59:59.000Z");
}

TEST(event_owner_lines)
{
	struct event e = {.wall_ms = 1714564800000ull,
	                  .type = EVENT_OWNER,
	                  .old_id = 1,
	                  .new_id = 2,
	                  .old = "n1",
	                  .new = "n2",
	                  .reason = "owner-left"};
	char *s;

	ipaddr_parse("10.0.0.10", &e.dvipa);
	s = format(&e, false);
	CHECK_STR(s, "2024-05-01T12:00:00.000Z owner 10.0.0.10 n1 -> n2 (owner-left)\n");
	free(s);
	s = format(&e, true);
	CHECK_STR(s, "{\"time\": \"2024-05-01T12:00:00.000Z\", \"time_ms\": 1714564800000, "
	             "\"event\": \"owner\", \"dvipa\": \"10.0.0.10\", \"old\": \"n1\", "
	             "\"new\": \"n2\", \"old_id\": 1, \"new_id\": 2, \"reason\": "
	             "\"owner-left\"}\n");
	free(s);
	/* No owner before; a new owner without a known name. */
	e.old_id = PLEX_NODE_NONE;
	e.old[0] = '\0';
	e.new[0] = '\0';
	s = format(&e, false);
	CHECK_STR(s, "2024-05-01T12:00:00.000Z owner 10.0.0.10 - -> #2 (owner-left)\n");
	free(s);
	s = format(&e, true);
	CHECK(strstr(s, "\"old\": null, \"new\": null, \"old_id\": null, \"new_id\": 2"));
	free(s);
}

TEST(event_status_member_quorum_dropped)
{
	struct event st = {.wall_ms = 1000, .type = EVENT_STATUS, .old = "BACKUP", .new = "ACTIVE"};
	struct event m = {.wall_ms = 1000,
	                  .type = EVENT_MEMBER,
	                  .node_id = 3,
	                  .node = "n\"3",
	                  .old = "member",
	                  .new = "down"};
	struct event q = {.wall_ms = 1000,
	                  .type = EVENT_QUORUM,
	                  .node_id = 1,
	                  .node = "n1",
	                  .old = "quorate",
	                  .new = "none"};
	struct event d = {.wall_ms = 1000, .type = EVENT_DROPPED, .reason = "fell behind"};
	char *s;

	ipaddr_parse("2001:db8::10", &st.dvipa);
	s = format(&st, false);
	CHECK_STR(s, "1970-01-01T00:00:01.000Z status 2001:db8::10 BACKUP -> ACTIVE\n");
	free(s);
	s = format(&st, true);
	CHECK_STR(s, "{\"time\": \"1970-01-01T00:00:01.000Z\", \"time_ms\": 1000, \"event\": "
	             "\"status\", \"dvipa\": \"2001:db8::10\", \"old\": \"BACKUP\", \"new\": "
	             "\"ACTIVE\"}\n");
	free(s);
	s = format(&m, false);
	CHECK_STR(s, "1970-01-01T00:00:01.000Z member n\"3 member -> down\n");
	free(s);
	s = format(&m, true);
	CHECK_STR(s, "{\"time\": \"1970-01-01T00:00:01.000Z\", \"time_ms\": 1000, \"event\": "
	             "\"member\", \"node\": \"n\\\"3\", \"node_id\": 3, \"old\": \"member\", "
	             "\"new\": \"down\"}\n");
	free(s);
	s = format(&q, false);
	CHECK_STR(s, "1970-01-01T00:00:01.000Z quorum n1 quorate -> none\n");
	free(s);
	s = format(&d, false);
	CHECK_STR(s, "1970-01-01T00:00:01.000Z dropped fell behind\n");
	free(s);
	s = format(&d, true);
	CHECK_STR(s, "{\"time\": \"1970-01-01T00:00:01.000Z\", \"time_ms\": 1000, \"event\": "
	             "\"dropped\", \"reason\": \"fell behind\"}\n");
	free(s);
	m.node[0] = '\0';
	s = format(&m, false);
	CHECK_STR(s, "1970-01-01T00:00:01.000Z member #3 member -> down\n");
	free(s);
	CHECK_STR(event_type_name(EVENT_TYPE_MAX), "unknown");
}

TEST(event_endpoints)
{
	struct ipaddr a;
	uint16_t port = 0;
	char buf[IPADDR_STRLEN + 16];

	CHECK_INT(ipaddr_parse_endpoint("127.0.0.1:9447", &a, &port), 0);
	CHECK_INT(port, 9447);
	CHECK_STR(ipaddr_format_endpoint(&a, port, buf, sizeof(buf)), "127.0.0.1:9447");
	CHECK_INT(ipaddr_parse_endpoint("[::1]:80", &a, &port), 0);
	CHECK_STR(ipaddr_format_endpoint(&a, port, buf, sizeof(buf)), "[::1]:80");
	CHECK_INT(ipaddr_parse_endpoint("::1:80", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint("[10.0.0.1]:80", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint("10.0.0.1", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint("10.0.0.1:", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint("10.0.0.1:8x", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint(":80", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint("[::1]80", &a, &port), -EINVAL);
	CHECK_INT(ipaddr_parse_endpoint("10.0.0.1:0", &a, &port), -ERANGE);
	CHECK_INT(ipaddr_parse_endpoint("10.0.0.1:65536", &a, &port), -ERANGE);
	CHECK_INT(ipaddr_parse_endpoint("10.0.0.1:99999999999999999999", &a, &port), -ERANGE);
	CHECK_INT(port, 80);
}
