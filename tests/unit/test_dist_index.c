/* The (DVIPA, port, node id) hash index (core/dist_index.c), against a
 * plain list searched from end to end: random keys from a small space, so
 * that keys repeat and probes collide, through growth and resets. */
#include "core/dist_index.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>

struct ti_key {
	struct ipaddr dvipa;
	uint16_t port;
	uint32_t node_id;
};

static struct ti_key ti_random_key(unsigned *seed)
{
	struct ti_key k = {0};
	unsigned r = (unsigned)rand_r(seed);

	k.dvipa.family = r & 1 ? IPADDR_V6 : IPADDR_V4;
	k.dvipa.bytes[0] = 10;
	k.dvipa.bytes[3] = (uint8_t)(r >> 1 & 7);
	if (k.dvipa.family == IPADDR_V6)
		k.dvipa.bytes[15] = (uint8_t)(r >> 4 & 3);
	k.port = (uint16_t)(80 + (r >> 6) % 64);
	k.node_id = 1 + (r >> 12) % 32;
	return k;
}

static long ti_naive_find(const struct ti_key *v, size_t n, const struct ti_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].port == k->port && v[i].node_id == k->node_id &&
		    ipaddr_equal(&v[i].dvipa, &k->dvipa))
			return (long)i;
	return -1;
}

TEST(dist_index_against_a_list)
{
	enum { MAX_KEYS = 5000 };
	unsigned seed = (unsigned)unit_seed();
	static struct ti_key v[MAX_KEYS];
	struct dist_index x = {0};
	int rounds = unit_long_mode() ? 200 : 20;

	for (int round = 0; round < rounds; round++) {
		size_t n = 0, ops = (size_t)rand_r(&seed) % MAX_KEYS;

		dist_index_reset(&x);
		CHECK_INT(x.n, 0);
		for (size_t op = 0; op < ops; op++) {
			struct ti_key k = ti_random_key(&seed);
			long want = ti_naive_find(v, n, &k);
			size_t pos = 12345;
			int err = dist_index_find(&x, &k.dvipa, k.port, k.node_id, &pos);

			if (want < 0) {
				CHECK_INT(err, -ENOENT);
				CHECK_INT(pos, 12345);
				CHECK_INT(dist_index_add(&x, &k.dvipa, k.port, k.node_id, n), 0);
				v[n++] = k;
			} else {
				CHECK_INT(err, 0);
				CHECK_INT(pos, want);
				CHECK_INT(dist_index_add(&x, &k.dvipa, k.port, k.node_id, 7),
				          -EEXIST);
			}
			CHECK_INT(x.n, n);
			CHECK(x.n <= x.size / 2);
		}
		/* Every key still where it was put, after the growth. */
		for (size_t i = 0; i < n; i++) {
			size_t pos = 0;

			CHECK_INT(dist_index_find(&x, &v[i].dvipa, v[i].port, v[i].node_id, &pos),
			          0);
			CHECK_INT(pos, i);
		}
	}
	dist_index_clear(&x);
	dist_index_clear(NULL);
}

TEST(dist_index_edges)
{
	struct dist_index x = {0};
	struct ipaddr a = {0}, b = {0};
	size_t pos = 0, size;

	ipaddr_parse("10.0.0.10", &a);
	ipaddr_parse("::ffff:10.0.0.10", &b);
	/* Empty: nothing found, nothing allocated. */
	CHECK_INT(dist_index_find(&x, &a, 80, 1, &pos), -ENOENT);
	CHECK(x.slots == NULL);
	dist_index_reset(&x);
	/* One key; the same port and node of another family is another key. */
	CHECK_INT(dist_index_add(&x, &a, 80, 1, 0), 0);
	CHECK_INT(dist_index_find(&x, &b, 80, 1, &pos), -ENOENT);
	CHECK_INT(dist_index_find(&x, &a, 80, 2, &pos), -ENOENT);
	CHECK_INT(dist_index_find(&x, &a, 81, 1, &pos), -ENOENT);
	CHECK_INT(dist_index_add(&x, &a, 80, 1, UINT32_MAX), -ENOMEM);
	CHECK_INT(x.n, 1);
	/* A reservation makes room once; adding within it keeps the slots. */
	CHECK_INT(dist_index_reserve(&x, 1000), 0);
	size = x.size;
	CHECK(size >= 2000);
	for (uint32_t i = 0; i < 999; i++)
		CHECK_INT(dist_index_add(&x, &b, 443, i, i + 1), 0);
	CHECK_INT(x.size, size);
	CHECK_INT(dist_index_find(&x, &a, 80, 1, &pos), 0);
	CHECK_INT(pos, 0);
	CHECK_INT(dist_index_find(&x, &b, 443, 998, &pos), 0);
	CHECK_INT(pos, 999);
	/* A reset keeps the memory. */
	dist_index_reset(&x);
	CHECK_INT(x.size, size);
	CHECK_INT(dist_index_find(&x, &a, 80, 1, &pos), -ENOENT);
	dist_index_clear(&x);
	CHECK(x.slots == NULL && x.size == 0 && x.n == 0);
}
