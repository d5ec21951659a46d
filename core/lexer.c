#include "core/lexer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool lexer_is_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool lexer_is_control(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static int lexer_push(struct lexer_tokens *out, const char *text, size_t len, struct config_pos pos,
                      unsigned char kind)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		struct lexer_token *v = realloc(out->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] =
	    (struct lexer_token){.text = text, .len = len, .pos = pos, .kind = kind, .tag = 0};
	return 0;
}

int lexer_split(const char *text, size_t len, struct lexer_tokens *out)
{
	struct config_pos pos = {1, 1};
	size_t i = 0;
	int ret = 0;

	*out = (struct lexer_tokens){0};
	while (i < len) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n') {
			pos.line++;
			pos.col = 1;
			i++;
		} else if (lexer_is_space(ch)) {
			pos.col++;
			i++;
		} else if (ch == ';' || ch == '#') {
			/* Whatever a comment holds is ignored, control bytes too. */
			while (i < len && text[i] != '\n') {
				i++;
				pos.col++;
			}
		} else if (lexer_is_control(ch)) {
			ret = lexer_push(out, text + i, 1, pos, LEXER_BAD_CHAR);
			if (ret < 0)
				goto out;
			pos.col++;
			i++;
		} else {
			size_t start = i;
			struct config_pos wpos = pos;

			while (i < len) {
				ch = (unsigned char)text[i];
				if (lexer_is_space(ch) || lexer_is_control(ch) || ch == ';' ||
				    ch == '#')
					break;
				i++;
				pos.col++;
			}
			ret = lexer_push(out, text + start, i - start, wpos, LEXER_WORD);
			if (ret < 0)
				goto out;
		}
	}
	out->end = pos;
out:
	if (ret < 0)
		lexer_tokens_free(out);
	return ret;
}

void lexer_tokens_free(struct lexer_tokens *t)
{
	if (!t)
		return;
	free(t->v);
	*t = (struct lexer_tokens){0};
}

bool lexer_match(const struct lexer_token *t, const char *keyword, size_t min_len)
{
	size_t klen = strlen(keyword);

	if (t->kind != LEXER_WORD || t->len < min_len || t->len > klen)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char ch = (unsigned char)t->text[i];

		if (ch >= 'a' && ch <= 'z')
			ch = (unsigned char)(ch - 'a' + 'A');
		if (ch != (unsigned char)keyword[i])
			return false;
	}
	return true;
}

bool lexer_copy(const struct lexer_token *t, char *buf, size_t size)
{
	if (t->len >= size)
		return false;
	memcpy(buf, t->text, t->len);
	buf[t->len] = '\0';
	return true;
}
