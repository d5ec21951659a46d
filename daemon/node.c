#include "daemon/node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/array.h"
#include "core/plex.h"
#include "core/wire.h"
#include "dataplane/dataplane.h"
#include "daemon/distributor.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/opfile.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/show.h"
#include "daemon/show_counters.h"
#include "daemon/takeover.h"
#include "fabric/fabric.h"
#include "net/addr.h"
#include "net/announce.h"
#include "daemon/conncount.h"
#include "net/diag.h"

#define GROUP "dvipa"
/* A DVIPA is installed with this lifetime and refreshed every REFRESH_MS,
 * so that one left behind by a crashed dvipad vanishes within seconds while
 * the new owner's gratuitous ARP already steers clients away. */
#define ADDR_LIFETIME_S 3
#define REFRESH_MS      500
#define RECONNECT_MS    1000
#define CONNS_MS        250
#define DIST_MS         250
/* After a membership change in which nodes left the corosync ring (node
 * death, partition, corosync stopped), DVIPAs are added only this long after
 * it: a node cut off in a minority learns of its quorum loss at the same
 * moment the majority forms its ring, and needs a few milliseconds (more on
 * a loaded host) to remove its addresses. A dvipad crash keeps the ring and
 * needs no guard: its leftovers expire by themselves. */
#define TAKEOVER_GUARD_MS 80
/* When a member's dvipad leaves while its node stays in the ring, the
 * distributors hold back the packets of connections they do not know for
 * this long, instead of letting their stacks reset them: a restarted dvipad
 * reports the connections of its node (docs/distributor.md). */
#define RESTART_HOLD_MS 10000
/* A member whose dvipad died while its node stays in the ring still counts
 * as a member this long: its kernel keeps its DVIPAs (each at most
 * ADDR_LIFETIME_S after its last refresh) and its data plane forwarding with
 * the pinned flow table, and a dvipad restarted in time adopts them. After
 * it, with every leftover expired, the others take over. */
#define RESTART_GRACE_MS (ADDR_LIFETIME_S * 1000 + 500)
/* Used when corosync does not say its token and consensus timeouts. */
#define RING_GUARD_DEFAULT_MS 2000
/* When the gratuitous ARP / unsolicited NA of a new DVIPA goes out, in ms
 * after activation: one frame can be lost, several rarely are. */
static const unsigned garp_schedule_ms[] = {0, 100, 300, 1000, 3000};
#define GARP_STEPS (sizeof(garp_schedule_ms) / sizeof(garp_schedule_ms[0]))

struct garp {
	struct ipaddr addr;
	unsigned step;
	uint64_t due_ms;
};

/* A member counted although its dvipad died (RESTART_GRACE_MS). */
struct absent {
	uint32_t node;
	uint64_t until_ms;
};

struct node {
	struct loop *loop;
	const struct config *config;
	int ifindex;
	struct addr_handle *addr;
	struct announce *announce;
	struct diag_handle *diag;
	struct conncount *conncount;
	struct distributor *dist;
	struct takeover *takeover;

	struct fabric *fabric;
	int fds[FABRIC_NFDS];
	size_t n_fds;
	uint64_t next_connect_ms;
	bool waiting_logged;
	int fatal; /* -errno that stops the daemon, 0 while all is well */

	struct plex *plex; /* NULL until the first membership after a connect */
	/* Last quorum state: NONE releases everything, PENDING (the ring is
	 * changing) keeps what is held but adds nothing, OK acts. */
	enum fabric_quorum quorum;
	/* This node's facts as last sent (contract of core/plex.h): its held
	 * list is what its kernel may have. */
	struct plex_facts facts;
	struct fabric_node *nodelist;
	size_t n_nodelist;
	uint8_t *buf; /* one encoded announcement */
	uint8_t *ext; /* its extension section */

	struct garp *garps;
	size_t n_garps;
	uint64_t next_refresh_ms, next_conns_ms, next_dist_ms;
	uint64_t adds_after_ms; /* no kernel adds before this (the guards) */
	/* token + consensus: how long a node of another partition may still
	 * believe itself quorate after a node it counted moved over here. */
	uint32_t ring_guard_ms;
	bool quorate_once; /* OK seen since this connection to corosync */
	bool settled;      /* a settled view acted on since then (view_settled()) */
	struct loop_timer *guard_timer;
	struct loop_timer *await_timer; /* a DVIPA waits for its earlier holder's report */
	/* The group's members as CPG last said, and those counted besides. */
	uint32_t cpg_members[PLEX_MAX_NODES];
	size_t n_cpg_members;
	struct absent absent[PLEX_MAX_NODES];
	size_t n_absent;
	struct loop_timer *absent_timer;
	struct loop_timer *flush_timer; /* messages held back by flow control */
	/* DVIPAs an earlier run of this node left on INTERFACE: held (in the
	 * facts) but not refreshed until a quorate view confirms them. */
	struct ipaddr *adopted;
	size_t n_adopted, cap_adopted;
	bool watch_statuses; /* node_watch_statuses() */
	/* Connection counts of held DVIPAs, for displays (facts carry only
	 * changes between zero and non-zero). */
	struct show_conns conns;
	char *opstate_path;    /* the operator state kept across restarts */
	struct events *events; /* for dvipactl monitor and the metrics */
};

static uint64_t wall_ms(void)
{
	return loop_wall_ms();
}

static const char *node_member_name(const void *data, uint32_t id);

static const char *node_name(const struct node *n, uint32_t id, char *buf, size_t size)
{
	const struct plex_facts *f = n->plex ? plex_member_facts(n->plex, id) : NULL;

	if (id == PLEX_NODE_NONE)
		return "none";
	if (f && f->name[0]) {
		snprintf(buf, size, "%s (%u)", f->name, id);
		return buf;
	}
	for (size_t i = 0; i < n->n_nodelist; i++) {
		if (n->nodelist[i].nodeid == id && n->nodelist[i].name[0]) {
			snprintf(buf, size, "%s (%u)", n->nodelist[i].name, id);
			return buf;
		}
	}
	snprintf(buf, size, "node %u", id);
	return buf;
}

/* ---- the kernel side ---- */

/* A DVIPA goes on the interface as a host address (/32, /128) whatever its
 * mask: a /24 in the node's own subnet would become a secondary of the
 * node's address (and vanish with it), and would take over the subnet's
 * route and source address selection (docs/net.md). An IPv6 DVIPA is added
 * deprecated (preferred lifetime 0) so that the node's own connections do not
 * start from an address that may move; it still accepts connections. */
static struct addr_spec kernel_spec(const struct node *n, const struct ipaddr *a)
{
	return (struct addr_spec){
	    .ifindex = n->ifindex,
	    .addr = *a,
	    .prefix_len = (uint8_t)ipaddr_max_prefix(a),
	    .valid_lft = ADDR_LIFETIME_S,
	    .preferred_lft = a->family == IPADDR_V6 ? 0 : ADDR_LIFETIME_S,
	};
}

static int kernel_add(struct node *n, const struct ipaddr *a)
{
	struct addr_spec s = kernel_spec(n, a);

	return addr_add(n->addr, &s);
}

static int kernel_del(struct node *n, const struct ipaddr *a, uint8_t prefix_len)
{
	int err = addr_del(n->addr, n->ifindex, a, prefix_len);

	return err == -EADDRNOTAVAIL ? 0 : err;
}

static void garp_send(struct node *n, const struct ipaddr *a)
{
	char text[IPADDR_STRLEN];
	int err = announce_send(n->announce, n->ifindex, a, 0);

	if (err < 0)
		log_debug("announcing %s on %s failed: %s", ipaddr_format(a, text, sizeof(text)),
		          n->config->interface, strerror(-err));
}

static void garp_start(struct node *n, const struct ipaddr *a)
{
	struct garp *v = realloc(n->garps, (n->n_garps + 1) * sizeof(*v));

	garp_send(n, a);
	if (!v)
		return;
	n->garps = v;
	v[n->n_garps++] =
	    (struct garp){.addr = *a, .step = 1, .due_ms = loop_now_ms() + garp_schedule_ms[1]};
}

static void garp_forget(struct node *n, const struct ipaddr *a)
{
	for (size_t i = 0; i < n->n_garps;) {
		if (ipaddr_equal(&n->garps[i].addr, a))
			n->garps[i] = n->garps[--n->n_garps];
		else
			i++;
	}
}

static void garp_tick(struct node *n, uint64_t now_ms)
{
	for (size_t i = 0; i < n->n_garps;) {
		struct garp *g = &n->garps[i];

		if (now_ms < g->due_ms) {
			i++;
			continue;
		}
		garp_send(n, &g->addr);
		if (++g->step >= GARP_STEPS) {
			*g = n->garps[--n->n_garps];
			continue;
		}
		g->due_ms = now_ms + garp_schedule_ms[g->step] - garp_schedule_ms[g->step - 1];
		i++;
	}
}

/* ---- announcements ---- */

static void disconnect(struct node *n);

/* While corosync's flow control holds messages back (it does during every
 * membership sync), they are offered again this often: a connection report
 * held back delays a takeback by as much. */
#define FLUSH_MS 10

/* A message to the plex (also for takeover.c). */
static int send_message(void *data, const void *msg, size_t len)
{
	struct node *n = data;
	int err;

	if (!n->fabric)
		return -ENOTCONN;
	err = fabric_send(n->fabric, msg, len);
	if (err == 0 && fabric_pending(n->fabric))
		loop_timer_arm(n->flush_timer, FLUSH_MS, FLUSH_MS);
	return err;
}

static void on_flush(struct loop_timer *t, void *data)
{
	struct node *n = data;

	if (!n->fabric || !fabric_pending(n->fabric)) {
		loop_timer_disarm(t);
		return;
	}
	if (fabric_flush(n->fabric) < 0) {
		loop_timer_disarm(t);
		log_err("lost corosync while sending: giving up every DVIPA until it is back");
		disconnect(n);
	}
}

static void announce_facts(struct node *n)
{
	size_t len, ext_len = 0;
	int err;

	if (!n->fabric || !n->plex)
		return;
	err = plex_fill_known(n->plex, &n->facts);
	if (err == 0 && distributor_ext(n->dist, n->ext, (size_t)WIRE_EXT_MAX, &ext_len) < 0) {
		/* Ownership must not wait for distribution: announce without. */
		log_err("cannot encode this node's distribution facts; announcing without them");
		ext_len = 0;
	}
	if (err == 0) {
		n->facts.seq++;
		err = wire_encode_facts(&n->facts, n->ext, ext_len, n->buf, (size_t)WIRE_MAX_SIZE,
		                        &len);
	}
	if (err == 0)
		err = send_message(n, n->buf, len);
	if (err < 0)
		log_err("cannot announce this node's facts: %s", strerror(-err));
}

/* The data plane follows the plex, except while DVIPAs an earlier run left
 * wait for the plex's confirmation: the earlier run's programs forward with
 * the pinned flow table meanwhile, and loading this run's takes a while (the
 * verifier, longer on a busy host) during which those DVIPAs could expire.
 * reconcile() confirms them first, then comes here. */
static void dist_update(struct node *n)
{
	if (n->n_adopted)
		return;
	distributor_update(n->dist, n->plex, &n->facts, loop_now_ms());
}

/* Logs the owner changes of the last input; their connections go to the
 * new owners before this node acts on it (and, if it gives a DVIPA up,
 * removes it from INTERFACE). */
static void log_transitions(struct node *n)
{
	const struct plex_transition *t;
	size_t count = plex_transitions(n->plex, &t);

	/* DVIPAs kept for their connections go on lo now. Not while DVIPAs an
	 * earlier run left wait for confirmation: nothing moved (the kernel
	 * kept them), the owners seen meanwhile come from a view without this
	 * node's own facts, and taking its own connections over would load
	 * the data plane before the confirmation (dist_update()). */
	if (count && !n->n_adopted &&
	    takeover_moved(n->takeover, n->plex, &n->facts, t, count, loop_now_ms()))
		dist_update(n);
	for (size_t i = 0; i < count; i++) {
		char a[IPADDR_STRLEN], from[PLEX_NAME_MAX + 16], to[PLEX_NAME_MAX + 16];

		log_info("DVIPA %s: owner %s -> %s (%s)", ipaddr_format(&t[i].dvipa, a, sizeof(a)),
		         node_name(n, t[i].old_owner, from, sizeof(from)),
		         node_name(n, t[i].new_owner, to, sizeof(to)),
		         plex_reason_name(t[i].reason));
		events_owner(n->events, &t[i], node_member_name(n, t[i].old_owner),
		             node_member_name(n, t[i].new_owner), wall_ms());
	}
}

/* PLEX_ACTION_ADDs v[0..count), together. The data plane first: its
 * services (and the flows reported for them) are in place before a DVIPA is
 * on INTERFACE and announced, or this node's stack would answer the first
 * packets of connections it does not have with resets. One update of the
 * data plane for all of them: one per DVIPA made a takeover of many DVIPAs
 * quadratic. A DVIPA whose kernel add fails stays claimed and the next tick
 * tries again. Returns how many were activated. */
static size_t activate(struct node *n, const struct plex_action *v, size_t count)
{
	/* Each DVIPA's state before, to go back to when its add fails. */
	struct plex_held *before = calloc(count ? count : 1, sizeof(*before));
	char text[IPADDR_PREFIX_STRLEN];
	size_t done = 0;
	bool failed = false;
	int err;

	if (!before) {
		log_err("plex: cannot activate DVIPAs: out of memory");
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		const struct plex_held *h = plex_facts_find_held(&n->facts, &v[i].dvipa);

		before[i] =
		    h ? *h : (struct plex_held){.dvipa = v[i].dvipa, .state = PLEX_HELD_CLAIMED};
		err = plex_facts_apply_action(&n->facts, &v[i], wall_ms());
		if (err < 0) {
			log_err("plex: cannot apply action %s: %s", plex_action_name(v[i].type),
			        strerror(-err));
			/* Skipped below (family 0): nothing to undo. */
			before[i].dvipa.family = 0;
		}
	}
	distributor_update_dp(n->dist, n->plex, &n->facts, loop_now_ms());
	for (size_t i = 0; i < count; i++) {
		if (!before[i].dvipa.family)
			continue;
		ipaddr_format_prefix(&v[i].dvipa, v[i].prefix_len, text, sizeof(text));
		err = kernel_add(n, &v[i].dvipa);
		if (err < 0) {
			log_err("cannot add DVIPA %s to %s: %s", text, n->config->interface,
			        strerror(-err));
			plex_facts_set_held(&n->facts, &before[i]);
			failed = true;
			continue;
		}
		log_info("DVIPA %s activated on %s", text, n->config->interface);
		garp_start(n, &v[i].dvipa);
		done++;
	}
	if (failed)
		dist_update(n);
	free(before);
	return done;
}

/* ---- DVIPAs an earlier run left ---- */

static bool holds_active(const struct node *n, const struct ipaddr *a);

static ssize_t adopted_find(const struct node *n, const struct ipaddr *a)
{
	for (size_t i = 0; i < n->n_adopted; i++)
		if (ipaddr_equal(&n->adopted[i], a))
			return (ssize_t)i;
	return -1;
}

static void adopted_drop(struct node *n, const struct ipaddr *a)
{
	ssize_t i = adopted_find(n, a);

	if (i >= 0)
		n->adopted[i] = n->adopted[--n->n_adopted];
}

/* Whether the view is one to act on for adopted DVIPAs: quorate, and every
 * member's facts known (this node's own included). */
static bool view_settled(const struct node *n)
{
	return n->plex && n->quorum == FABRIC_QUORUM_OK && plex_complete(n->plex);
}

/* A settled view that leaves an adopted DVIPA held confirms it: it is
 * refreshed from now on, if it is still there (else it expired: dropped).
 * True when the facts changed. */
static bool adopted_confirm(struct node *n)
{
	struct addr_info *v = NULL;
	size_t count = 0;
	char text[IPADDR_STRLEN];
	bool changed = false;

	if (!n->n_adopted || addr_list(n->addr, n->ifindex, &v, &count) < 0)
		return false;
	while (n->n_adopted) {
		struct ipaddr a = n->adopted[--n->n_adopted];
		bool present = false;

		for (size_t j = 0; j < count; j++)
			present |= ipaddr_equal(&v[j].addr, &a);
		ipaddr_format(&a, text, sizeof(text));
		if (!holds_active(n, &a))
			continue;
		if (present && kernel_add(n, &a) == 0) {
			log_info("DVIPA %s: kept from the earlier run (the plex agrees)", text);
			continue;
		}
		log_info("DVIPA %s left by an earlier run expired before the plex confirmed it",
		         text);
		plex_facts_drop_held(&n->facts, &a);
		changed = true;
	}
	free(v);
	return changed;
}

/* Carries out what the state machine says this node must do now, then
 * announces when its facts changed (or when told to). */
static void reconcile(struct node *n, bool announce)
{
	struct plex_action *actions = NULL;
	struct plex_action *adds = NULL;
	size_t count = 0, n_adds = 0;
	char text[IPADDR_PREFIX_STRLEN];
	uint64_t now = loop_now_ms(), await_until = 0, until;
	int err;

	if (!n->plex) {
		/* Out of the plex: statuses change too (to INACTIVE). */
		if (n->watch_statuses)
			node_status_events(n);
		return;
	}
	/* First, before anything that may take long (a data plane to load):
	 * DVIPAs an earlier run left expire by themselves meanwhile. */
	if (view_settled(n))
		announce |= adopted_confirm(n);
	takeover_retry(n->takeover, n->plex, &n->facts, now);
	err = plex_actions(n->plex, &n->facts, &actions, &count);
	if (err < 0) {
		log_err("plex: cannot compute actions: %s", strerror(-err));
		return;
	}
	if (count && !(adds = calloc(count, sizeof(*adds)))) {
		log_err("plex: cannot carry out actions: out of memory");
		free(actions);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct plex_action *a = &actions[i];
		const struct plex_held *h;

		switch (a->type) {
		case PLEX_ACTION_ADD:
			/* Quorum for the ring being delivered is not confirmed
			 * yet: the quorum callback reconciles again. */
			if (n->quorum != FABRIC_QUORUM_OK || now < n->adds_after_ms)
				continue;
			/* Its earlier holder's connections are on their way. */
			if (takeover_awaits(n->takeover, &a->dvipa, now, &until)) {
				if (!await_until || until < await_until)
					await_until = until;
				continue;
			}
			adds[n_adds++] = *a;
			continue;
		case PLEX_ACTION_REMOVE:
			/* An unsettled view does not know yet that this node
			 * still holds it (its own facts not back, others' not
			 * in): it expires by itself if none comes. */
			if (adopted_find(n, &a->dvipa) >= 0 && !view_settled(n))
				continue;
			adopted_drop(n, &a->dvipa);
			h = plex_facts_find_held(&n->facts, &a->dvipa);
			err = kernel_del(n, &a->dvipa, (uint8_t)ipaddr_max_prefix(&a->dvipa));
			if (err < 0) {
				log_err("cannot remove DVIPA %s from %s: %s",
				        ipaddr_format(&a->dvipa, text, sizeof(text)),
				        n->config->interface, strerror(-err));
				continue;
			}
			garp_forget(n, &a->dvipa);
			log_info("DVIPA %s deactivated on %s%s",
			         ipaddr_format(&a->dvipa, text, sizeof(text)), n->config->interface,
			         h && h->conns ? " (connections remained)" : "");
			break;
		default:
			break;
		}
		err = plex_facts_apply_action(&n->facts, a, wall_ms());
		if (err < 0) {
			log_err("plex: cannot apply action %s: %s", plex_action_name(a->type),
			        strerror(-err));
			continue;
		}
		announce = true;
	}
	if (n_adds && activate(n, adds, n_adds))
		announce = true;
	free(adds);
	free(actions);
	if (await_until)
		loop_timer_arm(n->await_timer, await_until - now, 0);
	if (announce)
		announce_facts(n);
	dist_update(n);
	/* After the update: a node with a part in distribution has loaded
	 * its data plane with the earlier run's flow table by now. */
	if (view_settled(n) && !n->settled) {
		n->settled = true;
		distributor_settle(n->dist);
	}
	if (n->watch_statuses)
		node_status_events(n);
}

/* Removes every DVIPA this node holds from the kernel (no corosync, no
 * quorum knowledge, or stopping). */
static void release_all(struct node *n)
{
	char text[IPADDR_STRLEN];

	for (size_t i = 0; i < n->facts.n_held; i++) {
		const struct plex_held *h = &n->facts.held[i];

		if (h->state != PLEX_HELD_ACTIVE)
			continue;
		if (kernel_del(n, &h->dvipa, (uint8_t)ipaddr_max_prefix(&h->dvipa)) == 0)
			log_info("DVIPA %s deactivated on %s (leaving the plex)",
			         ipaddr_format(&h->dvipa, text, sizeof(text)),
			         n->config->interface);
	}
	while (n->facts.n_held)
		plex_facts_drop_held(&n->facts, &n->facts.held[0].dvipa);
	n->n_adopted = 0;
	n->n_garps = 0;
}

/* ---- corosync ---- */

/* No DVIPA goes into the kernel for the next ms milliseconds. */
static void guard_adds(struct node *n, uint32_t ms)
{
	uint64_t until = loop_now_ms() + ms;

	if (until <= n->adds_after_ms)
		return;
	n->adds_after_ms = until;
	loop_timer_arm(n->guard_timer, ms, 0);
}

static void absent_drop(struct node *n, uint32_t node)
{
	for (size_t i = 0; i < n->n_absent; i++) {
		if (n->absent[i].node == node) {
			n->absent[i] = n->absent[--n->n_absent];
			return;
		}
	}
}

static void absent_arm(struct node *n, uint64_t now)
{
	uint64_t first = 0;

	for (size_t i = 0; i < n->n_absent; i++)
		if (!first || n->absent[i].until_ms < first)
			first = n->absent[i].until_ms;
	loop_timer_arm(n->absent_timer, first > now ? first - now : 1, 0);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The plex's members: CPG's and the absent ones, ascending. */
static int set_members(struct node *n)
{
	uint32_t v[2 * PLEX_MAX_NODES];
	size_t count = 0;
	int err;

	for (size_t i = 0; i < n->n_cpg_members; i++)
		v[count++] = n->cpg_members[i];
	for (size_t i = 0; i < n->n_absent; i++)
		v[count++] = n->absent[i].node;
	qsort(v, count, sizeof(v[0]), cmp_u32);
	err = plex_set_members(n->plex, v, count);
	if (err < 0)
		log_err("plex: membership of %zu rejected: %s", count, strerror(-err));
	return err;
}

/* Absent members whose grace ended leave the plex: the others take over. */
static void on_absent(struct loop_timer *t, void *data)
{
	struct node *n = data;
	uint64_t now = loop_now_ms();
	char name[PLEX_NAME_MAX + 16];
	bool gone = false;

	(void)t;
	for (size_t i = 0; i < n->n_absent;) {
		if (now < n->absent[i].until_ms) {
			i++;
			continue;
		}
		log_info("plex: %s's dvipad did not come back within %u ms: it leaves the plex",
		         node_name(n, n->absent[i].node, name, sizeof(name)), RESTART_GRACE_MS);
		n->absent[i] = n->absent[--n->n_absent];
		gone = true;
	}
	if (n->n_absent)
		absent_arm(n, now);
	if (!gone || !n->plex)
		return;
	/* Its connections come back with its node's reports. */
	distributor_hold_unknown(n->dist, now + RESTART_HOLD_MS);
	if (set_members(n) < 0)
		return;
	log_transitions(n);
	reconcile(n, true);
}

static void on_members(void *data, const uint32_t *members, size_t count, const uint32_t *joined,
                       size_t n_joined, const uint32_t *left, size_t n_left,
                       const uint32_t *crashed, size_t n_crashed)
{
	struct node *n = data;
	char name[PLEX_NAME_MAX + 16];
	uint64_t now = loop_now_ms();

	for (size_t i = 0; i < n_joined; i++) {
		log_info("plex: %s joined", node_name(n, joined[i], name, sizeof(name)));
		events_member(n->events, joined[i], node_member_name(n, joined[i]), true,
		              wall_ms());
		absent_drop(n, joined[i]);
	}
	for (size_t i = 0; i < n_left; i++) {
		log_info("plex: %s left", node_name(n, left[i], name, sizeof(name)));
		events_member(n->events, left[i], node_member_name(n, left[i]), false, wall_ms());
		absent_drop(n, left[i]);
	}
	/* PENDING: this membership comes with a new corosync ring. */
	if (n_left && n->quorum == FABRIC_QUORUM_PENDING)
		guard_adds(n, TAKEOVER_GUARD_MS);
	/* Otherwise a dvipad left while its node stays (a crash, a restart):
	 * its connections are on their way back, do not reset them. */
	else if (n_left)
		distributor_hold_unknown(n->dist, now + RESTART_HOLD_MS);
	/* A dvipad that died keeps its part while it may restart. */
	for (size_t i = 0; i < n_crashed && n->n_absent < PLEX_MAX_NODES; i++) {
		if (crashed[i] == n->facts.node_id)
			continue;
		log_info("plex: %s's dvipad died; its DVIPAs stay where they are for up to %u ms "
		         "while it restarts",
		         node_name(n, crashed[i], name, sizeof(name)), RESTART_GRACE_MS);
		n->absent[n->n_absent++] = (struct absent){crashed[i], now + RESTART_GRACE_MS};
	}
	if (n->n_absent)
		absent_arm(n, now);
	n->n_cpg_members = 0;
	for (size_t i = 0; i < count && i < PLEX_MAX_NODES; i++)
		n->cpg_members[n->n_cpg_members++] = members[i];
	if (!n->plex) {
		n->plex = plex_new(n->facts.node_id);
		if (!n->plex) {
			log_err("plex: %s", strerror(errno));
			return;
		}
		plex_set_quorum(n->plex, n->quorum != FABRIC_QUORUM_NONE);
	}
	if (set_members(n) < 0)
		return;
	log_transitions(n);
	/* Everybody re-announces after a change, so that merged partitions
	 * converge and newcomers learn everything. */
	reconcile(n, true);
}

static void on_message(void *data, uint32_t from, const void *msg, size_t len)
{
	struct node *n = data;
	struct plex_facts f = {0};
	struct wire_ext ext = {0};
	enum wire_type type;
	uint64_t seq;
	int err;

	if (!n->plex)
		return;
	err = wire_peek(msg, len, &type);
	if (err == -EOPNOTSUPP) {
		log_debug(
		    "plex: skipped a message of a type this version does not know from node %u",
		    from);
		return;
	}
	if (err == 0 && type == WIRE_CONNS) {
		if (takeover_receive(n->takeover, n->plex, &n->facts, from, msg, len,
		                     loop_now_ms()))
			reconcile(n, false);
		return;
	}
	if (err == 0 && type != WIRE_FACTS) {
		log_debug("plex: skipped a message of type %d from node %u", (int)type, from);
		return;
	}
	if (err == 0)
		err = wire_decode_facts(msg, len, &f, &ext);
	if (err < 0) {
		log_warn("plex: dropped a malformed message of %zu bytes from node %u: %s", len,
		         from, strerror(-err));
		return;
	}
	err = plex_apply_facts(n->plex, from, &f);
	seq = f.seq;
	plex_facts_clear(&f);
	if (err < 0) {
		log_warn("plex: dropped the facts of node %u: %s", from, strerror(-err));
		return;
	}
	if (from != n->facts.node_id && distributor_peer(n->dist, from, seq, ext.data, ext.len) < 0)
		log_warn("plex: node %u announced malformed distribution facts: ignored", from);
	log_transitions(n);
	reconcile(n, false);
}

static void on_quorum(void *data, enum fabric_quorum quorum)
{
	struct node *n = data;

	if ((quorum == FABRIC_QUORUM_NONE) != (n->quorum == FABRIC_QUORUM_NONE)) {
		log_info("plex: quorum %s", quorum == FABRIC_QUORUM_NONE ? "lost" : "gained");
		events_quorum(n->events, n->facts.node_id, n->facts.name,
		              quorum != FABRIC_QUORUM_NONE, wall_ms());
	} else
		log_debug("plex: quorum %s", fabric_quorum_name(quorum));
	/* Quorum regained while connected (a partition healing, a node moving
	 * between partitions): the partition this node's new peers came from
	 * may still count itself quorate until its token times out. A fresh
	 * connection (dvipad start) has no such history and acts at once. */
	if (quorum == FABRIC_QUORUM_OK && n->quorum == FABRIC_QUORUM_NONE && n->quorate_once) {
		log_info("plex: quorum regained; adding DVIPAs in %u ms, once any other partition "
		         "has noticed",
		         n->ring_guard_ms);
		guard_adds(n, n->ring_guard_ms);
	}
	if (quorum == FABRIC_QUORUM_OK)
		n->quorate_once = true;
	n->quorum = quorum;
	if (!n->plex)
		return;
	plex_set_quorum(n->plex, quorum != FABRIC_QUORUM_NONE);
	log_transitions(n);
	reconcile(n, false);
}

static void fabric_ready(int fd, uint32_t events, void *data);

static void disconnect(struct node *n)
{
	/* Addresses first: once the others see this node leave the group
	 * they take its DVIPAs over at once. */
	release_all(n);
	for (size_t i = 0; i < n->n_fds; i++)
		loop_del(n->loop, n->fds[i]);
	n->n_fds = 0;
	fabric_close(n->fabric);
	n->fabric = NULL;
	plex_free(n->plex);
	n->plex = NULL;
	n->quorum = FABRIC_QUORUM_NONE;
	/* Out of the plex: a target no more. */
	distributor_update(n->dist, NULL, &n->facts, loop_now_ms());
	n->quorate_once = false;
	n->settled = false;
	n->n_absent = 0;
	n->n_cpg_members = 0;
	n->next_connect_ms = loop_now_ms() + RECONNECT_MS;
}

static void check_destips(struct node *n)
{
	for (size_t i = 0; i < n->config->n_dists; i++) {
		const struct config_dist *d = &n->config->dists[i];

		for (size_t j = 0; j < d->n_dests; j++) {
			bool found = false, family = false;
			char text[IPADDR_STRLEN];

			/* A DESTIP of the other family names a node's plex address
			 * of that family, which it announces (docs/distributor.md). */
			for (size_t k = 0; k < n->n_nodelist; k++) {
				found |=
				    ipaddr_equal(&n->nodelist[k].ring0_addr, &d->dests[j].addr);
				family |=
				    n->nodelist[k].ring0_addr.family == d->dests[j].addr.family;
			}
			if (!found && family)
				log_warn("profile line %u: DESTIP %s is not a plex address "
				         "(no ring0_addr in corosync's nodelist)",
				         d->dests[j].pos.line,
				         ipaddr_format(&d->dests[j].addr, text, sizeof(text)));
		}
	}
}

static void load_identity(struct node *n)
{
	char err[128] = "";
	struct fabric_node *v = NULL;
	size_t count = 0;
	int ret = fabric_nodelist(n->fabric, &v, &count, err, sizeof(err));

	if (ret < 0) {
		log_warn("corosync nodelist: %s%s%s", strerror(-ret), err[0] ? ": " : "", err);
		return;
	}
	free(n->nodelist);
	n->nodelist = v;
	n->n_nodelist = count;
	for (size_t i = 0; i < count; i++) {
		if (v[i].nodeid != n->facts.node_id)
			continue;
		snprintf(n->facts.name, sizeof(n->facts.name), "%s", v[i].name);
		n->facts.plex_addr = v[i].ring0_addr;
	}
	if (!n->facts.name[0])
		gethostname(n->facts.name, sizeof(n->facts.name) - 1);
	check_destips(n);
}

static void connect_fabric(struct node *n)
{
	static const struct fabric_callbacks cb = {
	    .on_members = on_members,
	    .on_message = on_message,
	    .on_quorum = on_quorum,
	};
	int err = 0;

	n->fabric = fabric_open(GROUP, &cb, n, &err);
	if (!n->fabric) {
		if (!n->waiting_logged)
			log_warn("waiting for corosync: %s", strerror(-err));
		n->waiting_logged = true;
		n->next_connect_ms = loop_now_ms() + RECONNECT_MS;
		return;
	}
	n->waiting_logged = false;
	n->facts.node_id = fabric_local_nodeid(n->fabric);
	{
		struct fabric_info info = {0};

		fabric_info(n->fabric, &info);
		n->ring_guard_ms = info.token_ms && info.consensus_ms
		                       ? info.token_ms + info.consensus_ms
		                       : RING_GUARD_DEFAULT_MS;
	}
	load_identity(n);
	n->n_fds = fabric_fds(n->fabric, n->fds);
	for (size_t i = 0; i < n->n_fds; i++)
		loop_add(n->loop, n->fds[i], EPOLLIN, fabric_ready, n);
	log_info("joined corosync as node %u (%s), group %s", n->facts.node_id, n->facts.name,
	         GROUP);
}

static void fabric_ready(int fd, uint32_t events, void *data)
{
	struct node *n = data;
	int err;

	(void)events;
	if (!n->fabric)
		return;
	err = fabric_dispatch(n->fabric, fd);
	if (err == 0)
		return;
	if (err == -EEXIST) {
		log_err("another dvipad of this node is in the plex; stopping");
		n->fatal = err;
		disconnect(n);
		loop_stop(n->loop);
		return;
	}
	log_err("lost corosync (%s): giving up every DVIPA until it is back", strerror(-err));
	disconnect(n);
}

/* ---- the kernel's view, kept honest ---- */

/* True when a is a DVIPA: defined here or by any member. */
static bool is_dvipa(const struct node *n, const struct ipaddr *a)
{
	if (config_find_vipa(n->config, a))
		return true;
	return n->plex && plex_owner(n->plex, a) != PLEX_NODE_NONE;
}

static bool holds_active(const struct node *n, const struct ipaddr *a)
{
	const struct plex_held *h = plex_facts_find_held(&n->facts, a);

	return h && h->state == PLEX_HELD_ACTIVE;
}

static void on_addr_event(const struct addr_event *ev, void *data)
{
	struct node *n = data;
	char text[IPADDR_PREFIX_STRLEN];
	const struct ipaddr *a = &ev->addr.addr;
	int err;

	if (ev->ifindex != n->ifindex)
		return;
	if (ev->type == ADDR_EVENT_LINK) {
		if (ev->link_removed)
			log_err("interface %s was removed", n->config->interface);
		return;
	}
	if (ev->type == ADDR_EVENT_DEL && adopted_find(n, a) >= 0) {
		/* An earlier run's, expired before the plex confirmed it. */
		log_info("DVIPA %s left by an earlier run expired on %s",
		         ipaddr_format(a, text, sizeof(text)), n->config->interface);
		adopted_drop(n, a);
		plex_facts_drop_held(&n->facts, a);
		announce_facts(n);
	} else if (ev->type == ADDR_EVENT_DEL && holds_active(n, a)) {
		err = kernel_add(n, a);
		log_warn("DVIPA %s was removed from %s behind dvipa's back: %s",
		         ipaddr_format(a, text, sizeof(text)), n->config->interface,
		         err < 0 ? strerror(-err) : "restored");
		if (err == 0)
			garp_start(n, a);
	} else if (ev->type == ADDR_EVENT_NEW && !holds_active(n, a) && is_dvipa(n, a)) {
		err = kernel_del(n, a, ev->addr.prefix_len);
		log_warn("DVIPA %s was added to %s by hand but this node does not hold it: %s",
		         ipaddr_format_prefix(a, ev->addr.prefix_len, text, sizeof(text)),
		         n->config->interface, err < 0 ? strerror(-err) : "removed");
	}
}

/* Compares the interface's addresses with what this node holds and repairs
 * both ways (after lost notifications). */
static void resync_kernel(struct node *n)
{
	struct addr_info *v = NULL;
	size_t count = 0;

	if (addr_list(n->addr, n->ifindex, &v, &count) < 0)
		return;
	for (size_t i = 0; i < count; i++) {
		struct addr_event ev = {
		    .type = ADDR_EVENT_NEW, .ifindex = n->ifindex, .addr = v[i]};

		on_addr_event(&ev, n);
	}
	for (size_t i = 0; i < n->facts.n_held; i++) {
		const struct plex_held *h = &n->facts.held[i];
		bool present = false;

		for (size_t j = 0; j < count; j++)
			present |= ipaddr_equal(&v[j].addr, &h->dvipa);
		if (h->state == PLEX_HELD_ACTIVE && !present) {
			struct addr_event ev = {.type = ADDR_EVENT_DEL, .ifindex = n->ifindex};

			ev.addr.addr = h->dvipa;
			on_addr_event(&ev, n);
		}
	}
	free(v);
}

static void addr_ready(int fd, uint32_t events, void *data)
{
	struct node *n = data;

	(void)fd;
	(void)events;
	if (addr_read_events(n->addr, on_addr_event, n) == -ENOBUFS)
		resync_kernel(n);
}

/* DVIPAs of this profile still on the interface with a lifetime were left by
 * an earlier run that died less than ADDR_LIFETIME_S ago: the others still
 * count that run's part (RESTART_GRACE_MS), so this run holds them again, but
 * refreshes them only once a quorate view confirms it (adopted_confirm());
 * without one they expire. Others (added by hand) are removed. */
static int adopt_leftovers(struct node *n)
{
	struct addr_info *v = NULL;
	size_t count = 0;
	char text[IPADDR_PREFIX_STRLEN];
	int err = addr_list(n->addr, n->ifindex, &v, &count);

	if (err < 0)
		return err;
	for (size_t i = 0; i < count; i++) {
		struct plex_held h = {.dvipa = v[i].addr, .state = PLEX_HELD_ACTIVE};

		if (!config_find_vipa(n->config, &v[i].addr))
			continue;
		if (v[i].valid_lft != ADDR_LIFETIME_FOREVER &&
		    v[i].prefix_len == ipaddr_max_prefix(&v[i].addr) &&
		    array_grow(&n->adopted, &n->cap_adopted, n->n_adopted + 1,
		               sizeof(*n->adopted)) == 0) {
			h.activated = wall_ms();
			if (plex_facts_set_held(&n->facts, &h) == 0) {
				n->adopted[n->n_adopted++] = v[i].addr;
				log_info("DVIPA %s left on %s by an earlier run is held again (it "
				         "expires in %u s unless the plex confirms it)",
				         ipaddr_format(&v[i].addr, text, sizeof(text)),
				         n->config->interface, v[i].valid_lft);
				continue;
			}
		}
		err = kernel_del(n, &v[i].addr, v[i].prefix_len);
		log_info("removed DVIPA %s left on %s by an earlier run%s",
		         ipaddr_format_prefix(&v[i].addr, v[i].prefix_len, text, sizeof(text)),
		         n->config->interface, err < 0 ? " (failed)" : "");
	}
	free(v);
	return 0;
}

/* Every held DVIPA's lifetime starts again: one batch of requests, not a
 * round trip (and a notification back) per DVIPA. */
static void refresh_held(struct node *n)
{
	struct addr_spec *v = calloc(n->facts.n_held ? n->facts.n_held : 1, sizeof(*v));
	size_t count = 0, failed;
	int err;

	if (!v) {
		log_err("cannot refresh DVIPAs on %s: out of memory", n->config->interface);
		return;
	}
	for (size_t i = 0; i < n->facts.n_held; i++) {
		const struct plex_held *h = &n->facts.held[i];

		if (h->state == PLEX_HELD_ACTIVE && adopted_find(n, &h->dvipa) < 0)
			v[count++] = kernel_spec(n, &h->dvipa);
	}
	err = addr_refresh(n->addr, v, count);
	free(v);
	if (err < 0)
		log_err("cannot refresh DVIPAs on %s: %s", n->config->interface, strerror(-err));
	/* Refusals of the previous round (they come back on the event socket). */
	failed = addr_refresh_failed(n->addr, &err);
	if (failed)
		log_err("cannot refresh %zu DVIPAs on %s: %s", failed, n->config->interface,
		        strerror(-err));
}

/* Counts connections on held DVIPAs; announces when a count goes between
 * zero and non-zero (what WHENIDLE and QUIESCING look at). */
static void count_conns(struct node *n)
{
	bool changed = false;

	if (conncount_refresh(n->conncount) < 0)
		return;
	n->conns.n = 0;
	for (size_t i = 0; i < n->facts.n_held; i++) {
		struct plex_held h = n->facts.held[i];
		uint32_t count = 0;

		if (h.state != PLEX_HELD_ACTIVE ||
		    conncount_cached(n->conncount, &h.dvipa, &count) < 0)
			continue;
		show_conns_append(&n->conns, &h.dvipa, count);
		if ((h.conns == 0) != (count == 0)) {
			h.conns = count;
			plex_facts_set_held(&n->facts, &h);
			changed = true;
		}
	}
	if (changed)
		announce_facts(n);
}

void node_tick(struct node *n, uint64_t now_ms)
{
	if (!n->fabric && now_ms >= n->next_connect_ms)
		connect_fabric(n);
	if (n->fabric && fabric_pending(n->fabric) && fabric_flush(n->fabric) < 0) {
		log_err("lost corosync while sending: giving up every DVIPA until it is back");
		disconnect(n);
	}
	garp_tick(n, now_ms);
	if (now_ms >= n->next_refresh_ms) {
		refresh_held(n);
		n->next_refresh_ms = now_ms + REFRESH_MS;
	}
	if (now_ms >= n->next_conns_ms) {
		count_conns(n);
		takeover_tick(n->takeover, n->plex, &n->facts, now_ms);
		n->next_conns_ms = now_ms + CONNS_MS;
	}
	if (now_ms >= n->next_dist_ms) {
		n->next_dist_ms = now_ms + DIST_MS;
		/* A change of this node's own distribution facts (its
		 * listeners, its plex address) counts for its own services at
		 * once, as it does in its displays: waiting for the
		 * announcement to come back through corosync left a new
		 * distributor sending everything to the others meanwhile. */
		if (distributor_tick(n->dist, n->plex, &n->facts, now_ms)) {
			announce_facts(n);
			dist_update(n);
		}
	}
	/* Claimed DVIPAs whose kernel add failed, and anything else pending. */
	reconcile(n, false);
	notify_status(n->fabric != NULL, n->quorum == FABRIC_QUORUM_OK, n->settled, &n->facts);
}

int node_error(const struct node *n)
{
	return n->fatal;
}

static void on_guard(struct loop_timer *t, void *data)
{
	(void)t;
	reconcile(data, false);
}

/* ---- operator commands ---- */

static int reply(char **ret_msg, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reply(char **ret_msg, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(ret_msg, fmt, ap) < 0)
		*ret_msg = NULL;
	va_end(ap);
	return status;
}

static void facts_changed(struct node *n)
{
	announce_facts(n);
	reconcile(n, false);
}

/* Writes leave, deactivate and quiesce down for the next run. */
static void keep_opstate(struct node *n)
{
	const uint16_t *ports;
	struct opstate s = {
	    .left = n->facts.flags & PLEX_FACTS_LEFT,
	    .n_deactivated = n->facts.n_deactivated,
	    .deactivated = n->facts.deactivated,
	};
	int err;

	distributor_quiesced_ports(n->dist, &s.quiesce_all, &ports, &s.n_quiesced);
	s.quiesced = (uint16_t *)ports;
	err = opfile_save(n->opstate_path, &s);
	if (err < 0)
		log_warn(
		    "cannot keep the operator state in %s: %s (a restart of dvipad forgets it)",
		    n->opstate_path, strerror(-err));
}

/* The leave, deactivate and quiesce an earlier run kept, before this run
 * first announces itself. */
static void restore_opstate(struct node *n)
{
	struct opstate s = {0};
	char text[IPADDR_STRLEN];
	bool dropped = false;
	int err = opfile_load(n->opstate_path, &s);

	if (err < 0) {
		log_warn("cannot read the operator state %s: %s (starting without it)",
		         n->opstate_path, strerror(-err));
		return;
	}
	if (s.left) {
		n->facts.flags |= PLEX_FACTS_LEFT;
		log_info("operator state: this node stays out of the plex (LEAVEGROUP) until "
		         "dvipactl join");
	}
	for (size_t i = 0; i < s.n_deactivated; i++) {
		ipaddr_format(&s.deactivated[i], text, sizeof(text));
		if (!config_find_vipa(n->config, &s.deactivated[i])) {
			log_warn("operator state: %s is no longer a DVIPA of this node: its "
			         "deactivate is dropped",
			         text);
			dropped = true;
		} else if (plex_facts_set_deactivated(&n->facts, &s.deactivated[i], true) == 0) {
			log_info("operator state: %s stays deactivated until dvipactl reactivate",
			         text);
		}
	}
	for (size_t i = 0; i < s.n_quiesced; i++)
		if (distributor_quiesce(n->dist, s.quiesced[i], true) == 0)
			log_info("operator state: port %u stays quiesced until dvipactl resume",
			         s.quiesced[i]);
	if (s.quiesce_all && distributor_quiesce(n->dist, 0, true) == 0)
		log_info("operator state: every distributed port stays quiesced until dvipactl "
		         "resume");
	opstate_clear(&s);
	if (dropped)
		keep_opstate(n);
}

/* deactivate (on) or reactivate (off) a DVIPA this node defines. */
static int set_deactivated(struct node *n, const struct ipaddr *a, bool on, char **ret_msg)
{
	const char *verb = on ? "deactivate" : "reactivate";
	char text[IPADDR_STRLEN];

	ipaddr_format(a, text, sizeof(text));
	if (!config_find_vipa(n->config, a))
		return reply(ret_msg, -ENOENT,
		             "%s is not a DVIPA of this node (no VIPADEFINE or VIPABACKUP for it)",
		             text);
	if (plex_facts_is_deactivated(&n->facts, a) == on)
		return reply(ret_msg, -EALREADY, "%s is %s deactivated here", text,
		             on ? "already" : "not");
	if (plex_facts_set_deactivated(&n->facts, a, on) < 0)
		return reply(ret_msg, -ENOMEM, "out of memory");
	log_info("operator: %s %s", verb, text);
	keep_opstate(n);
	facts_changed(n);
	if (!on)
		return reply(ret_msg, 0, "%s reactivated on this node\n", text);
	return reply(ret_msg, 0,
	             holds_active(n, a) ? "%s deactivated: it moves to another node that may "
	                                  "own it, else stays here while connections here "
	                                  "last (QUIESCING)\n"
	                                : "%s deactivated on this node\n",
	             text);
}

int node_deactivate(struct node *n, const struct ipaddr *a, char **ret_msg)
{
	return set_deactivated(n, a, true, ret_msg);
}

int node_reactivate(struct node *n, const struct ipaddr *a, char **ret_msg)
{
	return set_deactivated(n, a, false, ret_msg);
}

int node_leave(struct node *n, char **ret_msg)
{
	if (n->facts.flags & PLEX_FACTS_LEFT)
		return reply(ret_msg, -EALREADY, "this node has already left the plex");
	n->facts.flags |= PLEX_FACTS_LEFT;
	log_info("operator: leave the plex (LEAVEGROUP)");
	keep_opstate(n);
	facts_changed(n);
	return reply(ret_msg, 0, "left the plex: this node gives up and backs up no DVIPA\n");
}

int node_join(struct node *n, char **ret_msg)
{
	if (!(n->facts.flags & PLEX_FACTS_LEFT))
		return reply(ret_msg, -EALREADY, "this node is in the plex already");
	n->facts.flags &= ~PLEX_FACTS_LEFT;
	log_info("operator: join the plex (JOINGROUP)");
	keep_opstate(n);
	facts_changed(n);
	return reply(ret_msg, 0, "joined the plex again\n");
}

int node_quiesce(struct node *n, uint16_t port, bool on, char **ret_msg)
{
	char what[32] = "every distributed port";
	int err;

	if (port)
		snprintf(what, sizeof(what), "port %u", port);
	err = distributor_quiesce(n->dist, port, on);
	if (err == -EALREADY)
		return reply(ret_msg, err, "%s is %s here already", what,
		             on ? "quiesced" : "not quiesced");
	if (err == -EINVAL)
		return reply(ret_msg, err,
		             "every distributed port is quiesced here: resume them all "
		             "(dvipactl resume) or none");
	if (err < 0)
		return reply(ret_msg, err, "%s", strerror(-err));
	log_info("operator: %s %s", on ? "quiesce" : "resume", what);
	keep_opstate(n);
	announce_facts(n);
	reconcile(n, false);
	return reply(ret_msg, 0,
	             on ? "%s quiesced: no new distributed connections come here; "
	                  "existing ones go on\n"
	                : "%s resumed: new distributed connections come here again\n",
	             what);
}

/* ---- displays ---- */

static void show_ctx(const struct node *n, struct show_ctx *ctx)
{
	*ctx = (struct show_ctx){
	    .config = n->config,
	    .plex = n->plex,
	    .facts = &n->facts,
	    .connected = n->fabric != NULL,
	    .quorate = n->quorum != FABRIC_QUORUM_NONE,
	    .nodelist = n->nodelist,
	    .n_nodelist = n->n_nodelist,
	    .conns = &n->conns,
	    .dist = distributor_view(n->dist),
	};
}

/* show_ctx() with the DVIPAs kept for their connections; clear *kept after. */
static void show_ctx_kept(const struct node *n, struct show_ctx *ctx, struct show_conns *kept)
{
	const struct takeover_kept *k;
	size_t n_kept = takeover_kept(n->takeover, &k);

	for (size_t i = 0; i < n_kept; i++)
		show_conns_set(kept, &k[i].dvipa, k[i].conns);
	show_ctx(n, ctx);
	ctx->kept = kept;
}

char *node_show_dynamic(const struct node *n, bool json)
{
	struct show_conns kept = {0};
	struct show_ctx ctx;
	char *out;

	show_ctx_kept(n, &ctx, &kept);
	out = show_dynamic(&ctx, json);
	show_conns_clear(&kept);
	return out;
}

void node_status_events(struct node *n)
{
	struct show_conns kept = {0};
	struct show_dyn_row *rows;
	struct show_ctx ctx;
	size_t count;

	show_ctx_kept(n, &ctx, &kept);
	if (show_dynamic_rows(&ctx, &rows, &count) == 0) {
		events_statuses(n->events, rows, count, wall_ms());
		free(rows);
	}
	show_conns_clear(&kept);
}

void node_watch_statuses(struct node *n, bool on)
{
	if (on && !n->watch_statuses)
		node_status_events(n);
	if (!on)
		events_statuses_reset(n->events);
	n->watch_statuses = on;
}

struct events *node_events(struct node *n)
{
	return n->events;
}

char *node_metrics(struct node *n)
{
	const uint32_t *ids;
	struct show_conns kept = {0};
	struct metrics_input in = {
	    .self = n->facts.node_id,
	    .self_name = n->facts.name,
	    .connected = n->fabric != NULL,
	    .quorate = n->quorum != FABRIC_QUORUM_NONE,
	    .n_members = n->plex ? plex_members(n->plex, &ids) : 0,
	    .events = events_counts(n->events),
	    .name_of = node_member_name,
	    .data = n,
	};
	struct dist_view dv = {0};
	uint64_t counters[DP_CNT_MAX];
	struct show_dyn_row *rows = NULL;
	struct show_ctx ctx;
	char *out = NULL;

	show_ctx_kept(n, &ctx, &kept);
	if (show_dynamic_rows(&ctx, &rows, &in.n_rows) < 0)
		goto out;
	in.rows = rows;
	if (distributor_derive_now(n->dist, n->plex, &n->facts, &dv) == 0)
		in.dist = &dv;
	if (distributor_counters(n->dist, counters, DP_CNT_MAX) == 0)
		in.counters = counters;
	out = metrics_render(&in);
out:
	free(rows);
	dist_view_clear(&dv);
	show_conns_clear(&kept);
	return out;
}

char *node_show_plex(const struct node *n, bool json)
{
	struct show_ctx ctx;

	show_ctx(n, &ctx);
	return show_plex(&ctx, json);
}

static const char *node_member_name(const void *data, uint32_t id)
{
	const struct node *n = data;
	const struct plex_facts *f = n->plex ? plex_member_facts(n->plex, id) : NULL;

	if (id == n->facts.node_id && n->facts.name[0])
		return n->facts.name;
	if (f && f->name[0])
		return f->name;
	for (size_t i = 0; i < n->n_nodelist; i++)
		if (n->nodelist[i].nodeid == id)
			return n->nodelist[i].name;
	return "";
}

char *node_show_ports(struct node *n, bool json)
{
	return distributor_show_ports(n->dist, n->plex, &n->facts, json, node_member_name, n);
}

char *node_show_connections(struct node *n, bool json)
{
	return distributor_show_connections(n->dist, json, node_member_name, n);
}

char *node_show_counters(struct node *n, bool json)
{
	uint64_t counters[DP_CNT_MAX];
	bool loaded = distributor_counters(n->dist, counters, DP_CNT_MAX) == 0;

	return show_counters(n->facts.name, loaded ? counters : NULL, json);
}

/* ---- life cycle ---- */

static int defs_from_config(struct plex_facts *f, const struct config *c)
{
	f->defs = calloc(c->n_vipas ? c->n_vipas : 1, sizeof(*f->defs));
	if (!f->defs)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct config_vipa *v = &c->vipas[i];

		f->defs[i] = (struct plex_def){
		    .dvipa = v->addr,
		    .prefix_len = v->prefix_len,
		    .kind = v->kind,
		    .rank = v->rank,
		    .moveable = v->moveable,
		};
	}
	f->n_defs = c->n_vipas;
	return plex_facts_sort(f);
}

int node_reload(struct node *n, const struct config *config, char **ret_msg)
{
	struct plex_facts defs = {0};
	char text[IPADDR_STRLEN];
	bool dropped = false;
	int err;

	if (strcmp(config->interface, n->config->interface) != 0)
		return reply(ret_msg, -EINVAL,
		             "INTERFACE %s cannot become %s while dvipad runs: restart dvipad "
		             "for that",
		             n->config->interface, config->interface);
	err = defs_from_config(&defs, config);
	if (err == 0)
		err = distributor_reconfigure(n->dist, config);
	if (err < 0) {
		plex_facts_clear(&defs);
		return reply(ret_msg, err, "%s",
		             err == -E2BIG    ? "the VIPADISTRIBUTE statements take more than one "
		                                "announcement can carry"
		             : err == -EINVAL ? "the VIPADISTRIBUTE statements overlap"
		                              : strerror(-err));
	}
	free(n->facts.defs);
	n->facts.defs = defs.defs;
	n->facts.n_defs = defs.n_defs;
	n->config = config;
	for (size_t i = n->facts.n_deactivated; i-- > 0;) {
		struct ipaddr a = n->facts.deactivated[i];

		if (config_find_vipa(config, &a))
			continue;
		log_info("%s is no longer a DVIPA of this node: its deactivate is dropped",
		         ipaddr_format(&a, text, sizeof(text)));
		plex_facts_set_deactivated(&n->facts, &a, false);
		dropped = true;
	}
	if (dropped)
		keep_opstate(n);
	facts_changed(n);
	*ret_msg = NULL;
	return 0;
}

int node_new(struct loop *l, const struct config *config, const char *socket_path,
             const char *state_dir, struct node **ret)
{
	struct node *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return -ENOMEM;
	n->loop = l;
	n->config = config;
	n->events = events_new();
	if (!n->events) {
		err = -ENOMEM;
		goto fail;
	}
	n->ifindex = addr_ifindex(config->interface);
	if (n->ifindex < 0) {
		err = n->ifindex;
		log_err("INTERFACE %s: %s", config->interface,
		        err == -ENODEV ? "no such interface" : strerror(-err));
		goto fail;
	}
	n->buf = malloc((size_t)WIRE_MAX_SIZE);
	n->ext = malloc((size_t)WIRE_EXT_MAX);
	n->addr = addr_open();
	n->announce = n->addr ? announce_open() : NULL;
	n->diag = n->announce ? diag_open() : NULL;
	if (!n->buf || !n->ext || !n->addr || !n->announce || !n->diag) {
		err = -errno;
		log_err("cannot open kernel interfaces: %s", strerror(errno));
		goto fail;
	}
	err = loop_add(l, addr_fd(n->addr), EPOLLIN, addr_ready, n);
	if (err < 0)
		goto fail;
	err = conncount_new(n->diag, &n->conncount);
	if (err == 0)
		err = distributor_new(config, n->ifindex, n->addr, n->diag, socket_path, &n->dist);
	if (err == 0)
		err = takeover_new(n->diag, n->conncount, n->dist, send_message, n, &n->takeover);
	if (err < 0)
		goto fail;
	n->guard_timer = loop_timer_new(l, on_guard, n);
	n->await_timer = n->guard_timer ? loop_timer_new(l, on_guard, n) : NULL;
	n->absent_timer = n->await_timer ? loop_timer_new(l, on_absent, n) : NULL;
	n->flush_timer = n->absent_timer ? loop_timer_new(l, on_flush, n) : NULL;
	if (!n->flush_timer) {
		err = -errno;
		goto fail;
	}
	err = defs_from_config(&n->facts, config);
	if (err < 0) {
		log_err("profile: %s", strerror(-err));
		goto fail;
	}
	if (asprintf(&n->opstate_path, "%s/%s", state_dir, OPFILE_NAME) < 0) {
		n->opstate_path = NULL;
		err = -ENOMEM;
		goto fail;
	}
	restore_opstate(n);
	/* Announcement numbers only grow, also across restarts. */
	n->facts.seq = wall_ms() * 1000;
	err = adopt_leftovers(n);
	if (err < 0) {
		log_err("cannot list addresses of %s: %s", config->interface, strerror(-err));
		goto fail;
	}
	connect_fabric(n);
	*ret = n;
	return 0;
fail:
	node_free(n);
	return err;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	if (n->fabric)
		disconnect(n);
	else if (n->addr)
		release_all(n);
	takeover_free(n->takeover);
	distributor_free(n->dist);
	conncount_free(n->conncount);
	if (n->addr)
		loop_del(n->loop, addr_fd(n->addr));
	loop_timer_free(n->guard_timer);
	loop_timer_free(n->await_timer);
	loop_timer_free(n->absent_timer);
	loop_timer_free(n->flush_timer);
	free(n->adopted);
	addr_close(n->addr);
	announce_close(n->announce);
	diag_close(n->diag);
	plex_facts_clear(&n->facts);
	free(n->nodelist);
	free(n->garps);
	free(n->buf);
	free(n->ext);
	show_conns_clear(&n->conns);
	free(n->opstate_path);
	events_free(n->events);
	free(n);
}
