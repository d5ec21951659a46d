/* This node's workload report for BASEWLM and SERVERWLM
 * (daemon/workload.c): while it is a target of a service with one of those
 * methods, its spare CPU over every interval of WORKLOAD_INTERVAL_MS
 * (daemon/capacity.c), and for its ready ports of SERVERWLM services how
 * their servers keep up: the accept queues of their listeners sampled
 * every WORKLOAD_SAMPLE_MS and the connections those listeners dropped
 * (net/diag.c). The figures become a struct wlm_report through core/wlm.c,
 * quantized, and replace the reported ones only when they moved by a step
 * worth an announcement, and not more often than the damping of a node
 * whose figures keep moving allows (wlm_damp_allow()). docs/distributor.md
 * describes it. */
#ifndef DVIPA_DAEMON_WORKLOAD_H
#define DVIPA_DAEMON_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/wlm.h"
#include "net/diag.h"

/* A report covers this much time; a node announces at most once per
 * interval for its workload (and less often while its figures flap). */
#define WORKLOAD_INTERVAL_MS 2000
#define WORKLOAD_SAMPLE_MS   500

struct workload;

/* diag stays the caller's. 0 or -ENOMEM. */
int workload_new(struct diag_handle *diag, struct workload **ret);
void workload_free(struct workload *w);

/* Periodic work (every few hundred milliseconds): v is the derived state,
 * self this node, ready its ready list (as it announces it). Updates
 * *report, what this node announces; true when it changed. Outside any
 * BASEWLM or SERVERWLM service the report is empty. */
bool workload_tick(struct workload *w, const struct dist_view *v, uint32_t self,
                   const struct dist_ready *ready, size_t n_ready, uint64_t now_ms,
                   struct wlm_report *report);

#endif
