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

int client_call(const char *path, const struct control_request *req, int *ret_status,
                char **ret_body)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_S};
	struct control_response resp;
	char *body = NULL;
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		goto out;
	}
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
