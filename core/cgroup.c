/* The text of the kernel's cgroup files (see core/cgroup.h). */
#include "core/cgroup.h"

#include <errno.h>
#include <string.h>

/* One line of a text: [s, e), and where the next one starts. */
struct cgroup_line {
	const char *s, *e, *next;
};

static bool cgroup_next_line(const char **text, struct cgroup_line *l)
{
	const char *nl;

	if (!*text || !**text)
		return false;
	l->s = *text;
	nl = strchr(l->s, '\n');
	l->e = nl ? nl : l->s + strlen(l->s);
	*text = nl ? nl + 1 : l->e;
	return true;
}

/* Whether the comma-separated list [s, e) has the word w. */
static bool cgroup_has_word(const char *s, const char *e, const char *w)
{
	size_t wl = strlen(w);

	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s));
		const char *end = c ? c : e;

		if ((size_t)(end - s) == wl && memcmp(s, w, wl) == 0)
			return true;
		s = end + 1;
	}
	return false;
}

static int cgroup_copy(char *buf, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, s, len);
	buf[len] = 0;
	return 0;
}

int cgroup_self_path(const char *text, const char *controller, char *buf, size_t size)
{
	struct cgroup_line l;

	while (cgroup_next_line(&text, &l)) {
		/* hierarchy-ID:controller-list:path (the path may hold ':'). */
		const char *c1 = memchr(l.s, ':', (size_t)(l.e - l.s));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(l.e - c1 - 1)) : NULL;
		bool match;

		if (!c2 || c2 + 1 >= l.e || c2[1] != '/')
			continue;
		if (controller)
			match = cgroup_has_word(c1 + 1, c2, controller);
		else
			match = c1 - l.s == 1 && l.s[0] == '0' && c2 == c1 + 1;
		if (match)
			return cgroup_copy(buf, size, c2 + 1, (size_t)(l.e - c2 - 1));
	}
	return -ENOENT;
}

/* The next space-separated field of [*p, e). */
static bool cgroup_field(const char **p, const char *e, const char **ret_s, const char **ret_e)
{
	const char *s = *p;

	while (s < e && *s == ' ')
		s++;
	if (s >= e)
		return false;
	*ret_s = s;
	while (s < e && *s != ' ')
		s++;
	*ret_e = s;
	*p = s;
	return true;
}

/* A field of mountinfo with its octal escapes (\040 for a space) undone. */
static int cgroup_unescape(const char *s, const char *e, char *buf, size_t size)
{
	size_t n = 0;

	while (s < e) {
		char c = *s++;

		if (c == '\\' && e - s >= 3 && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' &&
		    s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
			c = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
			s += 3;
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		buf[n++] = c;
	}
	buf[n] = 0;
	return 0;
}

/* The part of path below root ("" for root itself), or NULL when root does
 * not hold path. */
static const char *cgroup_below(const char *root, const char *path)
{
	size_t rl = strlen(root);

	if (strcmp(root, "/") == 0)
		return strcmp(path, "/") == 0 ? "" : path;
	if (strncmp(path, root, rl) != 0)
		return NULL;
	if (path[rl] == 0 || path[rl] == '/')
		return path + rl;
	return NULL;
}

/* Checks one mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS
 * [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS". 0 with the directory in
 * buf, -ENOENT when the line is not the mount looked for. */
static int cgroup_mount_line(const struct cgroup_line *l, const char *controller, const char *path,
                             char *buf, size_t size, size_t *ret_top)
{
	const char *p = l->s, *fs[6], *fe[6], *s, *e, *below;
	char root[4096];
	size_t top;
	int err;

	for (size_t i = 0; i < 6; i++)
		if (!cgroup_field(&p, l->e, &fs[i], &fe[i]))
			return -ENOENT;
	/* Optional fields up to "-". */
	for (s = fs[5], e = fe[5]; !(e - s == 1 && *s == '-');)
		if (!cgroup_field(&p, l->e, &s, &e))
			return -ENOENT;
	if (!cgroup_field(&p, l->e, &s, &e))
		return -ENOENT;
	if (controller ? !(e - s == 6 && memcmp(s, "cgroup", 6) == 0)
	               : !(e - s == 7 && memcmp(s, "cgroup2", 7) == 0))
		return -ENOENT;
	/* SOURCE, then SUPER-OPTIONS. */
	if (!cgroup_field(&p, l->e, &s, &e))
		return -ENOENT;
	if (!cgroup_field(&p, l->e, &s, &e))
		return -ENOENT;
	if (controller && !cgroup_has_word(s, e, controller))
		return -ENOENT;
	if (cgroup_unescape(fs[3], fe[3], root, sizeof(root)) < 0)
		return -ENOENT;
	below = cgroup_below(root, path);
	if (!below)
		return -ENOENT;
	err = cgroup_unescape(fs[4], fe[4], buf, size);
	if (err < 0)
		return err;
	top = strlen(buf);
	if (top + strlen(below) >= size)
		return -ENAMETOOLONG;
	strcat(buf, below);
	*ret_top = top;
	return 0;
}

int cgroup_dir(const char *mountinfo, const char *controller, const char *path, char *buf,
               size_t size, size_t *ret_top)
{
	struct cgroup_line l;

	if (!path || path[0] != '/')
		return -ENOENT;
	while (cgroup_next_line(&mountinfo, &l)) {
		int err = cgroup_mount_line(&l, controller, path, buf, size, ret_top);

		if (err != -ENOENT)
			return err;
	}
	return -ENOENT;
}

bool cgroup_parent(char *dir, size_t top)
{
	size_t len = strlen(dir);

	if (len <= top)
		return false;
	while (len > top && dir[len - 1] != '/')
		len--;
	/* The slash too, unless it is all that is left of the mount point. */
	if (len > top)
		len--;
	if (len < top)
		len = top;
	dir[len] = 0;
	return true;
}

/* An unsigned number and the text after it. */
static int cgroup_number(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*ret = v;
	return 0;
}

/* Only blanks and line ends left. */
static bool cgroup_rest_blank(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return *s == 0;
}

int cgroup_parse_limit(const char *quota, const char *period, uint64_t *ret_quota_us,
                       uint64_t *ret_period_us)
{
	const char *p = quota;
	uint64_t q, per;

	while (*p == ' ' || *p == '\t')
		p++;
	/* v1 says "-1", v2 "max PERIOD". */
	if ((period && strncmp(p, "-1", 2) == 0 && cgroup_rest_blank(p + 2)) ||
	    (!period && strncmp(p, "max", 3) == 0 && (p[3] == ' ' || p[3] == '\n' || !p[3])))
		return -ENOENT;
	if (cgroup_number(&p, &q) < 0)
		return -EINVAL;
	if (period) {
		if (!cgroup_rest_blank(p))
			return -EINVAL;
		p = period;
	}
	if (cgroup_number(&p, &per) < 0 || !cgroup_rest_blank(p) || !per)
		return -EINVAL;
	*ret_quota_us = q;
	*ret_period_us = per;
	return 0;
}

int cgroup_parse_usage(const char *text, int v2, uint64_t *ret_ns)
{
	struct cgroup_line l;
	uint64_t v;

	if (!v2) {
		const char *p = text;

		if (cgroup_number(&p, &v) < 0 || !cgroup_rest_blank(p))
			return -EINVAL;
		*ret_ns = v;
		return 0;
	}
	while (cgroup_next_line(&text, &l)) {
		const char *p = l.s + 10;

		if (l.e - l.s <= 11 || memcmp(l.s, "usage_usec", 10) != 0 || *p != ' ')
			continue;
		if (cgroup_number(&p, &v) < 0 || p != l.e || v > UINT64_MAX / 1000)
			return -EINVAL;
		*ret_ns = v * 1000;
		return 0;
	}
	return -EINVAL;
}
