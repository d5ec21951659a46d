#include "daemon/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read(const char *path, size_t max, bool regular, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (regular) {
		if (fstat(fd, &st) < 0) {
			err = -errno;
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
			goto out;
		}
	}
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap - 1) {
			/* Room for max bytes and the NUL, then one more byte
			 * to tell a file of exactly max from a longer one. */
			size_t want = cap * 2 > max + 2 ? max + 2 : cap * 2;
			char *b = want > cap ? realloc(buf, want) : NULL;

			if (want <= cap) {
				err = -EFBIG;
				goto out;
			}
			if (!b) {
				err = -ENOMEM;
				goto out;
			}
			buf = b;
			cap = want;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			err = -EFBIG;
			goto out;
		}
	}
	buf[len] = 0;
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}
