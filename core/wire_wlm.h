/* The WLM record of a FACTS message's extension section (core/wire_wlm.c):
 * a node's workload report (struct wlm_report) as the value of one
 * WIRE_EXT_WLM record. core/wire_dist.c places it among the distributor's
 * records (after WIRE_EXT_PLEX_ADDRS) and calls these functions. The rules
 * of core/wire.h hold: little-endian, exact layouts, zero padding and
 * reserved fields, one encoding per report.
 *
 * Value:
 *   struct wire_wlm
 *   n_dvipas x (struct wire_wlm_dvipa, n_ports x struct wire_wlm_port)
 * DVIPAs ascending and unique, ports ascending within each; only servers
 * below WLM_EFFICIENCY_FULL are listed. At most one record; none when the
 * report says nothing (no capacity, no server). */
#ifndef DVIPA_CORE_WIRE_WLM_H
#define DVIPA_CORE_WIRE_WLM_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire.h"
#include "core/wlm.h"

/* wire_wlm.flags */
#define WIRE_WLM_CAPACITY 0x0001u /* capacity is measured */

struct wire_wlm {
	uint32_t capacity; /* spare CPU in millicpus; 0 without WIRE_WLM_CAPACITY */
	uint16_t flags;    /* WIRE_WLM_* */
	uint16_t n_dvipas; /* groups that follow */
};

struct wire_wlm_dvipa {
	struct wire_addr dvipa; /* prefix_len 0 */
	uint16_t n_ports;       /* >= 1 */
	uint16_t pad;
};

struct wire_wlm_port {
	uint16_t port;      /* not 0 */
	uint8_t efficiency; /* 0 .. WLM_EFFICIENCY_FULL - 1 */
	uint8_t pad;
};

_Static_assert(sizeof(struct wire_wlm) == 8, "wire_wlm layout");
_Static_assert(sizeof(struct wire_wlm_dvipa) == 24, "wire_wlm_dvipa layout");
_Static_assert(sizeof(struct wire_wlm_port) == 4, "wire_wlm_port layout");
/* The largest record (every server of its own DVIPA) fits its 16-bit length. */
_Static_assert(sizeof(struct wire_wlm) + WLM_MAX_SERVERS * (sizeof(struct wire_wlm_dvipa) +
                                                            sizeof(struct wire_wlm_port)) <=
                   UINT16_MAX,
               "largest WLM record");

/* Bytes of the record's value for r; 0 when r says nothing (no record). */
size_t wire_wlm_value_size(const struct wlm_report *r);
/* Writes the value (wire_wlm_value_size() bytes, zeroed by the caller) of a
 * report that passes wlm_report_check(). */
void wire_wlm_put(const struct wlm_report *r, uint8_t *v);
/* Decodes a value of vlen bytes into *ret (cleared by the caller with
 * wlm_report_clear()). 0, -EBADMSG when malformed (also against
 * wlm_report_check()), -ENOMEM; *ret untouched on failure. */
int wire_wlm_get(const uint8_t *v, size_t vlen, struct wlm_report *ret);

#endif
