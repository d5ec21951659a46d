#include "daemon/target_addrs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"

/* Where a is, or would go: the set is kept sorted (ipaddr_cmp), so that a
 * pass over hundreds of target DVIPAs each tick stays n log n. */
static size_t target_addrs_find(const struct target_addrs *s, const struct ipaddr *a, bool *found)
{
	size_t lo = 0, hi = s->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ipaddr_cmp(&s->v[mid], a);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool target_addrs_has(const struct target_addrs *s, const struct ipaddr *a)
{
	bool found;

	target_addrs_find(s, a, &found);
	return found;
}

int target_addrs_add(struct target_addrs *s, const struct ipaddr *a)
{
	bool found;
	size_t i = target_addrs_find(s, a, &found);

	if (found)
		return 0;
	if (array_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
		return -ENOMEM;
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i] = *a;
	s->n++;
	return 0;
}

void target_addrs_del(struct target_addrs *s, const struct ipaddr *a)
{
	bool found;
	size_t i = target_addrs_find(s, a, &found);

	if (!found)
		return;
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

void target_addrs_clear(struct target_addrs *s)
{
	free(s->v);
	*s = (struct target_addrs){0};
}
