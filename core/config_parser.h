/* Internals shared by the profile parser's files (core/config.c, which holds
 * the statements and the model, core/config_dist.c, which holds
 * VIPADISTRIBUTE, and core/config_viaroute.c, which holds VIPAROUTE). Not an
 * interface for anything else. */
#ifndef DVIPA_CORE_CONFIG_PARSER_H
#define DVIPA_CORE_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/lexer.h"

struct config_keyword {
	const char *name;  /* full spelling, upper case */
	unsigned char min; /* shortest abbreviation z/OS accepts */
};

struct config_parser {
	struct config *c;
	size_t cap_vipas, cap_ranges, cap_dists, cap_viaroutes;
	struct config_error *errv;
	size_t n_err, cap_err;
	bool stop;   /* CONFIG_ERRORS_MAX reached */
	bool no_mem; /* an allocation failed: the parse ends with -ENOMEM */
	bool in_block, block_seen, have_interface;
	const struct lexer_token *block_kw, *interface_kw, *metrics_kw;
	const struct lexer_token *viaroute_all; /* the ALL of the VIPAROUTE DEFINE ALL */
	struct config_pos end;
};

/* The operands of one statement. */
struct config_words {
	const struct lexer_token *kw;
	const char *name; /* the statement's full keyword, for messages */
	const struct lexer_token *v;
	size_t n, i;
};

static inline const struct lexer_token *config_peek(const struct config_words *s)
{
	return s->i < s->n ? &s->v[s->i] : NULL;
}

static inline const struct lexer_token *config_next(struct config_words *s)
{
	return s->i < s->n ? &s->v[s->i++] : NULL;
}

/* The last word consumed (the keyword when none): where a missing operand is
 * reported. */
static inline const struct lexer_token *config_last(const struct config_words *s)
{
	return s->i ? &s->v[s->i - 1] : s->kw;
}

static inline bool config_is(const struct lexer_token *t, const struct config_keyword *k)
{
	return t && lexer_match(t, k->name, k->min);
}

/* Record an error at word t (NULL: the end of the text). */
__attribute__((format(printf, 3, 4))) void
config_err(struct config_parser *p, const struct lexer_token *t, const char *fmt, ...);
/* Room for one more element of size at v[n]; NULL (and p->no_mem) on failure,
 * v then unchanged. */
void *config_reserve(struct config_parser *p, void *v, size_t *cap, size_t n, size_t size);
void config_need_block(struct config_parser *p, const struct config_words *s);

bool config_all_digits(const struct lexer_token *t);
/* Decimal number: 0, -EINVAL when not digits, -ERANGE when above max. */
int config_uint(const struct lexer_token *t, uint32_t max, uint32_t *ret);
bool config_has(const struct lexer_token *t, char ch);
/* A z/OS operand that dvipa does not implement. */
bool config_zos_option(const struct lexer_token *t);
/* A bare address: 0 or -EINVAL. */
int config_addr(const struct lexer_token *t, struct ipaddr *a);
/* A dotted IPv4 mask with contiguous ones; its prefix length in *len. */
bool config_mask(const struct lexer_token *t, uint8_t *len);
/* Why the address cannot be a DVIPA (nor any node's unicast address), or
 * NULL when it can. */
const char *config_unusable(const struct ipaddr *a);
/* Report a word past a statement's last operand: "STMT WHAT". */
void config_extra(struct config_parser *p, const struct lexer_token *t, const char *stmt,
                  const char *what);
/* Report t as "not WHAT" (or as an unsupported z/OS option). */

void config_bad_word(struct config_parser *p, const struct lexer_token *t, const char *what);

bool config_ports_overlap(const struct config_port_range *x, const struct config_port_range *y);
const struct config_dist *config_first_dist(const struct config *c, const struct ipaddr *a);
void config_remove_dist(struct config *c, size_t i);
void config_clear_dist(struct config_dist *d);

/* VIPADISTRIBUTE (core/config_dist.c). */
void config_dist_stmt(struct config_parser *p, struct config_words *s);
/* VIPAROUTE (core/config_viaroute.c). */
void config_viaroute_stmt(struct config_parser *p, struct config_words *s);
/* METRICS (core/config_metrics.c). */
void config_metrics_stmt(struct config_parser *p, struct config_words *s);

#endif
