/* The distributor's flow counts per service and target (see
 * core/dist_count.h). */
#include "core/dist_count.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"

#define DIST_COUNT_NS_PER_MS 1000000ull

void dist_count_start(struct dist_count *c, uint64_t now_ns, uint64_t settle_from_ns,
                      uint64_t settle_to_ns)
{
	c->n = 0;
	dist_index_reset(&c->index);
	c->now_ns = now_ns;
	c->settle_from_ns = settle_from_ns;
	c->settle_to_ns = settle_to_ns;
}

/* The position of f's target, added when it is new. */
static int dist_count_target(struct dist_count *c, const struct dist_count_flow *f, size_t *ret)
{
	size_t cap = c->cap;
	int err;

	if (dist_index_find(&c->index, &f->dvipa, f->port, f->node_id, ret) == 0)
		return 0;
	/* Both arrays grow alike from the same capacity. */
	err = array_grow(&c->conns, &cap, c->n + 1, sizeof(*c->conns));
	if (err < 0)
		return err;
	cap = c->cap;
	err = array_grow(&c->settled, &cap, c->n + 1, sizeof(*c->settled));
	if (err < 0)
		return err;
	c->cap = cap;
	err = dist_index_add(&c->index, &f->dvipa, f->port, f->node_id, c->n);
	if (err < 0)
		return err;
	c->conns[c->n] =
	    (struct dist_conns){.dvipa = f->dvipa, .port = f->port, .node_id = f->node_id};
	c->settled[c->n] =
	    (struct dist_health_settled){.dvipa = f->dvipa, .port = f->port, .node_id = f->node_id};
	*ret = c->n++;
	return 0;
}

int dist_count_add(struct dist_count *c, const struct dist_count_flow *f)
{
	struct dist_health_sample *h;
	struct dist_conns *t;
	size_t k = 0;
	int err;

	err = dist_count_target(c, f, &k);
	if (err < 0)
		return err;
	t = &c->conns[k];
	t->total++;
	if (!f->closing &&
	    (f->established ||
	     f->created_ns + DIST_HEALTH_SETTLE_MS * DIST_COUNT_NS_PER_MS > c->now_ns))
		t->active++;
	if (f->created_ns < c->settle_from_ns || f->created_ns >= c->settle_to_ns)
		return 0;
	h = &c->settled[k].sample;
	if (f->established && f->syn_retrans)
		h->slow++;
	else if (f->established)
		h->established++;
	else if (f->syn_retrans)
		h->dropped++;
	else
		h->refused++;
	return 0;
}

void dist_count_recent(struct dist_count *c, const struct dist_count *before)
{
	for (size_t i = 0; i < c->n; i++) {
		struct dist_conns *t = &c->conns[i];
		uint32_t old = 0;
		size_t k = 0;

		if (before &&
		    dist_index_find(&before->index, &t->dvipa, t->port, t->node_id, &k) == 0)
			old = before->conns[k].total;
		t->recent = t->total > old ? t->total - old : 0;
	}
}

void dist_count_clear(struct dist_count *c)
{
	if (!c)
		return;
	free(c->conns);
	free(c->settled);
	dist_index_clear(&c->index);
	memset(c, 0, sizeof(*c));
}
