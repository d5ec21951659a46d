/* Packet builders for the data plane's fixtures: written from the RFCs, not
 * from the BPF program, so that the two can disagree. */
#ifndef DVIPA_TESTS_BPF_PACKET_H
#define DVIPA_TESTS_BPF_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 4096

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* A TCP segment inside an IP packet. Zeroed fields take defaults. */
struct seg {
	int family;      /* 4 or 6 */
	const char *src; /* text addresses */
	const char *dst;
	uint16_t sport;
	uint16_t dport;
	uint8_t flags; /* TH_* */
	const uint8_t *tcp_opts;
	size_t tcp_opts_len; /* multiple of 4 */
	size_t payload;      /* bytes of data after the TCP header */
	/* IPv4 */
	const uint8_t *ip_opts;
	size_t ip_opts_len; /* multiple of 4 */
	uint16_t frag;      /* host order: DF/MF and offset; 0 = DF only */
	uint16_t id;
	uint8_t tos;
	uint8_t ttl; /* IPv4 TTL / IPv6 hop limit; 0 = 64 */
	/* IPv6: extension headers, already chained; the last one's next
	 * header must be TCP (6); ext_first is the fixed header's next. */
	const uint8_t *ext;
	size_t ext_len;
	uint8_t ext_first;
	uint32_t flow_label;
};

/* The IP packet (no Ethernet header) of s; returns its length. */
size_t pkt_segment(uint8_t *buf, const struct seg *s);
/* An IP header of family (4 or 6) from src to dst around payload (proto =
 * 4 or 41), as an encapsulator following RFC 2003 / RFC 2473 writes it
 * given the inner header: TOS / traffic class and flow label copied, IPv4
 * ID and DF copied, TTL 64. Returns the length. */
size_t pkt_encap(uint8_t *buf, int family, const char *src, const char *dst, const uint8_t *inner,
                 size_t inner_len);
/* Ethernet frame: dst, src MACs, ethertype from the IP version. */
void pkt_frame(struct pkt *p, const uint8_t dst[6], const uint8_t src[6], const uint8_t *ip,
               size_t ip_len);

/* RFC 1071 checksum over len bytes, starting from sum. */
uint16_t pkt_csum(const void *data, size_t len, uint32_t sum);
/* True when the TCP checksum of the IP packet at ip (no options walked for
 * IPv6: the TCP header must follow the fixed header) is right. */
int pkt_tcp_csum_ok(const uint8_t *ip, size_t len);

/* Hex dump into the TAP diagnostics. */
void pkt_dump(const char *what, const uint8_t *b, size_t len);

#endif
