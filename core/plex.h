/* The replicated plex state machine: who owns each DVIPA (core/plex.c).
 *
 * Every dvipad joins one corosync CPG group and applies, in agreed order, the
 * same inputs: membership changes, the quorum state and every member's
 * announcement of its own facts (struct plex_facts, carried by core/wire.h).
 * The derived state -- the designated owner of every DVIPA -- is a function of
 * (members, quorum, facts) alone, so every member computes the same answer
 * without an election protocol. docs/plex.md states the rules with their z/OS
 * references.
 *
 * Safety (a DVIPA is never in two members' kernels) does not rest on members
 * agreeing at every instant: it rests on the claim protocol below, which needs
 * only the agreed order. The daemon's side of the contract:
 *
 *   0. Feed every input in CPG order, this node's own announcements included
 *      (CPG delivers them back), with the CPG sender as `sender`.
 *   1. After every applied input, call plex_actions() with the facts this node
 *      last *sent* and carry the actions out:
 *        PLEX_ACTION_CLAIM    list the DVIPA as claimed in the next announcement;
 *        PLEX_ACTION_UNCLAIM  drop the claim from the next announcement;
 *        PLEX_ACTION_ADD      add the DVIPA to the kernel, then list it as active;
 *        PLEX_ACTION_REMOVE   remove it from the kernel *first*, then drop it.
 *      plex_facts_apply_action() edits the facts accordingly.
 *   2. Announce (seq + 1, plex_fill_known() first) after every change of the
 *      facts and after every membership change -- even when nothing changed --
 *      so that merged partitions converge without replaying history.
 *   3. Never hold a DVIPA in the kernel that the last sent announcement does
 *      not list, and never add one except on PLEX_ACTION_ADD.
 *   4. Announce connection counts when they go between zero and non-zero
 *      (MOVEABLE WHENIDLE and QUIESCING only look at zero / non-zero).
 *
 * Sizes: up to PLEX_MAX_NODES members, up to PLEX_MAX_DVIPAS definitions per
 * node. Everything is kept in sorted arrays. No syscalls, no clock: times are
 * what the caller passes. */
#ifndef DVIPA_CORE_PLEX_H
#define DVIPA_CORE_PLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/ipaddr.h"

#define PLEX_MAX_NODES 32
/* z/OS allows 1024 DVIPAs per stack. */
#define PLEX_MAX_DVIPAS 1024
/* A node's "known to exist" list may name every DVIPA of the plex. */
#define PLEX_MAX_KNOWN (PLEX_MAX_NODES * PLEX_MAX_DVIPAS)
#define PLEX_NAME_MAX  64

/* corosync never uses node id 0; here it means "no node". */
#define PLEX_NODE_NONE 0

/* plex_facts.flags */
#define PLEX_FACTS_LEFT      0x1u /* LEAVEGROUP: hold nothing, own nothing, back up nothing */
#define PLEX_FACTS_FLAGS_ALL PLEX_FACTS_LEFT

/* One VIPADEFINE or VIPABACKUP definition of a node. */
struct plex_def {
	struct ipaddr dvipa;
	uint8_t prefix_len;
	uint8_t kind;     /* enum config_vipa_kind */
	uint8_t rank;     /* CONFIG_RANK_OWNER for VIPADEFINE, 1..254 for VIPABACKUP */
	uint8_t moveable; /* enum config_moveable */
};

enum plex_held_state {
	PLEX_HELD_NONE = 0,
	PLEX_HELD_CLAIMED, /* announced, not yet in the kernel */
	PLEX_HELD_ACTIVE,  /* in the kernel */
	PLEX_HELD_MAX
};

/* A DVIPA a node claims or holds. */
struct plex_held {
	struct ipaddr dvipa;
	uint8_t state;      /* enum plex_held_state, never NONE */
	uint32_t conns;     /* active connections (WHENIDLE, QUIESCING) */
	uint64_t activated; /* when it was added to the kernel, caller's clock; 0 = claimed */
};

/* Everything a node announces about itself. Every array is sorted by address
 * (ipaddr_cmp) without duplicates; plex_facts_sort() puts them in order. */
struct plex_facts {
	uint32_t node_id;
	uint32_t flags; /* PLEX_FACTS_* */
	uint64_t seq;   /* announcement number, strictly increasing per node */
	char name[PLEX_NAME_MAX + 1];
	struct ipaddr plex_addr;
	size_t n_defs;
	struct plex_def *defs;
	size_t n_deactivated; /* deactivated by the operator (dvipactl deactivate) */
	struct ipaddr *deactivated;
	size_t n_held;
	struct plex_held *held;
	size_t n_known; /* DVIPAs this node knows to exist (see docs/plex.md) */
	struct ipaddr *known;
};

/* Frees the arrays and zeroes *f. NULL is fine. */
void plex_facts_clear(struct plex_facts *f);
/* Deep copy into *dst (cleared first on success). 0 or -ENOMEM; dst untouched
 * on failure. */
int plex_facts_copy(struct plex_facts *dst, const struct plex_facts *src);
/* Sorts every array. -EINVAL on a duplicate address (arrays left sorted). */
int plex_facts_sort(struct plex_facts *f);
/* 0 when f is well formed (ids, flags, kinds, ranks, prefixes, sizes, order),
 * else -EINVAL. */
int plex_facts_check(const struct plex_facts *f);
const struct plex_def *plex_facts_find_def(const struct plex_facts *f, const struct ipaddr *a);
const struct plex_held *plex_facts_find_held(const struct plex_facts *f, const struct ipaddr *a);
bool plex_facts_is_deactivated(const struct plex_facts *f, const struct ipaddr *a);
/* Adds or replaces a held entry, keeping the order. 0 or -ENOMEM/-E2BIG. */
int plex_facts_set_held(struct plex_facts *f, const struct plex_held *h);
/* Removes a held entry; 0, or -ENOENT when absent. */
int plex_facts_drop_held(struct plex_facts *f, const struct ipaddr *a);
/* Adds or removes a deactivated address. 0 or -ENOMEM/-E2BIG/-ENOENT. */
int plex_facts_set_deactivated(struct plex_facts *f, const struct ipaddr *a, bool deactivated);

struct plex;

/* A new state machine for the node self_id (not PLEX_NODE_NONE): no members,
 * not quorate. NULL and errno on failure. */
struct plex *plex_new(uint32_t self_id);
void plex_free(struct plex *p);

/* Inputs. Each returns 0 when applied, or a negative errno and leaves the
 * state as it was. Each applied input replaces the transitions list. */

/* The member list after a CPG configuration change, in any order; it must
 * contain self. Facts of nodes that left are forgotten; nodes that joined have
 * none until they announce. -EINVAL on 0, duplicates, too many or no self. */
int plex_set_members(struct plex *p, const uint32_t *ids, size_t n);
int plex_set_quorum(struct plex *p, bool quorate);
/* An announcement delivered from CPG node `sender`. -EINVAL when malformed,
 * -EPERM when facts->node_id != sender, -ESRCH when the sender is not a
 * member, -ESTALE when facts->seq is not above the last applied one. The
 * facts are copied. */
int plex_apply_facts(struct plex *p, uint32_t sender, const struct plex_facts *facts);

/* Read-only state. */
uint32_t plex_self(const struct plex *p);
bool plex_quorate(const struct plex *p);
size_t plex_members(const struct plex *p, const uint32_t **ret_ids);
/* The facts last applied for a member, NULL when none. */
const struct plex_facts *plex_member_facts(const struct plex *p, uint32_t node_id);
/* True when every member has announced since it joined (our view). Nothing is
 * added to a kernel until the view is complete. */
bool plex_complete(const struct plex *p);
/* The designated owner of a DVIPA, PLEX_NODE_NONE when none or unknown. */
uint32_t plex_owner(const struct plex *p, const struct ipaddr *dvipa);

enum plex_action_type {
	PLEX_ACTION_ADD = 0,
	PLEX_ACTION_REMOVE,
	PLEX_ACTION_CLAIM,
	PLEX_ACTION_UNCLAIM,
	PLEX_ACTION_MAX
};

struct plex_action {
	uint8_t type;       /* enum plex_action_type */
	uint8_t prefix_len; /* from this node's definition (ADD, CLAIM) */
	struct ipaddr dvipa;
};

/* What the local node must do now, given `local`, the facts it last sent (its
 * node_id must be self, and it must pass plex_facts_check()). Sorted by address. *ret is malloc'd
 * (NULL when *ret_n == 0) and freed by the caller. 0, -EINVAL or -ENOMEM. */
int plex_actions(const struct plex *p, const struct plex_facts *local, struct plex_action **ret,
                 size_t *ret_n);
/* Edits f as the action says: ADD marks the DVIPA active since `now` with no
 * connections, REMOVE and UNCLAIM drop it, CLAIM lists it as claimed. Does not
 * touch f->seq. */
int plex_facts_apply_action(struct plex_facts *f, const struct plex_action *a, uint64_t now);
/* Replaces f->known with what this node knows to exist; call before each
 * announcement. 0 or -ENOMEM. */
int plex_fill_known(const struct plex *p, struct plex_facts *f);
const char *plex_action_name(enum plex_action_type t);

/* Status of a DVIPA on one node, as z/OS NETSTAT VIPADYN shows it. */
enum plex_status {
	PLEX_STATUS_ACTIVE = 0,  /* held here, owned here */
	PLEX_STATUS_BACKUP,      /* defined here, owned elsewhere or nowhere */
	PLEX_STATUS_QUIESCING,   /* held and deactivated here, connections remain */
	PLEX_STATUS_DEACTIVATED, /* deactivated here by the operator */
	PLEX_STATUS_MOVING,      /* on its way to or from this node (see docs/plex.md) */
	PLEX_STATUS_INACTIVE,    /* no quorum, LEAVEGROUP, or nobody may activate it */
	PLEX_STATUS_MAX
};

/* The origin of a node's entry when it holds a DVIPA it does not define. */
#define PLEX_ORIGIN_NONE CONFIG_VIPA_KIND_MAX

struct plex_view_node {
	uint32_t node_id;
	uint8_t origin;   /* enum config_vipa_kind, or PLEX_ORIGIN_NONE */
	uint8_t rank;     /* 0 with PLEX_ORIGIN_NONE */
	uint8_t moveable; /* enum config_moveable, as this node defines it */
	uint8_t status;   /* enum plex_status */
	uint8_t held;     /* enum plex_held_state */
	uint32_t conns;
	uint64_t activated;
};

struct plex_view_dvipa {
	struct ipaddr dvipa;
	uint8_t prefix_len;
	uint8_t moveable; /* effective takeback rule: IMMEDIATE or WHENIDLE */
	bool existing;    /* known to exist (a VIPABACKUP without MOVEABLE may take it) */
	uint32_t owner;   /* designated owner, PLEX_NODE_NONE when none */
	char owner_name[PLEX_NAME_MAX + 1]; /* "" when none */
	uint32_t holder;    /* a member whose facts say it is active there, or NONE */
	uint32_t n_holders; /* members whose facts say active (more than one only briefly) */
	size_t first_node;  /* this DVIPA's entries: nodes[first_node .. + n_nodes) */
	size_t n_nodes;     /* ordered by node id */
};

/* A member as its last announcement describes it. */
struct plex_view_member {
	uint32_t node_id;
	bool has_facts; /* false: joined, not announced yet (the rest is zero) */
	char name[PLEX_NAME_MAX + 1];
	struct ipaddr plex_addr;
	uint32_t flags; /* PLEX_FACTS_* */
	uint64_t seq;
};

/* Every member; every DVIPA some member defines or holds, sorted by address,
 * with an entry per member that defines or holds it. */
struct plex_view {
	uint32_t self;
	bool quorate;
	bool complete;
	size_t n_members; /* ordered by node id */
	struct plex_view_member members[PLEX_MAX_NODES];
	size_t n_dvipas;
	struct plex_view_dvipa *dvipas;
	size_t n_nodes;
	struct plex_view_node *nodes;
};

/* Fills *ret (caller clears it with plex_view_clear()). 0 or -ENOMEM. */
int plex_view(const struct plex *p, struct plex_view *ret);
void plex_view_clear(struct plex_view *v);
const char *plex_status_name(enum plex_status s);

/* Why a DVIPA's designated owner changed. Append-only. */
enum plex_reason {
	PLEX_REASON_OTHER = 0,               /* none of the below (facts merged after a change) */
	PLEX_REASON_OWNER_LEFT,              /* the owner left the group (crash, partition, stop) */
	PLEX_REASON_OWNER_RETURNED_TAKEBACK, /* VIPADEFINE node back, MOVEABLE IMMEDIATE */
	PLEX_REASON_HOLDER_IDLE_TAKEBACK,    /* WHENIDLE holder reached zero connections */
	PLEX_REASON_DEACTIVATED,             /* the owner deactivated it (now, or was quiescing) */
	PLEX_REASON_REACTIVATED,             /* operator reactivated it on the new owner */
	PLEX_REASON_QUORUM_LOST,
	PLEX_REASON_QUORUM_GAINED,
	PLEX_REASON_LEAVEGROUP,         /* the owner left with LEAVEGROUP */
	PLEX_REASON_JOINGROUP,          /* the new owner rejoined (LEAVEGROUP undone) */
	PLEX_REASON_BACKUP_STARTED,     /* a backup announced itself and may take it */
	PLEX_REASON_DEFINITION_CHANGED, /* a definition appeared or went away */
	PLEX_REASON_OWNER_STARTED,      /* the VIPADEFINE node announced itself */
	PLEX_REASON_HOLDER_RELEASED,    /* the holder dropped it */
	PLEX_REASON_TAKEOVER,           /* it became known to exist: a backup takes it */
	PLEX_REASON_MAX
};

struct plex_transition {
	struct ipaddr dvipa;
	uint32_t old_owner; /* PLEX_NODE_NONE when none */
	uint32_t new_owner;
	uint8_t reason; /* enum plex_reason */
};

/* Owner changes caused by the last applied input, sorted by address; valid
 * until the next input. */
size_t plex_transitions(const struct plex *p, const struct plex_transition **ret);
const char *plex_reason_name(enum plex_reason r);

#endif
