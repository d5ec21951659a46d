/* net/neigh.c on hand-built netlink messages.
 *
 * The unit-test binary links core (and libmnl) only, so the neighbour code
 * and the netlink plumbing it uses are included here; nl_request() is
 * replaced by a fake that keeps the request and answers with scripted dump
 * messages. What the kernel does with the requests is in docs/net.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/nl.h"

struct nl;
static int fake_nl_request(struct nl *n, struct nlmsghdr *nlh, nl_msg_fn fn, void *arg);

#define nl_request fake_nl_request
#include "net/neigh.c"
#undef nl_request
#include "net/nl.c"

#include "tests/unit/unit.h"

/* ---- message building --------------------------------------------------- */

#define MSG_SIZE 256

struct msg {
	char buf[MSG_SIZE] __attribute__((aligned(4)));
};

static struct nlmsghdr *msg_start(struct msg *m, uint16_t type, uint8_t af, int ifindex,
                                  uint16_t state)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	memset(m->buf, 0, sizeof(m->buf));
	nlh = mnl_nlmsg_put_header(m->buf);
	nlh->nlmsg_type = type;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = af;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = state;
	return nlh;
}

static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 0x07};

/* An entry as the kernel sends it: address, and a MAC in the valid states. */
static struct nlmsghdr *msg_entry(struct msg *m, const char *addr, int ifindex, uint16_t state,
                                  const uint8_t *mac, size_t mac_len)
{
	struct ipaddr a;
	struct nlmsghdr *nlh;

	if (ipaddr_parse(addr, &a) < 0)
		abort();
	nlh =
	    msg_start(m, RTM_NEWNEIGH, a.family == IPADDR_V4 ? AF_INET : AF_INET6, ifindex, state);
	mnl_attr_put(nlh, NDA_DST, a.family == IPADDR_V4 ? 4 : 16, a.bytes);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, mac_len, mac);
	mnl_attr_put_u32(nlh, NDA_PROBES, 0);
	return nlh;
}

static bool entry_is(const struct neigh_entry *e, const char *addr)
{
	struct ipaddr a;

	return ipaddr_parse(addr, &a) == 0 && ipaddr_equal(&e->addr, &a);
}

/* ---- the fake nl_request ------------------------------------------------ */

#define FAKE_REPLIES_MAX 8
#define FAKE_MSGS_MAX    4

struct fake_reply {
	const struct nlmsghdr *msgs[FAKE_MSGS_MAX];
	size_t n_msgs;
	int r; /* what nl_request returns after the messages */
};

static struct {
	struct fake_reply replies[FAKE_REPLIES_MAX];
	size_t n_replies, next;
	struct msg last_request;
	size_t requests;
} fake;

static void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

static int fake_nl_request(struct nl *n, struct nlmsghdr *nlh, nl_msg_fn fn, void *arg)
{
	const struct fake_reply *rep;
	int err = 0;

	(void)n;
	fake.requests++;
	if (nlh->nlmsg_len <= sizeof(fake.last_request.buf))
		memcpy(fake.last_request.buf, nlh, nlh->nlmsg_len);
	if (fake.next >= fake.n_replies)
		return -ETIMEDOUT;
	rep = &fake.replies[fake.next++];
	for (size_t i = 0; i < rep->n_msgs && err == 0; i++)
		if (fn)
			err = fn(rep->msgs[i], arg);
	return err ? err : rep->r;
}

static const struct ndmsg *request_ndm(void)
{
	return mnl_nlmsg_get_payload((const struct nlmsghdr *)fake.last_request.buf);
}

/* The request's attribute of type, or NULL. */
static const struct nlattr *request_attr(uint16_t type)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)fake.last_request.buf;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct ndmsg))
	{
		if (mnl_attr_get_type(attr) == type)
			return attr;
	}
	return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

TEST(neigh_parse_ipv4_reachable)
{
	struct msg m;
	struct neigh_entry e;

	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6), 3, &e), 1);
	CHECK(entry_is(&e, "192.0.2.7"));
	CHECK_INT(e.addr.family, IPADDR_V4);
	CHECK(memcmp(e.mac, mac1, 6) == 0);
	CHECK(e.usable);
}

TEST(neigh_parse_ipv6_stale_and_other_usable_states)
{
	static const uint16_t states[] = {NUD_STALE, NUD_DELAY, NUD_PROBE, NUD_PERMANENT};
	struct msg m;
	struct neigh_entry e;

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		CHECK_INT(
		    neigh_parse_msg(msg_entry(&m, "2001:db8::7", 3, states[i], mac1, 6), 3, &e), 1);
		CHECK(entry_is(&e, "2001:db8::7"));
		CHECK_INT(e.addr.family, IPADDR_V6);
		CHECK(memcmp(e.mac, mac1, 6) == 0);
		CHECK(e.usable);
		/* Only STALE asks to be probed again. */
		CHECK(e.stale == (states[i] == NUD_STALE));
	}
}

/* A MAC no host has: all zero (a PERMANENT entry added without one), or a
 * group address. */
TEST(neigh_parse_no_host_mac)
{
	static const uint8_t zero[6], group[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
	struct msg m;
	struct neigh_entry e;

	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_PERMANENT, zero, 6), 3, &e), 1);
	CHECK(!e.usable && !e.stale);
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_STALE, group, 6), 3, &e), 1);
	CHECK(!e.usable && !e.stale);
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6), 3, &e), 1);
	CHECK(e.usable && !e.stale);
}

TEST(neigh_parse_unusable_states)
{
	static const uint16_t states[] = {NUD_FAILED, NUD_INCOMPLETE, NUD_NONE, NUD_NOARP,
	                                  NUD_STALE | NUD_FAILED};
	struct msg m;
	struct neigh_entry e;

	/* FAILED and INCOMPLETE come without NDA_LLADDR from the kernel. */
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.9", 3, NUD_FAILED, NULL, 0), 3, &e), 1);
	CHECK(entry_is(&e, "192.0.2.9"));
	CHECK(!e.usable);
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.9", 3, NUD_INCOMPLETE, NULL, 0), 3, &e),
	          1);
	CHECK(!e.usable);
	/* NOARP has one (the device's broadcast, or zeros), but no neighbour
	 * answered for it. */
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.9", 3, states[i], mac1, 6), 3, &e),
		          1);
		CHECK(!e.usable);
	}
}

TEST(neigh_parse_lladdr_of_wrong_length)
{
	static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct msg m;
	struct neigh_entry e;

	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, eight, 4), 3, &e),
	          1);
	CHECK(entry_is(&e, "192.0.2.7"));
	CHECK(!e.usable);
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, eight, 8), 3, &e),
	          1);
	CHECK(!e.usable);
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 3, NUD_NOARP, eight, 0), 3, &e), 1);
	CHECK(!e.usable);
}

TEST(neigh_parse_skips)
{
	struct msg m;
	struct nlmsghdr *nlh;
	struct neigh_entry e = {.usable = true};
	static const uint8_t dst[4] = {192, 0, 2, 7};

	/* Another interface. */
	CHECK_INT(neigh_parse_msg(msg_entry(&m, "192.0.2.7", 4, NUD_REACHABLE, mac1, 6), 3, &e), 0);
	/* No NDA_DST. */
	nlh = msg_start(&m, RTM_NEWNEIGH, AF_INET, 3, NUD_REACHABLE);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac1);
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), 0);
	/* Another family (a bridge's forwarding entry). */
	nlh = msg_start(&m, RTM_NEWNEIGH, AF_BRIDGE, 3, NUD_REACHABLE);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac1);
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), 0);
	/* Another message type. */
	nlh = msg_start(&m, RTM_NEWADDR, AF_INET, 3, 0);
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), 0);
	CHECK(e.usable); /* untouched */
	/* Attributes of newer kernels are skipped, not refused. */
	nlh = msg_start(&m, RTM_NEWNEIGH, AF_INET, 3, NUD_REACHABLE);
	mnl_attr_put_u32(nlh, NDA_MAX + 5, 1);
	mnl_attr_put(nlh, NDA_DST, 4, dst);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac1);
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), 1);
	CHECK(entry_is(&e, "192.0.2.7"));
	CHECK(e.usable);
}

TEST(neigh_parse_malformed)
{
	struct msg m;
	struct nlmsghdr *nlh;
	struct nlattr *attr;
	struct neigh_entry e = {.usable = true};
	static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8};

	/* The last attribute claims more than the message holds. */
	nlh = msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6);
	attr = (struct nlattr *)((char *)nlh + nlh->nlmsg_len - MNL_ALIGN(sizeof(*attr) + 4));
	attr->nla_len += 4;
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	/* Cut in the middle of an attribute (NDA_LLADDR). */
	nlh = msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6);
	nlh->nlmsg_len -= 8 + 3;
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	/* An attribute header shorter than itself. */
	nlh = msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6);
	attr = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ndmsg));
	attr->nla_len = 2;
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	/* Trailing bytes too few for an attribute. */
	nlh = msg_entry(&m, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6);
	nlh->nlmsg_len += 2;
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	/* An address of the other family's size. */
	nlh = msg_start(&m, RTM_NEWNEIGH, AF_INET, 3, NUD_REACHABLE);
	mnl_attr_put(nlh, NDA_DST, 16, dst);
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	nlh = msg_start(&m, RTM_NEWNEIGH, AF_INET6, 3, NUD_REACHABLE);
	mnl_attr_put(nlh, NDA_DST, 4, dst);
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	/* A header shorter than struct ndmsg. */
	nlh = msg_start(&m, RTM_NEWNEIGH, AF_INET, 3, NUD_REACHABLE);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	CHECK_INT(neigh_parse_msg(nlh, 3, &e), -EBADMSG);
	CHECK(e.usable); /* untouched */
}

TEST(neigh_find_by_address)
{
	struct neigh_entry v[3];
	struct ipaddr a;

	memset(v, 0, sizeof(v));
	CHECK_INT(ipaddr_parse("192.0.2.7", &v[0].addr), 0);
	CHECK_INT(ipaddr_parse("2001:db8::7", &v[1].addr), 0);
	CHECK_INT(ipaddr_parse("192.0.2.8", &v[2].addr), 0);
	CHECK_INT(ipaddr_parse("192.0.2.8", &a), 0);
	CHECK(neigh_find(v, 3, &a) == &v[2]);
	CHECK_INT(ipaddr_parse("2001:db8::7", &a), 0);
	CHECK(neigh_find(v, 3, &a) == &v[1]);
	CHECK_INT(ipaddr_parse("192.0.2.9", &a), 0);
	CHECK(neigh_find(v, 3, &a) == NULL);
	CHECK(neigh_find(NULL, 0, &a) == NULL);
	/* The same bytes in the other family are another address. */
	memset(&a, 0, sizeof(a));
	a.family = IPADDR_V6;
	memcpy(a.bytes, v[0].addr.bytes, 4);
	CHECK(neigh_find(v, 3, &a) == NULL);
}

/* ---- requests ----------------------------------------------------------- */

TEST(neigh_list_request_and_filter)
{
	struct neigh_handle h = {0};
	struct msg m1, m2, m3, m4;
	struct neigh_entry *v = NULL;
	size_t n = 0;
	const struct nlattr *attr;

	fake_reset();
	fake.replies[0] = (struct fake_reply){
	    .msgs = {msg_entry(&m1, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6),
	             msg_entry(&m2, "192.0.2.8", 4, NUD_REACHABLE, mac1, 6),
	             msg_entry(&m3, "2001:db8::7", 3, NUD_FAILED, NULL, 0),
	             msg_start(&m4, RTM_NEWADDR, AF_INET, 3, 0)},
	    .n_msgs = 4,
	};
	fake.n_replies = 1;
	CHECK_INT(neigh_list(&h, 3, &v, &n), 0);
	CHECK_INT(n, 2);
	CHECK(entry_is(&v[0], "192.0.2.7") && v[0].usable);
	CHECK(entry_is(&v[1], "2001:db8::7") && !v[1].usable);
	free(v);
	/* One dump of both families, the interface in NDA_IFINDEX. */
	CHECK_INT(((struct nlmsghdr *)fake.last_request.buf)->nlmsg_type, RTM_GETNEIGH);
	CHECK(((struct nlmsghdr *)fake.last_request.buf)->nlmsg_flags & NLM_F_DUMP);
	CHECK_INT(request_ndm()->ndm_family, AF_UNSPEC);
	CHECK_INT(request_ndm()->ndm_ifindex, 0);
	attr = request_attr(NDA_IFINDEX);
	CHECK(attr != NULL);
	CHECK_INT(mnl_attr_get_u32(attr), 3);

	CHECK_INT(neigh_list(&h, 0, &v, &n), -EINVAL);
}

TEST(neigh_list_retries_interrupted_dumps)
{
	struct neigh_handle h = {0};
	struct msg m1, m2, m3;
	struct neigh_entry *v = NULL, marker;
	size_t n = 0;

	/* The entries of an interrupted dump are dropped, not kept twice. */
	fake_reset();
	msg_entry(&m1, "192.0.2.7", 3, NUD_REACHABLE, mac1, 6);
	msg_entry(&m2, "192.0.2.8", 3, NUD_STALE, mac1, 6);
	fake.replies[0] =
	    (struct fake_reply){.msgs = {(struct nlmsghdr *)m1.buf, (struct nlmsghdr *)m2.buf},
	                        .n_msgs = 2,
	                        .r = -EINTR};
	fake.replies[1] = (struct fake_reply){
	    .msgs = {(struct nlmsghdr *)m1.buf, (struct nlmsghdr *)m2.buf}, .n_msgs = 2};
	fake.n_replies = 2;
	CHECK_INT(neigh_list(&h, 3, &v, &n), 0);
	CHECK_INT(fake.requests, 2);
	CHECK_INT(n, 2);
	free(v);

	/* Interrupted every time: -EINTR, outputs untouched. */
	fake_reset();
	for (size_t i = 0; i < FAKE_REPLIES_MAX; i++)
		fake.replies[i] = (struct fake_reply){
		    .msgs = {(struct nlmsghdr *)m1.buf}, .n_msgs = 1, .r = -EINTR};
	fake.n_replies = FAKE_REPLIES_MAX;
	v = &marker;
	n = 42;
	CHECK_INT(neigh_list(&h, 3, &v, &n), -EINTR);
	CHECK_INT(fake.requests, NEIGH_DUMP_TRIES);
	CHECK(v == &marker && n == 42);

	/* A malformed message ends the listing. */
	fake_reset();
	msg_entry(&m3, "192.0.2.9", 3, NUD_REACHABLE, mac1, 6);
	((struct nlmsghdr *)m3.buf)->nlmsg_len += 2;
	fake.replies[0] = (struct fake_reply){
	    .msgs = {(struct nlmsghdr *)m1.buf, (struct nlmsghdr *)m3.buf}, .n_msgs = 2};
	fake.n_replies = 1;
	CHECK_INT(neigh_list(&h, 3, &v, &n), -EBADMSG);
	CHECK(v == &marker && n == 42);

	/* Nothing there: NULL. */
	fake_reset();
	fake.n_replies = 1;
	CHECK_INT(neigh_list(&h, 3, &v, &n), 0);
	CHECK(v == NULL && n == 0);
}

TEST(neigh_resolve_request)
{
	struct neigh_handle h = {0};
	const struct nlmsghdr *req = (const struct nlmsghdr *)fake.last_request.buf;
	const struct nlattr *attr;
	struct ipaddr a;

	fake_reset();
	fake.n_replies = 2;
	CHECK_INT(ipaddr_parse("192.0.2.9", &a), 0);
	CHECK_INT(neigh_resolve(&h, 3, &a), 0);
	CHECK_INT(req->nlmsg_type, RTM_NEWNEIGH);
	/* Create when absent, never refuse an existing entry. */
	CHECK_INT(req->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_REPLACE), NLM_F_CREATE);
	CHECK_INT(request_ndm()->ndm_family, AF_INET);
	CHECK_INT(request_ndm()->ndm_ifindex, 3);
	CHECK_INT(request_ndm()->ndm_flags, NTF_USE);
	CHECK_INT(request_ndm()->ndm_state, NUD_NONE);
	attr = request_attr(NDA_DST);
	CHECK(attr != NULL);
	CHECK_INT(mnl_attr_get_payload_len(attr), 4);
	CHECK(memcmp(mnl_attr_get_payload(attr), a.bytes, 4) == 0);
	CHECK(request_attr(NDA_LLADDR) == NULL);

	CHECK_INT(ipaddr_parse("2001:db8::9", &a), 0);
	CHECK_INT(neigh_resolve(&h, 3, &a), 0);
	CHECK_INT(request_ndm()->ndm_family, AF_INET6);
	attr = request_attr(NDA_DST);
	CHECK(attr != NULL);
	CHECK_INT(mnl_attr_get_payload_len(attr), 16);
	CHECK(memcmp(mnl_attr_get_payload(attr), a.bytes, 16) == 0);

	/* Refused before asking the kernel. */
	CHECK_INT(neigh_resolve(&h, 0, &a), -EINVAL);
	memset(&a, 0, sizeof(a));
	CHECK_INT(neigh_resolve(&h, 3, &a), -EINVAL);
	CHECK_INT(fake.requests, 2);
}
