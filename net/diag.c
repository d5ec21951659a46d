/* TCP sockets through sock_diag (see net/diag.h). */
#include "net/diag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "net/nl.h"

#define DIAG_DUMP_TRIES 5

/* States a move breaks: everything but LISTEN, TIME_WAIT (the peer is gone
 * already) and CLOSE (not connected). NEW_SYN_RECV are the half-open
 * connections that a listener has not accepted yet. */
#define DIAG_CONN_STATES                                                                           \
	((1u << DIAG_TCP_ESTABLISHED) | (1u << DIAG_TCP_SYN_SENT) | (1u << DIAG_TCP_SYN_RECV) |    \
	 (1u << DIAG_TCP_FIN_WAIT1) | (1u << DIAG_TCP_FIN_WAIT2) | (1u << DIAG_TCP_CLOSE_WAIT) |   \
	 (1u << DIAG_TCP_LAST_ACK) | (1u << DIAG_TCP_CLOSING) | (1u << DIAG_TCP_NEW_SYN_RECV))

/* Listeners come with their socket memory figures, for the drops. */
#define DIAG_LISTEN_EXT (1u << (INET_DIAG_SKMEMINFO - 1))

struct diag_handle {
	struct nl *nl;
};

struct diag_handle *diag_open(void)
{
	struct diag_handle *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return NULL;
	r = nl_open(NETLINK_SOCK_DIAG, &d->nl);
	if (r < 0) {
		free(d);
		errno = -r;
		return NULL;
	}
	return d;
}

void diag_close(struct diag_handle *d)
{
	if (!d)
		return;
	nl_close(d->nl);
	free(d);
}

/* One socket address from the kernel's id, with ::ffff:a.b.c.d as IPv4. */
static void diag_addr(uint8_t af, const __be32 raw[4], struct ipaddr *ret)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	uint8_t b[16];

	memset(ret, 0, sizeof(*ret));
	memcpy(b, raw, 16);
	if (af == AF_INET) {
		ret->family = IPADDR_V4;
		memcpy(ret->bytes, b, 4);
	} else if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		ret->family = IPADDR_V4;
		memcpy(ret->bytes, b + 12, 4);
	} else {
		ret->family = IPADDR_V6;
		memcpy(ret->bytes, b, 16);
	}
}

/* Collects connections into an array, or only counts them when v is not
 * wanted. */
struct diag_conn_ctx {
	bool want_list;
	struct diag_conn *v;
	size_t n;
	size_t cap;
};

/* The socket a dump message describes, in *ret: 1; 0 for another kind of
 * message (skipped); -EBADMSG when it is too short or of another family. */
static int diag_msg(const struct nlmsghdr *nlh, const struct inet_diag_msg **ret)
{
	const struct inet_diag_msg *m;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return -EBADMSG;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;
	*ret = m;
	return 1;
}

static int diag_conn_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct diag_conn_ctx *c = arg;
	const struct inet_diag_msg *m;
	struct diag_conn conn;
	int r;

	r = diag_msg(nlh, &m);
	if (r <= 0)
		return r;
	if (!c->want_list) {
		c->n++;
		return 0;
	}
	memset(&conn, 0, sizeof(conn));
	diag_addr(m->idiag_family, m->id.idiag_src, &conn.local);
	diag_addr(m->idiag_family, m->id.idiag_dst, &conn.remote);
	conn.local_port = ntohs(m->id.idiag_sport);
	conn.remote_port = ntohs(m->id.idiag_dport);
	conn.state = m->idiag_state;
	return nl_append(&c->v, &c->n, &c->cap, &conn, sizeof(conn));
}

/* One dump of sockets of family af in states, keeping those whose local
 * address is addr (and port, unless 0) by a sock_diag bytecode filter:
 * a single S_COND op whose "yes" jumps exactly to the end (accept) and
 * whose "no" jumps past it (reject). */
static int diag_dump(struct diag_handle *d, int af, uint32_t states, uint8_t ext,
                     const struct ipaddr *addr, uint16_t port, nl_msg_fn fn, void *arg)
{
	char buf[256] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_DUMP;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)af;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = states;
	req->idiag_ext = ext;
	if (addr) {
		size_t alen = addr->family == IPADDR_V4 ? 4 : 16;
		size_t len =
		    sizeof(struct inet_diag_bc_op) + sizeof(struct inet_diag_hostcond) + alen;
		uint8_t bc[sizeof(struct inet_diag_bc_op) + sizeof(struct inet_diag_hostcond) + 16];
		struct inet_diag_bc_op op = {
		    .code = INET_DIAG_BC_S_COND,
		    .yes = (unsigned char)len,
		    .no = (unsigned short)(len + 4),
		};
		struct inet_diag_hostcond cond = {
		    /* An AF_INET condition also matches the mapped
		     * addresses of AF_INET6 sockets (inet_diag_bc_run). */
		    .family = addr->family == IPADDR_V4 ? AF_INET : AF_INET6,
		    .prefix_len = (uint8_t)(alen * 8),
		    .port = port ? port : -1,
		};

		memcpy(bc, &op, sizeof(op));
		memcpy(bc + sizeof(op), &cond, sizeof(cond));
		memcpy(bc + sizeof(op) + sizeof(cond), addr->bytes, alen);
		mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, len, bc);
	}
	return nl_request(d->nl, nlh, fn, arg);
}

static int diag_conn_collect(struct diag_handle *d, const struct ipaddr *addr, uint16_t port,
                             struct diag_conn_ctx *c)
{
	int r = -EINTR;

	if (addr->family != IPADDR_V4 && addr->family != IPADDR_V6)
		return -EINVAL;
	for (int i = 0; i < DIAG_DUMP_TRIES && r == -EINTR; i++) {
		c->n = 0;
		/* IPv4 connections may sit on IPv4 sockets or, mapped, on
		 * dual-stack IPv6 sockets; IPv6 ones only on IPv6 sockets. */
		r = 0;
		if (addr->family == IPADDR_V4)
			r = diag_dump(d, AF_INET, DIAG_CONN_STATES, 0, addr, port, diag_conn_cb, c);
		if (r == 0)
			r = diag_dump(d, AF_INET6, DIAG_CONN_STATES, 0, addr, port, diag_conn_cb,
			              c);
	}
	return r;
}

int diag_conns(struct diag_handle *d, const struct ipaddr *addr, uint16_t port,
               struct diag_conn **ret_v, size_t *ret_n)
{
	struct diag_conn_ctx c = {.want_list = true};
	int r;

	r = diag_conn_collect(d, addr, port, &c);
	return nl_take(r, c.v, c.n, ret_v, ret_n);
}

int diag_count_conns(struct diag_handle *d, const struct ipaddr *addr, uint16_t port,
                     size_t *ret_count)
{
	struct diag_conn_ctx c = {.want_list = false};
	int r;

	r = diag_conn_collect(d, addr, port, &c);
	if (r < 0)
		return r;
	*ret_count = c.n;
	return 0;
}

struct diag_listen_ctx {
	struct diag_listener *v;
	size_t n;
	size_t cap;
};

static int diag_listen_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, INET_DIAG_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int diag_listen_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct diag_listen_ctx *c = arg;
	const struct nlattr *tb[INET_DIAG_MAX + 1] = {0};
	const struct inet_diag_msg *m;
	struct diag_listener l;
	int r;

	r = diag_msg(nlh, &m);
	if (r <= 0)
		return r;
	if (mnl_attr_parse(nlh, sizeof(*m), diag_listen_attr_cb, tb) < 0)
		return -EBADMSG;
	memset(&l, 0, sizeof(l));
	diag_addr(m->idiag_family, m->id.idiag_src, &l.addr);
	l.port = ntohs(m->id.idiag_sport);
	l.ifindex = (int)m->id.idiag_if;
	if (tb[INET_DIAG_SKV6ONLY]) {
		if (mnl_attr_validate(tb[INET_DIAG_SKV6ONLY], MNL_TYPE_U8) < 0)
			return -EBADMSG;
		l.v6only = mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]) != 0;
	}
	/* A listener's queue lengths: the accept queue and its backlog. */
	l.queued = m->idiag_rqueue;
	l.backlog = m->idiag_wqueue;
	if (tb[INET_DIAG_SKMEMINFO] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_SKMEMINFO]) >= (SK_MEMINFO_DROPS + 1) * 4) {
		uint32_t mem[SK_MEMINFO_DROPS + 1];

		memcpy(mem, mnl_attr_get_payload(tb[INET_DIAG_SKMEMINFO]), sizeof(mem));
		l.has_drops = true;
		l.drops = mem[SK_MEMINFO_DROPS];
	}
	return nl_append(&c->v, &c->n, &c->cap, &l, sizeof(l));
}

int diag_listeners(struct diag_handle *d, struct diag_listener **ret_v, size_t *ret_n)
{
	struct diag_listen_ctx c = {0};
	int r = -EINTR;

	for (int i = 0; i < DIAG_DUMP_TRIES && r == -EINTR; i++) {
		c.n = 0;
		r = diag_dump(d, AF_INET, 1u << DIAG_TCP_LISTEN, DIAG_LISTEN_EXT, NULL, 0,
		              diag_listen_cb, &c);
		if (r == 0)
			r = diag_dump(d, AF_INET6, 1u << DIAG_TCP_LISTEN, DIAG_LISTEN_EXT, NULL, 0,
			              diag_listen_cb, &c);
	}
	return nl_take(r, c.v, c.n, ret_v, ret_n);
}

static bool diag_is_wildcard(const struct ipaddr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->bytes, zero, sizeof(zero)) == 0;
}

bool diag_listener_accepts(const struct diag_listener *l, const struct ipaddr *addr, uint16_t port)
{
	if (l->port != port)
		return false;
	if (l->addr.family == addr->family)
		return diag_is_wildcard(&l->addr) || ipaddr_equal(&l->addr, addr);
	/* An IPv6 wildcard socket without V6ONLY takes IPv4 too. */
	return l->addr.family == IPADDR_V6 && addr->family == IPADDR_V4 &&
	       diag_is_wildcard(&l->addr) && !l->v6only;
}

const char *diag_tcp_state_name(enum diag_tcp_state s)
{
	static const char *const names[DIAG_TCP_MAX] = {
	    [DIAG_TCP_ESTABLISHED] = "ESTABLISHED",
	    [DIAG_TCP_SYN_SENT] = "SYN_SENT",
	    [DIAG_TCP_SYN_RECV] = "SYN_RECV",
	    [DIAG_TCP_FIN_WAIT1] = "FIN_WAIT1",
	    [DIAG_TCP_FIN_WAIT2] = "FIN_WAIT2",
	    [DIAG_TCP_TIME_WAIT] = "TIME_WAIT",
	    [DIAG_TCP_CLOSE] = "CLOSE",
	    [DIAG_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	    [DIAG_TCP_LAST_ACK] = "LAST_ACK",
	    [DIAG_TCP_LISTEN] = "LISTEN",
	    [DIAG_TCP_CLOSING] = "CLOSING",
	    [DIAG_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
	};

	if ((unsigned)s < DIAG_TCP_MAX && names[s])
		return names[s];
	return "?";
}
