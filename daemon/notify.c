#include "daemon/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.h"

static bool ready_sent, failure_logged;
static char last_status[96];

/* Sends one state to $NOTIFY_SOCKET. Returns 0 (also when there is none) or
 * -errno. */
static int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len, n = strlen(state);
	socklen_t salen;
	ssize_t sent;
	int fd, err = 0;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len > sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	/* An abstract name starts with a zero byte and is not terminated. */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	else if (len == sizeof(sa.sun_path))
		return -EINVAL;
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	if (sent < 0)
		err = -errno;
	else if ((size_t)sent != n)
		err = -EMSGSIZE;
	close(fd);
	return err;
}

static void notify(const char *state)
{
	int err = notify_send(state);

	if (err < 0 && !failure_logged) {
		failure_logged = true;
		log_warn("cannot tell the service manager '%s' on %s: %s", state,
		         getenv("NOTIFY_SOCKET"), strerror(-err));
	}
}

void notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping");
}

void notify_status(bool connected, bool quorate, bool settled, const struct plex_facts *facts)
{
	char state[sizeof(last_status) + 24];
	char status[sizeof(last_status)];
	size_t active = 0, claimed = 0;
	bool ready;

	for (size_t i = 0; i < facts->n_held; i++) {
		active += facts->held[i].state == PLEX_HELD_ACTIVE;
		claimed += facts->held[i].state == PLEX_HELD_CLAIMED;
	}
	if (!connected)
		snprintf(status, sizeof(status), "connecting to corosync");
	else if (!quorate)
		snprintf(status, sizeof(status), "waiting for quorum");
	else if (claimed)
		snprintf(status, sizeof(status), "quorate, owner of %zu DVIPA%s, %zu being added",
		         active, active == 1 ? "" : "s", claimed);
	else
		snprintf(status, sizeof(status), "quorate, owner of %zu DVIPA%s", active,
		         active == 1 ? "" : "s");
	ready = !ready_sent && connected && quorate && settled && !claimed;
	if (!ready && strcmp(status, last_status) == 0)
		return;
	memcpy(last_status, status, sizeof(last_status));
	snprintf(state, sizeof(state), "%sSTATUS=%s", ready ? "READY=1\n" : "", status);
	if (ready)
		ready_sent = true;
	notify(state);
}
