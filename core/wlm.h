/* Workload figures for the BASEWLM and SERVERWLM distribution methods
 * (core/wlm.c): what a node reports about its spare CPU capacity and about
 * how its servers keep up with new connections, how those figures are
 * computed from raw samples, how they are quantized so that the plex is not
 * flooded with announcements, and how a distributor turns them into weights
 * of 0 .. WLM_WEIGHT_MAX. docs/distributor.md describes the method.
 *
 * Capacity is counted in thousandths of a CPU ("millicpus"): 1000 is one
 * CPU's worth of spare time. Pure: samples and times are arguments. */
#ifndef DVIPA_CORE_WLM_H
#define DVIPA_CORE_WLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* Weights as z/OS WLM gives them: the target with the most capacity gets
 * WLM_WEIGHT_MAX. */
#define WLM_WEIGHT_MAX 64
/* Capacity above this is refused: 16,777 CPUs. */
#define WLM_CAPACITY_MAX (1u << 24)
/* A server that keeps up fully. */
#define WLM_EFFICIENCY_FULL 100
/* Servers one report lists at most: the data plane's services. */
#define WLM_MAX_SERVERS 1024
/* Nested cgroup levels with a CPU limit that one sample holds. */
#define WLM_MAX_LIMITS 8

/* One listening port of a target whose server does not keep up fully. */
struct wlm_server {
	struct ipaddr dvipa;
	uint16_t port;
	uint8_t efficiency; /* 0 .. WLM_EFFICIENCY_FULL - 1 */
};

/* What a node reports. Zeroed: nothing reported. */
struct wlm_report {
	bool has_capacity; /* capacity was measured */
	uint32_t capacity; /* spare CPU, millicpus; 0 without has_capacity */
	/* Servers below WLM_EFFICIENCY_FULL, sorted by (DVIPA, port), unique;
	 * every other server keeps up fully. */
	size_t n_servers;
	struct wlm_server *servers;
};

void wlm_report_clear(struct wlm_report *r);
/* Deep copy into *dst (cleared first on success). 0 or -ENOMEM; dst
 * untouched on failure. */
int wlm_report_copy(struct wlm_report *dst, const struct wlm_report *src);
/* 0 when r is well formed, else -EINVAL: capacity <= WLM_CAPACITY_MAX and 0
 * when not measured; at most WLM_MAX_SERVERS servers, each with an address
 * of its family, a port, an efficiency below WLM_EFFICIENCY_FULL, sorted
 * and unique. */
int wlm_report_check(const struct wlm_report *r);
bool wlm_report_equal(const struct wlm_report *a, const struct wlm_report *b);
/* The efficiency r reports for dvipa:port: WLM_EFFICIENCY_FULL when the
 * port is not listed. */
unsigned wlm_report_efficiency(const struct wlm_report *r, const struct ipaddr *dvipa,
                               uint16_t port);

/* ---- measuring ---- */

/* A CPU limit of one cgroup level: quota_us of CPU time every period_us,
 * and the time the cgroup used so far (when known). */
struct wlm_limit {
	uint64_t quota_us, period_us;
	bool has_usage;
	uint64_t usage_ns;
};

/* The raw counters of one moment. */
struct wlm_sample {
	/* /proc/stat of the CPUs this node may run on: ticks idle (idle and
	 * iowait) and in all, and how many CPUs. */
	uint64_t idle, total;
	unsigned n_cpus;
	/* The cgroup levels with a CPU limit, innermost first. */
	size_t n_limits;
	struct wlm_limit limits[WLM_MAX_LIMITS];
};

/* Spare CPU between two samples elapsed_ms apart, in millicpus: the idle
 * share of the host's CPUs times their number, and no more than what the
 * tightest cgroup limit leaves (its quota less what the cgroup used; the
 * quota alone when usage is unknown). The limits must be the same levels in
 * both samples. */
uint32_t wlm_spare(const struct wlm_sample *before, const struct wlm_sample *after,
                   uint64_t elapsed_ms);

/* Sums the "cpuN" lines of /proc/stat (text, NUL-terminated) for the CPUs
 * whose bit is set in allowed (bits of allowed_bytes bytes; NULL: every
 * CPU) into ret->idle, ret->total and ret->n_cpus. 0 or -EINVAL when no
 * line counts. */
int wlm_parse_stat(const char *text, const uint8_t *allowed, size_t allowed_bytes,
                   struct wlm_sample *ret);

/* How well a server keeps up, 0 .. WLM_EFFICIENCY_FULL, over an interval
 * of elapsed_ms: queued of room is the sum over the interval's samples of
 * the connections waiting in its accept queues and of what those queues
 * hold; drops the connections its listeners dropped in the interval. An
 * empty queue and no drop is 100; a full queue is 0; every drop per second
 * divides what is left by one more (one drop a second halves it). */
unsigned wlm_efficiency(uint64_t queued, uint64_t room, uint64_t drops, uint64_t elapsed_ms);

/* ---- reporting ---- */

/* Capacity rounded to what is worth reporting: steps of 10 millicpus below
 * one CPU, 100 below ten CPUs, 1000 above. */
uint32_t wlm_quantize_capacity(uint32_t capacity);
/* Efficiency rounded to tens. */
unsigned wlm_quantize_efficiency(unsigned efficiency);
/* Whether a new quantized figure differs enough from the reported one to
 * announce it: capacity by 20 millicpus and by an eighth; efficiency by 20
 * points, or reaching 0 or WLM_EFFICIENCY_FULL. Noise of a few percent
 * then never makes a node announce again. */
bool wlm_capacity_changed(uint32_t reported, uint32_t now);
bool wlm_efficiency_changed(unsigned reported, unsigned now);

/* Damping of a node whose figures keep moving (a busy shared host): after
 * each announced change the next one waits for a hold time that doubles,
 * from WLM_HOLD_MIN_MS up to WLM_HOLD_MAX_MS; every interval that wants no
 * change halves it again. A change after a quiet while goes out at once;
 * a flapping node announces once every WLM_HOLD_MAX_MS at most. Zeroed:
 * no hold. */
#define WLM_HOLD_MIN_MS 2000
#define WLM_HOLD_MAX_MS 16000
struct wlm_damp {
	uint64_t hold_ms; /* the next hold; 0 means WLM_HOLD_MIN_MS */
	uint64_t next_ms; /* no announcement before */
};

/* Called once an interval: want says whether the figures moved by a step.
 * True when the change may be announced now (the hold starts); urgent
 * changes (a server that stopped keeping up) go out in any case. */
bool wlm_damp_allow(struct wlm_damp *d, uint64_t now_ms, bool want, bool urgent);

/* ---- weighing ---- */

/* One target of a service, for wlm_weigh(). */
struct wlm_weigh {
	bool eligible;       /* may get new connections (ready, not quiesced) */
	bool reported;       /* its node reported its capacity */
	uint32_t capacity;   /* with reported */
	unsigned efficiency; /* its server's for the port (WLM_EFFICIENCY_FULL when unknown) */
	unsigned weight;     /* out: 0 .. WLM_WEIGHT_MAX */
};

/* The WLM weights of a service's targets v[0 .. n): capacity (times
 * efficiency / 100 when server_specific) in proportion, the largest of the
 * eligible targets WLM_WEIGHT_MAX, any non-zero figure at least 1. A
 * target without report gets the mean weight of the eligible ones that
 * reported (at least 1), so that a newcomer neither starves nor floods.
 * True when the weights apply; false when no eligible target has a weight
 * (nobody reported, or every eligible one has nothing spare): the caller
 * then distributes round robin. */
bool wlm_weigh(struct wlm_weigh *v, size_t n, bool server_specific);

#endif
