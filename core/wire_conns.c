/* The CONNS message (see core/wire_conns.h). */
#include "core/wire_conns.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An address a message can carry: IPv4 with a zero tail (so that equality is
 * memcmp(), see core/ipaddr.h) or IPv6. */
static bool wire_conns_addr_ok(const struct ipaddr *a)
{
	static const uint8_t zero[12];

	if (a->family == IPADDR_V6)
		return true;
	return a->family == IPADDR_V4 && memcmp(a->bytes + 4, zero, sizeof(zero)) == 0;
}

static int wire_conns_cmp(const struct wire_conn_entry *a, const struct wire_conn_entry *b)
{
	int c = ipaddr_cmp(&a->client, &b->client);

	if (c)
		return c;
	if (a->client_port != b->client_port)
		return a->client_port < b->client_port ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

/* What the encoder refuses and the decoder checks after taking the bytes
 * apart: one set of rules for both sides. */
static int wire_conns_check(const struct wire_conns_msg *m)
{
	if (m->sender == PLEX_NODE_NONE || m->to == PLEX_NODE_NONE ||
	    (m->flags & ~WIRE_CONNS_FLAGS) || ((m->flags & WIRE_CONNS_DONE) && m->n) ||
	    m->n > WIRE_CONNS_MAX || (m->n && !m->v) || !wire_conns_addr_ok(&m->dvipa))
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++) {
		const struct wire_conn_entry *e = &m->v[i];

		if (e->client.family != m->dvipa.family || !wire_conns_addr_ok(&e->client) ||
		    e->node == PLEX_NODE_NONE || !e->client_port || !e->port)
			return -EINVAL;
		if (i && wire_conns_cmp(&m->v[i - 1], e) >= 0)
			return -EINVAL;
	}
	return 0;
}

size_t wire_conns_size(size_t n)
{
	return sizeof(struct wire_header) + sizeof(struct wire_conns) +
	       n * sizeof(struct wire_conn);
}

int wire_encode_conns(const struct wire_conns_msg *m, void *buf, size_t size, size_t *ret_len)
{
	struct wire_conns wc = {0};
	uint8_t *p = buf;
	size_t len, off = sizeof(struct wire_header);

	if (wire_conns_check(m) < 0)
		return -EINVAL;
	len = wire_conns_size(m->n);
	if (len > size)
		return -EMSGSIZE;
	wc.sender = htole32(m->sender);
	wc.to = htole32(m->to);
	wc.dvipa.family = m->dvipa.family;
	memcpy(wc.dvipa.bytes, m->dvipa.bytes, sizeof(wc.dvipa.bytes));
	wc.flags = htole16(m->flags);
	wc.n = htole32((uint32_t)m->n);
	memcpy(p + off, &wc, sizeof(wc));
	off += sizeof(wc);
	for (size_t i = 0; i < m->n; i++) {
		const struct wire_conn_entry *e = &m->v[i];
		struct wire_conn c = {0};

		memcpy(c.client, e->client.bytes, sizeof(c.client));
		c.client_port = htole16(e->client_port);
		c.port = htole16(e->port);
		c.node = htole32(e->node);
		memcpy(p + off, &c, sizeof(c));
		off += sizeof(c);
	}
	wire_seal(p, off, WIRE_CONNS);
	*ret_len = off;
	return 0;
}

int wire_decode_conns(const void *buf, size_t len, struct wire_conns_msg *ret)
{
	const uint8_t *p = buf;
	struct wire_conns_msg m = {0};
	struct wire_conns wc;
	enum wire_type type;
	size_t off = sizeof(struct wire_header);
	int r;

	r = wire_peek(buf, len, &type);
	if (r < 0)
		return r;
	if (type != WIRE_CONNS || len - off < sizeof(wc))
		return -EBADMSG;
	memcpy(&wc, p + off, sizeof(wc));
	off += sizeof(wc);
	m.sender = le32toh(wc.sender);
	m.to = le32toh(wc.to);
	m.flags = le16toh(wc.flags);
	m.n = le32toh(wc.n);
	/* Bound the count before any multiplication or allocation. */
	if (m.n > WIRE_CONNS_MAX || len - off != m.n * sizeof(struct wire_conn))
		return -EBADMSG;
	if (wc.pad || wc.dvipa.prefix_len || wc.dvipa.pad[0] || wc.dvipa.pad[1])
		return -EBADMSG;
	m.dvipa.family = wc.dvipa.family;
	memcpy(m.dvipa.bytes, wc.dvipa.bytes, sizeof(m.dvipa.bytes));
	if (m.n && !(m.v = calloc(m.n, sizeof(*m.v))))
		return -ENOMEM;
	for (size_t i = 0; i < m.n; i++) {
		struct wire_conn_entry *e = &m.v[i];
		struct wire_conn c;

		memcpy(&c, p + off, sizeof(c));
		off += sizeof(c);
		/* The family is the DVIPA's; the check below refuses an IPv4
		 * client whose tail is not zero. */
		e->client.family = m.dvipa.family;
		memcpy(e->client.bytes, c.client, sizeof(e->client.bytes));
		e->client_port = le16toh(c.client_port);
		e->port = le16toh(c.port);
		e->node = le32toh(c.node);
	}
	/* Flags, node ids, ports, families, order: the encoder's rules. */
	if (wire_conns_check(&m) < 0) {
		free(m.v);
		return -EBADMSG;
	}
	*ret = m;
	return 0;
}

void wire_conns_msg_clear(struct wire_conns_msg *m)
{
	if (!m)
		return;
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- sorting ---- */

/* The sort is stable and in place because "the first of equal keys stays"
 * needs the input order, and a sort that cannot fail needs no buffer: runs
 * sorted by insertion, then merged in place by rotations (the buffer-less
 * merge of the C++ library's std::inplace_merge), O(n log^2 n). */

static void wire_conns_swap(struct wire_conn_entry *a, struct wire_conn_entry *b)
{
	struct wire_conn_entry t = *a;

	*a = *b;
	*b = t;
}

static void wire_conns_reverse(struct wire_conn_entry *v, size_t lo, size_t hi)
{
	while (hi - lo > 1)
		wire_conns_swap(&v[lo++], &v[--hi]);
}

/* v[lo..mid) v[mid..hi) -> v[mid..hi) v[lo..mid). */
static void wire_conns_rotate(struct wire_conn_entry *v, size_t lo, size_t mid, size_t hi)
{
	wire_conns_reverse(v, lo, mid);
	wire_conns_reverse(v, mid, hi);
	wire_conns_reverse(v, lo, hi);
}

/* The first index of v[lo..hi) whose entry is not below key (after key when
 * upper). */
static size_t wire_conns_bound(const struct wire_conn_entry *v, size_t lo, size_t hi,
                               const struct wire_conn_entry *key, bool upper)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = wire_conns_cmp(&v[mid], key);

		if (c < 0 || (upper && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Merges the sorted runs v[lo..mid) and v[mid..hi): the middle entry of the
 * longer run and its place in the other split both in two, a rotation brings
 * the inner parts in order, and each side is merged the same way. Equal keys
 * of the left run stay before those of the right one. Each step leaves at
 * most 3/4 of the entries to either side: the depth is logarithmic. */
static void wire_conns_merge(struct wire_conn_entry *v, size_t lo, size_t mid, size_t hi)
{
	size_t cut1, cut2, split;

	if (lo == mid || mid == hi || wire_conns_cmp(&v[mid - 1], &v[mid]) <= 0)
		return;
	if (hi - lo == 2) {
		wire_conns_swap(&v[lo], &v[mid]);
		return;
	}
	if (mid - lo >= hi - mid) {
		cut1 = lo + (mid - lo) / 2;
		cut2 = wire_conns_bound(v, mid, hi, &v[cut1], false);
	} else {
		cut2 = mid + (hi - mid) / 2;
		cut1 = wire_conns_bound(v, lo, mid, &v[cut2], true);
	}
	wire_conns_rotate(v, cut1, mid, cut2);
	split = cut1 + (cut2 - mid);
	wire_conns_merge(v, lo, cut1, split);
	wire_conns_merge(v, split, cut2, hi);
}

void wire_conns_sort(struct wire_conn_entry *v, size_t *n)
{
	enum { RUN = 16 };
	size_t len = *n, k = 0;

	for (size_t lo = 0; lo < len; lo += RUN) {
		size_t hi = len - lo > RUN ? lo + RUN : len;

		for (size_t i = lo + 1; i < hi; i++)
			for (size_t j = i; j > lo && wire_conns_cmp(&v[j - 1], &v[j]) > 0; j--)
				wire_conns_swap(&v[j - 1], &v[j]);
	}
	for (size_t width = RUN; width < len; width *= 2)
		for (size_t lo = 0; lo < len && len - lo > width; lo += 2 * width)
			wire_conns_merge(v, lo, lo + width,
			                 len - lo - width > width ? lo + 2 * width : len);
	for (size_t i = 0; i < len; i++)
		if (!k || wire_conns_cmp(&v[k - 1], &v[i]) != 0)
			v[k++] = v[i];
	*n = k;
}
