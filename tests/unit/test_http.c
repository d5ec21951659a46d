/* The metrics endpoint's request parser (core/http.c): good requests, every
 * kind of refusal, requests cut at every byte, and random bytes. */
#include <errno.h>
#include <stdlib.h>

#include "core/http.h"
#include "tests/unit/unit.h"

static int parse(const char *s, struct http_request *r)
{
	return http_request_parse(s, strlen(s), r);
}

TEST(http_parses_a_scrape)
{
	const char *req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9447\r\n"
	                  "User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;version=0.0.4\r\n"
	                  "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
	struct http_request r;

	CHECK_INT(parse(req, &r), 0);
	CHECK_INT(r.method, HTTP_GET);
	CHECK_INT(r.minor, 1);
	CHECK_STR(r.path, "/metrics");
	CHECK_INT(r.head_len, strlen(req));
	CHECK_INT(parse("HEAD /metrics?x=1&y HTTP/1.0\n\n", &r), 0);
	CHECK_INT(r.method, HTTP_HEAD);
	CHECK_INT(r.minor, 0);
	CHECK_STR(r.path, "/metrics");
	/* Bytes after the head (a body, a pipelined request) are not its. */
	CHECK_INT(parse("\r\nGET / HTTP/1.1\r\n\r\nGET /x", &r), 0);
	CHECK_STR(r.path, "/");
	CHECK_INT(r.head_len, 20);
}

TEST(http_refuses_bad_requests)
{
	struct http_request r;

	CHECK_INT(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), -ENOSYS);
	CHECK_INT(parse("get /metrics HTTP/1.1\r\n\r\n", &r), -ENOSYS);
	CHECK_INT(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), -EPROTONOSUPPORT);
	CHECK_INT(parse("GET /metrics HTTP/1.2\r\n\r\n", &r), -EPROTONOSUPPORT);
	CHECK_INT(parse("GET /metrics HTTP/1.1 \r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /metrics\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET metrics HTTP/1.1\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET http://x/metrics HTTP/1.1\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /met\trics HTTP/1.1\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", &r), -EINVAL);
	CHECK_INT(parse("GET /metrics HTTP/1.1\r\nA: \x01\r\n\r\n", &r), -EINVAL);
	CHECK_INT(http_request_parse("GET /\0 HTTP/1.1\r\n\r\n", 19, &r), -EINVAL);
	CHECK_INT(parse("\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", &r), -EINVAL);
	CHECK_INT(http_error_status(-EINVAL), 400);
	CHECK_INT(http_error_status(-ENOSYS), 405);
	CHECK_INT(http_error_status(-EMSGSIZE), 431);
	CHECK_INT(http_error_status(-EPROTONOSUPPORT), 505);
	CHECK_STR(http_reason(404), "Not Found");
	CHECK_STR(http_reason(999), "Error");
}

TEST(http_bounds_sizes)
{
	static char big[HTTP_HEAD_MAX + 64];
	struct http_request r;
	size_t n;

	/* A head that never ends: refused once it reaches the limit. */
	n = (size_t)snprintf(big, HTTP_HEAD_MAX + 64, "GET /metrics HTTP/1.1\r\nX: ");
	memset(big + n, 'a', HTTP_HEAD_MAX + 64 - n);
	CHECK_INT(http_request_parse(big, HTTP_HEAD_MAX - 1, &r), -EAGAIN);
	CHECK_INT(http_request_parse(big, HTTP_HEAD_MAX, &r), -EMSGSIZE);
	CHECK_INT(http_request_parse(big, HTTP_HEAD_MAX + 64, &r), -EMSGSIZE);
	/* A path longer than HTTP_PATH_MAX. */
	n = (size_t)snprintf(big, HTTP_HEAD_MAX + 64, "GET /");
	memset(big + n, 'p', HTTP_PATH_MAX);
	n += HTTP_PATH_MAX;
	n += (size_t)snprintf(big + n, HTTP_HEAD_MAX + 64 - n, " HTTP/1.1\r\n\r\n");
	CHECK_INT(http_request_parse(big, n, &r), -EMSGSIZE);
}

TEST(http_every_prefix_wants_more)
{
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_request r;

	for (size_t i = 0; i < strlen(req); i++)
		CHECK_INT(http_request_parse(req, i, &r), -EAGAIN);
	CHECK_INT(http_request_parse(req, strlen(req), &r), 0);
}

TEST(http_random_bytes)
{
	unsigned long seed = unit_seed();
	int rounds = unit_long_mode() ? 2000000 : 20000;
	char buf[512];
	struct http_request r;

	for (int i = 0; i < rounds; i++) {
		size_t n = (size_t)(seed % sizeof(buf));
		int err;

		for (size_t k = 0; k < n; k++) {
			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			/* Mostly request-like bytes, so that parsing gets far. */
			buf[k] = (seed >> 33) % 4
			             ? "GET /metrics HTTP/1.1\r\n:a "[(seed >> 40) % 27]
			             : (char)(seed >> 48);
		}
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		err = http_request_parse(buf, n, &r);
		if (err == 0) {
			CHECK(r.head_len <= n);
			CHECK(strlen(r.path) < HTTP_PATH_MAX);
			CHECK(r.path[0] == '/');
		} else {
			CHECK(err == -EAGAIN || err == -EINVAL || err == -ENOSYS ||
			      err == -EPROTONOSUPPORT || err == -EMSGSIZE);
		}
	}
}
