#include "core/logline.h"

#include <errno.h>
#include <stdlib.h>

static int parse_u64(const char *s, char **end, uint64_t *ret)
{
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, end, 10);
	if (errno)
		return -EINVAL;
	*ret = v;
	return 0;
}

int logline_parse_stream(const char *s, uint64_t *dev, uint64_t *ino)
{
	char *end;

	if (!s || parse_u64(s, &end, dev) < 0 || *end != ':')
		return -EINVAL;
	if (parse_u64(end + 1, &end, ino) < 0 || *end)
		return -EINVAL;
	return 0;
}

enum logline_style logline_style(const struct logline_env *env)
{
	uint64_t dev, ino;

	if (!env->stderr_known)
		return LOGLINE_TIME;
	if (env->journal_stream && logline_parse_stream(env->journal_stream, &dev, &ino) == 0)
		return dev == env->stderr_dev && ino == env->stderr_ino ? LOGLINE_PRIORITY
		                                                        : LOGLINE_TIME;
	if (env->invocation_id && env->invocation_id[0] && env->stderr_socket)
		return LOGLINE_PRIORITY;
	return LOGLINE_TIME;
}

int logline_priority(unsigned level)
{
	static const int priorities[] = {3, 4, 6, 7};

	return level < sizeof(priorities) / sizeof(priorities[0]) ? priorities[level] : 7;
}
