/* A bounded FIFO of messages waiting for corosync's flow control to lift.
 * Pure C (malloc only), unit-tested in one process. */
#ifndef DVIPA_FABRIC_SENDQ_H
#define DVIPA_FABRIC_SENDQ_H

#include <stddef.h>

struct sendq_msg {
	struct sendq_msg *next;
	size_t len;
	unsigned char data[];
};

struct sendq {
	struct sendq_msg *head, *tail;
	size_t n;
	size_t bytes;     /* sum of the queued lengths */
	size_t max_bytes; /* sendq_push() refuses to go past this */
};

void sendq_init(struct sendq *q, size_t max_bytes);
/* Copy data to the tail. Returns 0, -ENOBUFS (would pass max_bytes; nothing
 * queued) or -ENOMEM. */
int sendq_push(struct sendq *q, const void *data, size_t len);
/* The oldest message, or NULL when empty. */
const struct sendq_msg *sendq_peek(const struct sendq *q);
/* Drop the oldest message (no-op when empty). */
void sendq_pop(struct sendq *q);
/* Drop everything; the queue stays usable. */
void sendq_clear(struct sendq *q);

#endif
