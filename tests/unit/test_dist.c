/* The sysplex distributor's core: dispatch tables per method (table tests
 * and a simulated WEIGHTEDACTIVE), distribution facts, their wire records
 * (round trips, every truncation and corruption), and the derived view on
 * small plexes. */
#include "core/dist.h"
#include "core/wire_dist.h"
#include "tests/unit/dist_wire_check.h"
#include "tests/unit/unit.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>

static struct ipaddr td_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

/* ---- dispatch tables ---- */

/* Targets from a spec: one word each, "R" ready, "-" not ready, "Q" ready
 * but quiesced; then optional wN (weight), aN (active), P (preferred), bN
 * (backup rank), hN (health, else full). */
static size_t td_targets(struct dist_target *t, const char *spec)
{
	char buf[256], *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct dist_target x = {
		    .node_id = (uint32_t)n + 1, .weight = 10, .health = DIST_HEALTH_MAX};

		for (char *p = w; *p;) {
			char c = *p++;
			unsigned long v = strtoul(p, &p, 10);

			switch (c) {
			case 'R':
				x.ready = 1;
				break;
			case 'Q':
				x.ready = 1;
				x.flags |= DIST_TARGET_QUIESCED;
				break;
			case 'w':
				x.weight = (uint32_t)v;
				break;
			case 'a':
				x.active = (uint32_t)v;
				break;
			case 'P':
				x.preferred = true;
				break;
			case 'b':
				x.backup_rank = (uint8_t)v;
				break;
			case 'h':
				x.health = (uint8_t)v;
				break;
			default:
				break;
			}
		}
		t[n++] = x;
	}
	return n;
}

/* "slots per target" as text, e.g. "1 2 3". */
static const char *td_shares(const struct dist_target *t, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u", i ? " " : "", t[i].slots);
	return buf;
}

static const struct {
	const char *targets;
	const char *shares;
	uint8_t method;
	bool use_active;
} td_cases[] = {
    {"R R R", "1 1 1", CONFIG_DIST_ROUNDROBIN, false},
    {"R - R", "1 0 1", CONFIG_DIST_ROUNDROBIN, false},
    {"R Q R", "1 0 1", CONFIG_DIST_ROUNDROBIN, false},
    {"- - Q", "0 0 0", CONFIG_DIST_ROUNDROBIN, false},
    {"Rw5 Rw50", "1 1", CONFIG_DIST_ROUNDROBIN, false},
    {"R R", "1 1", CONFIG_DIST_BASEWLM, false},
    {"R - R", "1 0 1", CONFIG_DIST_SERVERWLM, false},
    {"Rw1 Rw2 Rw3", "1 2 3", CONFIG_DIST_WEIGHTEDACTIVE, false},
    {"Rw10 Rw20 Rw30", "1 2 3", CONFIG_DIST_WEIGHTEDACTIVE, false},
    {"Rw10 -w20 Rw30", "1 0 3", CONFIG_DIST_WEIGHTEDACTIVE, false},
    {"Rw100 Rw1", "100 1", CONFIG_DIST_WEIGHTEDACTIVE, false},
    {"Rw100 Rw99 Rw98", "85 84 83", CONFIG_DIST_WEIGHTEDACTIVE, false},
    /* Active connections in proportion: the weights again. */
    {"Rw1a10 Rw2a20 Rw3a30", "1 2 3", CONFIG_DIST_WEIGHTEDACTIVE, true},
    /* Without use_active, counts are ignored. */
    {"Rw1a50 Rw2 Rw3", "1 2 3", CONFIG_DIST_WEIGHTEDACTIVE, false},
    /* Equal counts, 1:2:3 weights: the first has more than its share. */
    {"Rw1a20 Rw2a20 Rw3a20", "0 2 13", CONFIG_DIST_WEIGHTEDACTIVE, true},
    /* One target emptied: the others have more than their share, it takes
     * everything until it catches up. */
    {"Rw1a10 Rw2a20 Rw3a0", "0 0 1", CONFIG_DIST_WEIGHTEDACTIVE, true},
    {"Rw1a10 Rw2a20 Rw3a25", "1 2 33", CONFIG_DIST_WEIGHTEDACTIVE, true},
    /* A quiesced target's connections do not count. */
    {"Rw1 Qw1a100 Rw1", "1 0 1", CONFIG_DIST_WEIGHTEDACTIVE, true},
    {"RP Rb10 Rb20", "1 0 0", CONFIG_DIST_HOTSTANDBY, false},
    {"-P Rb10 Rb20", "0 0 1", CONFIG_DIST_HOTSTANDBY, false},
    {"QP Rb10 -b20", "0 1 0", CONFIG_DIST_HOTSTANDBY, false},
    {"-P Rb20 Rb20", "0 1 0", CONFIG_DIST_HOTSTANDBY, false},
    {"-P -b10 -b20", "0 0 0", CONFIG_DIST_HOTSTANDBY, false},
};

TEST(dist_slots_per_method)
{
	for (size_t c = 0; c < sizeof(td_cases) / sizeof(td_cases[0]); c++) {
		struct dist_target t[DIST_MAX_TARGETS];
		uint8_t slots[DIST_SLOTS];
		uint16_t n_slots = 999;
		size_t n = td_targets(t, td_cases[c].targets);
		unsigned count[DIST_MAX_TARGETS] = {0};
		char got[128];

		CHECK_INT(
		    dist_slots(td_cases[c].method, t, n, td_cases[c].use_active, slots, &n_slots),
		    0);
		for (size_t i = 0; i < n_slots; i++) {
			CHECK(slots[i] < n);
			count[slots[i]]++;
		}
		for (size_t i = 0; i < n; i++)
			CHECK_INT(count[i], t[i].slots);
		td_shares(t, n, got, sizeof(got));
		if (strcmp(got, td_cases[c].shares) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu (%s): shares '%s', want '%s'", c,
			          td_cases[c].targets, got, td_cases[c].shares);
	}
}

TEST(dist_slots_round_robin_in_order)
{
	struct dist_target t[DIST_MAX_TARGETS];
	uint8_t slots[DIST_SLOTS];
	uint16_t n;

	CHECK_INT(dist_slots(CONFIG_DIST_ROUNDROBIN, t, td_targets(t, "R - R R"), false, slots, &n),
	          0);
	CHECK_INT(n, 3);
	CHECK(slots[0] == 0 && slots[1] == 2 && slots[2] == 3);
	CHECK_INT(dist_slots(CONFIG_DIST_MAX, t, 1, false, slots, &n), -EINVAL);
	CHECK_INT(dist_slots(CONFIG_DIST_ROUNDROBIN, t, DIST_MAX_TARGETS + 1, false, slots, &n),
	          -EINVAL);
}

/* Any window of a weighted table, wherever the round-robin pointer starts,
 * holds each target within two slots of its share; 32 targets of random
 * weights never overflow the table and every ready one keeps a slot. */
TEST(dist_slots_weighted_windows)
{
	unsigned long seed = unit_seed();

	for (int round = 0; round < 200; round++) {
		struct dist_target t[DIST_MAX_TARGETS] = {0};
		uint8_t slots[DIST_SLOTS];
		uint16_t n_slots;
		size_t n = 1 + (size_t)(rand_r((unsigned *)&seed) % DIST_MAX_TARGETS);

		for (size_t i = 0; i < n; i++) {
			t[i].node_id = (uint32_t)i + 1;
			t[i].ready = rand_r((unsigned *)&seed) % 5 ? 1 : 0;
			t[i].weight = 1 + (uint32_t)(rand_r((unsigned *)&seed) % CONFIG_WEIGHT_MAX);
		}
		CHECK_INT(dist_slots(CONFIG_DIST_WEIGHTEDACTIVE, t, n, false, slots, &n_slots), 0);
		CHECK(n_slots <= DIST_SLOTS);
		for (size_t i = 0; i < n; i++)
			CHECK((t[i].slots > 0) == (t[i].ready > 0));
		for (size_t start = 0; start < n_slots; start++) {
			unsigned count[DIST_MAX_TARGETS] = {0};
			size_t len = n_slots / 2;

			for (size_t k = 0; k < len; k++)
				count[slots[(start + k) % n_slots]]++;
			for (size_t i = 0; i < n; i++) {
				double want = (double)t[i].slots * (double)len / n_slots;

				if (count[i] + 2.0 < want || count[i] > want + 2.0) {
					unit_fail(
					    __FILE__, __LINE__,
					    "seed %lu round %d: target %zu has %u of a window "
					    "of %zu, wants %.1f",
					    seed, round, i, count[i], len, want);
					return;
				}
			}
		}
	}
}

/* The distributor rebuilds the table every K connections from its flow
 * counts (long-lived connections, none ends), telling how many arrived
 * since: active connections end proportional to the weights, whatever K.
 * Then the third target's connections all end, and the next ones go there
 * until the proportions are back. */
static void td_open(struct dist_target *t, int conns, int every, uint32_t *rr)
{
	uint8_t slots[DIST_SLOTS] = {0};
	uint16_t n_slots = 1;
	uint32_t before[3] = {0};

	for (int conn = 0; conn < conns; conn++) {
		if (conn % every == 0) {
			for (int i = 0; i < 3; i++) {
				t[i].recent = conn ? t[i].active - before[i] : 0;
				before[i] = t[i].active;
			}
			dist_slots(CONFIG_DIST_WEIGHTEDACTIVE, t, 3, true, slots, &n_slots);
		}
		t[slots[(*rr)++ % n_slots]].active++;
	}
}

TEST(dist_slots_weighted_active_converges)
{
	static const int every[] = {1, 3, 5, 10, 20, 40};

	for (size_t e = 0; e < sizeof(every) / sizeof(every[0]); e++) {
		struct dist_target t[3] = {0};
		uint32_t rr = 7 * (uint32_t)e; /* wherever the pointer stands */

		td_targets(t, "Rw1 Rw2 Rw3");
		td_open(t, 60, every[e], &rr);
		if (abs((int)t[0].active - 10) > 2 || abs((int)t[1].active - 20) > 2 ||
		    abs((int)t[2].active - 30) > 2)
			unit_fail(__FILE__, __LINE__, "every %d: active %u %u %u, want 10 20 30",
			          every[e], t[0].active, t[1].active, t[2].active);
		t[2].active = 0;
		td_open(t, 60, every[e], &rr);
		/* 90 active: 15, 30, 45 wanted; the first two had 10 and 20 already. */
		if (abs((int)t[0].active - 15) > 3 || abs((int)t[1].active - 30) > 3 ||
		    abs((int)t[2].active - 45) > 3)
			unit_fail(__FILE__, __LINE__,
			          "every %d: active %u %u %u after the third emptied, want about "
			          "15 30 45",
			          every[e], t[0].active, t[1].active, t[2].active);
	}
}

/* Health scales every method's shares (after the method made them). */
static const struct {
	const char *targets;
	const char *shares;
	uint8_t method;
	bool use_active;
} td_health_cases[] = {
    {"Rh50 R R", "1 2 2", CONFIG_DIST_ROUNDROBIN, false},
    {"R R Rh1", "100 100 1", CONFIG_DIST_ROUNDROBIN, false},
    {"R R Rh0", "1 1 0", CONFIG_DIST_ROUNDROBIN, false},
    {"Rh20 Rh20", "1 1", CONFIG_DIST_ROUNDROBIN, false},
    {"Rh30 Rh60 Rh90", "1 2 3", CONFIG_DIST_BASEWLM, false},
    /* Nothing would be left: the method's shares stay. */
    {"Rh0 -h100 Rh0", "1 0 1", CONFIG_DIST_ROUNDROBIN, false},
    {"Rw1 Rw2 Rw3h50", "2 4 3", CONFIG_DIST_WEIGHTEDACTIVE, false},
    {"Rw10 Rw20h25 Rw30", "2 1 6", CONFIG_DIST_WEIGHTEDACTIVE, false},
    {"Rw100 Rw100h1", "100 1", CONFIG_DIST_WEIGHTEDACTIVE, false},
    /* Healthy targets balance their active connections among themselves;
     * an unhealthy one, which keeps none, gets its weight times health
     * share of what they get rather than every connection. */
    {"Rw1a10 Rw1a10 Rw1a0h10", "10 10 1", CONFIG_DIST_WEIGHTEDACTIVE, true},
    {"Rw1a10 Rw2a20 Rw3a0h100", "0 0 1", CONFIG_DIST_WEIGHTEDACTIVE, true},
    {"Rw1a10 Rw2a30h60 Rw3a30", "1 0 3", CONFIG_DIST_WEIGHTEDACTIVE, true},
    /* Nobody healthy: they balance among themselves. */
    {"Rw1a10h40 Rw1a10h40 Rw1a0h10", "2 2 23", CONFIG_DIST_WEIGHTEDACTIVE, true},
    /* HOTSTANDBY: the preferred target while healthy; else the best
     * healthy backup, the preferred one keeping a share to be tested. */
    {"RPh60 Rb10 Rb20", "1 0 0", CONFIG_DIST_HOTSTANDBY, false},
    {"RPh50 Rb10 Rb20", "1 0 0", CONFIG_DIST_HOTSTANDBY, false},
    {"RPh40 Rb10 Rb20", "2 0 5", CONFIG_DIST_HOTSTANDBY, false},
    {"RPh0 Rb10 Rb20", "0 0 1", CONFIG_DIST_HOTSTANDBY, false},
    {"RPh40 Rb10 Rb20h30", "2 5 0", CONFIG_DIST_HOTSTANDBY, false},
    {"-P Rb10h20 Rb20h30", "0 0 1", CONFIG_DIST_HOTSTANDBY, false},
    {"-P Rb10h60 Rb20h30", "0 1 0", CONFIG_DIST_HOTSTANDBY, false},
    {"QPh10 Rb10 -b20", "0 1 0", CONFIG_DIST_HOTSTANDBY, false},
    /* Nobody healthy: readiness alone decides. */
    {"RPh40 Rb10h20 Rb20h30", "1 0 0", CONFIG_DIST_HOTSTANDBY, false},
    {"RPh0 Rb10h0", "1 0", CONFIG_DIST_HOTSTANDBY, false},
};

TEST(dist_slots_health)
{
	for (size_t c = 0; c < sizeof(td_health_cases) / sizeof(td_health_cases[0]); c++) {
		struct dist_target t[DIST_MAX_TARGETS];
		uint8_t slots[DIST_SLOTS];
		uint16_t n_slots = 999;
		size_t n = td_targets(t, td_health_cases[c].targets);
		unsigned count[DIST_MAX_TARGETS] = {0};
		char got[128];

		CHECK_INT(dist_slots(td_health_cases[c].method, t, n, td_health_cases[c].use_active,
		                     slots, &n_slots),
		          0);
		for (size_t i = 0; i < n_slots; i++) {
			CHECK(slots[i] < n);
			count[slots[i]]++;
		}
		for (size_t i = 0; i < n; i++)
			CHECK_INT(count[i], t[i].slots);
		td_shares(t, n, got, sizeof(got));
		if (strcmp(got, td_health_cases[c].shares) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu (%s): shares '%s', want '%s'", c,
			          td_health_cases[c].targets, got, td_health_cases[c].shares);
	}
}

/* Random ready targets and health under ROUNDROBIN and WEIGHTEDACTIVE:
 * health above 0 keeps a slot, 0 keeps none (unless every share would be
 * 0), the table never overflows, and more health never means fewer slots. */
TEST(dist_slots_health_random)
{
	unsigned long seed = unit_seed();

	for (int round = 0; round < 400; round++) {
		struct dist_target t[DIST_MAX_TARGETS] = {0};
		uint8_t slots[DIST_SLOTS];
		uint16_t n_slots;
		size_t n = 1 + (size_t)(rand_r((unsigned *)&seed) % DIST_MAX_TARGETS);
		uint8_t method = round % 2 ? CONFIG_DIST_WEIGHTEDACTIVE : CONFIG_DIST_ROUNDROBIN;
		uint32_t weight = 1 + (uint32_t)(rand_r((unsigned *)&seed) % CONFIG_WEIGHT_MAX);
		bool any = false;

		for (size_t i = 0; i < n; i++) {
			unsigned r = (unsigned)rand_r((unsigned *)&seed);

			t[i].node_id = (uint32_t)i + 1;
			t[i].ready = r % 5 ? 1 : 0;
			t[i].weight = weight;
			t[i].health = (uint8_t)(r % 3 ? (r >> 8) % 101 : (r >> 8) % 2 * 100);
			any |= t[i].ready && t[i].health;
		}
		CHECK_INT(dist_slots(method, t, n, false, slots, &n_slots), 0);
		CHECK(n_slots <= DIST_SLOTS);
		for (size_t i = 0; i < n; i++) {
			bool want = t[i].ready && (t[i].health || !any);

			if ((t[i].slots > 0) != want) {
				unit_fail(
				    __FILE__, __LINE__,
				    "seed %lu round %d: target %zu (ready %u health %u) has %u "
				    "slots",
				    seed, round, i, t[i].ready, t[i].health, t[i].slots);
				return;
			}
			for (size_t j = 0; j < n; j++)
				if (t[i].ready && t[j].ready && t[i].health > t[j].health &&
				    t[i].slots < t[j].slots) {
					unit_fail(__FILE__, __LINE__,
					          "seed %lu round %d: health %u gets %u slots, "
					          "health %u gets %u",
					          seed, round, t[i].health, t[i].slots, t[j].health,
					          t[j].slots);
					return;
				}
		}
	}
}

/* WEIGHTEDACTIVE over long-lived connections, the table rebuilt every 5
 * connections, while the third target (health 10) refuses every connection
 * it gets: the healthy two end with their active connections in proportion
 * and the third gets about its weight times health share, not the lot that
 * its lag would call for. */
TEST(dist_slots_weighted_active_unhealthy_target)
{
	struct dist_target t[3] = {0};
	uint8_t slots[DIST_SLOTS] = {0};
	uint16_t n_slots = 1;
	uint32_t rr = 0, tried[3] = {0}, before[3] = {0};

	td_targets(t, "Rw1 Rw2 Rw1h10");
	for (int conn = 0; conn < 120; conn++) {
		if (conn % 5 == 0) {
			for (int i = 0; i < 3; i++) {
				t[i].recent = conn ? tried[i] - before[i] : 0;
				before[i] = tried[i];
			}
			CHECK_INT(
			    dist_slots(CONFIG_DIST_WEIGHTEDACTIVE, t, 3, true, slots, &n_slots), 0);
		}
		rr++;
		tried[slots[rr % n_slots]]++;
		if (slots[rr % n_slots] != 2)
			t[slots[rr % n_slots]].active++;
	}
	/* Weight times health: 100 : 200 : 10, so about 4 of 120. */
	if (tried[2] > 8 || abs((int)t[0].active * 2 - (int)t[1].active) > 6)
		unit_fail(__FILE__, __LINE__, "tried %u %u %u, active %u %u", tried[0], tried[1],
		          tried[2], t[0].active, t[1].active);
}

/* ---- facts ---- */

/* The distribution facts of a profile's VIPADYNAMIC block, and its plex
 * definitions into pf (when not NULL). */
static int td_profile(struct dist_facts *f, struct plex_facts *pf, const char *block)
{
	char text[4096];
	struct config *c = NULL;
	int err;

	snprintf(text, sizeof(text), "INTERFACE eth0\nVIPADYNAMIC\n%s\nENDVIPADYNAMIC\n", block);
	err = config_parse(text, strlen(text), &c, NULL);
	if (err < 0)
		return err;
	memset(f, 0, sizeof(*f));
	err = dist_facts_set_config(f, c);
	if (pf && c->n_vipas) {
		pf->defs = calloc(c->n_vipas, sizeof(*pf->defs));
		for (size_t i = 0; i < c->n_vipas; i++)
			pf->defs[i] = (struct plex_def){c->vipas[i].addr, c->vipas[i].prefix_len,
			                                c->vipas[i].kind, c->vipas[i].rank,
			                                c->vipas[i].moveable};
		pf->n_defs = c->n_vipas;
		plex_facts_sort(pf);
	}
	config_free(c);
	return err;
}

static int td_facts(struct dist_facts *f, const char *block)
{
	return td_profile(f, NULL, block);
}

#define TD_PROFILE                                                                                 \
	"VIPADEFINE 255.255.255.0 10.0.0.10 10.0.0.11\n"                                           \
	"VIPADEFINE 2001:db8::10/64\n"                                                             \
	"VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 8080 80 DESTIP ALL\n"                 \
	"VIPADISTRIBUTE DISTMETHOD WEIGHTEDACTIVE 10.0.0.10 PORT 443 7000-7002 DESTIP "            \
	"192.168.1.3 WEIGHT 30 192.168.1.1 WEIGHT 10\n"                                            \
	"VIPADISTRIBUTE DISTMETHOD HOTSTANDBY 10.0.0.11 PORT 22 DESTIP 192.168.1.2 BACKUP 5 "      \
	"192.168.1.1 PREFERRED 192.168.1.3 BACKUP 50\n"                                            \
	"VIPADISTRIBUTE SYSPLEXPORTS TIMEDAFFINITY 60 2001:db8::10 PORT 21 DESTIP 2001:db8:f::2 "  \
	"2001:db8:f::1\n"

TEST(dist_facts_from_profile)
{
	struct dist_facts f;
	char a[IPADDR_STRLEN];

	CHECK_INT(td_facts(&f, TD_PROFILE), 0);
	CHECK_INT(f.n_dists, 4);
	/* Sorted by DVIPA, then first port; ports ascending, dests by address. */
	CHECK_STR(ipaddr_format(&f.dists[0].addr, a, sizeof(a)), "10.0.0.10");
	CHECK_INT(f.dists[0].ports[0].first, 80);
	CHECK_INT(f.dists[0].ports[1].first, 8080);
	CHECK(f.dists[0].dest_all);
	CHECK_INT(f.dists[1].ports[0].first, 443);
	CHECK_INT(f.dists[1].ports[1].first, 7000);
	CHECK_INT(f.dists[1].ports[1].last, 7002);
	CHECK_STR(ipaddr_format(&f.dists[1].dests[0].addr, a, sizeof(a)), "192.168.1.1");
	CHECK_INT(f.dists[1].dests[0].weight, 10);
	CHECK_INT(f.dists[1].dests[1].weight, 30);
	CHECK_STR(ipaddr_format(&f.dists[2].addr, a, sizeof(a)), "10.0.0.11");
	CHECK(f.dists[2].dests[0].preferred);
	CHECK_INT(f.dists[2].dests[1].backup_rank, 5);
	CHECK(f.dists[3].sysplexports);
	CHECK_INT(f.dists[3].timedaffinity, 60);
	CHECK_INT(dist_facts_check(&f), 0);
	dist_facts_clear(&f);
	dist_facts_clear(&f);
	dist_facts_clear(NULL);
}

TEST(dist_facts_quiesce_and_resume)
{
	struct dist_facts f = {0};

	CHECK(!dist_facts_is_quiesced(&f, 80));
	CHECK_INT(dist_facts_quiesce(&f, 80, false), -EALREADY);
	CHECK_INT(dist_facts_quiesce(&f, 80, true), 0);
	CHECK_INT(dist_facts_quiesce(&f, 80, true), -EALREADY);
	CHECK_INT(dist_facts_quiesce(&f, 22, true), 0);
	CHECK_INT(dist_facts_quiesce(&f, 443, true), 0);
	CHECK_INT(f.n_quiesced, 3);
	CHECK(f.quiesced[0] == 22 && f.quiesced[1] == 80 && f.quiesced[2] == 443);
	CHECK(dist_facts_is_quiesced(&f, 80) && !dist_facts_is_quiesced(&f, 81));
	CHECK_INT(dist_facts_check(&f), 0);
	CHECK_INT(dist_facts_quiesce(&f, 80, false), 0);
	CHECK(!dist_facts_is_quiesced(&f, 80));
	CHECK_INT(dist_facts_quiesce(&f, 0, true), 0);
	CHECK(f.quiesce_all && f.n_quiesced == 0 && dist_facts_is_quiesced(&f, 81));
	CHECK_INT(dist_facts_quiesce(&f, 81, true), -EALREADY);
	CHECK_INT(dist_facts_quiesce(&f, 81, false), -EINVAL);
	CHECK_INT(dist_facts_quiesce(&f, 0, false), 0);
	CHECK_INT(dist_facts_quiesce(&f, 0, false), -EALREADY);
	CHECK(!dist_facts_is_quiesced(&f, 81));
	dist_facts_clear(&f);
}

TEST(dist_facts_check_rules)
{
	struct dist_facts f;

	CHECK_INT(td_facts(&f, TD_PROFILE), 0);
	f.dists[0].ports[0].first = 9000; /* 9000 > 8080: out of order */
	CHECK_INT(dist_facts_check(&f), -EINVAL);
	f.dists[0].ports[0].first = 443; /* overlaps the other statement of 10.0.0.10 */
	CHECK_INT(dist_facts_check(&f), -EINVAL);
	f.dists[0].ports[0].first = 80;
	f.dists[1].dests[0].weight = 0;
	CHECK_INT(dist_facts_check(&f), -EINVAL);
	f.dists[1].dests[0].weight = 10;
	f.dists[2].dests[0].preferred = false; /* HOTSTANDBY without PREFERRED */
	CHECK_INT(dist_facts_check(&f), -EINVAL);
	f.dists[2].dests[0].preferred = true;
	f.dists[1].dests[0].backup_rank = 3; /* BACKUP without HOTSTANDBY */
	CHECK_INT(dist_facts_check(&f), -EINVAL);
	f.dists[1].dests[0].backup_rank = 0;
	f.plex_v4 = td_addr("2001:db8::1");
	CHECK_INT(dist_facts_check(&f), -EINVAL);
	f.plex_v4 = td_addr("10.1.1.1");
	CHECK_INT(dist_facts_check(&f), 0);
	dist_facts_clear(&f);
}

/* ---- wire records ---- */

static void td_sample(struct dist_facts *f)
{
	static const struct {
		const char *dvipa;
		uint16_t port;
		uint32_t ready;
	} ready[] = {{"10.0.0.10", 80, 2}, {"10.0.0.10", 443, 1}, {"2001:db8::10", 21, 7}};

	td_facts(f, TD_PROFILE);
	f->plex_v4 = td_addr("192.168.1.1");
	f->plex_v6 = td_addr("2001:db8:f::1");
	dist_facts_quiesce(f, 443, true);
	dist_facts_quiesce(f, 80, true);
	f->ready = calloc(3, sizeof(*f->ready));
	for (size_t i = 0; i < 3; i++)
		f->ready[i] =
		    (struct dist_ready){td_addr(ready[i].dvipa), ready[i].port, ready[i].ready};
	f->n_ready = 3;
}

static bool td_equal(const struct dist_facts *a, const struct dist_facts *b)
{
	uint8_t x[8192], y[8192];
	size_t lx, ly;

	return wire_dist_encode(a, x, sizeof(x), &lx) == 0 &&
	       wire_dist_encode(b, y, sizeof(y), &ly) == 0 && lx == ly && memcmp(x, y, lx) == 0;
}

TEST(wire_dist_roundtrip)
{
	struct dist_facts f, g = {0}, e = {0};
	uint8_t buf[8192];
	size_t len;

	td_sample(&f);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, wire_dist_size(&f));
	CHECK_INT(wire_check_ext(buf, len), 0);
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK(td_equal(&f, &g));
	CHECK_INT(g.n_ready, 3);
	CHECK_INT(g.ready[2].ready, 7);
	CHECK_INT(g.n_quiesced, 2);
	CHECK(!g.quiesce_all);
	CHECK_INT(g.dists[2].dests[2].backup_rank, 50);
	CHECK_INT(wire_dist_encode(&f, buf, len - 1, &len), -EMSGSIZE);
	/* Nothing to say: no records at all. */
	CHECK_INT(wire_dist_encode(&e, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, 0);
	CHECK_INT(wire_dist_decode(buf, 0, &e), 0);
	CHECK_INT(e.n_dists + e.n_ready + e.n_quiesced, 0);
	/* "All" quiesced. */
	dist_facts_quiesce(&f, 0, true);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	dist_facts_clear(&g);
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK(g.quiesce_all && g.n_quiesced == 0);
	/* Through a whole FACTS message. */
	{
		struct plex_facts pf = {.node_id = 3, .seq = 9, .name = "n3"};
		uint8_t msg[16384], ext[8192];
		size_t elen, mlen;
		struct plex_facts pg = {0};
		struct wire_ext we;
		struct dist_facts h = {0};

		CHECK_INT(wire_dist_encode(&f, ext, sizeof(ext), &elen), 0);
		CHECK_INT(wire_encode_facts(&pf, ext, elen, msg, sizeof(msg), &mlen), 0);
		CHECK_INT(wire_decode_facts(msg, mlen, &pg, &we), 0);
		CHECK_INT(wire_dist_decode(we.data, we.len, &h), 0);
		CHECK(td_equal(&f, &h));
		dist_facts_clear(&h);
		plex_facts_clear(&pg);
	}
	dist_facts_clear(&g);
	dist_facts_clear(&f);
}

/* Offsets of the record type fields of a well-formed section. */
static size_t td_type_offsets(const uint8_t *buf, size_t len, size_t *at, size_t max)
{
	size_t n = 0;

	for (size_t off = 0; off < len && n < max;) {
		struct wire_ext_record rec;

		memcpy(&rec, buf + off, sizeof(rec));
		at[n++] = off;
		off += sizeof(rec) + ((le16toh(rec.length) + 3u) & ~3u);
	}
	return n;
}

/* Every truncation loses facts (or breaks the framing); every single-byte
 * change is refused, or decodes to facts that encode back to exactly the
 * changed bytes (one encoding per facts) -- unless it turned a record into
 * one of a type this version does not know, which is skipped. */
TEST(wire_dist_every_corruption)
{
	struct dist_facts f, g;
	uint8_t buf[8192];
	size_t len, at[64], n_at;
	static const uint8_t flips[] = {0x01, 0x02, 0x80, 0xff, 0x10};

	td_sample(&f);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	n_at = td_type_offsets(buf, len, at, 64);
	for (size_t n = 0; n < len; n++) {
		int r = wire_dist_decode(buf, n, &g);

		if (r == 0) {
			if (td_equal(&f, &g)) {
				unit_fail(__FILE__, __LINE__, "truncation to %zu kept everything",
				          n);
				dist_facts_clear(&g);
				break;
			}
			dist_facts_clear(&g);
		}
	}
	dist_wire_flips_ok(buf, len, flips, sizeof(flips), at, n_at, __FILE__, __LINE__);
	dist_facts_clear(&f);
}

TEST(wire_dist_records_order_and_unknown)
{
	struct dist_facts f, g;
	uint8_t buf[8192], with[8200];
	size_t len;
	struct wire_ext_record unknown = {.type = htole16(99), .length = htole16(3)};
	struct wire_dist_addrs a = {0};
	struct wire_ext_record rec = {.type = htole16(WIRE_EXT_PLEX_ADDRS),
	                              .length = htole16(sizeof(a))};

	td_sample(&f);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	/* An unknown record in front is skipped. */
	memcpy(with, &unknown, sizeof(unknown));
	memset(with + 4, 0x5a, 3);
	with[7] = 0;
	memcpy(with + 8, buf, len);
	CHECK_INT(wire_dist_decode(with, len + 8, &g), 0);
	CHECK(td_equal(&f, &g));
	dist_facts_clear(&g);
	/* A second PLEX_ADDRS, or one with no family, is refused. */
	a.v4.family = IPADDR_V4;
	a.v4.bytes[0] = 1;
	memcpy(with, buf, len);
	memcpy(with + len, &rec, sizeof(rec));
	memcpy(with + len + 4, &a, sizeof(a));
	CHECK_INT(wire_dist_decode(with, len + 4 + sizeof(a), &g), -EBADMSG);
	memset(&a, 0, sizeof(a));
	memcpy(with, &rec, sizeof(rec));
	memcpy(with + 4, &a, sizeof(a));
	CHECK_INT(wire_dist_decode(with, 4 + sizeof(a), &g), -EBADMSG);
	/* Known records out of order: PLEX_ADDRS before DIST_PORTS. */
	a.v4.family = IPADDR_V4;
	memcpy(with + 4, &a, sizeof(a));
	memcpy(with + 4 + sizeof(a), buf, len);
	CHECK_INT(wire_dist_decode(with, 4 + sizeof(a) + len, &g), -EBADMSG);
	/* Broken framing. */
	CHECK_INT(wire_dist_decode(buf, len - 2, &g), -EBADMSG);
	dist_facts_clear(&f);
}

/* ---- the view ---- */

/* A small plex: node i (1..n) has plex address 192.168.1.i and the
 * distribution facts of its profile; `held` lists "ID:DVIPA" held active.
 * Node `self` sees it. */
struct td_plex {
	struct plex *p;
	struct plex_facts facts[4];
	struct dist_facts dist[4];
	bool stale[4]; /* its distribution facts come from an older announcement */
	size_t n;
	uint32_t self;
};

static void td_plex_init(struct td_plex *t, uint32_t self, size_t n, const char *const *profiles,
                         const char *held)
{
	uint32_t ids[4];
	char buf[256], *save = NULL;

	memset(t, 0, sizeof(*t));
	t->self = self;
	t->p = plex_new(self);
	for (size_t i = 0; i < n; i++) {
		struct plex_facts *f = &t->facts[i];
		char a[48];

		ids[i] = (uint32_t)i + 1;
		f->node_id = ids[i];
		f->seq = 1;
		snprintf(f->name, sizeof(f->name), "n%zu", i + 1);
		snprintf(a, sizeof(a), "192.168.1.%zu", i + 1);
		f->plex_addr = td_addr(a);
		if (profiles[i] && td_profile(&t->dist[i], f, profiles[i]) < 0)
			unit_fail(__FILE__, __LINE__, "profile of node %zu", i + 1);
		t->dist[i].plex_v4 = f->plex_addr;
		snprintf(a, sizeof(a), "2001:db8:f::%zu", i + 1);
		t->dist[i].plex_v6 = td_addr(a);
	}
	snprintf(buf, sizeof(buf), "%s", held ? held : "");
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		struct plex_held h = {.state = PLEX_HELD_ACTIVE, .activated = 1};
		unsigned id = (unsigned)atoi(w);

		h.dvipa = td_addr(strchr(w, ':') + 1);
		plex_facts_set_held(&t->facts[id - 1], &h);
	}
	plex_set_members(t->p, ids, n);
	plex_set_quorum(t->p, true);
	for (size_t i = 0; i < n; i++)
		plex_apply_facts(t->p, ids[i], &t->facts[i]);
	t->n = n;
}

static int td_view(const struct td_plex *t, struct dist_view *v, const struct dist_conns *conns,
                   size_t n_conns)
{
	struct dist_peer peers[4];
	struct dist_input in = {
	    .plex = t->p,
	    .local = &t->facts[t->self - 1],
	    .local_dist = &t->dist[t->self - 1],
	    .peers = peers,
	    .conns = conns,
	    .n_conns = n_conns,
	};

	/* Shallow copies: the view only reads them. */
	for (size_t i = 0; i < t->n; i++) {
		if (i + 1 == t->self)
			continue;
		peers[in.n_peers++] = (struct dist_peer){
		    .node_id = (uint32_t)i + 1,
		    .seq = t->stale[i] ? t->facts[i].seq - 1 : t->facts[i].seq,
		    .facts = t->dist[i],
		};
	}
	return dist_view(&in, v);
}

static void td_plex_fini(struct td_plex *t)
{
	plex_free(t->p);
	for (size_t i = 0; i < 4; i++) {
		plex_facts_clear(&t->facts[i]);
		dist_facts_clear(&t->dist[i]);
	}
}

/* "ID:slots/ready ..." of a service's targets. */
static const char *td_service(const struct dist_view *v, const char *dvipa, uint16_t port,
                              char *buf, size_t size)
{
	struct ipaddr a = td_addr(dvipa);
	const struct dist_service *s = dist_view_find(v, &a, port);
	size_t off = 0;

	if (!s)
		return "none";
	buf[0] = 0;
	for (size_t i = 0; i < s->n_targets && off < size; i++) {
		const struct dist_target *t = &v->targets[s->first_target + i];

		off += (size_t)snprintf(buf + off, size - off, "%s%u:%u/%u%s%s", i ? " " : "",
		                        t->node_id, t->slots, t->ready,
		                        t->flags & DIST_TARGET_LOCAL ? "L" : "",
		                        t->flags & DIST_TARGET_QUIESCED ? "Q" : "");
	}
	return buf;
}

static void td_set_ready(struct dist_facts *f, const char *dvipa, uint16_t port, uint32_t ready)
{
	f->ready = realloc(f->ready, (f->n_ready + 1) * sizeof(*f->ready));
	f->ready[f->n_ready++] = (struct dist_ready){td_addr(dvipa), port, ready};
	dist_facts_sort(f);
}

#define TD_DIST1                                                                                   \
	"VIPADEFINE 255.255.255.0 10.0.0.10\n"                                                     \
	"VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 80 DESTIP ALL\n"                      \
	"VIPADISTRIBUTE DISTMETHOD WEIGHTEDACTIVE 10.0.0.10 PORT 81 DESTIP 192.168.1.1 WEIGHT 1 "  \
	"192.168.1.2 WEIGHT 2 192.168.1.3 WEIGHT 3 192.168.1.9 WEIGHT 4\n"                         \
	"VIPADISTRIBUTE DISTMETHOD HOTSTANDBY 10.0.0.10 PORT 82 DESTIP 192.168.1.2 PREFERRED "     \
	"192.168.1.3 BACKUP 10\n"                                                                  \
	"VIPADEFINE 2001:db8::10/64\n"                                                             \
	"VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 2001:db8::10 PORT 80 DESTIP 2001:db8:f::3 "          \
	"2001:db8:f::1\n"
#define TD_BACKUP2                                                                                 \
	"VIPABACKUP 100 255.255.255.0 10.0.0.10\n"                                                 \
	"VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 80 DESTIP 192.168.1.2 192.168.1.3\n"

TEST(dist_view_services_and_targets)
{
	static const char *const profiles[] = {TD_DIST1, TD_BACKUP2, ""};
	struct td_plex t;
	struct dist_view v = {0};
	struct ipaddr d4 = td_addr("10.0.0.10"), d6 = td_addr("2001:db8::10");
	char buf[128];

	td_plex_init(&t, 2, 3, profiles, "1:10.0.0.10 1:2001:db8::10");
	td_set_ready(&t.dist[0], "10.0.0.10", 80, 1);
	td_set_ready(&t.dist[1], "10.0.0.10", 80, 2);
	td_set_ready(&t.dist[1], "10.0.0.10", 81, 1);
	td_set_ready(&t.dist[2], "10.0.0.10", 81, 1);
	td_set_ready(&t.dist[2], "10.0.0.10", 82, 1);
	td_set_ready(&t.dist[2], "2001:db8::10", 80, 1);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_INT(v.n_services, 4);
	CHECK(!v.truncated);
	/* n1 holds it: n1's statements apply; DESTIP ALL is every member. */
	CHECK_INT(v.services[0].distributor, 1);
	CHECK(v.services[0].distributor_active);
	CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)), "1:1/1L 2:1/2 3:0/0");
	/* 192.168.1.9 is nobody's: left out. */
	CHECK_STR(td_service(&v, "10.0.0.10", 81, buf, sizeof(buf)), "1:0/0L 2:2/1 3:3/1");
	/* HOTSTANDBY: the preferred n2 does not listen; the backup takes all. */
	CHECK_STR(td_service(&v, "10.0.0.10", 82, buf, sizeof(buf)), "2:0/0 3:1/1");
	/* IPv6 targets through their IPv6 plex addresses. */
	CHECK_STR(td_service(&v, "2001:db8::10", 80, buf, sizeof(buf)), "1:0/0L 3:1/1");
	CHECK_STR(
	    ipaddr_format(&v.targets[v.services[3].first_target + 1].plex_addr, buf, sizeof(buf)),
	    "2001:db8:f::3");
	CHECK_INT(dist_view_role(&v, 1, &d4), DIST_ROLE_DIST | DIST_ROLE_DEST);
	CHECK_INT(dist_view_role(&v, 2, &d4), DIST_ROLE_DEST);
	CHECK_INT(dist_view_role(&v, 2, &d6), 0);
	CHECK_INT(dist_view_role(&v, 3, &d6), DIST_ROLE_DEST);
	CHECK_STR(dist_role_name(DIST_ROLE_DIST | DIST_ROLE_DEST), "DIST&DEST");
	dist_view_clear(&v);

	/* n2 quiesces port 80: it keeps its place, without slots. */
	dist_facts_quiesce(&t.dist[1], 80, true);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)), "1:1/1L 2:0/2Q 3:0/0");
	dist_view_clear(&v);
	td_plex_fini(&t);
}

TEST(dist_view_distributor_moves)
{
	static const char *const profiles[] = {TD_DIST1, TD_BACKUP2, ""};
	struct td_plex t;
	struct dist_view v = {0};
	char buf[128];
	uint32_t ids[] = {2, 3};

	/* Nobody holds it yet: the designated owner's (n1's) statements. */
	td_plex_init(&t, 3, 3, profiles, NULL);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_INT(v.n_services, 4);
	CHECK_INT(v.services[0].distributor, 1);
	CHECK(!v.services[0].distributor_active);
	dist_view_clear(&v);
	td_plex_fini(&t);

	/* n1 gone, n2 holds it: n2's one statement, its targets. */
	td_plex_init(&t, 3, 3, profiles, "2:10.0.0.10");
	plex_set_members(t.p, ids, 2);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_INT(v.n_services, 1);
	CHECK_INT(v.services[0].distributor, 2);
	CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)), "2:0/0L 3:0/0");
	dist_view_clear(&v);

	/* Without quorum, nothing. */
	plex_set_quorum(t.p, false);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_INT(v.n_services, 0);
	td_plex_fini(&t);
}

TEST(dist_view_stale_and_left)
{
	static const char *const profiles[] = {TD_DIST1, "", ""};
	struct td_plex t;
	struct dist_view v = {0};
	char buf[128];

	td_plex_init(&t, 1, 3, profiles, "1:10.0.0.10");
	td_set_ready(&t.dist[1], "10.0.0.10", 80, 1);
	/* n2's distribution facts belong to an older announcement: not used. */
	t.stale[1] = true;
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)), "1:0/0L 2:0/0 3:0/0");
	dist_view_clear(&v);
	t.stale[1] = false;
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)), "1:0/0L 2:1/1 3:0/0");
	dist_view_clear(&v);
	/* n3 leaves the group (LEAVEGROUP): no longer a target. */
	t.facts[2].flags |= PLEX_FACTS_LEFT;
	t.facts[2].seq = 2;
	CHECK_INT(plex_apply_facts(t.p, 3, &t.facts[2]), 0);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)), "1:0/0L 2:1/1");
	dist_view_clear(&v);
	td_plex_fini(&t);
}

TEST(dist_view_weighted_active_with_flow_counts)
{
	static const char *const profiles[] = {TD_DIST1, "", ""};
	struct td_plex t;
	struct dist_view v = {0};
	struct dist_conns conns[] = {
	    {td_addr("10.0.0.10"), 81, 2, 20, 25, 0},
	    {td_addr("10.0.0.10"), 81, 3, 0, 40, 0},
	};
	const struct dist_service *s;
	struct ipaddr d4 = td_addr("10.0.0.10");

	td_plex_init(&t, 1, 3, profiles, "1:10.0.0.10");
	td_set_ready(&t.dist[1], "10.0.0.10", 81, 1);
	td_set_ready(&t.dist[2], "10.0.0.10", 81, 1);
	CHECK_INT(td_view(&t, &v, conns, 2), 0);
	s = dist_view_find(&v, &d4, 81);
	CHECK(s != NULL);
	CHECK(v.targets[s->first_target + 1].flags & DIST_TARGET_CONNS);
	CHECK_INT(v.targets[s->first_target + 1].active, 20);
	CHECK_INT(v.targets[s->first_target + 1].total, 25);
	/* n3 (weight 3) has no active connection: it gets nearly everything. */
	CHECK(v.targets[s->first_target + 2].slots > 4 * v.targets[s->first_target + 1].slots);
	dist_view_clear(&v);
	/* Without counts (another node's view), the weights alone. */
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	s = dist_view_find(&v, &d4, 81);
	CHECK_INT(v.targets[s->first_target + 1].slots, 2);
	CHECK_INT(v.targets[s->first_target + 2].slots, 3);
	CHECK(!(v.targets[s->first_target + 1].flags & DIST_TARGET_CONNS));
	dist_view_clear(&v);
	td_plex_fini(&t);
}

/* td_view() with this node's health measurements. */
static int td_view_health(const struct td_plex *t, struct dist_view *v,
                          const struct dist_health_entry *h, size_t n_h)
{
	struct dist_peer peers[4];
	struct dist_input in = {
	    .plex = t->p,
	    .local = &t->facts[t->self - 1],
	    .local_dist = &t->dist[t->self - 1],
	    .peers = peers,
	    .health = h,
	    .n_health = n_h,
	};

	for (size_t i = 0; i < t->n; i++) {
		if (i + 1 == t->self)
			continue;
		peers[in.n_peers++] = (struct dist_peer){
		    .node_id = (uint32_t)i + 1,
		    .seq = t->stale[i] ? t->facts[i].seq - 1 : t->facts[i].seq,
		    .facts = t->dist[i],
		};
	}
	return dist_view(&in, v);
}

TEST(dist_view_health)
{
	static const char *const profiles[] = {TD_DIST1, TD_BACKUP2, ""};
	struct ipaddr d4 = td_addr("10.0.0.10");
	struct dist_health_entry h[2] = {{.dvipa = d4, .port = 80, .node_id = 2},
	                                 {.dvipa = d4, .port = 80, .node_id = 3}};
	const struct dist_service *s;
	struct dist_view v = {0};
	struct td_plex t;
	char buf[128];

	dist_health_init(&h[0].h);
	dist_health_init(&h[1].h);
	h[1].h.health = 40;
	for (uint32_t self = 1; self <= 2; self++) {
		td_plex_init(&t, self, 3, profiles, "1:10.0.0.10");
		for (size_t i = 0; i < 3; i++) {
			td_set_ready(&t.dist[i], "10.0.0.10", 80, 1);
			td_set_ready(&t.dist[i], "10.0.0.10", 81, 1);
		}
		CHECK_INT(td_view_health(&t, &v, h, 2), 0);
		s = dist_view_find(&v, &d4, 80);
		CHECK(s != NULL);
		if (self == 1) {
			/* The distributor's own measure: 100 : 100 : 40. */
			CHECK_INT(v.targets[s->first_target + 2].health, 40);
			CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)),
			          "1:5/1L 2:5/1 3:2/1");
		} else {
			/* Another node's view of n1's service: not measured here. */
			CHECK_INT(v.targets[s->first_target + 2].health, DIST_HEALTH_MAX);
			CHECK_STR(td_service(&v, "10.0.0.10", 80, buf, sizeof(buf)),
			          "1:1/1L 2:1/1 3:1/1");
		}
		/* Port 81 has no measurement: full health. */
		s = dist_view_find(&v, &d4, 81);
		CHECK_INT(v.targets[s->first_target + 2].health, DIST_HEALTH_MAX);
		dist_view_clear(&v);
		td_plex_fini(&t);
	}
	/* A member that announced nothing about distribution: health 0. */
	td_plex_init(&t, 1, 3, profiles, "1:10.0.0.10");
	t.stale[2] = true;
	CHECK_INT(td_view_health(&t, &v, NULL, 0), 0);
	s = dist_view_find(&v, &d4, 80);
	CHECK(v.targets[s->first_target + 2].flags & DIST_TARGET_SILENT);
	CHECK_INT(v.targets[s->first_target + 2].health, 0);
	CHECK_INT(v.targets[s->first_target + 1].health, DIST_HEALTH_MAX);
	dist_view_clear(&v);
	td_plex_fini(&t);
}

TEST(dist_view_truncated_ranges)
{
	static const char *const profiles[] = {
	    "VIPADEFINE 255.255.255.0 10.0.0.10\n"
	    "VIPADISTRIBUTE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 1000-2999 DESTIP ALL\n",
	    ""};
	struct td_plex t;
	struct dist_view v = {0};

	td_plex_init(&t, 1, 2, profiles, "1:10.0.0.10");
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_INT(v.n_services, DIST_MAX_PORTS);
	CHECK(v.truncated);
	CHECK_INT(v.services[DIST_MAX_PORTS - 1].port, 1000 + DIST_MAX_PORTS - 1);
	dist_view_clear(&v);
	td_plex_fini(&t);
}

/* TIMEDAFFINITY is the distributor's: it follows the statement of whoever
 * holds the DVIPA, per port. Only ready, unquiesced targets keep clients,
 * with or without slots. */
TEST(dist_view_timed_affinity)
{
	static const char *const profiles[] = {
	    "VIPADEFINE 255.255.255.0 10.0.0.10\n"
	    "VIPADISTRIBUTE DISTMETHOD ROUNDROBIN TIMEDAFFINITY 300 10.0.0.10 PORT 80 DESTIP ALL\n"
	    "VIPADISTRIBUTE DISTMETHOD WEIGHTEDACTIVE 10.0.0.10 PORT 81 DESTIP ALL\n",
	    "VIPABACKUP 100 255.255.255.0 10.0.0.10\n"
	    "VIPADISTRIBUTE TIMEDAFFINITY 99999 10.0.0.10 PORT 80 81 DESTIP ALL\n",
	    ""};
	struct td_plex t;
	struct dist_view v = {0};
	struct ipaddr d4 = td_addr("10.0.0.10");
	const struct dist_service *s;
	uint32_t ids[] = {2, 3};
	struct dist_conns conns[] = {
	    {td_addr("10.0.0.10"), 81, 2, 30, 30, 0},
	    {td_addr("10.0.0.10"), 81, 3, 0, 0, 0},
	};

	td_plex_init(&t, 3, 3, profiles, "1:10.0.0.10");
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	s = dist_view_find(&v, &d4, 80);
	CHECK(s != NULL);
	CHECK_INT(s->timedaffinity, 300);
	s = dist_view_find(&v, &d4, 81);
	CHECK(s != NULL);
	CHECK_INT(s->timedaffinity, 0);
	dist_view_clear(&v);
	td_plex_fini(&t);

	/* n1 gone, n2 holds it: n2's statement, its TIMEDAFFINITY. */
	td_plex_init(&t, 3, 3, profiles, "2:10.0.0.10");
	plex_set_members(t.p, ids, 2);
	CHECK_INT(td_view(&t, &v, NULL, 0), 0);
	CHECK_INT(v.n_services, 2);
	CHECK_INT(v.services[0].timedaffinity, 99999);
	CHECK_INT(v.services[1].timedaffinity, 99999);
	dist_view_clear(&v);
	td_plex_fini(&t);

	/* WEIGHTEDACTIVE gives a target far ahead no slot: still ready, it
	 * keeps its clients. A quiesced one and one without listener do not. */
	td_plex_init(&t, 1, 3, profiles, "1:10.0.0.10");
	td_set_ready(&t.dist[1], "10.0.0.10", 81, 1);
	td_set_ready(&t.dist[2], "10.0.0.10", 81, 1);
	CHECK_INT(td_view(&t, &v, conns, 2), 0);
	s = dist_view_find(&v, &d4, 81);
	CHECK(s != NULL);
	CHECK_INT(v.targets[s->first_target + 1].slots, 0);
	CHECK(dist_target_ready(&v.targets[s->first_target + 1]));
	CHECK(dist_target_ready(&v.targets[s->first_target + 2]));
	CHECK(!dist_target_ready(&v.targets[s->first_target])); /* n1: no listener */
	dist_view_clear(&v);
	dist_facts_quiesce(&t.dist[2], 81, true);
	CHECK_INT(td_view(&t, &v, conns, 2), 0);
	s = dist_view_find(&v, &d4, 81);
	CHECK(!dist_target_ready(&v.targets[s->first_target + 2]));
	CHECK(v.targets[s->first_target + 2].flags & DIST_TARGET_QUIESCED);
	dist_view_clear(&v);
	td_plex_fini(&t);

	/* A target that refuses or drops connections loses its clients. */
	{
		struct dist_target h = {.ready = 1, .health = DIST_HEALTH_LOW};

		CHECK(dist_target_ready(&h));
		h.health = DIST_HEALTH_LOW - 1;
		CHECK(!dist_target_ready(&h));
	}
}
