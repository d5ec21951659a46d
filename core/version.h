/* Which dvipa this is: the release (the top-level VERSION file, or git
 * describe when there is none, baked in by the Makefile) and the versions of
 * the two protocols it speaks, for `--version` and `dvipactl show version`. */
#ifndef DVIPA_CORE_VERSION_H
#define DVIPA_CORE_VERSION_H

#include <stdbool.h>

/* "0.9.0", or "unknown" when built without the Makefile. */
const char *version_string(void);
/* The display of `dvipactl show version`, as text or JSON; NULL when out of
 * memory. */
char *version_render(bool json);

#endif
