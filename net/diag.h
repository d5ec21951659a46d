/* TCP sockets on this node through sock_diag (NETLINK_SOCK_DIAG): which
 * connections use a DVIPA (MOVEABLE WHENIDLE waits for them to end, the
 * QUIESCING display counts them, and later a new distributor rebuilds its
 * flow table from them), and which ports have a listener.
 *
 * Everything is per network namespace: the caller's. Connections that a
 * dual-stack IPv6 socket carries for IPv4 peers (::ffff:a.b.c.d) are
 * reported as IPv4. */
#ifndef DVIPA_NET_DIAG_H
#define DVIPA_NET_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* The kernel's TCP states (include/net/tcp_states.h), as reported. */
enum diag_tcp_state {
	DIAG_TCP_ESTABLISHED = 1,
	DIAG_TCP_SYN_SENT,
	DIAG_TCP_SYN_RECV,
	DIAG_TCP_FIN_WAIT1,
	DIAG_TCP_FIN_WAIT2,
	DIAG_TCP_TIME_WAIT,
	DIAG_TCP_CLOSE,
	DIAG_TCP_CLOSE_WAIT,
	DIAG_TCP_LAST_ACK,
	DIAG_TCP_LISTEN,
	DIAG_TCP_CLOSING,
	DIAG_TCP_NEW_SYN_RECV,
	DIAG_TCP_MAX
};

struct diag_conn {
	struct ipaddr local;
	uint16_t local_port;
	struct ipaddr remote;
	uint16_t remote_port;
	uint8_t state; /* enum diag_tcp_state */
};

struct diag_listener {
	struct ipaddr addr; /* all zero: the family's wildcard */
	uint16_t port;
	bool v6only; /* an IPv6 socket that refuses IPv4 (IPV6_V6ONLY) */
	int ifindex; /* SO_BINDTODEVICE, 0 = any interface */
	/* How its server keeps up: connections waiting in its accept queue
	 * for accept(), and listen()'s backlog (the queue holds one more); the
	 * connections it dropped since it was created (accept queue overflows
	 * and SYNs dropped: SK_MEMINFO_DROPS), when the kernel says. */
	uint32_t queued, backlog;
	bool has_drops;
	uint32_t drops;
};

struct diag_handle;

/* NULL and errno on failure. */
struct diag_handle *diag_open(void);
void diag_close(struct diag_handle *d);

/* The TCP connections whose local address is addr (and local port is port,
 * unless port is 0), in every state that a move would break: all but
 * LISTEN, TIME_WAIT and CLOSE. The filter runs in the kernel. One malloc'd
 * array the caller frees with free(); NULL when empty. Returns 0 or -errno;
 * outputs untouched on failure. */
int diag_conns(struct diag_handle *d, const struct ipaddr *addr, uint16_t port,
               struct diag_conn **ret_v, size_t *ret_n);
/* The same, counted only. */
int diag_count_conns(struct diag_handle *d, const struct ipaddr *addr, uint16_t port,
                     size_t *ret_count);

/* Every listening TCP socket of the namespace, IPv4 and IPv6. One malloc'd
 * array the caller frees with free(); NULL when empty. */
int diag_listeners(struct diag_handle *d, struct diag_listener **ret_v, size_t *ret_n);
/* True when listener l takes connections to addr:port: same address, or the
 * family's wildcard, or the IPv6 wildcard of a socket that is not v6only
 * for an IPv4 address. Pure. */
bool diag_listener_accepts(const struct diag_listener *l, const struct ipaddr *addr, uint16_t port);

const char *diag_tcp_state_name(enum diag_tcp_state s);

#endif
