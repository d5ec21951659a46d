/* echo_stream: long-lived TCP connections to an echo server, each carrying a
 * stream whose every byte is checked when it comes back, so that a failover
 * is judged byte for byte: a lost, duplicated, reordered or corrupted byte
 * is a mismatch at a known offset, a reset is a reset, and the time the
 * stream stood still is measured.
 *
 *   echo_stream [-n CONNS] [-i INTERVAL_US] [-s CHUNK] [-d SECONDS] [-w DRAIN_S]
 *               [-o LOG] [-S STATUS] ADDR PORT
 *
 * Connection I sends the pseudo-random stream seeded by I (xorshift64), CHUNK
 * bytes every INTERVAL_US, the connections' turns spread evenly over the
 * interval, and compares what comes back with the same stream.  Connecting is
 * retried until every connection is made, as long as one succeeds every
 * ECHO_STREAM_CONNECT_S seconds (otherwise the run fails); then "connected N"
 * is printed (and logged) and the sending starts.  After SECONDS (or at SIGTERM /
 * SIGINT) no more is sent; each connection waits for its last echo, shuts
 * its sending side and waits for the server's end of file, all within
 * DRAIN_S seconds.  A second SIGTERM / SIGINT ends the wait.
 *
 * Per connection: the local port, bytes sent and echoed (verified), the
 * state (connecting, ok, reset: an error such as ECONNRESET, EPIPE or
 * ECONNREFUSED; mismatch, at the first wrong offset; eof: the server closed
 * early; timeout: still missing bytes or the end of file at the deadline),
 * and the longest pause: the longest time during which echoes were
 * outstanding and none arrived.  SIGUSR2 sets a mark; the pause since the
 * mark is reported beside the one since the start, so that one failover
 * among several can be measured.
 *
 * SIGUSR1 (and every second with -S) writes the status: to STATUS, written
 * to STATUS.tmp and renamed (stdout without -S).  The final report, on
 * stdout and in LOG, has the same lines:
 *   conn I lport P state S sent N echoed N outstanding N maxpause_us N
 *        pause_since_mark_us N [mismatch_at N] [error ENAME]
 *   total conns N ok N reset N mismatch N eof N timeout N sent N echoed N
 *        outstanding N maxpause_us N pause_since_mark_us N worst_lport P
 * (each on one line).  The total's pauses are the longest among the
 * connections that are ok, worst_lport the port of the one with the longest
 * (0 when none is ok): a failed connection is counted by its state.  LOG
 * also gets a line per event, stamped with the wall clock in microseconds
 * (the clock of the daemons' logs):
 *   event WALL_US conn I lport P STATE outstanding N [mismatch_at N] [error ENAME]
 *   mark WALL_US
 *
 * Exit status: 0 when every connection ended ok, 1 otherwise, 2 on a usage
 * or set-up error. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ECHO_STREAM_CONNS_MAX 60000
#define ECHO_STREAM_CHUNK_MAX 65536
#define ECHO_STREAM_CONNECT_S 5
#define ECHO_STREAM_INFLIGHT  32
/* One attempt's deadline (a lost SYN is sent again after 1 s), and the wait
 * before the next attempt after a failure. */
#define ECHO_STREAM_ATTEMPT_US 3000000u
#define ECHO_STREAM_RETRY_US   100000u
#define ECHO_STREAM_STATUS_US  1000000u
#define ECHO_STREAM_RECV_BUF   65536
#define ECHO_STREAM_EVENTS     256

enum echo_stream_state {
	ECHO_STREAM_CONNECTING,
	ECHO_STREAM_OK,
	ECHO_STREAM_RESET,
	ECHO_STREAM_MISMATCH,
	ECHO_STREAM_EOF,
	ECHO_STREAM_TIMEOUT,
	ECHO_STREAM_STATE_MAX
};

static const char *const echo_stream_state_names[ECHO_STREAM_STATE_MAX] = {
    [ECHO_STREAM_CONNECTING] = "connecting",
    [ECHO_STREAM_OK] = "ok",
    [ECHO_STREAM_RESET] = "reset",
    [ECHO_STREAM_MISMATCH] = "mismatch",
    [ECHO_STREAM_EOF] = "eof",
    [ECHO_STREAM_TIMEOUT] = "timeout",
};

enum echo_stream_phase {
	ECHO_STREAM_PHASE_CONNECT,
	ECHO_STREAM_PHASE_RUN,
	ECHO_STREAM_PHASE_DRAIN,
};

/* xorshift64, read a byte at a time: the sender and the checker of a
 * connection each hold one, at their own position in the same stream. */
struct echo_stream_gen {
	uint64_t s;
	uint64_t word;
	unsigned left;
};

struct echo_stream_conn {
	int fd; /* -1 when closed (or between attempts) */
	unsigned index;
	enum echo_stream_state state;
	bool connected; /* the handshake completed */
	bool shut;      /* SHUT_WR sent */
	uint16_t lport;
	int error;
	uint64_t sent, echoed, mismatch_at;
	struct echo_stream_gen tx, rx;
	/* The chunk being sent: generated once, written as the socket takes it. */
	uint8_t *pending;
	size_t pending_off, pending_len;
	uint64_t phase_us, next_send_us;
	uint64_t attempt_deadline_us, retry_at_us;
	/* Since when echoes have been outstanding with none arriving; 0: none
	 * outstanding. */
	uint64_t pause_from_us;
	uint64_t maxpause_us, markpause_us;
};

struct echo_stream {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned n;
	uint64_t interval_us, duration_us, drain_us;
	size_t chunk;
	const char *status_path;
	FILE *log;
	int epfd, sigfd;
	enum echo_stream_phase phase;
	uint64_t progress_us, run_start_us, drain_deadline_us, next_status_us;
	uint64_t mark_us;
	unsigned connected;
	bool stop;
	struct echo_stream_conn *conns;
	uint8_t *pending; /* n * chunk bytes, the conns' pending chunks */
};

static uint64_t echo_stream_clock_us(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t echo_stream_now(void)
{
	return echo_stream_clock_us(CLOCK_MONOTONIC);
}

static void echo_stream_gen_init(struct echo_stream_gen *g, unsigned index)
{
	/* splitmix64 of the index: neighbouring seeds give unrelated streams,
	 * and xorshift's state is never 0. */
	uint64_t z = ((uint64_t)index + 1) * 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	g->s = z ? z : 1;
	g->word = 0;
	g->left = 0;
}

static uint8_t echo_stream_gen_byte(struct echo_stream_gen *g)
{
	uint8_t b;

	if (g->left == 0) {
		g->s ^= g->s << 13;
		g->s ^= g->s >> 7;
		g->s ^= g->s << 17;
		g->word = g->s;
		g->left = 8;
	}
	b = (uint8_t)g->word;
	g->word >>= 8;
	g->left--;
	return b;
}

static const char *echo_stream_errname(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

static uint64_t echo_stream_outstanding(const struct echo_stream_conn *c)
{
	return c->sent - c->echoed;
}

/* The pause that is still going on at NOW, since the start and since the
 * mark. */
static uint64_t echo_stream_open_pause(const struct echo_stream *es,
                                       const struct echo_stream_conn *c, uint64_t now,
                                       bool since_mark)
{
	uint64_t from = c->pause_from_us;

	if (!from)
		return 0;
	if (since_mark && es->mark_us > from)
		from = es->mark_us;
	return now > from ? now - from : 0;
}

static void echo_stream_pause_end(const struct echo_stream *es, struct echo_stream_conn *c,
                                  uint64_t now)
{
	uint64_t p = echo_stream_open_pause(es, c, now, false);
	uint64_t pm = echo_stream_open_pause(es, c, now, true);

	if (p > c->maxpause_us)
		c->maxpause_us = p;
	if (pm > c->markpause_us)
		c->markpause_us = pm;
	c->pause_from_us = 0;
}

static void echo_stream_close(struct echo_stream_conn *c)
{
	if (c->fd < 0)
		return;
	/* Closing a socket removes it from the epoll set. */
	if (close(c->fd) < 0)
		fprintf(stderr, "echo_stream: close: %s\n", strerror(errno));
	c->fd = -1;
}

static void echo_stream_conn_line(const struct echo_stream *es, const struct echo_stream_conn *c,
                                  uint64_t now, FILE *out)
{
	uint64_t maxp = c->maxpause_us, markp = c->markpause_us;
	uint64_t openp = echo_stream_open_pause(es, c, now, false);
	uint64_t openm = echo_stream_open_pause(es, c, now, true);

	if (openp > maxp)
		maxp = openp;
	if (openm > markp)
		markp = openm;
	fprintf(out,
	        "conn %u lport %u state %s sent %" PRIu64 " echoed %" PRIu64 " outstanding %" PRIu64
	        " maxpause_us %" PRIu64 " pause_since_mark_us %" PRIu64,
	        c->index, c->lport, echo_stream_state_names[c->state], c->sent, c->echoed,
	        echo_stream_outstanding(c), maxp, markp);
	if (c->state == ECHO_STREAM_MISMATCH)
		fprintf(out, " mismatch_at %" PRIu64, c->mismatch_at);
	if (c->error)
		fprintf(out, " error %s", echo_stream_errname(c->error));
	fputc('\n', out);
}

/* Every connection's line, then the total. */
static void echo_stream_report(const struct echo_stream *es, uint64_t now, FILE *out)
{
	unsigned count[ECHO_STREAM_STATE_MAX] = {0};
	uint64_t sent = 0, echoed = 0, maxp = 0, markp = 0;
	unsigned worst_lport = 0;

	for (unsigned i = 0; i < es->n; i++) {
		const struct echo_stream_conn *c = &es->conns[i];

		echo_stream_conn_line(es, c, now, out);
		count[c->state]++;
		sent += c->sent;
		echoed += c->echoed;
		if (c->state == ECHO_STREAM_OK) {
			uint64_t p = c->maxpause_us, pm = c->markpause_us;
			uint64_t op = echo_stream_open_pause(es, c, now, false);
			uint64_t om = echo_stream_open_pause(es, c, now, true);

			if (op > p)
				p = op;
			if (om > pm)
				pm = om;
			if (worst_lport == 0 || p > maxp) {
				maxp = p;
				worst_lport = c->lport;
			}
			if (pm > markp)
				markp = pm;
		}
	}
	fprintf(out,
	        "total conns %u ok %u reset %u mismatch %u eof %u timeout %u sent %" PRIu64
	        " echoed %" PRIu64 " outstanding %" PRIu64 " maxpause_us %" PRIu64
	        " pause_since_mark_us %" PRIu64 " worst_lport %u\n",
	        es->n, count[ECHO_STREAM_OK], count[ECHO_STREAM_RESET], count[ECHO_STREAM_MISMATCH],
	        count[ECHO_STREAM_EOF], count[ECHO_STREAM_TIMEOUT], sent, echoed, sent - echoed,
	        maxp, markp, worst_lport);
}

/* The status file, replaced at once: a reader sees the old one or the new. */
static int echo_stream_write_status(const struct echo_stream *es, uint64_t now)
{
	char tmp[4096];
	FILE *f;
	int ret = 0;

	if (!es->status_path) {
		echo_stream_report(es, now, stdout);
		return fflush(stdout) == 0 ? 0 : -errno;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", es->status_path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	echo_stream_report(es, now, f);
	if (ferror(f))
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, es->status_path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static void echo_stream_log(const struct echo_stream *es, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void echo_stream_log(const struct echo_stream *es, const char *fmt, ...)
{
	va_list ap;

	if (!es->log)
		return;
	va_start(ap, fmt);
	vfprintf(es->log, fmt, ap);
	va_end(ap);
	fflush(es->log);
}

/* The connection ends in STATE (not ok): closed, its pause ended, logged. */
static void echo_stream_fail(struct echo_stream *es, struct echo_stream_conn *c,
                             enum echo_stream_state state, int err, uint64_t now)
{
	if (c->state != ECHO_STREAM_OK && c->state != ECHO_STREAM_CONNECTING)
		return;
	echo_stream_pause_end(es, c, now);
	c->state = state;
	c->error = err;
	echo_stream_close(c);
	if (!es->log)
		return;
	fprintf(es->log, "event %" PRIu64 " conn %u lport %u %s outstanding %" PRIu64,
	        echo_stream_clock_us(CLOCK_REALTIME), c->index, c->lport,
	        echo_stream_state_names[state], echo_stream_outstanding(c));
	if (state == ECHO_STREAM_MISMATCH)
		fprintf(es->log, " mismatch_at %" PRIu64, c->mismatch_at);
	if (err)
		fprintf(es->log, " error %s", echo_stream_errname(err));
	fputc('\n', es->log);
	fflush(es->log);
}

static void echo_stream_attempt(struct echo_stream *es, struct echo_stream_conn *c, uint64_t now)
{
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
	int fd;

	fd = socket(es->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->error = errno;
		c->retry_at_us = now + ECHO_STREAM_RETRY_US;
		return;
	}
	c->fd = fd;
	c->attempt_deadline_us = now + ECHO_STREAM_ATTEMPT_US;
	if (epoll_ctl(es->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ||
	    (connect(fd, (const struct sockaddr *)&es->addr, es->addr_len) < 0 &&
	     errno != EINPROGRESS)) {
		c->error = errno;
		echo_stream_close(c);
		c->retry_at_us = now + ECHO_STREAM_RETRY_US;
	}
}

static int echo_stream_local_port(int fd, uint16_t *ret_port)
{
	struct sockaddr_in6 in6;
	struct sockaddr_in in4;
	socklen_t len = sizeof(in6);

	memset(&in6, 0, sizeof(in6));
	if (getsockname(fd, (struct sockaddr *)&in6, &len) < 0)
		return -errno;
	if (in6.sin6_family == AF_INET6) {
		*ret_port = ntohs(in6.sin6_port);
		return 0;
	}
	if (in6.sin6_family != AF_INET || len < sizeof(in4))
		return -EAFNOSUPPORT;
	memcpy(&in4, &in6, sizeof(in4));
	*ret_port = ntohs(in4.sin_port);
	return 0;
}

/* A connecting socket became writable (or failed). */
static void echo_stream_connect_done(struct echo_stream *es, struct echo_stream_conn *c,
                                     uint64_t now)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int err = 0, ret;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err) {
		ret = echo_stream_local_port(c->fd, &c->lport);
		if (ret == 0 && epoll_ctl(es->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			ret = -errno;
		err = -ret;
	}
	if (err) {
		c->error = err;
		echo_stream_close(c);
		c->retry_at_us = now + ECHO_STREAM_RETRY_US;
		return;
	}
	c->connected = true;
	c->state = ECHO_STREAM_OK;
	c->error = 0;
	es->connected++;
	es->progress_us = now;
}

/* Checks N received bytes against the stream; false on a mismatch (the
 * connection has failed then). */
static bool echo_stream_verify(struct echo_stream *es, struct echo_stream_conn *c,
                               const uint8_t *buf, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (c->echoed == c->sent || buf[i] != echo_stream_gen_byte(&c->rx)) {
			/* A byte never sent counts as a mismatch too: a
			 * duplicate at the end of the stream. */
			c->mismatch_at = c->echoed;
			echo_stream_fail(es, c, ECHO_STREAM_MISMATCH, 0, now);
			return false;
		}
		c->echoed++;
	}
	return true;
}

static void echo_stream_readable(struct echo_stream *es, struct echo_stream_conn *c, uint64_t now)
{
	static uint8_t buf[ECHO_STREAM_RECV_BUF];
	ssize_t n;

	while (c->fd >= 0) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (!echo_stream_verify(es, c, buf, (size_t)n, now))
				return;
			echo_stream_pause_end(es, c, now);
			if (echo_stream_outstanding(c) > 0)
				c->pause_from_us = now;
			/* Less than asked for: the socket is empty (the epoll
			 * set is level-triggered, so whatever comes next,
			 * the end of file included, wakes the loop again). */
			if ((size_t)n < sizeof(buf))
				return;
			continue;
		}
		if (n == 0) {
			if (!c->shut || echo_stream_outstanding(c) > 0) {
				echo_stream_fail(es, c, ECHO_STREAM_EOF, 0, now);
				return;
			}
			/* Every byte back and the server's end of file: done. */
			echo_stream_close(c);
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		echo_stream_fail(es, c, ECHO_STREAM_RESET, errno, now);
		return;
	}
}

static void echo_stream_event(struct echo_stream *es, struct echo_stream_conn *c, uint64_t now)
{
	if (c->fd < 0)
		return;
	if (!c->connected) {
		echo_stream_connect_done(es, c, now);
		return;
	}
	echo_stream_readable(es, c, now);
}

/* Writes what the socket takes of the pending chunk, generating a new one
 * when the last is out. */
static void echo_stream_send(struct echo_stream *es, struct echo_stream_conn *c, uint64_t now)
{
	ssize_t n;

	if (c->pending_off == c->pending_len) {
		for (size_t i = 0; i < es->chunk; i++)
			c->pending[i] = echo_stream_gen_byte(&c->tx);
		c->pending_off = 0;
		c->pending_len = es->chunk;
	}
	n = send(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off,
	         MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		/* A full buffer: the server is slow or the path stalled; the
		 * next turn tries again. */
		if (errno != EAGAIN && errno != EINTR)
			echo_stream_fail(es, c, ECHO_STREAM_RESET, errno, now);
		return;
	}
	if (n > 0 && echo_stream_outstanding(c) == 0)
		c->pause_from_us = now;
	c->pending_off += (size_t)n;
	c->sent += (uint64_t)n;
}

/* The next turn of a connection after NOW on its grid (phase + k * interval):
 * turns missed while the process stalled are skipped, not made up in a
 * burst, and the connections stay spread over the interval. */
static uint64_t echo_stream_next_turn(const struct echo_stream *es,
                                      const struct echo_stream_conn *c, uint64_t now)
{
	if (now < c->phase_us)
		return c->phase_us;
	return c->phase_us + ((now - c->phase_us) / es->interval_us + 1) * es->interval_us;
}

static void echo_stream_start_run(struct echo_stream *es, uint64_t now)
{
	es->phase = ECHO_STREAM_PHASE_RUN;
	es->run_start_us = now;
	for (unsigned i = 0; i < es->n; i++) {
		struct echo_stream_conn *c = &es->conns[i];

		c->phase_us = now + (uint64_t)i * es->interval_us / es->n;
		c->next_send_us = c->phase_us;
	}
	printf("connected %u\n", es->connected);
	if (fflush(stdout) != 0)
		fprintf(stderr, "echo_stream: stdout: %s\n", strerror(errno));
	echo_stream_log(es, "connected %u\n", es->connected);
}

static void echo_stream_start_drain(struct echo_stream *es, uint64_t now)
{
	es->phase = ECHO_STREAM_PHASE_DRAIN;
	es->drain_deadline_us = now + es->drain_us;
}

static void echo_stream_wake(uint64_t *wake, uint64_t t)
{
	if (!*wake || t < *wake)
		*wake = t;
}

/* Connecting: a connection whose attempt is overdue starts afresh, at most
 * ECHO_STREAM_INFLIGHT at once (a burst of SYNs overflows a small accept
 * queue, and each lost SYN costs a second).  Returns how many are still
 * connecting, or -ETIMEDOUT when no connection has succeeded for
 * ECHO_STREAM_CONNECT_S seconds. */
static int echo_stream_tick_connect(struct echo_stream *es, uint64_t now, uint64_t *wake)
{
	unsigned inflight = 0;
	int connecting = 0;

	for (unsigned i = 0; i < es->n; i++) {
		struct echo_stream_conn *c = &es->conns[i];

		if (c->connected || c->state != ECHO_STREAM_CONNECTING)
			continue;
		if (c->fd >= 0 && now >= c->attempt_deadline_us) {
			c->error = ETIMEDOUT;
			echo_stream_close(c);
			c->retry_at_us = now + ECHO_STREAM_RETRY_US;
		}
		if (c->fd >= 0)
			inflight++;
	}
	for (unsigned i = 0; i < es->n; i++) {
		struct echo_stream_conn *c = &es->conns[i];

		if (c->connected || c->state != ECHO_STREAM_CONNECTING)
			continue;
		if (c->fd < 0 && now >= c->retry_at_us && inflight < ECHO_STREAM_INFLIGHT) {
			if (now - es->progress_us >= (uint64_t)ECHO_STREAM_CONNECT_S * 1000000u) {
				fprintf(
				    stderr,
				    "echo_stream: connection %u: no connection made for %d s: %s\n",
				    c->index, ECHO_STREAM_CONNECT_S,
				    strerror(c->error ? c->error : ETIMEDOUT));
				return -ETIMEDOUT;
			}
			echo_stream_attempt(es, c, now);
			if (c->fd >= 0)
				inflight++;
		}
		connecting++;
		if (c->fd >= 0)
			echo_stream_wake(wake, c->attempt_deadline_us);
		else if (inflight < ECHO_STREAM_INFLIGHT)
			echo_stream_wake(wake, c->retry_at_us);
	}
	return connecting;
}

/* Draining: the rest of a partly written chunk goes first; once every byte
 * sent has come back, the sending side is shut.  Returns whether the
 * connection is still open. */
static bool echo_stream_tick_drain(struct echo_stream *es, struct echo_stream_conn *c, uint64_t now,
                                   uint64_t *wake)
{
	if (c->fd < 0)
		return false;
	if (now >= es->drain_deadline_us) {
		echo_stream_fail(es, c, ECHO_STREAM_TIMEOUT, 0, now);
		return false;
	}
	if (c->pending_off < c->pending_len) {
		echo_stream_send(es, c, now);
		echo_stream_wake(wake, now + 1000);
	} else if (!c->shut && echo_stream_outstanding(c) == 0) {
		if (shutdown(c->fd, SHUT_WR) < 0) {
			echo_stream_fail(es, c, ECHO_STREAM_RESET, errno, now);
			return false;
		}
		c->shut = true;
	}
	echo_stream_wake(wake, es->drain_deadline_us);
	return c->fd >= 0;
}

/* One pass over the connections: attempts due, turns due, connections
 * done draining.  Returns when the loop should wake next (0: no need). */
static uint64_t echo_stream_tick(struct echo_stream *es, uint64_t now)
{
	uint64_t wake = 0;
	bool open = false;
	int connecting;

	switch (es->phase) {
	case ECHO_STREAM_PHASE_CONNECT:
		connecting = echo_stream_tick_connect(es, now, &wake);
		if (connecting < 0) {
			es->stop = true;
			return 0;
		}
		if (connecting == 0) {
			echo_stream_start_run(es, now);
			return now;
		}
		break;
	case ECHO_STREAM_PHASE_RUN:
		if (es->duration_us && now - es->run_start_us >= es->duration_us) {
			echo_stream_start_drain(es, now);
			return now;
		}
		for (unsigned i = 0; i < es->n; i++) {
			struct echo_stream_conn *c = &es->conns[i];

			if (c->fd < 0)
				continue;
			if (now >= c->next_send_us) {
				echo_stream_send(es, c, now);
				c->next_send_us = echo_stream_next_turn(es, c, now);
			}
			echo_stream_wake(&wake, c->next_send_us);
		}
		if (es->duration_us)
			echo_stream_wake(&wake, es->run_start_us + es->duration_us);
		break;
	case ECHO_STREAM_PHASE_DRAIN:
		for (unsigned i = 0; i < es->n; i++) {
			if (echo_stream_tick_drain(es, &es->conns[i], now, &wake))
				open = true;
		}
		if (!open)
			es->stop = true;
		break;
	}
	return wake;
}

static void echo_stream_mark(struct echo_stream *es, uint64_t now)
{
	es->mark_us = now;
	for (unsigned i = 0; i < es->n; i++)
		es->conns[i].markpause_us = 0;
	echo_stream_log(es, "mark %" PRIu64 "\n", echo_stream_clock_us(CLOCK_REALTIME));
}

static void echo_stream_signal(struct echo_stream *es, uint64_t now)
{
	struct signalfd_siginfo si;

	while (read(es->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int ret;

		switch (si.ssi_signo) {
		case SIGUSR1:
			ret = echo_stream_write_status(es, now);
			if (ret < 0)
				fprintf(stderr, "echo_stream: status: %s\n", strerror(-ret));
			break;
		case SIGUSR2:
			echo_stream_mark(es, now);
			break;
		default:
			/* The first stop drains, a second one ends the wait. */
			if (es->phase == ECHO_STREAM_PHASE_DRAIN)
				es->drain_deadline_us = now;
			else if (es->phase == ECHO_STREAM_PHASE_RUN)
				echo_stream_start_drain(es, now);
			else
				es->stop = true;
			break;
		}
	}
}

static int echo_stream_wait_ms(uint64_t wake, uint64_t now)
{
	uint64_t ms;

	if (!wake)
		return 1000;
	if (wake <= now)
		return 0;
	/* Rounded up: a turn is never early, and a millisecond late is fine. */
	ms = (wake - now + 999) / 1000;
	return ms > 1000 ? 1000 : (int)ms;
}

static int echo_stream_loop(struct echo_stream *es)
{
	struct epoll_event events[ECHO_STREAM_EVENTS];
	uint64_t now = echo_stream_now(), wake;
	int n, ret;

	es->progress_us = now;
	es->next_status_us = now + ECHO_STREAM_STATUS_US;
	while (!es->stop) {
		wake = echo_stream_tick(es, now);
		if (es->stop)
			break;
		if (es->status_path && (!wake || es->next_status_us < wake))
			wake = es->next_status_us;
		n = epoll_wait(es->epfd, events, ECHO_STREAM_EVENTS,
		               echo_stream_wait_ms(wake, now));
		if (n < 0 && errno != EINTR)
			return -errno;
		now = echo_stream_now();
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr)
				echo_stream_event(es, events[i].data.ptr, now);
			else
				echo_stream_signal(es, now);
		}
		if (es->status_path && now >= es->next_status_us) {
			ret = echo_stream_write_status(es, now);
			if (ret < 0)
				fprintf(stderr, "echo_stream: %s: %s\n", es->status_path,
				        strerror(-ret));
			es->next_status_us = now + ECHO_STREAM_STATUS_US;
		}
	}
	return 0;
}

static void echo_stream_usage(void)
{
	fprintf(stderr, "usage: echo_stream [-n CONNS] [-i INTERVAL_US] [-s CHUNK] [-d SECONDS] "
	                "[-w DRAIN_S] [-o LOG] [-S STATUS] ADDR PORT\n");
}

/* A whole decimal number in MIN..MAX, or a message naming OPTION. */
static int echo_stream_number(const char *option, const char *text, uint64_t min, uint64_t max,
                              uint64_t *ret_value)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (*text < '0' || *text > '9' || *end != '\0' || errno || v < min || v > max) {
		fprintf(stderr,
		        "echo_stream: %s: '%s' is not a number in %" PRIu64 "..%" PRIu64 "\n",
		        option, text, min, max);
		return -EINVAL;
	}
	*ret_value = v;
	return 0;
}

static int echo_stream_parse_addr(struct echo_stream *es, const char *text, const char *port_text)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&es->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&es->addr;
	uint64_t port;

	if (echo_stream_number("PORT", port_text, 1, 65535, &port) < 0)
		return -EINVAL;
	memset(&es->addr, 0, sizeof(es->addr));
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		es->addr_len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		es->addr_len = sizeof(*in6);
		return 0;
	}
	fprintf(stderr, "echo_stream: ADDR: '%s' is not an IPv4 or IPv6 address\n", text);
	return -EINVAL;
}

static int echo_stream_parse(struct echo_stream *es, int argc, char **argv, const char **ret_log)
{
	uint64_t v;
	int opt;

	es->n = 200;
	es->interval_us = 5000;
	es->chunk = 64;
	es->drain_us = 10000000u;
	while ((opt = getopt(argc, argv, "n:i:s:d:w:o:S:h")) != -1) {
		switch (opt) {
		case 'n':
			if (echo_stream_number("-n CONNS", optarg, 1, ECHO_STREAM_CONNS_MAX, &v) <
			    0)
				return -EINVAL;
			es->n = (unsigned)v;
			break;
		case 'i':
			if (echo_stream_number("-i INTERVAL_US", optarg, 100, 60000000u, &v) < 0)
				return -EINVAL;
			es->interval_us = v;
			break;
		case 's':
			if (echo_stream_number("-s CHUNK", optarg, 1, ECHO_STREAM_CHUNK_MAX, &v) <
			    0)
				return -EINVAL;
			es->chunk = (size_t)v;
			break;
		case 'd':
			if (echo_stream_number("-d SECONDS", optarg, 1, 86400 * 365, &v) < 0)
				return -EINVAL;
			es->duration_us = v * 1000000u;
			break;
		case 'w':
			if (echo_stream_number("-w DRAIN_S", optarg, 0, 86400, &v) < 0)
				return -EINVAL;
			es->drain_us = v * 1000000u;
			break;
		case 'o':
			*ret_log = optarg;
			break;
		case 'S':
			es->status_path = optarg;
			break;
		case 'h':
			echo_stream_usage();
			exit(0);
		default:
			echo_stream_usage();
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "echo_stream: %s\n",
		        argc - optind < 2 ? "ADDR and PORT are missing" : "too many arguments");
		echo_stream_usage();
		return -EINVAL;
	}
	return echo_stream_parse_addr(es, argv[optind], argv[optind + 1]);
}

/* Room for every connection's socket, when the soft limit is too low. */
static int echo_stream_fd_limit(unsigned n)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)n + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return -EMFILE;
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return 0;
}

static int echo_stream_setup(struct echo_stream *es)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	sigset_t mask;
	int ret;

	ret = echo_stream_fd_limit(es->n);
	if (ret < 0) {
		fprintf(stderr, "echo_stream: no room for %u sockets: %s\n", es->n, strerror(-ret));
		return ret;
	}
	es->conns = calloc(es->n, sizeof(*es->conns));
	es->pending = malloc((size_t)es->n * es->chunk);
	if (!es->conns || !es->pending) {
		fprintf(stderr, "echo_stream: out of memory\n");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < es->n; i++) {
		struct echo_stream_conn *c = &es->conns[i];

		c->fd = -1;
		c->index = i;
		c->pending = es->pending + (size_t)i * es->chunk;
		echo_stream_gen_init(&c->tx, i);
		echo_stream_gen_init(&c->rx, i);
	}
	/* Signals come through the loop, as events, never in the middle of a
	 * step. */
	if (sigemptyset(&mask) < 0 || sigaddset(&mask, SIGTERM) < 0 ||
	    sigaddset(&mask, SIGINT) < 0 || sigaddset(&mask, SIGUSR1) < 0 ||
	    sigaddset(&mask, SIGUSR2) < 0 || sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		fprintf(stderr, "echo_stream: signals: %s\n", strerror(errno));
		return -errno;
	}
	es->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	es->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (es->sigfd < 0 || es->epfd < 0 ||
	    epoll_ctl(es->epfd, EPOLL_CTL_ADD, es->sigfd, &ev) < 0) {
		ret = -errno;
		fprintf(stderr, "echo_stream: set-up: %s\n", strerror(errno));
		return ret;
	}
	return 0;
}

static void echo_stream_free(struct echo_stream *es)
{
	if (es->conns) {
		for (unsigned i = 0; i < es->n; i++)
			echo_stream_close(&es->conns[i]);
	}
	free(es->conns);
	free(es->pending);
	if (es->sigfd >= 0)
		close(es->sigfd);
	if (es->epfd >= 0)
		close(es->epfd);
	if (es->log && es->log != stdout)
		fclose(es->log);
}

int main(int argc, char **argv)
{
	static struct echo_stream es;
	const char *log_path = NULL;
	uint64_t now;
	int ret, status = 2;

	es.epfd = es.sigfd = -1;
	if (echo_stream_parse(&es, argc, argv, &log_path) < 0)
		return 2;
	if (log_path) {
		es.log = fopen(log_path, "w");
		if (!es.log) {
			fprintf(stderr, "echo_stream: -o %s: %s\n", log_path, strerror(errno));
			return 2;
		}
	}
	if (echo_stream_setup(&es) < 0)
		goto out;
	ret = echo_stream_loop(&es);
	if (ret < 0)
		fprintf(stderr, "echo_stream: epoll: %s\n", strerror(-ret));
	now = echo_stream_now();
	/* Connections that never connected end as they were: the report
	 * shows them as connecting. */
	echo_stream_report(&es, now, stdout);
	if (es.log)
		echo_stream_report(&es, now, es.log);
	if (es.status_path) {
		int sret = echo_stream_write_status(&es, now);

		if (sret < 0)
			fprintf(stderr, "echo_stream: %s: %s\n", es.status_path, strerror(-sret));
	}
	status = 0;
	for (unsigned i = 0; i < es.n; i++) {
		if (es.conns[i].state != ECHO_STREAM_OK)
			status = 1;
	}
	if (ret < 0)
		status = 1;
	if (fflush(stdout) != 0)
		status = 1;
out:
	echo_stream_free(&es);
	return status;
}
