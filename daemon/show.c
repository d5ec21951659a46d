#include "daemon/show.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/strbuf.h"

void show_conns_set(struct show_conns *c, const struct ipaddr *a, uint32_t count)
{
	for (size_t i = 0; i < c->n; i++) {
		if (ipaddr_equal(&c->v[i].addr, a)) {
			c->v[i].count = count;
			return;
		}
	}
	show_conns_append(c, a, count);
}

void show_conns_append(struct show_conns *c, const struct ipaddr *a, uint32_t count)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct show_conn *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct show_conn){.addr = *a, .count = count};
}

void show_conns_clear(struct show_conns *c)
{
	free(c->v);
	*c = (struct show_conns){0};
}

static uint32_t conns_of(const struct show_ctx *ctx, const struct ipaddr *a, uint32_t fallback)
{
	for (size_t i = 0; i < ctx->conns->n; i++)
		if (ipaddr_equal(&ctx->conns->v[i].addr, a))
			return ctx->conns->v[i].count;
	return fallback;
}

static const char *name_of(const struct show_ctx *ctx, uint32_t id)
{
	const struct plex_facts *f = ctx->plex ? plex_member_facts(ctx->plex, id) : NULL;

	if (f && f->name[0])
		return f->name;
	for (size_t i = 0; i < ctx->n_nodelist; i++)
		if (ctx->nodelist[i].nodeid == id)
			return ctx->nodelist[i].name;
	return "";
}

static void json_node_ref(struct strbuf *sb, const struct show_ctx *ctx, uint32_t id)
{
	if (id == PLEX_NODE_NONE) {
		strbuf_puts(sb, "null");
		return;
	}
	strbuf_printf(sb, "{\"id\": %u, \"name\": ", id);
	strbuf_json_string(sb, name_of(ctx, id));
	strbuf_puts(sb, "}");
}

static const char *text_node_ref(const struct show_ctx *ctx, uint32_t id, char *buf, size_t size)
{
	if (id == PLEX_NODE_NONE)
		return "-";
	snprintf(buf, size, "%s (%u)", name_of(ctx, id), id);
	return buf;
}

static const char *format_time(uint64_t wall_ms, char *buf, size_t size)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (!wall_ms || !localtime_r(&t, &tm))
		return "-";
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* A target that neither defines nor backs up a DVIPA holds it because a
 * VIPADISTRIBUTE names it. */
#define ORIGIN_DISTRIBUTE (PLEX_ORIGIN_NONE + 1)

const char *show_origin_name(uint8_t origin)
{
	switch (origin) {
	case CONFIG_VIPADEFINE:
		return "VIPADEFINE";
	case CONFIG_VIPABACKUP:
		return "VIPABACKUP";
	case ORIGIN_DISTRIBUTE:
		return "DISTRIBUTE";
	default:
		return "-";
	}
}

/* The rows, in profile order; DVIPAs held here without a definition last. */
static size_t dyn_rows(const struct show_ctx *ctx, const struct plex_view *v,
                       struct show_dyn_row *rows, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ctx->config->n_vipas && n < max; i++) {
		const struct config_vipa *c = &ctx->config->vipas[i];

		rows[n++] = (struct show_dyn_row){
		    .addr = c->addr,
		    .prefix_len = c->prefix_len,
		    .origin = c->kind,
		    .rank = c->rank,
		    .moveable = c->moveable,
		    .status = PLEX_STATUS_INACTIVE,
		};
	}
	for (size_t d = 0; v && d < v->n_dvipas; d++) {
		const struct plex_view_dvipa *vd = &v->dvipas[d];
		const struct plex_view_node *self = NULL;
		struct show_dyn_row *row = NULL;

		for (size_t k = 0; k < vd->n_nodes; k++)
			if (v->nodes[vd->first_node + k].node_id == v->self)
				self = &v->nodes[vd->first_node + k];
		for (size_t i = 0; i < n; i++)
			if (ipaddr_equal(&rows[i].addr, &vd->dvipa))
				row = &rows[i];
		if (!self && !row)
			continue;
		if (!row) {
			if (n == max)
				continue;
			row = &rows[n++];
			*row =
			    (struct show_dyn_row){.addr = vd->dvipa, .prefix_len = vd->prefix_len};
		}
		row->owner = vd->owner;
		if (self) {
			row->origin = self->origin;
			row->rank = self->rank;
			row->status = self->status;
			row->conns = self->conns;
			row->activated = self->activated;
		}
	}
	/* DVIPAs this node serves only as a distribution target. */
	for (size_t i = 0; ctx->dist && i < ctx->dist->n_services && n < max; i++) {
		const struct dist_service *s = &ctx->dist->services[i];
		bool have = false;

		for (size_t k = 0; k < n && !have; k++)
			have = ipaddr_equal(&rows[k].addr, &s->dvipa);
		if (have ||
		    !(dist_view_role(ctx->dist, ctx->facts->node_id, &s->dvipa) & DIST_ROLE_DEST))
			continue;
		rows[n++] = (struct show_dyn_row){
		    .addr = s->dvipa,
		    .prefix_len = (uint8_t)ipaddr_max_prefix(&s->dvipa),
		    .origin = ORIGIN_DISTRIBUTE,
		    .status = PLEX_STATUS_ACTIVE,
		    .owner = s->distributor,
		};
	}
	for (size_t i = 0; ctx->kept && i < ctx->kept->n; i++) {
		const struct show_conn *k = &ctx->kept->v[i];
		struct show_dyn_row *row = NULL;

		for (size_t j = 0; j < n && !row; j++)
			if (ipaddr_equal(&rows[j].addr, &k->addr))
				row = &rows[j];
		if (!row) {
			if (n == max)
				continue;
			row = &rows[n++];
			*row = (struct show_dyn_row){
			    .addr = k->addr, .prefix_len = (uint8_t)ipaddr_max_prefix(&k->addr)};
		}
		if (row->status == PLEX_STATUS_ACTIVE && row->owner == ctx->facts->node_id)
			continue;
		row->status = row->status == PLEX_STATUS_DEACTIVATED ? PLEX_STATUS_QUIESCING
		                                                     : PLEX_STATUS_MOVING;
		row->conns = k->count;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i].conns = conns_of(ctx, &rows[i].addr, rows[i].conns);
		if (ctx->dist)
			rows[i].role =
			    dist_view_role(ctx->dist, ctx->facts->node_id, &rows[i].addr);
	}
	return n;
}

int show_dynamic_rows(const struct show_ctx *ctx, struct show_dyn_row **ret, size_t *ret_n)
{
	struct plex_view view = {0};
	bool have_view = ctx->plex && plex_view(ctx->plex, &view) == 0;
	size_t max = ctx->config->n_vipas + (have_view ? view.n_dvipas : 0) +
	             (ctx->dist ? ctx->dist->n_services : 0) + (ctx->kept ? ctx->kept->n : 0);
	struct show_dyn_row *rows = calloc(max ? max : 1, sizeof(*rows));

	if (!rows) {
		plex_view_clear(&view);
		return -ENOMEM;
	}
	*ret_n = dyn_rows(ctx, have_view ? &view : NULL, rows, max);
	*ret = rows;
	plex_view_clear(&view);
	return 0;
}

char *show_dynamic(const struct show_ctx *ctx, bool json)
{
	struct show_dyn_row *rows = NULL;
	struct strbuf sb = {0};
	size_t n = 0;
	int err = show_dynamic_rows(ctx, &rows, &n);

	if (err < 0) {
		errno = -err;
		return NULL;
	}
	if (json) {
		strbuf_puts(&sb, "{\"node\": ");
		json_node_ref(&sb, ctx, ctx->facts->node_id);
		strbuf_printf(&sb, ", \"quorate\": %s, \"dvipas\": [",
		              ctx->quorate ? "true" : "false");
	} else {
		strbuf_printf(&sb, "DYNAMIC VIPA INFORMATION (node %s, %s)\n",
		              ctx->facts->name[0] ? ctx->facts->name : "?",
		              !ctx->connected ? "not connected to corosync"
		              : ctx->quorate  ? "quorate"
		                              : "no quorum");
		strbuf_printf(&sb, "%-43s %-11s %-10s %4s %-9s %5s %-16s %-9s %s\n", "DVIPA",
		              "STATUS", "ORIGIN", "RANK", "MOVEABLE", "CONNS", "OWNER", "DISTSTAT",
		              "ACTIVATED");
	}
	for (size_t i = 0; i < n; i++) {
		const struct show_dyn_row *r = &rows[i];
		char addr[IPADDR_PREFIX_STRLEN], owner[PLEX_NAME_MAX + 16], when[32];

		ipaddr_format_prefix(&r->addr, r->prefix_len, addr, sizeof(addr));
		if (json) {
			strbuf_printf(&sb, "%s{\"address\": ", i ? ", " : "");
			strbuf_json_string(&sb, ipaddr_format(&r->addr, addr, sizeof(addr)));
			strbuf_printf(
			    &sb,
			    ", \"prefix_len\": %u, \"status\": \"%s\", \"origin\": \"%s\", "
			    "\"rank\": %u, \"moveable\": \"%s\", \"connections\": %u, "
			    "\"owner\": ",
			    r->prefix_len, plex_status_name(r->status), show_origin_name(r->origin),
			    r->rank, config_moveable_name(r->moveable), r->conns);
			json_node_ref(&sb, ctx, r->owner);
			strbuf_puts(&sb, ", \"diststat\": ");
			if (r->role)
				strbuf_printf(&sb, "\"%s\"", dist_role_name(r->role));
			else
				strbuf_puts(&sb, "null");
			strbuf_puts(&sb, ", \"activated\": ");
			if (r->activated)
				strbuf_json_string(&sb,
				                   format_time(r->activated, when, sizeof(when)));
			else
				strbuf_puts(&sb, "null");
			strbuf_puts(&sb, "}");
		} else {
			strbuf_printf(&sb, "%-43s %-11s %-10s %4u %-9s %5u %-16s %-9s %s\n", addr,
			              plex_status_name(r->status), show_origin_name(r->origin),
			              r->rank, config_moveable_name(r->moveable), r->conns,
			              text_node_ref(ctx, r->owner, owner, sizeof(owner)),
			              r->role ? dist_role_name(r->role) : "-",
			              format_time(r->activated, when, sizeof(when)));
		}
	}
	if (json)
		strbuf_puts(&sb, "]}\n");
	free(rows);
	return strbuf_take(&sb);
}

static const char *member_state(const struct show_ctx *ctx, uint32_t id, bool *ret_member)
{
	const uint32_t *ids;
	size_t n = ctx->plex ? plex_members(ctx->plex, &ids) : 0;
	const struct plex_facts *f;

	*ret_member = false;
	for (size_t i = 0; i < n; i++)
		*ret_member |= ids[i] == id;
	if (!*ret_member)
		return "down";
	f = plex_member_facts(ctx->plex, id);
	if (!f)
		return "joining";
	return (f->flags & PLEX_FACTS_LEFT) ? "left" : "member";
}

/* The spare CPU a member reported (BASEWLM, SERVERWLM), as the targets of
 * the derived state carry it: members report only while they are targets
 * of such a service. */
static bool member_capacity(const struct show_ctx *ctx, uint32_t id, uint32_t *ret)
{
	for (size_t i = 0; ctx->dist && i < ctx->dist->n_targets; i++) {
		const struct dist_target *t = &ctx->dist->targets[i];

		if (t->node_id == id && (t->flags & DIST_TARGET_CAPACITY)) {
			*ret = t->capacity;
			return true;
		}
	}
	return false;
}

char *show_plex(const struct show_ctx *ctx, bool json)
{
	struct plex_view view = {0};
	bool have_view = ctx->plex && plex_view(ctx->plex, &view) == 0;
	const uint32_t *ids = NULL;
	size_t n_members = ctx->plex ? plex_members(ctx->plex, &ids) : 0;
	struct strbuf sb = {0};
	char addr[IPADDR_PREFIX_STRLEN], a[PLEX_NAME_MAX + 16], b[PLEX_NAME_MAX + 16];

	if (json) {
		strbuf_printf(&sb,
		              "{\"group\": \"dvipa\", \"connected\": %s, \"quorate\": %s, "
		              "\"self\": %u, \"members\": [",
		              ctx->connected ? "true" : "false", ctx->quorate ? "true" : "false",
		              ctx->facts->node_id);
	} else {
		strbuf_printf(&sb, "PLEX dvipa: %zu of %zu nodes in the group, %s\n", n_members,
		              ctx->n_nodelist,
		              !ctx->connected ? "not connected to corosync"
		              : ctx->quorate  ? "quorate"
		                              : "no quorum");
		strbuf_printf(&sb, "%4s  %-16s %-40s %-9s %s\n", "NODE", "NAME", "PLEX ADDRESS",
		              "SPARE CPU", "STATE");
	}
	for (size_t i = 0; i < ctx->n_nodelist; i++) {
		const struct fabric_node *fn = &ctx->nodelist[i];
		bool member;
		const char *state = member_state(ctx, fn->nodeid, &member);
		bool self = fn->nodeid == ctx->facts->node_id;
		uint32_t cap = 0;
		bool has_cap = member_capacity(ctx, fn->nodeid, &cap);
		char spare[16] = "-";

		if (has_cap)
			snprintf(spare, sizeof(spare), "%u.%03u", cap / 1000, cap % 1000);
		ipaddr_format(&fn->ring0_addr, addr, sizeof(addr));
		if (json) {
			strbuf_printf(&sb, "%s{\"id\": %u, \"name\": ", i ? ", " : "", fn->nodeid);
			strbuf_json_string(&sb, fn->name);
			strbuf_puts(&sb, ", \"plex_address\": ");
			strbuf_json_string(&sb, addr);
			strbuf_printf(&sb,
			              ", \"state\": \"%s\", \"member\": %s, \"self\": %s, "
			              "\"spare_cpu\": %s}",
			              state, member ? "true" : "false", self ? "true" : "false",
			              has_cap ? spare : "null");
		} else {
			strbuf_printf(&sb, "%4u  %-16s %-40s %-9s %s%s\n", fn->nodeid, fn->name,
			              addr, spare, state, self ? " (this node)" : "");
		}
	}
	if (json)
		strbuf_puts(&sb, "], \"dvipas\": [");
	else
		strbuf_printf(&sb, "\n%-43s %-16s %s\n", "DVIPA", "OWNER", "HOLDER");
	for (size_t d = 0; have_view && d < view.n_dvipas; d++) {
		const struct plex_view_dvipa *vd = &view.dvipas[d];

		if (json) {
			strbuf_printf(&sb, "%s{\"address\": ", d ? ", " : "");
			strbuf_json_string(&sb, ipaddr_format(&vd->dvipa, addr, sizeof(addr)));
			strbuf_printf(&sb, ", \"prefix_len\": %u, \"owner\": ", vd->prefix_len);
			json_node_ref(&sb, ctx, vd->owner);
			strbuf_puts(&sb, ", \"holder\": ");
			json_node_ref(&sb, ctx, vd->holder);
			strbuf_puts(&sb, "}");
		} else {
			strbuf_printf(
			    &sb, "%-43s %-16s %s\n",
			    ipaddr_format_prefix(&vd->dvipa, vd->prefix_len, addr, sizeof(addr)),
			    text_node_ref(ctx, vd->owner, a, sizeof(a)),
			    text_node_ref(ctx, vd->holder, b, sizeof(b)));
		}
	}
	if (json)
		strbuf_puts(&sb, "]}\n");
	plex_view_clear(&view);
	return strbuf_take(&sb);
}
