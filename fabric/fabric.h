/* The fabric: dvipad's view of corosync (see docs/fabric.md).
 *
 * One CPG process group carries every message between dvipads in agreed
 * (total) order, and its membership says which dvipads are alive; the quorum
 * service says whether this node may act. The fabric turns both into three
 * callbacks and never decides anything itself.
 *
 * Usage from an epoll loop:
 *   f = fabric_open("dvipa", &cb, daemon, &err);
 *   n = fabric_fds(f, fds);             add fds[0..n) to epoll (EPOLLIN)
 *   on readable fd: ret = fabric_dispatch(f, fd);
 *   ret < 0: corosync is gone or this process was pushed out of the group;
 *            drop every DVIPA, fabric_close(f), and fabric_open() again later
 *            (from a timer: it fails with -ECONNREFUSED until corosync is back).
 *   while fabric_pending(f) > 0: call fabric_flush(f) from a short timer.
 *
 * Callbacks run inside fabric_dispatch(); they may call fabric_send() but
 * never fabric_close(). Single-threaded: one fabric belongs to one thread. */
#ifndef DVIPA_FABRIC_FABRIC_H
#define DVIPA_FABRIC_FABRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* The fds fabric_fds() returns: the CPG fd and the quorum fd. */
#define FABRIC_NFDS 2
/* Largest message fabric_send() takes. CPG fragments big messages itself;
 * the bound only keeps one announcement from eating corosync's buffers. */
#define FABRIC_MSG_MAX (1024 * 1024)
/* Bytes fabric_send() may hold back while corosync applies flow control. */
#define FABRIC_QUEUE_MAX (8 * 1024 * 1024)
/* Longest group name, without the NUL (CPG allows 128 bytes with it). */
#define FABRIC_GROUP_MAX     127
#define FABRIC_NODE_NAME_MAX 64
/* Longest ring0_addr text kept, with the NUL (a host name may be long). */
#define FABRIC_ADDR_TEXT_MAX 256

struct fabric;

/* What this node may do, as far as quorum goes (see docs/fabric.md). */
enum fabric_quorum {
	/* Not quorate, or not known yet: hold no DVIPA. */
	FABRIC_QUORUM_NONE = 0,
	/* The corosync ring is changing (a node went down or came up) and the
	 * quorum service has not yet spoken for the new ring: keep what you
	 * hold, acquire nothing. */
	FABRIC_QUORUM_PENDING,
	/* Quorate, confirmed for the ring CPG is delivering in. */
	FABRIC_QUORUM_OK,
	FABRIC_QUORUM_MAX
};

struct fabric_callbacks {
	/* The group's membership changed: members are the node ids of the
	 * dvipads now in the group (ascending, one per node, this node
	 * included), joined and left say what changed since the previous call.
	 * A node that restarted its dvipad between two calls (or whose process
	 * left and came back across a partition) is in both joined and left.
	 * The first call after fabric_open() lists every member as joined.
	 * crashed lists those of left whose dvipad died while their corosync
	 * stays in the ring (CPG_REASON_PROCDOWN: no cpg_leave, no node down):
	 * their kernels keep what the dead process set up. */
	void (*on_members)(void *userdata, const uint32_t *members, size_t n,
	                   const uint32_t *joined, size_t n_joined, const uint32_t *left,
	                   size_t n_left, const uint32_t *crashed, size_t n_crashed);
	/* A message, in the same order on every member, the sender included.
	 * data is valid only during the call. */
	void (*on_message)(void *userdata, uint32_t from_nodeid, const void *data, size_t len);
	/* The quorum state changed. The quorum service speaks on its own fd,
	 * unordered with CPG; the fabric pairs the two by ring id so that
	 * FABRIC_QUORUM_OK always refers to the ring of the memberships being
	 * delivered. A ring change moves OK to PENDING before the on_members
	 * call that shows it; a loss is reported as soon as it is known. The
	 * state starts as NONE and each change is reported once. */
	void (*on_quorum)(void *userdata, enum fabric_quorum state);
};

/* Connect to the local corosync, join the CPG group and start tracking
 * quorum. group is the CPG group name ("dvipa"). Returns NULL and sets errno
 * (and *ret_err to -errno when ret_err is not NULL):
 *   ECONNREFUSED  corosync is not running (or refuses this user);
 *   ENOTSUP       corosync has no quorum provider: dvipa needs votequorum;
 *   EAGAIN        the group could not be joined while corosync was syncing;
 *   EINVAL        empty or too long group name, or cb is NULL.
 * May block for up to about 2 s while corosync settles a membership. */
struct fabric *fabric_open(const char *group, const struct fabric_callbacks *cb, void *userdata,
                           int *ret_err);
/* Leave the group and disconnect. NULL is fine. Queued messages are lost. */
void fabric_close(struct fabric *f);

const char *fabric_quorum_name(enum fabric_quorum q);

/* Writes the fds to watch for EPOLLIN into fds; returns how many. */
size_t fabric_fds(const struct fabric *f, int fds[FABRIC_NFDS]);
/* Deliver what is waiting on fd (one of fabric_fds()), running the
 * callbacks, then retry queued sends. Returns 0, or:
 *   -ENOTCONN    corosync went away (or the handle broke);
 *   -EEXIST      another dvipad process of this node is in the group and
 *                wins (the one with the lowest pid counts): exit;
 *   -ECONNRESET  corosync dropped this process from the group;
 *   -EBADF       fd is not one of ours.
 * Every error but -EBADF is sticky: later calls return it too, and the
 * caller must fabric_close() and open again. */
int fabric_dispatch(struct fabric *f, int fd);

/* Multicast len bytes to the group in agreed order. When corosync applies
 * flow control (CS_ERR_TRY_AGAIN) or earlier messages still wait, the message
 * is queued in order and sent by a later fabric_dispatch()/fabric_flush();
 * the call still returns 0. Returns -EMSGSIZE (len 0 or > FABRIC_MSG_MAX),
 * -ENOBUFS (queue full: the message is dropped), -ENOMEM, or the sticky
 * dispatch error. */
int fabric_send(struct fabric *f, const void *data, size_t len);
/* Try to send queued messages. 0 or a sticky error. */
int fabric_flush(struct fabric *f);
/* Messages still queued: while non-zero, call fabric_flush() from a timer
 * (every 10-100 ms) because no fd may wake the loop when the queue frees. */
size_t fabric_pending(const struct fabric *f);

uint32_t fabric_local_nodeid(const struct fabric *f);

/* Counters and last-known state, for displays. */
struct fabric_status {
	uint32_t local_nodeid;
	bool joined;              /* this process's own join has been delivered */
	uint8_t quorum;           /* enum fabric_quorum, as last reported */
	bool quorum_known;        /* a quorum notification has arrived */
	bool quorate;             /* what it said */
	uint64_t quorum_ring_seq; /* the ring it spoke for */
	uint64_t ring_seq;        /* last totem ring seen through CPG */
	uint32_t ring_nodeid;     /* representative of that ring */
	size_t n_ring_members;    /* corosync nodes in that ring (any process) */
	size_t n_members;         /* dvipad nodes in the group */
	size_t queued;            /* messages waiting for flow control */
	uint64_t sent;            /* handed to corosync */
	uint64_t delivered;       /* on_message calls */
	uint64_t dropped;         /* from a node's second dvipad process */
	uint64_t flow_control;    /* times corosync said TRY_AGAIN */
	uint64_t membership_changes;
};
void fabric_status(const struct fabric *f, struct fabric_status *ret);

/* One entry of corosync's nodelist (cmap nodelist.node.N.*). */
struct fabric_node {
	uint32_t nodeid;
	char name[FABRIC_NODE_NAME_MAX];       /* "" when not configured */
	char ring0_text[FABRIC_ADDR_TEXT_MAX]; /* as written */
	struct ipaddr ring0_addr;
};

/* Read corosync's configured nodelist, sorted by node id, into a malloc'd
 * array the caller frees. dvipa does not resolve host names (two nodes could
 * get different answers): a ring0_addr that is not a literal IPv4/IPv6
 * address is an error. Returns 0, -ENOENT (no nodelist), -EINVAL (a node
 * lacks nodeid or ring0_addr, has a non-literal ring0_addr or a duplicate
 * nodeid; errbuf, when not NULL, then says which key), -ECONNREFUSED,
 * -ENOMEM. *ret_nodes and *ret_n are untouched on failure. f may be NULL:
 * the nodelist is read over its own short cmap connection. */
int fabric_nodelist(const struct fabric *f, struct fabric_node **ret_nodes, size_t *ret_n,
                    char *errbuf, size_t errlen);

/* Corosync's effective timers and votequorum state, for displays. */
struct fabric_info {
	char cluster_name[64];
	char transport[16];
	uint32_t token_ms;     /* runtime.config.totem.token: effective, with coefficient */
	uint32_t consensus_ms; /* runtime.config.totem.consensus */
	uint32_t expected_votes;
	uint32_t total_votes;
	uint32_t quorum; /* votes needed */
	bool quorate;
	bool two_node;
	bool wait_for_all;
};
/* Fill ret from cmap and votequorum. Fields corosync does not report stay
 * zero. Returns 0, -ECONNREFUSED or -ENOMEM. f may be NULL. */
int fabric_info(const struct fabric *f, struct fabric_info *ret);

#endif
