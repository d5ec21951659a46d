/* The WLM record (see core/wire_wlm.h). */
#include "core/wire_wlm.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs of servers with the same DVIPA: one group each. */
static size_t wire_wlm_run(const struct wlm_report *r, size_t i)
{
	size_t j = i + 1;

	while (j < r->n_servers && ipaddr_equal(&r->servers[j].dvipa, &r->servers[i].dvipa))
		j++;
	return j - i;
}

size_t wire_wlm_value_size(const struct wlm_report *r)
{
	size_t len = sizeof(struct wire_wlm);

	if (!r->has_capacity && !r->n_servers)
		return 0;
	for (size_t i = 0; i < r->n_servers; i += wire_wlm_run(r, i))
		len += sizeof(struct wire_wlm_dvipa);
	return len + r->n_servers * sizeof(struct wire_wlm_port);
}

void wire_wlm_put(const struct wlm_report *r, uint8_t *v)
{
	struct wire_wlm w = {
	    .capacity = htole32(r->capacity),
	    .flags = htole16(r->has_capacity ? WIRE_WLM_CAPACITY : 0),
	};
	size_t off = sizeof(w), groups = 0;

	for (size_t i = 0; i < r->n_servers;) {
		size_t run = wire_wlm_run(r, i);
		struct wire_wlm_dvipa g = {.n_ports = htole16((uint16_t)run)};

		g.dvipa.family = r->servers[i].dvipa.family;
		memcpy(g.dvipa.bytes, r->servers[i].dvipa.bytes, sizeof(g.dvipa.bytes));
		memcpy(v + off, &g, sizeof(g));
		off += sizeof(g);
		for (size_t j = i; j < i + run; j++) {
			struct wire_wlm_port p = {.port = htole16(r->servers[j].port),
			                          .efficiency = r->servers[j].efficiency};

			memcpy(v + off, &p, sizeof(p));
			off += sizeof(p);
		}
		groups++;
		i += run;
	}
	w.n_dvipas = htole16((uint16_t)groups);
	memcpy(v, &w, sizeof(w));
}

/* One group: its header, then its ports appended to r. */
static int wire_wlm_get_group(const uint8_t *v, size_t vlen, size_t *off, struct wlm_report *r)
{
	struct wire_wlm_dvipa g;
	struct ipaddr dvipa = {0};
	size_t n;

	if (vlen - *off < sizeof(g))
		return -EBADMSG;
	memcpy(&g, v + *off, sizeof(g));
	*off += sizeof(g);
	n = le16toh(g.n_ports);
	if (!n || g.pad || g.dvipa.prefix_len || g.dvipa.pad[0] || g.dvipa.pad[1] ||
	    n > WLM_MAX_SERVERS - r->n_servers || (vlen - *off) / sizeof(struct wire_wlm_port) < n)
		return -EBADMSG;
	dvipa.family = g.dvipa.family;
	memcpy(dvipa.bytes, g.dvipa.bytes, sizeof(dvipa.bytes));
	/* One group per DVIPA, in order. */
	if (r->n_servers && ipaddr_cmp(&r->servers[r->n_servers - 1].dvipa, &dvipa) >= 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		struct wire_wlm_port p;

		memcpy(&p, v + *off, sizeof(p));
		*off += sizeof(p);
		if (p.pad)
			return -EBADMSG;
		r->servers[r->n_servers++] = (struct wlm_server){
		    .dvipa = dvipa, .port = le16toh(p.port), .efficiency = p.efficiency};
	}
	return 0;
}

int wire_wlm_get(const uint8_t *v, size_t vlen, struct wlm_report *ret)
{
	struct wlm_report r = {0};
	struct wire_wlm w;
	size_t off = sizeof(w), groups;
	uint16_t flags;
	int err = 0;

	if (vlen < sizeof(w))
		return -EBADMSG;
	memcpy(&w, v, sizeof(w));
	flags = le16toh(w.flags);
	groups = le16toh(w.n_dvipas);
	/* One encoding: a report that says nothing is no record at all. */
	if ((flags & ~WIRE_WLM_CAPACITY) || (!(flags & WIRE_WLM_CAPACITY) && !groups))
		return -EBADMSG;
	r.has_capacity = flags & WIRE_WLM_CAPACITY;
	r.capacity = le32toh(w.capacity);
	if (groups) {
		/* Every group holds a port at least: bounded by the length. */
		size_t most = (vlen - off) / sizeof(struct wire_wlm_port);

		r.servers =
		    calloc(most < WLM_MAX_SERVERS ? most + 1 : WLM_MAX_SERVERS, sizeof(*r.servers));
		if (!r.servers)
			return -ENOMEM;
	}
	for (size_t i = 0; i < groups && err == 0; i++)
		err = wire_wlm_get_group(v, vlen, &off, &r);
	if (err == 0 && off != vlen)
		err = -EBADMSG;
	if (err == 0 && wlm_report_check(&r) < 0)
		err = -EBADMSG;
	if (err < 0) {
		wlm_report_clear(&r);
		return err;
	}
	*ret = r;
	return 0;
}
