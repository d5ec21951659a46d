/* Reading a node profile from a file (the parser itself is core/config.c). */
#ifndef DVIPA_DAEMON_PROFILE_H
#define DVIPA_DAEMON_PROFILE_H

#include "core/config.h"

/* Profiles are small; anything larger is a mistake (a wrong file). */
#define PROFILE_SIZE_MAX (1u << 20)

/* Reads and parses path. Returns 0 and a config, -EINVAL with errs filled
 * when the profile has errors, or another -errno when the file cannot be
 * read (-EFBIG when larger than PROFILE_SIZE_MAX). */
int profile_load(const char *path, struct config **ret, struct config_errors *errs);

/* Prints every error of errs as "path:line:col: message" to stderr, and
 * returns how many were printed. */
size_t profile_print_errors(const char *path, const struct config_errors *errs);

#endif
