/* BASEWLM and SERVERWLM: the workload figures (core/wlm.c) -- parsing
 * /proc/stat, spare capacity under cgroup limits, server efficiency,
 * quantizing and the steps worth announcing, weights --, the cgroup file
 * parsers (core/cgroup.c), the WLM record (core/wire_wlm.c inside the
 * distributor's section: round trips, every truncation and corruption,
 * every malformed field), dispatch tables and the derived view. */
#include "core/cgroup.h"
#include "core/config.h"
#include "core/dist.h"
#include "core/wire_dist.h"
#include "core/wire_wlm.h"
#include "core/wlm.h"
#include "tests/unit/dist_wire_check.h"
#include "tests/unit/unit.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>

static struct ipaddr tw_addr(const char *s)
{
	struct ipaddr a = {0};

	ipaddr_parse(s, &a);
	return a;
}

/* ---- measuring ---- */

static const char tw_stat[] = "cpu  400 10 200 1000 40 5 5 0 0 0\n"
                              "cpu0 100 5 100 500 20 0 5 0 0 0\n"
                              "cpu1 300 5 100 500 20 5 0 0 0 0\n"
                              "cpu2 1 2 3 4\n"
                              "intr 12345 0 0\n"
                              "ctxt 99\n";

TEST(wlm_parse_stat_counts_the_allowed_cpus)
{
	struct wlm_sample s = {0};
	uint8_t only1 = 0x02, only0and2 = 0x05, none = 0;

	CHECK_INT(wlm_parse_stat(tw_stat, NULL, 0, &s), 0);
	CHECK_INT(s.n_cpus, 3);
	CHECK_INT(s.idle, 520 + 520 + 4);
	CHECK_INT(s.total, 730 + 930 + 10);
	CHECK_INT(wlm_parse_stat(tw_stat, &only1, 1, &s), 0);
	CHECK_INT(s.n_cpus, 1);
	CHECK_INT(s.idle, 520);
	CHECK_INT(s.total, 930);
	/* An older kernel's four fields count too. */
	CHECK_INT(wlm_parse_stat(tw_stat, &only0and2, 1, &s), 0);
	CHECK_INT(s.n_cpus, 2);
	CHECK_INT(s.idle, 524);
	CHECK_INT(wlm_parse_stat(tw_stat, &none, 1, &s), -EINVAL);
	CHECK_INT(wlm_parse_stat("cpu  1 2 3 4\nintr 1\n", NULL, 0, &s), -EINVAL);
	CHECK_INT(wlm_parse_stat("", NULL, 0, &s), -EINVAL);
	CHECK_INT(wlm_parse_stat("cpu0 1 2\n", NULL, 0, &s), -EINVAL);
	/* A CPU past the mask is not allowed. */
	CHECK_INT(wlm_parse_stat("cpu9 1 2 3 4\n", &only1, 1, &s), -EINVAL);
}

TEST(wlm_spare_host_and_cgroup_limits)
{
	struct wlm_sample a = {.idle = 1000, .total = 4000, .n_cpus = 2};
	struct wlm_sample b = {.idle = 1150, .total = 4400, .n_cpus = 2};

	/* 150 of 400 ticks idle on 2 CPUs: 0.75 CPU. */
	CHECK_INT(wlm_spare(&a, &b, 2000), 750);
	/* A quota of 40 % of a CPU, of which 2 s used 0.1 s: 0.35 CPU. */
	a.n_limits = b.n_limits = 1;
	a.limits[0] = (struct wlm_limit){40000, 100000, true, 5000000000ull};
	b.limits[0] = (struct wlm_limit){40000, 100000, true, 5100000000ull};
	CHECK_INT(wlm_spare(&a, &b, 2000), 350);
	/* An outer level with less room left wins. */
	a.n_limits = b.n_limits = 2;
	a.limits[1] = (struct wlm_limit){100000, 100000, true, 0};
	b.limits[1] = (struct wlm_limit){100000, 100000, true, 1800000000ull};
	CHECK_INT(wlm_spare(&a, &b, 2000), 100);
	/* Used up (or more: bursts): nothing spare. */
	b.limits[1].usage_ns = 2500000000ull;
	CHECK_INT(wlm_spare(&a, &b, 2000), 0);
	/* Usage unknown: the quota bounds it. */
	a.n_limits = b.n_limits = 1;
	a.limits[0].has_usage = false;
	CHECK_INT(wlm_spare(&a, &b, 2000), 400);
	/* The host has less than the quota. */
	b.idle = 1050;
	CHECK_INT(wlm_spare(&a, &b, 2000), 250);
	/* No tick passed: the host is not known, the limits still count. */
	a.n_limits = b.n_limits = 0;
	CHECK_INT(wlm_spare(&a, &a, 0), 2000);
	/* A counter that went back (a reset) is not a negative figure. */
	b.idle = 900;
	CHECK_INT(wlm_spare(&a, &b, 2000), 2000);
	/* A huge quota does not overflow. */
	a.n_limits = b.n_limits = 1;
	a.limits[0] = (struct wlm_limit){UINT64_MAX / 10, 1, false, 0};
	b.limits[0] = a.limits[0];
	b.idle = 1150;
	CHECK_INT(wlm_spare(&a, &b, 2000), 750);
}

TEST(wlm_efficiency_from_queue_and_drops)
{
	CHECK_INT(wlm_efficiency(0, 0, 0, 2000), 100);
	CHECK_INT(wlm_efficiency(0, 512, 0, 2000), 100);
	CHECK_INT(wlm_efficiency(128, 512, 0, 2000), 75);
	CHECK_INT(wlm_efficiency(8, 8, 0, 2000), 0);
	CHECK_INT(wlm_efficiency(9, 8, 0, 2000), 0);
	/* Two drops in two seconds: one a second halves it. */
	CHECK_INT(wlm_efficiency(0, 8, 2, 2000), 50);
	CHECK_INT(wlm_efficiency(0, 8, 6, 2000), 25);
	CHECK_INT(wlm_efficiency(4, 8, 2, 2000), 25);
	CHECK_INT(wlm_efficiency(0, 8, 1, 0), 0);
	CHECK_INT(wlm_efficiency(0, 0, UINT64_MAX, 2000), 0);
	CHECK_INT(wlm_efficiency(UINT64_MAX / 2, UINT64_MAX, 0, 2000), 50);
}

/* ---- reporting ---- */

TEST(wlm_quantize_and_changed)
{
	static const struct {
		uint32_t in, out;
	} caps[] = {{0, 0},
	            {4, 0},
	            {5, 10},
	            {47, 50},
	            {994, 990},
	            {995, 1000},
	            {1049, 1000},
	            {1050, 1100},
	            {9949, 9900},
	            {9950, 10000},
	            {12345, 12000},
	            {WLM_CAPACITY_MAX, 16777000},
	            {UINT32_MAX, 16777000}};
	static const struct {
		uint32_t reported, now;
		bool changed;
	} steps[] = {{100, 100, false},   {100, 110, false},  {100, 120, true},
	             {100, 80, true},     {0, 10, false},     {0, 20, true},
	             {1000, 1100, false}, {1000, 1130, true}, {1000, 870, true},
	             {8000, 8900, false}, {8000, 9000, true}};
	static const struct {
		unsigned reported, now;
		bool changed;
	} effs[] = {{100, 90, false}, {100, 80, true}, {100, 100, false},
	            {90, 100, true},  {50, 60, false}, {50, 30, true},
	            {10, 0, true},    {0, 10, false},  {0, 20, true}};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		CHECK_INT(wlm_quantize_capacity(caps[i].in), caps[i].out);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		CHECK_INT(wlm_capacity_changed(steps[i].reported, steps[i].now), steps[i].changed);
	for (size_t i = 0; i < sizeof(effs) / sizeof(effs[0]); i++)
		CHECK_INT(wlm_efficiency_changed(effs[i].reported, effs[i].now), effs[i].changed);
	CHECK_INT(wlm_quantize_efficiency(94), 90);
	CHECK_INT(wlm_quantize_efficiency(95), 100);
	CHECK_INT(wlm_quantize_efficiency(4), 0);
	CHECK_INT(wlm_quantize_efficiency(250), 100);
}

/* Noise of +-5 % around a level never reports twice; a real change does. */
TEST(wlm_noise_is_not_announced)
{
	unsigned long seed = unit_seed();
	uint32_t reported = wlm_quantize_capacity(400);
	unsigned changes = 0;

	for (int i = 0; i < 1000; i++) {
		uint32_t now;

		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		now = wlm_quantize_capacity(380 + (uint32_t)((seed >> 33) % 41));
		if (wlm_capacity_changed(reported, now)) {
			reported = now;
			changes++;
		}
	}
	CHECK_INT(changes, 0);
	CHECK(wlm_capacity_changed(reported, wlm_quantize_capacity(200)));
}

/* A flapping node announces less and less often; a quiet one at once. */
TEST(wlm_damping)
{
	struct wlm_damp d = {0};
	unsigned sent = 0;
	uint64_t t = 0, last = 0;

	/* The first change goes out at once. */
	CHECK(wlm_damp_allow(&d, t, true, false));
	/* Five minutes of a change wanted every interval. */
	for (t = 2000; t <= 300000; t += 2000) {
		if (wlm_damp_allow(&d, t, true, false)) {
			sent++;
			last = t;
		}
	}
	/* At 2, 6, 14 s, then every 16 s: 20 more in five minutes. */
	CHECK_INT(sent, 20);
	CHECK_INT(d.hold_ms, WLM_HOLD_MAX_MS);
	/* Urgent news does not wait. */
	CHECK(!wlm_damp_allow(&d, last + 2000, true, false));
	CHECK(wlm_damp_allow(&d, last + 2000, true, true));
	/* A few quiet intervals bring the hold back down to the minimum: the
	 * next change, once the last hold ran out, goes out at once. */
	t = last + 2000;
	for (int i = 1; i <= 4; i++)
		CHECK(!wlm_damp_allow(&d, t + 2000 * (uint64_t)i, false, false));
	CHECK_INT(d.hold_ms, WLM_HOLD_MIN_MS);
	CHECK(wlm_damp_allow(&d, t + WLM_HOLD_MAX_MS, true, false));
	CHECK(!wlm_damp_allow(&d, t + WLM_HOLD_MAX_MS + 1000, true, false));
	CHECK(wlm_damp_allow(&d, t + WLM_HOLD_MAX_MS + 2000, true, false));
}

/* ---- weighing ---- */

/* "R100 R200 -400 N": eligible (R) or not (-), then a capacity, or N for
 * no report; "eN" an efficiency. Weights out as "w w w". */
static const char *tw_weigh(const char *spec, bool server, bool *ret_applies, char *buf,
                            size_t size)
{
	struct wlm_weigh v[8];
	char tmp[128], *save = NULL;
	size_t n = 0, off = 0;

	snprintf(tmp, sizeof(tmp), "%s", spec);
	for (char *w = strtok_r(tmp, " ", &save); w && n < 8; w = strtok_r(NULL, " ", &save)) {
		struct wlm_weigh x = {.eligible = w[0] == 'R', .efficiency = 100};
		char *p = w + 1;

		if (*p == 'N') {
			p++;
		} else {
			x.reported = true;
			x.capacity = (uint32_t)strtoul(p, &p, 10);
		}
		if (*p == 'e')
			x.efficiency = (unsigned)strtoul(p + 1, &p, 10);
		v[n++] = x;
	}
	*ret_applies = wlm_weigh(v, n, server);
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u", i ? " " : "", v[i].weight);
	return buf;
}

TEST(wlm_weigh_cases)
{
	static const struct {
		const char *spec;
		bool server, applies;
		const char *weights;
	} cases[] = {
	    {"R100 R200 R400", false, true, "16 32 64"},
	    {"R90 R190 R390", false, true, "15 31 64"},
	    /* Nobody reported: round robin. */
	    {"RN RN RN", false, false, "0 0 0"},
	    /* Every eligible one has nothing spare: round robin. */
	    {"R0 R0", false, false, "0 0"},
	    /* A tiny capacity still gets a weight. */
	    {"R1 R10000", false, true, "1 64"},
	    /* A target without report gets the mean of the others. */
	    {"R100 R400 RN", false, true, "16 64 40"},
	    {"R0 R400 RN", false, true, "0 64 32"},
	    {"R0 R0 RN", false, false, "0 0 0"},
	    /* Targets that are not eligible do not set the scale. */
	    {"R100 -800 R200", false, true, "32 64 64"},
	    {"-100 -200", false, false, "32 64"},
	    /* SERVERWLM: the server's efficiency scales its node's weight. */
	    {"R100e100 R200e50 R400e0", true, true, "64 64 0"},
	    {"R100e100 R200e50 R400e0", false, true, "16 32 64"},
	    {"R400e0 R400e0", true, false, "0 0"},
	    {"R400e50 RNe50", true, true, "64 32"},
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool applies;
		const char *got =
		    tw_weigh(cases[i].spec, cases[i].server, &applies, buf, sizeof(buf));

		if (strcmp(got, cases[i].weights) != 0 || applies != cases[i].applies)
			unit_fail(__FILE__, __LINE__, "%s%s: got \"%s\" %d, want \"%s\" %d",
			          cases[i].spec, cases[i].server ? " (server)" : "", got, applies,
			          cases[i].weights, cases[i].applies);
	}
}

/* The dispatch table of BASEWLM / SERVERWLM follows the weights, and is
 * round robin while nobody reported. */
TEST(wlm_dispatch_tables)
{
	struct dist_target t[3];
	uint8_t slots[DIST_SLOTS];
	uint16_t n;
	unsigned count[3] = {0};

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < 3; i++) {
		t[i].node_id = (uint32_t)i + 1;
		t[i].ready = 1;
		t[i].efficiency = 100;
	}
	CHECK_INT(dist_slots(CONFIG_DIST_BASEWLM, t, 3, false, slots, &n), 0);
	CHECK_INT(n, 3);
	CHECK(!(t[0].flags & DIST_TARGET_WLM));
	for (size_t i = 0; i < 3; i++) {
		t[i].flags |= DIST_TARGET_CAPACITY;
		t[i].capacity = 100u << i;
	}
	CHECK_INT(dist_slots(CONFIG_DIST_BASEWLM, t, 3, false, slots, &n), 0);
	CHECK_INT(n, 7);
	CHECK_INT(t[0].slots, 1);
	CHECK_INT(t[1].slots, 2);
	CHECK_INT(t[2].slots, 4);
	CHECK_INT(t[2].wlm, 64);
	CHECK(t[0].flags & DIST_TARGET_WLM);
	/* Interleaved: every window of 7 holds 1:2:4. */
	for (size_t i = 0; i < 7; i++)
		count[slots[(i + 3) % n]]++;
	CHECK(count[0] == 1 && count[1] == 2 && count[2] == 4);
	/* SERVERWLM: the third's server keeps up at a quarter. */
	t[2].efficiency = 25;
	CHECK_INT(dist_slots(CONFIG_DIST_SERVERWLM, t, 3, false, slots, &n), 0);
	CHECK_INT(t[0].slots + t[1].slots + t[2].slots, n);
	CHECK_INT(t[0].wlm, 32);
	CHECK_INT(t[1].wlm, 64);
	CHECK_INT(t[2].wlm, 32);
	/* A quiesced target gets nothing; the scale is the others'. */
	t[1].flags |= DIST_TARGET_QUIESCED;
	CHECK_INT(dist_slots(CONFIG_DIST_BASEWLM, t, 3, false, slots, &n), 0);
	CHECK_INT(t[1].slots, 0);
	CHECK_INT(t[0].slots * 4, t[2].slots);
	/* Every eligible target busy: round robin among them. */
	t[0].capacity = t[2].capacity = 0;
	CHECK_INT(dist_slots(CONFIG_DIST_BASEWLM, t, 3, false, slots, &n), 0);
	CHECK_INT(n, 2);
	CHECK(!(t[0].flags & DIST_TARGET_WLM));
}

/* ---- cgroup files ---- */

TEST(cgroup_self_path_v1_and_v2)
{
	static const char v1[] = "12:pids:/user.slice\n"
	                         "4:cpu,cpuacct:/dvipa/n2\n"
	                         "3:name=systemd:/x\n"
	                         "0::/unified/path\n";
	static const char split[] = "2:cpuacct:/b\n1:cpu:/a:with:colons\n0::/\n";
	char buf[64];

	CHECK_INT(cgroup_self_path(v1, "cpu", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/dvipa/n2");
	CHECK_INT(cgroup_self_path(v1, "cpuacct", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/dvipa/n2");
	CHECK_INT(cgroup_self_path(v1, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/unified/path");
	CHECK_INT(cgroup_self_path(v1, "cpus", buf, sizeof(buf)), -ENOENT);
	CHECK_INT(cgroup_self_path(split, "cpu", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/a:with:colons");
	CHECK_INT(cgroup_self_path(split, "cpuacct", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/b");
	CHECK_INT(cgroup_self_path(split, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/");
	CHECK_INT(cgroup_self_path("1:cpu:/a\n", NULL, buf, sizeof(buf)), -ENOENT);
	CHECK_INT(cgroup_self_path("1:cpu:/toolong\n", "cpu", buf, 4), -ENAMETOOLONG);
	CHECK_INT(cgroup_self_path("garbage\n:\n1:cpu\n", "cpu", buf, sizeof(buf)), -ENOENT);
}

TEST(cgroup_dir_from_mountinfo)
{
	static const char mi[] =
	    "23 1 0:21 / /sys rw - sysfs sysfs rw\n"
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
	    "33 31 0:30 /sub /mnt/acct\\040dir rw master:2 - cgroup cgroup rw,cpuacct\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	    "42 31 0:39 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n";
	char buf[128];
	size_t top = 0;

	CHECK_INT(cgroup_dir(mi, "cpu", "/dvipa/n2", buf, sizeof(buf), &top), 0);
	CHECK_STR(buf, "/sys/fs/cgroup/cpu/dvipa/n2");
	CHECK_INT(top, strlen("/sys/fs/cgroup/cpu"));
	CHECK_INT(cgroup_dir(mi, "cpu", "/", buf, sizeof(buf), &top), 0);
	CHECK_STR(buf, "/sys/fs/cgroup/cpu");
	/* cpuset is not cpu; a mount of a sub-tree shows only what is below it. */
	CHECK_INT(cgroup_dir(mi, "cpuacct", "/sub/n2", buf, sizeof(buf), &top), 0);
	CHECK_STR(buf, "/mnt/acct dir/n2");
	CHECK_INT(top, strlen("/mnt/acct dir"));
	CHECK_INT(cgroup_dir(mi, "cpuacct", "/sub", buf, sizeof(buf), &top), 0);
	CHECK_STR(buf, "/mnt/acct dir");
	CHECK_INT(cgroup_dir(mi, "cpuacct", "/subway", buf, sizeof(buf), &top), -ENOENT);
	CHECK_INT(cgroup_dir(mi, "cpuacct", "/n2", buf, sizeof(buf), &top), -ENOENT);
	CHECK_INT(cgroup_dir(mi, NULL, "/a", buf, sizeof(buf), &top), 0);
	CHECK_STR(buf, "/sys/fs/cgroup/unified/a");
	CHECK_INT(cgroup_dir(mi, "memory", "/a", buf, sizeof(buf), &top), -ENOENT);
	CHECK_INT(cgroup_dir(mi, "cpu", "relative", buf, sizeof(buf), &top), -ENOENT);
	CHECK_INT(cgroup_dir(mi, "cpu", "/dvipa/n2", buf, 20, &top), -ENAMETOOLONG);
	CHECK_INT(cgroup_dir("1 2 3 / /x rw - cgroup\n", "cpu", "/", buf, sizeof(buf), &top),
	          -ENOENT);
	/* Walking up to the mount's root, not past it. */
	CHECK_INT(cgroup_dir(mi, "cpu", "/dvipa/n2", buf, sizeof(buf), &top), 0);
	CHECK(cgroup_parent(buf, top));
	CHECK_STR(buf, "/sys/fs/cgroup/cpu/dvipa");
	CHECK(cgroup_parent(buf, top));
	CHECK_STR(buf, "/sys/fs/cgroup/cpu");
	CHECK(!cgroup_parent(buf, top));
	CHECK_STR(buf, "/sys/fs/cgroup/cpu");
}

TEST(cgroup_limits_and_usage)
{
	uint64_t q = 1, p = 1, ns = 0;

	CHECK_INT(cgroup_parse_limit("-1\n", "100000\n", &q, &p), -ENOENT);
	CHECK_INT(cgroup_parse_limit("20000\n", "100000\n", &q, &p), 0);
	CHECK(q == 20000 && p == 100000);
	CHECK_INT(cgroup_parse_limit("max 100000\n", NULL, &q, &p), -ENOENT);
	CHECK_INT(cgroup_parse_limit("50000 200000\n", NULL, &q, &p), 0);
	CHECK(q == 50000 && p == 200000);
	CHECK_INT(cgroup_parse_limit("50000\n", NULL, &q, &p), -EINVAL);
	CHECK_INT(cgroup_parse_limit("5 0\n", NULL, &q, &p), -EINVAL);
	CHECK_INT(cgroup_parse_limit("x\n", "100000\n", &q, &p), -EINVAL);
	CHECK_INT(cgroup_parse_limit("10 20\n", "100000\n", &q, &p), -EINVAL);
	CHECK_INT(cgroup_parse_limit("maxi 10\n", NULL, &q, &p), -EINVAL);
	CHECK_INT(cgroup_parse_usage("123456789\n", 0, &ns), 0);
	CHECK_INT(ns, 123456789);
	CHECK_INT(cgroup_parse_usage("12 3\n", 0, &ns), -EINVAL);
	CHECK_INT(cgroup_parse_usage("usage_usec 1500\nuser_usec 1000\n", 1, &ns), 0);
	CHECK_INT(ns, 1500000);
	CHECK_INT(cgroup_parse_usage("nr_periods 1\nusage_usec 7\n", 1, &ns), 0);
	CHECK_INT(ns, 7000);
	CHECK_INT(cgroup_parse_usage("usage_usecs 7\n", 1, &ns), -EINVAL);
	CHECK_INT(cgroup_parse_usage("user_usec 7\n", 1, &ns), -EINVAL);
	CHECK_INT(cgroup_parse_usage("usage_usec 99999999999999999999\n", 1, &ns), -EINVAL);
}

/* ---- the WLM record ---- */

static void tw_report(struct wlm_report *r)
{
	static const struct {
		const char *dvipa;
		uint16_t port;
		uint8_t efficiency;
	} s[] = {{"10.0.0.10", 80, 40}, {"10.0.0.10", 443, 0}, {"2001:db8::10", 21, 90}};

	memset(r, 0, sizeof(*r));
	r->has_capacity = true;
	r->capacity = 1500;
	r->servers = calloc(3, sizeof(*r->servers));
	for (size_t i = 0; i < 3; i++)
		r->servers[i] =
		    (struct wlm_server){tw_addr(s[i].dvipa), s[i].port, s[i].efficiency};
	r->n_servers = 3;
}

/* Facts with a plex address and a WLM report: PLEX_ADDRS, then WLM. */
static void tw_facts(struct dist_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->plex_v4 = tw_addr("192.168.1.1");
	tw_report(&f->wlm);
}

static bool tw_same_bytes(const struct dist_facts *a, const struct dist_facts *b)
{
	uint8_t x[4096], y[4096];
	size_t lx, ly;

	return wire_dist_encode(a, x, sizeof(x), &lx) == 0 &&
	       wire_dist_encode(b, y, sizeof(y), &ly) == 0 && lx == ly && memcmp(x, y, lx) == 0;
}

TEST(wire_wlm_roundtrip)
{
	struct dist_facts f, g = {0}, h = {0};
	uint8_t buf[4096];
	size_t len;

	tw_facts(&f);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	/* PLEX_ADDRS (4 + 40), WLM (4 + 8 + 24 + 2 * 4 + 24 + 4). */
	CHECK_INT(len, 44 + 72);
	CHECK_INT(len, wire_dist_size(&f));
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK(wlm_report_equal(&f.wlm, &g.wlm));
	CHECK_INT(wlm_report_efficiency(&g.wlm, &f.wlm.servers[1].dvipa, 443), 0);
	CHECK_INT(wlm_report_efficiency(&g.wlm, &f.wlm.servers[1].dvipa, 8080), 100);
	/* A copy is deep and equal. */
	CHECK_INT(dist_facts_copy(&h, &g), 0);
	CHECK(h.wlm.servers != g.wlm.servers && wlm_report_equal(&h.wlm, &f.wlm));
	dist_facts_clear(&h);
	dist_facts_clear(&g);
	/* Capacity alone; servers alone (capacity not measured). */
	free(f.wlm.servers);
	f.wlm.servers = NULL;
	f.wlm.n_servers = 0;
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, 44 + 12);
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK(g.wlm.has_capacity && g.wlm.capacity == 1500 && !g.wlm.n_servers);
	dist_facts_clear(&g);
	dist_facts_clear(&f);
	tw_facts(&f);
	f.wlm.has_capacity = false;
	f.wlm.capacity = 0;
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK(!g.wlm.has_capacity && g.wlm.n_servers == 3);
	dist_facts_clear(&g);
	/* Nothing to report: no record. */
	wlm_report_clear(&f.wlm);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	CHECK_INT(len, 44);
	/* Bad reports are not encoded. */
	tw_report(&f.wlm);
	f.wlm.servers[0].efficiency = 100;
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), -EINVAL);
	f.wlm.servers[0].efficiency = 10;
	f.wlm.servers[2].port = 443;
	f.wlm.servers[2].dvipa = f.wlm.servers[1].dvipa;
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), -EINVAL);
	dist_facts_clear(&f);
	tw_facts(&f);
	f.wlm.has_capacity = false;
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), -EINVAL);
	f.wlm.has_capacity = true;
	f.wlm.capacity = WLM_CAPACITY_MAX + 1;
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), -EINVAL);
	dist_facts_clear(&f);
}

/* The largest report (every server of its own DVIPA) fits and decodes. */
TEST(wire_wlm_largest)
{
	struct dist_facts f = {0}, g = {0};
	uint8_t *buf = malloc((size_t)WIRE_EXT_MAX);
	size_t len;

	CHECK(buf);
	f.wlm.has_capacity = true;
	f.wlm.capacity = WLM_CAPACITY_MAX;
	f.wlm.servers = calloc(WLM_MAX_SERVERS, sizeof(*f.wlm.servers));
	for (size_t i = 0; i < WLM_MAX_SERVERS; i++) {
		f.wlm.servers[i].dvipa.family = IPADDR_V6;
		f.wlm.servers[i].dvipa.bytes[14] = (uint8_t)(i >> 8);
		f.wlm.servers[i].dvipa.bytes[15] = (uint8_t)i;
		f.wlm.servers[i].port = 65535;
		f.wlm.servers[i].efficiency = 99;
	}
	f.wlm.n_servers = WLM_MAX_SERVERS;
	CHECK_INT(wire_dist_encode(&f, buf, (size_t)WIRE_EXT_MAX, &len), 0);
	CHECK_INT(len, 4 + 8 + WLM_MAX_SERVERS * 28);
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK(wlm_report_equal(&f.wlm, &g.wlm));
	dist_facts_clear(&g);
	dist_facts_clear(&f);
	free(buf);
}

/* Every truncation loses facts; every single-byte change is refused or
 * decodes to a report that encodes back to exactly the changed bytes
 * (unless the change hit a record's type: an unknown one is skipped). */
TEST(wire_wlm_every_corruption)
{
	static const uint8_t flips[] = {0x01, 0x02, 0x04, 0x80, 0xff, 0x40};
	struct dist_facts f, g;
	uint8_t buf[4096];
	size_t len;

	tw_facts(&f);
	CHECK_INT(wire_dist_encode(&f, buf, sizeof(buf), &len), 0);
	for (size_t n = 0; n < len; n++) {
		if (wire_dist_decode(buf, n, &g) == 0) {
			bool same = tw_same_bytes(&f, &g);

			dist_facts_clear(&g);
			if (same) {
				unit_fail(__FILE__, __LINE__, "truncation to %zu kept everything",
				          n);
				break;
			}
		}
	}
	/* The two records' type fields: bytes 0, 1 and 44, 45. */
	dist_wire_flips_ok(buf, len, flips, sizeof(flips), (const size_t[]){0, 44}, 2, __FILE__,
	                   __LINE__);
	dist_facts_clear(&f);
}

/* A WLM record built by hand: header, then the value given. */
static size_t tw_record(uint8_t *out, const void *value, size_t vlen)
{
	struct wire_ext_record rec = {.type = htole16(WIRE_EXT_WLM),
	                              .length = htole16((uint16_t)vlen)};

	memcpy(out, &rec, sizeof(rec));
	memcpy(out + sizeof(rec), value, vlen);
	memset(out + sizeof(rec) + vlen, 0, (4 - vlen % 4) % 4);
	return sizeof(rec) + ((vlen + 3) & ~(size_t)3);
}

TEST(wire_wlm_malformed)
{
	struct {
		struct wire_wlm w;
		struct wire_wlm_dvipa g;
		struct wire_wlm_port p[2];
	} v, ok;
	struct dist_facts g;
	uint8_t buf[512];
	size_t len;

	memset(&ok, 0, sizeof(ok));
	ok.w.capacity = htole32(300);
	ok.w.flags = htole16(WIRE_WLM_CAPACITY);
	ok.w.n_dvipas = htole16(1);
	ok.g.dvipa.family = IPADDR_V4;
	ok.g.dvipa.bytes[0] = 10;
	ok.g.n_ports = htole16(2);
	ok.p[0] = (struct wire_wlm_port){.port = htole16(80), .efficiency = 30};
	ok.p[1] = (struct wire_wlm_port){.port = htole16(81), .efficiency = 0};
	len = tw_record(buf, &ok, sizeof(ok));
	CHECK_INT(wire_dist_decode(buf, len, &g), 0);
	CHECK_INT(g.wlm.n_servers, 2);
	dist_facts_clear(&g);
#define TW_BAD(field, value)                                                                       \
	do {                                                                                       \
		v = ok;                                                                            \
		v.field = value;                                                                   \
		len = tw_record(buf, &v, sizeof(v));                                               \
		if (wire_dist_decode(buf, len, &g) != -EBADMSG)                                    \
			unit_fail(__FILE__, __LINE__, "%s = %s accepted", #field, #value);         \
	} while (0)
	TW_BAD(w.flags, htole16(WIRE_WLM_CAPACITY | 0x0100));
	TW_BAD(w.flags, 0); /* capacity 300 without the flag */
	TW_BAD(w.capacity, htole32(WLM_CAPACITY_MAX + 1));
	TW_BAD(w.n_dvipas, htole16(2)); /* a group missing */
	TW_BAD(w.n_dvipas, 0);          /* a group too many */
	TW_BAD(g.n_ports, 0);
	TW_BAD(g.n_ports, htole16(1)); /* a port too many */
	TW_BAD(g.n_ports, htole16(3)); /* a port missing */
	TW_BAD(g.pad, 1);
	TW_BAD(g.dvipa.prefix_len, 32);
	TW_BAD(g.dvipa.pad[1], 1);
	TW_BAD(g.dvipa.family, 0);
	TW_BAD(g.dvipa.family, 5);
	TW_BAD(g.dvipa.bytes[4], 1); /* IPv4 with bytes past 4 */
	TW_BAD(p[0].port, 0);
	TW_BAD(p[1].port, htole16(80)); /* twice */
	TW_BAD(p[1].port, htole16(79)); /* out of order */
	TW_BAD(p[0].efficiency, 100);   /* full is never listed */
	TW_BAD(p[0].efficiency, 255);
	TW_BAD(p[1].pad, 1);
#undef TW_BAD
	/* Too short for its header; a report that says nothing. */
	len = tw_record(buf, &ok, 6);
	CHECK_INT(wire_dist_decode(buf, len, &g), -EBADMSG);
	v = ok;
	v.w.flags = 0;
	v.w.capacity = 0;
	v.w.n_dvipas = 0;
	len = tw_record(buf, &v.w, sizeof(v.w));
	CHECK_INT(wire_dist_decode(buf, len, &g), -EBADMSG);
	/* Capacity only, with the group's bytes left over. */
	v = ok;
	v.w.n_dvipas = 0;
	len = tw_record(buf, &v, sizeof(v.w) + 4);
	CHECK_INT(wire_dist_decode(buf, len, &g), -EBADMSG);
	/* Two groups of the same DVIPA, or out of order. */
	{
		struct {
			struct wire_wlm w;
			struct wire_wlm_dvipa g1;
			struct wire_wlm_port p1;
			struct wire_wlm_dvipa g2;
			struct wire_wlm_port p2;
		} two;

		memset(&two, 0, sizeof(two));
		two.w = ok.w;
		two.w.n_dvipas = htole16(2);
		two.g1 = ok.g;
		two.g1.n_ports = htole16(1);
		two.p1 = ok.p[0];
		two.g2 = two.g1;
		two.p2 = ok.p[1];
		len = tw_record(buf, &two, sizeof(two));
		CHECK_INT(wire_dist_decode(buf, len, &g), -EBADMSG);
		two.g2.dvipa.bytes[3] = 1;
		len = tw_record(buf, &two, sizeof(two));
		CHECK_INT(wire_dist_decode(buf, len, &g), 0);
		CHECK_INT(g.wlm.n_servers, 2);
		dist_facts_clear(&g);
		two.g1.dvipa.bytes[3] = 2;
		len = tw_record(buf, &two, sizeof(two));
		CHECK_INT(wire_dist_decode(buf, len, &g), -EBADMSG);
	}
	/* Twice, or before PLEX_ADDRS. */
	len = tw_record(buf, &ok, sizeof(ok));
	memcpy(buf + len, buf, len);
	CHECK_INT(wire_dist_decode(buf, 2 * len, &g), -EBADMSG);
	{
		struct dist_facts f = {0};
		uint8_t addrs[64];
		size_t alen;

		f.plex_v4 = tw_addr("192.168.1.1");
		CHECK_INT(wire_dist_encode(&f, addrs, sizeof(addrs), &alen), 0);
		memcpy(buf + len, addrs, alen);
		CHECK_INT(wire_dist_decode(buf, len + alen, &g), -EBADMSG);
		memcpy(buf, addrs, alen);
		len = tw_record(buf + alen, &ok, sizeof(ok));
		CHECK_INT(wire_dist_decode(buf, alen + len, &g), 0);
		dist_facts_clear(&g);
	}
}

/* ---- the derived view ---- */

#define TW_PROFILE                                                                                 \
	"INTERFACE eth0\nVIPADYNAMIC\n"                                                            \
	"VIPADEFINE 255.255.255.0 10.0.0.10\n"                                                     \
	"VIPADISTRIBUTE 10.0.0.10 PORT 80 DESTIP ALL\n"                                            \
	"VIPADISTRIBUTE DISTMETHOD SERVERWLM 10.0.0.10 PORT 81 DESTIP ALL\n"                       \
	"ENDVIPADYNAMIC\n"

/* Three nodes; node 1 holds 10.0.0.10 and distributes it; every node is
 * ready on ports 80 and 81; capacities as given (0: no report). */
static int tw_view(const uint32_t capacity[3], struct dist_view *v)
{
	struct plex *p = plex_new(1);
	struct plex_facts facts[3] = {{0}};
	struct dist_facts dist[3];
	struct dist_peer peers[2];
	struct config *c = NULL;
	uint32_t ids[3] = {1, 2, 3};
	struct plex_held h = {.state = PLEX_HELD_ACTIVE, .activated = 1};
	int err;

	memset(dist, 0, sizeof(dist));
	err = config_parse(TW_PROFILE, strlen(TW_PROFILE), &c, NULL);
	if (err < 0 || !p) {
		plex_free(p);
		config_free(c);
		return -EINVAL;
	}
	for (size_t i = 0; i < 3; i++) {
		facts[i].node_id = ids[i];
		facts[i].seq = 1;
		facts[i].plex_addr = tw_addr(i == 0   ? "192.168.1.1"
		                             : i == 1 ? "192.168.1.2"
		                                      : "192.168.1.3");
		if (i == 0)
			dist_facts_set_config(&dist[i], c);
		dist[i].ready = calloc(2, sizeof(*dist[i].ready));
		dist[i].ready[0] = (struct dist_ready){tw_addr("10.0.0.10"), 80, 1};
		dist[i].ready[1] = (struct dist_ready){tw_addr("10.0.0.10"), 81, 1};
		dist[i].n_ready = 2;
		if (capacity[i]) {
			dist[i].wlm.has_capacity = true;
			dist[i].wlm.capacity = capacity[i];
		}
	}
	/* Node 3's server on port 81 keeps up at half. */
	dist[2].wlm.servers = calloc(1, sizeof(*dist[2].wlm.servers));
	dist[2].wlm.servers[0] = (struct wlm_server){tw_addr("10.0.0.10"), 81, 50};
	dist[2].wlm.n_servers = 1;
	h.dvipa = tw_addr("10.0.0.10");
	plex_facts_set_held(&facts[0], &h);
	plex_set_members(p, ids, 3);
	plex_set_quorum(p, true);
	for (size_t i = 0; i < 3; i++)
		plex_apply_facts(p, ids[i], &facts[i]);
	for (size_t i = 0; i < 2; i++)
		peers[i] =
		    (struct dist_peer){.node_id = ids[i + 1], .seq = 1, .facts = dist[i + 1]};
	{
		struct dist_input in = {.plex = p,
		                        .local = &facts[0],
		                        .local_dist = &dist[0],
		                        .peers = peers,
		                        .n_peers = 2};

		err = dist_view(&in, v);
	}
	for (size_t i = 0; i < 3; i++) {
		plex_facts_clear(&facts[i]);
		dist_facts_clear(&dist[i]);
	}
	config_free(c);
	plex_free(p);
	return err;
}

/* "slots/wlm" per target of a service; "-" for a weight that does not apply. */
static const char *tw_service(const struct dist_view *v, uint16_t port, char *buf, size_t size)
{
	struct ipaddr a = tw_addr("10.0.0.10");
	const struct dist_service *s = dist_view_find(v, &a, port);
	size_t off = 0;

	if (!s)
		return "none";
	buf[0] = 0;
	for (size_t i = 0; i < s->n_targets; i++) {
		const struct dist_target *t = &v->targets[s->first_target + i];

		if (t->flags & DIST_TARGET_WLM)
			off += (size_t)snprintf(buf + off, size - off, "%s%u/%u", i ? " " : "",
			                        t->slots, t->wlm);
		else
			off += (size_t)snprintf(buf + off, size - off, "%s%u/-", i ? " " : "",
			                        t->slots);
	}
	return buf;
}

TEST(wlm_view_weights_from_reports)
{
	static const uint32_t none[3] = {0, 0, 0}, all[3] = {100, 200, 400},
	                      some[3] = {100, 0, 400};
	struct dist_view v = {0};
	char buf[128];

	/* BASEWLM is the default method. Nobody reported: round robin. */
	CHECK_INT(tw_view(none, &v), 0);
	CHECK_STR(tw_service(&v, 80, buf, sizeof(buf)), "1/- 1/- 1/-");
	CHECK_STR(tw_service(&v, 81, buf, sizeof(buf)), "1/- 1/- 1/-");
	dist_view_clear(&v);
	CHECK_INT(tw_view(all, &v), 0);
	CHECK_STR(tw_service(&v, 80, buf, sizeof(buf)), "1/16 2/32 4/64");
	/* SERVERWLM: node 3's server at half makes it equal to node 2. */
	CHECK_STR(tw_service(&v, 81, buf, sizeof(buf)), "1/32 2/64 2/64");
	CHECK_INT(v.targets[v.services[0].first_target + 2].capacity, 400);
	CHECK(v.targets[v.services[0].first_target + 2].flags & DIST_TARGET_CAPACITY);
	CHECK_INT(v.targets[v.services[1].first_target + 2].efficiency, 50);
	dist_view_clear(&v);
	/* Node 2 reported nothing: the mean of the others. */
	CHECK_INT(tw_view(some, &v), 0);
	CHECK_STR(tw_service(&v, 80, buf, sizeof(buf)), "2/16 5/40 8/64");
	CHECK(!(v.targets[v.services[0].first_target + 1].flags & DIST_TARGET_CAPACITY));
	dist_view_clear(&v);
}
