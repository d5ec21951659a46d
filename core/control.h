/* The control protocol between dvipactl and dvipad, over a Unix stream socket.
 *
 * One exchange per connection: the client sends one fixed-size request, the
 * daemon answers with a fixed-size response header followed by body_len bytes
 * of UTF-8 text (the display, already rendered as text or JSON, or an error
 * message when status < 0). CONTROL_MONITOR keeps the connection open and
 * streams events after the header. Both sides check magic, version and lengths
 * before they use anything. */
#ifndef DVIPA_CORE_CONTROL_H
#define DVIPA_CORE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

#define CONTROL_MAGIC          0x44565041u /* "DVPA" */
#define CONTROL_VERSION        1
#define CONTROL_SOCKET_DEFAULT "/run/dvipa/dvipad.sock"
/* Large enough for every display of a 32-node plex with 1024 DVIPAs each. */
#define CONTROL_BODY_MAX (16u << 20)

/* Append-only: values travel between programs of different builds. */
enum control_cmd {
	CONTROL_CMD_NONE = 0,
	CONTROL_SHOW_CONFIG,
	CONTROL_SHOW_DYNAMIC,
	CONTROL_SHOW_PLEX,
	CONTROL_SHOW_PORTS,
	CONTROL_SHOW_CONNECTIONS,
	CONTROL_DEACTIVATE,
	CONTROL_REACTIVATE,
	CONTROL_LEAVE,
	CONTROL_JOIN,
	CONTROL_QUIESCE,
	CONTROL_RESUME,
	CONTROL_RELOAD,
	CONTROL_SHOW_COUNTERS,
	/* A subscription: the answer's header (body_len 0) is followed, for as
	 * long as the connection lasts, by one event per line (core/event.h),
	 * text or JSON. The client sends nothing more. */
	CONTROL_MONITOR,
	CONTROL_SHOW_VERSION,
	CONTROL_CMD_MAX
};

#define CONTROL_F_JSON 0x1u /* render the answer as JSON */
#define CONTROL_F_ADDR 0x2u /* addr is set */
#define CONTROL_F_PORT 0x4u /* port is set */
#define CONTROL_F_ALL  (CONTROL_F_JSON | CONTROL_F_ADDR | CONTROL_F_PORT)

/* On the wire, all multi-byte fields in host byte order: both ends are on
 * the same host. */
struct control_request {
	uint32_t magic;
	uint16_t version;
	uint16_t cmd;    /* enum control_cmd */
	uint32_t length; /* sizeof(struct control_request) */
	uint32_t flags;  /* CONTROL_F_* */
	uint8_t family;  /* IPADDR_V4 / IPADDR_V6 when CONTROL_F_ADDR */
	uint8_t pad0[3];
	uint8_t addr[16];
	uint16_t port;
	uint16_t pad1;
};
_Static_assert(sizeof(struct control_request) == 40, "control_request layout");

struct control_response {
	uint32_t magic;
	uint16_t version;
	uint16_t cmd;      /* echoes the request's */
	int32_t status;    /* 0 or -errno */
	uint32_t body_len; /* bytes of text that follow */
};
_Static_assert(sizeof(struct control_response) == 16, "control_response layout");

/* Checks a received request. Returns 0, or -EPROTO (magic, length), -EPROTONOSUPPORT
 * (version), -EOPNOTSUPP (unknown command), -EINVAL (flags or address). */
int control_request_check(const struct control_request *req);
/* Checks a received response header the same way. */
int control_response_check(const struct control_response *resp);

void control_request_init(struct control_request *req, enum control_cmd cmd, uint32_t flags);
/* Copies an address into the request and sets CONTROL_F_ADDR. */
void control_request_set_addr(struct control_request *req, const struct ipaddr *a);
void control_request_get_addr(const struct control_request *req, struct ipaddr *ret);

const char *control_cmd_name(enum control_cmd cmd);

#endif
