/* The CONNS message (core/wire_conns.c): a node's TCP connections on a DVIPA
 * that moves, for the DVIPA's new owner. The rules of core/wire.h hold:
 * little-endian, exact layouts, zero padding and reserved fields, the header
 * and its CRC-32C, one encoding per message.
 *
 * Who sends it:
 *   - a distributed DVIPA moves to a new distributor (takeover after a node
 *     death, a planned move, a takeback): every node with connections on it
 *     tells the new owner which ones, so that it can rebuild its connection
 *     routing table; the old distributor, when alive, sends its whole flow
 *     table for the DVIPA (WIRE_CONNS_HANDOVER: each entry's node is the
 *     flow's target);
 *   - a non-distributed DVIPA moves while the old holder still has
 *     connections: the old holder sends them, so that the new owner forwards
 *     their packets to it, and later an empty message with WIRE_CONNS_DONE
 *     when its last connection on the DVIPA ended.
 * A report larger than one message is split into several, each with its part
 * of the entries (sorted across the messages too); the last one carries
 * WIRE_CONNS_LAST.
 *
 * CONNS body:
 *   struct wire_conns
 *   n x struct wire_conn   (sorted by (client, client_port, port), unique on
 *                           that key; node is not part of it)
 * Every entry's client has the DVIPA's family; every node id is nonzero, and
 * so is every port (a TCP connection never has port 0). */
#ifndef DVIPA_CORE_WIRE_CONNS_H
#define DVIPA_CORE_WIRE_CONNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "core/wire.h"

/* wire_conns.flags */
#define WIRE_CONNS_LAST     0x0001u /* the last message of this report */
#define WIRE_CONNS_HANDOVER 0x0002u /* from the old distributor: its flow table */
#define WIRE_CONNS_DONE     0x0004u /* n is 0: the sender's last connection ended */
#define WIRE_CONNS_FLAGS    (WIRE_CONNS_LAST | WIRE_CONNS_HANDOVER | WIRE_CONNS_DONE)

/* Entries in one message: the largest message stays well under
 * WIRE_MAX_SIZE, and what a peer can make us allocate stays bounded. */
#define WIRE_CONNS_MAX 32768u

struct wire_conns {
	uint32_t sender;        /* node id; must equal the CPG sender (the caller checks) */
	uint32_t to;            /* the node this report is for (the DVIPA's new owner) */
	struct wire_addr dvipa; /* prefix_len 0 */
	uint16_t flags;         /* WIRE_CONNS_* */
	uint16_t pad;
	uint32_t n; /* entries that follow, <= WIRE_CONNS_MAX; 0 with WIRE_CONNS_DONE */
};

struct wire_conn {
	uint8_t client[16]; /* the client's address, the DVIPA's family (IPv4: bytes 4..15 zero) */
	uint16_t client_port;
	uint16_t port; /* the DVIPA's port */
	uint32_t node; /* the node that has the connection's socket (its target) */
};

_Static_assert(sizeof(struct wire_conns) == 36, "wire_conns layout");
_Static_assert(sizeof(struct wire_conn) == 24, "wire_conn layout");
#define WIRE_CONNS_MAX_SIZE                                                                        \
	(sizeof(struct wire_header) + sizeof(struct wire_conns) +                                  \
	 WIRE_CONNS_MAX * sizeof(struct wire_conn))
_Static_assert(WIRE_CONNS_MAX_SIZE <= WIRE_MAX_SIZE, "largest CONNS message too big");

/* One connection. The key is (client, client_port, port). */
struct wire_conn_entry {
	struct ipaddr client;
	uint16_t client_port;
	uint16_t port;
	uint32_t node;
};

/* A decoded or to-be-encoded CONNS message. */
struct wire_conns_msg {
	uint32_t sender;
	uint32_t to;
	struct ipaddr dvipa;
	uint16_t flags; /* WIRE_CONNS_* */
	size_t n;
	struct wire_conn_entry *v; /* n entries; NULL when n is 0 */
};

/* Bytes of a message with n entries. */
size_t wire_conns_size(size_t n);
/* Encodes m into buf. 0 and the length in *ret_len; -EINVAL when m is
 * malformed (a zero sender, to or node, a zero port, an unknown flag,
 * WIRE_CONNS_DONE with entries, more than WIRE_CONNS_MAX entries, a DVIPA
 * that is not IPv4 or IPv6, an entry of another family, entries unsorted or
 * not unique), -EMSGSIZE when buf is too small. */
int wire_encode_conns(const struct wire_conns_msg *m, void *buf, size_t size, size_t *ret_len);
/* Decodes a CONNS message. 0 and *ret (ret->v allocated; the caller clears it
 * with wire_conns_msg_clear()); errors as wire_peek(), -EBADMSG for any
 * malformed body (whatever the encoder refuses, too), -ENOMEM. *ret is
 * untouched on failure. The caller checks that the sender is the CPG sender. */
int wire_decode_conns(const void *buf, size_t len, struct wire_conns_msg *ret);
/* Frees m->v and zeroes *m; accepts NULL. */
void wire_conns_msg_clear(struct wire_conns_msg *m);
/* Sorts v[0..*n) by the key and removes duplicates: of entries with equal
 * keys the first one (in the order given) stays, whatever its node. *n
 * becomes the number left. Allocates nothing: a stable sort in place, linear
 * time on input that is sorted already. Clients of different families are
 * ordered by family first (ipaddr_cmp()), so none is taken for another. */
void wire_conns_sort(struct wire_conn_entry *v, size_t *n);

#endif
