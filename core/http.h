/* The request side of the metrics endpoint's HTTP/1.0 and 1.1 (core/http.c):
 * parses the head of one request from untrusted bytes. Pure: no I/O, no
 * allocation; every length is checked, so any byte string is safe to feed. */
#ifndef DVIPA_CORE_HTTP_H
#define DVIPA_CORE_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* A request head (request line and headers) longer than this is refused:
 * a scraper sends a few hundred bytes. */
#define HTTP_HEAD_MAX 4096
#define HTTP_PATH_MAX 256

enum http_method { HTTP_GET = 0, HTTP_HEAD, HTTP_METHOD_MAX };

struct http_request {
	uint8_t method;           /* enum http_method */
	uint8_t minor;            /* HTTP/1.minor: 0 or 1 */
	char path[HTTP_PATH_MAX]; /* the target up to '?', NUL-ended */
	size_t head_len;          /* bytes of buf the head takes, its blank line included */
};

/* Parses the head at buf[0 .. len). Returns 0 with *ret filled once the
 * blank line that ends it is there; -EAGAIN when more bytes are needed;
 * -EMSGSIZE when the head is longer than HTTP_HEAD_MAX or the target longer
 * than HTTP_PATH_MAX; -ENOSYS for a method other than GET and HEAD;
 * -EPROTONOSUPPORT for a version other than HTTP/1.0 and 1.1; -EINVAL for
 * anything else malformed. Lines end in CRLF or LF. */
int http_request_parse(const char *buf, size_t len, struct http_request *ret);

/* The status code that answers a parse error (400, 405, 431, 505). */
int http_error_status(int err);
/* "OK", "Not Found"...; "Error" for codes it does not know. */
const char *http_reason(int status);

#endif
