#include "core/config_diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The statements of one profile, each in its canonical spelling, sorted. */
struct config_diff_list {
	char **v;
	size_t n, cap;
	bool failed;
};

static void config_diff_add(struct config_diff_list *l, struct strbuf *sb)
{
	char *s = strbuf_take(sb);

	if (!s) {
		l->failed = true;
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

static void config_diff_list_clear(struct config_diff_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct config_diff_list){0};
}

static int config_diff_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int config_diff_cmp_range(const void *a, const void *b)
{
	const struct config_port_range *x = a, *y = b;

	return x->first != y->first ? (x->first > y->first) - (x->first < y->first)
	                            : (x->last > y->last) - (x->last < y->last);
}

static int config_diff_cmp_dest(const void *a, const void *b)
{
	return ipaddr_cmp(&((const struct config_dest *)a)->addr,
	                  &((const struct config_dest *)b)->addr);
}

static void config_diff_vipa(struct strbuf *sb, const struct config_vipa *v)
{
	char a[IPADDR_PREFIX_STRLEN];

	if (v->prefix_given)
		ipaddr_format_prefix(&v->addr, v->prefix_len, a, sizeof(a));
	else
		ipaddr_format(&v->addr, a, sizeof(a));
	if (v->kind == CONFIG_VIPADEFINE)
		strbuf_printf(sb, "VIPADEFINE MOVEABLE %s %s",
		              config_moveable_name((enum config_moveable)v->moveable), a);
	else if (v->moveable == CONFIG_MOVEABLE_UNSET)
		strbuf_printf(sb, "VIPABACKUP %u %s", v->rank, a);
	else
		strbuf_printf(sb, "VIPABACKUP %u MOVEABLE %s %s", v->rank,
		              config_moveable_name((enum config_moveable)v->moveable), a);
}

/* Ports and DESTIP entries are sorted on copies: the profile stays const. */
static int config_diff_dist(struct strbuf *sb, const struct config_dist *d)
{
	struct config_port_range *ports = calloc(d->n_ports + 1, sizeof(*ports));
	struct config_dest *dests = calloc(d->n_dests + 1, sizeof(*dests));
	char a[IPADDR_STRLEN];
	int ret = 0;

	if (!ports || !dests) {
		ret = -ENOMEM;
		goto out;
	}
	if (d->n_ports)
		memcpy(ports, d->ports, d->n_ports * sizeof(*ports));
	if (d->n_dests)
		memcpy(dests, d->dests, d->n_dests * sizeof(*dests));
	qsort(ports, d->n_ports, sizeof(*ports), config_diff_cmp_range);
	qsort(dests, d->n_dests, sizeof(*dests), config_diff_cmp_dest);
	strbuf_printf(sb, "VIPADISTRIBUTE DEFINE%s DISTMETHOD %s",
	              d->sysplexports ? " SYSPLEXPORTS" : "",
	              config_distmethod_name((enum config_distmethod)d->method));
	if (d->timedaffinity)
		strbuf_printf(sb, " TIMEDAFFINITY %u", d->timedaffinity);
	strbuf_printf(sb, " %s PORT", ipaddr_format(&d->addr, a, sizeof(a)));
	for (size_t i = 0; i < d->n_ports; i++)
		if (ports[i].first == ports[i].last)
			strbuf_printf(sb, " %u", ports[i].first);
		else
			strbuf_printf(sb, " %u-%u", ports[i].first, ports[i].last);
	strbuf_puts(sb, " DESTIP");
	if (d->dest_all)
		strbuf_puts(sb, " ALL");
	for (size_t i = 0; i < d->n_dests; i++) {
		strbuf_printf(sb, " %s", ipaddr_format(&dests[i].addr, a, sizeof(a)));
		if (d->method == CONFIG_DIST_WEIGHTEDACTIVE)
			strbuf_printf(sb, " WEIGHT %u", dests[i].weight);
		if (dests[i].preferred)
			strbuf_puts(sb, " PREFERRED");
		if (dests[i].backup_rank)
			strbuf_printf(sb, " BACKUP %u", dests[i].backup_rank);
	}
out:
	free(ports);
	free(dests);
	return ret;
}

static int config_diff_list(const struct config *c, struct config_diff_list *l)
{
	struct strbuf sb = {0};
	char a[IPADDR_PREFIX_STRLEN];

	strbuf_printf(&sb, "INTERFACE %s", c->interface);
	config_diff_add(l, &sb);
	if (c->metrics_port) {
		char ep[IPADDR_STRLEN + 8];

		strbuf_printf(
		    &sb, "METRICS LISTEN %s",
		    ipaddr_format_endpoint(&c->metrics_addr, c->metrics_port, ep, sizeof(ep)));
		config_diff_add(l, &sb);
	}
	for (size_t i = 0; i < c->n_vipas; i++) {
		config_diff_vipa(&sb, &c->vipas[i]);
		config_diff_add(l, &sb);
	}
	for (size_t i = 0; i < c->n_ranges; i++) {
		const struct config_range *r = &c->ranges[i];

		strbuf_printf(&sb, "VIPARANGE DEFINE MOVEABLE %s %s",
		              r->disruptive ? "DISRUPTIVE" : "NONDISRUPTIVE",
		              ipaddr_format_prefix(&r->addr, r->prefix_len, a, sizeof(a)));
		config_diff_add(l, &sb);
	}
	for (size_t i = 0; i < c->n_dists; i++) {
		if (config_diff_dist(&sb, &c->dists[i]) < 0)
			l->failed = true;
		config_diff_add(l, &sb);
	}
	if (c->viaroute_all) {
		strbuf_puts(&sb, "VIPAROUTE DEFINE ALL");
		config_diff_add(l, &sb);
	}
	for (size_t i = 0; i < c->n_viaroutes; i++) {
		strbuf_printf(&sb, "VIPAROUTE DEFINE %s",
		              ipaddr_format(&c->viaroutes[i].addr, a, sizeof(a)));
		config_diff_add(l, &sb);
	}
	strbuf_clear(&sb);
	if (l->failed)
		return -ENOMEM;
	qsort(l->v, l->n, sizeof(*l->v), config_diff_cmp_str);
	return 0;
}

int config_diff(const struct config *old, const struct config *new, struct strbuf *out)
{
	struct config_diff_list a = {0}, b = {0};
	size_t i = 0, j = 0;
	int n = 0, ret;

	ret = config_diff_list(old, &a);
	if (ret == 0)
		ret = config_diff_list(new, &b);
	if (ret < 0)
		goto out;
	while (i < a.n || j < b.n) {
		int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.v[i], b.v[j]);

		if (c == 0) {
			i++;
			j++;
			continue;
		}
		strbuf_printf(out, "%c %s\n", c < 0 ? '-' : '+', c < 0 ? a.v[i++] : b.v[j++]);
		n++;
	}
	ret = out->failed ? -ENOMEM : n;
out:
	config_diff_list_clear(&a);
	config_diff_list_clear(&b);
	return ret;
}
