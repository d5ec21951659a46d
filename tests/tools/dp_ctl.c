/* dp_ctl: programs the data plane by hand, through the loader, for tests
 * that run without corosync or dvipad. The maps live pinned in PINDIR, so
 * each invocation finds what the previous one left; `attach` leaves the
 * programs attached after it exits.
 *
 *   dp_ctl -p PINDIR [-r] attach IFNAME       (-r: start from empty maps)
 *   dp_ctl detach IFNAME
 *   dp_ctl -p PINDIR node ID PLEX4|- [PLEX6|-]
 *   dp_ctl -p PINDIR mss MTU
 *   dp_ctl -p PINDIR member add ADDR ID | member del ADDR
 *   dp_ctl -p PINDIR service set DVIPA PORT TARGET...
 *                                TARGET = ID,PLEXADDR[,local][,mMAC][,wWEIGHT]
 *   dp_ctl -p PINDIR service del DVIPA PORT
 *   dp_ctl -p PINDIR service affinity DVIPA PORT SECONDS   (TIMEDAFFINITY)
 *   dp_ctl -p PINDIR dvipa add|del DVIPA
 *   dp_ctl -p PINDIR portblock set DVIPA BLOCK TARGET | portblock del DVIPA BLOCK
 *   dp_ctl -p PINDIR counters [NAME]          ("name value" lines, or NAME's value)
 *   dp_ctl -p PINDIR flows
 *   dp_ctl -p PINDIR affinities
 *   dp_ctl -p PINDIR retarget FROM_ID [TARGET]
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "dataplane/dataplane.h"

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: dp_ctl [-p PINDIR] [-r] COMMAND ...\n"
	    "  attach IFNAME | detach IFNAME\n"
	    "  node ID PLEX4|- [PLEX6|-]\n"
	    "  mss MTU\n"
	    "  member add ADDR ID | member del ADDR\n"
	    "  service set DVIPA PORT ID,PLEXADDR[,local][,mMAC][,wWEIGHT]... | service del DVIPA "
	    "PORT\n"
	    "  service affinity DVIPA PORT SECONDS\n"
	    "  dvipa add|del DVIPA\n"
	    "  portblock set DVIPA BLOCK TARGET | portblock del DVIPA BLOCK\n"
	    "  counters [NAME] | flows | affinities | retarget FROM_ID [TARGET]\n");
	exit(2);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dp_ctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void check(int err, const char *what)
{
	if (err < 0)
		die("%s: %s", what, strerror(-err));
}

static struct ipaddr addr(const char *text)
{
	struct ipaddr a;

	if (ipaddr_parse(text, &a) < 0)
		die("bad address '%s'", text);
	return a;
}

static unsigned long number(const char *text, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || end == text || v > max)
		die("bad number '%s'", text);
	return v;
}

/* ID,PLEXADDR[,local][,mMAC][,wWEIGHT] */
static struct dp_service_target parse_target(const char *text, unsigned *ret_weight)
{
	struct dp_service_target t = {0};
	char *copy = strdup(text), *save = NULL, *tok;
	unsigned weight = 1;
	int len = 0;

	if (!copy)
		die("out of memory");
	tok = strtok_r(copy, ",", &save);
	if (!tok)
		die("bad target '%s'", text);
	t.node_id = (uint32_t)number(tok, UINT32_MAX);
	tok = strtok_r(NULL, ",", &save);
	if (!tok)
		die("bad target '%s': no address", text);
	t.plex_addr = addr(tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (strcmp(tok, "local") == 0)
			t.is_local = true;
		else if (tok[0] == 'w')
			weight = (unsigned)number(tok + 1, 100);
		else if (tok[0] == 'm' &&
		         sscanf(tok + 1, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &t.mac[0],
		                &t.mac[1], &t.mac[2], &t.mac[3], &t.mac[4], &t.mac[5], &len) == 6 &&
		         tok[1 + len] == '\0')
			t.direct = true;
		else
			die("bad target option '%s'", tok);
	}
	free(copy);
	if (ret_weight)
		*ret_weight = weight;
	return t;
}

static int print_flow(const struct dp_flow_info *f, void *data)
{
	char c[IPADDR_STRLEN], d[IPADDR_STRLEN], t[IPADDR_STRLEN];

	(void)data;
	printf("%s %u %s %u node %u %s%s%s%s\n", ipaddr_format(&f->client, c, sizeof(c)),
	       f->client_port, ipaddr_format(&f->dvipa, d, sizeof(d)), f->dvipa_port,
	       f->target.node_id, ipaddr_format(&f->target.plex_addr, t, sizeof(t)),
	       f->target.is_local ? " local" : "", f->target.direct ? " direct" : "",
	       f->closing ? " closing" : "");
	return 0;
}

static int print_affinity(const struct dp_affinity_info *a, void *data)
{
	char c[IPADDR_STRLEN], d[IPADDR_STRLEN], t[IPADDR_STRLEN];

	(void)data;
	printf("%s %s %u node %u %s open %u last_end_ns %llu\n",
	       ipaddr_format(&a->client, c, sizeof(c)), ipaddr_format(&a->dvipa, d, sizeof(d)),
	       a->dvipa_port, a->target.node_id, ipaddr_format(&a->target.plex_addr, t, sizeof(t)),
	       a->open, (unsigned long long)a->last_end_ns);
	return 0;
}

static void service(struct dp *dp, int argc, char **argv)
{
	struct dp_service_target targets[DP_MAX_TARGETS];
	unsigned weights[DP_MAX_TARGETS], max_weight = 0;
	uint8_t slots[DP_DISPATCH_SLOTS];
	size_t n = 0, n_slots = 0;
	struct ipaddr dvipa;
	uint16_t port;

	if (argc < 3)
		usage();
	dvipa = addr(argv[1]);
	port = (uint16_t)number(argv[2], 65535);
	if (strcmp(argv[0], "del") == 0) {
		check(dp_service_remove(dp, &dvipa, port), "service del");
		return;
	}
	if (strcmp(argv[0], "affinity") == 0 && argc == 4) {
		check(dp_service_set_affinity(dp, &dvipa, port,
		                              (uint32_t)number(argv[3], UINT32_MAX)),
		      "service affinity");
		return;
	}
	if (strcmp(argv[0], "set") != 0)
		usage();
	for (int i = 3; i < argc; i++) {
		if (n == DP_MAX_TARGETS)
			die("too many targets");
		targets[n] = parse_target(argv[i], &weights[n]);
		targets[n].ready = true;
		if (weights[n] > max_weight)
			max_weight = weights[n];
		n++;
	}
	/* Weighted round robin, interleaved: round r takes every target whose
	 * weight exceeds r. */
	for (unsigned r = 0; r < max_weight; r++)
		for (size_t i = 0; i < n; i++)
			if (weights[i] > r && n_slots < DP_DISPATCH_SLOTS)
				slots[n_slots++] = (uint8_t)i;
	check(dp_service_set(dp, &dvipa, port, targets, n, slots, n_slots), "service set");
}

static int run(struct dp *dp, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "attach") == 0 && argc == 2) {
		int ifindex = (int)if_nametoindex(argv[1]);

		if (!ifindex)
			die("no interface %s", argv[1]);
		check(dp_attach(dp, ifindex), "attach");
	} else if (strcmp(cmd, "node") == 0 && (argc == 3 || argc == 4)) {
		struct ipaddr v4, v6;
		bool has4 = strcmp(argv[2], "-") != 0, has6 = argc == 4 && strcmp(argv[3], "-");

		if (has4)
			v4 = addr(argv[2]);
		if (has6)
			v6 = addr(argv[3]);
		check(dp_set_node(dp, (uint32_t)number(argv[1], UINT32_MAX), has4 ? &v4 : NULL,
		                  has6 ? &v6 : NULL),
		      "node");
	} else if (strcmp(cmd, "mss") == 0 && argc == 2) {
		unsigned mtu = (unsigned)number(argv[1], 65535);

		check(
		    dp_set_mss(dp, dp_mss_for_mtu(IPADDR_V4, mtu), dp_mss_for_mtu(IPADDR_V6, mtu)),
		    "mss");
	} else if (strcmp(cmd, "member") == 0 && argc >= 3) {
		struct ipaddr a = addr(argv[2]);

		if (strcmp(argv[1], "add") == 0 && argc == 4)
			check(dp_member_add(dp, &a, (uint32_t)number(argv[3], UINT32_MAX)),
			      "member add");
		else if (strcmp(argv[1], "del") == 0 && argc == 3)
			check(dp_member_remove(dp, &a), "member del");
		else
			usage();
	} else if (strcmp(cmd, "service") == 0) {
		service(dp, argc - 1, argv + 1);
	} else if (strcmp(cmd, "dvipa") == 0 && argc == 3) {
		struct ipaddr a = addr(argv[2]);

		if (strcmp(argv[1], "add") == 0)
			check(dp_target_dvipa_add(dp, &a), "dvipa add");
		else if (strcmp(argv[1], "del") == 0)
			check(dp_target_dvipa_remove(dp, &a), "dvipa del");
		else
			usage();
	} else if (strcmp(cmd, "portblock") == 0 && argc >= 4) {
		struct ipaddr a = addr(argv[2]);
		uint16_t block = (uint16_t)number(argv[3], 65535 >> DP_PORT_BLOCK_SHIFT);

		if (strcmp(argv[1], "set") == 0 && argc == 5) {
			struct dp_service_target t = parse_target(argv[4], NULL);

			check(dp_port_block_set(dp, &a, block, &t), "portblock set");
		} else if (strcmp(argv[1], "del") == 0 && argc == 4) {
			check(dp_port_block_remove(dp, &a, block), "portblock del");
		} else {
			usage();
		}
	} else if (strcmp(cmd, "counters") == 0 && argc <= 2) {
		uint64_t c[DP_CNT_MAX];

		check(dp_counters_read(dp, c, DP_CNT_MAX), "counters");
		for (unsigned i = 0; i < DP_CNT_MAX; i++) {
			if (argc == 1)
				printf("%s %llu\n", dp_counter_name(i), (unsigned long long)c[i]);
			else if (strcmp(argv[1], dp_counter_name(i)) == 0)
				printf("%llu\n", (unsigned long long)c[i]);
		}
	} else if (strcmp(cmd, "flows") == 0 && argc == 1) {
		check(dp_flow_foreach(dp, print_flow, NULL), "flows");
	} else if (strcmp(cmd, "affinities") == 0 && argc == 1) {
		check(dp_affinity_foreach(dp, print_affinity, NULL), "affinities");
	} else if (strcmp(cmd, "retarget") == 0 && (argc == 2 || argc == 3)) {
		struct dp_service_target t;
		size_t n = 0;

		if (argc == 3)
			t = parse_target(argv[2], NULL);
		check(dp_flows_retarget(dp, (uint32_t)number(argv[1], UINT32_MAX),
		                        argc == 3 ? &t : NULL, &n),
		      "retarget");
		printf("%zu\n", n);
	} else {
		usage();
	}
	return 0;
}

/* libbpf's messages go to stderr only when something failed to load. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN || getenv("DP_CTL_QUIET"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct dp_open_opts opts = {0};
	struct dp *dp = NULL;
	int c;

	while ((c = getopt(argc, argv, "+p:r")) != -1) {
		switch (c) {
		case 'p':
			opts.pin_dir = optarg;
			break;
		case 'r':
			opts.reset_pins = true;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	libbpf_set_print(libbpf_print);
	if (strcmp(argv[0], "detach") == 0) {
		int ifindex;

		if (argc != 2)
			usage();
		ifindex = (int)if_nametoindex(argv[1]);
		if (!ifindex)
			die("no interface %s", argv[1]);
		check(dp_detach_ifindex(ifindex), "detach");
		return 0;
	}
	if (!opts.pin_dir)
		die("-p PINDIR is needed: the maps must outlive this process");
	check(dp_open(&opts, &dp), "loading the data plane");
	run(dp, argc, argv);
	dp_free(dp);
	return 0;
}
