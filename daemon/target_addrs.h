/* A set of addresses: the target DVIPAs this node has put on lo or in
 * the data plane (daemon/target.c, daemon/distributor.c). */
#ifndef DVIPA_DAEMON_TARGET_ADDRS_H
#define DVIPA_DAEMON_TARGET_ADDRS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ipaddr.h"

/* A set of addresses, sorted (ipaddr_cmp); {0} is empty. */
struct target_addrs {
	size_t n, cap;
	struct ipaddr *v;
};

bool target_addrs_has(const struct target_addrs *s, const struct ipaddr *a);
/* 0 or -ENOMEM; adding one already there is 0. */
int target_addrs_add(struct target_addrs *s, const struct ipaddr *a);
void target_addrs_del(struct target_addrs *s, const struct ipaddr *a);
void target_addrs_clear(struct target_addrs *s);

#endif
