/* libFuzzer target for the node <-> node wire codec (core/wire.c).
 *
 * Every input is decoded twice: as it is (the header checks), and "sealed"
 * with a right magic, version, length and checksum, so that the fuzzer
 * explores the body parser instead of the CRC. Whatever decodes must encode
 * back to the very same bytes, and must be facts the plex state machine
 * accepts. */
#include "core/plex.h"
#include "core/wire.h"

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_wire_check(const uint8_t *data, size_t size)
{
	struct plex_facts f = {0};
	struct plex_action *acts = NULL;
	struct plex_view v = {0};
	struct wire_ext ext;
	struct plex *p;
	uint8_t *buf;
	size_t len, n;

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
	if (size < sizeof(struct wire_header) || size > WIRE_MAX_SIZE)
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
