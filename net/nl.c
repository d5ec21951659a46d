/* Netlink request/reply plumbing (see net/nl.h). */
#include "net/nl.h"

#include "core/array.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	char buf[NL_BUF_SIZE];
};

int nl_open(int bus, struct nl **ret)
{
	struct timeval tv = {.tv_sec = NL_TIMEOUT_MS / 1000,
	                     .tv_usec = (NL_TIMEOUT_MS % 1000) * 1000};
	struct nl *n;
	int one = 1;
	int r;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!n->sock) {
		r = -errno;
		goto out;
	}
	if (mnl_socket_bind(n->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	/* A kernel that never answers must not hang the daemon's loop. */
	if (setsockopt(mnl_socket_get_fd(n->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		goto out;
	}
	/* Acks without a copy of the request: smaller, and we never read it.
	 * Older kernels lack it, which only costs bytes. */
	(void)mnl_socket_setsockopt(n->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	n->portid = mnl_socket_get_portid(n->sock);
	/* Start where a previous instance of the process is unlikely to have
	 * left off, so that its stray replies never match. */
	n->seq = (uint32_t)time(NULL);
	*ret = n;
	return 0;
out:
	nl_close(n);
	return r;
}

void nl_close(struct nl *n)
{
	if (!n)
		return;
	if (n->sock)
		mnl_socket_close(n->sock);
	free(n);
}

int nl_fd(const struct nl *n)
{
	return mnl_socket_get_fd(n->sock);
}

uint32_t nl_portid(const struct nl *n)
{
	return n->portid;
}

ssize_t nl_recv(int fd, void *buf, size_t size)
{
	struct sockaddr_nl from;
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr msg = {
	    .msg_name = &from,
	    .msg_namelen = sizeof(from),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};
	ssize_t len;

	len = recvmsg(fd, &msg, 0);
	if (len < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -ENOSPC;
	if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
		return -ESRCH;
	return len;
}

/* Outcome of one message of a reply. */
enum nl_step {
	NL_MORE, /* keep reading */
	NL_END,  /* the reply is complete */
};

static enum nl_step nl_handle(const struct nlmsghdr *nlh, bool dump, nl_msg_fn fn, void *arg,
                              int *err, bool *intr)
{
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		*intr = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return NL_MORE;
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
			if (*err == 0)
				*err = -EBADMSG;
			return NL_END;
		}
		if (e->error < 0 && *err == 0)
			*err = e->error;
		/* An ack (error 0) ends a plain request; a dump ends with DONE,
		 * but a failed dump ends with an error. */
		return (!dump || e->error != 0) ? NL_END : NL_MORE;
	}
	case NLMSG_DONE:
		/* The kernel may put the dump's error in DONE's payload. */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
			int v;

			memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
			if (v < 0 && *err == 0)
				*err = v;
		}
		return NL_END;
	case NLMSG_OVERRUN:
		if (*err == 0)
			*err = -EOVERFLOW;
		return NL_END;
	default:
		if (fn && *err == 0)
			*err = fn(nlh, arg);
		return NL_MORE;
	}
}

int nl_request(struct nl *n, struct nlmsghdr *nlh, nl_msg_fn fn, void *arg)
{
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	bool intr = false;
	uint32_t seq;
	int err = 0;

	seq = ++n->seq;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	nlh->nlmsg_flags |= NLM_F_REQUEST;
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(n->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		ssize_t len = nl_recv(mnl_socket_get_fd(n->sock), n->buf, sizeof(n->buf));
		const struct nlmsghdr *m;
		int left;

		if (len == -EINTR || len == -ESRCH)
			continue;
		if (len == -EAGAIN || len == -EWOULDBLOCK)
			return -ETIMEDOUT;
		if (len < 0)
			return (int)len;
		left = (int)len;
		for (m = (const struct nlmsghdr *)n->buf; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			/* A late reply to an earlier request that timed out. */
			if (m->nlmsg_seq != seq)
				continue;
			if (nl_handle(m, dump, fn, arg, &err, &intr) == NL_END)
				return err ? err : (intr ? -EINTR : 0);
		}
	}
}

int nl_append(void *v, size_t *n, size_t *cap, const void *elem, size_t size)
{
	void **array = v;

	if (array_grow(v, cap, *n + 1, size) < 0)
		return -ENOMEM;
	memcpy((char *)*array + *n * size, elem, size);
	(*n)++;
	return 0;
}

int nl_take(int r, void *v, size_t n, void *ret_v, size_t *ret_n)
{
	void **out = ret_v;

	if (r < 0 || n == 0)
		free(v);
	if (r < 0)
		return r;
	*out = n ? v : NULL;
	*ret_n = n;
	return 0;
}
