/* corosync's configured nodelist, read through cmap (see fabric_nodelist()). */
#ifndef DVIPA_FABRIC_NODELIST_H
#define DVIPA_FABRIC_NODELIST_H

#include <stddef.h>

#include "fabric/fabric.h"

/* Parse a cmap key "nodelist.node.<index>.<field>": returns 0 and fills
 * *ret_index and ret_field (NUL-terminated, at most field_size bytes), or
 * -EINVAL when the key has another shape. Pure; unit-tested. */
int nodelist_parse_key(const char *key, unsigned *ret_index, char *ret_field, size_t field_size);
/* Sort by nodeid and check for duplicates: 0, or -EINVAL and the index of
 * the first duplicate in *ret_dup. Pure; unit-tested. */
int nodelist_sort(struct fabric_node *nodes, size_t n, size_t *ret_dup);
/* See fabric_nodelist(). */
int nodelist_read(struct fabric_node **ret_nodes, size_t *ret_n, char *errbuf, size_t errlen);

#endif
