/* Growing arrays: the one piece of allocation bookkeeping that the parsers,
 * the state machines and the dump collectors share. */
#ifndef DVIPA_CORE_ARRAY_H
#define DVIPA_CORE_ARRAY_H

#include <stddef.h>

/* Makes *v (an array of elements of size bytes, *cap slots) hold at least
 * need elements, doubling from 16. v is the address of the array pointer.
 * 0, -ENOMEM, or -EINVAL for size 0; *v and *cap untouched on failure. */
int array_grow(void *v, size_t *cap, size_t need, size_t size);

#endif
