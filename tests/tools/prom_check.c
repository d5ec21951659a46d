/* prom_check: a strict checker of the Prometheus text exposition format
 * (version 0.0.4) for the metrics tests: reads a scrape's body on stdin and
 * exits 0 when it is well formed, else prints each problem with its line
 * number and exits 1. Checked: metric and label names, label value escapes,
 * duplicate label names, values (floats, NaN, +Inf, -Inf) and timestamps,
 * HELP and TYPE at most once per family and before its samples, a family's
 * samples together, no series twice, counters named *_total, the final
 * newline. Debian 12's promtool comes only with the whole Prometheus server. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 1024
#define MAX_SERIES   65536

struct family {
	char name[256];
	char type[16];
	bool help, typed, samples, closed;
};

static struct family families[MAX_FAMILIES];
static size_t n_families;
static char *series[MAX_SERIES];
static size_t n_series;
static int errors;
static unsigned lineno;

static void bad(const char *what, const char *line)
{
	fprintf(stderr, "line %u: %s: %s\n", lineno, what, line);
	errors++;
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (colon && c == ':')
		return true;
	return !first && c >= '0' && c <= '9';
}

/* Length of the name at s, 0 when none. */
static size_t name_len(const char *s, bool colon)
{
	size_t n = 0;

	while (s[n] && name_char(s[n], n == 0, colon))
		n++;
	return n;
}

static struct family *family(const char *name, size_t len)
{
	char key[256];

	if (len >= sizeof(key))
		len = sizeof(key) - 1;
	memcpy(key, name, len);
	key[len] = '\0';
	for (size_t i = 0; i < n_families; i++)
		if (strcmp(families[i].name, key) == 0)
			return &families[i];
	if (n_families == MAX_FAMILIES)
		return NULL;
	snprintf(families[n_families].name, sizeof(families[0].name), "%s", key);
	return &families[n_families++];
}

/* A sample's family: histograms and summaries have suffixed series. */
static struct family *family_of_sample(const char *name, size_t len)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};

	for (size_t k = 0; k < 3; k++) {
		size_t sl = strlen(suffixes[k]);

		if (len > sl && memcmp(name + len - sl, suffixes[k], sl) == 0) {
			for (size_t i = 0; i < n_families; i++)
				if (strlen(families[i].name) == len - sl &&
				    memcmp(families[i].name, name, len - sl) == 0 &&
				    (strcmp(families[i].type, "histogram") == 0 ||
				     strcmp(families[i].type, "summary") == 0))
					return &families[i];
		}
	}
	return family(name, len);
}

static struct family *current;

static void enter(struct family *f, const char *line)
{
	if (f == current)
		return;
	if (current)
		current->closed = true;
	if (f->closed)
		bad("the family's lines are not together", line);
	current = f;
}

static bool parse_value(const char *s, const char **end)
{
	char *e;

	if (strncmp(s, "NaN", 3) == 0 || strncmp(s, "+Inf", 4) == 0 || strncmp(s, "-Inf", 4) == 0) {
		*end = s + (s[0] == 'N' ? 3 : 4);
		return true;
	}
	if (!*s || strchr("+-.0123456789", *s) == NULL)
		return false;
	(void)strtod(s, &e);
	if (e == s)
		return false;
	*end = e;
	return true;
}

static void comment(const char *line)
{
	const char *p = line + 1;
	bool is_help = strncmp(p, " HELP ", 6) == 0, is_type = strncmp(p, " TYPE ", 6) == 0;
	struct family *f;
	size_t n;

	if (!is_help && !is_type)
		return;
	p += 6;
	n = name_len(p, true);
	if (!n || (p[n] != ' ' && (is_type || p[n] != '\0'))) {
		bad("a HELP or TYPE line without a valid metric name", line);
		return;
	}
	f = family(p, n);
	if (!f) {
		bad("too many families", line);
		return;
	}
	enter(f, line);
	if (f->samples)
		bad("HELP or TYPE after the family's samples", line);
	if (is_help) {
		if (f->help)
			bad("a second HELP", line);
		f->help = true;
		for (const char *h = p + n; *h; h++)
			if (*h == '\\' && h[1] != '\\' && h[1] != 'n')
				bad("HELP escapes only \\\\ and \\n", line);
			else if (*h == '\\')
				h++;
		return;
	}
	if (f->typed)
		bad("a second TYPE", line);
	f->typed = true;
	p += n + 1;
	if (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "histogram") &&
	    strcmp(p, "summary") && strcmp(p, "untyped"))
		bad("an unknown TYPE", line);
	snprintf(f->type, sizeof(f->type), "%s", p);
	if (strcmp(p, "counter") == 0 &&
	    (n < 6 || strncmp(f->name + strlen(f->name) - 6, "_total", 6) != 0))
		bad("a counter's name should end in _total", line);
}

static void sample(const char *line)
{
	char labels[64][128];
	size_t n_labels = 0, n = name_len(line, true);
	const char *p = line + n, *end;
	struct family *f;
	char *key;

	if (!n) {
		bad("not a metric name", line);
		return;
	}
	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t ln = name_len(p, false);

			if (!ln || p[ln] != '=' || p[ln + 1] != '"') {
				bad("a label is not name=\"value\"", line);
				return;
			}
			if (ln >= 2 && p[0] == '_' && p[1] == '_')
				bad("a reserved label name", line);
			if (n_labels < 64) {
				snprintf(labels[n_labels], sizeof(labels[0]), "%.*s", (int)ln, p);
				for (size_t i = 0; i < n_labels; i++)
					if (strcmp(labels[i], labels[n_labels]) == 0)
						bad("a label given twice", line);
				n_labels++;
			}
			p += ln + 2;
			while (*p != '"') {
				if (!*p || *p == '\n') {
					bad("an unterminated label value", line);
					return;
				}
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
						bad("a label value escapes only \\\\, \\\" and \\n",
						    line);
						return;
					}
					p++;
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}') {
				bad("labels are separated by commas", line);
				return;
			}
		}
		p++;
	}
	if (*p != ' ') {
		bad("no space before the value", line);
		return;
	}
	p++;
	if (!parse_value(p, &end)) {
		bad("not a value", line);
		return;
	}
	if (*end == ' ') {
		char *te;

		(void)strtoll(end + 1, &te, 10);
		if (te == end + 1 || *te)
			bad("not a timestamp", line);
	} else if (*end) {
		bad("junk after the value", line);
	}
	f = family_of_sample(line, n);
	if (!f) {
		bad("too many families", line);
		return;
	}
	enter(f, line);
	f->samples = true;
	key = strndup(line, (size_t)(p - 1 - line));
	for (size_t i = 0; key && i < n_series; i++)
		if (strcmp(series[i], key) == 0)
			bad("a series given twice", line);
	if (key && n_series < MAX_SERIES)
		series[n_series++] = key;
	else
		free(key);
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool newline = true;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		newline = line[len - 1] == '\n';
		if (newline)
			line[--len] = '\0';
		if (strlen(line) != (size_t)len)
			bad("a NUL byte", "");
		else if (len == 0)
			continue;
		else if (line[0] == '#')
			comment(line);
		else
			sample(line);
	}
	if (!newline)
		bad("the text does not end with a newline", "");
	if (lineno == 0)
		bad("empty", "");
	free(line);
	for (size_t i = 0; i < n_series; i++)
		free(series[i]);
	return errors ? 1 : 0;
}
