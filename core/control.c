#include "core/control.h"

#include <errno.h>
#include <string.h>

static const char *const cmd_names[CONTROL_CMD_MAX] = {
    [CONTROL_CMD_NONE] = "none",
    [CONTROL_SHOW_CONFIG] = "show config",
    [CONTROL_SHOW_DYNAMIC] = "show dynamic",
    [CONTROL_SHOW_PLEX] = "show plex",
    [CONTROL_SHOW_PORTS] = "show ports",
    [CONTROL_SHOW_CONNECTIONS] = "show connections",
    [CONTROL_DEACTIVATE] = "deactivate",
    [CONTROL_REACTIVATE] = "reactivate",
    [CONTROL_LEAVE] = "leave",
    [CONTROL_JOIN] = "join",
    [CONTROL_QUIESCE] = "quiesce",
    [CONTROL_RESUME] = "resume",
    [CONTROL_RELOAD] = "reload",
    [CONTROL_SHOW_COUNTERS] = "show counters",
    [CONTROL_MONITOR] = "monitor",
    [CONTROL_SHOW_VERSION] = "show version",
};

const char *control_cmd_name(enum control_cmd cmd)
{
	if ((unsigned)cmd >= CONTROL_CMD_MAX)
		return "unknown";
	return cmd_names[cmd];
}

void control_request_init(struct control_request *req, enum control_cmd cmd, uint32_t flags)
{
	memset(req, 0, sizeof(*req));
	req->magic = CONTROL_MAGIC;
	req->version = CONTROL_VERSION;
	req->cmd = (uint16_t)cmd;
	req->length = sizeof(*req);
	req->flags = flags;
}

void control_request_set_addr(struct control_request *req, const struct ipaddr *a)
{
	req->flags |= CONTROL_F_ADDR;
	req->family = a->family;
	memcpy(req->addr, a->bytes, sizeof(req->addr));
}

void control_request_get_addr(const struct control_request *req, struct ipaddr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->family = req->family;
	memcpy(ret->bytes, req->addr, sizeof(ret->bytes));
}

int control_request_check(const struct control_request *req)
{
	if (req->magic != CONTROL_MAGIC || req->length != sizeof(*req))
		return -EPROTO;
	if (req->version != CONTROL_VERSION)
		return -EPROTONOSUPPORT;
	if (req->cmd == CONTROL_CMD_NONE || req->cmd >= CONTROL_CMD_MAX)
		return -EOPNOTSUPP;
	if (req->flags & ~CONTROL_F_ALL)
		return -EINVAL;
	if (req->flags & CONTROL_F_ADDR) {
		if (req->family != IPADDR_V4 && req->family != IPADDR_V6)
			return -EINVAL;
		/* An IPv4 address must leave the rest zero so that equality is memcmp. */
		if (req->family == IPADDR_V4) {
			for (size_t i = 4; i < sizeof(req->addr); i++)
				if (req->addr[i])
					return -EINVAL;
		}
	}
	if ((req->flags & CONTROL_F_PORT) && req->port == 0)
		return -EINVAL;
	return 0;
}

int control_response_check(const struct control_response *resp)
{
	if (resp->magic != CONTROL_MAGIC)
		return -EPROTO;
	if (resp->version != CONTROL_VERSION)
		return -EPROTONOSUPPORT;
	if (resp->body_len > CONTROL_BODY_MAX)
		return -EMSGSIZE;
	if (resp->status > 0)
		return -EPROTO;
	return 0;
}
