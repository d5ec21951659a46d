#include "core/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int array_grow(void *v, size_t *cap, size_t need, size_t size)
{
	void **array = v;
	size_t new_cap;
	void *p;

	if (need <= *cap)
		return 0;
	if (size == 0)
		return -EINVAL;
	new_cap = *cap ? *cap * 2 : 16;
	while (new_cap < need)
		new_cap *= 2;
	if (new_cap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*array, new_cap * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = new_cap;
	return 0;
}
