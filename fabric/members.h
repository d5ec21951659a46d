/* The dvipa view of a CPG membership: one process per node.
 *
 * CPG members are (nodeid, pid) pairs and nothing stops two dvipads of one
 * node from joining. Every member must agree on which one counts without
 * talking, so the choice is a pure function of the member list CPG hands to
 * everybody in the same order: the lowest pid of each node wins. Pure C, no
 * corosync types, so that it is unit-tested in one process. */
#ifndef DVIPA_FABRIC_MEMBERS_H
#define DVIPA_FABRIC_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CPG_MEMBERS_MAX: CPG never reports more processes than this. */
#define MEMBERS_MAX 128

struct members_proc {
	uint32_t nodeid;
	uint32_t pid;
};

/* One chosen process per node, ascending by nodeid. */
struct members {
	size_t n;
	struct members_proc v[MEMBERS_MAX];
};

/* What changed between two views, as node ids (ascending). */
struct members_change {
	size_t n_members, n_joined, n_left;
	uint32_t members[MEMBERS_MAX];
	uint32_t joined[MEMBERS_MAX];
	uint32_t left[MEMBERS_MAX];
};

/* Build the view of a raw CPG member list (any order, several processes per
 * node allowed). Returns 0 or -E2BIG (more than MEMBERS_MAX processes;
 * *ret untouched). */
int members_reduce(const struct members_proc *procs, size_t n, struct members *ret);
/* The chosen pid of nodeid, or 0 when the node is not a member. */
uint32_t members_pid(const struct members *m, uint32_t nodeid);
/* True when (nodeid, pid) is the process that counts for its node. */
bool members_counts(const struct members *m, uint32_t nodeid, uint32_t pid);
/* Compare the view before and after one CPG confchg. CPG's own left and
 * joined process lists are passed too, because a process can leave and come
 * back within one confchg (a partition that healed): its node is then
 * reported as left and joined although both views hold it. Returns true when
 * the change matters to dvipa (some node joined or left). */
bool members_diff(const struct members *old, const struct members *cur,
                  const struct members_proc *cpg_left, size_t n_cpg_left,
                  const struct members_proc *cpg_joined, size_t n_cpg_joined,
                  struct members_change *ret);

#endif
