/* Encoding and decoding of node <-> node messages (see core/wire.h). */
#include "core/wire.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static bool wire_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void wire_put_addr(struct wire_addr *w, const struct ipaddr *a, uint8_t prefix_len)
{
	memset(w, 0, sizeof(*w));
	w->family = a->family;
	w->prefix_len = prefix_len;
	memcpy(w->bytes, a->bytes, sizeof(w->bytes));
}

/* Takes the address apart; the plex checks that the family and the bytes make
 * a DVIPA. */
static int wire_get_addr(const struct wire_addr *w, struct ipaddr *a, uint8_t *prefix_len)
{
	if (!wire_zero(w->pad, sizeof(w->pad)))
		return -EBADMSG;
	if (!prefix_len && w->prefix_len)
		return -EBADMSG;
	memset(a, 0, sizeof(*a));
	a->family = w->family;
	memcpy(a->bytes, w->bytes, sizeof(a->bytes));
	if (prefix_len)
		*prefix_len = w->prefix_len;
	return 0;
}

int wire_check_ext(const void *ext, size_t len)
{
	const uint8_t *p = ext;
	size_t off = 0;

	if (len > WIRE_EXT_MAX || len % 4)
		return -EBADMSG;
	while (off < len) {
		struct wire_ext_record rec;
		size_t vlen, padded;

		if (len - off < sizeof(rec))
			return -EBADMSG;
		memcpy(&rec, p + off, sizeof(rec));
		off += sizeof(rec);
		vlen = le16toh(rec.length);
		padded = (vlen + 3) & ~(size_t)3;
		if (le16toh(rec.type) == WIRE_EXT_NONE || padded > len - off)
			return -EBADMSG;
		if (!wire_zero(p + off + vlen, padded - vlen))
			return -EBADMSG;
		off += padded;
	}
	return 0;
}

static uint32_t wire_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	/* Bitwise: messages are small and rare, a table is not worth it. */
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return crc;
}

uint32_t wire_checksum(const void *buf, size_t len)
{
	static const uint8_t zero[sizeof(uint32_t)];
	const size_t at = offsetof(struct wire_header, checksum);
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

	crc = wire_crc32c(crc, p, at);
	crc = wire_crc32c(crc, zero, sizeof(zero));
	crc = wire_crc32c(crc, p + at + sizeof(zero), len - at - sizeof(zero));
	return ~crc;
}

static int wire_check_header(const struct wire_header *h, const void *buf, size_t len)
{
	if (le32toh(h->magic) != WIRE_MAGIC)
		return -EBADMSG;
	if (h->version != WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (h->flags || le32toh(h->length) != len || len > WIRE_MAX_SIZE)
		return -EBADMSG;
	if (le32toh(h->checksum) != wire_checksum(buf, len))
		return -EBADMSG;
	if (h->type == WIRE_TYPE_NONE)
		return -EBADMSG;
	if (h->type >= WIRE_TYPE_MAX)
		return -EOPNOTSUPP;
	return 0;
}

int wire_peek(const void *buf, size_t len, enum wire_type *ret_type)
{
	struct wire_header h;
	int ret;

	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	ret = wire_check_header(&h, buf, len);
	if (ret < 0)
		return ret;
	*ret_type = (enum wire_type)h.type;
	return 0;
}

void wire_seal(void *buf, size_t len, enum wire_type type)
{
	struct wire_header h = {0};

	h.magic = htole32(WIRE_MAGIC);
	h.version = WIRE_VERSION;
	h.type = (uint8_t)type;
	h.length = htole32((uint32_t)len);
	memcpy(buf, &h, sizeof(h));
	h.checksum = htole32(wire_checksum(buf, len));
	memcpy(buf, &h, sizeof(h));
}

size_t wire_facts_size(const struct plex_facts *f, size_t ext_len)
{
	return sizeof(struct wire_header) + sizeof(struct wire_facts) +
	       f->n_defs * sizeof(struct wire_def) + f->n_deactivated * sizeof(struct wire_addr) +
	       f->n_held * sizeof(struct wire_held) + f->n_known * sizeof(struct wire_addr) +
	       ext_len;
}

int wire_encode_facts(const struct plex_facts *f, const void *ext, size_t ext_len, void *buf,
                      size_t size, size_t *ret_len)
{
	struct wire_facts wf = {0};
	uint8_t *p = buf;
	size_t len, off = sizeof(struct wire_header), name_len;

	if (plex_facts_check(f) < 0 || (ext_len && !ext) || wire_check_ext(ext, ext_len) < 0)
		return -EINVAL;
	len = wire_facts_size(f, ext_len);
	if (len > WIRE_MAX_SIZE)
		return -EINVAL;
	if (len > size)
		return -EMSGSIZE;
	name_len = strlen(f->name);

	wf.node_id = htole32(f->node_id);
	wf.flags = htole32(f->flags);
	wf.seq = htole64(f->seq);
	wire_put_addr(&wf.plex_addr, &f->plex_addr, 0);
	wf.name_len = (uint8_t)name_len;
	memcpy(wf.name, f->name, name_len);
	wf.n_defs = htole16((uint16_t)f->n_defs);
	wf.n_deactivated = htole16((uint16_t)f->n_deactivated);
	wf.n_held = htole16((uint16_t)f->n_held);
	wf.n_known = htole32((uint32_t)f->n_known);
	wf.ext_len = htole32((uint32_t)ext_len);
	memcpy(p + off, &wf, sizeof(wf));
	off += sizeof(wf);

	for (size_t i = 0; i < f->n_defs; i++) {
		const struct plex_def *d = &f->defs[i];
		struct wire_def wd = {0};

		wire_put_addr(&wd.addr, &d->dvipa, d->prefix_len);
		wd.kind = d->kind;
		wd.rank = d->rank;
		wd.moveable = d->moveable;
		memcpy(p + off, &wd, sizeof(wd));
		off += sizeof(wd);
	}
	for (size_t i = 0; i < f->n_deactivated; i++) {
		struct wire_addr wa;

		wire_put_addr(&wa, &f->deactivated[i], 0);
		memcpy(p + off, &wa, sizeof(wa));
		off += sizeof(wa);
	}
	for (size_t i = 0; i < f->n_held; i++) {
		const struct plex_held *e = &f->held[i];
		struct wire_held wh = {0};

		wh.activated = htole64(e->activated);
		wh.conns = htole32(e->conns);
		wh.state = e->state;
		wire_put_addr(&wh.addr, &e->dvipa, 0);
		memcpy(p + off, &wh, sizeof(wh));
		off += sizeof(wh);
	}
	for (size_t i = 0; i < f->n_known; i++) {
		struct wire_addr wa;

		wire_put_addr(&wa, &f->known[i], 0);
		memcpy(p + off, &wa, sizeof(wa));
		off += sizeof(wa);
	}
	if (ext_len)
		memcpy(p + off, ext, ext_len);
	off += ext_len;
	wire_seal(p, off, WIRE_FACTS);
	*ret_len = off;
	return 0;
}

int wire_decode_facts(const void *buf, size_t len, struct plex_facts *ret, struct wire_ext *ret_ext)
{
	const uint8_t *p = buf;
	struct plex_facts f = {0};
	struct wire_facts wf;
	enum wire_type type;
	size_t off = sizeof(struct wire_header), need, ext_len;
	int r;

	r = wire_peek(buf, len, &type);
	if (r < 0)
		return r;
	if (type != WIRE_FACTS || len - off < sizeof(wf))
		return -EBADMSG;
	memcpy(&wf, p + off, sizeof(wf));
	off += sizeof(wf);

	f.node_id = le32toh(wf.node_id);
	f.flags = le32toh(wf.flags);
	f.seq = le64toh(wf.seq);
	f.n_defs = le16toh(wf.n_defs);
	f.n_deactivated = le16toh(wf.n_deactivated);
	f.n_held = le16toh(wf.n_held);
	f.n_known = le32toh(wf.n_known);
	ext_len = le32toh(wf.ext_len);
	/* Bound every count before any multiplication or allocation. */
	if (f.n_defs > PLEX_MAX_DVIPAS || f.n_deactivated > PLEX_MAX_DVIPAS ||
	    f.n_held > PLEX_MAX_DVIPAS || f.n_known > PLEX_MAX_KNOWN || ext_len > WIRE_EXT_MAX)
		return -EBADMSG;
	need = f.n_defs * sizeof(struct wire_def) + f.n_deactivated * sizeof(struct wire_addr) +
	       f.n_held * sizeof(struct wire_held) + f.n_known * sizeof(struct wire_addr) + ext_len;
	if (len - off != need)
		return -EBADMSG;
	if (!wire_zero(wf.pad, sizeof(wf.pad)) || wf.pad2 || wf.name_len > PLEX_NAME_MAX ||
	    !wire_zero(wf.name + wf.name_len, PLEX_NAME_MAX - wf.name_len) ||
	    memchr(wf.name, 0, wf.name_len))
		return -EBADMSG;
	memcpy(f.name, wf.name, wf.name_len);
	if (wire_get_addr(&wf.plex_addr, &f.plex_addr, NULL) < 0)
		return -EBADMSG;

	r = -ENOMEM;
	if ((f.n_defs && !(f.defs = calloc(f.n_defs, sizeof(*f.defs)))) ||
	    (f.n_deactivated &&
	     !(f.deactivated = calloc(f.n_deactivated, sizeof(*f.deactivated)))) ||
	    (f.n_held && !(f.held = calloc(f.n_held, sizeof(*f.held)))) ||
	    (f.n_known && !(f.known = calloc(f.n_known, sizeof(*f.known)))))
		goto out;
	r = -EBADMSG;
	for (size_t i = 0; i < f.n_defs; i++) {
		struct wire_def wd;

		memcpy(&wd, p + off, sizeof(wd));
		off += sizeof(wd);
		if (wd.pad || wire_get_addr(&wd.addr, &f.defs[i].dvipa, &f.defs[i].prefix_len) < 0)
			goto out;
		f.defs[i].kind = wd.kind;
		f.defs[i].rank = wd.rank;
		f.defs[i].moveable = wd.moveable;
	}
	for (size_t i = 0; i < f.n_deactivated; i++) {
		struct wire_addr wa;

		memcpy(&wa, p + off, sizeof(wa));
		off += sizeof(wa);
		if (wire_get_addr(&wa, &f.deactivated[i], NULL) < 0)
			goto out;
	}
	for (size_t i = 0; i < f.n_held; i++) {
		struct wire_held wh;

		memcpy(&wh, p + off, sizeof(wh));
		off += sizeof(wh);
		if (!wire_zero(wh.pad, sizeof(wh.pad)) || wh.reserved ||
		    wire_get_addr(&wh.addr, &f.held[i].dvipa, NULL) < 0)
			goto out;
		f.held[i].state = wh.state;
		f.held[i].conns = le32toh(wh.conns);
		f.held[i].activated = le64toh(wh.activated);
	}
	for (size_t i = 0; i < f.n_known; i++) {
		struct wire_addr wa;

		memcpy(&wa, p + off, sizeof(wa));
		off += sizeof(wa);
		if (wire_get_addr(&wa, &f.known[i], NULL) < 0)
			goto out;
	}
	/* Kinds, ranks, prefixes, address families, order: the plex's rules. */
	if (plex_facts_check(&f) < 0 || wire_check_ext(p + off, ext_len) < 0)
		goto out;
	if (ret_ext) {
		ret_ext->data = ext_len ? p + off : NULL;
		ret_ext->len = ext_len;
	}
	*ret = f;
	return 0;
out:
	plex_facts_clear(&f);
	return r;
}
