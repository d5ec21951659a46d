/* The Prometheus text format (core/prom.c): names, escaping, families. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "core/prom.h"
#include "tests/unit/unit.h"

TEST(prom_names)
{
	CHECK(prom_metric_name_valid("dvipa_takeovers_total"));
	CHECK(prom_metric_name_valid("a:b_c9"));
	CHECK(prom_metric_name_valid("_x"));
	CHECK(!prom_metric_name_valid(""));
	CHECK(!prom_metric_name_valid("9a"));
	CHECK(!prom_metric_name_valid("a-b"));
	CHECK(!prom_metric_name_valid("a b"));
	CHECK(prom_label_name_valid("dvipa"));
	CHECK(!prom_label_name_valid("__name__"));
	CHECK(!prom_label_name_valid("a:b"));
	CHECK(!prom_label_name_valid("1a"));
	CHECK(!prom_label_name_valid(""));
}

TEST(prom_escapes_label_values_and_help)
{
	struct strbuf sb = {0};
	struct prom_label l[] = {{"target", "n\"1\\x\ny"}, {"port", "80"}};
	char long_value[200], *s;

	CHECK_INT(prom_family(&sb, "dvipa_t", PROM_GAUGE, "a \\ back\nslash \"q\""), 0);
	CHECK_INT(prom_sample(&sb, "dvipa_t", l, 2, 7), 0);
	CHECK_INT(prom_sample(&sb, "dvipa_t", NULL, 0, UINT64_MAX), 0);
	s = strbuf_take(&sb);
	CHECK_STR(s, "# HELP dvipa_t a \\\\ back\\nslash \"q\"\n"
	             "# TYPE dvipa_t gauge\n"
	             "dvipa_t{target=\"n\\\"1\\\\x\\ny\",port=\"80\"} 7\n"
	             "dvipa_t 18446744073709551615\n");
	free(s);
	/* Values longer than the copy's run, UTF-8 kept as it is. */
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	long_value[100] = '"';
	prom_escape_label(&sb, long_value);
	prom_escape_label(&sb, "\xc3\xa9");
	s = strbuf_take(&sb);
	CHECK_INT(strlen(s), sizeof(long_value) - 1 + 1 + 2);
	CHECK(s[100] == '\\' && s[101] == '"');
	CHECK_STR(s + strlen(s) - 2, "\xc3\xa9");
	free(s);
}

TEST(prom_refuses_bad_names)
{
	struct strbuf sb = {0};
	struct prom_label bad[] = {{"__x", "1"}}, none[] = {{"x", NULL}};
	char *s;

	CHECK_INT(prom_family(&sb, "bad-name", PROM_COUNTER, "h"), -EINVAL);
	CHECK_INT(prom_sample(&sb, "ok", bad, 1, 1), -EINVAL);
	CHECK_INT(prom_sample(&sb, "ok", none, 1, 1), -EINVAL);
	CHECK_INT(prom_sample(&sb, "1bad", NULL, 0, 1), -EINVAL);
	s = strbuf_take(&sb);
	CHECK_STR(s, "");
	free(s);
}

TEST(prom_doubles)
{
	struct strbuf sb = {0};
	char *s;

	prom_family(&sb, "x_ratio", PROM_GAUGE, "h");
	prom_sample_double(&sb, "x_ratio", NULL, 0, 0.5);
	prom_sample_double(&sb, "x_ratio", NULL, 0, NAN);
	prom_sample_double(&sb, "x_ratio", NULL, 0, -INFINITY);
	prom_sample_double(&sb, "x_ratio", NULL, 0, 1);
	s = strbuf_take(&sb);
	CHECK_STR(s, "# HELP x_ratio h\n# TYPE x_ratio gauge\n"
	             "x_ratio 0.5\nx_ratio NaN\nx_ratio -Inf\nx_ratio 1\n");
	free(s);
}
