/* The distributor's records in the extension section of a FACTS message
 * (core/wire_dist.c): a node's distribution facts (struct dist_facts) as
 * wire_ext_record values. The rules of core/wire.h hold: little-endian,
 * exact layouts, zero padding and reserved fields, one encoding per facts.
 *
 * Records, in this order (a receiver skips types it does not know, wherever
 * they are; the known ones must come in this order):
 *   WIRE_EXT_DIST_PORTS   one per VIPADISTRIBUTE statement, sorted by
 *                         (DVIPA, first port):
 *                         struct wire_dist_def, n_ports x struct
 *                         wire_dist_ports, n_dests x struct wire_dist_dest
 *   WIRE_EXT_LISTENERS    one per target DVIPA with ready ports, sorted by
 *                         DVIPA: struct wire_dist_listeners, n_ports x
 *                         struct wire_dist_listener (ports ascending)
 *   WIRE_EXT_QUIESCE      at most one, absent when nothing is quiesced:
 *                         struct wire_dist_quiesce, n_ports x uint16_t
 *                         (ascending; none with WIRE_DIST_QUIESCE_ALL)
 *   WIRE_EXT_PLEX_ADDRS   at most one, absent when neither family is set:
 *                         struct wire_dist_addrs
 *   WIRE_EXT_WLM          at most one, absent when the node reports no
 *                         workload figure: laid out in core/wire_wlm.h
 * Every value is checked against dist_facts_check()'s rules. */
#ifndef DVIPA_CORE_WIRE_DIST_H
#define DVIPA_CORE_WIRE_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/dist.h"
#include "core/wire.h"

/* wire_dist_def.flags */
#define WIRE_DIST_DEST_ALL     0x01u /* DESTIP ALL (n_dests is 0) */
#define WIRE_DIST_SYSPLEXPORTS 0x02u
#define WIRE_DIST_DEF_FLAGS    (WIRE_DIST_DEST_ALL | WIRE_DIST_SYSPLEXPORTS)

/* wire_dist_dest.flags */
#define WIRE_DIST_PREFERRED 0x01u /* HOTSTANDBY PREFERRED */

/* wire_dist_quiesce.flags */
#define WIRE_DIST_QUIESCE_ALL 0x01u

struct wire_dist_addrs {
	struct wire_addr v4; /* family IPADDR_V4, or all zero; prefix_len 0 */
	struct wire_addr v6; /* family IPADDR_V6, or all zero; prefix_len 0 */
};

struct wire_dist_def {
	struct wire_addr dvipa; /* prefix_len 0 */
	uint8_t method;         /* enum config_distmethod */
	uint8_t flags;          /* WIRE_DIST_* */
	uint16_t n_ports;       /* 1 .. CONFIG_PORTS_MAX */
	uint16_t n_dests;       /* 0 with DESTIP ALL, else 1 .. CONFIG_DEST_MAX */
	uint16_t pad;
	uint32_t timedaffinity; /* seconds, 0 = none */
};

struct wire_dist_ports {
	uint16_t first;
	uint16_t last;
};

struct wire_dist_dest {
	struct wire_addr addr; /* prefix_len 0 */
	uint8_t weight;        /* 1 .. CONFIG_WEIGHT_MAX */
	uint8_t flags;         /* WIRE_DIST_PREFERRED */
	uint8_t backup_rank;   /* HOTSTANDBY BACKUP rank, 0 when not a backup */
	uint8_t pad;
};

struct wire_dist_listeners {
	struct wire_addr dvipa; /* prefix_len 0 */
	uint16_t n_ports;       /* 1 .. DIST_MAX_PORTS */
	uint16_t pad;
};

struct wire_dist_listener {
	uint16_t port;
	uint16_t flags; /* none defined: 0 */
	uint32_t ready; /* Rdy, > 0 */
};

struct wire_dist_quiesce {
	uint16_t flags;   /* WIRE_DIST_QUIESCE_ALL */
	uint16_t n_ports; /* 0 with WIRE_DIST_QUIESCE_ALL, else 1 .. DIST_MAX_PORTS */
};

_Static_assert(sizeof(struct wire_dist_addrs) == 40, "wire_dist_addrs layout");
_Static_assert(sizeof(struct wire_dist_def) == 32, "wire_dist_def layout");
_Static_assert(sizeof(struct wire_dist_ports) == 4, "wire_dist_ports layout");
_Static_assert(sizeof(struct wire_dist_dest) == 24, "wire_dist_dest layout");
_Static_assert(sizeof(struct wire_dist_listeners) == 24, "wire_dist_listeners layout");
_Static_assert(sizeof(struct wire_dist_listener) == 8, "wire_dist_listener layout");
_Static_assert(sizeof(struct wire_dist_quiesce) == 4, "wire_dist_quiesce layout");
/* Every record's value fits its 16-bit length. */
_Static_assert(sizeof(struct wire_dist_def) + CONFIG_PORTS_MAX * sizeof(struct wire_dist_ports) +
                       CONFIG_DEST_MAX * sizeof(struct wire_dist_dest) <=
                   UINT16_MAX,
               "largest DIST_PORTS record");
_Static_assert(sizeof(struct wire_dist_listeners) +
                       DIST_MAX_PORTS * sizeof(struct wire_dist_listener) <=
                   UINT16_MAX,
               "largest LISTENERS record");

/* Bytes wire_dist_encode() writes for f. */
size_t wire_dist_size(const struct dist_facts *f);
/* Encodes f as extension records into buf. 0 and the length in *ret_len;
 * -EINVAL when f fails dist_facts_check(), -EMSGSIZE when buf is too small. */
int wire_dist_encode(const struct dist_facts *f, void *buf, size_t size, size_t *ret_len);
/* Decodes the distributor's records of an extension section (already
 * checked by wire_check_ext(), as wire_decode_facts() does), skipping
 * records of other types. 0 and *ret (the caller clears it with
 * dist_facts_clear()); -EBADMSG when a record is malformed or out of order,
 * -ENOMEM. *ret is untouched on failure. */
int wire_dist_decode(const void *ext, size_t len, struct dist_facts *ret);

#endif
