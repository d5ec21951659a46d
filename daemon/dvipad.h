/* The daemon: one node of the plex. Owns the event loop and every part that
 * touches the outside (control socket, corosync, kernel), feeds events to core
 * and carries core's decisions out. */
#ifndef DVIPA_DAEMON_DVIPAD_H
#define DVIPA_DAEMON_DVIPAD_H

#include "core/config.h"
#include "core/ipaddr.h"

struct dvipad_options {
	const char *config_path;
	const char *socket_path;
	const char *state_dir; /* NULL: OPFILE_DIR_DEFAULT */
	/* --metrics ADDR:PORT (port 0: not given; the profile's METRICS
	 * LISTEN, if any, applies). */
	struct ipaddr metrics_addr;
	uint16_t metrics_port;
};

struct dvipad;

/* Takes ownership of config only on success. */
int dvipad_new(const struct dvipad_options *opts, struct config *config, struct dvipad **ret);
/* Runs until SIGTERM or SIGINT (SIGHUP reloads the profile); returns 0 or
 * -errno. */
int dvipad_run(struct dvipad *d);
void dvipad_free(struct dvipad *d);

#endif
