/* dvipad's distributor (daemon/distributor.c, daemon/flowstats.c) against a
 * fake data plane.
 *
 * The unit-test binary links core only, so the distributor's sources are
 * included here, and every call it makes into the data plane (dp_*), the
 * target side (target_*), WLM, the address layer, the log and the loop is
 * answered by the fakes below. The fake data plane keeps the services,
 * members and affinities programmed into it and hands out scripted flows,
 * so that the tests can hold the distributor's bookkeeping against it
 * (what is programmed is listed, and taken back), and follow the flow
 * counts and the targets' health through the ticks. Growing the
 * distributor's own lists can be made to fail. The real data plane is
 * exercised by tests/integration/distribute.t and health.t. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"

static int fake_array_grow(void *v, size_t *cap, size_t need, size_t size);
static void *fake_realloc(void *p, size_t size);

/* The neighbour table is scripted; the real net/neigh.c is in the unit
 * binary too (test_neigh.c), hence other names. */
#define neigh_open    fake_neigh_open
#define neigh_close   fake_neigh_close
#define neigh_list    fake_neigh_list
#define neigh_find    fake_neigh_find
#define neigh_resolve fake_neigh_resolve
#define array_grow    fake_array_grow
#define realloc       fake_realloc
#include "daemon/distributor.c"
#include "daemon/flowstats.c"
#undef realloc
#undef array_grow
#include "daemon/target_addrs.c"

#include "tests/unit/unit.h"

#include <time.h>

/* ---- the fakes ---------------------------------------------------------- */

#define FAKE_SVCS_MAX    DIST_MAX_PORTS
#define FAKE_MEMBERS_MAX 16
#define FAKE_FLOWS_MAX   64
#define FAKE_LOG_MAX     64

struct fake_svc {
	struct ipaddr dvipa;
	uint16_t port;
	size_t n_targets;
	struct dp_service_target targets[DIST_MAX_TARGETS];
	uint32_t affinity;
	uint32_t flags; /* DP_SERVICE_* */
};

struct fake_member {
	struct ipaddr addr;
	uint32_t node_id;
};

static struct {
	uint64_t now_ms;
	bool fail_grow;     /* the distributor's lists cannot grow */
	bool fail_affinity; /* dp_service_set_affinity() fails */
	struct fake_svc svcs[FAKE_SVCS_MAX];
	size_t n_svcs;
	struct fake_member members[FAKE_MEMBERS_MAX];
	size_t n_members;
	unsigned affinity_clears;
	struct dp_flow_info flows[FAKE_FLOWS_MAX];
	size_t n_flows;
	char log[FAKE_LOG_MAX][256];
	size_t n_log;
	struct neigh_entry neighs[4];
	size_t n_neighs;
	struct ipaddr resolved[8]; /* neigh_resolve() calls, in order */
	size_t n_resolved;
	struct addr_info addrs[2]; /* INTERFACE's, for addr_list() */
	size_t n_addrs;
	struct ipaddr moving[4]; /* DVIPAs with a MOVING entry */
	size_t n_moving;
	bool moving_hold; /* the last dp_moving_set()'s hold */
} fake;

struct dp {
	int unused;
};
struct target {
	int unused;
};
struct workload {
	int unused;
};

static struct dp fake_dp;
static struct target fake_target;
static struct workload fake_workload;

static void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.now_ms = 100000;
}

static int fake_array_grow(void *v, size_t *cap, size_t need, size_t size)
{
	if (fake.fail_grow && need > *cap)
		return -ENOMEM;
	return array_grow(v, cap, need, size);
}

static void *fake_realloc(void *p, size_t size)
{
	if (fake.fail_grow)
		return NULL;
	return realloc(p, size);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	if (fake.n_log == FAKE_LOG_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(fake.log[fake.n_log++], sizeof(fake.log[0]), fmt, ap);
	va_end(ap);
}

/* How many log lines contain text. */
static int fake_logged(const char *text)
{
	int n = 0;

	for (size_t i = 0; i < fake.n_log; i++)
		n += strstr(fake.log[i], text) != NULL;
	return n;
}

uint64_t loop_now_ms(void)
{
	return fake.now_ms;
}

libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)
{
	(void)fn;
	return NULL;
}

int addr_link_get(struct addr_handle *h, int ifindex, struct addr_link *ret)
{
	(void)h;
	(void)ifindex;
	memset(ret, 0, sizeof(*ret));
	ret->mtu = 1500;
	return 0;
}

int addr_list(struct addr_handle *h, int ifindex, struct addr_info **ret_v, size_t *ret_n)
{
	struct addr_info *v = NULL;

	(void)h;
	(void)ifindex;
	if (fake.n_addrs) {
		v = calloc(fake.n_addrs, sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, fake.addrs, fake.n_addrs * sizeof(*v));
	}
	*ret_v = v;
	*ret_n = fake.n_addrs;
	return 0;
}

int dp_open(const struct dp_open_opts *opts, struct dp **ret)
{
	(void)opts;
	*ret = &fake_dp;
	return 0;
}

void dp_free(struct dp *dp)
{
	(void)dp;
}

int dp_attach(struct dp *dp, int ifindex)
{
	(void)dp;
	(void)ifindex;
	return 0;
}

int dp_detach(struct dp *dp)
{
	(void)dp;
	return 0;
}

int dp_unpin(const char *dir)
{
	(void)dir;
	return 0;
}

int dp_detach_ifindex(int ifindex)
{
	(void)ifindex;
	return 0;
}

int dp_set_node(struct dp *dp, uint32_t node_id, const struct ipaddr *plex_v4,
                const struct ipaddr *plex_v6)
{
	(void)dp;
	(void)node_id;
	(void)plex_v4;
	(void)plex_v6;
	return 0;
}

int dp_set_mss(struct dp *dp, uint16_t mss_v4, uint16_t mss_v6)
{
	(void)dp;
	(void)mss_v4;
	(void)mss_v6;
	return 0;
}

uint16_t dp_mss_for_mtu(int family, unsigned mtu)
{
	return (uint16_t)(mtu - (family == IPADDR_V4 ? 60 : 100));
}

int dp_member_add(struct dp *dp, const struct ipaddr *plex_addr, uint32_t node_id)
{
	(void)dp;
	for (size_t i = 0; i < fake.n_members; i++) {
		if (ipaddr_equal(&fake.members[i].addr, plex_addr)) {
			fake.members[i].node_id = node_id;
			return 0;
		}
	}
	if (fake.n_members == FAKE_MEMBERS_MAX)
		return -E2BIG;
	fake.members[fake.n_members++] = (struct fake_member){*plex_addr, node_id};
	return 0;
}

int dp_member_remove(struct dp *dp, const struct ipaddr *plex_addr)
{
	(void)dp;
	for (size_t i = 0; i < fake.n_members; i++) {
		if (ipaddr_equal(&fake.members[i].addr, plex_addr)) {
			fake.members[i] = fake.members[--fake.n_members];
			return 0;
		}
	}
	return -ENOENT;
}

static struct fake_svc *fake_svc(const struct ipaddr *dvipa, uint16_t port)
{
	for (size_t i = 0; i < fake.n_svcs; i++)
		if (fake.svcs[i].port == port && ipaddr_equal(&fake.svcs[i].dvipa, dvipa))
			return &fake.svcs[i];
	return NULL;
}

int dp_service_set(struct dp *dp, const struct ipaddr *dvipa, uint16_t port,
                   const struct dp_service_target *targets, size_t n_targets, const uint8_t *slots,
                   size_t n_slots)
{
	struct fake_svc *s = fake_svc(dvipa, port);

	(void)dp;
	(void)slots;
	(void)n_slots;
	if (n_targets > DIST_MAX_TARGETS)
		return -E2BIG;
	if (!s) {
		if (fake.n_svcs == FAKE_SVCS_MAX)
			return -E2BIG;
		s = &fake.svcs[fake.n_svcs++];
		*s = (struct fake_svc){.dvipa = *dvipa, .port = port};
	}
	/* The affinity time survives a replace. */
	s->n_targets = n_targets;
	memcpy(s->targets, targets, n_targets * sizeof(*targets));
	return 0;
}

struct neigh_handle {
	int unused;
};
static struct neigh_handle fake_neigh;

int fake_neigh_open(struct neigh_handle **ret)
{
	*ret = &fake_neigh;
	return 0;
}

void fake_neigh_close(struct neigh_handle *h)
{
	(void)h;
}

int fake_neigh_list(struct neigh_handle *h, int ifindex, struct neigh_entry **ret_v, size_t *ret_n)
{
	struct neigh_entry *v = calloc(fake.n_neighs + 1, sizeof(*v));

	(void)h;
	(void)ifindex;
	if (!v)
		return -ENOMEM;
	memcpy(v, fake.neighs, fake.n_neighs * sizeof(*v));
	*ret_v = v;
	*ret_n = fake.n_neighs;
	return 0;
}

const struct neigh_entry *fake_neigh_find(const struct neigh_entry *v, size_t n,
                                          const struct ipaddr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (ipaddr_equal(&v[i].addr, addr))
			return &v[i];
	return NULL;
}

int fake_neigh_resolve(struct neigh_handle *h, int ifindex, const struct ipaddr *addr)
{
	(void)h;
	(void)ifindex;
	if (fake.n_resolved < sizeof(fake.resolved) / sizeof(fake.resolved[0]))
		fake.resolved[fake.n_resolved++] = *addr;
	return 0;
}

int dp_service_remove(struct dp *dp, const struct ipaddr *dvipa, uint16_t port)
{
	struct fake_svc *s = fake_svc(dvipa, port);

	(void)dp;
	if (!s)
		return -ENOENT;
	*s = fake.svcs[--fake.n_svcs];
	return 0;
}

int dp_service_set_affinity(struct dp *dp, const struct ipaddr *dvipa, uint16_t port,
                            uint32_t seconds)
{
	struct fake_svc *s = fake_svc(dvipa, port);

	(void)dp;
	if (fake.fail_affinity)
		return -EIO;
	if (!s)
		return -ENOENT;
	s->affinity = seconds;
	return 0;
}

int dp_service_set_flags(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, uint32_t flags)
{
	struct fake_svc *s = fake_svc(dvipa, port);

	(void)dp;
	if (!s)
		return -ENOENT;
	s->flags = flags;
	return 0;
}

static bool fake_moving(const struct ipaddr *dvipa)
{
	for (size_t i = 0; i < fake.n_moving; i++)
		if (ipaddr_equal(&fake.moving[i], dvipa))
			return true;
	return false;
}

int dp_moving_set(struct dp *dp, const struct ipaddr *dvipa, bool hold)
{
	(void)dp;
	fake.moving_hold = hold;
	if (!fake_moving(dvipa))
		fake.moving[fake.n_moving++] = *dvipa;
	return 0;
}

int dp_moving_remove(struct dp *dp, const struct ipaddr *dvipa)
{
	(void)dp;
	for (size_t i = 0; i < fake.n_moving; i++) {
		if (ipaddr_equal(&fake.moving[i], dvipa)) {
			fake.moving[i] = fake.moving[--fake.n_moving];
			return 0;
		}
	}
	return -ENOENT;
}

static struct dp_flow_info *fake_flow(const struct dp_flow_info *f)
{
	for (size_t i = 0; i < fake.n_flows; i++) {
		struct dp_flow_info *g = &fake.flows[i];

		if (g->client_port == f->client_port && g->dvipa_port == f->dvipa_port &&
		    ipaddr_equal(&g->client, &f->client) && ipaddr_equal(&g->dvipa, &f->dvipa))
			return g;
	}
	return NULL;
}

int dp_flow_set(struct dp *dp, const struct dp_flow_info *flow)
{
	struct dp_flow_info *g = fake_flow(flow);

	(void)dp;
	if (!g) {
		if (fake.n_flows == FAKE_FLOWS_MAX)
			return -E2BIG;
		g = &fake.flows[fake.n_flows++];
	}
	*g = *flow;
	return 0;
}

int dp_flow_delete(struct dp *dp, const struct dp_flow_info *flow)
{
	struct dp_flow_info *g = fake_flow(flow);

	(void)dp;
	if (!g)
		return -ENOENT;
	*g = fake.flows[--fake.n_flows];
	return 0;
}

int dp_affinity_clear(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, size_t *ret_n)
{
	(void)dp;
	(void)dvipa;
	(void)port;
	fake.affinity_clears++;
	if (ret_n)
		*ret_n = 0;
	return 0;
}

int dp_target_dvipa_add(struct dp *dp, const struct ipaddr *dvipa)
{
	(void)dp;
	(void)dvipa;
	return 0;
}

int dp_target_dvipa_remove(struct dp *dp, const struct ipaddr *dvipa)
{
	(void)dp;
	(void)dvipa;
	return 0;
}

int dp_counters_read(struct dp *dp, uint64_t *out, size_t n)
{
	(void)dp;
	memset(out, 0, n * sizeof(*out));
	return 0;
}

int dp_flow_foreach(struct dp *dp, int (*fn)(const struct dp_flow_info *flow, void *data),
                    void *data)
{
	(void)dp;
	for (size_t i = 0; i < fake.n_flows; i++) {
		int err = fn(&fake.flows[i], data);

		if (err)
			return err;
	}
	return 0;
}

int target_new(const struct config *config, struct addr_handle *addr, struct diag_handle *diag,
               const char *run_path, struct target **ret)
{
	(void)config;
	(void)addr;
	(void)diag;
	(void)run_path;
	*ret = &fake_target;
	return 0;
}

void target_free(struct target *t)
{
	(void)t;
}

void target_set_config(struct target *t, const struct config *config)
{
	(void)t;
	(void)config;
}

void target_sysctls(struct target *t, bool on)
{
	(void)t;
	(void)on;
}

void target_set_lo(struct target *t, const struct target_addrs *want)
{
	(void)t;
	(void)want;
}

bool target_on_lo(const struct target *t, const struct ipaddr *dvipa)
{
	(void)t;
	(void)dvipa;
	return false;
}

int target_ready(struct target *t, const struct dist_view *v, uint32_t self,
                 bool (*can_serve)(const void *data, const struct ipaddr *dvipa), const void *data,
                 struct dist_ready **ret, size_t *ret_n)
{
	(void)t;
	(void)v;
	(void)self;
	(void)can_serve;
	(void)data;
	*ret = NULL;
	*ret_n = 0;
	return 0;
}

void target_repair(struct target *t)
{
	(void)t;
}

void target_leftovers(struct target *t, const struct plex *p, const struct dist_view *v)
{
	(void)t;
	(void)p;
	(void)v;
}

int target_connections(struct target *t, const struct dist_view *v, uint32_t self,
                       int (*push)(void *data, const struct show_dist_conn *row), void *data)
{
	(void)t;
	(void)v;
	(void)self;
	(void)push;
	(void)data;
	return 0;
}

int workload_new(struct diag_handle *diag, struct workload **ret)
{
	(void)diag;
	*ret = &fake_workload;
	return 0;
}

void workload_free(struct workload *w)
{
	(void)w;
}

bool workload_tick(struct workload *w, const struct dist_view *v, uint32_t self,
                   const struct dist_ready *ready, size_t n_ready, uint64_t now_ms,
                   struct wlm_report *report)
{
	(void)w;
	(void)v;
	(void)self;
	(void)ready;
	(void)n_ready;
	(void)now_ms;
	(void)report;
	return false;
}

/* show ports: one "node:total/active" per target of the first service. */
char *show_dist_ports(const struct show_dist_ctx *ctx, bool json)
{
	char buf[256] = "";
	size_t off = 0;

	(void)json;
	for (size_t i = 0; ctx->view->n_services && i < ctx->view->services[0].n_targets; i++) {
		const struct dist_target *t =
		    &ctx->view->targets[ctx->view->services[0].first_target + i];

		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u:%u/%u", i ? " " : "",
		                        t->node_id, t->total, t->active);
	}
	return strdup(buf);
}

char *show_dist_connections(const struct show_dist_ctx *ctx, bool json)
{
	(void)ctx;
	(void)json;
	return strdup("");
}

/* ---- a plex of n nodes, this one node 1, holding 10.0.0.10 ------------- */

#define TDR_DVIPA "10.0.0.10"

struct tdr {
	struct config *config;
	struct distributor *d;
	struct plex *p;
	struct plex_facts facts[4];
	size_t n;
};

static struct ipaddr tdr_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

static const char *tdr_name(const void *data, uint32_t id)
{
	(void)data;
	(void)id;
	return "";
}

/* Node 1 runs the distributor with this VIPADISTRIBUTE statement of
 * 10.0.0.10 and holds it active; nodes 2 .. n are members that announce
 * their plex addresses and nothing else about distribution. */
/* More statements for the next tdr_init()'s VIPADYNAMIC block. */
static const char *tdr_extra = "";

static int tdr_init(struct tdr *t, size_t n, const char *dist)
{
	char text[512];
	uint32_t ids[4] = {1, 2, 3, 4};
	struct plex_held h = {.state = PLEX_HELD_ACTIVE, .activated = 1};
	int err;

	memset(t, 0, sizeof(*t));
	snprintf(text, sizeof(text),
	         "INTERFACE eth0\nVIPADYNAMIC\nVIPADEFINE 255.255.255.0 " TDR_DVIPA
	         "\nVIPADISTRIBUTE %s\n%s\nENDVIPADYNAMIC\n",
	         dist, tdr_extra);
	err = config_parse(text, strlen(text), &t->config, NULL);
	if (err == 0)
		err = distributor_new(t->config, 2, NULL, NULL, NULL, &t->d);
	if (err < 0)
		return err;
	t->p = plex_new(1);
	if (!t->p)
		return -ENOMEM;
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		struct plex_facts *f = &t->facts[i];
		char a[32];

		f->node_id = ids[i];
		f->seq = 1;
		snprintf(f->name, sizeof(f->name), "n%zu", i + 1);
		snprintf(a, sizeof(a), "192.168.1.%zu", i + 1);
		f->plex_addr = tdr_addr(a);
		f->defs = calloc(1, sizeof(*f->defs));
		if (!f->defs)
			return -ENOMEM;
		f->defs[0] =
		    (struct plex_def){t->config->vipas[0].addr, t->config->vipas[0].prefix_len,
		                      t->config->vipas[0].kind, t->config->vipas[0].rank,
		                      t->config->vipas[0].moveable};
		f->n_defs = 1;
	}
	h.dvipa = tdr_addr(TDR_DVIPA);
	err = plex_facts_set_held(&t->facts[0], &h);
	if (err == 0)
		err = plex_set_members(t->p, ids, n);
	if (err == 0)
		err = plex_set_quorum(t->p, true);
	for (size_t i = 0; err == 0 && i < n; i++)
		err = plex_apply_facts(t->p, ids[i], &t->facts[i]);
	for (size_t i = 1; err == 0 && i < n; i++) {
		struct dist_facts df = {.plex_v4 = t->facts[i].plex_addr};
		uint8_t ext[256];
		size_t len = 0;

		err = wire_dist_encode(&df, ext, sizeof(ext), &len);
		if (err == 0)
			err = distributor_peer(t->d, ids[i], t->facts[i].seq, ext, len);
	}
	return err;
}

static void tdr_fini(struct tdr *t)
{
	distributor_free(t->d);
	plex_free(t->p);
	for (size_t i = 0; i < 4; i++)
		plex_facts_clear(&t->facts[i]);
	config_free(t->config);
}

static void tdr_update(struct tdr *t)
{
	distributor_update(t->d, t->p, &t->facts[0], fake.now_ms);
}

/* ---- what is programmed is listed ------------------------------------- */

/* A service or member programmed into the data plane must be in the
 * distributor's lists, or it would never be removed (nor a service's
 * clients' affinities): when a list cannot grow, nothing is programmed; it
 * is once the list can, and taken back when the view no longer has it. */
TEST(distributor_programs_only_what_it_lists)
{
	static const uint32_t both[] = {1, 2};
	struct ipaddr d = tdr_addr(TDR_DVIPA);
	struct tdr t;

	fake_reset();
	CHECK_INT(tdr_init(&t, 2,
	                   "DISTMETHOD ROUNDROBIN TIMEDAFFINITY 60 " TDR_DVIPA
	                   " PORT 80 81 DESTIP ALL"),
	          0);
	fake.fail_grow = true;
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 0);
	CHECK_INT(fake.n_members, 0);
	CHECK_INT(fake_logged("cannot distribute 10.0.0.10 port 80: Cannot allocate memory"), 1);
	CHECK_INT(fake_logged("cannot add member 192.168.1.2: Cannot allocate memory"), 1);
	/* Before the lists could grow, the DVIPA goes (quorum lost: no view)
	 * and node 2 leaves: nothing is left behind. */
	plex_set_quorum(t.p, false);
	plex_set_members(t.p, both, 1);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 0);
	CHECK_INT(fake.n_members, 0);
	CHECK_INT(fake.affinity_clears, 0);

	/* Room again: programmed, with their TIMEDAFFINITY, and listed. */
	fake.fail_grow = false;
	plex_set_quorum(t.p, true);
	plex_set_members(t.p, both, 2);
	plex_apply_facts(t.p, 2, &t.facts[1]);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 2);
	CHECK_INT(fake_svc(&d, 80)->affinity, 60);
	CHECK_INT(fake_svc(&d, 81)->affinity, 60);
	CHECK_INT(fake.n_members, 2);
	CHECK_INT(fake_logged("distributing 10.0.0.10 port 81 (ROUNDROBIN, TIMEDAFFINITY 60)"), 1);
	/* Taken back, with the clients' affinities (one walk for the DVIPA). */
	plex_set_quorum(t.p, false);
	plex_set_members(t.p, both, 1);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 0);
	CHECK_INT(fake.n_members, 1);
	CHECK_INT(fake.affinity_clears, 1);
	tdr_fini(&t);
}

/* A service whose TIMEDAFFINITY cannot be set is programmed all the same:
 * listed as it is, tried again at the next update, removed when it goes. */
TEST(distributor_affinity_failure_is_retried)
{
	struct tdr t;
	struct ipaddr d = tdr_addr(TDR_DVIPA);

	fake_reset();
	CHECK_INT(tdr_init(&t, 2, "TIMEDAFFINITY 30 " TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	fake.fail_affinity = true;
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 1);
	CHECK_INT(fake_svc(&d, 80)->affinity, 0);
	CHECK_INT(fake_logged("cannot set TIMEDAFFINITY 30 of 10.0.0.10 port 80"), 1);
	fake.fail_affinity = false;
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 1);
	CHECK_INT(fake_svc(&d, 80)->affinity, 30);
	CHECK_INT(fake_logged("distributing 10.0.0.10 port 80"), 1);
	/* Nothing changes: nothing is written. */
	fake.fail_affinity = true;
	tdr_update(&t);
	CHECK_INT(fake_logged("cannot set TIMEDAFFINITY"), 1);
	fake.fail_affinity = false;
	plex_set_quorum(t.p, false);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 0);
	tdr_fini(&t);
}

/* ---- at scale ------------------------------------------------------- */

static uint64_t tdr_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* DIST_MAX_PORTS services of one DVIPA: an update that changes nothing (as
 * every 100 ms) must look each one up without scanning them all, and cost
 * well under a millisecond or so (DVIPA_LONG=1 prints the time). */
TEST(distributor_update_at_scale)
{
	struct tdr t;
	uint64_t best = UINT64_MAX;
	size_t n_log;

	fake_reset();
	CHECK_INT(tdr_init(&t, 4, "DISTMETHOD ROUNDROBIN " TDR_DVIPA " PORT 1000-2023 DESTIP ALL"),
	          0);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, DIST_MAX_PORTS);
	n_log = fake.n_log;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = tdr_clock_ns(), ns;

		tdr_update(&t);
		ns = tdr_clock_ns() - t0;
		best = ns < best ? ns : best;
	}
	CHECK_INT(fake.n_svcs, DIST_MAX_PORTS);
	CHECK_INT(fake.n_log, n_log); /* nothing happened */
	if (unit_long_mode()) {
		printf("     distributor_update, %d services of 4 targets: %.2f ms\n",
		       DIST_MAX_PORTS, (double)best / 1e6);
		CHECK(best < 20 * 1000000ull);
	}
	tdr_fini(&t);
}

/* ---- flow counts and health through the ticks ------------------------- */

static void tdr_flow(uint32_t node, uint16_t client_port, bool established, bool syn_retrans)
{
	struct dp_flow_info *f = &fake.flows[fake.n_flows++];

	memset(f, 0, sizeof(*f));
	f->client = tdr_addr("198.51.100.7");
	f->client_port = client_port;
	f->dvipa = tdr_addr(TDR_DVIPA);
	f->dvipa_port = 80;
	f->target.node_id = node;
	f->established = established;
	f->syn_retrans = syn_retrans;
	f->created_ns = fake.now_ms * 1000000ull;
}

/* Ticks every 100 ms for ms milliseconds, updating as dvipad does. */
static void tdr_run(struct tdr *t, uint64_t ms)
{
	for (uint64_t end = fake.now_ms + ms; fake.now_ms < end;) {
		fake.now_ms += 100;
		distributor_tick(t->d, t->p, &t->facts[0], fake.now_ms);
		tdr_update(t);
	}
}

/* The flow table counted every 500 ms: each connection judged once it has
 * settled, the health of its target logged when it falls below 50 and when
 * it is back, the counts shown by `show ports`. */
TEST(distributor_counts_flows_and_health)
{
	struct tdr t;
	char *out;

	fake_reset();
	CHECK_INT(tdr_init(&t, 3, "DISTMETHOD WEIGHTEDACTIVE " TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 1);
	tdr_run(&t, 1000);
	/* Node 2 answers; node 3 refuses three connections. */
	tdr_flow(2, 40000, true, false);
	tdr_flow(2, 40001, true, true);
	tdr_flow(3, 40002, false, false);
	tdr_flow(3, 40003, false, false);
	tdr_flow(3, 40004, false, false);
	tdr_run(&t, 1000);
	/* Not settled yet: all five active, nobody judged. */
	out = distributor_show_ports(t.d, t.p, &t.facts[0], false, tdr_name, NULL);
	CHECK_STR(out, "1:0/0 2:2/2 3:3/3");
	free(out);
	CHECK_INT(fake_logged("health"), 0);
	tdr_run(&t, 1000);
	out = distributor_show_ports(t.d, t.p, &t.facts[0], false, tdr_name, NULL);
	CHECK_STR(out, "1:0/0 2:2/2 3:3/0");
	free(out);
	CHECK_INT(fake_logged("target n3 (3) of 10.0.0.10:80: health 100 -> 42 "
	                      "(connections refused)"),
	          1);
	CHECK_INT(fake_logged("target n2"), 0);
	CHECK_INT(distributor_view(t.d)->targets[2].health, 42);
	CHECK_INT(distributor_view(t.d)->targets[2].total, 3);
	CHECK_INT(distributor_view(t.d)->targets[1].active, 2);
	/* Without new connections it recovers, and says so once. */
	tdr_run(&t, 3000);
	CHECK_INT(fake_logged("target n3 (3) of 10.0.0.10:80: health 49 -> 52 (healthy again)"), 1);
	CHECK_INT(fake_logged("health"), 2);
	/* Distributing nothing, it forgets; back, every target starts at 100. */
	plex_set_quorum(t.p, false);
	tdr_run(&t, 1000);
	plex_set_quorum(t.p, true);
	tdr_run(&t, 1000);
	CHECK_INT(distributor_view(t.d)->targets[2].health, 100);
	tdr_fini(&t);
}

/* ---- directly or encapsulated ------------------------------------------ */

static struct neigh_entry tdr_neigh(const char *addr, uint8_t last, bool usable)
{
	struct neigh_entry e = {.addr = tdr_addr(addr), .usable = usable};

	e.mac[0] = 0x02;
	e.mac[5] = last;
	return e;
}

static void tdr_tick(struct tdr *t)
{
	distributor_tick(t->d, t->p, &t->facts[0], fake.now_ms);
}

/* A target on the link whose MAC the kernel knows is forwarded to directly;
 * one named by VIPAROUTE, one outside INTERFACE's prefixes and one without
 * a MAC are encapsulated to. The way follows the neighbour table and the
 * prefixes: a lost MAC goes back to encapsulation, a new one is
 * programmed, one line each. The kernel is asked about missing and STALE
 * MACs of targets on the link only, every NEIGH_PROBE_MS. */
TEST(distributor_forwards_directly_by_mac)
{
	struct ipaddr d = tdr_addr(TDR_DVIPA);
	const struct fake_svc *s;
	struct tdr t;

	fake_reset();
	tdr_extra = "VIPAROUTE DEFINE 192.168.1.3";
	CHECK_INT(tdr_init(&t, 4, "DISTMETHOD ROUNDROBIN " TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	tdr_extra = "";
	fake.addrs[0] =
	    (struct addr_info){.ifindex = 2, .addr = tdr_addr("192.168.1.1"), .prefix_len = 24};
	fake.addrs[1] =
	    (struct addr_info){.ifindex = 2, .addr = tdr_addr(TDR_DVIPA), .prefix_len = 32};
	fake.n_addrs = 2;
	fake.neighs[0] = tdr_neigh("192.168.1.2", 2, true);
	fake.neighs[1] = tdr_neigh("192.168.1.3", 3, true);
	fake.neighs[2] = tdr_neigh("192.168.1.4", 4, false);
	fake.n_neighs = 3;
	tdr_update(&t);
	s = fake_svc(&d, 80);
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK_INT(s->n_targets, 4);
	/* Not read before anything is distributed: all encapsulated. */
	for (size_t i = 0; i < s->n_targets; i++)
		CHECK(!s->targets[i].direct);
	tdr_tick(&t);
	CHECK_INT(s->targets[0].node_id, 1);
	CHECK(s->targets[0].is_local && !s->targets[0].direct);
	CHECK(s->targets[1].direct);
	CHECK_INT(s->targets[1].mac[5], 2);
	CHECK(!s->targets[2].direct); /* VIPAROUTE */
	CHECK(!s->targets[3].direct); /* no MAC */
	CHECK_INT(fake_logged("target 192.168.1.2 forwarded to directly (MAC 02:00:00:00:00:02)"),
	          1);
	CHECK_INT(fake_logged("target 192.168.1.3 encapsulated to (VIPAROUTE)"), 1);
	CHECK_INT(fake_logged("target 192.168.1.4 encapsulated to (no MAC known on eth0)"), 1);
	/* Only n4 lacks a MAC and is not VIPAROUTE'd: only it is asked about,
	 * and not again before NEIGH_PROBE_MS; nothing changed, nothing logged. */
	CHECK_INT(fake.n_resolved, 1);
	CHECK(ipaddr_equal(&fake.resolved[0], &fake.neighs[2].addr));
	fake.now_ms += 1000;
	tdr_tick(&t);
	CHECK_INT(fake.n_resolved, 1);
	CHECK_INT(fake_logged("forwarded to directly"), 1);
	/* n2's entry goes STALE: probed with n4 at the next round. */
	fake.neighs[0].stale = true;
	fake.now_ms += NEIGH_PROBE_MS;
	tdr_tick(&t);
	CHECK_INT(fake.n_resolved, 3);
	CHECK(s->targets[1].direct);

	/* n4 resolved, n2's MAC changed, then n2's entry failed. */
	fake.neighs[2].usable = true;
	fake.neighs[0].mac[5] = 0x22;
	tdr_tick(&t);
	CHECK(s->targets[3].direct);
	CHECK_INT(s->targets[3].mac[5], 4);
	CHECK_INT(s->targets[1].mac[5], 0x22);
	CHECK_INT(fake_logged("target 192.168.1.2 forwarded to directly (MAC 02:00:00:00:00:22)"),
	          1);
	fake.neighs[0].usable = false;
	tdr_tick(&t);
	CHECK(!s->targets[1].direct);
	CHECK_INT(fake_logged("target 192.168.1.2 encapsulated to (no MAC known on eth0)"), 1);
	/* INTERFACE's prefix shrinks: n4 is beyond a router now, and never
	 * asked about. */
	fake.addrs[0].prefix_len = 30;
	fake.n_resolved = 0;
	fake.now_ms += NEIGH_PROBE_MS;
	tdr_tick(&t);
	CHECK(!s->targets[3].direct);
	CHECK_INT(fake_logged("target 192.168.1.4 encapsulated to (not on eth0's link)"), 1);
	CHECK_INT(fake.n_resolved, 1); /* n2, on the link without a MAC */
	CHECK(ipaddr_equal(&fake.resolved[0], &fake.neighs[0].addr));
out:
	tdr_fini(&t);
}

/* ---- takeover ------------------------------------------------------------ */

static struct wire_conn_entry tdr_conn(const char *client, uint16_t client_port, uint16_t port,
                                       uint32_t node)
{
	return (struct wire_conn_entry){tdr_addr(client), client_port, port, node};
}

/* A new distributor holds unknown connections back while its table is
 * rebuilt; reported connections become flows (to the stack for its own),
 * those on ports it does not distribute are forwarded to their node
 * (MOVING) until that node is done or leaves. */
TEST(distributor_adopts_reported_connections)
{
	static const uint32_t two[] = {1, 2};
	struct ipaddr d = tdr_addr(TDR_DVIPA);
	struct wire_conn_entry v[] = {
	    tdr_conn("192.0.2.1", 40000, 80, 1), tdr_conn("192.0.2.1", 40001, 80, 2),
	    tdr_conn("192.0.2.1", 40002, 22, 3), tdr_conn("192.0.2.1", 40003, 22, 1),
	    tdr_conn("192.0.2.1", 40004, 80, 9),
	};
	struct dp_flow_info probe = {.client = tdr_addr("192.0.2.1"), .dvipa = d};
	struct tdr t;

	fake_reset();
	CHECK_INT(tdr_init(&t, 3, TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	tdr_update(&t);
	CHECK_INT(fake.n_svcs, 1);
	CHECK_INT(fake_svc(&d, 80)->flags, DP_SERVICE_HOLD_UNKNOWN);

	/* Node 9 is no member: left out. Node 1's own connection on port
	 * 22 is the stack's: no flow. */
	CHECK_INT(distributor_adopt(t.d, t.p, &d, v, 5, fake.now_ms), 3);
	CHECK_INT(fake_logged("1 connections of nodes without a plex address"), 1);
	CHECK_INT(fake.n_flows, 3);
	probe.client_port = 40000;
	probe.dvipa_port = 80;
	CHECK(fake_flow(&probe) && fake_flow(&probe)->target.is_local);
	probe.client_port = 40001;
	CHECK(fake_flow(&probe) && fake_flow(&probe)->target.node_id == 2);
	CHECK(ipaddr_equal(&fake_flow(&probe)->target.plex_addr, &t.facts[1].plex_addr));
	probe.client_port = 40002;
	probe.dvipa_port = 22;
	CHECK(fake_flow(&probe) && fake_flow(&probe)->target.node_id == 3);
	CHECK(fake_moving(&d));

	/* The rebuild window ends. */
	fake.now_ms += REBUILD_MS;
	distributor_tick(t.d, t.p, &t.facts[0], fake.now_ms);
	CHECK_INT(fake_svc(&d, 80)->flags, 0);

	/* Node 3's last connection ended: its flows and the entry go. */
	distributor_moving_done(t.d, &d, 3);
	CHECK(!fake_moving(&d));
	CHECK(!fake_flow(&probe));
	CHECK_INT(fake.n_flows, 2);

	/* Again, and node 3 leaves instead. */
	CHECK_INT(distributor_adopt(t.d, t.p, &d, v + 2, 1, fake.now_ms), 1);
	CHECK(fake_moving(&d));
	plex_set_members(t.p, two, 2);
	tdr_update(&t);
	CHECK(!fake_moving(&d));
	CHECK(!fake_flow(&probe));
	tdr_fini(&t);
}

/* An earlier holder's MOVING entry that ends while this node hands the
 * DVIPA over (its node leaves, or this node no longer owns it) leaves the
 * flows to the handover: packets of those connections that still reach this
 * node must not meet its stack. */
TEST(distributor_handover_keeps_earlier_holders_flows)
{
	static const uint32_t two[] = {1, 2};
	struct ipaddr d = tdr_addr(TDR_DVIPA);
	struct wire_conn_entry v[] = {tdr_conn("192.0.2.1", 40002, 22, 3)};
	struct dp_flow_info probe = {
	    .client = tdr_addr("192.0.2.1"), .dvipa = d, .client_port = 40002, .dvipa_port = 22};
	struct tdr t;

	fake_reset();
	CHECK_INT(tdr_init(&t, 3, TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	tdr_update(&t);
	CHECK_INT(distributor_adopt(t.d, t.p, &d, v, 1, fake.now_ms), 1);
	CHECK(distributor_release(t.d, &d));
	CHECK(fake.moving_hold);
	plex_set_members(t.p, two, 2);
	tdr_update(&t);
	CHECK(fake_moving(&d));
	CHECK(fake.moving_hold);
	CHECK(fake_flow(&probe));
	/* The handover ends: then they go. */
	fake.now_ms += HANDOVER_MS;
	distributor_tick(t.d, t.p, &t.facts[0], fake.now_ms);
	CHECK(!fake_moving(&d));
	CHECK(!fake_flow(&probe));
	tdr_fini(&t);
}

/* A node that takes a DVIPA over adopts reports before it knows the
 * holder's statements: a port its own statements name is a service, not an
 * earlier holder's connection to keep a MOVING entry for. */
TEST(distributor_adopt_uses_own_statements)
{
	struct ipaddr d = tdr_addr(TDR_DVIPA);
	struct wire_conn_entry v[] = {tdr_conn("192.0.2.1", 40001, 80, 2)};
	struct tdr t;

	fake_reset();
	CHECK_INT(tdr_init(&t, 2, TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	tdr_update(&t);
	dist_view_clear(&t.d->view);
	CHECK_INT(distributor_adopt(t.d, t.p, &d, v, 1, fake.now_ms), 1);
	CHECK(!fake_moving(&d));
	tdr_fini(&t);
}

/* A distributor that hands its DVIPA over stops taking new connections at
 * once, lists its flows, and forwards them for HANDOVER_MS more. */
TEST(distributor_hands_over)
{
	struct ipaddr d = tdr_addr(TDR_DVIPA), other = tdr_addr("10.0.0.99");
	struct dp_flow_info closed = {.client = tdr_addr("192.0.2.2"),
	                              .dvipa = d,
	                              .client_port = 1,
	                              .dvipa_port = 80,
	                              .closing = true};
	struct wire_conn_entry v[] = {
	    tdr_conn("192.0.2.1", 40000, 80, 1),
	    tdr_conn("192.0.2.1", 40001, 80, 2),
	};
	struct wire_conn_entry *flows = NULL;
	size_t n = 0;
	struct tdr t;

	fake_reset();
	CHECK_INT(tdr_init(&t, 2, TDR_DVIPA " PORT 80 DESTIP ALL"), 0);
	tdr_update(&t);
	CHECK_INT(distributor_adopt(t.d, t.p, &d, v, 2, fake.now_ms), 2);
	/* A closed connection's flow is not handed over. */
	closed.target = fake.flows[0].target;
	CHECK_INT(dp_flow_set(&fake_dp, &closed), 0);
	CHECK(!distributor_release(t.d, &other));
	CHECK(distributor_release(t.d, &d));
	CHECK_INT(fake.n_svcs, 0);
	CHECK(fake_moving(&d));
	CHECK_INT(distributor_flows_of(t.d, &d, &flows, &n), 0);
	CHECK_INT(n, 2);
	wire_conns_sort(flows, &n);
	CHECK_INT(flows[0].node, 1);
	CHECK_INT(flows[1].node, 2);
	free(flows);
	fake.now_ms += HANDOVER_MS;
	distributor_tick(t.d, t.p, &t.facts[0], fake.now_ms);
	CHECK(!fake_moving(&d));
	CHECK_INT(fake.n_flows, 0);
	tdr_fini(&t);
}
