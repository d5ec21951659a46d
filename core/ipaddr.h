/* IPv4 / IPv6 addresses and prefixes as plain values (no sockets). */
#ifndef DVIPA_CORE_IPADDR_H
#define DVIPA_CORE_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPADDR_V4 4
#define IPADDR_V6 6

/* Longest text ipaddr_format() writes, with the terminating NUL. */
#define IPADDR_STRLEN 46
/* Longest text ipaddr_format_prefix() writes ("addr/len"). */
#define IPADDR_PREFIX_STRLEN (IPADDR_STRLEN + 4)

/* An address in network byte order; an IPv4 address uses bytes[0..3] and the
 * rest is zero, so that memcmp() on the whole struct is equality. */
struct ipaddr {
	uint8_t family; /* IPADDR_V4 or IPADDR_V6; 0 = unset */
	uint8_t bytes[16];
};

/* Parse a bare address. Returns 0 or -EINVAL; *ret untouched on failure. */
int ipaddr_parse(const char *text, struct ipaddr *ret);
/* Parse "ADDR:PORT" or "[IPV6]:PORT" (port 1-65535). Returns 0 or -EINVAL
 * (the address is wrong, or the form), -ERANGE (the port); *ret and
 * *ret_port untouched on failure. */
int ipaddr_parse_endpoint(const char *text, struct ipaddr *ret, uint16_t *ret_port);
/* "10.0.0.1:80", "[2001:db8::1]:80"; at most IPADDR_STRLEN + 8 bytes. */
char *ipaddr_format_endpoint(const struct ipaddr *a, uint16_t port, char *buf, size_t size);
/* Parse a dotted IPv4 mask (contiguous ones). Returns 0 or -EINVAL. */
int ipaddr_parse_mask4(const char *text, uint8_t *ret_prefix_len);
/* Writes at most IPADDR_STRLEN bytes; returns buf. */
char *ipaddr_format(const struct ipaddr *a, char *buf, size_t size);
char *ipaddr_format_prefix(const struct ipaddr *a, uint8_t prefix_len, char *buf, size_t size);
/* Dotted mask for an IPv4 prefix length, e.g. 24 -> "255.255.255.0". */
char *ipaddr_format_mask4(uint8_t prefix_len, char *buf, size_t size);

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* Total order: family first, then bytes. */
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);
unsigned ipaddr_max_prefix(const struct ipaddr *a);
/* True when a lies in net/prefix_len (same family). */
bool ipaddr_in_prefix(const struct ipaddr *a, const struct ipaddr *net, uint8_t prefix_len);
/* True when the two prefixes share at least one address. */
bool ipaddr_prefixes_overlap(const struct ipaddr *a, uint8_t alen, const struct ipaddr *b,
                             uint8_t blen);

#endif
