#include "daemon/distributor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <bpf/libbpf.h>
#include <linux/if_addr.h>

#include "core/array.h"
#include "core/dist_count.h"
#include "core/dist_index.h"
#include "core/wire.h"
#include "core/wire_conns.h"
#include "core/wire_dist.h"
#include "daemon/flowstats.h"
#include "daemon/log.h"
#include "daemon/show_dist.h"
#include "daemon/target.h"
#include "daemon/workload.h"
#include "dataplane/dataplane.h"
#include "net/neigh.h"

/* How long to wait before trying to load the data plane again after a
 * failure. */
#define DP_RETRY_MS 10000
/* The flow table is pinned here (a bpffs): the programs of a dvipad that
 * died go on forwarding with it, and the next run adopts it. */
#define PIN_DIR "/sys/fs/bpf/dvipa"
/* How often a distributing node asks the kernel to look up the MAC of a
 * target on the link that it has none for (a target that corosync has not
 * talked to yet, or one whose entry failed), or to probe a STALE one again
 * (no traffic of corosync's confirms the plex address of the other
 * family). */
#define NEIGH_PROBE_MS 5000
/* A service new on this node (a takeover, a takeback) holds back, for this
 * long, the packets of connections its flow table does not know yet
 * (DP_SERVICE_HOLD_UNKNOWN), while the targets' reports rebuild it; then the
 * stack answers them with a reset, as it would any unknown connection. */
#define REBUILD_MS 2000
/* A node that hands a distributed DVIPA over goes on forwarding the flows it
 * knows for this long (a MOVING entry): clients whose neighbour cache still
 * names it, packets already on their way. */
#define HANDOVER_MS 5000

/* How the data plane reaches a member's plex address. */
enum distributor_way_kind {
	DIST_WAY_DIRECT,  /* on the link, MAC known: unchanged, to the MAC */
	DIST_WAY_ROUTE,   /* VIPAROUTE names it: encapsulated */
	DIST_WAY_OFFLINK, /* not in a prefix of INTERFACE: encapsulated */
	DIST_WAY_NO_MAC,  /* on the link, MAC not known: encapsulated */
};

struct distributor_way {
	enum distributor_way_kind kind;
	uint8_t mac[NEIGH_MAC_LEN];
	struct ipaddr addr;
};

/* A service as last programmed into the data plane. */
struct distributor_svc {
	struct ipaddr dvipa;
	uint16_t port;
	uint16_t n_slots;
	uint32_t timedaffinity; /* seconds, 0 = none */
	uint64_t hold_until_ms; /* DP_SERVICE_HOLD_UNKNOWN until then; 0: cleared */
	size_t n_targets;
	struct dp_service_target targets[DIST_MAX_TARGETS];
	uint8_t slots[DIST_SLOTS];
};

struct distributor_member {
	struct ipaddr addr;
	uint32_t node_id;
};

/* A DVIPA with a MOVING entry in the data plane: connections of node (an
 * earlier holder) on ports no service names are forwarded to it; or, with
 * until_ms, this node handed the DVIPA over and forwards the flows it knew
 * until then. */
struct distributor_moving {
	struct ipaddr dvipa;
	uint32_t node; /* 0 with until_ms */
	uint64_t until_ms;
};

struct distributor {
	const struct config *config;
	int ifindex;
	struct addr_handle *addr;
	struct target *target;
	struct workload *workload; /* BASEWLM, SERVERWLM: this node's report */

	struct dp *dp;
	bool dp_attached; /* d->dp's programs are on INTERFACE */
	uint64_t dp_retry_ms;

	/* What this node announces; its ready list is refreshed by the tick. */
	struct dist_facts local;
	struct dist_peer peers[PLEX_MAX_NODES];
	size_t n_peers;
	struct dist_view view;
	uint32_t self;

	/* Flow counts of the services this node distributes, for
	 * WEIGHTEDACTIVE, and the health of their targets. */
	struct flowstats flowstats;

	/* What is programmed. */
	uint32_t dp_node_id;
	struct ipaddr dp_plex_v4, dp_plex_v6;
	struct distributor_svc *svcs;
	size_t n_svcs, cap_svcs;
	/* Where each of svcs is (node id 0), while svc_indexed. */
	struct dist_index svc_index;
	bool svc_indexed;
	struct distributor_member *members;
	size_t n_members, cap_members;
	struct target_addrs target_dvipas; /* in the data plane's target map */
	/* MOVING entries (takeover.c's reports and handovers). */
	struct distributor_moving *moving;
	size_t n_moving, cap_moving;
	/* DVIPAs this node gave up with connections of its own still open on
	 * them: kept on lo, decapsulated, until the last one ends. */
	struct target_addrs kept;
	uint64_t now_ms;            /* of the last update or tick */
	uint64_t hold_all_until_ms; /* distributor_hold_unknown() */

	/* How each member's plex address is reached, from INTERFACE's
	 * prefixes and neighbour table, while this node distributes (no
	 * neigh handle: always encapsulated). */
	struct neigh_handle *neigh;
	struct distributor_way ways[2 * PLEX_MAX_NODES];
	size_t n_ways;
	bool ways_failed; /* the last read failed: said once */
	uint64_t neigh_probe_ms;
};

/* ---- the data plane ---- */

/* Set while a failure is expected and handled (removing programs that may
 * not be there): libbpf's complaints about it are noise. */
static bool distributor_libbpf_quiet;

static int distributor_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t len;

	if (level == LIBBPF_DEBUG || distributor_libbpf_quiet)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = 0;
	if (level == LIBBPF_WARN)
		log_warn("libbpf: %s", line);
	else
		log_debug("libbpf: %s", line);
	return 0;
}

static void distributor_mss(struct distributor *d)
{
	struct addr_link link;
	int err = addr_link_get(d->addr, d->ifindex, &link);

	if (err == 0)
		err = dp_set_mss(d->dp, dp_mss_for_mtu(IPADDR_V4, link.mtu),
		                 dp_mss_for_mtu(IPADDR_V6, link.mtu));
	if (err < 0)
		log_warn("cannot set the MSS clamp from %s's MTU: %s", d->config->interface,
		         strerror(-err));
}

static int distributor_count_flow(const struct dp_flow_info *f, void *data)
{
	(void)f;
	(*(size_t *)data)++;
	return 0;
}

/* Opens the data plane with the flow table pinned in PIN_DIR: an earlier
 * run's, if it died, is adopted. */
static int distributor_open_dp(struct distributor *d)
{
	struct dp_open_opts o = {.pin_dir = PIN_DIR, .pin_flows_only = true};
	size_t n = 0;
	int err = dp_open(&o, &d->dp);

	if (err == -EINVAL) {
		log_warn("the flow table an earlier run pinned in %s has another layout: starting "
		         "with an empty one",
		         PIN_DIR);
		o.reset_pins = true;
		err = dp_open(&o, &d->dp);
	}
	if (err < 0) {
		log_warn("cannot pin the flow table in %s (%s): a restarted dvipad will start "
		         "with an empty one",
		         PIN_DIR, strerror(-err));
		return dp_open(NULL, &d->dp);
	}
	if (dp_flow_foreach(d->dp, distributor_count_flow, &n) == 0 && n)
		log_info("adopted %zu connections from the flow table of an earlier run", n);
	return 0;
}

/* Loads the data plane the first time this node has a part in distribution
 * (attached once its tables are filled: distributor_attach()); after a
 * failure, tries again DP_RETRY_MS later. */
static bool distributor_need_dp(struct distributor *d, uint64_t now_ms)
{
	int err;

	if (d->dp)
		return true;
	if (now_ms < d->dp_retry_ms)
		return false;
	err = distributor_open_dp(d);
	if (err < 0) {
		log_err("cannot load the BPF data plane on %s: %s; no distribution here for now",
		        d->config->interface, strerror(-err));
		d->dp_retry_ms = now_ms + DP_RETRY_MS;
		return false;
	}
	d->dp_attached = false;
	distributor_mss(d);
	target_sysctls(d->target, true);
	d->dp_node_id = 0;
	d->n_svcs = 0;
	d->n_members = 0;
	d->target_dvipas.n = 0;
	return true;
}

/* ---- life cycle ---- */

int distributor_new(const struct config *config, int ifindex, struct addr_handle *addr,
                    struct diag_handle *diag, const char *run_path, struct distributor **ret)
{
	struct distributor *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->config = config;
	d->ifindex = ifindex;
	d->addr = addr;
	err = target_new(config, addr, diag, run_path, &d->target);
	if (err == 0)
		err = workload_new(diag, &d->workload);
	if (err < 0)
		goto fail;
	if (neigh_open(&d->neigh) < 0) {
		log_warn("cannot read %s's neighbour table: distributed connections will be "
		         "encapsulated to every target",
		         config->interface);
		d->neigh = NULL;
	}
	err = dist_facts_set_config(&d->local, config);
	if (err < 0) {
		log_err("profile: VIPADISTRIBUTE statements: %s", strerror(-err));
		goto fail;
	}
	if (wire_dist_size(&d->local) > WIRE_EXT_MAX / 2) {
		/* The other half is for ready listeners and the rest. */
		log_err("profile: the VIPADISTRIBUTE statements take %zu bytes, more than one "
		        "announcement can carry (%u)",
		        wire_dist_size(&d->local), WIRE_EXT_MAX / 2);
		err = -E2BIG;
		goto fail;
	}
	libbpf_set_print(distributor_libbpf_print);
	/* A crashed run's programs stay until this run's replace them, or
	 * distributor_settle() finds this node has no part. */
	*ret = d;
	return 0;
fail:
	distributor_free(d);
	return err;
}

int distributor_reconfigure(struct distributor *d, const struct config *config)
{
	struct dist_facts tmp = {0};
	int err = dist_facts_set_config(&tmp, config);

	if (err == 0 && wire_dist_size(&tmp) > WIRE_EXT_MAX / 2)
		err = -E2BIG;
	if (err == 0) {
		/* tmp passed the same checks: this cannot fail but for memory. */
		err = dist_facts_set_config(&d->local, config);
	}
	dist_facts_clear(&tmp);
	if (err < 0)
		return err;
	d->config = config;
	target_set_config(d->target, config);
	return 0;
}

void distributor_quiesced_ports(const struct distributor *d, bool *ret_all,
                                const uint16_t **ret_ports, size_t *ret_n)
{
	*ret_all = d->local.quiesce_all;
	*ret_ports = d->local.quiesced;
	*ret_n = d->local.n_quiesced;
}

void distributor_free(struct distributor *d)
{
	if (!d)
		return;
	if (d->dp) {
		dp_detach(d->dp);
		dp_free(d->dp);
		log_info("BPF data plane detached from %s", d->config->interface);
	}
	/* An orderly stop: the next run starts afresh. */
	if (dp_unpin(PIN_DIR) < 0)
		log_debug("cannot remove %s", PIN_DIR);
	target_free(d->target);
	workload_free(d->workload);
	dist_facts_clear(&d->local);
	for (size_t i = 0; i < d->n_peers; i++)
		dist_facts_clear(&d->peers[i].facts);
	dist_view_clear(&d->view);
	flowstats_clear(&d->flowstats);
	free(d->svcs);
	dist_index_clear(&d->svc_index);
	free(d->members);
	target_addrs_clear(&d->target_dvipas);
	free(d->moving);
	target_addrs_clear(&d->kept);
	neigh_close(d->neigh);
	free(d);
}

/* ---- facts ---- */

int distributor_peer(struct distributor *d, uint32_t node_id, uint64_t seq, const void *ext,
                     size_t len)
{
	struct dist_facts f = {0};
	struct dist_peer *p = NULL;
	int err = 0;

	if (len)
		err = wire_dist_decode(ext, len, &f);
	for (size_t i = 0; i < d->n_peers && !p; i++)
		if (d->peers[i].node_id == node_id)
			p = &d->peers[i];
	if (!p) {
		if (d->n_peers == PLEX_MAX_NODES) {
			/* Replace the entry of a node that is gone: the oldest. */
			size_t old = 0;

			for (size_t i = 1; i < d->n_peers; i++)
				if (d->peers[i].seq < d->peers[old].seq)
					old = i;
			p = &d->peers[old];
		} else {
			p = &d->peers[d->n_peers++];
			memset(p, 0, sizeof(*p));
		}
	}
	dist_facts_clear(&p->facts);
	p->node_id = node_id;
	p->seq = seq;
	p->facts = f;
	return err;
}

int distributor_ext(struct distributor *d, void *buf, size_t size, size_t *ret_len)
{
	return wire_dist_encode(&d->local, buf, size, ret_len);
}

int distributor_quiesce(struct distributor *d, uint16_t port, bool on)
{
	return dist_facts_quiesce(&d->local, port, on);
}

bool distributor_quiesced(const struct distributor *d, uint16_t port)
{
	return dist_facts_is_quiesced(&d->local, port);
}

unsigned distributor_role(const struct distributor *d, const struct ipaddr *dvipa)
{
	return dist_view_role(&d->view, d->self, dvipa);
}

const struct dist_view *distributor_view(const struct distributor *d)
{
	return &d->view;
}

/* ---- deriving ---- */

static int distributor_derive_view(struct distributor *d, const struct plex *p,
                                   const struct plex_facts *local, const struct dist_count *conns,
                                   struct dist_view *ret)
{
	struct dist_input in = {
	    .plex = p,
	    .local = local,
	    .local_dist = &d->local,
	    .peers = d->peers,
	    .n_peers = d->n_peers,
	    .conns = conns ? conns->conns : NULL,
	    .n_conns = conns ? conns->n : 0,
	    .health = flowstats_health(&d->flowstats)->v,
	    .n_health = flowstats_health(&d->flowstats)->n,
	};
	static const struct dist_conns none;

	/* Counts known to be zero are still counts. */
	if (conns && !in.conns)
		in.conns = &none;
	if (p && local->node_id != plex_self(p))
		in.plex = NULL;
	return dist_view(&in, ret);
}

static void distributor_derive(struct distributor *d, const struct plex *p,
                               const struct plex_facts *local)
{
	struct dist_view v = {0};
	int err;

	d->self = local->node_id;
	err = distributor_derive_view(d, p, local, flowstats_conns(&d->flowstats), &v);
	if (err < 0) {
		log_err("distribution: cannot derive the state: %s", strerror(-err));
		return;
	}
	if (v.truncated && !d->view.truncated)
		log_warn("distribution: more than %u distributed ports; the last ones are left "
		         "out",
		         DIST_MAX_PORTS);
	dist_view_clear(&d->view);
	d->view = v;
}

static bool distributor_holds(const struct plex_facts *local, const struct ipaddr *a)
{
	const struct plex_held *h = plex_facts_find_held(local, a);

	return h && h->state == PLEX_HELD_ACTIVE;
}

/* ---- reconciling ---- */

/* The DVIPAs this node serves as a target: on lo (unless its LAN interface
 * holds them) and in the data plane's target map. */
static void distributor_targets(const struct distributor *d, const struct plex_facts *local,
                                struct target_addrs *ret_targets, struct target_addrs *ret_lo)
{
	unsigned role = 0;

	for (size_t i = 0; i < d->view.n_services; i++) {
		const struct dist_service *s = &d->view.services[i];

		/* The view lists the services of a DVIPA together: its role
		 * once, not once per port. */
		if (i == 0 || !ipaddr_equal(&s->dvipa, &d->view.services[i - 1].dvipa))
			role = dist_view_role(&d->view, d->self, &s->dvipa);
		if (!(role & DIST_ROLE_DEST))
			continue;
		target_addrs_add(ret_targets, &s->dvipa);
		/* Until it is on INTERFACE, not only until this node is about
		 * to put it there: a packet of one of its connections between
		 * the two would find the address nowhere. */
		if (!distributor_holds(local, &s->dvipa))
			target_addrs_add(ret_lo, &s->dvipa);
	}
	/* On lo before the LAN interface gives them up: no moment when the
	 * kernel would not take their packets. */
	for (size_t i = 0; i < d->kept.n; i++) {
		target_addrs_add(ret_targets, &d->kept.v[i]);
		target_addrs_add(ret_lo, &d->kept.v[i]);
	}
}

static void distributor_reconcile_targets(struct distributor *d, const struct target_addrs *want)
{
	char text[IPADDR_STRLEN];
	int err;

	for (size_t i = 0; i < want->n; i++) {
		if (target_addrs_has(&d->target_dvipas, &want->v[i]))
			continue;
		err = dp_target_dvipa_add(d->dp, &want->v[i]);
		if (err < 0)
			log_err("data plane: cannot serve %s as a target: %s",
			        ipaddr_format(&want->v[i], text, sizeof(text)), strerror(-err));
		else
			target_addrs_add(&d->target_dvipas, &want->v[i]);
	}
	for (size_t i = 0; i < d->target_dvipas.n;) {
		struct ipaddr a = d->target_dvipas.v[i];

		if (target_addrs_has(want, &a)) {
			i++;
			continue;
		}
		err = dp_target_dvipa_remove(d->dp, &a);
		if (err < 0 && err != -ENOENT) {
			log_err("data plane: cannot stop serving %s: %s",
			        ipaddr_format(&a, text, sizeof(text)), strerror(-err));
			i++;
			continue;
		}
		target_addrs_del(&d->target_dvipas, &a);
	}
}

static const struct dist_facts *distributor_dist_of(const struct distributor *d, uint32_t id,
                                                    const struct plex_facts *f)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i].node_id == id && f && d->peers[i].seq == f->seq)
			return &d->peers[i].facts;
	return NULL;
}

/* Plex members are the only outer sources accepted for decapsulation. */
static void distributor_reconcile_members(struct distributor *d, const struct plex *p,
                                          const struct plex_facts *local)
{
	struct distributor_member want[2 * PLEX_MAX_NODES];
	size_t n = 0;
	const uint32_t *ids;
	size_t n_ids = p ? plex_members(p, &ids) : 0;
	char text[IPADDR_STRLEN];
	int err;

	for (size_t i = 0; i < n_ids; i++) {
		bool self = ids[i] == local->node_id;
		const struct plex_facts *f = self ? local : plex_member_facts(p, ids[i]);
		const struct dist_facts *df = self ? &d->local : distributor_dist_of(d, ids[i], f);
		struct ipaddr a[3];
		size_t k = 0;

		if (!f)
			continue;
		if (f->plex_addr.family)
			a[k++] = f->plex_addr;
		if (df && df->plex_v4.family && !ipaddr_equal(&df->plex_v4, &f->plex_addr))
			a[k++] = df->plex_v4;
		if (df && df->plex_v6.family && !ipaddr_equal(&df->plex_v6, &f->plex_addr))
			a[k++] = df->plex_v6;
		for (size_t j = 0; j < k; j++)
			want[n++] = (struct distributor_member){a[j], ids[i]};
	}
	for (size_t i = 0; i < d->n_members;) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++)
			keep = ipaddr_equal(&want[j].addr, &d->members[i].addr) &&
			       want[j].node_id == d->members[i].node_id;
		if (keep) {
			i++;
			continue;
		}
		err = dp_member_remove(d->dp, &d->members[i].addr);
		if (err < 0 && err != -ENOENT)
			log_err("data plane: cannot remove member %s: %s",
			        ipaddr_format(&d->members[i].addr, text, sizeof(text)),
			        strerror(-err));
		d->members[i] = d->members[--d->n_members];
	}
	for (size_t j = 0; j < n; j++) {
		bool have = false;

		for (size_t i = 0; i < d->n_members && !have; i++)
			have = ipaddr_equal(&want[j].addr, &d->members[i].addr);
		if (have)
			continue;
		/* Room first, as for services: a member the data plane accepts
		 * must be listed to be removed when it leaves. */
		err =
		    array_grow(&d->members, &d->cap_members, d->n_members + 1, sizeof(*d->members));
		if (err == 0)
			err = dp_member_add(d->dp, &want[j].addr, want[j].node_id);
		if (err < 0) {
			log_err("data plane: cannot add member %s: %s",
			        ipaddr_format(&want[j].addr, text, sizeof(text)), strerror(-err));
			continue;
		}
		d->members[d->n_members++] = want[j];
	}
}

/* This node's id and plex addresses: the outer source when encapsulating,
 * the outer destination it decapsulates. */
static void distributor_reconcile_node(struct distributor *d, const struct plex_facts *local)
{
	const struct ipaddr *v4 = d->local.plex_v4.family ? &d->local.plex_v4 : NULL;
	const struct ipaddr *v6 = d->local.plex_v6.family ? &d->local.plex_v6 : NULL;
	int err;

	if (d->dp_node_id == local->node_id && ipaddr_equal(&d->dp_plex_v4, &d->local.plex_v4) &&
	    ipaddr_equal(&d->dp_plex_v6, &d->local.plex_v6))
		return;
	err = dp_set_node(d->dp, local->node_id, v4, v6);
	if (err < 0) {
		log_err("data plane: cannot set this node's plex addresses: %s", strerror(-err));
		return;
	}
	d->dp_node_id = local->node_id;
	d->dp_plex_v4 = d->local.plex_v4;
	d->dp_plex_v6 = d->local.plex_v6;
}

/* Forwards to target t directly, unchanged to its MAC, when the way to its
 * plex address is direct (distributor_ways(): on INTERFACE's link, MAC
 * known, no VIPAROUTE); otherwise its packets are encapsulated. */
static void distributor_direct(const struct distributor *d, struct dp_service_target *t)
{
	if (t->is_local)
		return;
	for (size_t i = 0; i < d->n_ways; i++) {
		const struct distributor_way *w = &d->ways[i];

		if (!ipaddr_equal(&w->addr, &t->plex_addr))
			continue;
		if (w->kind == DIST_WAY_DIRECT) {
			t->direct = true;
			memcpy(t->mac, w->mac, sizeof(t->mac));
		}
		return;
	}
}

static void distributor_svc_from_view(const struct distributor *d, const struct dist_service *s,
                                      struct distributor_svc *out)
{
	memset(out, 0, sizeof(*out));
	out->dvipa = s->dvipa;
	out->port = s->port;
	out->n_targets = s->n_targets;
	out->n_slots = s->n_slots;
	out->timedaffinity = s->timedaffinity;
	memcpy(out->slots, s->slots, s->n_slots);
	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dist_target *t = &d->view.targets[s->first_target + i];

		struct dp_service_target *o = &out->targets[i];

		*o = (struct dp_service_target){
		    .node_id = t->node_id,
		    .plex_addr = t->plex_addr,
		    .is_local = t->node_id == d->self,
		    .ready = dist_target_ready(t),
		};
		distributor_direct(d, o);
	}
}

static bool distributor_svc_equal(const struct distributor_svc *a, const struct distributor_svc *b)
{
	if (a->n_targets != b->n_targets || a->n_slots != b->n_slots ||
	    a->timedaffinity != b->timedaffinity || memcmp(a->slots, b->slots, a->n_slots) != 0)
		return false;
	for (size_t i = 0; i < a->n_targets; i++)
		if (a->targets[i].node_id != b->targets[i].node_id ||
		    a->targets[i].is_local != b->targets[i].is_local ||
		    a->targets[i].ready != b->targets[i].ready ||
		    a->targets[i].direct != b->targets[i].direct ||
		    memcmp(a->targets[i].mac, b->targets[i].mac, sizeof(a->targets[i].mac)) != 0 ||
		    !ipaddr_equal(&a->targets[i].plex_addr, &b->targets[i].plex_addr))
			return false;
	return true;
}

/* Indexes the services listed, with room for those of the view: a
 * reconcile looks up each of up to DIST_MAX_PORTS services. False without
 * the memory (lookups then scan the list). */
static bool distributor_svc_index(struct distributor *d)
{
	dist_index_reset(&d->svc_index);
	if (dist_index_reserve(&d->svc_index, d->n_svcs + d->view.n_services) < 0)
		return false;
	for (size_t i = 0; i < d->n_svcs; i++)
		if (dist_index_add(&d->svc_index, &d->svcs[i].dvipa, d->svcs[i].port, 0, i) < 0)
			return false;
	return true;
}

static struct distributor_svc *distributor_svc_find(struct distributor *d, const struct ipaddr *a,
                                                    uint16_t port)
{
	size_t k;

	if (d->svc_indexed)
		return dist_index_find(&d->svc_index, a, port, 0, &k) == 0 ? &d->svcs[k] : NULL;
	for (size_t i = 0; i < d->n_svcs; i++)
		if (d->svcs[i].port == port && ipaddr_equal(&d->svcs[i].dvipa, a))
			return &d->svcs[i];
	return NULL;
}

/* TIMEDAFFINITY of a programmed service, from seconds `from` to `to`. The
 * clients' entries go when it is switched off: turned on again later, it
 * must not find their old counts. */
static int distributor_affinity(struct distributor *d, const struct distributor_svc *svc,
                                uint32_t from, uint32_t to)
{
	int err;

	if (from == to)
		return 0;
	err = dp_service_set_affinity(d->dp, &svc->dvipa, svc->port, to);
	if (err == 0 && to == 0)
		err = dp_affinity_clear(d->dp, &svc->dvipa, svc->port, NULL);
	return err;
}

/* Forgets the clients' affinities to a service no longer distributed here,
 * so that a later takeback starts afresh: every port of its DVIPA at once
 * (one walk of the table) when the view leaves this node no service of the
 * DVIPA, else the port alone. */
static void distributor_affinity_gone(struct distributor *d, const struct distributor_svc *gone,
                                      struct target_addrs *cleared)
{
	char text[IPADDR_STRLEN];
	uint16_t port = 0;
	int err;

	if (target_addrs_has(cleared, &gone->dvipa))
		return;
	for (size_t i = 0; i < d->view.n_services && !port; i++) {
		const struct dist_service *s = &d->view.services[i];

		if (s->distributor == d->self && s->distributor_active &&
		    ipaddr_equal(&s->dvipa, &gone->dvipa))
			port = gone->port;
	}
	err = dp_affinity_clear(d->dp, &gone->dvipa, port, NULL);
	if (err < 0)
		log_err("data plane: cannot clear the affinities to %s: %s",
		        ipaddr_format(&gone->dvipa, text, sizeof(text)), strerror(-err));
	else if (!port)
		target_addrs_add(cleared, &gone->dvipa);
}

/* Whether this node distributes a port of dvipa. */
static bool distributor_serves_any(const struct distributor *d, const struct ipaddr *dvipa)
{
	for (size_t i = 0; i < d->n_svcs; i++)
		if (ipaddr_equal(&d->svcs[i].dvipa, dvipa))
			return true;
	return false;
}

/* The MOVING entry of dvipa for node (0: handed over), or -1. */
static ssize_t distributor_moving_find(const struct distributor *d, const struct ipaddr *dvipa,
                                       uint32_t node)
{
	for (size_t i = 0; i < d->n_moving; i++)
		if (d->moving[i].node == node && ipaddr_equal(&d->moving[i].dvipa, dvipa))
			return (ssize_t)i;
	return -1;
}

/* Whether this node handed dvipa over a moment ago: its services stay
 * away until it is this node's again (distributor_reclaim()), although
 * its facts still say it holds the DVIPA until it removes it. */
static bool distributor_handed_over(const struct distributor *d, const struct ipaddr *dvipa)
{
	return distributor_moving_find(d, dvipa, 0) >= 0;
}

/* A service new here holds unknown connections back for REBUILD_MS. */
static void distributor_hold(struct distributor *d, struct distributor_svc *svc)
{
	char text[IPADDR_STRLEN];
	int err = dp_service_set_flags(d->dp, &svc->dvipa, svc->port, DP_SERVICE_HOLD_UNKNOWN);

	if (err < 0)
		log_err("data plane: cannot hold unknown connections of %s port %u: %s",
		        ipaddr_format(&svc->dvipa, text, sizeof(text)), svc->port, strerror(-err));
	svc->hold_until_ms = 0;
	if (err == 0)
		svc->hold_until_ms = d->now_ms + REBUILD_MS > d->hold_all_until_ms
		                         ? d->now_ms + REBUILD_MS
		                         : d->hold_all_until_ms;
}

void distributor_hold_unknown(struct distributor *d, uint64_t until_ms)
{
	if (until_ms <= d->hold_all_until_ms)
		return;
	d->hold_all_until_ms = until_ms;
	if (!d->dp)
		return;
	for (size_t i = 0; i < d->n_svcs; i++)
		if (d->svcs[i].hold_until_ms < until_ms)
			distributor_hold(d, &d->svcs[i]);
}

/* Services whose REBUILD_MS ran out: unknown connections go to the stack. */
static void distributor_unhold(struct distributor *d)
{
	char text[IPADDR_STRLEN];

	for (size_t i = 0; i < d->n_svcs; i++) {
		struct distributor_svc *svc = &d->svcs[i];
		int err;

		if (!svc->hold_until_ms || d->now_ms < svc->hold_until_ms)
			continue;
		err = dp_service_set_flags(d->dp, &svc->dvipa, svc->port, 0);
		if (err < 0 && err != -ENOENT) {
			log_err("data plane: cannot release unknown connections of %s port %u: %s",
			        ipaddr_format(&svc->dvipa, text, sizeof(text)), svc->port,
			        strerror(-err));
			continue;
		}
		svc->hold_until_ms = 0;
	}
}

/* Removes service i from the data plane and the list (the last one takes
 * its place). */
static int distributor_svc_drop(struct distributor *d, size_t i, struct target_addrs *cleared)
{
	char text[IPADDR_STRLEN];
	struct distributor_svc gone = d->svcs[i];
	int err = dp_service_remove(d->dp, &gone.dvipa, gone.port);

	if (err < 0 && err != -ENOENT) {
		log_err("data plane: cannot remove service %s port %u: %s",
		        ipaddr_format(&gone.dvipa, text, sizeof(text)), gone.port, strerror(-err));
		return err;
	}
	log_info("stopped distributing %s port %u", ipaddr_format(&gone.dvipa, text, sizeof(text)),
	         gone.port);
	d->svcs[i] = d->svcs[--d->n_svcs];
	if (gone.timedaffinity)
		distributor_affinity_gone(d, &gone, cleared);
	return 0;
}

/* The services of the DVIPAs this node holds: what the view says, written
 * only when it changed. */
static void distributor_reconcile_services(struct distributor *d)
{
	char text[IPADDR_STRLEN];
	struct distributor_svc want;
	struct target_addrs cleared = {0};
	int err;

	for (size_t i = 0; i < d->n_svcs;) {
		const struct dist_service *s =
		    dist_view_find(&d->view, &d->svcs[i].dvipa, d->svcs[i].port);

		if ((s && s->distributor == d->self && s->distributor_active &&
		     !distributor_handed_over(d, &s->dvipa)) ||
		    distributor_svc_drop(d, i, &cleared) < 0)
			i++;
	}
	target_addrs_clear(&cleared);
	d->svc_indexed = distributor_svc_index(d);
	for (size_t i = 0; i < d->view.n_services; i++) {
		const struct dist_service *s = &d->view.services[i];
		struct distributor_svc *have;

		if (s->distributor != d->self || !s->distributor_active ||
		    distributor_handed_over(d, &s->dvipa))
			continue;
		distributor_svc_from_view(d, s, &want);
		have = distributor_svc_find(d, &s->dvipa, s->port);
		if (have && distributor_svc_equal(have, &want))
			continue;
		/* Room to list a new service before it is programmed: one in the
		 * data plane that d->svcs does not list would never be removed,
		 * nor its clients' affinities. */
		err =
		    have ? 0 : array_grow(&d->svcs, &d->cap_svcs, d->n_svcs + 1, sizeof(*d->svcs));
		if (err == 0)
			err = dp_service_set(d->dp, &s->dvipa, s->port, want.targets,
			                     want.n_targets, want.slots, want.n_slots);
		if (err < 0) {
			log_err("data plane: cannot distribute %s port %u: %s",
			        ipaddr_format(&s->dvipa, text, sizeof(text)), s->port,
			        strerror(-err));
			continue;
		}
		/* Programmed: listed from now on, whatever fails next. */
		if (!have) {
			/* The index has room for every service of the view. */
			if (d->svc_indexed &&
			    dist_index_add(&d->svc_index, &s->dvipa, s->port, 0, d->n_svcs) < 0)
				d->svc_indexed = false;
			have = &d->svcs[d->n_svcs++];
			/* What dp_service_set() gave a new service; it keeps the
			 * affinity time of one the map has. */
			*have = want;
			have->timedaffinity = 0;
			distributor_hold(d, have);
			log_info("distributing %s port %u (%s, TIMEDAFFINITY %u) to %zu targets, "
			         "%u ready slots",
			         ipaddr_format(&s->dvipa, text, sizeof(text)), s->port,
			         config_distmethod_name(s->method), want.timedaffinity,
			         want.n_targets, want.n_slots);
		} else if ((have->n_slots == 0) != (want.n_slots == 0)) {
			log_info("%s port %u: %s", ipaddr_format(&s->dvipa, text, sizeof(text)),
			         s->port,
			         want.n_slots ? "a target is ready" : "no target is ready");
		}
		err = distributor_affinity(d, &want, have->timedaffinity, want.timedaffinity);
		if (err < 0) {
			log_err("data plane: cannot set TIMEDAFFINITY %u of %s port %u: %s",
			        want.timedaffinity, ipaddr_format(&s->dvipa, text, sizeof(text)),
			        s->port, strerror(-err));
			/* The next update tries again. */
			want.timedaffinity = have->timedaffinity;
		}
		want.hold_until_ms = have->hold_until_ms;
		*have = want;
	}
}

/* ---- takeover: connections that survive a move ---- */

/* node's plex address of family, from its announcements. */
static bool distributor_plex_addr_of(const struct distributor *d, const struct plex *p,
                                     uint32_t node, int family, struct ipaddr *ret)
{
	const struct plex_facts *f = p ? plex_member_facts(p, node) : NULL;
	const struct dist_facts *df = node == d->self ? &d->local : distributor_dist_of(d, node, f);

	if (f && f->plex_addr.family == family)
		*ret = f->plex_addr;
	else if (df && family == IPADDR_V4 && df->plex_v4.family)
		*ret = df->plex_v4;
	else if (df && family == IPADDR_V6 && df->plex_v6.family)
		*ret = df->plex_v6;
	else
		return false;
	return true;
}

struct distributor_flows {
	const struct ipaddr *dvipa;
	uint32_t node; /* 0: any */
	struct distributor *d;
	bool unserved; /* only ports no service of this node names */
	bool entries;  /* collect wire entries, not flow infos */
	struct dp_flow_info *v;
	struct wire_conn_entry *e;
	size_t n, cap;
};

static int distributor_collect_flow(const struct dp_flow_info *f, void *data)
{
	struct distributor_flows *c = data;
	uint32_t node = f->target.is_local ? c->d->self : f->target.node_id;
	size_t size = c->entries ? sizeof(*c->e) : sizeof(*c->v);
	void **v = c->entries ? (void **)&c->e : (void **)&c->v;

	/* A handover leaves closed connections out (a FIN or RST seen): the
	 * table keeps them until the LRU needs the room, and a busy service's
	 * dead outnumber its live ones. One still closing is reported by its
	 * target, whose socket lives until it is done. */
	if (!ipaddr_equal(&f->dvipa, c->dvipa) || (c->node && node != c->node) ||
	    (c->unserved && distributor_svc_find(c->d, &f->dvipa, f->dvipa_port)) ||
	    (c->entries && f->closing))
		return 0;
	if (array_grow(v, &c->cap, c->n + 1, size) < 0)
		return -ENOMEM;
	if (c->entries)
		c->e[c->n++] = (struct wire_conn_entry){
		    .client = f->client,
		    .client_port = f->client_port,
		    .port = f->dvipa_port,
		    .node = node,
		};
	else
		c->v[c->n++] = *f;
	return 0;
}

int distributor_flows_of(struct distributor *d, const struct ipaddr *dvipa,
                         struct wire_conn_entry **ret_v, size_t *ret_n)
{
	struct distributor_flows c = {.dvipa = dvipa, .d = d, .entries = true};
	int err;

	*ret_v = NULL;
	*ret_n = 0;
	if (!d->dp)
		return 0;
	err = dp_flow_foreach(d->dp, distributor_collect_flow, &c);
	if (err < 0) {
		free(c.e);
		return err;
	}
	*ret_v = c.e;
	*ret_n = c.n;
	return 0;
}

/* Deletes the flows of dvipa (to node, unless 0; on ports no service of
 * this node names, when unserved). */
static void distributor_flows_forget(struct distributor *d, const struct ipaddr *dvipa,
                                     uint32_t node, bool unserved)
{
	struct distributor_flows c = {.dvipa = dvipa, .node = node, .d = d, .unserved = unserved};
	char text[IPADDR_STRLEN];
	int err = dp_flow_foreach(d->dp, distributor_collect_flow, &c);

	for (size_t i = 0; i < c.n && err >= 0; i++) {
		err = dp_flow_delete(d->dp, &c.v[i]);
		if (err == -ENOENT)
			err = 0;
	}
	if (err < 0)
		log_err("data plane: cannot forget the connections of %s: %s",
		        ipaddr_format(dvipa, text, sizeof(text)), strerror(-err));
	free(c.v);
}

static int distributor_moving_add(struct distributor *d, const struct ipaddr *dvipa, uint32_t node,
                                  uint64_t until_ms)
{
	ssize_t i = distributor_moving_find(d, dvipa, node);
	int err;

	if (i >= 0) {
		d->moving[i].until_ms = until_ms;
		return 0;
	}
	err = array_grow(&d->moving, &d->cap_moving, d->n_moving + 1, sizeof(*d->moving));
	/* A handover holds what it does not know (the new owner's). */
	if (err == 0 && (node == 0 || !distributor_handed_over(d, dvipa)))
		err = dp_moving_set(d->dp, dvipa, node == 0);
	if (err < 0)
		return err;
	d->moving[d->n_moving++] = (struct distributor_moving){*dvipa, node, until_ms};
	return 0;
}

/* Removes MOVING entry i, and the flows it forwarded unless keep_flows. */
static void distributor_moving_drop(struct distributor *d, size_t i, bool keep_flows)
{
	struct distributor_moving m = d->moving[i];
	char text[IPADDR_STRLEN];
	bool last = true;
	int err;

	d->moving[i] = d->moving[--d->n_moving];
	for (size_t j = 0; j < d->n_moving; j++)
		last &= !ipaddr_equal(&d->moving[j].dvipa, &m.dvipa);
	/* Handed over: every flow it knew; an earlier holder's: those on
	 * ports no service here names. */
	if (!keep_flows)
		distributor_flows_forget(d, &m.dvipa, m.node, m.node != 0);
	if (!last) {
		/* The handover ended; an earlier holder's entry remains. */
		if (m.node == 0 && (err = dp_moving_set(d->dp, &m.dvipa, false)) < 0)
			log_err(
			    "data plane: cannot let the stack have the new connections of %s: %s",
			    ipaddr_format(&m.dvipa, text, sizeof(text)), strerror(-err));
		return;
	}
	err = dp_moving_remove(d->dp, &m.dvipa);
	if (err < 0 && err != -ENOENT)
		log_err("data plane: cannot remove the MOVING entry of %s: %s",
		        ipaddr_format(&m.dvipa, text, sizeof(text)), strerror(-err));
	else
		log_info("%s: no connection of an earlier holder left to forward",
		         ipaddr_format(&m.dvipa, text, sizeof(text)));
}

/* MOVING entries that are over: their time ran out, their node left, or
 * this node no longer owns the DVIPA (its new owner has the reports). */
static void distributor_reconcile_moving(struct distributor *d, const struct plex *p,
                                         const struct plex_facts *local)
{
	for (size_t i = 0; i < d->n_moving;) {
		const struct distributor_moving *m = &d->moving[i];
		bool over;

		if (m->node)
			over = !p || !plex_member_facts(p, m->node) ||
			       (plex_owner(p, &m->dvipa) != local->node_id &&
			        !distributor_holds(local, &m->dvipa));
		else
			over = d->now_ms >= m->until_ms;
		/* The flows of an earlier holder that a handover still
		 * forwards stay until the handover ends. */
		if (over)
			distributor_moving_drop(d, i,
			                        m->node && distributor_handed_over(d, &m->dvipa));
		else
			i++;
	}
}

bool distributor_release(struct distributor *d, const struct ipaddr *dvipa)
{
	struct target_addrs cleared = {0};
	char text[IPADDR_STRLEN];
	bool dropped = false;
	int err;

	if (!d->dp || !distributor_serves_any(d, dvipa))
		return false;
	/* First the MOVING entry, so that no packet finds neither. */
	err = distributor_moving_add(d, dvipa, 0, d->now_ms + HANDOVER_MS);
	if (err < 0)
		log_err("data plane: cannot keep forwarding the connections of %s: %s",
		        ipaddr_format(dvipa, text, sizeof(text)), strerror(-err));
	for (size_t i = 0; i < d->n_svcs;) {
		if (ipaddr_equal(&d->svcs[i].dvipa, dvipa) &&
		    distributor_svc_drop(d, i, &cleared) == 0)
			dropped = true;
		else
			i++;
	}
	target_addrs_clear(&cleared);
	if (dropped)
		d->svc_indexed = distributor_svc_index(d);
	return true;
}

/* Whether this node distributes (or will, once it holds dvipa) port of
 * dvipa: the view names the service, or this node's own statements do (a
 * node that takes a DVIPA over may not know its holder's statements yet). */
static bool distributor_names_port(const struct distributor *d, const struct ipaddr *dvipa,
                                   uint16_t port)
{
	if (dist_view_find(&d->view, dvipa, port))
		return true;
	for (size_t i = 0; i < d->local.n_dists; i++) {
		const struct config_dist *c = &d->local.dists[i];

		if (!ipaddr_equal(&c->addr, dvipa))
			continue;
		for (size_t r = 0; r < c->n_ports; r++)
			if (port >= c->ports[r].first && port <= c->ports[r].last)
				return true;
	}
	return false;
}

int distributor_adopt(struct distributor *d, const struct plex *p, const struct ipaddr *dvipa,
                      const struct wire_conn_entry *v, size_t n, uint64_t now_ms)
{
	char text[IPADDR_STRLEN];
	size_t adopted = 0, unknown = 0;
	uint32_t moving[PLEX_MAX_NODES];
	size_t n_moving = 0;
	int err = 0;

	d->now_ms = now_ms;
	if (!distributor_need_dp(d, now_ms))
		return -EAGAIN;
	for (size_t i = 0; i < n && err >= 0; i++) {
		bool served = distributor_names_port(d, dvipa, v[i].port);
		struct dp_flow_info f = {
		    .client = v[i].client,
		    .dvipa = *dvipa,
		    .client_port = v[i].client_port,
		    .dvipa_port = v[i].port,
		    .established = true,
		    .created_ns = 0,
		};
		bool listed = false;

		f.target.node_id = v[i].node;
		f.target.is_local = v[i].node == d->self;
		/* Its own connections need nothing on a port the stack serves. */
		if (f.target.is_local && !served)
			continue;
		if (!distributor_plex_addr_of(d, p, v[i].node, dvipa->family,
		                              &f.target.plex_addr)) {
			unknown++;
			continue;
		}
		distributor_direct(d, &f.target);
		err = dp_flow_set(d->dp, &f);
		if (err < 0)
			break;
		adopted++;
		if (served || v[i].node == d->self)
			continue;
		for (size_t j = 0; j < n_moving && !listed; j++)
			listed = moving[j] == v[i].node;
		if (!listed && n_moving < PLEX_MAX_NODES)
			moving[n_moving++] = v[i].node;
	}
	for (size_t j = 0; j < n_moving && err >= 0; j++)
		err = distributor_moving_add(d, dvipa, moving[j], 0);
	if (err < 0) {
		log_err("data plane: cannot adopt the connections of %s: %s",
		        ipaddr_format(dvipa, text, sizeof(text)), strerror(-err));
		return err;
	}
	if (unknown)
		log_warn(
		    "%s: %zu connections of nodes without a plex address of its family left out",
		    ipaddr_format(dvipa, text, sizeof(text)), unknown);
	return (int)adopted;
}

void distributor_moving_done(struct distributor *d, const struct ipaddr *dvipa, uint32_t node)
{
	ssize_t i = distributor_moving_find(d, dvipa, node);

	if (i >= 0)
		distributor_moving_drop(d, (size_t)i, false);
}

void distributor_reclaim(struct distributor *d, const struct ipaddr *dvipa)
{
	ssize_t i = distributor_moving_find(d, dvipa, 0);

	if (i >= 0)
		distributor_moving_drop(d, (size_t)i, true);
}

int distributor_set_kept(struct distributor *d, const struct target_addrs *kept)
{
	struct target_addrs copy = {0};

	for (size_t i = 0; i < kept->n; i++) {
		if (target_addrs_add(&copy, &kept->v[i]) < 0) {
			target_addrs_clear(&copy);
			return -ENOMEM;
		}
	}
	target_addrs_clear(&d->kept);
	d->kept = copy;
	return 0;
}

/* Whether this node has a part in distribution: its profile distributes,
 * or the view names it. */
static bool distributor_involved(const struct distributor *d)
{
	if (d->local.n_dists || d->n_moving || d->kept.n)
		return true;
	for (size_t i = 0; i < d->view.n_targets; i++)
		if (d->view.targets[i].node_id == d->self)
			return true;
	return false;
}

/* Attaches the data plane once its tables are filled: until then an earlier
 * run's programs, if any, go on with theirs (and the flow table they share). */
static void distributor_attach(struct distributor *d, uint64_t now_ms)
{
	int err;

	if (!d->dp || d->dp_attached)
		return;
	/* An earlier run's clsact qdisc is there: libbpf says so, harmlessly. */
	distributor_libbpf_quiet = true;
	err = dp_attach(d->dp, d->ifindex);
	distributor_libbpf_quiet = false;
	if (err < 0) {
		log_err("cannot attach the BPF data plane to %s: %s; no distribution here for now",
		        d->config->interface, strerror(-err));
		dp_free(d->dp);
		d->dp = NULL;
		d->dp_retry_ms = now_ms + DP_RETRY_MS;
		return;
	}
	d->dp_attached = true;
	log_info("BPF data plane attached to %s", d->config->interface);
}

void distributor_settle(struct distributor *d)
{
	int err;

	if (d->dp)
		return;
	distributor_libbpf_quiet = true;
	err = dp_detach_ifindex(d->ifindex);
	distributor_libbpf_quiet = false;
	if (err < 0)
		log_debug("removing old BPF programs from %s: %s", d->config->interface,
		          strerror(-err));
	if (dp_unpin(PIN_DIR) < 0)
		log_debug("cannot remove %s", PIN_DIR);
}

static void distributor_update_(struct distributor *d, const struct plex *p,
                                const struct plex_facts *local, uint64_t now_ms, bool lo_too)
{
	struct target_addrs targets = {0}, lo = {0};

	d->now_ms = now_ms;
	distributor_derive(d, p, local);
	distributor_targets(d, local, &targets, &lo);
	if (lo_too)
		target_set_lo(d->target, &lo);
	if (distributor_involved(d) && distributor_need_dp(d, now_ms)) {
		distributor_reconcile_node(d, local);
		distributor_reconcile_members(d, p, local);
		distributor_reconcile_targets(d, &targets);
		distributor_reconcile_services(d);
		distributor_reconcile_moving(d, p, local);
		distributor_attach(d, now_ms);
	}
	target_addrs_clear(&targets);
	target_addrs_clear(&lo);
}

void distributor_update(struct distributor *d, const struct plex *p, const struct plex_facts *local,
                        uint64_t now_ms)
{
	distributor_update_(d, p, local, now_ms, true);
}

void distributor_update_dp(struct distributor *d, const struct plex *p,
                           const struct plex_facts *local, uint64_t now_ms)
{
	distributor_update_(d, p, local, now_ms, false);
}

/* ---- the tick ---- */

/* INTERFACE's addresses, read once a tick by the first that needs them
 * (the other family's plex address, the ways to the targets). */
struct distributor_addrs {
	bool read;
	int err;
	struct addr_info *v;
	size_t n;
};

static int distributor_addrs(struct distributor *d, struct distributor_addrs *a)
{
	if (!a->read) {
		a->err = addr_list(d->addr, d->ifindex, &a->v, &a->n);
		a->read = true;
	}
	return a->err;
}

/* This node's plex address of the family its corosync ring0_addr does not
 * have: the lowest global, permanent-looking address of that family on
 * INTERFACE that is not a DVIPA (DVIPAs are host addresses; a node's own
 * addresses have a subnet prefix). */
static void distributor_other_family(struct distributor *d, const struct plex *p, int family,
                                     struct distributor_addrs *addrs, struct ipaddr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (distributor_addrs(d, addrs) < 0)
		return;
	for (size_t i = 0; i < addrs->n; i++) {
		const struct addr_info *a = &addrs->v[i];

		if (a->addr.family != family || a->scope != 0 /* RT_SCOPE_UNIVERSE */ ||
		    a->prefix_len == ipaddr_max_prefix(&a->addr) ||
		    (a->flags & (IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED)) ||
		    config_find_vipa(d->config, &a->addr) ||
		    (p && plex_owner(p, &a->addr) != PLEX_NODE_NONE))
			continue;
		if (!ret->family || ipaddr_cmp(&a->addr, ret) < 0)
			*ret = a->addr;
	}
}

static bool distributor_plex_addrs(struct distributor *d, const struct plex *p,
                                   const struct plex_facts *local, struct distributor_addrs *addrs)
{
	struct ipaddr v4 = {0}, v6 = {0};

	if (local->plex_addr.family == IPADDR_V4) {
		v4 = local->plex_addr;
		distributor_other_family(d, p, IPADDR_V6, addrs, &v6);
	} else if (local->plex_addr.family == IPADDR_V6) {
		v6 = local->plex_addr;
		distributor_other_family(d, p, IPADDR_V4, addrs, &v4);
	}
	if (ipaddr_equal(&v4, &d->local.plex_v4) && ipaddr_equal(&v6, &d->local.plex_v6))
		return false;
	d->local.plex_v4 = v4;
	d->local.plex_v6 = v6;
	return true;
}

struct distributor_serve {
	const struct distributor *d;
	const struct plex_facts *local;
};

/* Whether this node can take connections for dvipa now: it holds it on its
 * LAN interface (local delivery), or on lo with the data plane decapsulating. */
static bool distributor_can_serve(const void *data, const struct ipaddr *dvipa)
{
	const struct distributor_serve *c = data;

	if (distributor_holds(c->local, dvipa))
		return true;
	return c->d->dp && target_on_lo(c->d->target, dvipa) &&
	       target_addrs_has(&c->d->target_dvipas, dvipa);
}

/* Rdy of every port this node is a target of. True when it changed. */
static bool distributor_ready(struct distributor *d, const struct plex_facts *local)
{
	struct distributor_serve c = {.d = d, .local = local};
	struct dist_ready *v = NULL;
	size_t n = 0;
	int err;

	err = target_ready(d->target, &d->view, d->self, distributor_can_serve, &c, &v, &n);
	if (err < 0) {
		log_debug("listing listeners: %s", strerror(-err));
		return false;
	}
	/* Both are sorted like the services. */
	if (n == d->local.n_ready && (!n || memcmp(v, d->local.ready, n * sizeof(*v)) == 0)) {
		free(v);
		return false;
	}
	free(d->local.ready);
	d->local.ready = v;
	d->local.n_ready = n;
	return true;
}

/* Whether addr is in a prefix of an address of INTERFACE's (not a host
 * route of its own, such as a DVIPA): reached without a router. */
static bool distributor_on_link(const struct addr_info *v, size_t n, int ifindex,
                                const struct ipaddr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].ifindex == ifindex && v[i].addr.family == addr->family &&
		    v[i].prefix_len < ipaddr_max_prefix(addr) &&
		    ipaddr_in_prefix(addr, &v[i].addr, v[i].prefix_len))
			return true;
	return false;
}

static bool distributor_way_equal(const struct distributor_way *a, const struct distributor_way *b)
{
	return ipaddr_equal(&a->addr, &b->addr) && a->kind == b->kind &&
	       memcmp(a->mac, b->mac, sizeof(a->mac)) == 0;
}

/* One line when a member's way is first known or changes. */
static void distributor_log_way(const struct distributor *d, const struct distributor_way *w)
{
	char text[IPADDR_STRLEN];

	ipaddr_format(&w->addr, text, sizeof(text));
	switch (w->kind) {
	case DIST_WAY_DIRECT:
		log_info("target %s forwarded to directly (MAC %02x:%02x:%02x:%02x:%02x:%02x)",
		         text, w->mac[0], w->mac[1], w->mac[2], w->mac[3], w->mac[4], w->mac[5]);
		break;
	case DIST_WAY_ROUTE:
		log_info("target %s encapsulated to (VIPAROUTE)", text);
		break;
	case DIST_WAY_OFFLINK:
		log_info("target %s encapsulated to (not on %s's link)", text,
		         d->config->interface);
		break;
	case DIST_WAY_NO_MAC:
		log_info("target %s encapsulated to (no MAC known on %s)", text,
		         d->config->interface);
		break;
	}
}

/* The way to one member's plex address; asks the kernel about its MAC when
 * probe says so and it has none, or a STALE one. */
static struct distributor_way distributor_way_of(struct distributor *d, const struct ipaddr *addr,
                                                 const struct addr_info *av, size_t an,
                                                 const struct neigh_entry *nv, size_t nn,
                                                 bool probe)
{
	struct distributor_way w;
	const struct neigh_entry *e;
	int err;

	memset(&w, 0, sizeof(w));
	w.addr = *addr;
	if (config_viaroute(d->config, addr)) {
		w.kind = DIST_WAY_ROUTE;
		return w;
	}
	if (!distributor_on_link(av, an, d->ifindex, addr)) {
		w.kind = DIST_WAY_OFFLINK;
		return w;
	}
	e = neigh_find(nv, nn, addr);
	w.kind = e && e->usable ? DIST_WAY_DIRECT : DIST_WAY_NO_MAC;
	if (w.kind == DIST_WAY_DIRECT)
		memcpy(w.mac, e->mac, sizeof(w.mac));
	/* Never about a usable entry that is not STALE: asking would demote
	 * a PERMANENT one. */
	if (probe && (!e || !e->usable || e->stale)) {
		err = neigh_resolve(d->neigh, d->ifindex, addr);
		if (err < 0)
			log_debug("cannot ask for the MAC of %s on %s: %s",
			          ipaddr_format(addr, (char[IPADDR_STRLEN]){0}, IPADDR_STRLEN),
			          d->config->interface, strerror(-err));
	}
	return w;
}

/* While this node distributes, works out how each other member's plex
 * address is reached: encapsulated when VIPAROUTE names it, when no prefix
 * of INTERFACE holds it, or when the kernel knows no MAC for it; else
 * directly, to that MAC. One read of INTERFACE's addresses and neighbour
 * table; every NEIGH_PROBE_MS the kernel is asked about missing and STALE
 * MACs. True when a way changed: the services are then reprogrammed. */
static bool distributor_ways(struct distributor *d, uint64_t now_ms,
                             struct distributor_addrs *addrs)
{
	struct distributor_way ways[2 * PLEX_MAX_NODES];
	struct neigh_entry *nv = NULL;
	size_t nn = 0, n = 0;
	bool probe, changed;
	int err;

	if (!d->neigh || !d->dp || d->n_svcs == 0) {
		/* Forgotten: a later takeover starts from a fresh read. */
		d->n_ways = 0;
		return false;
	}
	err = neigh_list(d->neigh, d->ifindex, &nv, &nn);
	if (err == 0)
		err = distributor_addrs(d, addrs);
	if (err < 0) {
		/* Nothing to go by: encapsulated to every target. */
		if (!d->ways_failed)
			log_warn("cannot read %s's addresses or neighbour table (%s): "
			         "encapsulating to every target",
			         d->config->interface, strerror(-err));
		d->ways_failed = true;
		free(nv);
		changed = d->n_ways != 0;
		d->n_ways = 0;
		return changed;
	}
	if (d->ways_failed)
		log_info("%s's neighbour table read again", d->config->interface);
	d->ways_failed = false;
	probe = now_ms >= d->neigh_probe_ms;
	if (probe)
		d->neigh_probe_ms = now_ms + NEIGH_PROBE_MS;
	for (size_t i = 0; i < d->n_members && n < sizeof(ways) / sizeof(ways[0]); i++)
		if (d->members[i].node_id != d->self)
			ways[n++] = distributor_way_of(d, &d->members[i].addr, addrs->v, addrs->n,
			                               nv, nn, probe);
	free(nv);
	changed = n != d->n_ways;
	for (size_t i = 0; i < n && !changed; i++)
		changed = !distributor_way_equal(&ways[i], &d->ways[i]);
	for (size_t i = 0; i < n && changed; i++) {
		const struct distributor_way *old = NULL;

		for (size_t j = 0; j < d->n_ways && !old; j++)
			if (ipaddr_equal(&d->ways[j].addr, &ways[i].addr))
				old = &d->ways[j];
		if (!old || !distributor_way_equal(old, &ways[i]))
			distributor_log_way(d, &ways[i]);
	}
	memcpy(d->ways, ways, n * sizeof(ways[0]));
	d->n_ways = n;
	return changed;
}

bool distributor_tick(struct distributor *d, const struct plex *p, const struct plex_facts *local,
                      uint64_t now_ms)
{
	struct distributor_addrs addrs = {0};
	bool changed = false;

	d->now_ms = now_ms;
	if (d->dp) {
		distributor_unhold(d);
		distributor_reconcile_moving(d, p, local);
	}
	if (p && local->node_id == plex_self(p))
		changed |= distributor_plex_addrs(d, p, local, &addrs);
	changed |= distributor_ready(d, local);
	changed |= workload_tick(d->workload, &d->view, d->self, d->local.ready, d->local.n_ready,
	                         now_ms, &d->local.wlm);
	target_repair(d->target);
	/* After a change the next update may add targets: look for leftovers
	 * once the state has settled. */
	if (!changed)
		target_leftovers(d->target, p, &d->view);
	flowstats_tick(&d->flowstats, d->dp, &d->view, d->self, p, local, now_ms);
	if (distributor_ways(d, now_ms, &addrs))
		distributor_reconcile_services(d);
	free(addrs.v);
	return changed;
}

/* ---- displays ---- */

char *distributor_show_ports(struct distributor *d, const struct plex *p,
                             const struct plex_facts *local, bool json,
                             const char *(*name_of)(const void *data, uint32_t id),
                             const void *data)
{
	struct show_dist_ctx ctx = {.self = local->node_id, .name_of = name_of, .data = data};
	struct dist_view v = {0};
	char *out = NULL;
	int err = distributor_derive_now(d, p, local, &v);

	if (err == 0) {
		ctx.view = &v;
		out = show_dist_ports(&ctx, json);
	} else {
		errno = -err;
	}
	dist_view_clear(&v);
	return out;
}

int distributor_derive_now(struct distributor *d, const struct plex *p,
                           const struct plex_facts *local, struct dist_view *ret)
{
	struct dist_count counts = {0};
	int err;

	/* The last update's derivation, with counts of this moment so that
	 * the services this node distributes show their connections. These
	 * counts stay here: WEIGHTEDACTIVE keeps its own rhythm. */
	err = flowstats_count_now(d->dp, &counts);
	err = distributor_derive_view(d, p, local, err == 0 ? &counts : NULL, ret);
	dist_count_clear(&counts);
	return err;
}

int distributor_counters(struct distributor *d, uint64_t *out, size_t n)
{
	return d->dp ? dp_counters_read(d->dp, out, n) : -ENODEV;
}

struct distributor_vcrt {
	struct show_dist_conn *v;
	size_t n, cap;
};

static int distributor_vcrt_push(void *data, const struct show_dist_conn *row)
{
	struct distributor_vcrt *c = data;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct show_dist_conn *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *row;
	return 0;
}

static int distributor_vcrt_flow(const struct dp_flow_info *f, void *data)
{
	struct show_dist_conn row = {
	    .dvipa = f->dvipa,
	    .port = f->dvipa_port,
	    .client = f->client,
	    .client_port = f->client_port,
	    .target = f->target.node_id,
	    .state = f->closing ? "CLOSING" : "ACTIVE",
	    .distributed = true,
	};

	return distributor_vcrt_push(data, &row);
}

char *distributor_show_connections(struct distributor *d, bool json,
                                   const char *(*name_of)(const void *data, uint32_t id),
                                   const void *data)
{
	struct distributor_vcrt c = {0};
	struct show_dist_ctx ctx = {
	    .self = d->self, .view = &d->view, .name_of = name_of, .data = data};
	char *out = NULL;
	int err = 0;

	/* As distributor: the flow table; as target: this node's own stack. */
	if (d->dp)
		err = dp_flow_foreach(d->dp, distributor_vcrt_flow, &c);
	if (err >= 0)
		err = target_connections(d->target, &d->view, d->self, distributor_vcrt_push, &c);
	if (err >= 0) {
		ctx.rows = c.v;
		ctx.n_rows = c.n;
		out = show_dist_connections(&ctx, json);
	} else {
		errno = -err;
	}
	free(c.v);
	return out;
}
