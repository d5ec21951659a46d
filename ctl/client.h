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

#endif
