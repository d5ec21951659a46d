/* The fabric: one CPG group plus quorum tracking (see fabric.h and
 * docs/fabric.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>

#include "fabric/fabric.h"
#include "fabric/info.h"
#include "fabric/members.h"
#include "fabric/nodelist.h"
#include "fabric/sendq.h"

/* cpg_join() answers CS_ERR_TRY_AGAIN while corosync syncs a membership;
 * a sync takes a token rotation or two, so 2 s of retries is plenty. */
#define FABRIC_JOIN_TRIES    200
#define FABRIC_JOIN_SLEEP_NS (10 * 1000 * 1000)

struct fabric {
	cpg_handle_t cpg;
	quorum_handle_t quorum;
	bool cpg_open;
	bool quorum_open;
	int cpg_fd;
	int quorum_fd;
	struct cpg_name group;
	uint32_t local_nodeid;
	uint32_t local_pid;
	struct fabric_callbacks cb;
	void *userdata;
	/* The processes that count, as of the last confchg delivered. */
	struct members view;
	bool joined;
	/* Quorum as the quorum service last said, and for which ring. */
	bool quorum_known;
	bool quorate;
	uint64_t quorum_ring_seq;
	uint32_t quorum_ring_nodeid;
	/* The ring CPG delivers in: set by each totem confchg, which CPG sends
	 * after the group confchgs of the same ring change. */
	bool ring_known;
	bool ring_changing;
	enum fabric_quorum quorum_state;
	/* Sticky: once set, the handles are useless and every call returns it. */
	int error;
	struct sendq queue;
	uint64_t ring_seq;
	uint32_t ring_nodeid;
	size_t n_ring_members;
	uint64_t sent, delivered, dropped, flow_control, membership_changes;
};

/* corosync's cs_error_t as -errno. Losing the daemon (LIBRARY: the IPC
 * connection broke; BAD_HANDLE: the handle died with it) is -ENOTCONN. */
static int fabric_errno(cs_error_t e)
{
	switch (e) {
	case CS_OK:
		return 0;
	case CS_ERR_LIBRARY:
	case CS_ERR_BAD_HANDLE:
		return -ENOTCONN;
	case CS_ERR_TRY_AGAIN:
		return -EAGAIN;
	case CS_ERR_INVALID_PARAM:
		return -EINVAL;
	case CS_ERR_NO_MEMORY:
		return -ENOMEM;
	case CS_ERR_ACCESS:
	case CS_ERR_SECURITY:
		return -EACCES;
	case CS_ERR_NOT_EXIST:
	case CS_ERR_NAME_NOT_FOUND:
		return -ENOENT;
	case CS_ERR_NAME_TOO_LONG:
		return -ENAMETOOLONG;
	case CS_ERR_EXIST:
		return -EEXIST;
	case CS_ERR_TOO_BIG:
		return -EMSGSIZE;
	case CS_ERR_NOT_SUPPORTED:
		return -ENOTSUP;
	case CS_ERR_TIMEOUT:
		return -ETIMEDOUT;
	case CS_ERR_BUSY:
		return -EBUSY;
	case CS_ERR_NO_SPACE:
	case CS_ERR_NO_RESOURCES:
	case CS_ERR_QUEUE_FULL:
		return -ENOBUFS;
	case CS_ERR_INTERRUPT:
		return -EINTR;
	default:
		return -EIO;
	}
}

static struct fabric *fabric_from_cpg(cpg_handle_t h)
{
	void *ctx = NULL;

	if (cpg_context_get(h, &ctx) != CS_OK)
		return NULL;
	return ctx;
}

static struct fabric *fabric_from_quorum(quorum_handle_t h)
{
	const void *ctx = NULL;

	if (quorum_context_get(h, &ctx) != CS_OK)
		return NULL;
	return (struct fabric *)ctx;
}

static void fabric_fail(struct fabric *f, int error)
{
	if (!f->error)
		f->error = error;
}

static enum fabric_quorum fabric_quorum_compute(const struct fabric *f)
{
	if (!f->quorum_known || !f->quorate)
		return FABRIC_QUORUM_NONE;
	if (!f->ring_known || f->ring_changing || f->quorum_ring_seq != f->ring_seq ||
	    f->quorum_ring_nodeid != f->ring_nodeid)
		return FABRIC_QUORUM_PENDING;
	return FABRIC_QUORUM_OK;
}

static void fabric_quorum_update(struct fabric *f)
{
	enum fabric_quorum q = fabric_quorum_compute(f);

	if (q == f->quorum_state)
		return;
	f->quorum_state = q;
	if (f->cb.on_quorum)
		f->cb.on_quorum(f->userdata, q);
}

/* A process that left because its node went down, or joined because its
 * node came up, means a new totem ring (rather than a dvipad starting or
 * stopping on a live corosync). */
static bool fabric_ring_changed(const struct cpg_address *left, size_t n_left,
                                const struct cpg_address *joined, size_t n_joined)
{
	size_t i;

	for (i = 0; i < n_left; i++)
		if (left[i].reason == CPG_REASON_NODEDOWN)
			return true;
	for (i = 0; i < n_joined; i++)
		if (joined[i].reason == CPG_REASON_NODEUP)
			return true;
	return false;
}

static void fabric_procs(const struct cpg_address *list, size_t n, struct members_proc *ret)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ret[i].nodeid = list[i].nodeid;
		ret[i].pid = list[i].pid;
	}
}

static bool fabric_listed(const struct cpg_address *list, size_t n, uint32_t nodeid, uint32_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].nodeid == nodeid && list[i].pid == pid)
			return true;
	return false;
}

static void fabric_cpg_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
                               uint32_t pid, void *msg, size_t len)
{
	struct fabric *f = fabric_from_cpg(h);

	(void)group;
	if (!f || f->error)
		return;
	/* A second dvipad of one node is ignored by everybody alike, because
	 * everybody holds the same view at this point of the total order. */
	if (!members_counts(&f->view, nodeid, pid)) {
		f->dropped++;
		return;
	}
	f->delivered++;
	if (f->cb.on_message)
		f->cb.on_message(f->userdata, nodeid, msg, len);
}

static void fabric_cpg_confchg(cpg_handle_t h, const struct cpg_name *group,
                               const struct cpg_address *member_list, size_t n_members,
                               const struct cpg_address *left_list, size_t n_left,
                               const struct cpg_address *joined_list, size_t n_joined)
{
	struct fabric *f = fabric_from_cpg(h);
	struct members_proc members[MEMBERS_MAX], left[MEMBERS_MAX], joined[MEMBERS_MAX];
	struct members cur;
	struct members_change change;
	uint32_t crashed[MEMBERS_MAX];
	size_t n_crashed = 0;
	bool self_in, changed, ring;

	(void)group;
	if (!f || f->error)
		return;
	if (n_members > MEMBERS_MAX || n_left > MEMBERS_MAX || n_joined > MEMBERS_MAX) {
		fabric_fail(f, -E2BIG);
		return;
	}
	fabric_procs(member_list, n_members, members);
	fabric_procs(left_list, n_left, left);
	fabric_procs(joined_list, n_joined, joined);
	if (members_reduce(members, n_members, &cur) < 0) {
		fabric_fail(f, -E2BIG);
		return;
	}

	self_in = fabric_listed(member_list, n_members, f->local_nodeid, f->local_pid);
	if (self_in && !members_counts(&cur, f->local_nodeid, f->local_pid)) {
		fabric_fail(f, -EEXIST);
		return;
	}
	if (!self_in) {
		/* Before our own join every confchg includes us; after it, not
		 * being listed means corosync removed this process. */
		if (f->joined)
			fabric_fail(f, -ECONNRESET);
		return;
	}
	f->joined = true;

	/* Quorum for the old ring says nothing about the new one: withdraw the
	 * permission to acquire before the daemon sees who left. */
	ring = fabric_ring_changed(left_list, n_left, joined_list, n_joined);
	if (ring) {
		f->ring_changing = true;
		fabric_quorum_update(f);
	}

	changed = members_diff(&f->view, &cur, left, n_left, joined, n_joined, &change);
	/* A counted process that died on a live corosync, and its node has no
	 * other process in the group now. */
	for (size_t i = 0; !ring && i < n_left; i++) {
		if (left_list[i].reason != CPG_REASON_PROCDOWN ||
		    members_pid(&f->view, left_list[i].nodeid) != left_list[i].pid ||
		    members_pid(&cur, left_list[i].nodeid) != 0)
			continue;
		crashed[n_crashed++] = left_list[i].nodeid;
	}
	f->view = cur;
	if (!changed)
		return;
	f->membership_changes++;
	if (f->cb.on_members)
		f->cb.on_members(f->userdata, change.members, change.n_members, change.joined,
		                 change.n_joined, change.left, change.n_left, crashed, n_crashed);
}

static void fabric_cpg_totem(cpg_handle_t h, struct cpg_ring_id ring_id, uint32_t n_members,
                             const uint32_t *member_list)
{
	struct fabric *f = fabric_from_cpg(h);

	(void)member_list;
	if (!f || f->error)
		return;
	f->ring_seq = ring_id.seq;
	f->ring_nodeid = ring_id.nodeid;
	f->n_ring_members = n_members;
	f->ring_known = true;
	f->ring_changing = false;
	fabric_quorum_update(f);
}

static void fabric_quorum_notify(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring_id,
                                 uint32_t n_members, const uint32_t *member_list)
{
	struct fabric *f = fabric_from_quorum(h);

	(void)n_members;
	(void)member_list;
	if (!f || f->error)
		return;
	f->quorum_known = true;
	f->quorate = quorate != 0;
	f->quorum_ring_seq = ring_id.seq;
	f->quorum_ring_nodeid = ring_id.nodeid;
	fabric_quorum_update(f);
}

static void fabric_quorum_nodelist(quorum_handle_t h, struct quorum_ring_id ring_id,
                                   uint32_t n_members, const uint32_t *member_list,
                                   uint32_t n_joined, const uint32_t *joined_list, uint32_t n_left,
                                   const uint32_t *left_list)
{
	/* CPG's own membership is what dvipa follows; see on_members. */
	(void)h;
	(void)ring_id;
	(void)n_members;
	(void)member_list;
	(void)n_joined;
	(void)joined_list;
	(void)n_left;
	(void)left_list;
}

static int fabric_join(struct fabric *f)
{
	struct timespec pause = {0, FABRIC_JOIN_SLEEP_NS};
	cs_error_t e = CS_ERR_TRY_AGAIN;
	int i;

	for (i = 0; i < FABRIC_JOIN_TRIES; i++) {
		e = cpg_join(f->cpg, &f->group);
		if (e != CS_ERR_TRY_AGAIN)
			break;
		nanosleep(&pause, NULL);
	}
	return fabric_errno(e);
}

/* A connection refused at open time means "corosync is not running". */
static int fabric_open_errno(cs_error_t e)
{
	return e == CS_ERR_LIBRARY ? -ECONNREFUSED : fabric_errno(e);
}

struct fabric *fabric_open(const char *group, const struct fabric_callbacks *cb, void *userdata,
                           int *ret_err)
{
	cpg_model_v1_data_t cpg_model = {
	    .model = CPG_MODEL_V1,
	    .cpg_deliver_fn = fabric_cpg_deliver,
	    .cpg_confchg_fn = fabric_cpg_confchg,
	    .cpg_totem_confchg_fn = fabric_cpg_totem,
	    .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	quorum_model_v1_data_t quorum_model = {
	    .model = QUORUM_MODEL_V1,
	    .quorum_notify_fn = fabric_quorum_notify,
	    .nodelist_notify_fn = fabric_quorum_nodelist,
	};
	struct fabric *f = NULL;
	unsigned int nodeid = 0;
	uint32_t quorum_type = 0;
	size_t len;
	cs_error_t e;
	int ret;

	len = group ? strlen(group) : 0;
	if (!cb || len == 0 || len > FABRIC_GROUP_MAX) {
		ret = -EINVAL;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		ret = -ENOMEM;
		goto out;
	}
	f->cpg_fd = f->quorum_fd = -1;
	f->cb = *cb;
	f->userdata = userdata;
	f->local_pid = (uint32_t)getpid();
	memcpy(f->group.value, group, len);
	f->group.length = (uint32_t)len;
	sendq_init(&f->queue, FABRIC_QUEUE_MAX);

	e = cpg_model_initialize(&f->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&cpg_model, f);
	if (e != CS_OK) {
		ret = fabric_open_errno(e);
		goto out;
	}
	f->cpg_open = true;
	e = cpg_local_get(f->cpg, &nodeid);
	if (e == CS_OK)
		e = cpg_fd_get(f->cpg, &f->cpg_fd);
	if (e != CS_OK) {
		ret = fabric_open_errno(e);
		goto out;
	}
	f->local_nodeid = nodeid;

	e = quorum_model_initialize(&f->quorum, QUORUM_MODEL_V1,
	                            (quorum_model_data_t *)&quorum_model, &quorum_type, f);
	if (e != CS_OK) {
		ret = fabric_open_errno(e);
		goto out;
	}
	f->quorum_open = true;
	/* Without a provider corosync calls every partition quorate, and two
	 * halves of a split plex would both hold every DVIPA. */
	if (quorum_type != QUORUM_SET) {
		ret = -ENOTSUP;
		goto out;
	}
	/* CS_TRACK_CHANGES also queues the current state as a first notification. */
	e = quorum_trackstart(f->quorum, CS_TRACK_CHANGES);
	if (e == CS_OK)
		e = quorum_fd_get(f->quorum, &f->quorum_fd);
	if (e != CS_OK) {
		ret = fabric_open_errno(e);
		goto out;
	}

	ret = fabric_join(f);
	if (ret < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		fabric_close(f);
		if (ret_err)
			*ret_err = ret;
		errno = -ret;
		return NULL;
	}
	if (ret_err)
		*ret_err = 0;
	return f;
}

void fabric_close(struct fabric *f)
{
	if (!f)
		return;
	if (f->cpg_open) {
		/* A clean leave tells the others CPG_REASON_LEAVE at once; on a
		 * dead connection finalize alone frees the handle. */
		if (!f->error && f->joined)
			(void)cpg_leave(f->cpg, &f->group);
		(void)cpg_finalize(f->cpg);
	}
	if (f->quorum_open)
		(void)quorum_finalize(f->quorum);
	sendq_clear(&f->queue);
	free(f);
}

const char *fabric_quorum_name(enum fabric_quorum q)
{
	switch (q) {
	case FABRIC_QUORUM_NONE:
		return "none";
	case FABRIC_QUORUM_PENDING:
		return "pending";
	case FABRIC_QUORUM_OK:
		return "ok";
	default:
		return "?";
	}
}

size_t fabric_fds(const struct fabric *f, int fds[FABRIC_NFDS])
{
	fds[0] = f->cpg_fd;
	fds[1] = f->quorum_fd;
	return FABRIC_NFDS;
}

int fabric_dispatch(struct fabric *f, int fd)
{
	cs_error_t e;

	if (f->error)
		return f->error;
	if (fd == f->cpg_fd)
		e = cpg_dispatch(f->cpg, CS_DISPATCH_ALL);
	else if (fd == f->quorum_fd)
		e = quorum_dispatch(f->quorum, CS_DISPATCH_ALL);
	else
		return -EBADF;
	/* TRY_AGAIN: woken with nothing to read, which is harmless. */
	if (e != CS_OK && e != CS_ERR_TRY_AGAIN)
		fabric_fail(f, fabric_errno(e));
	if (f->error)
		return f->error;
	return fabric_flush(f);
}

/* One cpg_mcast_joined(): 0 sent, -EAGAIN flow control, or a sticky error. */
static int fabric_mcast(struct fabric *f, const void *data, size_t len)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	cs_error_t e;

	e = cpg_mcast_joined(f->cpg, CPG_TYPE_AGREED, &iov, 1);
	if (e == CS_OK) {
		f->sent++;
		return 0;
	}
	if (e == CS_ERR_TRY_AGAIN) {
		f->flow_control++;
		return -EAGAIN;
	}
	fabric_fail(f, fabric_errno(e));
	return f->error;
}

int fabric_flush(struct fabric *f)
{
	const struct sendq_msg *m;
	int ret;

	if (f->error)
		return f->error;
	while ((m = sendq_peek(&f->queue))) {
		ret = fabric_mcast(f, m->data, m->len);
		if (ret == -EAGAIN)
			return 0;
		if (ret < 0)
			return ret;
		sendq_pop(&f->queue);
	}
	return 0;
}

int fabric_send(struct fabric *f, const void *data, size_t len)
{
	int ret;

	if (f->error)
		return f->error;
	if (len == 0 || len > FABRIC_MSG_MAX)
		return -EMSGSIZE;
	ret = fabric_flush(f);
	if (ret < 0)
		return ret;
	/* Order matters more than latency: never overtake a queued message. */
	if (!sendq_peek(&f->queue)) {
		ret = fabric_mcast(f, data, len);
		if (ret != -EAGAIN)
			return ret;
	}
	return sendq_push(&f->queue, data, len);
}

size_t fabric_pending(const struct fabric *f)
{
	return f->queue.n;
}

uint32_t fabric_local_nodeid(const struct fabric *f)
{
	return f->local_nodeid;
}

void fabric_status(const struct fabric *f, struct fabric_status *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->local_nodeid = f->local_nodeid;
	ret->joined = f->joined;
	ret->quorum = (uint8_t)f->quorum_state;
	ret->quorum_known = f->quorum_known;
	ret->quorate = f->quorate;
	ret->quorum_ring_seq = f->quorum_ring_seq;
	ret->ring_seq = f->ring_seq;
	ret->ring_nodeid = f->ring_nodeid;
	ret->n_ring_members = f->n_ring_members;
	ret->n_members = f->view.n;
	ret->queued = f->queue.n;
	ret->sent = f->sent;
	ret->delivered = f->delivered;
	ret->dropped = f->dropped;
	ret->flow_control = f->flow_control;
	ret->membership_changes = f->membership_changes;
}

int fabric_nodelist(const struct fabric *f, struct fabric_node **ret_nodes, size_t *ret_n,
                    char *errbuf, size_t errlen)
{
	(void)f;
	return nodelist_read(ret_nodes, ret_n, errbuf, errlen);
}

int fabric_info(const struct fabric *f, struct fabric_info *ret)
{
	(void)f;
	return info_read(ret);
}
