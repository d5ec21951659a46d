/* The operator state file (core/opstate.h) on disk: read once at start,
 * written again after every operator command that changes it. */
#ifndef DVIPA_DAEMON_OPFILE_H
#define DVIPA_DAEMON_OPFILE_H

#include "core/opstate.h"

/* Where it lives when no state directory is given. */
#define OPFILE_DIR_DEFAULT "/var/lib/dvipa"
#define OPFILE_NAME        "operator"

/* Reads path into ret. A missing file is an empty state; a line with an
 * error is logged (file:line:col) and skipped. 0, or -errno when the file
 * exists but cannot be read (ret is then empty). */
int opfile_load(const char *path, struct opstate *ret);

/* Writes s to path atomically (a temporary file renamed over it, creating
 * the directory if needed); an empty state removes the file. 0 or -errno. */
int opfile_save(const char *path, const struct opstate *s);

#endif
