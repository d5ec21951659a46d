/* Reading a whole file: a profile, a /proc or cgroup file (whose size
 * stat() does not know). */
#ifndef DVIPA_DAEMON_FILE_H
#define DVIPA_DAEMON_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* The whole of path, NUL-terminated, in a malloc'd *ret (its length without
 * the NUL in *ret_len, which may be NULL). With regular, anything but a
 * regular file is refused (-EISDIR for a directory, else -EINVAL). 0, or
 * -errno of open/read, -EFBIG when longer than max, -ENOMEM. */
int file_read(const char *path, size_t max, bool regular, char **ret, size_t *ret_len);

#endif
