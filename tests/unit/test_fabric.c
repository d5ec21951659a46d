/* The fabric layer against a fake corosync.
 *
 * The unit-test binary links core only, so the fabric's sources are
 * included here and every corosync call they make (cpg_*, quorum_*, cmap_*,
 * votequorum_*) is answered by the fake below: scripted confchgs and
 * messages, flow control, a lost daemon, a cmap holding a nodelist. The real
 * corosync is exercised by tests/integration/fabric.t. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/fabric.c"
#include "fabric/info.c"
#include "fabric/members.c"
#include "fabric/nodelist.c"
#include "fabric/sendq.c"

#include "tests/unit/unit.h"

/* ---- the fake corosync ---------------------------------------------- */

#define FAKE_EVENTS_MAX 16
#define FAKE_PROCS_MAX  8
#define FAKE_SENT_MAX   32
#define FAKE_KEYS_MAX   32

enum fake_event_kind { FAKE_CONFCHG, FAKE_DELIVER, FAKE_TOTEM, FAKE_QUORUM };

struct fake_event {
	enum fake_event_kind kind;
	struct cpg_address members[FAKE_PROCS_MAX], left[FAKE_PROCS_MAX], joined[FAKE_PROCS_MAX];
	size_t n_members, n_left, n_joined;
	uint32_t nodeid, pid;
	char text[32];
	uint32_t quorate;
	uint64_t ring_seq;
};

struct fake_key {
	const char *key;
	cmap_value_types_t type;
	uint32_t u32;
	uint8_t u8;
	const char *s;
};

static struct {
	cpg_model_v1_data_t cpg_model;
	void *cpg_ctx;
	quorum_model_v1_data_t quorum_model;
	const void *quorum_ctx;
	cs_error_t cpg_init_result;
	uint32_t quorum_type;
	uint32_t local_nodeid;
	int join_try_again;
	bool joined, left, cpg_finalized, quorum_finalized;
	cs_error_t dispatch_result;
	struct fake_event events[FAKE_EVENTS_MAX];
	size_t n_events;
	int mcast_try_again; /* answers of TRY_AGAIN still to give; -1: forever */
	char sent[FAKE_SENT_MAX][32];
	size_t n_sent;
	struct fake_key keys[FAKE_KEYS_MAX];
	size_t n_keys;
	size_t iter;
	int cmap_open;
} fake;

static void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.cpg_init_result = CS_OK; /* CS_OK is 1, not 0 */
	fake.dispatch_result = CS_OK;
	fake.quorum_type = QUORUM_SET;
	fake.local_nodeid = 1;
}

cs_error_t cpg_model_initialize(cpg_handle_t *handle, cpg_model_t model,
                                cpg_model_data_t *model_data, void *context)
{
	if (fake.cpg_init_result != CS_OK)
		return fake.cpg_init_result;
	if (model != CPG_MODEL_V1)
		return CS_ERR_INVALID_PARAM;
	fake.cpg_model = *(cpg_model_v1_data_t *)model_data;
	fake.cpg_ctx = context;
	*handle = 7;
	return CS_OK;
}

cs_error_t cpg_context_get(cpg_handle_t handle, void **context)
{
	(void)handle;
	*context = fake.cpg_ctx;
	return CS_OK;
}

cs_error_t cpg_local_get(cpg_handle_t handle, unsigned int *local_nodeid)
{
	(void)handle;
	*local_nodeid = fake.local_nodeid;
	return CS_OK;
}

cs_error_t cpg_fd_get(cpg_handle_t handle, int *fd)
{
	(void)handle;
	*fd = 100;
	return CS_OK;
}

cs_error_t cpg_join(cpg_handle_t handle, const struct cpg_name *group)
{
	(void)handle;
	if (group->length != strlen("dvipa") || memcmp(group->value, "dvipa", 5) != 0)
		return CS_ERR_INVALID_PARAM;
	if (fake.join_try_again > 0) {
		fake.join_try_again--;
		return CS_ERR_TRY_AGAIN;
	}
	fake.joined = true;
	return CS_OK;
}

cs_error_t cpg_leave(cpg_handle_t handle, const struct cpg_name *group)
{
	(void)handle;
	(void)group;
	fake.left = true;
	return CS_OK;
}

cs_error_t cpg_finalize(cpg_handle_t handle)
{
	(void)handle;
	fake.cpg_finalized = true;
	return CS_OK;
}

cs_error_t cpg_mcast_joined(cpg_handle_t handle, cpg_guarantee_t guarantee,
                            const struct iovec *iovec, unsigned int iov_len)
{
	(void)handle;
	if (guarantee != CPG_TYPE_AGREED || iov_len != 1)
		return CS_ERR_INVALID_PARAM;
	if (fake.mcast_try_again) {
		if (fake.mcast_try_again > 0)
			fake.mcast_try_again--;
		return CS_ERR_TRY_AGAIN;
	}
	if (fake.n_sent < FAKE_SENT_MAX)
		snprintf(fake.sent[fake.n_sent++], sizeof(fake.sent[0]), "%.*s",
		         (int)iovec[0].iov_len, (const char *)iovec[0].iov_base);
	return CS_OK;
}

static void fake_run_event(const struct fake_event *ev)
{
	struct cpg_name name = {.length = 5, .value = "dvipa"};

	switch (ev->kind) {
	case FAKE_CONFCHG:
		fake.cpg_model.cpg_confchg_fn(7, &name, ev->members, ev->n_members, ev->left,
		                              ev->n_left, ev->joined, ev->n_joined);
		break;
	case FAKE_DELIVER:
		fake.cpg_model.cpg_deliver_fn(7, &name, ev->nodeid, ev->pid, (void *)ev->text,
		                              strlen(ev->text));
		break;
	case FAKE_TOTEM: {
		struct cpg_ring_id ring = {1, ev->ring_seq};

		fake.cpg_model.cpg_totem_confchg_fn(7, ring, 0, NULL);
		break;
	}
	case FAKE_QUORUM: {
		struct quorum_ring_id ring = {1, ev->ring_seq};

		fake.quorum_model.quorum_notify_fn(9, ev->quorate, ring, 0, NULL);
		break;
	}
	}
}

cs_error_t cpg_dispatch(cpg_handle_t handle, cs_dispatch_flags_t dispatch_types)
{
	size_t i;

	(void)handle;
	if (dispatch_types != CS_DISPATCH_ALL)
		return CS_ERR_INVALID_PARAM;
	for (i = 0; i < fake.n_events; i++)
		if (fake.events[i].kind != FAKE_QUORUM)
			fake_run_event(&fake.events[i]);
	fake.n_events = 0;
	return fake.dispatch_result;
}

cs_error_t quorum_model_initialize(quorum_handle_t *handle, quorum_model_t model,
                                   quorum_model_data_t *model_data, uint32_t *quorum_type,
                                   void *context)
{
	if (model != QUORUM_MODEL_V1)
		return CS_ERR_INVALID_PARAM;
	fake.quorum_model = *(quorum_model_v1_data_t *)model_data;
	fake.quorum_ctx = context;
	*quorum_type = fake.quorum_type;
	*handle = 9;
	return CS_OK;
}

cs_error_t quorum_context_get(quorum_handle_t handle, const void **context)
{
	(void)handle;
	*context = fake.quorum_ctx;
	return CS_OK;
}

cs_error_t quorum_trackstart(quorum_handle_t handle, unsigned int flags)
{
	(void)handle;
	return flags & CS_TRACK_CHANGES ? CS_OK : CS_ERR_INVALID_PARAM;
}

cs_error_t quorum_fd_get(quorum_handle_t handle, int *fd)
{
	(void)handle;
	*fd = 101;
	return CS_OK;
}

cs_error_t quorum_dispatch(quorum_handle_t handle, cs_dispatch_flags_t dispatch_types)
{
	size_t i, kept = 0;

	(void)handle;
	(void)dispatch_types;
	for (i = 0; i < fake.n_events; i++) {
		if (fake.events[i].kind == FAKE_QUORUM)
			fake_run_event(&fake.events[i]);
		else
			fake.events[kept++] = fake.events[i];
	}
	fake.n_events = kept;
	return fake.dispatch_result;
}

cs_error_t quorum_finalize(quorum_handle_t handle)
{
	(void)handle;
	fake.quorum_finalized = true;
	return CS_OK;
}

cs_error_t cmap_initialize(cmap_handle_t *handle)
{
	if (fake.cpg_init_result != CS_OK)
		return fake.cpg_init_result;
	fake.cmap_open++;
	*handle = 11;
	return CS_OK;
}

cs_error_t cmap_finalize(cmap_handle_t handle)
{
	(void)handle;
	fake.cmap_open--;
	return CS_OK;
}

cs_error_t cmap_iter_init(cmap_handle_t handle, const char *prefix,
                          cmap_iter_handle_t *cmap_iter_handle)
{
	(void)handle;
	(void)prefix;
	fake.iter = 0;
	*cmap_iter_handle = 12;
	return CS_OK;
}

cs_error_t cmap_iter_next(cmap_handle_t handle, cmap_iter_handle_t iter_handle, char key_name[],
                          size_t *value_len, cmap_value_types_t *type)
{
	(void)handle;
	(void)iter_handle;
	(void)value_len;
	(void)type;
	if (fake.iter >= fake.n_keys)
		return CS_ERR_NO_SECTIONS;
	snprintf(key_name, CMAP_KEYNAME_MAXLEN + 1, "%s", fake.keys[fake.iter++].key);
	return CS_OK;
}

cs_error_t cmap_iter_finalize(cmap_handle_t handle, cmap_iter_handle_t iter_handle)
{
	(void)handle;
	(void)iter_handle;
	return CS_OK;
}

static const struct fake_key *fake_key_find(const char *key)
{
	size_t i;

	for (i = 0; i < fake.n_keys; i++)
		if (strcmp(fake.keys[i].key, key) == 0)
			return &fake.keys[i];
	return NULL;
}

cs_error_t cmap_get(cmap_handle_t handle, const char *key_name, void *value, size_t *value_len,
                    cmap_value_types_t *type)
{
	const struct fake_key *k = fake_key_find(key_name);
	size_t len;

	(void)handle;
	if (!k)
		return CS_ERR_NOT_EXIST;
	*type = k->type;
	switch (k->type) {
	case CMAP_VALUETYPE_UINT32:
		len = sizeof(k->u32);
		if (*value_len < len)
			return CS_ERR_INVALID_PARAM;
		memcpy(value, &k->u32, len);
		break;
	case CMAP_VALUETYPE_UINT8:
		len = sizeof(k->u8);
		if (*value_len < len)
			return CS_ERR_INVALID_PARAM;
		memcpy(value, &k->u8, len);
		break;
	case CMAP_VALUETYPE_STRING:
		len = strlen(k->s) + 1;
		if (*value_len < len)
			return CS_ERR_INVALID_PARAM;
		memcpy(value, k->s, len);
		break;
	default:
		return CS_ERR_INVALID_PARAM;
	}
	*value_len = len;
	return CS_OK;
}

cs_error_t cmap_get_string(cmap_handle_t handle, const char *key_name, char **str)
{
	const struct fake_key *k = fake_key_find(key_name);

	(void)handle;
	if (!k)
		return CS_ERR_NOT_EXIST;
	if (k->type != CMAP_VALUETYPE_STRING)
		return CS_ERR_INVALID_PARAM;
	*str = strdup(k->s);
	return *str ? CS_OK : CS_ERR_NO_MEMORY;
}

cs_error_t cmap_get_uint32(cmap_handle_t handle, const char *key_name, uint32_t *u32)
{
	const struct fake_key *k = fake_key_find(key_name);

	(void)handle;
	if (!k)
		return CS_ERR_NOT_EXIST;
	if (k->type != CMAP_VALUETYPE_UINT32)
		return CS_ERR_INVALID_PARAM;
	*u32 = k->u32;
	return CS_OK;
}

cs_error_t votequorum_initialize(votequorum_handle_t *handle, votequorum_callbacks_t *callbacks)
{
	(void)callbacks;
	*handle = 13;
	return CS_OK;
}

cs_error_t votequorum_getinfo(votequorum_handle_t handle, unsigned int nodeid,
                              struct votequorum_info *info)
{
	(void)handle;
	memset(info, 0, sizeof(*info));
	info->node_id = nodeid;
	info->node_expected_votes = 2;
	info->total_votes = 2;
	info->quorum = 1;
	info->flags =
	    VOTEQUORUM_INFO_QUORATE | VOTEQUORUM_INFO_TWONODE | VOTEQUORUM_INFO_WAIT_FOR_ALL;
	return CS_OK;
}

cs_error_t votequorum_finalize(votequorum_handle_t handle)
{
	(void)handle;
	return CS_OK;
}

static void fake_key_u32(const char *key, uint32_t v)
{
	fake.keys[fake.n_keys++] =
	    (struct fake_key){.key = key, .type = CMAP_VALUETYPE_UINT32, .u32 = v};
}

static void fake_key_str(const char *key, const char *s)
{
	fake.keys[fake.n_keys++] =
	    (struct fake_key){.key = key, .type = CMAP_VALUETYPE_STRING, .s = s};
}

/* Procs are written "nodeid:pid" pairs in a flat array. */
static size_t fake_procs(struct cpg_address *out, const uint32_t *pairs, size_t n_pairs,
                         uint32_t reason)
{
	size_t i;

	for (i = 0; i < n_pairs; i++) {
		out[i].nodeid = pairs[2 * i];
		out[i].pid = pairs[2 * i + 1];
		out[i].reason = reason;
	}
	return n_pairs;
}

/* ring: the processes left or joined with their node (a new totem ring),
 * else they stopped or started on a live corosync. */
static void fake_confchg_why(const uint32_t *members, size_t nm, const uint32_t *left, size_t nl,
                             const uint32_t *joined, size_t nj, bool ring)
{
	struct fake_event *ev = &fake.events[fake.n_events++];

	memset(ev, 0, sizeof(*ev));
	ev->kind = FAKE_CONFCHG;
	ev->n_members = fake_procs(ev->members, members, nm, 0);
	ev->n_left =
	    fake_procs(ev->left, left, nl, ring ? CPG_REASON_NODEDOWN : CPG_REASON_PROCDOWN);
	ev->n_joined =
	    fake_procs(ev->joined, joined, nj, ring ? CPG_REASON_NODEUP : CPG_REASON_JOIN);
}

static void fake_confchg(const uint32_t *members, size_t nm, const uint32_t *left, size_t nl,
                         const uint32_t *joined, size_t nj)
{
	fake_confchg_why(members, nm, left, nl, joined, nj, false);
}

static void fake_totem(uint64_t seq)
{
	struct fake_event *ev = &fake.events[fake.n_events++];

	memset(ev, 0, sizeof(*ev));
	ev->kind = FAKE_TOTEM;
	ev->ring_seq = seq;
}

static void fake_deliver(uint32_t nodeid, uint32_t pid, const char *text)
{
	struct fake_event *ev = &fake.events[fake.n_events++];

	memset(ev, 0, sizeof(*ev));
	ev->kind = FAKE_DELIVER;
	ev->nodeid = nodeid;
	ev->pid = pid;
	snprintf(ev->text, sizeof(ev->text), "%s", text);
}

static void fake_quorum(bool quorate, uint64_t seq)
{
	struct fake_event *ev = &fake.events[fake.n_events++];

	memset(ev, 0, sizeof(*ev));
	ev->kind = FAKE_QUORUM;
	ev->quorate = quorate;
	ev->ring_seq = seq;
}

/* ---- what the callbacks saw, as text ------------------------------------ */

struct seen {
	char log[1024];
};

static void seen_add(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void seen_add(struct seen *s, const char *fmt, ...)
{
	size_t len = strlen(s->log);
	va_list ap;

	va_start(ap, fmt);
	/* clang-analyzer 14 misreads vsnprintf's va_list argument. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(s->log + len, sizeof(s->log) - len, fmt, ap);
	va_end(ap);
}

static void seen_list(struct seen *s, const char *word, const uint32_t *v, size_t n)
{
	size_t i;

	seen_add(s, "%s", word);
	for (i = 0; i < n; i++)
		seen_add(s, " %u", v[i]);
}

/* The crashed lists of the on_members calls, apart from the log. */
static char seen_crashed[256];

static void seen_members(void *userdata, const uint32_t *members, size_t n, const uint32_t *joined,
                         size_t n_joined, const uint32_t *left, size_t n_left,
                         const uint32_t *crashed, size_t n_crashed)
{
	struct seen *s = userdata;
	size_t len = strlen(seen_crashed);

	seen_list(s, "members", members, n);
	seen_list(s, " joined", joined, n_joined);
	seen_list(s, " left", left, n_left);
	seen_add(s, "; ");
	for (size_t i = 0; i < n_crashed && len < sizeof(seen_crashed) - 12; i++)
		len += (size_t)snprintf(seen_crashed + len, sizeof(seen_crashed) - len, "%u ",
		                        crashed[i]);
	if (len < sizeof(seen_crashed) - 2)
		snprintf(seen_crashed + len, sizeof(seen_crashed) - len, "; ");
}

static void seen_message(void *userdata, uint32_t from, const void *data, size_t len)
{
	seen_add(userdata, "msg %u %.*s; ", from, (int)len, (const char *)data);
}

static void seen_quorum(void *userdata, enum fabric_quorum state)
{
	seen_add(userdata, "quorum %s; ", fabric_quorum_name(state));
}

static const struct fabric_callbacks seen_callbacks = {
    .on_members = seen_members,
    .on_message = seen_message,
    .on_quorum = seen_quorum,
};

static struct fabric *open_joined(struct seen *s, uint32_t local_pid)
{
	struct fabric *f;
	int err = 1;

	f = fabric_open("dvipa", &seen_callbacks, s, &err);
	if (!f)
		return NULL;
	/* The fake's processes carry made-up pids; ours is whatever the fabric
	 * recorded, so pin it. */
	f->local_pid = local_pid;
	return err == 0 ? f : NULL;
}

/* ---- members ------------------------------------------------------------ */

TEST(fabric_members_reduce_lowest_pid_wins)
{
	struct members_proc procs[] = {{3, 30}, {1, 12}, {2, 20}, {1, 11}, {3, 29}};
	struct members m;

	CHECK_INT(members_reduce(procs, 5, &m), 0);
	CHECK_INT(m.n, 3);
	CHECK_INT(m.v[0].nodeid, 1);
	CHECK_INT(m.v[0].pid, 11);
	CHECK_INT(m.v[2].pid, 29);
	CHECK(members_counts(&m, 1, 11));
	CHECK(!members_counts(&m, 1, 12));
	CHECK(!members_counts(&m, 4, 11));
	CHECK_INT(members_pid(&m, 2), 20);
	CHECK_INT(members_pid(&m, 5), 0);
	CHECK_INT(members_reduce(procs, MEMBERS_MAX + 1, &m), -E2BIG);
}

TEST(fabric_members_diff_cases)
{
	struct members_proc before[] = {{1, 10}, {2, 20}, {3, 30}};
	struct members_proc after[] = {{1, 10}, {3, 31}, {4, 40}};
	struct members_proc left[] = {{2, 20}, {3, 30}};
	struct members_proc joined[] = {{3, 31}, {4, 40}};
	struct members_proc bounced[] = {{1, 10}};
	struct members old, cur;
	struct members_change c;

	members_reduce(before, 3, &old);
	members_reduce(after, 3, &cur);
	CHECK(members_diff(&old, &cur, left, 2, joined, 2, &c));
	CHECK_INT(c.n_members, 3);
	CHECK_INT(c.n_left, 2); /* 2 gone, 3 restarted */
	CHECK_INT(c.left[0], 2);
	CHECK_INT(c.left[1], 3);
	CHECK_INT(c.n_joined, 2);
	CHECK_INT(c.joined[0], 3);
	CHECK_INT(c.joined[1], 4);

	/* Same views, but CPG says node 1's process left and came back
	 * within one confchg (a healed partition). */
	CHECK(members_diff(&cur, &cur, bounced, 1, bounced, 1, &c));
	CHECK_INT(c.n_left, 1);
	CHECK_INT(c.n_joined, 1);
	CHECK_INT(c.left[0], 1);

	/* A second process of a node coming and going changes nothing. */
	{
		struct members_proc dup[] = {{1, 10}, {1, 15}, {3, 31}, {4, 40}};
		struct members_proc dup_joined[] = {{1, 15}};
		struct members with_dup;

		members_reduce(dup, 4, &with_dup);
		CHECK(!members_diff(&cur, &with_dup, NULL, 0, dup_joined, 1, &c));
		CHECK(!members_diff(&with_dup, &cur, dup_joined, 1, NULL, 0, &c));
	}
}

/* Differential: random views against a naive recomputation. */
TEST(fabric_members_diff_random)
{
	unsigned long seed = unit_seed();
	int round, rounds = unit_long_mode() ? 100000 : 2000;

	srand((unsigned)seed);
	for (round = 0; round < rounds; round++) {
		struct members_proc a[12], b[12];
		size_t na = (size_t)(rand() % 12), nb = (size_t)(rand() % 12), i;
		struct members old, cur;
		struct members_change c;
		uint32_t node;

		for (i = 0; i < na; i++)
			a[i] = (struct members_proc){(uint32_t)(1 + rand() % 5),
			                             (uint32_t)(1 + rand() % 4)};
		for (i = 0; i < nb; i++)
			b[i] = (struct members_proc){(uint32_t)(1 + rand() % 5),
			                             (uint32_t)(1 + rand() % 4)};
		/* Duplicate (nodeid, pid) pairs do not occur in CPG lists. */
		members_reduce(a, na, &old);
		members_reduce(b, nb, &cur);
		members_diff(&old, &cur, NULL, 0, NULL, 0, &c);
		for (node = 1; node <= 5; node++) {
			uint32_t pa = 0, pb = 0;
			bool in_left = false, in_joined = false, in_members = false;

			for (i = 0; i < na; i++)
				if (a[i].nodeid == node && (!pa || a[i].pid < pa))
					pa = a[i].pid;
			for (i = 0; i < nb; i++)
				if (b[i].nodeid == node && (!pb || b[i].pid < pb))
					pb = b[i].pid;
			for (i = 0; i < c.n_left; i++)
				in_left |= c.left[i] == node;
			for (i = 0; i < c.n_joined; i++)
				in_joined |= c.joined[i] == node;
			for (i = 0; i < c.n_members; i++)
				in_members |= c.members[i] == node;
			if (in_members != (pb != 0) || in_left != (pa && pa != pb) ||
			    in_joined != (pb && pa != pb)) {
				unit_fail(__FILE__, __LINE__, "seed %lu round %d node %u", seed,
				          round, node);
				return;
			}
		}
	}
}

/* ---- sendq ---------------------------------------------------------------- */

TEST(fabric_sendq_fifo_and_bounds)
{
	static struct sendq q; /* static: a failed CHECK leaves nothing unreachable */

	sendq_init(&q, 10);
	CHECK(sendq_peek(&q) == NULL);
	CHECK_INT(sendq_push(&q, "abcd", 4), 0);
	CHECK_INT(sendq_push(&q, "efgh", 4), 0);
	CHECK_INT(sendq_push(&q, "ijk", 3), -ENOBUFS);
	CHECK_INT(sendq_push(&q, "ij", 2), 0);
	CHECK_INT(q.n, 3);
	CHECK_INT(q.bytes, 10);
	CHECK(memcmp(sendq_peek(&q)->data, "abcd", 4) == 0);
	sendq_pop(&q);
	CHECK(memcmp(sendq_peek(&q)->data, "efgh", 4) == 0);
	CHECK_INT(q.bytes, 6);
	sendq_clear(&q);
	CHECK_INT(q.n, 0);
	CHECK(sendq_peek(&q) == NULL);
	sendq_pop(&q);
	CHECK_INT(sendq_push(&q, "x", 1), 0);
	sendq_clear(&q);
	CHECK_INT(sendq_push(&q, "", SIZE_MAX), -ENOBUFS);
}

/* ---- fabric over the fake ------------------------------------------------- */

TEST(fabric_open_errors)
{
	struct seen s = {""};
	struct fabric *f;
	char long_name[FABRIC_GROUP_MAX + 2];
	int err = 0;

	fake_reset();
	fake.cpg_init_result = CS_ERR_LIBRARY;
	CHECK(fabric_open("dvipa", &seen_callbacks, &s, &err) == NULL);
	CHECK_INT(err, -ECONNREFUSED);
	CHECK_INT(errno, ECONNREFUSED);

	fake_reset();
	fake.quorum_type = QUORUM_FREE;
	CHECK(fabric_open("dvipa", &seen_callbacks, &s, &err) == NULL);
	CHECK_INT(err, -ENOTSUP);
	CHECK(fake.cpg_finalized && fake.quorum_finalized);

	fake_reset();
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(fabric_open(long_name, &seen_callbacks, &s, &err) == NULL);
	CHECK_INT(err, -EINVAL);
	CHECK(fabric_open("", &seen_callbacks, &s, NULL) == NULL);
	CHECK(fabric_open("dvipa", NULL, &s, NULL) == NULL);

	/* cpg_join() during a sync: retried. */
	fake_reset();
	fake.join_try_again = 3;
	f = fabric_open("dvipa", &seen_callbacks, &s, &err);
	CHECK(f != NULL);
	CHECK_INT(err, 0);
	CHECK(fake.joined);
	fabric_close(f);
	CHECK(!fake.left); /* never saw its own join: nothing to leave */
	fabric_close(NULL);
}

TEST(fabric_membership_and_messages)
{
	struct seen s = {""};
	struct fabric *f;
	struct fabric_status st;
	int fds[FABRIC_NFDS];

	fake_reset();
	f = open_joined(&s, 100);
	CHECK(f != NULL);
	CHECK_INT(fabric_local_nodeid(f), 1);
	CHECK_INT(fabric_fds(f, fds), 2);
	CHECK_INT(fds[0], 100);
	CHECK_INT(fds[1], 101);
	CHECK_INT(fabric_dispatch(f, 55), -EBADF);

	/* Our join: the first call lists every member as joined. */
	fake_confchg((uint32_t[]){1, 100, 2, 200}, 2, NULL, 0, (uint32_t[]){1, 100}, 1);
	fake_deliver(2, 200, "hello");
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_STR(s.log, "members 1 2 joined 1 2 left; msg 2 hello; ");

	/* A second dvipad on node 2 (higher pid): not a change, its messages
	 * are dropped; then node 3 joins and node 2's first process dies. */
	s.log[0] = '\0';
	fake_confchg((uint32_t[]){1, 100, 2, 200, 2, 250}, 3, NULL, 0, (uint32_t[]){2, 250}, 1);
	fake_deliver(2, 250, "dup");
	fake_deliver(2, 200, "real");
	fake_confchg((uint32_t[]){1, 100, 2, 200, 2, 250, 3, 300}, 4, NULL, 0, (uint32_t[]){3, 300},
	             1);
	fake_confchg((uint32_t[]){1, 100, 2, 250, 3, 300}, 3, (uint32_t[]){2, 200}, 1, NULL, 0);
	fake_deliver(2, 250, "now-me");
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_STR(s.log, "msg 2 real; members 1 2 3 joined 3 left; "
	                 "members 1 2 3 joined 2 left 2; msg 2 now-me; ");
	fabric_status(f, &st);
	CHECK_INT(st.dropped, 1);
	CHECK_INT(st.delivered, 3);
	CHECK_INT(st.n_members, 3);
	CHECK_INT(st.membership_changes, 3);
	CHECK(st.joined); /* Quorum: starts as none, each change reported once. */
	s.log[0] = '\0';
	fake_totem(4);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	fake_quorum(false, 4);
	fake_quorum(false, 4);
	fake_quorum(true, 4);
	fake_quorum(true, 4);
	CHECK_INT(fabric_dispatch(f, 101), 0);
	CHECK_STR(s.log, "quorum ok; ");
	fabric_status(f, &st);
	CHECK_INT(st.quorum, FABRIC_QUORUM_OK);
	CHECK_INT(st.ring_seq, 4);
	CHECK_INT(st.quorum_ring_seq, 4);
	fabric_close(f);
	CHECK(fake.left);
	CHECK(fake.cpg_finalized);
	CHECK(fake.quorum_finalized);
}

TEST(fabric_duplicate_self_is_refused)
{
	struct seen s = {""};
	struct fabric *f;

	fake_reset();
	f = open_joined(&s, 150);
	CHECK(f != NULL);
	/* Another dvipad of node 1 with a lower pid is already in the group. */
	fake_confchg((uint32_t[]){1, 120, 1, 150, 2, 200}, 3, NULL, 0, (uint32_t[]){1, 150}, 1);
	fake_deliver(2, 200, "late");
	CHECK_INT(fabric_dispatch(f, 100), -EEXIST);
	CHECK_STR(s.log, "");
	CHECK_INT(fabric_dispatch(f, 101), -EEXIST);
	CHECK_INT(fabric_send(f, "x", 1), -EEXIST);
	fabric_close(f);
	CHECK(!fake.left);
}

TEST(fabric_removed_from_group)
{
	struct seen s = {""};
	struct fabric *f;

	fake_reset();
	f = open_joined(&s, 100);
	CHECK(f != NULL);
	fake_confchg((uint32_t[]){1, 100, 2, 200}, 2, NULL, 0, (uint32_t[]){1, 100}, 1);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	fake_confchg((uint32_t[]){2, 200}, 1, (uint32_t[]){1, 100}, 1, NULL, 0);
	CHECK_INT(fabric_dispatch(f, 100), -ECONNRESET);
	fabric_close(f);
}

TEST(fabric_lost_corosync_is_sticky)
{
	struct seen s = {""};
	struct fabric *f;

	fake_reset();
	f = open_joined(&s, 100);
	CHECK(f != NULL);
	fake.dispatch_result = CS_ERR_LIBRARY;
	CHECK_INT(fabric_dispatch(f, 100), -ENOTCONN);
	fake.dispatch_result = CS_OK;
	CHECK_INT(fabric_dispatch(f, 100), -ENOTCONN);
	CHECK_INT(fabric_send(f, "x", 1), -ENOTCONN);
	CHECK_INT(fabric_flush(f), -ENOTCONN);
	fabric_close(f);

	/* A dispatch woken with nothing to read is fine. */
	fake_reset();
	f = open_joined(&s, 100);
	CHECK(f != NULL);
	fake.dispatch_result = CS_ERR_TRY_AGAIN;
	CHECK_INT(fabric_dispatch(f, 101), 0);
	fabric_close(f);
}

TEST(fabric_flow_control_keeps_order)
{
	struct seen s = {""};
	struct fabric *f;
	struct fabric_status st;
	static char big[FABRIC_MSG_MAX + 1];
	int i;

	fake_reset();
	f = open_joined(&s, 100);
	CHECK(f != NULL);
	CHECK_INT(fabric_send(f, "a", 1), 0);
	fake.mcast_try_again = 2;
	CHECK_INT(fabric_send(f, "b", 1), 0); /* TRY_AGAIN: queued */
	CHECK_INT(fabric_send(f, "c", 1), 0); /* TRY_AGAIN again, behind b */
	CHECK_INT(fabric_pending(f), 2);
	CHECK_INT(fake.n_sent, 1);
	CHECK_INT(fabric_flush(f), 0); /* corosync has room again */
	CHECK_INT(fabric_pending(f), 0);
	CHECK_INT(fabric_send(f, "d", 1), 0);
	CHECK_INT(fake.n_sent, 4);
	CHECK_STR(fake.sent[1], "b");
	CHECK_STR(fake.sent[2], "c");
	CHECK_STR(fake.sent[3], "d");

	/* A queued message is flushed by the next dispatch, before new sends. */
	fake.mcast_try_again = 1;
	CHECK_INT(fabric_send(f, "e", 1), 0);
	CHECK_INT(fabric_pending(f), 1);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_INT(fabric_pending(f), 0);
	CHECK_STR(fake.sent[4], "e");

	CHECK_INT(fabric_send(f, "", 0), -EMSGSIZE);
	CHECK_INT(fabric_send(f, big, sizeof(big)), -EMSGSIZE);
	/* Corosync stuck: the queue fills up, then refuses. */
	fake.mcast_try_again = -1;
	for (i = 0; i < FABRIC_QUEUE_MAX / FABRIC_MSG_MAX; i++)
		CHECK_INT(fabric_send(f, big, FABRIC_MSG_MAX), 0);
	CHECK_INT(fabric_send(f, "f", 1), -ENOBUFS);
	fabric_status(f, &st);
	CHECK_INT(st.queued, FABRIC_QUEUE_MAX / FABRIC_MSG_MAX);
	CHECK(st.flow_control >= 4);
	fabric_close(f);
}

/* ---- nodelist and info ---------------------------------------------------- */

TEST(fabric_nodelist_parse_key)
{
	char field[16];
	unsigned index = 99;

	CHECK_INT(nodelist_parse_key("nodelist.node.12.ring0_addr", &index, field, sizeof(field)),
	          0);
	CHECK_INT(index, 12);
	CHECK_STR(field, "ring0_addr");
	CHECK_INT(nodelist_parse_key("nodelist.node.x.nodeid", &index, field, sizeof(field)),
	          -EINVAL);
	CHECK_INT(nodelist_parse_key("nodelist.node.1", &index, field, sizeof(field)), -EINVAL);
	CHECK_INT(nodelist_parse_key("nodelist.node.1.", &index, field, sizeof(field)), -EINVAL);
	CHECK_INT(nodelist_parse_key("nodelist.node.1.a.b", &index, field, sizeof(field)), -EINVAL);
	CHECK_INT(nodelist_parse_key("nodelist.node.99999.name", &index, field, sizeof(field)),
	          -EINVAL);
	CHECK_INT(nodelist_parse_key("totem.token", &index, field, sizeof(field)), -EINVAL);
	CHECK_INT(nodelist_parse_key("nodelist.node.1.a_very_long_field_name", &index, field,
	                             sizeof(field)),
	          -EINVAL);
}

TEST(fabric_nodelist_read)
{
	struct fabric_node *nodes = NULL;
	char err[128] = "";
	char addr[IPADDR_STRLEN];
	size_t n = 0;

	/* Sparse indexes, unsorted ids, a nodeid stored as uint8, IPv6. */
	fake_reset();
	fake_key_u32("nodelist.node.0.nodeid", 3);
	fake_key_str("nodelist.node.0.name", "n3");
	fake_key_str("nodelist.node.0.ring0_addr", "10.0.0.3");
	fake.keys[fake.n_keys++] = (struct fake_key){
	    .key = "nodelist.node.2.nodeid", .type = CMAP_VALUETYPE_UINT8, .u8 = 1};
	fake_key_str("nodelist.node.2.ring0_addr", "fd00::1");
	fake_key_str("totem.token", "x");
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 2);
	CHECK_INT(nodes[0].nodeid, 1);
	CHECK_STR(nodes[0].name, "");
	CHECK_STR(ipaddr_format(&nodes[0].ring0_addr, addr, sizeof(addr)), "fd00::1");
	CHECK_INT(nodes[1].nodeid, 3);
	CHECK_STR(nodes[1].name, "n3");
	CHECK_STR(nodes[1].ring0_text, "10.0.0.3");
	CHECK_INT(fake.cmap_open, 0);
	free(nodes);

	/* A host name is refused, and the message says which key. */
	fake_reset();
	fake_key_u32("nodelist.node.0.nodeid", 1);
	fake_key_str("nodelist.node.0.ring0_addr", "node-one.example");
	nodes = NULL;
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), -EINVAL);
	CHECK(nodes == NULL);
	CHECK(strstr(err, "nodelist.node.0.ring0_addr 'node-one.example'") != NULL);
	CHECK_INT(fake.cmap_open, 0);

	fake_reset();
	fake_key_str("nodelist.node.0.ring0_addr", "10.0.0.1");
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "nodeid") != NULL);

	fake_reset();
	fake_key_u32("nodelist.node.0.nodeid", 1);
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "ring0_addr") != NULL);

	fake_reset();
	fake_key_u32("nodelist.node.0.nodeid", 2);
	fake_key_str("nodelist.node.0.ring0_addr", "10.0.0.1");
	fake_key_str("nodelist.node.1.nodeid", "2");
	fake_key_str("nodelist.node.1.ring0_addr", "10.0.0.2");
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, NULL, 0), -EINVAL);
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "nodeid 2 appears twice in the nodelist");

	fake_reset();
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), -ENOENT);
	fake.cpg_init_result = CS_ERR_LIBRARY;
	CHECK_INT(fabric_nodelist(NULL, &nodes, &n, err, sizeof(err)), -ECONNREFUSED);
	CHECK(nodes == NULL);
}

TEST(fabric_info_read)
{
	struct fabric_info info;

	fake_reset();
	fake_key_u32("runtime.config.totem.token", 300);
	fake_key_u32("runtime.config.totem.consensus", 360);
	fake_key_u32("runtime.votequorum.this_node_id", 2);
	fake_key_str("totem.cluster_name", "plex");
	CHECK_INT(fabric_info(NULL, &info), 0);
	CHECK_INT(info.token_ms, 300);
	CHECK_INT(info.consensus_ms, 360);
	CHECK_STR(info.cluster_name, "plex");
	CHECK_STR(info.transport, "knet");
	CHECK_INT(info.expected_votes, 2);
	CHECK(info.quorate && info.two_node && info.wait_for_all);
	CHECK_INT(fake.cmap_open, 0);

	fake.cpg_init_result = CS_ERR_LIBRARY;
	CHECK_INT(fabric_info(NULL, &info), -ECONNREFUSED);
}

/* The quorum service and CPG speak on two fds; OK must always mean "for the
 * ring whose membership the daemon has seen". */
TEST(fabric_quorum_follows_the_ring)
{
	struct seen s = {""};
	struct fabric *f;

	fake_reset();
	f = open_joined(&s, 100);
	CHECK(f != NULL);
	/* Quorum heard before CPG has told the ring: pending, then ok. */
	fake_quorum(true, 4);
	CHECK_INT(fabric_dispatch(f, 101), 0);
	fake_confchg((uint32_t[]){1, 100, 2, 200, 3, 300}, 3, NULL, 0, (uint32_t[]){1, 100}, 1);
	fake_totem(4);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_STR(s.log, "quorum pending; members 1 2 3 joined 1 2 3 left; quorum ok; ");

	/* A dvipad crash (corosync up): same ring, quorum untouched; the
	 * node is said to have crashed. */
	s.log[0] = '\0';
	seen_crashed[0] = '\0';
	fake_confchg((uint32_t[]){1, 100, 2, 200}, 2, (uint32_t[]){3, 300}, 1, NULL, 0);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_STR(s.log, "members 1 2 joined left 3; ");
	CHECK_STR(seen_crashed, "3 ; ");

	/* This node cut off: CPG first (the usual order). Pending comes before
	 * the membership, loss as soon as the quorum service says so. Nodes
	 * that left with the ring did not crash. */
	s.log[0] = '\0';
	seen_crashed[0] = '\0';
	fake_confchg_why((uint32_t[]){1, 100}, 1, (uint32_t[]){2, 200}, 1, NULL, 0, true);
	fake_totem(8);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_STR(seen_crashed, "; ");
	fake_quorum(false, 8);
	CHECK_INT(fabric_dispatch(f, 101), 0);
	CHECK_STR(s.log, "quorum pending; members 1 joined left 2; quorum none; ");

	/* Healing, quorum service first: pending until CPG reaches that ring. */
	s.log[0] = '\0';
	fake_quorum(true, 12);
	CHECK_INT(fabric_dispatch(f, 101), 0);
	fake_confchg_why((uint32_t[]){1, 100, 2, 200}, 2, NULL, 0, (uint32_t[]){2, 200}, 1, true);
	fake_totem(12);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	CHECK_STR(s.log, "quorum pending; members 1 2 joined 2 left; quorum ok; ");

	/* A ring change with no dvipad involved (a node without dvipad). */
	s.log[0] = '\0';
	fake_totem(16);
	CHECK_INT(fabric_dispatch(f, 100), 0);
	fake_quorum(true, 16);
	CHECK_INT(fabric_dispatch(f, 101), 0);
	CHECK_STR(s.log, "quorum pending; quorum ok; ");

	/* Loss reported by the quorum service ahead of CPG: at once. */
	s.log[0] = '\0';
	fake_quorum(false, 20);
	CHECK_INT(fabric_dispatch(f, 101), 0);
	CHECK_STR(s.log, "quorum none; ");
	CHECK_STR(fabric_quorum_name(FABRIC_QUORUM_PENDING), "pending");
	fabric_close(f);
}
