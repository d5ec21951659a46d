/* Checks shared by the unit tests of the wire format (test_dist.c,
 * test_wlm.c, test_wire_conns.c). */
#ifndef DVIPA_TESTS_UNIT_DIST_WIRE_CHECK_H
#define DVIPA_TESTS_UNIT_DIST_WIRE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the decoder refuses buf[0..len), or decodes it to something that
 * encodes back to exactly those bytes. */
typedef bool wire_one_encoding_fn(const uint8_t *buf, size_t len);

/* Every single-byte change of the message encoded in buf[0..len), by each of
 * flips[0..n_flips), passes one_encoding(), unless the byte is in a record's
 * type field (the two bytes at each of types[0..n_types)): a record of a type
 * this version does not know is skipped. The first change that breaks this
 * fails the running test at file:line, and false is returned. buf is left as
 * it was. */
bool wire_flips_ok(uint8_t *buf, size_t len, const uint8_t *flips, size_t n_flips,
                   const size_t *types, size_t n_types, wire_one_encoding_fn *one_encoding,
                   const char *file, int line);

/* wire_flips_ok() for the distribution facts' records: one encoding per
 * facts through wire_dist_decode() and wire_dist_encode(). */
bool dist_wire_flips_ok(uint8_t *buf, size_t len, const uint8_t *flips, size_t n_flips,
                        const size_t *types, size_t n_types, const char *file, int line);

#endif
