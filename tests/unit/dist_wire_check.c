/* See dist_wire_check.h. */
#include "tests/unit/dist_wire_check.h"

#include <string.h>

#include "core/dist.h"
#include "core/wire_dist.h"
#include "tests/unit/unit.h"

bool dist_wire_flips_ok(uint8_t *buf, size_t len, const uint8_t *flips, size_t n_flips,
                        const size_t *types, size_t n_types, const char *file, int line)
{
	uint8_t out[8192];
	struct dist_facts g;
	size_t olen;

	for (size_t i = 0; i < len; i++) {
		bool type_field = false;

		for (size_t k = 0; k < n_types; k++)
			type_field |= i == types[k] || i == types[k] + 1;
		for (size_t k = 0; k < n_flips; k++) {
			bool same = true;

			buf[i] ^= flips[k];
			if (wire_dist_decode(buf, len, &g) == 0) {
				same = wire_dist_encode(&g, out, sizeof(out), &olen) == 0 &&
				       olen == len && memcmp(out, buf, len) == 0;
				dist_facts_clear(&g);
			}
			buf[i] ^= flips[k];
			if (!same && !type_field) {
				unit_fail(file, line, "byte %zu ^ 0x%x decoded to other facts", i,
				          flips[k]);
				return false;
			}
		}
	}
	return true;
}
