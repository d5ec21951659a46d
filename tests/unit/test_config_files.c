/* The profiles kept in the tree: every .conf file in tests/configs/bad must
 * give exactly the errors its "# expect: LINE:COL: 'WORD'" lines name (one
 * line per error); every .conf file in tests/configs/good, docs and
 * docs/examples must parse without one. Paths are relative to the top of the
 * tree, where the unit tests run. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "tests/unit/unit.h"

#define FILES_MAX  256
#define EXPECT_MAX 64

struct expect {
	unsigned line, col;
	char word[64];
	bool seen;
};

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int err = 0;

	if (!f)
		return errno ? -errno : -EIO;
	do {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 4096);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf files of dir, sorted, as "dir/name"; returns the count. */
static size_t list_conf(const char *dir, char **names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < FILES_MAX) {
		size_t l = strlen(e->d_name);
		char *p;

		if (l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0)
			continue;
		p = malloc(strlen(dir) + l + 2);
		if (!p)
			break;
		sprintf(p, "%s/%s", dir, e->d_name);
		names[n++] = p;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	return n;
}

/* "# expect: 4:12: 'WORD'" lines; returns their count or -1 when one is
 * malformed. */
static int parse_expects(const char *text, size_t len, struct expect *v)
{
	const char *p = text, *end = text + len;
	int n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (l > 9 && strncmp(p, "# expect:", 9) == 0) {
			char line[160];
			const char *q1, *q2;
			int used = 0;

			if (n == EXPECT_MAX || l >= sizeof(line))
				return -1;
			memcpy(line, p, l);
			line[l] = '\0';
			if (sscanf(line, "# expect: %u:%u: %n", &v[n].line, &v[n].col, &used) !=
			        2 ||
			    !used)
				return -1;
			q1 = strchr(line + used, '\'');
			q2 = strrchr(line + used, '\'');
			if (!q1 || q2 == q1 || (size_t)(q2 - q1 - 1) >= sizeof(v[n].word))
				return -1;
			memcpy(v[n].word, q1 + 1, (size_t)(q2 - q1 - 1));
			v[n].word[q2 - q1 - 1] = '\0';
			v[n].seen = false;
			n++;
		}
		p += l + 1;
	}
	return n;
}

static void check_bad_file(const char *path)
{
	struct expect want[EXPECT_MAX];
	struct config_errors e = {0};
	struct config *c = NULL;
	char *text = NULL;
	size_t len = 0;

	int n;

	if (read_file(path, &text, &len) < 0) {
		unit_fail(__FILE__, __LINE__, "%s: cannot read", path);
		return;
	}
	n = parse_expects(text, len, want);
	if (n <= 0)
		unit_fail(__FILE__, __LINE__, "%s: no valid '# expect: L:C: 'WORD'' line", path);
	if (config_parse(text, len, &c, &e) != -EINVAL) {
		unit_fail(__FILE__, __LINE__, "%s: parsed without error", path);
		config_free(c);
		goto out;
	}
	for (size_t i = 0; i < e.n; i++) {
		const struct config_error *x = &e.v[i];
		bool found = false;
		char buf[512];

		for (int j = 0; j < n && !found; j++)
			if (!want[j].seen && want[j].line == x->pos.line &&
			    want[j].col == x->pos.col && strcmp(want[j].word, x->word) == 0)
				found = want[j].seen = true;
		if (!found)
			unit_fail(__FILE__, __LINE__, "unexpected error %s",
			          config_error_format(x, path, buf, sizeof(buf)));
	}
	for (int j = 0; j < n; j++)
		if (!want[j].seen)
			unit_fail(__FILE__, __LINE__,
			          "%s:%u:%u: expected error at '%s' not reported", path,
			          want[j].line, want[j].col, want[j].word);
out:
	config_errors_clear(&e);
	free(text);
}

static void check_good_file(const char *path)
{
	struct config_errors e = {0};
	struct config *c = NULL;
	char *text = NULL, *r;
	size_t len = 0;
	int ret;

	if (read_file(path, &text, &len) < 0) {
		unit_fail(__FILE__, __LINE__, "%s: cannot read", path);
		return;
	}
	ret = config_parse(text, len, &c, &e);
	if (ret < 0) {
		char buf[512];

		unit_fail(__FILE__, __LINE__, "%s: %d error(s), first: %s", path, (int)e.n,
		          e.n ? config_error_format(&e.v[0], path, buf, sizeof(buf)) : "-");
	} else {
		r = config_render(c, true);
		if (!r)
			unit_fail(__FILE__, __LINE__, "%s: render failed", path);
		free(r);
	}
	config_free(c);
	config_errors_clear(&e);
	free(text);
}

TEST(config_files_bad)
{
	char *names[FILES_MAX];
	size_t n = list_conf("tests/configs/bad", names);

	/* The tree keeps at least 30 distinct wrong profiles. */
	if (n < 30)
		unit_fail(__FILE__, __LINE__, "only %zu files in tests/configs/bad", n);
	for (size_t i = 0; i < n; i++) {
		check_bad_file(names[i]);
		free(names[i]);
	}
}

TEST(config_files_good)
{
	static const char *const dirs[] = {"tests/configs/good", "docs", "docs/examples"};
	size_t total = 0;

	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char *names[FILES_MAX];
		size_t n = list_conf(dirs[d], names);

		for (size_t i = 0; i < n; i++) {
			check_good_file(names[i]);
			free(names[i]);
		}
		total += n;
	}
	if (total < 10)
		unit_fail(__FILE__, __LINE__, "only %zu good profiles found", total);
}
