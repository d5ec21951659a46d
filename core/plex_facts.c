/* A node's announced facts: sorted arrays, checks and edits (see core/plex.h). */
#include "core/plex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Every element type below starts with its address, so one comparator and
 * bsearch() serve all of them. */
static int plex_facts_cmp_addr(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

static const void *plex_facts_search(const void *base, size_t n, size_t size,
                                     const struct ipaddr *a)
{
	if (!n)
		return NULL;
	return bsearch(a, base, n, size, plex_facts_cmp_addr);
}

/* Index where a would be inserted to keep the order. */
static size_t plex_facts_lower_bound(const void *base, size_t n, size_t size,
                                     const struct ipaddr *a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ipaddr_cmp((const struct ipaddr *)((const char *)base + mid * size), a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void plex_facts_clear(struct plex_facts *f)
{
	if (!f)
		return;
	free(f->defs);
	free(f->deactivated);
	free(f->held);
	free(f->known);
	memset(f, 0, sizeof(*f));
}

static int plex_facts_dup_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int plex_facts_copy(struct plex_facts *dst, const struct plex_facts *src)
{
	struct plex_facts c = *src;
	int ret;

	c.defs = NULL;
	c.deactivated = NULL;
	c.held = NULL;
	c.known = NULL;
	ret = plex_facts_dup_array((void **)&c.defs, src->defs, src->n_defs, sizeof(*src->defs));
	if (ret < 0)
		goto out;
	ret = plex_facts_dup_array((void **)&c.deactivated, src->deactivated, src->n_deactivated,
	                           sizeof(*src->deactivated));
	if (ret < 0)
		goto out;
	ret = plex_facts_dup_array((void **)&c.held, src->held, src->n_held, sizeof(*src->held));
	if (ret < 0)
		goto out;
	ret =
	    plex_facts_dup_array((void **)&c.known, src->known, src->n_known, sizeof(*src->known));
	if (ret < 0)
		goto out;
	plex_facts_clear(dst);
	*dst = c;
	return 0;
out:
	plex_facts_clear(&c);
	return ret;
}

static bool plex_facts_sorted_unique(const void *base, size_t n, size_t size)
{
	for (size_t i = 1; i < n; i++)
		if (ipaddr_cmp((const struct ipaddr *)((const char *)base + (i - 1) * size),
		               (const struct ipaddr *)((const char *)base + i * size)) >= 0)
			return false;
	return true;
}

int plex_facts_sort(struct plex_facts *f)
{
	if (f->n_defs)
		qsort(f->defs, f->n_defs, sizeof(*f->defs), plex_facts_cmp_addr);
	if (f->n_deactivated)
		qsort(f->deactivated, f->n_deactivated, sizeof(*f->deactivated),
		      plex_facts_cmp_addr);
	if (f->n_held)
		qsort(f->held, f->n_held, sizeof(*f->held), plex_facts_cmp_addr);
	if (f->n_known)
		qsort(f->known, f->n_known, sizeof(*f->known), plex_facts_cmp_addr);
	if (!plex_facts_sorted_unique(f->defs, f->n_defs, sizeof(*f->defs)) ||
	    !plex_facts_sorted_unique(f->deactivated, f->n_deactivated, sizeof(*f->deactivated)) ||
	    !plex_facts_sorted_unique(f->held, f->n_held, sizeof(*f->held)) ||
	    !plex_facts_sorted_unique(f->known, f->n_known, sizeof(*f->known)))
		return -EINVAL;
	return 0;
}

/* A DVIPA address: IPv4 or IPv6, and an IPv4 address has a zero tail so that
 * equality is memcmp() (see core/ipaddr.h). */
static bool plex_facts_addr_ok(const struct ipaddr *a)
{
	static const uint8_t zero[12];

	if (a->family == IPADDR_V6)
		return true;
	return a->family == IPADDR_V4 && memcmp(a->bytes + 4, zero, sizeof(zero)) == 0;
}

static bool plex_facts_addrs_ok(const void *base, size_t n, size_t size)
{
	for (size_t i = 0; i < n; i++)
		if (!plex_facts_addr_ok((const struct ipaddr *)((const char *)base + i * size)))
			return false;
	return plex_facts_sorted_unique(base, n, size);
}

static bool plex_facts_def_ok(const struct plex_def *d)
{
	if (d->prefix_len < 1 || d->prefix_len > ipaddr_max_prefix(&d->dvipa))
		return false;
	if (d->moveable >= CONFIG_MOVEABLE_MAX)
		return false;
	if (d->kind == CONFIG_VIPADEFINE)
		return d->rank == CONFIG_RANK_OWNER;
	if (d->kind == CONFIG_VIPABACKUP)
		return d->rank >= CONFIG_RANK_MIN && d->rank <= CONFIG_RANK_MAX;
	return false;
}

static bool plex_facts_name_ok(const char *name)
{
	size_t len = strnlen(name, PLEX_NAME_MAX + 1);

	if (len > PLEX_NAME_MAX)
		return false;
	/* Printed in displays and logs: printable ASCII only. */
	for (size_t i = 0; i < len; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return false;
	return true;
}

int plex_facts_check(const struct plex_facts *f)
{
	static const struct ipaddr unset;

	if (f->node_id == PLEX_NODE_NONE || (f->flags & ~PLEX_FACTS_FLAGS_ALL))
		return -EINVAL;
	if (!plex_facts_name_ok(f->name))
		return -EINVAL;
	if (memcmp(&f->plex_addr, &unset, sizeof(unset)) != 0 && !plex_facts_addr_ok(&f->plex_addr))
		return -EINVAL;
	if (f->n_defs > PLEX_MAX_DVIPAS || f->n_deactivated > PLEX_MAX_DVIPAS ||
	    f->n_held > PLEX_MAX_DVIPAS || f->n_known > PLEX_MAX_KNOWN)
		return -EINVAL;
	if ((f->n_defs && !f->defs) || (f->n_deactivated && !f->deactivated) ||
	    (f->n_held && !f->held) || (f->n_known && !f->known))
		return -EINVAL;
	for (size_t i = 0; i < f->n_defs; i++)
		if (!plex_facts_def_ok(&f->defs[i]))
			return -EINVAL;
	for (size_t i = 0; i < f->n_held; i++)
		if (f->held[i].state != PLEX_HELD_CLAIMED && f->held[i].state != PLEX_HELD_ACTIVE)
			return -EINVAL;
	if (!plex_facts_addrs_ok(f->defs, f->n_defs, sizeof(*f->defs)) ||
	    !plex_facts_addrs_ok(f->deactivated, f->n_deactivated, sizeof(*f->deactivated)) ||
	    !plex_facts_addrs_ok(f->held, f->n_held, sizeof(*f->held)) ||
	    !plex_facts_addrs_ok(f->known, f->n_known, sizeof(*f->known)))
		return -EINVAL;
	return 0;
}

const struct plex_def *plex_facts_find_def(const struct plex_facts *f, const struct ipaddr *a)
{
	return plex_facts_search(f->defs, f->n_defs, sizeof(*f->defs), a);
}

const struct plex_held *plex_facts_find_held(const struct plex_facts *f, const struct ipaddr *a)
{
	return plex_facts_search(f->held, f->n_held, sizeof(*f->held), a);
}

bool plex_facts_is_deactivated(const struct plex_facts *f, const struct ipaddr *a)
{
	return plex_facts_search(f->deactivated, f->n_deactivated, sizeof(*f->deactivated), a);
}

/* Inserts elem at index i of a malloc'd array of *n elements. */
static int plex_facts_insert(void **base, size_t *n, size_t max, size_t size, size_t i,
                             const void *elem)
{
	char *v;

	if (*n >= max)
		return -E2BIG;
	v = realloc(*base, (*n + 1) * size);
	if (!v)
		return -ENOMEM;
	memmove(v + (i + 1) * size, v + i * size, (*n - i) * size);
	memcpy(v + i * size, elem, size);
	*base = v;
	(*n)++;
	return 0;
}

static void plex_facts_erase(void *base, size_t *n, size_t size, size_t i)
{
	char *v = base;

	memmove(v + i * size, v + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

int plex_facts_set_held(struct plex_facts *f, const struct plex_held *h)
{
	size_t i = plex_facts_lower_bound(f->held, f->n_held, sizeof(*f->held), &h->dvipa);

	if (i < f->n_held && ipaddr_equal(&f->held[i].dvipa, &h->dvipa)) {
		f->held[i] = *h;
		return 0;
	}
	return plex_facts_insert((void **)&f->held, &f->n_held, PLEX_MAX_DVIPAS, sizeof(*h), i, h);
}

int plex_facts_drop_held(struct plex_facts *f, const struct ipaddr *a)
{
	size_t i = plex_facts_lower_bound(f->held, f->n_held, sizeof(*f->held), a);

	if (i >= f->n_held || !ipaddr_equal(&f->held[i].dvipa, a))
		return -ENOENT;
	plex_facts_erase(f->held, &f->n_held, sizeof(*f->held), i);
	return 0;
}

int plex_facts_set_deactivated(struct plex_facts *f, const struct ipaddr *a, bool deactivated)
{
	size_t i =
	    plex_facts_lower_bound(f->deactivated, f->n_deactivated, sizeof(*f->deactivated), a);
	bool present = i < f->n_deactivated && ipaddr_equal(&f->deactivated[i], a);

	if (deactivated == present)
		return deactivated ? 0 : -ENOENT;
	if (!deactivated) {
		plex_facts_erase(f->deactivated, &f->n_deactivated, sizeof(*f->deactivated), i);
		return 0;
	}
	return plex_facts_insert((void **)&f->deactivated, &f->n_deactivated, PLEX_MAX_DVIPAS,
	                         sizeof(*a), i, a);
}

int plex_facts_apply_action(struct plex_facts *f, const struct plex_action *a, uint64_t now)
{
	struct plex_held h = {.dvipa = a->dvipa};

	switch (a->type) {
	case PLEX_ACTION_ADD:
		h.state = PLEX_HELD_ACTIVE;
		h.activated = now;
		return plex_facts_set_held(f, &h);
	case PLEX_ACTION_CLAIM:
		h.state = PLEX_HELD_CLAIMED;
		return plex_facts_set_held(f, &h);
	case PLEX_ACTION_REMOVE:
	case PLEX_ACTION_UNCLAIM:
		return plex_facts_drop_held(f, &a->dvipa);
	default:
		return -EINVAL;
	}
}
