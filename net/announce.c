/* Gratuitous ARP and unsolicited Neighbour Advertisement (see net/announce.h).
 *
 * Both go out through one AF_PACKET/SOCK_DGRAM socket: the kernel writes the
 * Ethernet header from the destination we give, and we write the rest. An
 * ICMPv6 raw socket would compute the checksum for us but would also route
 * the packet, which fails for an address the kernel still sees as tentative
 * or when the interface has no IPv6 route; the packet socket does not care. */
#include "net/announce.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define ANNOUNCE_ICMP6_NA         136
#define ANNOUNCE_NA_FLAG_OVERRIDE 0x20 /* first byte of the NA's flags word */
#define ANNOUNCE_ND_OPT_TLLA      2
#define ANNOUNCE_HOP_LIMIT        255 /* RFC 4861 7.1.2: receivers drop anything else */
#define ANNOUNCE_IPPROTO_ICMPV6   58

struct announce {
	int fd;
};

static const uint8_t announce_bcast[ANNOUNCE_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
/* ff02::1, all nodes, and its Ethernet mapping 33:33:00:00:00:01 (RFC 2464 7). */
static const uint8_t announce_all_nodes[16] = {0xff, 0x02, [15] = 0x01};
static const uint8_t announce_all_nodes_mac[ANNOUNCE_MAC_LEN] = {0x33, 0x33, 0, 0, 0, 0x01};

struct announce *announce_open(void)
{
	struct announce *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	/* Protocol 0: the socket sends only and never queues received frames. */
	a->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		int e = errno;

		free(a);
		errno = e;
		return NULL;
	}
	return a;
}

void announce_close(struct announce *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}

static bool announce_addr_ok(const struct ipaddr *addr)
{
	static const uint8_t zero[16];

	/* IPv4: not 0.0.0.0/8, not multicast, class E or broadcast. */
	if (addr->family == IPADDR_V4)
		return addr->bytes[0] != 0 && addr->bytes[0] < 224;
	if (addr->family == IPADDR_V6)
		return memcmp(addr->bytes, zero, 16) != 0 && addr->bytes[0] != 0xff;
	return false;
}

int announce_build_arp(uint8_t *buf, size_t size, const uint8_t mac[ANNOUNCE_MAC_LEN],
                       const struct ipaddr *addr, bool reply)
{
	uint8_t *p = buf;

	if (addr->family != IPADDR_V4 || !announce_addr_ok(addr))
		return -EINVAL;
	if (size < ANNOUNCE_ARP_LEN)
		return -ENOSPC;
	/* htype Ethernet, ptype IPv4, hlen 6, plen 4, op */
	*p++ = 0;
	*p++ = ARPHRD_ETHER;
	*p++ = ETH_P_IP >> 8;
	*p++ = ETH_P_IP & 0xff;
	*p++ = ANNOUNCE_MAC_LEN;
	*p++ = 4;
	*p++ = 0;
	*p++ = reply ? ARPOP_REPLY : ARPOP_REQUEST;
	memcpy(p, mac, ANNOUNCE_MAC_LEN);
	p += ANNOUNCE_MAC_LEN;
	memcpy(p, addr->bytes, 4);
	p += 4;
	/* RFC 5227 ARP Announcement: the request's target MAC is zero and
	 * ignored. Linux accepts a gratuitous *reply* only when its target
	 * MAC equals the sender's (arp_is_garp), so the reply repeats it. */
	if (reply)
		memcpy(p, mac, ANNOUNCE_MAC_LEN);
	else
		memset(p, 0, ANNOUNCE_MAC_LEN);
	p += ANNOUNCE_MAC_LEN;
	memcpy(p, addr->bytes, 4);
	return ANNOUNCE_ARP_LEN;
}

static uint32_t announce_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t announce_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
                             size_t len)
{
	uint32_t sum = 0;

	sum = announce_sum(sum, src, 16);
	sum = announce_sum(sum, dst, 16);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	sum += ANNOUNCE_IPPROTO_ICMPV6;
	sum = announce_sum(sum, msg, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int announce_build_na(uint8_t *buf, size_t size, const uint8_t mac[ANNOUNCE_MAC_LEN],
                      const struct ipaddr *addr)
{
	const size_t icmp_len = ANNOUNCE_NA_LEN - 40;
	uint8_t *ip = buf, *icmp = buf + 40;
	uint16_t csum;

	if (addr->family != IPADDR_V6 || !announce_addr_ok(addr))
		return -EINVAL;
	if (size < ANNOUNCE_NA_LEN)
		return -ENOSPC;
	memset(buf, 0, ANNOUNCE_NA_LEN);
	/* IPv6 header: version 6, no traffic class or flow label. The source
	 * is the DVIPA itself, as the kernel does for its own unsolicited NAs
	 * (ndisc_send_na) and keepalived for its VIPs. */
	ip[0] = 0x60;
	ip[4] = 0;
	ip[5] = (uint8_t)icmp_len;
	ip[6] = ANNOUNCE_IPPROTO_ICMPV6;
	ip[7] = ANNOUNCE_HOP_LIMIT;
	memcpy(ip + 8, addr->bytes, 16);
	memcpy(ip + 24, announce_all_nodes, 16);
	/* NA: type, code 0, checksum, flags: Override only. Not Solicited
	 * (unsolicited, and receivers drop a solicited NA sent to a multicast
	 * group); not Router, since a DVIPA is never a next hop. */
	icmp[0] = ANNOUNCE_ICMP6_NA;
	icmp[4] = ANNOUNCE_NA_FLAG_OVERRIDE;
	memcpy(icmp + 8, addr->bytes, 16);
	/* Target link-layer address option, length in units of 8 bytes. */
	icmp[24] = ANNOUNCE_ND_OPT_TLLA;
	icmp[25] = 1;
	memcpy(icmp + 26, mac, ANNOUNCE_MAC_LEN);
	csum = announce_icmp6_csum(ip + 8, ip + 24, icmp, icmp_len);
	icmp[2] = (uint8_t)(csum >> 8);
	icmp[3] = (uint8_t)(csum & 0xff);
	return ANNOUNCE_NA_LEN;
}

/* The interface's Ethernet MAC. */
static int announce_mac(int fd, int ifindex, uint8_t mac[ANNOUNCE_MAC_LEN])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = ifindex;
	if (ioctl(fd, SIOCGIFNAME, &ifr) < 0)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return -EOPNOTSUPP;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ANNOUNCE_MAC_LEN);
	return 0;
}

int announce_send(struct announce *a, int ifindex, const struct ipaddr *addr, uint32_t flags)
{
	uint8_t mac[ANNOUNCE_MAC_LEN];
	uint8_t pkt[ANNOUNCE_NA_LEN];
	struct sockaddr_ll sll;
	ssize_t sent;
	int len;
	int r;

	if (ifindex <= 0 || !announce_addr_ok(addr))
		return -EINVAL;
	r = announce_mac(a->fd, ifindex, mac);
	if (r < 0)
		return r;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	sll.sll_halen = ANNOUNCE_MAC_LEN;
	if (addr->family == IPADDR_V4) {
		len = announce_build_arp(pkt, sizeof(pkt), mac, addr,
		                         (flags & ANNOUNCE_F_ARP_REPLY) != 0);
		sll.sll_protocol = htons(ETH_P_ARP);
		memcpy(sll.sll_addr, announce_bcast, ANNOUNCE_MAC_LEN);
	} else {
		len = announce_build_na(pkt, sizeof(pkt), mac, addr);
		sll.sll_protocol = htons(ETH_P_IPV6);
		memcpy(sll.sll_addr, announce_all_nodes_mac, ANNOUNCE_MAC_LEN);
	}
	if (len < 0)
		return len;
	sent = sendto(a->fd, pkt, (size_t)len, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (sent < 0)
		return -errno;
	return sent == len ? 0 : -EIO;
}
