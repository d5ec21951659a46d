/* Words of a profile (core/lexer.c): splits text into whitespace-separated
 * words with their line and column, drops comments, and matches z/OS-style
 * keywords with their minimum abbreviations. Pure: no I/O, no allocation
 * beyond the token array the caller frees. */
#ifndef DVIPA_CORE_LEXER_H
#define DVIPA_CORE_LEXER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

/* A word of the profile, pointing into the caller's text (not NUL-terminated). */
struct lexer_token {
	const char *text;
	size_t len;
	struct config_pos pos;
	/* LEXER_BAD_CHAR: a control byte that is not white space; text points at it. */
	unsigned char kind;
	/* Free for the parser (it stores the statement keyword found here). */
	unsigned char tag;
};

enum lexer_kind { LEXER_WORD = 0, LEXER_BAD_CHAR, LEXER_KIND_MAX };

struct lexer_tokens {
	size_t n;
	size_t cap;
	struct lexer_token *v;
	/* Where the text ends: the position just after its last byte. */
	struct config_pos end;
};

/* Split text into words. Comments run from ';' or '#' to the end of the line;
 * a comment character also ends the word it touches. Control bytes other
 * than white space become LEXER_BAD_CHAR tokens so that the parser can name
 * them. Returns 0 or -ENOMEM; on failure out is left empty. Free with
 * lexer_tokens_free(). */
int lexer_split(const char *text, size_t len, struct lexer_tokens *out);
void lexer_tokens_free(struct lexer_tokens *t);

/* True when the word spells keyword (upper case) in any letter case, either
 * in full or abbreviated to at least min_len letters, as z/OS allows
 * ("VIPADEF" for VIPADEFINE with min_len 7). */
bool lexer_match(const struct lexer_token *t, const char *keyword, size_t min_len);

/* Copy the word into buf as a C string; false when it does not fit. */
bool lexer_copy(const struct lexer_token *t, char *buf, size_t size);

#endif
