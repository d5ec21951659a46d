#include "daemon/show_dist.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/strbuf.h"

static const char *show_dist_name(const struct show_dist_ctx *ctx, uint32_t id)
{
	const char *name = ctx->name_of ? ctx->name_of(ctx->data, id) : NULL;

	return name ? name : "";
}

static void show_dist_json_node(struct strbuf *sb, const struct show_dist_ctx *ctx, uint32_t id)
{
	if (id == PLEX_NODE_NONE) {
		strbuf_puts(sb, "null");
		return;
	}
	strbuf_printf(sb, "{\"id\": %u, \"name\": ", id);
	strbuf_json_string(sb, show_dist_name(ctx, id));
	strbuf_puts(sb, "}");
}

static const char *show_dist_text_node(const struct show_dist_ctx *ctx, uint32_t id, char *buf,
                                       size_t size)
{
	if (id == PLEX_NODE_NONE)
		return "-";
	snprintf(buf, size, "%s (%u)", show_dist_name(ctx, id), id);
	return buf;
}

/* "10.0.0.10:80", "[2001:db8::10]:80". */
static const char *show_dist_endpoint(const struct ipaddr *a, uint16_t port, char *buf, size_t size)
{
	char text[IPADDR_STRLEN];

	ipaddr_format(a, text, sizeof(text));
	if (a->family == IPADDR_V6)
		snprintf(buf, size, "[%s]:%u", text, port);
	else
		snprintf(buf, size, "%s:%u", text, port);
	return buf;
}

/* A target's health (z/OS: target server responsiveness): on the
 * distributor, how well it answers new connections (core/dist_health.h);
 * elsewhere 100; 0 when its node announced nothing about distribution. */
static unsigned show_dist_health(const struct dist_target *t)
{
	return t->flags & DIST_TARGET_SILENT ? 0 : t->health;
}

/* BASEWLM, SERVERWLM: the weight the target gets ("wlm", null while round
 * robin applies), and what it comes from: its node's spare CPU in CPUs
 * ("capacity", null when it reported none) and its server's efficiency for
 * the port (0 .. 100). */
static void show_dist_json_wlm(struct strbuf *sb, const struct dist_target *t)
{
	if (t->flags & DIST_TARGET_WLM)
		strbuf_printf(sb, "\"wlm\": %u, ", t->wlm);
	else
		strbuf_puts(sb, "\"wlm\": null, ");
	if (t->flags & DIST_TARGET_CAPACITY)
		strbuf_printf(sb, "\"capacity\": %u.%03u, ", t->capacity / 1000,
		              t->capacity % 1000);
	else
		strbuf_puts(sb, "\"capacity\": null, ");
	strbuf_printf(sb, "\"efficiency\": %u, ", t->efficiency);
}

static const char *const show_dist_flag_names[] = {"LOCAL", "QUIESCED", "PREFERRED", "BACKUP"};

static unsigned show_dist_flags(const struct dist_target *t)
{
	return (t->flags & DIST_TARGET_LOCAL ? 1u : 0u) |
	       (t->flags & DIST_TARGET_QUIESCED ? 2u : 0u) | (t->preferred ? 4u : 0u) |
	       (t->backup_rank ? 8u : 0u);
}

char *show_dist_ports(const struct show_dist_ctx *ctx, bool json)
{
	const struct dist_view *v = ctx->view;
	struct strbuf sb = {0};
	char a[IPADDR_STRLEN + 16], b[IPADDR_STRLEN], n1[PLEX_NAME_MAX + 16],
	    n2[PLEX_NAME_MAX + 16];

	if (json) {
		strbuf_puts(&sb, "{\"node\": ");
		show_dist_json_node(&sb, ctx, ctx->self);
		strbuf_printf(&sb, ", \"truncated\": %s, \"ports\": [",
		              v->truncated ? "true" : "false");
	} else {
		strbuf_printf(&sb, "DYNAMIC VIPA DESTINATION PORT TABLE (node %s)\n",
		              show_dist_text_node(ctx, ctx->self, n1, sizeof(n1)));
		strbuf_printf(&sb, "%-24s %-14s %-14s %-14s %-24s %4s %9s %7s %6s %3s %6s %5s %s\n",
		              "DEST", "METHOD", "DISTRIBUTOR", "TARGET", "PLEX ADDRESS", "RDY",
		              "TOTALCONN", "ACTCONN", "WEIGHT", "WLM", "HEALTH", "SLOTS", "FLAGS");
	}
	for (size_t i = 0; i < v->n_services; i++) {
		const struct dist_service *s = &v->services[i];

		if (json) {
			strbuf_printf(&sb, "%s{\"dvipa\": ", i ? ", " : "");
			strbuf_json_string(&sb, ipaddr_format(&s->dvipa, a, sizeof(a)));
			strbuf_printf(&sb,
			              ", \"port\": %u, \"method\": \"%s\", \"timedaffinity\": %u, "
			              "\"distributor\": ",
			              s->port, config_distmethod_name(s->method), s->timedaffinity);
			show_dist_json_node(&sb, ctx, s->distributor);
			strbuf_printf(&sb,
			              ", \"distributing\": %s, \"ready_slots\": %u, \"targets\": [",
			              s->distributor_active ? "true" : "false", s->n_slots);
		}
		for (size_t j = 0; j < s->n_targets; j++) {
			const struct dist_target *t = &v->targets[s->first_target + j];
			unsigned flags = show_dist_flags(t);
			bool conns = t->flags & DIST_TARGET_CONNS;

			ipaddr_format(&t->plex_addr, b, sizeof(b));
			if (json) {
				bool first = true;

				strbuf_printf(&sb, "%s{\"node\": ", j ? ", " : "");
				show_dist_json_node(&sb, ctx, t->node_id);
				strbuf_puts(&sb, ", \"plex_address\": ");
				strbuf_json_string(&sb, b);
				strbuf_printf(&sb, ", \"ready\": %u, ", t->ready);
				if (conns)
					strbuf_printf(&sb,
					              "\"total_connections\": %u, "
					              "\"active_connections\": %u, ",
					              t->total, t->active);
				else
					strbuf_puts(&sb, "\"total_connections\": null, "
					                 "\"active_connections\": null, ");
				strbuf_printf(&sb, "\"weight\": %u, ", t->weight);
				show_dist_json_wlm(&sb, t);
				strbuf_printf(&sb,
				              "\"backup_rank\": %u, \"health\": %u, "
				              "\"slots\": %u, \"flags\": [",
				              t->backup_rank, show_dist_health(t), t->slots);
				for (unsigned k = 0; k < 4; k++) {
					if (!(flags & (1u << k)))
						continue;
					strbuf_printf(&sb, "%s\"%s\"", first ? "" : ", ",
					              show_dist_flag_names[k]);
					first = false;
				}
				strbuf_puts(&sb, "]}");
			} else {
				char total[16] = "-", active[16] = "-", fl[64] = "", wlm[8] = "-";
				size_t off = 0;

				if (conns) {
					snprintf(total, sizeof(total), "%u", t->total);
					snprintf(active, sizeof(active), "%u", t->active);
				}
				if (t->flags & DIST_TARGET_WLM)
					snprintf(wlm, sizeof(wlm), "%u", t->wlm);
				for (unsigned k = 0; k < 4; k++)
					if (flags & (1u << k))
						off += (size_t)snprintf(fl + off, sizeof(fl) - off,
						                        "%s%s", off ? "," : "",
						                        show_dist_flag_names[k]);
				strbuf_printf(
				    &sb,
				    "%-24s %-14s %-14s %-14s %-24s %4u %9s %7s %6u %3s %6u %5u "
				    "%s\n",
				    show_dist_endpoint(&s->dvipa, s->port, a, sizeof(a)),
				    config_distmethod_name(s->method),
				    show_dist_text_node(ctx, s->distributor, n1, sizeof(n1)),
				    show_dist_text_node(ctx, t->node_id, n2, sizeof(n2)), b,
				    t->ready, total, active, t->weight, wlm, show_dist_health(t),
				    t->slots, off ? fl : "-");
			}
		}
		if (json)
			strbuf_puts(&sb, "]}");
		else if (!s->n_targets)
			strbuf_printf(&sb, "%-24s %-14s %-14s (no target is a plex member)\n",
			              show_dist_endpoint(&s->dvipa, s->port, a, sizeof(a)),
			              config_distmethod_name(s->method),
			              show_dist_text_node(ctx, s->distributor, n1, sizeof(n1)));
	}
	if (json)
		strbuf_puts(&sb, "]}\n");
	else if (!v->n_services)
		strbuf_puts(&sb, "None\n");
	return strbuf_take(&sb);
}

char *show_dist_connections(const struct show_dist_ctx *ctx, bool json)
{
	struct strbuf sb = {0};
	char a[IPADDR_STRLEN + 16], c[IPADDR_STRLEN + 16], n1[PLEX_NAME_MAX + 16];

	if (json) {
		strbuf_puts(&sb, "{\"node\": ");
		show_dist_json_node(&sb, ctx, ctx->self);
		strbuf_puts(&sb, ", \"connections\": [");
	} else {
		strbuf_printf(&sb, "DYNAMIC VIPA CONNECTION ROUTING TABLE (node %s)\n",
		              show_dist_text_node(ctx, ctx->self, n1, sizeof(n1)));
		strbuf_printf(&sb, "%-24s %-48s %-14s %-12s %s\n", "DEST", "SOURCE", "TARGET",
		              "STATE", "SEEN BY");
	}
	for (size_t i = 0; i < ctx->n_rows; i++) {
		const struct show_dist_conn *r = &ctx->rows[i];

		if (json) {
			strbuf_printf(&sb, "%s{\"dvipa\": ", i ? ", " : "");
			strbuf_json_string(&sb, ipaddr_format(&r->dvipa, a, sizeof(a)));
			strbuf_printf(&sb, ", \"port\": %u, \"client\": ", r->port);
			strbuf_json_string(&sb, ipaddr_format(&r->client, c, sizeof(c)));
			strbuf_printf(&sb, ", \"client_port\": %u, \"target\": ", r->client_port);
			show_dist_json_node(&sb, ctx, r->target);
			strbuf_printf(&sb, ", \"state\": \"%s\", \"seen_by\": \"%s\"}", r->state,
			              r->distributed ? "distributor" : "target");
		} else {
			strbuf_printf(&sb, "%-24s %-48s %-14s %-12s %s\n",
			              show_dist_endpoint(&r->dvipa, r->port, a, sizeof(a)),
			              show_dist_endpoint(&r->client, r->client_port, c, sizeof(c)),
			              show_dist_text_node(ctx, r->target, n1, sizeof(n1)), r->state,
			              r->distributed ? "distributor" : "target");
		}
	}
	if (json)
		strbuf_puts(&sb, "]}\n");
	else if (!ctx->n_rows)
		strbuf_puts(&sb, "None\n");
	return strbuf_take(&sb);
}
