#include "daemon/conncount.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "dataplane/sockcount.h"

struct conncount {
	struct diag_handle *diag;
	struct sockcount *bpf; /* NULL: sock_diag instead */
	bool untracked_logged;
};

int conncount_new(struct diag_handle *diag, struct conncount **ret)
{
	struct conncount *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->diag = diag;
	err = sockcount_open(&c->bpf);
	if (err < 0) {
		c->bpf = NULL;
		log_warn("cannot load the BPF connection counter (%s): counting connections "
		         "by sock_diag dumps, one per DVIPA every tick",
		         strerror(-err));
	}
	*ret = c;
	return 0;
}

void conncount_free(struct conncount *c)
{
	if (!c)
		return;
	sockcount_free(c->bpf);
	free(c);
}

int conncount_get(struct conncount *c, const struct ipaddr *dvipa, uint32_t *ret)
{
	uint64_t n64 = 0;
	size_t n = 0;
	int err;

	if (!c->bpf) {
		err = diag_count_conns(c->diag, dvipa, 0, &n);
		if (err == 0)
			*ret = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		return err;
	}
	err = sockcount_conns(c->bpf, dvipa, &n64);
	if (err == 0)
		*ret = n64 > UINT32_MAX ? UINT32_MAX : (uint32_t)n64;
	return err;
}

int conncount_refresh(struct conncount *c)
{
	if (!c->bpf)
		return 0;
	if (!c->untracked_logged && sockcount_untracked(c->bpf)) {
		/* Short counts could let WHENIDLE move a DVIPA in use. */
		log_warn("the BPF connection counter missed sockets (out of memory or "
		         "addresses): connection counts may be short");
		c->untracked_logged = true;
	}
	return sockcount_refresh(c->bpf);
}

int conncount_cached(struct conncount *c, const struct ipaddr *dvipa, uint32_t *ret)
{
	uint64_t n64 = 0;
	int err;

	if (!c->bpf)
		return conncount_get(c, dvipa, ret);
	err = sockcount_cached(c->bpf, dvipa, &n64);
	if (err == 0)
		*ret = n64 > UINT32_MAX ? UINT32_MAX : (uint32_t)n64;
	return err;
}
