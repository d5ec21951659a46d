/* How dvipad starts each log line: with the wall-clock time on a terminal or
 * in a file, or with the syslog priority ("<3>" ... "<7>", the convention of
 * sd-daemon(3)) when the line goes to the journal, which stamps the time
 * itself and files the line under that priority. Pure: the daemon passes
 * what it read from the environment and from fstat(2) of stderr. */
#ifndef DVIPA_CORE_LOGLINE_H
#define DVIPA_CORE_LOGLINE_H

#include <stdbool.h>
#include <stdint.h>

enum logline_style { LOGLINE_TIME, LOGLINE_PRIORITY };

struct logline_env {
	const char *journal_stream; /* $JOURNAL_STREAM, "DEV:INO" or NULL */
	const char *invocation_id;  /* $INVOCATION_ID (set by systemd) or NULL */
	bool stderr_known;          /* fstat(2) of stderr worked: dev, ino, socket */
	uint64_t stderr_dev, stderr_ino;
	bool stderr_socket;
};

/* LOGLINE_PRIORITY when stderr is the journal stream systemd handed over
 * (JOURNAL_STREAM names stderr's device and inode: a child that inherited
 * the variable but not the stream does not qualify), or when systemd runs
 * dvipad (INVOCATION_ID) with stderr on a socket (StandardError=journal,
 * syslog or kmsg, all streams to journald); LOGLINE_TIME otherwise. */
enum logline_style logline_style(const struct logline_env *env);

/* Parses JOURNAL_STREAM's "DEV:INO" (decimal). Returns 0 or -EINVAL. */
int logline_parse_stream(const char *s, uint64_t *dev, uint64_t *ino);

/* The syslog priority of a log level: 0 error (3), 1 warning (4), 2 info
 * (6), 3 debug (7); anything beyond is debug. */
int logline_priority(unsigned level);

#endif
