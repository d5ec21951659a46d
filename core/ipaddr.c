#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int ipaddr_parse(const char *text, struct ipaddr *ret)
{
	struct ipaddr a = {0};

	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, a.bytes) != 1)
			return -EINVAL;
		a.family = IPADDR_V6;
	} else {
		/* inet_pton accepts only the four-part dotted form, which is what
		 * a profile should contain (no "10.1" shorthand). */
		if (inet_pton(AF_INET, text, a.bytes) != 1)
			return -EINVAL;
		a.family = IPADDR_V4;
	}
	*ret = a;
	return 0;
}

int ipaddr_parse_mask4(const char *text, uint8_t *ret_prefix_len)
{
	struct ipaddr m;
	uint32_t v;
	uint8_t len = 0;

	if (ipaddr_parse(text, &m) < 0 || m.family != IPADDR_V4)
		return -EINVAL;
	v = (uint32_t)m.bytes[0] << 24 | (uint32_t)m.bytes[1] << 16 | (uint32_t)m.bytes[2] << 8 |
	    m.bytes[3];
	while (len < 32 && (v & (UINT32_C(1) << (31 - len))))
		len++;
	/* Ones must be contiguous from the top (len == 0: no ones at all). */
	if (len < 32 && (v & (uint32_t)((UINT64_C(1) << (32 - len)) - 1)))
		return -EINVAL;
	*ret_prefix_len = len;
	return 0;
}

char *ipaddr_format(const struct ipaddr *a, char *buf, size_t size)
{
	if (a->family == IPADDR_V4)
		inet_ntop(AF_INET, a->bytes, buf, (socklen_t)size);
	else if (a->family == IPADDR_V6)
		inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)size);
	else
		snprintf(buf, size, "?");
	return buf;
}

char *ipaddr_format_prefix(const struct ipaddr *a, uint8_t prefix_len, char *buf, size_t size)
{
	char tmp[IPADDR_STRLEN];

	snprintf(buf, size, "%s/%u", ipaddr_format(a, tmp, sizeof(tmp)), prefix_len);
	return buf;
}

char *ipaddr_format_mask4(uint8_t prefix_len, char *buf, size_t size)
{
	uint32_t v = prefix_len ? ~UINT32_C(0) << (32 - (prefix_len > 32 ? 32 : prefix_len)) : 0;

	snprintf(buf, size, "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
	return buf;
}

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return ipaddr_cmp(a, b) == 0;
}

int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

unsigned ipaddr_max_prefix(const struct ipaddr *a)
{
	return a->family == IPADDR_V4 ? 32 : 128;
}

bool ipaddr_in_prefix(const struct ipaddr *a, const struct ipaddr *net, uint8_t prefix_len)
{
	unsigned full = prefix_len / 8, rest = prefix_len % 8;

	if (a->family != net->family || prefix_len > ipaddr_max_prefix(a))
		return false;
	if (memcmp(a->bytes, net->bytes, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((a->bytes[full] & mask) != (net->bytes[full] & mask))
			return false;
	}
	return true;
}

bool ipaddr_prefixes_overlap(const struct ipaddr *a, uint8_t alen, const struct ipaddr *b,
                             uint8_t blen)
{
	/* Two prefixes overlap exactly when the shorter one contains the other's
	 * network address. */
	if (alen <= blen)
		return ipaddr_in_prefix(b, a, alen);
	return ipaddr_in_prefix(a, b, blen);
}

int ipaddr_parse_endpoint(const char *text, struct ipaddr *ret, uint16_t *ret_port)
{
	char host[IPADDR_STRLEN];
	const char *colon, *start = text;
	size_t len;
	unsigned long port = 0;
	struct ipaddr a;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		start = text + 1;
		len = (size_t)(close - start);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		len = (size_t)(colon - text);
		/* An IPv6 address needs its brackets: "::1:9447" is ambiguous. */
		if (memchr(text, ':', len))
			return -EINVAL;
	}
	if (len == 0 || len >= sizeof(host))
		return -EINVAL;
	memcpy(host, start, len);
	host[len] = '\0';
	if (ipaddr_parse(host, &a) < 0 || (text[0] == '[') != (a.family == IPADDR_V6))
		return -EINVAL;
	if (!colon[1])
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return -ERANGE;
	}
	if (port == 0)
		return -ERANGE;
	*ret = a;
	*ret_port = (uint16_t)port;
	return 0;
}

char *ipaddr_format_endpoint(const struct ipaddr *a, uint16_t port, char *buf, size_t size)
{
	char text[IPADDR_STRLEN];

	ipaddr_format(a, text, sizeof(text));
	snprintf(buf, size, a->family == IPADDR_V6 ? "[%s]:%u" : "%s:%u", text, port);
	return buf;
}
