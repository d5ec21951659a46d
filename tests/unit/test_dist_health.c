/* A target's health (core/dist_health.c): the smoothing of settled
 * connections, its reasons, recovery without connections, and the table the
 * distributor keeps per service and target. */
#include "core/dist.h"
#include "core/dist_health.h"
#include "tests/unit/unit.h"

#include <stdlib.h>

static struct dist_health_sample th_sample(uint32_t established, uint32_t slow, uint32_t dropped,
                                           uint32_t refused)
{
	struct dist_health_sample s = {established, slow, dropped, refused};

	return s;
}

TEST(dist_health_falls_with_failures)
{
	struct dist_health h, g;
	struct dist_health_sample one = th_sample(0, 0, 0, 1), three = th_sample(0, 0, 0, 3);

	dist_health_init(&h);
	CHECK_INT(h.health, DIST_HEALTH_MAX);
	CHECK_STR(dist_health_reason(&h), "");
	/* A quarter of the way to 0 per refused connection. */
	CHECK_INT(dist_health_update(&h, &one), 100);
	CHECK_INT(h.health, 75);
	CHECK_STR(dist_health_reason(&h), "connections refused");
	CHECK_INT(dist_health_update(&h, &one), 75);
	CHECK_INT(h.health, 56);
	dist_health_update(&h, &one);
	CHECK_INT(h.health, 42);
	CHECK(h.health < DIST_HEALTH_LOW);
	/* Three in one interval: the same. */
	dist_health_init(&g);
	dist_health_update(&g, &three);
	CHECK_INT(g.health, 42);
	CHECK_INT(g.score, h.score);
	/* Enough failures reach 0 exactly. */
	for (int i = 0; i < 20; i++)
		dist_health_update(&h, &three);
	CHECK_INT(h.health, 0);
	CHECK_INT(h.score, 0);
}

TEST(dist_health_mixed_and_reasons)
{
	struct dist_health h;
	struct dist_health_sample s;

	/* Two established, two refused: four steps towards 50. */
	dist_health_init(&h);
	s = th_sample(2, 0, 0, 2);
	dist_health_update(&h, &s);
	CHECK_INT(h.score, 6581);
	CHECK_INT(h.health, 66);
	/* Slow connections count half. */
	dist_health_init(&h);
	s = th_sample(0, 40, 0, 0);
	dist_health_update(&h, &s);
	CHECK_INT(h.health, 50);
	CHECK_STR(dist_health_reason(&h), "connections slow to establish");
	s = th_sample(0, 0, 1, 0);
	dist_health_update(&h, &s);
	CHECK_STR(dist_health_reason(&h), "connections dropped");
	s = th_sample(0, 0, 0, 1);
	dist_health_update(&h, &s);
	CHECK_STR(dist_health_reason(&h), "connections refused or dropped");
	/* Back at full health, the reasons are forgotten. */
	s = th_sample(100, 0, 0, 0);
	for (int i = 0; i < 3 && h.health < 100; i++)
		dist_health_update(&h, &s);
	CHECK_INT(h.health, 100);
	CHECK_INT(h.score, 10000);
	CHECK_STR(dist_health_reason(&h), "");
	/* A huge interval does not overflow. */
	s = th_sample(UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX);
	dist_health_update(&h, &s);
	CHECK_INT(h.health, 38);
}

TEST(dist_health_recovers)
{
	struct dist_health h;
	struct dist_health_sample none = {0}, ok = th_sample(1, 0, 0, 0),
	                          bad = th_sample(0, 0, 0, 30);
	int intervals = 0, successes = 0;

	dist_health_init(&h);
	dist_health_update(&h, &bad);
	CHECK_INT(h.health, 0);
	/* Without connections: a sixteenth of the way per interval, back to
	 * DIST_HEALTH_LOW in 11 intervals (5.5 s at 500 ms). */
	dist_health_update(&h, NULL);
	CHECK_INT(h.score, 625);
	while (h.health < DIST_HEALTH_LOW && intervals < 100) {
		dist_health_update(&h, &none);
		intervals++;
	}
	CHECK_INT(intervals + 1, 11);
	/* And all the way, exactly. */
	while (h.score < 10000 && intervals < 1000) {
		dist_health_update(&h, &none);
		intervals++;
	}
	CHECK_INT(h.score, 10000);
	/* From 0, connections that succeed bring it back within 30. */
	dist_health_update(&h, &bad);
	while (h.health < DIST_HEALTH_MAX && successes < 1000) {
		dist_health_update(&h, &ok);
		successes++;
	}
	CHECK(successes <= 30);
	CHECK(successes >= 15);
}

/* ---- the table ---- */

struct th_change {
	uint32_t node;
	uint16_t port;
	uint8_t before, after;
	int n;
};

static void th_record(void *data, const struct dist_health_entry *e, uint8_t before)
{
	struct th_change *c = data;

	c->node = e->node_id;
	c->port = e->port;
	c->before = before;
	c->after = e->h.health;
	c->n++;
}

static struct ipaddr th_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

TEST(dist_health_table_follows_the_view)
{
	struct dist_target targets[5] = {
	    {.node_id = 1}, {.node_id = 2}, {.node_id = 3}, {.node_id = 2}, {.node_id = 3}};
	struct dist_service services[2] = {0};
	struct dist_view v = {.self = 1, .services = services, .targets = targets};
	struct dist_health_table tab = {0};
	struct dist_health_settled c[2] = {0};
	struct th_change ch = {0};
	const struct dist_health_entry *e;
	struct ipaddr d = th_addr("10.0.0.10");

	/* Port 80 is this node's (targets 1, 2, 3); port 81 another's. */
	services[0] = (struct dist_service){.dvipa = d,
	                                    .port = 80,
	                                    .distributor = 1,
	                                    .distributor_active = true,
	                                    .first_target = 0,
	                                    .n_targets = 3};
	services[1] = (struct dist_service){.dvipa = d,
	                                    .port = 81,
	                                    .distributor = 2,
	                                    .distributor_active = true,
	                                    .first_target = 3,
	                                    .n_targets = 2};
	v.n_services = 2;
	v.n_targets = 5;
	c[0] = (struct dist_health_settled){d, 80, 3, th_sample(0, 0, 0, 3)};
	c[1] = (struct dist_health_settled){d, 81, 2, th_sample(0, 0, 0, 9)};
	CHECK_INT(dist_health_table_update(&tab, &v, c, 2, th_record, &ch), 0);
	CHECK_INT(tab.n, 3);
	CHECK_INT(ch.n, 1);
	CHECK_INT(ch.node, 3);
	CHECK_INT(ch.port, 80);
	CHECK_INT(ch.before, 100);
	CHECK_INT(ch.after, 42);
	e = dist_health_find(tab.v, tab.n, &d, 80, 3);
	CHECK(e != NULL);
	CHECK_INT(e->h.health, 42);
	CHECK_STR(dist_health_reason(&e->h), "connections refused");
	CHECK_INT(dist_health_find(tab.v, tab.n, &d, 80, 2)->h.health, 100);
	CHECK(dist_health_find(tab.v, tab.n, &d, 81, 2) == NULL);
	CHECK(dist_health_find(NULL, 0, &d, 80, 2) == NULL);

	/* Quiet intervals: no call until it is back at DIST_HEALTH_LOW. */
	ch.n = 0;
	CHECK_INT(dist_health_table_update(&tab, &v, NULL, 0, th_record, &ch), 0);
	CHECK_INT(ch.n, 0);
	for (int i = 0; i < 5 && !ch.n; i++)
		CHECK_INT(dist_health_table_update(&tab, &v, NULL, 0, th_record, &ch), 0);
	CHECK_INT(ch.n, 1);
	CHECK(ch.after >= DIST_HEALTH_LOW && ch.before < DIST_HEALTH_LOW);

	/* Target 2 leaves the service; a new target 4 starts at full health. */
	targets[1].node_id = 4;
	CHECK_INT(dist_health_table_update(&tab, &v, NULL, 0, NULL, NULL), 0);
	CHECK_INT(tab.n, 3);
	CHECK(dist_health_find(tab.v, tab.n, &d, 80, 2) == NULL);
	CHECK_INT(dist_health_find(tab.v, tab.n, &d, 80, 4)->h.health, 100);
	CHECK(dist_health_find(tab.v, tab.n, &d, 80, 3)->h.health > DIST_HEALTH_LOW);
	/* The service is no longer this node's: everything is forgotten. */
	services[0].distributor = 2;
	CHECK_INT(dist_health_table_update(&tab, &v, NULL, 0, NULL, NULL), 0);
	CHECK_INT(tab.n, 0);
	dist_health_table_clear(&tab);
	dist_health_table_clear(NULL);
}
