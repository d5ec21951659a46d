#include "daemon/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "daemon/log.h"

/* A client that has not sent its request within this time is dropped, so a
 * stuck client cannot hold a slot forever. */
#define CLIENT_TIMEOUT_MS 5000
#define CLIENTS_MAX       32
/* A monitor client's queue of events not yet sent: past this it fell
 * behind, and is dropped rather than let dvipad's memory grow. */
#define MONITOR_QUEUE_MAX (256u << 10)

struct client {
	int fd;
	uint64_t deadline_ms;
	struct control_request req;
	size_t req_got;
	char *out; /* response header + body; a monitor's queue of events */
	size_t out_len, out_done, out_cap;
	bool monitor;  /* subscribed: the connection stays, events follow */
	bool dropping; /* fell behind: its last line is queued, then it goes */
	struct control_server *server;
	struct client *next;
};

struct control_server {
	struct loop *loop;
	int fd;
	char *path;
	control_handler_fn fn;
	void *data;
	struct client *clients;
	size_t n_clients;
	size_t n_monitors;
};

/* Frees a client already taken off the server's list. */
static void client_free(struct client *c)
{
	struct control_server *s = c->server;

	s->n_clients--;
	if (c->monitor)
		s->n_monitors--;
	loop_del(s->loop, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
}

static void client_close(struct client *c)
{
	struct client **pp = &c->server->clients;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	client_free(c);
}

static int client_build_response(struct client *c, uint16_t cmd, int status, const char *body)
{
	struct control_response resp = {
	    .magic = CONTROL_MAGIC,
	    .version = CONTROL_VERSION,
	    .cmd = cmd,
	    .status = status,
	};
	size_t body_len = body ? strlen(body) : 0;

	if (body_len > CONTROL_BODY_MAX) {
		resp.status = -EMSGSIZE;
		body = "answer too large for the control protocol";
		body_len = strlen(body);
	}
	resp.body_len = (uint32_t)body_len;
	c->out = malloc(sizeof(resp) + body_len);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, &resp, sizeof(resp));
	if (body_len)
		memcpy(c->out + sizeof(resp), body, body_len);
	c->out_len = sizeof(resp) + body_len;
	c->out_done = 0;
	return 0;
}

static void client_flush(struct client *c)
{
	while (c->out_done < c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + c->out_done, c->out_len - c->out_done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				loop_mod(c->server->loop, c->fd, EPOLLOUT);
				return;
			}
			client_close(c);
			return;
		}
		c->out_done += (size_t)n;
	}
	/* A monitor stays until it hangs up (or, dropped, until now). */
	if (c->monitor && !c->dropping) {
		c->out_len = c->out_done = 0;
		loop_mod(c->server->loop, c->fd, EPOLLIN);
		return;
	}
	client_close(c);
}

/* Appends to a client's queue; false when it would pass MONITOR_QUEUE_MAX
 * (unless forced: the one line that says why it is dropped). */
static bool client_queue(struct client *c, const char *text, size_t len, bool force)
{
	size_t pending = c->out_len - c->out_done, cap;
	char *p;

	if (!force && pending + len > MONITOR_QUEUE_MAX)
		return false;
	if (c->out_done && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_done, pending);
		c->out_len = pending;
		c->out_done = 0;
	}
	if (c->out_len + len > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
	return true;
}

/* CONTROL_MONITOR: the answer's header, then events as they come. */
static void client_subscribe(struct client *c)
{
	struct control_response resp = {
	    .magic = CONTROL_MAGIC,
	    .version = CONTROL_VERSION,
	    .cmd = CONTROL_MONITOR,
	};

	c->monitor = true;
	c->server->n_monitors++;
	/* Nothing more is expected from it: no deadline. */
	c->deadline_ms = UINT64_MAX;
	if (!client_queue(c, (const char *)&resp, sizeof(resp), true)) {
		client_close(c);
		return;
	}
	log_info("control: a monitor client subscribed (%zu now)", c->server->n_monitors);
	client_flush(c);
}

/* A monitor that fell behind: whatever is queued goes out, then one line
 * saying why it ends, then it is closed. It has CLIENT_TIMEOUT_MS for that. */
static void client_drop_monitor(struct client *c, bool json, uint64_t wall_ms)
{
	struct event e = {.wall_ms = wall_ms, .type = EVENT_DROPPED};
	struct strbuf sb = {0};
	char *line;

	log_warn("control: dropping a monitor client that fell behind (%zu bytes of events "
	         "not read)",
	         c->out_len - c->out_done);
	snprintf(e.reason, sizeof(e.reason), "this client fell behind by over %u KiB of events",
	         MONITOR_QUEUE_MAX >> 10);
	event_format(&e, json, &sb);
	line = strbuf_take(&sb);
	c->dropping = true;
	c->deadline_ms = loop_now_ms() + CLIENT_TIMEOUT_MS;
	if (!line || !client_queue(c, line, strlen(line), true)) {
		free(line);
		client_close(c);
		return;
	}
	free(line);
	loop_mod(c->server->loop, c->fd, EPOLLOUT);
}

void control_server_publish(struct control_server *s, const struct event *e)
{
	char *text[2] = {NULL, NULL}; /* [json] */
	struct client *c, *next;

	if (!s || !s->n_monitors)
		return;
	for (c = s->clients; c; c = next) {
		bool json = c->req.flags & CONTROL_F_JSON;

		next = c->next;
		if (!c->monitor || c->dropping)
			continue;
		if (!text[json]) {
			struct strbuf sb = {0};

			event_format(e, json, &sb);
			text[json] = strbuf_take(&sb);
			if (!text[json])
				continue;
		}
		if (!client_queue(c, text[json], strlen(text[json]), false)) {
			client_drop_monitor(c, json, e->wall_ms);
			continue;
		}
		/* Sent from the loop when the socket takes it (EPOLLOUT). */
		loop_mod(s->loop, c->fd, EPOLLIN | EPOLLOUT);
	}
	free(text[0]);
	free(text[1]);
}

size_t control_server_monitors(const struct control_server *s)
{
	return s ? s->n_monitors : 0;
}

static void client_answer(struct client *c)
{
	struct control_server *s = c->server;
	char *body = NULL;
	int status = control_request_check(&c->req);

	if (status < 0) {
		log_warn("control: rejected a malformed request (%s)", strerror(-status));
		if (asprintf(&body, "malformed request: %s", strerror(-status)) < 0)
			body = NULL;
	} else if (c->req.cmd == CONTROL_MONITOR) {
		/* The handler takes its snapshot first: what changes after
		 * the answer is this monitor's to see. */
		s->fn(s->data, &c->req, &body);
		free(body);
		client_subscribe(c);
		return;
	} else {
		status = s->fn(s->data, &c->req, &body);
	}
	if (client_build_response(c, c->req.cmd, status, body) < 0) {
		free(body);
		client_close(c);
		return;
	}
	free(body);
	client_flush(c);
}

/* A monitor sends nothing after its request: a read tells that it hung up
 * (bytes it sends anyway are dropped). */
static void client_monitor_ready(struct client *c, uint32_t events)
{
	char sink[64];
	ssize_t n;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(c->fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
	}
	if (events & EPOLLOUT)
		client_flush(c);
}

static void client_ready(int fd, uint32_t events, void *data)
{
	struct client *c = data;
	ssize_t n;

	if (c->monitor) {
		client_monitor_ready(c, events);
		return;
	}
	if (c->out) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			client_flush(c);
		return;
	}
	n = recv(fd, (char *)&c->req + c->req_got, sizeof(c->req) - c->req_got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Closed or failed before a whole request: nothing to answer. */
		if (c->req_got)
			log_warn("control: client sent %zu of %zu request bytes and went away",
			         c->req_got, sizeof(c->req));
		client_close(c);
		return;
	}
	c->req_got += (size_t)n;
	if (c->req_got == sizeof(c->req))
		client_answer(c);
}

static void server_accept(int fd, uint32_t events, void *data)
{
	struct control_server *s = data;
	struct client *c;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (s->n_clients >= CLIENTS_MAX) {
		log_warn("control: %d clients already connected, refusing another", CLIENTS_MAX);
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->server = s;
	c->deadline_ms = loop_now_ms() + CLIENT_TIMEOUT_MS;
	if (loop_add(s->loop, cfd, EPOLLIN, client_ready, c) < 0) {
		close(cfd);
		free(c);
		return;
	}
	c->next = s->clients;
	s->clients = c;
	s->n_clients++;
}

void control_server_tick(struct control_server *s, uint64_t now_ms)
{
	struct client *c, *next;

	for (c = s->clients; c; c = next) {
		next = c->next;
		if (now_ms > c->deadline_ms) {
			log_warn("control: dropping a client that stalled for %d ms",
			         CLIENT_TIMEOUT_MS);
			client_close(c);
		}
	}
}

/* Returns true when a daemon answers on path. */
static bool socket_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

static int make_parent_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int ret = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			ret = -errno;
	}
	free(dir);
	return ret;
}

int control_server_open(struct loop *l, const char *path, control_handler_fn fn, void *data,
                        struct control_server **ret)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct control_server *s = NULL;
	mode_t old_umask;
	int fd = -1, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	err = make_parent_dir(path);
	if (err < 0)
		return err;
	if (socket_in_use(&sun))
		return -EADDRINUSE;
	/* Left by a daemon that died: nobody answers on it any more. */
	unlink(path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old_umask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old_umask);
	if (err < 0)
		goto fail;
	if (listen(fd, 16) < 0) {
		err = -errno;
		goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto fail;
	}
	s->path = strdup(path);
	if (!s->path) {
		err = -ENOMEM;
		goto fail;
	}
	s->loop = l;
	s->fd = fd;
	s->fn = fn;
	s->data = data;
	err = loop_add(l, fd, EPOLLIN, server_accept, s);
	if (err < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	if (s)
		free(s->path);
	free(s);
	close(fd);
	unlink(path);
	return err;
}

void control_server_close(struct control_server *s)
{
	if (!s)
		return;
	while (s->clients) {
		struct client *c = s->clients;

		s->clients = c->next;
		client_free(c);
	}
	loop_del(s->loop, s->fd);
	close(s->fd);
	unlink(s->path);
	free(s->path);
	free(s);
}
