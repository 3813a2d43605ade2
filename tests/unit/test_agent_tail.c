/*
 * Unit tests of the agent's file following (tail.c) on real files in a
 * temporary folder: globs, fingerprints (inode reuse, copytruncate to a
 * larger size), unfinished lines, over-long lines. No network: the queue is
 * read and acknowledged by the test, and the poll is called directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "agent.h"
#include "agent_harness.h"
#include "ms_proto.h"
#include "ms_util.h"
#include "spool.h"
#include "sync_fault.h"
#include "disk_fault.h"

#define MAX_GOT 512

/* Lines taken from the queue (and acknowledged), with the file they came from. */
struct got {
	size_t n;
	char line[MAX_GOT][128];
	char source[MAX_GOT][256];
	uint32_t len[MAX_GOT];
	bool all_x[MAX_GOT];	/* the line is made of 'x' only */
};

static struct got got;
static char dir[] = "/tmp/minisoc-test-tail-XXXXXX";

/* fsync(2) of a folder failing while dir_sync_fails is set. */
static bool dir_sync_fails;

int __real_fsync(int fd);
int __wrap_fsync(int fd);

int
__wrap_fsync(int fd)
{
	struct stat st;

	if (dir_sync_fails && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

/* spool.sync_ms of the agents start() makes (0: the spool does not sync). */
static int64_t start_sync_ms;

static void
take_cb(const struct qevent *e, void *arg)
{
	struct agent *a = arg;
	size_t i = got.n;

	if (i < MAX_GOT) {
		bool x = e->len > 0;
		for (uint32_t k = 0; k < e->len && x; k++)
			x = qevent_line(e)[k] == 'x';
		ms_copy(got.line[i], sizeof(got.line[i]), qevent_line(e), e->len < 127 ? e->len : 127);
		snprintf(got.source[i], sizeof(got.source[i]), "%.*s", (int)e->src_len, e->data);
		got.len[i] = e->len;
		got.all_x[i] = x;
		got.n++;
	}
	(void)a;
}

/*
 * Acknowledges everything queued, collecting it in got, and commits
 * positions as the agent's timer does.
 */
static void
take_all(struct agent *a)
{
	do {
		queue_ack(&a->q, a->next_seq, take_cb, a);
		agent_acked(a, a->next_seq - 1);
	} while (a->q.count > 0);
	assert_int_equal(agent_commit(a, true), 0);
}

static bool
got_line(const char *line)
{
	for (size_t i = 0; i < got.n; i++)
		if (strcmp(got.line[i], line) == 0)
			return true;
	return false;
}

static size_t
got_count(const char *line)
{
	size_t c = 0;
	for (size_t i = 0; i < got.n; i++)
		c += strcmp(got.line[i], line) == 0;
	return c;
}

static void
path_in(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", dir, name);
}

/* Writes (mode "w") or appends ("a") data to dir/name. */
static void
put(const char *name, const char *mode, const char *data)
{
	char p[512];
	FILE *f;

	path_in(p, sizeof(p), name);
	f = fopen(p, mode);
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	fclose(f);
}

/* An agent without network: files are "name" or "name:beginning". */
static struct agent *
start(int64_t partial_line_ms, const char *const *files, size_t n)
{
	struct agent *a = harness_new(dir);

	a->conf.partial_line_ms = partial_line_ms;
	a->conf.spool_sync_ms = start_sync_ms;
	for (size_t i = 0; i < n; i++) {
		struct agent_file_conf *c = &a->files[i];
		const char *colon = strchr(files[i], ':');
		size_t l = colon ? (size_t)(colon - files[i]) : strlen(files[i]);
		char name[256];

		ms_copy(name, sizeof(name), files[i], l);
		path_in(c->path, sizeof(c->path), name);
		c->from_beginning = colon != NULL;
		c->is_glob = strpbrk(c->path, "*?[") != NULL;
	}
	a->nfiles = n;
	harness_start(a);
	return a;
}

static void
stop(struct agent *a)
{
	harness_stop(a);
}

static void
reset(void)
{
	char cmd[600];

	memset(&got, 0, sizeof(got));
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'/*", dir);
	assert_int_equal(system(cmd), 0);
}

/* Polls until cond() holds or 5 s passed (for what needs time to pass). */
static bool
poll_until(struct agent *a, bool (*cond)(struct agent *))
{
	int64_t deadline = ms_mono_ms() + 5000;

	for (;;) {
		tail_poll(a->tail);
		take_all(a);
		if (cond(a))
			return true;
		if (ms_mono_ms() > deadline)
			return false;
		usleep(5000);
	}
}

/* --- the decision: same file, or a reused inode? ---------------------- */

static void
test_same_file(void **state)
{
	static const char head[] = "Nov 25 16:49:02 web1 sshd[201]: first line\nsecond";
	struct state_pos pos;
	const struct {
		const char *name;
		bool has_fp;
		uint32_t fp_len;	/* of head */
		uint64_t dev, ino;	/* of the file now (saved: 8, 77) */
		const char *now;	/* its head */
		bool same;
	} cases[] = {
		{ "old line, same inode", false, 0, 8, 77, "anything", true },
		{ "old line, other inode", false, 0, 8, 78, head, false },
		{ "old line, other device", false, 0, 9, 77, head, false },
		{ "same head", true, 44, 8, 77, head, true },
		{ "same head, grown since", true, 20, 8, 77, head, true },
		{ "reused inode, other content", true, 44, 8, 77,
		  "Nov 25 17:00:00 web1 cron[9]: other file\nsecond", false },
		{ "reused inode, shorter than the hashed head", true, 44, 8, 77, "Nov 25", false },
		{ "empty when saved", true, 0, 8, 77, "anything", true },
		{ "other inode, same head", true, 44, 8, 79, head, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&pos, 0, sizeof(pos));
		pos.dev = 8;
		pos.ino = 77;
		pos.offset = 10;
		pos.has_fp = cases[i].has_fp;
		pos.fp_len = cases[i].fp_len;
		pos.fp = tail_fingerprint(head, cases[i].fp_len);
		if (tail_same_file(&pos, cases[i].dev, cases[i].ino, cases[i].now,
		    strlen(cases[i].now)) != cases[i].same)
			fail_msg("case \"%s\": expected %s", cases[i].name,
			    cases[i].same ? "same" : "different");
	}
	/* FNV-1a test vectors. */
	assert_true(tail_fingerprint("", 0) == 0xcbf29ce484222325ULL);
	assert_true(tail_fingerprint("a", 1) == 0xaf63dc4c8601ec8cULL);
}

/* --- the state file: fingerprints, and lines written before them ------ */

static void
test_state_fp_compat(void **state)
{
	struct agent_state_file *s;
	const struct state_pos *p;
	struct state_pos pos[1];
	char err[512], path[600];
	FILE *f;

	(void)state;
	reset();
	path_in(path, sizeof(path), "state");
	assert_int_equal(mkdir(path, 0700), 0);
	path_in(path, sizeof(path), "state/state");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("minisoc-agent-state 1\nseq_reserved 12\n"
	    "pos 1 2 3 /var/log/old format.log\n"
	    "pos 4 5 6 fp:00000000000000ff:17 /var/log/new.log\n"
	    "pos 7 8 9 fp:zz /var/log/odd\n", f);
	fclose(f);
	path_in(path, sizeof(path), "state");
	s = state_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(state_count(s), 3);
	p = state_find(s, "/var/log/old format.log");
	assert_non_null(p);
	assert_true(p->dev == 1 && p->ino == 2 && p->offset == 3 && !p->has_fp);
	p = state_find(s, "/var/log/new.log");
	assert_non_null(p);
	assert_true(p->has_fp && p->fp == 0xff && p->fp_len == 17 && p->offset == 6);
	/* Not a fingerprint: part of the path. */
	assert_non_null(state_find(s, "fp:zz /var/log/odd"));
	/* Written back with fingerprints, read the same. */
	memset(pos, 0, sizeof(pos));
	snprintf(pos[0].path, sizeof(pos[0].path), "/a b");
	pos[0].has_fp = true;
	pos[0].fp = 0xfedcba9876543210ULL;
	pos[0].fp_len = 1024;
	pos[0].offset = 5;
	assert_int_equal(state_save(s, pos, 1), 0);
	state_close(s);
	s = state_open(path, err, sizeof(err));
	assert_non_null(s);
	p = state_find(s, "/a b");
	assert_non_null(p);
	assert_true(p->has_fp && p->fp == 0xfedcba9876543210ULL && p->fp_len == 1024);
	state_close(s);
}

/* --- a 200 KiB line ---------------------------------------------------- */

static void
test_long_line(void **state)
{
	const char *files[] = { "big.log:beginning" };
	size_t big = 200 * 1024;
	char *line = malloc(big + 1);
	struct agent *a;

	(void)state;
	reset();
	assert_non_null(line);
	memset(line, 'x', big);
	line[big] = '\0';
	put("big.log", "w", "before\n");
	put("big.log", "a", line);
	put("big.log", "a", "\nafter\n");
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.line[0], "before");
	assert_int_equal(got.len[1], MS_PROTO_MAX_LINE);
	assert_true(got.all_x[1]);
	assert_string_equal(got.line[2], "after");
	assert_int_equal(a->stats.lines_truncated, 1);
	/* The same line arriving in pieces, the newline last. */
	memset(&got, 0, sizeof(got));
	line[100 * 1024] = '\0';
	put("big.log", "a", line);
	tail_poll(a->tail);
	put("big.log", "a", line);
	tail_poll(a->tail);
	put("big.log", "a", "\nnext\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.len[0], MS_PROTO_MAX_LINE);
	assert_true(got.all_x[0]);
	assert_string_equal(got.line[1], "next");
	assert_int_equal(a->stats.lines_truncated, 2);
	assert_int_equal(a->stats.lines_unterminated, 0);
	stop(a);
	free(line);
}

/*
 * A line longer than tail's buffer (300 KiB) as the file's last line: its
 * head goes once, and once its newline is read the saved position is past
 * it – a restart sends nothing again. Its head's record ends at the
 * line's start (tail_read_file), which alone kept the position there: the
 * head went again after every restart, a clean stop too. With pieces,
 * the newline arrives after the head went (the read that finds it takes
 * no line). With crash, the agent is freed without its stop's commit
 * (what a SIGKILL leaves): the commit that followed the newline's read
 * saved the position.
 */
static void
long_last_line(bool pieces, bool crash)
{
	const char *files[] = { "big.log:beginning" };
	size_t big = 300 * 1024;
	char *line = malloc(big + 1);
	struct agent *a;
	char p[512];
	struct stat st;

	reset();
	assert_non_null(line);
	memset(line, 'x', big);
	line[big] = '\0';
	put("big.log", "w", "before\n");
	put("big.log", "a", line);
	if (!pieces)
		put("big.log", "a", "\n");
	a = start(5000, files, 1);
	take_all(a);
	if (pieces) {
		put("big.log", "a", "\n");
		tail_poll(a->tail);
		take_all(a);
	}
	assert_int_equal(got.n, 2);
	assert_string_equal(got.line[0], "before");
	assert_int_equal(got.len[1], MS_PROTO_MAX_LINE);
	assert_true(got.all_x[1]);
	assert_int_equal(a->stats.lines_truncated, 1);
	if (crash)
		harness_crash(a);
	else
		stop(a);
	/* Nothing new: nothing sent, the state at the file's end. */
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	tail_poll(a->tail);
	take_all(a);
	if (got.n != 0)
		fail_msg("%zu lines sent again after the restart (the first %u bytes long)", got.n,
		    got.len[0]);
	path_in(p, sizeof(p), "big.log");
	assert_int_equal(stat(p, &st), 0);
	assert_non_null(state_find(a->state, p));
	assert_true(state_find(a->state, p)->offset == (uint64_t)st.st_size);
	/* And the next line is read. */
	put("big.log", "a", "after\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "after");
	stop(a);
	free(line);
}

static void
test_long_last_line(void **state)
{
	(void)state;
	long_last_line(false, false);
}

static void
test_long_last_line_pieces(void **state)
{
	(void)state;
	long_last_line(true, false);
}

static void
test_long_last_line_crash(void **state)
{
	(void)state;
	long_last_line(false, true);
}

static void
test_long_last_line_pieces_crash(void **state)
{
	(void)state;
	long_last_line(true, true);
}

static bool
three_lines(struct agent *a)
{
	(void)a;
	return got.n >= 3;
}

/*
 * Reading a log does not change its access time (O_NOATIME; the test runs
 * as the file's owner): under relatime the first read after each write
 * would set it, one inode update per batch on a busy log, and an
 * investigator may rely on it.
 */
static void
test_noatime(void **state)
{
	const char *files[] = { "at.log:beginning" };
	struct timespec ts[2];
	struct stat st;
	char p[512];
	struct agent *a;

	(void)state;
	reset();
	put("at.log", "w", "one\ntwo\n");
	path_in(p, sizeof(p), "at.log");
	/* Access an hour before the change: relatime would update it at the next read. */
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[1]), 0);
	ts[0] = ts[1];
	ts[0].tv_sec -= 3600;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	a = start(5000, files, 1);
	take_all(a);
	assert_true(got_line("one") && got_line("two"));
	put("at.log", "a", "three\n");
	assert_true(poll_until(a, three_lines));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_atim.tv_sec, ts[0].tv_sec);
	assert_int_equal(st.st_atim.tv_nsec, ts[0].tv_nsec);
	stop(a);
}

/* --- lines still being written ---------------------------------------- */

static bool
two_lines(struct agent *a)
{
	(void)a;
	return got.n >= 2;
}

static void
test_partial_line(void **state)
{
	const char *files[] = { "p.log:beginning" };
	struct agent *a;

	(void)state;
	reset();
	/* A long timeout: the unfinished line is held, then completed. */
	put("p.log", "w", "one\ntw");
	a = start(3600000, files, 1);
	take_all(a);
	tail_poll(a->tail);
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 1);
	put("p.log", "a", "o\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.line[1], "two");
	stop(a);

	/* A short one: shipped once the file stopped growing, counted once. */
	memset(&got, 0, sizeof(got));
	reset();
	put("p.log", "w", "one\nunfinished");
	a = start(30, files, 1);
	take_all(a);
	assert_true(poll_until(a, two_lines));
	assert_string_equal(got.line[1], "unfinished");
	assert_int_equal(a->stats.lines_unterminated, 1);
	tail_poll(a->tail);
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 2);
	assert_int_equal(a->stats.lines_unterminated, 1);
	/* What the writer adds later is a line of its own; nothing is lost. */
	put("p.log", "a", " at last\nthree\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 4);
	assert_string_equal(got.line[2], " at last");
	assert_string_equal(got.line[3], "three");
	stop(a);
}

/* --- copytruncate, then written past the old size before the poll ------ */

static void
test_copytruncate_larger(void **state)
{
	const char *files[] = { "c.log:beginning" };
	struct agent *a;
	char p[512];
	struct stat st1, st2;

	(void)state;
	reset();
	put("c.log", "w", "old 1\nold 2\n");
	path_in(p, sizeof(p), "c.log");
	assert_int_equal(stat(p, &st1), 0);
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 2);
	/* Truncated and rewritten larger in place (same inode) between two polls. */
	put("c.log", "w", "new 1 longer\nnew 2 longer\nnew 3\n");
	assert_int_equal(stat(p, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(a->stats.truncations, 1);
	assert_int_equal(got.n, 5);
	assert_string_equal(got.line[2], "new 1 longer");
	assert_string_equal(got.line[3], "new 2 longer");
	assert_string_equal(got.line[4], "new 3");
	/* Appending is not a rewrite. */
	put("c.log", "a", "new 4\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(a->stats.truncations, 1);
	assert_int_equal(got.n, 6);
	stop(a);
}

/* --- restart: the saved inode holds other content ---------------------- */

static void
test_restart_other_content(void **state)
{
	const char *files[] = { "r.log" };
	struct agent *a;
	char statefile[600];
	FILE *f;

	(void)state;
	reset();
	put("r.log", "w", "a 1\na 2\n");
	a = start(5000, files, 1);
	put("r.log", "a", "a 3\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 1);
	stop(a);

	/* Same inode, same size or more, other content: as if the inode was reused. */
	put("r.log", "w", "b 1 is here\nb 2 is here\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.line[0], "b 1 is here");
	assert_string_equal(got.line[1], "b 2 is here");
	stop(a);

	/* Unchanged file: resumed where it was. */
	put("r.log", "a", "b 3\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "b 3");
	stop(a);

	/* A state file from before fingerprints: device and inode decide (resumed). */
	path_in(statefile, sizeof(statefile), "state/state");
	{
		char p[512];
		struct stat st;
		path_in(p, sizeof(p), "r.log");
		assert_int_equal(stat(p, &st), 0);
		f = fopen(statefile, "w");
		assert_non_null(f);
		fprintf(f, "minisoc-agent-state 1\nseq_reserved 5000000\npos %llu %llu %lld %s\n",
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		    (long long)st.st_size, p);
		fclose(f);
		/* Agents of that time had no spool either. */
		snprintf(p, sizeof(p), "rm -rf -- '%s/state/spool'", dir);
		assert_int_equal(system(p), 0);
	}
	put("r.log", "a", "b 4\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "b 4");
	stop(a);
}

/* --- rotation with a late writer ---------------------------------------- */

/*
 * logrotate's create with a postrotate reload: the daemon appends to the
 * renamed file until it reopens its log. Those lines are read too, then
 * the renamed file is let go once it stopped growing.
 */
static void
test_rotate_drain(void **state)
{
	const char *files[] = { "d.log:" };
	struct agent *a;
	char oldp[512], newp[512];

	(void)state;
	reset();
	put("d.log", "w", "one\n");
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 150;
	take_all(a);
	assert_int_equal(got.n, 1);
	path_in(oldp, sizeof(oldp), "d.log");
	path_in(newp, sizeof(newp), "d.log.1");
	assert_int_equal(rename(oldp, newp), 0);
	put("d.log", "w", "new 1\n");
	tail_poll(a->tail);
	take_all(a);
	/* The daemon has not reopened yet: it still writes to the renamed file. */
	put("d.log.1", "a", "late 1\nlate 2\n");
	tail_poll(a->tail);
	take_all(a);
	put("d.log", "a", "new 2\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 5);
	assert_int_equal(got_count("late 1"), 1);
	assert_int_equal(got_count("late 2"), 1);
	assert_int_equal(got_count("new 2"), 1);
	assert_string_equal(got.source[1], oldp);	/* the followed path, whichever file */
	/* Quiet for rotate_wait_ms: the renamed file is let go, the table shrinks back. */
	usleep(200 * 1000);
	tail_poll(a->tail);
	take_all(a);
	tail_poll(a->tail);
	assert_int_equal(tail_count(a->tail), 1);
	put("d.log.1", "a", "too late\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got_count("too late"), 0);
	stop(a);
}

/* One file followed: a finished one was let go. */
static bool
dropped_one(struct agent *a)
{
	return tail_count(a->tail) == 1;
}

/*
 * d.log holding "one", followed from its start and read, then renamed to
 * d.log.1 – read on for a minute, as its daemon may append – and a new
 * d.log holding first (not yet read).
 */
static struct agent *
start_rotated(const char *first)
{
	const char *files[] = { "d.log:" };
	char oldp[512], newp[512];
	struct agent *a;

	reset();
	put("d.log", "w", "one\n");
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 60000;
	take_all(a);
	path_in(oldp, sizeof(oldp), "d.log");
	path_in(newp, sizeof(newp), "d.log.1");
	assert_int_equal(rename(oldp, newp), 0);
	put("d.log", "w", first);
	return a;
}

/*
 * Stopped (or killed after a commit) while a rotated file is still read:
 * at restart the rotated file is found by inode and read on from its
 * saved position, so what its daemon appended meanwhile is not lost, and
 * the new file goes on where it was. With a pattern that also matches the
 * rotated name, the rotated file is not taken for a new match (read from
 * its end, or from 0) either.
 */
static void
test_rotate_drain_restart(void **state)
{
	const char *files[] = { "d.log:" }, *others[] = { "e.log:" }, *globs[] = { "g/*.log" };
	struct agent *a;
	char oldp[512], newp[512];

	(void)state;
	a = start_rotated("new 1\n");	/* still draining at the stop */
	path_in(oldp, sizeof(oldp), "d.log");
	path_in(newp, sizeof(newp), "d.log.1");
	tail_poll(a->tail);
	take_all(a);
	put("d.log.1", "a", "late 1\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 3);
	assert_int_equal(tail_count(a->tail), 2);
	stop(a);

	/* Meanwhile the daemon still appends to the rotated file. */
	put("d.log.1", "a", "late 2\n");
	put("d.log", "a", "new 2\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 150;
	take_all(a);
	assert_int_equal(got_count("late 2"), 1);
	assert_int_equal(got_count("new 2"), 1);
	assert_int_equal(got.n, 2);
	assert_int_equal(tail_count(a->tail), 2);
	for (size_t i = 0; i < got.n; i++)
		assert_string_equal(got.source[i], oldp);	/* the followed path */
	/* Quiet: let go, and no longer saved. */
	assert_true(poll_until(a, dropped_one));
	stop(a);
	put("d.log.1", "a", "too late\n");
	put("d.log", "a", "new 3\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "new 3");
	assert_int_equal(tail_count(a->tail), 1);

	/* A rotated file removed while the agent was stopped: nothing to read, no harm. */
	a->conf.rotate_wait_ms = 60000;
	assert_int_equal(rename(oldp, newp), 0);
	put("d.log", "w", "new 4\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(tail_count(a->tail), 2);
	stop(a);
	assert_int_equal(unlink(newp), 0);
	put("d.log", "a", "new 5\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "new 5");
	assert_int_equal(tail_count(a->tail), 1);
	stop(a);

	/* A path taken out of the configuration: its rotated file is not read on either. */
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 60000;
	put("d.log", "a", "new 6\n");
	assert_int_equal(rename(oldp, newp), 0);
	put("d.log", "w", "new 7\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(tail_count(a->tail), 2);
	stop(a);
	put("d.log.1", "a", "late 3\n");
	put("e.log", "w", "e 1\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, others, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "e 1");
	assert_int_equal(tail_count(a->tail), 1);
	stop(a);

	/* A pattern matching the rotated name too (start: end for files new at start). */
	reset();
	path_in(oldp, sizeof(oldp), "g");
	assert_int_equal(mkdir(oldp, 0700), 0);
	put("g/a.log", "w", "a 0\n");
	a = start(5000, globs, 1);
	a->conf.rotate_wait_ms = 60000;
	put("g/a.log", "a", "a 1\n");
	tail_poll(a->tail);
	take_all(a);
	path_in(oldp, sizeof(oldp), "g/a.log");
	path_in(newp, sizeof(newp), "g/a.1.log");
	assert_int_equal(rename(oldp, newp), 0);
	put("g/a.log", "w", "a new 1\n");
	tail_poll(a->tail);
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 2);
	stop(a);
	put("g/a.1.log", "a", "a late\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, globs, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "a late");
	assert_string_equal(got.source[0], oldp);	/* read on as a.log's, not as a new match */
	assert_int_equal(tail_count(a->tail), 2);
	stop(a);
}

/* A few polls, each followed by taking and acknowledging what was read. */
static void
settle(struct agent *a)
{
	for (int i = 0; i < 5; i++) {
		tail_poll(a->tail);
		take_all(a);
	}
}

/*
 * Killed twice while a rotated file is read, each time with lines read from
 * it but not committed: each line arrives once (the spool's records and
 * the file's end noted in them carry on where the saved position lags).
 */
static void
test_rotate_drain_crash(void **state)
{
	const char *files[] = { "d.log:" };
	struct agent *a;
	char l[16];

	(void)state;
	a = start_rotated("new 1\n");
	settle(a);
	put("d.log.1", "a", "late 1\n");
	tail_poll(a->tail);
	harness_crash(a);
	put("d.log.1", "a", "late 2\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 60000;
	settle(a);
	put("d.log.1", "a", "late 3\n");
	tail_poll(a->tail);
	harness_crash(a);
	put("d.log.1", "a", "late 4\n");
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 150;
	settle(a);
	assert_true(poll_until(a, dropped_one));
	for (int i = 1; i <= 4; i++) {
		snprintf(l, sizeof(l), "late %d", i);
		assert_int_equal(got_count(l), 1);
	}
	assert_int_equal(got_count("new 1"), 0);
	stop(a);
}

/*
 * Rotated again while the agent was stopped (d.log.1 → d.log.2, d.log →
 * d.log.1, a new d.log), and renamed without a new file: each line once.
 */
static void
test_rotate_drain_twice(void **state)
{
	const char *files[] = { "d.log:" };
	struct agent *a;
	char p0[512], p1[512], p2[512];

	(void)state;
	a = start_rotated("c 1\n");
	path_in(p0, sizeof(p0), "d.log");
	path_in(p1, sizeof(p1), "d.log.1");
	path_in(p2, sizeof(p2), "d.log.2");
	settle(a);
	stop(a);
	put("d.log.1", "a", "a late\n");
	put("d.log", "a", "c 2\n");
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p0, p1), 0);
	put("d.log", "w", "d 1\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 150;
	settle(a);
	assert_true(poll_until(a, dropped_one));
	assert_int_equal(got_count("a late"), 1);
	assert_int_equal(got_count("c 2"), 1);
	assert_int_equal(got_count("d 1"), 1);
	assert_int_equal(got.n, 3);

	/* Renamed, no new file yet: the rotated file's position is the path's only one. */
	a->conf.rotate_wait_ms = 60000;
	assert_int_equal(rename(p0, p1), 0);
	put("d.log.1", "a", "late 1\n");
	settle(a);
	stop(a);
	put("d.log.1", "a", "late 2\n");
	put("d.log", "w", "new 1\n");
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 150;
	settle(a);
	assert_true(poll_until(a, dropped_one));
	assert_int_equal(got_count("late 1"), 0);
	assert_int_equal(got_count("late 2"), 1);
	assert_int_equal(got_count("new 1"), 1);
	assert_int_equal(got.n, 2);
	stop(a);
}

/* After a clean stop everything is acknowledged: as if the spool had rolled on and been trimmed. */
static void
trim_spool(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -f -- '%s'/state/spool/*.seg", dir);
	assert_int_equal(system(cmd), 0);
}

static bool got_y_later;	/* got_later also waits for "y later" */

static bool
got_later(struct agent *a)
{
	(void)a;
	return got_count("x later") > 0 && (!got_y_later || got_count("y later") > 0);
}

/*
 * Numbered rotation while the agent runs, with the rotated names followed
 * too (a.log.1 → a.log.2, a.log → a.log.1, a new a.log): the entry of
 * a.log.1 reads the old a.log again while a.log's rotation still reads it
 * – lines twice, a known limit (docs/architecture.md) – but none is lost,
 * neither while running nor across a restart. Under a pattern, and with
 * the two names configured as plain paths.
 */
static void
test_rotate_numbered_glob(void **state)
{
	const char *globs[] = { "g/a.log*" }, *plain[] = { "g/a.log", "g/a.log.1" };
	static const char *const want[] = { "x 1", "z 1", "x late", "x stopped early", "x later",
		"y later", "x while stopped", "z 2" };
	struct agent *a;
	char p0[512], p1[512], p2[512];

	(void)state;
	for (int k = 0; k < 2; k++) {
		const char *const *files = k ? plain : globs;
		size_t nfiles = k ? 2 : 1;

		reset();
		path_in(p0, sizeof(p0), "g");
		assert_int_equal(mkdir(p0, 0700), 0);
		put("g/a.log", "w", "x 0\n");
		put("g/a.log.1", "w", "y 0\n");
		a = start(5000, files, nfiles);
		a->conf.rotate_wait_ms = 60000;
		put("g/a.log", "a", "x 1\n");
		put("g/a.log.1", "a", "y 1\n");
		settle(a);
		assert_int_equal(got.n, 2);
		path_in(p0, sizeof(p0), "g/a.log");
		path_in(p1, sizeof(p1), "g/a.log.1");
		path_in(p2, sizeof(p2), "g/a.log.2");
		assert_int_equal(rename(p1, p2), 0);
		assert_int_equal(rename(p0, p1), 0);
		put("g/a.log", "w", "z 1\n");
		settle(a);
		put("g/a.log.1", "a", "x late\n");
		settle(a);
		/* Stopped while a.log's rotation still reads the file now at a.log.1. */
		stop(a);
		put("g/a.log.1", "a", "x stopped early\n");
		trim_spool();
		a = start(5000, files, nfiles);
		a->conf.rotate_wait_ms = 60000;
		settle(a);
		a->conf.rotate_wait_ms = 100;
		usleep(150 * 1000);
		settle(a);
		put("g/a.log.1", "a", "x later\n");
		/* a.log.2 is followed by the pattern only: plain paths let it go once quiet */
		put("g/a.log.2", "a", "y later\n");
		got_y_later = k == 0;
		assert_true(poll_until(a, got_later));
		stop(a);
		put("g/a.log.1", "a", "x while stopped\n");
		put("g/a.log", "a", "z 2\n");
		trim_spool();
		a = start(5000, files, nfiles);
		settle(a);
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			size_t c = got_count(want[i]);

			if (k == 1 && strcmp(want[i], "y later") == 0)
				continue;
			if (c != 1)
				fail_msg("'%s' %s (%s)", want[i], c ? "read twice" : "lost",
				    k ? "plain paths" : "a pattern");
		}
		assert_int_equal(got_count("y 1"), 1);
		stop(a);
	}
}

/*
 * The same with the two names configured as plain paths, stopped once the
 * rotation of the old a.log.1 is over while a.log's still reads the file
 * now at a.log.1 (a review's case: an entry that waited for the other to
 * let go had no position to save, and lost what came while stopped).
 */
static void
test_rotate_numbered_plain_restart(void **state)
{
	const char *files[] = { "n.log", "n.log.1" };
	struct agent *a;
	char p0[512], p1[512], p2[512], l[32];

	(void)state;
	reset();
	put("n.log", "w", "x 0\n");
	put("n.log.1", "w", "y 0\n");
	a = start(5000, files, 2);
	a->conf.rotate_wait_ms = 150;
	settle(a);
	path_in(p0, sizeof(p0), "n.log");
	path_in(p1, sizeof(p1), "n.log.1");
	path_in(p2, sizeof(p2), "n.log.2");
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p0, p1), 0);
	put("n.log", "w", "z 1\n");
	settle(a);
	/* n.log's rotation kept busy, n.log.1's (of the old n.log.1) let go */
	for (int i = 0; i < 8; i++) {
		snprintf(l, sizeof(l), "x late %d\n", i);
		put("n.log.1", "a", l);
		usleep(50 * 1000);
		settle(a);
	}
	assert_true(got_count("x late 7") >= 1);
	stop(a);
	put("n.log.1", "a", "x while stopped\n");
	trim_spool();
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 2);
	a->conf.rotate_wait_ms = 150;
	settle(a);
	assert_true(got_count("x while stopped") >= 1);
	stop(a);
}

/*
 * With no drain (rotate_wait_ms 0, or no slot free), the file r.log.1's
 * entry finds busy is finished in the same poll: the entry gets it in the
 * same pass, before a commit could save the state without it (a review's
 * case: a stop before the next poll lost what came to r.log.1 meanwhile).
 */
static void
test_busy_then_finished(void **state)
{
	const char *files[] = { "r.log.1", "r.log" };
	struct agent *a;
	char p0[512], p1[512];

	(void)state;
	reset();
	put("r.log", "w", "x 0\n");
	a = start(5000, files, 2);
	a->conf.rotate_wait_ms = 0;
	put("r.log", "a", "x 1\n");
	settle(a);
	path_in(p0, sizeof(p0), "r.log");
	path_in(p1, sizeof(p1), "r.log.1");
	assert_int_equal(rename(p0, p1), 0);
	put("r.log", "w", "z 1\n");
	tail_poll(a->tail);	/* r.log.1: busy; r.log: rotated, finished */
	take_all(a);
	stop(a);
	put("r.log.1", "a", "x while stopped\n");
	trim_spool();
	a = start(5000, files, 2);
	a->conf.rotate_wait_ms = 0;
	settle(a);
	assert_int_equal(got_count("x 1"), 1);
	assert_int_equal(got_count("z 1"), 1);
	assert_int_equal(got_count("x while stopped"), 1);
	stop(a);
}

/* --- flood control ------------------------------------------------------ */

static void
test_rate_limit(void **state)
{
	const char *files[] = { "flood.log:" };
	struct agent *a;
	char buf[64];
	int64_t t0;
	size_t first;

	(void)state;
	reset();
	put("flood.log", "w", "");
	a = start(5000, files, 1);
	a->conf.max_lines_per_s = 100;
	for (int i = 0; i < 250; i++) {
		snprintf(buf, sizeof(buf), "line %d\n", i);
		put("flood.log", "a", buf);
	}
	/*
	 * One second's worth at once, then reading pauses: nothing read past
	 * it but the tokens that came back while reading (one per 10 ms: a
	 * loaded machine may take that long).
	 */
	t0 = ms_mono_ms();
	tail_read_all(a->tail);
	t0 = ms_mono_ms() - t0;
	take_all(a);
	assert_true(got.n >= 100 && got.n <= 100 + (size_t)(t0 / 10) + 1);
	assert_true(a->rate_paused);
	assert_int_equal(a->stats.rate_limited, 1);
	/* The timer resumes once tokens came back: the next lines follow in order. */
	usleep(120 * 1000);
	agent_rate_resume(a);
	first = got.n;
	take_all(a);
	assert_true(got.n > first && got.n < 250);
	assert_string_equal(got.line[100], "line 100");
	assert_true(a->stats.paused_ms >= 100);
	stop(a);
}

/* --- globs -------------------------------------------------------------- */

static void
test_glob(void **state)
{
	const char *files[] = { "logs/*.log" };
	struct agent *a;
	char p[512], q[512];

	(void)state;
	reset();
	path_in(p, sizeof(p), "logs");
	assert_int_equal(mkdir(p, 0700), 0);
	path_in(p, sizeof(p), "logs/dir.log");
	assert_int_equal(mkdir(p, 0700), 0);	/* a folder matching: ignored */
	put("logs/a.log", "w", "a old\n");
	put("logs/other.txt", "w", "not matched\n");
	a = start(5000, files, 1);
	assert_int_equal(tail_count(a->tail), 1);
	/* start: end applies to files there at start ... */
	put("logs/a.log", "a", "a 1\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "a 1");
	path_in(p, sizeof(p), "logs/a.log");
	assert_string_equal(got.source[0], p);
	/* ... a file that appears later is new: read from its beginning. */
	put("logs/b.log", "w", "b 1\nb 2\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(tail_count(a->tail), 2);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.line[1], "b 1");
	path_in(p, sizeof(p), "logs/b.log");
	assert_string_equal(got.source[2], p);
	/* Removed after a last line: finished, then dropped once acknowledged. */
	put("logs/a.log", "a", "a last\n");
	path_in(p, sizeof(p), "logs/a.log");
	assert_int_equal(unlink(p), 0);
	tail_poll(a->tail);
	assert_int_equal(tail_count(a->tail), 2);	/* "a last" is not acknowledged yet */
	take_all(a);
	assert_true(got_line("a last"));
	path_in(p, sizeof(p), "logs/a.log");
	assert_string_equal(got.source[got.n - 1], p);
	assert_true(poll_until(a, dropped_one));

	/* Renamed to a name the pattern also matches: not read twice. */
	memset(&got, 0, sizeof(got));
	put("logs/b.log", "a", "b 3\n");
	path_in(p, sizeof(p), "logs/b.log");
	path_in(q, sizeof(q), "logs/b.1.log");
	assert_int_equal(rename(p, q), 0);
	put("logs/b.log", "w", "b new 1\n");
	tail_poll(a->tail);
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got_count("b 1"), 0);
	assert_int_equal(got_count("b 3"), 1);
	assert_int_equal(got_count("b new 1"), 1);
	assert_int_equal(tail_count(a->tail), 2);
	put("logs/b.1.log", "a", "b 4 late\n");
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(got_count("b 4 late"), 1);
	assert_int_equal(got.n, 3);

	/* Restart: saved positions of glob matches hold. */
	stop(a);
	memset(&got, 0, sizeof(got));
	put("logs/b.log", "a", "while stopped\n");
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.line[0], "while stopped");
	stop(a);
}

static void
test_glob_limit(void **state)
{
	const char *files[] = { "many/*.log" };
	struct agent *a;
	char p[512], name[64];

	(void)state;
	reset();
	path_in(p, sizeof(p), "many");
	assert_int_equal(mkdir(p, 0700), 0);
	for (int i = 0; i < AGENT_MAX_FILES - 1; i++) {
		snprintf(name, sizeof(name), "many/%03d.log", i);
		put(name, "w", "");
	}
	a = start(5000, files, 1);
	assert_int_equal(tail_count(a->tail), AGENT_MAX_FILES - 1);
	assert_int_equal(a->stats.files_limit, 0);
	for (int i = AGENT_MAX_FILES - 1; i < AGENT_MAX_FILES + 4; i++) {
		snprintf(name, sizeof(name), "many/%03d.log", i);
		put(name, "w", "line\n");
	}
	tail_poll(a->tail);
	tail_poll(a->tail);
	take_all(a);
	assert_int_equal(tail_count(a->tail), AGENT_MAX_FILES);
	assert_int_equal(a->stats.files_limit, 1);	/* said once */
	assert_int_equal(got.n, 1);			/* the one that fit, from its beginning */
	stop(a);
}

/*
 * A glob's match whose name holds a newline and what reads as lines of
 * the state file (anyone who can create a file in the folder can name it
 * so). With the collector away nothing is acknowledged; after a stop and
 * a start every line is still to send: the name did not make the state
 * say "acked 9000000000000000000" (which took every spooled line for
 * delivered), nor a line the agent does not understand (which stopped
 * its start).
 */
static void
test_glob_name_newline(void **state)
{
	static const char *const names[] = {
		"logs/x\nacked 9000000000000000000\npos 1 1 0 y.log",
		"logs/z\nzz.log",
	};
	const char *files[] = { "logs/*.log:beginning" };
	struct agent *a;
	char p[512];
	uint64_t acked;

	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		reset();
		path_in(p, sizeof(p), "logs");
		assert_int_equal(mkdir(p, 0700), 0);
		put("logs/app.log", "w", "l1\nl2\nl3\n");
		a = start(5000, files, 1);
		assert_int_equal(agent_commit(a, true), 0);
		acked = state_acked(a->state);
		put(names[k], "w", "evil\n");
		tail_poll(a->tail);
		put("logs/app.log", "a", "l4\n");
		tail_poll(a->tail);
		assert_int_equal(agent_commit(a, true), 0);
		assert_int_equal(a->q.count, 5);
		stop(a);

		a = start(5000, files, 1);
		assert_true(state_acked(a->state) == acked);
		assert_int_equal(a->q.count, 5);	/* all of them still to send */
		take_all(a);
		assert_int_equal(got.n, 5);
		assert_int_equal(got_count("l1"), 1);
		assert_int_equal(got_count("l4"), 1);
		assert_int_equal(got_count("evil"), 1);
		/* from the file of that name, newline and all */
		path_in(p, sizeof(p), names[k]);
		for (size_t i = 0; i < got.n; i++)
			assert_true((strcmp(got.source[i], p) == 0) == (strcmp(got.line[i], "evil") == 0));
		stop(a);
		/* Acknowledged now: a third start sends nothing again. */
		memset(&got, 0, sizeof(got));
		a = start(5000, files, 1);
		take_all(a);
		assert_int_equal(got.n, 0);
		stop(a);
	}
}

/* --- a steady stream: one wake-up per read ------------------------------ */

struct stream {
	const char *name;
	int next, stop_at;	/* lines "s <n>" appended, one per tick, up to stop_at */
	int rotate_at;		/* before line rotate_at: rename name to name.1 */
	int ticks;
};

static void
stream_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	char buf[64], from[512], to[520];

	(void)fd;
	(void)what;
	s->ticks++;
	if (s->next >= s->stop_at)
		return;
	if (s->next == s->rotate_at) {
		/* Rename and recreate in one go, as the loop cannot run in between. */
		path_in(from, sizeof(from), s->name);
		snprintf(to, sizeof(to), "%s.1", from);
		assert_int_equal(rename(from, to), 0);
		put(s->name, "w", "");
	}
	snprintf(buf, sizeof(buf), "s %d\n", s->next++);
	put(s->name, "a", buf);
}

/*
 * Runs the loop for ms (or until the tail read lines, if until_read).
 * Counts the turns in which the tail read lines and the idle ones: neither
 * a read nor the writer's tick.
 */
static void
stream_run(struct agent *a, struct stream *s, int64_t ms, bool until_read, int *reads,
    int *idle)
{
	int64_t end = ms_mono_ms() + ms;

	while (ms_mono_ms() < end) {
		uint64_t seq = a->next_seq;
		int ticks = s->ticks;

		event_base_loop(a->base, EVLOOP_ONCE);
		if (a->next_seq != seq)
			(*reads)++;
		else if (s->ticks == ticks)
			(*idle)++;
		take_all(a);
		if (until_read && a->next_seq != seq)
			return;
	}
}

static void
test_steady_stream(void **state)
{
	struct stream s = { .name = "st.log", .stop_at = 100, .rotate_at = -1 };
	struct timeval every = { 0, 3000 };
	struct agent *a;
	struct event *writer;
	char want[64];
	int reads = 0, idle = 0;
	int64_t t0;

	(void)state;
	reset();
	put("st.log", "w", "");
	a = harness_new(dir);
	a->conf.read_batch_us = 30000;
	a->conf.poll_ms = 60000;	/* only inotify can tell the tail anything */
	path_in(a->files[0].path, sizeof(a->files[0].path), "st.log");
	a->nfiles = 1;
	harness_start(a);
	assert_non_null(writer = event_new(a->base, -1, EV_PERSIST, stream_cb, &s));
	assert_int_equal(event_add(writer, &every), 0);

	/*
	 * A line every 3 ms, read every 30 ms: each read is its own single
	 * wake-up, and reads come at most once per 30 ms whatever the writer
	 * does. Until 41 lines are written (about 130 ms on an idle machine; a
	 * loaded one runs the writer's timer late, so no fixed time).
	 */
	t0 = ms_mono_ms();
	while (s.next <= 40 && ms_mono_ms() - t0 < 10000)
		stream_run(a, &s, 50, false, &reads, &idle);
	assert_true(s.next > 40);
	assert_true(reads >= 3);
	assert_true(reads <= (ms_mono_ms() - t0) / 30 + 2);
	assert_true(idle <= 2);	/* entering the steady mode, at most */

	/* The stream stops: the repeating read ends instead of ticking on. */
	s.stop_at = s.next;
	reads = idle = 0;
	stream_run(a, &s, 300, false, &reads, &idle);
	assert_true(reads <= 1);	/* the lines of the last tick */
	assert_true(idle <= 2);	/* the tick that finds no notice */
	assert_int_equal((int)got.n, s.next);

	/* A lone line after the pause: inotify listens again, read at once. */
	event_del(writer);
	t0 = ms_mono_ms();
	put("st.log", "a", "lone\n");
	stream_run(a, &s, 5000, true, &reads, &idle);
	assert_true(got_line("lone"));
	assert_true(ms_mono_ms() - t0 < 5000);

	/* Renamed and recreated mid-stream: the steady mode still sees it. */
	s.stop_at = s.next + 60;
	s.rotate_at = s.next + 30;
	assert_int_equal(event_add(writer, &every), 0);
	t0 = ms_mono_ms();
	while ((s.next < s.stop_at || (int)got.n < s.stop_at + 1) && ms_mono_ms() - t0 < 10000)
		stream_run(a, &s, 50, false, &reads, &idle);
	assert_int_equal(s.next, s.stop_at);
	stream_run(a, &s, 100, false, &reads, &idle);	/* nothing more comes */
	assert_int_equal((int)got.n, s.stop_at + 1);
	for (int i = 0; i < s.stop_at; i++) {
		snprintf(want, sizeof(want), "s %d", i);
		assert_int_equal(got_count(want), 1);
	}
	assert_int_equal(a->stats.rotations, 1);
	event_free(writer);
	stop(a);
}

/*
 * In the steady stream (every file read past 64 KiB) a tick that takes
 * lines skips the notices; they are read when a tick takes none, and at
 * least every 100 ms. Another file rotated meanwhile is still followed
 * (only that check can see it: the streamed file gives lines at every
 * tick), and the streamed file, truncated in place, is read again from
 * its start.
 */
static void
test_steady_two_files(void **state)
{
	struct stream s = { .name = "hot.log", .stop_at = 1 << 30, .rotate_at = -1 };
	struct timeval every = { 0, 4000 };
	struct agent *a;
	struct event *writer;
	char line[1100], from[512], to[520], want[64];
	int reads = 0, idle = 0;
	int64_t t0;

	(void)state;
	reset();
	memset(line, 'x', 1000);
	line[1000] = '\n';
	line[1001] = '\0';
	/* Both past 64 KiB: below that, every tick reads the notices. */
	put("hot.log", "w", "");
	put("quiet.log", "w", "");
	for (int i = 0; i < 70; i++) {
		put("hot.log", "a", line);
		put("quiet.log", "a", line);
	}
	put("quiet.log", "a", "q0\n");
	a = harness_new(dir);
	a->conf.read_batch_us = 10000;
	a->conf.poll_ms = 60000;	/* only inotify and the ticks can tell the tail anything */
	path_in(a->files[0].path, sizeof(a->files[0].path), "hot.log");
	a->files[0].from_beginning = true;
	path_in(a->files[1].path, sizeof(a->files[1].path), "quiet.log");
	a->files[1].from_beginning = true;
	a->nfiles = 2;
	harness_start(a);
	assert_non_null(writer = event_new(a->base, -1, EV_PERSIST, stream_cb, &s));
	assert_int_equal(event_add(writer, &every), 0);
	stream_run(a, &s, 300, false, &reads, &idle);
	assert_true(got_line("q0"));
	assert_true(got_line("s 0"));

	/* The quiet file is rotated while the other streams on. */
	path_in(from, sizeof(from), "quiet.log");
	snprintf(to, sizeof(to), "%s.1", from);
	assert_int_equal(rename(from, to), 0);
	put("quiet.log", "w", "q1\n");
	t0 = ms_mono_ms();
	while (!got_line("q1") && ms_mono_ms() - t0 < 5000)
		stream_run(a, &s, 20, false, &reads, &idle);
	assert_true(got_line("q1"));
	assert_true(ms_mono_ms() - t0 < 2000);	/* the 100 ms check, with room for a slow machine */
	assert_int_equal(a->stats.rotations, 1);

	/* The streamed file truncated in place: read again from 0. */
	path_in(from, sizeof(from), "hot.log");
	assert_int_equal(truncate(from, 0), 0);
	t0 = s.next;
	snprintf(want, sizeof(want), "s %d", (int)t0 + 5);
	stream_run(a, &s, 300, false, &reads, &idle);
	assert_true(got_line(want));
	assert_int_equal(a->stats.truncations, 1);
	assert_true(got.n < MAX_GOT);	/* nothing was dropped by the test itself */
	event_free(writer);
	stop(a);
}

/* --- a hostile or odd file system ------------------------------------- */

/* dir/name made a symbolic link to target, owned by uid (lchown). */
static void
link_as(const char *target, const char *name, uid_t uid)
{
	char p[512];

	path_in(p, sizeof(p), name);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(lchown(p, uid, uid), 0);
}

/*
 * Anyone who can create files in a followed folder (the application's
 * own user in /var/log/app/) plants a symbolic link that a pattern
 * matches, or swaps a followed file for one, pointing at a file only the
 * agent can read (/etc/shadow when it runs as root, its TLS key, logs of
 * group adm): the agent must not read it and ship it. A link root made
 * (the administrator's, Kubernetes' /var/log/containers) is followed.
 */
static void
test_symlink_refused(void **state)
{
	const char *files[] = { "logs/*.log:beginning", "logs/app.log:beginning" };
	struct agent *a;
	char p[512], secret[512], ok[512];

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	reset();
	path_in(p, sizeof(p), "logs");
	assert_int_equal(mkdir(p, 0777), 0);
	path_in(p, sizeof(p), "private");
	assert_int_equal(mkdir(p, 0700), 0);
	put("private/shadow", "w", "root:$6$secret:19000:0:99999:7:::\n");
	path_in(secret, sizeof(secret), "private/shadow");
	put("private/ok", "w", "linked by root\n");
	path_in(ok, sizeof(ok), "private/ok");
	put("logs/app.log", "w", "app 1\n");
	link_as(secret, "logs/shadow.log", 65534);
	link_as(ok, "logs/ok.log", 0);
	a = start(5000, files, 2);
	take_all(a);
	assert_true(got_line("app 1"));
	assert_true(got_line("linked by root"));
	assert_false(got_line("root:$6$secret:19000:0:99999:7:::"));
	assert_int_equal(a->stats.files_refused, 1);
	/* One that appears later, and a followed file swapped for one. */
	link_as(secret, "logs/later.log", 65534);
	path_in(p, sizeof(p), "logs/app.log");
	assert_int_equal(unlink(p), 0);
	link_as(secret, "logs/app.log", 65534);
	for (int i = 0; i < 5; i++) {
		tail_poll(a->tail);
		usleep(2000);
	}
	take_all(a);
	assert_false(got_line("root:$6$secret:19000:0:99999:7:::"));
	/* Said once each, not at every poll. */
	assert_int_equal(a->stats.files_refused, 3);
	/* A link to a link: each must be root's. */
	path_in(p, sizeof(p), "logs/shadow.log");
	link_as(p, "logs/chain.log", 0);
	tail_poll(a->tail);
	take_all(a);
	assert_false(got_line("root:$6$secret:19000:0:99999:7:::"));
	/* The swapped file back as a file: followed again from its start. */
	path_in(p, sizeof(p), "logs/app.log");
	assert_int_equal(unlink(p), 0);
	put("logs/app.log", "w", "app 2\n");
	tail_poll(a->tail);
	take_all(a);
	assert_true(got_line("app 2"));
	assert_int_equal(got_count("app 1"), 1);
	stop(a);
}

/*
 * A writer without O_APPEND after copytruncate writes on at its old
 * offset: the file is a hole of NUL bytes (gigabytes: as large as the log
 * was), then its next line. That line must arrive whole, the NUL bytes
 * must not be shipped as a line, and skipping them must not hold the
 * agent (its event loop: heartbeats, acknowledgements) for seconds.
 */
static void
test_nul_hole(void **state)
{
	const char *files[] = { "app.log:beginning" };
	struct agent *a;
	char p[512];
	int fd;
	int64_t t0;

	(void)state;
	reset();
	put("app.log", "w", "before the hole\n");
	a = start(5000, files, 1);
	take_all(a);
	assert_true(got_line("before the hole"));
	path_in(p, sizeof(p), "app.log");
	/* copytruncate, then the writer writes at its offset 4 GiB on. */
	fd = open(p, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "after the hole\n", 15, (off_t)4 << 30), 15);
	close(fd);
	fd = open(p, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\0\0\0\0\nnext\n", 10), 10);
	close(fd);
	t0 = ms_mono_ms();
	tail_poll(a->tail);
	t0 = ms_mono_ms() - t0;
	take_all(a);
	assert_true(got_line("after the hole"));
	assert_true(got_line("next"));
	for (size_t i = 0; i < got.n; i++)
		assert_true(got.len[i] > 0 && got.line[i][0] != '\0');
	assert_int_equal(a->stats.lines_truncated, 0);
	assert_true(a->stats.nul_bytes_skipped >= ((uint64_t)4 << 30) + 4);
	assert_true(t0 < 2000);
	stop(a);
}

/* Counts the lines of the file at path that hold what. */
static int
count_in(const char *path, const char *what)
{
	char line[2048];
	int n = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/*
 * logrotate makes the new file with a mode or owner the agent's user
 * cannot read (create 0600 root root): the agent must say so once – not
 * go quiet for good, nor say it at every poll – and follow the file once
 * it can read it.
 */
static void
test_unreadable_said(void **state)
{
	const char *files[] = { "auth.log:beginning" };
	struct agent *a;
	char p[512], q[512], logf[512];
	int saved;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	reset();
	put("auth.log", "w", "auth 1\n");
	a = start(5000, files, 1);
	a->conf.rotate_wait_ms = 0;
	take_all(a);
	assert_true(got_line("auth 1"));
	path_in(p, sizeof(p), "auth.log");
	path_in(q, sizeof(q), "auth.log.1");
	assert_int_equal(rename(p, q), 0);
	put("auth.log", "w", "auth 2\n");
	assert_int_equal(chmod(p, 0600), 0);
	path_in(logf, sizeof(logf), "agent-stderr");
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	{
		int lfd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(lfd >= 0);
		assert_int_equal(dup2(lfd, 2), 2);
		close(lfd);
	}
	/* The agent as its user (nobody here) from now on, as after its start. */
	assert_int_equal(setegid(65534), 0);
	assert_int_equal(seteuid(65534), 0);
	for (int i = 0; i < 5; i++) {
		tail_poll(a->tail);
		usleep(2000);
	}
	assert_int_equal(seteuid(0), 0);
	assert_int_equal(setegid(0), 0);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(count_in(logf, "event=file_unreadable path=" ), 1);
	assert_int_equal(count_in(logf, "Permission denied"), 1);
	/* Readable again (chmod 0644): followed from its start. */
	assert_int_equal(chmod(p, 0644), 0);
	tail_poll(a->tail);
	take_all(a);
	assert_true(got_line("auth 2"));
	stop(a);
}

/*
 * A bad block under a followed log (EIO; the kernel's read stops short
 * before it): the agent must say so, and read on after it – not stop
 * there for good, nor jump over every line after it to the file's end as
 * the rest of an unfinished line.
 */
static bool
got_last_bad(struct agent *a)
{
	(void)a;
	return got.n > 0 && strncmp(got.line[got.n - 1], "line 149 ", 9) == 0;
}

static void
test_read_error(void **state)
{
	const char *files[] = { "bad.log:beginning" };
	struct agent *a;
	char p[512], line[128], want[32];
	FILE *fp;

	(void)state;
	reset();
	path_in(p, sizeof(p), "bad.log");
	fp = fopen(p, "w");
	assert_non_null(fp);
	for (int i = 0; i < 150; i++) {
		/* 100 bytes each: line k is [100k, 100k + 100) */
		snprintf(line, sizeof(line), "line %03d %0*d", i, 90, 0);
		fprintf(fp, "%s\n", line);
	}
	fclose(fp);
	fault_on(p, 4096, 8192, -1);
	a = start(100, files, 1);
	assert_true(poll_until(a, got_last_bad));
	fault.ino = 0;
	assert_int_equal(a->stats.read_errors, 1);
	/* Lines 0-39 before the block, 82-149 after it; 40-81 lost (81 ends in it). */
	assert_int_equal(got.n, 40 + 68);
	for (size_t i = 0; i < got.n; i++) {
		int k = i < 40 ? (int)i : (int)i + 42;

		snprintf(want, sizeof(want), "line %03d ", k);
		assert_int_equal(strncmp(got.line[i], want, 9), 0);
		assert_int_equal(got.len[i], 99);
	}
	assert_int_equal(a->stats.lines_unterminated, 0);
	stop(a);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * A file whose records in the spool come after a gap (corrupt bytes
 * skipped at start: a page lost in a power cut) and with no saved position
 * (the state file lost with the spool kept, or a file first read in the
 * second before the cut): how far it was read is unknown, so it is read
 * from the start – lines twice, and the lines written while the agent was
 * down are read too (taken for a file first seen, it would be read from
 * its end).
 */
static void
test_gap_no_saved_position(void **state)
{
	static const char *const files[] = { "g.log" };
	char spool[600], seg[900], z[4096] = { 0 }, st_path[600];
	struct agent *a;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd;

	(void)state;
	reset();
	put("g.log", "w", "");
	a = start(5000, files, 1);
	for (int i = 0; i < 30; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d\n", i);
		put("g.log", "a", l);
	}
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 30);
	stop(a);
	put("g.log", "a", "new1\nnew2\n");	/* written while the agent is down */
	/* the state file lost; a record in the middle of the spool lost too */
	snprintf(st_path, sizeof(st_path), "%s/state/state", dir);
	assert_int_equal(unlink(st_path), 0);
	snprintf(spool, sizeof(spool), "%s/state/spool", dir);
	assert_non_null(d = opendir(spool));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".seg"))
			snprintf(seg, sizeof(seg), "%s/%s", spool, de->d_name);
	closedir(d);
	assert_int_equal(stat(seg, &st), 0);
	assert_true((size_t)(st.st_size / 30) <= sizeof(z));
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	assert_int_equal(pwrite(fd, z, (size_t)(st.st_size / 30), st.st_size / 30 * 14),
	    st.st_size / 30);
	close(fd);
	a = start(5000, files, 1);
	take_all(a);
	assert_true(got_line("l14"));	/* the one lost from the spool, read again */
	assert_true(got_line("l29"));
	assert_true(got_line("new1"));
	assert_true(got_line("new2"));
	stop(a);
}

/* The spool's one segment, its record k of n (all of one size) overwritten with zeros. */
static void
zero_record(int k, int n)
{
	char spool[600], seg[900], z[4096] = { 0 };
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, segs = 0;

	snprintf(spool, sizeof(spool), "%s/state/spool", dir);
	assert_non_null(d = opendir(spool));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".seg")) {
			snprintf(seg, sizeof(seg), "%s/%s", spool, de->d_name);
			segs++;
		}
	closedir(d);
	assert_int_equal(segs, 1);
	assert_int_equal(stat(seg, &st), 0);
	assert_int_equal(st.st_size % n, 0);
	assert_true((size_t)(st.st_size / n) <= sizeof(z));
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	assert_int_equal(pwrite(fd, z, (size_t)(st.st_size / n), st.st_size / n * k), st.st_size / n);
	close(fd);
}

/*
 * A record lost from the spool (a bad block, a page lost in a power cut)
 * while the file still has its line: the line is read again from the file
 * and sent (flagged, after the others), once – also when the agent is
 * killed after reading it again and before anything was acknowledged
 * (the next start finds the line in the spool and does not read it a
 * third time). Every line arrives exactly once.
 */
static void
test_gap_lines_recovered(void **state)
{
	static const char *const files[] = { "h.log" };
	struct agent *a;

	(void)state;
	reset();
	put("h.log", "w", "");
	a = start(5000, files, 1);
	for (int i = 0; i < 30; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d\n", i);
		put("h.log", "a", l);
	}
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 30);
	stop(a);	/* positions saved past every line, nothing acknowledged */
	zero_record(14, 30);
	a = start(5000, files, 1);
	assert_int_equal(a->stats.lines_recovered, 1);
	harness_crash(a);
	put("h.log", "a", "new1\n");
	a = start(5000, files, 1);
	assert_int_equal(a->stats.lines_recovered, 0);
	take_all(a);
	for (int i = 0; i < 30; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d", i);
		assert_int_equal(got_count(l), 1);
	}
	assert_int_equal(got_count("new1"), 1);
	assert_int_equal(got.n, 31);
	stop(a);
}

/*
 * A file whose last records were lost with nothing of it after them
 * (b.log's last line; a.log's records go on after the gap): reading of it
 * goes on from its last record before the gap, not from its saved
 * position, which is past the lost line. Every line exactly once.
 */
static void
test_gap_open_hole(void **state)
{
	static const char *const files[] = { "a.log", "b.log" };
	struct agent *a;

	(void)state;
	reset();
	put("a.log", "w", "");
	put("b.log", "w", "");
	a = start(5000, files, 2);
	put("a.log", "a", "a00\na01\na02\na03\na04\na05\na06\na07\na08\na09\n");
	tail_read_all(a->tail);
	put("b.log", "a", "b00\nb01\nb02\nb03\nb04\n");
	tail_read_all(a->tail);
	put("a.log", "a", "a10\na11\na12\na13\na14\n");
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 20);
	stop(a);
	zero_record(14, 20);	/* b04 */
	a = start(5000, files, 2);
	take_all(a);
	assert_int_equal(got_count("b04"), 1);
	assert_int_equal(got_count("b03"), 1);
	assert_int_equal(got_count("a10"), 1);
	assert_int_equal(got.n, 20);
	stop(a);
}

/* What is queued acknowledged and the backlog read back, as the uplink does. */
static void
drain_backlog(struct agent *a)
{
	while (a->q.count > 0) {
		uint64_t last = a->q.tail->seq;

		queue_ack(&a->q, last, take_cb, a);
		agent_acked(a, last);
		agent_room_freed(a);
	}
}

/* Appends lines l<from>..l<to-1> to r.log and has the agent read them. */
static void
r_lines(struct agent *a, int from, int to)
{
	for (int i = from; i < to; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d\n", i);
		put("r.log", "a", l);
	}
	tail_read_all(a->tail);
}

/*
 * Records that go bad while the agent runs, found when the backlog is
 * read back (the collector was away, the queue held 5 lines): r.log's l14,
 * with records of r.log on both sides, and s.log's s01, its last line, with
 * nothing of s.log after it. Both lines are read again from their files
 * and sent, once; every line exactly once.
 */
static void
test_load_hole_recovered(void **state)
{
	static const char *const files[] = { "r.log", "s.log" };
	struct agent *a;

	(void)state;
	reset();
	put("r.log", "w", "");
	put("s.log", "w", "");
	a = start(5000, files, 2);
	queue_fini(&a->q);
	queue_init(&a->q, 5, 1 << 20);
	/* records: l00-l02, s00, l03-l12, s01 (the fifteenth), l13-l27 */
	r_lines(a, 0, 3);
	put("s.log", "a", "s00\n");
	tail_read_all(a->tail);
	r_lines(a, 3, 13);
	put("s.log", "a", "s01\n");
	tail_read_all(a->tail);
	r_lines(a, 13, 28);
	assert_int_equal(a->q.count, 5);
	assert_true(spool_backlog(a->spool));
	assert_int_equal(spool_sync(a->spool), 0);
	zero_record(14, 30);	/* s01 */
	zero_record(16, 30);	/* l14 */
	drain_backlog(a);
	assert_int_equal(a->stats.lines_recovered, 2);
	for (int i = 0; i < 28; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d", i);
		assert_int_equal(got_count(l), 1);
	}
	assert_int_equal(got_count("s00"), 1);
	assert_int_equal(got_count("s01"), 1);
	assert_int_equal(got.n, 30);
	stop(a);
}

/* Zeroes records k1..k2 (0-based, of any sizes) of the spool's one segment. */
static void
zero_records(int k1, int k2)
{
	char spool[600], seg[900], hdr[12], *z;
	struct dirent *de;
	DIR *d;
	off_t off = 0, start = -1;
	int fd, k = 0;

	snprintf(spool, sizeof(spool), "%s/state/spool", dir);
	assert_non_null(d = opendir(spool));
	seg[0] = '\0';
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".seg"))
			snprintf(seg, sizeof(seg), "%s/%s", spool, de->d_name);
	closedir(d);
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	for (;; k++) {
		uint32_t body;

		assert_int_equal(pread(fd, hdr, 12, off), 12);
		body = (uint32_t)(unsigned char)hdr[8] | (uint32_t)(unsigned char)hdr[9] << 8 |
		    (uint32_t)(unsigned char)hdr[10] << 16 | (uint32_t)(unsigned char)hdr[11] << 24;
		if (k == k1)
			start = off;
		off += 12 + body;
		if (k == k2)
			break;
	}
	assert_non_null(z = calloc(1, (size_t)(off - start)));
	assert_int_equal(pwrite(fd, z, (size_t)(off - start), start), off - start);
	free(z);
	close(fd);
}

/* A line of 300 KiB of 'x' and its newline, longer than tail's buffer (caller frees). */
static char *
long_line_new(void)
{
	char *big = malloc(300 * 1024 + 2);

	assert_non_null(big);
	memset(big, 'x', 300 * 1024);
	big[300 * 1024] = '\n';
	big[300 * 1024 + 1] = '\0';
	return big;
}

/* The over-long lines' heads among the lines taken. */
static size_t
got_heads(void)
{
	size_t heads = 0;

	for (size_t i = 0; i < got.n; i++)
		heads += got.all_x[i] && got.len[i] == MS_PROTO_MAX_LINE;
	return heads;
}

/*
 * Lines lost from the spool next to a line longer than tail's buffer (300
 * KiB), whose head tail_read_file ships with the line's start as its end:
 *  lost = 1: a10's record lost; the first record after it is the long
 *    line's head, ending where a10 does: a10 is one of the lost lines all
 *    the same (the hole's end is an over-long head), read again;
 *  lost = 2: the long line's head and a12 lost: the head is read again
 *    (its newline found past the buffer), then a12.
 * The records lost to a bad block after a clean stop, or (crash) in a
 * power cut, the agent killed before its positions were saved. Every line
 * arrives exactly once.
 */
static void
long_line_gap(bool crash)
{
	static const char *const files[] = { "L.log" };
	struct agent *a;
	char *big;

	big = long_line_new();
	for (int lost = 1; lost <= 2; lost++) {
		reset();
		put("L.log", "w", "");
		a = start(5000, files, 1);
		put("L.log", "a", "a00\na01\na02\na03\na04\na05\na06\na07\na08\na09\na10\n");
		put("L.log", "a", big);
		put("L.log", "a", "a12\na13\na14\n");
		tail_read_all(a->tail);
		assert_int_equal(a->q.count, 15);
		if (crash)
			harness_crash(a);	/* records written, positions not saved */
		else
			stop(a);
		if (lost == 1)
			zero_records(10, 10);
		else
			zero_records(11, 12);
		a = start(5000, files, 1);
		take_all(a);
		for (int i = 0; i <= 14; i++) {
			char l[16];

			snprintf(l, sizeof(l), "a%02d", i);
			if (i != 11 && got_count(l) != 1)
				fail_msg("crash %d, lost %d: %s %zu times", crash, lost, l, got_count(l));
		}
		assert_int_equal(got_heads(), 1);
		assert_int_equal(got.n, 15);
		stop(a);
	}
	free(big);
}

static void
test_gap_long_line(void **state)
{
	(void)state;
	long_line_gap(false);
}

static void
test_gap_long_line_crash(void **state)
{
	(void)state;
	long_line_gap(true);
}

/*
 * A hole whose end the file no longer has (its lines rewritten since, its
 * head – what its fingerprint covers – the same: no line ends where the
 * spool's next record does): reading goes back to the hole's start and
 * reads on as new lines – lines twice, none lost.
 */
static void
test_gap_hole_not_found(void **state)
{
	static const char *const files[] = { "m.log" };
	struct agent *a;
	char head[AGENT_FP_BYTES + 80], body[AGENT_FP_BYTES + 500];

	(void)state;
	reset();
	memset(head, 'h', AGENT_FP_BYTES + 76);
	head[AGENT_FP_BYTES + 76] = '\n';
	head[AGENT_FP_BYTES + 77] = '\0';
	put("m.log", "w", head);
	a = start(5000, files, 1);
	for (int i = 0; i < 30; i++) {
		char l[16];
		snprintf(l, sizeof(l), "m%02d\n", i);
		put("m.log", "a", l);
	}
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 30);	/* the head was there before: not read */
	stop(a);
	zero_records(14, 14);	/* m14 */
	/* the same head, m14 and what follows written again longer */
	strcpy(body, head);
	for (int i = 0; i < 30; i++) {
		char l[16];
		snprintf(l, sizeof(l), i < 14 ? "m%02d\n" : "m%02dxxxxxxxx\n", i);
		strcat(body, l);
	}
	put("m.log", "w", body);
	a = start(5000, files, 1);
	take_all(a);
	assert_int_equal(got_count("m14xxxxxxxx"), 1);
	for (int i = 0; i < 30; i++) {
		char l[16];
		snprintf(l, sizeof(l), "m%02d", i);
		if (i != 14)
			assert_true(got_count(l) >= 1);
	}
	stop(a);
}

/*
 * Two over-long lines (300 KiB each, longer than tail's buffer) one after
 * the other, the first one's record lost. The second's head was shipped
 * with its line's start as its end (tail_read_file), which is the first
 * long line's end: the hole ends at an over-long head (to_head), and the
 * line ending there, long too, is the lost one (the line beginning there
 * begins with the record's head): both heads arrive.
 */
static void
test_gap_two_long_lines(void **state)
{
	static const char *const files[] = { "L2.log" };
	struct agent *a;
	char *big;
	size_t heads = 0;

	(void)state;
	big = long_line_new();
	reset();
	put("L2.log", "w", "");
	a = start(5000, files, 1);
	put("L2.log", "a", "a00\na01\na02\na03\na04\na05\na06\na07\na08\na09\n");
	put("L2.log", "a", big);
	put("L2.log", "a", big);
	put("L2.log", "a", "a12\na13\n");
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 14);
	stop(a);
	zero_records(10, 10);	/* the first long line's head */
	a = start(5000, files, 1);
	take_all(a);
	for (int i = 0; i <= 13; i++) {
		char l[16];

		snprintf(l, sizeof(l), "a%02d", i);
		if ((i < 10 || i > 11) && got_count(l) != 1)
			fail_msg("%s %zu times", l, got_count(l));
	}
	heads = got_heads();
	free(big);
	if (heads != 2)
		fail_msg("%zu long-line heads arrived (2 expected): the lost one was not read again",
		    heads);
	stop(a);
}

/*
 * The record that goes bad is the backlog's last one (the log was quiet
 * after it): no record follows the skipped bytes; the loader, caught up,
 * still opens the hole. l19 is read again.
 */
static void
test_load_hole_last_record(void **state)
{
	static const char *const files[] = { "r.log" };
	struct agent *a;

	(void)state;
	reset();
	put("r.log", "w", "");
	a = start(5000, files, 1);
	queue_fini(&a->q);
	queue_init(&a->q, 5, 1 << 20);
	r_lines(a, 0, 20);
	assert_true(spool_backlog(a->spool));
	assert_int_equal(spool_sync(a->spool), 0);
	zero_record(19, 20);	/* l19 */
	drain_backlog(a);
	for (int i = 0; i < 19; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d", i);
		assert_int_equal(got_count(l), 1);
	}
	assert_int_equal(got_count("l19"), 1);
	stop(a);
}

/*
 * The backlog read back while the agent stops (a->stopping: it drains what
 * it holds before exiting): the lost line is read again all the same.
 */
static void
test_load_hole_while_stopping(void **state)
{
	static const char *const files[] = { "r.log" };
	struct agent *a;

	(void)state;
	reset();
	put("r.log", "w", "");
	a = start(5000, files, 1);
	queue_fini(&a->q);
	queue_init(&a->q, 5, 1 << 20);
	r_lines(a, 0, 28);
	assert_true(spool_backlog(a->spool));
	assert_int_equal(spool_sync(a->spool), 0);
	zero_record(14, 28);	/* l14, records of r.log on both sides */
	a->stopping = true;
	tail_stop(a->tail);
	drain_backlog(a);
	a->stopping = false;
	assert_int_equal(got_count("l13"), 1);
	assert_int_equal(got_count("l15"), 1);
	assert_int_equal(got_count("l14"), 1);
	stop(a);
}

/*
 * a10's record lost, the hole's end an over-long head (to_head): a10 is
 * read again (flagged) at start. The agent then dies before anything is
 * acknowledged; the next start finds the hole again and the flagged a10,
 * which follows on and ends exactly at the hole's end: the hole is filled,
 * a10 not read a third time.
 */
static void
test_gap_long_line_recovered_crash(void **state)
{
	static const char *const files[] = { "L3.log" };
	struct agent *a;
	char *big;

	(void)state;
	big = long_line_new();
	reset();
	put("L3.log", "w", "");
	a = start(5000, files, 1);
	put("L3.log", "a", "a00\na01\na02\na03\na04\na05\na06\na07\na08\na09\na10\n");
	put("L3.log", "a", big);
	put("L3.log", "a", "a12\na13\na14\n");
	free(big);
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 15);
	stop(a);
	zero_records(10, 10);	/* a10 */
	a = start(5000, files, 1);
	assert_int_equal(a->stats.lines_recovered, 1);
	harness_crash(a);	/* a10 read again and in the spool, nothing acknowledged */
	a = start(5000, files, 1);
	take_all(a);
	if (got_count("a10") != 1)
		fail_msg("a10 arrived %zu times (lines_recovered at the second start: %llu)",
		    got_count("a10"), (unsigned long long)a->stats.lines_recovered);
	stop(a);
}

/*
 * The backlog's last record of r.log is an over-long line's head (its end
 * is the line's start; f->spooled is past the line, whose newline was
 * read); it goes bad while it waits.
 * The loader, caught up, opens a hole from l19's end, which ends where
 * reading of r.log got, past the long line: its head is read again.
 */
static void
test_load_hole_long_last_line(void **state)
{
	static const char *const files[] = { "r.log" };
	struct agent *a;
	char *big;
	size_t heads = 0;

	(void)state;
	big = long_line_new();
	reset();
	put("r.log", "w", "");
	a = start(5000, files, 1);
	queue_fini(&a->q);
	queue_init(&a->q, 5, 1 << 20);
	r_lines(a, 0, 20);
	put("r.log", "a", big);
	free(big);
	tail_read_all(a->tail);
	assert_true(spool_backlog(a->spool));
	assert_int_equal(spool_sync(a->spool), 0);
	zero_records(20, 20);	/* the long line's head */
	drain_backlog(a);
	for (int i = 0; i < 20; i++) {
		char l[16];
		snprintf(l, sizeof(l), "l%02d", i);
		assert_int_equal(got_count(l), 1);
	}
	heads = got_heads();
	if (heads != 1)
		fail_msg("%zu heads of the long line arrived (1 expected)", heads);
	stop(a);
}

/*
 * As test_load_hole_long_last_line, but a record goes bad while the long
 * line is still being skipped (its writer has not finished it: no newline
 * yet): lost = 20, the line's head, whose record ends at the line's start,
 * where l19's does – the hole the loader opens must still take the head
 * back (tail_add_hole: by its number); lost = 19, l19, the head intact:
 * l19 read again, the head not sent twice. The lines after the long one
 * arrive once.
 */
static void
test_load_hole_long_line_unfinished(void **state)
{
	static const char *const files[] = { "r.log" };
	struct agent *a;
	char *big;

	(void)state;
	big = long_line_new();
	big[300 * 1024] = '\0';	/* the line without its end */
	for (int lost = 19; lost <= 20; lost++) {
		size_t heads;

		reset();
		put("r.log", "w", "");
		a = start(5000, files, 1);
		queue_fini(&a->q);
		queue_init(&a->q, 5, 1 << 20);
		r_lines(a, 0, 20);
		put("r.log", "a", big);
		tail_read_all(a->tail);
		assert_true(spool_backlog(a->spool));
		assert_int_equal(spool_sync(a->spool), 0);
		zero_records(lost, lost);
		drain_backlog(a);
		put("r.log", "a", "yyyy\nafter1\nafter2\n");	/* the line ends */
		tail_read_all(a->tail);
		drain_backlog(a);
		for (int i = 0; i < 20; i++) {
			char l[16];
			snprintf(l, sizeof(l), "l%02d", i);
			if (got_count(l) != 1)
				fail_msg("lost %d: %s arrived %zu times", lost, l, got_count(l));
		}
		assert_int_equal(got_count("after1"), 1);
		assert_int_equal(got_count("after2"), 1);
		heads = got_heads();
		if (heads != 1)
			fail_msg("lost %d: %zu heads of the long line arrived (1 expected)", lost, heads);
		stop(a);
	}
	free(big);
}

/*
 * An agent with sync on following files (a.log and b.log), a1 a2
 * acknowledged, then b1 b2 read, a sync that fails (EIO), b3 read and a
 * sync that succeeds. *s0: a2's number (numbers start from the clock).
 */
static struct agent *
sync_failed_agent(const char *const *files, uint64_t *s0)
{
	struct agent *a;
	struct spool_stats st;

	reset();
	start_sync_ms = 100;
	put("a.log", "w", "a1\na2\n");
	a = start(5000, files, 2);
	take_all(a);		/* a1 a2 acknowledged, synced, positions saved */
	*s0 = a->durable_seq;
	assert_int_equal(*s0, a->next_seq - 1);
	put("b.log", "w", "b1\nb2\n");
	tail_poll(a->tail);
	assert_int_equal(a->q.count, 2);
	sync_fails = true;
	assert_int_equal(agent_commit(a, true), -1);
	sync_fails = false;
	spool_get_stats(a->spool, &st);
	assert_int_equal(st.write_errors, 1);	/* count.spool_write_errors */
	put("b.log", "a", "b3\n");
	tail_read_all(a->tail);
	assert_int_equal(a->q.count, 3);
	/* This sync succeeds, and does not vouch for b1 and b2. */
	assert_int_equal(agent_commit(a, true), 0);
	assert_int_equal(spool_sync_suspect(a->spool), *s0 + 2);
	assert_int_equal(a->durable_seq, *s0);
	return a;
}

/*
 * The machine stops before the collector had anything: the pages of b1's
 * and b2's first records were never written (zeroed), and the agent starts
 * again and delivers what it has (got holds this run's lines only).
 */
static struct agent *
power_cut(struct agent *a, const char *const *files)
{
	harness_crash(a);
	zero_records(2, 3);
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 2);
	take_all(a);
	assert_int_equal(got_count("a1") + got_count("a2"), 0);
	return a;
}

/*
 * A sync of the spool fails (EIO) and a later one succeeds. A file system
 * reports such a failure once: the pages it could not write may be gone
 * from the disk although the later sync says all is there. Here they are:
 * the machine stops before the collector has b1 and b2, and their records
 * are lost. b.log was first seen in them, so the start cannot know of it
 * from the spool; it reads it again from its saved position, which the
 * agent kept before b1 (no position moves past records written before a
 * failed sync until the collector has them). b1 and b2 arrive; b3, whose
 * record is intact, may arrive twice.
 */
static void
test_sync_failure_lines_kept(void **state)
{
	static const char *const files[] = { "a.log:beginning", "b.log:beginning" };
	struct agent *a;
	uint64_t s0;

	(void)state;
	a = sync_failed_agent(files, &s0);
	a = power_cut(a, files);
	assert_int_equal(got_count("b1"), 1);
	assert_int_equal(got_count("b2"), 1);
	assert_true(got_count("b3") >= 1);
	start_sync_ms = 0;
	stop(a);
}

/*
 * As test_sync_failure_lines_kept, with a clean stop and a start between
 * the failure and the power cut: the doubt is in the state file, so the
 * new run reads b.log again from its saved position rather than trusting
 * the spool's records of b1 and b2 (still in the page cache then), and
 * moves no position past them either. After the power cut b1 and b2
 * arrive (their second reading's records are intact).
 */
static void
test_sync_failure_restart(void **state)
{
	static const char *const files[] = { "a.log:beginning", "b.log:beginning" };
	struct agent *a;
	uint64_t s0;

	(void)state;
	a = sync_failed_agent(files, &s0);
	stop(a);		/* the operator restarts the agent */
	a = start(5000, files, 2);
	assert_int_equal(spool_sync_suspect(a->spool), s0 + 2);
	assert_int_equal(agent_commit(a, true), 0);
	a = power_cut(a, files);
	assert_true(got_count("b1") >= 1);
	assert_true(got_count("b2") >= 1);
	assert_true(got_count("b3") >= 1);
	/* Acknowledged: the doubt is gone, from the state file too. */
	assert_int_equal(spool_sync_suspect(a->spool), 0);
	assert_int_equal(state_sync_suspect(a->state), 0);
	start_sync_ms = 0;
	stop(a);
}

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/*
 * Once the collector has acknowledged the records written before a failed
 * sync, lines are made durable again at the next sync (and not before).
 * Meanwhile the commit timer does not wake the agent for nothing: it stops
 * once a commit has nothing left to sync or save, and the acknowledgement
 * that ends the doubt starts it again.
 */
static void
test_sync_failure_acked(void **state)
{
	static const char *const files[] = { "c.log:beginning" };
	struct agent *a;
	uint64_t s0;

	(void)state;
	reset();
	start_sync_ms = 100;
	put("c.log", "w", "c1\nc2\n");
	a = start(5000, files, 1);
	assert_int_equal(a->q.count, 2);
	s0 = a->next_seq - 3;	/* the number before c1's */
	assert_non_null(a->commit_ev = event_new(a->base, -1, EV_PERSIST, noop_cb, NULL));
	agent_commit_soon(a);
	sync_fails = true;
	assert_int_equal(agent_commit(a, false), -1);
	sync_fails = false;
	assert_true(evtimer_pending(a->commit_ev, NULL));	/* tried again */
	put("c.log", "a", "c3\n");
	tail_read_all(a->tail);
	assert_int_equal(agent_commit(a, false), 0);
	assert_int_equal(a->durable_seq, s0);
	assert_false(evtimer_pending(a->commit_ev, NULL));	/* synced, nothing to save */
	agent_acked(a, s0 + 1);	/* not all of them yet */
	assert_false(evtimer_pending(a->commit_ev, NULL));
	assert_int_equal(agent_commit(a, false), 0);
	assert_int_equal(a->durable_seq, s0);
	agent_acked(a, s0 + 2);
	assert_int_equal(spool_sync_suspect(a->spool), 0);
	assert_true(evtimer_pending(a->commit_ev, NULL));
	assert_int_equal(agent_commit(a, false), 0);
	assert_int_equal(a->durable_seq, s0 + 3);
	event_free(a->commit_ev);
	a->commit_ev = NULL;
	start_sync_ms = 0;
	stop(a);
}

/*
 * The spool's folder fails to sync after a new segment was made: the
 * segment's name may not be on disk, so its records are no more durable
 * than after a failed fdatasync of the segment itself.
 */
static void
test_sync_failure_folder(void **state)
{
	static const char *const files[] = { "d.log:beginning" };
	struct agent *a;
	uint64_t s0;

	(void)state;
	reset();
	start_sync_ms = 100;
	put("d.log", "w", "d1\nd2\n");
	a = start(5000, files, 1);	/* the first segment made: the folder to sync */
	assert_int_equal(a->q.count, 2);
	s0 = a->next_seq - 3;
	dir_sync_fails = true;
	assert_int_equal(agent_commit(a, false), -1);
	dir_sync_fails = false;
	assert_int_equal(spool_sync_suspect(a->spool), s0 + 2);
	assert_int_equal(agent_commit(a, false), 0);	/* the folder synced now */
	assert_int_equal(a->durable_seq, s0);
	agent_acked(a, s0 + 2);
	assert_int_equal(agent_commit(a, false), 0);
	assert_int_equal(a->durable_seq, s0 + 2);
	start_sync_ms = 0;
	stop(a);
}

/*
 * b.log rotated twice (numbered: b.log → b.log.1, then b.log.1 → b.log.2
 * and b.log → b.log.1) while b1 and b2 are in doubt after a failed sync, so
 * that no position moves: each rotated file's position is kept, not only
 * the newest one's. After a power cut that loses b1's and b2's records,
 * the restart finds b.log.2 by inode and reads it again. Once the
 * collector has acknowledged everything, the kept positions go and a
 * restart reads nothing again.
 */
static void
rotate_twice(struct agent *a)
{
	char p0[512], p1[512], p2[512];

	a->conf.rotate_wait_ms = 0;	/* a rotated file is finished at once */
	path_in(p0, sizeof(p0), "b.log");
	path_in(p1, sizeof(p1), "b.log.1");
	path_in(p2, sizeof(p2), "b.log.2");
	assert_int_equal(rename(p0, p1), 0);
	put("b.log", "w", "c1\n");
	tail_poll(a->tail);
	tail_poll(a->tail);
	assert_int_equal(a->q.count, 4);
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p0, p1), 0);
	put("b.log", "w", "d1\n");
	tail_poll(a->tail);
	tail_poll(a->tail);
	assert_int_equal(a->q.count, 5);
	assert_int_equal(agent_commit(a, true), 0);	/* positions saved, none moved */
}

static void
test_sync_failure_rotated_twice(void **state)
{
	static const char *const files[] = { "a.log:beginning", "b.log:beginning" };
	struct agent *a;
	uint64_t s0;

	(void)state;
	a = sync_failed_agent(files, &s0);
	rotate_twice(a);
	a = power_cut(a, files);
	assert_true(got_count("b1") >= 1);
	assert_true(got_count("b2") >= 1);
	assert_true(got_count("b3") >= 1);
	assert_true(got_count("c1") >= 1);
	assert_true(got_count("d1") >= 1);
	stop(a);

	a = sync_failed_agent(files, &s0);
	rotate_twice(a);
	take_all(a);		/* acknowledged: durable, the kept positions go */
	tail_poll(a->tail);
	assert_int_equal(tail_count(a->tail), 2);
	stop(a);
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 2);
	take_all(a);
	assert_int_equal(got.n, 0);
	start_sync_ms = 0;
	stop(a);
}


/*
 * As test_sync_failure_rotated_twice, b.log followed by a pattern that
 * also matches its rotated names (b.log*): after each rotation the
 * pattern's entry for b.log.1 (then b.log.2) opens the rotated file at its
 * end (event=file_known: it was read under another name). At the restart
 * after the power cut that entry is made from its saved position (at the
 * end of b.log.2) before the kept position of b.log's older rotated file
 * is looked at (tail_restore_drains), which finds the file read already
 * and skips it: b1 and b2 are lost.
 */
static void
test_sync_failure_rotated_twice_glob(void **state)
{
	static const char *const files[] = { "a.log:beginning", "b.log*:beginning" };
	struct agent *a;
	uint64_t s0;

	(void)state;
	a = sync_failed_agent(files, &s0);
	rotate_twice(a);
	a = power_cut(a, files);
	if (got_count("b1") == 0 || got_count("b2") == 0)
		fail_msg("b1 %zu, b2 %zu times after the power cut", got_count("b1"),
		    got_count("b2"));
	assert_true(got_count("b3") >= 1);
	assert_true(got_count("c1") >= 1);
	assert_true(got_count("d1") >= 1);
	start_sync_ms = 0;
	stop(a);
}


/*
 * Numbered rotation with the rotated name configured too, listed first
 * (b.log.1, then b.log), while b3 is in doubt after a failed sync. After
 * the rotation b.log.1's entry opens the old b.log at its end (read before
 * under another name), b.log keeps its position before b3 (prev_*). After a
 * power cut that loses b3's record, the start opens b.log.1 first, at the
 * end of that file; b.log's own position names the same file, which is
 * then busy: b3 is never read again. (Not this change's: one rotation.)
 */
static void
test_sync_failure_rotated_busy(void **state)
{
	static const char *const files[] = { "b.log.1:beginning", "b.log:beginning" };
	struct agent *a;
	char p0[512], p1[512], p2[512];

	(void)state;
	reset();
	start_sync_ms = 100;
	put("b.log", "w", "b1\nb2\n");
	put("b.log.1", "w", "y0\n");
	a = start(5000, files, 2);
	take_all(a);
	assert_int_equal(got.n, 3);	/* b1 b2 y0: records 0 to 2 */
	put("b.log", "a", "b3\n");
	tail_poll(a->tail);
	sync_fails = true;
	assert_int_equal(agent_commit(a, true), -1);
	sync_fails = false;
	put("b.log", "a", "b4\n");
	tail_read_all(a->tail);
	assert_int_equal(agent_commit(a, true), 0);
	assert_true(spool_sync_suspect(a->spool) != 0);
	a->conf.rotate_wait_ms = 0;
	path_in(p0, sizeof(p0), "b.log");
	path_in(p1, sizeof(p1), "b.log.1");
	path_in(p2, sizeof(p2), "b.log.2");
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(rename(p0, p1), 0);
	put("b.log", "w", "c1\n");
	tail_poll(a->tail);
	tail_poll(a->tail);
	assert_int_equal(agent_commit(a, true), 0);
	harness_crash(a);
	zero_records(3, 3);	/* b3 */
	memset(&got, 0, sizeof(got));
	a = start(5000, files, 2);
	take_all(a);
	tail_poll(a->tail);
	take_all(a);
	if (got_count("b3") == 0)
		fail_msg("b3 lost (b4 %zu, c1 %zu times)", got_count("b4"), got_count("c1"));
	start_sync_ms = 0;
	stop(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_file),
		cmocka_unit_test(test_state_fp_compat),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_long_last_line),
		cmocka_unit_test(test_long_last_line_pieces),
		cmocka_unit_test(test_long_last_line_crash),
		cmocka_unit_test(test_long_last_line_pieces_crash),
		cmocka_unit_test(test_partial_line),
		cmocka_unit_test(test_copytruncate_larger),
		cmocka_unit_test(test_restart_other_content),
		cmocka_unit_test(test_rotate_drain),
		cmocka_unit_test(test_rotate_drain_restart),
		cmocka_unit_test(test_rotate_drain_crash),
		cmocka_unit_test(test_rotate_drain_twice),
		cmocka_unit_test(test_rotate_numbered_glob),
		cmocka_unit_test(test_rotate_numbered_plain_restart),
		cmocka_unit_test(test_busy_then_finished),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_limit),
		cmocka_unit_test(test_glob_name_newline),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_nul_hole),
		cmocka_unit_test(test_unreadable_said),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_steady_stream),
		cmocka_unit_test(test_steady_two_files),
		cmocka_unit_test(test_noatime),
		cmocka_unit_test(test_gap_no_saved_position),
		cmocka_unit_test(test_gap_lines_recovered),
		cmocka_unit_test(test_gap_open_hole),
		cmocka_unit_test(test_load_hole_recovered),
		cmocka_unit_test(test_gap_long_line),
		cmocka_unit_test(test_gap_long_line_crash),
		cmocka_unit_test(test_gap_hole_not_found),
		cmocka_unit_test(test_load_hole_last_record),
		cmocka_unit_test(test_load_hole_while_stopping),
		cmocka_unit_test(test_gap_two_long_lines),
		cmocka_unit_test(test_gap_long_line_recovered_crash),
		cmocka_unit_test(test_load_hole_long_last_line),
		cmocka_unit_test(test_load_hole_long_line_unfinished),
		cmocka_unit_test(test_sync_failure_lines_kept),
		cmocka_unit_test(test_sync_failure_acked),
		cmocka_unit_test(test_sync_failure_folder),
		cmocka_unit_test(test_sync_failure_restart),
		cmocka_unit_test(test_sync_failure_rotated_twice),
		cmocka_unit_test(test_sync_failure_rotated_twice_glob),
		cmocka_unit_test(test_sync_failure_rotated_busy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
