/* The operator's state that outlives a dvipad restart (docs/config.md,
 * "Operator state"): leave, deactivate and quiesce, kept in a small text
 * file so that an operator can drain a node, restart or upgrade dvipad and
 * then undo it with join, reactivate and resume.
 *
 * The file, one statement a line, '#' starts a comment:
 *   leave
 *   deactivate 10.0.0.10
 *   quiesce all
 *   quiesce 80
 * Parsing is pure; the daemon reads and writes the file. */
#ifndef DVIPA_CORE_OPSTATE_H
#define DVIPA_CORE_OPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/ipaddr.h"

/* More would be a file that is not ours. */
#define OPSTATE_ITEMS_MAX 4096

struct opstate {
	bool left;
	size_t n_deactivated;
	struct ipaddr *deactivated;
	bool quiesce_all;
	size_t n_quiesced;
	uint16_t *quiesced;
};

/* Parses text into ret (cleared first). Lines with errors are skipped and
 * reported in errs (which may be NULL); the rest is kept, so that one bad
 * line never loses the others. Returns the number of errors, or -ENOMEM. */
int opstate_parse(const char *text, size_t len, struct opstate *ret, struct config_errors *errs);

/* The file's text (caller frees), NULL and errno on failure. */
char *opstate_render(const struct opstate *s);

/* True when there is nothing to keep. */
bool opstate_empty(const struct opstate *s);

/* Frees the arrays and zeroes *s. NULL is fine. */
void opstate_clear(struct opstate *s);

#endif
