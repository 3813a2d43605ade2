/* queue – the agent's in-memory window of events not yet acknowledged. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

void
queue_init(struct queue *q, size_t max_count, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_count = max_count;
	q->max_bytes = max_bytes;
}

void
queue_fini(struct queue *q)
{
	struct qevent *e = q->head, *n;

	while (e) {
		n = e->next;
		free(e);
		e = n;
	}
	memset(q, 0, sizeof(*q));
}

bool
queue_full(const struct queue *q)
{
	return q->count >= q->max_count || q->bytes >= q->max_bytes;
}

struct qevent *
qevent_new(uint64_t seq, int64_t time_ms, const char *src, size_t src_len, const char *line,
    size_t len)
{
	struct qevent *e;

	/* One allocation per event: header, source and line together. */
	if (src_len > UINT32_MAX || len > UINT32_MAX ||
	    (e = malloc(sizeof(*e) + src_len + len)) == NULL)
		return NULL;
	e->next = NULL;
	e->seq = seq;
	e->time_ms = time_ms;
	e->src_len = (uint32_t)src_len;
	e->len = (uint32_t)len;
	memcpy(e->data, src, src_len);
	memcpy(e->data + src_len, line, len);
	return e;
}

void
queue_append(struct queue *q, struct qevent *e)
{
	e->next = NULL;
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	if (q->unsent == NULL)
		q->unsent = e;
	q->count++;
	q->bytes += e->len;
}

size_t
queue_ack(struct queue *q, uint64_t seq, void (*done)(const struct qevent *, void *), void *arg)
{
	size_t n = 0;

	while (q->head && q->head->seq <= seq) {
		struct qevent *e = q->head;

		if (done)
			done(e, arg);
		q->head = e->next;
		if (q->unsent == e)
			q->unsent = e->next;
		if (q->tail == e)
			q->tail = NULL;
		q->count--;
		q->bytes -= e->len;
		free(e);
		n++;
	}
	return n;
}

void
queue_rewind(struct queue *q)
{
	q->unsent = q->head;
}
