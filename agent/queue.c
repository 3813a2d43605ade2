/* queue – the agent's in-memory list of events not yet acknowledged. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

void
queue_init(struct queue *q, size_t max_count, size_t max_bytes, uint64_t first_seq)
{
	memset(q, 0, sizeof(*q));
	q->max_count = max_count;
	q->max_bytes = max_bytes;
	q->next_seq = first_seq;
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
queue_push(struct queue *q, uint32_t file, uint32_t gen, uint64_t end_off, int64_t time_ms,
    const char *line, size_t len)
{
	struct qevent *e;

	if (queue_full(q))
		return NULL;
	/* One allocation per event: header and line together. */
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return NULL;
	e->next = NULL;
	e->seq = q->next_seq++;
	e->time_ms = time_ms;
	e->file = file;
	e->gen = gen;
	e->end_off = end_off;
	e->len = (uint32_t)len;
	memcpy(e->line, line, len);
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	if (q->unsent == NULL)
		q->unsent = e;
	q->count++;
	q->bytes += len;
	return e;
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

void
queue_renumber(struct queue *q, uint64_t first)
{
	q->next_seq = first;
	for (struct qevent *e = q->head; e; e = e->next)
		e->seq = q->next_seq++;
}
