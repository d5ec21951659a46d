/* The distributor's flow counts (core/dist_count.c): how a flow counts, and
 * randomised flow tables against a naive count that searches its list from
 * end to end; at the flow table's full size, a count must take a few
 * milliseconds (DVIPA_LONG=1 prints the time). */
#include "core/dist_count.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define TC_MS 1000000ull

static struct ipaddr tc_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

static const struct dist_conns *tc_find(const struct dist_count *c, const struct ipaddr *dvipa,
                                        uint16_t port, uint32_t node_id, size_t *ret_i)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->conns[i].port == port && c->conns[i].node_id == node_id &&
		    ipaddr_equal(&c->conns[i].dvipa, dvipa)) {
			*ret_i = i;
			return &c->conns[i];
		}
	return NULL;
}

TEST(dist_count_how_a_flow_counts)
{
	struct ipaddr d = tc_addr("10.0.0.10"), d6 = tc_addr("2001:db8::10");
	uint64_t now = 100000 * TC_MS;
	/* The window: flows created in [now - 1750 ms, now - 1250 ms). */
	uint64_t from = now - 1750 * TC_MS, to = now - DIST_HEALTH_SETTLE_MS * TC_MS;
	struct dist_count_flow f[] = {
	    /* Young, handshake under way: active, not settled. */
	    {d, 80, 2, false, false, false, now - 100 * TC_MS},
	    /* Settled: established, slow, dropped, refused. */
	    {d, 80, 2, false, true, false, from},
	    {d, 80, 2, false, true, true, to - 1},
	    {d, 80, 2, false, false, true, from + 1},
	    {d, 80, 2, false, false, false, from + 2},
	    /* Old and established; old and closing; older than the window. */
	    {d, 80, 2, false, true, false, 1},
	    {d, 80, 2, true, true, false, 2},
	    {d, 80, 2, false, false, false, from - 1},
	    /* Other targets: another node, port, family. */
	    {d, 80, 3, false, true, false, to},
	    {d, 81, 2, true, true, false, 5},
	    {d6, 80, 2, false, true, false, 5},
	};
	struct dist_count c = {0}, before = {0};
	const struct dist_conns *t;
	size_t i = 0;

	dist_count_start(&c, now, from, to);
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		CHECK_INT(dist_count_add(&c, &f[k]), 0);
	dist_count_recent(&c, NULL);
	CHECK_INT(c.n, 4);
	t = tc_find(&c, &d, 80, 2, &i);
	CHECK(t != NULL);
	CHECK_INT(i, 0); /* in the order of their first flows */
	CHECK_INT(t->total, 8);
	/* The young one, the two settled established, the old established. */
	CHECK_INT(t->active, 4);
	CHECK_INT(t->recent, 8);
	CHECK_INT(c.settled[i].node_id, 2);
	CHECK_INT(c.settled[i].sample.established, 1);
	CHECK_INT(c.settled[i].sample.slow, 1);
	CHECK_INT(c.settled[i].sample.dropped, 1);
	CHECK_INT(c.settled[i].sample.refused, 1);
	t = tc_find(&c, &d, 80, 3, &i);
	CHECK(t && t->total == 1 && t->active == 1);
	CHECK_INT(c.settled[i].sample.established, 0); /* created at `to`: not yet */
	t = tc_find(&c, &d, 81, 2, &i);
	CHECK(t && t->total == 1 && t->active == 0);
	CHECK(tc_find(&c, &d6, 80, 2, &i) != NULL);

	/* The next count: recent is what came on top of the count before. */
	before = c;
	c = (struct dist_count){0};
	dist_count_start(&c, now + 500 * TC_MS, 0, 0);
	for (size_t k = 0; k < 3; k++)
		CHECK_INT(dist_count_add(&c, &f[k]), 0);
	CHECK_INT(dist_count_add(&c, &f[8]), 0);
	CHECK_INT(dist_count_add(&c, &f[8]), 0);
	CHECK_INT(dist_count_add(&c, &f[9]), 0);
	dist_count_recent(&c, &before);
	CHECK_INT(tc_find(&c, &d, 80, 2, &i)->recent, 0); /* 3 now, 8 before */
	CHECK_INT(c.settled[i].sample.established, 0);    /* an empty window */
	CHECK_INT(tc_find(&c, &d, 80, 3, &i)->recent, 1);
	CHECK_INT(tc_find(&c, &d, 81, 2, &i)->recent, 0);
	/* Starting again forgets the targets. */
	dist_count_start(&c, now, 0, 0);
	CHECK_INT(c.n, 0);
	dist_count_recent(&c, &before);
	dist_count_clear(&c);
	dist_count_clear(&before);
	dist_count_clear(NULL);
}

/* ---- against a naive count ---- */

struct tc_naive {
	struct dist_conns conns[4096];
	struct dist_health_settled settled[4096];
	size_t n;
};

static void tc_naive_add(struct tc_naive *c, const struct dist_count_flow *f, uint64_t now,
                         uint64_t from, uint64_t to)
{
	struct dist_health_sample *h;
	size_t k = 0;

	while (k < c->n && !(c->conns[k].port == f->port && c->conns[k].node_id == f->node_id &&
	                     ipaddr_equal(&c->conns[k].dvipa, &f->dvipa)))
		k++;
	if (k == c->n) {
		c->conns[k] = (struct dist_conns){f->dvipa, f->port, f->node_id, 0, 0, 0};
		c->settled[k] = (struct dist_health_settled){f->dvipa, f->port, f->node_id, {0}};
		c->n++;
	}
	c->conns[k].total++;
	if (!f->closing && (f->established || f->created_ns + 1250 * TC_MS > now))
		c->conns[k].active++;
	if (f->created_ns < from || f->created_ns >= to)
		return;
	h = &c->settled[k].sample;
	if (f->established && f->syn_retrans)
		h->slow++;
	else if (f->established)
		h->established++;
	else if (f->syn_retrans)
		h->dropped++;
	else
		h->refused++;
}

static void tc_naive_recent(struct tc_naive *c, const struct tc_naive *before)
{
	for (size_t i = 0; i < c->n; i++) {
		uint32_t old = 0;

		for (size_t j = 0; before && j < before->n; j++)
			if (before->conns[j].port == c->conns[i].port &&
			    before->conns[j].node_id == c->conns[i].node_id &&
			    ipaddr_equal(&before->conns[j].dvipa, &c->conns[i].dvipa))
				old = before->conns[j].total;
		c->conns[i].recent = c->conns[i].total > old ? c->conns[i].total - old : 0;
	}
}

static struct dist_count_flow tc_random_flow(unsigned *seed, uint64_t now)
{
	struct dist_count_flow f = {0};
	unsigned r = (unsigned)rand_r(seed);

	f.dvipa.family = r & 1 ? IPADDR_V6 : IPADDR_V4;
	f.dvipa.bytes[0] = 10;
	f.dvipa.bytes[3] = (uint8_t)(r >> 1 & 3);
	f.port = (uint16_t)(80 + (r >> 3) % 8);
	f.node_id = 1 + (r >> 6) % 32;
	f.closing = r >> 11 & 1;
	f.established = r >> 12 & 1;
	f.syn_retrans = r >> 13 & 1;
	f.created_ns = now - (uint64_t)rand_r(seed) % (4000 * TC_MS);
	return f;
}

static bool tc_same(const struct dist_count *c, const struct tc_naive *want)
{
	if (c->n != want->n)
		return false;
	for (size_t i = 0; i < c->n; i++) {
		const struct dist_conns *x = &c->conns[i], *y = &want->conns[i];
		const struct dist_health_settled *s = &c->settled[i], *t = &want->settled[i];

		if (!ipaddr_equal(&x->dvipa, &y->dvipa) || x->port != y->port ||
		    x->node_id != y->node_id || x->active != y->active || x->total != y->total ||
		    x->recent != y->recent || !ipaddr_equal(&s->dvipa, &y->dvipa) ||
		    s->port != y->port || s->node_id != y->node_id ||
		    s->sample.established != t->sample.established ||
		    s->sample.slow != t->sample.slow || s->sample.dropped != t->sample.dropped ||
		    s->sample.refused != t->sample.refused)
			return false;
	}
	return true;
}

TEST(dist_count_against_a_naive_count)
{
	static struct tc_naive want[2];
	struct dist_count c[2] = {{0}};
	unsigned seed = (unsigned)unit_seed();
	int rounds = unit_long_mode() ? 400 : 40;

	for (int round = 0; round < rounds; round++) {
		int cur = round & 1;
		uint64_t now = (uint64_t)(10000 + round * 500) * TC_MS;
		uint64_t from = now - (uint64_t)rand_r(&seed) % (3000 * TC_MS);
		uint64_t to = from + (uint64_t)rand_r(&seed) % (2000 * TC_MS);
		size_t n = (size_t)rand_r(&seed) % 3000;

		want[cur].n = 0;
		dist_count_start(&c[cur], now, from, to);
		for (size_t i = 0; i < n; i++) {
			struct dist_count_flow f = tc_random_flow(&seed, now);

			tc_naive_add(&want[cur], &f, now, from, to);
			CHECK_INT(dist_count_add(&c[cur], &f), 0);
		}
		/* Every other round without counts before, as after a pause. */
		tc_naive_recent(&want[cur], round % 4 == 3 ? NULL : &want[!cur]);
		dist_count_recent(&c[cur], round % 4 == 3 ? NULL : &c[!cur]);
		CHECK(tc_same(&c[cur], &want[cur]));
	}
	dist_count_clear(&c[0]);
	dist_count_clear(&c[1]);
}

/* ---- at scale ---- */

static uint64_t tc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A full flow table (65536 flows, the data plane's LRU size) over
 * DIST_MAX_PORTS services of DIST_MAX_TARGETS targets, in random order,
 * counted twice as the daemon does every 500 ms: the second time against
 * the first. */
TEST(dist_count_at_scale)
{
	enum { n_flows = 65536, n_pairs = DIST_MAX_PORTS * DIST_MAX_TARGETS };
	static struct dist_count_flow f[n_flows];
	struct dist_count c[2] = {{0}};
	unsigned seed = (unsigned)unit_seed();
	uint64_t now = 100000 * TC_MS, t0, ns[2];
	bool ok = true;

	for (size_t i = 0; i < n_flows; i++) {
		size_t p = i % n_pairs, service = p / DIST_MAX_TARGETS;

		f[i] = (struct dist_count_flow){.port = (uint16_t)(1000 + service % 128),
		                                .node_id = (uint32_t)(1 + p % DIST_MAX_TARGETS),
		                                .established = i % 3 != 0,
		                                .created_ns = now - (uint64_t)i * TC_MS / 16};
		f[i].dvipa = tc_addr("10.0.0.10");
		f[i].dvipa.bytes[3] = (uint8_t)(10 + service / 128);
	}
	for (size_t i = n_flows - 1; i > 0; i--) {
		size_t j = (size_t)rand_r(&seed) % (i + 1);
		struct dist_count_flow x = f[i];

		f[i] = f[j];
		f[j] = x;
	}
	for (int round = 0; round < 2; round++) {
		t0 = tc_now_ns();
		dist_count_start(&c[round], now, now - 1750 * TC_MS, now - 1250 * TC_MS);
		for (size_t i = 0; i < n_flows && ok; i++)
			ok = dist_count_add(&c[round], &f[i]) == 0;
		dist_count_recent(&c[round], round ? &c[0] : NULL);
		ns[round] = tc_now_ns() - t0;
	}
	CHECK(ok);
	CHECK_INT(c[1].n, n_pairs);
	for (size_t i = 0; i < c[1].n && ok; i++)
		ok = c[1].conns[i].total == 2 && c[1].conns[i].recent == 0 &&
		     c[0].conns[i].recent == 2;
	CHECK(ok);
	if (unit_long_mode()) {
		printf("     dist_count %d flows, %dx%d targets: %.1f ms, then %.1f ms\n", n_flows,
		       DIST_MAX_PORTS, DIST_MAX_TARGETS, (double)ns[0] / 1e6, (double)ns[1] / 1e6);
		CHECK(ns[0] < 50 * 1000000ull && ns[1] < 50 * 1000000ull);
	}
	dist_count_clear(&c[0]);
	dist_count_clear(&c[1]);
}
