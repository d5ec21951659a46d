/* One process per node out of a CPG membership (see members.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/members.h"

static int members_proc_cmp(const void *a, const void *b)
{
	const struct members_proc *x = a, *y = b;

	if (x->nodeid != y->nodeid)
		return x->nodeid < y->nodeid ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return 0;
}

int members_reduce(const struct members_proc *procs, size_t n, struct members *ret)
{
	struct members_proc sorted[MEMBERS_MAX];
	size_t i;

	if (n > MEMBERS_MAX)
		return -E2BIG;
	ret->n = 0;
	if (n == 0)
		return 0;
	memcpy(sorted, procs, n * sizeof(*procs));
	qsort(sorted, n, sizeof(*sorted), members_proc_cmp);
	for (i = 0; i < n; i++) {
		/* Sorted by (nodeid, pid): the first of each node has the lowest pid. */
		if (ret->n && ret->v[ret->n - 1].nodeid == sorted[i].nodeid)
			continue;
		ret->v[ret->n++] = sorted[i];
	}
	return 0;
}

static const struct members_proc *members_find(const struct members *m, uint32_t nodeid)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].nodeid == nodeid)
			return &m->v[mid];
		if (m->v[mid].nodeid < nodeid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint32_t members_pid(const struct members *m, uint32_t nodeid)
{
	const struct members_proc *p = members_find(m, nodeid);

	return p ? p->pid : 0;
}

bool members_counts(const struct members *m, uint32_t nodeid, uint32_t pid)
{
	const struct members_proc *p = members_find(m, nodeid);

	return p && p->pid == pid;
}

static bool members_proc_listed(const struct members_proc *list, size_t n,
                                const struct members_proc *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].nodeid == p->nodeid && list[i].pid == p->pid)
			return true;
	return false;
}

/* A process both views hold that CPG still lists as leaving or joining left
 * and came back within one confchg. */
static bool members_bounced(const struct members_proc *p, const struct members_proc *cpg_left,
                            size_t n_cpg_left, const struct members_proc *cpg_joined,
                            size_t n_cpg_joined)
{
	return members_proc_listed(cpg_left, n_cpg_left, p) ||
	       members_proc_listed(cpg_joined, n_cpg_joined, p);
}

bool members_diff(const struct members *old, const struct members *cur,
                  const struct members_proc *cpg_left, size_t n_cpg_left,
                  const struct members_proc *cpg_joined, size_t n_cpg_joined,
                  struct members_change *ret)
{
	size_t i;

	ret->n_members = ret->n_joined = ret->n_left = 0;
	for (i = 0; i < cur->n; i++)
		ret->members[ret->n_members++] = cur->v[i].nodeid;
	for (i = 0; i < old->n; i++) {
		const struct members_proc *p = &old->v[i];

		if (!members_counts(cur, p->nodeid, p->pid) ||
		    members_bounced(p, cpg_left, n_cpg_left, cpg_joined, n_cpg_joined))
			ret->left[ret->n_left++] = p->nodeid;
	}
	for (i = 0; i < cur->n; i++) {
		const struct members_proc *p = &cur->v[i];

		if (!members_counts(old, p->nodeid, p->pid) ||
		    members_bounced(p, cpg_left, n_cpg_left, cpg_joined, n_cpg_joined))
			ret->joined[ret->n_joined++] = p->nodeid;
	}
	return ret->n_joined || ret->n_left;
}
