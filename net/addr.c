/* Addresses and links through rtnetlink (see net/addr.h and docs/net.md). */
#include "net/addr.h"

#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <byteswap.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "net/nl.h"

/* glibc's <net/if.h> stops at the BSD flags; <linux/if.h> clashes with it. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* The notification socket's buffer: a burst of changes (an interface flush
 * with many DVIPAs) must fit, or the caller has to re-list everything. */
#define ADDR_MON_RCVBUF (4 * 1024 * 1024)
/* Datagrams read per addr_read_events() call, so that a storm of
 * notifications cannot starve the rest of the event loop. */
#define ADDR_MON_BATCH 64
/* Attempts at a dump that the kernel flags as interrupted by a change. */
#define ADDR_DUMP_TRIES 5

struct addr_handle {
	struct nl *req;
	struct mnl_socket *mon;
	char buf[NL_BUF_SIZE];
	char out[NL_BUF_SIZE]; /* addr_refresh()'s requests */
	uint32_t refresh_seq;
	/* Refreshes the kernel refused since addr_refresh_failed() last
	 * said, and the last error. */
	size_t refresh_failed;
	int refresh_err;
};

static int addr_family_to_af(uint8_t family)
{
	switch (family) {
	case IPADDR_V4:
		return AF_INET;
	case IPADDR_V6:
		return AF_INET6;
	default:
		return -1;
	}
}

static size_t addr_family_len(uint8_t family)
{
	return family == IPADDR_V4 ? 4 : 16;
}

/* The kernel tells every listener of a refresh, the sender's own
 * notification socket too (it leaves the sender out only when asked to echo,
 * and then sends it the copy instead). A socket filter drops, on the
 * notification socket, the RTM_NEWADDR notifications of its own requests
 * (nlmsg_pid is the requester's port): addr_refresh() then costs no wake-up
 * per address. Classic BPF loads in network byte order, netlink is in host
 * order: the constants are swapped (x86 and other little-endian hosts). */
static int addr_filter_own(int fd, uint32_t portid)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t pid = bswap_32(portid), type = bswap_16(RTM_NEWADDR);
#else
	uint32_t pid = portid, type = RTM_NEWADDR;
#endif
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pid, 0, 3),
	    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, type, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

struct addr_handle *addr_open(void)
{
	static const unsigned groups[] = {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK};
	struct addr_handle *h;
	int size = ADDR_MON_RCVBUF;
	int fd;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	r = nl_open(NETLINK_ROUTE, &h->req);
	if (r < 0)
		goto out;
	h->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!h->mon) {
		r = -errno;
		goto out;
	}
	if (mnl_socket_bind(h->mon, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		unsigned g = groups[i];

		if (mnl_socket_setsockopt(h->mon, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
			r = -errno;
			goto out;
		}
	}
	fd = mnl_socket_get_fd(h->mon);
	r = addr_filter_own(fd, mnl_socket_get_portid(h->mon));
	if (r < 0)
		goto out;
	/* FORCE goes past rmem_max (we are root); plain SO_RCVBUF is the
	 * fallback that still gets rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return h;
out:
	addr_close(h);
	errno = -r;
	return NULL;
}

void addr_close(struct addr_handle *h)
{
	if (!h)
		return;
	nl_close(h->req);
	if (h->mon)
		mnl_socket_close(h->mon);
	free(h);
}

int addr_fd(const struct addr_handle *h)
{
	return mnl_socket_get_fd(h->mon);
}

static int addr_spec_check(const struct addr_spec *s)
{
	if (addr_family_to_af(s->addr.family) < 0)
		return -EINVAL;
	if (s->ifindex <= 0 || s->prefix_len > ipaddr_max_prefix(&s->addr))
		return -EINVAL;
	/* The kernel refuses both too; say so before asking it. */
	if (s->valid_lft == 0 || s->preferred_lft > s->valid_lft)
		return -EINVAL;
	return 0;
}

/* RTM_NEWADDR / RTM_DELADDR header plus the address attributes. */
static struct nlmsghdr *addr_msg(char *buf, uint16_t type, uint16_t flags, int ifindex,
                                 const struct ipaddr *a, uint8_t prefix_len, uint32_t ifa_flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = addr_family_len(a->family);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)addr_family_to_af(a->family);
	ifa->ifa_prefixlen = prefix_len;
	ifa->ifa_flags = (uint8_t)(ifa_flags & 0xff);
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* IFA_LOCAL is what IPv4 keys addresses on; IFA_ADDRESS equals it on
	 * anything but point-to-point links, and is what IPv6 reads. */
	if (a->family == IPADDR_V4)
		mnl_attr_put(nlh, IFA_LOCAL, alen, a->bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a->bytes);
	return nlh;
}

/* Builds the RTM_NEWADDR that adds or refreshes s at buf. */
static struct nlmsghdr *addr_add_msg(char *buf, const struct addr_spec *s)
{
	struct nlmsghdr *nlh;
	struct ifa_cacheinfo ci = {0};
	uint32_t flags = 0;

	if (!(s->flags & ADDR_F_PREFIX_ROUTE))
		flags |= IFA_F_NOPREFIXROUTE;
	if (s->addr.family == IPADDR_V6)
		flags |= IFA_F_NODAD;
	nlh = addr_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, s->ifindex, &s->addr,
	               s->prefix_len, flags);
	/* ifa_flags is 8 bits wide; NOPREFIXROUTE only fits in IFA_FLAGS. */
	mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	ci.ifa_valid = s->valid_lft;
	ci.ifa_prefered = s->preferred_lft;
	mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	return nlh;
}

int addr_add(struct addr_handle *h, const struct addr_spec *s)
{
	char buf[256];
	int r;

	r = addr_spec_check(s);
	if (r < 0)
		return r;
	memset(buf, 0, sizeof(buf));
	return nl_request(h->req, addr_add_msg(buf, s), NULL, NULL);
}

/* Room one refresh request takes at most. */
#define ADDR_REFRESH_MSG_MAX 128

int addr_refresh(struct addr_handle *h, const struct addr_spec *v, size_t n)
{
	int fd = mnl_socket_get_fd(h->mon);
	size_t used = 0;

	for (size_t i = 0; i <= n; i++) {
		struct nlmsghdr *nlh;
		int r;

		/* Full, or the end: one datagram; the kernel handles each
		 * request before sendto() returns. */
		if (used && (i == n || used + ADDR_REFRESH_MSG_MAX > sizeof(h->out))) {
			if (send(fd, h->out, used, 0) < 0)
				return -errno;
			used = 0;
		}
		if (i == n)
			break;
		r = addr_spec_check(&v[i]);
		if (r < 0)
			return r;
		memset(h->out + used, 0, ADDR_REFRESH_MSG_MAX);
		nlh = addr_add_msg(h->out + used, &v[i]);
		/* No NLM_F_ACK: only a refusal answers, as an NLMSG_ERROR
		 * that addr_read_events() counts. */
		nlh->nlmsg_flags |= NLM_F_REQUEST;
		nlh->nlmsg_seq = ++h->refresh_seq;
		used += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return 0;
}

size_t addr_refresh_failed(struct addr_handle *h, int *ret_err)
{
	size_t n = h->refresh_failed;

	*ret_err = h->refresh_err;
	h->refresh_failed = 0;
	return n;
}

int addr_del(struct addr_handle *h, int ifindex, const struct ipaddr *addr, uint8_t prefix_len)
{
	char buf[256];
	struct nlmsghdr *nlh;

	if (addr_family_to_af(addr->family) < 0 || ifindex <= 0 ||
	    prefix_len > ipaddr_max_prefix(addr))
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	nlh = addr_msg(buf, RTM_DELADDR, 0, ifindex, addr, prefix_len, 0);
	return nl_request(h->req, nlh, NULL, NULL);
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	/* Attributes we do not know are skipped, not refused: newer kernels
	 * add some. */
	if (mnl_attr_type_valid(attr, IFA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* Parse an RTM_NEWADDR/RTM_DELADDR message. Returns 0, -EAFNOSUPPORT for a
 * family other than IPv4/IPv6 (skipped by callers), or -EBADMSG. */
static int addr_parse(const struct nlmsghdr *nlh, struct addr_info *ret)
{
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	struct addr_info info = {0};
	size_t alen;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family == AF_INET)
		info.addr.family = IPADDR_V4;
	else if (ifa->ifa_family == AF_INET6)
		info.addr.family = IPADDR_V6;
	else
		return -EAFNOSUPPORT;
	if (mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb) < 0)
		return -EBADMSG;
	alen = addr_family_len(info.addr.family);
	/* On a point-to-point link IFA_ADDRESS is the peer; IFA_LOCAL is ours. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != alen)
		return -EBADMSG;
	memcpy(info.addr.bytes, mnl_attr_get_payload(a), alen);
	if (ifa->ifa_prefixlen > ipaddr_max_prefix(&info.addr))
		return -EBADMSG;
	info.ifindex = (int)ifa->ifa_index;
	info.prefix_len = ifa->ifa_prefixlen;
	info.scope = ifa->ifa_scope;
	info.flags = ifa->ifa_flags;
	if (tb[IFA_FLAGS]) {
		if (mnl_attr_validate(tb[IFA_FLAGS], MNL_TYPE_U32) < 0)
			return -EBADMSG;
		info.flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	}
	info.valid_lft = ADDR_LIFETIME_FOREVER;
	info.preferred_lft = ADDR_LIFETIME_FOREVER;
	if (tb[IFA_CACHEINFO]) {
		struct ifa_cacheinfo ci;

		if (mnl_attr_get_payload_len(tb[IFA_CACHEINFO]) < sizeof(ci))
			return -EBADMSG;
		memcpy(&ci, mnl_attr_get_payload(tb[IFA_CACHEINFO]), sizeof(ci));
		/* The kernel reports what is left, not what was asked. */
		info.valid_lft = ci.ifa_valid;
		info.preferred_lft = ci.ifa_prefered;
	}
	*ret = info;
	return 0;
}

struct addr_list_ctx {
	int ifindex;
	struct addr_info *v;
	size_t n;
	size_t cap;
};

static int addr_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_list_ctx *c = arg;
	struct addr_info info;
	int r;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	r = addr_parse(nlh, &info);
	if (r == -EAFNOSUPPORT)
		return 0;
	if (r < 0)
		return r;
	if (c->ifindex != 0 && info.ifindex != c->ifindex)
		return 0;
	return nl_append(&c->v, &c->n, &c->cap, &info, sizeof(info));
}

int addr_list(struct addr_handle *h, int ifindex, struct addr_info **ret_v, size_t *ret_n)
{
	struct addr_list_ctx c = {.ifindex = ifindex};
	int r = -EINTR;

	if (ifindex < 0)
		return -EINVAL;
	for (int i = 0; i < ADDR_DUMP_TRIES && r == -EINTR; i++) {
		char buf[64] = {0};
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct ifaddrmsg *ifa;

		nlh->nlmsg_type = RTM_GETADDR;
		nlh->nlmsg_flags = NLM_F_DUMP;
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		/* AF_UNSPEC dumps IPv4 and IPv6 in one go. */
		ifa->ifa_family = AF_UNSPEC;
		c.n = 0;
		r = nl_request(h->req, nlh, addr_list_cb, &c);
	}
	return nl_take(r, c.v, c.n, ret_v, ret_n);
}

static int addr_link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int addr_link_parse(const struct nlmsghdr *nlh, struct addr_link *ret)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifi;
	struct addr_link l = {0};

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifi), addr_link_attr_cb, tb) < 0)
		return -EBADMSG;
	l.ifindex = ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	l.type = ifi->ifi_type;
	if (tb[IFLA_IFNAME]) {
		if (mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(tb[IFLA_IFNAME]) > sizeof(l.name))
			return -EBADMSG;
		snprintf(l.name, sizeof(l.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	}
	if (tb[IFLA_MTU]) {
		if (mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) < 0)
			return -EBADMSG;
		l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	}
	if (tb[IFLA_OPERSTATE]) {
		if (mnl_attr_validate(tb[IFLA_OPERSTATE], MNL_TYPE_U8) < 0)
			return -EBADMSG;
		l.operstate = mnl_attr_get_u8(tb[IFLA_OPERSTATE]);
	}
	if (tb[IFLA_ADDRESS]) {
		uint16_t len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);

		if (len > sizeof(l.hwaddr))
			return -EBADMSG;
		memcpy(l.hwaddr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), len);
		l.hwaddr_len = (uint8_t)len;
	}
	*ret = l;
	return 0;
}

struct addr_link_ctx {
	int ifindex;
	bool found;
	struct addr_link link;
};

static int addr_link_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_link_ctx *c = arg;
	struct addr_link l;
	int r;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	r = addr_link_parse(nlh, &l);
	if (r < 0)
		return r;
	if (l.ifindex != c->ifindex)
		return 0;
	c->link = l;
	c->found = true;
	return 0;
}

int addr_link_get(struct addr_handle *h, int ifindex, struct addr_link *ret)
{
	char buf[128] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct addr_link_ctx c = {.ifindex = ifindex};
	struct ifinfomsg *ifi;
	int r;

	if (ifindex <= 0)
		return -EINVAL;
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = 0;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	/* Counters are most of the message and we have no use for them. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = nl_request(h->req, nlh, addr_link_cb, &c);
	if (r < 0)
		return r;
	if (!c.found)
		return -ENODEV;
	*ret = c.link;
	return 0;
}

int addr_ifindex(const char *name)
{
	unsigned idx;

	if (!name || !*name || strlen(name) >= ADDR_IFNAME_MAX)
		return -EINVAL;
	idx = if_nametoindex(name);
	if (idx == 0)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	return (int)idx;
}

bool addr_link_is_up(const struct addr_link *l)
{
	return (l->flags & IFF_UP) && (l->flags & IFF_LOWER_UP);
}

/* Turn one notification into an event; 0 when there is one, 1 to skip. */
static int addr_event_parse(const struct nlmsghdr *nlh, struct addr_event *ev)
{
	struct addr_link l;
	int r;

	memset(ev, 0, sizeof(*ev));
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		r = addr_parse(nlh, &ev->addr);
		if (r == -EAFNOSUPPORT)
			return 1;
		if (r < 0)
			return r;
		ev->type = nlh->nlmsg_type == RTM_NEWADDR ? ADDR_EVENT_NEW : ADDR_EVENT_DEL;
		ev->ifindex = ev->addr.ifindex;
		return 0;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		r = addr_link_parse(nlh, &l);
		if (r < 0)
			return r;
		ev->type = ADDR_EVENT_LINK;
		ev->ifindex = l.ifindex;
		ev->link_removed = nlh->nlmsg_type == RTM_DELLINK;
		ev->link_up = !ev->link_removed && addr_link_is_up(&l);
		return 0;
	default:
		return 1;
	}
}

int addr_read_events(struct addr_handle *h, addr_event_fn fn, void *arg)
{
	for (int i = 0; i < ADDR_MON_BATCH; i++) {
		ssize_t len = nl_recv(mnl_socket_get_fd(h->mon), h->buf, sizeof(h->buf));
		const struct nlmsghdr *nlh;
		int left;

		if (len == -EAGAIN || len == -EWOULDBLOCK)
			return 0;
		if (len == -EINTR || len == -ESRCH)
			continue;
		if (len < 0)
			return (int)len;
		left = (int)len;
		for (nlh = (const struct nlmsghdr *)h->buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			struct addr_event ev;

			/* A refusal of one of addr_refresh()'s requests. */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*e) && e->error) {
					h->refresh_failed++;
					h->refresh_err = e->error;
				}
				continue;
			}
			/* A malformed notification is dropped, not fatal: the
			 * next full listing corrects whatever it said. */
			if (addr_event_parse(nlh, &ev) == 0)
				fn(&ev, arg);
		}
	}
	return 0;
}

const char *addr_event_type_name(enum addr_event_type t)
{
	switch (t) {
	case ADDR_EVENT_NEW:
		return "new";
	case ADDR_EVENT_DEL:
		return "del";
	case ADDR_EVENT_LINK:
		return "link";
	default:
		return "?";
	}
}
