/* The metrics endpoint's HTTP server: non-blocking, on dvipad's event loop.
 * One request per connection (every answer says "Connection: close"); the
 * request head is parsed by core/http.c. Bounded: HTTP_HEAD_MAX bytes per
 * request, METRICS_CLIENTS_MAX connections, METRICS_CLIENT_TIMEOUT_MS per
 * connection from accept to close. Nothing a client sends can block the
 * loop or stop the daemon: a bad request gets its 4xx and the connection
 * ends. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http.h"
#include "core/prom.h"
#include "daemon/log.h"
#include "daemon/metrics.h"

#define METRICS_CLIENTS_MAX       16
#define METRICS_CLIENT_TIMEOUT_MS 5000

enum metrics_conn_state {
	METRICS_READING = 0,
	METRICS_WRITING,
	METRICS_DRAINING, /* answer sent and write side shut: wait for the client's close */
};

struct metrics_conn {
	int fd;
	uint8_t state; /* enum metrics_conn_state */
	uint64_t deadline_ms;
	char in[HTTP_HEAD_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_done;
	struct metrics_http *http;
	struct metrics_conn *next;
};

struct metrics_http {
	struct loop *loop;
	int fd;
	metrics_fn fn;
	void *data;
	struct metrics_conn *conns;
	size_t n_conns;
	bool full_logged;
};

/* Frees a connection already taken off the list. */
static void metrics_conn_free(struct metrics_conn *c)
{
	struct metrics_http *h = c->http;

	h->n_conns--;
	loop_del(h->loop, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

static void metrics_conn_close(struct metrics_conn *c)
{
	struct metrics_conn **pp = &c->http->conns;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	metrics_conn_free(c);
}

/* Builds the whole answer; body NULL: a short text naming the status. */
static int metrics_conn_answer(struct metrics_conn *c, int status, const char *type,
                               const char *body, bool head_only)
{
	char fallback[64];
	size_t body_len;
	int n;

	if (!body) {
		snprintf(fallback, sizeof(fallback), "%d %s\n", status, http_reason(status));
		body = fallback;
		type = "text/plain; charset=utf-8";
	}
	body_len = strlen(body);
	free(c->out);
	n = asprintf(&c->out,
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	             "Connection: close\r\nCache-Control: no-store\r\n\r\n%s",
	             status, http_reason(status), type, body_len, head_only ? "" : body);
	if (n < 0) {
		c->out = NULL;
		return -ENOMEM;
	}
	c->out_len = (size_t)n;
	c->out_done = 0;
	c->state = METRICS_WRITING;
	return 0;
}

static void metrics_conn_write(struct metrics_conn *c)
{
	while (c->out_done < c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + c->out_done, c->out_len - c->out_done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			loop_mod(c->http->loop, c->fd, EPOLLOUT);
			return;
		}
		if (n < 0) {
			metrics_conn_close(c);
			return;
		}
		c->out_done += (size_t)n;
	}
	/* Closing with unread bytes from the client would reset the connection
	 * and could discard the answer before the client reads it: shut the
	 * write side and wait for the client to close. */
	shutdown(c->fd, SHUT_WR);
	c->state = METRICS_DRAINING;
	loop_mod(c->http->loop, c->fd, EPOLLIN);
}

static void metrics_conn_request(struct metrics_conn *c, const struct http_request *req)
{
	struct metrics_http *h = c->http;
	bool head = req->method == HTTP_HEAD;
	char *body;
	int err;

	if (strcmp(req->path, "/metrics") != 0) {
		err = metrics_conn_answer(c, 404, NULL, NULL, head);
	} else {
		body = h->fn(h->data);
		if (body)
			err = metrics_conn_answer(c, 200, PROM_CONTENT_TYPE, body, head);
		else
			err = metrics_conn_answer(c, 500, NULL, NULL, head);
		free(body);
	}
	if (err < 0) {
		metrics_conn_close(c);
		return;
	}
	metrics_conn_write(c);
}

static void metrics_conn_read(struct metrics_conn *c)
{
	struct http_request req;
	ssize_t n;
	int err;

	if (c->in_len == sizeof(c->in)) {
		err = -EMSGSIZE;
		goto bad;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	err = http_request_parse(c->in, c->in_len, &req);
	if (err == -EAGAIN)
		return;
	if (err == 0) {
		metrics_conn_request(c, &req);
		return;
	}
bad:
	log_debug("metrics: refused a request (%s)", strerror(-err));
	if (metrics_conn_answer(c, http_error_status(err), NULL, NULL, false) < 0) {
		metrics_conn_close(c);
		return;
	}
	metrics_conn_write(c);
}

static void metrics_conn_ready(int fd, uint32_t events, void *data)
{
	struct metrics_conn *c = data;
	char sink[512];
	ssize_t n;

	switch (c->state) {
	case METRICS_READING:
		metrics_conn_read(c);
		return;
	case METRICS_WRITING:
		if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT)) {
			metrics_conn_close(c);
			return;
		}
		metrics_conn_write(c);
		return;
	default:
		n = recv(fd, sink, sizeof(sink), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* Closed (or more bytes: they are dropped; the deadline ends it). */
		if (n <= 0)
			metrics_conn_close(c);
		return;
	}
}

static void metrics_http_accept(int fd, uint32_t events, void *data)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	                           "Connection: close\r\n\r\n";
	struct metrics_http *h = data;
	struct metrics_conn *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (h->n_conns >= METRICS_CLIENTS_MAX) {
		if (!h->full_logged)
			log_warn("metrics: %d connections open already, refusing more",
			         METRICS_CLIENTS_MAX);
		h->full_logged = true;
		/* Best effort: a fresh socket's buffer takes it. */
		if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("metrics: %s", strerror(errno));
		close(cfd);
		return;
	}
	h->full_logged = false;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->http = h;
	c->deadline_ms = loop_now_ms() + METRICS_CLIENT_TIMEOUT_MS;
	if (loop_add(h->loop, cfd, EPOLLIN, metrics_conn_ready, c) < 0) {
		close(cfd);
		free(c);
		return;
	}
	c->next = h->conns;
	h->conns = c;
	h->n_conns++;
}

void metrics_http_tick(struct metrics_http *h, uint64_t now_ms)
{
	struct metrics_conn *c, *next;

	if (!h)
		return;
	for (c = h->conns; c; c = next) {
		next = c->next;
		if (now_ms > c->deadline_ms)
			metrics_conn_close(c);
	}
}

int metrics_http_open(struct loop *l, const struct ipaddr *addr, uint16_t port, metrics_fn fn,
                      void *data, struct metrics_http **ret)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	struct metrics_http *h = NULL;
	int fd, one = 1, err;

	if (addr->family == IPADDR_V6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr->bytes, 16);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr->bytes, 4);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->family == IPADDR_V6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		err = -errno;
		goto fail;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto fail;
	}
	h->loop = l;
	h->fd = fd;
	h->fn = fn;
	h->data = data;
	err = loop_add(l, fd, EPOLLIN, metrics_http_accept, h);
	if (err < 0)
		goto fail;
	*ret = h;
	return 0;
fail:
	free(h);
	close(fd);
	return err;
}

void metrics_http_close(struct metrics_http *h)
{
	if (!h)
		return;
	while (h->conns) {
		struct metrics_conn *c = h->conns;

		h->conns = c->next;
		metrics_conn_free(c);
	}
	loop_del(h->loop, h->fd);
	close(h->fd);
	free(h);
}
