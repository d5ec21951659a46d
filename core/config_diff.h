/* What a profile reload changes: the statements of the running profile that
 * the new one no longer has, and those it adds, one line each in a canonical
 * spelling that ignores layout, order and positions (docs/config.md,
 * "Reloading a profile"). */
#ifndef DVIPA_CORE_CONFIG_DIFF_H
#define DVIPA_CORE_CONFIG_DIFF_H

#include "core/config.h"
#include "core/strbuf.h"

/* Appends "- STATEMENT" for each statement only in old and "+ STATEMENT"
 * for each only in new, each followed by a newline, in a stable order (a
 * changed statement shows as its old and new spelling). Returns how many
 * lines it wrote (0: the profiles mean the same), or -ENOMEM. */
int config_diff(const struct config *old, const struct config *new, struct strbuf *out);

#endif
