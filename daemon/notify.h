/* The service manager's readiness protocol (sd_notify(3)), without
 * libsystemd: one datagram of "KEY=VALUE" lines to the Unix socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 * Without $NOTIFY_SOCKET every call does nothing, so dvipad behaves the same
 * outside systemd. Failures are logged once and otherwise ignored: the
 * service manager is told, never asked. */
#ifndef DVIPA_DAEMON_NOTIFY_H
#define DVIPA_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/plex.h"

/* READY=1, once per run: the first quorate, settled view has been acted on
 * (DVIPAs this node should own are up, the data plane set). Later calls do
 * nothing. */
void notify_ready(void);
/* STOPPING=1: dvipad is giving its DVIPAs up and exiting. */
void notify_stopping(void);
/* STATUS=..., sent when the summary changes: "connecting to corosync",
 * "waiting for quorum", "quorate, owner of N DVIPAs" (N: those active in
 * the kernel, not those only claimed). */
void notify_status(bool connected, bool quorate, const struct plex_facts *facts);

#endif
