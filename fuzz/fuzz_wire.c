/* libFuzzer target for the node <-> node wire codec (core/wire.c), the
 * distributor's extension records (core/wire_dist.c, with the WLM record of
 * core/wire_wlm.c) and the CONNS message (core/wire_conns.c).
 *
 * Every input is decoded twice: as it is (the header checks), and "sealed"
 * with a right magic, version, length and checksum, so that the fuzzer
 * explores the body parser instead of the CRC. Whatever decodes must encode
 * back to the very same bytes, and must be facts the plex state machine
 * accepts. Distribution records that decode must encode back to the same
 * bytes when the section holds no record of an unknown type (those are
 * skipped), and must feed the distributor's derivation. A CONNS message that
 * decodes must encode back to the same bytes, and its entries must be what
 * wire_conns_sort() leaves as they are. */
#include "core/dist.h"
#include "core/plex.h"
#include "core/wire.h"
#include "core/wire_conns.h"
#include "core/wire_dist.h"

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when every record of a well-formed section has a type this version
 * knows. */
static bool fuzz_wire_all_known(const uint8_t *ext, size_t len)
{
	for (size_t off = 0; off < len;) {
		struct wire_ext_record rec;
		uint16_t type;

		memcpy(&rec, ext + off, sizeof(rec));
		type = le16toh(rec.type);
		if (type != WIRE_EXT_DIST_PORTS && type != WIRE_EXT_LISTENERS &&
		    type != WIRE_EXT_QUIESCE && type != WIRE_EXT_PLEX_ADDRS && type != WIRE_EXT_WLM)
			return false;
		off += sizeof(rec) + ((le16toh(rec.length) + 3u) & ~3u);
	}
	return true;
}

static void fuzz_wire_dist(const struct plex *p, const struct plex_facts *f,
                           const struct wire_ext *ext)
{
	struct dist_facts d = {0}, again = {0};
	struct dist_view v = {0};
	uint8_t *buf;
	size_t len;

	if (wire_dist_decode(ext->data, ext->len, &d) < 0)
		return;
	buf = malloc((size_t)WIRE_EXT_MAX);
	if (!buf || wire_dist_encode(&d, buf, (size_t)WIRE_EXT_MAX, &len) < 0)
		abort();
	if (fuzz_wire_all_known(ext->data, ext->len) &&
	    (len != ext->len || memcmp(buf, ext->data, len) != 0))
		abort();
	if (wire_dist_decode(buf, len, &again) < 0)
		abort();
	dist_facts_clear(&again);
	{
		struct dist_input in = {.plex = p, .local = f, .local_dist = &d};

		if (dist_view(&in, &v) < 0)
			abort();
		dist_view_clear(&v);
	}
	free(buf);
	dist_facts_clear(&d);
}

static void fuzz_wire_conns(const uint8_t *data, size_t size)
{
	struct wire_conns_msg m = {0};
	struct wire_conn_entry *copy = NULL;
	uint8_t *buf;
	size_t len, n;

	if (wire_decode_conns(data, size, &m) < 0)
		return;
	buf = malloc(size);
	if (!buf)
		abort();
	if (wire_encode_conns(&m, buf, size, &len) < 0 || len != size ||
	    memcmp(buf, data, size) != 0)
		abort();
	/* Sorted and unique already: sorting keeps every entry where it is. */
	if (m.n && !(copy = malloc(m.n * sizeof(*copy))))
		abort();
	if (m.n)
		memcpy(copy, m.v, m.n * sizeof(*copy));
	n = m.n;
	wire_conns_sort(copy, &n);
	if (n != m.n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!ipaddr_equal(&copy[i].client, &m.v[i].client) ||
		    copy[i].client_port != m.v[i].client_port || copy[i].port != m.v[i].port ||
		    copy[i].node != m.v[i].node)
			abort();
	free(copy);
	free(buf);
	wire_conns_msg_clear(&m);
}

static void fuzz_wire_check(const uint8_t *data, size_t size)
{
	struct plex_facts f = {0};
	struct plex_action *acts = NULL;
	struct plex_view v = {0};
	struct wire_ext ext;
	struct plex *p;
	uint8_t *buf;
	size_t len, n;

	fuzz_wire_conns(data, size);
	if (wire_decode_facts(data, size, &f, &ext) < 0)
		return;
	buf = malloc(size);
	if (!buf)
		abort();
	if (wire_encode_facts(&f, ext.data, ext.len, buf, size, &len) < 0 || len != size ||
	    memcmp(buf, data, size) != 0)
		abort();
	free(buf);

	p = plex_new(f.node_id);
	if (!p || plex_set_members(p, &f.node_id, 1) < 0 || plex_set_quorum(p, true) < 0 ||
	    plex_apply_facts(p, f.node_id, &f) < 0)
		abort();
	if (plex_actions(p, &f, &acts, &n) < 0 || plex_view(p, &v) < 0)
		abort();
	fuzz_wire_dist(p, &f, &ext);
	free(acts);
	plex_view_clear(&v);
	plex_free(p);
	plex_facts_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *sealed;
	uint32_t v;

	fuzz_wire_check(data, size);
	if (size < sizeof(struct wire_header) || size > (size_t)WIRE_MAX_SIZE)
		return 0;
	sealed = malloc(size);
	if (!sealed)
		abort();
	memcpy(sealed, data, size);
	v = htole32(WIRE_MAGIC);
	memcpy(sealed + offsetof(struct wire_header, magic), &v, sizeof(v));
	sealed[offsetof(struct wire_header, version)] = WIRE_VERSION;
	v = htole32((uint32_t)size);
	memcpy(sealed + offsetof(struct wire_header, length), &v, sizeof(v));
	v = htole32(wire_checksum(sealed, size));
	memcpy(sealed + offsetof(struct wire_header, checksum), &v, sizeof(v));
	fuzz_wire_check(sealed, size);
	free(sealed);
	return 0;
}
