/* The neighbour table through rtnetlink (see net/neigh.h and docs/net.md). */
#include "net/neigh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "net/nl.h"

/* Attempts at a dump that the kernel flags as interrupted by a change. */
#define NEIGH_DUMP_TRIES 5

/* States in which the kernel itself sends to the cached link-layer address:
 * STALE, DELAY and PROBE only wait for a confirmation that it still holds. */
#define NEIGH_USABLE_STATES (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)

struct neigh_handle {
	struct nl *nl;
};

int neigh_open(struct neigh_handle **ret)
{
	struct neigh_handle *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	r = nl_open(NETLINK_ROUTE, &h->nl);
	if (r < 0) {
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void neigh_close(struct neigh_handle *h)
{
	if (!h)
		return;
	nl_close(h->nl);
	free(h);
}

static int neigh_family_to_af(uint8_t family)
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

/* The attributes after the ndmsg into tb[], each checked to lie inside the
 * message: libmnl's own walk stops quietly at an attribute that runs past
 * the end, which would read as "attribute absent". */
static int neigh_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	const char *p = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ndmsg));
	const char *end = (const char *)nlh + nlh->nlmsg_len;

	while (p < end) {
		const struct nlattr *attr = (const struct nlattr *)p;
		uint16_t type;

		if (!mnl_attr_ok(attr, (int)(end - p)))
			return -EBADMSG;
		type = mnl_attr_get_type(attr);
		/* Attributes we do not know are skipped: newer kernels add
		 * some. */
		if (type <= NDA_MAX)
			tb[type] = attr;
		p += MNL_ALIGN(attr->nla_len);
	}
	return 0;
}

int neigh_parse_msg(const struct nlmsghdr *nlh, int ifindex, struct neigh_entry *out)
{
	const struct nlattr *tb[NDA_MAX + 1] = {0};
	const struct ndmsg *ndm;
	struct neigh_entry e;
	size_t alen;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return -EBADMSG;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (neigh_attrs(nlh, tb) < 0)
		return -EBADMSG;
	memset(&e, 0, sizeof(e));
	if (ndm->ndm_family == AF_INET)
		e.addr.family = IPADDR_V4;
	else if (ndm->ndm_family == AF_INET6)
		e.addr.family = IPADDR_V6;
	else
		return 0;
	if (ndm->ndm_ifindex != ifindex || !tb[NDA_DST])
		return 0;
	alen = e.addr.family == IPADDR_V4 ? 4 : 16;
	if (mnl_attr_validate2(tb[NDA_DST], MNL_TYPE_BINARY, alen) < 0)
		return -EBADMSG;
	memcpy(e.addr.bytes, mnl_attr_get_payload(tb[NDA_DST]), alen);
	/* Interfaces without link-layer addresses (or other than Ethernet's)
	 * report some other length: nothing a packet could be sent to. */
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == NEIGH_MAC_LEN) {
		memcpy(e.mac, mnl_attr_get_payload(tb[NDA_LLADDR]), NEIGH_MAC_LEN);
		/* All zero (a PERMANENT entry added without one) or a group
		 * address: no host to send to. */
		static const uint8_t zero[NEIGH_MAC_LEN];

		e.usable = (ndm->ndm_state & NEIGH_USABLE_STATES) != 0 &&
		           (ndm->ndm_state & ~NEIGH_USABLE_STATES) == 0 &&
		           memcmp(e.mac, zero, NEIGH_MAC_LEN) != 0 && !(e.mac[0] & 1);
		e.stale = e.usable && ndm->ndm_state == NUD_STALE;
	}
	*out = e;
	return 1;
}

struct neigh_list_ctx {
	int ifindex;
	struct neigh_entry *v;
	size_t n;
	size_t cap;
};

static int neigh_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct neigh_list_ctx *c = arg;
	struct neigh_entry e;
	int r;

	r = neigh_parse_msg(nlh, c->ifindex, &e);
	if (r <= 0)
		return r;
	return nl_append(&c->v, &c->n, &c->cap, &e, sizeof(e));
}

int neigh_list(struct neigh_handle *h, int ifindex, struct neigh_entry **ret_v, size_t *ret_n)
{
	struct neigh_list_ctx c = {.ifindex = ifindex};
	int r = -EINTR;

	if (ifindex <= 0)
		return -EINVAL;
	for (int i = 0; i < NEIGH_DUMP_TRIES && r == -EINTR; i++) {
		char buf[64] = {0};
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct ndmsg *ndm;

		nlh->nlmsg_type = RTM_GETNEIGH;
		nlh->nlmsg_flags = NLM_F_DUMP;
		ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
		/* AF_UNSPEC dumps the ARP and the ND table in one go. The
		 * interface goes in NDA_IFINDEX, not ndm_ifindex, which a
		 * strict kernel refuses in a dump request. */
		ndm->ndm_family = AF_UNSPEC;
		mnl_attr_put_u32(nlh, NDA_IFINDEX, (uint32_t)ifindex);
		c.n = 0;
		r = nl_request(h->nl, nlh, neigh_list_cb, &c);
	}
	return nl_take(r, c.v, c.n, ret_v, ret_n);
}

const struct neigh_entry *neigh_find(const struct neigh_entry *v, size_t n,
                                     const struct ipaddr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (ipaddr_equal(&v[i].addr, addr))
			return &v[i];
	return NULL;
}

int neigh_resolve(struct neigh_handle *h, int ifindex, const struct ipaddr *addr)
{
	char buf[128] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;
	int af = neigh_family_to_af(addr->family);

	if (af < 0 || ifindex <= 0)
		return -EINVAL;
	nlh->nlmsg_type = RTM_NEWNEIGH;
	/* CREATE makes an absent entry (without it: -ENOENT); no EXCL, which
	 * would refuse an existing one; REPLACE would only matter to an
	 * update, and NTF_USE makes none. */
	nlh->nlmsg_flags = NLM_F_CREATE;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)af;
	ndm->ndm_ifindex = ifindex;
	/* NTF_USE: neigh_event_send(), what a packet waiting for the entry
	 * would do, and no state change of our own. NONE, not PERMANENT (what
	 * `ip neigh` puts by default): a PERMANENT request makes a new entry
	 * exempt from garbage collection. */
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, addr->family == IPADDR_V4 ? 4 : 16, addr->bytes);
	return nl_request(h->nl, nlh, NULL, NULL);
}
