/* The profile parser: statements, their operands and every check of
 * docs/config.md. Words come from core/lexer.c; a statement is its keyword
 * and the words up to the next statement keyword. A syntax error ends the
 * statement it is in; a wrong value is reported and parsing goes on, so that
 * one run names every error of the file. */
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_parser.h"
#include "core/lexer.h"

enum config_stmt {
	CONFIG_STMT_NONE = 0,
	CONFIG_STMT_INTERFACE,
	CONFIG_STMT_VIPADYNAMIC,
	CONFIG_STMT_ENDVIPADYNAMIC,
	CONFIG_STMT_VIPADEFINE,
	CONFIG_STMT_VIPABACKUP,
	CONFIG_STMT_VIPARANGE,
	CONFIG_STMT_VIPADISTRIBUTE,
	CONFIG_STMT_VIPADELETE,
	CONFIG_STMT_VIPAROUTE,
	/* A z/OS VIPADYNAMIC statement dvipa does not have: it still ends the
	 * statement before it so that its operands are not misread. */
	CONFIG_STMT_VIPASMPARMS,
	CONFIG_STMT_METRICS,
	CONFIG_STMT_MAX
};

static const struct config_keyword config_stmts[CONFIG_STMT_MAX] = {
    [CONFIG_STMT_INTERFACE] = {"INTERFACE", 9},
    [CONFIG_STMT_VIPADYNAMIC] = {"VIPADYNAMIC", 5},
    [CONFIG_STMT_ENDVIPADYNAMIC] = {"ENDVIPADYNAMIC", 8},
    [CONFIG_STMT_VIPADEFINE] = {"VIPADEFINE", 7},
    [CONFIG_STMT_VIPABACKUP] = {"VIPABACKUP", 5},
    [CONFIG_STMT_VIPARANGE] = {"VIPARANGE", 5},
    [CONFIG_STMT_VIPADISTRIBUTE] = {"VIPADISTRIBUTE", 8},
    [CONFIG_STMT_VIPADELETE] = {"VIPADELETE", 7},
    [CONFIG_STMT_VIPAROUTE] = {"VIPAROUTE", 9},
    [CONFIG_STMT_VIPASMPARMS] = {"VIPASMPARMS", 6},
    [CONFIG_STMT_METRICS] = {"METRICS", 7},
};

static const struct config_keyword kw_moveable = {"MOVEABLE", 4};
static const struct config_keyword kw_immediate = {"IMMEDIATE", 5};
static const struct config_keyword kw_whenidle = {"WHENIDLE", 8};
static const struct config_keyword kw_nondisruptive = {"NONDISRUPTIVE", 10};
static const struct config_keyword kw_disruptive = {"DISRUPTIVE", 7};
static const struct config_keyword kw_define = {"DEFINE", 6};
static const struct config_keyword kw_delete = {"DELETE", 4};

/* z/OS operands that dvipa does not implement: named as such rather than as
 * "not an address". */
static const char *const config_zos_only[] = {
    "TIER1",        "TIER2",          "CPCSCOPE",    "SERVICEMGR",     "OPTLOCAL",
    "NOOPTLOCAL",   "PROCTYPE",       "ILWEIGHTING", "AUTOSWITCHBACK", "NOAUTOSWITCHBACK",
    "HEALTHSWITCH", "NOHEALTHSWITCH", "SAF",         "CONTROLPORT",    "GRE",
    "ENCAP",        "TARGCONTROLLED",
};

void config_err(struct config_parser *p, const struct lexer_token *t, const char *fmt, ...)
{
	struct config_error *e;
	va_list ap;

	if (p->stop)
		return;
	if (p->n_err == p->cap_err) {
		size_t cap = p->cap_err ? p->cap_err * 2 : 16;
		struct config_error *v = realloc(p->errv, cap * sizeof(*v));

		if (!v) {
			p->no_mem = true;
			p->stop = true;
			return;
		}
		p->errv = v;
		p->cap_err = cap;
	}
	e = &p->errv[p->n_err++];
	memset(e, 0, sizeof(*e));
	if (!t) {
		e->pos = p->end;
	} else {
		e->pos = t->pos;
		if (t->kind == LEXER_BAD_CHAR) {
			snprintf(e->word, sizeof(e->word), "\\x%02x", (unsigned char)t->text[0]);
		} else {
			size_t n = t->len < sizeof(e->word) - 1 ? t->len : sizeof(e->word) - 1;

			memcpy(e->word, t->text, n);
		}
	}
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	if (p->n_err >= CONFIG_ERRORS_MAX)
		p->stop = true;
}

void *config_reserve(struct config_parser *p, void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	nv = realloc(v, ncap * size);
	if (!nv) {
		p->no_mem = true;
		p->stop = true;
		return NULL;
	}
	*cap = ncap;
	return nv;
}

/* ---- words as values ---- */

bool config_all_digits(const struct lexer_token *t)
{
	if (!t || t->kind != LEXER_WORD || t->len == 0)
		return false;
	for (size_t i = 0; i < t->len; i++)
		if (t->text[i] < '0' || t->text[i] > '9')
			return false;
	return true;
}

/* Decimal number: 0, -EINVAL when not digits, -ERANGE when above max. */
int config_uint(const struct lexer_token *t, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;

	if (!config_all_digits(t))
		return -EINVAL;
	for (size_t i = 0; i < t->len; i++) {
		v = v * 10 + (uint64_t)(t->text[i] - '0');
		if (v > max)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

bool config_has(const struct lexer_token *t, char ch)
{
	return memchr(t->text, ch, t->len) != NULL;
}

bool config_zos_option(const struct lexer_token *t)
{
	for (size_t i = 0; i < sizeof(config_zos_only) / sizeof(config_zos_only[0]); i++)
		if (lexer_match(t, config_zos_only[i], strlen(config_zos_only[i])))
			return true;
	return false;
}

/* A bare address: 0 or -EINVAL. */
int config_addr(const struct lexer_token *t, struct ipaddr *a)
{
	char buf[IPADDR_STRLEN];

	if (t->kind != LEXER_WORD || !lexer_copy(t, buf, sizeof(buf)))
		return -EINVAL;
	return ipaddr_parse(buf, a);
}

bool config_mask(const struct lexer_token *t, uint8_t *len)
{
	char buf[IPADDR_STRLEN];

	return t->kind == LEXER_WORD && !config_has(t, ':') && lexer_copy(t, buf, sizeof(buf)) &&
	       ipaddr_parse_mask4(buf, len) == 0;
}

/* A word that starts like a statement keyword but is none. */
static bool config_like_statement(const struct lexer_token *t)
{
	return (t->len > 4 && strncasecmp(t->text, "VIPA", 4) == 0) ||
	       (t->len > 7 && strncasecmp(t->text, "ENDVIPA", 7) == 0);
}

void config_extra(struct config_parser *p, const struct lexer_token *t, const char *stmt,
                  const char *what)
{
	if (config_like_statement(t))
		config_err(p, t, "not a statement keyword");
	else
		config_err(p, t, "%s %s", stmt, what);
}

void config_bad_word(struct config_parser *p, const struct lexer_token *t, const char *what)
{
	if (config_zos_option(t))
		config_err(p, t, "a z/OS option that dvipa does not support");
	else if (config_like_statement(t))
		config_err(p, t, "not a statement keyword");
	else
		config_err(p, t, "not %s", what);
}

/* Parse "addr" or, when allow_len, "addr/len" of the given family. A missing
 * /len leaves *len untouched and *len_given false. Reports and returns false
 * when the word is not such an address. */
static bool config_word_addr(struct config_parser *p, const struct lexer_token *t, int family,
                             bool allow_len, struct ipaddr *a, uint8_t *len, bool *len_given)
{
	const char *slash = memchr(t->text, '/', t->len);
	struct lexer_token head = *t, tail;
	uint32_t v;

	*len_given = false;
	if (slash) {
		head.len = (size_t)(slash - t->text);
		tail = *t;
		tail.text = slash + 1;
		tail.len = t->len - head.len - 1;
	}
	if (config_addr(&head, a) < 0) {
		config_bad_word(p, t, "an IP address");
		return false;
	}
	if (a->family != family) {
		config_err(p, t, "mixes IPv4 and IPv6 addresses in one statement");
		return false;
	}
	if (!slash)
		return true;
	if (!allow_len) {
		if (family == IPADDR_V4)
			config_err(p, t,
			           "an IPv4 address takes the statement's dotted mask, not /LEN");
		else
			config_err(p, t, "this address is written without /LEN");
		return false;
	}
	if (config_uint(&tail, ipaddr_max_prefix(a), &v) < 0 || v == 0) {
		config_err(p, t, "the prefix length must be 1 to %u", ipaddr_max_prefix(a));
		return false;
	}
	*len = (uint8_t)v;
	*len_given = true;
	return true;
}

static bool config_bit(const struct ipaddr *a, unsigned b)
{
	return a->bytes[b / 8] & (0x80 >> (b % 8));
}

static bool config_host_bits_all(const struct ipaddr *a, unsigned plen, bool ones)
{
	for (unsigned b = plen; b < ipaddr_max_prefix(a); b++)
		if (config_bit(a, b) != ones)
			return false;
	return true;
}

static void config_clear_host_bits(struct ipaddr *a, unsigned plen)
{
	for (unsigned b = plen; b < ipaddr_max_prefix(a); b++)
		a->bytes[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
}

const char *config_unusable(const struct ipaddr *a)
{
	const uint8_t *b = a->bytes;
	static const uint8_t zero[16];

	if (a->family == IPADDR_V4) {
		if (b[0] == 0)
			return "in 0.0.0.0/8 (this network)";
		if (b[0] == 127)
			return "a loopback address";
		if (b[0] >= 224 && b[0] < 240)
			return "a multicast address";
		if (b[0] >= 240)
			return "a reserved or broadcast address";
		return NULL;
	}
	if (memcmp(b, zero, 16) == 0)
		return "the unspecified address";
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return "the loopback address";
	if (b[0] == 0xff)
		return "a multicast address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "a link-local address";
	if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
		return "an IPv4-mapped address";
	return NULL;
}

/* Why the address is not a host address of its prefix, or NULL. IPv4 /31 and
 * /32 (RFC 3021) and IPv6 /127 and /128 (RFC 6164) have no such reserved
 * addresses. */
static const char *config_not_host(const struct ipaddr *a, unsigned plen)
{
	if (plen + 1 >= ipaddr_max_prefix(a))
		return NULL;
	if (config_host_bits_all(a, plen, false))
		return a->family == IPADDR_V4 ? "the network address of its prefix"
		                              : "the subnet-router anycast address of its prefix";
	if (a->family == IPADDR_V4 && config_host_bits_all(a, plen, true))
		return "the broadcast address of its prefix";
	return NULL;
}

/* ---- the model ---- */

const struct config_vipa *config_find_vipa(const struct config *c, const struct ipaddr *a)
{
	for (size_t i = 0; c && i < c->n_vipas; i++)
		if (ipaddr_equal(&c->vipas[i].addr, a))
			return &c->vipas[i];
	return NULL;
}

bool config_ports_overlap(const struct config_port_range *x, const struct config_port_range *y)
{
	return x->first <= y->last && y->first <= x->last;
}

const struct config_dist *config_find_dist(const struct config *c, const struct ipaddr *a,
                                           uint16_t port)
{
	struct config_port_range r = {port, port};

	for (size_t i = 0; c && i < c->n_dists; i++) {
		const struct config_dist *d = &c->dists[i];

		if (!ipaddr_equal(&d->addr, a))
			continue;
		for (size_t j = 0; j < d->n_ports; j++)
			if (config_ports_overlap(&d->ports[j], &r))
				return d;
	}
	return NULL;
}

void config_clear_dist(struct config_dist *d)
{
	free(d->ports);
	free(d->dests);
	d->ports = NULL;
	d->dests = NULL;
}

void config_remove_dist(struct config *c, size_t i)
{
	config_clear_dist(&c->dists[i]);
	memmove(&c->dists[i], &c->dists[i + 1], (c->n_dists - i - 1) * sizeof(c->dists[0]));
	c->n_dists--;
}

const struct config_dist *config_first_dist(const struct config *c, const struct ipaddr *a)
{
	for (size_t i = 0; i < c->n_dists; i++)
		if (ipaddr_equal(&c->dists[i].addr, a))
			return &c->dists[i];
	return NULL;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_dists; i++)
		config_clear_dist(&c->dists[i]);
	free(c->dists);
	free(c->viaroutes);
	free(c->ranges);
	free(c->vipas);
	free(c);
}

void config_errors_clear(struct config_errors *errs)
{
	if (!errs)
		return;
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

char *config_error_format(const struct config_error *e, const char *file, char *buf, size_t size)
{
	bool near = e->word[0] != '\0';

	snprintf(buf, size, "%s%s%u:%u: %s%s%s%s", file ? file : "", file ? ":" : "", e->pos.line,
	         e->pos.col, e->message, near ? " (near '" : "", e->word, near ? "')" : "");
	return buf;
}

/* ---- statements ---- */

void config_need_block(struct config_parser *p, const struct config_words *s)
{
	if (!p->in_block)
		config_err(p, s->kw, "%s belongs inside the VIPADYNAMIC block", s->name);
}

static void config_no_operands(struct config_parser *p, struct config_words *s)
{
	const struct lexer_token *t = config_peek(s);

	if (t)
		config_extra(p, t, s->name, "takes no operands");
}

static void config_stmt_interface(struct config_parser *p, struct config_words *s)
{
	const struct lexer_token *t = config_next(s);
	bool ok = true, first = !p->have_interface;

	if (p->in_block)
		config_err(p, s->kw, "INTERFACE belongs outside the VIPADYNAMIC block");
	if (!first)
		config_err(p, s->kw, "INTERFACE is given twice (first at line %u)",
		           p->interface_kw->pos.line);
	/* Even without a valid name, the statement is there: no "missing
	 * INTERFACE" error follows. */
	p->have_interface = true;
	if (first)
		p->interface_kw = s->kw;
	if (!t) {
		config_err(p, s->kw, "INTERFACE needs the name of the LAN interface");
		return;
	}
	if (t->len >= CONFIG_IFNAME_MAX || (t->len == 1 && t->text[0] == '.') ||
	    (t->len == 2 && t->text[0] == '.' && t->text[1] == '.'))
		ok = false;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char ch = (unsigned char)t->text[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == ':')
			ok = false;
	}
	if (!ok)
		config_err(p, t,
		           "not a Linux interface name (1 to 15 printable ASCII characters, "
		           "no '/' or ':')");
	if ((t = config_peek(s)))
		config_extra(p, t, "INTERFACE", "takes one name");
	if (ok && first) {
		memcpy(p->c->interface, s->v[0].text, s->v[0].len);
		p->c->interface[s->v[0].len] = '\0';
	}
}

static void config_stmt_block(struct config_parser *p, struct config_words *s, bool open)
{
	if (open) {
		if (p->in_block)
			config_err(p, s->kw, "VIPADYNAMIC inside the VIPADYNAMIC block of line %u",
			           p->block_kw->pos.line);
		else if (p->block_seen)
			config_err(p, s->kw, "a second VIPADYNAMIC block (the first is at line %u)",
			           p->block_kw->pos.line);
		if (!p->in_block)
			p->block_kw = s->kw;
		p->in_block = true;
		p->block_seen = true;
	} else {
		if (!p->in_block)
			config_err(p, s->kw, "ENDVIPADYNAMIC without VIPADYNAMIC");
		p->in_block = false;
	}
	config_no_operands(p, s);
}

/* [MOVEABLE IMMEDIATE|WHENIDLE] or, for VIPARANGE, [MOVEABLE
 * NONDISRUPTIVE|DISRUPTIVE]. *which is set to 1 or 2 (the first or second
 * choice) when written; *word to the choice's word. False on a syntax error. */
static bool config_moveable(struct config_parser *p, struct config_words *s, bool range, int *which,
                            const struct lexer_token **word)
{
	const struct config_keyword *a = range ? &kw_nondisruptive : &kw_immediate;
	const struct config_keyword *b = range ? &kw_disruptive : &kw_whenidle;
	const struct lexer_token *t = config_peek(s), *m;

	*which = 0;
	*word = NULL;
	if (config_is(t, a) || config_is(t, b)) {
		config_err(p, t, "write MOVEABLE before %s", config_is(t, a) ? a->name : b->name);
		return false;
	}
	if (!config_is(t, &kw_moveable))
		return true;
	config_next(s);
	m = config_next(s);
	if (config_is(m, a)) {
		*which = 1;
	} else if (config_is(m, b)) {
		*which = 2;
	} else {
		config_err(p, m ? m : t, "MOVEABLE needs %s or %s", a->name, b->name);
		return false;
	}
	*word = m;
	return true;
}

static void config_stmt_vipa(struct config_parser *p, struct config_words *s,
                             enum config_vipa_kind kind)
{
	const struct lexer_token *t, *mword = NULL, *mask_word = NULL;
	uint32_t rank = kind == CONFIG_VIPADEFINE ? CONFIG_RANK_OWNER : CONFIG_RANK_MIN;
	uint8_t moveable =
	    kind == CONFIG_VIPADEFINE ? CONFIG_MOVEABLE_IMMEDIATE : CONFIG_MOVEABLE_UNSET;
	uint8_t mask_len = 0;
	int which, family;

	config_need_block(p, s);
	t = config_peek(s);
	if (kind == CONFIG_VIPABACKUP && config_all_digits(t)) {
		if (config_uint(t, CONFIG_RANK_MAX, &rank) < 0 || rank < CONFIG_RANK_MIN) {
			config_err(p, t, "the VIPABACKUP rank must be %d to %d", CONFIG_RANK_MIN,
			           CONFIG_RANK_MAX);
			rank = CONFIG_RANK_MIN;
		}
		config_next(s);
	}
	if (!config_moveable(p, s, false, &which, &mword))
		return;
	if (which)
		moveable = which == 1 ? CONFIG_MOVEABLE_IMMEDIATE : CONFIG_MOVEABLE_WHENIDLE;
	t = config_peek(s);
	if (!t) {
		config_err(p, config_last(s), "%s needs %s", s->name,
		           kind == CONFIG_VIPADEFINE ? "a mask (IPv4) and one or more addresses"
		                                     : "one or more addresses");
		return;
	}
	family = config_has(t, ':') ? IPADDR_V6 : IPADDR_V4;
	if (family == IPADDR_V4) {
		bool is_mask = config_mask(t, &mask_len);
		struct ipaddr a;

		if (kind == CONFIG_VIPADEFINE && !is_mask) {
			if (config_addr(t, &a) < 0)
				config_bad_word(p, t, "a dotted mask");
			else if (s->i + 1 < s->n)
				config_err(p, t, "not a dotted mask (its ones must be contiguous)");
			else
				config_err(p, t,
				           "an IPv4 VIPADEFINE needs the dotted mask before "
				           "its addresses");
			return;
		}
		/* VIPABACKUP: a word that is a mask and has an address after it
		 * is the mask. */
		if (is_mask && (kind == CONFIG_VIPADEFINE || s->i + 1 < s->n)) {
			mask_word = config_next(s);
			if (mask_len == 0) {
				config_err(p, mask_word, "the mask must have at least one bit set");
				return;
			}
			if (!config_peek(s)) {
				config_err(p, mask_word, "%s needs an address after the mask",
				           s->name);
				return;
			}
		}
	} else if (moveable == CONFIG_MOVEABLE_WHENIDLE) {
		config_err(p, mword,
		           "MOVEABLE WHENIDLE is IPv4 only: an IPv6 DVIPA always moves "
		           "immediately");
		moveable = CONFIG_MOVEABLE_IMMEDIATE;
	}
	while ((t = config_next(s))) {
		struct config_vipa v = {.kind = (uint8_t)kind,
		                        .rank = (uint8_t)rank,
		                        .moveable = moveable,
		                        .pos = t->pos};
		const struct config_vipa *old;
		const char *why;
		void *nv;

		if (!config_word_addr(p, t, family, family == IPADDR_V6, &v.addr, &v.prefix_len,
		                      &v.prefix_given))
			return;
		if (family == IPADDR_V4) {
			v.prefix_given = mask_word != NULL;
			v.prefix_len = mask_word ? mask_len : 32;
		} else if (!v.prefix_given) {
			v.prefix_len = 128;
			v.prefix_given = kind == CONFIG_VIPADEFINE;
		}
		if ((why = config_unusable(&v.addr)))
			config_err(p, t, "not usable as a DVIPA: %s", why);
		else if (v.prefix_given && (why = config_not_host(&v.addr, v.prefix_len)))
			config_err(p, t, "not a host address: %s /%u", why, v.prefix_len);
		old = config_find_vipa(p->c, &v.addr);
		if (old && old->kind == kind) {
			config_err(p, t, "already in a %s at line %u (VIPADELETE it first)",
			           s->name, old->pos.line);
			continue;
		}
		if (old) {
			config_err(p, t,
			           "already in a %s at line %u: a node owns a DVIPA or backs "
			           "it up, not both",
			           old->kind == CONFIG_VIPADEFINE ? "VIPADEFINE" : "VIPABACKUP",
			           old->pos.line);
			continue;
		}
		if (p->c->n_vipas >= CONFIG_VIPA_MAX) {
			config_err(p, t, "more than %d DVIPAs", CONFIG_VIPA_MAX);
			return;
		}
		nv = config_reserve(p, p->c->vipas, &p->cap_vipas, p->c->n_vipas, sizeof(v));
		if (!nv)
			return;
		p->c->vipas = nv;
		p->c->vipas[p->c->n_vipas++] = v;
	}
}

static void config_stmt_vipadelete(struct config_parser *p, struct config_words *s)
{
	const struct lexer_token *t;

	config_need_block(p, s);
	if (!config_peek(s))
		config_err(p, s->kw, "VIPADELETE needs one or more addresses");
	while ((t = config_next(s))) {
		struct ipaddr a;
		size_t i;

		if (config_addr(t, &a) < 0) {
			config_bad_word(p, t, "an IP address (without /LEN)");
			return;
		}
		for (i = 0; i < p->c->n_vipas; i++)
			if (ipaddr_equal(&p->c->vipas[i].addr, &a))
				break;
		if (i == p->c->n_vipas) {
			config_err(p, t, "no VIPADEFINE or VIPABACKUP of this address to delete");
			continue;
		}
		memmove(&p->c->vipas[i], &p->c->vipas[i + 1],
		        (p->c->n_vipas - i - 1) * sizeof(p->c->vipas[0]));
		p->c->n_vipas--;
		/* Its distribution goes with it: VIPADISTRIBUTE needs a DVIPA. */
		for (i = p->c->n_dists; i-- > 0;)
			if (ipaddr_equal(&p->c->dists[i].addr, &a))
				config_remove_dist(p->c, i);
	}
}

static void config_stmt_range(struct config_parser *p, struct config_words *s)
{
	const struct lexer_token *t, *mword, *addr_word;
	struct config_range r = {0};
	bool del = false, given;
	int which, family;
	const char *why;
	void *nv;

	config_need_block(p, s);
	t = config_peek(s);
	if (config_is(t, &kw_define) || config_is(t, &kw_delete)) {
		del = config_is(t, &kw_delete);
		config_next(s);
	}
	if (!config_moveable(p, s, true, &which, &mword))
		return;
	r.disruptive = which == 2;
	t = config_peek(s);
	if (!t) {
		config_err(p, config_last(s),
		           "VIPARANGE needs a mask and an address (IPv4) or "
		           "ADDRESS/LEN (IPv6)");
		return;
	}
	family = config_has(t, ':') ? IPADDR_V6 : IPADDR_V4;
	if (family == IPADDR_V4) {
		if (!config_mask(t, &r.prefix_len)) {
			config_bad_word(p, t, "a dotted mask");
			return;
		}
		config_next(s);
		if (r.prefix_len == 0) {
			config_err(p, t, "the mask must have at least one bit set");
			return;
		}
		if (!config_peek(s)) {
			config_err(p, t, "VIPARANGE needs an address after the mask");
			return;
		}
	}
	addr_word = config_next(s);
	if (!config_word_addr(p, addr_word, family, family == IPADDR_V6, &r.addr, &r.prefix_len,
	                      &given))
		return;
	if (family == IPADDR_V6 && !given)
		r.prefix_len = 128;
	r.pos = addr_word->pos;
	if ((t = config_peek(s))) {
		config_extra(p, t, "VIPARANGE", "takes one address");
		return;
	}
	if (family == IPADDR_V6 && r.disruptive) {
		config_err(p, mword, "MOVEABLE DISRUPTIVE is IPv4 only (as in z/OS)");
		r.disruptive = false;
	}
	/* The range is its network, whatever host bits were written (as z/OS). */
	config_clear_host_bits(&r.addr, r.prefix_len);
	if ((why = config_unusable(&r.addr))) {
		config_err(p, addr_word, "not usable for DVIPAs: %s", why);
		return;
	}
	for (size_t i = 0; i < p->c->n_ranges; i++) {
		struct config_range *o = &p->c->ranges[i];
		char buf[IPADDR_PREFIX_STRLEN];

		if (del) {
			if (ipaddr_equal(&o->addr, &r.addr) && o->prefix_len == r.prefix_len) {
				memmove(o, o + 1, (p->c->n_ranges - i - 1) * sizeof(*o));
				p->c->n_ranges--;
				return;
			}
		} else if (ipaddr_prefixes_overlap(&o->addr, o->prefix_len, &r.addr,
		                                   r.prefix_len)) {
			config_err(p, addr_word, "overlaps VIPARANGE %s of line %u",
			           ipaddr_format_prefix(&o->addr, o->prefix_len, buf, sizeof(buf)),
			           o->pos.line);
			return;
		}
	}
	if (del) {
		config_err(p, addr_word, "no VIPARANGE of this subnet to delete");
		return;
	}
	if (p->c->n_ranges >= CONFIG_RANGE_MAX) {
		config_err(p, addr_word, "more than %d VIPARANGEs", CONFIG_RANGE_MAX);
		return;
	}
	nv = config_reserve(p, p->c->ranges, &p->cap_ranges, p->c->n_ranges, sizeof(r));
	if (!nv)
		return;
	p->c->ranges = nv;
	p->c->ranges[p->c->n_ranges++] = r;
}

static void config_run(struct config_parser *p, const struct lexer_tokens *toks)
{
	size_t i = 0;

	while (i < toks->n && !p->stop) {
		const struct lexer_token *t = &toks->v[i];
		struct config_words s = {.kw = t, .name = config_stmts[t->tag].name};
		size_t j = i + 1;
		bool bad = false;

		if (t->kind == LEXER_BAD_CHAR)
			config_err(p, t, "a control character");
		else if (!t->tag)
			config_err(p, t,
			           "not a statement: expected INTERFACE, VIPADYNAMIC or a "
			           "VIPA statement");
		for (; j < toks->n && !toks->v[j].tag; j++) {
			if (toks->v[j].kind == LEXER_BAD_CHAR) {
				config_err(p, &toks->v[j], "a control character");
				bad = true;
			}
		}
		s.v = &toks->v[i + 1];
		s.n = j - i - 1;
		i = j;
		/* A control byte leaves the words around it in doubt: the
		 * statement is skipped once the byte is reported. */
		if (!t->tag || bad)
			continue;
		switch ((enum config_stmt)t->tag) {
		case CONFIG_STMT_INTERFACE:
			config_stmt_interface(p, &s);
			break;
		case CONFIG_STMT_VIPADYNAMIC:
			config_stmt_block(p, &s, true);
			break;
		case CONFIG_STMT_ENDVIPADYNAMIC:
			config_stmt_block(p, &s, false);
			break;
		case CONFIG_STMT_VIPADEFINE:
			config_stmt_vipa(p, &s, CONFIG_VIPADEFINE);
			break;
		case CONFIG_STMT_VIPABACKUP:
			config_stmt_vipa(p, &s, CONFIG_VIPABACKUP);
			break;
		case CONFIG_STMT_VIPARANGE:
			config_stmt_range(p, &s);
			break;
		case CONFIG_STMT_VIPADISTRIBUTE:
			config_dist_stmt(p, &s);
			break;
		case CONFIG_STMT_VIPADELETE:
			config_stmt_vipadelete(p, &s);
			break;
		case CONFIG_STMT_VIPAROUTE:
			config_viaroute_stmt(p, &s);
			break;
		case CONFIG_STMT_VIPASMPARMS:
			config_err(p, t, "a z/OS statement that dvipa does not support");
			break;
		case CONFIG_STMT_METRICS:
			config_metrics_stmt(p, &s);
			break;
		case CONFIG_STMT_NONE:
		case CONFIG_STMT_MAX:
			break;
		}
	}
}

static int config_pos_cmp(const struct config_pos *a, const struct config_pos *b)
{
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

int config_parse(const char *text, size_t len, struct config **ret_config,
                 struct config_errors *errs)
{
	struct config_parser p = {0};
	struct lexer_tokens toks = {0};
	int ret;

	if (errs)
		*errs = (struct config_errors){0};
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c) {
		ret = -ENOMEM;
		goto out;
	}
	ret = lexer_split(text, len, &toks);
	if (ret < 0)
		goto out;
	p.end = toks.end;
	for (size_t i = 0; i < toks.n; i++) {
		struct lexer_token *t = &toks.v[i];

		for (int k = CONFIG_STMT_NONE + 1; k < CONFIG_STMT_MAX; k++)
			if (config_is(t, &config_stmts[k]))
				t->tag = (unsigned char)k;
	}
	config_run(&p, &toks);
	if (p.in_block)
		config_err(&p, p.block_kw, "the VIPADYNAMIC block has no ENDVIPADYNAMIC");
	if (!p.have_interface)
		config_err(&p, NULL, "no INTERFACE statement: the LAN interface is required");
	if (p.no_mem) {
		ret = -ENOMEM;
		goto out;
	}
	if (p.n_err) {
		ret = -EINVAL;
		goto out;
	}
	*ret_config = p.c;
	p.c = NULL;
	ret = 0;
out:
	/* File order; insertion sort keeps errors at one word in the order found. */
	for (size_t i = 1; i < p.n_err; i++) {
		struct config_error e = p.errv[i];
		size_t j = i;

		for (; j > 0 && config_pos_cmp(&p.errv[j - 1].pos, &e.pos) > 0; j--)
			p.errv[j] = p.errv[j - 1];
		p.errv[j] = e;
	}
	if (errs && ret == -EINVAL) {
		errs->v = p.errv;
		errs->n = p.n_err;
	} else {
		free(p.errv);
	}
	config_free(p.c);
	lexer_tokens_free(&toks);
	return ret;
}
