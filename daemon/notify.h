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

/* STOPPING=1: dvipad is giving its DVIPAs up and exiting. */
void notify_stopping(void);
/* Called every tick. STATUS=... when the summary changes: "connecting to
 * corosync", "waiting for quorum", "quorate, owner of N DVIPAs" (those
 * active in the kernel), with ", M being added" while some are claimed but
 * not in the kernel yet. READY=1, once per run, with the first STATUS after
 * the first settled quorate view (settled: every member's facts known, see
 * node.c) in which no DVIPA is still being added: the DVIPAs this node
 * should hold are up and its data plane is set. One datagram carries both,
 * so that the service manager never shows a ready dvipad with an old
 * status. */
void notify_status(bool connected, bool quorate, bool settled, const struct plex_facts *facts);

#endif
