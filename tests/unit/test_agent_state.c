/* Unit tests of the agent's queue and on-disk state (sequence numbers, positions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"

static void
count_cb(const struct qevent *e, void *arg)
{
	uint64_t *last = arg;
	*last = e->seq;
}

static struct qevent *
ev(uint64_t seq, const char *line)
{
	struct qevent *e = qevent_new(seq, 1000, "/var/log/x", 10, line, strlen(line));
	assert_non_null(e);
	return e;
}

static void
test_queue(void **state)
{
	struct queue q;
	uint64_t last = 0;

	(void)state;
	queue_init(&q, 3, 1 << 20);
	queue_append(&q, ev(10, "a"));
	queue_append(&q, ev(11, "bb"));
	assert_false(queue_full(&q));
	queue_append(&q, ev(12, "ccc"));
	/* Full by count: the caller keeps the next one in the spool only. */
	assert_true(queue_full(&q));
	assert_int_equal(q.count, 3);
	assert_int_equal(q.bytes, 6);
	assert_true(q.head->seq == 10 && q.tail->seq == 12);
	assert_memory_equal(q.head->data, "/var/log/x", 10);
	assert_memory_equal(qevent_line(q.tail), "ccc", 3);
	/* Send two, then acknowledge the first. */
	q.unsent = q.head->next->next;
	assert_int_equal(queue_ack(&q, 10, count_cb, &last), 1);
	assert_true(last == 10);
	assert_int_equal(q.count, 2);
	assert_false(queue_full(&q));
	/* An old or repeated ack changes nothing. */
	assert_int_equal(queue_ack(&q, 9, count_cb, &last), 0);
	/* Reconnect: everything unacknowledged is unsent again. */
	queue_rewind(&q);
	assert_ptr_equal(q.unsent, q.head);
	assert_int_equal(queue_ack(&q, 5000, count_cb, &last), 2);
	assert_null(q.head);
	assert_null(q.tail);
	assert_null(q.unsent);
	assert_int_equal(q.bytes, 0);
	queue_fini(&q);

	/* Full by bytes. */
	queue_init(&q, 100, 4);
	queue_append(&q, ev(1, "abcd"));
	assert_true(queue_full(&q));
	queue_fini(&q);
}

static char dir[] = "/tmp/minisoc-test-state-XXXXXX";

static void
test_state_seq(void **state)
{
	struct agent_state_file *s;
	char err[512];
	uint64_t first1, first2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	first1 = state_first_seq(s);
	assert_true(first1 == 1);
	/* Using numbers inside the reservation writes nothing new ... */
	assert_int_equal(state_reserve(s, first1 + 10), 0);
	/* ... and past it reserves a new block first. */
	assert_int_equal(state_reserve(s, first1 + 5000000), 0);
	state_close(s);
	/* A crash now: the next run starts above everything reserved. */
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	first2 = state_first_seq(s);
	assert_true(first2 > first1 + 5000000);
	state_close(s);
}

static void
test_state_positions(void **state)
{
	struct agent_state_file *s;
	struct state_pos pos[2];
	const struct state_pos *p;
	char err[512], path[600];
	FILE *f;

	(void)state;
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	memset(pos, 0, sizeof(pos));
	snprintf(pos[0].path, sizeof(pos[0].path), "/var/log/auth.log");
	pos[0].dev = 2049;
	pos[0].ino = 123;
	pos[0].offset = 4567;
	snprintf(pos[1].path, sizeof(pos[1].path), "relative dir/with spaces.log");
	pos[1].ino = 9;
	pos[1].offset = 1;
	assert_int_equal(state_save(s, pos, 2), 0);
	state_close(s);
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	p = state_find(s, "/var/log/auth.log");
	assert_non_null(p);
	assert_true(p->dev == 2049 && p->ino == 123 && p->offset == 4567);
	p = state_find(s, "relative dir/with spaces.log");
	assert_non_null(p);
	assert_true(p->offset == 1);
	assert_null(state_find(s, "/nope"));
	state_close(s);

	/* A damaged file is refused with a message, not half-read. */
	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("minisoc-agent-state 1\nseq_reserved 12\ngarbage here\n", f);
	fclose(f);
	assert_null(state_open(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "line 3"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.tmp", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_state_seq),
		cmocka_unit_test(test_state_positions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
