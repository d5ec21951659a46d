/* VIPAROUTE DEFINE ALL | VIPAROUTE DEFINE ADDRESS: the targets to which a
 * distributing node encapsulates the connections it hands over, even when
 * they are on its own link (docs/config.md). z/OS names two addresses, its
 * dynamic XCF address and the target's; dvipa names a target by its plex
 * address alone. */
#include <stdlib.h>
#include <string.h>

#include "core/config_parser.h"

static const struct config_keyword kw_define = {"DEFINE", 6};
static const struct config_keyword kw_delete = {"DELETE", 4};
static const struct config_keyword kw_all = {"ALL", 3};

bool config_viaroute(const struct config *c, const struct ipaddr *target_plex_addr)
{
	if (!c)
		return false;
	if (c->viaroute_all)
		return true;
	for (size_t i = 0; i < c->n_viaroutes; i++)
		if (ipaddr_equal(&c->viaroutes[i].addr, target_plex_addr))
			return true;
	return false;
}

static void config_viaroute_all(struct config_parser *p, const struct lexer_token *t)
{
	if (p->viaroute_all) {
		config_err(p, t, "VIPAROUTE DEFINE ALL is given twice (first at line %u)",
		           p->viaroute_all->pos.line);
		return;
	}
	p->viaroute_all = t;
	if (p->c->n_viaroutes) {
		config_err(p, t,
		           "VIPAROUTE DEFINE ALL already covers every target (a VIPAROUTE "
		           "DEFINE of one is at line %u)",
		           p->c->viaroutes[0].pos.line);
		return;
	}
	p->c->viaroute_all = true;
}

/* A target's plex address: one bare unicast address. */
static void config_viaroute_target(struct config_parser *p, const struct lexer_token *t,
                                   const struct lexer_token *after)
{
	struct config_viaroute r = {.pos = t->pos};
	struct ipaddr second;
	const char *why;
	uint8_t len;
	void *nv;

	if (after && config_mask(t, &len) && config_addr(after, &second) == 0) {
		config_err(p, t, "VIPAROUTE takes no mask: write the target's plex address alone");
		return;
	}
	if (config_addr(t, &r.addr) < 0) {
		if (config_has(t, '/'))
			config_err(p, t, "the target's plex address is written without /LEN");
		else
			config_bad_word(p, t, "ALL or an IP address");
		return;
	}
	if (after && config_addr(after, &second) == 0) {
		config_err(p, after,
		           "VIPAROUTE DEFINE takes one address, the target's plex address "
		           "(not z/OS's dynamic XCF address and target address)");
		return;
	}
	if (after) {
		config_extra(p, after, "VIPAROUTE DEFINE",
		             "takes one address: the target's plex address");
		return;
	}
	if ((why = config_unusable(&r.addr))) {
		config_err(p, t, "not usable as a target's plex address: %s", why);
		return;
	}
	if (p->viaroute_all) {
		config_err(p, t, "VIPAROUTE DEFINE ALL at line %u already covers every target",
		           p->viaroute_all->pos.line);
		return;
	}
	for (size_t i = 0; i < p->c->n_viaroutes; i++) {
		if (ipaddr_equal(&p->c->viaroutes[i].addr, &r.addr)) {
			config_err(p, t, "already in a VIPAROUTE DEFINE at line %u",
			           p->c->viaroutes[i].pos.line);
			return;
		}
	}
	if (p->c->n_viaroutes >= CONFIG_VIAROUTE_MAX) {
		config_err(p, t,
		           "more than %d VIPAROUTE targets (two plex addresses for each of a "
		           "plex's %d nodes)",
		           CONFIG_VIAROUTE_MAX, CONFIG_VIAROUTE_MAX / 2);
		return;
	}
	nv = config_reserve(p, p->c->viaroutes, &p->cap_viaroutes, p->c->n_viaroutes, sizeof(r));
	if (!nv)
		return;
	p->c->viaroutes = nv;
	p->c->viaroutes[p->c->n_viaroutes++] = r;
}

void config_viaroute_stmt(struct config_parser *p, struct config_words *s)
{
	const struct lexer_token *t = config_next(s), *what, *extra;

	config_need_block(p, s);
	if (!t) {
		config_err(p, s->kw, "VIPAROUTE needs DEFINE and ALL or a target's plex address");
		return;
	}
	if (config_is(t, &kw_delete)) {
		config_err(p, t,
		           "dvipa has no VIPAROUTE DELETE: remove the statement and restart "
		           "dvipad");
		return;
	}
	if (!config_is(t, &kw_define)) {
		config_extra(p, t, "VIPAROUTE",
		             "needs DEFINE before ALL or a target's plex address");
		return;
	}
	what = config_next(s);
	if (!what) {
		config_err(p, t, "VIPAROUTE DEFINE needs ALL or a target's plex address");
		return;
	}
	extra = config_next(s);
	if (config_is(what, &kw_all)) {
		if (extra)
			config_extra(p, extra, "VIPAROUTE DEFINE ALL", "takes nothing after ALL");
		else
			config_viaroute_all(p, what);
		return;
	}
	config_viaroute_target(p, what, extra);
}
