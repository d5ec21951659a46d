/* The display of a parsed profile (`dvipactl show config`): text laid out
 * like z/OS NETSTAT VIPADCFG, and JSON with the keys of docs/config.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

/* A growing string; on an allocation failure it remembers and drops the rest. */
struct config_render_buf {
	char *s;
	size_t len, cap;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void config_render_put(struct config_render_buf *b,
                                                                    const char *fmt, ...);

static void config_render_put(struct config_render_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *s;

		while (cap < need)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s) {
			b->failed = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *config_distmethod_name(enum config_distmethod m)
{
	static const char *const names[CONFIG_DIST_MAX] = {
	    [CONFIG_DIST_BASEWLM] = "BASEWLM",
	    [CONFIG_DIST_ROUNDROBIN] = "ROUNDROBIN",
	    [CONFIG_DIST_WEIGHTEDACTIVE] = "WEIGHTEDACTIVE",
	    [CONFIG_DIST_SERVERWLM] = "SERVERWLM",
	    [CONFIG_DIST_HOTSTANDBY] = "HOTSTANDBY",
	};

	return (unsigned)m < CONFIG_DIST_MAX ? names[m] : "?";
}

const char *config_moveable_name(enum config_moveable m)
{
	static const char *const names[CONFIG_MOVEABLE_MAX] = {
	    [CONFIG_MOVEABLE_UNSET] = "NONE",
	    [CONFIG_MOVEABLE_IMMEDIATE] = "IMMEDIATE",
	    [CONFIG_MOVEABLE_WHENIDLE] = "WHENIDLE",
	};

	return (unsigned)m < CONFIG_MOVEABLE_MAX ? names[m] : "?";
}

static const char *config_render_range_moveable(const struct config_range *r)
{
	return r->disruptive ? "DISRUPTIVE" : "NONDISRUPTIVE";
}

static void config_render_ports(struct config_render_buf *b, const struct config_dist *d, bool json)
{
	for (size_t i = 0; i < d->n_ports; i++) {
		const struct config_port_range *r = &d->ports[i];

		if (json)
			config_render_put(b, "%s{\"first\":%u,\"last\":%u}", i ? "," : "", r->first,
			                  r->last);
		else if (r->first == r->last)
			config_render_put(b, " %u", r->first);
		else
			config_render_put(b, " %u-%u", r->first, r->last);
	}
}

static void config_render_text(struct config_render_buf *b, const struct config *c)
{
	char a[IPADDR_PREFIX_STRLEN];
	size_t n;

	config_render_put(b, "Dynamic VIPA Configuration:\n");
	config_render_put(b, "  Interface: %s\n", c->interface);
	if (c->metrics_port) {
		char e[IPADDR_STRLEN + 16];

		config_render_put(
		    b, "  Metrics: listen %s\n",
		    ipaddr_format_endpoint(&c->metrics_addr, c->metrics_port, e, sizeof(e)));
	}
	for (int kind = CONFIG_VIPADEFINE; kind < CONFIG_VIPA_KIND_MAX; kind++) {
		config_render_put(b, "  VIPA %s:\n",
		                  kind == CONFIG_VIPADEFINE ? "Define" : "Backup");
		n = 0;
		for (size_t i = 0; i < c->n_vipas; i++) {
			const struct config_vipa *v = &c->vipas[i];

			if (v->kind != kind)
				continue;
			n++;
			/* As in z/OS, a backup without a mask shows no prefix. */
			if (v->prefix_given)
				ipaddr_format_prefix(&v->addr, v->prefix_len, a, sizeof(a));
			else
				ipaddr_format(&v->addr, a, sizeof(a));
			config_render_put(b, "    IpAddr/PrefixLen: %s", a);
			if (kind == CONFIG_VIPABACKUP)
				config_render_put(b, "  Rank: %03u", v->rank);
			config_render_put(b, "  Moveable: %s\n",
			                  config_moveable_name((enum config_moveable)v->moveable));
		}
		if (!n)
			config_render_put(b, "    None\n");
	}
	config_render_put(b, "  VIPA Range:\n");
	for (size_t i = 0; i < c->n_ranges; i++) {
		const struct config_range *r = &c->ranges[i];

		config_render_put(b, "    IpAddr/PrefixLen: %s  Moveable: %s\n",
		                  ipaddr_format_prefix(&r->addr, r->prefix_len, a, sizeof(a)),
		                  config_render_range_moveable(r));
	}
	if (!c->n_ranges)
		config_render_put(b, "    None\n");
	config_render_put(b, "  VIPA Distribute:\n");
	for (size_t i = 0; i < c->n_dists; i++) {
		const struct config_dist *d = &c->dists[i];

		config_render_put(b, "    Dest: %s  Port:", ipaddr_format(&d->addr, a, sizeof(a)));
		config_render_ports(b, d, false);
		config_render_put(b, "\n      DistMethod: %s  SysPt: %s  TimAff: ",
		                  config_distmethod_name((enum config_distmethod)d->method),
		                  d->sysplexports ? "Yes" : "No");
		if (d->timedaffinity)
			config_render_put(b, "%u\n", d->timedaffinity);
		else
			config_render_put(b, "No\n");
		if (d->dest_all)
			config_render_put(b, "      DestIP: ALL\n");
		for (size_t j = 0; j < d->n_dests; j++) {
			const struct config_dest *t = &d->dests[j];

			config_render_put(b, "      DestIP: %s",
			                  ipaddr_format(&t->addr, a, sizeof(a)));
			if (d->method == CONFIG_DIST_WEIGHTEDACTIVE)
				config_render_put(b, "  Weight: %u", t->weight);
			if (d->method == CONFIG_DIST_HOTSTANDBY && t->preferred)
				config_render_put(b, "  SrvType: PREFERRED");
			else if (d->method == CONFIG_DIST_HOTSTANDBY)
				config_render_put(b, "  SrvType: BACKUP  Rank: %03u",
				                  t->backup_rank);
			config_render_put(b, "\n");
		}
	}
	if (!c->n_dists)
		config_render_put(b, "    None\n");
	config_render_put(b, "  VIPA Route:\n");
	if (c->viaroute_all)
		config_render_put(b, "    TargetIp: ALL\n");
	for (size_t i = 0; i < c->n_viaroutes; i++)
		config_render_put(b, "    TargetIp: %s\n",
		                  ipaddr_format(&c->viaroutes[i].addr, a, sizeof(a)));
	if (!c->viaroute_all && !c->n_viaroutes)
		config_render_put(b, "    None\n");
}

/* The interface name is printable ASCII without '/' or ':' (the parser checks
 * it), but the JSON string is escaped all the same. */
static void config_render_json_string(struct config_render_buf *b, const char *s)
{
	config_render_put(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			config_render_put(b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			config_render_put(b, "\\u%04x", ch);
		else
			config_render_put(b, "%c", ch);
	}
	config_render_put(b, "\"");
}

static void config_render_json(struct config_render_buf *b, const struct config *c)
{
	char a[IPADDR_STRLEN];
	bool first;

	config_render_put(b, "{\"interface\":");
	config_render_json_string(b, c->interface);
	for (int kind = CONFIG_VIPADEFINE; kind < CONFIG_VIPA_KIND_MAX; kind++) {
		config_render_put(b, ",\"%s\":[",
		                  kind == CONFIG_VIPADEFINE ? "vipa_define" : "vipa_backup");
		first = true;
		for (size_t i = 0; i < c->n_vipas; i++) {
			const struct config_vipa *v = &c->vipas[i];

			if (v->kind != kind)
				continue;
			config_render_put(b, "%s{\"addr\":\"%s\",\"prefix_len\":%u",
			                  first ? "" : ",", ipaddr_format(&v->addr, a, sizeof(a)),
			                  v->prefix_len);
			if (kind == CONFIG_VIPABACKUP)
				config_render_put(b, ",\"prefix_given\":%s,\"rank\":%u",
				                  v->prefix_given ? "true" : "false", v->rank);
			config_render_put(b, ",\"moveable\":\"%s\"}",
			                  config_moveable_name((enum config_moveable)v->moveable));
			first = false;
		}
		config_render_put(b, "]");
	}
	config_render_put(b, ",\"vipa_range\":[");
	for (size_t i = 0; i < c->n_ranges; i++) {
		const struct config_range *r = &c->ranges[i];

		config_render_put(b, "%s{\"addr\":\"%s\",\"prefix_len\":%u,\"moveable\":\"%s\"}",
		                  i ? "," : "", ipaddr_format(&r->addr, a, sizeof(a)),
		                  r->prefix_len, config_render_range_moveable(r));
	}
	config_render_put(b, "],\"vipa_distribute\":[");
	for (size_t i = 0; i < c->n_dists; i++) {
		const struct config_dist *d = &c->dists[i];

		config_render_put(b, "%s{\"addr\":\"%s\",\"ports\":[", i ? "," : "",
		                  ipaddr_format(&d->addr, a, sizeof(a)));
		config_render_ports(b, d, true);
		config_render_put(
		    b,
		    "],\"distmethod\":\"%s\",\"sysplexports\":%s,\"timedaffinity\":%u,"
		    "\"destip_all\":%s,\"destips\":[",
		    config_distmethod_name((enum config_distmethod)d->method),
		    d->sysplexports ? "true" : "false", d->timedaffinity,
		    d->dest_all ? "true" : "false");
		for (size_t j = 0; j < d->n_dests; j++) {
			const struct config_dest *t = &d->dests[j];

			config_render_put(b,
			                  "%s{\"addr\":\"%s\",\"weight\":%u,\"preferred\":%s,"
			                  "\"backup_rank\":%u}",
			                  j ? "," : "", ipaddr_format(&t->addr, a, sizeof(a)),
			                  t->weight, t->preferred ? "true" : "false",
			                  t->backup_rank);
		}
		config_render_put(b, "]}");
	}
	config_render_put(b, "],\"vipa_route_all\":%s,\"vipa_route\":[",
	                  c->viaroute_all ? "true" : "false");
	for (size_t i = 0; i < c->n_viaroutes; i++)
		config_render_put(b, "%s{\"addr\":\"%s\"}", i ? "," : "",
		                  ipaddr_format(&c->viaroutes[i].addr, a, sizeof(a)));
	config_render_put(b, "],\"metrics_listen\":");
	if (c->metrics_port) {
		char e[IPADDR_STRLEN + 16];

		config_render_put(
		    b, "\"%s\"",
		    ipaddr_format_endpoint(&c->metrics_addr, c->metrics_port, e, sizeof(e)));
	} else {
		config_render_put(b, "null");
	}
	config_render_put(b, "}\n");
}

char *config_render(const struct config *c, bool json)
{
	struct config_render_buf b = {0};

	if (!c) {
		errno = EINVAL;
		return NULL;
	}
	if (json)
		config_render_json(&b, c);
	else
		config_render_text(&b, c);
	if (b.failed) {
		free(b.s);
		errno = ENOMEM;
		return NULL;
	}
	return b.s;
}
