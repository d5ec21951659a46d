/* The plex state machine: table tests of the owner derivation, the claim
 * protocol step by step, transitions, statuses, and small lockstep clusters.
 * tests/unit/test_plex_sim.c runs the randomised many-node simulation. */
#include "core/plex.h"
#include "core/wire.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>

/* Facts from a compact spec, space separated:
 *   D:A  Di:A  Dw:A        VIPADEFINE (MOVEABLE unset / IMMEDIATE / WHENIDLE)
 *   B50:A  B50i:A  B50w:A  VIPABACKUP rank 50 (MOVEABLE unset / ...)
 *   H:A  H3:A              active here (with 3 connections)
 *   C:A                    claimed here
 *   X:A                    deactivated here
 *   K:A                    known to exist
 *   LEFT                   LEAVEGROUP
 * A is an address with an optional /prefix_len. Returns 0 or -EINVAL. */
static int tp_facts(struct plex_facts *f, uint32_t id, uint64_t seq, const char *spec)
{
	char buf[512], *save = NULL;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	f->node_id = id;
	f->seq = seq;
	snprintf(f->name, sizeof(f->name), "node%u", id);
	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *colon = strchr(tok, ':'), *slash;
		struct ipaddr a;
		int prefix = -1;

		if (strcmp(tok, "LEFT") == 0) {
			f->flags |= PLEX_FACTS_LEFT;
			continue;
		}
		if (!colon)
			return -EINVAL;
		*colon = 0;
		slash = strchr(colon + 1, '/');
		if (slash) {
			*slash = 0;
			prefix = atoi(slash + 1);
		}
		if (ipaddr_parse(colon + 1, &a) < 0)
			return -EINVAL;
		if (prefix < 0)
			prefix = (int)ipaddr_max_prefix(&a);
		if (tok[0] == 'D' || tok[0] == 'B') {
			struct plex_def d = {.dvipa = a, .prefix_len = (uint8_t)prefix};
			char *p = tok + 1;

			d.kind = tok[0] == 'D' ? CONFIG_VIPADEFINE : CONFIG_VIPABACKUP;
			d.rank = CONFIG_RANK_OWNER;
			if (tok[0] == 'B')
				d.rank = (uint8_t)strtoul(p, &p, 10);
			d.moveable = *p == 'i'   ? CONFIG_MOVEABLE_IMMEDIATE
			             : *p == 'w' ? CONFIG_MOVEABLE_WHENIDLE
			                         : CONFIG_MOVEABLE_UNSET;
			f->defs = realloc(f->defs, (f->n_defs + 1) * sizeof(*f->defs));
			f->defs[f->n_defs++] = d;
		} else if (tok[0] == 'H' || tok[0] == 'C') {
			struct plex_held h = {.dvipa = a};

			h.state = tok[0] == 'H' ? PLEX_HELD_ACTIVE : PLEX_HELD_CLAIMED;
			h.conns = (uint32_t)strtoul(tok + 1, NULL, 10);
			h.activated = h.state == PLEX_HELD_ACTIVE ? 1000 : 0;
			ret = plex_facts_set_held(f, &h);
		} else if (tok[0] == 'X') {
			ret = plex_facts_set_deactivated(f, &a, true);
		} else if (tok[0] == 'K') {
			f->known = realloc(f->known, (f->n_known + 1) * sizeof(*f->known));
			f->known[f->n_known++] = a;
		} else {
			return -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
	ret = plex_facts_sort(f);
	return ret < 0 ? ret : plex_facts_check(f);
}

static struct ipaddr tp_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

/* A short name for the test addresses. */
#define A  "10.0.0.1"
#define B  "10.0.0.2"
#define V6 "2001:db8::1"

struct tp_node {
	uint32_t id;
	const char *spec; /* NULL: member without facts */
};

struct tp_case {
	const char *name;
	bool quorate;
	struct tp_node nodes[6];
	const char *expect; /* "ADDR=OWNER ..." */
};

static const struct tp_case tp_cases[] = {
    {"definer owns", true, {{1, "Di:" A}, {2, "B100:" A}}, A "=1"},
    {"no quorum, no owner", false, {{1, "Di:" A " H:" A}, {2, "B100:" A}}, A "=0"},
    {"definer LEFT: best backup",
     true,
     {{1, "Di:" A " LEFT"}, {2, "B100:" A}, {3, "B200:" A}},
     A "=3"},
    {"backup rank tie: lowest id",
     true,
     {{1, "Di:" A " X:" A}, {3, "B100:" A}, {2, "B100:" A}},
     A "=2"},
    {"backup without MOVEABLE does not create", true, {{2, "B100:" A}, {3, "B50:" A}}, A "=0"},
    {"backup with MOVEABLE creates, before a higher rank without",
     true,
     {{2, "B100:" A}, {3, "B50i:" A}, {4, "B40w:" A}},
     A "=3"},
    {"known to exist: the best backup takes it",
     true,
     {{2, "B100:" A " K:" A}, {3, "B50i:" A}},
     A "=2"},
    {"known from a node that does not define it", true, {{2, "B100:" A}, {3, "K:" A}}, A "=2"},
    {"holder keeps it against a higher backup",
     true,
     {{2, "B50:" A " H:" A}, {3, "B100:" A}},
     A "=2"},
    {"MOVEABLE IMMEDIATE: takeback at once", true, {{1, "Di:" A}, {2, "B50:" A " H5:" A}}, A "=1"},
    {"MOVEABLE unset on VIPADEFINE means IMMEDIATE",
     true,
     {{1, "D:" A}, {2, "B50:" A " H5:" A}},
     A "=1"},
    {"MOVEABLE WHENIDLE: busy holder keeps it",
     true,
     {{1, "Dw:" A}, {2, "B50:" A " H5:" A}},
     A "=2"},
    {"MOVEABLE WHENIDLE: idle holder gives it back",
     true,
     {{1, "Dw:" A}, {2, "B50:" A " H:" A}},
     A "=1"},
    {"WHENIDLE comes from the VIPADEFINE, not the backup",
     true,
     {{1, "Di:" A}, {2, "B50w:" A " H5:" A}},
     A "=1"},
    {"quiescing holder busy: backup takes it at once",
     true,
     {{1, "Di:" A " H3:" A " X:" A}, {2, "B50:" A}},
     A "=2"},
    {"quiescing holder idle: backup takes it",
     true,
     {{1, "Di:" A " H:" A " X:" A}, {2, "B50:" A}},
     A "=2"},
    {"quiescing holder keeps it when nobody else may own it",
     true,
     {{1, "Di:" A " H3:" A " X:" A}, {2, "B50:" A " X:" A}, {3, "B60:" A " LEFT"}, {4, "K:" A}},
     A "=1"},
    {"quiescing holder idle, nobody else: nobody",
     true,
     {{1, "Di:" A " H:" A " X:" A}, {2, "B50:" A " X:" A}},
     A "=0"},
    {"quiescing backup: IMMEDIATE VIPADEFINE takes it",
     true,
     {{1, "Di:" A}, {2, "B50:" A " H3:" A " X:" A}},
     A "=1"},
    {"quiescing backup: WHENIDLE VIPADEFINE takes it too",
     true,
     {{1, "Dw:" A}, {2, "B50:" A " H3:" A " X:" A}},
     A "=1"},
    {"quiescing WHENIDLE VIPADEFINE: backup takes it",
     true,
     {{1, "Dw:" A " H3:" A " X:" A}, {2, "B50:" A}},
     A "=2"},
    {"quiescing backup: the best backup takes it, whatever the rank",
     true,
     {{1, "Di:" A " X:" A}, {2, "B90:" A " H3:" A " X:" A}, {3, "B10:" A}, {4, "B5i:" A}},
     A "=3"},
    {"quiescing and eligible holders: the eligible one keeps it",
     true,
     {{2, "B90:" A " H3:" A " X:" A}, {3, "B50:" A " H:" A}, {4, "B70:" A}},
     A "=3"},
    {"two quiescing holders, nobody else: the higher rank",
     true,
     {{2, "B50:" A " H3:" A " X:" A}, {3, "B60:" A " H1:" A " X:" A}},
     A "=3"},
    {"deactivated nodes are not eligible",
     true,
     {{1, "Di:" A " X:" A}, {2, "B100:" A " X:" A}, {3, "B50:" A}},
     A "=3"},
    {"deactivated everywhere: nobody",
     true,
     {{1, "Di:" A " X:" A}, {2, "B100:" A " X:" A}},
     A "=0"},
    {"LEFT holder is not sticky",
     true,
     {{1, "Dw:" A " X:" A}, {2, "B50:" A " H5:" A " LEFT"}, {3, "B10:" A}},
     A "=3"},
    {"holder without a definition is not sticky", true, {{2, "H:" A}, {3, "B10:" A}}, A "=3"},
    {"two holders: the higher rank keeps it",
     true,
     {{2, "B50:" A " H:" A}, {3, "B60:" A " H:" A}},
     A "=3"},
    {"a claim is not a hold",
     true,
     {{1, "Di:" A " X:" A}, {2, "B50:" A " C:" A}, {3, "B100:" A}},
     A "=3"},
    {"duplicate VIPADEFINE: lowest id", true, {{4, "Di:" A}, {2, "Di:" A}}, A "=2"},
    {"member without facts counts for nothing", true, {{1, NULL}, {2, "B10:" A " K:" A}}, A "=2"},
    {"IPv6", true, {{1, "Di:" V6 "/64"}, {2, "B10:" V6 " H:" V6}}, V6 "=1"},
    {"DVIPAs are independent",
     true,
     {{1, "Di:" A " B10:" B}, {2, "B20:" A " Dw:" B " X:" B}, {3, "B30i:" V6}},
     A "=1 " B "=1 " V6 "=3"},
};

static void tp_run_case(const struct tp_case *c)
{
	struct plex *p = plex_new(c->nodes[0].id);
	uint32_t ids[6];
	size_t n = 0;
	char buf[256], *save = NULL;

	for (; n < 6 && c->nodes[n].id; n++)
		ids[n] = c->nodes[n].id;
	if (!p || plex_set_members(p, ids, n) < 0 || plex_set_quorum(p, c->quorate) < 0) {
		unit_fail(__FILE__, __LINE__, "%s: setup", c->name);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct plex_facts f;

		if (!c->nodes[i].spec)
			continue;
		if (tp_facts(&f, c->nodes[i].id, 1, c->nodes[i].spec) < 0 ||
		    plex_apply_facts(p, c->nodes[i].id, &f) < 0) {
			unit_fail(__FILE__, __LINE__, "%s: facts of %u", c->name, c->nodes[i].id);
			plex_facts_clear(&f);
			goto out;
		}
		plex_facts_clear(&f);
	}
	snprintf(buf, sizeof(buf), "%s", c->expect);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		struct ipaddr a;
		uint32_t want, got;

		*eq = 0;
		a = tp_addr(tok);
		want = (uint32_t)atoi(eq + 1);
		got = plex_owner(p, &a);
		if (got != want)
			unit_fail(__FILE__, __LINE__, "%s: owner of %s is %u, want %u", c->name,
			          tok, got, want);
	}
out:
	plex_free(p);
}

TEST(plex_derivation_table)
{
	for (size_t i = 0; i < sizeof(tp_cases) / sizeof(tp_cases[0]); i++)
		tp_run_case(&tp_cases[i]);
}

TEST(plex_inputs_checked)
{
	struct plex *p = plex_new(1);
	struct plex_facts f;
	uint32_t ids[] = {3, 1, 2}, dup[] = {1, 1}, zero[] = {1, 0}, noself[] = {2, 3};
	const uint32_t *got;

	CHECK(p);
	CHECK(plex_new(0) == NULL);
	CHECK_INT(plex_set_members(p, dup, 2), -EINVAL);
	CHECK_INT(plex_set_members(p, zero, 2), -EINVAL);
	CHECK_INT(plex_set_members(p, noself, 2), -EINVAL);
	CHECK_INT(plex_set_members(p, ids, 3), 0);
	CHECK_INT(plex_members(p, &got), 3);
	CHECK(got[0] == 1 && got[1] == 2 && got[2] == 3);
	CHECK(!plex_complete(p));
	CHECK_INT(tp_facts(&f, 2, 5, "Di:" A), 0);
	CHECK_INT(plex_apply_facts(p, 3, &f), -EPERM);
	CHECK_INT(plex_apply_facts(p, 2, &f), 0);
	CHECK_INT(plex_apply_facts(p, 2, &f), -ESTALE);
	f.seq = 4;
	CHECK_INT(plex_apply_facts(p, 2, &f), -ESTALE);
	plex_facts_clear(&f);
	CHECK_INT(tp_facts(&f, 9, 1, "Di:" A), 0);
	CHECK_INT(plex_apply_facts(p, 9, &f), -ESRCH);
	plex_facts_clear(&f);
	CHECK_INT(tp_facts(&f, 3, 1, "Di:" A), 0);
	f.defs[0].rank = 3;
	CHECK_INT(plex_apply_facts(p, 3, &f), -EINVAL);
	plex_facts_clear(&f);
	CHECK(plex_member_facts(p, 2) != NULL);
	CHECK(plex_member_facts(p, 3) == NULL);
	/* Leaving forgets the facts; coming back starts from none. */
	CHECK_INT(plex_set_members(p, ids + 1, 2), 0);
	CHECK(plex_member_facts(p, 2) != NULL);
	CHECK_INT(plex_set_members(p, ids + 1, 1), 0);
	CHECK_INT(plex_set_members(p, ids, 3), 0);
	CHECK(plex_member_facts(p, 2) == NULL);
	plex_free(p);
	plex_free(NULL);
}

/* Applies a spec as node id's facts to p. */
static int tp_apply(struct plex *p, uint32_t id, uint64_t seq, const char *spec)
{
	struct plex_facts f;
	int ret = tp_facts(&f, id, seq, spec);

	if (ret == 0)
		ret = plex_apply_facts(p, id, &f);
	plex_facts_clear(&f);
	return ret;
}

/* The actions as "add:10.0.0.1 claim:..." for easy comparison. */
static const char *tp_actions(const struct plex *p, const struct plex_facts *local, char *buf,
                              size_t size)
{
	struct plex_action *v;
	size_t n, off = 0;

	buf[0] = 0;
	if (plex_actions(p, local, &v, &n) < 0)
		return "error";
	for (size_t i = 0; i < n; i++) {
		char a[IPADDR_STRLEN];

		off += (size_t)snprintf(buf + off, size - off, "%s%s:%s", i ? " " : "",
		                        plex_action_name(v[i].type),
		                        ipaddr_format(&v[i].dvipa, a, sizeof(a)));
	}
	free(v);
	return buf;
}

TEST(plex_claim_then_add_two_phase)
{
	/* Node 1 defines A (IMMEDIATE); node 2 holds it as a backup. */
	struct plex *p = plex_new(1);
	struct plex_facts local;
	uint32_t ids[] = {1, 2, 3};
	char buf[256];

	CHECK(p);
	CHECK_INT(plex_set_members(p, ids, 3), 0);
	CHECK_INT(plex_set_quorum(p, true), 0);
	CHECK_INT(tp_apply(p, 2, 1, "B50:" A " H4:" A), 0);
	CHECK_INT(tp_facts(&local, 1, 1, "Di:" A), 0);
	/* Nothing to claim before our own facts are in. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK_INT(plex_apply_facts(p, 1, &local), 0);
	CHECK_INT(plex_owner(p, &(struct ipaddr){0}), 0);
	CHECK_INT(plex_owner(p, &(struct ipaddr){.family = 4, .bytes = {10, 0, 0, 1}}), 1);
	/* Owner: claim first, never add straight away. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "claim:" A);
	{
		struct plex_action a = {PLEX_ACTION_CLAIM, 32, tp_addr(A)};

		CHECK_INT(plex_facts_apply_action(&local, &a, 5), 0);
		local.seq = 2;
	}
	/* Claim sent, not delivered: wait. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK_INT(plex_apply_facts(p, 1, &local), 0);
	/* Delivered, but node 2 still lists A, and node 3 has not announced. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 2, 2, "B50:" A), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK(!plex_complete(p));
	CHECK_INT(tp_apply(p, 3, 1, "B10:" A), 0);
	CHECK(plex_complete(p));
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "add:" A);
	/* Another claim for A anywhere blocks the add as well. */
	CHECK_INT(tp_apply(p, 3, 2, "B10:" A " C:" A), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 3, 3, "B10:" A), 0);
	{
		struct plex_action a = {PLEX_ACTION_ADD, 32, tp_addr(A)};

		CHECK_INT(plex_facts_apply_action(&local, &a, 77), 0);
		CHECK_INT(local.held[0].state, PLEX_HELD_ACTIVE);
		CHECK_INT(local.held[0].activated, 77);
		local.seq = 3;
	}
	CHECK_INT(plex_apply_facts(p, 1, &local), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	/* Quorum lost: release at once, even with an announcement in flight. */
	local.seq = 4;
	CHECK_INT(plex_set_quorum(p, false), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "remove:" A);
	plex_facts_clear(&local);
	plex_free(p);
}

TEST(plex_release_when_not_owner)
{
	/* Node 2 holds A and claims B; node 1 (VIPADEFINE IMMEDIATE) returns. */
	struct plex *p = plex_new(2);
	struct plex_facts local;
	uint32_t ids[] = {1, 2};
	char buf[256];

	CHECK(p);
	CHECK_INT(plex_set_members(p, ids, 2), 0);
	CHECK_INT(plex_set_quorum(p, true), 0);
	CHECK_INT(tp_facts(&local, 2, 1, "B50:" A " H9:" A " C:" B " H:10.9.9.9"), 0);
	CHECK_INT(plex_apply_facts(p, 2, &local), 0);
	CHECK_INT(tp_apply(p, 1, 1, "Di:" A " Di:" B), 0);
	/* A goes back (IMMEDIATE), the claim on B is dropped, 10.9.9.9 is no
	 * one's DVIPA any more. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)),
	          "remove:" A " unclaim:" B " remove:10.9.9.9");
	/* LEAVEGROUP: everything goes, and no claims. */
	plex_facts_clear(&local);
	CHECK_INT(tp_facts(&local, 2, 2, "B50:" A " B60:10.7.7.7 H:10.7.7.7 LEFT"), 0);
	CHECK_INT(plex_apply_facts(p, 2, &local), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "remove:10.7.7.7");
	plex_facts_clear(&local);
	plex_free(p);
}

/* Transitions of the last input as "OLD>NEW:REASON ...". */
static const char *tp_trans(const struct plex *p, char *buf, size_t size)
{
	const struct plex_transition *t;
	size_t n = plex_transitions(p, &t), off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u>%u:%s", i ? " " : "",
		                        t[i].old_owner, t[i].new_owner,
		                        plex_reason_name((enum plex_reason)t[i].reason));
	return buf;
}

TEST(plex_existing_memory)
{
	/* Node 1 (VIPADEFINE) has A, node 2 backs it up without MOVEABLE. */
	struct plex *p = plex_new(2);
	struct plex_facts local;
	uint32_t ids[] = {1, 2, 3};
	char buf[256];

	CHECK(p);
	CHECK_INT(plex_set_members(p, ids + 1, 2), 0);
	CHECK_INT(plex_set_quorum(p, true), 0);
	CHECK_INT(tp_facts(&local, 2, 1, "B50:" A), 0);
	CHECK_INT(plex_apply_facts(p, 2, &local), 0);
	CHECK_INT(tp_apply(p, 3, 1, "B10:" B), 0);
	/* Cold start: A never existed, the backup waits. */
	CHECK_INT(plex_owner(p, &(struct ipaddr){.family = 4, .bytes = {10, 0, 0, 1}}), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	/* The owner arrives and activates it, then crashes. */
	CHECK_INT(plex_set_members(p, ids, 3), 0);
	CHECK_INT(tp_apply(p, 1, 1, "Di:" A " H:" A), 0);
	CHECK_INT(plex_set_members(p, ids + 1, 2), 0);
	/* The owner's facts are gone, and with them the evidence: until the
	 * backup re-announces what it remembers, nobody may take A. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK_INT(plex_fill_known(p, &local), 0);
	CHECK_INT(local.n_known, 1);
	CHECK(ipaddr_equal(&local.known[0], &(struct ipaddr){.family = 4, .bytes = {10, 0, 0, 1}}));
	local.seq = 2;
	CHECK_INT(plex_apply_facts(p, 2, &local), 0);
	/* The backup takes over: A is known to exist. */
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "claim:" A);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>2:TAKEOVER");
	/* Once nobody defines A any more, it is forgotten. */
	plex_facts_clear(&local);
	CHECK_INT(tp_facts(&local, 2, 3, ""), 0);
	CHECK_INT(plex_apply_facts(p, 2, &local), 0);
	CHECK_INT(plex_fill_known(p, &local), 0);
	CHECK_INT(local.n_known, 0);
	plex_facts_clear(&local);
	CHECK_INT(tp_facts(&local, 2, 4, "B50:" A), 0);
	CHECK_INT(plex_apply_facts(p, 2, &local), 0);
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	plex_facts_clear(&local);
	plex_free(p);
}

TEST(plex_transitions_and_reasons)
{
	struct plex *p = plex_new(3);
	uint32_t all[] = {1, 2, 3}, no1[] = {2, 3};
	char buf[512];

	CHECK(p);
	CHECK_INT(plex_set_members(p, all, 3), 0);
	CHECK_INT(plex_set_quorum(p, true), 0);
	CHECK_INT(tp_apply(p, 3, 1, ""), 0);
	CHECK_INT(tp_apply(p, 2, 1, "B50:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 1, 1, "Dw:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>1:OWNER_STARTED");
	CHECK_INT(tp_apply(p, 1, 2, "Dw:" A " H:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(plex_set_members(p, no1, 2), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>0:OWNER_LEFT");
	CHECK_INT(tp_apply(p, 2, 2, "B50:" A " K:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>2:TAKEOVER");
	CHECK_INT(tp_apply(p, 2, 3, "B50:" A " H3:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(plex_set_members(p, all, 3), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	/* WHENIDLE: the owner is back, but node 2 has connections. */
	CHECK_INT(tp_apply(p, 1, 1, "Dw:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 2, 4, "B50:" A " H:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "2>1:HOLDER_IDLE_TAKEBACK");
	CHECK_INT(tp_apply(p, 2, 5, "B50:" A), 0);
	CHECK_INT(tp_apply(p, 1, 2, "Dw:" A " H:" A), 0);
	CHECK_INT(tp_apply(p, 1, 3, "Dw:" A " H:" A " X:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>2:DEACTIVATED");
	CHECK_INT(tp_apply(p, 1, 4, "Dw:" A " X:" A), 0);
	CHECK_INT(tp_apply(p, 2, 6, "B50:" A " H:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 2, 7, "B50:" A " H:" A " LEFT"), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "2>0:LEAVEGROUP");
	CHECK_INT(tp_apply(p, 1, 5, "Dw:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>1:REACTIVATED");
	CHECK_INT(plex_set_quorum(p, false), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>0:QUORUM_LOST");
	CHECK_INT(plex_set_quorum(p, true), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>1:QUORUM_GAINED");
	CHECK_INT(tp_apply(p, 1, 6, "Dw:" A " X:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>0:DEACTIVATED");
	CHECK_INT(tp_apply(p, 2, 8, "B50:" A " K:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>2:JOINGROUP");
	CHECK_INT(tp_apply(p, 1, 7, "Dw:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "2>1:REACTIVATED");
	CHECK_INT(tp_apply(p, 1, 8, ""), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>2:DEFINITION_CHANGED");
	/* A backup holding it drops it: the answer moves. */
	CHECK_INT(tp_apply(p, 2, 9, "B50:" A " K:" A " H:" A), 0);
	CHECK_INT(tp_apply(p, 3, 2, "B90:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 2, 10, "B50:" A " K:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "2>3:HOLDER_RELEASED");
	/* IMMEDIATE takeback and a backup that creates its DVIPA. */
	CHECK_INT(tp_apply(p, 3, 3, "B90:" A " H:" A), 0);
	CHECK_INT(tp_apply(p, 1, 9, "Di:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "3>1:OWNER_RETURNED_TAKEBACK");
	CHECK_INT(tp_apply(p, 2, 11, "B50:" A " K:" A " B5i:" B), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>2:DEFINITION_CHANGED");
	CHECK_INT(plex_set_members(p, no1, 2), 0);
	CHECK_INT(plex_set_members(p, all, 3), 0);
	CHECK_INT(tp_apply(p, 1, 1, "B7i:" B), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "2>1:BACKUP_STARTED");
	for (int r = 0; r <= PLEX_REASON_MAX; r++)
		CHECK(plex_reason_name((enum plex_reason)r) != NULL);
	CHECK_STR(plex_reason_name(PLEX_REASON_MAX), "?");
	plex_free(p);
}

static const struct plex_view_node *tp_view_node(const struct plex_view *v, const char *addr,
                                                 uint32_t id)
{
	struct ipaddr a = tp_addr(addr);

	for (size_t i = 0; i < v->n_dvipas; i++) {
		const struct plex_view_dvipa *d = &v->dvipas[i];

		if (!ipaddr_equal(&d->dvipa, &a))
			continue;
		for (size_t j = d->first_node; j < d->first_node + d->n_nodes; j++)
			if (v->nodes[j].node_id == id)
				return &v->nodes[j];
	}
	return NULL;
}

static const char *tp_status(const struct plex_view *v, const char *addr, uint32_t id)
{
	const struct plex_view_node *n = tp_view_node(v, addr, id);

	return n ? plex_status_name((enum plex_status)n->status) : "none";
}

TEST(plex_view_statuses)
{
	struct plex *p = plex_new(1);
	struct plex_view v;
	uint32_t ids[] = {1, 2, 3, 4};
	const char *C = "10.0.0.3", *D = "10.0.0.4";

	CHECK(p);
	CHECK_INT(plex_set_members(p, ids, 4), 0);
	CHECK_INT(plex_set_quorum(p, true), 0);
	/* A: active on 1, backup on 2, deactivated on 3.
	 * B: quiescing on 2 (deactivated with connections): backup 1 owns it
	 *    and is MOVING (waiting), 2 is QUIESCING until it lets go.
	 * C: WHENIDLE, held by backup 3 with connections: 4 (VIPADEFINE) is
	 *    MOVING (waiting), 3 is ACTIVE.
	 * D: IMMEDIATE, still held by 3 while 4 owns it: 3 MOVING, 4 MOVING. */
	CHECK_INT(tp_apply(p, 1, 1, "Di:" A " H:" A " B10:" B), 0);
	CHECK_INT(tp_apply(p, 2, 1, "B20:" A " Di:" B " H4:" B " X:" B), 0);
	CHECK_INT(
	    tp_apply(p, 3, 1, "B30:" A " X:" A " B5:10.0.0.3 H2:10.0.0.3 B5:10.0.0.4 H:10.0.0.4"),
	    0);
	CHECK_INT(tp_apply(p, 4, 1, "Dw:10.0.0.3 Di:10.0.0.4"), 0);
	CHECK_INT(plex_view(p, &v), 0);
	CHECK(v.quorate && v.complete && v.self == 1);
	CHECK_INT(v.n_members, 4);
	CHECK(v.members[1].node_id == 2 && v.members[1].has_facts && v.members[1].seq == 1);
	CHECK_STR(v.members[1].name, "node2");
	CHECK_INT(v.n_dvipas, 4);
	CHECK_STR(v.dvipas[0].owner_name, "node1");
	CHECK_STR(v.dvipas[3].owner_name, "node4");
	CHECK_STR(tp_status(&v, A, 1), "ACTIVE");
	CHECK_STR(tp_status(&v, A, 2), "BACKUP");
	CHECK_STR(tp_status(&v, A, 3), "DEACTIVATED");
	CHECK_STR(tp_status(&v, A, 4), "none");
	CHECK_STR(tp_status(&v, B, 2), "QUIESCING");
	CHECK_STR(tp_status(&v, B, 1), "MOVING");
	CHECK_STR(tp_status(&v, C, 3), "ACTIVE");
	CHECK_STR(tp_status(&v, C, 4), "MOVING");
	CHECK_STR(tp_status(&v, D, 3), "MOVING");
	CHECK_STR(tp_status(&v, D, 4), "MOVING");
	CHECK_INT(v.dvipas[0].owner, 1);
	CHECK_INT(v.dvipas[0].holder, 1);
	CHECK_INT(v.dvipas[1].owner, 1);
	CHECK_INT(v.dvipas[1].holder, 2);
	CHECK_INT(v.dvipas[0].prefix_len, 32);
	CHECK_INT(v.dvipas[2].moveable, CONFIG_MOVEABLE_WHENIDLE);
	CHECK_INT(v.dvipas[3].owner, 4);
	CHECK_INT(v.dvipas[3].holder, 3);
	{
		const struct plex_view_node *n = tp_view_node(&v, A, 1);

		CHECK(n && n->origin == CONFIG_VIPADEFINE && n->rank == CONFIG_RANK_OWNER);
		CHECK(n->held == PLEX_HELD_ACTIVE && n->activated == 1000);
		n = tp_view_node(&v, B, 2);
		CHECK(n && n->conns == 4);
		n = tp_view_node(&v, A, 3);
		CHECK(n && n->origin == CONFIG_VIPABACKUP && n->rank == 30);
	}
	plex_view_clear(&v);
	/* Without quorum everything defined is INACTIVE, held ones MOVING. */
	CHECK_INT(plex_set_quorum(p, false), 0);
	CHECK_INT(plex_view(p, &v), 0);
	CHECK_STR(tp_status(&v, A, 1), "MOVING");
	CHECK_STR(tp_status(&v, A, 2), "INACTIVE");
	CHECK_STR(tp_status(&v, A, 3), "DEACTIVATED");
	CHECK_STR(tp_status(&v, B, 2), "MOVING");
	plex_view_clear(&v);
	plex_view_clear(NULL);
	CHECK_STR(plex_status_name(PLEX_STATUS_MAX), "?");
	plex_free(p);
}

TEST(plex_quiescing)
{
	/* A deactivated holder with connections keeps A only while nobody
	 * else may own it; any move away from it is DEACTIVATED. */
	struct plex *p = plex_new(1);
	struct plex_facts local;
	struct plex_view v;
	uint32_t ids[] = {1, 2, 3, 4};
	char buf[512];

	CHECK(p);
	CHECK_INT(plex_set_members(p, ids, 4), 0);
	CHECK_INT(plex_set_quorum(p, true), 0);
	CHECK_INT(tp_apply(p, 2, 1, "B50:" A " X:" A), 0);
	CHECK_INT(tp_apply(p, 3, 1, "B20:" A " X:" A), 0);
	CHECK_INT(tp_apply(p, 1, 1, "Di:" A " H3:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "0>1:OWNER_STARTED");
	/* Every backup deactivated, node 4 not announced: node 1 keeps A. */
	CHECK_INT(tp_facts(&local, 1, 2, "Di:" A " H3:" A " X:" A), 0);
	CHECK_INT(plex_apply_facts(p, 1, &local), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "");
	CHECK_INT(plex_view(p, &v), 0);
	CHECK_STR(tp_status(&v, A, 1), "QUIESCING");
	CHECK_STR(tp_status(&v, A, 2), "DEACTIVATED");
	CHECK_INT(v.dvipas[0].owner, 1);
	plex_view_clear(&v);
	/* A backup starts: it takes A, node 1 lets go. */
	CHECK_INT(tp_apply(p, 4, 1, "B30:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>4:DEACTIVATED");
	CHECK_STR(tp_actions(p, &local, buf, sizeof(buf)), "remove:" A);
	CHECK_INT(plex_view(p, &v), 0);
	CHECK_STR(tp_status(&v, A, 1), "QUIESCING");
	CHECK_STR(tp_status(&v, A, 4), "MOVING");
	plex_view_clear(&v);
	plex_facts_clear(&local);
	CHECK_INT(tp_apply(p, 1, 3, "Di:" A " X:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(tp_apply(p, 4, 2, "B30:" A " H5:" A), 0);
	CHECK_INT(plex_view(p, &v), 0);
	CHECK_STR(tp_status(&v, A, 1), "DEACTIVATED");
	CHECK_STR(tp_status(&v, A, 4), "ACTIVE");
	plex_view_clear(&v);
	/* Node 4 quiesces with nobody else: it keeps A. The VIPADEFINE node
	 * comes back: it takes A at once, even though node 4 is busy. */
	CHECK_INT(tp_apply(p, 4, 3, "B30:" A " H5:" A " X:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "");
	CHECK_INT(plex_owner(p, &(struct ipaddr){.family = 4, .bytes = {10, 0, 0, 1}}), 4);
	CHECK_INT(tp_apply(p, 1, 4, "Di:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "4>1:DEACTIVATED");
	CHECK_INT(plex_view(p, &v), 0);
	CHECK_STR(tp_status(&v, A, 1), "MOVING");
	CHECK_STR(tp_status(&v, A, 4), "QUIESCING");
	plex_view_clear(&v);
	/* Deactivated again before node 4 let go: back to node 4, until its
	 * connections end; then nobody. */
	CHECK_INT(tp_apply(p, 1, 5, "Di:" A " X:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "1>4:DEACTIVATED");
	CHECK_INT(tp_apply(p, 4, 4, "B30:" A " H:" A " X:" A), 0);
	CHECK_STR(tp_trans(p, buf, sizeof(buf)), "4>0:DEACTIVATED");
	CHECK_INT(plex_view(p, &v), 0);
	CHECK_STR(tp_status(&v, A, 4), "MOVING");
	plex_view_clear(&v);
	plex_free(p);
}

/* A lockstep cluster: one group, every message delivered to every live node
 * at once, nodes reacting as the daemon does. Checks after each delivery that
 * no DVIPA is active on two nodes. */
#define TC_MAX   6
#define TC_QUEUE 256

struct tc {
	size_t n;
	uint64_t now;
	struct {
		uint32_t id;
		bool up;
		const char *spec;
		struct plex *p;
		struct plex_facts cur;
	} node[TC_MAX];
	size_t qn;
	struct {
		uint32_t from;
		size_t len;
		uint8_t buf[1024];
	} q[TC_QUEUE];
	int bad;
};

static void tc_send(struct tc *c, size_t i)
{
	size_t len;

	c->node[i].cur.seq++;
	if (plex_fill_known(c->node[i].p, &c->node[i].cur) < 0 || c->qn == TC_QUEUE ||
	    wire_encode_facts(&c->node[i].cur, NULL, 0, c->q[c->qn].buf, sizeof(c->q[0].buf),
	                      &len) < 0) {
		c->bad++;
		return;
	}
	c->q[c->qn].from = c->node[i].id;
	c->q[c->qn].len = len;
	c->qn++;
}

static void tc_react(struct tc *c, size_t i, bool announce)
{
	struct plex_action *v;
	size_t n;

	if (plex_actions(c->node[i].p, &c->node[i].cur, &v, &n) < 0) {
		c->bad++;
		return;
	}
	for (size_t k = 0; k < n; k++)
		if (plex_facts_apply_action(&c->node[i].cur, &v[k], c->now) < 0)
			c->bad++;
	free(v);
	if (n || announce)
		tc_send(c, i);
}

static int tc_holders(const struct tc *c, const struct ipaddr *a, uint32_t *ret)
{
	int k = 0;

	*ret = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct plex_held *h;

		if (!c->node[i].up)
			continue;
		h = plex_facts_find_held(&c->node[i].cur, a);
		if (h && h->state == PLEX_HELD_ACTIVE) {
			k++;
			*ret = c->node[i].id;
		}
	}
	return k;
}

static void tc_check(struct tc *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; c->node[i].up && j < c->node[i].cur.n_held; j++) {
			uint32_t who;

			if (tc_holders(c, &c->node[i].cur.held[j].dvipa, &who) > 1)
				c->bad++;
		}
}

/* Membership of the live nodes; quorum = strict majority of c->n. */
static void tc_view(struct tc *c)
{
	uint32_t ids[TC_MAX];
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->node[i].up)
			ids[n++] = c->node[i].id;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->node[i].up)
			continue;
		if (plex_set_members(c->node[i].p, ids, n) < 0 ||
		    plex_set_quorum(c->node[i].p, 2 * n > c->n) < 0)
			c->bad++;
		tc_react(c, i, true);
	}
}

static void tc_run(struct tc *c)
{
	for (size_t m = 0; m < c->qn; m++) {
		struct plex_facts f = {0};

		c->now++;
		if (wire_decode_facts(c->q[m].buf, c->q[m].len, &f, NULL) < 0) {
			c->bad++;
			continue;
		}
		for (size_t i = 0; i < c->n; i++)
			if (c->node[i].up && plex_apply_facts(c->node[i].p, c->q[m].from, &f) < 0)
				c->bad++;
		plex_facts_clear(&f);
		for (size_t i = 0; i < c->n; i++)
			if (c->node[i].up)
				tc_react(c, i, false);
		tc_check(c);
	}
	c->qn = 0;
}

static void tc_start(struct tc *c, size_t i)
{
	c->node[i].up = true;
	c->node[i].p = plex_new(c->node[i].id);
	if (!c->node[i].p || tp_facts(&c->node[i].cur, c->node[i].id, 0, c->node[i].spec) < 0)
		c->bad++;
}

static void tc_stop(struct tc *c, size_t i)
{
	c->node[i].up = false;
	plex_free(c->node[i].p);
	c->node[i].p = NULL;
	plex_facts_clear(&c->node[i].cur);
}

static void tc_init(struct tc *c, const char *const *specs, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (size_t i = 0; i < n; i++) {
		c->node[i].id = (uint32_t)(i + 1);
		c->node[i].spec = specs[i];
	}
}

static void tc_fini(struct tc *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->node[i].up)
			tc_stop(c, i);
}

static uint32_t tc_holder(const struct tc *c, const char *addr)
{
	struct ipaddr a = tp_addr(addr);
	uint32_t who;

	return tc_holders(c, &a, &who) == 1 ? who : 0;
}

/* Operator command on node i: deactivate or reactivate, then announce. */
static void tc_deactivate(struct tc *c, size_t i, const char *addr, bool on)
{
	struct ipaddr a = tp_addr(addr);

	if (plex_facts_set_deactivated(&c->node[i].cur, &a, on) < 0)
		c->bad++;
	tc_send(c, i);
}

static void tc_set_conns(struct tc *c, size_t i, const char *addr, uint32_t conns)
{
	struct ipaddr a = tp_addr(addr);
	const struct plex_held *h = plex_facts_find_held(&c->node[i].cur, &a);
	struct plex_held nh;

	if (!h) {
		c->bad++;
		return;
	}
	nh = *h;
	nh.conns = conns;
	plex_facts_set_held(&c->node[i].cur, &nh);
	tc_send(c, i);
}

TEST(plex_cluster_takeover_and_takeback)
{
	static const char *const specs[] = {"Di:" A " Dw:" B, "B50:" A " B50:" B, "B80:" A,
	                                    "B10:" B};
	struct tc c;

	tc_init(&c, specs, 4);
	/* Cold start of the backups alone: nobody activates A or B. */
	tc_start(&c, 1);
	tc_start(&c, 2);
	tc_start(&c, 3);
	tc_view(&c);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 0);
	CHECK_INT(tc_holder(&c, B), 0);
	/* The owner starts: both come up on it. */
	tc_start(&c, 0);
	tc_view(&c);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 1);
	CHECK_INT(tc_holder(&c, B), 1);
	/* The owner dies: the best backups take over. */
	tc_stop(&c, 0);
	tc_view(&c);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 3);
	CHECK_INT(tc_holder(&c, B), 2);
	/* B on node 2 has connections (WHENIDLE). */
	tc_set_conns(&c, 1, B, 5);
	tc_run(&c);
	/* The owner comes back: A moves at once (IMMEDIATE), B stays. */
	tc_start(&c, 0);
	tc_view(&c);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 1);
	CHECK_INT(tc_holder(&c, B), 2);
	/* Node 2's connections end: B goes back. */
	tc_set_conns(&c, 1, B, 0);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, B), 1);
	/* Deactivate A on the owner: node 3 (rank 80) takes it; reactivate:
	 * back to 1. */
	tc_deactivate(&c, 0, A, true);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 3);
	tc_deactivate(&c, 0, A, false);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 1);
	/* Deactivate with connections: node 3 takes it at once all the same
	 * (it forwards them to node 1). */
	tc_set_conns(&c, 0, A, 2);
	tc_run(&c);
	tc_deactivate(&c, 0, A, true);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 3);
	tc_deactivate(&c, 0, A, false);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 1);
	/* With both backups deactivated, node 1 quiesces: it keeps A while
	 * its connections remain ... */
	tc_deactivate(&c, 1, A, true);
	tc_deactivate(&c, 2, A, true);
	tc_set_conns(&c, 0, A, 2);
	tc_run(&c);
	tc_deactivate(&c, 0, A, true);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 1);
	/* ... until a backup may take it over. */
	tc_deactivate(&c, 1, A, false);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 2);
	/* Node 2 quiesces in turn; its connections end: nobody holds A. */
	tc_set_conns(&c, 1, A, 1);
	tc_deactivate(&c, 1, A, true);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 2);
	tc_set_conns(&c, 1, A, 0);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 0);
	tc_deactivate(&c, 1, A, false);
	tc_deactivate(&c, 2, A, false);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 3);
	/* Quorum lost (2 of 4 left): everything is released. */
	tc_stop(&c, 1);
	tc_stop(&c, 3);
	tc_view(&c);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, A), 0);
	CHECK_INT(tc_holder(&c, B), 0);
	CHECK_INT(c.bad, 0);
	tc_fini(&c);
}

TEST(plex_cluster_moveable_backup_and_leavegroup)
{
	static const char *const specs[] = {"B10i:" V6 "/64", "B20:" V6, "Dw:" V6};
	struct tc c;

	tc_init(&c, specs, 3);
	tc_start(&c, 0);
	tc_start(&c, 1);
	tc_view(&c);
	tc_run(&c);
	/* Only the MOVEABLE backup may create it, whatever the ranks. */
	CHECK_INT(tc_holder(&c, V6), 1);
	/* The VIPADEFINE node starts; WHENIDLE, and node 1 is idle. */
	tc_start(&c, 2);
	tc_view(&c);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, V6), 3);
	/* LEAVEGROUP on the owner: node 2 takes it (it existed). */
	c.node[2].cur.flags |= PLEX_FACTS_LEFT;
	tc_send(&c, 2);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, V6), 2);
	c.node[2].cur.flags &= ~PLEX_FACTS_LEFT;
	tc_send(&c, 2);
	tc_run(&c);
	CHECK_INT(tc_holder(&c, V6), 3);
	CHECK_INT(c.bad, 0);
	tc_fini(&c);
}
