#include "daemon/opfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/file.h"
#include "daemon/log.h"

/* A few thousand short lines at most (OPSTATE_ITEMS_MAX). */
#define OPFILE_SIZE_MAX (256u * 1024)

int opfile_load(const char *path, struct opstate *ret)
{
	struct config_errors errs = {0};
	char *text = NULL, line[512];
	size_t len = 0;
	int err;

	opstate_clear(ret);
	err = file_read(path, OPFILE_SIZE_MAX, true, &text, &len);
	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	err = opstate_parse(text, len, ret, &errs);
	free(text);
	if (err < 0)
		return err;
	for (size_t i = 0; i < errs.n; i++)
		log_warn("%s (line skipped)",
		         config_error_format(&errs.v[i], path, line, sizeof(line)));
	config_errors_clear(&errs);
	return 0;
}

static int opfile_mkdir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return 0;
	if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int opfile_save(const char *path, const struct opstate *s)
{
	char tmp[4096];
	char *text = NULL;
	size_t len, off = 0;
	int fd = -1, err = 0;

	if (opstate_empty(s))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	text = opstate_render(s);
	if (!text)
		return -errno;
	err = opfile_mkdir(path);
	if (err < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	/* The rename must not land before the bytes do. */
	if (fsync(fd) < 0 || rename(tmp, path) < 0)
		err = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (err < 0 && fd >= 0)
		unlink(tmp);
	free(text);
	return err;
}
