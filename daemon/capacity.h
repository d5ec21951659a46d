/* This node's CPU counters for BASEWLM (daemon/capacity.c): /proc/stat for
 * the CPUs dvipad may run on (its affinity, which a cpuset narrows), and
 * the CPU limit and usage of the cgroup dvipad runs in and of each of its
 * ancestors that has one: cgroup v1's cpu and cpuacct hierarchies, else
 * cgroup v2's cpu.max and cpu.stat. The counters of two moments give the
 * spare capacity (wlm_spare()). The cgroup is looked up at every sample, so
 * that moving dvipad to another cgroup is seen at once. */
#ifndef DVIPA_DAEMON_CAPACITY_H
#define DVIPA_DAEMON_CAPACITY_H

#include <limits.h>
#include <stddef.h>

#include "core/wlm.h"

/* Bytes of the text that names where a sample's limits come from. */
#define CAPACITY_WHERE_MAX (2 * PATH_MAX + 16)

/* The counters of now into *ret, and in where (CAPACITY_WHERE_MAX bytes)
 * the cgroup directory they come from ("" without cgroup): two samples
 * compare only when it is the same. 0 or -errno (no /proc/stat). */
int capacity_sample(struct wlm_sample *ret, char *where);

#endif
