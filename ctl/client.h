/* dvipactl's side of the control protocol (core/control.h). */
#ifndef DVIPA_CTL_CLIENT_H
#define DVIPA_CTL_CLIENT_H

#include "core/control.h"

/* Sends req to the daemon at path and waits for the answer. Returns 0 with
 * *ret_status (the daemon's 0 or -errno) and *ret_body (malloc'd, NUL-ended,
 * possibly empty) set, or -errno when the exchange itself failed: -ENOENT or
 * -ECONNREFUSED (no daemon), -ETIMEDOUT, -EPROTO (a malformed answer). */
int client_call(const char *path, const struct control_request *req, int *ret_status,
                char **ret_body);

/* Gets the bytes of a stream as they come; a negative return ends it. */
typedef int (*client_line_fn)(void *data, const char *bytes, size_t len);

/* CONTROL_MONITOR: sends req and passes every byte the daemon streams to
 * fn until the daemon closes the connection (then returns 0). A refusal
 * (*ret_status < 0) may set *ret_msg to its malloc'd message. -errno as
 * client_call(). */
int client_monitor(const char *path, const struct control_request *req, int *ret_status,
                   char **ret_msg, client_line_fn fn, void *data);

#endif
