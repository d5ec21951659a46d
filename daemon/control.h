/* dvipad's control socket: accepts dvipactl connections, reads one request,
 * hands it to the daemon and writes the answer back (core/control.h). */
#ifndef DVIPA_DAEMON_CONTROL_H
#define DVIPA_DAEMON_CONTROL_H

#include <stddef.h>

#include "core/control.h"
#include "core/event.h"
#include "daemon/loop.h"

struct control_server;

/* Answers one checked request: returns 0 or -errno and sets *ret_body to a
 * malloc'd text (the display, or an error message for the operator), which
 * the server frees. *ret_body may stay NULL. */
typedef int (*control_handler_fn)(void *data, const struct control_request *req, char **ret_body);

/* Creates the socket (and its directory), mode 0600. Fails with -EADDRINUSE
 * when another daemon answers on path. */
int control_server_open(struct loop *l, const char *path, control_handler_fn fn, void *data,
                        struct control_server **ret);
/* Drops clients that have not sent a whole request for too long. */
void control_server_tick(struct control_server *s, uint64_t now_ms);
void control_server_close(struct control_server *s);

/* Queues the event for every monitor client (CONTROL_MONITOR); never
 * blocks: a client whose queue is full is dropped with a last line that
 * says so. */
void control_server_publish(struct control_server *s, const struct event *e);
/* Monitor clients connected now. */
size_t control_server_monitors(const struct control_server *s);

#endif
