/* A growing text buffer for displays (text and JSON). An allocation failure
 * is remembered and reported once, by strbuf_take(), so that renderers need
 * not check every append. */
#ifndef DVIPA_CORE_STRBUF_H
#define DVIPA_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_puts(struct strbuf *sb, const char *s);
/* Appends s as a JSON string literal, quotes included. */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Returns the text (caller frees), or NULL with errno = ENOMEM after any
 * failed append; the buffer is empty afterwards either way. */
char *strbuf_take(struct strbuf *sb);
void strbuf_clear(struct strbuf *sb);

#endif
