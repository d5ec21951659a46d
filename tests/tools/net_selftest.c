/* net_selftest: drives the net layer from tests/integration/net.t, one
 * subcommand per operation, plus "offline" checks that need no kernel state
 * (packet bytes, checksums, argument checks).
 *
 * Output is line-oriented and stable so that the shell test can grep it.
 * Commands that wait (watch, capture) print "ready" once they listen, so the
 * test can poll for it instead of sleeping. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "core/ipaddr.h"
#include "net/addr.h"
#include "net/announce.h"
#include "net/diag.h"
#include "net/sysctl.h"

#define die(...)                                                                                   \
	do {                                                                                       \
		fputs("net_selftest: ", stderr);                                                   \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputs("\n", stderr);                                                               \
		exit(2);                                                                           \
	} while (0)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_int(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		die("bad number '%s'", s);
	return (int)v;
}

static void parse_addr(const char *s, struct ipaddr *a)
{
	if (ipaddr_parse(s, a) < 0)
		die("bad address '%s'", s);
}

/* "ADDR/LEN" */
static void parse_prefix(const char *s, struct ipaddr *a, uint8_t *len)
{
	char buf[IPADDR_PREFIX_STRLEN];
	char *slash;

	if (strlen(s) >= sizeof(buf))
		die("bad prefix '%s'", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		die("bad prefix '%s' (ADDR/LEN)", s);
	*slash = '\0';
	parse_addr(buf, a);
	*len = (uint8_t)parse_int(slash + 1, 0, ipaddr_max_prefix(a));
}

static int ifindex_of(const char *name)
{
	int idx = addr_ifindex(name);

	if (idx < 0)
		die("no interface '%s': %s", name, strerror(-idx));
	return idx;
}

static struct addr_handle *open_addr(void)
{
	struct addr_handle *h = addr_open();

	if (!h)
		die("addr_open: %s", strerror(errno));
	return h;
}

static const char *lft_text(uint32_t v, char *buf, size_t size)
{
	if (v == ADDR_LIFETIME_FOREVER)
		snprintf(buf, size, "forever");
	else
		snprintf(buf, size, "%u", v);
	return buf;
}

/* ---- offline checks ------------------------------------------------- */

static int failures;

static void expect(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "FAIL", what);
	if (!cond)
		failures++;
}

static void offline_arp(void)
{
	static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	static const uint8_t want_req[ANNOUNCE_ARP_LEN] = {
	    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55,
	    10,   0,    0,    10,   0,    0,    0,    0,    0,    0,    10,   0,    0,    10};
	static const uint8_t want_rep[ANNOUNCE_ARP_LEN] = {
	    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55,
	    10,   0,    0,    10,   0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 10,   0,    0,    10};
	uint8_t buf[64];
	struct ipaddr a, bad;

	parse_addr("10.0.0.10", &a);
	expect(announce_build_arp(buf, sizeof(buf), mac, &a, false) == ANNOUNCE_ARP_LEN &&
	           memcmp(buf, want_req, sizeof(want_req)) == 0,
	       "gratuitous ARP request bytes");
	expect(announce_build_arp(buf, sizeof(buf), mac, &a, true) == ANNOUNCE_ARP_LEN &&
	           memcmp(buf, want_rep, sizeof(want_rep)) == 0,
	       "gratuitous ARP reply bytes");
	expect(announce_build_arp(buf, 27, mac, &a, false) == -ENOSPC, "ARP into a short buffer");
	parse_addr("0.0.0.0", &bad);
	expect(announce_build_arp(buf, sizeof(buf), mac, &bad, false) == -EINVAL,
	       "ARP for 0.0.0.0 refused");
	parse_addr("224.0.0.1", &bad);
	expect(announce_build_arp(buf, sizeof(buf), mac, &bad, false) == -EINVAL,
	       "ARP for a multicast address refused");
	parse_addr("2001:db8::1", &bad);
	expect(announce_build_arp(buf, sizeof(buf), mac, &bad, false) == -EINVAL,
	       "ARP for an IPv6 address refused");
}

static void offline_na(void)
{
	static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	uint8_t buf[128];
	struct ipaddr a, bad;
	int len;

	parse_addr("2001:db8::10", &a);
	len = announce_build_na(buf, sizeof(buf), mac, &a);
	expect(len == ANNOUNCE_NA_LEN, "NA length 72");
	expect(buf[0] == 0x60 && buf[4] == 0 && buf[5] == 32 && buf[6] == 58 && buf[7] == 255,
	       "NA IPv6 header: version, payload 32, ICMPv6, hop limit 255");
	expect(memcmp(buf + 8, a.bytes, 16) == 0, "NA source is the address");
	expect(buf[24] == 0xff && buf[25] == 0x02 && buf[39] == 1 &&
	           memcmp(buf + 26, "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13) == 0,
	       "NA destination ff02::1");
	expect(buf[40] == 136 && buf[41] == 0, "NA type 136 code 0");
	expect(buf[44] == 0x20 && buf[45] == 0 && buf[46] == 0 && buf[47] == 0,
	       "NA flags: override only");
	expect(memcmp(buf + 48, a.bytes, 16) == 0, "NA target is the address");
	expect(buf[64] == 2 && buf[65] == 1 && memcmp(buf + 66, mac, 6) == 0,
	       "NA target link-layer address option");
	expect(announce_icmp6_csum(buf + 8, buf + 24, buf + 40, 32) == 0,
	       "NA checksum verifies to zero");
	/* A known message: echo request fe80::1 -> ff02::1, id 0x1234, seq 1,
	 * whose checksum was worked out by hand. */
	{
		uint8_t src[16] = {0xfe, 0x80, [15] = 1}, dst[16] = {0xff, 0x02, [15] = 1};
		uint8_t msg[8] = {0x80, 0, 0, 0, 0x12, 0x34, 0x00, 0x01}; /* echo request */

		expect(announce_icmp6_csum(src, dst, msg, sizeof(msg)) == 0x7002,
		       "ICMPv6 checksum of a known echo request");
	}
	buf[50] ^= 0x01;
	expect(announce_icmp6_csum(buf + 8, buf + 24, buf + 40, 32) != 0,
	       "a flipped bit breaks the checksum");
	expect(announce_build_na(buf, 71, mac, &a) == -ENOSPC, "NA into a short buffer");
	parse_addr("::", &bad);
	expect(announce_build_na(buf, sizeof(buf), mac, &bad) == -EINVAL, "NA for :: refused");
	parse_addr("ff02::1", &bad);
	expect(announce_build_na(buf, sizeof(buf), mac, &bad) == -EINVAL,
	       "NA for a multicast address refused");
}

static void offline_listener(void)
{
	struct diag_listener l = {0};
	struct ipaddr v4, v4b, v6;

	parse_addr("10.0.0.10", &v4);
	parse_addr("10.0.0.11", &v4b);
	parse_addr("2001:db8::10", &v6);
	l.port = 80;
	l.addr = v4;
	expect(diag_listener_accepts(&l, &v4, 80), "exact IPv4 listener accepts");
	expect(!diag_listener_accepts(&l, &v4, 81), "other port refused");
	expect(!diag_listener_accepts(&l, &v4b, 80), "other address refused");
	parse_addr("0.0.0.0", &l.addr);
	expect(diag_listener_accepts(&l, &v4b, 80), "0.0.0.0 accepts any IPv4");
	expect(!diag_listener_accepts(&l, &v6, 80), "0.0.0.0 refuses IPv6");
	parse_addr("::", &l.addr);
	expect(diag_listener_accepts(&l, &v6, 80), ":: accepts IPv6");
	expect(diag_listener_accepts(&l, &v4, 80), ":: without v6only accepts IPv4");
	l.v6only = true;
	expect(!diag_listener_accepts(&l, &v4, 80), ":: with v6only refuses IPv4");
}

static void offline_args(void)
{
	struct addr_handle *h = open_addr();
	struct addr_spec s = {0};
	struct ipaddr a;
	int v;

	parse_addr("10.0.0.10", &s.addr);
	s.prefix_len = 32;
	s.ifindex = 1;
	s.valid_lft = 0;
	expect(addr_add(h, &s) == -EINVAL, "valid lifetime 0 refused");
	s.valid_lft = 5;
	s.preferred_lft = 6;
	expect(addr_add(h, &s) == -EINVAL, "preferred > valid refused");
	s.preferred_lft = 5;
	s.prefix_len = 33;
	expect(addr_add(h, &s) == -EINVAL, "IPv4 prefix 33 refused");
	s.prefix_len = 32;
	s.ifindex = 0;
	expect(addr_add(h, &s) == -EINVAL, "ifindex 0 refused");
	s.ifindex = 999999;
	expect(addr_add(h, &s) == -ENODEV, "unknown ifindex: -ENODEV from the kernel");
	parse_addr("10.255.255.254", &a);
	expect(addr_del(h, 1, &a, 32) == -EADDRNOTAVAIL, "deleting an absent address");
	expect(addr_ifindex("no-such-if0") == -ENODEV, "ifindex of an unknown name");
	expect(addr_ifindex("a-name-far-too-long") == -EINVAL, "ifindex of an overlong name");
	expect(sysctl_get("ipv4/../../kernel/hostname", &v) == -EINVAL, "sysctl path with ..");
	expect(sysctl_get("ipv4/no_such_knob", &v) == -ENOENT, "unknown sysctl");
	expect(sysctl_if_get(4, "../x", "rp_filter", &v) == -EINVAL, "sysctl ifname with /");
	expect(sysctl_get("ipv4/ip_local_port_range", &v) == -EINVAL,
	       "a two-value sysctl is not an integer");
	addr_close(h);
	addr_close(NULL);
	announce_close(NULL);
	diag_close(NULL);
}

static int cmd_offline(void)
{
	offline_arp();
	offline_na();
	offline_listener();
	offline_args();
	printf("offline: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}

/* ---- addresses ------------------------------------------------------ */

/* A lifetime in seconds, or "forever". */
static uint32_t parse_lft(const char *s, int min)
{
	if (strcmp(s, "forever") == 0)
		return ADDR_LIFETIME_FOREVER;
	return (uint32_t)parse_int(s, min, 1 << 30);
}

/* add DEV ADDR/LEN [VALID [PREFERRED]] [prefixroute] */
static int cmd_add(int argc, char **argv)
{
	struct addr_handle *h;
	struct addr_spec s = {0};
	int r;

	if (argc < 2)
		die("usage: add DEV ADDR/LEN [VALID [PREFERRED]] [prefixroute]");
	s.ifindex = ifindex_of(argv[0]);
	parse_prefix(argv[1], &s.addr, &s.prefix_len);
	s.valid_lft = ADDR_LIFETIME_FOREVER;
	s.preferred_lft = ADDR_LIFETIME_FOREVER;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "prefixroute") == 0)
			s.flags |= ADDR_F_PREFIX_ROUTE;
		else if (i == 2)
			s.valid_lft = s.preferred_lft = parse_lft(argv[i], 1);
		else if (i == 3)
			s.preferred_lft = parse_lft(argv[i], 0);
		else
			die("unexpected '%s'", argv[i]);
	}
	h = open_addr();
	r = addr_add(h, &s);
	addr_close(h);
	if (r < 0)
		die("addr_add %s: %s", argv[1], strerror(-r));
	return 0;
}

static int cmd_del(int argc, char **argv)
{
	struct addr_handle *h;
	struct ipaddr a;
	uint8_t len;
	int r;

	if (argc != 2)
		die("usage: del DEV ADDR/LEN");
	parse_prefix(argv[1], &a, &len);
	h = open_addr();
	r = addr_del(h, ifindex_of(argv[0]), &a, len);
	addr_close(h);
	if (r < 0)
		die("addr_del %s: %s", argv[1], strerror(-r));
	return 0;
}

static void print_addr(const char *prefix, const struct addr_info *i)
{
	char text[IPADDR_PREFIX_STRLEN], v[16], p[16];

	printf("%s%s flags=0x%x valid=%s preferred=%s\n", prefix,
	       ipaddr_format_prefix(&i->addr, i->prefix_len, text, sizeof(text)), i->flags,
	       lft_text(i->valid_lft, v, sizeof(v)), lft_text(i->preferred_lft, p, sizeof(p)));
}

static int cmd_list(int argc, char **argv)
{
	struct addr_handle *h;
	struct addr_info *v;
	size_t n;
	int r;

	if (argc != 1)
		die("usage: list DEV");
	h = open_addr();
	r = addr_list(h, ifindex_of(argv[0]), &v, &n);
	addr_close(h);
	if (r < 0)
		die("addr_list: %s", strerror(-r));
	for (size_t i = 0; i < n; i++)
		print_addr("", &v[i]);
	free(v);
	return 0;
}

/* refresh DEV ADDR/LEN VALID INTERVAL_MS DURATION_MS: keep an address alive
 * as the daemon will, re-adding it every INTERVAL_MS. */
static int cmd_refresh(int argc, char **argv)
{
	struct addr_handle *h;
	struct addr_spec s = {0};
	long long end, interval;
	int n = 0;

	if (argc != 5)
		die("usage: refresh DEV ADDR/LEN VALID INTERVAL_MS DURATION_MS");
	s.ifindex = ifindex_of(argv[0]);
	parse_prefix(argv[1], &s.addr, &s.prefix_len);
	s.valid_lft = s.preferred_lft = (uint32_t)parse_int(argv[2], 1, 1 << 30);
	interval = parse_int(argv[3], 1, 60000);
	end = now_ms() + parse_int(argv[4], 0, 600000);
	h = open_addr();
	do {
		int r = addr_add(h, &s);

		if (r < 0)
			die("addr_add: %s", strerror(-r));
		n++;
		usleep((useconds_t)interval * 1000);
	} while (now_ms() < end);
	addr_close(h);
	printf("refreshed %d times\n", n);
	return 0;
}

/* What a watch waits for: an address event about an address, or a link
 * event; or nothing (watch until the timeout). */
struct watch_ctx {
	int ifindex;
	bool stop_on_addr;
	bool stop_on_link;
	uint8_t want_type;
	struct ipaddr want;
	bool want_up;
	bool seen;
	bool quiet;
	long events;
};

static void watch_cb(const struct addr_event *ev, void *arg)
{
	struct watch_ctx *c = arg;
	char text[IPADDR_PREFIX_STRLEN];

	if (c->ifindex && ev->ifindex != c->ifindex)
		return;
	c->events++;
	if (c->quiet)
		return;
	if (ev->type == ADDR_EVENT_LINK) {
		printf("link %d %s\n", ev->ifindex,
		       ev->link_removed ? "removed" : (ev->link_up ? "up" : "down"));
		if (c->stop_on_link && !ev->link_removed && ev->link_up == c->want_up)
			c->seen = true;
	} else {
		printf(
		    "%s %d %s\n", addr_event_type_name(ev->type), ev->ifindex,
		    ipaddr_format_prefix(&ev->addr.addr, ev->addr.prefix_len, text, sizeof(text)));
		if (c->stop_on_addr && ev->type == c->want_type &&
		    ipaddr_equal(&ev->addr.addr, &c->want))
			c->seen = true;
	}
	fflush(stdout);
}

/* 0 when the awaited event came, or when there was none to wait for and the
 * time is up; 1 on timeout while waiting. */
static int watch_loop(struct addr_handle *h, struct watch_ctx *c, long long timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	bool waiting = c->stop_on_addr || c->stop_on_link;

	while (!c->seen) {
		struct pollfd pfd = {.fd = addr_fd(h), .events = POLLIN};
		long long left = end - now_ms();
		int r;

		if (left <= 0)
			return waiting ? 1 : 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		r = addr_read_events(h, watch_cb, c);
		if (r == -ENOBUFS) {
			printf("overflow\n");
			continue;
		}
		if (r < 0)
			die("addr_read_events: %s", strerror(-r));
	}
	return 0;
}

/* watch DEV TIMEOUT_MS [new ADDR | del ADDR | link up | link down]
 *       [hold MS] [rcvbuf BYTES] [quiet]: print the events of DEV; stop at
 * the one named (exit 1 if it does not come in time), or at the timeout when
 * none is named. "hold" waits before the first read and "rcvbuf" shrinks the
 * socket's buffer, to make it overflow; "quiet" prints only "overflow" lines
 * and the number of events. */
static int cmd_watch(int argc, char **argv)
{
	struct watch_ctx c = {0};
	struct addr_handle *h;
	int hold_ms = 0;
	int rcvbuf = 0;
	int r;

	if (argc < 2)
		die("usage: watch DEV TIMEOUT_MS [new ADDR | del ADDR | link up | link down] "
		    "[hold MS] [rcvbuf BYTES] [quiet]");
	c.ifindex = ifindex_of(argv[0]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "quiet") == 0) {
			c.quiet = true;
		} else if (i + 1 >= argc) {
			die("watch: '%s' needs an argument", argv[i]);
		} else if (strcmp(argv[i], "hold") == 0) {
			hold_ms = parse_int(argv[++i], 0, 600000);
		} else if (strcmp(argv[i], "rcvbuf") == 0) {
			rcvbuf = parse_int(argv[++i], 1, 1 << 30);
		} else if (strcmp(argv[i], "link") == 0) {
			c.stop_on_link = true;
			c.want_up = strcmp(argv[++i], "up") == 0;
		} else if (strcmp(argv[i], "new") == 0 || strcmp(argv[i], "del") == 0) {
			c.stop_on_addr = true;
			c.want_type = strcmp(argv[i], "del") == 0 ? ADDR_EVENT_DEL : ADDR_EVENT_NEW;
			parse_addr(argv[++i], &c.want);
		} else {
			die("watch: unexpected '%s'", argv[i]);
		}
	}
	h = open_addr();
	if (rcvbuf &&
	    setsockopt(addr_fd(h), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		die("SO_RCVBUFFORCE: %s", strerror(errno));
	printf("ready\n");
	fflush(stdout);
	if (hold_ms)
		usleep((useconds_t)hold_ms * 1000);
	r = watch_loop(h, &c, parse_int(argv[1], 1, 600000));
	if (c.quiet)
		printf("events %ld\n", c.events);
	addr_close(h);
	return r;
}

/* expire DEV ADDR/LEN VALID: add the address with that lifetime and report
 * how long the kernel took to remove it by itself. */
static int cmd_expire(int argc, char **argv)
{
	struct watch_ctx c = {.stop_on_addr = true, .want_type = ADDR_EVENT_DEL};
	struct addr_handle *h;
	struct addr_spec s = {0};
	long long t0;
	int r;

	if (argc != 3)
		die("usage: expire DEV ADDR/LEN VALID");
	s.ifindex = c.ifindex = ifindex_of(argv[0]);
	parse_prefix(argv[1], &s.addr, &s.prefix_len);
	c.want = s.addr;
	s.valid_lft = s.preferred_lft = (uint32_t)parse_int(argv[2], 1, 60);
	h = open_addr();
	t0 = now_ms();
	r = addr_add(h, &s);
	if (r < 0)
		die("addr_add: %s", strerror(-r));
	r = watch_loop(h, &c, (long long)s.valid_lft * 1000 + 5000);
	if (r == 0)
		printf("expired after %lld ms\n", now_ms() - t0);
	addr_close(h);
	return r;
}

static int cmd_link(int argc, char **argv)
{
	struct addr_handle *h;
	struct addr_link l;
	int r;

	if (argc != 1)
		die("usage: link DEV");
	h = open_addr();
	r = addr_link_get(h, ifindex_of(argv[0]), &l);
	addr_close(h);
	if (r < 0)
		die("addr_link_get: %s", strerror(-r));
	printf("link %d %s %s mtu=%u type=%u operstate=%u hwaddr=", l.ifindex, l.name,
	       addr_link_is_up(&l) ? "up" : "down", l.mtu, l.type, l.operstate);
	for (int i = 0; i < l.hwaddr_len; i++)
		printf("%s%02x", i ? ":" : "", l.hwaddr[i]);
	printf("\n");
	return 0;
}

/* ---- announcements -------------------------------------------------- */

/* announce DEV ADDR [reply] */
static int cmd_announce(int argc, char **argv)
{
	struct announce *a;
	struct ipaddr addr;
	uint32_t flags = 0;
	int r;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "reply") != 0))
		die("usage: announce DEV ADDR [reply]");
	parse_addr(argv[1], &addr);
	if (argc == 3)
		flags |= ANNOUNCE_F_ARP_REPLY;
	a = announce_open();
	if (!a)
		die("announce_open: %s", strerror(errno));
	r = announce_send(a, ifindex_of(argv[0]), &addr, flags);
	announce_close(a);
	if (r < 0) {
		printf("announce: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

static void mac_text(const uint8_t *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Print an ARP frame about addr; 1 when it was one. */
static int capture_arp(const uint8_t *f, size_t len, const struct ipaddr *addr)
{
	char dst[18], sha[18], tha[18], spa[IPADDR_STRLEN], tpa[IPADDR_STRLEN];
	struct ipaddr s = {.family = IPADDR_V4}, t = {.family = IPADDR_V4};
	const uint8_t *p = f + 14;

	if (len < 14 + ANNOUNCE_ARP_LEN || f[12] != 0x08 || f[13] != 0x06)
		return 0;
	memcpy(s.bytes, p + 14, 4);
	memcpy(t.bytes, p + 24, 4);
	if (!ipaddr_equal(&s, addr))
		return 0;
	mac_text(f, dst);
	mac_text(p + 8, sha);
	mac_text(p + 18, tha);
	printf("arp dst=%s htype=%u ptype=0x%04x hlen=%u plen=%u op=%u sha=%s spa=%s tha=%s "
	       "tpa=%s\n",
	       dst, (unsigned)(p[0] << 8 | p[1]), (unsigned)(p[2] << 8 | p[3]), p[4], p[5],
	       (unsigned)(p[6] << 8 | p[7]), sha, ipaddr_format(&s, spa, sizeof(spa)), tha,
	       ipaddr_format(&t, tpa, sizeof(tpa)));
	return 1;
}

/* Print a Neighbour Advertisement for addr; 1 when it was one. */
static int capture_na(const uint8_t *f, size_t len, const struct ipaddr *addr)
{
	char dst[18], tlla[18], src[IPADDR_STRLEN], ip6dst[IPADDR_STRLEN];
	struct ipaddr s = {.family = IPADDR_V6}, d = {.family = IPADDR_V6};
	const uint8_t *ip = f + 14, *icmp = f + 54;
	size_t plen;

	if (len < 14 + 40 + 24 || f[12] != 0x86 || f[13] != 0xdd || ip[6] != 58 || icmp[0] != 136)
		return 0;
	if (memcmp(icmp + 8, addr->bytes, 16) != 0)
		return 0;
	plen = (size_t)ip[4] << 8 | ip[5];
	if (len < 54 + plen)
		return 0;
	memcpy(s.bytes, ip + 8, 16);
	memcpy(d.bytes, ip + 24, 16);
	mac_text(f, dst);
	strcpy(tlla, "none");
	if (plen >= 32 && icmp[24] == 2 && icmp[25] == 1)
		mac_text(icmp + 26, tlla);
	printf("na dst=%s src=%s ip6dst=%s hlim=%u code=%u flags=0x%02x tlla=%s csum=%s\n", dst,
	       ipaddr_format(&s, src, sizeof(src)), ipaddr_format(&d, ip6dst, sizeof(ip6dst)),
	       ip[7], icmp[1], icmp[4], tlla,
	       announce_icmp6_csum(ip + 8, ip + 24, icmp, plen) == 0 ? "ok" : "bad");
	return 1;
}

/* capture DEV ADDR TIMEOUT_MS: print the first ARP (IPv4) or NA (IPv6) about
 * ADDR received on DEV; exit 1 on timeout. */
static int cmd_capture(int argc, char **argv)
{
	struct sockaddr_ll sll = {0};
	struct ipaddr addr;
	long long end;
	int fd;

	if (argc != 3)
		die("usage: capture DEV ADDR TIMEOUT_MS");
	parse_addr(argv[1], &addr);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		die("socket: %s", strerror(errno));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex_of(argv[0]);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind: %s", strerror(errno));
	printf("ready\n");
	fflush(stdout);
	end = now_ms() + parse_int(argv[2], 1, 600000);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t f[2048];
		long long left = end - now_ms();
		ssize_t n;
		int got;

		if (left <= 0) {
			close(fd);
			return 1;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, f, sizeof(f), 0);
		if (n < 0)
			continue;
		got = addr.family == IPADDR_V4 ? capture_arp(f, (size_t)n, &addr)
		                               : capture_na(f, (size_t)n, &addr);
		if (got) {
			fflush(stdout);
			close(fd);
			return 0;
		}
	}
}

/* ---- sockets -------------------------------------------------------- */

static struct diag_handle *open_diag(void)
{
	struct diag_handle *d = diag_open();

	if (!d)
		die("diag_open: %s", strerror(errno));
	return d;
}

/* conns ADDR [PORT]: "count N" then one line per connection. */
static int cmd_conns(int argc, char **argv)
{
	struct diag_handle *d;
	struct diag_conn *v;
	struct ipaddr a;
	uint16_t port = 0;
	size_t n, count;
	int r;

	if (argc < 1 || argc > 2)
		die("usage: conns ADDR [PORT]");
	parse_addr(argv[0], &a);
	if (argc == 2)
		port = (uint16_t)parse_int(argv[1], 1, 65535);
	d = open_diag();
	r = diag_count_conns(d, &a, port, &count);
	if (r < 0)
		die("diag_count_conns: %s", strerror(-r));
	r = diag_conns(d, &a, port, &v, &n);
	diag_close(d);
	if (r < 0)
		die("diag_conns: %s", strerror(-r));
	printf("count %zu\n", count);
	for (size_t i = 0; i < n; i++) {
		char l[IPADDR_STRLEN], rm[IPADDR_STRLEN];

		printf("conn %s %u %s %u %s\n", ipaddr_format(&v[i].local, l, sizeof(l)),
		       v[i].local_port, ipaddr_format(&v[i].remote, rm, sizeof(rm)),
		       v[i].remote_port, diag_tcp_state_name(v[i].state));
	}
	free(v);
	return 0;
}

/* listeners [ADDR PORT]: every listener; with ADDR PORT, also whether one of
 * them takes connections there ("accepts yes|no"). */
static int cmd_listeners(int argc, char **argv)
{
	struct diag_handle *d;
	struct diag_listener *v;
	struct ipaddr a;
	uint16_t port = 0;
	bool accepts = false;
	size_t n;
	int r;

	if (argc != 0 && argc != 2)
		die("usage: listeners [ADDR PORT]");
	if (argc == 2) {
		parse_addr(argv[0], &a);
		port = (uint16_t)parse_int(argv[1], 1, 65535);
	}
	d = open_diag();
	r = diag_listeners(d, &v, &n);
	diag_close(d);
	if (r < 0)
		die("diag_listeners: %s", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		char t[IPADDR_STRLEN];

		printf("listen %s %u%s queued %u backlog %u drops %d\n",
		       ipaddr_format(&v[i].addr, t, sizeof(t)), v[i].port,
		       v[i].v6only ? " v6only" : "", v[i].queued, v[i].backlog,
		       v[i].has_drops ? (int)v[i].drops : -1);
		if (argc == 2 && diag_listener_accepts(&v[i], &a, port))
			accepts = true;
	}
	if (argc == 2)
		printf("accepts %s\n", accepts ? "yes" : "no");
	free(v);
	return 0;
}

/* sysctl get PATH | set PATH V | ifget FAM IF KEY | ifset FAM IF KEY V */
static int cmd_sysctl(int argc, char **argv)
{
	int v, old, r;

	if (argc == 2 && strcmp(argv[0], "get") == 0) {
		r = sysctl_get(argv[1], &v);
	} else if (argc == 3 && strcmp(argv[0], "set") == 0) {
		r = sysctl_set(argv[1], parse_int(argv[2], -1000000, 1000000));
		v = 0;
	} else if (argc == 4 && strcmp(argv[0], "ifget") == 0) {
		r = sysctl_if_get(parse_int(argv[1], 4, 6), argv[2], argv[3], &v);
	} else if (argc == 5 && strcmp(argv[0], "ifset") == 0) {
		r = sysctl_if_set(parse_int(argv[1], 4, 6), argv[2], argv[3],
		                  parse_int(argv[4], -1000000, 1000000), &old);
		v = old;
	} else {
		die("usage: sysctl get PATH | set PATH V | ifget FAM IF KEY | ifset FAM IF KEY V");
	}
	if (r < 0) {
		printf("error %s\n", strerror(-r));
		return 1;
	}
	printf("%d\n", v);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
	    {"add", cmd_add},
	    {"del", cmd_del},
	    {"list", cmd_list},
	    {"refresh", cmd_refresh},
	    {"watch", cmd_watch},
	    {"expire", cmd_expire},
	    {"link", cmd_link},
	    {"announce", cmd_announce},
	    {"capture", cmd_capture},
	    {"conns", cmd_conns},
	    {"listeners", cmd_listeners},
	    {"sysctl", cmd_sysctl},
	};

	if (argc >= 2 && strcmp(argv[1], "offline") == 0)
		return cmd_offline();
	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "usage: net_selftest offline|add|del|list|refresh|watch|expire|link|"
	                "announce|capture|conns|listeners|sysctl ...\n");
	return 2;
}
