/*
 * The agent's reading of a collector's numbers (uplink_on_ack, a static of
 * uplink.c, included here): a number the collector handled from another
 * life of this agent (state folder lost or restored, the collector kept
 * its handled_seq) must never be taken for an acknowledgement of lines it
 * never had. After a restart next_seq is a whole reserved block ahead of
 * the last number given out, so "above next_seq" is no test of that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* uplink.c's statics; its public functions renamed (the library has them). */
#define uplink_ready t_uplink_ready
#define uplink_kick t_uplink_kick
#define uplink_set_ctx t_uplink_set_ctx
#define uplink_new t_uplink_new
#define uplink_free t_uplink_free
#include "../../agent/uplink.c"
#undef uplink_ready
#undef uplink_kick
#undef uplink_set_ctx
#undef uplink_new
#undef uplink_free

#include "agent_harness.h"

static char root[] = "/tmp/minisoc-test-uplink-XXXXXX";

static void
accept_lines(struct agent *a, int n)
{
	for (int i = 0; i < n; i++) {
		struct spool_rec r;
		char line[64];

		snprintf(line, sizeof(line), "line %d", i);
		memset(&r, 0, sizeof(r));
		r.seq = a->next_seq;
		r.time_ms = 1700000000000LL;
		r.src = "capture";
		r.src_len = 7;
		r.line = line;
		r.line_len = strlen(line);
		assert_true(agent_accept(a, &r));
	}
	assert_int_equal(spool_sync(a->spool), 0);
}

/* The hello's answer (the collector's handled_seq for this agent), as the read callback gives it. */
static void
hello_answer(struct agent *a, uint64_t handled)
{
	struct uplink u;

	memset(&u, 0, sizeof(u));
	u.a = a;
	ms_buf_init(&u.out, MS_PROTO_MAX_FRAME);
	assert_non_null(u.bev = bufferevent_socket_new(a->base, -1, 0));
	u.state = UL_HELLO;
	uplink_on_ack(&u, handled);
	bufferevent_free(u.bev);
	ms_buf_fini(&u.out);
}

static void
mkdir_in(char *dir, size_t sz, const char *name)
{
	snprintf(dir, sz, "%s/%s", root, name);
	assert_int_equal(mkdir(dir, 0700), 0);
}

/*
 * Ten lines read while the collector was away, then a restart: they come
 * back from the spool and next_seq is in the next block. The collector
 * remembers 40,000 from an earlier life: the ten are still to go, numbered
 * above it on the wire. An acknowledgement of our own numbers still acks.
 */
static void
test_other_life_not_an_ack(void **state)
{
	char dir[600];
	struct agent *a;

	(void)state;
	mkdir_in(dir, sizeof(dir), "other-life");
	a = harness_new(dir);
	harness_start(a);
	accept_lines(a, 10);
	harness_stop(a);

	a = harness_new(dir);
	a->conf.batch_max_events = 100;
	harness_start(a);
	assert_int_equal(a->q.count, 10);
	assert_true(a->next_seq > a->q.head->seq + 10);	/* a block ahead */
	hello_answer(a, 40000);
	assert_int_equal(a->q.count, 10);
	assert_true(a->q.head->seq + a->seq_shift == 40001);
	/* the collector acks the first five as sent with the shift */
	hello_answer(a, 40005);
	assert_int_equal(a->q.count, 5);
	harness_stop(a);

	/* the shift was saved: after a restart the rest still goes above 40,005 */
	a = harness_new(dir);
	harness_start(a);
	assert_int_equal(a->q.count, 5);
	assert_true(a->q.head->seq + a->seq_shift == 40006);
	harness_stop(a);
}

/*
 * Everything acknowledged, then a restart: nothing is queued and the next
 * numbers (the new block) are above the collector's old 40,000 already:
 * no shift, nothing dropped; a number above the new block would shift.
 */
static void
test_other_life_below_new_block(void **state)
{
	char dir[600];
	struct agent *a;
	uint64_t next;

	(void)state;
	mkdir_in(dir, sizeof(dir), "below-block");
	a = harness_new(dir);
	harness_start(a);
	accept_lines(a, 10);
	hello_answer(a, a->next_seq - 1);	/* all ten handled */
	assert_int_equal(a->q.count, 0);
	harness_stop(a);

	a = harness_new(dir);
	harness_start(a);
	next = a->next_seq;
	assert_true(next > 40000);
	hello_answer(a, 40000);
	assert_true(a->seq_shift == 0);
	accept_lines(a, 3);
	assert_int_equal(a->q.count, 3);
	assert_true(a->q.head->seq == next);
	/* a collector far ahead: the three go out just above it */
	hello_answer(a, next + 5000000);
	assert_int_equal(a->q.count, 3);
	assert_true(a->q.head->seq + a->seq_shift == next + 5000001);
	harness_stop(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_life_not_an_ack),
		cmocka_unit_test(test_other_life_below_new_block),
	};
	char cmd[100];
	int rc;

	ms_log_init("test", MS_LOG_ERR);
	assert_non_null(mkdtemp(root));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", root);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
