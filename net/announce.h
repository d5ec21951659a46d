/* Telling the LAN that a DVIPA now lives here: a gratuitous ARP (IPv4) or an
 * unsolicited Neighbour Advertisement (IPv6), sent on the interface that
 * holds the address so that neighbours replace the old owner's MAC in their
 * caches at once instead of when their entry times out.
 *
 * This file sends one packet now; repeating it (e.g. at 0, 100 ms and
 * 500 ms, since a single frame can be lost) is the daemon's schedule. The
 * packet formats are in docs/net.md. */
#ifndef DVIPA_NET_ANNOUNCE_H
#define DVIPA_NET_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

#define ANNOUNCE_MAC_LEN 6
/* ARP payload for Ethernet/IPv4 (the link layer adds the Ethernet header). */
#define ANNOUNCE_ARP_LEN 28
/* IPv6 header (40) + NA (24) + target link-layer address option (8). */
#define ANNOUNCE_NA_LEN 72

/* Flags of announce_send(). */
enum {
	/* IPv4: send the ARP reply form (op 2, target MAC = our MAC) instead
	 * of the request form; some old stacks only learn from replies. */
	ANNOUNCE_F_ARP_REPLY = 1u << 0,
};

struct announce;

/* Open the packet socket (needs CAP_NET_RAW). NULL and errno on failure. */
struct announce *announce_open(void);
void announce_close(struct announce *a);

/* Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for addr from
 * interface ifindex, with the interface's own MAC. Returns 0 or -errno:
 * -EINVAL for an address that cannot be announced (unspecified, multicast),
 * -EOPNOTSUPP for an interface that is not Ethernet-like (e.g. lo),
 * -ENETDOWN when it is down, -ENODEV when it does not exist. */
int announce_send(struct announce *a, int ifindex, const struct ipaddr *addr, uint32_t flags);

/* The packets themselves, pure, for tests and for announce_send(). Each
 * writes into buf and returns its length, or -EINVAL / -ENOSPC. */
int announce_build_arp(uint8_t *buf, size_t size, const uint8_t mac[ANNOUNCE_MAC_LEN],
                       const struct ipaddr *addr, bool reply);
int announce_build_na(uint8_t *buf, size_t size, const uint8_t mac[ANNOUNCE_MAC_LEN],
                      const struct ipaddr *addr);
/* The ICMPv6 checksum of msg (len bytes, its checksum field included as
 * found) under the pseudo-header of src/dst (RFC 8200 8.1). A message whose
 * checksum field is right sums to 0. */
uint16_t announce_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
                             size_t len);

#endif
