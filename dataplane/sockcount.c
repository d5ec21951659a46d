#include "dataplane/sockcount.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/sockcount_maps.h"
#include "sockcount.skel.h" /* generated from sockcount.bpf.c, see Makefile */

/* One count of the snapshot. */
struct sockcount_entry {
	struct sockcount_key key;
	sockcount_value value;
};

struct sockcount {
	struct sockcount_bpf *skel;
	/* Every count as of the last sockcount_refresh() that found a
	 * change, sorted by key; changes: the program's counter then. */
	struct sockcount_entry *snap;
	size_t n_snap;
	uint64_t changes;
	bool have_snap;
	/* Room for one batch read of the whole map. */
	struct sockcount_key *keys;
	sockcount_value *values;
};

/* Runs the seeding iterator to its end: it writes nothing, so one read
 * returns 0 once every socket of the namespace was visited. */
static int sockcount_seed(struct sockcount *s)
{
	struct bpf_link *link = bpf_program__attach_iter(s->skel->progs.sockcount_seed, NULL);
	char buf[64];
	ssize_t r;
	int fd, err = 0;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			err = -errno;
			break;
		}
	}
	close(fd);
out:
	bpf_link__destroy(link);
	return err;
}

int sockcount_open(struct sockcount **ret)
{
	struct sockcount *s = calloc(1, sizeof(*s));
	struct stat st;
	int err;

	if (!s)
		return -ENOMEM;
	if (stat("/proc/self/ns/net", &st) < 0) {
		err = -errno;
		goto out;
	}
	s->skel = sockcount_bpf__open();
	if (!s->skel) {
		err = -errno;
		goto out;
	}
	s->skel->rodata->netns_ino = (__u32)st.st_ino;
	err = sockcount_bpf__load(s->skel);
	if (err == 0)
		err = sockcount_bpf__attach(s->skel);
	/* Attached first, then seeded: a socket that changes state meanwhile
	 * is counted once either way (see sockcount.bpf.c). */
	if (err == 0)
		err = sockcount_seed(s);
	if (err < 0)
		goto out;
	*ret = s;
	s = NULL;
out:
	sockcount_free(s);
	return err;
}

void sockcount_free(struct sockcount *s)
{
	if (!s)
		return;
	sockcount_bpf__destroy(s->skel);
	free(s->snap);
	free(s->keys);
	free(s->values);
	free(s);
}

static int sockcount_key_of(const struct ipaddr *addr, struct sockcount_key *k)
{
	memset(k, 0, sizeof(*k));
	if (addr->family == IPADDR_V4) {
		k->family = SOCKCOUNT_FAMILY_V4;
		memcpy(k->addr, addr->bytes, 4);
	} else if (addr->family == IPADDR_V6) {
		k->family = SOCKCOUNT_FAMILY_V6;
		memcpy(k->addr, addr->bytes, 16);
	} else {
		return -EINVAL;
	}
	return 0;
}

int sockcount_conns(const struct sockcount *s, const struct ipaddr *addr, uint64_t *ret)
{
	struct sockcount_key k;
	sockcount_value v = 0;
	int err = sockcount_key_of(addr, &k);

	if (err < 0)
		return err;
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.conns), &k, &v) < 0) {
		if (errno != ENOENT)
			return -errno;
		v = 0; /* no socket ever had this address */
	}
	*ret = v > 0 ? (uint64_t)v : 0;
	return 0;
}

/* The program's counters, read from its mapped .bss. */
static uint64_t sockcount_stat(const volatile __u64 *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

uint64_t sockcount_untracked(const struct sockcount *s)
{
	return sockcount_stat(&s->skel->bss->stats.untracked);
}

static int sockcount_entry_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct sockcount_entry *)a)->key,
	              &((const struct sockcount_entry *)b)->key, sizeof(struct sockcount_key));
}

int sockcount_refresh(struct sockcount *s)
{
	uint64_t changes = sockcount_stat(&s->skel->bss->stats.changes);
	int fd = bpf_map__fd(s->skel->maps.conns);
	struct sockcount_entry *snap;
	__u32 batch = 0;
	size_t n = 0;
	bool first = true;
	int err = 0;

	if (s->have_snap && changes == s->changes)
		return 0;
	if (!s->keys) {
		s->keys = calloc(SOCKCOUNT_ADDRS_MAX, sizeof(*s->keys));
		s->values = calloc(SOCKCOUNT_ADDRS_MAX, sizeof(*s->values));
		if (!s->keys || !s->values)
			return -ENOMEM;
	}
	/* The batch holds the whole map: one call, and a second that says
	 * the end was reached. */
	while (n < SOCKCOUNT_ADDRS_MAX) {
		__u32 count = (__u32)(SOCKCOUNT_ADDRS_MAX - n);

		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, s->keys + n,
		                           s->values + n, &count, NULL);
		first = false;
		n += count;
		if (err < 0) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
	}
	if (err < 0)
		return err;
	snap = n ? calloc(n, sizeof(*snap)) : NULL;
	if (n && !snap)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		snap[i] = (struct sockcount_entry){s->keys[i], s->values[i]};
	if (n)
		qsort(snap, n, sizeof(*snap), sockcount_entry_cmp);
	free(s->snap);
	s->snap = snap;
	s->n_snap = n;
	/* The counter as read before the map: a change during the read is
	 * read again next time. */
	s->changes = changes;
	s->have_snap = true;
	return 0;
}

int sockcount_cached(const struct sockcount *s, const struct ipaddr *addr, uint64_t *ret)
{
	struct sockcount_entry want = {0};
	const struct sockcount_entry *e;
	int err = sockcount_key_of(addr, &want.key);

	if (err < 0)
		return err;
	if (!s->have_snap)
		return -EAGAIN;
	e = s->n_snap ? bsearch(&want, s->snap, s->n_snap, sizeof(*s->snap), sockcount_entry_cmp)
	              : NULL;
	*ret = e && e->value > 0 ? (uint64_t)e->value : 0;
	return 0;
}
