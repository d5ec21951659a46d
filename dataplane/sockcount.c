#include "dataplane/sockcount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/sockcount_maps.h"
#include "sockcount.skel.h" /* generated from sockcount.bpf.c, see Makefile */

struct sockcount {
	struct sockcount_bpf *skel;
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
	free(s);
}

int sockcount_conns(const struct sockcount *s, const struct ipaddr *addr, uint64_t *ret)
{
	struct sockcount_key k = {0};
	sockcount_value v = 0;

	if (addr->family == IPADDR_V4) {
		k.family = SOCKCOUNT_FAMILY_V4;
		memcpy(k.addr, addr->bytes, 4);
	} else if (addr->family == IPADDR_V6) {
		k.family = SOCKCOUNT_FAMILY_V6;
		memcpy(k.addr, addr->bytes, 16);
	} else {
		return -EINVAL;
	}
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.conns), &k, &v) < 0) {
		if (errno != ENOENT)
			return -errno;
		v = 0; /* no socket ever had this address */
	}
	*ret = v > 0 ? (uint64_t)v : 0;
	return 0;
}

uint64_t sockcount_untracked(const struct sockcount *s)
{
	__u32 k = SOCKCOUNT_ERR_UNTRACKED;
	__u64 v = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.errors), &k, &v) < 0)
		return 0;
	return v;
}
