/* See dist_wire_check.h. */
#include "tests/unit/dist_wire_check.h"

#include <string.h>

#include "core/dist.h"
#include "core/wire_dist.h"
#include "tests/unit/unit.h"

bool wire_flips_ok(uint8_t *buf, size_t len, const uint8_t *flips, size_t n_flips,
                   const size_t *types, size_t n_types, wire_one_encoding_fn *one_encoding,
                   const char *file, int line)
{
	for (size_t i = 0; i < len; i++) {
		bool type_field = false;

		for (size_t k = 0; k < n_types; k++)
			type_field |= i == types[k] || i == types[k] + 1;
		for (size_t k = 0; k < n_flips; k++) {
			bool same;

			buf[i] ^= flips[k];
			same = one_encoding(buf, len);
			buf[i] ^= flips[k];
			if (!same && !type_field) {
				unit_fail(file, line, "byte %zu ^ 0x%x decoded to something else",
				          i, flips[k]);
				return false;
			}
		}
	}
	return true;
}

static bool dist_wire_one_encoding(const uint8_t *buf, size_t len)
{
	uint8_t out[8192];
	struct dist_facts g;
	size_t olen;
	bool same;

	if (wire_dist_decode(buf, len, &g) < 0)
		return true;
	same = wire_dist_encode(&g, out, sizeof(out), &olen) == 0 && olen == len &&
	       memcmp(out, buf, len) == 0;
	dist_facts_clear(&g);
	return same;
}

bool dist_wire_flips_ok(uint8_t *buf, size_t len, const uint8_t *flips, size_t n_flips,
                        const size_t *types, size_t n_types, const char *file, int line)
{
	return wire_flips_ok(buf, len, flips, n_flips, types, n_types, dist_wire_one_encoding, file,
	                     line);
}
