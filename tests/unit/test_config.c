/* The profile parser (core/config.c): valid profiles checked field by field
 * through a dump of the whole model, wrong ones by their exact error list,
 * both renderings byte for byte, the lookups, and randomised mutations of
 * valid profiles that must never break the parser's invariants. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/lexer.h"
#include "tests/unit/unit.h"

struct dump {
	char s[8192];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void dump_put(struct dump *d, const char *fmt, ...);

static void dump_put(struct dump *d, const char *fmt, ...)
{

	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->s + d->len, sizeof(d->s) - d->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->len += (size_t)n;
	if (d->len >= sizeof(d->s))
		d->len = sizeof(d->s) - 1;
}

/* Every field of the model, one line per entry. */
static const char *dump_config(struct dump *d, const struct config *c)
{
	char a[IPADDR_STRLEN];

	d->len = 0;
	d->s[0] = '\0';
	dump_put(d, "if=%s\n", c->interface);
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct config_vipa *v = &c->vipas[i];

		dump_put(d, "%s %s/%u given=%d rank=%u mov=%s @%u:%u\n",
		         v->kind == CONFIG_VIPADEFINE ? "DEF" : "BAK",
		         ipaddr_format(&v->addr, a, sizeof(a)), v->prefix_len, v->prefix_given,
		         v->rank, config_moveable_name(v->moveable), v->pos.line, v->pos.col);
	}
	for (size_t i = 0; i < c->n_ranges; i++) {
		const struct config_range *r = &c->ranges[i];

		dump_put(d, "RANGE %s/%u disr=%d @%u:%u\n", ipaddr_format(&r->addr, a, sizeof(a)),
		         r->prefix_len, r->disruptive, r->pos.line, r->pos.col);
	}
	for (size_t i = 0; i < c->n_dists; i++) {
		const struct config_dist *t = &c->dists[i];

		dump_put(d, "DIST %s %s sp=%d ta=%u all=%d @%u:%u ports",
		         ipaddr_format(&t->addr, a, sizeof(a)), config_distmethod_name(t->method),
		         t->sysplexports, t->timedaffinity, t->dest_all, t->pos.line, t->pos.col);
		for (size_t j = 0; j < t->n_ports; j++)
			dump_put(d, " %u-%u", t->ports[j].first, t->ports[j].last);
		dump_put(d, "\n");
		for (size_t j = 0; j < t->n_dests; j++) {
			const struct config_dest *x = &t->dests[j];

			dump_put(d, "  DEST %s w=%u pref=%d bak=%u @%u:%u\n",
			         ipaddr_format(&x->addr, a, sizeof(a)), x->weight, x->preferred,
			         x->backup_rank, x->pos.line, x->pos.col);
		}
	}
	if (c->viaroute_all)
		dump_put(d, "VIAROUTE ALL\n");
	for (size_t i = 0; i < c->n_viaroutes; i++) {
		const struct config_viaroute *r = &c->viaroutes[i];

		dump_put(d, "VIAROUTE %s @%u:%u\n", ipaddr_format(&r->addr, a, sizeof(a)),
		         r->pos.line, r->pos.col);
	}
	return d->s;
}

/* "L:C: 'WORD' message" per error, one a line. */
static const char *dump_errors(struct dump *d, const struct config_errors *e)
{
	d->len = 0;
	d->s[0] = '\0';
	for (size_t i = 0; i < e->n; i++)
		dump_put(d, "%u:%u: '%s' %s\n", e->v[i].pos.line, e->v[i].pos.col, e->v[i].word,
		         e->v[i].message);
	return d->s;
}

struct good_case {
	const char *name;
	const char *text;
	const char *model;
};

static const struct good_case good_cases[] = {
    {"target only", "INTERFACE eth0\n", "if=eth0\n"},
    {"empty block", "INTERFACE eth0\nVIPADYNAMIC\nENDVIPADYNAMIC\n", "if=eth0\n"},
    {"defaults",
     "INTERFACE eth0\nVIPADYNAMIC\n"
     "VIPADEFINE 255.255.255.0 10.0.0.10 10.0.0.11\n"
     "VIPABACKUP 10.0.0.20\n"
     "VIPARANGE 255.255.0.0 10.1.0.0\n"
     "VIPADISTRIBUTE 10.0.0.10 PORT 80 DESTIP 192.168.1.1\n"
     "ENDVIPADYNAMIC\n",
     "if=eth0\n"
     "DEF 10.0.0.10/24 given=1 rank=255 mov=IMMEDIATE @3:26\n"
     "DEF 10.0.0.11/24 given=1 rank=255 mov=IMMEDIATE @3:36\n"
     "BAK 10.0.0.20/32 given=0 rank=1 mov=NONE @4:12\n"
     "RANGE 10.1.0.0/16 disr=0 @5:23\n"
     "DIST 10.0.0.10 BASEWLM sp=0 ta=0 all=0 @6:16 ports 80-80\n"
     "  DEST 192.168.1.1 w=10 pref=0 bak=0 @6:41\n"},
    {"every option",
     "INTERFACE bond0.100\nVIPADYNAMIC\n"
     "VIPADEFINE MOVEABLE WHENIDLE 255.255.255.240 10.0.0.1\n"
     "VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.240 10.0.0.2\n"
     "VIPABACKUP 254 MOVEABLE WHENIDLE 255.255.255.0 10.0.1.5\n"
     "VIPABACKUP 7 MOVEABLE IMMEDIATE 10.0.1.6\n"
     "VIPARANGE DEFINE MOVEABLE DISRUPTIVE 255.255.255.0 10.0.9.77\n"
     "VIPADISTRIBUTE DEFINE TIMEDAFFINITY 30 SYSPLEXPORTS DISTMETHOD WEIGHTEDACTIVE\n"
     "  10.0.0.2 PORT 20 21 1000-1999 DESTIP 192.168.1.1 WEIGHT 40 192.168.1.2\n"
     "VIPADISTRIBUTE DISTMETHOD HOTSTANDBY 10.0.1.6 PORT 443 DESTIP\n"
     "  192.168.1.2 BACKUP 9 192.168.1.1 PREFERRED\n"
     "VIPADISTRIBUTE 10.0.0.2 PORT 22 DESTIP ALL\n"
     "ENDVIPADYNAMIC\n",
     "if=bond0.100\n"
     "DEF 10.0.0.1/28 given=1 rank=255 mov=WHENIDLE @3:46\n"
     "DEF 10.0.0.2/28 given=1 rank=255 mov=IMMEDIATE @4:47\n"
     "BAK 10.0.1.5/24 given=1 rank=254 mov=WHENIDLE @5:48\n"
     "BAK 10.0.1.6/32 given=0 rank=7 mov=IMMEDIATE @6:33\n"
     "RANGE 10.0.9.0/24 disr=1 @7:52\n"
     "DIST 10.0.0.2 WEIGHTEDACTIVE sp=1 ta=30 all=0 @9:3 ports 20-20 21-21 1000-1999\n"
     "  DEST 192.168.1.1 w=40 pref=0 bak=0 @9:40\n"
     "  DEST 192.168.1.2 w=10 pref=0 bak=0 @9:62\n"
     "DIST 10.0.1.6 HOTSTANDBY sp=0 ta=0 all=0 @10:38 ports 443-443\n"
     "  DEST 192.168.1.2 w=10 pref=0 bak=9 @11:3\n"
     "  DEST 192.168.1.1 w=10 pref=1 bak=0 @11:24\n"
     /* SYSPLEXPORTS comes from the DVIPA's first VIPADISTRIBUTE. */
     "DIST 10.0.0.2 BASEWLM sp=1 ta=0 all=1 @12:16 ports 22-22\n"},
    {"abbreviations and case",
     "interface eth0\nvipad\n"
     "vipadef move immed 255.255.255.0 10.0.0.10\n"
     "VIPAB 3 MOVE WHENIDLE 255.255.255.0 10.0.1.1\n"
     "vipar 255.255.255.0 10.0.2.0\n"
     "vipar dele move nondisrupt 255.255.255.0 10.0.2.0\n"
     "vipar move disrupt 255.255.255.0 10.0.2.0\n"
     "vipadist distm weighteda timedaff 5 sysplexp 10.0.0.10 port 80 destip all\n"
     "vipadist dele 10.0.0.10 port 80\n"
     "VIPADISTRIBUTE DISTM roundrobin 10.0.0.10 PORT 81 DESTIP all\n"
     "vipadel 10.0.1.1\n"
     "endvipad\n",
     NULL},
    {"ipv6",
     "INTERFACE eth0\nVIPADYNAMIC\n"
     "VIPADEFINE 2001:db8::10/64 2001:db8::12\n"
     "VIPABACKUP 100 2001:db8::11\n"
     "VIPABACKUP 2001:db8::13/80\n"
     "VIPARANGE 2001:db8:1::77/64\n"
     "VIPADISTRIBUTE 2001:db8::10 PORT 80 DESTIP 2001:db8:f::1\n"
     "ENDVIPADYNAMIC\n",
     "if=eth0\n"
     "DEF 2001:db8::10/64 given=1 rank=255 mov=IMMEDIATE @3:12\n"
     "DEF 2001:db8::12/128 given=1 rank=255 mov=IMMEDIATE @3:28\n"
     "BAK 2001:db8::11/128 given=0 rank=100 mov=NONE @4:16\n"
     "BAK 2001:db8::13/80 given=1 rank=1 mov=NONE @5:12\n"
     "RANGE 2001:db8:1::/64 disr=0 @6:11\n"
     "DIST 2001:db8::10 BASEWLM sp=0 ta=0 all=0 @7:16 ports 80-80\n"
     "  DEST 2001:db8:f::1 w=10 pref=0 bak=0 @7:44\n"},
    {"deletes",
     "INTERFACE eth0\nVIPADYNAMIC\n"
     "VIPADEFINE 255.255.255.0 10.0.0.10 10.0.0.11\n"
     "VIPADISTRIBUTE 10.0.0.10 PORT 80 443 DESTIP ALL\n"
     "VIPADISTRIBUTE 10.0.0.11 PORT 80 DESTIP ALL\n"
     "VIPADISTRIBUTE DELETE 10.0.0.10 PORT 80 DESTIP ALL\n"
     "VIPADELETE 10.0.0.11\n"
     "VIPABACKUP 9 10.0.0.11\n"
     "ENDVIPADYNAMIC\n",
     "if=eth0\n"
     "DEF 10.0.0.10/24 given=1 rank=255 mov=IMMEDIATE @3:26\n"
     "BAK 10.0.0.11/32 given=0 rank=9 mov=NONE @8:14\n"
     "DIST 10.0.0.10 BASEWLM sp=0 ta=0 all=1 @4:16 ports 443-443\n"},
    {"comments and layout",
     "; header\r\n# another\r\nINTERFACE\teth0;c\r\nVIPADYNAMIC#c\r\n"
     "VIPADEFINE\r\n  255.255.255.0 ; mask\r\n  10.0.0.10#addr\r\nENDVIPADYNAMIC",
     "if=eth0\n"
     "DEF 10.0.0.10/24 given=1 rank=255 mov=IMMEDIATE @7:3\n"},
    {"a backup mask needs an address after it",
     "INTERFACE eth0\nVIPADYNAMIC\nVIPABACKUP 128.0.0.0 10.0.0.1\n"
     "VIPABACKUP 5 128.0.0.1\nENDVIPADYNAMIC\n",
     "if=eth0\n"
     "BAK 10.0.0.1/1 given=1 rank=1 mov=NONE @3:22\n"
     "BAK 128.0.0.1/32 given=0 rank=5 mov=NONE @4:14\n"},
    {"viaroute all", "INTERFACE eth0\nVIPADYNAMIC\nviparoute define all\nENDVIPADYNAMIC\n",
     "if=eth0\nVIAROUTE ALL\n"},
    {"viaroute ipv4", "INTERFACE eth0\nVIPADYNAMIC\nVIPAROUTE DEFINE 192.168.1.2\nENDVIPADYNAMIC\n",
     "if=eth0\nVIAROUTE 192.168.1.2 @3:18\n"},
    {"viaroute ipv6",
     "INTERFACE eth0\nVIPADYNAMIC\nVIPAROUTE DEFINE 2001:DB8:F::2\nENDVIPADYNAMIC\n",
     "if=eth0\nVIAROUTE 2001:db8:f::2 @3:18\n"},
    /* Two targets, across lines, with the distribution they serve. */
    {"viaroute two targets",
     "INTERFACE eth0\nVIPADYNAMIC\n"
     "VIPADEFINE 255.255.255.0 10.0.0.10\n"
     "VIPAROUTE DEFINE 192.168.1.2 VIPAROUTE\n  DEFINE\n  192.168.1.3\n"
     "VIPADISTRIBUTE 10.0.0.10 PORT 80 DESTIP ALL\n"
     "ENDVIPADYNAMIC\n",
     "if=eth0\n"
     "DEF 10.0.0.10/24 given=1 rank=255 mov=IMMEDIATE @3:26\n"
     "DIST 10.0.0.10 BASEWLM sp=0 ta=0 all=1 @7:16 ports 80-80\n"
     "VIAROUTE 192.168.1.2 @4:18\n"
     "VIAROUTE 192.168.1.3 @6:3\n"},
};

TEST(config_good_profiles)
{
	struct dump d;

	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *g = &good_cases[i];
		struct config *c = NULL;
		struct config_errors e;
		int ret = config_parse(g->text, strlen(g->text), &c, &e);

		if (ret != 0) {
			unit_fail(__FILE__, __LINE__, "%s: %d\n%s", g->name, ret,
			          dump_errors(&d, &e));
			config_errors_clear(&e);
			continue;
		}
		CHECK_INT(e.n, 0);
		if (g->model && strcmp(dump_config(&d, c), g->model) != 0)
			unit_fail(__FILE__, __LINE__, "%s:\ngot:\n%swant:\n%s", g->name, d.s,
			          g->model);
		config_free(c);
	}
}

TEST(config_abbreviations_model)
{
	struct config *c = NULL;
	const struct good_case *g = &good_cases[4];

	CHECK_INT(config_parse(g->text, strlen(g->text), &c, NULL), 0);
	CHECK_STR(c->interface, "eth0");
	CHECK_INT(c->n_vipas, 1);
	CHECK_INT(c->vipas[0].kind, CONFIG_VIPADEFINE);
	CHECK_INT(c->vipas[0].moveable, CONFIG_MOVEABLE_IMMEDIATE);
	CHECK_INT(c->vipas[0].prefix_len, 24);
	CHECK_INT(c->n_ranges, 1);
	CHECK(c->ranges[0].disruptive);
	CHECK_INT(c->n_dists, 1);
	CHECK_INT(c->dists[0].method, CONFIG_DIST_ROUNDROBIN);
	/* The SYSPLEXPORTS distribution was deleted: this one is the first now. */
	CHECK(!c->dists[0].sysplexports);
	CHECK(c->dists[0].dest_all);
	CHECK_INT(c->dists[0].n_ports, 1);
	CHECK_INT(c->dists[0].ports[0].first, 81);
	config_free(c);
}

struct bad_case {
	const char *text;
	const char *errors; /* "L:C: 'WORD' message\n" each */
};

#define PRE  "INTERFACE eth0\nVIPADYNAMIC\n"
#define POST "ENDVIPADYNAMIC\n"

static const struct bad_case bad_cases[] = {
    {"", "1:1: '' no INTERFACE statement: the LAN interface is required\n"},
    {"VIPADYNAMIC\nENDVIPADYNAMIC\n",
     "3:1: '' no INTERFACE statement: the LAN interface is required\n"},
    {"INTERFACE eth0\nVIPADYNAMIC\n",
     "2:1: 'VIPADYNAMIC' the VIPADYNAMIC block has no ENDVIPADYNAMIC\n"},
    {"INTERFACE a234567890123456\n",
     "1:11: 'a234567890123456' not a Linux interface name (1 to 15 printable ASCII "
     "characters, no '/' or ':')\n"},
    /* INTERFACE without its name, then again (found by the mutation test). */
    {"INTERFACE\nINTERFACE eth0\n",
     "1:1: 'INTERFACE' INTERFACE needs the name of the LAN interface\n"
     "2:1: 'INTERFACE' INTERFACE is given twice (first at line 1)\n"},
    {"INTERFACE ..\n", "1:11: '..' not a Linux interface name (1 to 15 printable ASCII "
                       "characters, no '/' or ':')\n"},
    {PRE "VIPADEFINE 255.255.255.0 10.0.0.1 10.0.0.1\n" POST,
     "3:35: '10.0.0.1' already in a VIPADEFINE at line 3 (VIPADELETE it first)\n"},
    {PRE "VIPABACKUP 1 10.0.0.1\nVIPADEFINE 255.0.0.0 10.0.0.1\n" POST,
     "4:22: '10.0.0.1' already in a VIPABACKUP at line 3: a node owns a DVIPA or backs it "
     "up, not both\n"},
    {PRE "VIPABACKUP 0 10.0.0.1\n" POST, "3:12: '0' the VIPABACKUP rank must be 1 to 254\n"},
    {PRE "VIPADEFINE MOVEABLE SOON 255.255.255.0 10.0.0.1\n" POST,
     "3:21: 'SOON' MOVEABLE needs IMMEDIATE or WHENIDLE\n"},
    {PRE "VIPADEFINE MOVEABLE\n" POST, "3:12: 'MOVEABLE' MOVEABLE needs IMMEDIATE or "
                                       "WHENIDLE\n"},
    {PRE "VIPADEFINE 255.255.255.0 10.0.0.255\n" POST,
     "3:26: '10.0.0.255' not a host address: the broadcast address of its prefix /24\n"},
    {PRE "VIPADEFINE MOVEABLE WHENIDLE 2001:db8::1/64\n" POST,
     "3:21: 'WHENIDLE' MOVEABLE WHENIDLE is IPv4 only: an IPv6 DVIPA always moves "
     "immediately\n"},
    {PRE "VIPADEFINE MOVE WHENIDLE 255.255.255.0 10.0.0.1\n"
         "VIPADISTRIBUTE 10.0.0.1 PORT 80 DESTIP ALL\n" POST,
     "4:16: '10.0.0.1' MOVEABLE WHENIDLE at line 3: a distributed DVIPA must be MOVEABLE "
     "IMMEDIATE\n"},
    {PRE "VIPADEFINE 255.255.255.0 10.0.0.1\n"
         "VIPADISTRIBUTE DISTMETHOD HOTSTANDBY 10.0.0.1 PORT 80 DESTIP 192.168.1.1 PREFERRED\n"
         "  192.168.1.2 PREFERRED 192.168.1.3\n" POST,
     "5:15: 'PREFERRED' a second PREFERRED target\n"
     "5:25: '192.168.1.3' with HOTSTANDBY each target needs PREFERRED or BACKUP rank\n"},
    {PRE "VIPADEFINE 255.255.255.0 10.0.0.1\n"
         "VIPADISTRIBUTE 10.0.0.1 PORT 80 DESTIP 192.168.1.1 WEIGHT 2\n" POST,
     "4:52: 'WEIGHT' WEIGHT needs DISTMETHOD WEIGHTEDACTIVE\n"},
    {PRE "VIPADEFINE 255.255.255.0 10.0.0.1\n"
         "VIPADISTRIBUTE SYSPLEXPORTS SYSPLEXPORTS 10.0.0.1 PORT 80 DESTIP ALL\n" POST,
     "4:29: 'SYSPLEXPORTS' SYSPLEXPORTS is given twice\n"},
    {PRE "VIPARANGE 255.255.0.0 10.1.0.0\nVIPARANGE 255.0.0.0 10.0.0.0\n" POST,
     "4:21: '10.0.0.0' overlaps VIPARANGE 10.1.0.0/16 of line 3\n"},
    {PRE "VIPADISTRIBUTE 10.9.9.9 PORT 80 DESTIP ALL\n" POST,
     "3:16: '10.9.9.9' not a DVIPA of this node: VIPADISTRIBUTE needs an earlier VIPADEFINE "
     "or VIPABACKUP of it\n"},
    /* A VIPADISTRIBUTE of an address that is no DVIPA yet is not kept, so a
     * valid one later is still the first (no SYSPLEXPORTS error). */
    {PRE "VIPADISTRIBUTE SYSPLEXPORTS 10.0.0.1 PORT 80 DESTIP ALL\n"
         "VIPADEFINE 255.255.255.0 10.0.0.1\n"
         "VIPADISTRIBUTE SYSPLEXPORTS 10.0.0.1 PORT 80 DESTIP ALL\n" POST,
     "3:29: '10.0.0.1' not a DVIPA of this node: VIPADISTRIBUTE needs an earlier VIPADEFINE "
     "or VIPABACKUP of it\n"},
    {"INTERFACE eth0\nVIPADEFINE 255.255.255.0 10.0.0.1\n",

     "2:1: 'VIPADEFINE' VIPADEFINE belongs inside the VIPADYNAMIC block\n"},
    {"x\001y INTERFACE eth0\n", "1:1: 'x' not a statement: expected INTERFACE, VIPADYNAMIC or "
                                "a VIPA statement\n"
                                "1:2: '\\x01' a control character\n"},
    /* Several errors, in file order, whatever order they were found in. */
    {"VIPADYNAMIC\nVIPABACKUP 999 10.0.0.1\nVIPADEF 1.2.3\n",
     "1:1: 'VIPADYNAMIC' the VIPADYNAMIC block has no ENDVIPADYNAMIC\n"
     "2:12: '999' the VIPABACKUP rank must be 1 to 254\n"
     "3:9: '1.2.3' not a dotted mask\n"
     "4:1: '' no INTERFACE statement: the LAN interface is required\n"},
    /* A keyword shorter than z/OS's abbreviation, or longer than the word. */
    {"VIPA\nINTERFACE eth0\nVIPADEFINES\n",
     "1:1: 'VIPA' not a statement: expected INTERFACE, VIPADYNAMIC or a VIPA statement\n"
     "3:1: 'VIPADEFINES' not a statement keyword\n"},
    /* VIPASMPARMS is still refused. */
    {PRE "VIPASMPARMS SMMCAST 10.0.0.10\n" POST,
     "3:1: 'VIPASMPARMS' a z/OS statement that dvipa does not support\n"},
    /* VIPAROUTE: its words, each error in its statement. */
    {"INTERFACE eth0\nVIPAROUTE DEFINE ALL\nVIPADYNAMIC\nENDVIPADYNAMIC\n",
     "2:1: 'VIPAROUTE' VIPAROUTE belongs inside the VIPADYNAMIC block\n"},
    {PRE "VIPAROUTE\n"
         "VIPAROUTE DELETE 192.168.1.2\n"
         "VIPAROUTE DEL ALL\n"
         "VIPAROUTE ADD 192.168.1.2\n"
         "VIPAROUTE VIPAFOO\n"
         "VIPAROUTE DEFINE\n"
         "VIPAROUTE DEFINE ALL 192.168.1.2\n"
         "VIPAROUTE DEFINE 192.168.1.2 WEIGHT\n"
         "VIPAROUTE DEFINE 10.1.1.1 192.168.1.2\n"
         "VIPAROUTE DEFINE 255.255.255.0 192.168.1.2\n" POST,
     "3:1: 'VIPAROUTE' VIPAROUTE needs DEFINE and ALL or a target's plex address\n"
     "4:11: 'DELETE' dvipa has no VIPAROUTE DELETE: remove the statement and restart "
     "dvipad\n"
     "5:11: 'DEL' VIPAROUTE needs DEFINE before ALL or a target's plex address\n"
     "6:11: 'ADD' VIPAROUTE needs DEFINE before ALL or a target's plex address\n"
     "7:11: 'VIPAFOO' not a statement keyword\n"
     "8:11: 'DEFINE' VIPAROUTE DEFINE needs ALL or a target's plex address\n"
     "9:22: '192.168.1.2' VIPAROUTE DEFINE ALL takes nothing after ALL\n"
     "10:30: 'WEIGHT' VIPAROUTE DEFINE takes one address: the target's plex address\n"
     "11:27: '192.168.1.2' VIPAROUTE DEFINE takes one address, the target's plex address "
     "(not z/OS's dynamic XCF address and target address)\n"
     "12:18: '255.255.255.0' VIPAROUTE takes no mask: write the target's plex address "
     "alone\n"},
    {PRE "VIPAROUTE DEFINE 192.168.1.2/32\n"
         "VIPAROUTE DEFINE 2001:db8::2/64\n"
         "VIPAROUTE DEFINE host2\n"
         "VIPAROUTE DEFINE TIER1\n"
         "VIPAROUTE DEFINE 224.0.0.1\n"
         "VIPAROUTE DEFINE 127.0.0.1\n"
         "VIPAROUTE DEFINE 0.0.0.0\n"
         "VIPAROUTE DEFINE 255.255.255.255\n"
         "VIPAROUTE DEFINE ff02::1\n"
         "VIPAROUTE DEFINE fe80::1\n"
         "VIPAROUTE DEFINE ::\n" POST,
     "3:18: '192.168.1.2/32' the target's plex address is written without /LEN\n"
     "4:18: '2001:db8::2/64' the target's plex address is written without /LEN\n"
     "5:18: 'host2' not ALL or an IP address\n"
     "6:18: 'TIER1' a z/OS option that dvipa does not support\n"
     "7:18: '224.0.0.1' not usable as a target's plex address: a multicast address\n"
     "8:18: '127.0.0.1' not usable as a target's plex address: a loopback address\n"
     "9:18: '0.0.0.0' not usable as a target's plex address: in 0.0.0.0/8 (this network)\n"
     "10:18: '255.255.255.255' not usable as a target's plex address: a reserved or "
     "broadcast address\n"
     "11:18: 'ff02::1' not usable as a target's plex address: a multicast address\n"
     "12:18: 'fe80::1' not usable as a target's plex address: a link-local address\n"
     "13:18: '::' not usable as a target's plex address: the unspecified address\n"},
    {PRE "VIPAROUTE DEFINE 192.168.1.2\n"
         "VIPAROUTE DEFINE 2001:db8::2\n"
         "VIPAROUTE DEFINE 192.168.1.2\n"
         "VIPAROUTE DEFINE 2001:DB8:0::2\n" POST,
     "5:18: '192.168.1.2' already in a VIPAROUTE DEFINE at line 3\n"
     "6:18: '2001:DB8:0::2' already in a VIPAROUTE DEFINE at line 4\n"},
    {PRE "VIPAROUTE DEFINE ALL\n"
         "VIPAROUTE DEFINE ALL\n"
         "VIPAROUTE DEFINE 192.168.1.2\n" POST,
     "4:18: 'ALL' VIPAROUTE DEFINE ALL is given twice (first at line 3)\n"
     "5:18: '192.168.1.2' VIPAROUTE DEFINE ALL at line 3 already covers every target\n"},
    {PRE "VIPAROUTE DEFINE 192.168.1.2\n"
         "VIPAROUTE DEFINE ALL\n" POST,
     "4:18: 'ALL' VIPAROUTE DEFINE ALL already covers every target (a VIPAROUTE DEFINE of "
     "one is at line 3)\n"},

};

TEST(config_bad_profiles)
{
	static struct config sentinel;
	struct dump d;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct config *c = &sentinel; /* must stay untouched */
		struct config_errors e;
		int ret = config_parse(b->text, strlen(b->text), &c, &e);

		if (ret != -EINVAL || c != &sentinel) {

			unit_fail(__FILE__, __LINE__, "case %zu: ret %d", i, ret);
			continue;
		}
		if (strcmp(dump_errors(&d, &e), b->errors) != 0)
			unit_fail(__FILE__, __LINE__, "case %zu:\ngot:\n%swant:\n%s", i, d.s,
			          b->errors);
		config_errors_clear(&e);
		CHECK(e.v == NULL && e.n == 0);
	}
}

TEST(config_errors_are_capped)
{
	char *text = malloc(200 * 32);
	struct config_errors e;
	struct config *c = NULL;
	size_t len = 0;

	CHECK(text);
	len += (size_t)sprintf(text, "INTERFACE eth0\nVIPADYNAMIC\n");
	for (int i = 0; i < 150; i++)
		len += (size_t)sprintf(text + len, "VIPABACKUP 0 10.0.%d.1\n", i);
	/* A control byte after them: the first 100 errors in file order are kept. */
	len += (size_t)sprintf(text + len, "ENDVIPADYNAMIC \001\n");
	CHECK_INT(config_parse(text, len, &c, &e), -EINVAL);

	CHECK_INT(e.n, CONFIG_ERRORS_MAX);
	CHECK_INT(e.v[CONFIG_ERRORS_MAX - 1].pos.line, CONFIG_ERRORS_MAX + 2);
	config_errors_clear(&e);
	/* errs may be NULL. */
	CHECK_INT(config_parse(text, len, &c, NULL), -EINVAL);
	CHECK(c == NULL);
	free(text);
}

TEST(config_error_format)
{
	struct config_error e = {.pos = {4, 12}, .word = "WHENIDLE", .message = "bad"};
	char buf[128];

	CHECK_STR(config_error_format(&e, "dvipa.conf", buf, sizeof(buf)),
	          "dvipa.conf:4:12: bad (near 'WHENIDLE')");
	CHECK_STR(config_error_format(&e, NULL, buf, sizeof(buf)), "4:12: bad (near 'WHENIDLE')");
	e.word[0] = '\0';
	CHECK_STR(config_error_format(&e, "f", buf, sizeof(buf)), "f:4:12: bad");
	CHECK_STR(config_error_format(&e, "f", buf, 5), "f:4:");
	config_errors_clear(NULL);
	config_free(NULL);
}

static const char render_profile[] =
    "INTERFACE eth0\n"
    "VIPADYNAMIC\n"
    "  VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 10.0.0.10\n"
    "  VIPADEFINE 2001:db8::10/64\n"
    "  VIPABACKUP 100 10.0.0.11\n"
    "  VIPABACKUP 5 MOVEABLE WHENIDLE 255.255.255.0 10.0.0.12\n"
    "  VIPARANGE 255.255.255.0 10.0.1.0\n"
    "  VIPARANGE MOVEABLE DISRUPTIVE 255.255.0.0 10.2.0.0\n"
    "  VIPADISTRIBUTE SYSPLEXPORTS DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 21 80 8000-8099"
    "    DESTIP ALL\n"
    "  VIPADISTRIBUTE DISTMETHOD WEIGHTEDACTIVE TIMEDAFFINITY 60 10.0.0.11 PORT 443\n"
    "    DESTIP 192.168.1.1 WEIGHT 30 192.168.1.2\n"
    "  VIPADISTRIBUTE DISTMETHOD HOTSTANDBY 2001:db8::10 PORT 22\n"
    "    DESTIP 2001:db8:f::1 PREFERRED 2001:db8:f::2 BACKUP 50\n"
    "  VIPAROUTE DEFINE 192.168.1.2\n"
    "  VIPAROUTE DEFINE 2001:db8:f::2\n"
    "ENDVIPADYNAMIC\n";

TEST(config_render_text)
{
	struct config *c = NULL;
	char *s;

	CHECK_INT(config_parse(render_profile, strlen(render_profile), &c, NULL), 0);
	s = config_render(c, false);
	CHECK_STR(s, "Dynamic VIPA Configuration:\n"
	             "  Interface: eth0\n"
	             "  VIPA Define:\n"
	             "    IpAddr/PrefixLen: 10.0.0.10/24  Moveable: IMMEDIATE\n"
	             "    IpAddr/PrefixLen: 2001:db8::10/64  Moveable: IMMEDIATE\n"
	             "  VIPA Backup:\n"
	             "    IpAddr/PrefixLen: 10.0.0.11  Rank: 100  Moveable: NONE\n"
	             "    IpAddr/PrefixLen: 10.0.0.12/24  Rank: 005  Moveable: WHENIDLE\n"
	             "  VIPA Range:\n"
	             "    IpAddr/PrefixLen: 10.0.1.0/24  Moveable: NONDISRUPTIVE\n"
	             "    IpAddr/PrefixLen: 10.2.0.0/16  Moveable: DISRUPTIVE\n"
	             "  VIPA Distribute:\n"
	             "    Dest: 10.0.0.10  Port: 21 80 8000-8099\n"
	             "      DistMethod: ROUNDROBIN  SysPt: Yes  TimAff: No\n"
	             "      DestIP: ALL\n"
	             "    Dest: 10.0.0.11  Port: 443\n"
	             "      DistMethod: WEIGHTEDACTIVE  SysPt: No  TimAff: 60\n"
	             "      DestIP: 192.168.1.1  Weight: 30\n"
	             "      DestIP: 192.168.1.2  Weight: 10\n"
	             "    Dest: 2001:db8::10  Port: 22\n"
	             "      DistMethod: HOTSTANDBY  SysPt: No  TimAff: No\n"
	             "      DestIP: 2001:db8:f::1  SrvType: PREFERRED\n"
	             "      DestIP: 2001:db8:f::2  SrvType: BACKUP  Rank: 050\n"
	             "  VIPA Route:\n"
	             "    TargetIp: 192.168.1.2\n"
	             "    TargetIp: 2001:db8:f::2\n");
	free(s);
	config_free(c);
}

TEST(config_render_json)
{
	struct config *c = NULL;
	char *s;

	CHECK_INT(config_parse(render_profile, strlen(render_profile), &c, NULL), 0);
	s = config_render(c, true);
	CHECK_STR(
	    s, "{\"interface\":\"eth0\","
	       "\"vipa_define\":["
	       "{\"addr\":\"10.0.0.10\",\"prefix_len\":24,\"moveable\":\"IMMEDIATE\"},"
	       "{\"addr\":\"2001:db8::10\",\"prefix_len\":64,\"moveable\":\"IMMEDIATE\"}],"
	       "\"vipa_backup\":["
	       "{\"addr\":\"10.0.0.11\",\"prefix_len\":32,\"prefix_given\":false,"
	       "\"rank\":100,\"moveable\":\"NONE\"},"
	       "{\"addr\":\"10.0.0.12\",\"prefix_len\":24,\"prefix_given\":true,"
	       "\"rank\":5,\"moveable\":\"WHENIDLE\"}],"
	       "\"vipa_range\":["
	       "{\"addr\":\"10.0.1.0\",\"prefix_len\":24,\"moveable\":\"NONDISRUPTIVE\"},"
	       "{\"addr\":\"10.2.0.0\",\"prefix_len\":16,\"moveable\":\"DISRUPTIVE\"}],"
	       "\"vipa_distribute\":["
	       "{\"addr\":\"10.0.0.10\",\"ports\":[{\"first\":21,\"last\":21},"
	       "{\"first\":80,\"last\":80},{\"first\":8000,\"last\":8099}],"
	       "\"distmethod\":\"ROUNDROBIN\",\"sysplexports\":true,\"timedaffinity\":0,"
	       "\"destip_all\":true,\"destips\":[]},"
	       "{\"addr\":\"10.0.0.11\",\"ports\":[{\"first\":443,\"last\":443}],"
	       "\"distmethod\":\"WEIGHTEDACTIVE\",\"sysplexports\":false,\"timedaffinity\":60,"
	       "\"destip_all\":false,\"destips\":["
	       "{\"addr\":\"192.168.1.1\",\"weight\":30,\"preferred\":false,\"backup_rank\":0},"
	       "{\"addr\":\"192.168.1.2\",\"weight\":10,\"preferred\":false,\"backup_rank\":0}]},"
	       "{\"addr\":\"2001:db8::10\",\"ports\":[{\"first\":22,\"last\":22}],"
	       "\"distmethod\":\"HOTSTANDBY\",\"sysplexports\":false,\"timedaffinity\":0,"
	       "\"destip_all\":false,\"destips\":["
	       "{\"addr\":\"2001:db8:f::1\",\"weight\":10,\"preferred\":true,\"backup_rank\":0},"
	       "{\"addr\":\"2001:db8:f::2\",\"weight\":10,\"preferred\":false,"
	       "\"backup_rank\":50}]}],"
	       "\"vipa_route_all\":false,"
	       "\"vipa_route\":[{\"addr\":\"192.168.1.2\"},{\"addr\":\"2001:db8:f::2\"}],\"metrics_"
	       "listen\":null}\n");
	free(s);
	config_free(c);
	errno = 0;
	CHECK(config_render(NULL, true) == NULL && errno == EINVAL);
}

TEST(config_render_empty)
{
	struct config *c = NULL;
	const char *text = "INTERFACE e\"q\\\n";
	char *s;

	CHECK_INT(config_parse(text, strlen(text), &c, NULL), 0);
	s = config_render(c, true);
	CHECK_STR(s, "{\"interface\":\"e\\\"q\\\\\",\"vipa_define\":[],\"vipa_backup\":[],"
	             "\"vipa_range\":[],\"vipa_distribute\":[],\"vipa_route_all\":false,"
	             "\"vipa_route\":[],\"metrics_listen\":null}\n");
	free(s);
	s = config_render(c, false);
	CHECK_STR(s, "Dynamic VIPA Configuration:\n  Interface: e\"q\\\n"
	             "  VIPA Define:\n    None\n  VIPA Backup:\n    None\n"
	             "  VIPA Range:\n    None\n  VIPA Distribute:\n    None\n"
	             "  VIPA Route:\n    None\n");
	free(s);
	config_free(c);
}

TEST(config_render_viaroute_all)
{
	const char *text = "INTERFACE eth0\nVIPADYNAMIC\nVIPAROUTE DEFINE ALL\nENDVIPADYNAMIC\n";
	struct config *c = NULL;
	char *s;

	CHECK_INT(config_parse(text, strlen(text), &c, NULL), 0);
	s = config_render(c, true);
	CHECK_STR(s, "{\"interface\":\"eth0\",\"vipa_define\":[],\"vipa_backup\":[],"
	             "\"vipa_range\":[],\"vipa_distribute\":[],\"vipa_route_all\":true,"
	             "\"vipa_route\":[],\"metrics_listen\":null}\n");
	free(s);
	s = config_render(c, false);
	CHECK_STR(s, "Dynamic VIPA Configuration:\n  Interface: eth0\n"
	             "  VIPA Define:\n    None\n  VIPA Backup:\n    None\n"
	             "  VIPA Range:\n    None\n  VIPA Distribute:\n    None\n"
	             "  VIPA Route:\n    TargetIp: ALL\n");
	free(s);
	config_free(c);
}

TEST(config_names)
{
	CHECK_STR(config_distmethod_name(CONFIG_DIST_BASEWLM), "BASEWLM");
	CHECK_STR(config_distmethod_name(CONFIG_DIST_HOTSTANDBY), "HOTSTANDBY");
	CHECK_STR(config_distmethod_name(CONFIG_DIST_MAX), "?");
	CHECK_STR(config_moveable_name(CONFIG_MOVEABLE_UNSET), "NONE");
	CHECK_STR(config_moveable_name(CONFIG_MOVEABLE_WHENIDLE), "WHENIDLE");
	CHECK_STR(config_moveable_name(CONFIG_MOVEABLE_MAX), "?");
}

TEST(config_lookups)
{
	struct config *c = NULL;
	const struct config_dist *d;
	struct ipaddr a;

	CHECK_INT(config_parse(render_profile, strlen(render_profile), &c, NULL), 0);
	ipaddr_parse("10.0.0.11", &a);
	CHECK(config_find_vipa(c, &a) == &c->vipas[2]);
	CHECK(config_find_dist(c, &a, 443) == &c->dists[1]);
	CHECK(config_find_dist(c, &a, 444) == NULL);
	ipaddr_parse("10.0.0.10", &a);
	d = config_find_dist(c, &a, 8050);
	CHECK(d == &c->dists[0]);
	CHECK(config_find_dist(c, &a, 8000) == d && config_find_dist(c, &a, 8099) == d);
	CHECK(config_find_dist(c, &a, 8100) == NULL && config_find_dist(c, &a, 22) == NULL);
	ipaddr_parse("10.0.1.5", &a); /* in a range, not a VIPADEFINE */
	CHECK(config_find_vipa(c, &a) == NULL);
	CHECK(config_find_vipa(NULL, &a) == NULL && config_find_dist(NULL, &a, 1) == NULL);
	config_free(c);
}

TEST(config_viaroute_lookup)
{
	const char *all = "INTERFACE eth0\nVIPADYNAMIC\nVIPAROUTE DEFINE ALL\nENDVIPADYNAMIC\n";
	struct config *c = NULL;
	struct ipaddr a;

	/* Listed targets only; an address of the other family never matches. */
	CHECK_INT(config_parse(render_profile, strlen(render_profile), &c, NULL), 0);
	CHECK(!c->viaroute_all && c->n_viaroutes == 2);
	ipaddr_parse("192.168.1.2", &a);
	CHECK(config_viaroute(c, &a));
	ipaddr_parse("2001:db8:f::2", &a);
	CHECK(config_viaroute(c, &a));
	ipaddr_parse("192.168.1.1", &a);
	CHECK(!config_viaroute(c, &a));
	ipaddr_parse("::ffff:192.168.1.2", &a);
	CHECK(!config_viaroute(c, &a));
	CHECK(!config_viaroute(NULL, &a));
	config_free(c);
	/* ALL: every target. */
	c = NULL;
	CHECK_INT(config_parse(all, strlen(all), &c, NULL), 0);
	CHECK(c->viaroute_all && c->n_viaroutes == 0 && c->viaroutes == NULL);
	CHECK(config_viaroute(c, &a));
	ipaddr_parse("10.9.9.9", &a);
	CHECK(config_viaroute(c, &a));
	config_free(c);
	/* Neither: no target. */
	c = NULL;
	CHECK_INT(config_parse("INTERFACE eth0\n", 15, &c, NULL), 0);
	CHECK(!config_viaroute(c, &a));
	config_free(c);
}

/* A plex has at most two plex addresses for each of 32 nodes: one VIPAROUTE
 * more than CONFIG_VIAROUTE_MAX is an
 * error at that address, and the parse goes on to report later errors. */
TEST(config_viaroute_limit)
{
	char text[4096];
	struct config_errors e;
	struct config *c = NULL;
	size_t len = 0;

	len += (size_t)snprintf(text, sizeof(text), "INTERFACE eth0\nVIPADYNAMIC\n");
	for (int i = 1; i <= CONFIG_VIAROUTE_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "VIPAROUTE DEFINE 192.168.1.%d\n", i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "ENDVIPADYNAMIC\n");
	CHECK_INT(config_parse(text, len, &c, &e), 0);
	CHECK_INT(c->n_viaroutes, CONFIG_VIAROUTE_MAX);
	CHECK_INT(c->viaroutes[CONFIG_VIAROUTE_MAX - 1].pos.line, CONFIG_VIAROUTE_MAX + 2);
	config_free(c);
	len -= strlen("ENDVIPADYNAMIC\n");
	len += (size_t)snprintf(text + len, sizeof(text) - len,
	                        "VIPAROUTE DEFINE 192.168.2.1\nVIPAROUTE DEFINE 192.168.1.1\n"
	                        "ENDVIPADYNAMIC\n");
	c = NULL;
	CHECK_INT(config_parse(text, len, &c, &e), -EINVAL);
	CHECK(c == NULL);
	CHECK_INT(e.n, 2);
	CHECK_INT(e.v[0].pos.line, CONFIG_VIAROUTE_MAX + 3);
	CHECK_STR(e.v[0].message,
	          "more than 64 VIPAROUTE targets (two plex addresses for each of a "
	          "plex's 32 nodes)");
	CHECK_STR(e.v[1].message, "already in a VIPAROUTE DEFINE at line 3");
	config_errors_clear(&e);
}

TEST(config_lexer)
{
	const char text[] = "a  bb;x y\n\tc#d\n\n e\002f";
	struct lexer_tokens t;

	CHECK_INT(lexer_split(text, sizeof(text) - 1, &t), 0);
	CHECK_INT(t.n, 6);
	CHECK(t.v[0].len == 1 && t.v[0].pos.line == 1 && t.v[0].pos.col == 1);
	CHECK(t.v[1].len == 2 && t.v[1].pos.col == 4);
	CHECK(t.v[2].text[0] == 'c' && t.v[2].pos.line == 2 && t.v[2].pos.col == 2);
	CHECK(t.v[3].text[0] == 'e' && t.v[3].pos.line == 4 && t.v[3].pos.col == 2);
	CHECK(t.v[4].kind == LEXER_BAD_CHAR && t.v[4].pos.col == 3);
	CHECK(t.v[5].text[0] == 'f' && t.v[5].pos.col == 4);
	CHECK(t.end.line == 4 && t.end.col == 5);
	CHECK(lexer_match(&t.v[1], "BB", 2) && !lexer_match(&t.v[1], "B", 1));
	CHECK(lexer_match(&t.v[1], "BBC", 2) && !lexer_match(&t.v[1], "BBC", 3));
	CHECK(!lexer_match(&t.v[4], "\002", 1));
	lexer_tokens_free(&t);
	lexer_tokens_free(NULL);
	CHECK_INT(lexer_split(NULL, 0, &t), 0);
	CHECK(t.n == 0 && t.end.line == 1 && t.end.col == 1);
	lexer_tokens_free(&t);
}

/* What any parsed profile must satisfy, whatever it was. */
static void check_invariants(const struct config *c)
{
	for (size_t i = 0; i < c->n_vipas; i++) {
		const struct config_vipa *v = &c->vipas[i];

		CHECK(config_find_vipa(c, &v->addr) == v);
		CHECK(v->prefix_len >= 1 && v->prefix_len <= ipaddr_max_prefix(&v->addr));
		if (v->kind == CONFIG_VIPADEFINE)
			CHECK(v->rank == CONFIG_RANK_OWNER && v->prefix_given &&
			      v->moveable != CONFIG_MOVEABLE_UNSET);
		else
			CHECK(v->rank >= CONFIG_RANK_MIN && v->rank <= CONFIG_RANK_MAX);
	}
	for (size_t i = 0; i < c->n_ranges; i++)
		for (size_t j = 0; j < i; j++)
			CHECK(!ipaddr_prefixes_overlap(&c->ranges[i].addr, c->ranges[i].prefix_len,
			                               &c->ranges[j].addr,
			                               c->ranges[j].prefix_len));
	for (size_t i = 0; i < c->n_dists; i++) {
		const struct config_dist *d = &c->dists[i];
		const struct config_vipa *v = config_find_vipa(c, &d->addr);

		CHECK(v && v->moveable != CONFIG_MOVEABLE_WHENIDLE);
		CHECK(d->n_ports > 0 && (d->dest_all || d->n_dests > 0));
		for (size_t j = 0; j < d->n_ports; j++) {
			CHECK(d->ports[j].first >= 1 && d->ports[j].first <= d->ports[j].last);
			CHECK(config_find_dist(c, &d->addr, d->ports[j].first) == d);
			CHECK(config_find_dist(c, &d->addr, d->ports[j].last) == d);
		}
		for (size_t j = 0; j < d->n_dests; j++) {
			CHECK(d->dests[j].addr.family == d->addr.family);
			CHECK(d->dests[j].weight >= 1 && d->dests[j].weight <= CONFIG_WEIGHT_MAX);
		}
	}
	CHECK(!(c->viaroute_all && c->n_viaroutes));
	CHECK(c->n_viaroutes <= CONFIG_VIAROUTE_MAX);
	for (size_t i = 0; i < c->n_viaroutes; i++) {
		CHECK(config_viaroute(c, &c->viaroutes[i].addr));
		for (size_t j = 0; j < i; j++)
			CHECK(!ipaddr_equal(&c->viaroutes[i].addr, &c->viaroutes[j].addr));
	}
}

/* Random edits of a valid profile (bytes changed, words dropped or
 * repeated): the parser either succeeds with a model that keeps every
 * invariant, or fails with errors that are in file order and name a place
 * in the text. ASan (make unit-san) watches the memory. */
TEST(config_random_mutations)
{
	unsigned long seed = unit_seed();
	int rounds = unit_long_mode() ? 200000 : 3000;
	size_t base_len = strlen(render_profile);
	static char buf[sizeof(render_profile) * 2 + 16];
	static const char alphabet[] = " \n;#-/.:0123456789abfADEFILMNOPRSTVWY\001";

	for (int r = 0; r < rounds; r++) {
		size_t len = base_len;
		struct config *c = NULL;
		struct config_errors e;
		int edits;

		memcpy(buf, render_profile, len);
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		edits = 1 + (int)((seed >> 33) % 4);
		for (int k = 0; k < edits; k++) {
			size_t at, n;

			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			at = (size_t)(seed >> 33) % len;
			switch ((seed >> 20) % 3) {
			case 0:
				buf[at] = alphabet[(seed >> 40) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* drop a few bytes */
				n = 1 + (seed >> 45) % 12;
				if (at + n > len)
					n = len - at;
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
				break;
			default: /* repeat a few bytes */
				n = 1 + (seed >> 45) % 12;
				if (at + n > len)
					n = len - at;
				if (len + n > base_len * 2)
					break;
				memmove(buf + at + n, buf + at, len - at);
				len += n;
				break;
			}
			if (len == 0)
				break;
		}
		if (config_parse(buf, len, &c, &e) == 0) {
			char *t = config_render(c, false), *j = config_render(c, true);

			CHECK(t && j && j[0] == '{');
			free(t);
			free(j);
			check_invariants(c);
			config_free(c);
			continue;
		}
		CHECK(e.n > 0 && e.n <= CONFIG_ERRORS_MAX);
		for (size_t i = 0; i < e.n; i++) {
			CHECK(e.v[i].pos.line >= 1 && e.v[i].pos.col >= 1 && e.v[i].message[0]);
			if (i)
				CHECK(e.v[i - 1].pos.line < e.v[i].pos.line ||
				      (e.v[i - 1].pos.line == e.v[i].pos.line &&
				       e.v[i - 1].pos.col <= e.v[i].pos.col));
		}
		config_errors_clear(&e);
	}
}

/* bench/scale's profile at its largest: 1,024 DVIPAs (CONFIG_VIPA_MAX), a
 * quarter of them distributed; one more DVIPA is refused, naming it. */
static char *config_scale_profile(int n, size_t *ret_len)
{
	char *text = malloc((size_t)n * 160 + 64);
	size_t len = 0;

	if (!text)
		return NULL;
	len += (size_t)sprintf(text, "INTERFACE eth0\nVIPADYNAMIC\n");
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(text + len,
		                       "VIPADEFINE MOVEABLE IMMEDIATE 255.255.0.0 10.1.%d.%d\n",
		                       i / 250, i % 250 + 1);
	for (int i = 0; i < n / 4; i++)
		len += (size_t)sprintf(text + len,
		                       "VIPADISTRIBUTE DEFINE 10.1.%d.%d PORT 8000 DESTIP ALL\n",
		                       i / 250, i % 250 + 1);
	len += (size_t)sprintf(text + len, "ENDVIPADYNAMIC\n");
	*ret_len = len;
	return text;
}

TEST(config_vipa_limit)
{
	struct config_errors e = {0};
	struct config *c = NULL;
	size_t len = 0;
	char *text = config_scale_profile(CONFIG_VIPA_MAX, &len);

	CHECK(text);
	CHECK_INT(config_parse(text, len, &c, &e), 0);
	CHECK(c != NULL);
	CHECK_INT(c->n_vipas, CONFIG_VIPA_MAX);
	CHECK_INT(c->n_dists, CONFIG_VIPA_MAX / 4);
	config_free(c);
	c = NULL;
	free(text);

	text = config_scale_profile(CONFIG_VIPA_MAX + 1, &len);
	CHECK(text);
	CHECK_INT(config_parse(text, len, &c, &e), -EINVAL);
	CHECK(c == NULL);
	CHECK(e.n >= 1);
	/* The 1,025th DVIPA, 10.1.4.25, on line 2 + 1,025. */
	CHECK_STR(e.v[0].word, "10.1.4.25");
	CHECK_INT(e.v[0].pos.line, CONFIG_VIPA_MAX + 3);
	config_errors_clear(&e);
	free(text);
}
