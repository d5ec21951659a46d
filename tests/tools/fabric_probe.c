/* fabric_probe: join a CPG group through the fabric layer and print one line
 * per event, for the integration tests.
 *
 *   fabric_probe [-g GROUP] [-n EVENTS] [-t MS] [-s TEXT] [-b BYTES] [-i] [-T] [-r]
 *   fabric_probe -N
 *
 * Lines (stdout, line-buffered):
 *   local NODEID                  after joining (not an event)
 *   members 1 2 3 joined 3 left   membership (each list may be empty)
 *   quorum 0|1|pending            FABRIC_QUORUM_NONE, _OK, _PENDING
 *   msg FROM LEN TEXT             TEXT with non-printable bytes as '.'; past
 *                                 256 bytes the first 32, "..." and "fnv HASH"
 *                                 (FNV-1a of the whole message)
 *   error ERRNO TEXT              fabric lost (then exit 2, or retry with -r)
 *   node NODEID NAME ADDR         -N: corosync's nodelist, then
 *   info token MS consensus MS expected N total N quorum N two_node 0|1 wait_for_all 0|1
 *
 * -n: exit 0 after EVENTS event lines (members, quorum, msg); -t: give up
 * after MS milliseconds (exit 3 if -n was not reached, else 0); -s: send TEXT
 * once joined; -b: send one BYTES-long message once joined; -i: once joined,
 * send every stdin line ("!big N" sends an N-byte message like -b); -T: prefix each line with the
 * wall-clock time in ms (to measure reaction times); -r: on error reopen every 100 ms instead of
 * exiting. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "fabric/fabric.h"

#define PROBE_REOPEN_MS 100
#define PROBE_FLUSH_MS  10
#define PROBE_LINE_MAX  4096

struct probe {
	const char *group;
	long max_events;
	long events;
	bool stamp;
	bool reconnect;
	bool from_stdin;
	const char *send_once;
	bool sent_once;
	size_t send_bytes;
	bool joined;
	struct fabric *fabric;
	int epfd;
	bool stdin_watched;
	char line[PROBE_LINE_MAX];
	size_t line_len;
};

static long long probe_now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void probe_prefix(const struct probe *p)
{
	if (p->stamp)
		printf("%lld ", probe_now_ms(CLOCK_REALTIME));
}

static void probe_list(const char *word, const uint32_t *ids, size_t n)
{
	size_t i;

	printf("%s", word);
	for (i = 0; i < n; i++)
		printf(" %u", ids[i]);
}

static void probe_event(struct probe *p)
{
	p->events++;
}

static void probe_send(struct probe *p, const char *text, size_t len)
{
	int ret;

	if (len == 0)
		return;
	ret = fabric_send(p->fabric, text, len);
	if (ret < 0) {
		probe_prefix(p);
		printf("send-error %d %s\n", ret, strerror(-ret));
	}
}

/* A message too big to print: a pattern every receiver can check. */
static void probe_send_big(struct probe *p, size_t len)
{
	char *buf = malloc(len);
	size_t i;

	if (!buf) {
		printf("send-error %d %s\n", -ENOMEM, strerror(ENOMEM));
		return;
	}
	for (i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	probe_send(p, buf, len);
	free(buf);
}

static uint32_t probe_fnv(const unsigned char *b, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static void probe_watch(struct probe *p, int fd, bool add)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	/* Removing may fail harmlessly when the fd is already gone. */
	if (epoll_ctl(p->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0 && add) {
		fprintf(stderr, "fabric_probe: epoll_ctl: %s\n", strerror(errno));
		exit(1);
	}
}

static void probe_on_members(void *userdata, const uint32_t *members, size_t n,
                             const uint32_t *joined, size_t n_joined, const uint32_t *left,
                             size_t n_left, const uint32_t *crashed, size_t n_crashed)
{
	struct probe *p = userdata;

	probe_prefix(p);
	probe_list("members", members, n);
	probe_list(" joined", joined, n_joined);
	probe_list(" left", left, n_left);
	printf("\n");
	/* Those of left whose process died on a live corosync. */
	if (n_crashed) {
		probe_prefix(p);
		probe_list("crashed", crashed, n_crashed);
		printf("\n");
	}
	probe_event(p);
	if (!p->joined) {
		p->joined = true;
		if (!p->sent_once) {
			p->sent_once = true;
			if (p->send_once)
				probe_send(p, p->send_once, strlen(p->send_once));
			if (p->send_bytes)
				probe_send_big(p, p->send_bytes);
		}
		if (p->from_stdin && !p->stdin_watched) {
			p->stdin_watched = true;
			probe_watch(p, STDIN_FILENO, true);
		}
	}
}

static void probe_on_message(void *userdata, uint32_t from, const void *data, size_t len)
{
	struct probe *p = userdata;
	const unsigned char *b = data;
	size_t i;
	probe_prefix(p);
	printf("msg %u %zu ", from, len);
	for (i = 0; i < len && (len <= 256 || i < 32); i++)
		putchar(b[i] >= 0x20 && b[i] < 0x7f ? b[i] : '.');
	if (len > 256)
		printf("... fnv %08x", probe_fnv(b, len));
	printf("\n");
	probe_event(p);
}

static void probe_on_quorum(void *userdata, enum fabric_quorum state)
{
	struct probe *p = userdata;

	probe_prefix(p);
	if (state == FABRIC_QUORUM_PENDING)
		printf("quorum pending\n");
	else
		printf("quorum %d\n", state == FABRIC_QUORUM_OK ? 1 : 0);
	probe_event(p);
}

static const struct fabric_callbacks probe_callbacks = {
    .on_members = probe_on_members,
    .on_message = probe_on_message,
    .on_quorum = probe_on_quorum,
};

static int probe_open(struct probe *p)
{
	int fds[FABRIC_NFDS];
	size_t i, n;
	int err = 0;

	p->fabric = fabric_open(p->group, &probe_callbacks, p, &err);
	if (!p->fabric)
		return err;
	p->joined = false;
	n = fabric_fds(p->fabric, fds);
	for (i = 0; i < n; i++)
		probe_watch(p, fds[i], true);
	probe_prefix(p);
	printf("local %u\n", fabric_local_nodeid(p->fabric));
	return 0;
}

static void probe_close(struct probe *p)
{
	int fds[FABRIC_NFDS];
	size_t i, n;

	if (!p->fabric)
		return;
	n = fabric_fds(p->fabric, fds);
	for (i = 0; i < n; i++)
		probe_watch(p, fds[i], false);
	fabric_close(p->fabric);
	p->fabric = NULL;
}

/* A stdin line is a message, except "!big N": an N-byte pattern message. */
static void probe_send_line(struct probe *p)
{
	char text[32];

	if (p->line_len > 5 && p->line_len < sizeof(text) && memcmp(p->line, "!big ", 5) == 0) {
		memcpy(text, p->line, p->line_len);
		text[p->line_len] = '\0';
		probe_send_big(p, strtoul(text + 5, NULL, 10));
		return;
	}
	probe_send(p, p->line, p->line_len);
}

/* Send each complete stdin line; returns false at end of input. */
static bool probe_read_stdin(struct probe *p)
{
	char buf[1024];
	ssize_t r;
	ssize_t i;

	r = read(STDIN_FILENO, buf, sizeof(buf));
	if (r < 0)
		return errno == EINTR || errno == EAGAIN;
	if (r == 0) {
		if (p->fabric)
			probe_send_line(p);
		p->line_len = 0;
		return false;
	}
	for (i = 0; i < r; i++) {
		if (buf[i] == '\n') {
			if (p->fabric)
				probe_send_line(p);
			p->line_len = 0;
		} else if (p->line_len < sizeof(p->line)) {
			p->line[p->line_len++] = buf[i];
		}
	}
	return true;
}

static int probe_nodelist(void)
{
	struct fabric_node *nodes = NULL;
	struct fabric_info info;
	char err[256] = "", addr[IPADDR_STRLEN];
	size_t i, n = 0;
	int ret;

	ret = fabric_nodelist(NULL, &nodes, &n, err, sizeof(err));
	if (ret < 0) {
		printf("error %d %s: %s\n", ret, strerror(-ret), err);
		return 2;
	}
	for (i = 0; i < n; i++)
		printf("node %u %s %s\n", nodes[i].nodeid, nodes[i].name[0] ? nodes[i].name : "-",
		       ipaddr_format(&nodes[i].ring0_addr, addr, sizeof(addr)));
	free(nodes);
	ret = fabric_info(NULL, &info);
	if (ret < 0) {
		printf("error %d %s\n", ret, strerror(-ret));
		return 2;
	}
	printf("info token %u consensus %u expected %u total %u quorum %u two_node %d "
	       "wait_for_all %d\n",
	       info.token_ms, info.consensus_ms, info.expected_votes, info.total_votes, info.quorum,
	       info.two_node, info.wait_for_all);
	return 0;
}

static void probe_usage(void)
{
	fprintf(stderr,
	        "usage: fabric_probe [-g GROUP] [-n EVENTS] [-t MS] [-s TEXT] [-b BYTES] [-i] [-T] "
	        "[-r]\n       fabric_probe -N\n");
	exit(1);
}

int main(int argc, char **argv)
{
	struct probe p = {.group = "dvipa", .max_events = -1, .epfd = -1};
	long long deadline = -1, reopen_at = -1;
	int opt, ret, status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "g:n:t:s:b:iTrN")) != -1) {
		switch (opt) {
		case 'g':
			p.group = optarg;
			break;
		case 'n':
			p.max_events = strtol(optarg, NULL, 10);
			break;
		case 't':
			deadline = probe_now_ms(CLOCK_MONOTONIC) + strtol(optarg, NULL, 10);
			break;
		case 's':
			p.send_once = optarg;
			break;
		case 'b':
			p.send_bytes = strtoul(optarg, NULL, 10);
			break;
		case 'i':
			p.from_stdin = true;
			break;
		case 'T':
			p.stamp = true;
			break;
		case 'r':
			p.reconnect = true;
			break;
		case 'N':
			return probe_nodelist();
		default:
			probe_usage();
		}
	}
	if (optind != argc)
		probe_usage();

	p.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p.epfd < 0) {
		fprintf(stderr, "fabric_probe: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	ret = probe_open(&p);
	if (ret < 0) {
		probe_prefix(&p);
		printf("error %d %s\n", ret, strerror(-ret));
		if (!p.reconnect)
			return 2;
		reopen_at = probe_now_ms(CLOCK_MONOTONIC) + PROBE_REOPEN_MS;
	}

	for (;;) {
		struct epoll_event evs[8];
		long long now = probe_now_ms(CLOCK_MONOTONIC);
		int timeout = -1, i, n;

		if (p.max_events >= 0 && p.events >= p.max_events)
			break;
		if (deadline >= 0 && now >= deadline) {
			if (p.max_events >= 0)
				status = 3;
			break;
		}
		if (reopen_at >= 0 && now >= reopen_at) {
			ret = probe_open(&p);
			reopen_at = ret < 0 ? now + PROBE_REOPEN_MS : -1;
			continue;
		}
		if (deadline >= 0)
			timeout = (int)(deadline - now);
		if (reopen_at >= 0 && (timeout < 0 || reopen_at - now < timeout))
			timeout = (int)(reopen_at - now);
		if (p.fabric && fabric_pending(p.fabric) &&
		    (timeout < 0 || timeout > PROBE_FLUSH_MS))
			timeout = PROBE_FLUSH_MS;

		n = epoll_wait(p.epfd, evs, 8, timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "fabric_probe: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		ret = 0;
		for (i = 0; i < n && ret == 0; i++) {
			if (evs[i].data.fd == STDIN_FILENO) {
				if (!probe_read_stdin(&p)) {
					probe_watch(&p, STDIN_FILENO, false);
					p.stdin_watched = false;
					p.from_stdin = false;
				}
				continue;
			}
			if (p.fabric)
				ret = fabric_dispatch(p.fabric, evs[i].data.fd);
		}
		if (ret == 0 && p.fabric && fabric_pending(p.fabric))
			ret = fabric_flush(p.fabric);
		if (ret < 0) {
			probe_prefix(&p);
			printf("error %d %s\n", ret, strerror(-ret));
			probe_close(&p);
			if (!p.reconnect)
				return 2;
			reopen_at = probe_now_ms(CLOCK_MONOTONIC) + PROBE_REOPEN_MS;
		}
	}
	probe_close(&p);
	close(p.epfd);
	return status;
}
