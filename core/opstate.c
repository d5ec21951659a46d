#include "core/opstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"

/* One word of a line, and where it starts. */
struct opstate_word {
	char text[64];
	uint32_t col;
};

static int opstate_error(struct config_errors *errs, uint32_t line, const struct opstate_word *w,
                         const char *message)
{
	struct config_error *v;

	if (!errs)
		return 0;
	if (errs->n >= CONFIG_ERRORS_MAX)
		return 0;
	v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	errs->v = v;
	v = &errs->v[errs->n++];
	*v = (struct config_error){.pos = {line, w ? w->col : 1}};
	if (w)
		snprintf(v->word, sizeof(v->word), "%s", w->text);
	snprintf(v->message, sizeof(v->message), "%s", message);
	return 0;
}

/* Splits a line into at most max words; returns how many, or max + 1 when
 * there are more. A word longer than the buffer is cut (and then not
 * understood). */
static size_t opstate_split(const char *s, size_t len, struct opstate_word *w, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start, k;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == len || s[i] == '#')
			break;
		if (n == max)
			return max + 1;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '#')
			i++;
		k = i - start < sizeof(w[n].text) - 1 ? i - start : sizeof(w[n].text) - 1;
		memcpy(w[n].text, s + start, k);
		w[n].text[k] = '\0';
		w[n].col = (uint32_t)start + 1;
		n++;
	}
	return n;
}

static bool opstate_has_addr(const struct opstate *s, const struct ipaddr *a)
{
	for (size_t i = 0; i < s->n_deactivated; i++)
		if (ipaddr_equal(&s->deactivated[i], a))
			return true;
	return false;
}

static bool opstate_has_port(const struct opstate *s, uint16_t port)
{
	for (size_t i = 0; i < s->n_quiesced; i++)
		if (s->quiesced[i] == port)
			return true;
	return false;
}

/* Applies one line's words. Returns NULL, or what is wrong. */
static const char *opstate_line(struct opstate *s, const struct opstate_word *w, size_t n,
                                bool *ret_nomem, size_t *ret_bad)
{
	*ret_bad = 0;
	if (n == 1 && strcmp(w[0].text, "leave") == 0) {
		s->left = true;
		return NULL;
	}
	if (strcmp(w[0].text, "deactivate") == 0) {
		struct ipaddr a, *v;

		if (n != 2)
			return "deactivate takes one address";
		*ret_bad = 1;
		if (ipaddr_parse(w[1].text, &a) < 0)
			return "not an IPv4 or IPv6 address";
		if (opstate_has_addr(s, &a))
			return NULL;
		if (s->n_deactivated + s->n_quiesced >= OPSTATE_ITEMS_MAX)
			return "too many entries";
		v = realloc(s->deactivated, (s->n_deactivated + 1) * sizeof(*v));
		if (!v) {
			*ret_nomem = true;
			return NULL;
		}
		s->deactivated = v;
		v[s->n_deactivated++] = a;
		return NULL;
	}
	if (strcmp(w[0].text, "quiesce") == 0) {
		unsigned long port;
		uint16_t *v;
		char *end;

		if (n != 2)
			return "quiesce takes 'all' or one port";
		*ret_bad = 1;
		if (strcmp(w[1].text, "all") == 0) {
			s->quiesce_all = true;
			return NULL;
		}
		port = strtoul(w[1].text, &end, 10);
		if (w[1].text[0] < '0' || w[1].text[0] > '9' || *end || port == 0 || port > 65535)
			return "not a port (1-65535) or 'all'";
		if (opstate_has_port(s, (uint16_t)port))
			return NULL;
		if (s->n_deactivated + s->n_quiesced >= OPSTATE_ITEMS_MAX)
			return "too many entries";
		v = realloc(s->quiesced, (s->n_quiesced + 1) * sizeof(*v));
		if (!v) {
			*ret_nomem = true;
			return NULL;
		}
		s->quiesced = v;
		v[s->n_quiesced++] = (uint16_t)port;
		return NULL;
	}
	if (strcmp(w[0].text, "leave") == 0)
		return "leave takes nothing after it";
	return "unknown statement: expected leave, deactivate ADDR or quiesce all|PORT";
}

int opstate_parse(const char *text, size_t len, struct opstate *ret, struct config_errors *errs)
{
	struct opstate s = {0};
	uint32_t line = 0;
	int n_errors = 0;
	size_t i = 0;

	while (i < len) {
		const char *p = text + i, *nl = memchr(p, '\n', len - i);
		size_t l = nl ? (size_t)(nl - p) : len - i;
		struct opstate_word w[3];
		const char *what = NULL;
		bool nomem = false;
		size_t n, bad = 0;

		i += l + (nl ? 1 : 0);
		line++;
		n = opstate_split(p, l, w, 2);
		if (n == 0)
			continue;
		if (memchr(p, '\0', l))
			what = "a NUL byte: not a text line";
		else if (n > 2)
			what = "too many words";
		else
			what = opstate_line(&s, w, n, &nomem, &bad);
		if (nomem)
			goto nomem;
		if (!what)
			continue;
		n_errors++;
		if (opstate_error(errs, line, n > 2 ? &w[0] : &w[bad], what) < 0)
			goto nomem;
	}
	opstate_clear(ret);
	*ret = s;
	return n_errors;
nomem:
	opstate_clear(&s);
	return -ENOMEM;
}

char *opstate_render(const struct opstate *s)
{
	struct strbuf sb = {0};
	char a[IPADDR_STRLEN];

	strbuf_puts(&sb, "# dvipa operator state, written by dvipad: dvipactl join, reactivate\n"
	                 "# and resume undo it. Kept across restarts of dvipad.\n");
	if (s->left)
		strbuf_puts(&sb, "leave\n");
	for (size_t i = 0; i < s->n_deactivated; i++)
		strbuf_printf(&sb, "deactivate %s\n",
		              ipaddr_format(&s->deactivated[i], a, sizeof(a)));
	if (s->quiesce_all)
		strbuf_puts(&sb, "quiesce all\n");
	for (size_t i = 0; i < s->n_quiesced; i++)
		strbuf_printf(&sb, "quiesce %u\n", s->quiesced[i]);
	return strbuf_take(&sb);
}

bool opstate_empty(const struct opstate *s)
{
	return !s->left && !s->n_deactivated && !s->quiesce_all && !s->n_quiesced;
}

void opstate_clear(struct opstate *s)
{
	if (!s)
		return;
	free(s->deactivated);
	free(s->quiesced);
	*s = (struct opstate){0};
}
