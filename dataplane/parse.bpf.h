/* Packet parsing for the data plane (BPF side). Every header is copied out
 * with load_header(): straight from the skb's linear part when it is there,
 * else with bpf_skb_load_bytes(), which fails past the end of the packet and
 * reads non-linear skbs alike: no header is read that was not bounds-checked. */
#ifndef DVIPA_DATAPLANE_PARSE_BPF_H
#define DVIPA_DATAPLANE_PARSE_BPF_H

/* UAPI macros that vmlinux.h (types only) does not carry. */
#define ETH_HLEN        14
#define ETH_ALEN        6
#define ETH_P_IP        0x0800
#define ETH_P_IPV6      0x86DD
#define AF_INET         2
#define AF_INET6        10
#define TC_ACT_OK       0
#define TC_ACT_SHOT     2
#define TC_ACT_REDIRECT 7
#define EEXIST          17

#define IP_DF     0x4000
#define IP_MF     0x2000
#define IP_OFFSET 0x1fff

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define TCPOPT_EOL   0
#define TCPOPT_NOP   1
#define TCPOPT_MSS   2
#define TCPOLEN_MSS  4
#define TCP_HDR_MIN  20
#define TCP_OPTS_MAX 40

/* IPv6 extension headers (linux/in6.h). */
#define NEXTHDR_HOP      0
#define NEXTHDR_ROUTING  43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST     60
/* Extension headers walked before giving up (and handing the packet on). */
#define IPV6_EXT_MAX 4

/* Headers further into the packet than this are read with the helper. */
#define LINEAR_OFF_MAX 1024

/* Copies len bytes at off into to; 0 or < 0 past the end of the packet.
 * Headers are nearly always in the linear part: reading them there costs a
 * bounds check instead of a helper call, which matters on every packet. */
static __always_inline int load_header(struct __sk_buff *skb, __u32 off, void *to, const __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	void *at;

	if (off <= LINEAR_OFF_MAX) {
		at = data + off;
		if (at + len <= end) {
			__builtin_memcpy(to, at, len);
			return 0;
		}
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP,    /* not IPv4/IPv6: none of our business */
	PARSE_TRUNCATED, /* a header ends past the packet */
	PARSE_MALFORMED, /* a header that cannot be (bad version, IHL, data offset) */
	PARSE_IPV6_EXT,  /* an extension header we do not walk */
};

/* What the program needs of a packet, in network byte order. */
struct packet {
	__u32 l4_off; /* after IPv4 options / IPv6 extension headers */
	__u8 family;  /* DP_FAMILY_* */
	__u8 proto;   /* upper-layer protocol */
	__u8 fragment;
	__u8 tcp_flags;
	__u8 tcp_hlen; /* TCP header length with options */
	__u8 tos;      /* IPv4 TOS, copied to the outer header */
	__u8 ttl;      /* IPv4 TTL / IPv6 hop limit */
	__be16 id;     /* IPv4: copied to the outer header */
	__be16 frag_off;
	__be16 tot_len;  /* IPv4 total length / IPv6 payload length */
	__be32 v6_word0; /* IPv6 version, traffic class, flow label */
	__be16 sport;
	__be16 dport;
	__u8 src[16];
	__u8 dst[16];
};

static __always_inline int parse_ipv4(struct __sk_buff *skb, struct packet *p)
{
	struct iphdr ip;

	if (load_header(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return PARSE_TRUNCATED;
	if (ip.version != 4 || ip.ihl < 5)
		return PARSE_MALFORMED;
	p->family = DP_FAMILY_V4;
	p->proto = ip.protocol;
	p->l4_off = ETH_HLEN + ip.ihl * 4;
	p->tos = ip.tos;
	p->ttl = ip.ttl;
	p->id = ip.id;
	p->frag_off = ip.frag_off;
	p->tot_len = ip.tot_len;
	p->fragment = (ip.frag_off & bpf_htons(IP_MF | IP_OFFSET)) != 0;
	__builtin_memcpy(p->src, &ip.saddr, 4);
	__builtin_memcpy(p->dst, &ip.daddr, 4);
	/* Options are skipped, not read; they must still be in the packet. */
	if (ip.ihl > 5) {
		__u8 last;

		if (load_header(skb, p->l4_off - 1, &last, 1) < 0)
			return PARSE_TRUNCATED;
	}
	return PARSE_OK;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, struct packet *p)
{
	struct ipv6hdr ip6;
	__u32 off = ETH_HLEN + sizeof(ip6);
	__u8 nh;

	if (load_header(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return PARSE_TRUNCATED;
	if (ip6.version != 6)
		return PARSE_MALFORMED;
	p->family = DP_FAMILY_V6;
	__builtin_memcpy(&p->v6_word0, &ip6, 4);
	p->tot_len = ip6.payload_len;
	p->ttl = ip6.hop_limit;
	__builtin_memcpy(p->src, &ip6.saddr, 16);
	__builtin_memcpy(p->dst, &ip6.daddr, 16);
	nh = ip6.nexthdr;

	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct {
			__u8 nexthdr;
			__u8 hdrlen;
			__u8 type;
			__u8 segments_left; /* routing header; the fragment header
			                     * has other fields here, not read */
		} ext;

		if (nh != NEXTHDR_HOP && nh != NEXTHDR_DEST && nh != NEXTHDR_ROUTING &&
		    nh != NEXTHDR_FRAGMENT)
			break;
		if (load_header(skb, off, &ext, sizeof(ext)) < 0)
			return PARSE_TRUNCATED;
		if (nh == NEXTHDR_FRAGMENT) {
			/* A fragment header ends the walk: what follows in a
			 * non-first fragment is not a header. */
			p->fragment = 1;
			p->proto = ext.nexthdr;
			p->l4_off = off + 8;
			return PARSE_OK;
		}
		/* With segments left, the destination is not the final one. */
		if (nh == NEXTHDR_ROUTING && ext.segments_left)
			return PARSE_IPV6_EXT;
		nh = ext.nexthdr;
		off += (ext.hdrlen + 1) * 8;
	}
	if (nh == NEXTHDR_HOP || nh == NEXTHDR_DEST || nh == NEXTHDR_ROUTING ||
	    nh == NEXTHDR_FRAGMENT)
		return PARSE_IPV6_EXT;
	p->proto = nh;
	p->l4_off = off;
	return PARSE_OK;
}

/* IPv4 or IPv6 header (with options / extension headers). */
static __always_inline int parse_ip(struct __sk_buff *skb, struct packet *p)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return parse_ipv4(skb, p);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(skb, p);
	return PARSE_NOT_IP;
}

/* The TCP header at p->l4_off: ports, flags, header length. The whole fixed
 * header must be present; options are only checked by whoever reads them. */
static __always_inline int parse_tcp(struct __sk_buff *skb, struct packet *p)
{
	struct {
		__be16 sport;
		__be16 dport;
		__be32 seq;
		__be32 ack;
		__u8 doff; /* data offset in the high nibble */
		__u8 flags;
		__be16 window;
		__sum16 check;
		__be16 urg;
	} tcp;

	if (load_header(skb, p->l4_off, &tcp, sizeof(tcp)) < 0)
		return PARSE_TRUNCATED;
	if ((tcp.doff >> 4) < 5)
		return PARSE_MALFORMED;
	p->sport = tcp.sport;
	p->dport = tcp.dport;
	p->tcp_flags = tcp.flags;
	p->tcp_hlen = (tcp.doff >> 4) * 4;
	return PARSE_OK;
}

/* The inner header of an encapsulated packet: family and destination. */
static __always_inline int parse_inner_dst(struct __sk_buff *skb, const struct packet *p,
                                           __u8 dst[16])
{
	if (p->family == DP_FAMILY_V4) {
		struct iphdr ip;

		if (load_header(skb, p->l4_off, &ip, sizeof(ip)) < 0)
			return PARSE_TRUNCATED;
		if (ip.version != 4 || ip.ihl < 5)
			return PARSE_MALFORMED;
		__builtin_memcpy(dst, &ip.daddr, 4);
		return PARSE_OK;
	} else {
		struct ipv6hdr ip6;

		if (load_header(skb, p->l4_off, &ip6, sizeof(ip6)) < 0)
			return PARSE_TRUNCATED;
		if (ip6.version != 6)
			return PARSE_MALFORMED;
		__builtin_memcpy(dst, &ip6.daddr, 16);
		return PARSE_OK;
	}
}

/* RFC 1071 checksum of a 20-byte IPv4 header. */
static __always_inline __u16 ipv4_checksum(const void *hdr)
{
	const __u16 *w = hdr;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif
