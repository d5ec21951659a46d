/* sampler: the test plex's invariant watcher.  Every period it asks each
 * node's network namespace (over rtnetlink, one socket per namespace) which of
 * the watched addresses it holds on its LAN interface and on lo, and whether
 * that interface is up with carrier.  A node is live when its namespace
 * exists and its LAN interface is up with carrier: a DVIPA held by two live
 * nodes at once is a conflict, the first invariant of dvipa.
 *
 *   sampler [-i IFNAME] [-p PERIOD_US] [-o LOG] [-x FILE] -n NAME=NETNS_PATH... ADDR...
 *
 * -x FILE names nodes (one name a line) whose dvipad crashed while the node
 * stayed up: their leftover addresses are the one allowed exception, until
 * the kernel's lifetime removes them. Two holders of which all but one are in
 * FILE make an EXEMPT window, not a conflict; the summary gives the longest
 * (exempt_max_ms), which the tests bound. The file is re-read when it changes.
 *
 * Runs until SIGTERM or SIGINT, then prints a summary on stdout; exit status
 * 0 (no conflict), 1 (conflict), 2 (usage or setup error).  LOG gets "ready"
 * after the first sample, then one line per change:
 *   EPOCH_S.US ADDR lan=NODES lo=NODES      (NODES: "1,3" or "-")
 *   EPOCH_S.US node NAME live=0|1
 *   EPOCH_S.US CONFLICT ADDR lan=NODES
 *   EPOCH_S.US UNCONFIRMED ADDR lan=NODES recheck=NODES
 *   EPOCH_S.US EXEMPT ADDR lan=NODES        (a crashed dvipad's leftover)
 *   EPOCH_S.US EXEMPT-END ADDR ms=N
 *   EPOCH_S.US late period_us=N            (a period longer than 20 ms)
 *
 * Namespaces are read one after the other, so one sample is not an instant:
 * when a sample shows an address on two live nodes, the holders are read
 * again in the reverse order.  If each still holds it, their holding
 * intervals overlap (the one read first held it before and after the other
 * was read): a confirmed conflict.  Otherwise the address moved while the
 * sample was being taken, which is counted as "unconfirmed". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SAMPLER_NODES_MAX 64
#define SAMPLER_ADDRS_MAX 64
#define SAMPLER_BUF       65536
/* The tests' promise: every node read at least every 20 ms. */
#define SAMPLER_LATE_US 20000

struct sampler_node {
	char name[32];
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	int fd; /* rtnetlink socket in the node's namespace, -1 when absent */
	uint32_t seq;
	bool live;
};

struct sampler_addr {
	int family;
	uint8_t bytes[16];
	char text[INET6_ADDRSTRLEN];
	uint64_t lan, lo; /* nodes (bit i = node i) holding it, live ones only */
	uint64_t changes;
	bool held_once;
	double nohold_since; /* monotonic seconds, 0 while held */
	double max_nohold;
	bool in_conflict;
	double conflict_since;
	bool in_exempt;
	double exempt_since;
};

/* What one read of one node found. */
struct sampler_read {
	bool live;
	uint64_t lan; /* bit a = addrs[a] on the LAN interface */
	uint64_t lo;
};

struct sampler {
	const char *ifname;
	long period_us;
	FILE *log;
	int self_netns;
	size_t n_nodes;
	struct sampler_node nodes[SAMPLER_NODES_MAX];
	size_t n_addrs;
	struct sampler_addr addrs[SAMPLER_ADDRS_MAX];
	uint64_t live;
	/* figures */
	uint64_t samples;
	double first, last, period_sum, period_max;
	double read_sum, read_max; /* time to read every node once */
	uint64_t conflicts, unconfirmed, read_errors;
	uint64_t late; /* periods longer than SAMPLER_LATE_US */
	double conflict_max;
	const char *exempt_path;
	struct timespec exempt_mtime;
	uint64_t exempt; /* nodes named in exempt_path */
	uint64_t exempt_windows;
	double exempt_max;
	char buf[SAMPLER_BUF];
};

static volatile sig_atomic_t sampler_stop;

static void sampler_on_signal(int sig)
{
	(void)sig;
	sampler_stop = 1;
}

static double sampler_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sampler_stamp(FILE *f)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
}

static char *sampler_nodes_text(const struct sampler *s, uint64_t mask, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (!(mask & (1ULL << i)))
			continue;
		int n = snprintf(buf + off, size - off, "%s%s", off ? "," : "", s->nodes[i].name);
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += n;
	}
	if (!off)
		snprintf(buf, size, "-");
	return buf;
}

/* Open an rtnetlink socket inside the namespace at path: sockets stay in
 * the namespace they were created in. */
static int sampler_node_open(struct sampler *s, struct sampler_node *n, const struct stat *st)
{
	int nsfd, fd, ret = 0;

	nsfd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		ret = -errno;
		goto out;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		ret = -errno;
	if (setns(s->self_netns, CLONE_NEWNET) < 0) {
		/* Stuck in a node's namespace: nothing sensible can follow. */
		perror("sampler: setns back");
		exit(2);
	}
	if (ret)
		goto out;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		goto out;
	}
	n->fd = fd;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
out:
	close(nsfd);
	return ret;
}

static void sampler_node_close(struct sampler_node *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->dev = 0;
	n->ino = 0;
}

/* Follow the namespace file: it disappears when the node is killed and is a
 * new namespace when the node boots again. */
static void sampler_node_refresh(struct sampler *s, struct sampler_node *n)
{
	struct stat st;
	if (stat(n->path, &st) < 0) {
		sampler_node_close(n);
		return;
	}
	if (n->fd >= 0 && st.st_dev == n->dev && st.st_ino == n->ino)
		return;
	sampler_node_close(n);
	if (sampler_node_open(s, n, &st) < 0)
		sampler_node_close(n);
}

static int sampler_send(struct sampler_node *n, struct nlmsghdr *h)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	h->nlmsg_seq = ++n->seq;
	if (sendto(n->fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static int sampler_addr_index(const struct sampler *s, int family, const void *data, size_t len)
{
	for (size_t a = 0; a < s->n_addrs; a++) {
		const struct sampler_addr *x = &s->addrs[a];
		size_t alen = x->family == AF_INET ? 4 : 16;
		if (x->family == family && alen == len && !memcmp(x->bytes, data, len))
			return (int)a;
	}
	return -1;
}

/* Receive until the answer to our request is complete; call fn on each
 * message.  Returns 0, or -errno (an NLMSG_ERROR answer included). */
static int sampler_recv(struct sampler *s, struct sampler_node *n, bool dump,
                        void (*fn)(struct sampler *, struct nlmsghdr *, void *), void *arg)
{
	for (;;) {
		ssize_t len = recv(n->fd, s->buf, sizeof(s->buf), 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)s->buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != n->seq)
				continue; /* a late answer to an abandoned request */
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
			fn(s, h, arg);
			if (!dump)
				return 0;
		}
	}
}

struct sampler_link {
	int ifindex;
	unsigned flags;
};

static void sampler_on_link(struct sampler *s, struct nlmsghdr *h, void *arg)
{
	struct sampler_link *l = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	(void)s;
	if (h->nlmsg_type != RTM_NEWLINK)
		return;
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
}

struct sampler_addrs_arg {
	int lan_ifindex;
	struct sampler_read *r;
};

static void sampler_on_addr(struct sampler *s, struct nlmsghdr *h, void *arg)
{
	struct sampler_addrs_arg *x = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	const void *data = NULL;
	size_t dlen = 0;
	int rlen;

	if (h->nlmsg_type != RTM_NEWADDR)
		return;
	rlen = (int)IFA_PAYLOAD(h);
	for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		/* IFA_LOCAL is the address itself on IPv4 (IFA_ADDRESS may be a
		 * peer); IPv6 has only IFA_ADDRESS. */
		if (rta->rta_type == IFA_LOCAL || (rta->rta_type == IFA_ADDRESS && !data)) {
			data = RTA_DATA(rta);
			dlen = RTA_PAYLOAD(rta);
		}
	}
	if (!data)
		return;
	int a = sampler_addr_index(s, ifa->ifa_family, data, dlen);
	if (a < 0)
		return;
	if ((int)ifa->ifa_index == x->lan_ifindex)
		x->r->lan |= 1ULL << a;
	else if (ifa->ifa_index == 1) /* lo is ifindex 1 in every namespace */
		x->r->lo |= 1ULL << a;
}

/* Read one node: its LAN link state, then its addresses. */
static int sampler_node_read(struct sampler *s, struct sampler_node *n, struct sampler_read *r)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
		char attrs[64];
	} lreq;
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg ifa;
	} areq;
	struct sampler_link link = {0};
	int ret;

	memset(r, 0, sizeof(*r));
	if (n->fd < 0)
		return 0;

	memset(&lreq, 0, sizeof(lreq));
	lreq.h.nlmsg_type = RTM_GETLINK;
	lreq.h.nlmsg_flags = NLM_F_REQUEST;
	lreq.h.nlmsg_len = NLMSG_LENGTH(sizeof(lreq.ifi));
	lreq.ifi.ifi_family = AF_UNSPEC;
	struct rtattr *rta = (struct rtattr *)((char *)&lreq + NLMSG_ALIGN(lreq.h.nlmsg_len));
	size_t namelen = strlen(s->ifname) + 1;
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = RTA_LENGTH(namelen);
	memcpy(RTA_DATA(rta), s->ifname, namelen);
	lreq.h.nlmsg_len = NLMSG_ALIGN(lreq.h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	ret = sampler_send(n, &lreq.h);
	if (!ret)
		ret = sampler_recv(s, n, false, sampler_on_link, &link);
	if (ret == -ENODEV)
		return 0; /* no LAN interface: the node is off the network */
	if (ret)
		return ret;
	r->live = (link.flags & IFF_UP) && (link.flags & IFF_LOWER_UP);

	memset(&areq, 0, sizeof(areq));
	areq.h.nlmsg_type = RTM_GETADDR;
	areq.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	areq.h.nlmsg_len = NLMSG_LENGTH(sizeof(areq.ifa));
	areq.ifa.ifa_family = AF_UNSPEC;
	ret = sampler_send(n, &areq.h);
	if (ret)
		return ret;
	struct sampler_addrs_arg arg = {.lan_ifindex = link.ifindex, .r = r};
	return sampler_recv(s, n, true, sampler_on_addr, &arg);
}

static void sampler_read_or_count(struct sampler *s, size_t i, struct sampler_read *r)
{
	struct sampler_node *n = &s->nodes[i];
	if (sampler_node_read(s, n, r) < 0) {
		/* The namespace may be going away under us: count it as absent
		 * this time and reopen next time. */
		s->read_errors++;
		sampler_node_close(n);
		memset(r, 0, sizeof(*r));
	}
}

/* Holders of address a among live nodes, from per-node reads. */
static uint64_t sampler_holders(const struct sampler *s, const struct sampler_read *reads, size_t a,
                                bool lan)
{
	uint64_t m = 0;
	for (size_t i = 0; i < s->n_nodes; i++) {
		uint64_t bits = lan ? reads[i].lan : reads[i].lo;
		if (reads[i].live && (bits & (1ULL << a)))
			m |= 1ULL << i;
	}
	return m;
}

/* Read the nodes of mask again, last first, and keep the ones still holding
 * address a on the LAN. */
static uint64_t sampler_recheck(struct sampler *s, uint64_t mask, size_t a)
{
	uint64_t still = 0;
	for (size_t k = s->n_nodes; k-- > 0;) {
		struct sampler_read r;
		if (!(mask & (1ULL << k)))
			continue;
		sampler_read_or_count(s, k, &r);
		if (r.live && (r.lan & (1ULL << a)))
			still |= 1ULL << k;
	}
	return still;
}

static void sampler_conflict_end(struct sampler *s, struct sampler_addr *x, double now)
{
	double d = now - x->conflict_since;
	if (d > s->conflict_max)
		s->conflict_max = d;
	x->in_conflict = false;
}

/* Re-reads the exempt nodes when the file changed (or went away). */
static void sampler_load_exempt(struct sampler *s)
{
	struct stat st;
	char line[64];
	FILE *f;

	if (!s->exempt_path)
		return;
	if (stat(s->exempt_path, &st) < 0) {
		s->exempt = 0;
		s->exempt_mtime = (struct timespec){0};
		return;
	}
	if (st.st_mtim.tv_sec == s->exempt_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->exempt_mtime.tv_nsec)
		return;
	s->exempt_mtime = st.st_mtim;
	s->exempt = 0;
	f = fopen(s->exempt_path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		for (size_t i = 0; i < s->n_nodes; i++)
			if (strcmp(line, s->nodes[i].name) == 0)
				s->exempt |= 1ULL << i;
	}
	fclose(f);
}

static void sampler_exempt_end(struct sampler *s, struct sampler_addr *x, double now)
{
	double d = now - x->exempt_since;

	if (d > s->exempt_max)
		s->exempt_max = d;
	x->in_exempt = false;
	sampler_stamp(s->log);
	fprintf(s->log, "EXEMPT-END %s ms=%.0f\n", x->text, d * 1e3);
}

static void sampler_sample(struct sampler *s)
{
	struct sampler_read reads[SAMPLER_NODES_MAX];
	char t1[256], t2[256];
	double now;
	uint64_t live = 0;

	sampler_load_exempt(s);
	for (size_t i = 0; i < s->n_nodes; i++) {
		sampler_node_refresh(s, &s->nodes[i]);
		sampler_read_or_count(s, i, &reads[i]);
		if (reads[i].live)
			live |= 1ULL << i;
	}
	now = sampler_mono();

	for (size_t i = 0; i < s->n_nodes; i++) {
		bool was = s->live & (1ULL << i), is = live & (1ULL << i);
		if (s->samples && was != is) {
			sampler_stamp(s->log);
			fprintf(s->log, "node %s live=%d\n", s->nodes[i].name, is);
		}
	}
	s->live = live;

	for (size_t a = 0; a < s->n_addrs; a++) {
		struct sampler_addr *x = &s->addrs[a];
		uint64_t lan = sampler_holders(s, reads, a, true);
		uint64_t lo = sampler_holders(s, reads, a, false);
		bool conflict = false, exempt = false;

		if (__builtin_popcountll(lan) >= 2) {
			uint64_t still = sampler_recheck(s, lan, a);
			if (__builtin_popcountll(still) >= 2 &&
			    __builtin_popcountll(still & ~s->exempt) <= 1) {
				exempt = true;
			} else if (__builtin_popcountll(still) >= 2) {
				conflict = true;
			} else {
				s->unconfirmed++;
				sampler_stamp(s->log);
				fprintf(s->log, "UNCONFIRMED %s lan=%s recheck=%s\n", x->text,
				        sampler_nodes_text(s, lan, t1, sizeof(t1)),
				        sampler_nodes_text(s, still, t2, sizeof(t2)));
			}
		}
		if (conflict && !x->in_conflict) {
			s->conflicts++;
			x->in_conflict = true;
			x->conflict_since = now;
			sampler_stamp(s->log);
			fprintf(s->log, "CONFLICT %s lan=%s\n", x->text,
			        sampler_nodes_text(s, lan, t1, sizeof(t1)));
		} else if (!conflict && x->in_conflict) {
			sampler_conflict_end(s, x, now);
		}
		if (exempt && !x->in_exempt) {
			s->exempt_windows++;
			x->in_exempt = true;
			x->exempt_since = now;
			sampler_stamp(s->log);
			fprintf(s->log, "EXEMPT %s lan=%s\n", x->text,
			        sampler_nodes_text(s, lan, t1, sizeof(t1)));
		} else if (!exempt && x->in_exempt) {
			sampler_exempt_end(s, x, now);
		}

		if (!s->samples || lan != x->lan || lo != x->lo) {
			if (s->samples)
				x->changes++;
			sampler_stamp(s->log);
			fprintf(s->log, "%s lan=%s lo=%s\n", x->text,
			        sampler_nodes_text(s, lan, t1, sizeof(t1)),
			        sampler_nodes_text(s, lo, t2, sizeof(t2)));
		}
		if (lan) {
			if (x->held_once && x->nohold_since > 0 &&
			    now - x->nohold_since > x->max_nohold)
				x->max_nohold = now - x->nohold_since;
			x->held_once = true;
			x->nohold_since = 0;
		} else if (x->held_once && x->nohold_since == 0) {
			x->nohold_since = now;
		}
		x->lan = lan;
		x->lo = lo;
	}
	if (!s->samples)
		fprintf(s->log, "ready\n");
	fflush(s->log);
}

static void sampler_report(struct sampler *s)
{
	char t[256];
	double span = s->last - s->first;
	double avg = s->samples > 1 ? s->period_sum / (double)(s->samples - 1) : 0;
	double now = sampler_mono();

	printf("samples=%llu duration_ms=%.0f period_avg_us=%.0f period_max_us=%.0f "
	       "late=%llu sample_avg_us=%.0f sample_max_us=%.0f nodes=%zu addrs=%zu "
	       "read_errors=%llu\n",
	       (unsigned long long)s->samples, span * 1e3, avg * 1e6, s->period_max * 1e6,
	       (unsigned long long)s->late, s->samples ? s->read_sum / (double)s->samples * 1e6 : 0,
	       s->read_max * 1e6, s->n_nodes, s->n_addrs, (unsigned long long)s->read_errors);
	for (size_t a = 0; a < s->n_addrs; a++) {
		struct sampler_addr *x = &s->addrs[a];
		if (x->in_conflict)
			sampler_conflict_end(s, x, now);
		if (x->in_exempt)
			sampler_exempt_end(s, x, now);
		printf("addr %s lan=%s changes=%llu max_unheld_ms=%.0f\n", x->text,
		       sampler_nodes_text(s, x->lan, t, sizeof(t)), (unsigned long long)x->changes,
		       x->max_nohold * 1e3);
	}
	printf("conflicts=%llu longest_conflict_ms=%.1f unconfirmed=%llu exempt=%llu "
	       "exempt_max_ms=%.0f\n",
	       (unsigned long long)s->conflicts, s->conflict_max * 1e3,
	       (unsigned long long)s->unconfirmed, (unsigned long long)s->exempt_windows,
	       s->exempt_max * 1e3);
	fflush(stdout);
}

static void sampler_usage(void)
{
	fprintf(stderr, "usage: sampler [-i IFNAME] [-p PERIOD_US] [-o LOG] [-x FILE] "
	                "-n NAME=NETNS_PATH... ADDR...\n");
}

static int sampler_parse_args(struct sampler *s, int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "i:p:o:n:x:")) != -1) {
		switch (c) {
		case 'x':
			s->exempt_path = optarg;
			break;
		case 'i':
			s->ifname = optarg;
			break;
		case 'p':
			s->period_us = strtol(optarg, NULL, 10);
			break;
		case 'o':
			s->log = fopen(optarg, "we");
			if (!s->log) {
				perror(optarg);
				return -1;
			}
			break;
		case 'n': {
			char *eq = strchr(optarg, '=');
			struct sampler_node *n = &s->nodes[s->n_nodes];
			if (!eq || s->n_nodes >= SAMPLER_NODES_MAX ||
			    (size_t)(eq - optarg) >= sizeof(n->name) ||
			    strlen(eq + 1) >= sizeof(n->path)) {
				fprintf(stderr, "sampler: bad node '%s'\n", optarg);
				return -1;
			}
			memcpy(n->name, optarg, eq - optarg);
			n->name[eq - optarg] = '\0';
			strcpy(n->path, eq + 1);
			n->fd = -1;
			s->n_nodes++;
			break;
		}
		default:
			return -1;
		}
	}
	for (; optind < argc; optind++) {
		struct sampler_addr *x = &s->addrs[s->n_addrs];
		if (s->n_addrs >= SAMPLER_ADDRS_MAX) {
			fprintf(stderr, "sampler: at most %d addresses\n", SAMPLER_ADDRS_MAX);
			return -1;
		}
		if (inet_pton(AF_INET, argv[optind], x->bytes) == 1) {
			x->family = AF_INET;
		} else if (inet_pton(AF_INET6, argv[optind], x->bytes) == 1) {
			x->family = AF_INET6;
		} else {
			fprintf(stderr, "sampler: bad address '%s'\n", argv[optind]);
			return -1;
		}
		inet_ntop(x->family, x->bytes, x->text, sizeof(x->text));
		s->n_addrs++;
	}
	if (!s->n_nodes || s->period_us <= 0 || strlen(s->ifname) >= IFNAMSIZ)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct sampler s = {.ifname = "eth0", .period_us = 5000};
	struct sigaction sa = {.sa_handler = sampler_on_signal};
	struct timespec next;
	double prev = 0;

	if (sampler_parse_args(&s, argc, argv) < 0) {
		sampler_usage();
		return 2;
	}
	if (!s.log)
		s.log = stderr;
	s.self_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s.self_netns < 0) {
		perror("sampler: /proc/self/ns/net");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!sampler_stop) {
		double t = sampler_mono();
		if (s.samples) {
			double d = t - prev;
			s.period_sum += d;
			if (d > s.period_max)
				s.period_max = d;
			if (d * 1e6 > SAMPLER_LATE_US) {
				/* Usually the RTNL lock held by namespace creation or
				 * teardown; the log shows when. */
				s.late++;
				sampler_stamp(s.log);
				fprintf(s.log, "late period_us=%.0f\n", d * 1e6);
			}
		} else {
			s.first = t;
		}
		prev = t;
		s.last = t;
		sampler_sample(&s);
		s.samples++;
		double took = sampler_mono() - t;
		s.read_sum += took;
		if (took > s.read_max)
			s.read_max = took;

		next.tv_nsec += s.period_us * 1000;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		/* Late (the machine was busy): start again from now rather than
		 * sampling in a burst to catch up. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
			next = now;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	sampler_report(&s);
	return s.conflicts ? 1 : 0;
}
