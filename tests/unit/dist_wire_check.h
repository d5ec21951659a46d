/* A check shared by the unit tests of the distribution facts' wire format
 * (test_dist.c, test_wlm.c). */
#ifndef DVIPA_TESTS_UNIT_DIST_WIRE_CHECK_H
#define DVIPA_TESTS_UNIT_DIST_WIRE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every single-byte change of the facts encoded in buf[0..len), by each of
 * flips[0..n_flips), is refused by wire_dist_decode() or decodes to facts
 * that encode back to exactly the changed bytes (one encoding per facts),
 * unless the byte is in a record's type field (the two bytes at each of
 * types[0..n_types)): a record of a type this version does not know is
 * skipped. The first change that breaks this fails the running test at
 * file:line, and false is returned. buf is left as it was. */
bool dist_wire_flips_ok(uint8_t *buf, size_t len, const uint8_t *flips, size_t n_flips,
                        const size_t *types, size_t n_types, const char *file, int line);

#endif
