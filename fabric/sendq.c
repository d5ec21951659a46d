/* Messages held back while corosync says CS_ERR_TRY_AGAIN (see sendq.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fabric/sendq.h"

void sendq_init(struct sendq *q, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
}

int sendq_push(struct sendq *q, const void *data, size_t len)
{
	struct sendq_msg *m;

	if (len > q->max_bytes || q->bytes > q->max_bytes - len)
		return -ENOBUFS;
	m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	if (len)
		memcpy(m->data, data, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
	q->bytes += len;
	return 0;
}

const struct sendq_msg *sendq_peek(const struct sendq *q)
{
	return q->head;
}

void sendq_pop(struct sendq *q)
{
	struct sendq_msg *m = q->head;

	if (!m)
		return;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= m->len;
	free(m);
}

void sendq_clear(struct sendq *q)
{
	while (q->head)
		sendq_pop(q);
}
