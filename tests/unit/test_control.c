#include <errno.h>

#include "core/control.h"
#include "tests/unit/unit.h"

TEST(control_request_roundtrip)
{
	struct control_request req;
	struct ipaddr a, b;

	control_request_init(&req, CONTROL_DEACTIVATE, 0);
	ipaddr_parse("2001:db8::10", &a);
	control_request_set_addr(&req, &a);
	CHECK_INT(control_request_check(&req), 0);
	control_request_get_addr(&req, &b);
	CHECK(ipaddr_equal(&a, &b));
	CHECK_STR(control_cmd_name(CONTROL_DEACTIVATE), "deactivate");
}

TEST(control_request_rejects_malformed)
{
	struct control_request req;

	control_request_init(&req, CONTROL_SHOW_CONFIG, CONTROL_F_JSON);
	CHECK_INT(control_request_check(&req), 0);
	req.magic ^= 1;
	CHECK_INT(control_request_check(&req), -EPROTO);
	control_request_init(&req, CONTROL_SHOW_CONFIG, 0);
	req.length = 12;
	CHECK_INT(control_request_check(&req), -EPROTO);
	control_request_init(&req, CONTROL_SHOW_CONFIG, 0);
	req.version = 99;
	CHECK_INT(control_request_check(&req), -EPROTONOSUPPORT);
	control_request_init(&req, CONTROL_CMD_MAX, 0);
	CHECK_INT(control_request_check(&req), -EOPNOTSUPP);
	control_request_init(&req, CONTROL_CMD_NONE, 0);
	CHECK_INT(control_request_check(&req), -EOPNOTSUPP);
	control_request_init(&req, CONTROL_SHOW_CONFIG, 0x100);
	CHECK_INT(control_request_check(&req), -EINVAL);
	control_request_init(&req, CONTROL_DEACTIVATE, CONTROL_F_ADDR);
	req.family = 5;
	CHECK_INT(control_request_check(&req), -EINVAL);
	req.family = IPADDR_V4;
	req.addr[7] = 1;
	CHECK_INT(control_request_check(&req), -EINVAL);
	control_request_init(&req, CONTROL_QUIESCE, CONTROL_F_PORT);
	CHECK_INT(control_request_check(&req), -EINVAL);
}

TEST(control_response_check)
{
	struct control_response r = {.magic = CONTROL_MAGIC, .version = CONTROL_VERSION};

	CHECK_INT(control_response_check(&r), 0);
	r.body_len = CONTROL_BODY_MAX + 1;
	CHECK_INT(control_response_check(&r), -EMSGSIZE);
	r.body_len = 0;
	r.status = 5;
	CHECK_INT(control_response_check(&r), -EPROTO);
}
