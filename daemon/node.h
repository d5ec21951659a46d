/* This node's part in the plex: joins corosync (fabric), feeds membership,
 * quorum and announcements to the plex state machine (core/plex.c), and
 * carries its decisions out in the kernel (net): adds and removes DVIPAs,
 * announces them on the LAN, keeps their lifetimes fresh and repairs drift. */
#ifndef DVIPA_DAEMON_NODE_H
#define DVIPA_DAEMON_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/ipaddr.h"
#include "daemon/loop.h"

struct node;

/* Opens the kernel handles, removes DVIPAs an earlier run left behind and
 * starts joining the plex (retrying until corosync answers). config stays
 * the caller's and must outlive the node. The directory of socket_path (the
 * control socket's, a runtime directory) keeps what must survive a crash of
 * dvipad (the sysctls it changed); state_dir keeps the operator's leave,
 * deactivate and quiesce across restarts (daemon/opfile.h). */
int node_new(struct loop *l, const struct config *config, const char *socket_path,
             const char *state_dir, struct node **ret);
/* Removes every DVIPA this node holds and leaves the plex. */
void node_free(struct node *n);

/* -errno of a failure that must stop the daemon (another dvipad of this
 * node is in the plex), else 0. */
int node_error(const struct node *n);

/* Periodic work; the daemon calls it every few hundred milliseconds. */
void node_tick(struct node *n, uint64_t now_ms);

/* Operator commands. Each returns 0 or -errno and may set *ret_msg to a
 * malloc'd explanation for the operator. */
int node_deactivate(struct node *n, const struct ipaddr *dvipa, char **ret_msg);
int node_reactivate(struct node *n, const struct ipaddr *dvipa, char **ret_msg);
int node_leave(struct node *n, char **ret_msg);
int node_join(struct node *n, char **ret_msg);
/* A reloaded profile (same INTERFACE) takes effect: this node announces its
 * new definitions and acts on the plex's answer like on any other change.
 * config must outlive the node or the next reload; the old one may be freed
 * once this returns 0. On failure nothing changed. */
int node_reload(struct node *n, const struct config *config, char **ret_msg);
/* dvipactl quiesce / resume [--port P] (port 0: every distributed port). */
int node_quiesce(struct node *n, uint16_t port, bool on, char **ret_msg);

/* Displays: malloc'd text or JSON, NULL and errno on failure. */
char *node_show_dynamic(const struct node *n, bool json);
char *node_show_plex(const struct node *n, bool json);
/* VDPT and VCRT; they read the data plane's flow table. */
char *node_show_ports(struct node *n, bool json);
char *node_show_connections(struct node *n, bool json);
/* The data plane's counters (dvipactl show counters). */
char *node_show_counters(struct node *n, bool json);

/* Events for dvipactl monitor and counters for the metrics. */
struct events *node_events(struct node *n);
/* Compares this node's DVIPA statuses with those of the last call and
 * reports the changes as events (daemon/events.h). */
void node_status_events(struct node *n);
/* While on (somebody watches), every change the node acts on (a message, a
 * membership change, a tick) ends with node_status_events(): a status that
 * lasts less than a tick is reported too. Off: the comparison starts anew
 * when it is turned on. */
void node_watch_statuses(struct node *n, bool on);
/* The Prometheus text of this node (daemon/metrics.h): malloc'd, NULL and
 * errno on failure. */
char *node_metrics(struct node *n);

#endif
