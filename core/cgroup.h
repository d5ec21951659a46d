/* The text of the kernel's cgroup files (core/cgroup.c): which cgroup a
 * process is in (/proc/self/cgroup), where its hierarchy is mounted
 * (/proc/self/mountinfo), and the CPU limit and usage files of cgroup v1
 * (cpu.cfs_quota_us, cpu.cfs_period_us, cpuacct.usage) and v2 (cpu.max,
 * cpu.stat). dvipad reads the files (daemon/capacity.c); these functions
 * only parse what it read, so that they are tested in one process. */
#ifndef DVIPA_CORE_CGROUP_H
#define DVIPA_CORE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The cgroup of a process in the v1 hierarchy that has controller (e.g.
 * "cpu", "cpuacct"), or in the v2 hierarchy (controller NULL: the "0::"
 * line), from the text of /proc/PID/cgroup. 0, -ENOENT when there is no
 * such hierarchy, -ENAMETOOLONG. */
int cgroup_self_path(const char *text, const char *controller, char *buf, size_t size);

/* The directory of cgroup path (as cgroup_self_path() gives it) in the
 * mounted file system of its hierarchy, from the text of
 * /proc/self/mountinfo: a "cgroup" mount whose options name controller, or
 * a "cgroup2" mount for controller NULL, whose root holds path. 0 and in
 * *ret_top the length of the mount point's part of buf (the highest level
 * this mount shows); -ENOENT when no mount shows it, -ENAMETOOLONG. */
int cgroup_dir(const char *mountinfo, const char *controller, const char *path, char *buf,
               size_t size, size_t *ret_top);

/* Cuts the last component of a cgroup directory, not past the first top
 * bytes (see cgroup_dir()). False when nothing is left to cut. */
bool cgroup_parent(char *dir, size_t top);

/* A CPU limit: cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us texts,
 * or v2's cpu.max text (period NULL). 0 with the quota and period in
 * microseconds; -ENOENT when there is no limit ("-1", "max"); -EINVAL. */
int cgroup_parse_limit(const char *quota, const char *period, uint64_t *ret_quota_us,
                       uint64_t *ret_period_us);
/* CPU time used, in nanoseconds: v1's cpuacct.usage text (v2 false), or
 * the usage_usec line of v2's cpu.stat (v2 true). 0 or -EINVAL. */
int cgroup_parse_usage(const char *text, int v2, uint64_t *ret_ns);

#endif
