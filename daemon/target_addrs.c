#include "daemon/target_addrs.h"

#include <errno.h>
#include <stdlib.h>

bool target_addrs_has(const struct target_addrs *s, const struct ipaddr *a)
{
	for (size_t i = 0; i < s->n; i++)
		if (ipaddr_equal(&s->v[i], a))
			return true;
	return false;
}

int target_addrs_add(struct target_addrs *s, const struct ipaddr *a)
{
	struct ipaddr *v;

	if (target_addrs_has(s, a))
		return 0;
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[s->n++] = *a;
	s->v = v;
	return 0;
}

void target_addrs_del(struct target_addrs *s, const struct ipaddr *a)
{
	for (size_t i = 0; i < s->n; i++) {
		if (ipaddr_equal(&s->v[i], a)) {
			s->v[i] = s->v[--s->n];
			return;
		}
	}
}

void target_addrs_clear(struct target_addrs *s)
{
	free(s->v);
	*s = (struct target_addrs){0};
}
