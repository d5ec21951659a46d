#include <stdlib.h>
#include <string.h>

#include "core/config_diff.h"
#include "tests/unit/unit.h"

static struct config *parse(const char *text)
{
	struct config *c = NULL;

	if (config_parse(text, strlen(text), &c, NULL) < 0)
		return NULL;
	return c;
}

static char *diff(const char *a, const char *b, int *ret_n)
{
	struct config *x = parse(a), *y = parse(b);
	struct strbuf sb = {0};
	char *s;

	*ret_n = x && y ? config_diff(x, y, &sb) : -1;
	s = strbuf_take(&sb);
	config_free(x);
	config_free(y);
	return s;
}

#define HEAD "INTERFACE eth0\nVIPADYNAMIC\n"
#define TAIL "ENDVIPADYNAMIC\n"

TEST(config_diff_same_meaning_is_empty)
{
	int n;
	char *s = diff(HEAD "VIPADEFINE 255.255.255.0 10.0.0.10 10.0.0.11\n"
	                    "VIPADISTRIBUTE DEFINE 10.0.0.10 PORT 80 443 DESTIP ALL\n" TAIL,
	               "INTERFACE   eth0\n# a comment\nVIPADYNAMIC\n"
	               "VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 10.0.0.11\n"
	               "VIPADEFINE 255.255.255.0 10.0.0.10\n"
	               "VIPADISTRIBUTE DEFINE 10.0.0.10 PORT 443 80 DESTIP ALL\n" TAIL,
	               &n);

	CHECK_INT(n, 0);
	CHECK_STR(s, "");
	free(s);
}

TEST(config_diff_names_what_changes)
{
	int n;
	char *s = diff(HEAD "VIPADEFINE 255.255.255.0 10.0.0.10\n"
	                    "VIPABACKUP 100 10.0.0.20\n"
	                    "VIPADISTRIBUTE DEFINE 10.0.0.10 PORT 80 DESTIP ALL\n" TAIL,
	               HEAD "VIPADEFINE 255.255.255.0 10.0.0.10\n"
	                    "VIPABACKUP 120 10.0.0.20\n"
	                    "VIPADEFINE 255.255.255.0 10.0.0.12\n"
	                    "VIPADISTRIBUTE DEFINE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 80 "
	                    "DESTIP ALL\n" TAIL,
	               &n);

	CHECK_INT(n, 5);
	CHECK_STR(s,
	          "- VIPABACKUP 100 10.0.0.20\n"
	          "+ VIPABACKUP 120 10.0.0.20\n"
	          "+ VIPADEFINE MOVEABLE IMMEDIATE 10.0.0.12/24\n"
	          "- VIPADISTRIBUTE DEFINE DISTMETHOD BASEWLM 10.0.0.10 PORT 80 DESTIP ALL\n"
	          "+ VIPADISTRIBUTE DEFINE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 80 DESTIP ALL\n");
	free(s);
}

TEST(config_diff_interface_and_viaroute)
{
	int n;
	char *s = diff("INTERFACE eth0\n",
	               "INTERFACE eth1\nVIPADYNAMIC\n"
	               "VIPAROUTE DEFINE 192.168.1.2\n" TAIL,
	               &n);

	CHECK_INT(n, 3);
	CHECK_STR(s, "- INTERFACE eth0\n+ INTERFACE eth1\n+ VIPAROUTE DEFINE 192.168.1.2\n");
	free(s);
}
