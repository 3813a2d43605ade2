/*
 * The agent's reading of a collector's numbers (uplink_on_ack, a static of
 * uplink.c, included here). Numbers below next_seq are this life's: after
 * a power cut the spool may have lost records the collector had handled,
 * and its number acknowledges the rest. A number from an earlier life of
 * the agent (state folder wiped) must not swallow new lines: the new life
 * numbers from the clock, above it (state_open), and a number in this
 * life's range that this life never sent is not taken for one either. A
 * collector ahead of every number given out renumbers what is still to go
 * above it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
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

/* An uplink of a in state st whose writes go to a buffer (no socket, no TLS). */
static void
fake_uplink(struct uplink *u, struct agent *a, enum uplink_state st)
{
	memset(u, 0, sizeof(*u));
	u->a = a;
	ms_buf_init(&u->out, MS_PROTO_MAX_FRAME);
	assert_non_null(u->bev = bufferevent_socket_new(a->base, -1, 0));
	u->state = st;
}

static void
fake_uplink_free(struct uplink *u)
{
	bufferevent_free(u->bev);
	ms_buf_fini(&u->out);
}

/* The hello's answer (the collector's handled_seq for this agent), as the read callback gives it. */
static void
hello_answer(struct agent *a, uint64_t handled)
{
	struct uplink u;

	fake_uplink(&u, a, UL_HELLO);
	uplink_on_ack(&u, handled);
	fake_uplink_free(&u);
}

/* Sends everything queued, as a connected uplink does (into a buffer). */
static void
send_queued(struct agent *a)
{
	struct uplink u;

	fake_uplink(&u, a, UL_READY);
	while (a->q.unsent != NULL) {
		struct qevent *before = a->q.unsent;

		uplink_send_batch(&u);
		assert_true(a->q.unsent != before);	/* a batch took something */
	}
	fake_uplink_free(&u);
}

static void
mkdir_in(char *dir, size_t sz, const char *name)
{
	snprintf(dir, sz, "%s/%s", root, name);
	assert_int_equal(mkdir(dir, 0700), 0);
}

/* The spool's segment file (the only one here). */
static void
seg_path(const char *dir, char *out, size_t outsz)
{
	char spool[700];
	struct dirent *de;
	DIR *d;

	snprintf(spool, sizeof(spool), "%s/state/spool", dir);
	out[0] = '\0';
	assert_non_null(d = opendir(spool));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".seg"))
			snprintf(out, outsz, "%s/%s", spool, de->d_name);
	closedir(d);
	assert_true(out[0] != '\0');
}

/*
 * A power cut: ten lines given out and sent (a batch goes once written,
 * before the group commit), the collector handled all ten, and the cut
 * lost the last five records from the spool file. The hello's number is
 * an acknowledgement of this life: the five left are acknowledged, not
 * renumbered and sent again as new lines.
 */
static void
test_power_cut_tail_is_an_ack(void **state)
{
	char dir[600], seg[900];
	struct agent *a;
	uint64_t first, handled;
	struct stat st;

	(void)state;
	mkdir_in(dir, sizeof(dir), "power-cut");
	a = harness_new(dir);
	harness_start(a);
	first = a->next_seq;
	accept_lines(a, 10);
	handled = a->next_seq - 1;
	harness_stop(a);
	seg_path(dir, seg, sizeof(seg));
	assert_int_equal(stat(seg, &st), 0);
	assert_int_equal(truncate(seg, st.st_size / 2), 0);
	a = harness_new(dir);
	harness_start(a);
	assert_int_equal(a->q.count, 5);
	assert_true(a->q.head->seq == first);
	hello_answer(a, handled);
	assert_true(a->seq_shift == 0);
	assert_int_equal(a->q.count, 0);
	harness_stop(a);
}

/*
 * The state folder wiped while lines wait (a reinstall): the collector
 * still has the old life's number. The new life's lines are numbered
 * above it (from the clock, in microseconds), so they are not taken for
 * handled, before or after a restart; nothing is renumbered.
 */
static void
test_wiped_state_keeps_new_lines(void **state)
{
	char dir[600], cmd[700];
	struct agent *a;
	uint64_t old_handled;

	(void)state;
	mkdir_in(dir, sizeof(dir), "wiped");
	a = harness_new(dir);
	harness_start(a);
	accept_lines(a, 10);
	old_handled = a->next_seq - 1;
	send_queued(a);
	hello_answer(a, old_handled);
	assert_int_equal(a->q.count, 0);
	harness_stop(a);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s/state'", dir);
	assert_int_equal(system(cmd), 0);
	/* the reinstall comes once the clock (in microseconds) is past the old numbers */
	for (struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 <= old_handled; )
		nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	a = harness_new(dir);
	harness_start(a);
	accept_lines(a, 3);
	assert_true(a->q.head->seq > old_handled);
	hello_answer(a, old_handled);
	assert_int_equal(a->q.count, 3);
	assert_true(a->seq_shift == 0);
	harness_stop(a);
	a = harness_new(dir);
	harness_start(a);
	assert_int_equal(a->q.count, 3);
	hello_answer(a, old_handled);
	assert_int_equal(a->q.count, 3);
	harness_stop(a);
}

/*
 * A collector ahead of every number this agent has given out (its state
 * folder restored from an old backup, the clock set back): what is still
 * to go is renumbered just above it, and the shift is kept across a
 * restart; the collector's own acknowledgements then ack as usual.
 */
static void
test_collector_ahead_shifts(void **state)
{
	char dir[600];
	struct agent *a;
	uint64_t ahead;

	(void)state;
	mkdir_in(dir, sizeof(dir), "ahead");
	a = harness_new(dir);
	a->conf.batch_max_events = 100;
	harness_start(a);
	accept_lines(a, 10);
	ahead = a->next_seq + 5000000;
	hello_answer(a, ahead);
	assert_int_equal(a->q.count, 10);
	assert_true(a->q.head->seq + a->seq_shift == ahead + 1);
	send_queued(a);
	hello_answer(a, ahead + 5);
	assert_int_equal(a->q.count, 5);
	harness_stop(a);
	a = harness_new(dir);
	harness_start(a);
	assert_int_equal(a->q.count, 5);
	assert_true(a->q.head->seq + a->seq_shift == ahead + 6);
	harness_stop(a);
}

/*
 * The collector holds a number inside this life's range that this life
 * never sent: another life's (one that ran ahead of the clock – quick
 * restarts – before the state folder was wiped, or a restored backup with
 * the clock set back). It is no acknowledgement of this life's lines, which
 * go out renumbered above it; once they are sent, the collector's numbers
 * acknowledge as usual.
 */
static void
test_other_life_in_range(void **state)
{
	char dir[600];
	struct agent *a;
	uint64_t first, other;

	(void)state;
	mkdir_in(dir, sizeof(dir), "other-life");
	a = harness_new(dir);
	a->conf.batch_max_events = 100;
	harness_start(a);
	first = a->next_seq;
	accept_lines(a, 10);
	other = first + 4;	/* below next_seq: taken for an ACK of five lines before */
	hello_answer(a, other);
	assert_int_equal(a->q.count, 10);
	assert_true(a->q.head->seq == first);
	assert_true(a->q.head->seq + a->seq_shift == other + 1);
	send_queued(a);
	hello_answer(a, other + 10);
	assert_int_equal(a->q.count, 0);
	/* New lines, sent: the collector's number for them acknowledges them. */
	accept_lines(a, 4);
	send_queued(a);
	hello_answer(a, a->next_seq - 1 + a->seq_shift);
	assert_int_equal(a->q.count, 0);
	harness_stop(a);
}

/* Lines of fd 2 so far that hold what (ms_log writes there). */
static int
stderr_count(const char *path, const char *what)
{
	char line[1024];
	int n = 0;
	FILE *f;

	fflush(stderr);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/*
 * Renumbered above a collector that is ahead, with nothing sent since
 * (an idle agent): the same answer at the next reconnect is no news – no
 * second renumbering, warning or state write.
 */
static int saved_stderr = -1;	/* fd 2 while a test sends it to a file */

/* Puts fd 2 back however the test ended (cmocka reports failures there). */
static int
stderr_back(void **state)
{
	(void)state;
	ms_log_init("test", MS_LOG_ERR);
	if (saved_stderr < 0)
		return 0;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	return 0;
}

static void
test_ahead_idle_repeats(void **state)
{
	char dir[600], log[700];
	struct agent *a;
	uint64_t ahead, shift;
	int fd;

	(void)state;
	mkdir_in(dir, sizeof(dir), "ahead-idle");
	snprintf(log, sizeof(log), "%s/stderr", dir);
	assert_true((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	fflush(stderr);
	assert_true((saved_stderr = dup(2)) >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
	ms_log_init("test", MS_LOG_WARN);
	a = harness_new(dir);
	harness_start(a);
	accept_lines(a, 10);
	send_queued(a);
	hello_answer(a, a->next_seq - 1);
	assert_int_equal(a->q.count, 0);
	ahead = a->next_seq + 5000000;
	hello_answer(a, ahead);
	shift = a->seq_shift;
	assert_int_equal(stderr_count(log, "event=seq_behind_collector"), 1);
	hello_answer(a, ahead);
	assert_true(a->seq_shift == shift);
	assert_int_equal(stderr_count(log, "event=seq_behind_collector"), 1);
	/* what comes next goes out above it, and is acknowledged as usual */
	accept_lines(a, 2);
	assert_true(a->q.head->seq + a->seq_shift == ahead + 1);
	send_queued(a);
	hello_answer(a, ahead + 2);
	assert_int_equal(a->q.count, 0);
	harness_stop(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_cut_tail_is_an_ack),
		cmocka_unit_test(test_wiped_state_keeps_new_lines),
		cmocka_unit_test(test_collector_ahead_shifts),
		cmocka_unit_test(test_other_life_in_range),
		cmocka_unit_test_teardown(test_ahead_idle_repeats, stderr_back),
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
