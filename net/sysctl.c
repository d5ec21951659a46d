/* Network sysctls (see net/sysctl.h). */
#include "net/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ipaddr.h"

#define SYSCTL_ROOT       "/proc/sys/net/"
#define SYSCTL_PATH_MAX   256
#define SYSCTL_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */

/* One path component: not empty, not "." or "..", from a small alphabet, so
 * that a name from a config file can never walk out of /proc/sys/net. */
static bool sysctl_component_ok(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int sysctl_full_path(const char *path, char *buf, size_t size)
{
	const char *p = path;
	int n;

	if (!path || !*path)
		return -EINVAL;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!sysctl_component_ok(p, len))
			return -EINVAL;
		if (!slash)
			break;
		p = slash + 1;
	}
	n = snprintf(buf, size, SYSCTL_ROOT "%s", path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int sysctl_get(const char *path, int *ret_value)
{
	char full[SYSCTL_PATH_MAX];
	char text[64];
	char *end;
	ssize_t len;
	long v;
	int fd;
	int r;

	r = sysctl_full_path(path, full, sizeof(full));
	if (r < 0)
		return r;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, text, sizeof(text) - 1);
	r = len < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	text[len] = '\0';
	errno = 0;
	v = strtol(text, &end, 10);
	/* One integer and its newline; a knob holding several values (e.g.
	 * ip_local_port_range) is not one of ours. */
	if (errno || end == text || (*end != '\n' && *end != '\0') || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*ret_value = (int)v;
	return 0;
}

int sysctl_set(const char *path, int value)
{
	char full[SYSCTL_PATH_MAX];
	char text[32];
	ssize_t len;
	int n;
	int fd;
	int r;

	r = sysctl_full_path(path, full, sizeof(full));
	if (r < 0)
		return r;
	n = snprintf(text, sizeof(text), "%d\n", value);
	fd = open(full, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, text, (size_t)n);
	r = len < 0 ? -errno : (len == n ? 0 : -EIO);
	/* procfs reports a refused value at write(); close() has no news. */
	close(fd);
	return r;
}

static int sysctl_if_path(int family, const char *ifname, const char *key, char *buf, size_t size)
{
	const char *fam;
	int n;

	if (family == IPADDR_V4)
		fam = "ipv4";
	else if (family == IPADDR_V6)
		fam = "ipv6";
	else
		return -EINVAL;
	if (!ifname || !key || strlen(ifname) >= SYSCTL_IFNAME_MAX || strchr(ifname, '/') ||
	    strchr(key, '/'))
		return -EINVAL;
	n = snprintf(buf, size, "%s/conf/%s/%s", fam, ifname, key);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int sysctl_if_get(int family, const char *ifname, const char *key, int *ret_value)
{
	char path[SYSCTL_PATH_MAX];
	int r;

	r = sysctl_if_path(family, ifname, key, path, sizeof(path));
	if (r < 0)
		return r;
	return sysctl_get(path, ret_value);
}

int sysctl_if_set(int family, const char *ifname, const char *key, int value, int *ret_old)
{
	char path[SYSCTL_PATH_MAX];
	int old = 0;
	int r;

	r = sysctl_if_path(family, ifname, key, path, sizeof(path));
	if (r < 0)
		return r;
	if (ret_old) {
		r = sysctl_get(path, &old);
		if (r < 0)
			return r;
	}
	r = sysctl_set(path, value);
	if (r < 0)
		return r;
	if (ret_old)
		*ret_old = old;
	return 0;
}
