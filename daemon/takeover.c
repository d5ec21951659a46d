#include "daemon/takeover.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/wire.h"
#include "core/wire_conns.h"
#include "daemon/log.h"
#include "daemon/target_addrs.h"

/* Reports that arrived before this node knew it owns their DVIPA (its view
 * of quorum or of the facts can lag the sender's by a moment): applied once
 * it does, dropped after PENDING_MS. */
#define PENDING_MS 10000
/* A node that takes a DVIPA from a live holder puts it on INTERFACE only once
 * that holder's report is in (its flows installed, or packets of its
 * connections that reach this node first would be dropped and cost their
 * clients a retransmission), or after AWAIT_MS without one. */
#define AWAIT_MS 500

struct takeover_pending {
	struct wire_conns_msg m;
	uint64_t until_ms;
};

struct takeover_await {
	struct ipaddr dvipa;
	uint32_t from; /* the earlier holder */
	uint64_t until_ms;
};

struct takeover {
	struct diag_handle *diag;
	struct conncount *conncount;
	struct distributor *dist;
	takeover_send_fn send;
	void *send_data;
	struct takeover_kept *kept;
	size_t n_kept, cap_kept;
	struct takeover_pending *pending;
	size_t n_pending, cap_pending;
	struct takeover_await *awaits;
	size_t n_awaits, cap_awaits;
	uint8_t *buf; /* one encoded message */
};

int takeover_new(struct diag_handle *diag, struct conncount *conncount, struct distributor *dist,
                 takeover_send_fn send, void *send_data, struct takeover **ret)
{
	struct takeover *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->buf = malloc(WIRE_MAX_SIZE);
	if (!t->buf) {
		free(t);
		return -ENOMEM;
	}
	t->diag = diag;
	t->conncount = conncount;
	t->dist = dist;
	t->send = send;
	t->send_data = send_data;
	*ret = t;
	return 0;
}

void takeover_free(struct takeover *t)
{
	if (!t)
		return;
	free(t->kept);
	for (size_t i = 0; i < t->n_pending; i++)
		wire_conns_msg_clear(&t->pending[i].m);
	free(t->pending);
	free(t->awaits);
	free(t->buf);
	free(t);
}

size_t takeover_kept(const struct takeover *t, const struct takeover_kept **ret)
{
	*ret = t->kept;
	return t->n_kept;
}

/* ---- what this node keeps ---- */

static struct takeover_kept *kept_find(struct takeover *t, const struct ipaddr *dvipa)
{
	for (size_t i = 0; i < t->n_kept; i++)
		if (ipaddr_equal(&t->kept[i].dvipa, dvipa))
			return &t->kept[i];
	return NULL;
}

/* Tells the distributor which DVIPAs stay on lo. */
static void kept_apply(struct takeover *t)
{
	struct target_addrs set = {0};
	int err = 0;

	for (size_t i = 0; i < t->n_kept && err == 0; i++)
		err = target_addrs_add(&set, &t->kept[i].dvipa);
	if (err == 0)
		err = distributor_set_kept(t->dist, &set);
	if (err < 0)
		log_err("cannot keep the DVIPAs of open connections: %s", strerror(-err));
	target_addrs_clear(&set);
}

/* True when dvipa is new in the set. */
static bool kept_set(struct takeover *t, const struct ipaddr *dvipa, uint32_t owner, uint32_t conns)
{
	struct takeover_kept *k = kept_find(t, dvipa);
	bool added = !k;

	if (!k) {
		if (array_grow(&t->kept, &t->cap_kept, t->n_kept + 1, sizeof(*t->kept)) < 0) {
			log_err("cannot keep a DVIPA for its connections: out of memory");
			return false;
		}
		k = &t->kept[t->n_kept++];
		k->dvipa = *dvipa;
	}
	k->owner = owner;
	k->conns = conns;
	if (added)
		kept_apply(t);
	return added;
}

static bool kept_drop(struct takeover *t, const struct ipaddr *dvipa)
{
	struct takeover_kept *k = kept_find(t, dvipa);

	if (!k)
		return false;
	*k = t->kept[--t->n_kept];
	kept_apply(t);
	return true;
}

static bool pending_apply(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                          uint64_t now_ms);

/* ---- reports this node waits for ---- */

static void await_set(struct takeover *t, const struct ipaddr *dvipa, uint32_t from,
                      uint64_t until_ms)
{
	for (size_t i = 0; i < t->n_awaits; i++) {
		if (ipaddr_equal(&t->awaits[i].dvipa, dvipa)) {
			t->awaits[i].from = from;
			t->awaits[i].until_ms = until_ms;
			return;
		}
	}
	/* Without memory it is simply not waited for. */
	if (array_grow(&t->awaits, &t->cap_awaits, t->n_awaits + 1, sizeof(*t->awaits)) == 0)
		t->awaits[t->n_awaits++] = (struct takeover_await){*dvipa, from, until_ms};
}

/* True when dvipa was awaited from node from. */
static bool await_clear(struct takeover *t, const struct ipaddr *dvipa, uint32_t from)
{
	for (size_t i = 0; i < t->n_awaits; i++) {
		if (ipaddr_equal(&t->awaits[i].dvipa, dvipa) && t->awaits[i].from == from) {
			t->awaits[i] = t->awaits[--t->n_awaits];
			return true;
		}
	}
	return false;
}

bool takeover_awaits(struct takeover *t, const struct ipaddr *dvipa, uint64_t now_ms,
                     uint64_t *ret_until_ms)
{
	char text[IPADDR_STRLEN];

	for (size_t i = 0; i < t->n_awaits; i++) {
		struct takeover_await *w = &t->awaits[i];

		if (!ipaddr_equal(&w->dvipa, dvipa))
			continue;
		if (now_ms < w->until_ms) {
			*ret_until_ms = w->until_ms;
			return true;
		}
		log_warn("%s: no connection report from node %u within %u ms; taking it over "
		         "without",
		         ipaddr_format(dvipa, text, sizeof(text)), w->from, AWAIT_MS);
		*w = t->awaits[--t->n_awaits];
		return false;
	}
	return false;
}

/* ---- reports ---- */

/* This node's connections on dvipa as report entries (node: self). */
static int own_conns(struct takeover *t, const struct ipaddr *dvipa, uint32_t self,
                     struct wire_conn_entry **ret_v, size_t *ret_n)
{
	struct diag_conn *c = NULL;
	struct wire_conn_entry *v;
	uint32_t count = 0;
	size_t n = 0;
	int err;

	*ret_v = NULL;
	*ret_n = 0;
	/* A sock_diag dump walks every TCP socket of the kernel: a move of
	 * many DVIPAs without connections (the usual takeover) took one walk
	 * per DVIPA before the first was added. The count is a lookup. */
	if (conncount_get(t->conncount, dvipa, &count) == 0 && count == 0)
		return 0;
	err = diag_conns(t->diag, dvipa, 0, &c, &n);
	if (err < 0 || n == 0)
		return err;
	v = calloc(n, sizeof(*v));
	if (!v) {
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (struct wire_conn_entry){
		    .client = c[i].remote,
		    .client_port = c[i].remote_port,
		    .port = c[i].local_port,
		    .node = self,
		};
	free(c);
	*ret_v = v;
	*ret_n = n;
	return 0;
}

/* Sends v[0..n) to node to, in as many messages as it takes. */
static int send_report(struct takeover *t, uint32_t self, uint32_t to, const struct ipaddr *dvipa,
                       uint16_t flags, struct wire_conn_entry *v, size_t n)
{
	size_t done = 0;
	int err = 0;

	do {
		size_t part = n - done > WIRE_CONNS_MAX ? WIRE_CONNS_MAX : n - done;
		struct wire_conns_msg m = {
		    .sender = self,
		    .to = to,
		    .dvipa = *dvipa,
		    .flags = (uint16_t)(flags | (done + part == n ? WIRE_CONNS_LAST : 0)),
		    .n = part,
		    .v = v + done,
		};
		size_t len;

		err = wire_encode_conns(&m, t->buf, WIRE_MAX_SIZE, &len);
		if (err == 0)
			err = t->send(t->send_data, t->buf, len);
		done += part;
	} while (err == 0 && done < n);
	return err;
}

/* dvipa moved to another node, owner: what this node has of it goes there.
 * The earlier owner (was_owner) always sends, if only to say it has nothing:
 * the new owner waits for it. True when the kept DVIPAs changed. */
static bool report(struct takeover *t, const struct plex_facts *local, const struct ipaddr *dvipa,
                   uint32_t owner, bool was_owner)
{
	bool changed = false;

	struct wire_conn_entry *own = NULL, *flows = NULL, *all = NULL;
	size_t n_own = 0, n_flows = 0, n;
	const struct plex_held *h;
	char text[IPADDR_STRLEN];
	bool distributed, holder;
	int err;

	ipaddr_format(dvipa, text, sizeof(text));
	/* No new connection through this node from here on: the flow table
	 * it hands over is complete. */
	h = plex_facts_find_held(local, dvipa);
	holder = h && h->state == PLEX_HELD_ACTIVE;
	distributed = distributor_release(t->dist, dvipa);
	err = own_conns(t, dvipa, local->node_id, &own, &n_own);
	if (err == 0 && distributed)
		err = distributor_flows_of(t->dist, dvipa, &flows, &n_flows);
	if (err < 0) {
		log_err("%s moves to node %u: cannot list its connections here: %s", text, owner,
		        strerror(-err));
		goto out;
	}
	/* The holder keeps the address for its connections; a target keeps
	 * it on lo as a target anyway. */
	if (n_own && (holder || kept_find(t, dvipa)))
		changed = kept_set(t, dvipa, owner, (uint32_t)n_own);
	else
		changed = kept_drop(t, dvipa);
	n = n_own + n_flows;
	if (n == 0 && !was_owner && !distributed)
		goto out;
	/* At least one entry: an empty report is sent from it too. */
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all) {
		log_err("%s moves to node %u: cannot report its connections: out of memory", text,
		        owner);
		goto out;
	}
	/* This node's own sockets first: they win over a flow of the same
	 * connection. */
	if (n_own)
		memcpy(all, own, n_own * sizeof(*all));
	if (n_flows)
		memcpy(all + n_own, flows, n_flows * sizeof(*all));
	if (n)
		wire_conns_sort(all, &n);
	err =
	    send_report(t, local->node_id, owner, dvipa, n_flows ? WIRE_CONNS_HANDOVER : 0, all, n);
	if (err < 0)
		log_err("%s moves to node %u: cannot report its connections: %s", text, owner,
		        strerror(-err));
	else
		log_info("%s moves to node %u: reported %zu connections (%zu of this node, %zu "
		         "flows handed over)",
		         text, owner, n, n_own, n_flows);
out:
	free(all);
	free(own);
	free(flows);
	return changed;
}

bool takeover_moved(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                    const struct plex_transition *tr, size_t n, uint64_t now_ms)
{
	bool changed = false;

	for (size_t i = 0; i < n; i++) {
		const struct ipaddr *dvipa = &tr[i].dvipa;
		struct wire_conn_entry *own = NULL;
		size_t n_own = 0;
		int err;

		if (tr[i].new_owner == PLEX_NODE_NONE)
			continue;
		if (tr[i].new_owner != local->node_id) {
			changed |= report(t, local, dvipa, tr[i].new_owner,
			                  tr[i].old_owner == local->node_id);
			continue;
		}
		/* A live earlier owner reports (pending_apply may have its
		 * report already). */
		if (tr[i].old_owner != PLEX_NODE_NONE && tr[i].old_owner != local->node_id && p &&
		    plex_member_facts(p, tr[i].old_owner))
			await_set(t, dvipa, tr[i].old_owner, now_ms + AWAIT_MS);
		/* Back here: this node's own connections are its own again,
		 * and on a distributed port they need a flow. */
		changed |= kept_drop(t, dvipa);
		distributor_reclaim(t->dist, dvipa);
		pending_apply(t, p, local, now_ms);
		err = own_conns(t, dvipa, local->node_id, &own, &n_own);
		if (err == 0 && n_own)
			err = distributor_adopt(t->dist, p, dvipa, own, n_own, now_ms);
		if (err < 0)
			log_err("cannot adopt this node's own connections: %s", strerror(-err));
		free(own);
	}
	return changed;
}

/* A report for this node, which owns its DVIPA. True when it was the last
 * part of a report this node waited for. */
static bool apply(struct takeover *t, const struct plex *p, const struct wire_conns_msg *m,
                  uint64_t now_ms)
{
	char text[IPADDR_STRLEN];
	int err = 0;

	ipaddr_format(&m->dvipa, text, sizeof(text));
	if (m->flags & WIRE_CONNS_DONE) {
		distributor_moving_done(t->dist, &m->dvipa, m->sender);
		return false;
	}
	if (m->n)
		err = distributor_adopt(t->dist, p, &m->dvipa, m->v, m->n, now_ms);
	if (err < 0)
		log_err("%s: cannot adopt the %zu connections node %u reported: %s", text, m->n,
		        m->sender, strerror(-err));
	else if (m->n)
		log_info("%s: adopted %d connections %s node %u", text, err,
		         m->flags & WIRE_CONNS_HANDOVER ? "handed over by" : "reported by",
		         m->sender);
	return (m->flags & WIRE_CONNS_LAST) && await_clear(t, &m->dvipa, m->sender);
}

static bool owns(const struct plex *p, const struct plex_facts *local, const struct ipaddr *dvipa)
{
	return p && plex_owner(p, dvipa) == local->node_id;
}

/* Pending reports whose DVIPA this node now owns are applied; those too old
 * are dropped. True when an awaited one was among them. */
static bool pending_apply(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                          uint64_t now_ms)
{
	char text[IPADDR_STRLEN];
	bool awaited = false;

	for (size_t i = 0; i < t->n_pending;) {
		struct takeover_pending *q = &t->pending[i];

		if (owns(p, local, &q->m.dvipa))
			awaited |= apply(t, p, &q->m, now_ms);
		else if (now_ms < q->until_ms) {
			i++;
			continue;
		} else
			log_info("%s: connection report of node %u dropped: this node did not "
			         "become its owner",
			         ipaddr_format(&q->m.dvipa, text, sizeof(text)), q->m.sender);
		wire_conns_msg_clear(&q->m);
		*q = t->pending[--t->n_pending];
	}
	return awaited;
}

bool takeover_receive(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                      uint32_t from, const void *msg, size_t len, uint64_t now_ms)
{
	struct wire_conns_msg m = {0};
	int err = wire_decode_conns(msg, len, &m);
	bool awaited = false;

	if (err < 0) {
		log_warn(
		    "plex: dropped a malformed connection report of %zu bytes from node %u: %s",
		    len, from, strerror(-err));
		return false;
	}
	if (m.sender != from) {
		log_warn("plex: node %u sent a connection report in the name of node %u: dropped",
		         from, m.sender);
	} else if (m.to != local->node_id) {
		/* For another node. */
	} else if (owns(p, local, &m.dvipa)) {
		awaited = apply(t, p, &m, now_ms);
	} else if (array_grow(&t->pending, &t->cap_pending, t->n_pending + 1,
	                      sizeof(*t->pending)) == 0) {
		/* Kept: the sender's view is ahead of this node's. */
		t->pending[t->n_pending++] = (struct takeover_pending){m, now_ms + PENDING_MS};
		return false;
	} else {
		log_err("plex: no memory to keep a connection report of node %u", from);
	}
	wire_conns_msg_clear(&m);
	return awaited;
}

bool takeover_retry(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                    uint64_t now_ms)
{
	return t->n_pending && pending_apply(t, p, local, now_ms);
}

void takeover_tick(struct takeover *t, const struct plex *p, const struct plex_facts *local,
                   uint64_t now_ms)
{
	char text[IPADDR_STRLEN];

	/* The caller reconciles after its tick: an awaited report applied
	 * here needs nothing more. */
	pending_apply(t, p, local, now_ms);
	for (size_t i = 0; i < t->n_kept;) {
		struct takeover_kept *k = &t->kept[i];
		uint32_t count = 0;
		int err = conncount_get(t->conncount, &k->dvipa, &count);

		if (err < 0 || count) {
			if (err == 0)
				k->conns = count;
			i++;
			continue;
		}
		ipaddr_format(&k->dvipa, text, sizeof(text));
		if (p && k->owner != local->node_id && plex_member_facts(p, k->owner)) {
			struct wire_conns_msg m = {
			    .sender = local->node_id,
			    .to = k->owner,
			    .dvipa = k->dvipa,
			    .flags = WIRE_CONNS_DONE | WIRE_CONNS_LAST,
			};
			size_t len;

			err = wire_encode_conns(&m, t->buf, WIRE_MAX_SIZE, &len);
			if (err == 0)
				err = t->send(t->send_data, t->buf, len);
			if (err < 0) {
				/* Told next time. */
				log_err("%s: cannot tell node %u that its last connection here "
				        "ended: %s",
				        text, k->owner, strerror(-err));
				i++;
				continue;
			}
		}
		log_info("%s: the last connection kept here ended", text);
		kept_drop(t, &k->dvipa);
	}
}
