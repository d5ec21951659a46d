/* A target's health (core/dist_health.c): the smoothing of settled
 * connections, its reasons, recovery without connections, and the table the
 * distributor keeps per service and target. */
#include "core/dist.h"
#include "core/dist_health.h"
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <time.h>

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

/* A target named twice in one interval's samples takes the first. */
TEST(dist_health_table_first_sample)
{
	struct dist_target targets[2] = {{.node_id = 1}, {.node_id = 2}};
	struct dist_service service = {0};
	struct dist_view v = {.self = 1, .services = &service, .targets = targets};
	struct dist_health_table tab = {0};
	struct dist_health_settled c[3] = {0};
	struct ipaddr d = th_addr("2001:db8::10");

	service = (struct dist_service){
	    .dvipa = d, .port = 443, .distributor = 1, .distributor_active = true, .n_targets = 2};
	v.n_services = 1;
	v.n_targets = 2;
	c[0] = (struct dist_health_settled){d, 443, 2, th_sample(0, 0, 0, 1)};
	c[1] = (struct dist_health_settled){d, 443, 2, th_sample(0, 0, 0, 3)};
	c[2] = (struct dist_health_settled){d, 443, 1, th_sample(0, 0, 2, 0)};
	CHECK_INT(dist_health_table_update(&tab, &v, c, 3, NULL, NULL), 0);
	CHECK_INT(tab.n, 2);
	CHECK_INT(dist_health_find(tab.v, tab.n, &d, 443, 2)->h.health, 75);
	CHECK_INT(dist_health_find(tab.v, tab.n, &d, 443, 1)->h.health, 56);
	CHECK_STR(dist_health_reason(&dist_health_find(tab.v, tab.n, &d, 443, 1)->h),
	          "connections dropped");
	dist_health_table_clear(&tab);
}

/* ---- at scale ---- */

static uint64_t th_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The largest table a distributor keeps: DIST_MAX_PORTS services of
 * DIST_MAX_TARGETS targets, every one with a sample of its own, handed over
 * in random order. Each entry must get its own sample, and one interval must
 * cost a few milliseconds: it runs every 500 ms on the event loop that also
 * serves corosync. DVIPA_LONG=1 prints the time and holds it to a bound. */
TEST(dist_health_table_at_scale)
{
	enum { n_services = DIST_MAX_PORTS, n_targets = DIST_MAX_TARGETS };
	static struct dist_service services[n_services];
	static struct dist_target targets[n_services * n_targets];
	static struct dist_health_settled c[n_services * n_targets];
	size_t n = (size_t)n_services * n_targets;
	struct dist_view v = {.self = 1};
	struct dist_health_table tab = {0};
	unsigned seed = (unsigned)unit_seed();
	uint64_t t0, ns[2];
	bool ok = true;

	for (size_t i = 0; i < n_services; i++) {
		struct dist_service *s = &services[i];

		/* Services sorted by (DVIPA, port): 8 DVIPAs of 128 ports. */
		s->dvipa = th_addr("10.0.0.10");
		s->dvipa.bytes[3] = (uint8_t)(10 + i / 128);
		s->port = (uint16_t)(1000 + i % 128);
		s->distributor = 1;
		s->distributor_active = true;
		s->first_target = i * n_targets;
		s->n_targets = n_targets;
		for (size_t j = 0; j < n_targets; j++) {
			size_t k = i * n_targets + j;

			targets[k].node_id = (uint32_t)(j + 1);
			c[k] = (struct dist_health_settled){
			    .dvipa = s->dvipa,
			    .port = s->port,
			    .node_id = (uint32_t)(j + 1),
			    /* k % 5 refused, the rest established: healths
			     * 100, 75, 56, 42, 32 by k. */
			    .sample = th_sample(k % 5 ? 0 : 1, 0, 0, (uint32_t)(k % 5)),
			};
		}
	}
	v.services = services;
	v.n_services = n_services;
	v.targets = targets;
	v.n_targets = n;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rand_r(&seed) % (i + 1);
		struct dist_health_settled x = c[i];

		c[i] = c[j];
		c[j] = x;
	}
	/* The first interval finds no entry, the second every one. */
	for (int round = 0; round < 2; round++) {
		t0 = th_now_ns();
		CHECK_INT(dist_health_table_update(&tab, &v, round ? c : NULL, n, NULL, NULL), 0);
		ns[round] = th_now_ns() - t0;
	}
	CHECK_INT(tab.n, n);
	for (size_t i = 0; i < n_services && ok; i++) {
		for (size_t j = 0; j < n_targets && ok; j++) {
			size_t k = i * n_targets + j;
			static const uint8_t want[5] = {100, 75, 56, 42, 32};
			const struct dist_health_entry *e = dist_health_find(
			    tab.v, tab.n, &services[i].dvipa, services[i].port, (uint32_t)(j + 1));

			ok = e && e->h.health == want[k % 5];
		}
	}
	CHECK(ok);
	if (unit_long_mode()) {
		printf("     dist_health_table_update %dx%d: %.1f ms, then %.1f ms\n", n_services,
		       n_targets, (double)ns[0] / 1e6, (double)ns[1] / 1e6);
		CHECK(ns[0] < 50 * 1000000ull && ns[1] < 50 * 1000000ull);
	}
	dist_health_table_clear(&tab);
}
