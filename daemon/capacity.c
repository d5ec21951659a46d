/* This node's CPU counters (see daemon/capacity.h). */
#include "daemon/capacity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "daemon/file.h"

/* /proc/stat of a large machine is long; mountinfo of a busy one too. */
#define CAPACITY_FILE_MAX (4u << 20)

/* The whole of a file, NUL-terminated, in a malloc'd buffer. 0 or -errno. */
static int capacity_slurp(const char *path, char **ret)
{
	return file_read(path, CAPACITY_FILE_MAX, false, ret, NULL);
}

/* The file NAME of directory dir, or NULL. */
static char *capacity_file(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	char *text = NULL;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return NULL;
	return capacity_slurp(path, &text) == 0 ? text : NULL;
}

/* Host counters of the CPUs this process may run on. */
static int capacity_host(struct wlm_sample *ret)
{
	uint8_t allowed[CPU_SETSIZE / 8] = {0};
	cpu_set_t set;
	char *text = NULL;
	bool masked = sched_getaffinity(0, sizeof(set), &set) == 0;
	int err;

	for (int i = 0; masked && i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			allowed[i / 8] |= (uint8_t)(1u << (i % 8));
	err = capacity_slurp("/proc/stat", &text);
	if (err == 0)
		err = wlm_parse_stat(text, masked ? allowed : NULL, sizeof(allowed), ret);
	free(text);
	return err;
}

/* The limit of one cgroup level, when it has one. */
static bool capacity_v1_limit(const char *dir, struct wlm_limit *ret)
{
	char *quota = capacity_file(dir, "cpu.cfs_quota_us");
	char *period = capacity_file(dir, "cpu.cfs_period_us");
	bool ok = quota && period &&
	          cgroup_parse_limit(quota, period, &ret->quota_us, &ret->period_us) == 0;

	free(quota);
	free(period);
	return ok;
}

static void capacity_v1_usage(const char *dir, struct wlm_limit *l)
{
	char *text = capacity_file(dir, "cpuacct.usage");

	l->has_usage = text && cgroup_parse_usage(text, 0, &l->usage_ns) == 0;
	free(text);
}

/* cgroup v1: quotas in the cpu hierarchy, usage in cpuacct (the same
 * hierarchy when they are mounted together) for the same cgroup. False
 * when the cpu hierarchy is not there. */
static bool capacity_v1(const char *self, const char *mountinfo, struct wlm_sample *ret,
                        char *where)
{
	char path[PATH_MAX], cpu[PATH_MAX], acct[PATH_MAX];
	size_t top_cpu, top_acct = 0;
	bool have_acct;

	if (cgroup_self_path(self, "cpu", path, sizeof(path)) < 0 ||
	    cgroup_dir(mountinfo, "cpu", path, cpu, sizeof(cpu), &top_cpu) < 0)
		return false;
	have_acct = cgroup_self_path(self, "cpuacct", path, sizeof(path)) == 0 &&
	            cgroup_dir(mountinfo, "cpuacct", path, acct, sizeof(acct), &top_acct) == 0;
	snprintf(where, CAPACITY_WHERE_MAX, "v1 %s %s", cpu, have_acct ? acct : "-");
	for (;;) {
		struct wlm_limit l = {0};

		if (ret->n_limits < WLM_MAX_LIMITS && capacity_v1_limit(cpu, &l)) {
			/* Usage of the same cgroup only. */
			if (have_acct && strcmp(cpu + top_cpu, acct + top_acct) == 0)
				capacity_v1_usage(acct, &l);
			ret->limits[ret->n_limits++] = l;
		}
		if (!cgroup_parent(cpu, top_cpu))
			break;
		if (have_acct)
			cgroup_parent(acct, top_acct);
	}
	return true;
}

/* cgroup v2: cpu.max and cpu.stat of each level. */
static void capacity_v2(const char *self, const char *mountinfo, struct wlm_sample *ret,
                        char *where)
{
	char path[PATH_MAX], dir[PATH_MAX];
	size_t top;

	if (cgroup_self_path(self, NULL, path, sizeof(path)) < 0 ||
	    cgroup_dir(mountinfo, NULL, path, dir, sizeof(dir), &top) < 0)
		return;
	snprintf(where, CAPACITY_WHERE_MAX, "v2 %s", dir);
	do {
		struct wlm_limit l = {0};
		char *max = ret->n_limits < WLM_MAX_LIMITS ? capacity_file(dir, "cpu.max") : NULL;

		if (max && cgroup_parse_limit(max, NULL, &l.quota_us, &l.period_us) == 0) {
			char *stat = capacity_file(dir, "cpu.stat");

			l.has_usage = stat && cgroup_parse_usage(stat, 1, &l.usage_ns) == 0;
			free(stat);
			ret->limits[ret->n_limits++] = l;
		}
		free(max);
	} while (cgroup_parent(dir, top));
}

int capacity_sample(struct wlm_sample *ret, char *where)
{
	struct wlm_sample s = {0};
	char *self = NULL, *mountinfo = NULL;
	int err;

	where[0] = 0;
	err = capacity_host(&s);
	if (err < 0)
		return err;
	/* Without cgroup files the host's figures are all there is. */
	if (capacity_slurp("/proc/self/cgroup", &self) == 0 &&
	    capacity_slurp("/proc/self/mountinfo", &mountinfo) == 0 &&
	    !capacity_v1(self, mountinfo, &s, where))
		capacity_v2(self, mountinfo, &s, where);
	free(self);
	free(mountinfo);
	*ret = s;
	return 0;
}
