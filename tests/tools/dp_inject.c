/* dp_inject: sends one encapsulated TCP SYN, the way a distributor would,
 * from wherever it runs: IPv4 in IPv4 (protocol 4) or IPv6 in IPv6 (next
 * header 41) through a raw socket, so the outer source is this host's
 * address. Tests use it to play a non-member.
 *
 *   dp_inject OUTER_DST INNER_SRC INNER_DST DPORT [SPORT]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Writes an IP header + TCP SYN from src:sport to dst:dport; returns its
 * length. */
static size_t build_syn(uint8_t *buf, int family, const uint8_t *src, const uint8_t *dst,
                        uint16_t sport, uint16_t dport)
{
	size_t alen = family == AF_INET6 ? 16 : 4, iphl = family == AF_INET6 ? 40 : 20;
	uint8_t *tcp = buf + iphl;
	uint32_t sum;

	memset(buf, 0, iphl + 20);
	if (family == AF_INET) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)(iphl + 20));
		put16(buf + 6, 0x4000);
		buf[8] = 64;
		buf[9] = IPPROTO_TCP;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		put16(buf + 10, fold(sum16(buf, 20, 0)));
	} else {
		buf[0] = 0x60;
		put16(buf + 4, 20);
		buf[6] = IPPROTO_TCP;
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
	}
	put16(tcp, sport);
	put16(tcp + 2, dport);
	tcp[7] = 1; /* sequence number 1 */
	tcp[12] = 5 << 4;
	tcp[13] = 0x02; /* SYN */
	put16(tcp + 14, 65535);
	sum = sum16(src, alen, 0);
	sum = sum16(dst, alen, sum);
	sum += IPPROTO_TCP + 20;
	put16(tcp + 16, fold(sum16(tcp, 20, sum)));
	return iphl + 20;
}

int main(int argc, char **argv)
{
	uint8_t outer[16], src[16], dst[16], pkt[64];
	struct sockaddr_storage to = {0};
	int family, fd;
	size_t len;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: dp_inject OUTER_DST INNER_SRC INNER_DST DPORT [SPORT]\n");
		return 2;
	}
	family = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, argv[1], outer) != 1 || inet_pton(family, argv[2], src) != 1 ||
	    inet_pton(family, argv[3], dst) != 1) {
		fprintf(stderr, "dp_inject: addresses must all be IPv4 or all IPv6\n");
		return 2;
	}
	len = build_syn(pkt, family, src, dst, argc == 6 ? (uint16_t)atoi(argv[5]) : 33333,
	                (uint16_t)atoi(argv[4]));
	/* The kernel writes the outer header: protocol 4 / next header 41. */
	fd = socket(family, SOCK_RAW, family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP);
	if (fd < 0) {
		perror("dp_inject: socket");
		return 1;
	}
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&to;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, outer, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, outer, 16);
	}
	if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to,
	           family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) <
	    0) {
		perror("dp_inject: sendto");
		return 1;
	}
	close(fd);
	return 0;
}
