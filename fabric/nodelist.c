/* corosync's nodelist from cmap: nodelist.node.N.{nodeid,name,ring0_addr}. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>

#include "fabric/nodelist.h"

#define NODELIST_PREFIX "nodelist.node."
/* corosync itself caps the nodelist far below this. */
#define NODELIST_INDEX_MAX 1024

int nodelist_parse_key(const char *key, unsigned *ret_index, char *ret_field, size_t field_size)
{
	const char *p = key, *prefix = NODELIST_PREFIX;
	unsigned long index;
	char *end;
	size_t len;

	for (; *prefix; prefix++, p++)
		if (*p != *prefix)
			return -EINVAL;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	index = strtoul(p, &end, 10);
	if (*end != '.' || index >= NODELIST_INDEX_MAX)
		return -EINVAL;
	p = end + 1;
	len = strlen(p);
	if (len == 0 || len >= field_size || strchr(p, '.'))
		return -EINVAL;
	memcpy(ret_field, p, len + 1);
	*ret_index = (unsigned)index;
	return 0;
}

static int nodelist_node_cmp(const void *a, const void *b)
{
	const struct fabric_node *x = a, *y = b;

	if (x->nodeid != y->nodeid)
		return x->nodeid < y->nodeid ? -1 : 1;
	return 0;
}

int nodelist_sort(struct fabric_node *nodes, size_t n, size_t *ret_dup)
{
	size_t i;

	qsort(nodes, n, sizeof(*nodes), nodelist_node_cmp);
	for (i = 1; i < n; i++) {
		if (nodes[i].nodeid == nodes[i - 1].nodeid) {
			*ret_dup = i;
			return -EINVAL;
		}
	}
	return 0;
}

static void nodelist_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void nodelist_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	/* clang-analyzer 14 misreads vsnprintf's va_list argument. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* Integer keys may be stored with any width depending on who wrote them
 * (corosync.conf parser, cmapctl); accept any non-negative integer. */
static cs_error_t nodelist_get_u32(cmap_handle_t h, const char *key, uint32_t *ret)
{
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		int8_t i8;
		int16_t i16;
		int32_t i32;
		int64_t i64;
		char s[32];
	} v;
	size_t len = sizeof(v);
	cmap_value_types_t type;
	unsigned long long x;
	cs_error_t e;
	char *end;

	memset(&v, 0, sizeof(v));
	e = cmap_get(h, key, &v, &len, &type);
	if (e != CS_OK)
		return e;
	switch (type) {
	case CMAP_VALUETYPE_UINT8:
		x = v.u8;
		break;
	case CMAP_VALUETYPE_UINT16:
		x = v.u16;
		break;
	case CMAP_VALUETYPE_UINT32:
		x = v.u32;
		break;
	case CMAP_VALUETYPE_UINT64:
		x = v.u64;
		break;
	case CMAP_VALUETYPE_INT8:
		x = v.i8 < 0 ? ~0ULL : (unsigned long long)v.i8;
		break;
	case CMAP_VALUETYPE_INT16:
		x = v.i16 < 0 ? ~0ULL : (unsigned long long)v.i16;
		break;
	case CMAP_VALUETYPE_INT32:
		x = v.i32 < 0 ? ~0ULL : (unsigned long long)v.i32;
		break;
	case CMAP_VALUETYPE_INT64:
		x = v.i64 < 0 ? ~0ULL : (unsigned long long)v.i64;
		break;
	case CMAP_VALUETYPE_STRING:
		v.s[sizeof(v.s) - 1] = '\0';
		x = strtoull(v.s, &end, 10);
		if (end == v.s || *end)
			return CS_ERR_INVALID_PARAM;
		break;
	default:
		return CS_ERR_INVALID_PARAM;
	}
	if (x > UINT32_MAX)
		return CS_ERR_INVALID_PARAM;
	*ret = (uint32_t)x;
	return CS_OK;
}

/* Copy a string key into buf (truncating); CS_ERR_NOT_EXIST when absent. */
static cs_error_t nodelist_get_str(cmap_handle_t h, const char *key, char *buf, size_t size)
{
	char *s = NULL;
	cs_error_t e;

	e = cmap_get_string(h, key, &s);
	if (e != CS_OK)
		return e;
	snprintf(buf, size, "%s", s);
	free(s);
	return CS_OK;
}

/* The highest N of nodelist.node.N.* plus one, 0 when there is no nodelist. */
static cs_error_t nodelist_count(cmap_handle_t h, size_t *ret)
{
	char key[CMAP_KEYNAME_MAXLEN + 1], field[32];
	cmap_iter_handle_t it;
	unsigned index;
	size_t n = 0;
	cs_error_t e;

	e = cmap_iter_init(h, NODELIST_PREFIX, &it);
	if (e != CS_OK)
		return e;
	while ((e = cmap_iter_next(h, it, key, NULL, NULL)) == CS_OK) {
		if (nodelist_parse_key(key, &index, field, sizeof(field)) == 0 && index + 1 > n)
			n = index + 1;
	}
	(void)cmap_iter_finalize(h, it);
	if (e != CS_ERR_NO_SECTIONS)
		return e;
	*ret = n;
	return CS_OK;
}

static int nodelist_errno(cs_error_t e)
{
	switch (e) {
	case CS_ERR_LIBRARY:
	case CS_ERR_BAD_HANDLE:
		return -ECONNREFUSED;
	case CS_ERR_NO_MEMORY:
		return -ENOMEM;
	case CS_ERR_ACCESS:
		return -EACCES;
	default:
		return -EIO;
	}
}

int nodelist_read(struct fabric_node **ret_nodes, size_t *ret_n, char *errbuf, size_t errlen)
{
	struct fabric_node *nodes = NULL;
	char key[CMAP_KEYNAME_MAXLEN + 1];
	cmap_handle_t h = 0;
	bool open = false;
	size_t n_index = 0, n = 0, i, dup;
	cs_error_t e;
	int ret;

	e = cmap_initialize(&h);
	if (e != CS_OK) {
		ret = nodelist_errno(e);
		goto out;
	}
	open = true;
	e = nodelist_count(h, &n_index);
	if (e != CS_OK) {
		ret = nodelist_errno(e);
		goto out;
	}
	if (n_index == 0) {
		nodelist_error(errbuf, errlen, "corosync has no nodelist");
		ret = -ENOENT;
		goto out;
	}
	nodes = calloc(n_index, sizeof(*nodes));
	if (!nodes) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n_index; i++) {
		struct fabric_node *node = &nodes[n];

		/* Indexes need not be dense (cmapctl can delete one). */
		snprintf(key, sizeof(key), NODELIST_PREFIX "%zu.ring0_addr", i);
		e = nodelist_get_str(h, key, node->ring0_text, sizeof(node->ring0_text));
		if (e == CS_ERR_NOT_EXIST) {
			snprintf(key, sizeof(key), NODELIST_PREFIX "%zu.nodeid", i);
			if (nodelist_get_u32(h, key, &node->nodeid) == CS_ERR_NOT_EXIST)
				continue;
			nodelist_error(errbuf, errlen, NODELIST_PREFIX "%zu has no ring0_addr", i);
			ret = -EINVAL;
			goto out;
		}
		if (e != CS_OK) {
			ret = nodelist_errno(e);
			goto out;
		}
		if (ipaddr_parse(node->ring0_text, &node->ring0_addr) < 0) {
			nodelist_error(errbuf, errlen,
			               NODELIST_PREFIX "%zu.ring0_addr '%s' is not an IP address "
			                               "(dvipa does not resolve host names)",
			               i, node->ring0_text);
			ret = -EINVAL;
			goto out;
		}
		snprintf(key, sizeof(key), NODELIST_PREFIX "%zu.nodeid", i);
		e = nodelist_get_u32(h, key, &node->nodeid);
		if (e != CS_OK || node->nodeid == 0) {
			nodelist_error(errbuf, errlen, NODELIST_PREFIX "%zu has no valid nodeid",
			               i);
			ret = -EINVAL;
			goto out;
		}
		snprintf(key, sizeof(key), NODELIST_PREFIX "%zu.name", i);
		e = nodelist_get_str(h, key, node->name, sizeof(node->name));
		if (e != CS_OK && e != CS_ERR_NOT_EXIST) {
			ret = nodelist_errno(e);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		nodelist_error(errbuf, errlen, "corosync has no nodelist");
		ret = -ENOENT;
		goto out;
	}
	if (nodelist_sort(nodes, n, &dup) < 0) {
		nodelist_error(errbuf, errlen, "nodeid %u appears twice in the nodelist",
		               nodes[dup].nodeid);
		ret = -EINVAL;
		goto out;
	}
	*ret_nodes = nodes;
	*ret_n = n;
	nodes = NULL;
	ret = 0;
out:
	free(nodes);
	if (open)
		(void)cmap_finalize(h);
	return ret;
}
