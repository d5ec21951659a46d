#include "daemon/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > PROFILE_SIZE_MAX) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

int profile_load(const char *path, struct config **ret, struct config_errors *errs)
{
	char *text = NULL;
	size_t len = 0;
	int err;

	err = read_file(path, &text, &len);
	if (err < 0)
		return err;
	err = config_parse(text, len, ret, errs);
	free(text);
	return err;
}

size_t profile_print_errors(const char *path, const struct config_errors *errs)
{
	char line[512];

	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", config_error_format(&errs->v[i], path, line, sizeof(line)));
	return errs->n;
}
