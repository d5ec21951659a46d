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

#include "daemon/log.h"

/* A client that has not sent its request within this time is dropped, so a
 * stuck client cannot hold a slot forever. */
#define CLIENT_TIMEOUT_MS 5000
#define CLIENTS_MAX       32

struct client {
	int fd;
	uint64_t deadline_ms;
	struct control_request req;
	size_t req_got;
	char *out; /* response header + body */
	size_t out_len, out_done;
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
};

/* Frees a client already taken off the server's list. */
static void client_free(struct client *c)
{
	struct control_server *s = c->server;

	s->n_clients--;
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
			break;
		}
		c->out_done += (size_t)n;
	}
	client_close(c);
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

static void client_ready(int fd, uint32_t events, void *data)
{
	struct client *c = data;
	ssize_t n;

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
