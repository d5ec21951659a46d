/* The sysplex distributor's derived state: services, targets, dispatch
 * tables (see core/dist.h and docs/distributor.md). */
#include "core/dist.h"

#include "core/array.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- dispatch tables ---- */

static uint64_t dist_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Lays out shares share[0 .. n) (sum <= DIST_SLOTS) as a smooth weighted
 * round robin (each step, every target gains its share and the one furthest
 * ahead takes the slot and pays the total): every window of the table holds
 * each target about in proportion, so a round-robin pointer that starts
 * anywhere in it still gives the proportions. */
static uint16_t dist_interleave(struct dist_target *t, size_t n, const uint64_t *share,
                                uint8_t slots[DIST_SLOTS])
{
	int64_t current[DIST_MAX_TARGETS] = {0};
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		total += share[i];
		t[i].slots = (uint16_t)share[i];
	}
	for (uint64_t s = 0; s < total; s++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (!share[i])
				continue;
			current[i] += (int64_t)share[i];
			if (best == n || current[i] > current[best])
				best = i;
		}
		current[best] -= (int64_t)total;
		slots[s] = (uint8_t)best;
	}
	return (uint16_t)total;
}

/* Shrinks shares to the smallest table with the same proportions, and to
 * DIST_SLOTS at most (each target that had a share keeps at least one). */
static void dist_reduce(uint64_t *share, size_t n)
{
	uint64_t g = 0, sum = 0;

	for (size_t i = 0; i < n; i++)
		g = dist_gcd(g, share[i]);
	if (!g)
		return;
	for (size_t i = 0; i < n; i++) {
		share[i] /= g;
		sum += share[i];
	}
	if (sum <= DIST_SLOTS)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!share[i])
			continue;
		share[i] = share[i] * (DIST_SLOTS - n) / sum;
		if (!share[i])
			share[i] = 1;
	}
}

static bool dist_eligible(const struct dist_target *t)
{
	return t->ready > 0 && !(t->flags & DIST_TARGET_QUIESCED);
}

static bool dist_healthy(const struct dist_target *t)
{
	return t->health >= DIST_HEALTH_LOW;
}

/* BASEWLM and SERVERWLM: the WLM weights (capacity, and for SERVERWLM the
 * server's efficiency for the port) as shares; round robin while no
 * eligible target has a weight. Refusals of connections are not in the
 * efficiency: they are the target's health, applied to every method's
 * shares after this. */
static void dist_wlm_shares(uint8_t method, struct dist_target *t, size_t n, uint64_t *share)
{
	struct wlm_weigh w[DIST_MAX_TARGETS];
	bool weighed;

	for (size_t i = 0; i < n; i++)
		w[i] = (struct wlm_weigh){
		    .eligible = dist_eligible(&t[i]),
		    .reported = t[i].flags & DIST_TARGET_CAPACITY,
		    .capacity = t[i].capacity,
		    .efficiency = t[i].efficiency,
		};
	weighed = wlm_weigh(w, n, method == CONFIG_DIST_SERVERWLM);
	for (size_t i = 0; i < n; i++) {
		t[i].wlm = (uint8_t)w[i].weight;
		t[i].flags &= ~DIST_TARGET_WLM;
		if (weighed)
			t[i].flags |= DIST_TARGET_WLM;
		share[i] = !dist_eligible(&t[i]) ? 0 : weighed ? w[i].weight : 1;
	}
}

/* HOTSTANDBY: the PREFERRED target while it is ready and healthy, else the
 * ready, healthy BACKUP with the highest rank; with nobody healthy, the same
 * choice by readiness alone. A ready PREFERRED target passed over for its
 * health keeps a share (scaled down by its health next): the connections
 * that tell when it answers again, and bring it back. */
static void dist_hot_standby(const struct dist_target *t, size_t n, uint64_t *share)
{
	size_t best = n;

	for (int healthy_only = 1; healthy_only >= 0 && best == n; healthy_only--) {
		for (size_t i = 0; i < n; i++) {
			if (!dist_eligible(&t[i]) || (healthy_only && !dist_healthy(&t[i])))
				continue;
			if (t[i].preferred) {
				best = i;
				break;
			}
			if (t[i].backup_rank &&
			    (best == n || t[i].backup_rank > t[best].backup_rank))
				best = i;
		}
	}
	if (best == n)
		return;
	share[best] = 1;
	for (size_t i = 0; i < n; i++)
		if (t[i].preferred && dist_eligible(&t[i]))
			share[i] = 1;
}

/* Health: every share times its target's health (0..100), so that a target
 * that refuses or drops connections gets fewer new ones, and any health
 * above 0 keeps a share: it is tested, and recovers. When nothing would be
 * left, the shares stay: a measure that condemns every target is no better
 * than none. One step after the method's own shares, whatever the method. */
static void dist_health_scale(const struct dist_target *t, size_t n, uint64_t *share)
{
	uint64_t scaled[DIST_MAX_TARGETS];
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		uint64_t h = t[i].health < DIST_HEALTH_MAX ? t[i].health : DIST_HEALTH_MAX;

		scaled[i] = share[i] * h;
		any |= scaled[i] != 0;
	}
	if (any)
		memcpy(share, scaled, n * sizeof(*share));
}

/* WEIGHTEDACTIVE with active counts, over the shares share[] (the weights
 * times health): target i should hold e_i / E of the active connections A.
 * Looking ahead N new connections, it gets the share it lacks to be there:
 * e_i * (A + N) / E - a_i (times E to stay in integers, never below 0).
 * Once the counts are proportional the shares are the weights again; a
 * target far behind takes nearly everything until it catches up. N is what
 * arrived since the counts before (at least the sum of the WEIGHTs): the
 * table stays in place about that long before fresh counts replace it, so
 * it neither overshoots nor lags (a fixed small N made the shares swing
 * from one count to the next).
 *
 * An unhealthy target does not keep its connections, so it would lag
 * forever and take every new one: targets below DIST_HEALTH_LOW are left
 * out of the balance (unless no target is healthy) and get a share in
 * proportion to their weight times health of what the others get. */
static void dist_weighted_active(const struct dist_target *t, size_t n, uint64_t *share)
{
	uint64_t a_sum = 0, e_sum = 0, w_sum = 0, recent = 0, ahead, total = 0;
	bool pool[DIST_MAX_TARGETS] = {0}, any_healthy = false;

	for (size_t i = 0; i < n; i++)
		any_healthy |= share[i] && dist_healthy(&t[i]);
	for (size_t i = 0; i < n; i++) {
		pool[i] = share[i] && (dist_healthy(&t[i]) || !any_healthy);
		if (!pool[i])
			continue;
		a_sum += t[i].active;
		e_sum += share[i];
		w_sum += t[i].weight;
		recent += t[i].recent;
	}
	ahead = recent > w_sum ? recent : w_sum;
	for (size_t i = 0; i < n; i++) {
		uint64_t want, have;

		if (!pool[i])
			continue;
		want = share[i] * (a_sum + ahead);
		have = (uint64_t)t[i].active * e_sum;
		share[i] = want > have ? want - have : 0;
		total += share[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (!share[i] || pool[i])
			continue;
		/* e_i / E of what the pool gets: at least one slot. */
		share[i] = e_sum ? share[i] * total / e_sum : 0;
		if (!share[i])
			share[i] = 1;
	}
}

int dist_slots(uint8_t method, struct dist_target *t, size_t n, bool use_active,
               uint8_t slots[DIST_SLOTS], uint16_t *ret_n)
{
	uint64_t share[DIST_MAX_TARGETS] = {0};

	if (method >= CONFIG_DIST_MAX || n > DIST_MAX_TARGETS || (n && !t))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		t[i].slots = 0;
	switch (method) {
	case CONFIG_DIST_HOTSTANDBY:
		dist_hot_standby(t, n, share);
		break;
	case CONFIG_DIST_WEIGHTEDACTIVE:
		for (size_t i = 0; i < n; i++)
			share[i] = dist_eligible(&t[i]) ? t[i].weight : 0;
		break;
	case CONFIG_DIST_BASEWLM:
	case CONFIG_DIST_SERVERWLM:
		dist_wlm_shares(method, t, n, share);
		break;
	default:
		/* ROUNDROBIN. */
		for (size_t i = 0; i < n; i++)
			share[i] = dist_eligible(&t[i]) ? 1 : 0;
		break;
	}
	dist_health_scale(t, n, share);
	if (method == CONFIG_DIST_WEIGHTEDACTIVE && use_active)
		dist_weighted_active(t, n, share);
	dist_reduce(share, n);
	*ret_n = dist_interleave(t, n, share, slots);
	return 0;
}

/* ---- the view ---- */

struct dist_ctx {
	const struct dist_input *in;
	uint32_t self;
	uint32_t ids[PLEX_MAX_NODES]; /* members, ascending */
	size_t n_ids;
	bool have_conns;          /* in->conns given: this node's flow counts */
	struct dist_conns *conns; /* sorted copy of in->conns */
	size_t n_conns;
	struct dist_view *v;
	size_t cap_services, cap_targets;
};

static const struct plex_facts *dist_facts_of(const struct dist_ctx *c, uint32_t id)
{
	if (id == c->self)
		return c->in->local;
	return plex_member_facts(c->in->plex, id);
}

static const struct dist_facts *dist_dist_of(const struct dist_ctx *c, uint32_t id)
{
	const struct plex_facts *f = dist_facts_of(c, id);

	if (id == c->self)
		return c->in->local_dist;
	for (size_t i = 0; f && i < c->in->n_peers; i++)
		if (c->in->peers[i].node_id == id && c->in->peers[i].seq == f->seq)
			return &c->in->peers[i].facts;
	return NULL;
}

static bool dist_plex_addr(const struct plex_facts *f, const struct dist_facts *d, int family,
                           struct ipaddr *ret)
{
	const struct ipaddr *a = NULL;

	if (d)
		a = family == IPADDR_V4 ? &d->plex_v4 : &d->plex_v6;
	if (a && a->family == family) {
		*ret = *a;
		return true;
	}
	if (f && f->plex_addr.family == family) {
		*ret = f->plex_addr;
		return true;
	}
	return false;
}

static bool dist_holds_active(const struct plex_facts *f, const struct ipaddr *dvipa)
{
	const struct plex_held *h = f ? plex_facts_find_held(f, dvipa) : NULL;

	return h && h->state == PLEX_HELD_ACTIVE;
}

static int dist_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int dist_cmp_addr(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

static int dist_cmp_conns(const void *a, const void *b)
{
	const struct dist_conns *x = a, *y = b;
	int c = ipaddr_cmp(&x->dvipa, &y->dvipa);

	if (c)
		return c;
	if (x->port != y->port)
		return (x->port > y->port) - (x->port < y->port);
	return (x->node_id > y->node_id) - (x->node_id < y->node_id);
}

static int dist_cmp_ready(const void *a, const void *b)
{
	const struct dist_ready *x = a, *y = b;
	int c = ipaddr_cmp(&x->dvipa, &y->dvipa);

	if (c)
		return c;
	return (x->port > y->port) - (x->port < y->port);
}

/* Which member distributes dvipa: this node when its kernel holds it, else
 * the lowest-id member whose facts say it holds it, else the designated
 * owner (claimed, not active yet: its targets keep serving meanwhile). */
static uint32_t dist_distributor(const struct dist_ctx *c, const struct ipaddr *dvipa,
                                 bool *ret_active)
{
	*ret_active = true;
	if (dist_holds_active(c->in->local, dvipa))
		return c->self;
	for (size_t i = 0; i < c->n_ids; i++)
		if (c->ids[i] != c->self && dist_holds_active(dist_facts_of(c, c->ids[i]), dvipa))
			return c->ids[i];
	*ret_active = false;
	return plex_owner(c->in->plex, dvipa);
}

/* The targets of one statement, by node id, without per-port state. */
static size_t dist_resolve(const struct dist_ctx *c, const struct config_dist *d,
                           uint32_t distributor, struct dist_target *out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_ids; i++) {
		uint32_t id = c->ids[i];
		const struct plex_facts *f = dist_facts_of(c, id);
		struct dist_target t = {.node_id = id, .weight = CONFIG_WEIGHT_DEFAULT};

		if (!f || (f->flags & PLEX_FACTS_LEFT) ||
		    !dist_plex_addr(f, dist_dist_of(c, id), d->addr.family, &t.plex_addr))
			continue;
		if (!d->dest_all) {
			const struct config_dest *dest = NULL;

			for (size_t j = 0; j < d->n_dests && !dest; j++)
				if (ipaddr_equal(&d->dests[j].addr, &t.plex_addr))
					dest = &d->dests[j];
			if (!dest)
				continue;
			t.weight = dest->weight;
			t.preferred = dest->preferred;
			t.backup_rank = dest->backup_rank;
		}
		if (id == distributor)
			t.flags |= DIST_TARGET_LOCAL;
		out[n++] = t;
	}
	return n;
}

static int dist_add_service(struct dist_ctx *c, const struct config_dist *d, uint16_t port,
                            uint32_t distributor, bool active, const struct dist_target *base,
                            size_t n)
{
	struct dist_view *v = c->v;
	struct dist_service *s;
	struct dist_target *t;
	bool mine = distributor == c->self && c->have_conns;
	int err;

	err = array_grow(&v->services, &c->cap_services, v->n_services + 1, sizeof(*v->services));
	if (err == 0)
		err =
		    array_grow(&v->targets, &c->cap_targets, v->n_targets + n, sizeof(*v->targets));
	if (err < 0)
		return err;
	s = &v->services[v->n_services++];
	memset(s, 0, sizeof(*s));
	s->dvipa = d->addr;
	s->port = port;
	s->method = d->method;
	s->timedaffinity = d->timedaffinity;
	s->distributor = distributor;
	s->distributor_active = active;
	s->first_target = v->n_targets;
	s->n_targets = n;
	t = &v->targets[v->n_targets];
	v->n_targets += n;
	for (size_t i = 0; i < n; i++) {
		const struct dist_facts *df = dist_dist_of(c, base[i].node_id);
		struct dist_ready key = {.dvipa = d->addr, .port = port};
		const struct dist_ready *r = NULL;

		t[i] = base[i];
		if (df && df->n_ready)
			r = bsearch(&key, df->ready, df->n_ready, sizeof(*r), dist_cmp_ready);
		t[i].ready = r ? r->ready : 0;
		t[i].efficiency = WLM_EFFICIENCY_FULL;
		if (df && df->wlm.has_capacity) {
			t[i].flags |= DIST_TARGET_CAPACITY;
			t[i].capacity = df->wlm.capacity;
		}
		if (df)
			t[i].efficiency = (uint8_t)wlm_report_efficiency(&df->wlm, &d->addr, port);
		if (df && dist_facts_is_quiesced(df, port))
			t[i].flags |= DIST_TARGET_QUIESCED;
		t[i].health = DIST_HEALTH_MAX;
		if (!df) {
			t[i].flags |= DIST_TARGET_SILENT;
			t[i].health = 0;
		} else if (distributor == c->self) {
			const struct dist_health_entry *h = dist_health_find(
			    c->in->health, c->in->n_health, &d->addr, port, t[i].node_id);

			if (h)
				t[i].health = h->h.health;
		}
		if (mine) {
			struct dist_conns ck = {
			    .dvipa = d->addr, .port = port, .node_id = t[i].node_id};
			const struct dist_conns *cn =
			    c->n_conns
			        ? bsearch(&ck, c->conns, c->n_conns, sizeof(ck), dist_cmp_conns)
			        : NULL;

			t[i].flags |= DIST_TARGET_CONNS;
			t[i].active = cn ? cn->active : 0;
			t[i].total = cn ? cn->total : 0;
			t[i].recent = cn ? cn->recent : 0;
		}
	}
	return dist_slots(d->method, t, n, mine, s->slots, &s->n_slots);
}

/* The services of one DVIPA: the distributor's statements, port by port. */
static int dist_add_dvipa(struct dist_ctx *c, const struct ipaddr *dvipa)
{
	struct dist_target base[DIST_MAX_TARGETS];
	const struct dist_facts *df;
	uint32_t distributor;
	bool active;
	int err;

	distributor = dist_distributor(c, dvipa, &active);
	if (distributor == PLEX_NODE_NONE)
		return 0;
	df = dist_dist_of(c, distributor);
	for (size_t i = 0; df && i < df->n_dists; i++) {
		const struct config_dist *d = &df->dists[i];
		size_t n;

		if (!ipaddr_equal(&d->addr, dvipa))
			continue;
		n = dist_resolve(c, d, distributor, base);
		for (size_t r = 0; r < d->n_ports; r++) {
			for (uint32_t port = d->ports[r].first; port <= d->ports[r].last; port++) {
				if (c->v->n_services == DIST_MAX_PORTS) {
					c->v->truncated = true;
					return 0;
				}
				err = dist_add_service(c, d, (uint16_t)port, distributor, active,
				                       base, n);
				if (err < 0)
					return err;
			}
		}
	}
	return 0;
}

/* Every DVIPA some member (or this node) distributes, sorted and unique. */
static int dist_dvipas(const struct dist_ctx *c, struct ipaddr **ret, size_t *ret_n)
{
	struct ipaddr *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < c->n_ids; i++) {
		const struct dist_facts *df = dist_dist_of(c, c->ids[i]);

		for (size_t j = 0; df && j < df->n_dists; j++) {
			if (array_grow(&v, &cap, n + 1, sizeof(*v)) < 0) {
				free(v);
				return -ENOMEM;
			}
			v[n++] = df->dists[j].addr;
		}
	}
	if (n) {
		size_t w = 1;

		qsort(v, n, sizeof(*v), dist_cmp_addr);
		for (size_t i = 1; i < n; i++)
			if (!ipaddr_equal(&v[i], &v[w - 1]))
				v[w++] = v[i];
		n = w;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int dist_view(const struct dist_input *in, struct dist_view *ret)
{
	struct dist_view v = {0};
	struct dist_ctx c = {.in = in, .v = &v};
	struct ipaddr *dvipas = NULL;
	const uint32_t *ids;
	size_t n_dvipas = 0;
	int err = 0;

	if (!in || (in->plex && (!in->local || in->local->node_id != plex_self(in->plex))))
		return -EINVAL;
	if (!in->plex || !plex_quorate(in->plex))
		goto done;
	c.self = plex_self(in->plex);
	v.self = c.self;
	c.n_ids = plex_members(in->plex, &ids);
	memcpy(c.ids, ids, c.n_ids * sizeof(*ids));
	qsort(c.ids, c.n_ids, sizeof(*c.ids), dist_cmp_u32);
	c.have_conns = in->conns != NULL;
	if (in->conns && in->n_conns) {
		c.conns = malloc(in->n_conns * sizeof(*c.conns));
		if (!c.conns) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(c.conns, in->conns, in->n_conns * sizeof(*c.conns));
		qsort(c.conns, in->n_conns, sizeof(*c.conns), dist_cmp_conns);
		c.n_conns = in->n_conns;
	}
	err = dist_dvipas(&c, &dvipas, &n_dvipas);
	for (size_t i = 0; err == 0 && i < n_dvipas && !v.truncated; i++)
		err = dist_add_dvipa(&c, &dvipas[i]);
	if (err < 0)
		goto out;
done:
	*ret = v;
	v = (struct dist_view){0};
out:
	dist_view_clear(&v);
	free(dvipas);
	free(c.conns);
	return err;
}

void dist_view_clear(struct dist_view *v)
{
	if (!v)
		return;
	free(v->services);
	free(v->targets);
	memset(v, 0, sizeof(*v));
}

/* The first service at or after (dvipa, port) in the view's order: a
 * binary search, as the daemon looks up every service of a view of up to
 * DIST_MAX_PORTS on each update. */
static size_t dist_view_lower(const struct dist_view *v, const struct ipaddr *dvipa, uint16_t port)
{
	size_t lo = 0, hi = v->n_services;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct dist_service *s = &v->services[mid];
		int c = ipaddr_cmp(&s->dvipa, dvipa);

		if (c < 0 || (c == 0 && s->port < port))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

unsigned dist_view_role(const struct dist_view *v, uint32_t node, const struct ipaddr *dvipa)
{
	unsigned role = 0;

	for (size_t i = dist_view_lower(v, dvipa, 0); i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];

		if (!ipaddr_equal(&s->dvipa, dvipa))
			break;
		if (s->distributor == node && s->distributor_active)
			role |= DIST_ROLE_DIST;
		for (size_t j = 0; j < s->n_targets; j++)
			if (v->targets[s->first_target + j].node_id == node)
				role |= DIST_ROLE_DEST;
	}
	return role;
}

const struct dist_service *dist_view_find(const struct dist_view *v, const struct ipaddr *dvipa,
                                          uint16_t port)
{
	size_t i = dist_view_lower(v, dvipa, port);

	if (i < v->n_services && v->services[i].port == port &&
	    ipaddr_equal(&v->services[i].dvipa, dvipa))
		return &v->services[i];
	return NULL;
}

bool dist_target_ready(const struct dist_target *t)
{
	return dist_eligible(t) && t->health >= DIST_HEALTH_LOW;
}

const char *dist_role_name(unsigned role)
{
	switch (role & (DIST_ROLE_DIST | DIST_ROLE_DEST)) {
	case DIST_ROLE_DIST:
		return "DIST";
	case DIST_ROLE_DEST:
		return "DEST";
	case DIST_ROLE_DIST | DIST_ROLE_DEST:
		return "DIST&DEST";
	default:
		return "";
	}
}
