/* libFuzzer target for the metrics endpoint's request parser: whatever
 * bytes a client sends, the parser stays inside them and either wants more,
 * refuses them, or returns a request whose fields the server may use. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request r;
	int err = http_request_parse((const char *)data, size, &r);

	if (err == 0) {
		if (r.head_len > size || r.head_len > HTTP_HEAD_MAX || r.path[0] != '/' ||
		    strlen(r.path) >= HTTP_PATH_MAX || r.method >= HTTP_METHOD_MAX || r.minor > 1)
			abort();
	} else if (err != -EAGAIN && err != -EINVAL && err != -ENOSYS && err != -EPROTONOSUPPORT &&
	           err != -EMSGSIZE) {
		abort();
	}
	(void)http_reason(http_error_status(err));
	return 0;
}
