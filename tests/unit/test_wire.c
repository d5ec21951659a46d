/* The node <-> node wire codec: round trips, and every truncation,
 * corruption and malformed field rejected. */
#include "core/wire.h"
#include "tests/unit/unit.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>

static struct ipaddr wt_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

/* Facts with something in every field, IPv4 and IPv6. */
static void wt_sample(struct plex_facts *f)
{
	static const char *const dv[] = {"10.0.0.1", "10.0.0.2", "2001:db8::10"};

	memset(f, 0, sizeof(*f));
	f->node_id = 0x01020304;
	f->flags = PLEX_FACTS_LEFT;
	f->seq = 0x1122334455667788ull;
	snprintf(f->name, sizeof(f->name), "node-a.example");
	f->plex_addr = wt_addr("192.168.1.10");
	f->n_defs = 3;
	f->defs = calloc(3, sizeof(*f->defs));
	for (int i = 0; i < 3; i++) {
		f->defs[i].dvipa = wt_addr(dv[i]);
		f->defs[i].prefix_len = i == 2 ? 64 : 24;
		f->defs[i].kind = i == 0 ? CONFIG_VIPADEFINE : CONFIG_VIPABACKUP;
		f->defs[i].rank = i == 0 ? CONFIG_RANK_OWNER : (uint8_t)(10 * i);
		f->defs[i].moveable = (uint8_t)i;
	}
	f->n_deactivated = 1;
	f->deactivated = calloc(1, sizeof(*f->deactivated));
	f->deactivated[0] = wt_addr("10.0.0.2");
	f->n_held = 2;
	f->held = calloc(2, sizeof(*f->held));
	f->held[0] = (struct plex_held){wt_addr("10.0.0.1"), PLEX_HELD_ACTIVE, 7, 1700000000};
	f->held[1] = (struct plex_held){wt_addr("2001:db8::10"), PLEX_HELD_CLAIMED, 0, 0};
	f->n_known = 2;
	f->known = calloc(2, sizeof(*f->known));
	f->known[0] = wt_addr("10.0.0.1");
	f->known[1] = wt_addr("10.9.9.9");
}

static bool wt_equal(const struct plex_facts *a, const struct plex_facts *b)
{
	return a->node_id == b->node_id && a->flags == b->flags && a->seq == b->seq &&
	       strcmp(a->name, b->name) == 0 &&
	       memcmp(&a->plex_addr, &b->plex_addr, sizeof(a->plex_addr)) == 0 &&
	       a->n_defs == b->n_defs &&
	       (!a->n_defs || memcmp(a->defs, b->defs, a->n_defs * sizeof(*a->defs)) == 0) &&
	       a->n_deactivated == b->n_deactivated &&
	       (!a->n_deactivated || memcmp(a->deactivated, b->deactivated,
	                                    a->n_deactivated * sizeof(*a->deactivated)) == 0) &&
	       a->n_held == b->n_held &&
	       (!a->n_held || memcmp(a->held, b->held, a->n_held * sizeof(*a->held)) == 0) &&
	       a->n_known == b->n_known &&
	       (!a->n_known || memcmp(a->known, b->known, a->n_known * sizeof(*a->known)) == 0);
}

/* Recomputes the checksum after a deliberate change, so that the change
 * itself is what the decoder judges. */
static void wt_reseal(uint8_t *buf, size_t len)
{
	uint32_t c = htole32(wire_checksum(buf, len));

	memcpy(buf + offsetof(struct wire_header, checksum), &c, sizeof(c));
}

TEST(wire_crc32c_vector)
{
	/* A header-sized prefix of zeros, then the standard check string: the
	 * value was computed independently with the reflected polynomial
	 * 0x82f63b78 (which gives 0xe3069283 for "123456789" alone). */
	uint8_t buf[16 + 9] = {0};
	uint32_t want = 0x455245a0;

	/* Bytes, not a string: no terminating NUL. */
	// NOLINTNEXTLINE(bugprone-not-null-terminated-result)
	memcpy(buf + 16, "123456789", 9);
	CHECK_INT(wire_checksum(buf, sizeof(buf)), want);
	/* The checksum field itself does not count. */
	buf[12] = 0xaa;
	buf[15] = 0x55;
	CHECK_INT(wire_checksum(buf, sizeof(buf)), want);
	buf[0] = 1;
	CHECK(wire_checksum(buf, sizeof(buf)) != want);
}

TEST(wire_roundtrip)
{
	struct plex_facts f, g = {0};
	struct wire_ext ext;
	uint8_t buf[4096], buf2[4096];
	size_t len, len2;
	enum wire_type type;

	wt_sample(&f);
	CHECK_INT(wire_facts_size(&f, 0), 16 + 120 + 3 * 24 + 20 + 2 * 40 + 2 * 20);
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, wire_facts_size(&f, 0));
	CHECK_INT(wire_peek(buf, len, &type), 0);
	CHECK_INT(type, WIRE_FACTS);
	CHECK_INT(wire_decode_facts(buf, len, &g, &ext), 0);
	CHECK(wt_equal(&f, &g));
	CHECK(ext.len == 0 && ext.data == NULL);
	CHECK_INT(wire_encode_facts(&g, NULL, 0, buf2, sizeof(buf2), &len2), 0);
	CHECK_INT(len2, len);
	CHECK(memcmp(buf, buf2, len) == 0);
	/* Little-endian on the wire whatever the host. */
	CHECK_INT(buf[0], 'D');
	CHECK_INT(buf[3], 'X');
	CHECK_INT(buf[16], 0x04);
	CHECK_INT(buf[19], 0x01);
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, len - 1, &len2), -EMSGSIZE);
	plex_facts_clear(&f);
	plex_facts_clear(&g);
}

TEST(wire_roundtrip_empty_and_ext)
{
	struct plex_facts f = {.node_id = 9, .seq = 1}, g = {0};
	/* Two records: an unknown type 77 with 5 bytes, one of a known type with 0
	 * (wire.c checks the framing only). */
	uint8_t ext[] = {77, 0, 5, 0, 1, 2, 3, 4, 5, 0, 0, 0, WIRE_EXT_WLM, 0, 0, 0};
	struct wire_ext got;
	uint8_t buf[512], buf2[512];
	size_t len, len2;

	CHECK_INT(wire_encode_facts(&f, ext, sizeof(ext), buf, sizeof(buf), &len), 0);
	CHECK_INT(wire_decode_facts(buf, len, &g, &got), 0);
	CHECK(wt_equal(&f, &g));
	CHECK_INT(got.len, sizeof(ext));
	CHECK(memcmp(got.data, ext, sizeof(ext)) == 0);
	CHECK_INT(wire_encode_facts(&g, got.data, got.len, buf2, sizeof(buf2), &len2), 0);
	CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
	plex_facts_clear(&g);

	/* Malformed extension sections are refused by the encoder too. */
	ext[2] = 13; /* record longer than the section */
	CHECK_INT(wire_encode_facts(&f, ext, sizeof(ext), buf, sizeof(buf), &len), -EINVAL);
	ext[2] = 5;
	ext[9] = 1; /* non-zero padding */
	CHECK_INT(wire_encode_facts(&f, ext, sizeof(ext), buf, sizeof(buf), &len), -EINVAL);
	ext[9] = 0;
	CHECK_INT(wire_encode_facts(&f, ext, 6, buf, sizeof(buf), &len), -EINVAL);
	ext[0] = 0; /* type 0 */
	ext[1] = 0;
	CHECK_INT(wire_encode_facts(&f, ext, sizeof(ext), buf, sizeof(buf), &len), -EINVAL);
}

TEST(wire_every_truncation_and_trailing_byte_rejected)
{
	struct plex_facts f, g = {0};
	uint8_t buf[4096];
	size_t len;

	wt_sample(&f);
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf) - 1, &len), 0);
	for (size_t n = 0; n < len; n++) {
		int r = wire_decode_facts(buf, n, &g, NULL);

		if (r != -EBADMSG) {
			unit_fail(__FILE__, __LINE__, "truncated to %zu: %d", n, r);
			break;
		}
	}
	/* Even with the header's length and checksum made to match. */
	for (size_t n = sizeof(struct wire_header); n < len; n++) {
		uint8_t t[4096];
		uint32_t l = htole32((uint32_t)n);

		memcpy(t, buf, n);
		memcpy(t + offsetof(struct wire_header, length), &l, sizeof(l));
		wt_reseal(t, n);
		if (wire_decode_facts(t, n, &g, NULL) != -EBADMSG) {
			unit_fail(__FILE__, __LINE__, "resealed truncation to %zu accepted", n);
			break;
		}
	}
	buf[len] = 0;
	CHECK_INT(wire_decode_facts(buf, len + 1, &g, NULL), -EBADMSG);
	{
		uint32_t l = htole32((uint32_t)len + 4);

		memset(buf + len, 0, 4);
		memcpy(buf + offsetof(struct wire_header, length), &l, sizeof(l));
		wt_reseal(buf, len + 4);
		CHECK_INT(wire_decode_facts(buf, len + 4, &g, NULL), -EBADMSG);
	}
	plex_facts_clear(&f);
}

TEST(wire_every_corruption_rejected)
{
	struct plex_facts f, g = {0};
	uint8_t buf[4096];
	size_t len;
	static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x10};

	wt_sample(&f);
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf), &len), 0);
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(flips); k++) {
			int r;

			buf[i] ^= flips[k];
			r = wire_decode_facts(buf, len, &g, NULL);
			buf[i] ^= flips[k];
			if (r >= 0) {
				plex_facts_clear(&g);
				unit_fail(__FILE__, __LINE__, "byte %zu ^ 0x%x accepted", i,
				          flips[k]);
				return;
			}
		}
	}
	CHECK_INT(wire_decode_facts(buf, len, &g, NULL), 0);
	plex_facts_clear(&g);
	plex_facts_clear(&f);
}

TEST(wire_malformed_fields_rejected)
{
	struct plex_facts f;
	enum {
		H = sizeof(struct wire_header),
		F = H,
		DEFS = H + sizeof(struct wire_facts),
		DEACT = DEFS + 3 * 24,
		HELD = DEACT + 20,
		KNOWN = HELD + 2 * 40,
	};
	/* {offset, byte}: each alone makes the message invalid. */
	static const struct {
		unsigned at;
		uint8_t val;
		const char *what;
	} bad[] = {
	    {0, 0, "magic"},
	    {5, 0, "type 0"},
	    {6, 1, "header flags"},
	    {F + 0, 0, "node id 0 (with the other bytes)"},
	    {F + 4, 2, "unknown facts flag"},
	    {F + 16, 5, "plex address family"},
	    {F + 17, 8, "plex address prefix"},
	    {F + 18, 1, "plex address padding"},
	    {F + 24, 1, "IPv4 plex address tail"},
	    {F + 36, PLEX_NAME_MAX + 1, "name too long"},
	    {F + 36, 3, "name bytes past its length"},
	    {F + 37, 1, "facts padding"},
	    {F + 40, 0x01, "control character in name"},
	    {F + 40, 0, "NUL inside the name"},
	    {F + 105, 0x10, "defs count"},
	    {F + 104, 2, "defs count (length mismatch)"},
	    {F + 106, 2, "deactivated count"},
	    {F + 108, 3, "held count"},
	    {F + 110, 1, "count padding"},
	    {F + 112, 3, "known count"},
	    {F + 115, 0x80, "known count overflow"},
	    {F + 116, 4, "extension length"},
	    {F + 119, 0xff, "extension length overflow"},
	    {DEFS + 0, 0, "def family"},
	    {DEFS + 1, 0, "def prefix 0"},
	    {DEFS + 1, 33, "def prefix > 32"},
	    {DEFS + 24 * 2 + 1, 129, "def prefix > 128"},
	    {DEFS + 2, 1, "def address padding"},
	    {DEFS + 4 + 3, 3, "defs out of order"},
	    {DEFS + 4 + 3, 2, "duplicate def"},
	    {DEFS + 20, 2, "def kind"},
	    {DEFS + 21, 254, "VIPADEFINE rank"},
	    {DEFS + 24 + 21, 0, "VIPABACKUP rank 0"},
	    {DEFS + 24 + 21, 255, "VIPABACKUP rank 255"},
	    {DEFS + 22, 3, "def moveable"},
	    {DEFS + 23, 1, "def padding"},
	    {DEACT + 1, 24, "deactivated prefix"},
	    {DEACT + 0, 5, "deactivated family"},
	    {HELD + 12, 0, "held state 0"},
	    {HELD + 12, 3, "held state 3"},
	    {HELD + 13, 1, "held padding"},
	    {HELD + 16 + 1, 32, "held prefix"},
	    {HELD + 36, 1, "held reserved"},
	    {HELD + 16 + 4 + 5, 1, "held IPv4 tail"},
	    {KNOWN + 1, 1, "known prefix"},
	    {KNOWN + 0, 0, "known family"},
	    {KNOWN + 4 + 1, 10, "known out of order"},
	};
	uint8_t buf[4096];
	size_t len;

	wt_sample(&f);
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf), &len), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t t[4096];
		struct plex_facts g = {0};
		int r;

		memcpy(t, buf, len);
		if (bad[i].at == F + 0)
			memset(t + F, 0, 4);
		t[bad[i].at] = bad[i].val;
		wt_reseal(t, len);
		r = wire_decode_facts(t, len, &g, NULL);
		if (r != -EBADMSG) {
			plex_facts_clear(&g);
			unit_fail(__FILE__, __LINE__, "%s: got %d", bad[i].what, r);
		}
	}
	/* The other version and an unknown type have their own errors. */
	{
		uint8_t t[4096];
		struct plex_facts g = {0};
		enum wire_type type;

		memcpy(t, buf, len);
		t[4] = 2;
		wt_reseal(t, len);
		CHECK_INT(wire_decode_facts(t, len, &g, NULL), -EPROTONOSUPPORT);
		t[4] = 1;
		t[5] = WIRE_TYPE_MAX;
		wt_reseal(t, len);
		CHECK_INT(wire_peek(t, len, &type), -EOPNOTSUPP);
		CHECK_INT(wire_decode_facts(t, len, &g, NULL), -EOPNOTSUPP);
	}
	/* Values that are merely different stay valid: the test above is about
	 * malformed fields, not about fields the codec cannot judge. */
	{
		uint8_t t[4096];
		struct plex_facts g = {0};

		memcpy(t, buf, len);
		t[F + 8] ^= 0x55; /* seq */
		t[HELD + 8] = 9;  /* conns */
		wt_reseal(t, len);
		CHECK_INT(wire_decode_facts(t, len, &g, NULL), 0);
		CHECK_INT(g.held[0].conns, 9);
		plex_facts_clear(&g);
	}
	plex_facts_clear(&f);
}

TEST(wire_encode_refuses_bad_facts)
{
	struct plex_facts f;
	uint8_t buf[4096];
	size_t len;

	wt_sample(&f);
	f.defs[0].rank = 7; /* VIPADEFINE must have the owner rank */
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf), &len), -EINVAL);
	f.defs[0].rank = CONFIG_RANK_OWNER;
	f.held[0].dvipa = f.held[1].dvipa; /* duplicate */
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, sizeof(buf), &len), -EINVAL);
	plex_facts_clear(&f);
}

TEST(wire_largest_message)
{
	struct plex_facts f = {.node_id = 1, .seq = 2}, g = {0};
	uint8_t *buf;
	size_t len, cap = WIRE_MAX_SIZE;

	snprintf(f.name, sizeof(f.name), "%064d", 0);
	f.n_defs = f.n_deactivated = f.n_held = PLEX_MAX_DVIPAS;
	f.n_known = PLEX_MAX_KNOWN;
	f.defs = calloc(f.n_defs, sizeof(*f.defs));
	f.deactivated = calloc(f.n_deactivated, sizeof(*f.deactivated));
	f.held = calloc(f.n_held, sizeof(*f.held));
	f.known = calloc(f.n_known, sizeof(*f.known));
	buf = malloc(cap);
	/* A failed allocation ends the test; the leak does not matter then. */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	CHECK(f.defs && f.deactivated && f.held && f.known && buf);
	for (size_t i = 0; i < PLEX_MAX_KNOWN; i++) {
		struct ipaddr a = {.family = IPADDR_V6};

		a.bytes[0] = 0x20;
		a.bytes[14] = (uint8_t)(i >> 8);
		a.bytes[15] = (uint8_t)i;
		f.known[i] = a;
		if (i < PLEX_MAX_DVIPAS) {
			f.defs[i] = (struct plex_def){a, 128, CONFIG_VIPABACKUP, 1, 0};
			f.deactivated[i] = a;
			f.held[i] = (struct plex_held){a, PLEX_HELD_ACTIVE, 1, 1};
		}
	}
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, cap, &len), 0);
	CHECK(len <= WIRE_MAX_SIZE);
	CHECK_INT(wire_decode_facts(buf, len, &g, NULL), 0);
	CHECK(wt_equal(&f, &g));
	plex_facts_clear(&g);
	/* One more of anything is refused by both sides. */
	f.n_known++;
	CHECK_INT(wire_encode_facts(&f, NULL, 0, buf, cap, &len), -EINVAL);
	f.n_known--;
	plex_facts_clear(&f);
	free(buf);
}
