/* The data plane's BPF programs run on packet fixtures through
 * BPF_PROG_TEST_RUN; prints TAP. Needs root: it runs in a network namespace
 * of its own where veth dp0 (the node's INTERFACE, plex addresses 10.0.0.1
 * and fd00::1, forwarding on) has permanent neighbours for the targets, so
 * that the program's bpf_fib_lookup() finds real MACs: the program has no
 * test mode.
 *
 * Usage: bpf-tests [SUBSTRING]  runs the cases whose name contains it. */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "dataplane/dataplane.h"
#include "tests/bpf/packet.h"

static const uint8_t mac_node[6] = {0x02, 0, 0, 0, 0, 0x01};   /* dp0 */
static const uint8_t mac_router[6] = {0x02, 0, 0, 0, 0, 0x99}; /* sender of fixtures */
static const uint8_t mac_t2[6] = {0x02, 0, 0, 0, 0, 0x12};
static const uint8_t mac_t3[6] = {0x02, 0, 0, 0, 0, 0x13};

#define PLEX4     "10.0.0.1"
#define PLEX6     "fd00::1"
#define T2_4      "10.0.0.2"
#define T3_4      "10.0.0.3"
#define T4_4      "10.0.0.4" /* no neighbour entry */
#define T2_6      "fd00::2"
#define T3_6      "fd00::3"
#define CLIENT4   "10.1.0.5"
#define CLIENT6   "fd01::5"
#define DVIPA4    "10.0.0.10" /* distributed by this node */
#define DVIPA4_RR "10.0.0.11"
#define DVIPA6    "fd00::10"
#define TDVIPA4   "10.0.0.20" /* this node is its target */
#define TDVIPA6   "fd00::20"

static struct dp *dp;
static int ifindex;
static int n_run, n_failed, case_failed;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): false positive */
	va_end(ap);
	printf("\n");
	case_failed = 1;
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fail("%s:%d: CHECK(%s)", __FILE__, __LINE__, #cond);                       \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fail("%s:%d: %s == %s: %lld != %lld", __FILE__, __LINE__, #a, #b, a_, b_); \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static struct ipaddr ip(const char *text)
{
	struct ipaddr a;

	if (ipaddr_parse(text, &a) < 0) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
	return a;
}

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- running fixtures ------------------------------------------------------ */

struct result {
	int ret;      /* bpf_prog_test_run_opts() */
	uint32_t act; /* the program's verdict */
	struct pkt out;
	uint64_t delta[DP_CNT_MAX];
};

static void run(enum dp_prog prog, const struct pkt *in, struct result *r)
{
	uint64_t before[DP_CNT_MAX], after[DP_CNT_MAX];
	struct __sk_buff ctx = {.ifindex = (uint32_t)ifindex};
	struct bpf_test_run_opts opts;

	memset(r, 0, sizeof(*r));
	opts = (struct bpf_test_run_opts){.sz = sizeof(opts),
	                                  .data_in = in->b,
	                                  .data_size_in = (uint32_t)in->len,
	                                  .data_out = r->out.b,
	                                  .data_size_out = sizeof(r->out.b),
	                                  .ctx_in = &ctx,
	                                  .ctx_size_in = sizeof(ctx),
	                                  .repeat = 1};
	if (dp_counters_read(dp, before, DP_CNT_MAX) < 0)
		memset(before, 0, sizeof(before));
	r->ret = bpf_prog_test_run_opts(dp_prog_fd(dp, prog), &opts);
	r->act = opts.retval;
	r->out.len = opts.data_size_out;
	if (dp_counters_read(dp, after, DP_CNT_MAX) < 0)
		memset(after, 0, sizeof(after));
	for (int i = 0; i < DP_CNT_MAX; i++)
		r->delta[i] = after[i] - before[i];
	if (getenv("DP_TEST_VERBOSE")) {
		printf("#   run: ret %d verdict %u, counters:", r->ret, r->act);
		for (int i = 0; i < DP_CNT_MAX; i++)
			if (r->delta[i])
				printf(" %s+%llu", dp_counter_name((unsigned)i),
				       (unsigned long long)r->delta[i]);
		printf("\n");
	}
}

/* Exactly these counters moved, by these amounts: pairs (counter, n), -1. */
static int counters_are(const struct result *r, ...)
{
	uint64_t want[DP_CNT_MAX] = {0};
	int ok = 1;
	va_list ap;

	va_start(ap, r);
	for (int c = va_arg(ap, int); c >= 0; c = va_arg(ap, int))
		want[c] = (uint64_t)va_arg(ap, int);
	va_end(ap);
	for (int i = 0; i < DP_CNT_MAX; i++) {
		if (r->delta[i] != want[i]) {
			fail("counter %s moved by %llu, want %llu", dp_counter_name((unsigned)i),
			     (unsigned long long)r->delta[i], (unsigned long long)want[i]);
			ok = 0;
		}
	}
	return ok;
}

static int same_bytes(const struct pkt *got, const struct pkt *want)
{
	if (got->len == want->len && memcmp(got->b, want->b, want->len) == 0)
		return 1;
	fail("output differs from the expected packet");
	pkt_dump("got", got->b, got->len);
	pkt_dump("want", want->b, want->len);
	return 0;
}

#define CHECK_COUNTERS(r, ...) CHECK(counters_are(r, __VA_ARGS__, -1))
#define CHECK_BYTES(got, want) CHECK(same_bytes(got, want))

/* A frame as the node receives it from a client (or sends it). */
static void frame(struct pkt *p, const struct seg *s)
{
	uint8_t ipb[PKT_MAX];
	size_t n = pkt_segment(ipb, s);

	pkt_frame(p, mac_node, mac_router, ipb, n);
}

/* The frame the distributor must send for in: in's IP packet inside an
 * outer header from our plex address to target, between our MAC and
 * target_mac (or, with target_mac NULL, in's own MACs: the neighbour table
 * will fill them). */
static void encapsulated(struct pkt *want, const struct pkt *in, const char *target,
                         const uint8_t *target_mac)
{
	uint8_t ipb[PKT_MAX];
	int family = (in->b[14] >> 4) == 6 ? 6 : 4;
	size_t n =
	    pkt_encap(ipb, family, family == 6 ? PLEX6 : PLEX4, target, in->b + 14, in->len - 14);

	if (target_mac)
		pkt_frame(want, target_mac, mac_node, ipb, n);
	else
		pkt_frame(want, in->b, in->b + 6, ipb, n);
}

/* An encapsulated frame arriving at this node from outer_src. */
static void encap_frame(struct pkt *p, const char *outer_src, const char *outer_dst,
                        const struct seg *inner)
{
	uint8_t in[PKT_MAX], out[PKT_MAX];
	size_t n = pkt_segment(in, inner);

	n = pkt_encap(out, inner->family, outer_src, outer_dst, in, n);
	pkt_frame(p, mac_node, mac_t2, out, n);
}

/* ---- setup ------------------------------------------------------------------ */

static int setup_netns(void)
{
	/* Our own mounts too: the bpffs of t_pinned_maps vanishes with us. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("Bail out! unshare: %s\n", strerror(errno));
		return -1;
	}
	if (sh("ip link set lo up") ||
	    sh("ip link add dp0 address 02:00:00:00:00:01 type veth peer name dp1 "
	       "address 02:00:00:00:00:02") ||
	    sh("ip link set dp0 up && ip link set dp1 up") ||
	    sh("ip addr add " PLEX4 "/24 dev dp0") ||
	    sh("ip -6 addr add " PLEX6 "/64 dev dp0 nodad") ||
	    sh("sysctl -qw net.ipv4.conf.dp0.forwarding=1 net.ipv6.conf.dp0.forwarding=1") ||
	    sh("ip neigh add " T2_4 " lladdr 02:00:00:00:00:12 dev dp0 nud permanent") ||
	    sh("ip neigh add " T3_4 " lladdr 02:00:00:00:00:13 dev dp0 nud permanent") ||
	    sh("ip -6 neigh add " T2_6 " lladdr 02:00:00:00:00:12 dev dp0 nud permanent") ||
	    sh("ip -6 neigh add " T3_6 " lladdr 02:00:00:00:00:13 dev dp0 nud permanent")) {
		printf("Bail out! cannot set up the test namespace with ip(8)\n");
		return -1;
	}
	ifindex = (int)if_nametoindex("dp0");
	return ifindex > 0 ? 0 : -1;
}

static struct dp_service_target target(uint32_t node, const char *addr, bool local)
{
	/* Ready: the fixtures that need a target that is not say so. */
	struct dp_service_target t = {
	    .node_id = node, .plex_addr = ip(addr), .is_local = local, .ready = true};

	return t;
}

static int setup_maps(void)
{
	struct ipaddr p4 = ip(PLEX4), p6 = ip(PLEX6);
	struct dp_service_target t2[] = {target(2, T2_4, false)};
	struct dp_service_target t2_6[] = {target(2, T2_6, false)};
	int err = 0;

	err = err ?: dp_set_node(dp, 1, &p4, &p6);
	err =
	    err ?: dp_set_mss(dp, dp_mss_for_mtu(IPADDR_V4, 1500), dp_mss_for_mtu(IPADDR_V6, 1500));
	for (int n = 2; n <= 4 && !err; n++) {
		char a4[32], a6[32];

		snprintf(a4, sizeof(a4), "10.0.0.%d", n);
		snprintf(a6, sizeof(a6), "fd00::%d", n);
		err = dp_member_add(dp, (struct ipaddr[]){ip(a4)}, (uint32_t)n);
		err = err ?: dp_member_add(dp, (struct ipaddr[]){ip(a6)}, (uint32_t)n);
	}
	err = err ?: dp_service_set(dp, (struct ipaddr[]){ip(DVIPA4)}, 80, t2, 1, NULL, 0);
	err = err ?: dp_service_set(dp, (struct ipaddr[]){ip(DVIPA6)}, 80, t2_6, 1, NULL, 0);
	err = err ?: dp_target_dvipa_add(dp, (struct ipaddr[]){ip(TDVIPA4)});
	err = err ?: dp_target_dvipa_add(dp, (struct ipaddr[]){ip(TDVIPA6)});
	if (err) {
		printf("Bail out! cannot program the maps: %s\n",
		       strerror(err < 0 ? -err : EINVAL));
		return -1;
	}
	return 0;
}

/* ---- distributor: IPv4 ------------------------------------------------------ */

static void syn4(struct seg *s, uint16_t sport)
{
	*s = (struct seg){.family = 4,
	                  .src = CLIENT4,
	                  .dst = DVIPA4,
	                  .sport = sport,
	                  .dport = 80,
	                  .flags = TH_SYN,
	                  .id = 0x1234};
}

static void t_syn4_encap(void)
{
	/* The outer header, typed from RFC 2003 by hand: version/IHL,
	 * TOS, length 60, the inner ID, DF, TTL 64, protocol 4, checksum,
	 * 10.0.0.1 -> 10.0.0.2. */
	static const uint8_t outer[20] = {0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40,
	                                  0x00, 0x40, 0x04, 0x14, 0x88, 10,   0,
	                                  0,    1,    10,   0,    0,    2};
	struct pkt in, want;
	struct result r;
	struct seg s;

	syn4(&s, 40000);
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.ret, 0);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK(memcmp(r.out.b + 14, outer, sizeof(outer)) == 0);
	CHECK_INT(pkt_csum(r.out.b + 14, 20, 0), 0);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);
}

struct find_flow {
	const char *client;
	uint16_t port;
	struct dp_flow_info found;
	int n;
};

static int find_flow_cb(const struct dp_flow_info *f, void *data)
{
	struct find_flow *ff = data;
	struct ipaddr c = ip(ff->client);

	if (ipaddr_equal(&f->client, &c) && f->client_port == ff->port) {
		ff->found = *f;
		ff->n++;
	}
	return 0;
}

static void t_flow_listed(void)
{
	struct find_flow ff = {.client = CLIENT4, .port = 40000};
	struct ipaddr dvipa = ip(DVIPA4), t = ip(T2_4);

	CHECK_INT(dp_flow_foreach(dp, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 1);
	CHECK(ipaddr_equal(&ff.found.dvipa, &dvipa));
	CHECK_INT(ff.found.dvipa_port, 80);
	CHECK_INT(ff.found.target.node_id, 2);
	CHECK(ipaddr_equal(&ff.found.target.plex_addr, &t));
	CHECK(!ff.found.target.is_local);
	CHECK(!ff.found.closing);
	CHECK(ff.found.created_ns > 0);
}

static void t_ack4_flow_hit(void)
{
	struct pkt in, want;
	struct result r;
	struct seg s;

	syn4(&s, 40000);
	s.flags = TH_ACK | TH_PSH;
	s.payload = 100;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);
}

static void t_ack4_no_flow(void)
{
	struct result r;
	struct pkt in;
	struct seg s;

	syn4(&s, 40001);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_NO_TARGET, 1);
}

/* A new distributor rebuilding its table holds unknown connections back. */
static void t_takeover_flags(void)
{
	struct ipaddr dvipa = ip(DVIPA4);
	struct result r;
	struct pkt in;
	struct seg s;

	CHECK_INT(dp_service_set_flags(dp, &dvipa, 80, DP_SERVICE_HOLD_UNKNOWN), 0);
	syn4(&s, 40010);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_HELD_UNKNOWN, 1);
	/* Known connections and new ones go on. */
	syn4(&s, 40000);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);

	CHECK_INT(dp_service_set_flags(dp, &dvipa, 80, 0), 0);
	syn4(&s, 40010);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_NO_TARGET, 1);
	CHECK_INT(dp_service_set_flags(dp, &dvipa, 81, 0), -ENOENT);
	CHECK_INT(dp_service_set_flags(dp, &dvipa, 0, 0), -EINVAL);
	CHECK_INT(dp_service_set_flags(dp, &dvipa, 80, DP_SERVICE_MOVING), -EINVAL);
}

/* A DVIPA whose earlier holder keeps connections: theirs are forwarded to
 * it, everything else is this node's. */
static void t_moving(void)
{
	struct ipaddr dvipa = ip("10.0.0.13");
	struct dp_flow_info f = {
	    .client = ip(CLIENT4),
	    .dvipa = dvipa,
	    .client_port = 41000,
	    .dvipa_port = 22,
	    .target = target(3, T3_4, false),
	    .established = true,
	};
	struct pkt in, want;
	struct result r;
	struct seg s;

	CHECK_INT(dp_moving_set(dp, &dvipa, false), 0);
	CHECK_INT(dp_flow_set(dp, &f), 0);
	s = (struct seg){.family = 4,
	                 .src = CLIENT4,
	                 .dst = "10.0.0.13",
	                 .sport = 41000,
	                 .dport = 22,
	                 .flags = TH_ACK | TH_PSH,
	                 .payload = 10};
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T3_4, mac_t3);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_MOVING_HIT, 1, DP_CNT_ENCAP, 1);
	/* Another connection, known or new: the stack's. */
	s.sport = 41001;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);
	s.flags = TH_SYN;
	s.payload = 0;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);
	/* Handed over (hold): what it does not know is the new owner's. */
	CHECK_INT(dp_moving_set(dp, &dvipa, true), 0);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_HELD_SYN, 1);
	s.flags = TH_ACK;
	s.payload = 10;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_HELD_UNKNOWN, 1);
	s.sport = 41000;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	CHECK_COUNTERS(&r, DP_CNT_MOVING_HIT, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(dp_moving_set(dp, &dvipa, false), 0);
	/* Gone: the flow alone no longer counts. */
	CHECK_INT(dp_moving_remove(dp, &dvipa), 0);
	s.sport = 41000;
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);
	CHECK_INT(dp_flow_delete(dp, &f), 0);
	CHECK_INT(dp_flow_delete(dp, &f), -ENOENT);
}

static void t_not_a_service(void)
{
	struct result r;
	struct pkt in;
	struct seg s;

	syn4(&s, 40002);
	s.dport = 81;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);

	/* Not even IP: an ARP request. */
	memset(&in, 0, sizeof(in));
	memset(in.b, 0xff, 6);
	memcpy(in.b + 6, mac_router, 6);
	in.b[12] = 0x08;
	in.b[13] = 0x06;
	in.len = 42;
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);
}

static void t_syn_no_target(void)
{
	struct ipaddr dvipa = ip("10.0.0.12");
	struct dp_service_target t[] = {target(2, T2_4, false)};
	uint8_t none[1];
	struct result r;
	struct pkt in;
	struct seg s;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, none, 0), 0);
	syn4(&s, 40003);
	s.dst = "10.0.0.12";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_SYN_NO_TARGET, 1);
	CHECK_INT(dp_service_remove(dp, &dvipa, 80), 0);
	CHECK_INT(dp_service_remove(dp, &dvipa, 80), -ENOENT);
}

/* Sends SYNs from ports first.. and returns the node each one went to
 * (1 = delivered locally) in nodes[]. */
static void spread(const char *dvipa, uint16_t first, int n, int *nodes)
{
	for (int i = 0; i < n; i++) {
		struct result r;
		struct pkt in;
		struct seg s;

		syn4(&s, (uint16_t)(first + i));
		s.dst = dvipa;
		frame(&in, &s);
		run(DP_PROG_INGRESS, &in, &r);
		nodes[i] = -1;
		if (r.act == TC_ACT_OK && r.delta[DP_CNT_TO_LOCAL] == 1)
			nodes[i] = 1;
		else if (r.act == TC_ACT_REDIRECT && r.out.len > 34)
			nodes[i] = r.out.b[14 + 19]; /* last byte of the outer dst */
	}
}

static void t_round_robin(void)
{
	struct ipaddr dvipa = ip(DVIPA4_RR);
	struct dp_service_target t[] = {target(2, T2_4, false), target(3, T3_4, false),
	                                target(1, PLEX4, true)};
	static const uint8_t weighted[] = {0, 0, 1};
	int nodes[6];

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 3, NULL, 0), 0);
	spread(DVIPA4_RR, 1000, 6, nodes);
	CHECK_INT(nodes[0], 2);
	CHECK_INT(nodes[1], 3);
	CHECK_INT(nodes[2], 1);
	CHECK_INT(nodes[3], 2);
	CHECK_INT(nodes[4], 3);
	CHECK_INT(nodes[5], 1);

	/* Weighted (2:1); the round-robin position (6) is kept across the
	 * replace, so the next SYN takes slot 6 % 3 = 0. */
	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 3, weighted, 3), 0);
	spread(DVIPA4_RR, 2000, 6, nodes);
	CHECK_INT(nodes[0], 2);
	CHECK_INT(nodes[1], 2);
	CHECK_INT(nodes[2], 3);
	CHECK_INT(nodes[3], 2);
	CHECK_INT(nodes[4], 2);
	CHECK_INT(nodes[5], 3);
}

static void t_local_target(void)
{
	struct ipaddr dvipa = ip("10.0.0.13");
	struct dp_service_target t[] = {target(1, PLEX4, true)};
	struct result r;
	struct pkt in;
	struct seg s;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	syn4(&s, 40004);
	s.dst = "10.0.0.13";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_TO_LOCAL, 1);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_TO_LOCAL, 1);
}

/* A target on the link with a known MAC: the packet goes to it unchanged
 * but for the MACs and the TTL (a router's hop, RFC 1812 5.3.1), its IPv4
 * checksum still right. */
static void direct_service(const char *dvipa, const char *target_addr)
{
	struct dp_service_target t[] = {target(2, target_addr, false)};

	t[0].direct = true;
	memcpy(t[0].mac, mac_t2, sizeof(t[0].mac));
	CHECK_INT(dp_service_set(dp, (struct ipaddr[]){ip(dvipa)}, 80, t, 1, NULL, 0), 0);
}

/* The frame the distributor must send for segment s forwarded directly:
 * the TTL one lower, to the target's MAC from ours. */
static void forwarded(struct pkt *want, struct seg s)
{
	uint8_t ipb[PKT_MAX];
	size_t n;

	s.ttl = (uint8_t)((s.ttl ? s.ttl : 64) - 1);
	n = pkt_segment(ipb, &s);
	pkt_frame(want, mac_t2, mac_node, ipb, n);
}

static void t_direct4(void)
{
	struct pkt in, want;
	struct result r;
	struct seg s;

	direct_service("10.0.0.14", T2_4);
	syn4(&s, 40030);
	s.dst = "10.0.0.14";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	forwarded(&want, s);
	CHECK_BYTES(&r.out, &want);
	CHECK_INT(r.out.b[14 + 8], 63);
	CHECK_INT(pkt_csum(r.out.b + 14, 20, 0), 0);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_FORWARD, 1);
	/* The flow keeps the way: its next packet goes the same way. */
	s.flags = TH_ACK;
	s.payload = 100;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	forwarded(&want, s);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FORWARD, 1);
}

static void t_direct6(void)
{
	struct pkt in, want;
	struct result r;
	struct seg s = {.family = 6,
	                .src = CLIENT6,
	                .dst = "fd00::14",
	                .sport = 40031,
	                .dport = 80,
	                .flags = TH_SYN,
	                .ttl = 2};

	direct_service("fd00::14", T2_6);
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	forwarded(&want, s);
	CHECK_BYTES(&r.out, &want);
	CHECK_INT(r.out.b[14 + 7], 1);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_FORWARD, 1);
}

/* A connection follows its target's way as the service has it now: a new
 * MAC, then encapsulation, then the MAC again. */
static void t_direct_follows(void)
{
	static const uint8_t mac_new[6] = {0x02, 0, 0, 0, 0, 0x77};
	struct dp_service_target t[] = {target(2, T2_4, false)};
	struct ipaddr dvipa = ip("10.0.0.15");
	struct pkt in, want;
	struct result r;
	struct seg s;

	t[0].direct = true;
	memcpy(t[0].mac, mac_t2, sizeof(t[0].mac));
	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	syn4(&s, 40034);
	s.dst = "10.0.0.15";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	forwarded(&want, s);
	CHECK_BYTES(&r.out, &want);
	/* The target's MAC changes. */
	memcpy(t[0].mac, mac_new, sizeof(t[0].mac));
	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	forwarded(&want, s);
	memcpy(want.b, mac_new, 6);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FORWARD, 1);
	/* VIPAROUTE, or the MAC lost: encapsulated from the next packet on. */
	t[0].direct = false;
	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);
	/* The service no longer lists the node: the flow's own copy. */
	CHECK_INT(dp_service_set(dp, &dvipa, 80,
	                         (struct dp_service_target[]){target(3, T3_4, false)}, 1, NULL, 0),
	          0);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	forwarded(&want, s);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FORWARD, 1);
}

/* A packet whose TTL would run out dies here, like at a router: what ends
 * a packet passed back and forth between two nodes that both think they
 * distribute, for a moment while the distributor moves. */
static void t_direct_ttl(void)
{
	struct result r;
	struct pkt in;
	struct seg s;

	direct_service("10.0.0.14", T2_4);
	syn4(&s, 40032);
	s.dst = "10.0.0.14";
	s.ttl = 1;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_TTL_EXCEEDED, 1);
}

/* A frame for another MAC (flooded, promiscuous) or a group address is left
 * to the stack, which drops it: sent on, it would carry another host's MAC
 * as its source. */
static void t_not_for_us(void)
{
	static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x55};
	static const uint8_t group[6] = {0x01, 0x00, 0x5e, 0, 0, 0x0a};
	uint8_t ipb[PKT_MAX];
	struct result r;
	struct pkt in;
	struct seg s;
	size_t n;

	syn4(&s, 40033);
	n = pkt_segment(ipb, &s);
	pkt_frame(&in, other, mac_router, ipb, n);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_NOT_FOR_US, 1);
	pkt_frame(&in, group, mac_router, ipb, n);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_NOT_FOR_US, 1);
}

static void t_ipv4_options(void)
{
	static const uint8_t nops[4] = {1, 1, 1, 0};
	uint8_t big[40];
	struct pkt in, want;
	struct result r;
	struct seg s;

	syn4(&s, 40010);
	s.ip_opts = nops;
	s.ip_opts_len = sizeof(nops);
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);

	/* IHL 15: 40 bytes of options. */
	memset(big, 1, sizeof(big));
	big[39] = 0;
	syn4(&s, 40011);
	s.ip_opts = big;
	s.ip_opts_len = sizeof(big);
	s.flags = TH_ACK; /* no flow: the ports must be read past the options */
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_NO_TARGET, 1);
	s.flags = TH_SYN;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
}

static void t_fragments(void)
{
	static const uint16_t frags[] = {0x2000 /* MF, first */, 0x0010 /* last */,
	                                 0x2010 /* middle */};
	/* IPv6 fragment header, next header TCP, offset 0, M set. */
	static const uint8_t frag6[8] = {6, 0, 0x00, 0x01, 0, 0, 0, 1};
	struct result r;
	struct pkt in;
	struct seg s;

	for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		syn4(&s, 40020);
		s.frag = frags[i];
		frame(&in, &s);
		run(DP_PROG_INGRESS, &in, &r);
		CHECK_INT(r.act, TC_ACT_OK);
		CHECK_BYTES(&r.out, &in);
		CHECK_COUNTERS(&r, DP_CNT_FRAGMENT, 1);
	}
	s = (struct seg){.family = 6,
	                 .src = CLIENT6,
	                 .dst = DVIPA6,
	                 .sport = 40020,
	                 .dport = 80,
	                 .flags = TH_SYN,
	                 .ext = frag6,
	                 .ext_len = sizeof(frag6),
	                 .ext_first = 44};
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_FRAGMENT, 1);
}

static void t_malformed(void)
{
	struct result r;
	struct pkt in;
	struct seg s;

	syn4(&s, 40030);
	frame(&in, &s);
	in.b[14] = 0x44; /* IHL 4 */
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_MALFORMED, 1);

	frame(&in, &s);
	in.b[14 + 20 + 12] = 0x40; /* TCP data offset 4 */
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_MALFORMED, 1);

	frame(&in, &s);
	in.b[14] = 0x65; /* IPv6 version in an IPv4 frame */
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_MALFORMED, 1);
}

/* Every prefix of a frame shorter than its headers: handed on untouched and
 * counted as truncated. BPF_PROG_TEST_RUN refuses frames shorter than the
 * fixed IP header (-EINVAL), so the cuts start there; the program's checks
 * of shorter ones cannot be run here. */
static void truncations(const struct pkt *full, size_t headers, enum dp_counter expect)
{
	size_t min = 14 + ((full->b[14] >> 4) == 6 ? 40 : 20);

	for (size_t len = min; len < headers; len++) {
		struct pkt in = *full;
		struct result r;

		in.len = len;
		run(DP_PROG_INGRESS, &in, &r);
		if (r.ret != 0 || r.act != TC_ACT_OK || r.out.len != len ||
		    memcmp(r.out.b, in.b, len) != 0 || !counters_are(&r, expect, 1, -1)) {
			fail("truncated to %zu bytes: ret %d verdict %u", len, r.ret, r.act);
		}
	}
}

static void t_truncated(void)
{
	static const uint8_t opts8[8] = {1, 1, 1, 1, 1, 1, 1, 0};
	static const uint8_t ext16[16] = {60, 0, 1, 4, 0, 0, 0, 0,  /* hop-by-hop: PadN */
	                                  6,  0, 1, 4, 0, 0, 0, 0}; /* dst opts: PadN */
	struct pkt in;
	struct seg s;

	syn4(&s, 40040);
	frame(&in, &s);
	truncations(&in, 14 + 20 + 20, DP_CNT_TRUNCATED);
	s.ip_opts = opts8;
	s.ip_opts_len = sizeof(opts8);
	frame(&in, &s);
	truncations(&in, 14 + 28 + 20, DP_CNT_TRUNCATED);
	s = (struct seg){.family = 6,
	                 .src = CLIENT6,
	                 .dst = DVIPA6,
	                 .sport = 40040,
	                 .dport = 80,
	                 .flags = TH_SYN};
	frame(&in, &s);
	truncations(&in, 14 + 40 + 20, DP_CNT_TRUNCATED);
	s.ext = ext16;
	s.ext_len = sizeof(ext16);
	s.ext_first = 0;
	frame(&in, &s);
	truncations(&in, 14 + 40 + 16 + 20, DP_CNT_TRUNCATED);
	CHECK(!case_failed);
}

static void t_truncated_encap(void)
{
	struct pkt in;
	struct seg s = {.family = 4,
	                .src = CLIENT4,
	                .dst = TDVIPA4,
	                .sport = 40041,
	                .dport = 80,
	                .flags = TH_SYN};

	/* Cut inside the inner header: from a member, dropped as malformed. */
	encap_frame(&in, T2_4, PLEX4, &s);
	for (size_t len = 14 + 20; len < 14 + 40; len++) {
		struct pkt cut = in;
		struct result r;

		cut.len = len;
		run(DP_PROG_INGRESS, &cut, &r);
		CHECK_INT(r.act, TC_ACT_SHOT);
		CHECK_COUNTERS(&r, DP_CNT_DROP_MALFORMED, 1);
	}
	/* From a non-member the stack gets it (and drops it). */
	encap_frame(&in, "10.0.0.99", PLEX4, &s);
	for (size_t len = 14 + 20; len < 14 + 40; len++) {
		struct pkt cut = in;
		struct result r;

		cut.len = len;
		run(DP_PROG_INGRESS, &cut, &r);
		CHECK_INT(r.act, TC_ACT_OK);
		CHECK_COUNTERS(&r, DP_CNT_ENCAP_NOT_OURS, 1);
	}
}

static void t_flow_closing_and_reuse(void)
{
	struct ipaddr dvipa = ip("10.0.0.14");
	struct dp_service_target t[] = {target(2, T2_4, false), target(3, T3_4, false)};
	struct find_flow ff = {.client = CLIENT4, .port = 40050};
	struct pkt in, want;
	struct result r;
	uint64_t created;
	struct seg s;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 2, NULL, 0), 0);
	syn4(&s, 40050);
	s.dst = "10.0.0.14";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	/* A retransmitted SYN follows the flow. */
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);

	s.flags = TH_FIN | TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FLOW_CLOSING, 1, DP_CNT_ENCAP, 1);
	s.flags = TH_ACK; /* the last ACK still goes to the target */
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);

	/* The client reuses the 4-tuple: a new connection, the next target. */
	s.flags = TH_SYN;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T3_4, mac_t3);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_REUSED, 1, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);

	/* Reset, then reused once more while node 3 is the only target: the
	 * same target, so the entry is renewed in place: no longer closing,
	 * created again. */
	s.flags = TH_RST;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FLOW_CLOSING, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(dp_service_set(dp, &dvipa, 80, &t[1], 1, NULL, 0), 0);
	CHECK_INT(dp_flow_foreach(dp, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 1);
	CHECK(ff.found.closing);
	created = ff.found.created_ns;
	s.flags = TH_SYN;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T3_4, mac_t3);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_REUSED, 1, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);
	ff.n = 0;
	CHECK_INT(dp_flow_foreach(dp, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 1);
	CHECK(!ff.found.closing);
	CHECK(ff.found.created_ns > created);
	CHECK_INT(ff.found.target.node_id, 3);
}

static void t_port_block(void)
{
	struct ipaddr dvipa = ip(DVIPA4);
	struct dp_service_target t3 = target(3, T3_4, false);
	struct pkt in, want;
	struct result r;
	struct seg s;

	/* Ports 40000..40063 of the DVIPA belong to node 3. */
	CHECK_INT(dp_port_block_set(dp, &dvipa, 40000 >> DP_PORT_BLOCK_SHIFT, &t3), 0);
	/* A SYN-ACK answering node 3's outbound connection from DVIPA:40007. */
	s = (struct seg){.family = 4,
	                 .src = "192.0.2.7",
	                 .dst = DVIPA4,
	                 .sport = 21,
	                 .dport = 40007,
	                 .flags = TH_SYN | TH_ACK};
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T3_4, mac_t3);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_PORT_BLOCK_HIT, 1, DP_CNT_ENCAP, 1);
	/* A passive-mode data connection's SYN to a port node 3 listens on. */
	s = (struct seg){.family = 4,
	                 .src = CLIENT4,
	                 .dst = DVIPA4,
	                 .sport = 5555,
	                 .dport = 40063,
	                 .flags = TH_SYN};
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T3_4, mac_t3);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_PORT_BLOCK_HIT, 1, DP_CNT_ENCAP, 1);
	/* The next block is nobody's. */
	s.dport = 40064;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);
	CHECK_INT(dp_port_block_remove(dp, &dvipa, 40000 >> DP_PORT_BLOCK_SHIFT), 0);
	s.dport = 40063;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_PASS, 1);
}

static void t_no_neigh(void)
{
	struct ipaddr dvipa = ip("10.0.0.15");
	struct dp_service_target t[] = {target(4, T4_4, false)};
	struct pkt in, want;
	struct result r;
	struct seg s;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	syn4(&s, 40060);
	s.dst = "10.0.0.15";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T4_4, NULL); /* MACs left to the neighbour table */
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_FIB_NO_NEIGH, 1, DP_CNT_ENCAP, 1);
}

static void t_fwd_disabled(void)
{
	struct ipaddr dvipa = ip("10.0.0.17");
	struct dp_service_target t[] = {target(3, T3_4, false)};
	struct pkt in, want;
	struct result r;
	struct seg s;

	/* Forwarding off: bpf_fib_lookup() refuses, the kernel routes. */
	CHECK_INT(sh("sysctl -qw net.ipv4.conf.dp0.forwarding=0"), 0);
	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	syn4(&s, 40065);
	s.dst = "10.0.0.17";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(sh("sysctl -qw net.ipv4.conf.dp0.forwarding=1"), 0);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T3_4, NULL);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_FIB_FWD_DISABLED, 1, DP_CNT_ENCAP, 1);
}

static void t_no_route(void)
{
	struct ipaddr dvipa = ip("10.0.0.16");
	struct dp_service_target t[] = {target(5, "192.168.77.7", false)};
	struct result r;
	struct pkt in;
	struct seg s;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	syn4(&s, 40070);
	s.dst = "10.0.0.16";
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_FIB_ERROR, 1);
}

static void t_too_big(void)
{
	struct result r;
	struct pkt in;
	struct seg s;

	/* A full 1500-byte segment of the flow of t_syn4_encap cannot take 20
	 * more bytes on dp0 (MTU 1500). */
	syn4(&s, 40000);
	s.flags = TH_ACK;
	s.payload = 1460;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_TOO_BIG, 1);
	/* 20 bytes less fits. */
	s.payload = 1440;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	CHECK_INT(r.out.len, 14 + 20 + 20 + 20 + 1440);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);
}

static void t_retarget(void)
{
	struct dp_service_target t3 = target(3, T3_4, false);
	struct find_flow ff = {.client = CLIENT4, .port = 40000};
	struct pkt in, want;
	struct result r;
	size_t n = 0;
	struct seg s;

	/* Node 2 leaves: its IPv4 flows go to node 3, the IPv6 ones stay. */
	CHECK_INT(dp_flows_retarget(dp, 2, &t3, &n), 0);
	CHECK(n >= 2);
	ff.client = CLIENT6;
	ff.port = 40100;
	CHECK_INT(dp_flow_foreach(dp, find_flow_cb, &ff), 0);
	CHECK_INT(ff.found.target.node_id, 2);
	ff.client = CLIENT4;
	ff.port = 40000;
	CHECK_INT(dp_flow_foreach(dp, find_flow_cb, &ff), 0);
	CHECK_INT(ff.found.target.node_id, 3);
	syn4(&s, 40000);
	s.flags = TH_ACK;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T3_4, mac_t3);
	CHECK_BYTES(&r.out, &want);
	CHECK_INT(dp_flows_retarget(dp, 2, &t3, &n), 0);
	CHECK_INT(n, 0);

	/* Node 3 leaves without replacement: its flows are forgotten. */
	CHECK_INT(dp_flows_retarget(dp, 3, NULL, &n), 0);
	CHECK(n >= 2);
	ff.n = 0;
	CHECK_INT(dp_flow_foreach(dp, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 0);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_NO_TARGET, 1);

	/* A flow handed over (rebuilt from a target's report). */
	ff.found.target = target(2, T2_4, false);
	CHECK_INT(dp_flow_set(dp, &ff.found), 0);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);
}

/* ---- distributor: health flags --------------------------------------------- */

/* The flags of the flow from CLIENT4:port, in ret; 0 or -1 when not found. */
static int flow_of(uint16_t port, struct dp_flow_info *ret)
{
	struct find_flow ff = {.client = CLIENT4, .port = port};

	if (dp_flow_foreach(dp, find_flow_cb, &ff) != 0 || ff.n != 1)
		return -1;
	*ret = ff.found;
	return 0;
}

/* Sends one packet from CLIENT4:port to 10.0.0.18:80 (a service of its own,
 * target node 2) and checks that it went to node 2, counted as kind (and
 * also, unless -1, as also), with no other counter moving: the flags change
 * no verdict. */
static int handshake_packet(uint16_t port, uint8_t flags, enum dp_counter kind, int also)
{
	struct pkt in, want;
	struct result r;
	struct seg s;

	syn4(&s, port);
	s.dst = "10.0.0.18";
	s.flags = flags;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T2_4, mac_t2);
	if (r.act != TC_ACT_REDIRECT || !same_bytes(&r.out, &want))
		return 0;
	if (also >= 0)
		return counters_are(&r, kind, 1, also, 1, DP_CNT_ENCAP, 1, -1);
	return counters_are(&r, kind, 1, DP_CNT_ENCAP, 1, -1);
}

static void t_handshake_established(void)
{
	struct ipaddr dvipa = ip("10.0.0.18");
	struct dp_service_target t[] = {target(2, T2_4, false)};
	struct dp_flow_info f;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 1, NULL, 0), 0);
	CHECK(handshake_packet(41000, TH_SYN, DP_CNT_FLOW_NEW, -1));
	CHECK_INT(flow_of(41000, &f), 0);
	CHECK(!f.established && !f.syn_retrans && !f.closing);
	/* The client's ACK of the SYN-ACK: the target answered. */
	CHECK(handshake_packet(41000, TH_ACK, DP_CNT_FLOW_HIT, -1));
	CHECK_INT(flow_of(41000, &f), 0);
	CHECK(f.established && !f.syn_retrans && !f.closing);
	/* A SYN on an established flow says nothing about the handshake. */
	CHECK(handshake_packet(41000, TH_SYN, DP_CNT_FLOW_HIT, -1));
	CHECK_INT(flow_of(41000, &f), 0);
	CHECK(f.established && !f.syn_retrans);
	/* FIN keeps the flag (both are set atomically). */
	CHECK(handshake_packet(41000, TH_FIN | TH_ACK, DP_CNT_FLOW_HIT, DP_CNT_FLOW_CLOSING));
	CHECK_INT(flow_of(41000, &f), 0);
	CHECK(f.established && f.closing);
	/* The 4-tuple reused: a new connection starts without flags. */
	CHECK(handshake_packet(41000, TH_SYN, DP_CNT_FLOW_REUSED, DP_CNT_FLOW_NEW));
	CHECK_INT(flow_of(41000, &f), 0);
	CHECK(!f.established && !f.syn_retrans && !f.closing);

	/* A client that answers the SYN-ACK with a RST did not complete it;
	 * nor does an ACK carrying SYN (not a client's packet). */
	CHECK(handshake_packet(41001, TH_SYN, DP_CNT_FLOW_NEW, -1));
	CHECK(handshake_packet(41001, TH_SYN | TH_ACK, DP_CNT_FLOW_HIT, -1));
	CHECK_INT(flow_of(41001, &f), 0);
	CHECK(!f.established && !f.syn_retrans);
	CHECK(handshake_packet(41001, TH_RST | TH_ACK, DP_CNT_FLOW_HIT, DP_CNT_FLOW_CLOSING));
	CHECK_INT(flow_of(41001, &f), 0);
	CHECK(!f.established && f.closing);
}

static void t_handshake_syn_retrans(void)
{
	struct dp_service_target t2 = target(2, T2_4, false);
	struct dp_flow_info f, set = {.client = ip(CLIENT4),
	                              .dvipa = ip("10.0.0.18"),
	                              .client_port = 41012,
	                              .dvipa_port = 80,
	                              .target = t2,
	                              .established = true,
	                              .syn_retrans = true,
	                              .created_ns = 7};

	/* The target does not answer: the client sends its SYN again. */
	CHECK(handshake_packet(41010, TH_SYN, DP_CNT_FLOW_NEW, -1));
	CHECK(handshake_packet(41010, TH_SYN, DP_CNT_FLOW_HIT, -1));
	CHECK_INT(flow_of(41010, &f), 0);
	CHECK(!f.established && f.syn_retrans && !f.closing);
	CHECK(handshake_packet(41010, TH_SYN, DP_CNT_FLOW_HIT, -1));
	CHECK_INT(flow_of(41010, &f), 0);
	CHECK(!f.established && f.syn_retrans);
	/* Answered at last: established, slowly. */
	CHECK(handshake_packet(41010, TH_ACK | TH_PSH, DP_CNT_FLOW_HIT, -1));
	CHECK_INT(flow_of(41010, &f), 0);
	CHECK(f.established && f.syn_retrans);

	/* A flow written by the loader keeps its flags. */
	CHECK_INT(dp_flow_set(dp, &set), 0);
	CHECK_INT(flow_of(41012, &f), 0);
	CHECK(f.established && f.syn_retrans && !f.closing);
	CHECK_INT(f.created_ns, 7);
	set.established = set.syn_retrans = false;
	set.closing = true;
	CHECK_INT(dp_flow_set(dp, &set), 0);
	CHECK_INT(flow_of(41012, &f), 0);
	CHECK(!f.established && !f.syn_retrans && f.closing);
}

/* ---- distributor: IPv6 ------------------------------------------------------ */

static void t_syn6_encap(void)
{
	struct pkt in, want;
	struct result r;
	struct seg s = {.family = 6,
	                .src = CLIENT6,
	                .dst = DVIPA6,
	                .sport = 40100,
	                .dport = 80,
	                .flags = TH_SYN,
	                .tos = 0x28,
	                .flow_label = 0x12345};

	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.ret, 0);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_6, mac_t2);
	CHECK_BYTES(&r.out, &want);
	/* Spelled out: version 6, traffic class 0x28, flow label 0x12345,
	 * payload 40 + 20, next header 41, hop limit 64. */
	CHECK(r.out.b[14] == 0x62 && r.out.b[15] == 0x81 && r.out.b[16] == 0x23 &&
	      r.out.b[17] == 0x45);
	CHECK(r.out.b[18] == 0 && r.out.b[19] == 60 && r.out.b[20] == 41 && r.out.b[21] == 64);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);

	s.flags = TH_ACK;
	s.payload = 1000;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	encapsulated(&want, &in, T2_6, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);

	s.sport = 40101;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_NO_TARGET, 1);
}

static void t_ipv6_ext_headers(void)
{
	/* Hop-by-hop (PadN) then destination options (PadN), then TCP. */
	static const uint8_t ext[16] = {60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0};
	/* Routing header type 4 with one segment left: not the final dst. */
	static const uint8_t rh[24] = {6, 2, 4, 1, 0, 0, 0, 0, 0xfd, 0, 0, 0,
	                               0, 0, 0, 0, 0, 0, 0, 0, 0,    0, 0, 9};
	struct pkt in, want;
	struct result r;
	struct seg s = {.family = 6,
	                .src = CLIENT6,
	                .dst = DVIPA6,
	                .sport = 40110,
	                .dport = 80,
	                .flags = TH_SYN,
	                .ext = ext,
	                .ext_len = sizeof(ext),
	                .ext_first = 0};

	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_REDIRECT);
	encapsulated(&want, &in, T2_6, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);

	s.sport = 40111;
	s.ext = rh;
	s.ext_len = sizeof(rh);
	s.ext_first = 43;
	frame(&in, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_IPV6_EXT, 1);
}

/* ---- target: decapsulation -------------------------------------------------- */

static void t_decap4(void)
{
	static const uint8_t opts[4] = {1, 1, 1, 0};
	struct seg s = {.family = 4,
	                .src = CLIENT4,
	                .dst = TDVIPA4,
	                .sport = 40200,
	                .dport = 80,
	                .flags = TH_SYN,
	                .id = 77};
	uint8_t inner[PKT_MAX], outer[PKT_MAX], tmp[PKT_MAX];
	struct pkt in, want;
	struct result r;
	uint16_t c;
	size_t n;

	encap_frame(&in, T2_4, PLEX4, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	n = pkt_segment(inner, &s);
	pkt_frame(&want, mac_node, mac_t2, inner, n);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_DECAP, 1);

	/* An outer header with options goes whole. */
	s.flags = TH_ACK;
	s.payload = 1400;
	n = pkt_segment(inner, &s);
	pkt_encap(tmp, 4, T3_4, PLEX4, inner, n);
	memcpy(outer, tmp, 20);
	memcpy(outer + 20, opts, 4);
	memcpy(outer + 24, inner, n);
	outer[0] = 0x46;
	outer[2] = (uint8_t)((n + 24) >> 8);
	outer[3] = (uint8_t)(n + 24);
	outer[10] = outer[11] = 0;
	c = pkt_csum(outer, 24, 0);
	outer[10] = (uint8_t)(c >> 8);
	outer[11] = (uint8_t)c;
	pkt_frame(&in, mac_node, mac_t3, outer, n + 24);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	pkt_frame(&want, mac_node, mac_t3, inner, n);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_DECAP, 1);
}

static void t_decap6(void)
{
	struct seg s = {.family = 6,
	                .src = CLIENT6,
	                .dst = TDVIPA6,
	                .sport = 40210,
	                .dport = 80,
	                .flags = TH_SYN,
	                .flow_label = 7};
	uint8_t inner[PKT_MAX];
	struct pkt in, want;
	struct result r;
	size_t n;

	encap_frame(&in, T3_6, PLEX6, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	n = pkt_segment(inner, &s);
	pkt_frame(&want, mac_node, mac_t2, inner, n);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_DECAP, 1);
}

static void t_decap_not_member(void)
{
	struct seg s4 = {.family = 4,
	                 .src = CLIENT4,
	                 .dst = TDVIPA4,
	                 .sport = 40220,
	                 .dport = 80,
	                 .flags = TH_SYN};
	struct seg s6 = {.family = 6,
	                 .src = CLIENT6,
	                 .dst = TDVIPA6,
	                 .sport = 40220,
	                 .dport = 80,
	                 .flags = TH_SYN};
	struct result r;
	struct pkt in;

	encap_frame(&in, "10.0.0.99", PLEX4, &s4);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_DROP_NOT_MEMBER, 1);
	encap_frame(&in, "fd00::99", PLEX6, &s6);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_DROP_NOT_MEMBER, 1);

	/* A member removed is a non-member. */
	CHECK_INT(dp_member_remove(dp, (struct ipaddr[]){ip(T2_4)}), 0);
	encap_frame(&in, T2_4, PLEX4, &s4);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_SHOT);
	CHECK_COUNTERS(&r, DP_CNT_DROP_NOT_MEMBER, 1);
	CHECK_INT(dp_member_add(dp, (struct ipaddr[]){ip(T2_4)}, 2), 0);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_DECAP, 1);
}

static void t_encap_not_ours(void)
{
	struct seg s = {.family = 4,
	                .src = CLIENT4,
	                .dst = "10.0.0.77",
	                .sport = 40230,
	                .dport = 80,
	                .flags = TH_SYN};
	struct result r;
	struct pkt in;

	/* Inner destination not a DVIPA of ours. */
	encap_frame(&in, T2_4, PLEX4, &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_ENCAP_NOT_OURS, 1);
	/* Outer destination not our plex address. */
	s.dst = TDVIPA4;
	encap_frame(&in, T2_4, "10.0.0.50", &s);
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_ENCAP_NOT_OURS, 1);
	/* Outer fragment. */
	encap_frame(&in, T2_4, PLEX4, &s);
	in.b[14 + 6] |= 0x20; /* MF; checksum no longer right, not our concern */
	run(DP_PROG_INGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_COUNTERS(&r, DP_CNT_FRAGMENT, 1);
}

/* ---- target: MSS clamp ------------------------------------------------------ */

static void synack(struct pkt *p, int family, const char *src, uint16_t mss, uint8_t flags)
{
	/* MSS, SACK permitted, timestamps, NOP, window scale: Linux's order. */
	uint8_t opts[20] = {
	    2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3,
	    3, 7};
	struct seg s = {.family = family,
	                .src = src,
	                .dst = family == 6 ? CLIENT6 : CLIENT4,
	                .sport = 80,
	                .dport = 40300,
	                .flags = flags,
	                .tcp_opts = opts,
	                .tcp_opts_len = sizeof(opts)};

	frame(p, &s);
}

static void t_mss_clamp(void)
{
	struct pkt in, want;
	struct result r;

	synack(&in, 4, TDVIPA4, 1460, TH_SYN | TH_ACK);
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	synack(&want, 4, TDVIPA4, 1440, TH_SYN | TH_ACK);
	CHECK_BYTES(&r.out, &want);
	CHECK(pkt_tcp_csum_ok(r.out.b + 14, r.out.len - 14));
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 1);

	synack(&in, 6, TDVIPA6, 1440, TH_SYN | TH_ACK);
	run(DP_PROG_EGRESS, &in, &r);
	synack(&want, 6, TDVIPA6, 1400, TH_SYN | TH_ACK);
	CHECK_BYTES(&r.out, &want);
	CHECK(pkt_tcp_csum_ok(r.out.b + 14, r.out.len - 14));
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 1);

	/* An outbound SYN from the DVIPA too (SYSPLEXPORTS connections). */
	synack(&in, 4, TDVIPA4, 1460, TH_SYN);
	run(DP_PROG_EGRESS, &in, &r);
	synack(&want, 4, TDVIPA4, 1440, TH_SYN);
	CHECK_BYTES(&r.out, &want);

	/* Left alone: small enough already, not from a target DVIPA, not a SYN. */
	synack(&in, 4, TDVIPA4, 1200, TH_SYN | TH_ACK);
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 0);
	synack(&in, 4, PLEX4, 1460, TH_SYN | TH_ACK);
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 0);
	synack(&in, 4, TDVIPA4, 1460, TH_ACK);
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 0);
	/* No clamp configured. */
	CHECK_INT(dp_set_mss(dp, 0, 0), 0);
	synack(&in, 4, TDVIPA4, 1460, TH_SYN | TH_ACK);
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_BYTES(&r.out, &in);
	CHECK_INT(dp_set_mss(dp, dp_mss_for_mtu(IPADDR_V4, 1500), dp_mss_for_mtu(IPADDR_V6, 1500)),
	          0);
}

static void t_mss_option_walk(void)
{
	/* MSS after NOPs and a timestamp; a broken option list stops the walk. */
	uint8_t late[16] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 2, 4, 0x05, 0xb4};
	uint8_t broken[8] = {1, 1, 5, 0, 2, 4, 0x05, 0xb4}; /* option of length 0 */
	struct seg s = {.family = 4,
	                .src = TDVIPA4,
	                .dst = CLIENT4,
	                .sport = 80,
	                .dport = 40310,
	                .flags = TH_SYN | TH_ACK,
	                .tcp_opts = late,
	                .tcp_opts_len = sizeof(late)};
	struct pkt in, want;
	struct result r;

	frame(&in, &s);
	run(DP_PROG_EGRESS, &in, &r);
	late[14] = 1440 >> 8;
	late[15] = 1440 & 0xff;
	frame(&want, &s);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 1);

	s.tcp_opts = broken;
	s.tcp_opts_len = sizeof(broken);
	frame(&in, &s);
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_BYTES(&r.out, &in);
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 0);

	/* Truncated options: the packet goes untouched. */
	s.tcp_opts = late;
	s.tcp_opts_len = sizeof(late);
	frame(&in, &s);
	in.len -= 3;
	run(DP_PROG_EGRESS, &in, &r);
	CHECK_INT(r.act, TC_ACT_OK);
	CHECK_INT(r.out.len, in.len);
	CHECK_COUNTERS(&r, DP_CNT_MSS_CLAMPED, 0);
}

/* ---- TIMEDAFFINITY ------------------------------------------------------------
 * The program's clock (bpf_ktime_get_ns) cannot be set, so these cases move
 * an entry's last_end_ns into the past with dp_affinity_set() instead of
 * waiting: CLOCK_MONOTONIC here is the program's clock. */

#define AFF4     "10.0.0.30" /* RR over n2, n3, n1 (local), TIMEDAFFINITY 300 */
#define AFF6     "fd00::30"  /* RR over n2, n3, TIMEDAFFINITY 300 */
#define AFF_SECS 300

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sends a segment from client:sport to dvipa:80 and returns the node it went
 * to: 1 when delivered locally, the outer destination's last byte when
 * encapsulated, -1 otherwise. */
static int aff_send(const char *client, const char *dvipa, uint16_t sport, uint8_t flags,
                    struct result *r, struct pkt *in)
{
	struct seg s = {.family = strchr(dvipa, ':') ? 6 : 4,
	                .src = client,
	                .dst = dvipa,
	                .sport = sport,
	                .dport = 80,
	                .flags = flags,
	                .id = 0x4321};

	frame(in, &s);
	run(DP_PROG_INGRESS, in, r);
	if (r->act == TC_ACT_OK && r->delta[DP_CNT_TO_LOCAL] == 1)
		return 1;
	if (r->act == TC_ACT_REDIRECT && s.family == 4 && r->out.len > 34)
		return r->out.b[14 + 19];
	if (r->act == TC_ACT_REDIRECT && s.family == 6 && r->out.len > 54)
		return r->out.b[14 + 39];
	return -1;
}

struct find_affinity {
	struct ipaddr client, dvipa;
	struct dp_affinity_info found;
	int n;
};

static int find_affinity_cb(const struct dp_affinity_info *a, void *data)
{
	struct find_affinity *fa = data;

	if (ipaddr_equal(&a->client, &fa->client) && ipaddr_equal(&a->dvipa, &fa->dvipa) &&
	    a->dvipa_port == 80) {
		fa->found = *a;
		fa->n++;
	}
	return 0;
}

/* The client's entry for dvipa:80, or an entry with node 0 and n 0. */
static struct find_affinity affinity_of(const char *client, const char *dvipa)
{
	struct find_affinity fa = {.client = ip(client), .dvipa = ip(dvipa)};

	if (dp_affinity_foreach(dp, find_affinity_cb, &fa) < 0)
		fa.n = -1;
	return fa;
}

/* Makes the client's entry say: target node (plex address addr), open
 * connections, last one ended ago_s seconds ago. */
static int affinity_age(const char *client, const char *dvipa, uint32_t node, const char *addr,
                        uint32_t open, uint64_t ago_s)
{
	struct dp_affinity_info a = {.client = ip(client),
	                             .dvipa = ip(dvipa),
	                             .dvipa_port = 80,
	                             .target = target(node, addr, node == 1),
	                             .open = open,
	                             .last_end_ns = mono_ns() - ago_s * 1000000000ull};

	return dp_affinity_set(dp, &a);
}

static int aff_service(bool n3_ready, bool n3_slot)
{
	struct ipaddr dvipa = ip(AFF4);
	struct dp_service_target t[] = {target(2, T2_4, false), target(3, T3_4, false),
	                                target(1, PLEX4, true)};
	static const uint8_t all[] = {0, 1, 2}, without_n3[] = {0, 2};
	int err;

	t[1].ready = n3_ready;
	err = dp_service_set(dp, &dvipa, 80, t, 3, n3_slot ? all : without_n3, n3_slot ? 3 : 2);
	return err ?: dp_service_set_affinity(dp, &dvipa, 80, AFF_SECS);
}

static void t_affinity_holds(void)
{
	struct ipaddr dvipa = ip(AFF4);
	struct find_affinity fa;
	struct pkt in, want;
	struct result r;

	CHECK_INT(aff_service(true, true), 0);
	/* The first SYN is dispatched (slot 0: n2) and starts the affinity. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3000, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_NEW, 1, DP_CNT_ENCAP, 1);
	fa = affinity_of(CLIENT4, AFF4);
	CHECK_INT(fa.n, 1);
	CHECK_INT(fa.found.target.node_id, 2);
	CHECK_INT(fa.found.open, 1);
	CHECK_INT(fa.found.last_end_ns, 0);
	/* The round robin would give n3: the affinity gives n2, byte-exact. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3001, TH_SYN, &r, &in), 2);
	encapsulated(&want, &in, T2_4, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 2);
	/* A hit does not move the round robin: another client gets slot 1. */
	CHECK_INT(aff_send("10.1.0.6", AFF4, 3000, TH_SYN, &r, &in), 3);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_NEW, 1, DP_CNT_ENCAP, 1);
	/* Packets of known connections are not affinity's business. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3000, TH_ACK, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 2);

	/* A FIN ends one connection, once: its retransmission counts nothing. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3000, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FLOW_CLOSING, 1, DP_CNT_ENCAP, 1);
	fa = affinity_of(CLIENT4, AFF4);
	CHECK_INT(fa.found.open, 1);
	CHECK(fa.found.last_end_ns > 0 && fa.found.last_end_ns <= mono_ns());
	CHECK_INT(aff_send(CLIENT4, AFF4, 3000, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 1);
	/* A RST ends the other; then a FIN on it changes nothing. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3001, TH_RST, &r, &in), 2);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 0);
	CHECK_INT(aff_send(CLIENT4, AFF4, 3001, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 0);

	/* No connection open, the last ended a moment ago: it holds. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3002, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 1);
	/* The client reuses a closed 4-tuple: a new connection, counted. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3000, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_REUSED, 1, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1,
	               DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 2);
	/* A replace of the service keeps its affinity time. */
	CHECK_INT(dp_service_set(dp, &dvipa, 80,
	                         (struct dp_service_target[]){target(2, T2_4, false),
	                                                      target(3, T3_4, false),
	                                                      target(1, PLEX4, true)},
	                         3, NULL, 0),
	          0);
	CHECK_INT(aff_send(CLIENT4, AFF4, 3003, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_ENCAP, 1);
}

static void t_affinity_expires(void)
{
	struct result r;
	struct pkt in;

	CHECK_INT(aff_service(true, true), 0);
	/* The last connection ended AFF_SECS - 1 s ago: it still holds. */
	CHECK_INT(affinity_age(CLIENT4, AFF4, 2, T2_4, 0, AFF_SECS - 1), 0);
	CHECK_INT(aff_send(CLIENT4, AFF4, 3100, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_ENCAP, 1);
	/* AFF_SECS + 1 s ago: expired. The round robin is at slot 2 (two
	 * dispatches so far on this service): n1, delivered locally. */
	CHECK_INT(affinity_age(CLIENT4, AFF4, 2, T2_4, 0, AFF_SECS + 1), 0);
	CHECK_INT(aff_send(CLIENT4, AFF4, 3101, TH_SYN, &r, &in), 1);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_EXPIRED, 1, DP_CNT_AFFINITY_NEW, 1,
	               DP_CNT_TO_LOCAL, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.target.node_id, 1);
	CHECK(affinity_of(CLIENT4, AFF4).found.target.is_local);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 1);
	/* And the new one holds. */
	CHECK_INT(aff_send(CLIENT4, AFF4, 3102, TH_SYN, &r, &in), 1);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_TO_LOCAL, 1);
	CHECK_INT(affinity_of(CLIENT4, AFF4).found.open, 2);
	/* The dispatch may pick the expired entry's target again: the entry
	 * restarts, counted as new. Slot 0 is n2. */
	CHECK_INT(affinity_age("10.1.0.8", AFF4, 2, T2_4, 0, AFF_SECS + 1), 0);
	CHECK_INT(aff_send("10.1.0.8", AFF4, 3100, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_EXPIRED, 1, DP_CNT_AFFINITY_NEW, 1,
	               DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of("10.1.0.8", AFF4).found.open, 1);
}

static void t_affinity_open_keeps(void)
{
	struct result r;
	struct pkt in;
	int node;

	CHECK_INT(aff_service(true, true), 0);
	node = aff_send("10.1.0.9", AFF4, 3200, TH_SYN, &r, &in);
	CHECK(node >= 1);
	/* Its connection is open and the last one ended long ago: the open
	 * connection keeps the affinity however old that end is. */
	CHECK_INT(affinity_age("10.1.0.9", AFF4, (uint32_t)node,
	                       node == 1   ? PLEX4
	                       : node == 2 ? T2_4
	                                   : T3_4,
	                       1, 10 * AFF_SECS),
	          0);
	CHECK_INT(aff_send("10.1.0.9", AFF4, 3201, TH_SYN, &r, &in), node);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_HIT], 1);
	CHECK_INT(affinity_of("10.1.0.9", AFF4).found.open, 2);
	/* Both end: the time starts now, so it still holds. */
	aff_send("10.1.0.9", AFF4, 3200, TH_FIN | TH_ACK, &r, &in);
	aff_send("10.1.0.9", AFF4, 3201, TH_FIN | TH_ACK, &r, &in);
	CHECK_INT(affinity_of("10.1.0.9", AFF4).found.open, 0);
	CHECK_INT(aff_send("10.1.0.9", AFF4, 3202, TH_SYN, &r, &in), node);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_HIT], 1);
}

static void t_affinity_not_ready(void)
{
	struct find_affinity fa;
	struct result r;
	struct pkt in;
	int node;

	/* A client sticks to n3. */
	CHECK_INT(aff_service(true, true), 0);
	CHECK_INT(affinity_age("10.1.0.10", AFF4, 3, T3_4, 0, 1), 0);
	CHECK_INT(aff_send("10.1.0.10", AFF4, 3300, TH_SYN, &r, &in), 3);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_HIT], 1);
	CHECK_INT(affinity_of("10.1.0.10", AFF4).found.open, 1);
	/* n3 ready but without slots (WEIGHTEDACTIVE far ahead, a HOTSTANDBY
	 * backup): it keeps its client. */
	CHECK_INT(aff_service(true, false), 0);
	CHECK_INT(aff_send("10.1.0.10", AFF4, 3301, TH_SYN, &r, &in), 3);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_ENCAP, 1);
	/* n3 keeps a slot but is not ready (unhealthy: its slot only probes
	 * it): the client does not stay. */
	CHECK_INT(aff_service(false, true), 0);
	node = aff_send("10.1.0.10", AFF4, 3310, TH_SYN, &r, &in);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_NOT_READY], 1);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_HIT], 0);
	CHECK_INT(aff_send("10.1.0.10", AFF4, 3310, TH_RST, &r, &in), node);
	CHECK_INT(aff_service(true, true), 0);
	CHECK_INT(affinity_age("10.1.0.10", AFF4, 3, T3_4, 0, 1), 0);
	/* n3 no longer ready (or quiesced): the client is dispatched anew,
	 * its connections still open on n3 included. */
	CHECK_INT(aff_service(false, false), 0);
	node = aff_send("10.1.0.10", AFF4, 3302, TH_SYN, &r, &in);
	CHECK(node == 1 || node == 2);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_NOT_READY], 1);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_NEW], 1);
	fa = affinity_of("10.1.0.10", AFF4);
	CHECK_INT(fa.found.target.node_id, node);
	CHECK_INT(fa.found.open, 1);
	/* The connections to n3 end: not counted against the new target. */
	CHECK_INT(aff_send("10.1.0.10", AFF4, 3300, TH_FIN | TH_ACK, &r, &in), 3);
	CHECK_INT(aff_send("10.1.0.10", AFF4, 3301, TH_RST, &r, &in), 3);
	CHECK_INT(affinity_of("10.1.0.10", AFF4).found.open, 1);
	CHECK_INT(aff_send("10.1.0.10", AFF4, 3303, TH_SYN, &r, &in), node);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_HIT], 1);
	CHECK_INT(affinity_of("10.1.0.10", AFF4).found.open, 2);
	/* A target that left the service altogether is not ready either. */
	CHECK_INT(affinity_age("10.1.0.11", AFF4, 4, T4_4, 3, 0), 0);
	node = aff_send("10.1.0.11", AFF4, 3300, TH_SYN, &r, &in);
	CHECK(node == 1 || node == 2);
	CHECK_INT(r.delta[DP_CNT_AFFINITY_NOT_READY], 1);
}

static void t_affinity_ipv6(void)
{
	struct ipaddr dvipa = ip(AFF6);
	struct dp_service_target t[] = {target(2, T2_6, false), target(3, T3_6, false)};
	struct pkt in, want;
	struct result r;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t, 2, NULL, 0), 0);
	CHECK_INT(dp_service_set_affinity(dp, &dvipa, 80, AFF_SECS), 0);
	CHECK_INT(aff_send(CLIENT6, AFF6, 3400, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_NEW, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(aff_send(CLIENT6, AFF6, 3401, TH_SYN, &r, &in), 2);
	encapsulated(&want, &in, T2_6, mac_t2);
	CHECK_BYTES(&r.out, &want);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(affinity_of(CLIENT6, AFF6).found.open, 2);
	CHECK_INT(aff_send("fd01::6", AFF6, 3400, TH_SYN, &r, &in), 3);
	/* Without TIMEDAFFINITY the round robin alone, nothing counted. */
	CHECK_INT(dp_service_set_affinity(dp, &dvipa, 80, 0), 0);
	CHECK_INT(aff_send(CLIENT6, AFF6, 3402, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);
	CHECK_INT(aff_send(CLIENT6, AFF6, 3403, TH_SYN, &r, &in), 3);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_ENCAP, 1);
	/* Its flows made under the affinity still leave the count. */
	aff_send(CLIENT6, AFF6, 3400, TH_FIN | TH_ACK, &r, &in);
	CHECK_INT(affinity_of(CLIENT6, AFF6).found.open, 1);
}

static void t_affinity_loader(void)
{
	struct ipaddr d4 = ip(AFF4), d6 = ip(AFF6), none = ip("10.0.0.31");
	struct dp_affinity_info bad = {.client = ip(CLIENT6), .dvipa = d4, .dvipa_port = 80};
	size_t n = 0;

	CHECK_INT(dp_service_set_affinity(dp, &none, 80, 10), -ENOENT);
	CHECK_INT(dp_affinity_set(dp, &bad), -EINVAL);
	bad.client = ip(CLIENT4);
	bad.target = target(2, T2_6, false);
	CHECK_INT(dp_affinity_set(dp, &bad), -EAFNOSUPPORT);
	/* Clearing one service leaves the others' entries. */
	CHECK(affinity_of(CLIENT4, AFF4).n == 1 && affinity_of(CLIENT6, AFF6).n == 1);
	CHECK_INT(dp_affinity_clear(dp, &d6, 81, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(dp_affinity_clear(dp, &d6, 80, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(affinity_of(CLIENT6, AFF6).n, 0);
	CHECK_INT(affinity_of(CLIENT4, AFF4).n, 1);
	CHECK_INT(dp_affinity_clear(dp, &none, 0, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(affinity_of(CLIENT4, AFF4).n, 1);
	/* Port 0: every port of the DVIPA (six clients of AFF4:80, and one
	 * made by hand on port 81). */
	bad.target = target(2, T2_4, false);
	bad.dvipa_port = 81;
	CHECK_INT(dp_affinity_set(dp, &bad), 0);
	CHECK_INT(dp_affinity_clear(dp, &d4, 0, &n), 0);
	CHECK_INT(n, 7);
	CHECK_INT(affinity_of(CLIENT4, AFF4).n, 0);
	/* NULL: everything. */
	CHECK_INT(dp_affinity_set(dp, &bad), 0);
	bad.client = ip(CLIENT6);
	bad.dvipa = d6;
	bad.target = target(2, T2_6, false);
	CHECK_INT(dp_affinity_set(dp, &bad), 0);
	CHECK_INT(dp_affinity_clear(dp, NULL, 0, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(dp_affinity_clear(dp, NULL, 0, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(dp_service_remove(dp, &d4, 80), 0);
	CHECK_INT(dp_service_remove(dp, &d6, 80), 0);
}

/* The flow of client:port, or one with n 0. */
static struct find_flow flow_from(const char *client, uint16_t port)
{
	struct find_flow ff = {.client = client, .port = port};

	if (dp_flow_foreach(dp, find_flow_cb, &ff) < 0)
		ff.n = -1;
	return ff;
}

#define AFFG "10.0.0.32" /* n2 alone, TIMEDAFFINITY 300 */

/* The client's entry is deleted and made anew for the same node while a flow
 * counted in the old one is open: that flow's close leaves the new entry. */
static void t_affinity_generation(void)
{
	struct ipaddr dvipa = ip(AFFG);
	struct dp_service_target t2[] = {target(2, T2_4, false)};
	struct dp_service_target t3 = target(3, T3_4, false);
	const char *c = "10.1.0.40";
	struct find_affinity fa;
	struct find_flow ff;
	struct dp_flow_info set;
	struct result r;
	struct pkt in;
	uint32_t g1, g2;
	size_t n = 0;

	CHECK_INT(dp_service_set(dp, &dvipa, 80, t2, 1, NULL, 0), 0);
	CHECK_INT(dp_service_set_affinity(dp, &dvipa, 80, AFF_SECS), 0);
	CHECK_INT(aff_send(c, AFFG, 3500, TH_SYN, &r, &in), 2);
	fa = affinity_of(c, AFFG);
	CHECK_INT(fa.found.open, 1);
	g1 = fa.found.gen;
	CHECK(g1 != 0);
	ff = flow_from(c, 3500);
	CHECK_INT(ff.n, 1);
	CHECK(ff.found.affinity);
	CHECK_INT(ff.found.affinity_gen, g1);

	/* TIMEDAFFINITY off (entries cleared) and on again; or the LRU. */
	CHECK_INT(dp_affinity_clear(dp, &dvipa, 80, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(aff_send(c, AFFG, 3501, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_NEW, 1, DP_CNT_ENCAP, 1);
	fa = affinity_of(c, AFFG);
	g2 = fa.found.gen;
	CHECK(g2 != 0 && g2 != g1);
	CHECK_INT(fa.found.target.node_id, 2);
	CHECK_INT(fa.found.open, 1);
	CHECK_INT(flow_from(c, 3501).found.affinity_gen, g2);
	/* The old flow closes: the new entry still counts its connection. */
	CHECK_INT(aff_send(c, AFFG, 3500, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_HIT, 1, DP_CNT_FLOW_CLOSING, 1, DP_CNT_ENCAP, 1);
	fa = affinity_of(c, AFFG);
	CHECK_INT(fa.found.open, 1);
	CHECK_INT(fa.found.last_end_ns, 0);
	CHECK_INT(fa.found.gen, g2);
	/* Its own flow does leave it. */
	CHECK_INT(aff_send(c, AFFG, 3501, TH_RST, &r, &in), 2);
	fa = affinity_of(c, AFFG);
	CHECK_INT(fa.found.open, 0);
	CHECK(fa.found.last_end_ns > 0);

	/* A reused 4-tuple counts again, under the entry it joins now. */
	CHECK_INT(aff_send(c, AFFG, 3500, TH_SYN, &r, &in), 2);
	CHECK_COUNTERS(&r, DP_CNT_FLOW_REUSED, 1, DP_CNT_FLOW_NEW, 1, DP_CNT_AFFINITY_HIT, 1,
	               DP_CNT_ENCAP, 1);
	CHECK_INT(flow_from(c, 3500).found.affinity_gen, g2);
	CHECK_INT(affinity_of(c, AFFG).found.open, 1);
	CHECK_INT(aff_send(c, AFFG, 3500, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_INT(affinity_of(c, AFFG).found.open, 0);

	/* The flag and the gen round-trip through the loader: a flow handed
	 * over (rebuilt from a report) and the entry that counts it. */
	set = flow_from(c, 3501).found;
	set.client_port = 3502;
	set.closing = false;
	CHECK_INT(dp_flow_set(dp, &set), 0);
	ff = flow_from(c, 3502);
	CHECK(ff.found.affinity && !ff.found.closing);
	CHECK_INT(ff.found.affinity_gen, g2);
	fa = affinity_of(c, AFFG);
	fa.found.open = 1;
	fa.found.gen = 0; /* an edit keeps the entry's gen */
	CHECK_INT(dp_affinity_set(dp, &fa.found), 0);
	CHECK_INT(affinity_of(c, AFFG).found.gen, g2);
	CHECK_INT(aff_send(c, AFFG, 3502, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_INT(affinity_of(c, AFFG).found.open, 0);
	/* Not counted: its close leaves the entry alone. */
	set.client_port = 3503;
	set.affinity = false;
	CHECK_INT(dp_flow_set(dp, &set), 0);
	ff = flow_from(c, 3503);
	CHECK(!ff.found.affinity);
	CHECK_INT(ff.found.affinity_gen, 0);
	fa.found.gen = 77;
	CHECK_INT(dp_affinity_set(dp, &fa.found), 0);
	CHECK_INT(affinity_of(c, AFFG).found.gen, 77);
	CHECK_INT(aff_send(c, AFFG, 3503, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_INT(affinity_of(c, AFFG).found.open, 1);
	/* A flow of the old gen neither. */
	set.client_port = 3504;
	set.affinity = true;
	set.affinity_gen = g2;
	CHECK_INT(dp_flow_set(dp, &set), 0);
	CHECK_INT(aff_send(c, AFFG, 3504, TH_FIN | TH_ACK, &r, &in), 2);
	CHECK_INT(affinity_of(c, AFFG).found.open, 1);

	/* A flow moved to another target still leaves the entry that counted
	 * it; one deleted before its close leaves it too. */
	set.client_port = 3505;
	set.affinity_gen = 77;
	CHECK_INT(dp_flow_set(dp, &set), 0);
	fa.found.open = 2;
	CHECK_INT(dp_affinity_set(dp, &fa.found), 0);
	CHECK_INT(dp_flows_retarget(dp, 2, &t3, &n), 0);
	CHECK_INT(aff_send(c, AFFG, 3505, TH_FIN | TH_ACK, &r, &in), 3);
	CHECK_INT(affinity_of(c, AFFG).found.open, 1);
	set.client_port = 3506;
	CHECK_INT(dp_flow_set(dp, &set), 0);
	CHECK_INT(dp_flows_retarget(dp, 2, NULL, &n), 0);
	CHECK(n >= 1);
	CHECK_INT(flow_from(c, 3506).n, 0);
	fa = affinity_of(c, AFFG);
	CHECK_INT(fa.found.open, 0);
	CHECK(fa.found.last_end_ns > 0 && fa.found.last_end_ns <= mono_ns());
	CHECK_INT(dp_flows_retarget(dp, 3, NULL, &n), 0);
	CHECK_INT(dp_affinity_clear(dp, &dvipa, 0, &n), 0);
	CHECK_INT(dp_service_remove(dp, &dvipa, 80), 0);
}

/* ---- loader ----------------------------------------------------------------- */

static void t_loader_checks(void)
{
	struct ipaddr d4 = ip(DVIPA4), d6 = ip(DVIPA6);
	struct dp_service_target t6[] = {target(2, T2_6, false)};
	struct dp_service_target t4[] = {target(2, T2_4, false)};
	uint8_t bad_slot[1] = {1};

	CHECK_INT(dp_service_set(dp, &d4, 80, t6, 1, NULL, 0), -EAFNOSUPPORT);
	CHECK_INT(dp_service_set(dp, &d6, 80, t4, 1, NULL, 0), -EAFNOSUPPORT);
	CHECK_INT(dp_service_set(dp, &d4, 80, t4, 1, bad_slot, 1), -EINVAL);
	CHECK_INT(dp_service_set(dp, &d4, 80, t4, DP_MAX_TARGETS + 1, NULL, 0), -EINVAL);
	CHECK_INT(dp_set_node(dp, 1, &d6, NULL), -EINVAL);
	CHECK_INT(dp_mss_for_mtu(IPADDR_V4, 1500), 1440);
	CHECK_INT(dp_mss_for_mtu(IPADDR_V6, 1500), 1400);
	CHECK_INT(dp_mss_for_mtu(IPADDR_V4, 9000), 8940);
	CHECK_INT(dp_mss_for_mtu(IPADDR_V6, 100), 0);
	for (unsigned i = 0; i < DP_CNT_MAX; i++)
		CHECK(dp_counter_name(i) && dp_counter_help(i));
	CHECK(dp_counter_name(DP_CNT_MAX) == NULL);
	CHECK(strcmp(dp_counter_name(DP_CNT_DROP_NOT_MEMBER), "drop_not_member") == 0);
}

static void t_attach_detach(void)
{
	struct dp *other = NULL;
	char out[4096];
	FILE *f;
	size_t n;

	CHECK_INT(dp_attach(dp, ifindex), 0);
	CHECK_INT(dp_attach(dp, ifindex), 0); /* again: replaces */
	CHECK_INT(dp_attach(dp, (int)if_nametoindex("lo")), -EBUSY);
	/* Flows are rewritten whole: not under a running program. */
	CHECK_INT(dp_flows_retarget(dp, 2, NULL, NULL), -EBUSY);
	/* A second loader (a restarted daemon) replaces the first's programs. */
	CHECK_INT(dp_open(NULL, &other), 0);
	CHECK_INT(dp_attach(other, ifindex), 0);
	dp_free(other); /* stays attached */
	f = popen("tc filter show dev dp0 ingress; tc filter show dev dp0 egress", "r");
	CHECK(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	pclose(f);
	out[n] = 0;
	CHECK(strstr(out, "dp_ingress") && strstr(out, "dp_egress"));
	/* One filter each way. */
	CHECK(strstr(out, "handle 0xd1fa"));
	CHECK(strstr(strstr(out, "handle 0xd1fa") + 1, "handle 0xd1fa"));
	CHECK(!strstr(strstr(strstr(out, "handle 0xd1fa") + 1, "handle 0xd1fa") + 1,
	              "handle 0xd1fa"));
	CHECK_INT(dp_detach_ifindex(ifindex), 0);
	CHECK_INT(dp_detach_ifindex(ifindex), 0);
	CHECK_INT(dp_detach(dp), 0);
	CHECK_INT(sh("tc qdisc show dev dp0 | grep -q clsact"), -1);
	CHECK_INT(dp_detach_ifindex((int)if_nametoindex("dp1")), 0); /* never attached */
}

static void t_pinned_maps(void)
{
	char dir[] = "/tmp/dvipa-bpf-test.XXXXXX", pins[64];
	struct dp_open_opts o = {.pin_dir = pins};
	uint64_t c1[DP_CNT_MAX], c2[DP_CNT_MAX];
	struct dp *a = NULL, *b = NULL;
	struct ipaddr d4 = ip(DVIPA4);
	struct dp_service_target t2[] = {target(2, T2_4, false)};
	struct dp_flow_info fl = {.client = ip(CLIENT4),
	                          .dvipa = d4,
	                          .client_port = 1,
	                          .dvipa_port = 80,
	                          .target = target(2, T2_4, false)};
	struct find_flow ff = {.client = CLIENT4, .port = 1};

	/* A private bpffs: a restarted loader finds the maps there. */
	CHECK(mkdtemp(dir));
	snprintf(pins, sizeof(pins), "%s/pins", dir);
	if (mount("bpf", dir, "bpf", 0, NULL) < 0) {
		fail("mount bpffs: %s", strerror(errno));
		rmdir(dir);
		return;
	}
	CHECK_INT(dp_open(&o, &a), 0);
	CHECK_INT(dp_service_set(a, &d4, 80, t2, 1, NULL, 0), 0);
	CHECK_INT(dp_flow_set(a, &fl), 0);
	CHECK_INT(dp_counters_read(a, c1, DP_CNT_MAX), 0);
	dp_free(a);
	CHECK_INT(dp_open(&o, &b), 0);
	CHECK_INT(dp_flow_foreach(b, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 1);
	CHECK_INT(dp_counters_read(b, c2, DP_CNT_MAX), 0);
	dp_free(b);
	b = NULL;
	/* Reset: empty maps again. */
	o.reset_pins = true;
	ff.n = 0;
	CHECK_INT(dp_open(&o, &b), 0);
	CHECK_INT(dp_flow_foreach(b, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 0);
	dp_free(b);
	/* Another flow-table size is another layout. */
	o.reset_pins = false;
	o.flow_max = 1024;
	b = NULL;
	CHECK_INT(dp_open(&o, &b), -EINVAL);
	CHECK(b == NULL);
	/* The flow table alone (what dvipad pins): the connections stay,
	 * the services start empty. */
	o.flow_max = 0;
	o.reset_pins = true;
	o.pin_flows_only = true;
	CHECK_INT(dp_open(&o, &a), 0);
	CHECK_INT(dp_service_set(a, &d4, 80, t2, 1, NULL, 0), 0);
	CHECK_INT(dp_flow_set(a, &fl), 0);
	dp_free(a);
	o.reset_pins = false;
	ff.n = 0;
	CHECK_INT(dp_open(&o, &b), 0);
	CHECK_INT(dp_flow_foreach(b, find_flow_cb, &ff), 0);
	CHECK_INT(ff.n, 1);
	CHECK_INT(dp_service_set_flags(b, &d4, 80, 0), -ENOENT);
	dp_free(b);
	/* An orderly stop removes the pins. */
	CHECK_INT(dp_unpin(pins), 0);
	CHECK_INT(access(pins, F_OK), -1);
	CHECK_INT(dp_unpin(pins), 0);
	CHECK_INT(umount(dir), 0);
	CHECK_INT(rmdir(dir), 0);
}

/* ---- runner ----------------------------------------------------------------- */

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* In order: later cases use flows earlier ones made. */
static const struct test_case cases[] = {
    {"syn4_encap", t_syn4_encap},
    {"flow_listed", t_flow_listed},
    {"ack4_flow_hit", t_ack4_flow_hit},
    {"ack4_no_flow", t_ack4_no_flow},
    {"takeover_flags", t_takeover_flags},
    {"moving", t_moving},
    {"not_a_service", t_not_a_service},
    {"syn_no_target", t_syn_no_target},
    {"round_robin", t_round_robin},
    {"local_target", t_local_target},
    {"direct4", t_direct4},
    {"direct6", t_direct6},
    {"direct_ttl", t_direct_ttl},
    {"direct_follows", t_direct_follows},
    {"not_for_us", t_not_for_us},
    {"ipv4_options", t_ipv4_options},
    {"fragments", t_fragments},
    {"malformed", t_malformed},
    {"truncated", t_truncated},
    {"truncated_encap", t_truncated_encap},
    {"flow_closing_and_reuse", t_flow_closing_and_reuse},
    {"port_block", t_port_block},
    {"no_neigh", t_no_neigh},
    {"fwd_disabled", t_fwd_disabled},
    {"no_route", t_no_route},
    {"too_big", t_too_big},
    {"syn6_encap", t_syn6_encap},
    {"ipv6_ext_headers", t_ipv6_ext_headers},
    {"retarget", t_retarget},
    {"handshake_established", t_handshake_established},
    {"handshake_syn_retrans", t_handshake_syn_retrans},
    {"decap4", t_decap4},
    {"decap6", t_decap6},
    {"decap_not_member", t_decap_not_member},
    {"encap_not_ours", t_encap_not_ours},
    {"mss_clamp", t_mss_clamp},
    {"mss_option_walk", t_mss_option_walk},
    {"affinity_holds", t_affinity_holds},
    {"affinity_expires", t_affinity_expires},
    {"affinity_open_keeps", t_affinity_open_keeps},
    {"affinity_not_ready", t_affinity_not_ready},
    {"affinity_ipv6", t_affinity_ipv6},
    {"affinity_loader", t_affinity_loader},
    {"affinity_generation", t_affinity_generation},
    {"loader_checks", t_loader_checks},
    {"attach_detach", t_attach_detach},
    {"pinned_maps", t_pinned_maps},
};

/* libbpf's messages (kernel extack notes of expected failures) only with
 * DP_TEST_VERBOSE=1. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!getenv("DP_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (network namespace, BPF)\n");
		return 0;
	}
	if (setup_netns() < 0)
		return 1;
	err = dp_open(NULL, &dp);
	if (err < 0) {
		printf("Bail out! cannot load the data plane: %s\n", strerror(-err));
		return 1;
	}
	if (setup_maps() < 0)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (filter && !strstr(cases[i].name, filter))
			continue;
		case_failed = 0;
		cases[i].fn();
		n_run++;
		n_failed += case_failed;
		printf("%sok %d - %s\n", case_failed ? "not " : "", n_run, cases[i].name);
	}
	printf("1..%d\n", n_run);
	dp_free(dp);
	return n_failed ? 1 : 0;
}
