/* Netlink request/reply plumbing shared by net/addr.c and net/diag.c.
 *
 * One nl socket carries one synchronous request at a time: nl_request() sends
 * it with a fresh sequence number and reads until the kernel's ack, error or
 * end of dump. Replies with another sequence number (left over from a request
 * that timed out) are skipped, so a late answer never poisons the next one. */
#ifndef DVIPA_NET_NL_H
#define DVIPA_NET_NL_H

#include <stdint.h>
#include <sys/types.h>

#include <linux/netlink.h>

/* Big enough for any dump datagram: the kernel sizes dump messages to the
 * reader's buffer up to 32 KiB. */
#define NL_BUF_SIZE 32768
/* How long a request waits for the kernel before -ETIMEDOUT. */
#define NL_TIMEOUT_MS 5000

struct nl;

/* Called for each data message of a reply. Return 0 to go on, or a negative
 * errno to make nl_request() return it (the rest of the reply is drained). */
typedef int (*nl_msg_fn)(const struct nlmsghdr *nlh, void *arg);

/* Open a netlink socket on bus (NETLINK_ROUTE, NETLINK_SOCK_DIAG), bound to an
 * automatic port id. Returns 0 or -errno; *ret untouched on failure. */
int nl_open(int bus, struct nl **ret);
void nl_close(struct nl *n);
int nl_fd(const struct nl *n);
uint32_t nl_portid(const struct nl *n);

/* Receive one datagram from a netlink socket fd into buf. Returns its
 * length, -ESRCH for a datagram that did not come from the kernel (dropped:
 * only a privileged process could send it, but it is not ours to believe),
 * -ENOSPC when it did not fit, or -errno (-EAGAIN, -ENOBUFS, ...). */
ssize_t nl_recv(int fd, void *buf, size_t size);

/* Send the request in nlh (type and flags set by the caller; NLM_F_REQUEST,
 * the sequence number and the port id are filled here; a non-dump request
 * also gets NLM_F_ACK) and read its reply, calling fn (may be NULL) for each
 * data message. Returns 0, the kernel's -errno, -ETIMEDOUT, -EINTR when the
 * kernel flagged a dump as interrupted by a concurrent change (the caller
 * retries), or fn's error. */
int nl_request(struct nl *n, struct nlmsghdr *nlh, nl_msg_fn fn, void *arg);

/* Appends one element of size bytes at elem to the growing array *v of *n
 * elements and *cap slots (a dump collects its replies so). 0 or -ENOMEM;
 * nothing changes on failure. */
int nl_append(void *v, size_t *n, size_t *cap, const void *elem, size_t size);

/* Hands a collected array to the caller: on r < 0 frees v and returns r;
 * otherwise stores v (NULL when n is 0, v then freed) in *ret_v (the address
 * of the caller's pointer) and n in *ret_n, and returns 0. */
int nl_take(int r, void *v, size_t n, void *ret_v, size_t *ret_n);

#endif
