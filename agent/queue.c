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

/* Bytes of a block of events (one event longer than this gets a block of its own). */
#define QUEUE_CHUNK (64 * 1024)

/* A block of events, freed when the last of them is (see struct queue). */
struct qchunk {
	struct qchunk *next;
	size_t size;		/* bytes for events */
	size_t used;		/* the next event starts here */
	size_t live;		/* events in it not freed yet */
};

/* Events start this far into a block, aligned for struct qevent. */
#define QCHUNK_HDR ((sizeof(struct qchunk) + 15) & ~(size_t)15)

static size_t
qevent_size(size_t src_len, size_t len)
{
	return (sizeof(struct qevent) + src_len + len + 7) & ~(size_t)7;
}

/* One event of q freed: its block goes when it was the block's last. */
static void
qevent_release(struct queue *q, struct qevent *e)
{
	struct qchunk *c = e->chunk, **pp;

	if (--c->live > 0)
		return;
	/* Blocks empty in order, so this is the first, save after a discard. */
	for (pp = &q->chunks; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return;
	*pp = c->next;
	if (q->chunk_tail == c) {
		q->chunk_tail = NULL;
		for (struct qchunk *t = q->chunks; t; t = t->next)
			q->chunk_tail = t;
	}
	free(c);
}

void
queue_fini(struct queue *q)
{
	struct qchunk *c = q->chunks, *n;

	while (c) {
		n = c->next;
		free(c);
		c = n;
	}
	memset(q, 0, sizeof(*q));
}

bool
queue_full(const struct queue *q)
{
	return q->count >= q->max_count || q->bytes >= q->max_bytes;
}

struct qevent *
qevent_new(struct queue *q, uint64_t seq, int64_t time_ms, const char *src, size_t src_len,
    const char *line, size_t len)
{
	struct qchunk *c = q->chunk_tail;
	struct qevent *e;
	size_t need;

	if (src_len > UINT32_MAX || len > UINT32_MAX)
		return NULL;
	need = qevent_size(src_len, len);
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > QUEUE_CHUNK ? need : QUEUE_CHUNK;

		if ((c = malloc(QCHUNK_HDR + size)) == NULL)
			return NULL;
		c->next = NULL;
		c->size = size;
		c->used = 0;
		c->live = 0;
		if (q->chunk_tail)
			q->chunk_tail->next = c;
		else
			q->chunks = c;
		q->chunk_tail = c;
	}
	e = (struct qevent *)((char *)c + QCHUNK_HDR + c->used);
	c->used += need;
	c->live++;
	e->chunk = c;
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
qevent_discard(struct queue *q, struct qevent *e)
{
	struct qchunk *c = e->chunk;
	size_t need = qevent_size(e->src_len, e->len);

	/* The last one made: its room is taken back. */
	if ((char *)e + need == (char *)c + QCHUNK_HDR + c->used)
		c->used -= need;
	qevent_release(q, e);
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
		qevent_release(q, e);
		n++;
	}
	return n;
}

void
queue_rewind(struct queue *q)
{
	q->unsent = q->head;
}
