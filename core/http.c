#include "core/http.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* RFC 9110 tchar: what a method or a header name may be made of. */
static bool http_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII: what a request target may be made of. */
static bool http_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The end of the line that starts at buf[i], the LF's index, or len. */
static size_t http_line_end(const char *buf, size_t i, size_t len)
{
	while (i < len && buf[i] != '\n')
		i++;
	return i;
}

/* The line buf[start .. end) without its CR. */
static size_t http_line_len(const char *buf, size_t start, size_t end)
{
	return end > start && buf[end - 1] == '\r' ? end - start - 1 : end - start;
}

static int http_parse_request_line(const char *l, size_t n, struct http_request *ret)
{
	size_t i = 0, m, t0, t;

	while (i < n && http_tchar((unsigned char)l[i]))
		i++;
	m = i;
	if (m == 0 || i >= n || l[i] != ' ')
		return -EINVAL;
	t0 = ++i;
	while (i < n && http_vchar((unsigned char)l[i]))
		i++;
	t = i - t0;
	if (t == 0 || i >= n || l[i] != ' ')
		return -EINVAL;
	i++;
	/* "HTTP/1.x" and nothing after it. */
	if (n - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 6] != '.' || l[i + 5] < '0' ||
	    l[i + 5] > '9' || l[i + 7] < '0' || l[i + 7] > '9')
		return -EINVAL;
	if (l[i + 5] != '1' || (l[i + 7] != '0' && l[i + 7] != '1'))
		return -EPROTONOSUPPORT;
	ret->minor = (uint8_t)(l[i + 7] - '0');
	if (m == 3 && memcmp(l, "GET", 3) == 0)
		ret->method = HTTP_GET;
	else if (m == 4 && memcmp(l, "HEAD", 4) == 0)
		ret->method = HTTP_HEAD;
	else
		return -ENOSYS;
	/* Origin form only: "/path[?query]". */
	if (l[t0] != '/')
		return -EINVAL;
	for (m = 0; m < t && l[t0 + m] != '?'; m++)
		;
	if (m >= HTTP_PATH_MAX)
		return -EMSGSIZE;
	memcpy(ret->path, l + t0, m);
	ret->path[m] = '\0';
	return 0;
}

/* "Name: value": a token, a colon, then visible characters, spaces, tabs
 * and bytes above 0x7f (obs-text). A line that starts with white space
 * (obsolete folding) is refused, as RFC 9112 allows. */
static int http_parse_header(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && http_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return -EINVAL;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c < 0x20 && c != '\t')
			return -EINVAL;
		if (c == 0x7f)
			return -EINVAL;
	}
	return 0;
}

int http_request_parse(const char *buf, size_t len, struct http_request *ret)
{
	struct http_request r = {0};
	size_t start = 0, end, n;
	bool first = true;
	unsigned skipped = 0;
	int err;

	for (;;) {
		end = http_line_end(buf, start, len);
		if (end >= len) {
			/* No whole line yet. */
			return len >= HTTP_HEAD_MAX ? -EMSGSIZE : -EAGAIN;
		}
		if (end + 1 > HTTP_HEAD_MAX)
			return -EMSGSIZE;
		n = http_line_len(buf, start, end);
		/* A CR anywhere else than before the LF is not allowed. */
		if (memchr(buf + start, '\r', n))
			return -EINVAL;
		if (memchr(buf + start, '\0', n))
			return -EINVAL;
		if (first) {
			/* RFC 9112 lets a server skip empty lines before the request line. */
			if (n == 0 && skipped++ < 2) {
				start = end + 1;
				continue;
			}
			err = http_parse_request_line(buf + start, n, &r);
			if (err < 0)
				return err;
			first = false;
		} else if (n == 0) {
			r.head_len = end + 1;
			*ret = r;
			return 0;
		} else {
			err = http_parse_header(buf + start, n);
			if (err < 0)
				return err;
		}
		start = end + 1;
	}
}

int http_error_status(int err)
{
	switch (err) {
	case -EMSGSIZE:
		return 431;
	case -ENOSYS:
		return 405;
	case -EPROTONOSUPPORT:
		return 505;
	default:
		return 400;
	}
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}
