#include <stdlib.h>
#include <string.h>

#include "core/opstate.h"
#include "tests/unit/unit.h"

TEST(opstate_round_trip)
{
	const char *text = "leave\ndeactivate 10.0.0.10\ndeactivate fd00::10\nquiesce all\n"
	                   "quiesce 80\n";
	struct opstate s = {0}, t = {0};
	char *out;

	CHECK_INT(opstate_parse(text, strlen(text), &s, NULL), 0);
	CHECK(s.left);
	CHECK_INT(s.n_deactivated, 2);
	CHECK(s.quiesce_all);
	CHECK_INT(s.n_quiesced, 1);
	CHECK_INT(s.quiesced[0], 80);
	out = opstate_render(&s);
	CHECK(out != NULL);
	CHECK(strstr(out, "\nleave\ndeactivate 10.0.0.10\ndeactivate fd00::10\nquiesce all\n"
	                  "quiesce 80\n") != NULL);
	CHECK_INT(opstate_parse(out, strlen(out), &t, NULL), 0);
	CHECK_INT(t.n_deactivated, 2);
	CHECK(t.left && t.quiesce_all);
	free(out);
	opstate_clear(&s);
	opstate_clear(&t);
	CHECK(opstate_empty(&s));
}

TEST(opstate_bad_lines_are_named_and_skipped)
{
	const char *text = "# comment\n\n  deactivate 10.0.0.300\nquiesce 0\nquiesce 443 # why\n"
	                   "leave now\nfrobnicate\ndeactivate 10.0.0.1 10.0.0.2 x\n"
	                   "deactivate 10.0.0.1\ndeactivate 10.0.0.1";
	struct config_errors errs = {0};
	struct opstate s = {0};
	char line[256];

	CHECK_INT(opstate_parse(text, strlen(text), &s, &errs), 5);
	CHECK(!s.left);
	CHECK_INT(s.n_quiesced, 1);
	CHECK_INT(s.quiesced[0], 443);
	CHECK_INT(s.n_deactivated, 1);
	CHECK_INT(errs.n, 5);
	CHECK_STR(config_error_format(&errs.v[0], "op", line, sizeof(line)),
	          "op:3:14: not an IPv4 or IPv6 address (near '10.0.0.300')");
	CHECK_STR(config_error_format(&errs.v[1], "op", line, sizeof(line)),
	          "op:4:9: not a port (1-65535) or 'all' (near '0')");
	CHECK_INT(errs.v[2].pos.line, 6);
	CHECK_INT(errs.v[3].pos.line, 7);
	CHECK_INT(errs.v[4].pos.line, 8);
	config_errors_clear(&errs);
	opstate_clear(&s);
}
