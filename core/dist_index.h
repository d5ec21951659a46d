/* Where each target of a service is in an array the caller keeps: an
 * open-addressing hash index keyed on (DVIPA, port, node id), for the
 * per-target bookkeeping that a distributor redoes every interval over up to
 * DIST_MAX_PORTS services of DIST_MAX_TARGETS targets, and a flow table of
 * 65536 flows (core/dist_health.c, core/dist_count.c). The keys are the
 * operator's (configured DVIPAs and ports, member ids), never a client's, so
 * a fixed hash function is enough.
 *
 * No syscalls, no clock. */
#ifndef DVIPA_CORE_DIST_INDEX_H
#define DVIPA_CORE_DIST_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct dist_index_slot {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t node_id;
	uint32_t pos; /* position in the caller's array + 1; 0: a free slot */
};

/* Zero-initialised: empty. At most half of the slots are used. */
struct dist_index {
	struct dist_index_slot *slots;
	size_t size; /* a power of two, or 0 */
	size_t n;
};

/* The position of the key, or -ENOENT. *ret_pos untouched then. */
int dist_index_find(const struct dist_index *x, const struct ipaddr *dvipa, uint16_t port,
                    uint32_t node_id, size_t *ret_pos);
/* Records that the key (not in x yet) is at pos (< UINT32_MAX). 0, -EEXIST
 * when the key is there (its position unchanged), or -ENOMEM with x
 * unchanged. */
int dist_index_add(struct dist_index *x, const struct ipaddr *dvipa, uint16_t port,
                   uint32_t node_id, size_t pos);
/* Makes room for n keys in all, so that adding them cannot fail. 0 or
 * -ENOMEM (x unchanged). */
int dist_index_reserve(struct dist_index *x, size_t n);
/* Forgets every key, keeping the memory for the next round. */
void dist_index_reset(struct dist_index *x);
/* Frees the slots and zeroes *x. NULL is fine. */
void dist_index_clear(struct dist_index *x);

#endif
