/* The distributor's extension records (see core/wire_dist.h). */
#include "core/wire_dist.h"

#include "core/array.h"
#include "core/wire_wlm.h"
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool wire_dist_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void wire_dist_put_addr(struct wire_addr *w, const struct ipaddr *a)
{
	memset(w, 0, sizeof(*w));
	w->family = a->family;
	memcpy(w->bytes, a->bytes, sizeof(w->bytes));
}

/* Family and bytes are checked by dist_facts_check(). */
static int wire_dist_get_addr(const struct wire_addr *w, struct ipaddr *a)
{
	if (w->prefix_len || !wire_dist_zero(w->pad, sizeof(w->pad)))
		return -EBADMSG;
	memset(a, 0, sizeof(*a));
	a->family = w->family;
	memcpy(a->bytes, w->bytes, sizeof(a->bytes));
	return 0;
}

static size_t wire_dist_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t wire_dist_def_len(const struct config_dist *d)
{
	return sizeof(struct wire_dist_def) + d->n_ports * sizeof(struct wire_dist_ports) +
	       d->n_dests * sizeof(struct wire_dist_dest);
}

/* Runs of ready entries with the same DVIPA: one LISTENERS record each. */
static size_t wire_dist_run(const struct dist_facts *f, size_t i)
{
	size_t j = i + 1;

	while (j < f->n_ready && ipaddr_equal(&f->ready[j].dvipa, &f->ready[i].dvipa))
		j++;
	return j - i;
}

size_t wire_dist_size(const struct dist_facts *f)
{
	size_t len = 0;

	for (size_t i = 0; i < f->n_dists; i++)
		len += sizeof(struct wire_ext_record) +
		       wire_dist_pad4(wire_dist_def_len(&f->dists[i]));
	for (size_t i = 0; i < f->n_ready;) {
		size_t run = wire_dist_run(f, i);

		len += sizeof(struct wire_ext_record) + sizeof(struct wire_dist_listeners) +
		       run * sizeof(struct wire_dist_listener);
		i += run;
	}
	if (f->quiesce_all || f->n_quiesced)
		len += sizeof(struct wire_ext_record) +
		       wire_dist_pad4(sizeof(struct wire_dist_quiesce) + 2 * f->n_quiesced);
	if (f->plex_v4.family || f->plex_v6.family)
		len += sizeof(struct wire_ext_record) + sizeof(struct wire_dist_addrs);
	if (wire_wlm_value_size(&f->wlm))
		len += sizeof(struct wire_ext_record) + wire_wlm_value_size(&f->wlm);
	return len;
}

/* Appends a record header; the value follows at *off. */
static void wire_dist_put_record(uint8_t *p, size_t *off, uint16_t type, size_t vlen)
{
	struct wire_ext_record rec = {.type = htole16(type), .length = htole16((uint16_t)vlen)};

	memcpy(p + *off, &rec, sizeof(rec));
	*off += sizeof(rec);
}

static void wire_dist_put(uint8_t *p, size_t *off, const void *v, size_t n)
{
	memcpy(p + *off, v, n);
	*off += n;
}

static void wire_dist_put_def(uint8_t *p, size_t *off, const struct config_dist *d)
{
	struct wire_dist_def wd = {0};

	wire_dist_put_record(p, off, WIRE_EXT_DIST_PORTS, wire_dist_def_len(d));
	wire_dist_put_addr(&wd.dvipa, &d->addr);
	wd.method = d->method;
	wd.flags = (uint8_t)((d->dest_all ? WIRE_DIST_DEST_ALL : 0) |
	                     (d->sysplexports ? WIRE_DIST_SYSPLEXPORTS : 0));
	wd.n_ports = htole16((uint16_t)d->n_ports);
	wd.n_dests = htole16((uint16_t)d->n_dests);
	wd.timedaffinity = htole32(d->timedaffinity);
	wire_dist_put(p, off, &wd, sizeof(wd));
	for (size_t j = 0; j < d->n_ports; j++) {
		struct wire_dist_ports wp = {.first = htole16(d->ports[j].first),
		                             .last = htole16(d->ports[j].last)};

		wire_dist_put(p, off, &wp, sizeof(wp));
	}
	for (size_t j = 0; j < d->n_dests; j++) {
		const struct config_dest *t = &d->dests[j];
		struct wire_dist_dest wt = {0};

		wire_dist_put_addr(&wt.addr, &t->addr);
		wt.weight = (uint8_t)t->weight;
		wt.flags = t->preferred ? WIRE_DIST_PREFERRED : 0;
		wt.backup_rank = t->backup_rank;
		wire_dist_put(p, off, &wt, sizeof(wt));
	}
	/* Values of DIST_PORTS are multiples of 4 already. */
}

int wire_dist_encode(const struct dist_facts *f, void *buf, size_t size, size_t *ret_len)
{
	uint8_t *p = buf;
	size_t len, off = 0;

	if (dist_facts_check(f) < 0)
		return -EINVAL;
	len = wire_dist_size(f);
	if (len > size)
		return -EMSGSIZE;
	memset(buf, 0, len);
	for (size_t i = 0; i < f->n_dists; i++)
		wire_dist_put_def(p, &off, &f->dists[i]);
	for (size_t i = 0; i < f->n_ready;) {
		size_t run = wire_dist_run(f, i);
		struct wire_dist_listeners wl = {0};

		wire_dist_put_record(p, &off, WIRE_EXT_LISTENERS,
		                     sizeof(wl) + run * sizeof(struct wire_dist_listener));
		wire_dist_put_addr(&wl.dvipa, &f->ready[i].dvipa);
		wl.n_ports = htole16((uint16_t)run);
		wire_dist_put(p, &off, &wl, sizeof(wl));
		for (size_t j = i; j < i + run; j++) {
			struct wire_dist_listener e = {.port = htole16(f->ready[j].port),
			                               .ready = htole32(f->ready[j].ready)};

			wire_dist_put(p, &off, &e, sizeof(e));
		}
		i += run;
	}
	if (f->quiesce_all || f->n_quiesced) {
		size_t vlen = sizeof(struct wire_dist_quiesce) + 2 * f->n_quiesced;
		struct wire_dist_quiesce q = {
		    .flags = htole16(f->quiesce_all ? WIRE_DIST_QUIESCE_ALL : 0),
		    .n_ports = htole16((uint16_t)f->n_quiesced)};

		wire_dist_put_record(p, &off, WIRE_EXT_QUIESCE, vlen);
		wire_dist_put(p, &off, &q, sizeof(q));
		for (size_t i = 0; i < f->n_quiesced; i++) {
			uint16_t v = htole16(f->quiesced[i]);

			wire_dist_put(p, &off, &v, sizeof(v));
		}
		off += wire_dist_pad4(vlen) - vlen; /* zeroed above */
	}
	if (f->plex_v4.family || f->plex_v6.family) {
		struct wire_dist_addrs a;

		wire_dist_put_record(p, &off, WIRE_EXT_PLEX_ADDRS, sizeof(a));
		wire_dist_put_addr(&a.v4, &f->plex_v4);
		wire_dist_put_addr(&a.v6, &f->plex_v6);
		wire_dist_put(p, &off, &a, sizeof(a));
	}
	if (wire_wlm_value_size(&f->wlm)) {
		size_t vlen = wire_wlm_value_size(&f->wlm);

		/* Values of WLM are multiples of 4 already. */
		wire_dist_put_record(p, &off, WIRE_EXT_WLM, vlen);
		wire_wlm_put(&f->wlm, p + off);
		off += vlen;
	}
	*ret_len = off;
	return 0;
}

/* ---- decoding ---- */

struct wire_dist_dec {
	struct dist_facts f;
	size_t cap_dists, cap_ready;
	unsigned last_type; /* of the last known record, for the order */
	bool have_quiesce, have_addrs, have_wlm;
};

static int wire_dist_dec_def(struct wire_dist_dec *d, const uint8_t *v, size_t vlen)
{
	struct wire_dist_def wd;
	struct config_dist *c;
	size_t np, nd;
	int err;

	if (vlen < sizeof(wd))
		return -EBADMSG;
	memcpy(&wd, v, sizeof(wd));
	np = le16toh(wd.n_ports);
	nd = le16toh(wd.n_dests);
	if (np > CONFIG_PORTS_MAX || nd > CONFIG_DEST_MAX || wd.pad ||
	    (wd.flags & ~WIRE_DIST_DEF_FLAGS) ||
	    vlen != sizeof(wd) + np * sizeof(struct wire_dist_ports) +
	                nd * sizeof(struct wire_dist_dest))
		return -EBADMSG;
	if (d->f.n_dists == CONFIG_DISTS_MAX)
		return -EBADMSG;
	err = array_grow(&d->f.dists, &d->cap_dists, d->f.n_dists + 1, sizeof(*d->f.dists));
	if (err < 0)
		return err;
	c = &d->f.dists[d->f.n_dists++];
	memset(c, 0, sizeof(*c));
	if (wire_dist_get_addr(&wd.dvipa, &c->addr) < 0)
		return -EBADMSG;
	c->method = wd.method;
	c->dest_all = wd.flags & WIRE_DIST_DEST_ALL;
	c->sysplexports = wd.flags & WIRE_DIST_SYSPLEXPORTS;
	c->timedaffinity = le32toh(wd.timedaffinity);
	c->ports = np ? calloc(np, sizeof(*c->ports)) : NULL;
	c->dests = nd ? calloc(nd, sizeof(*c->dests)) : NULL;
	if ((np && !c->ports) || (nd && !c->dests))
		return -ENOMEM;
	c->n_ports = np;
	c->n_dests = nd;
	v += sizeof(wd);
	for (size_t i = 0; i < np; i++) {
		struct wire_dist_ports wp;

		memcpy(&wp, v, sizeof(wp));
		v += sizeof(wp);
		c->ports[i].first = le16toh(wp.first);
		c->ports[i].last = le16toh(wp.last);
	}
	for (size_t i = 0; i < nd; i++) {
		struct wire_dist_dest wt;

		memcpy(&wt, v, sizeof(wt));
		v += sizeof(wt);
		if (wt.pad || (wt.flags & ~WIRE_DIST_PREFERRED) ||
		    wire_dist_get_addr(&wt.addr, &c->dests[i].addr) < 0)
			return -EBADMSG;
		c->dests[i].weight = wt.weight;
		c->dests[i].preferred = wt.flags & WIRE_DIST_PREFERRED;
		c->dests[i].backup_rank = wt.backup_rank;
	}
	return 0;
}

static int wire_dist_dec_listeners(struct wire_dist_dec *d, const uint8_t *v, size_t vlen)
{
	struct wire_dist_listeners wl;
	struct ipaddr dvipa;
	size_t n;
	int err;

	if (vlen < sizeof(wl))
		return -EBADMSG;
	memcpy(&wl, v, sizeof(wl));
	n = le16toh(wl.n_ports);
	if (n < 1 || n > DIST_MAX_PORTS || wl.pad ||
	    vlen != sizeof(wl) + n * sizeof(struct wire_dist_listener) ||
	    wire_dist_get_addr(&wl.dvipa, &dvipa) < 0)
		return -EBADMSG;
	/* One record per DVIPA, in order: the previous one had a lower DVIPA. */
	if (d->f.n_ready && ipaddr_cmp(&d->f.ready[d->f.n_ready - 1].dvipa, &dvipa) >= 0)
		return -EBADMSG;
	if (d->f.n_ready + n > DIST_MAX_PORTS)
		return -EBADMSG;
	err = array_grow(&d->f.ready, &d->cap_ready, d->f.n_ready + n, sizeof(*d->f.ready));
	if (err < 0)
		return err;
	v += sizeof(wl);
	for (size_t i = 0; i < n; i++) {
		struct wire_dist_listener e;

		memcpy(&e, v, sizeof(e));
		v += sizeof(e);
		if (e.flags)
			return -EBADMSG;
		d->f.ready[d->f.n_ready++] = (struct dist_ready){
		    .dvipa = dvipa, .port = le16toh(e.port), .ready = le32toh(e.ready)};
	}
	return 0;
}

static int wire_dist_dec_quiesce(struct wire_dist_dec *d, const uint8_t *v, size_t vlen)
{
	struct wire_dist_quiesce q;
	size_t n;

	if (d->have_quiesce || vlen < sizeof(q))
		return -EBADMSG;
	d->have_quiesce = true;
	memcpy(&q, v, sizeof(q));
	n = le16toh(q.n_ports);
	if ((le16toh(q.flags) & ~WIRE_DIST_QUIESCE_ALL) || n > DIST_MAX_PORTS ||
	    vlen != sizeof(q) + 2 * n)
		return -EBADMSG;
	d->f.quiesce_all = le16toh(q.flags) & WIRE_DIST_QUIESCE_ALL;
	/* Exactly one encoding: "all" lists no port, nothing quiesced is no record. */
	if (d->f.quiesce_all == (n > 0))
		return -EBADMSG;
	if (n) {
		d->f.quiesced = calloc(n, sizeof(*d->f.quiesced));
		if (!d->f.quiesced)
			return -ENOMEM;
	}
	d->f.n_quiesced = n;
	v += sizeof(q);
	for (size_t i = 0; i < n; i++) {
		uint16_t p;

		memcpy(&p, v + 2 * i, sizeof(p));
		d->f.quiesced[i] = le16toh(p);
	}
	return 0;
}

static int wire_dist_dec_addrs(struct wire_dist_dec *d, const uint8_t *v, size_t vlen)
{
	struct wire_dist_addrs a;

	if (d->have_addrs || vlen != sizeof(a))
		return -EBADMSG;
	d->have_addrs = true;
	memcpy(&a, v, sizeof(a));
	if (wire_dist_get_addr(&a.v4, &d->f.plex_v4) < 0 ||
	    wire_dist_get_addr(&a.v6, &d->f.plex_v6) < 0)
		return -EBADMSG;
	if (!d->f.plex_v4.family && !d->f.plex_v6.family)
		return -EBADMSG;
	return 0;
}

/* The position of a known type in the required order; 0 for unknown ones. */
static unsigned wire_dist_order(unsigned type)
{
	switch (type) {
	case WIRE_EXT_DIST_PORTS:
		return 1;
	case WIRE_EXT_LISTENERS:
		return 2;
	case WIRE_EXT_QUIESCE:
		return 3;
	case WIRE_EXT_PLEX_ADDRS:
		return 4;
	case WIRE_EXT_WLM:
		return 5;
	default:
		return 0;
	}
}

int wire_dist_decode(const void *ext, size_t len, struct dist_facts *ret)
{
	struct wire_dist_dec d = {0};
	const uint8_t *p = ext;
	size_t off = 0;
	int err = 0;

	if (wire_check_ext(ext, len) < 0)
		return -EBADMSG;
	while (off < len && err == 0) {
		struct wire_ext_record rec;
		unsigned type, order;
		size_t vlen;

		memcpy(&rec, p + off, sizeof(rec));
		off += sizeof(rec);
		type = le16toh(rec.type);
		vlen = le16toh(rec.length);
		order = wire_dist_order(type);
		if (order && order < d.last_type) {
			err = -EBADMSG;
			break;
		}
		if (order)
			d.last_type = order;
		switch (type) {
		case WIRE_EXT_DIST_PORTS:
			err = wire_dist_dec_def(&d, p + off, vlen);
			break;
		case WIRE_EXT_LISTENERS:
			err = wire_dist_dec_listeners(&d, p + off, vlen);
			break;
		case WIRE_EXT_QUIESCE:
			err = wire_dist_dec_quiesce(&d, p + off, vlen);
			break;
		case WIRE_EXT_PLEX_ADDRS:
			err = wire_dist_dec_addrs(&d, p + off, vlen);
			break;
		case WIRE_EXT_WLM:
			err = d.have_wlm ? -EBADMSG : wire_wlm_get(p + off, vlen, &d.f.wlm);
			d.have_wlm = true;
			break;
		default:
			break;
		}
		off += wire_dist_pad4(vlen);
	}
	if (err == 0) {
		err = dist_facts_check(&d.f);
		if (err == -EINVAL)
			err = -EBADMSG;
	}
	if (err < 0) {
		dist_facts_clear(&d.f);
		return err;
	}
	*ret = d.f;
	return 0;
}
