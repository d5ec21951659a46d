/* Randomised simulation of a whole plex in one process.
 *
 * Up to 32 nodes, each its own struct plex, behind a simulated corosync:
 * nodes live in network components; each component has one agreed order of
 * events (membership, quorum, announcements encoded with core/wire.h) that is
 * appended to the inbox of every member at once; nodes process their inboxes
 * at random speeds, so at any instant members are at different points of the
 * same order. Nodes act as dvipad will: carry out plex_actions() on a
 * simulated kernel and announce after every membership change and every
 * change of their facts. Random joins, crashes, partitions, merges,
 * definitions, deactivations, LEAVEGROUP and connection counts.
 *
 * Checked after every step:
 *   - in every quorate component no DVIPA is in two kernels;
 *   - nodes at the same point of the same order whose views are complete
 *     agree on every owner;
 *   - every node's owners and actions equal those of a naive reference
 *     implementation fed with the same inputs (differential test);
 *   - transitions list exactly the owner changes.
 * Every so often the simulation settles (no new changes, every inbox
 * drained) and checks liveness: in a quorate component each DVIPA that has an
 * owner is in exactly the owner's kernel, nothing else is held, and no claim
 * is left hanging; outside quorum nothing is held.
 *
 * One modelling assumption, the one corosync makes too: a component that has
 * lost quorum does not merge with another before its members have processed
 * what it delivered (the quorum loss among it). A partition shorter than a
 * daemon's reaction time is a corosync-level flap that no protocol above it
 * can order. */
#include "core/plex.h"
#include "core/wire.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#define SIM_MAX_NODES 32
#define SIM_DV        24 /* the DVIPAs of the simulated plex: 16 IPv4, 8 IPv6 */

/* Shared, reference-counted event payload: an encoded announcement or a
 * member list. */
struct sim_payload {
	int refs;
	uint32_t from;
	size_t len;
	uint8_t data[];
};

enum sim_ev_type { SIM_EV_MEMBERS, SIM_EV_QUORUM, SIM_EV_FACTS };

struct sim_ev {
	uint8_t type;
	bool quorate;
	uint64_t view, idx; /* position in the agreed order */
	struct sim_payload *pl;
};

/* What the naive reference keeps: the same inputs as the plex. */
struct sim_mirror {
	size_t n_members;
	uint32_t members[SIM_MAX_NODES];
	bool quorate;
	bool has[SIM_MAX_NODES];
	struct plex_facts facts[SIM_MAX_NODES];
};

struct sim_node {
	uint32_t id;
	bool alive;
	int comp;
	struct plex *p;
	struct plex_facts cur; /* as last sent */
	bool kernel[SIM_DV];
	uint32_t conns[SIM_DV];
	bool has_cfg[SIM_DV];
	struct plex_def cfg[SIM_DV];
	struct sim_ev *inbox;
	size_t head, n, cap;
	uint64_t pos_view, pos_idx;
	bool complete;
	uint32_t owners[SIM_DV];
	struct sim_mirror mirror;
};

struct sim_comp {
	bool used;
	uint64_t view, next_idx;
};

struct sim_stats {
	uint64_t steps, deliveries, views, adds, removes, claims, transitions, settles;
	uint64_t settle_deliveries_max, owned_checks, agreements, crashes, partitions, merges;
	uint64_t quorate_settles;
};

struct sim {
	size_t n_nodes, quorum;
	uint64_t rng, now, next_view;
	bool storm;
	unsigned deliver_share; /* per mille of steps that deliver an event */
	struct ipaddr dv[SIM_DV];
	struct sim_node node[SIM_MAX_NODES];
	struct sim_comp comp[SIM_MAX_NODES];
	struct sim_stats st;
	bool failed;
};

static void sim_fail(struct sim *s, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sim_fail(struct sim *s, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (s->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unit_fail(__FILE__, line, "step %" PRIu64 ": %s", s->st.steps, msg);
	s->failed = true;
}

#define SIM_FAIL(s, ...) sim_fail((s), __LINE__, __VA_ARGS__)

static uint64_t sim_rand(struct sim *s)
{
	/* xorshift64*: deterministic for a seed, no library state. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dull;
}

static unsigned sim_below(struct sim *s, unsigned n)
{
	return (unsigned)((sim_rand(s) >> 33) % n);
}

static bool sim_chance(struct sim *s, unsigned per_mille)
{
	return sim_below(s, 1000) < per_mille;
}

/* Node ids are not contiguous, as corosync's need not be. */
static uint32_t sim_id(size_t slot)
{
	return (uint32_t)(100 + 3 * slot);
}

static int sim_slot(const struct sim *s, uint32_t id)
{
	if (id < 100 || (id - 100) % 3 || (id - 100) / 3 >= s->n_nodes)
		return -1;
	return (int)((id - 100) / 3);
}

static int sim_dv_index(const struct sim *s, const struct ipaddr *a)
{
	for (int d = 0; d < SIM_DV; d++)
		if (ipaddr_equal(&s->dv[d], a))
			return d;
	return -1;
}

static void sim_unref(struct sim_payload *pl)
{
	if (pl && --pl->refs == 0)
		free(pl);
}

/* ---- the naive reference ---------------------------------------------- */

static const struct plex_def *nv_def(const struct plex_facts *f, const struct ipaddr *a)
{
	for (size_t i = 0; i < f->n_defs; i++)
		if (ipaddr_equal(&f->defs[i].dvipa, a))
			return &f->defs[i];
	return NULL;
}

static const struct plex_held *nv_held(const struct plex_facts *f, const struct ipaddr *a)
{
	for (size_t i = 0; i < f->n_held; i++)
		if (ipaddr_equal(&f->held[i].dvipa, a))
			return &f->held[i];
	return NULL;
}

static bool nv_in(const struct ipaddr *v, size_t n, const struct ipaddr *a)
{
	for (size_t i = 0; i < n; i++)
		if (ipaddr_equal(&v[i], a))
			return true;
	return false;
}

/* Is (rank a, id a) a better candidate than (rank b, id b)? */
static bool nv_better(int ra, uint32_t ia, int rb, uint32_t ib)
{
	return ra > rb || (ra == rb && ia < ib);
}

/* docs/plex.md, "Designated owner", read literally. Members are visited in
 * reverse order so that ties depend on the comparison, not on the order. A
 * holder that may own the DVIPA (the keeper) and one that quiesces
 * (deactivated, connections remain) are looked for separately: the second
 * counts only when nobody else may own it. */
static uint32_t nv_owner(const struct sim *s, const struct sim_mirror *m, const struct ipaddr *a)
{
	uint32_t definer = 0, keeper = 0, quiescer = 0, any_backup = 0, moveable_backup = 0;
	uint32_t first_define_id = 0, keeper_conns = 0, backup;
	int keeper_rank = -1, quiescer_rank = -1, any_rank = -1, moveable_rank = -1;
	bool existing = false;
	uint8_t definer_mov = 0, first_define_mov = 0;
	uint8_t mode;

	if (!m->quorate)
		return 0;
	for (size_t k = m->n_members; k-- > 0;) {
		uint32_t id = m->members[k];
		int slot = sim_slot(s, id);
		const struct plex_facts *f;
		const struct plex_def *d;
		const struct plex_held *h;
		bool left, deact, eligible, active;

		if (slot < 0 || !m->has[slot])
			continue;
		f = &m->facts[slot];
		d = nv_def(f, a);
		h = nv_held(f, a);
		left = f->flags & PLEX_FACTS_LEFT;
		deact = nv_in(f->deactivated, f->n_deactivated, a);
		eligible = d && !left && !deact;
		active = h && h->state == PLEX_HELD_ACTIVE;
		if ((d && d->kind == CONFIG_VIPADEFINE) || active || nv_in(f->known, f->n_known, a))
			existing = true;
		if (d && d->kind == CONFIG_VIPADEFINE &&
		    (!first_define_id || id < first_define_id)) {
			first_define_id = id;
			first_define_mov = d->moveable;
		}
		if (eligible && d->kind == CONFIG_VIPADEFINE && (!definer || id < definer)) {
			definer = id;
			definer_mov = d->moveable;
		}
		if (eligible && d->kind == CONFIG_VIPABACKUP) {
			if (!any_backup || nv_better(d->rank, id, any_rank, any_backup)) {
				any_backup = id;
				any_rank = d->rank;
			}
			if (d->moveable != CONFIG_MOVEABLE_UNSET &&
			    (!moveable_backup ||
			     nv_better(d->rank, id, moveable_rank, moveable_backup))) {
				moveable_backup = id;
				moveable_rank = d->rank;
			}
		}
		if (active && eligible &&
		    (!keeper || nv_better(d->rank, id, keeper_rank, keeper))) {
			keeper = id;
			keeper_rank = d->rank;
			keeper_conns = h->conns;
		}
		if (active && d && !left && deact && h->conns > 0 &&
		    (!quiescer || nv_better(d->rank, id, quiescer_rank, quiescer))) {
			quiescer = id;
			quiescer_rank = d->rank;
		}
	}
	mode = definer ? definer_mov : first_define_mov;
	if (mode != CONFIG_MOVEABLE_WHENIDLE)
		mode = CONFIG_MOVEABLE_IMMEDIATE;
	/* Rules 2 and 3: only a keeper that may own it is sticky. */
	if (keeper && definer && definer != keeper)
		return mode == CONFIG_MOVEABLE_WHENIDLE && keeper_conns > 0 ? keeper : definer;
	if (keeper)
		return keeper;
	/* Rules 4 and 5, whoever quiesces. */
	if (definer)
		return definer;
	backup = existing ? any_backup : moveable_backup;
	if (backup)
		return backup;
	/* Rule 6: nobody else may own it, so it stays where it quiesces. */
	return quiescer;
}

/* The actions the reference expects for node n, in address order. */
static size_t nv_actions(const struct sim *s, const struct sim_node *n, struct plex_action *out)
{
	const struct sim_mirror *m = &n->mirror;
	const struct plex_facts *mine = NULL, *cur = &n->cur;
	bool complete = m->n_members > 0;
	size_t k = 0;

	for (size_t i = 0; i < m->n_members; i++) {
		int slot = sim_slot(s, m->members[i]);

		if (!m->has[slot])
			complete = false;
		else if (m->members[i] == n->id)
			mine = &m->facts[slot];
	}
	for (int d = 0; d < SIM_DV; d++) {
		const struct ipaddr *a = &s->dv[d];
		const struct plex_held *e = nv_held(cur, a);
		const struct plex_def *def = nv_def(cur, a);
		bool own = nv_owner(s, m, a) == n->id;
		bool eligible = def && !(cur->flags & PLEX_FACTS_LEFT) &&
		                !nv_in(cur->deactivated, cur->n_deactivated, a);
		struct plex_action act = {.dvipa = *a};

		if (e && !own) {
			act.type =
			    e->state == PLEX_HELD_ACTIVE ? PLEX_ACTION_REMOVE : PLEX_ACTION_UNCLAIM;
		} else if (!e && own && eligible) {
			act.type = PLEX_ACTION_CLAIM;
			act.prefix_len = def->prefix_len;
		} else if (e && own && e->state == PLEX_HELD_CLAIMED && def && mine &&
		           mine->seq == cur->seq && complete && nv_held(mine, a)) {
			bool other = false;

			for (size_t i = 0; i < m->n_members; i++) {
				int slot = sim_slot(s, m->members[i]);

				if (m->members[i] != n->id && nv_held(&m->facts[slot], a))
					other = true;
			}
			if (other)
				continue;
			act.type = PLEX_ACTION_ADD;
			act.prefix_len = def->prefix_len;
		} else {
			continue;
		}
		out[k++] = act;
	}
	return k;
}

static void nv_mirror_clear(struct sim_mirror *m)
{
	for (size_t i = 0; i < SIM_MAX_NODES; i++)
		plex_facts_clear(&m->facts[i]);
	memset(m, 0, sizeof(*m));
}

/* ---- nodes, components, delivery --------------------------------------- */

static void sim_push(struct sim *s, struct sim_node *n, const struct sim_ev *ev)
{
	if (n->head == n->n) {
		n->head = n->n = 0;
	} else if (n->head > 1024 && n->head * 2 > n->n) {
		memmove(n->inbox, n->inbox + n->head, (n->n - n->head) * sizeof(*ev));
		n->n -= n->head;
		n->head = 0;
	}
	if (n->n == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 64;
		struct sim_ev *v = realloc(n->inbox, cap * sizeof(*v));

		if (!v) {
			SIM_FAIL(s, "out of memory");
			return;
		}
		n->inbox = v;
		n->cap = cap;
	}
	n->inbox[n->n++] = *ev;
	if (ev->pl)
		ev->pl->refs++;
}

static size_t sim_pending(const struct sim_node *n)
{
	return n->n - n->head;
}

/* Appends an event to the agreed order of component c: every member gets it
 * at the same position. */
static void sim_append(struct sim *s, int c, struct sim_ev ev)
{
	ev.view = s->comp[c].view;
	ev.idx = s->comp[c].next_idx++;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->node[i].alive && s->node[i].comp == c)
			sim_push(s, &s->node[i], &ev);
}

static size_t sim_comp_size(const struct sim *s, int c)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n_nodes; i++)
		k += s->node[i].alive && s->node[i].comp == c;
	return k;
}

static bool sim_comp_drained(const struct sim *s, int c)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->node[i].alive && s->node[i].comp == c && sim_pending(&s->node[i]))
			return false;
	return true;
}

/* A configuration change of component c: new view, members, quorum. */
static void sim_view_change(struct sim *s, int c)
{
	struct sim_payload *pl;
	size_t n = sim_comp_size(s, c), k = 0;

	if (!n) {
		s->comp[c].used = false;
		return;
	}
	s->comp[c].used = true;
	s->comp[c].view = ++s->next_view;
	s->comp[c].next_idx = 0;
	s->st.views++;
	pl = malloc(sizeof(*pl) + n * sizeof(uint32_t));
	if (!pl) {
		SIM_FAIL(s, "out of memory");
		return;
	}
	pl->refs = 1;
	pl->from = 0;
	pl->len = n;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->node[i].alive && s->node[i].comp == c) {
			uint32_t id = s->node[i].id;

			memcpy(pl->data + k++ * sizeof(id), &id, sizeof(id));
		}
	sim_append(s, c, (struct sim_ev){.type = SIM_EV_MEMBERS, .pl = pl});
	sim_unref(pl);
	sim_append(s, c, (struct sim_ev){.type = SIM_EV_QUORUM, .quorate = n >= s->quorum});
}

static void sim_send(struct sim *s, struct sim_node *n)
{
	struct sim_payload *pl;
	size_t size, len;

	n->cur.seq++;
	if (plex_fill_known(n->p, &n->cur) < 0) {
		SIM_FAIL(s, "plex_fill_known");
		return;
	}
	size = wire_facts_size(&n->cur, 0);
	pl = malloc(sizeof(*pl) + size);
	if (!pl) {
		SIM_FAIL(s, "out of memory");
		return;
	}
	pl->refs = 1;
	pl->from = n->id;
	if (wire_encode_facts(&n->cur, NULL, 0, pl->data, size, &len) < 0 || len != size) {
		SIM_FAIL(s, "node %u: cannot encode its facts", n->id);
		free(pl);
		return;
	}
	pl->len = len;
	sim_append(s, n->comp, (struct sim_ev){.type = SIM_EV_FACTS, .pl = pl});
	sim_unref(pl);
}

static int sim_rebuild_defs(struct sim_node *n)
{
	size_t k = 0;

	free(n->cur.defs);
	n->cur.defs = calloc(SIM_DV, sizeof(*n->cur.defs));
	if (!n->cur.defs)
		return -ENOMEM;
	for (int d = 0; d < SIM_DV; d++)
		if (n->has_cfg[d])
			n->cur.defs[k++] = n->cfg[d];
	n->cur.n_defs = k;
	return 0;
}

static void sim_start(struct sim *s, size_t slot, int comp)
{
	struct sim_node *n = &s->node[slot];

	n->alive = true;
	n->comp = comp;
	n->p = plex_new(n->id);
	memset(&n->cur, 0, sizeof(n->cur));
	n->cur.node_id = n->id;
	snprintf(n->cur.name, sizeof(n->cur.name), "node%zu", slot);
	n->cur.plex_addr.family = IPADDR_V4;
	n->cur.plex_addr.bytes[0] = 192;
	n->cur.plex_addr.bytes[1] = 168;
	n->cur.plex_addr.bytes[3] = (uint8_t)slot;
	memset(n->kernel, 0, sizeof(n->kernel));
	memset(n->conns, 0, sizeof(n->conns));
	n->head = n->n = 0;
	n->pos_view = n->pos_idx = 0;
	n->complete = false;
	memset(n->owners, 0, sizeof(n->owners));
	nv_mirror_clear(&n->mirror);
	if (!n->p || sim_rebuild_defs(n) < 0)
		SIM_FAIL(s, "cannot start node %u", n->id);
}

static void sim_stop(struct sim *s, size_t slot)
{
	struct sim_node *n = &s->node[slot];

	(void)s;
	n->alive = false;
	n->comp = -1;
	plex_free(n->p);
	n->p = NULL;
	plex_facts_clear(&n->cur);
	/* A crash takes the kernel state with it (the machine is gone). */
	memset(n->kernel, 0, sizeof(n->kernel));
	for (size_t i = n->head; i < n->n; i++)
		sim_unref(n->inbox[i].pl);
	n->head = n->n = 0;
	nv_mirror_clear(&n->mirror);
}

/* The node's own owners, checked against the reference and against the
 * transitions the plex reported. */
static void sim_snapshot(struct sim *s, struct sim_node *n)
{
	const struct plex_transition *t;
	size_t nt = plex_transitions(n->p, &t), seen = 0;

	for (int d = 0; d < SIM_DV; d++) {
		uint32_t o = plex_owner(n->p, &s->dv[d]);
		uint32_t want = nv_owner(s, &n->mirror, &s->dv[d]);

		if (o != want) {
			char a[IPADDR_STRLEN];

			SIM_FAIL(s, "node %u: owner of %s is %u, reference says %u", n->id,
			         ipaddr_format(&s->dv[d], a, sizeof(a)), o, want);
		}
		if (o != n->owners[d]) {
			bool found = false;

			for (size_t i = 0; i < nt; i++)
				if (ipaddr_equal(&t[i].dvipa, &s->dv[d]) &&
				    t[i].old_owner == n->owners[d] && t[i].new_owner == o)
					found = true;
			if (!found)
				SIM_FAIL(s, "node %u: owner change %u -> %u without transition",
				         n->id, n->owners[d], o);
			seen++;
		}
		n->owners[d] = o;
	}
	if (seen != nt)
		SIM_FAIL(s, "node %u: %zu transitions for %zu changes", n->id, nt, seen);
	s->st.transitions += nt;
	n->complete = plex_complete(n->p);
}

/* Nodes at the same point of the same order with complete views agree. */
static void sim_check_agreement(struct sim *s, const struct sim_node *n)
{
	if (!n->complete)
		return;
	for (size_t j = 0; j < s->n_nodes; j++) {
		const struct sim_node *o = &s->node[j];

		if (o == n || !o->alive || !o->complete || o->pos_view != n->pos_view ||
		    o->pos_idx != n->pos_idx)
			continue;
		s->st.agreements++;
		if (memcmp(o->owners, n->owners, sizeof(n->owners)) != 0) {
			SIM_FAIL(s, "nodes %u and %u disagree at view %" PRIu64 " #%" PRIu64, n->id,
			         o->id, n->pos_view, n->pos_idx);
			return;
		}
	}
}

static void sim_check_kernel(struct sim *s, const struct sim_node *n)
{
	for (int d = 0; d < SIM_DV; d++) {
		const struct plex_held *h = plex_facts_find_held(&n->cur, &s->dv[d]);

		if (n->kernel[d] != (h && h->state == PLEX_HELD_ACTIVE))
			SIM_FAIL(s, "node %u: kernel and facts differ", n->id);
	}
}

/* What dvipad does after every input: carry out the actions, announce. */
static void sim_react(struct sim *s, struct sim_node *n, bool announce)
{
	struct plex_action *v = NULL, want[SIM_DV];
	size_t k, nw;

	if (plex_actions(n->p, &n->cur, &v, &k) < 0) {
		SIM_FAIL(s, "node %u: plex_actions failed", n->id);
		return;
	}
	nw = nv_actions(s, n, want);
	if (k != nw || (k && memcmp(v, want, k * sizeof(*v)) != 0))
		SIM_FAIL(s, "node %u: %zu actions, reference %zu (first %s / %s)", n->id, k, nw,
		         k ? plex_action_name((enum plex_action_type)v[0].type) : "-",
		         nw ? plex_action_name((enum plex_action_type)want[0].type) : "-");
	for (size_t i = 0; i < k && !s->failed; i++) {
		int d = sim_dv_index(s, &v[i].dvipa);

		if (d < 0) {
			SIM_FAIL(s, "action on an unknown address");
			break;
		}
		switch (v[i].type) {
		case PLEX_ACTION_ADD:
			if (n->kernel[d])
				SIM_FAIL(s, "node %u: add of a held DVIPA", n->id);
			n->kernel[d] = true;
			n->conns[d] = 0;
			s->st.adds++;
			break;
		case PLEX_ACTION_REMOVE:
			if (!n->kernel[d])
				SIM_FAIL(s, "node %u: remove of a DVIPA not held", n->id);
			n->kernel[d] = false;
			n->conns[d] = 0;
			s->st.removes++;
			break;
		case PLEX_ACTION_CLAIM:
			s->st.claims++;
			break;
		default:
			break;
		}
		if (plex_facts_apply_action(&n->cur, &v[i], s->now) < 0)
			SIM_FAIL(s, "node %u: cannot apply action", n->id);
	}
	free(v);
	sim_check_kernel(s, n);
	if (k || announce)
		sim_send(s, n);
}

static void sim_mirror_apply(struct sim *s, struct sim_mirror *m, const struct sim_ev *ev,
                             const struct plex_facts *f)
{
	switch (ev->type) {
	case SIM_EV_MEMBERS: {
		bool keep[SIM_MAX_NODES] = {0};

		m->n_members = ev->pl->len;
		memcpy(m->members, ev->pl->data, m->n_members * sizeof(uint32_t));
		for (size_t i = 0; i < m->n_members; i++)
			keep[sim_slot(s, m->members[i])] = true;
		for (size_t i = 0; i < SIM_MAX_NODES; i++)
			if (!keep[i]) {
				plex_facts_clear(&m->facts[i]);
				m->has[i] = false;
			}
		break;
	}
	case SIM_EV_QUORUM:
		m->quorate = ev->quorate;
		break;
	case SIM_EV_FACTS: {
		int slot = sim_slot(s, f->node_id);

		if (plex_facts_copy(&m->facts[slot], f) < 0)
			SIM_FAIL(s, "out of memory");
		m->has[slot] = true;
		break;
	}
	}
}

static void sim_deliver(struct sim *s, struct sim_node *n)
{
	struct sim_ev ev = n->inbox[n->head++];
	struct plex_facts f = {0};
	int r = 0;

	s->st.deliveries++;
	switch (ev.type) {
	case SIM_EV_MEMBERS:
		r = plex_set_members(n->p, (const uint32_t *)(const void *)ev.pl->data, ev.pl->len);
		break;
	case SIM_EV_QUORUM:
		r = plex_set_quorum(n->p, ev.quorate);
		break;
	case SIM_EV_FACTS:
		r = wire_decode_facts(ev.pl->data, ev.pl->len, &f, NULL);
		if (r == 0 && f.node_id != ev.pl->from)
			r = -EPERM;
		if (r == 0)
			r = plex_apply_facts(n->p, ev.pl->from, &f);
		break;
	}
	if (r < 0) {
		SIM_FAIL(s, "node %u: event %d refused: %d", n->id, ev.type, r);
	} else {
		sim_mirror_apply(s, &n->mirror, &ev, &f);
		n->pos_view = ev.view;
		n->pos_idx = ev.idx;
		sim_snapshot(s, n);
		sim_check_agreement(s, n);
		/* Quorum comes with the membership: the daemon announces once
		 * both are in (here, after the quorum event that follows). */
		sim_react(s, n, ev.type == SIM_EV_QUORUM);
	}
	plex_facts_clear(&f);
	sim_unref(ev.pl);
}

/* ---- the checks --------------------------------------------------------- */

static void sim_check_safety(struct sim *s)
{
	for (int c = 0; c < (int)s->n_nodes; c++) {
		if (!s->comp[c].used || sim_comp_size(s, c) < s->quorum)
			continue;
		for (int d = 0; d < SIM_DV; d++) {
			uint32_t first = 0;

			for (size_t i = 0; i < s->n_nodes; i++) {
				const struct sim_node *n = &s->node[i];

				if (!n->alive || n->comp != c || !n->kernel[d])
					continue;
				if (first) {
					char a[IPADDR_STRLEN];

					SIM_FAIL(s, "%s held by nodes %u and %u",
					         ipaddr_format(&s->dv[d], a, sizeof(a)), first,
					         n->id);
					return;
				}
				first = n->id;
			}
		}
	}
}

static void sim_check_settled(struct sim *s)
{
	for (int c = 0; c < (int)s->n_nodes && !s->failed; c++) {
		const struct sim_node *ref = NULL;
		bool quorate = sim_comp_size(s, c) >= s->quorum;

		if (!s->comp[c].used)
			continue;
		s->st.quorate_settles += quorate;
		for (size_t i = 0; i < s->n_nodes; i++) {
			const struct sim_node *n = &s->node[i];

			if (!n->alive || n->comp != c)
				continue;
			if (!n->complete || plex_quorate(n->p) != quorate) {
				SIM_FAIL(s, "node %u: settled but incomplete or wrong quorum",
				         n->id);
				return;
			}
			if (ref && memcmp(ref->owners, n->owners, sizeof(n->owners)) != 0) {
				SIM_FAIL(s, "settled nodes %u and %u disagree", ref->id, n->id);
				return;
			}
			ref = n;
			/* Everybody has everybody's last announcement. */
			for (size_t j = 0; j < s->n_nodes; j++) {
				const struct sim_node *o = &s->node[j];
				const struct plex_facts *f;

				if (!o->alive || o->comp != c)
					continue;
				f = plex_member_facts(n->p, o->id);
				if (!f || f->seq != o->cur.seq) {
					SIM_FAIL(s, "node %u lacks node %u's last facts", n->id,
					         o->id);
					return;
				}
			}
			for (size_t h = 0; h < n->cur.n_held; h++)
				if (n->cur.held[h].state != PLEX_HELD_ACTIVE) {
					SIM_FAIL(s, "node %u: claim left hanging", n->id);
					return;
				}
		}
		for (int d = 0; d < SIM_DV && ref; d++) {
			uint32_t owner = ref->owners[d], holder = 0;
			size_t holders = 0;
			bool definer = false;

			for (size_t i = 0; i < s->n_nodes; i++) {
				const struct sim_node *n = &s->node[i];
				const struct plex_def *def;

				if (!n->alive || n->comp != c)
					continue;
				if (n->kernel[d]) {
					holders++;
					holder = n->id;
				}
				def = plex_facts_find_def(&n->cur, &s->dv[d]);
				if (def && def->kind == CONFIG_VIPADEFINE &&
				    !(n->cur.flags & PLEX_FACTS_LEFT) &&
				    !plex_facts_is_deactivated(&n->cur, &s->dv[d]))
					definer = true;
			}
			if (!quorate && (holders || owner)) {
				SIM_FAIL(s, "held or owned without quorum");
				return;
			}
			if (quorate && owner && (holders != 1 || holder != owner)) {
				SIM_FAIL(s, "DVIPA %d owned by %u but held by %zu nodes (%u)", d,
				         owner, holders, holder);
				return;
			}
			if (quorate && !owner && holders) {
				SIM_FAIL(s, "DVIPA %d held by %u without an owner", d, holder);
				return;
			}
			if (quorate && definer && !owner) {
				SIM_FAIL(s, "DVIPA %d has an eligible VIPADEFINE but no owner", d);
				return;
			}
			s->st.owned_checks += owner != 0;
		}
	}
}

/* ---- random changes ----------------------------------------------------- */

static int sim_random_alive(struct sim *s)
{
	size_t start = sim_below(s, (unsigned)s->n_nodes);

	for (size_t k = 0; k < s->n_nodes; k++) {
		size_t i = (start + k) % s->n_nodes;

		if (s->node[i].alive)
			return (int)i;
	}
	return -1;
}

static int sim_random_comp(struct sim *s, int except)
{
	size_t start = sim_below(s, (unsigned)s->n_nodes);

	for (size_t k = 0; k < s->n_nodes; k++) {
		int c = (int)((start + k) % s->n_nodes);

		if (c != except && s->comp[c].used)
			return c;
	}
	return -1;
}

static int sim_free_comp(const struct sim *s)
{
	for (int c = 0; c < (int)s->n_nodes; c++)
		if (!s->comp[c].used && sim_comp_size(s, c) == 0)
			return c;
	return -1;
}

static void sim_random_def(struct sim *s, struct plex_def *def, int d, bool define)
{
	static const uint8_t ranks[] = {1, 50, 50, 100, 100, 200, 254};

	memset(def, 0, sizeof(*def));
	def->dvipa = s->dv[d];
	if (s->dv[d].family == IPADDR_V4)
		def->prefix_len = sim_chance(s, 500) ? 24 : 32;
	else
		def->prefix_len = sim_chance(s, 500) ? 64 : 128;
	if (define) {
		def->kind = CONFIG_VIPADEFINE;
		def->rank = CONFIG_RANK_OWNER;
		def->moveable = (uint8_t)sim_below(s, CONFIG_MOVEABLE_MAX);
	} else {
		def->kind = CONFIG_VIPABACKUP;
		def->rank = sim_chance(s, 300) ? (uint8_t)(1 + sim_below(s, 254))
		                               : ranks[sim_below(s, sizeof(ranks))];
		def->moveable =
		    sim_chance(s, 200) ? (uint8_t)(1 + sim_below(s, 2)) : CONFIG_MOVEABLE_UNSET;
	}
}

static void sim_configure(struct sim *s)
{
	for (int d = 0; d < SIM_DV; d++) {
		unsigned backups = sim_below(s, 5);

		if (sim_chance(s, 800)) {
			size_t i = sim_below(s, (unsigned)s->n_nodes);

			s->node[i].has_cfg[d] = true;
			sim_random_def(s, &s->node[i].cfg[d], d, true);
			if (sim_chance(s, 50)) { /* a second VIPADEFINE: misconfigured */
				i = sim_below(s, (unsigned)s->n_nodes);
				s->node[i].has_cfg[d] = true;
				sim_random_def(s, &s->node[i].cfg[d], d, true);
			}
		}
		while (backups--) {
			size_t i = sim_below(s, (unsigned)s->n_nodes);

			if (s->node[i].has_cfg[d])
				continue;
			s->node[i].has_cfg[d] = true;
			sim_random_def(s, &s->node[i].cfg[d], d, false);
		}
	}
}

static void sim_op_conns(struct sim *s)
{
	int i = sim_random_alive(s), d0 = (int)sim_below(s, SIM_DV);
	struct sim_node *n;

	if (i < 0)
		return;
	n = &s->node[i];
	for (int k = 0; k < SIM_DV; k++) {
		int d = (d0 + k) % SIM_DV;
		const struct plex_held *h = plex_facts_find_held(&n->cur, &s->dv[d]);
		struct plex_held nh;

		if (!n->kernel[d] || !h)
			continue;
		n->conns[d] = sim_chance(s, 500) ? 0 : 1 + sim_below(s, 9);
		if ((h->conns > 0) == (n->conns[d] > 0))
			return; /* dvipad announces only zero <-> non-zero */
		nh = *h;
		nh.conns = n->conns[d];
		if (plex_facts_set_held(&n->cur, &nh) < 0)
			SIM_FAIL(s, "set_held");
		sim_send(s, n);
		return;
	}
}

static void sim_op_deactivate(struct sim *s)
{
	int i = sim_random_alive(s), d = (int)sim_below(s, SIM_DV);
	struct sim_node *n;
	bool on;

	if (i < 0)
		return;
	n = &s->node[i];
	if (!n->has_cfg[d] && sim_chance(s, 800))
		return;
	on = !plex_facts_is_deactivated(&n->cur, &s->dv[d]);
	/* Operators undo what they did: deactivations do not pile up. */
	if (on && sim_chance(s, 600))
		return;
	if (plex_facts_set_deactivated(&n->cur, &s->dv[d], on) < 0)
		SIM_FAIL(s, "set_deactivated");
	sim_send(s, n);
}

static void sim_op_left(struct sim *s)
{
	int i = sim_random_alive(s);

	if (i < 0 || (!(s->node[i].cur.flags & PLEX_FACTS_LEFT) && sim_chance(s, 800)))
		return;
	s->node[i].cur.flags ^= PLEX_FACTS_LEFT;
	sim_send(s, &s->node[i]);
}

static void sim_op_reconfigure(struct sim *s)
{
	size_t i = sim_below(s, (unsigned)s->n_nodes);
	int d = (int)sim_below(s, SIM_DV);
	struct sim_node *n = &s->node[i];

	if (n->has_cfg[d] && sim_chance(s, 400))
		n->has_cfg[d] = false;
	else {
		n->has_cfg[d] = true;
		sim_random_def(s, &n->cfg[d], d, sim_chance(s, 200));
	}
	if (!n->alive)
		return;
	if (sim_rebuild_defs(n) < 0)
		SIM_FAIL(s, "out of memory");
	sim_send(s, n);
}

static void sim_op_crash(struct sim *s)
{
	int i = sim_random_alive(s), c;
	size_t alive = 0;

	for (size_t k = 0; k < s->n_nodes; k++)
		alive += s->node[k].alive;
	/* Keep enough nodes for quorum most of the time. */
	if (i < 0 || alive * 3 < s->n_nodes * 2)
		return;
	c = s->node[i].comp;
	sim_stop(s, (size_t)i);
	s->st.crashes++;
	sim_view_change(s, c);
}

static void sim_op_restart(struct sim *s)
{
	size_t start = sim_below(s, (unsigned)s->n_nodes);
	int c = sim_random_comp(s, -1);

	for (size_t k = 0; k < s->n_nodes; k++) {
		size_t i = (start + k) % s->n_nodes;

		if (s->node[i].alive)
			continue;
		/* Joining a component is merging with it: one without quorum
		 * must have drained first (see the top of this file). */
		if (c < 0 || sim_chance(s, 150) ||
		    (sim_comp_size(s, c) < s->quorum && !sim_comp_drained(s, c)))
			c = sim_free_comp(s);
		if (c < 0)
			return;
		sim_start(s, i, c);
		sim_view_change(s, c);
		return;
	}
}

static void sim_op_partition(struct sim *s)
{
	int c = sim_random_comp(s, -1), nc = sim_free_comp(s);
	size_t moved = 0, size;

	if (c < 0 || nc < 0 || (size = sim_comp_size(s, c)) < 2)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (!s->node[i].alive || s->node[i].comp != c)
			continue;
		if (moved + 1 < size && sim_chance(s, 350)) {
			s->node[i].comp = nc;
			moved++;
		}
	}
	if (!moved)
		return;
	s->st.partitions++;
	sim_view_change(s, c);
	sim_view_change(s, nc);
}

static void sim_op_merge(struct sim *s)
{
	int a = sim_random_comp(s, -1), b = sim_random_comp(s, a);

	if (a < 0 || b < 0)
		return;
	if ((sim_comp_size(s, a) < s->quorum && !sim_comp_drained(s, a)) ||
	    (sim_comp_size(s, b) < s->quorum && !sim_comp_drained(s, b)))
		return;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->node[i].alive && s->node[i].comp == b)
			s->node[i].comp = a;
	s->comp[b].used = false;
	s->st.merges++;
	sim_view_change(s, a);
}

static bool sim_deliver_random(struct sim *s)
{
	size_t start = sim_below(s, (unsigned)s->n_nodes);

	for (size_t k = 0; k < s->n_nodes; k++) {
		struct sim_node *n = &s->node[(start + k) % s->n_nodes];

		if (n->alive && sim_pending(n)) {
			sim_deliver(s, n);
			return true;
		}
	}
	return false;
}

static void sim_step(struct sim *s)
{
	/* Calm and stormy periods: steady handoffs need calm, races need
	 * storms. In calm, the network heals: partitions merge. */
	unsigned net = s->storm ? 60 : 4, r;

	s->now++;
	s->st.steps++;
	if (sim_chance(s, 2))
		s->storm = !s->storm;
	if (sim_chance(s, s->deliver_share) && sim_deliver_random(s))
		return;
	r = sim_below(s, 1000);
	if (r < net) {
		r = sim_below(s, 100);
		if (r < 25)
			sim_op_crash(s);
		else if (r < 50)
			sim_op_restart(s);
		else if (r < (s->storm ? 75u : 55u))
			sim_op_partition(s);
		else
			sim_op_merge(s);
	} else if (r < 400) {
		sim_op_conns(s);
	} else if (r < 700) {
		sim_op_deactivate(s);
	} else if (r < 740) {
		sim_op_left(s);
	} else if (r < 780) {
		sim_op_reconfigure(s);
	} else if (r < 800) {
		sim_op_restart(s);
	} else {
		sim_deliver_random(s);
	}
}

/* Lets every inbox drain, then checks liveness. */
static void sim_settle(struct sim *s)
{
	uint64_t before = s->st.deliveries;

	for (;;) {
		bool any = false;

		for (size_t i = 0; i < s->n_nodes && !s->failed; i++)
			if (s->node[i].alive && sim_pending(&s->node[i])) {
				sim_deliver(s, &s->node[i]);
				sim_check_safety(s);
				any = true;
			}
		if (!any || s->failed)
			break;
		if (s->st.deliveries - before > 2000000) {
			SIM_FAIL(s, "no convergence after %" PRIu64 " deliveries",
			         s->st.deliveries - before);
			return;
		}
	}
	if (s->st.deliveries - before > s->st.settle_deliveries_max)
		s->st.settle_deliveries_max = s->st.deliveries - before;
	s->st.settles++;
	sim_check_settled(s);
}

static void sim_run(size_t n_nodes, uint64_t steps, uint64_t settle_every, unsigned deliver_share,
                    unsigned long seed)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (!s) {
		unit_fail(__FILE__, __LINE__, "out of memory");
		return;
	}
	s->n_nodes = n_nodes;
	s->deliver_share = deliver_share;
	s->quorum = n_nodes / 2 + 1; /* votequorum's default: a strict majority */
	s->rng = seed * 0x9e3779b97f4a7c15ull + n_nodes;
	if (!s->rng)
		s->rng = 1;
	for (int d = 0; d < SIM_DV; d++) {
		char a[IPADDR_STRLEN];

		if (d < 16)
			snprintf(a, sizeof(a), "10.1.0.%d", d + 1);
		else
			snprintf(a, sizeof(a), "2001:db8:1::%d", d - 15);
		ipaddr_parse(a, &s->dv[d]);
	}
	for (size_t i = 0; i < n_nodes; i++) {
		s->node[i].id = sim_id(i);
		s->node[i].comp = -1;
	}
	sim_configure(s);
	for (size_t i = 0; i < n_nodes; i++)
		sim_start(s, i, 0);
	sim_view_change(s, 0);
	while (s->st.steps < steps && !s->failed) {
		sim_step(s);
		sim_check_safety(s);
		if (s->st.steps % settle_every == 0)
			sim_settle(s);
	}
	if (!s->failed)
		sim_settle(s);
	printf("     %zu nodes, seed 0x%lx: %" PRIu64 " steps, %" PRIu64 " deliveries, %" PRIu64
	       " views (%" PRIu64 " crashes, %" PRIu64 " partitions, %" PRIu64 " merges), %" PRIu64
	       " adds, %" PRIu64 " removes, %" PRIu64 " transitions, %" PRIu64
	       " agreement checks, %" PRIu64 " settles (%" PRIu64 " quorate, max %" PRIu64
	       " deliveries), %" PRIu64 " owned DVIPAs checked\n",
	       n_nodes, seed, s->st.steps, s->st.deliveries, s->st.views, s->st.crashes,
	       s->st.partitions, s->st.merges, s->st.adds, s->st.removes, s->st.transitions,
	       s->st.agreements, s->st.settles, s->st.quorate_settles, s->st.settle_deliveries_max,
	       s->st.owned_checks);
	for (size_t i = 0; i < n_nodes; i++) {
		if (s->node[i].alive)
			sim_stop(s, i);
		free(s->node[i].inbox);
	}
	free(s);
}

TEST(plex_sim)
{
	bool long_mode = unit_long_mode();

	/* A 32-node change takes about a thousand deliveries to settle: most
	 * steps deliver. */
	sim_run(SIM_MAX_NODES, long_mode ? 1000000 : 20000, long_mode ? 5000 : 2500, 950,
	        unit_seed());
}

TEST(plex_sim_small)
{
	/* Five nodes: quorum is 3, partitions and takebacks come often. */
	bool long_mode = unit_long_mode();

	sim_run(5, long_mode ? 1000000 : 20000, 500, 800, unit_seed() + 1);
}
