/* The CONNS message: round trips, every truncation and corruption rejected,
 * one encoding per message, each malformed field, and wire_conns_sort()
 * against a naive reference. */
#include "core/wire_conns.h"
#include "tests/unit/dist_wire_check.h"
#include "tests/unit/unit.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>

static struct ipaddr tc_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

static struct wire_conn_entry tc_entry(const char *client, uint16_t client_port, uint16_t port,
                                       uint32_t node)
{
	return (struct wire_conn_entry){tc_addr(client), client_port, port, node};
}

/* Three IPv4 connections, two from the same client and port; node ids below
 * 256 so that zeroing the first byte zeroes the id. */
static struct wire_conn_entry tc_v4[3];

static void tc_sample_v4(struct wire_conns_msg *m)
{
	tc_v4[0] = tc_entry("192.0.2.1", 40000, 80, 3);
	tc_v4[1] = tc_entry("192.0.2.1", 40000, 81, 4);
	tc_v4[2] = tc_entry("192.0.2.9", 1024, 443, 3);
	*m = (struct wire_conns_msg){.sender = 3,
	                             .to = 5,
	                             .dvipa = tc_addr("10.1.1.1"),
	                             .flags = WIRE_CONNS_LAST,
	                             .n = 3,
	                             .v = tc_v4};
}

/* Field by field: the padding of struct wire_conn_entry is not data. */
static bool tc_entry_equal(const struct wire_conn_entry *a, const struct wire_conn_entry *b)
{
	return ipaddr_equal(&a->client, &b->client) && a->client_port == b->client_port &&
	       a->port == b->port && a->node == b->node;
}

static bool tc_equal(const struct wire_conns_msg *a, const struct wire_conns_msg *b)
{
	if (a->sender != b->sender || a->to != b->to || !ipaddr_equal(&a->dvipa, &b->dvipa) ||
	    a->flags != b->flags || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!tc_entry_equal(&a->v[i], &b->v[i]))
			return false;
	return true;
}

static void tc_reseal(uint8_t *buf, size_t len)
{
	uint32_t c = htole32(wire_checksum(buf, len));

	memcpy(buf + offsetof(struct wire_header, checksum), &c, sizeof(c));
}

/* decode -> encode gives the same bytes, and the decoded message equals m. */
static bool tc_roundtrip(const struct wire_conns_msg *m, const uint8_t *buf, size_t len)
{
	struct wire_conns_msg g = {0};
	size_t cap = wire_conns_size(WIRE_CONNS_MAX), len2;
	uint8_t *again = malloc(cap);
	bool ok;

	ok = again && wire_decode_conns(buf, len, &g) == 0 && tc_equal(m, &g) &&
	     wire_encode_conns(&g, again, cap, &len2) == 0 && len2 == len &&
	     memcmp(buf, again, len) == 0;
	wire_conns_msg_clear(&g);
	free(again);
	return ok;
}

TEST(wire_conns_roundtrip_v4)
{
	struct wire_conns_msg m;
	uint8_t buf[512];
	size_t len;
	enum wire_type type;

	tc_sample_v4(&m);
	CHECK_INT(wire_conns_size(3), 16 + 36 + 3 * 24);
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, wire_conns_size(3));
	CHECK_INT(wire_peek(buf, len, &type), 0);
	CHECK_INT(type, WIRE_CONNS);
	CHECK(tc_roundtrip(&m, buf, len));
	/* Little-endian on the wire whatever the host. */
	CHECK_INT(buf[5], WIRE_CONNS);
	CHECK_INT(buf[16], 3);
	CHECK_INT(buf[20], 5);
	CHECK_INT(buf[24], IPADDR_V4);
	CHECK_INT(buf[28], 10);
	CHECK_INT(buf[44], WIRE_CONNS_LAST);
	CHECK_INT(buf[48], 3);
	CHECK_INT(buf[52], 192);
	CHECK_INT(buf[52 + 16], 0x40); /* 40000 = 0x9c40 */
	CHECK_INT(buf[52 + 17], 0x9c);
	CHECK_INT(buf[52 + 18], 80);
	CHECK_INT(buf[52 + 20], 3);
	CHECK_INT(wire_encode_conns(&m, buf, len - 1, &len), -EMSGSIZE);
}

TEST(wire_conns_roundtrip_v6_handover)
{
	struct wire_conn_entry v[] = {
	    tc_entry("2001:db8::1", 50000, 443, 7),
	    tc_entry("2001:db8::1", 50000, 8443, 2),
	    tc_entry("2001:db8:ffff::2", 1, 65535, 0xfffffffe),
	};
	struct wire_conns_msg m = {.sender = 0x01020304,
	                           .to = 0xa0b0c0d0,
	                           .dvipa = tc_addr("2001:db8:100::5"),
	                           .flags = WIRE_CONNS_HANDOVER,
	                           .n = 3,
	                           .v = v};
	uint8_t buf[512];
	size_t len;

	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	CHECK(tc_roundtrip(&m, buf, len));
	CHECK_INT(buf[16], 0x04);
	CHECK_INT(buf[19], 0x01);
	CHECK_INT(buf[24], IPADDR_V6);
	m.flags = WIRE_CONNS_HANDOVER | WIRE_CONNS_LAST;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	CHECK(tc_roundtrip(&m, buf, len));
}

TEST(wire_conns_empty)
{
	struct wire_conns_msg m = {.sender = 2,
	                           .to = 1,
	                           .dvipa = tc_addr("10.1.1.1"),
	                           .flags = WIRE_CONNS_DONE | WIRE_CONNS_LAST};
	struct wire_conns_msg g = {0};
	uint8_t buf[128];
	size_t len;

	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, 16 + 36);
	CHECK(tc_roundtrip(&m, buf, len));
	CHECK_INT(wire_decode_conns(buf, len, &g), 0);
	CHECK(g.v == NULL && g.n == 0);
	/* An empty report without DONE: a node that has no connection left. */
	m.flags = WIRE_CONNS_LAST;
	m.dvipa = tc_addr("2001:db8::5");
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	CHECK(tc_roundtrip(&m, buf, len));
	wire_conns_msg_clear(&g);
	wire_conns_msg_clear(NULL);
}

TEST(wire_conns_other_types)
{
	struct wire_conns_msg m, g = {0};
	struct plex_facts f = {.node_id = 9, .seq = 1}, h = {0};
	uint8_t buf[512];
	size_t len;

	/* Neither decoder takes the other's message. */
	tc_sample_v4(&m);
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	CHECK_INT(wire_decode_facts(buf, len, &h, NULL), -EBADMSG);
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf), &len), 0);
	CHECK_INT(wire_decode_conns(buf, len, &g), -EBADMSG);
	/* The version and an unknown type have their own errors. */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	buf[4] = 2;
	tc_reseal(buf, len);
	CHECK_INT(wire_decode_conns(buf, len, &g), -EPROTONOSUPPORT);
	buf[4] = WIRE_VERSION;
	buf[5] = WIRE_TYPE_MAX;
	tc_reseal(buf, len);
	CHECK_INT(wire_decode_conns(buf, len, &g), -EOPNOTSUPP);
}

TEST(wire_conns_every_truncation_and_trailing_byte_rejected)
{
	struct wire_conns_msg m, g = {0};
	uint8_t buf[512];
	size_t len;

	tc_sample_v4(&m);
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf) - 4, &len), 0);
	for (size_t n = 0; n < len; n++) {
		int r = wire_decode_conns(buf, n, &g);

		if (r != -EBADMSG) {
			unit_fail(__FILE__, __LINE__, "truncated to %zu: %d", n, r);
			return;
		}
	}
	/* Even with the header's length and checksum made to match. */
	for (size_t n = sizeof(struct wire_header); n < len; n++) {
		uint8_t t[512];
		uint32_t l = htole32((uint32_t)n);

		memcpy(t, buf, n);
		memcpy(t + offsetof(struct wire_header, length), &l, sizeof(l));
		tc_reseal(t, n);
		if (wire_decode_conns(t, n, &g) != -EBADMSG) {
			unit_fail(__FILE__, __LINE__, "resealed truncation to %zu accepted", n);
			return;
		}
	}
	buf[len] = 0;
	CHECK_INT(wire_decode_conns(buf, len + 1, &g), -EBADMSG);
	{
		uint32_t l = htole32((uint32_t)len + 4);

		memset(buf + len, 0, 4);
		memcpy(buf + offsetof(struct wire_header, length), &l, sizeof(l));
		tc_reseal(buf, len + 4);
		CHECK_INT(wire_decode_conns(buf, len + 4, &g), -EBADMSG);
	}
}

static bool tc_one_encoding(const uint8_t *buf, size_t len)
{
	struct wire_conns_msg g;
	uint8_t t[512], out[512];
	size_t olen;
	bool same;

	memcpy(t, buf, len);
	tc_reseal(t, len);
	if (wire_decode_conns(t, len, &g) < 0)
		return true;
	same = wire_encode_conns(&g, out, sizeof(out), &olen) == 0 && olen == len &&
	       memcmp(out, t, len) == 0;
	wire_conns_msg_clear(&g);
	return same;
}

/* The checksum refuses every change as it is; resealed, a change is refused
 * or makes another message that encodes to exactly the changed bytes. */
TEST(wire_conns_every_corruption)
{
	static const uint8_t flips[] = {0x01, 0x02, 0x80, 0xff, 0x10};
	struct wire_conn_entry v[] = {
	    tc_entry("2001:db8::1", 50000, 443, 7),
	    tc_entry("2001:db8::1", 50001, 443, 2),
	};
	struct wire_conns_msg six = {.sender = 1,
	                             .to = 2,
	                             .dvipa = tc_addr("2001:db8:100::5"),
	                             .flags = WIRE_CONNS_HANDOVER,
	                             .n = 2,
	                             .v = v};
	struct wire_conns_msg done = {
	    .sender = 1, .to = 2, .dvipa = tc_addr("10.0.0.1"), .flags = WIRE_CONNS_DONE};
	struct wire_conns_msg four;
	const struct wire_conns_msg *msgs[] = {&four, &six, &done};

	tc_sample_v4(&four);
	for (size_t s = 0; s < sizeof(msgs) / sizeof(msgs[0]); s++) {
		struct wire_conns_msg g = {0};
		uint8_t buf[512];
		size_t len;

		CHECK_INT(wire_encode_conns(msgs[s], buf, sizeof(buf), &len), 0);
		for (size_t i = 0; i < len; i++) {
			for (size_t k = 0; k < sizeof(flips); k++) {
				int r;

				buf[i] ^= flips[k];
				r = wire_decode_conns(buf, len, &g);
				buf[i] ^= flips[k];
				if (r >= 0) {
					wire_conns_msg_clear(&g);
					unit_fail(__FILE__, __LINE__,
					          "message %zu: byte %zu ^ 0x%x accepted", s, i,
					          flips[k]);
					return;
				}
			}
		}
		if (!wire_flips_ok(buf, len, flips, sizeof(flips), NULL, 0, tc_one_encoding,
		                   __FILE__, __LINE__))
			return;
		CHECK(tc_roundtrip(msgs[s], buf, len));
	}
}

TEST(wire_conns_malformed_fields_rejected)
{
	enum {
		C = sizeof(struct wire_header),
		E = C + sizeof(struct wire_conns),
		E1 = E + sizeof(struct wire_conn),
		E2 = E1 + sizeof(struct wire_conn),
	};
	/* {offset, byte}: each alone makes the message invalid. */
	static const struct {
		unsigned at;
		uint8_t val;
		const char *what;
	} bad[] = {
	    {5, WIRE_FACTS, "type FACTS"},
	    {6, 1, "header flags"},
	    {C + 0, 0, "sender 0"},
	    {C + 4, 0, "to 0"},
	    {C + 8, 0, "DVIPA family 0"},
	    {C + 8, 5, "DVIPA family 5"},
	    {C + 9, 32, "DVIPA prefix"},
	    {C + 10, 1, "DVIPA address padding"},
	    {C + 11, 1, "DVIPA address padding"},
	    {C + 12 + 4, 1, "IPv4 DVIPA tail"},
	    {C + 12 + 15, 1, "IPv4 DVIPA tail"},
	    {C + 28, 0x08, "unknown flag"},
	    {C + 29, 0x01, "unknown flag (high byte)"},
	    {C + 28, WIRE_CONNS_DONE | WIRE_CONNS_LAST, "DONE with entries"},
	    {C + 30, 1, "padding"},
	    {C + 31, 1, "padding"},
	    {C + 32, 4, "count (length mismatch)"},
	    {C + 32, 2, "count (length mismatch)"},
	    {C + 35, 0x80, "count overflow"},
	    {E + 4, 1, "IPv4 client tail"},
	    {E2 + 15, 1, "IPv4 client tail"},
	    {E + 18, 0, "port 0"},
	    {E2 + 16, 0, "client port 0 (with the next byte)"},
	    {E + 20, 0, "node 0"},
	    {E1 + 18, 80, "duplicate key (other node)"},
	    {E1 + 16, 0x3f, "entries out of order (client port)"},
	    {E1 + 18, 79, "entries out of order (port)"},
	    {E2 + 3, 0, "entries out of order (client)"},
	};
	struct wire_conns_msg m;
	uint8_t buf[512];
	size_t len;

	tc_sample_v4(&m);
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wire_conns_msg g = {0};
		uint8_t t[512];
		int r;

		memcpy(t, buf, len);
		t[bad[i].at] = bad[i].val;
		if (bad[i].at == E2 + 16)
			t[E2 + 17] = 0; /* 1024 is 0x0400 */
		tc_reseal(t, len);
		r = wire_decode_conns(t, len, &g);
		if (r != -EBADMSG) {
			wire_conns_msg_clear(&g);
			unit_fail(__FILE__, __LINE__, "%s: got %d", bad[i].what, r);
		}
	}
	/* Values that are merely different stay valid. */
	{
		struct wire_conns_msg g = {0};
		uint8_t t[512];

		memcpy(t, buf, len);
		t[C + 28] = WIRE_CONNS_HANDOVER;
		t[E + 22] = 0x77;  /* a node id */
		t[E2 + 18] = 0xbc; /* the last entry's port, 443 -> 444 */
		tc_reseal(t, len);
		CHECK_INT(wire_decode_conns(t, len, &g), 0);
		CHECK_INT(g.flags, WIRE_CONNS_HANDOVER);
		CHECK_INT(g.v[0].node, 0x770003);
		CHECK_INT(g.v[2].port, 444);
		wire_conns_msg_clear(&g);
	}
	/* An IPv6 message whose DVIPA is made to look IPv4 (family and tail)
	 * still fails on its client's tail: a family mismatch cannot hide. */
	{
		struct wire_conn_entry v[] = {tc_entry("2001:db8::1", 50000, 443, 7)};
		struct wire_conns_msg six = {
		    .sender = 1, .to = 2, .dvipa = tc_addr("2001:db8::5"), .n = 1, .v = v};
		struct wire_conns_msg g = {0};

		CHECK_INT(wire_encode_conns(&six, buf, sizeof(buf), &len), 0);
		buf[C + 8] = IPADDR_V4;
		buf[C + 12 + 15] = 0;
		tc_reseal(buf, len);
		CHECK_INT(wire_decode_conns(buf, len, &g), -EBADMSG);
	}
}

TEST(wire_conns_encode_refuses_malformed)
{
	struct wire_conns_msg m;
	struct wire_conn_entry saved;
	uint8_t buf[512];
	size_t len;

	tc_sample_v4(&m);
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
	m.sender = 0;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.sender = 3;
	m.to = 0;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.to = 5;
	m.flags = 0x8;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.flags = WIRE_CONNS_DONE;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.flags = WIRE_CONNS_LAST;
	m.dvipa = (struct ipaddr){0};
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.dvipa = tc_addr("2001:db8::1"); /* entries are IPv4 */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.dvipa = tc_addr("10.1.1.1");
	m.dvipa.bytes[4] = 1;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.dvipa = tc_addr("10.1.1.1");

	saved = m.v[1];
	m.v[1] = tc_entry("2001:db8::1", 40000, 81, 4); /* family mismatch */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].client.bytes[5] = 1; /* IPv4 tail */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].node = 0;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].port = 0;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].client_port = 0;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].port = m.v[0].port; /* duplicate key, other node */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].port = 79; /* unsorted */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v[1].client_port = 39999; /* unsorted */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v[1] = saved;
	m.v = NULL; /* entries counted but missing */
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), -EINVAL);
	m.v = tc_v4;
	CHECK_INT(wire_encode_conns(&m, buf, sizeof(buf), &len), 0);
}

/* A distinct IPv6 client for each i, in ascending order. */
static struct wire_conn_entry tc_nth(size_t i)
{
	struct wire_conn_entry e = {.client = {.family = IPADDR_V6},
	                            .client_port = (uint16_t)(1 + i % 60000),
	                            .port = 443,
	                            .node = (uint32_t)(1 + i % 32)};

	e.client.bytes[0] = 0x20;
	e.client.bytes[1] = 0x01;
	e.client.bytes[13] = (uint8_t)(i >> 16);
	e.client.bytes[14] = (uint8_t)(i >> 8);
	e.client.bytes[15] = (uint8_t)i;
	return e;
}

TEST(wire_conns_largest_message)
{
	/* Room for one entry more than the largest message. */
	static uint8_t buf[WIRE_CONNS_MAX_SIZE + sizeof(struct wire_conn)];
	struct wire_conns_msg m = {.sender = 1, .to = 2, .dvipa = tc_addr("2001:db8::5")};
	struct wire_conns_msg g = {0};
	size_t cap = sizeof(buf), len;

	m.v = calloc(WIRE_CONNS_MAX + 1, sizeof(*m.v));
	CHECK(m.v);
	for (size_t i = 0; i <= WIRE_CONNS_MAX; i++)
		m.v[i] = tc_nth(i);
	m.n = WIRE_CONNS_MAX;
	CHECK_INT(wire_encode_conns(&m, buf, cap, &len), 0);
	CHECK_INT(len, wire_conns_size(WIRE_CONNS_MAX));
	CHECK(len <= WIRE_MAX_SIZE);
	CHECK(tc_roundtrip(&m, buf, len));
	/* One more is refused by both sides. */
	m.n++;
	CHECK_INT(wire_encode_conns(&m, buf, cap, &len), -EINVAL);
	{
		struct wire_conn c = {.client_port = htole16(m.v[WIRE_CONNS_MAX].client_port),
		                      .port = htole16(443),
		                      .node = htole32(1)};
		uint32_t v;

		memcpy(c.client, m.v[WIRE_CONNS_MAX].client.bytes, sizeof(c.client));
		memcpy(buf + len, &c, sizeof(c));
		len += sizeof(c);
		v = htole32(WIRE_CONNS_MAX + 1);
		memcpy(buf + sizeof(struct wire_header) + offsetof(struct wire_conns, n), &v,
		       sizeof(v));
		v = htole32((uint32_t)len);
		memcpy(buf + offsetof(struct wire_header, length), &v, sizeof(v));
		tc_reseal(buf, len);
		CHECK_INT(wire_decode_conns(buf, len, &g), -EBADMSG);
	}
	wire_conns_msg_clear(&m);
}

TEST(wire_conns_sort_basics)
{
	struct wire_conn_entry v[] = {
	    tc_entry("192.0.2.9", 1024, 443, 1), tc_entry("192.0.2.1", 40001, 80, 2),
	    tc_entry("192.0.2.1", 40000, 80, 3), tc_entry("192.0.2.9", 1024, 443, 4),
	    tc_entry("192.0.2.1", 40000, 81, 5), tc_entry("192.0.2.1", 40000, 80, 6),
	};
	size_t n = sizeof(v) / sizeof(v[0]);

	wire_conns_sort(v, &n);
	CHECK_INT(n, 4);
	CHECK_INT(v[0].client_port, 40000);
	CHECK_INT(v[0].port, 80);
	CHECK_INT(v[0].node, 3); /* the first of 3 and 6 */
	CHECK_INT(v[1].port, 81);
	CHECK_INT(v[2].client_port, 40001);
	CHECK_INT(v[3].node, 1); /* the first of 1 and 4 */
	/* Sorted input stays as it is; nothing to sort is fine. */
	wire_conns_sort(v, &n);
	CHECK_INT(n, 4);
	CHECK_INT(v[0].node, 3);
	CHECK_INT(v[3].node, 1);
	n = 0;
	wire_conns_sort(NULL, &n);
	CHECK_INT(n, 0);
}

/* The naive reference: an entry stays when no earlier one has its key. */
static size_t tc_naive_unique(const struct wire_conn_entry *v, size_t n,
                              struct wire_conn_entry *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < k && !seen; j++)
			seen = ipaddr_equal(&out[j].client, &v[i].client) &&
			       out[j].client_port == v[i].client_port && out[j].port == v[i].port;
		if (!seen)
			out[k++] = v[i];
	}
	return k;
}

/* Random lists with many equal keys (and both families), against the naive
 * reference: the same set of keys, each with the node of its first
 * occurrence, and the result a valid message. */
TEST(wire_conns_sort_differential)
{
	unsigned long seed = unit_seed();
	size_t rounds = unit_long_mode() ? 20000 : 400;
	struct wire_conn_entry *v = calloc(2048, sizeof(*v)), *ref = calloc(2048, sizeof(*ref));

	srandom((unsigned)seed);
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	CHECK(v && ref);
	for (size_t r = 0; r < rounds; r++) {
		size_t n = (size_t)random() % (r % 10 == 0 ? 2048 : 64), k, nref;
		bool sorted_in = r % 7 == 0;

		for (size_t i = 0; i < n; i++) {
			struct wire_conn_entry e = {.client = {.family = IPADDR_V4}};

			if (random() % 4 == 0)
				e.client.family = IPADDR_V6;
			e.client.bytes[3] = (uint8_t)(random() % 3);
			e.client_port = (uint16_t)(1 + random() % 4);
			e.port = (uint16_t)(1 + random() % 3);
			e.node = (uint32_t)(1 + i);
			v[i] = e;
		}
		if (sorted_in) {
			k = n;
			wire_conns_sort(v, &k);
			n = k;
		}
		nref = tc_naive_unique(v, n, ref);
		k = n;
		wire_conns_sort(v, &k);
		if (k != nref) {
			unit_fail(__FILE__, __LINE__, "seed %lu round %zu: %zu kept, want %zu",
			          seed, r, k, nref);
			break;
		}
		for (size_t i = 0; i < k; i++) {
			bool found = false;

			for (size_t j = 0; j < nref && !found; j++)
				found = tc_entry_equal(&ref[j], &v[i]);
			if (!found) {
				unit_fail(__FILE__, __LINE__, "seed %lu round %zu: entry %zu", seed,
				          r, i);
				goto out;
			}
		}
		/* Each family's part is a valid message. */
		for (size_t i = 0; i < k;) {
			struct wire_conns_msg m = {.sender = 1, .to = 2, .v = v + i};
			uint8_t buf[sizeof(struct wire_header) + sizeof(struct wire_conns) +
			            2048 * sizeof(struct wire_conn)];
			size_t len;

			while (i + m.n < k && v[i + m.n].client.family == v[i].client.family)
				m.n++;
			m.dvipa = v[i].client.family == IPADDR_V4 ? tc_addr("10.0.0.1")
			                                          : tc_addr("2001:db8::1");
			if (wire_encode_conns(&m, buf, sizeof(buf), &len) != 0) {
				unit_fail(__FILE__, __LINE__, "seed %lu round %zu: not sorted",
				          seed, r);
				goto out;
			}
			i += m.n;
		}
	}
out:
	free(v);
	free(ref);
}

/* Large inputs: reversed, and already sorted (linear). */
TEST(wire_conns_sort_large)
{
	size_t n = 200000, k;
	struct wire_conn_entry *v = calloc(n, sizeof(*v));

	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	CHECK(v);
	for (size_t i = 0; i < n; i++)
		v[i] = tc_nth(n - 1 - i);
	k = n;
	wire_conns_sort(v, &k);
	CHECK_INT(k, n);
	for (size_t i = 0; i < n; i++) {
		struct wire_conn_entry want = tc_nth(i);

		if (!tc_entry_equal(&v[i], &want)) {
			unit_fail(__FILE__, __LINE__, "entry %zu", i);
			break;
		}
	}
	wire_conns_sort(v, &k);
	CHECK_INT(k, n);
	free(v);
}
