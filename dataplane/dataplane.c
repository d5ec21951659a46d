#include "dataplane/dataplane.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include "dataplane.skel.h" /* generated from dataplane.bpf.c, see Makefile */

struct dp {
	struct dataplane_bpf *skel;
	int ifindex;       /* attached to, 0 = not attached */
	bool created_hook; /* dp_attach() created the clsact qdisc */
	int n_cpus;        /* possible CPUs: the per-CPU values' count */
};

#define DP_COUNTER_NAME_(name, text, help) text,
static const char *const counter_names[DP_CNT_MAX] = {DP_COUNTERS(DP_COUNTER_NAME_)};
#undef DP_COUNTER_NAME_
#define DP_COUNTER_HELP_(name, text, help) help,
static const char *const counter_helps[DP_CNT_MAX] = {DP_COUNTERS(DP_COUNTER_HELP_)};
#undef DP_COUNTER_HELP_

static bool family_ok(const struct ipaddr *a)
{
	return a && (a->family == IPADDR_V4 || a->family == IPADDR_V6);
}

static int pin_maps(struct dp *dp, const char *dir, bool reset, bool flows_only)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	bpf_object__for_each_map(map, dp->skel->obj)
	{
		if (flows_only && map != dp->skel->maps.flows)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map)) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		if (reset && unlink(path) < 0 && errno != ENOENT)
			return -errno;
		/* libbpf reuses a pinned map of the same layout at load, and
		 * pins the new one otherwise. */
		err = bpf_map__set_pin_path(map, path);
		if (err < 0)
			return err;
	}
	return 0;
}

static int config_update(struct dp *dp, int (*edit)(struct dp_config *c, const void *arg),
                         const void *arg);

/* The program looks port blocks up only once this flag says there may be
 * some: a lookup less for every packet of a node without SYSPLEXPORTS. */
static int edit_port_blocks(struct dp_config *c, const void *arg)
{
	(void)arg;
	c->flags |= DP_CONFIG_PORT_BLOCKS;
	return 0;
}

/* The same for the MOVING entries of dist_services (port 0). */
static int edit_moving(struct dp_config *c, const void *arg)
{
	(void)arg;
	c->flags |= DP_CONFIG_MOVING;
	return 0;
}

static bool port_blocks_exist(const struct dp *dp)
{
	struct dp_port_block_key k;

	return bpf_map_get_next_key(bpf_map__fd(dp->skel->maps.port_blocks), NULL, &k) == 0;
}

int dp_open(const struct dp_open_opts *opts, struct dp **ret)
{
	static const struct dp_open_opts defaults;
	struct dp *dp;
	int err;

	if (!opts)
		opts = &defaults;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->n_cpus = libbpf_num_possible_cpus();
	if (dp->n_cpus <= 0) {
		err = dp->n_cpus < 0 ? dp->n_cpus : -EINVAL;
		goto out;
	}
	dp->skel = dataplane_bpf__open();
	if (!dp->skel) {
		err = -errno;
		goto out;
	}
	if (opts->flow_max) {
		err = bpf_map__set_max_entries(dp->skel->maps.flows, opts->flow_max);
		if (err < 0)
			goto out;
	}
	/* A client with an affinity has had a flow: the flow table's size
	 * is enough. */
	if (opts->affinity_max || opts->flow_max) {
		err = bpf_map__set_max_entries(dp->skel->maps.affinity, opts->affinity_max
		                                                            ? opts->affinity_max
		                                                            : opts->flow_max);
		if (err < 0)
			goto out;
	}
	if (opts->pin_dir) {
		err = pin_maps(dp, opts->pin_dir, opts->reset_pins, opts->pin_flows_only);
		if (err < 0)
			goto out;
	}
	err = dataplane_bpf__load(dp->skel);
	if (err < 0)
		goto out;
	/* Pinned port blocks written by a loader that did not flag them. */
	if (port_blocks_exist(dp)) {
		err = config_update(dp, edit_port_blocks, NULL);
		if (err < 0)
			goto out;
	}
	*ret = dp;
	dp = NULL;
	err = 0;
out:
	dp_free(dp);
	return err;
}

int dp_unpin(const char *dir)
{
	struct dataplane_bpf *skel = dataplane_bpf__open();
	struct bpf_map *map;
	char path[PATH_MAX];
	int err = 0;

	/* The object only names the maps; nothing is loaded. */
	if (!skel)
		return -errno;
	bpf_object__for_each_map(map, skel->obj)
	{
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map)) >=
		    (int)sizeof(path)) {
			err = -ENAMETOOLONG;
			break;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			err = -errno;
			break;
		}
	}
	dataplane_bpf__destroy(skel);
	if (err == 0 && rmdir(dir) < 0 && errno != ENOENT)
		err = -errno;
	return err;
}

void dp_free(struct dp *dp)
{
	if (!dp)
		return;
	dataplane_bpf__destroy(dp->skel);
	free(dp);
}

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	struct bpf_tc_hook hook = {.sz = sizeof(hook), .ifindex = ifindex, .attach_point = point};
	/* REPLACE: a filter left at our handle by a crashed loader is swapped
	 * for ours in one step, without a window without program. */
	struct bpf_tc_opts opts = {.sz = sizeof(opts),
	                           .handle = DP_TC_HANDLE,
	                           .priority = DP_TC_PRIORITY,
	                           .prog_fd = prog_fd,
	                           .flags = BPF_TC_F_REPLACE};

	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point point)
{
	struct bpf_tc_hook hook = {.sz = sizeof(hook), .ifindex = ifindex, .attach_point = point};
	struct bpf_tc_opts opts = {
	    .sz = sizeof(opts), .handle = DP_TC_HANDLE, .priority = DP_TC_PRIORITY};
	int err = bpf_tc_detach(&hook, &opts);

	/* No filter (-ENOENT), or no clsact qdisc at all (-EINVAL). */
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	return err;
}

static int tc_hook_destroy(int ifindex)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS};
	int err = bpf_tc_hook_destroy(&hook);

	return err == -ENOENT || err == -EINVAL ? 0 : err;
}

int dp_attach(struct dp *dp, int ifindex)
{
	struct bpf_tc_hook hook = {
	    .sz = sizeof(hook), .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS};
	bool created = false;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	if (dp->ifindex && dp->ifindex != ifindex)
		return -EBUSY;
	err = bpf_tc_hook_create(&hook);
	if (err == 0)
		created = true;
	else if (err != -EEXIST)
		return err;
	err = tc_attach_one(ifindex, BPF_TC_INGRESS, bpf_program__fd(dp->skel->progs.dp_ingress));
	if (err < 0)
		goto out;
	err = tc_attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(dp->skel->progs.dp_egress));
	if (err < 0) {
		tc_detach_one(ifindex, BPF_TC_INGRESS);
		goto out;
	}
	dp->ifindex = ifindex;
	dp->created_hook = dp->created_hook || created;
	return 0;
out:
	if (created)
		tc_hook_destroy(ifindex);
	return err;
}

int dp_detach_ifindex(int ifindex)
{
	int err = tc_detach_one(ifindex, BPF_TC_INGRESS);
	int err2 = tc_detach_one(ifindex, BPF_TC_EGRESS);

	return err < 0 ? err : err2;
}

int dp_detach(struct dp *dp)
{
	int err;

	if (!dp->ifindex)
		return 0;
	err = dp_detach_ifindex(dp->ifindex);
	if (err == 0 && dp->created_hook)
		err = tc_hook_destroy(dp->ifindex);
	if (err == 0) {
		dp->ifindex = 0;
		dp->created_hook = false;
	}
	return err;
}

static int map_fd(const struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static int config_update(struct dp *dp, int (*edit)(struct dp_config *c, const void *arg),
                         const void *arg)
{
	int fd = map_fd(dp->skel->maps.node_config);
	struct dp_config c;
	uint32_t zero = 0;
	int err;

	err = bpf_map_lookup_elem(fd, &zero, &c);
	if (err < 0)
		return err;
	err = edit(&c, arg);
	if (err < 0)
		return err;
	return bpf_map_update_elem(fd, &zero, &c, BPF_ANY);
}

struct node_args {
	uint32_t node_id;
	const struct ipaddr *v4, *v6;
};

static int edit_node(struct dp_config *c, const void *arg)
{
	const struct node_args *a = arg;

	c->node_id = a->node_id;
	memset(c->plex_v4, 0, sizeof(c->plex_v4));
	memset(c->plex_v6, 0, sizeof(c->plex_v6));
	if (a->v4)
		memcpy(c->plex_v4, a->v4->bytes, sizeof(c->plex_v4));
	if (a->v6)
		memcpy(c->plex_v6, a->v6->bytes, sizeof(c->plex_v6));
	return 0;
}

int dp_set_node(struct dp *dp, uint32_t node_id, const struct ipaddr *plex_v4,
                const struct ipaddr *plex_v6)
{
	struct node_args a = {node_id, plex_v4, plex_v6};

	if ((plex_v4 && plex_v4->family != IPADDR_V4) || (plex_v6 && plex_v6->family != IPADDR_V6))
		return -EINVAL;
	return config_update(dp, edit_node, &a);
}

static int edit_mss(struct dp_config *c, const void *arg)
{
	const uint16_t *mss = arg;

	c->mss_v4 = mss[0];
	c->mss_v6 = mss[1];
	return 0;
}

int dp_set_mss(struct dp *dp, uint16_t mss_v4, uint16_t mss_v6)
{
	uint16_t mss[2] = {mss_v4, mss_v6};

	return config_update(dp, edit_mss, mss);
}

uint16_t dp_mss_for_mtu(int family, unsigned mtu)
{
	/* Outer header + inner IP header + TCP header without options. */
	unsigned overhead = family == IPADDR_V6 ? 40 + 40 + 20 : 20 + 20 + 20;

	if (mtu <= overhead)
		return 0;
	mtu -= overhead;
	return mtu > UINT16_MAX ? UINT16_MAX : (uint16_t)mtu;
}

static void addr_key(struct dp_addr_key *k, const struct ipaddr *a)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family;
	memcpy(k->addr, a->bytes, sizeof(k->addr));
}

static int map_delete(const struct bpf_map *map, const void *key)
{
	return bpf_map_delete_elem(map_fd(map), key);
}

int dp_member_add(struct dp *dp, const struct ipaddr *plex_addr, uint32_t node_id)
{
	struct dp_member m = {.node_id = node_id};
	struct dp_addr_key k;

	if (!family_ok(plex_addr))
		return -EINVAL;
	addr_key(&k, plex_addr);
	return bpf_map_update_elem(map_fd(dp->skel->maps.members), &k, &m, BPF_ANY);
}

int dp_member_remove(struct dp *dp, const struct ipaddr *plex_addr)
{
	struct dp_addr_key k;

	if (!family_ok(plex_addr))
		return -EINVAL;
	addr_key(&k, plex_addr);
	return map_delete(dp->skel->maps.members, &k);
}

static int target_to_map(struct dp_target *t, const struct dp_service_target *from, int family)
{
	if (!family_ok(&from->plex_addr))
		return -EINVAL;
	if (from->plex_addr.family != family)
		return -EAFNOSUPPORT;
	memset(t, 0, sizeof(*t));
	t->node_id = from->node_id;
	t->family = from->plex_addr.family;
	t->flags = from->is_local ? DP_TARGET_LOCAL : 0;
	memcpy(t->addr, from->plex_addr.bytes, sizeof(t->addr));
	if (from->direct && !from->is_local) {
		t->flags |= DP_TARGET_DIRECT;
		memcpy(t->mac, from->mac, sizeof(t->mac));
	}
	return 0;
}

static void target_from_map(struct dp_service_target *t, const struct dp_target *from)
{
	memset(t, 0, sizeof(*t));
	t->node_id = from->node_id;
	t->plex_addr.family = from->family;
	memcpy(t->plex_addr.bytes, from->addr, sizeof(t->plex_addr.bytes));
	t->is_local = from->flags & DP_TARGET_LOCAL;
	t->direct = from->flags & DP_TARGET_DIRECT;
	if (t->direct)
		memcpy(t->mac, from->mac, sizeof(t->mac));
}

static void service_key(struct dp_service_key *k, const struct ipaddr *dvipa, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->family = dvipa->family;
	k->proto = IPPROTO_TCP;
	k->port = htons(port);
	memcpy(k->addr, dvipa->bytes, sizeof(k->addr));
}

int dp_service_set(struct dp *dp, const struct ipaddr *dvipa, uint16_t port,
                   const struct dp_service_target *targets, size_t n_targets, const uint8_t *slots,
                   size_t n_slots)
{
	int fd = map_fd(dp->skel->maps.dist_services);
	struct dp_service_key k;
	struct dp_service *svc, old;
	int err;

	if (!family_ok(dvipa) || n_targets > DP_MAX_TARGETS || (n_targets && !targets))
		return -EINVAL;
	if (!slots)
		n_slots = n_targets;
	if (n_slots > DP_DISPATCH_SLOTS)
		return -EINVAL;
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	for (size_t i = 0; i < n_targets; i++) {
		err = target_to_map(&svc->targets[i], &targets[i], dvipa->family);
		if (err < 0)
			goto out;
		if (targets[i].ready)
			svc->targets[i].flags |= DP_TARGET_READY;
	}
	for (size_t i = 0; i < n_slots; i++) {
		svc->slots[i] = slots ? slots[i] : (uint8_t)i;
		if (svc->slots[i] >= n_targets) {
			err = -EINVAL;
			goto out;
		}
	}
	svc->n_targets = (uint16_t)n_targets;
	svc->n_slots = (uint16_t)n_slots;
	service_key(&k, dvipa, port);
	if (bpf_map_lookup_elem(fd, &k, &old) == 0) {
		svc->rr = old.rr;
		svc->affinity_s = old.affinity_s;
		svc->flags = old.flags;
	}
	err = bpf_map_update_elem(fd, &k, svc, BPF_ANY);
out:
	free(svc);
	return err;
}

int dp_service_remove(struct dp *dp, const struct ipaddr *dvipa, uint16_t port)
{
	struct dp_service_key k;

	if (!family_ok(dvipa))
		return -EINVAL;
	service_key(&k, dvipa, port);
	return map_delete(dp->skel->maps.dist_services, &k);
}

/* Sets one __u32 field (at offset) of a service's value. The program may
 * advance rr between the read and the write; a round-robin step repeated
 * once is the price (as in dp_service_set()). */
static int service_set_u32(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, size_t offset,
                           uint32_t value)
{
	int fd = map_fd(dp->skel->maps.dist_services);
	struct dp_service_key k;
	struct dp_service *svc;
	uint32_t *field;
	int err;

	svc = malloc(sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	field = (uint32_t *)((char *)svc + offset);
	service_key(&k, dvipa, port);
	err = bpf_map_lookup_elem(fd, &k, svc);
	if (err == 0 && *field != value) {
		*field = value;
		err = bpf_map_update_elem(fd, &k, svc, BPF_EXIST);
	}
	free(svc);
	return err;
}

int dp_service_set_affinity(struct dp *dp, const struct ipaddr *dvipa, uint16_t port,
                            uint32_t seconds)
{
	if (!family_ok(dvipa))
		return -EINVAL;
	return service_set_u32(dp, dvipa, port, offsetof(struct dp_service, affinity_s), seconds);
}

int dp_service_set_flags(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, uint32_t flags)
{
	if (!family_ok(dvipa) || port == 0 || (flags & ~DP_SERVICE_HOLD_UNKNOWN))
		return -EINVAL;
	return service_set_u32(dp, dvipa, port, offsetof(struct dp_service, flags), flags);
}

int dp_moving_set(struct dp *dp, const struct ipaddr *dvipa, bool hold)
{
	struct dp_service_key k;
	struct dp_service *svc;
	int err;

	if (!family_ok(dvipa))
		return -EINVAL;
	err = config_update(dp, edit_moving, NULL);
	if (err < 0)
		return err;
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	svc->flags = DP_SERVICE_MOVING | (hold ? DP_SERVICE_HOLD_UNKNOWN : 0);
	service_key(&k, dvipa, 0);
	err = bpf_map_update_elem(map_fd(dp->skel->maps.dist_services), &k, svc, BPF_ANY);
	free(svc);
	return err;
}

int dp_moving_remove(struct dp *dp, const struct ipaddr *dvipa)
{
	return dp_service_remove(dp, dvipa, 0);
}

int dp_target_dvipa_add(struct dp *dp, const struct ipaddr *dvipa)
{
	struct dp_target_dvipa v = {0};
	struct dp_addr_key k;

	if (!family_ok(dvipa))
		return -EINVAL;
	addr_key(&k, dvipa);
	return bpf_map_update_elem(map_fd(dp->skel->maps.target_dvipas), &k, &v, BPF_ANY);
}

int dp_target_dvipa_remove(struct dp *dp, const struct ipaddr *dvipa)
{
	struct dp_addr_key k;

	if (!family_ok(dvipa))
		return -EINVAL;
	addr_key(&k, dvipa);
	return map_delete(dp->skel->maps.target_dvipas, &k);
}

static void port_block_key(struct dp_port_block_key *k, const struct ipaddr *dvipa, uint16_t block)
{
	memset(k, 0, sizeof(*k));
	k->family = dvipa->family;
	k->proto = IPPROTO_TCP;
	k->block = block;
	memcpy(k->addr, dvipa->bytes, sizeof(k->addr));
}

int dp_port_block_set(struct dp *dp, const struct ipaddr *dvipa, uint16_t block,
                      const struct dp_service_target *target)
{
	struct dp_port_block_key k;
	struct dp_target t;
	int err;

	if (!family_ok(dvipa) || !target || block > (UINT16_MAX >> DP_PORT_BLOCK_SHIFT))
		return -EINVAL;
	err = target_to_map(&t, target, dvipa->family);
	if (err < 0)
		return err;
	/* The flag first: the program must never skip a block it could find. */
	err = config_update(dp, edit_port_blocks, NULL);
	if (err < 0)
		return err;
	port_block_key(&k, dvipa, block);
	return bpf_map_update_elem(map_fd(dp->skel->maps.port_blocks), &k, &t, BPF_ANY);
}

int dp_port_block_remove(struct dp *dp, const struct ipaddr *dvipa, uint16_t block)
{
	struct dp_port_block_key k;

	if (!family_ok(dvipa))
		return -EINVAL;
	port_block_key(&k, dvipa, block);
	return map_delete(dp->skel->maps.port_blocks, &k);
}

int dp_counters_read(struct dp *dp, uint64_t *out, size_t n)
{
	int fd = map_fd(dp->skel->maps.counters);
	uint64_t *per_cpu;
	int err = 0;

	if (n > DP_CNT_MAX)
		return -EINVAL;
	per_cpu = calloc((size_t)dp->n_cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		err = bpf_map_lookup_elem(fd, &i, per_cpu);
		if (err < 0)
			goto out;
		out[i] = 0;
		for (int cpu = 0; cpu < dp->n_cpus; cpu++)
			out[i] += per_cpu[cpu];
	}
out:
	free(per_cpu);
	return err;
}

const char *dp_counter_name(unsigned counter)
{
	return counter < DP_CNT_MAX ? counter_names[counter] : NULL;
}

const char *dp_counter_help(unsigned counter)
{
	return counter < DP_CNT_MAX ? counter_helps[counter] : NULL;
}

static void flow_from_map(struct dp_flow_info *info, const struct dp_flow_key *k,
                          const struct dp_flow *f)
{
	memset(info, 0, sizeof(*info));
	info->client.family = k->family;
	memcpy(info->client.bytes, k->src, sizeof(info->client.bytes));
	info->dvipa.family = k->family;
	memcpy(info->dvipa.bytes, k->dst, sizeof(info->dvipa.bytes));
	info->client_port = ntohs(k->src_port);
	info->dvipa_port = ntohs(k->dst_port);
	target_from_map(&info->target, &f->target);
	info->closing = f->flags & DP_FLOW_CLOSING;
	info->established = f->flags & DP_FLOW_ESTABLISHED;
	info->syn_retrans = f->flags & DP_FLOW_SYN_RETRANS;
	info->affinity = f->flags & DP_FLOW_AFFINITY;
	info->affinity_gen = info->affinity ? f->affinity_gen : 0;
	info->created_ns = f->created_ns;
}

/* Largest key and value map_walk() reads. */
#define WALK_MAX 64

/* Entries map_walk() reads with one batch lookup. */
#define WALK_BATCH 256

/* map_walk() an entry at a time: two syscalls per entry. A key that
 * vanishes under us restarts the walk from the first key: bound it so that
 * a busy table cannot keep us here. */
static int map_walk_keys(const struct bpf_map *map,
                         int (*each)(const void *key, const void *value, void *ctx), void *ctx)
{
	int fd = map_fd(map);
	uint64_t budget = 2 * (uint64_t)bpf_map__max_entries(map) + 16;
	_Alignas(8) unsigned char key[WALK_MAX], next[WALK_MAX], value[WALK_MAX];
	bool first = true;
	int err;

	while (budget--) {
		err = bpf_map_get_next_key(fd, first ? NULL : key, next);
		if (err == -ENOENT)
			return 0;
		if (err < 0)
			return err;
		first = false;
		memcpy(key, next, bpf_map__key_size(map));
		if (bpf_map_lookup_elem(fd, key, value) < 0)
			continue;
		err = each(key, value, ctx);
		if (err)
			return err;
	}
	return 0;
}

/* Calls each(key, value, ctx) for every entry of map, until it returns
 * non-zero (returned). The flow table is read every 500 ms while a node
 * distributes: WALK_BATCH entries a syscall (bpf_map_lookup_batch), an
 * entry at a time only where the kernel cannot batch (refused before the
 * first entry was handed out). */
static int map_walk(const struct bpf_map *map,
                    int (*each)(const void *key, const void *value, void *ctx), void *ctx)
{
	size_t ksize = bpf_map__key_size(map), vsize = bpf_map__value_size(map);
	_Alignas(8) unsigned char in[WALK_MAX], out[WALK_MAX];
	unsigned char *keys = NULL, *values = NULL;
	bool first = true, started = false;
	int fd = map_fd(map), err = 0;

	if (ksize > WALK_MAX || vsize > WALK_MAX)
		return -EOVERFLOW;
	keys = malloc(WALK_BATCH * ksize);
	values = malloc(WALK_BATCH * vsize);
	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	for (bool done = false; !done;) {
		__u32 count = WALK_BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, values, &count, NULL);
		if (err == -ENOENT) {
			done = true;
			err = 0;
		} else if (err < 0) {
			if (!started)
				err = map_walk_keys(map, each, ctx);
			goto out;
		}
		first = false;
		memcpy(in, out, sizeof(in));
		for (__u32 i = 0; i < count && !err; i++) {
			started = true;
			err = each(keys + i * ksize, values + i * vsize, ctx);
		}
		if (err)
			goto out;
	}
out:
	free(keys);
	free(values);
	return err;
}

struct flow_walk {
	int (*fn)(const struct dp_flow_info *flow, void *data);
	void *data;
};

static int flow_walk_one(const void *key, const void *value, void *ctx)
{
	const struct flow_walk *w = ctx;
	struct dp_flow_info info;

	flow_from_map(&info, key, value);
	return w->fn(&info, w->data);
}

int dp_flow_foreach(struct dp *dp, int (*fn)(const struct dp_flow_info *flow, void *data),
                    void *data)
{
	struct flow_walk w = {.fn = fn, .data = data};

	return map_walk(dp->skel->maps.flows, flow_walk_one, &w);
}

static int flow_key(struct dp_flow_key *k, const struct dp_flow_info *info)
{
	if (!family_ok(&info->dvipa) || info->client.family != info->dvipa.family)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->family = info->dvipa.family;
	k->proto = IPPROTO_TCP;
	k->src_port = htons(info->client_port);
	k->dst_port = htons(info->dvipa_port);
	memcpy(k->src, info->client.bytes, sizeof(k->src));
	memcpy(k->dst, info->dvipa.bytes, sizeof(k->dst));
	return 0;
}

int dp_flow_set(struct dp *dp, const struct dp_flow_info *info)
{
	struct dp_flow_key k;
	struct dp_flow f = {0};
	int err;

	err = flow_key(&k, info);
	if (err < 0)
		return err;
	err = target_to_map(&f.target, &info->target, info->dvipa.family);
	if (err < 0)
		return err;
	f.flags =
	    (info->closing ? DP_FLOW_CLOSING : 0) | (info->established ? DP_FLOW_ESTABLISHED : 0) |
	    (info->syn_retrans ? DP_FLOW_SYN_RETRANS : 0) | (info->affinity ? DP_FLOW_AFFINITY : 0);
	f.affinity_gen = info->affinity ? info->affinity_gen : 0;
	f.created_ns = info->created_ns;
	return bpf_map_update_elem(map_fd(dp->skel->maps.flows), &k, &f, BPF_ANY);
}

int dp_flow_delete(struct dp *dp, const struct dp_flow_info *info)
{
	struct dp_flow_key k;
	int err = flow_key(&k, info);

	return err < 0 ? err : map_delete(dp->skel->maps.flows, &k);
}

struct retarget {
	uint32_t from_node;
	uint8_t family; /* 0: all */
	struct dp_flow_key *keys;
	size_t n, cap;
};

static int collect_node_flows(const struct dp_flow_info *info, void *data)
{
	struct retarget *r = data;

	if (info->target.node_id != r->from_node || (r->family && info->dvipa.family != r->family))
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct dp_flow_key *keys = realloc(r->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		r->keys = keys;
		r->cap = cap;
	}
	return flow_key(&r->keys[r->n++], info);
}

/* The program's clock (bpf_ktime_get_ns). */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A flow counted in its client's affinity entry is deleted before it
 * closed: the entry that counted it (same gen) loses it, as the program
 * does on a FIN. Read-modify-write: only while the program is detached. */
static int affinity_forget_flow(struct dp *dp, const struct dp_flow_key *fk,
                                const struct dp_flow *f)
{
	int fd = map_fd(dp->skel->maps.affinity);
	struct dp_affinity_key k = {0};
	struct dp_affinity a;
	int err;

	if ((f->flags & (DP_FLOW_AFFINITY | DP_FLOW_CLOSING)) != DP_FLOW_AFFINITY)
		return 0;
	k.family = fk->family;
	k.proto = fk->proto;
	k.port = fk->dst_port;
	memcpy(k.client, fk->src, sizeof(k.client));
	memcpy(k.dvipa, fk->dst, sizeof(k.dvipa));
	err = bpf_map_lookup_elem(fd, &k, &a);
	if (err == -ENOENT || (err == 0 && (a.gen != f->affinity_gen || a.open == 0)))
		return 0;
	if (err < 0)
		return err;
	a.open--;
	a.last_end_ns = mono_ns();
	err = bpf_map_update_elem(fd, &k, &a, BPF_EXIST);
	return err == -ENOENT ? 0 : err;
}

int dp_flows_retarget(struct dp *dp, uint32_t from_node, const struct dp_service_target *to,
                      size_t *ret_n)
{
	int fd = map_fd(dp->skel->maps.flows);
	struct retarget r = {.from_node = from_node};
	size_t changed = 0;
	int err;

	/* Each flow is read and written back whole: with the program running,
	 * a flag it set in between (an atomic or, on the element this write
	 * replaces) would be lost. */
	if (dp->ifindex)
		return -EBUSY;
	if (to) {
		if (!family_ok(&to->plex_addr))
			return -EINVAL;
		r.family = to->plex_addr.family;
	}

	/* Collect first: changing the table while walking it restarts walks. */
	err = dp_flow_foreach(dp, collect_node_flows, &r);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < r.n; i++) {
		struct dp_flow f;

		/* A moved flow keeps its flags and affinity gen: its close
		 * still leaves the entry that counted it. */
		err = bpf_map_lookup_elem(fd, &r.keys[i], &f);
		if (err == 0 && !to)
			err = affinity_forget_flow(dp, &r.keys[i], &f);
		if (err == 0 && !to)
			err = bpf_map_delete_elem(fd, &r.keys[i]);
		if (err == 0 && to)
			err = target_to_map(&f.target, to, r.keys[i].family);
		if (err == 0 && to)
			err = bpf_map_update_elem(fd, &r.keys[i], &f, BPF_EXIST);
		/* Gone meanwhile (aged out, closed): nothing to change. */
		if (err == -ENOENT)
			continue;
		if (err < 0)
			goto out;
		changed++;
	}
	err = 0;
	if (ret_n)
		*ret_n = changed;
out:
	free(r.keys);
	return err;
}

int dp_prog_fd(const struct dp *dp, enum dp_prog prog)
{
	switch (prog) {
	case DP_PROG_INGRESS:
		return bpf_program__fd(dp->skel->progs.dp_ingress);
	case DP_PROG_EGRESS:
		return bpf_program__fd(dp->skel->progs.dp_egress);
	default:
		return -EINVAL;
	}
}

/* ---- TIMEDAFFINITY ---- */

static int affinity_key(struct dp_affinity_key *k, const struct dp_affinity_info *info)
{
	if (!family_ok(&info->dvipa) || info->client.family != info->dvipa.family)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->family = info->dvipa.family;
	k->proto = IPPROTO_TCP;
	k->port = htons(info->dvipa_port);
	memcpy(k->client, info->client.bytes, sizeof(k->client));
	memcpy(k->dvipa, info->dvipa.bytes, sizeof(k->dvipa));
	return 0;
}

static void affinity_from_map(struct dp_affinity_info *info, const struct dp_affinity_key *k,
                              const struct dp_affinity *a)
{
	memset(info, 0, sizeof(*info));
	info->client.family = k->family;
	memcpy(info->client.bytes, k->client, sizeof(info->client.bytes));
	info->dvipa.family = k->family;
	memcpy(info->dvipa.bytes, k->dvipa, sizeof(info->dvipa.bytes));
	info->dvipa_port = ntohs(k->port);
	target_from_map(&info->target, &a->target);
	info->open = a->open;
	info->gen = a->gen;
	info->last_end_ns = a->last_end_ns;
}

struct affinity_walk {
	int (*fn)(const struct dp_affinity_info *a, void *data);
	void *data;
};

static int affinity_walk_one(const void *key, const void *value, void *ctx)
{
	const struct affinity_walk *w = ctx;
	struct dp_affinity_info info;

	affinity_from_map(&info, key, value);
	return w->fn(&info, w->data);
}

int dp_affinity_foreach(struct dp *dp, int (*fn)(const struct dp_affinity_info *a, void *data),
                        void *data)
{
	struct affinity_walk w = {.fn = fn, .data = data};

	return map_walk(dp->skel->maps.affinity, affinity_walk_one, &w);
}

int dp_affinity_set(struct dp *dp, const struct dp_affinity_info *info)
{
	int fd = map_fd(dp->skel->maps.affinity);
	struct dp_affinity_key k;
	struct dp_affinity a = {0}, old;
	int err;

	err = affinity_key(&k, info);
	if (err < 0)
		return err;
	err = target_to_map(&a.target, &info->target, info->dvipa.family);
	if (err < 0)
		return err;
	a.open = info->open;
	a.last_end_ns = info->last_end_ns;
	a.gen = info->gen;
	/* Editing an entry keeps its identity: its flows still leave it. A
	 * new one gets a gen as the program makes them. */
	if (!a.gen && bpf_map_lookup_elem(fd, &k, &old) == 0)
		a.gen = old.gen;
	if (!a.gen)
		a.gen = (uint32_t)mono_ns() ?: 1;
	return bpf_map_update_elem(fd, &k, &a, BPF_ANY);
}

struct affinity_sweep {
	const struct ipaddr *dvipa; /* NULL: all */
	uint16_t port;              /* 0: all of dvipa's */
	struct dp_affinity_key *keys;
	size_t n, cap;
};

static int collect_affinities(const struct dp_affinity_info *info, void *data)
{
	struct affinity_sweep *s = data;

	if (s->dvipa &&
	    ((s->port && info->dvipa_port != s->port) || !ipaddr_equal(&info->dvipa, s->dvipa)))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct dp_affinity_key *keys = realloc(s->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		s->keys = keys;
		s->cap = cap;
	}
	return affinity_key(&s->keys[s->n++], info);
}

int dp_affinity_clear(struct dp *dp, const struct ipaddr *dvipa, uint16_t port, size_t *ret_n)
{
	int fd = map_fd(dp->skel->maps.affinity);
	struct affinity_sweep s = {.dvipa = dvipa, .port = port};
	size_t deleted = 0;
	int err;

	if (dvipa && !family_ok(dvipa))
		return -EINVAL;
	/* Collect first: deleting while walking restarts walks. */
	err = dp_affinity_foreach(dp, collect_affinities, &s);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		err = bpf_map_delete_elem(fd, &s.keys[i]);
		if (err == -ENOENT)
			continue;
		if (err < 0)
			goto out;
		deleted++;
	}
	err = 0;
	if (ret_n)
		*ret_n = deleted;
out:
	free(s.keys);
	return err;
}
