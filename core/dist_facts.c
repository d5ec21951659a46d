/* A node's distribution facts: canonical order, checks and edits (see
 * core/dist.h). */
#include "core/dist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void dist_facts_clear_dists(struct config_dist *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].ports);
		free(v[i].dests);
	}
	free(v);
}

void dist_facts_clear(struct dist_facts *f)
{
	if (!f)
		return;
	dist_facts_clear_dists(f->dists, f->n_dists);
	free(f->quiesced);
	free(f->ready);
	wlm_report_clear(&f->wlm);
	memset(f, 0, sizeof(*f));
}

static void *dist_facts_dup(const void *src, size_t n, size_t size, bool *failed)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p) {
		*failed = true;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

/* Deep copies of n statements; NULL with *failed set on ENOMEM. */
static struct config_dist *dist_facts_dup_dists(const struct config_dist *src, size_t n,
                                                bool *failed)
{
	struct config_dist *v;

	if (!n)
		return NULL;
	v = calloc(n, sizeof(*v));
	if (!v) {
		*failed = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = src[i];
		v[i].ports =
		    dist_facts_dup(src[i].ports, src[i].n_ports, sizeof(*src[i].ports), failed);
		v[i].dests =
		    dist_facts_dup(src[i].dests, src[i].n_dests, sizeof(*src[i].dests), failed);
	}
	if (*failed) {
		dist_facts_clear_dists(v, n);
		return NULL;
	}
	return v;
}

int dist_facts_copy(struct dist_facts *dst, const struct dist_facts *src)
{
	struct dist_facts c = *src;
	bool failed = false;

	c.dists = dist_facts_dup_dists(src->dists, src->n_dists, &failed);
	c.quiesced =
	    dist_facts_dup(src->quiesced, src->n_quiesced, sizeof(*src->quiesced), &failed);
	c.ready = dist_facts_dup(src->ready, src->n_ready, sizeof(*src->ready), &failed);
	c.wlm.servers = dist_facts_dup(src->wlm.servers, src->wlm.n_servers,
	                               sizeof(*src->wlm.servers), &failed);
	if (failed) {
		dist_facts_clear_dists(c.dists, c.dists ? src->n_dists : 0);
		free(c.quiesced);
		free(c.ready);
		free(c.wlm.servers);
		return -ENOMEM;
	}
	dist_facts_clear(dst);
	*dst = c;
	return 0;
}

static int dist_facts_cmp_range(const void *a, const void *b)
{
	const struct config_port_range *x = a, *y = b;

	return (x->first > y->first) - (x->first < y->first);
}

static int dist_facts_cmp_dest(const void *a, const void *b)
{
	const struct config_dest *x = a, *y = b;

	return ipaddr_cmp(&x->addr, &y->addr);
}

static int dist_facts_cmp_dist(const void *a, const void *b)
{
	const struct config_dist *x = a, *y = b;
	int c = ipaddr_cmp(&x->addr, &y->addr);

	if (c)
		return c;
	if (!x->n_ports || !y->n_ports)
		return (x->n_ports > y->n_ports) - (x->n_ports < y->n_ports);
	return dist_facts_cmp_range(&x->ports[0], &y->ports[0]);
}

static int dist_facts_cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static int dist_facts_cmp_ready(const void *a, const void *b)
{
	const struct dist_ready *x = a, *y = b;
	int c = ipaddr_cmp(&x->dvipa, &y->dvipa);

	if (c)
		return c;
	return (x->port > y->port) - (x->port < y->port);
}

int dist_facts_set_config(struct dist_facts *f, const struct config *c)
{
	bool failed = false;
	struct config_dist *v = dist_facts_dup_dists(c->dists, c->n_dists, &failed);
	struct dist_facts tmp = {0};
	int ret;

	if (failed)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_dists; i++) {
		v[i].pos = (struct config_pos){0};
		for (size_t j = 0; j < v[i].n_dests; j++)
			v[i].dests[j].pos = (struct config_pos){0};
		if (v[i].n_ports)
			qsort(v[i].ports, v[i].n_ports, sizeof(*v[i].ports), dist_facts_cmp_range);
		if (v[i].n_dests)
			qsort(v[i].dests, v[i].n_dests, sizeof(*v[i].dests), dist_facts_cmp_dest);
	}
	if (c->n_dists)
		qsort(v, c->n_dists, sizeof(*v), dist_facts_cmp_dist);
	tmp.dists = v;
	tmp.n_dists = c->n_dists;
	ret = dist_facts_check(&tmp);
	if (ret < 0) {
		dist_facts_clear_dists(v, c->n_dists);
		return ret;
	}
	dist_facts_clear_dists(f->dists, f->n_dists);
	f->dists = v;
	f->n_dists = c->n_dists;
	return 0;
}

int dist_facts_sort(struct dist_facts *f)
{
	if (f->n_quiesced)
		qsort(f->quiesced, f->n_quiesced, sizeof(*f->quiesced), dist_facts_cmp_u16);
	if (f->n_ready)
		qsort(f->ready, f->n_ready, sizeof(*f->ready), dist_facts_cmp_ready);
	for (size_t i = 1; i < f->n_quiesced; i++)
		if (f->quiesced[i - 1] == f->quiesced[i])
			return -EINVAL;
	for (size_t i = 1; i < f->n_ready; i++)
		if (dist_facts_cmp_ready(&f->ready[i - 1], &f->ready[i]) == 0)
			return -EINVAL;
	return 0;
}

static bool dist_facts_addr_ok(const struct ipaddr *a, int family)
{
	static const uint8_t zero[16];

	if (family == 0)
		return a->family == 0 && memcmp(a->bytes, zero, sizeof(zero)) == 0;
	if (a->family != family)
		return false;
	return family == IPADDR_V6 || memcmp(a->bytes + 4, zero, 12) == 0;
}

static bool dist_facts_family_ok(const struct ipaddr *a)
{
	return dist_facts_addr_ok(a, IPADDR_V4) || dist_facts_addr_ok(a, IPADDR_V6);
}

static int dist_facts_check_dests(const struct config_dist *d)
{
	size_t preferred = 0;

	if (d->dest_all)
		return d->n_dests == 0 && d->method != CONFIG_DIST_HOTSTANDBY ? 0 : -EINVAL;
	if (d->n_dests < 1 || d->n_dests > CONFIG_DEST_MAX)
		return -EINVAL;
	for (size_t j = 0; j < d->n_dests; j++) {
		const struct config_dest *t = &d->dests[j];

		if (!dist_facts_addr_ok(&t->addr, d->addr.family) || t->weight < 1 ||
		    t->weight > CONFIG_WEIGHT_MAX)
			return -EINVAL;
		if (j && ipaddr_cmp(&d->dests[j - 1].addr, &t->addr) >= 0)
			return -EINVAL;
		if (d->method == CONFIG_DIST_HOTSTANDBY) {
			/* Exactly one role each. */
			if (t->preferred == (t->backup_rank != 0) ||
			    t->backup_rank > CONFIG_RANK_MAX)
				return -EINVAL;
			preferred += t->preferred;
		} else if (t->preferred || t->backup_rank) {
			return -EINVAL;
		}
	}
	if (d->method == CONFIG_DIST_HOTSTANDBY && (preferred != 1 || d->n_dests < 2))
		return -EINVAL;
	return 0;
}

/* Port ranges of the statements of one DVIPA must not overlap: each port
 * has one statement. The statements are sorted by DVIPA, so each run of
 * equal DVIPAs is checked on its own: its ranges sorted, then neighbours
 * compared. 0, -EINVAL or -ENOMEM. */
static int dist_facts_check_overlap(const struct config_dist *v, size_t first, size_t end)
{
	struct config_port_range *all;
	size_t n = 0;
	int ret = 0;

	if (end - first < 2)
		return 0;
	for (size_t i = first; i < end; i++)
		n += v[i].n_ports;
	all = malloc(n * sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = 0;
	for (size_t i = first; i < end; i++) {
		memcpy(&all[n], v[i].ports, v[i].n_ports * sizeof(*all));
		n += v[i].n_ports;
	}
	qsort(all, n, sizeof(*all), dist_facts_cmp_range);
	for (size_t i = 1; i < n && ret == 0; i++)
		if (all[i - 1].last >= all[i].first)
			ret = -EINVAL;
	free(all);
	return ret;
}

int dist_facts_check(const struct dist_facts *f)
{
	size_t run = 0;
	int ret;

	if (!dist_facts_addr_ok(&f->plex_v4, IPADDR_V4) && !dist_facts_addr_ok(&f->plex_v4, 0))
		return -EINVAL;
	if (!dist_facts_addr_ok(&f->plex_v6, IPADDR_V6) && !dist_facts_addr_ok(&f->plex_v6, 0))
		return -EINVAL;
	if (f->n_dists > CONFIG_DISTS_MAX || f->n_quiesced > DIST_MAX_PORTS ||
	    f->n_ready > DIST_MAX_PORTS)
		return -EINVAL;
	if ((f->n_dists && !f->dists) || (f->n_quiesced && !f->quiesced) ||
	    (f->n_ready && !f->ready))
		return -EINVAL;
	for (size_t i = 0; i < f->n_dists; i++) {
		const struct config_dist *d = &f->dists[i];

		if (!dist_facts_family_ok(&d->addr) || d->method >= CONFIG_DIST_MAX ||
		    d->timedaffinity > CONFIG_TIMEDAFFINITY_MAX || d->n_ports < 1 ||
		    d->n_ports > CONFIG_PORTS_MAX || !d->ports || (d->n_dests && !d->dests))
			return -EINVAL;
		for (size_t j = 0; j < d->n_ports; j++) {
			const struct config_port_range *r = &d->ports[j];

			if (r->first < 1 || r->first > r->last)
				return -EINVAL;
			if (j && d->ports[j - 1].last >= r->first)
				return -EINVAL;
		}
		if (dist_facts_check_dests(d) < 0)
			return -EINVAL;
		if (i && dist_facts_cmp_dist(&f->dists[i - 1], d) >= 0)
			return -EINVAL;
		if (i && !ipaddr_equal(&f->dists[i - 1].addr, &d->addr)) {
			ret = dist_facts_check_overlap(f->dists, run, i);
			if (ret < 0)
				return ret;
			run = i;
		}
	}
	ret = dist_facts_check_overlap(f->dists, run, f->n_dists);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < f->n_quiesced; i++)
		if (!f->quiesced[i] || (i && f->quiesced[i - 1] >= f->quiesced[i]))
			return -EINVAL;
	for (size_t i = 0; i < f->n_ready; i++) {
		const struct dist_ready *r = &f->ready[i];

		if (!dist_facts_family_ok(&r->dvipa) || !r->port || !r->ready)
			return -EINVAL;
		if (i && dist_facts_cmp_ready(&f->ready[i - 1], r) >= 0)
			return -EINVAL;
	}
	return wlm_report_check(&f->wlm);
}

bool dist_facts_is_quiesced(const struct dist_facts *f, uint16_t port)
{
	if (f->quiesce_all)
		return true;
	return f->n_quiesced &&
	       bsearch(&port, f->quiesced, f->n_quiesced, sizeof(*f->quiesced), dist_facts_cmp_u16);
}

int dist_facts_quiesce(struct dist_facts *f, uint16_t port, bool on)
{
	uint16_t *v;
	size_t i = 0;

	if (port == 0) {
		if (on) {
			if (f->quiesce_all)
				return -EALREADY;
			f->quiesce_all = true;
		} else {
			if (!f->quiesce_all && !f->n_quiesced)
				return -EALREADY;
			f->quiesce_all = false;
		}
		free(f->quiesced);
		f->quiesced = NULL;
		f->n_quiesced = 0;
		return 0;
	}
	if (!on && f->quiesce_all)
		return -EINVAL;
	if (on && f->quiesce_all)
		return -EALREADY;
	while (i < f->n_quiesced && f->quiesced[i] < port)
		i++;
	if (on) {
		if (i < f->n_quiesced && f->quiesced[i] == port)
			return -EALREADY;
		if (f->n_quiesced >= DIST_MAX_PORTS)
			return -E2BIG;
		v = realloc(f->quiesced, (f->n_quiesced + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memmove(&v[i + 1], &v[i], (f->n_quiesced - i) * sizeof(*v));
		v[i] = port;
		f->quiesced = v;
		f->n_quiesced++;
		return 0;
	}
	if (i == f->n_quiesced || f->quiesced[i] != port)
		return -EALREADY;
	memmove(&f->quiesced[i], &f->quiesced[i + 1], (f->n_quiesced - i - 1) * sizeof(uint16_t));
	if (--f->n_quiesced == 0) {
		free(f->quiesced);
		f->quiesced = NULL;
	}
	return 0;
}
