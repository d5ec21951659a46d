/* The node <-> node message format carried in CPG messages (core/wire.c).
 *
 * A message is a header followed by a body of its type. Every integer is
 * little-endian; every struct below is the exact byte layout (no implicit
 * padding: _Static_assert checks the sizes), and every padding or reserved
 * byte must be zero. Decoding checks every length before it is used and
 * accepts exactly one encoding of a message, so decode -> encode gives back
 * the same bytes. A CRC-32C over the message makes any corruption (of a
 * buffer, by a bug) an error rather than a wrong fact: CPG itself is
 * reliable.
 *
 * FACTS body (a node's announcement, struct plex_facts):
 *   struct wire_facts
 *   n_defs        x struct wire_def    (sorted by address, unique)
 *   n_deactivated x struct wire_addr   (sorted, unique, prefix_len 0)
 *   n_held        x struct wire_held   (sorted, unique)
 *   n_known       x struct wire_addr   (sorted, unique, prefix_len 0)
 *   ext_len bytes of extension records (struct wire_ext_record), each padded
 *   to 4 bytes. The extension section is where later facts go (distributed
 *   ports, ready listeners, weights, quiesce, port blocks): a receiver skips
 *   record types it does not know, so adding one needs no version change.
 *
 * CONNS body (a node's TCP connections on a DVIPA that moves): laid out in
 * core/wire_conns.h. */
#ifndef DVIPA_CORE_WIRE_H
#define DVIPA_CORE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/plex.h"

#define WIRE_MAGIC   0x58505644u /* "DVPX" in the first four bytes */
#define WIRE_VERSION 1
/* corosync takes far larger messages; this bounds what a peer can make us
 * allocate. */
#define WIRE_MAX_SIZE (1024u * 1024u)
#define WIRE_EXT_MAX  (64u * 1024u)

/* Append-only. */
enum wire_type {
	WIRE_TYPE_NONE = 0, /* never sent */
	WIRE_FACTS,
	WIRE_CONNS, /* connections on a DVIPA for its new owner (core/wire_conns.h) */
	WIRE_TYPE_MAX
};

/* Extension record types inside a FACTS body. Append-only; 0 is invalid.
 * The distributor's records are laid out in core/wire_dist.h. */
enum wire_ext_type {
	WIRE_EXT_NONE = 0,
	WIRE_EXT_DIST_PORTS,  /* a VIPADISTRIBUTE statement (core/wire_dist.h) */
	WIRE_EXT_LISTENERS,   /* ready listeners of a target DVIPA (core/wire_dist.h) */
	WIRE_EXT_WLM,         /* a node's workload figures, BASEWLM/SERVERWLM (core/wire_wlm.h) */
	WIRE_EXT_QUIESCE,     /* quiesced ports (core/wire_dist.h) */
	WIRE_EXT_PORT_BLOCKS, /* reserved: SYSPLEXPORTS port blocks */
	WIRE_EXT_PLEX_ADDRS,  /* the node's plex address per family (core/wire_dist.h) */
	WIRE_EXT_TYPE_MAX
};

struct wire_header {
	uint32_t magic;
	uint8_t version;
	uint8_t type;      /* enum wire_type */
	uint16_t flags;    /* none defined: must be 0 */
	uint32_t length;   /* of the whole message, header included */
	uint32_t checksum; /* CRC-32C of the whole message with this field zero */
};

struct wire_addr {
	uint8_t family; /* IPADDR_V4 or IPADDR_V6; 0 only for an unset plex address */
	uint8_t prefix_len;
	uint8_t pad[2];
	uint8_t bytes[16]; /* IPv4: bytes 4..15 zero */
};

struct wire_facts {
	uint32_t node_id;
	uint32_t flags; /* PLEX_FACTS_* */
	uint64_t seq;
	struct wire_addr plex_addr;
	uint8_t name_len; /* <= PLEX_NAME_MAX; bytes of name past it are zero */
	uint8_t pad[3];
	char name[PLEX_NAME_MAX];
	uint16_t n_defs;
	uint16_t n_deactivated;
	uint16_t n_held;
	uint16_t pad2;
	uint32_t n_known;
	uint32_t ext_len; /* multiple of 4, <= WIRE_EXT_MAX */
};

struct wire_def {
	struct wire_addr addr;
	uint8_t kind; /* enum config_vipa_kind */
	uint8_t rank;
	uint8_t moveable; /* enum config_moveable */
	uint8_t pad;
};

struct wire_held {
	uint64_t activated;
	uint32_t conns;
	uint8_t state; /* enum plex_held_state */
	uint8_t pad[3];
	struct wire_addr addr;
	uint32_t reserved;
};

struct wire_ext_record {
	uint16_t type;   /* enum wire_ext_type, not 0 */
	uint16_t length; /* of the value that follows; then zero padding to 4 bytes */
};

_Static_assert(sizeof(struct wire_header) == 16, "wire_header layout");
_Static_assert(sizeof(struct wire_addr) == 20, "wire_addr layout");
_Static_assert(sizeof(struct wire_facts) == 120, "wire_facts layout");
_Static_assert(sizeof(struct wire_def) == 24, "wire_def layout");
_Static_assert(sizeof(struct wire_held) == 40, "wire_held layout");
_Static_assert(sizeof(struct wire_ext_record) == 4, "wire_ext_record layout");

/* The largest FACTS message fits with room to spare. */
#define WIRE_FACTS_MAX_SIZE                                                                        \
	(sizeof(struct wire_header) + sizeof(struct wire_facts) +                                  \
	 PLEX_MAX_DVIPAS *                                                                         \
	     (sizeof(struct wire_def) + sizeof(struct wire_addr) + sizeof(struct wire_held)) +     \
	 PLEX_MAX_KNOWN * sizeof(struct wire_addr) + WIRE_EXT_MAX)
_Static_assert(WIRE_FACTS_MAX_SIZE <= WIRE_MAX_SIZE, "largest FACTS message too big");

/* The extension section of a decoded message: points into the decoded buffer. */
struct wire_ext {
	const uint8_t *data;
	size_t len;
};

/* The CRC-32C (Castagnoli) of a message, its checksum field counted as zero;
 * len >= sizeof(struct wire_header). Tests and fuzzers use it to re-seal a
 * message they changed. */
uint32_t wire_checksum(const void *buf, size_t len);

/* Checks the header and checksum and returns the message type. -EBADMSG when malformed or
 * when len is not exactly the header's length, -EPROTONOSUPPORT for another
 * version, -EOPNOTSUPP for a type this version does not know (a receiver may
 * skip those). */
int wire_peek(const void *buf, size_t len, enum wire_type *ret_type);
/* Writes the header of a message of type and len bytes (header included)
 * whose body is already in place after it: magic, version, type, length and
 * the checksum of the whole. Every encoder ends with it. */
void wire_seal(void *buf, size_t len, enum wire_type type);

/* Bytes wire_encode_facts() needs. */
size_t wire_facts_size(const struct plex_facts *f, size_t ext_len);
/* Encodes f (and ext, ext_len bytes of well-formed extension records, may be
 * NULL/0) into buf. Returns 0 and the length in *ret_len; -EINVAL when f or
 * ext is malformed, -EMSGSIZE when buf is too small. */
int wire_encode_facts(const struct plex_facts *f, const void *ext, size_t ext_len, void *buf,
                      size_t size, size_t *ret_len);
/* Decodes a FACTS message. On success fills *ret (the caller clears it with
 * plex_facts_clear()) and, when ret_ext is not NULL, the extension section.
 * Errors as wire_peek(), -EBADMSG for any malformed body, -ENOMEM; *ret is
 * untouched on failure. */
int wire_decode_facts(const void *buf, size_t len, struct plex_facts *ret,
                      struct wire_ext *ret_ext);
/* Checks an extension section (record framing, zero padding). 0 or -EBADMSG. */
int wire_check_ext(const void *ext, size_t len);

#endif
