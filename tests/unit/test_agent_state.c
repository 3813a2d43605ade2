/* Unit tests of the agent's queue and on-disk state (sequence numbers, positions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "ms_rec.h"

static void
count_cb(const struct qevent *e, void *arg)
{
	uint64_t *last = arg;
	*last = e->seq;
}

static struct qevent *
ev(struct queue *q, uint64_t seq, const char *line)
{
	struct qevent *e = qevent_new(q, seq, 1000, "/var/log/x", 10, line, strlen(line));
	assert_non_null(e);
	return e;
}

static void
test_queue(void **state)
{
	struct queue q;
	uint64_t last = 0;

	(void)state;
	queue_init(&q, 3, 1 << 30);
	queue_append(&q, ev(&q, 10, "a"));
	queue_append(&q, ev(&q, 11, "bb"));
	assert_false(queue_full(&q));
	queue_append(&q, ev(&q, 12, "ccc"));
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
	queue_append(&q, ev(&q, 1, "abcd"));
	assert_true(queue_full(&q));
	queue_fini(&q);
}

/*
 * Events live in blocks freed in order (queue.c): many blocks, an event
 * bigger than a block, a discarded one, acks in pieces – every event keeps
 * its bytes until acknowledged (ASan sees any block freed too early).
 */
static void
test_queue_blocks(void **state)
{
	static char big[100000];
	struct queue q;
	char line[64];
	struct qevent *e;
	uint64_t seq = 1;

	(void)state;
	memset(big, 'x', sizeof(big));
	queue_init(&q, 1000000, (size_t)1 << 30);
	for (; seq <= 3000; seq++) {
		snprintf(line, sizeof(line), "line %llu of the queue test", (unsigned long long)seq);
		if (seq == 1500) {
			/* Not taken (the spool refused it): its room goes back. */
			e = qevent_new(&q, 999999, 1, "/x", 2, big, sizeof(big));
			assert_non_null(e);
			qevent_discard(&q, e);
			e = qevent_new(&q, 999999, 1, "/x", 2, "gone", 4);
			assert_non_null(e);
			qevent_discard(&q, e);
		}
		queue_append(&q, seq == 2000 ? qevent_new(&q, seq, 1, "/var/log/x", 10, big, sizeof(big)) :
		    ev(&q, seq, line));
	}
	assert_int_equal(q.count, 3000);
	for (uint64_t upto = 7; upto <= 3000 + 7; upto += 7) {
		queue_ack(&q, upto, NULL, NULL);
		for (e = q.head; e && e->seq <= 3000; e = e->next) {
			if (e->seq == 2000) {
				assert_int_equal(e->len, sizeof(big));
				assert_memory_equal(qevent_line(e), big, sizeof(big));
				continue;
			}
			snprintf(line, sizeof(line), "line %llu of the queue test", (unsigned long long)e->seq);
			assert_int_equal(e->len, strlen(line));
			assert_memory_equal(qevent_line(e), line, e->len);
			assert_memory_equal(e->data, "/var/log/x", 10);
			if (e->seq > upto + 70)
				break;	/* the rest is checked on later rounds */
		}
		/* New events keep coming while old ones go. */
		snprintf(line, sizeof(line), "late %llu", (unsigned long long)upto);
		queue_append(&q, ev(&q, seq++, line));
	}
	assert_true(q.head != NULL && q.head->seq > 3000);
	queue_ack(&q, seq, NULL, NULL);
	assert_null(q.head);
	assert_null(q.chunks);	/* every block freed with its last event */
	assert_int_equal(q.bytes, 0);
	e = ev(&q, seq, "after");
	queue_append(&q, e);
	assert_non_null(q.chunks);
	queue_fini(&q);
}

static char dir[] = "/tmp/minisoc-test-state-XXXXXX";

/* The clock state_open numbers from (not time(), whose coarse clock can lag it). */
static uint64_t
now_us(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A shell command emptying folder d (static buffer). */
static const char *
cmd_wipe(const char *d)
{
	static char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'/*", d);
	return cmd;
}

static void
test_state_seq(void **state)
{
	struct agent_state_file *s;
	char err[512];
	uint64_t first1, first2;
	uint64_t before = now_us();

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	first1 = state_first_seq(s);
	/* A new folder starts at the clock: microseconds since 1970 (state_open). */
	assert_true(first1 >= before && first1 <= now_us());
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
	/*
	 * The folder wiped (a reinstall) after a life that gave out a thousand
	 * numbers: once the clock has moved on past them (a millisecond here;
	 * a life uses fewer than a million a second), the new life starts
	 * above them, so none of its lines is taken for handled by the
	 * collector.
	 */
	assert_int_equal(system(cmd_wipe(dir)), 0);
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	first1 = state_first_seq(s);
	assert_int_equal(state_reserve(s, first1 + 1000), 0);
	state_close(s);
	assert_int_equal(system(cmd_wipe(dir)), 0);
	while (now_us() <= first1 + 1000)
		nanosleep(&(struct timespec){ 0, 100000 }, NULL);	/* the clock's next millisecond */
	s = state_open(dir, err, sizeof(err));
	assert_non_null(s);
	assert_true(state_first_seq(s) > first1 + 1000);
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

/* --- the file of two slots written in place (state.c) ---------------- */

static char sdir[64];

/* A new empty folder for each test (mkdtemp fills in the template). */
static void
mk_sdir(void)
{
	snprintf(sdir, sizeof(sdir), "/tmp/minisoc-test-state2-XXXXXX");
	assert_non_null(mkdtemp(sdir));
}

static void
spath(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", sdir, name);
}

/* The whole state file, its size in *size (caller frees). */
static char *
slurp(size_t *size)
{
	char path[600];
	struct stat st;
	char *p;
	FILE *f;

	spath(path, sizeof(path), "state");
	assert_int_equal(stat(path, &st), 0);
	assert_non_null(p = malloc((size_t)st.st_size + 1));
	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(fread(p, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*size = (size_t)st.st_size;
	return p;
}

static void
spill(const char *p, size_t size)
{
	char path[600];
	FILE *f;

	spath(path, sizeof(path), "state");
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(p, 1, size, f), size);
	fclose(f);
}

/* Which slot (0 or 1) holds the higher generation. */
static int
newest_slot(const char *img, size_t size)
{
	return ms_get64(img + size / 2 + 16) > ms_get64(img + 16) ? 1 : 0;
}

static void
save_one(struct agent_state_file *s, uint64_t offset)
{
	struct state_pos pos;

	memset(&pos, 0, sizeof(pos));
	snprintf(pos.path, sizeof(pos.path), "/var/log/syslog");
	pos.dev = 7;
	pos.ino = 42;
	pos.offset = offset;
	pos.has_fp = true;
	pos.fp = 0x0123456789abcdefULL;
	pos.fp_len = 99;
	assert_int_equal(state_save(s, &pos, 1), 0);
}

static uint64_t
saved_offset(void)
{
	struct agent_state_file *s;
	const struct state_pos *p;
	char err[512];
	uint64_t off;

	s = state_open(sdir, err, sizeof(err));
	if (s == NULL)
		fail_msg("state_open: %s", err);
	assert_non_null(p = state_find(s, "/var/log/syslog"));
	assert_true(p->dev == 7 && p->ino == 42 && p->has_fp && p->fp == 0x0123456789abcdefULL &&
	    p->fp_len == 99);
	off = p->offset;
	state_close(s);
	return off;
}

static void
clean_sdir(void)
{
	char path[600];

	spath(path, sizeof(path), "state");
	unlink(path);
	spath(path, sizeof(path), "state.tmp");
	unlink(path);
	rmdir(sdir);
}

/* Saves go into the same file in place, in turn into its two slots; the newest wins. */
static void
test_state_in_place(void **state)
{
	struct agent_state_file *s;
	char err[512], path[600];
	struct stat st0, st;
	char *img;
	size_t size;
	int slot;

	(void)state;
	mk_sdir();
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	spath(path, sizeof(path), "state");
	assert_int_equal(stat(path, &st0), 0);
	assert_int_equal(st0.st_size, 8192);	/* two slots of 4 KiB */
	img = slurp(&size);
	slot = newest_slot(img, size);
	free(img);
	for (uint64_t off = 1; off <= 5; off++) {
		save_one(s, off * 100);
		assert_int_equal(stat(path, &st), 0);
		/* No new file (same inode), no new size: only a slot rewritten. */
		assert_true(st.st_ino == st0.st_ino && st.st_size == st0.st_size);
		img = slurp(&size);
		assert_int_not_equal(newest_slot(img, size), slot);	/* the other slot each time */
		slot = newest_slot(img, size);
		/* Both slots whole: the older one is the save before. */
		assert_memory_equal(img, "MSSTATE2", 8);
		assert_memory_equal(img + size / 2, "MSSTATE2", 8);
		free(img);
	}
	state_close(s);
	assert_true(saved_offset() == 500);
	/* The temporary file of a new file is not left behind. */
	spath(path, sizeof(path), "state.tmp");
	assert_int_not_equal(access(path, F_OK), 0);
	clean_sdir();
}

/*
 * A crash while a slot is written: that slot fails its check and the save
 * before it is read; the next save goes into the torn slot, not over the
 * whole one.
 */
static void
test_state_torn_slot(void **state)
{
	struct agent_state_file *s;
	char err[512], *img;
	size_t size, half;
	int slot;

	(void)state;
	mk_sdir();
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	save_one(s, 100);
	save_one(s, 200);
	state_close(s);
	/* Tear the newest slot: its second half never reached the disk. */
	img = slurp(&size);
	half = size / 2;
	slot = newest_slot(img, size);
	memset(img + (size_t)slot * half + 40, 0, half - 40);
	spill(img, size);
	free(img);
	assert_true(saved_offset() == 100);
	/* That open saved (a new reservation) into the torn slot: both whole again. */
	img = slurp(&size);
	assert_int_equal(newest_slot(img, size), slot);
	assert_int_equal(ms_get32(img + (size_t)slot * half + 8),
	    ms_crc32c(img + (size_t)slot * half + 12, 12 + ms_get32(img + (size_t)slot * half + 12)));
	free(img);
	assert_true(saved_offset() == 100);

	/* One bit flipped in the newest slot's text: the same. */
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	save_one(s, 300);
	state_close(s);
	img = slurp(&size);
	slot = newest_slot(img, size);
	img[(size_t)slot * half + 30] ^= 0x10;
	spill(img, size);
	free(img);
	assert_true(saved_offset() == 100);

	/* Both slots damaged: refused with a message, not read as an empty state. */
	img = slurp(&size);
	img[30] ^= 0x10;
	img[half + 30] ^= 0x10;
	spill(img, size);
	free(img);
	assert_null(state_open(sdir, err, sizeof(err)));
	assert_non_null(strstr(err, "neither copy"));
	clean_sdir();
}

/* A file of the old format (one text, renamed into place) is read and kept: an upgrade loses nothing. */
static void
test_state_upgrade(void **state)
{
	struct agent_state_file *s;
	const struct state_pos *p;
	char err[512], path[600], *img;
	size_t size;
	FILE *f;

	(void)state;
	mk_sdir();
	spath(path, sizeof(path), "state");
	assert_non_null(f = fopen(path, "w"));
	fputs("minisoc-agent-state 1\nseq_reserved 3000001\nacked 2999000\nseq_shift 17\n"
	    "pos 7 42 12345 fp:0123456789abcdef:99 /var/log/syslog\n"
	    "pos 7 43 77 /var/log/old format.log\n", f);
	fclose(f);
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	/* the old file's reservation, or the clock's floor above it */
	assert_true(state_first_seq(s) >= 3000001);
	assert_true(state_acked(s) == 2999000);
	assert_true(state_shift(s) == 17);
	assert_int_equal(state_count(s), 2);
	assert_non_null(p = state_find(s, "/var/log/old format.log"));
	assert_true(p->ino == 43 && p->offset == 77 && !p->has_fp);
	state_close(s);
	/* Now in the new format (one slot written, the other empty), with the same content. */
	img = slurp(&size);
	assert_memory_equal(img, "MSSTATE2", 8);
	assert_memory_equal(img + size / 2, "MSSTATE2", 8);
	assert_int_equal(size, 8192);
	/* A file whose first slot is torn from its very first byte is still of the new format. */
	if (newest_slot(img, size) == 1) {
		memset(img, 0, size / 2);
		spill(img, size);
	}
	free(img);
	assert_true(saved_offset() == 12345);
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_true(state_acked(s) == 2999000 && state_shift(s) == 17);
	assert_true(state_first_seq(s) > 3000001);
	assert_non_null(state_find(s, "/var/log/old format.log"));
	state_close(s);
	clean_sdir();
}

/* More text than a slot holds: the file is written anew with bigger slots. */
static void
test_state_grows(void **state)
{
	struct agent_state_file *s;
	struct state_pos *pos;
	char err[512], path[600];
	struct stat st;
	const size_t n = AGENT_MAX_FILES;

	(void)state;
	mk_sdir();
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_non_null(pos = calloc(n, sizeof(*pos)));
	for (size_t i = 0; i < n; i++) {
		/* Long paths: 256 of them take about a MiB. */
		memset(pos[i].path, 'x', 4000);
		snprintf(pos[i].path + 4000, sizeof(pos[i].path) - 4000, "/%zu.log", i);
		pos[i].ino = i + 1;
		pos[i].offset = i * 10;
	}
	assert_int_equal(state_save(s, pos, n), 0);
	spath(path, sizeof(path), "state");
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 2 * 1000000);
	/* And saved in place again at that size. */
	pos[5].offset = 999;
	assert_int_equal(state_save(s, pos, n), 0);
	state_close(s);
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_int_equal(state_count(s), n);
	for (size_t i = 0; i < n; i++) {
		const struct state_pos *p = state_find(s, pos[i].path);
		assert_non_null(p);
		assert_true(p->ino == i + 1 && p->offset == (i == 5 ? 999 : i * 10));
	}
	state_close(s);
	free(pos);
	clean_sdir();
}

/* state_print: the newest text, in the old format's form, which an agent reads back. */
static void
test_state_print(void **state)
{
	struct agent_state_file *s;
	char err[512], path[600], *out = NULL;
	size_t outlen = 0;
	FILE *f;

	(void)state;
	mk_sdir();
	assert_int_equal(state_print(sdir, stdout, err, sizeof(err)), -1);	/* no file yet */
	assert_non_null(strstr(err, "No such file"));
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	save_one(s, 100);
	save_one(s, 4242);
	assert_non_null(f = open_memstream(&out, &outlen));
	assert_int_equal(state_print(sdir, f, err, sizeof(err)), 0);	/* while it is open */
	fclose(f);
	state_close(s);
	assert_true(strncmp(out, "minisoc-agent-state 1\nseq_reserved ", 35) == 0);
	assert_non_null(strstr(out, "\npos 7 42 4242 fp:0123456789abcdef:99 /var/log/syslog\n"));
	assert_null(strstr(out, " 100 "));
	/* Put in place of the file (a rollback to an older agent): read as the old format. */
	spath(path, sizeof(path), "state");
	assert_non_null(f = fopen(path, "w"));
	fputs(out, f);
	fclose(f);
	free(out);
	assert_true(saved_offset() == 4242);
	clean_sdir();
}

/* --- paths with control bytes: version 2 of the text (state.c) -------- */

/* Writes text as the whole state file (the old format: a text alone). */
static void
spill_text(const char *text)
{
	spill(text, strlen(text));
}

/* What state_print shows (caller frees). */
static char *
print_text(void)
{
	char err[512], *out = NULL;
	size_t outlen = 0;
	FILE *f;

	assert_non_null(f = open_memstream(&out, &outlen));
	if (state_print(sdir, f, err, sizeof(err)) != 0)
		fail_msg("state_print: %s", err);
	fclose(f);
	return out;
}

/*
 * A file name holding a newline and what would read as lines of the
 * state (a glob's match can be named so by whoever writes in its folder):
 * saved and read back, the same positions and the same acknowledged
 * number – raw, the name's "acked" line would have overridden it and every
 * unsent line would have passed for delivered.
 */
static void
test_state_path_newline(void **state)
{
	static const char *const paths[] = {
		"/var/log/g/x\nacked 9000000000000000000\npos 1 1 0 y.log",
		"/var/log/g/tab\tcr\r del\x7f back\\slash \\x41 esc\x1b.log",
		"/var/log/plain.log",
	};
	const size_t n = sizeof(paths) / sizeof(paths[0]);
	struct agent_state_file *s;
	struct state_pos pos[3];
	const struct state_pos *p;
	char err[512], *out;

	(void)state;
	mk_sdir();
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	state_set_acked(s, 1234);
	memset(pos, 0, sizeof(pos));
	for (size_t i = 0; i < n; i++) {
		snprintf(pos[i].path, sizeof(pos[i].path), "%s", paths[i]);
		pos[i].dev = 7;
		pos[i].ino = 100 + i;
		pos[i].offset = 10 * i + 1;
		pos[i].has_fp = i != 1;
		pos[i].fp = 0xabcULL + i;
		pos[i].fp_len = 5;
	}
	assert_int_equal(state_save(s, pos, n), 0);
	state_close(s);
	/* Version 2, one line per position, no raw control byte in a path. */
	out = print_text();
	assert_true(strncmp(out, "minisoc-agent-state 2\n", 22) == 0);
	assert_non_null(strstr(out, "\nacked 1234\n"));
	assert_null(strstr(out, "9000000000000000000\n"));
	assert_non_null(strstr(out, " /var/log/g/x\\x0aacked 9000000000000000000\\x0apos 1 1 0 y.log\n"));
	assert_non_null(strstr(out, " /var/log/g/tab\\x09cr\\x0d del\\x7f back\\x5cslash \\x5cx41 "
	    "esc\\x1b.log\n"));
	assert_non_null(strstr(out, " /var/log/plain.log\n"));
	free(out);
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_true(state_acked(s) == 1234);
	assert_int_equal(state_count(s), n);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(p = state_find(s, paths[i]));
		assert_true(p->dev == 7 && p->ino == 100 + i && p->offset == 10 * i + 1 &&
		    p->has_fp == (i != 1));
		if (p->has_fp)
			assert_true(p->fp == 0xabcULL + i && p->fp_len == 5);
	}
	/* Once no such name is saved, version 1 again (what an older agent reads). */
	assert_int_equal(state_save(s, &pos[2], 1), 0);
	state_close(s);
	out = print_text();
	assert_true(strncmp(out, "minisoc-agent-state 1\n", 22) == 0);
	free(out);
	clean_sdir();
}

/*
 * Version 1 as older agents wrote it: a path with backslashes is read as
 * it is (no escapes in version 1), and written back so.
 */
static void
test_state_v1_backslash(void **state)
{
	static const char path[] = "/var/log/a\\x0ab\\\\c\\.log";
	struct agent_state_file *s;
	const struct state_pos *p;
	char err[512], *out;

	(void)state;
	mk_sdir();
	spill_text("minisoc-agent-state 1\nseq_reserved 3000001\nacked 5\n"
	    "pos 7 42 99 fp:0123456789abcdef:10 /var/log/a\\x0ab\\\\c\\.log\n");
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_true(state_acked(s) == 5);
	assert_int_equal(state_count(s), 1);
	assert_non_null(p = state_find(s, path));
	assert_true(p->ino == 42 && p->offset == 99 && p->has_fp && p->fp_len == 10);
	state_close(s);
	out = print_text();
	assert_true(strncmp(out, "minisoc-agent-state 1\n", 22) == 0);
	assert_non_null(strstr(out, " /var/log/a\\x0ab\\\\c\\.log\n"));
	free(out);
	clean_sdir();
}

/* Version 2's escapes: either case read; anything else refused as a damaged line is. */
static void
test_state_v2_escapes(void **state)
{
	static const struct {
		const char *path;	/* as in the file */
		const char *want;	/* read as, NULL: refused */
	} cases[] = {
		{ "/a\\x0Ab\\x0ac\\x5C", "/a\nb\nc\\" },
		{ "/a b\\x7F", "/a b\x7f" },
		{ "/\xc3\xa9t\xc3\xa9.log", "/\xc3\xa9t\xc3\xa9.log" },
		{ "/a\\x4", NULL },
		{ "/a\\x", NULL },
		{ "/a\\", NULL },
		{ "/a\\n", NULL },
		{ "/a\\\\", NULL },
		{ "/a\\xg0", NULL },
		{ "/a\\x0g", NULL },
		{ "/a\\x00b", NULL },
		{ "/a\tb", NULL },
		{ "\\x", NULL },
	};
	struct agent_state_file *s;
	const struct state_pos *p;
	char err[512], text[256];

	(void)state;
	mk_sdir();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "minisoc-agent-state 2\nseq_reserved 12\nacked 3\n"
		    "pos 1 2 3 fp:00000000000000ff:4 %s\n", cases[i].path);
		spill_text(text);
		s = state_open(sdir, err, sizeof(err));
		if (cases[i].want == NULL) {
			if (s != NULL)
				fail_msg("case %zu (%s): read, should be refused", i, cases[i].path);
			assert_non_null(strstr(err, "line 4 is not understood"));
			continue;
		}
		if (s == NULL)
			fail_msg("case %zu (%s): %s", i, cases[i].path, err);
		assert_non_null(p = state_find(s, cases[i].want));
		assert_true(p->ino == 2 && p->offset == 3 && p->has_fp && p->fp == 0xff);
		assert_true(state_acked(s) == 3);
		state_close(s);
	}
	/* A version this agent does not know. */
	spill_text("minisoc-agent-state 3\nseq_reserved 12\n");
	assert_null(state_open(sdir, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1 is not understood"));
	clean_sdir();
}

/*
 * The longest paths, every byte escaped: 256 of them fit (the line buffer
 * and STATE_MAX_TEXT are sized for it), saved and read back.
 */
static void
test_state_v2_longest(void **state)
{
	struct agent_state_file *s;
	struct state_pos *pos;
	char err[512];
	const size_t n = AGENT_MAX_FILES;

	(void)state;
	mk_sdir();
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_non_null(pos = calloc(n, sizeof(*pos)));
	for (size_t i = 0; i < n; i++) {
		size_t l = sizeof(pos[i].path) - 1;

		memset(pos[i].path, '\n', l);
		pos[i].path[0] = '/';
		snprintf(pos[i].path + l - 4, 5, "%04zu", i);
		pos[i].dev = UINT64_MAX;
		pos[i].ino = UINT64_MAX - i;
		pos[i].offset = UINT64_MAX;
		pos[i].has_fp = true;
		pos[i].fp = UINT64_MAX;
		pos[i].fp_len = AGENT_FP_BYTES;
	}
	assert_int_equal(state_save(s, pos, n), 0);
	state_close(s);
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	assert_int_equal(state_count(s), n);
	for (size_t i = 0; i < n; i++) {
		const struct state_pos *p = state_get(s, i);

		assert_string_equal(p->path, pos[i].path);
		assert_true(p->ino == UINT64_MAX - i && p->offset == UINT64_MAX && p->fp_len == AGENT_FP_BYTES);
	}
	state_close(s);
	free(pos);
	clean_sdir();
}

/* The state file's descriptor in this process (found by its path in /proc/self/fd). */
static int
state_fd(void)
{
	char path[600], link[64], target[700];

	spath(path, sizeof(path), "state");
	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			return fd;
	}
	fail_msg("state file not open");
	return -1;
}

/* What state_print shows for key (a number), or UINT64_MAX when absent. */
static uint64_t
printed(const char *key)
{
	char err[512], *out = NULL, *p;
	size_t outlen = 0;
	uint64_t v = UINT64_MAX;
	FILE *f;

	assert_non_null(f = open_memstream(&out, &outlen));
	assert_int_equal(state_print(sdir, f, err, sizeof(err)), 0);
	fclose(f);
	if ((p = strstr(out, key)) != NULL)
		v = strtoull(p + strlen(key), NULL, 10);
	free(out);
	return v;
}

/*
 * A save that fails (a disk error: here the file's descriptor turned
 * read-only) changes nothing: a failed reservation is asked for again by
 * the next number (kept in memory, numbers would have gone out that no
 * reservation on disk covers, and a crash could give them out twice), and
 * a failed shift is not written by the next save.
 */
static void
test_state_failed_save(void **state)
{
	struct agent_state_file *s;
	char err[512];
	uint64_t first, reserved;
	int fd, saved, ro;

	(void)state;
	mk_sdir();
	assert_non_null(s = state_open(sdir, err, sizeof(err)));
	first = state_first_seq(s);
	reserved = printed("seq_reserved ");
	assert_true(reserved > first);
	fd = state_fd();
	assert_true((saved = dup(fd)) >= 0);
	assert_true((ro = open("/dev/null", O_RDONLY)) >= 0);
	assert_true(dup2(ro, fd) == fd);
	assert_int_equal(state_reserve(s, reserved), -1);
	assert_int_equal(state_set_shift(s, 77), -1);
	assert_true(state_shift(s) == 0);
	assert_true(dup2(saved, fd) == fd);
	close(saved);
	close(ro);
	/* the disk works again: the next number is reserved on disk */
	assert_int_equal(state_reserve(s, reserved + 1), 0);
	assert_true(printed("seq_reserved ") > reserved + 1);
	assert_true(printed("seq_shift ") == 0);
	state_close(s);
	clean_sdir();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_queue_blocks),
		cmocka_unit_test(test_state_seq),
		cmocka_unit_test(test_state_positions),
		cmocka_unit_test(test_state_in_place),
		cmocka_unit_test(test_state_torn_slot),
		cmocka_unit_test(test_state_upgrade),
		cmocka_unit_test(test_state_grows),
		cmocka_unit_test(test_state_print),
		cmocka_unit_test(test_state_failed_save),
		cmocka_unit_test(test_state_path_newline),
		cmocka_unit_test(test_state_v1_backslash),
		cmocka_unit_test(test_state_v2_escapes),
		cmocka_unit_test(test_state_v2_longest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
