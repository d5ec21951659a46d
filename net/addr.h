/* Addresses and links through rtnetlink (libmnl): the daemon's only way to put
 * a DVIPA on an interface, take it off, see what is there and hear when
 * somebody else changes it.
 *
 * A handle owns two netlink sockets: one for synchronous requests (each
 * waits for the kernel's ack and returns its errno) and one subscribed to
 * address and link notifications, whose fd goes into the daemon's epoll loop.
 *
 * DVIPAs are meant to be installed with a finite lifetime that the daemon
 * keeps refreshing (see docs/net.md): when the daemon dies, the kernel removes
 * the address by itself a few seconds later. */
#ifndef DVIPA_NET_ADDR_H
#define DVIPA_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* A lifetime that never runs out (the kernel's INFINITY_LIFE_TIME). */
#define ADDR_LIFETIME_FOREVER 0xffffffffu
#define ADDR_IFNAME_MAX       16 /* IFNAMSIZ, with the NUL */
#define ADDR_HWADDR_MAX       32 /* MAX_ADDR_LEN */

/* Flags of struct addr_spec. */
enum {
	/* Let the kernel add the route to the address's prefix. Off by
	 * default: a DVIPA's mask says nothing about what is on-link (see
	 * docs/net.md), and the route would outlive a move. */
	ADDR_F_PREFIX_ROUTE = 1u << 0,
};

/* An address to install. IPv6 addresses always get IFA_F_NODAD: a DVIPA must
 * be usable the moment it is added, and the plex, not DAD, keeps it unique. */
struct addr_spec {
	int ifindex;
	struct ipaddr addr;
	uint8_t prefix_len;
	uint32_t valid_lft;     /* seconds, >= 1, or ADDR_LIFETIME_FOREVER */
	uint32_t preferred_lft; /* seconds, <= valid_lft; 0 = deprecated at once */
	uint32_t flags;         /* ADDR_F_* */
};

/* One address as the kernel reports it. */
struct addr_info {
	int ifindex;
	struct ipaddr addr;
	uint8_t prefix_len;
	uint8_t scope;          /* RT_SCOPE_* */
	uint32_t flags;         /* IFA_F_* as the kernel reports them */
	uint32_t valid_lft;     /* seconds left, or ADDR_LIFETIME_FOREVER */
	uint32_t preferred_lft; /* seconds left, or ADDR_LIFETIME_FOREVER */
};

struct addr_link {
	int ifindex;
	char name[ADDR_IFNAME_MAX];
	uint32_t flags;    /* IFF_* (IFF_UP, IFF_LOWER_UP, IFF_NOARP ...) */
	uint8_t operstate; /* IF_OPER_* */
	uint32_t mtu;
	uint16_t type; /* ARPHRD_* */
	uint8_t hwaddr_len;
	uint8_t hwaddr[ADDR_HWADDR_MAX];
};

enum addr_event_type {
	ADDR_EVENT_NEW = 0, /* an address appeared or was updated (refreshes too) */
	ADDR_EVENT_DEL,     /* an address went away (by hand, or its lifetime ran out) */
	ADDR_EVENT_LINK,    /* a link changed state, or was removed */
	ADDR_EVENT_MAX
};

struct addr_event {
	uint8_t type; /* enum addr_event_type */
	int ifindex;
	/* ADDR_EVENT_NEW / ADDR_EVENT_DEL */
	struct addr_info addr;
	/* ADDR_EVENT_LINK */
	bool link_up;      /* IFF_UP and IFF_LOWER_UP */
	bool link_removed; /* the interface no longer exists */
};

typedef void (*addr_event_fn)(const struct addr_event *ev, void *arg);

struct addr_handle;

/* Open both sockets and subscribe to IPv4/IPv6 address and link
 * notifications. NULL and errno on failure. */
struct addr_handle *addr_open(void);
void addr_close(struct addr_handle *h);
/* The notification socket (non-blocking), for epoll: readable when
 * addr_read_events() has something to deliver. */
int addr_fd(const struct addr_handle *h);

/* Add s, or refresh it when the same address and prefix length already exist
 * on the interface (NLM_F_REPLACE: the lifetimes restart from the values
 * given; flags of an existing address are not changed). Returns 0 or -errno
 * (-EINVAL for a bad spec, -ENODEV for an unknown ifindex, ...). */
int addr_add(struct addr_handle *h, const struct addr_spec *s);
/* addr_add() for each of v[0..n), without waiting for the kernel: the
 * requests go in as few datagrams as fit, through the notification socket,
 * whose filter drops the IPv4 notifications that name it as the requester
 * (IPv6 ones name nobody and still arrive): refreshing many addresses does
 * not wake the caller once per address. Refusals arrive on the notification
 * socket; addr_read_events() counts them for addr_refresh_failed(). 0 or
 * -errno (the ones before an error were sent). */
int addr_refresh(struct addr_handle *h, const struct addr_spec *v, size_t n);
/* The refreshes the kernel refused since the last call, and in *ret_err
 * the last one's -errno. */
size_t addr_refresh_failed(struct addr_handle *h, int *ret_err);
/* Remove addr/prefix_len from ifindex. -EADDRNOTAVAIL when it is not there. */
int addr_del(struct addr_handle *h, int ifindex, const struct ipaddr *addr, uint8_t prefix_len);

/* Every IPv4 and IPv6 address of ifindex (0: of every interface), as one
 * malloc'd array the caller frees with free(); *ret_v is NULL when there are
 * none. Returns 0 or -errno (-EINTR when concurrent changes interrupted the
 * dump on every retry); outputs untouched on failure. */
int addr_list(struct addr_handle *h, int ifindex, struct addr_info **ret_v, size_t *ret_n);

/* State of one link. Returns 0 or -errno (-ENODEV). */
int addr_link_get(struct addr_handle *h, int ifindex, struct addr_link *ret);
/* ifindex of an interface name, or -ENODEV / -EINVAL. */
int addr_ifindex(const char *name);
/* True when the link is administratively up and has carrier. */
bool addr_link_is_up(const struct addr_link *l);

/* Read every pending notification and call fn for each event, without
 * blocking. Returns 0 when the socket is drained, -ENOBUFS when the kernel
 * dropped notifications (the socket overflowed: the caller must re-read the
 * whole state with addr_list and may call again), or another -errno. */
int addr_read_events(struct addr_handle *h, addr_event_fn fn, void *arg);

const char *addr_event_type_name(enum addr_event_type t);

#endif
