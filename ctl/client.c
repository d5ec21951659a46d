#include "ctl/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* A daemon that has not answered by then is stuck; say so rather than hang. */
#define CLIENT_TIMEOUT_S 10

static int recv_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EPROTO;
		got += (size_t)n;
	}
	return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

static int client_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno ? -errno : -EIO;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno ? -errno : -EIO;

		close(fd);
		return err;
	}
	*ret_fd = fd;
	return 0;
}

int client_monitor(const char *path, const struct control_request *req, int *ret_status,
                   char **ret_msg, client_line_fn fn, void *data)
{
	struct timeval forever = {0};
	struct control_response resp = {0};
	char buf[4096];
	int fd = -1, err;

	err = client_connect(path, &fd);
	if (err < 0)
		return err;
	err = send_all(fd, req, sizeof(*req));
	if (err == 0)
		err = recv_all(fd, &resp, sizeof(resp));
	if (err == 0)
		err = control_response_check(&resp);
	if (err < 0)
		goto out;
	*ret_status = resp.status;
	/* A refusal comes with its message as a body, like any answer. */
	if (resp.status < 0 || resp.body_len) {
		size_t want = resp.body_len < sizeof(buf) - 1 ? resp.body_len : sizeof(buf) - 1;

		err = recv_all(fd, buf, want);
		if (err == 0) {
			buf[want] = '\0';
			*ret_msg = strdup(buf);
		}
		goto out;
	}
	/* Events come when they happen: no timeout from here on. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (fn(data, buf, (size_t)n) < 0)
			break;
	}
out:
	close(fd);
	return err;
}

int client_call(const char *path, const struct control_request *req, int *ret_status,
                char **ret_body)
{
	struct control_response resp = {0};
	char *body = NULL;
	int fd = -1, err;

	err = client_connect(path, &fd);
	if (err < 0)
		return err;
	err = send_all(fd, req, sizeof(*req));
	if (err < 0)
		goto out;
	err = recv_all(fd, &resp, sizeof(resp));
	if (err < 0)
		goto out;
	err = control_response_check(&resp);
	if (err < 0)
		goto out;
	body = malloc((size_t)resp.body_len + 1);
	if (!body) {
		err = -ENOMEM;
		goto out;
	}
	err = recv_all(fd, body, resp.body_len);
	if (err < 0)
		goto out;
	body[resp.body_len] = '\0';
	*ret_status = resp.status;
	*ret_body = body;
	body = NULL;
out:
	free(body);
	close(fd);
	return err;
}
