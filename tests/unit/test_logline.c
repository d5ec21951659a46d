#include <errno.h>

#include "core/logline.h"
#include "tests/unit/unit.h"

TEST(logline_parse_stream)
{
	uint64_t dev = 0, ino = 0;

	CHECK_INT(logline_parse_stream("8:123456", &dev, &ino), 0);
	CHECK_INT(dev, 8);
	CHECK_INT(ino, 123456);
	CHECK_INT(logline_parse_stream("0:0", &dev, &ino), 0);
	CHECK_INT(logline_parse_stream("", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream(NULL, &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream("8", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream("8:", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream(":5", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream("8:5x", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream("-8:5", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream("8:-5", &dev, &ino), -EINVAL);
	CHECK_INT(logline_parse_stream("99999999999999999999:1", &dev, &ino), -EINVAL);
}

TEST(logline_style_journal_stream)
{
	struct logline_env env = {
	    .journal_stream = "8:4242",
	    .stderr_known = true,
	    .stderr_dev = 8,
	    .stderr_ino = 4242,
	    .stderr_socket = true,
	};

	CHECK_INT(logline_style(&env), LOGLINE_PRIORITY);
	/* Inherited the variable, but stderr was redirected: not the journal. */
	env.stderr_ino = 4243;
	CHECK_INT(logline_style(&env), LOGLINE_TIME);
	/* ... even under systemd: the variable names the journal's stream. */
	env.invocation_id = "0123456789abcdef0123456789abcdef";
	CHECK_INT(logline_style(&env), LOGLINE_TIME);
	/* A malformed variable says nothing; systemd with a socket still does. */
	env.journal_stream = "garbage";
	CHECK_INT(logline_style(&env), LOGLINE_PRIORITY);
	env.stderr_known = false;
	CHECK_INT(logline_style(&env), LOGLINE_TIME);
}

TEST(logline_style_systemd_without_stream)
{
	struct logline_env env = {.stderr_known = true, .stderr_socket = true};

	/* A terminal or a pipe outside systemd: timestamps. */
	CHECK_INT(logline_style(&env), LOGLINE_TIME);
	/* systemd with stderr on a socket (journal, syslog, kmsg). */
	env.invocation_id = "0123456789abcdef0123456789abcdef";
	CHECK_INT(logline_style(&env), LOGLINE_PRIORITY);
	/* systemd with stderr in a file (StandardError=file:...). */
	env.stderr_socket = false;
	CHECK_INT(logline_style(&env), LOGLINE_TIME);
	env.stderr_socket = true;
	env.invocation_id = "";
	CHECK_INT(logline_style(&env), LOGLINE_TIME);
}

TEST(logline_priority)
{
	CHECK_INT(logline_priority(0), 3); /* error */
	CHECK_INT(logline_priority(1), 4); /* warning */
	CHECK_INT(logline_priority(2), 6); /* info */
	CHECK_INT(logline_priority(3), 7); /* debug */
	CHECK_INT(logline_priority(99), 7);
}
