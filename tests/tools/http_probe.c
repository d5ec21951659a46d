/* http_probe: a client that opens a new TCP connection to ADDR:PORT every
 * INTERVAL, whether or not the earlier ones are done, sends one HTTP/1.0 GET
 * and records what answered: the first line of the body (the test plex's
 * nginx answers with the node name, "n2") or why nothing did.  Attempts run
 * side by side, each with its own deadline, so a connection stuck on an
 * address that is moving (its SYN lost on a dead node) does not delay the
 * next one: the time at which a takeover becomes visible to new clients is
 * known to within one interval plus a round trip.
 *
 *   http_probe [-i INTERVAL_US] [-t TIMEOUT_MS] [-u WANT] [-w MAX_S] [-o LOG] ADDR PORT
 *
 * LOG (default stdout) gets one line per finished attempt, in the order they
 * finish, stamped with the wall clock (microseconds since the epoch, the clock
 * of the test plex's plex_now_ms and of the daemons' logs):
 *   START_US END_US RESULT
 * RESULT is the body's first line, or -timeout, -refused, -reset, -unreach,
 * -http (an answer that is not HTTP 200), -errN (another errno), or
 * -unfinished for an attempt still under way when the probe stopped.  "ready" is
 * the first line, once the first attempt has been sent.
 *
 * Runs until SIGTERM or SIGINT; with -u, until an attempt is answered by WANT
 * (exit 0), or -w MAX_S seconds have passed (exit 1).  Exit 2: usage or
 * setup error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HTTP_PROBE_MAX_INFLIGHT 256
#define HTTP_PROBE_BUF          1024
#define HTTP_PROBE_RESULT_MAX   64

struct http_probe_attempt {
	int fd; /* -1 when the slot is free */
	bool connected;
	uint64_t start_mono_us, start_wall_us, deadline_mono_us;
	size_t len;
	char buf[HTTP_PROBE_BUF];
};

struct http_probe {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint64_t interval_us, timeout_us;
	const char *want;
	FILE *log;
	int epfd;
	int timerfd; /* fires when the next attempt is due */
	struct http_probe_attempt slots[HTTP_PROBE_MAX_INFLIGHT];
	uint64_t attempts, answered, skipped;
	bool done;
};

static volatile sig_atomic_t http_probe_stop;

static void http_probe_on_signal(int sig)
{
	(void)sig;
	http_probe_stop = 1;
}

static uint64_t http_probe_clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int http_probe_parse_addr(struct http_probe *p, const char *text, const char *port_text)
{
	char *end;
	unsigned long port = strtoul(port_text, &end, 10);
	struct sockaddr_in *in4 = (struct sockaddr_in *)&p->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->addr;

	if (*port_text == '\0' || *end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	memset(&p->addr, 0, sizeof(p->addr));
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		p->addr_len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		p->addr_len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* Closing with a zero linger sends a RST and leaves no TIME_WAIT behind: at
 * hundreds of attempts a second, the client's ports would otherwise run out
 * during a long run. */
static void http_probe_close(struct http_probe *p, struct http_probe_attempt *a)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(a->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, a->fd, NULL);
	close(a->fd);
	a->fd = -1;
}

static void http_probe_error_name(int err, char *out, size_t size)
{
	switch (err) {
	case ETIMEDOUT:
		snprintf(out, size, "-timeout");
		break;
	case ECONNREFUSED:
		snprintf(out, size, "-refused");
		break;
	case ECONNRESET:
		snprintf(out, size, "-reset");
		break;
	case EINPROGRESS:
		snprintf(out, size, "-unfinished");
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		snprintf(out, size, "-unreach");
		break;
	default:
		snprintf(out, size, "-err%d", err);
		break;
	}
}

/* The first line of an HTTP 200 answer's body, or -http. */
static void http_probe_body(const struct http_probe_attempt *a, char *out, size_t size)
{
	const char *body, *eol;
	size_t n;

	if (a->len < 12 || strncmp(a->buf, "HTTP/1.", 7) != 0 ||
	    strncmp(a->buf + 8, " 200", 4) != 0) {
		snprintf(out, size, "-http");
		return;
	}
	body = memmem(a->buf, a->len, "\r\n\r\n", 4);
	if (!body) {
		snprintf(out, size, "-http");
		return;
	}
	body += 4;
	n = a->len - (size_t)(body - a->buf);
	eol = memchr(body, '\n', n);
	if (eol)
		n = (size_t)(eol - body);
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (body[i] > ' ' && body[i] < 127) ? body[i] : '_';
	out[n] = '\0';
	if (n == 0)
		snprintf(out, size, "-http");
}

static void http_probe_finish(struct http_probe *p, struct http_probe_attempt *a, int err)
{
	char result[HTTP_PROBE_RESULT_MAX];

	if (err)
		http_probe_error_name(err, result, sizeof(result));
	else
		http_probe_body(a, result, sizeof(result));
	fprintf(p->log, "%llu %llu %s\n", (unsigned long long)a->start_wall_us,
	        (unsigned long long)http_probe_clock_us(CLOCK_REALTIME), result);
	fflush(p->log);
	if (result[0] != '-')
		p->answered++;
	if (p->want && strcmp(result, p->want) == 0)
		p->done = true;
	http_probe_close(p, a);
}

static void http_probe_launch(struct http_probe *p, uint64_t now_us)
{
	struct http_probe_attempt *a = NULL;
	struct epoll_event ev = {0};
	int fd;

	for (size_t i = 0; i < HTTP_PROBE_MAX_INFLIGHT; i++) {
		if (p->slots[i].fd < 0) {
			a = &p->slots[i];
			break;
		}
	}
	if (!a) {
		p->skipped++;
		return;
	}
	fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		p->skipped++;
		return;
	}
	a->fd = fd;
	a->connected = false;
	a->len = 0;
	a->start_mono_us = now_us;
	a->start_wall_us = http_probe_clock_us(CLOCK_REALTIME);
	a->deadline_mono_us = now_us + p->timeout_us;
	p->attempts++;
	ev.events = EPOLLOUT;
	ev.data.ptr = a;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		http_probe_finish(p, a, errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&p->addr, p->addr_len) < 0 && errno != EINPROGRESS) {
		http_probe_finish(p, a, errno);
		return;
	}
}

static void http_probe_event(struct http_probe *p, struct http_probe_attempt *a, uint32_t events)
{
	static const char request[] = "GET / HTTP/1.0\r\nHost: probe\r\n\r\n";
	struct epoll_event ev = {0};
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	if (!a->connected) {
		getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			http_probe_finish(p, a, err);
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLIN)))
			return;
		a->connected = true;
		/* The request fits any socket buffer: one send. */
		if (send(a->fd, request, sizeof(request) - 1, MSG_NOSIGNAL) < 0) {
			http_probe_finish(p, a, errno);
			return;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = a;
		epoll_ctl(p->epfd, EPOLL_CTL_MOD, a->fd, &ev);
		return;
	}
	for (;;) {
		if (a->len == sizeof(a->buf)) {
			http_probe_finish(p, a, 0);
			return;
		}
		n = recv(a->fd, a->buf + a->len, sizeof(a->buf) - a->len, 0);
		if (n > 0) {
			a->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			http_probe_finish(p, a, 0);
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		http_probe_finish(p, a, errno);
		return;
	}
}

static void http_probe_expire(struct http_probe *p, uint64_t now_us)
{
	for (size_t i = 0; i < HTTP_PROBE_MAX_INFLIGHT; i++) {
		struct http_probe_attempt *a = &p->slots[i];

		if (a->fd >= 0 && now_us >= a->deadline_mono_us)
			http_probe_finish(p, a, ETIMEDOUT);
	}
}

/* How long epoll may sleep: until the nearest deadline, at most a second.
 * The next launch has its own timer, precise to the microsecond. */
static int http_probe_wait_ms(const struct http_probe *p, uint64_t now_us)
{
	uint64_t until = now_us + 1000000u;

	for (size_t i = 0; i < HTTP_PROBE_MAX_INFLIGHT; i++) {
		if (p->slots[i].fd >= 0 && p->slots[i].deadline_mono_us < until)
			until = p->slots[i].deadline_mono_us;
	}
	if (until <= now_us)
		return 0;
	/* Round up: a deadline is not early, and a millisecond late is fine. */
	return (int)((until - now_us + 999) / 1000);
}

static void http_probe_usage(void)
{
	fprintf(stderr, "usage: http_probe [-i INTERVAL_US] [-t TIMEOUT_MS] [-u WANT] [-w MAX_S] "
	                "[-o LOG] ADDR PORT\n");
}

int main(int argc, char **argv)
{
	static struct http_probe p;
	const char *log_path = NULL;
	uint64_t max_us = 0, begin_us, next_us, now_us;
	struct epoll_event events[64], ev = {0};
	struct sigaction sa = {0};
	int opt, ret = 2;

	p.epfd = p.timerfd = -1;
	p.interval_us = 5000;
	p.timeout_us = 100000;
	while ((opt = getopt(argc, argv, "i:t:u:w:o:h")) != -1) {
		switch (opt) {
		case 'i':
			p.interval_us = strtoull(optarg, NULL, 10);
			break;
		case 't':
			p.timeout_us = strtoull(optarg, NULL, 10) * 1000u;
			break;
		case 'u':
			p.want = optarg;
			break;
		case 'w':
			max_us = strtoull(optarg, NULL, 10) * 1000000u;
			break;
		case 'o':
			log_path = optarg;
			break;
		default:
			http_probe_usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2 || p.interval_us < 100 || p.timeout_us == 0) {
		http_probe_usage();
		return 2;
	}
	if (http_probe_parse_addr(&p, argv[optind], argv[optind + 1]) < 0) {
		fprintf(stderr, "http_probe: bad address or port: %s %s\n", argv[optind],
		        argv[optind + 1]);
		return 2;
	}
	p.log = log_path ? fopen(log_path, "w") : stdout;
	if (!p.log) {
		fprintf(stderr, "http_probe: %s: %s\n", log_path, strerror(errno));
		return 2;
	}
	p.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p.epfd < 0) {
		fprintf(stderr, "http_probe: epoll: %s\n", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < HTTP_PROBE_MAX_INFLIGHT; i++)
		p.slots[i].fd = -1;
	sa.sa_handler = http_probe_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	p.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p.timerfd < 0) {
		fprintf(stderr, "http_probe: timerfd: %s\n", strerror(errno));
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* the timer; attempts have their slot */
	if (epoll_ctl(p.epfd, EPOLL_CTL_ADD, p.timerfd, &ev) < 0) {
		fprintf(stderr, "http_probe: epoll: %s\n", strerror(errno));
		goto out;
	}

	begin_us = next_us = http_probe_clock_us(CLOCK_MONOTONIC);
	ret = 1;
	while (!http_probe_stop && !p.done) {
		int n;

		now_us = http_probe_clock_us(CLOCK_MONOTONIC);
		if (max_us && now_us - begin_us >= max_us)
			break;
		if (now_us >= next_us) {
			struct itimerspec its = {0};

			http_probe_launch(&p, now_us);
			if (p.attempts == 1) {
				fprintf(p.log, "ready\n");
				fflush(p.log);
			}
			/* Keep the schedule; after a stall, start afresh
			 * rather than firing a burst. */
			next_us += p.interval_us;
			if (next_us <= now_us)
				next_us = now_us + p.interval_us;
			its.it_value.tv_sec = (time_t)(next_us / 1000000u);
			its.it_value.tv_nsec = (long)(next_us % 1000000u) * 1000;
			timerfd_settime(p.timerfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
		n = epoll_wait(p.epfd, events, 64, http_probe_wait_ms(&p, now_us));
		for (int i = 0; i < n; i++) {
			uint64_t expirations;

			if (events[i].data.ptr)
				http_probe_event(&p, events[i].data.ptr, events[i].events);
			else if (read(p.timerfd, &expirations, sizeof(expirations)) < 0)
				continue;
		}
		http_probe_expire(&p, http_probe_clock_us(CLOCK_MONOTONIC));
	}
	if (p.done || !p.want)
		ret = 0;
	/* Attempts still under way are logged too, so that the log shows every
	 * start. */
	for (size_t i = 0; i < HTTP_PROBE_MAX_INFLIGHT; i++) {
		if (p.slots[i].fd >= 0)
			http_probe_finish(&p, &p.slots[i], EINPROGRESS);
	}
	fprintf(stderr, "http_probe: attempts=%llu answered=%llu skipped=%llu\n",
	        (unsigned long long)p.attempts, (unsigned long long)p.answered,
	        (unsigned long long)p.skipped);
out:
	if (p.timerfd >= 0)
		close(p.timerfd);
	if (p.epfd >= 0)
		close(p.epfd);
	if (p.log && p.log != stdout)
		fclose(p.log);
	return ret;
}
