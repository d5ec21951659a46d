#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/logline.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static enum logline_style style;
static bool style_known;

void log_set_level(enum log_level level)
{
	max_level = level;
}

/* Decided once, at the first line: stderr and the environment do not change
 * under a running dvipad. */
static enum logline_style log_style(void)
{
	struct logline_env env = {
	    .journal_stream = getenv("JOURNAL_STREAM"),
	    .invocation_id = getenv("INVOCATION_ID"),
	};
	struct stat st;

	if (style_known)
		return style;
	if (fstat(STDERR_FILENO, &st) == 0) {
		env.stderr_known = true;
		env.stderr_dev = (uint64_t)st.st_dev;
		env.stderr_ino = (uint64_t)st.st_ino;
		env.stderr_socket = S_ISSOCK(st.st_mode);
	}
	style = logline_style(&env);
	style_known = true;
	return style;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	struct timeval tv;
	struct tm tm;
	char stamp[32];
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line keeps lines whole when stderr is shared. */
	if (log_style() == LOGLINE_PRIORITY) {
		/* The journal stamps the time and knows the unit's name. */
		fprintf(stderr, "<%d>%s\n", logline_priority(level), line);
		return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld dvipad %s: %s\n", stamp, (long)(tv.tv_usec / 1000), names[level],
	        line);
}
