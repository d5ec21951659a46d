/* VIPADISTRIBUTE: its grammar (options in any order before the address, then
 * PORT and DESTIP), the checks against the DVIPAs defined before it, and
 * DELETE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_parser.h"

static const struct config_keyword kw_define = {"DEFINE", 6};
static const struct config_keyword kw_delete = {"DELETE", 4};
static const struct config_keyword kw_sysplexports = {"SYSPLEXPORTS", 8};
static const struct config_keyword kw_distmethod = {"DISTMETHOD", 5};
static const struct config_keyword kw_timedaffinity = {"TIMEDAFFINITY", 8};
static const struct config_keyword kw_port = {"PORT", 4};
static const struct config_keyword kw_destip = {"DESTIP", 6};
static const struct config_keyword kw_all = {"ALL", 3};
static const struct config_keyword kw_weight = {"WEIGHT", 6};
static const struct config_keyword kw_preferred = {"PREFERRED", 9};
static const struct config_keyword kw_backup = {"BACKUP", 6};

static const struct config_keyword config_methods[CONFIG_DIST_MAX] = {
    [CONFIG_DIST_BASEWLM] = {"BASEWLM", 7},
    [CONFIG_DIST_ROUNDROBIN] = {"ROUNDROBIN", 10},
    [CONFIG_DIST_WEIGHTEDACTIVE] = {"WEIGHTEDACTIVE", 9},
    [CONFIG_DIST_SERVERWLM] = {"SERVERWLM", 9},
    [CONFIG_DIST_HOTSTANDBY] = {"HOTSTANDBY", 10},
};

/* One DESTIP address and the words that qualified it, for messages. */
struct config_dist_dest {
	const struct lexer_token *addr, *weight, *preferred, *backup;
};

/* The operands of VIPADISTRIBUTE, before the checks that need the model. */
struct config_dist_parse {
	/* Keywords as written (DISTMETHOD, not its value), for messages. */
	const struct lexer_token *define, *del, *sysplexports, *method, *timedaffinity;
	const struct lexer_token *addr, *port, *destip, *all;
	const struct lexer_token *port_words[CONFIG_PORTS_MAX];
	struct config_dist_dest dest_words[CONFIG_DEST_MAX];
	struct config_dist d;
	struct config_port_range ports[CONFIG_PORTS_MAX];
	struct config_dest dests[CONFIG_DEST_MAX];
};

static bool config_dist_once(struct config_parser *p, const struct lexer_token **slot,
                             const struct lexer_token *t, const char *name)
{
	if (*slot) {
		config_err(p, t, "%s is given twice", name);
		return false;
	}
	*slot = t;
	return true;
}

/* DEFINE, DELETE, SYSPLEXPORTS, DISTMETHOD m and TIMEDAFFINITY s, in any
 * order, before the address. */
static bool config_dist_options(struct config_parser *p, struct config_words *s,
                                struct config_dist_parse *st)
{
	const struct lexer_token *t, *v;
	uint32_t secs;

	while ((t = config_peek(s))) {
		if (config_is(t, &kw_define) || config_is(t, &kw_delete)) {
			if (st->define || st->del) {
				config_err(p, t, "DEFINE or DELETE is given twice");
				return false;
			}
			if (config_is(t, &kw_define))
				st->define = t;
			else
				st->del = t;
		} else if (config_is(t, &kw_sysplexports)) {
			if (!config_dist_once(p, &st->sysplexports, t, "SYSPLEXPORTS"))
				return false;
			st->d.sysplexports = true;
		} else if (config_is(t, &kw_distmethod)) {
			int m;

			config_next(s);
			v = config_peek(s);
			for (m = 0; m < CONFIG_DIST_MAX; m++)
				if (config_is(v, &config_methods[m]))
					break;
			if (m == CONFIG_DIST_MAX) {
				config_err(p, v ? v : t,
				           "DISTMETHOD needs BASEWLM, ROUNDROBIN, WEIGHTEDACTIVE, "
				           "SERVERWLM or HOTSTANDBY");
				return false;
			}
			if (!config_dist_once(p, &st->method, t, "DISTMETHOD"))
				return false;
			st->d.method = (uint8_t)m;
		} else if (config_is(t, &kw_timedaffinity)) {
			config_next(s);
			v = config_peek(s);
			if (!config_all_digits(v)) {
				config_err(p, v ? v : t, "TIMEDAFFINITY needs a number of seconds");
				return false;
			}
			if (!config_dist_once(p, &st->timedaffinity, t, "TIMEDAFFINITY"))
				return false;
			if (config_uint(v, CONFIG_TIMEDAFFINITY_MAX, &secs) < 0)
				config_err(p, v, "TIMEDAFFINITY must be 0 to %d seconds",
				           CONFIG_TIMEDAFFINITY_MAX);
			else
				st->d.timedaffinity = secs;
		} else if (config_zos_option(t)) {
			config_err(p, t, "a z/OS option that dvipa does not support");
			return false;
		} else {
			return true;
		}
		config_next(s);
	}
	return true;
}

/* "n" or "n-m". Reports and returns false when the word is not one. */
static bool config_dist_port(struct config_parser *p, const struct lexer_token *t,
                             struct config_port_range *r)
{
	const char *dash = memchr(t->text, '-', t->len);
	struct lexer_token a = *t, b = *t;
	uint32_t x, y;

	if (dash) {
		a.len = (size_t)(dash - t->text);
		b.text = dash + 1;
		b.len = t->len - a.len - 1;
	}
	if (!config_all_digits(&a) || (dash && !config_all_digits(&b))) {
		config_err(p, t, "not a port or a port range N-M");
		return false;
	}
	if (config_uint(&a, 65535, &x) < 0 || x == 0 ||
	    (dash && (config_uint(&b, 65535, &y) < 0 || y == 0))) {
		config_err(p, t, "a port must be 1 to 65535");
		return false;
	}
	if (!dash)
		y = x;
	if (x > y) {
		config_err(p, t, "the port range is reversed");
		return false;
	}
	r->first = (uint16_t)x;
	r->last = (uint16_t)y;
	return true;
}

/* The DESTIP list: ALL, or addresses each followed by WEIGHT w, PREFERRED or
 * BACKUP rank. */
static bool config_dist_dests(struct config_parser *p, struct config_words *s,
                              struct config_dist_parse *st)
{
	const struct lexer_token *t, *v;
	struct config_dist *d = &st->d;

	if (config_is(config_peek(s), &kw_all)) {
		st->all = config_next(s);
		d->dest_all = true;
		return true;
	}
	while ((t = config_next(s))) {
		struct config_dest *dest = d->n_dests ? &st->dests[d->n_dests - 1] : NULL;
		struct config_dist_dest *w = d->n_dests ? &st->dest_words[d->n_dests - 1] : NULL;
		uint32_t n;

		if (config_is(t, &kw_weight) || config_is(t, &kw_backup) ||
		    config_is(t, &kw_preferred)) {
			if (!dest) {
				config_err(p, t, "must follow a DESTIP address");
				return false;
			}
			if (config_is(t, &kw_preferred)) {
				if (!config_dist_once(p, &w->preferred, t, "PREFERRED"))
					return false;
				dest->preferred = true;
				continue;
			}
			v = config_next(s);
			if (!config_all_digits(v)) {
				config_err(p, v ? v : t, "%s needs a number",
				           config_is(t, &kw_weight) ? "WEIGHT" : "BACKUP");
				return false;
			}
			if (config_is(t, &kw_weight)) {
				if (!config_dist_once(p, &w->weight, t, "WEIGHT"))
					return false;
				if (config_uint(v, CONFIG_WEIGHT_MAX, &n) < 0 || n == 0)
					config_err(p, v, "WEIGHT must be 1 to %d",
					           CONFIG_WEIGHT_MAX);
				else
					dest->weight = n;
			} else {
				if (!config_dist_once(p, &w->backup, t, "BACKUP"))
					return false;
				if (config_uint(v, CONFIG_RANK_MAX, &n) < 0 || n < CONFIG_RANK_MIN)
					config_err(p, v, "the BACKUP rank must be %d to %d",
					           CONFIG_RANK_MIN, CONFIG_RANK_MAX);
				else
					dest->backup_rank = (uint8_t)n;
			}
			continue;
		}
		if (d->n_dests == CONFIG_DEST_MAX) {
			config_err(p, t,
			           "more than %d DESTIP addresses (a plex has at most %d "
			           "nodes)",
			           CONFIG_DEST_MAX, CONFIG_DEST_MAX);
			return false;
		}
		dest = &st->dests[d->n_dests];
		*dest = (struct config_dest){.weight = CONFIG_WEIGHT_DEFAULT, .pos = t->pos};
		if (config_addr(t, &dest->addr) < 0) {
			config_bad_word(p, t, "an IP address");
			return false;
		}
		st->dest_words[d->n_dests++] = (struct config_dist_dest){.addr = t};
	}
	if (!d->n_dests) {
		config_err(p, st->destip, "DESTIP needs ALL or target addresses");
		return false;
	}
	return true;
}

/* The grammar of VIPADISTRIBUTE; false on a syntax error. */
static bool config_dist_words(struct config_parser *p, struct config_words *s,
                              struct config_dist_parse *st)
{
	const struct lexer_token *t;
	struct config_dist *d = &st->d;

	if (!config_dist_options(p, s, st))
		return false;
	st->addr = config_next(s);
	if (!st->addr) {
		config_err(p, config_last(s), "VIPADISTRIBUTE needs an address, PORT and DESTIP");
		return false;
	}
	if (config_addr(st->addr, &d->addr) < 0) {
		if (config_has(st->addr, '/'))
			config_err(p, st->addr, "the distributed DVIPA is written without /LEN");
		else
			config_bad_word(p, st->addr, "a VIPADISTRIBUTE option or an IP address");
		return false;
	}
	d->pos = st->addr->pos;
	t = config_peek(s);
	if (config_is(t, &kw_port)) {
		st->port = config_next(s);
		while ((t = config_peek(s)) && t->text[0] >= '0' && t->text[0] <= '9') {
			if (d->n_ports == CONFIG_PORTS_MAX) {
				config_err(p, t, "more than %d PORT entries", CONFIG_PORTS_MAX);
				return false;
			}
			if (!config_dist_port(p, t, &st->ports[d->n_ports]))
				return false;
			st->port_words[d->n_ports++] = config_next(s);
		}
		if (!d->n_ports) {
			config_err(p, st->port, "PORT needs port numbers or ranges");
			return false;
		}
	} else if (!st->del) {
		config_err(p, t ? t : st->addr, "%s",
		           t ? "expected PORT"
		             : "VIPADISTRIBUTE needs PORT and DESTIP after the address");
		return false;
	}
	t = config_peek(s);
	if (config_is(t, &kw_destip)) {
		st->destip = config_next(s);
		if (!config_dist_dests(p, s, st))
			return false;
	} else if (!st->del || t) {
		config_err(p, t ? t : config_last(s), "%s",
		           t ? "expected DESTIP" : "VIPADISTRIBUTE needs DESTIP ALL or targets");
		return false;
	}
	if ((t = config_peek(s))) {
		config_extra(p, t, "VIPADISTRIBUTE", "has nothing after DESTIP ALL");
		return false;
	}
	return true;
}

/* The checks of one VIPADISTRIBUTE DEFINE against its own operands. */
static void config_dist_check_targets(struct config_parser *p, struct config_dist_parse *st)
{
	struct config_dist *d = &st->d;
	bool hot = d->method == CONFIG_DIST_HOTSTANDBY;
	size_t preferred = 0, backups = 0;
	bool roles_ok = true;

	if (hot && d->dest_all)
		config_err(p, st->all, "DESTIP ALL is not allowed with DISTMETHOD HOTSTANDBY");
	for (size_t i = 0; i < d->n_dests; i++) {
		struct config_dest *dest = &st->dests[i];
		struct config_dist_dest *w = &st->dest_words[i];

		if (dest->addr.family != d->addr.family)
			config_err(p, w->addr, "a DESTIP address must be of the DVIPA's family");
		for (size_t j = 0; j < i; j++)
			if (ipaddr_equal(&st->dests[j].addr, &dest->addr))
				config_err(p, w->addr, "DESTIP address given twice");
		if (w->weight && d->method != CONFIG_DIST_WEIGHTEDACTIVE)
			config_err(p, w->weight, "WEIGHT needs DISTMETHOD WEIGHTEDACTIVE");
		if (!hot) {
			if (w->preferred)
				config_err(p, w->preferred,
				           "PREFERRED needs DISTMETHOD HOTSTANDBY");
			if (w->backup)
				config_err(p, w->backup, "BACKUP needs DISTMETHOD HOTSTANDBY");
			continue;
		}
		if (w->preferred && w->backup) {
			config_err(p, w->backup, "a target is PREFERRED or BACKUP, not both");
			roles_ok = false;
		} else if (!w->preferred && !w->backup) {
			config_err(p, w->addr,
			           "with HOTSTANDBY each target needs PREFERRED or "
			           "BACKUP rank");
			roles_ok = false;
		} else if (w->preferred && ++preferred > 1) {
			config_err(p, w->preferred, "a second PREFERRED target");
			roles_ok = false;
		} else if (w->backup && ++backups > CONFIG_HOTSTANDBY_BACKUP_MAX) {
			config_err(p, w->backup, "more than %d BACKUP targets",
			           CONFIG_HOTSTANDBY_BACKUP_MAX);
			roles_ok = false;
		}
	}
	if (hot && !d->dest_all && roles_ok && (preferred != 1 || backups == 0))
		config_err(p, st->destip,
		           "HOTSTANDBY needs exactly one PREFERRED and at least "
		           "one BACKUP target");
}

static void config_dist_define(struct config_parser *p, struct config_dist_parse *st)
{
	struct config_dist *d = &st->d;
	const struct config_vipa *v = config_find_vipa(p->c, &d->addr);
	const struct config_dist *first = config_first_dist(p->c, &d->addr);
	void *nv;

	if (!v)
		config_err(p, st->addr,
		           "not a DVIPA of this node: VIPADISTRIBUTE needs an earlier "
		           "VIPADEFINE or VIPABACKUP of it");
	else if (v->moveable == CONFIG_MOVEABLE_WHENIDLE)
		config_err(p, st->addr,
		           "MOVEABLE WHENIDLE at line %u: a distributed DVIPA must be "
		           "MOVEABLE IMMEDIATE",
		           v->pos.line);
	if (first) {
		if (st->sysplexports)
			config_err(p, st->sysplexports,
			           "SYSPLEXPORTS belongs on the first "
			           "VIPADISTRIBUTE of this DVIPA (line %u)",
			           first->pos.line);
		d->sysplexports = first->sysplexports;
	}
	config_dist_check_targets(p, st);
	for (size_t i = 0; i < d->n_ports; i++) {
		const struct config_port_range *r = &st->ports[i];
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			if (config_ports_overlap(r, &st->ports[j])) {
				config_err(p, st->port_words[i], "port given twice");
				dup = true;
			}
		for (size_t j = 0; j < p->c->n_dists && !dup; j++) {
			const struct config_dist *o = &p->c->dists[j];

			if (!ipaddr_equal(&o->addr, &d->addr))
				continue;
			for (size_t k = 0; k < o->n_ports && !dup; k++)
				if (config_ports_overlap(r, &o->ports[k])) {
					config_err(p, st->port_words[i],
					           "port already distributed (line %u)",
					           o->pos.line);
					dup = true;
				}
		}
	}
	/* Not kept for an address that is no DVIPA here: a later, valid
	 * VIPADISTRIBUTE of it would otherwise look like a second one. */
	if (!v)
		return;
	if (p->c->n_dists >= CONFIG_DISTS_MAX) {

		config_err(p, st->addr, "more than %d VIPADISTRIBUTE statements", CONFIG_DISTS_MAX);
		return;
	}
	nv = config_reserve(p, p->c->dists, &p->cap_dists, p->c->n_dists, sizeof(*d));
	if (!nv)
		return;
	p->c->dists = nv;
	d->ports = malloc((d->n_ports ? d->n_ports : 1) * sizeof(*d->ports));
	d->dests = malloc((d->n_dests ? d->n_dests : 1) * sizeof(*d->dests));
	if (!d->ports || !d->dests) {
		config_clear_dist(d);
		p->no_mem = true;
		p->stop = true;
		return;
	}
	memcpy(d->ports, st->ports, d->n_ports * sizeof(*d->ports));
	memcpy(d->dests, st->dests, d->n_dests * sizeof(*d->dests));
	p->c->dists[p->c->n_dists++] = *d;
}

/* VIPADISTRIBUTE DELETE removes whole PORT entries (all of the DVIPA's
 * without PORT), each named as it was defined. */
static void config_dist_delete(struct config_parser *p, struct config_dist_parse *st)
{
	struct config *c = p->c;
	const struct lexer_token *extra = st->sysplexports ? st->sysplexports
	                                  : st->method     ? st->method
	                                                   : st->timedaffinity;
	bool ok = true;

	if (extra)
		config_err(p, extra, "not valid with VIPADISTRIBUTE DELETE");
	if (st->d.n_dests) {
		config_err(p, st->dest_words[0].addr,
		           "VIPADISTRIBUTE DELETE removes whole ports: "
		           "write DESTIP ALL or leave DESTIP out");
		ok = false;
	}
	if (!config_first_dist(c, &st->d.addr)) {
		config_err(p, st->addr, "no VIPADISTRIBUTE of this address to delete");
		return;
	}
	for (size_t i = 0; i < st->d.n_ports; i++) {
		const struct config_port_range *r = &st->ports[i];
		bool found = false;

		for (size_t j = 0; j < c->n_dists && !found; j++) {
			const struct config_dist *o = &c->dists[j];

			if (!ipaddr_equal(&o->addr, &st->d.addr))
				continue;
			for (size_t k = 0; k < o->n_ports && !found; k++) {
				if (!config_ports_overlap(r, &o->ports[k]))
					continue;
				found = true;
				if (r->first != o->ports[k].first || r->last != o->ports[k].last) {
					config_err(p, st->port_words[i],
					           "not a PORT entry of the VIPADISTRIBUTE of line "
					           "%u: delete entries as they were defined",
					           o->pos.line);
					ok = false;
				}
			}
		}
		if (!found) {
			config_err(p, st->port_words[i], "port not distributed for this address");
			ok = false;
		}
	}
	if (!ok)
		return;
	for (size_t j = c->n_dists; j-- > 0;) {
		struct config_dist *o = &c->dists[j];

		if (!ipaddr_equal(&o->addr, &st->d.addr))
			continue;
		for (size_t k = o->n_ports; k-- > 0;) {
			bool hit = st->d.n_ports == 0;

			for (size_t i = 0; i < st->d.n_ports && !hit; i++)
				hit = st->ports[i].first == o->ports[k].first &&
				      st->ports[i].last == o->ports[k].last;
			if (hit) {
				memmove(&o->ports[k], &o->ports[k + 1],
				        (o->n_ports - k - 1) * sizeof(o->ports[0]));
				o->n_ports--;
			}
		}
		if (!o->n_ports)
			config_remove_dist(c, j);
	}
}

void config_dist_stmt(struct config_parser *p, struct config_words *s)
{
	struct config_dist_parse *st = calloc(1, sizeof(*st));

	if (!st) {
		p->no_mem = true;
		p->stop = true;
		return;
	}
	config_need_block(p, s);
	if (config_dist_words(p, s, st)) {
		if (st->del)
			config_dist_delete(p, st);
		else
			config_dist_define(p, st);
	}
	free(st);
}
