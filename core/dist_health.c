/* A target's health as its distributor measures it (see core/dist_health.h
 * and docs/distributor.md). */
#include "core/dist_health.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/dist.h"
#include "core/dist_index.h"

#define DIST_HEALTH_SCORE_MAX (DIST_HEALTH_MAX * 100)
/* How far one settled connection moves the score towards its value, and an
 * interval without connections towards full health: 1/4 and 1/16 of the
 * way. Three refused connections in a row bring a healthy target below
 * DIST_HEALTH_LOW; without connections it takes about 5 s (11 intervals of
 * 500 ms) to come back from 0 to DIST_HEALTH_LOW. */
#define DIST_HEALTH_STEP      4
#define DIST_HEALTH_IDLE_STEP 16
/* Beyond this many connections in one interval the score is at their mean
 * to within 1/10000 anyway. */
#define DIST_HEALTH_STEPS_MAX 32

void dist_health_init(struct dist_health *h)
{
	memset(h, 0, sizeof(*h));
	h->score = DIST_HEALTH_SCORE_MAX;
	h->health = DIST_HEALTH_MAX;
}

/* score moved 1/div of the way to value, rounded away from score so that it
 * gets there. */
static uint16_t dist_health_towards(uint16_t score, uint32_t value, uint32_t div)
{
	if (value > score)
		return (uint16_t)(score + (value - score + div - 1) / div);
	return (uint16_t)(score - (score - value + div - 1) / div);
}

static uint32_t dist_health_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

uint8_t dist_health_update(struct dist_health *h, const struct dist_health_sample *s)
{
	uint8_t before = h->health;
	uint64_t n = 0;

	if (s)
		n = (uint64_t)s->established + s->slow + s->dropped + s->refused;
	if (n == 0) {
		h->score =
		    dist_health_towards(h->score, DIST_HEALTH_SCORE_MAX, DIST_HEALTH_IDLE_STEP);
	} else {
		/* Every connection pulls a quarter of the way to its value; to
		 * stay independent of their order, n steps towards the mean. */
		uint32_t mean = (uint32_t)(((uint64_t)s->established * DIST_HEALTH_SCORE_MAX +
		                            (uint64_t)s->slow * DIST_HEALTH_SCORE_MAX / 2) /
		                           n);

		for (uint64_t i = 0; i < n && i < DIST_HEALTH_STEPS_MAX; i++)
			h->score = dist_health_towards(h->score, mean, DIST_HEALTH_STEP);
		h->refused = dist_health_add(h->refused, s->refused);
		h->dropped = dist_health_add(h->dropped, s->dropped);
		h->slow = dist_health_add(h->slow, s->slow);
	}
	h->health = (uint8_t)((h->score + 50) / 100);
	/* The reasons are those of the current trouble: forgotten once the
	 * target is back at full health. */
	if (h->health == DIST_HEALTH_MAX)
		h->refused = h->dropped = h->slow = 0;
	return before;
}

const char *dist_health_reason(const struct dist_health *h)
{
	if (h->refused && h->dropped)
		return "connections refused or dropped";
	if (h->refused)
		return "connections refused";
	if (h->dropped)
		return "connections dropped";
	if (h->slow)
		return "connections slow to establish";
	return "";
}

/* ---- the table ---- */

static int dist_health_cmp(const struct ipaddr *a1, uint16_t p1, uint32_t n1,
                           const struct ipaddr *a2, uint16_t p2, uint32_t n2)
{
	int c = ipaddr_cmp(a1, a2);

	if (c)
		return c;
	if (p1 != p2)
		return (p1 > p2) - (p1 < p2);
	return (n1 > n2) - (n1 < n2);
}

const struct dist_health_entry *dist_health_find(const struct dist_health_entry *v, size_t n,
                                                 const struct ipaddr *dvipa, uint16_t port,
                                                 uint32_t node_id)
{
	size_t lo = 0, hi = n;

	while (v && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dist_health_cmp(&v[mid].dvipa, v[mid].port, v[mid].node_id, dvipa, port,
		                        node_id);

		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int dist_health_entry_cmp(const void *a, const void *b)
{
	const struct dist_health_entry *x = a, *y = b;

	return dist_health_cmp(&x->dvipa, x->port, x->node_id, &y->dvipa, y->port, y->node_id);
}

/* The entry of a target in t, looked for at *hint first: the view lists
 * services and targets in the table's order, so that from one interval to
 * the next the entries follow each other and only a change costs a binary
 * search. *hint then points past the entry found. */
static const struct dist_health_entry *
dist_health_old(const struct dist_health_table *t, size_t *hint, const struct dist_health_entry *e)
{
	const struct dist_health_entry *old = NULL;

	if (*hint < t->n && dist_health_entry_cmp(&t->v[*hint], e) == 0)
		old = &t->v[*hint];
	else
		old = dist_health_find(t->v, t->n, &e->dvipa, e->port, e->node_id);
	if (old)
		*hint = (size_t)(old - t->v) + 1;
	return old;
}

static bool dist_health_sorted(const struct dist_health_entry *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (dist_health_entry_cmp(&v[i - 1], &v[i]) > 0)
			return false;
	return true;
}

int dist_health_table_update(struct dist_health_table *t, const struct dist_view *v,
                             const struct dist_health_settled *c, size_t n, dist_health_fn *fn,
                             void *data)
{
	struct dist_index by = {0};
	struct dist_health_entry *next = NULL;
	uint8_t *before = NULL;
	size_t n_next = 0, cap = 0, cap_before = 0, hint = 0;
	int err = 0;

	/* Where each target's sample is, found in constant time: the table
	 * can hold DIST_MAX_PORTS services of DIST_MAX_TARGETS targets. With
	 * room reserved, an add fails only as -EEXIST: the first one stays. */
	if (c && n && (n >= UINT32_MAX || dist_index_reserve(&by, n) < 0)) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; c && i < n; i++)
		(void)dist_index_add(&by, &c[i].dvipa, c[i].port, c[i].node_id, i);
	for (size_t i = 0; i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];

		if (s->distributor != v->self || !s->distributor_active)
			continue;
		if (array_grow(&next, &cap, n_next + s->n_targets, sizeof(*next)) < 0 ||
		    array_grow(&before, &cap_before, n_next + s->n_targets, sizeof(*before)) < 0) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t j = 0; j < s->n_targets; j++) {
			struct dist_health_entry *e = &next[n_next];
			const struct dist_health_entry *old;
			const struct dist_health_sample *sample;
			size_t k;

			memset(e, 0, sizeof(*e));
			e->dvipa = s->dvipa;
			e->port = s->port;
			e->node_id = v->targets[s->first_target + j].node_id;
			old = dist_health_old(t, &hint, e);
			if (old)
				e->h = old->h;
			else
				dist_health_init(&e->h);
			k = 0;
			sample = dist_index_find(&by, &e->dvipa, e->port, e->node_id, &k) == 0
			             ? &c[k].sample
			             : NULL;
			before[n_next++] = dist_health_update(&e->h, sample);
		}
	}
	for (size_t i = 0; fn && i < n_next; i++)
		if ((before[i] < DIST_HEALTH_LOW) != (next[i].h.health < DIST_HEALTH_LOW))
			fn(data, &next[i], before[i]);
	/* The view lists services by (DVIPA, port) and targets by node id
	 * already; sorting keeps dist_health_find() right whatever it does. */
	if (!dist_health_sorted(next, n_next))
		qsort(next, n_next, sizeof(*next), dist_health_entry_cmp);
	free(t->v);
	t->v = next;
	t->n = n_next;
	next = NULL;
out:
	free(next);
	free(before);
	dist_index_clear(&by);
	return err;
}

void dist_health_table_clear(struct dist_health_table *t)
{
	if (!t)
		return;
	free(t->v);
	memset(t, 0, sizeof(*t));
}
