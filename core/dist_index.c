/* An open-addressing hash index of (DVIPA, port, node id) keys (see
 * core/dist_index.h): linear probing in a power-of-two table at most half
 * full, so that a probe ends after about two slots. */
#include "core/dist_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DIST_INDEX_MIN 64

/* The 64-bit finaliser of MurmurHash3: every key bit moves every hash bit,
 * so that neighbouring ports and node ids spread over the table. */
static uint64_t dist_index_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static size_t dist_index_hash(const struct ipaddr *dvipa, uint16_t port, uint32_t node_id)
{
	uint64_t lo, hi;

	memcpy(&lo, dvipa->bytes, sizeof(lo));
	memcpy(&hi, dvipa->bytes + sizeof(lo), sizeof(hi));
	return (size_t)dist_index_mix(dist_index_mix(lo ^ dvipa->family) ^ hi ^
	                              ((uint64_t)port << 32 | node_id));
}

static bool dist_index_is(const struct dist_index_slot *s, const struct ipaddr *dvipa,
                          uint16_t port, uint32_t node_id)
{
	return s->port == port && s->node_id == node_id && ipaddr_equal(&s->dvipa, dvipa);
}

/* The slot of the key, or the free slot where it goes. x->size > 0. */
static struct dist_index_slot *dist_index_slot(const struct dist_index *x,
                                               const struct ipaddr *dvipa, uint16_t port,
                                               uint32_t node_id)
{
	size_t mask = x->size - 1;
	size_t i = dist_index_hash(dvipa, port, node_id) & mask;

	/* The table is never full: a free slot ends the probe. */
	while (x->slots[i].pos && !dist_index_is(&x->slots[i], dvipa, port, node_id))
		i = (i + 1) & mask;
	return &x->slots[i];
}

int dist_index_find(const struct dist_index *x, const struct ipaddr *dvipa, uint16_t port,
                    uint32_t node_id, size_t *ret_pos)
{
	const struct dist_index_slot *s;

	if (!x->n)
		return -ENOENT;
	s = dist_index_slot(x, dvipa, port, node_id);
	if (!s->pos)
		return -ENOENT;
	*ret_pos = s->pos - 1;
	return 0;
}

int dist_index_reserve(struct dist_index *x, size_t n)
{
	struct dist_index bigger = {0};
	size_t size = x->size ? x->size : DIST_INDEX_MIN;

	while (size / 2 < n) {
		if (size > SIZE_MAX / 2 / sizeof(*x->slots))
			return -ENOMEM;
		size *= 2;
	}
	if (size == x->size)
		return 0;
	bigger.slots = calloc(size, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	bigger.size = size;
	for (size_t i = 0; i < x->size; i++)
		if (x->slots[i].pos)
			*dist_index_slot(&bigger, &x->slots[i].dvipa, x->slots[i].port,
			                 x->slots[i].node_id) = x->slots[i];
	bigger.n = x->n;
	free(x->slots);
	*x = bigger;
	return 0;
}

int dist_index_add(struct dist_index *x, const struct ipaddr *dvipa, uint16_t port,
                   uint32_t node_id, size_t pos)
{
	struct dist_index_slot *s;
	int err;

	if (pos >= UINT32_MAX)
		return -ENOMEM;
	err = dist_index_reserve(x, x->n + 1);
	if (err < 0)
		return err;
	s = dist_index_slot(x, dvipa, port, node_id);
	if (s->pos)
		return -EEXIST;
	*s = (struct dist_index_slot){
	    .dvipa = *dvipa, .port = port, .node_id = node_id, .pos = (uint32_t)pos + 1};
	x->n++;
	return 0;
}

void dist_index_reset(struct dist_index *x)
{
	if (x->n)
		memset(x->slots, 0, x->size * sizeof(*x->slots));
	x->n = 0;
}

void dist_index_clear(struct dist_index *x)
{
	if (!x)
		return;
	free(x->slots);
	memset(x, 0, sizeof(*x));
}
