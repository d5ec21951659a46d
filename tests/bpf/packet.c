#include "tests/bpf/packet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void addr(int family, const char *text, uint8_t *out)
{
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, text, out) != 1) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
}

static uint32_t sum_words(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

uint16_t pkt_csum(const void *data, size_t len, uint32_t sum)
{
	sum = sum_words(data, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum for TCP over IPv4 / IPv6. */
static uint32_t pseudo(int family, const uint8_t *src, const uint8_t *dst, size_t tcp_len)
{
	size_t alen = family == 6 ? 16 : 4;
	uint32_t sum = 0;

	sum = sum_words(src, alen, sum);
	sum = sum_words(dst, alen, sum);
	sum += 6; /* IPPROTO_TCP */
	sum += (uint32_t)tcp_len;
	return sum;
}

size_t pkt_segment(uint8_t *buf, const struct seg *s)
{
	uint8_t src[16] = {0}, dst[16] = {0};
	size_t iphl, tcpl = 20 + s->tcp_opts_len, len;
	uint8_t *tcp;

	addr(s->family, s->src, src);
	addr(s->family, s->dst, dst);
	if (s->family == 4) {
		iphl = 20 + s->ip_opts_len;
		len = iphl + tcpl + s->payload;
		memset(buf, 0, iphl);
		buf[0] = (uint8_t)(0x40 | (iphl / 4));
		buf[1] = s->tos;
		put16(buf + 2, (uint16_t)len);
		put16(buf + 4, s->id);
		put16(buf + 6, s->frag ? s->frag : 0x4000);
		buf[8] = s->ttl ? s->ttl : 64;
		buf[9] = 6;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		if (s->ip_opts_len)
			memcpy(buf + 20, s->ip_opts, s->ip_opts_len);
		put16(buf + 10, pkt_csum(buf, iphl, 0));
	} else {
		iphl = 40 + s->ext_len;
		len = iphl + tcpl + s->payload;
		memset(buf, 0, 40);
		put32(buf, 6u << 28 | (uint32_t)s->tos << 20 | (s->flow_label & 0xfffff));
		put16(buf + 4, (uint16_t)(len - 40));
		buf[6] = s->ext_len ? s->ext_first : 6;
		buf[7] = s->ttl ? s->ttl : 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
		if (s->ext_len)
			memcpy(buf + 40, s->ext, s->ext_len);
	}
	tcp = buf + iphl;
	memset(tcp, 0, tcpl);
	put16(tcp, s->sport);
	put16(tcp + 2, s->dport);
	put32(tcp + 4, 1000);
	put32(tcp + 8, (s->flags & TH_ACK) ? 2000 : 0);
	tcp[12] = (uint8_t)((tcpl / 4) << 4);
	tcp[13] = s->flags;
	put16(tcp + 14, 64240);
	if (s->tcp_opts_len)
		memcpy(tcp + 20, s->tcp_opts, s->tcp_opts_len);
	for (size_t i = 0; i < s->payload; i++)
		tcp[tcpl + i] = (uint8_t)('a' + i % 26);
	put16(tcp + 16,
	      pkt_csum(tcp, tcpl + s->payload, pseudo(s->family, src, dst, tcpl + s->payload)));
	return len;
}

size_t pkt_encap(uint8_t *buf, int family, const char *src, const char *dst, const uint8_t *inner,
                 size_t inner_len)
{
	uint8_t s[16] = {0}, d[16] = {0};

	addr(family, src, s);
	addr(family, dst, d);
	if (family == 4) {
		memset(buf, 0, 20);
		buf[0] = 0x45;
		buf[1] = inner[1];
		put16(buf + 2, (uint16_t)(20 + inner_len));
		memcpy(buf + 4, inner + 4, 2);
		buf[6] = inner[6] & 0x40; /* DF */
		buf[8] = 64;
		buf[9] = 4;
		memcpy(buf + 12, s, 4);
		memcpy(buf + 16, d, 4);
		put16(buf + 10, pkt_csum(buf, 20, 0));
		memcpy(buf + 20, inner, inner_len);
		return 20 + inner_len;
	}
	memcpy(buf, inner, 4); /* version, traffic class, flow label */
	put16(buf + 4, (uint16_t)inner_len);
	buf[6] = 41;
	buf[7] = 64;
	memcpy(buf + 8, s, 16);
	memcpy(buf + 24, d, 16);
	memcpy(buf + 40, inner, inner_len);
	return 40 + inner_len;
}

void pkt_frame(struct pkt *p, const uint8_t dst[6], const uint8_t src[6], const uint8_t *ip,
               size_t ip_len)
{
	memcpy(p->b, dst, 6);
	memcpy(p->b + 6, src, 6);
	put16(p->b + 12, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800);
	memcpy(p->b + 14, ip, ip_len);
	p->len = 14 + ip_len;
}

int pkt_tcp_csum_ok(const uint8_t *ip, size_t len)
{
	int family = ip[0] >> 4;
	size_t iphl = family == 6 ? 40 : (size_t)(ip[0] & 15) * 4;
	const uint8_t *src = family == 6 ? ip + 8 : ip + 12;
	const uint8_t *dst = family == 6 ? ip + 24 : ip + 16;

	if (len < iphl + 20)
		return 0;
	return pkt_csum(ip + iphl, len - iphl, pseudo(family, src, dst, len - iphl)) == 0;
}

void pkt_dump(const char *what, const uint8_t *b, size_t len)
{
	printf("#   %s (%zu bytes):", what, len);
	for (size_t i = 0; i < len; i++)
		printf("%s%02x", i % 16 ? " " : "\n#     ", b[i]);
	printf("\n");
}
