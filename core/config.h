/* The node profile: its model and its parser (core/config.c).
 *
 * A profile is a z/OS-style statement list (see docs/config.md):
 *   INTERFACE eth0
 *   VIPADYNAMIC
 *     VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 10.0.0.10
 *     VIPABACKUP 100 10.0.0.11
 *     VIPARANGE DEFINE MOVEABLE NONDISRUPTIVE 255.255.255.0 10.0.1.0
 *     VIPADISTRIBUTE DEFINE DISTMETHOD ROUNDROBIN 10.0.0.10 PORT 80 443 DESTIP ALL
 *     VIPAROUTE DEFINE 192.168.1.2
 *   ENDVIPADYNAMIC
 * The parser is pure (no I/O): the caller reads the file. */
#ifndef DVIPA_CORE_CONFIG_H
#define DVIPA_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

#define CONFIG_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */
#define CONFIG_RANK_MIN   1
#define CONFIG_RANK_MAX   254
/* The rank a VIPADEFINE owner has over every VIPABACKUP. */
#define CONFIG_RANK_OWNER        255
#define CONFIG_TIMEDAFFINITY_MAX 99999
#define CONFIG_WEIGHT_DEFAULT    10
#define CONFIG_WEIGHT_MAX        100
/* Limits that keep a profile (and the facts a node announces) bounded. */
#define CONFIG_ERRORS_MAX            100  /* a parse stops after this many errors */
#define CONFIG_VIPA_MAX              1024 /* VIPADEFINE + VIPABACKUP addresses (z/OS's limit) */
#define CONFIG_RANGE_MAX             1024 /* VIPARANGE statements */
#define CONFIG_DISTS_MAX             1024 /* VIPADISTRIBUTE DEFINE statements in effect */
#define CONFIG_PORTS_MAX             64   /* PORT entries of one VIPADISTRIBUTE */
#define CONFIG_DEST_MAX              32 /* DESTIP addresses of one VIPADISTRIBUTE: a plex's size */
#define CONFIG_HOTSTANDBY_BACKUP_MAX 31
/* VIPAROUTE DEFINE targets: two plex addresses (IPv4, IPv6) for each of a
 * plex's 32 nodes. */
#define CONFIG_VIAROUTE_MAX 64

/* Where a statement or word stands in the file, 1-based. */
struct config_pos {
	uint32_t line;
	uint32_t col;
};

enum config_moveable {
	CONFIG_MOVEABLE_UNSET = 0, /* not written; the statement's default applies */
	CONFIG_MOVEABLE_IMMEDIATE,
	CONFIG_MOVEABLE_WHENIDLE,
	CONFIG_MOVEABLE_MAX
};

enum config_vipa_kind { CONFIG_VIPADEFINE = 0, CONFIG_VIPABACKUP, CONFIG_VIPA_KIND_MAX };

/* One address of a VIPADEFINE or VIPABACKUP statement (a statement listing
 * several addresses becomes several entries).
 * moveable: a VIPADEFINE always holds IMMEDIATE or WHENIDLE (its default,
 * IMMEDIATE, is filled in); a VIPABACKUP holds UNSET when MOVEABLE was not
 * written, meaning it only takes the DVIPA over and never activates it first.
 * prefix_given: always true for VIPADEFINE; for VIPABACKUP true when a mask
 * (IPv4) or /len (IPv6) was written, else prefix_len is the host prefix. */
struct config_vipa {
	struct ipaddr addr;
	uint8_t prefix_len;
	bool prefix_given;     /* false: VIPABACKUP without a mask (host prefix used) */
	uint8_t kind;          /* enum config_vipa_kind */
	uint8_t rank;          /* VIPABACKUP 1..254; CONFIG_RANK_OWNER for VIPADEFINE */
	uint8_t moveable;      /* enum config_moveable */
	struct config_pos pos; /* of the address */
};

/* VIPARANGE DEFINE: addresses an application may activate by binding. */
struct config_range {
	struct ipaddr addr; /* network address */
	uint8_t prefix_len;
	bool disruptive; /* MOVEABLE DISRUPTIVE; default NONDISRUPTIVE */
	struct config_pos pos;
};

enum config_distmethod {
	CONFIG_DIST_BASEWLM = 0, /* z/OS's default */
	CONFIG_DIST_ROUNDROBIN,
	CONFIG_DIST_WEIGHTEDACTIVE,
	CONFIG_DIST_SERVERWLM,
	CONFIG_DIST_HOTSTANDBY,
	CONFIG_DIST_MAX
};

struct config_port_range {
	uint16_t first;
	uint16_t last; /* == first for a single port */
};

/* One DESTIP entry: a target node named by its plex address. */
struct config_dest {
	struct ipaddr addr;
	uint32_t weight;     /* WEIGHT w (WEIGHTEDACTIVE), else CONFIG_WEIGHT_DEFAULT */
	bool preferred;      /* HOTSTANDBY PREFERRED */
	uint8_t backup_rank; /* HOTSTANDBY BACKUP rank, 0 when not given */
	struct config_pos pos;
};

/* VIPADISTRIBUTE DEFINE (DELETE statements are applied while parsing).
 * One entry per statement; its PORT entries never overlap another entry's
 * for the same address. */
struct config_dist {
	struct ipaddr addr;     /* the distributed DVIPA */
	bool sysplexports;      /* as given on the DVIPA's first VIPADISTRIBUTE */
	uint8_t method;         /* enum config_distmethod */
	uint32_t timedaffinity; /* seconds, 0 = none */
	size_t n_ports;
	struct config_port_range *ports;
	bool dest_all; /* DESTIP ALL: every plex member is a target */
	size_t n_dests;
	struct config_dest *dests;
	struct config_pos pos;
};

/* VIPAROUTE DEFINE of one target: a distributing node encapsulates the
 * connections it hands to this target even when the target is on its own
 * link, where it would otherwise forward them unchanged to the target's MAC
 * address. */
struct config_viaroute {
	struct ipaddr addr; /* the target's plex address */
	struct config_pos pos;
};

struct config {
	char interface[CONFIG_IFNAME_MAX];
	size_t n_vipas;
	struct config_vipa *vipas;
	size_t n_ranges;
	struct config_range *ranges;
	size_t n_dists;
	struct config_dist *dists;
	bool viaroute_all; /* VIPAROUTE DEFINE ALL: encapsulate to every target */
	size_t n_viaroutes;
	struct config_viaroute *viaroutes; /* never given together with ALL */
	/* METRICS LISTEN ADDR:PORT: the Prometheus endpoint (port 0: none). */
	struct ipaddr metrics_addr;
	uint16_t metrics_port;
	struct config_pos metrics_pos;
};

struct config_error {
	struct config_pos pos;
	char word[64];     /* the offending word as written (may be empty at end of file) */
	char message[192]; /* what is wrong, without position */
};

/* Every error found in one parse, in file order. */
struct config_errors {
	size_t n;
	struct config_error *v;
};

/* Parse a whole profile. On success returns 0 and a config the caller frees
 * with config_free(). On any error returns -EINVAL (or -ENOMEM), leaves
 * *ret_config untouched and fills errs with every error found; the caller
 * clears errs with config_errors_clear(). errs may be NULL. */
int config_parse(const char *text, size_t len, struct config **ret_config,
                 struct config_errors *errs);
void config_free(struct config *c);
void config_errors_clear(struct config_errors *errs);
/* "FILE:LINE:COL: MESSAGE (near 'WORD')" into buf; returns buf. Without a
 * word (end of file) the "(near ...)" part is left out; file NULL leaves out
 * "FILE:". */
char *config_error_format(const struct config_error *e, const char *file, char *buf, size_t size);

/* Lookups used by the daemon and core. NULL when absent. */
const struct config_vipa *config_find_vipa(const struct config *c, const struct ipaddr *a);
const struct config_dist *config_find_dist(const struct config *c, const struct ipaddr *a,
                                           uint16_t port);

/* Whether a distributing node encapsulates the connections it hands to the
 * target with this plex address (VIPAROUTE DEFINE ALL, or of that address).
 * False for a NULL config. */
bool config_viaroute(const struct config *c, const struct ipaddr *target_plex_addr);

/* The keyword spelling: "ROUNDROBIN", "IMMEDIATE"; UNSET is "NONE"; "?" when
 * out of range. */
const char *config_distmethod_name(enum config_distmethod m);
const char *config_moveable_name(enum config_moveable m);

/* The VIPADCFG-style display of `dvipactl show config`: text or JSON, into a
 * malloc'd string the caller frees. NULL and errno on failure. */
char *config_render(const struct config *c, bool json);

#endif
