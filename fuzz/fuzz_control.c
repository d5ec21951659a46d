/* libFuzzer target for the control protocol: whatever bytes a client sends
 * as a request, the check either rejects them or accepts a request whose
 * every field the daemon may then use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	struct control_response resp;
	struct ipaddr a;

	if (size >= sizeof(req)) {
		memcpy(&req, data, sizeof(req));
		if (control_request_check(&req) == 0) {
			if ((unsigned)req.cmd >= CONTROL_CMD_MAX || req.cmd == CONTROL_CMD_NONE)
				abort();
			control_request_get_addr(&req, &a);
			if ((req.flags & CONTROL_F_ADDR) && a.family != IPADDR_V4 &&
			    a.family != IPADDR_V6)
				abort();
			(void)control_cmd_name(req.cmd);
		}
	}
	if (size >= sizeof(resp)) {
		memcpy(&resp, data, sizeof(resp));
		if (control_response_check(&resp) == 0 &&
		    (resp.body_len > CONTROL_BODY_MAX || resp.status > 0))
			abort();
	}
	return 0;
}
