/* libFuzzer target for the profile parser: parse the input; on success render
 * text and JSON (the JSON must be valid), on failure format every error (in
 * file order, within the cap); free everything. Any violation aborts.
 *   make build/fuzz/fuzz_config && build/fuzz/fuzz_config fuzz/corpus/config */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A strict JSON syntax check (RFC 8259), enough to catch a broken render. */
static const char *fuzz_json_value(const char *p, int depth);

static const char *fuzz_json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *fuzz_json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *fuzz_json_number(const char *p)
{
	const char *start;

	if (*p == '-')
		p++;
	start = p;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == start || (*start == '0' && p - start > 1))
		return NULL;
	return p;
}

static const char *fuzz_json_list(const char *p, int depth, char close, bool object)
{
	p = fuzz_json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = fuzz_json_string(p);
			if (!p)
				return NULL;
			p = fuzz_json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = fuzz_json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = fuzz_json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = fuzz_json_ws(p);
	}
}

static const char *fuzz_json_value(const char *p, int depth)
{
	if (depth > 16)
		return NULL;
	p = fuzz_json_ws(p);
	switch (*p) {
	case '{':
		return fuzz_json_list(p, depth, '}', true);
	case '[':
		return fuzz_json_list(p, depth, ']', false);
	case '"':
		return fuzz_json_string(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		return fuzz_json_number(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs;
	struct config *c = NULL;
	char line[512];
	int ret;

	ret = config_parse((const char *)data, size, &c, &errs);
	if (ret == 0) {
		char *text = config_render(c, false);
		char *json = config_render(c, true);
		const char *end;

		if (!text || !json)
			abort();
		end = fuzz_json_value(json, 0);
		if (!end || *fuzz_json_ws(end) != '\0') {
			fprintf(stderr, "invalid JSON: %s\n", json);
			abort();
		}
		free(text);
		free(json);
		config_free(c);
		return 0;
	}
	if (ret != -EINVAL || errs.n == 0 || errs.n > CONFIG_ERRORS_MAX)
		abort();
	for (size_t i = 0; i < errs.n; i++) {
		const struct config_error *e = &errs.v[i];

		if (e->pos.line == 0 || e->pos.col == 0 || !e->message[0] ||
		    !memchr(e->word, '\0', sizeof(e->word)))
			abort();
		if (i && (e[-1].pos.line > e->pos.line ||
		          (e[-1].pos.line == e->pos.line && e[-1].pos.col > e->pos.col)))
			abort();
		config_error_format(e, "fuzz.conf", line, sizeof(line));
	}
	config_errors_clear(&errs);
	return 0;
}
