/*
 * Unit tests of the collector's spool file (journal.c) on a real folder:
 * records come back as written, a torn or corrupt tail is cut at open, the
 * size cap refuses without leaving anything, and reset empties the file;
 * damage between good records costs its block and no more, a tear after
 * the last sync is cut, bytes forged inside a record are never taken for
 * one, blocks the disk cannot read (pread wrapped: -Wl,--wrap=pread) are
 * read again or stop the start, and an older collector's file is read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "ms_rec.h"
#include "disk_fault.h"
#include "sync_fault.h"

static char dir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_journal.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
put(struct journal *j, uint8_t kind, const char *agent, uint64_t seq, const char *c1,
    const char *c2)
{
	struct journal_rec r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.agent = agent;
	r.agent_len = strlen(agent);
	r.seq = seq;
	r.nalerts = 2;
	r.cmd[r.ncmds] = c1;
	r.cmdlen[r.ncmds++] = strlen(c1);
	if (c2) {
		r.cmd[r.ncmds] = c2;
		r.cmdlen[r.ncmds++] = strlen(c2);
	}
	assert_int_equal(journal_append(j, &r), 0);
}

static void
test_roundtrip(void **state)
{
	char err[256];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;

	(void)state;
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), 0);
	put(j, 7, "web1", 42, "*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nEXEC\r\n");
	put(j, 3, "", 0, "*1\r\n$5\r\nMULTI\r\n", NULL);
	assert_int_equal(journal_sync(j), 0);
	journal_free(j);

	/* Reopened: both records, as written. */
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 2);
	assert_int_equal(journal_read(j, off, &r, &next), 1);
	assert_int_equal(r.kind, 7);
	assert_int_equal(r.seq, 42);
	assert_int_equal(r.nalerts, 2);
	assert_int_equal(r.agent_len, 4);
	assert_memory_equal(r.agent, "web1", 4);
	assert_int_equal(r.ncmds, 2);
	assert_int_equal(r.cmdlen[1], strlen("*1\r\n$4\r\nEXEC\r\n"));
	assert_memory_equal(r.cmd[1], "*1\r\n$4\r\nEXEC\r\n", r.cmdlen[1]);
	off = next;
	assert_int_equal(journal_read(j, off, &r, &next), 1);
	assert_int_equal(r.kind, 3);
	assert_int_equal(r.agent_len, 0);
	assert_int_equal(r.ncmds, 1);
	/* After them only the sync's mark, which is not read as a record. */
	assert_int_equal(journal_read(j, next, &r, &next), 0);
	assert_int_equal(next, journal_size(j));

	assert_int_equal(journal_reset(j), 0);
	assert_int_equal(journal_size(j), 0);
	journal_free(j);
}

static void
test_torn_and_corrupt_tail(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t good;
	int fd;
	struct stat sb;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	put(j, 1, "a", 1, "x", NULL);
	good = journal_size(j);
	put(j, 1, "a", 2, "y", NULL);
	journal_free(j);

	/* A crash in the middle of the second record's write. */
	assert_int_equal(truncate(path, (off_t)good + 7), 0);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), good);
	assert_int_equal(journal_stats(j)->recovered, 1);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 7);
	put(j, 1, "a", 3, "z", NULL);
	journal_free(j);

	/* A flipped byte in the last record: it is cut, the first stays. */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "Q", 1, (off_t)good + 20), 1);
	close(fd);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), good);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((uint64_t)sb.st_size, good);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);

	/* Garbage from the first byte: nothing usable, an empty journal. */
	fd = open(path, O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage!garbage!", 16), 16);
	close(fd);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), 0);
	journal_free(j);
}

static void
test_cap(void **state)
{
	char err[256], big[4000];
	struct journal *j;
	struct journal_rec r;
	uint64_t size;
	int n = 0;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	j = journal_open(dir, 65536, err, sizeof(err));
	assert_non_null(j);
	memset(&r, 0, sizeof(r));
	r.ncmds = 1;
	r.cmd[0] = big;
	r.cmdlen[0] = strlen(big);
	while (journal_append(j, &r) == 0)
		n++;
	assert_true(n > 10 && n < 17);
	size = journal_size(j);
	assert_true(size <= 65536);
	assert_int_equal(journal_stats(j)->full, 1);
	/* Refused whole: nothing of it stays, and the journal still reads. */
	journal_free(j);
	j = journal_open(dir, 65536, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_size(j), size);
	assert_int_equal(journal_stats(j)->recovered, (uint64_t)n);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
	r.ncmds = JOURNAL_MAX_CMDS + 1;
	assert_int_equal(journal_append(j, &r), -1);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);

	/* A folder that cannot be made is an error with its name. */
	assert_null(journal_open("/proc/minisoc-no/such", 65536, err, sizeof(err)));
	assert_non_null(strstr(err, "/proc/minisoc-no/such"));
}

/* --- disk faults: pread (disk_fault.h) and fdatasync (sync_fault.h) of the journal fail --- */

/* The monotonic clock, moved on by clock_skip_ns (the replay's 30 s hold, passed at once). */
static long long clock_skip_ns;

int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);

int
__wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = __real_clock_gettime(id, ts);

	if (rc == 0 && id == CLOCK_MONOTONIC && clock_skip_ns != 0) {
		long long ns = (long long)ts->tv_nsec + clock_skip_ns % 1000000000LL;

		ts->tv_sec += (time_t)(clock_skip_ns / 1000000000LL + ns / 1000000000LL);
		ts->tv_nsec = (long)(ns % 1000000000LL);
	}
	return rc;
}

/* A record numbered seq whose one command is a 300-byte text naming it. */
static void
put_numbered(struct journal *j, uint64_t seq)
{
	char cmd[301];

	memset(cmd, 'x', 300);
	snprintf(cmd, sizeof(cmd), "record %llu ", (unsigned long long)seq);
	cmd[strlen(cmd)] = 'x';
	cmd[300] = '\0';
	put(j, 1, "web1", seq, cmd, NULL);
}

/*
 * Reads the whole journal: the numbers of the records found (in order)
 * into got, their count returned; *skipped counts the damaged places.
 */
static size_t
read_all(struct journal *j, uint64_t *got, size_t max, int *skipped)
{
	struct journal_rec r;
	uint64_t off = 0, next;
	size_t n = 0;
	int rc;

	*skipped = 0;
	while ((rc = journal_read(j, off, &r, &next)) > 0) {
		assert_true(next > off);
		if (rc == 2) {
			(*skipped)++;
		} else {
			unsigned long long v;
			assert_true(r.ncmds == 1 && r.cmdlen[0] == 300);
			assert_int_equal(sscanf(r.cmd[0], "record %llu ", &v), 1);
			assert_int_equal(v, r.seq);
			assert_true(n < max);
			got[n++] = r.seq;
		}
		off = next;
	}
	assert_int_equal(rc, 0);
	return n;
}

static void
damage(const char *path, off_t at, size_t len, char c)
{
	char b[4096];
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0 && len <= sizeof(b));
	memset(b, c, len);
	assert_int_equal(pwrite(fd, b, len, at), (ssize_t)len);
	close(fd);
}

static uint64_t
file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

/* Writes n numbered records, synced every ten (as the sink's group commit would). */
static struct journal *
journal_of(int n, bool sync_last)
{
	char err[256];
	struct journal *j = journal_open(dir, 1 << 24, err, sizeof(err));

	assert_non_null(j);
	for (int i = 1; i <= n; i++) {
		put_numbered(j, (uint64_t)i);
		if (i % 10 == 0 && (i < n || sync_last))
			assert_int_equal(journal_sync(j), 0);
	}
	return j;
}

/*
 * A block damaged in the middle of synced records (bits gone wrong, a
 * block rewritten by a failing disk): the records in it are lost, every
 * other one is kept, at open and when read back while running.
 */
static void
test_damage_in_the_middle(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t got[400];
	int skipped;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	for (int how = 0; how < 4; how++) {
		j = journal_of(300, true);
		assert_true(file_size(path) > 20 * 4096);
		if (how == 2) {
			/* While running: a block goes bad under the open journal. */
			damage(path, 10 * 4096 + 100, 50, 'Q');
			n = read_all(j, got, 400, &skipped);
		} else {
			journal_free(j);
			/* 'Q's over a block's start (0), zeros inside one (1), its last byte (3). */
			if (how == 3)
				damage(path, 11 * 4096 - 1, 1, 'Q');
			else
				damage(path, how == 0 ? 10 * 4096 : 10 * 4096 + 2000, 50, how == 0 ? 'Q' : 0);
			j = journal_open(dir, 1 << 24, err, sizeof(err));
			assert_non_null(j);
			assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
			assert_true(journal_stats(j)->damaged == 1);
			assert_true(journal_stats(j)->damaged_bytes > 0 &&
			    journal_stats(j)->damaged_bytes <= 2 * 4096);
			n = read_all(j, got, 400, &skipped);
			assert_int_equal(n, journal_stats(j)->recovered);
		}
		/* A block holds 12 such records; one damaged loses at most 14 (two cut across). */
		assert_int_equal(skipped, 1);
		assert_true(n >= 300 - 14 && n < 300);
		for (size_t i = 1; i < n; i++)
			assert_true(got[i] > got[i - 1]);
		assert_int_equal(got[0], 1);
		assert_int_equal(got[n - 1], 300);
		/* What was lost is one run of records. */
		for (size_t i = 1; i < n; i++)
			assert_true(got[i] == got[i - 1] + 1 || got[i] == got[i - 1] + 300 - n + 1);
		/* Appends go on after the damage. */
		put_numbered(j, 301);
		assert_int_equal(read_all(j, got, 400, &skipped), n + 1);
		assert_int_equal(journal_reset(j), 0);
		journal_free(j);
	}
}

/*
 * A crash tears what was written after the last sync: bytes that do not
 * check there, with records after them that no later record vouches for,
 * are cut with everything after them (those records' agents were not
 * acknowledged and send them again).
 */
static void
test_tear_after_sync(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t got[400], synced;
	int skipped;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_of(100, true);
	synced = journal_size(j);
	for (int i = 101; i <= 200; i++)
		put_numbered(j, (uint64_t)i);
	journal_free(j);
	/* A block written after the sync never reached the disk (zeros), later ones did. */
	damage(path, (off_t)(synced / 4096 + 2) * 4096, 4096, 0);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->damaged, 0);
	assert_true(journal_stats(j)->corrupt_bytes > 4096);
	n = read_all(j, got, 400, &skipped);
	assert_int_equal(skipped, 0);
	assert_true(n >= 100 && n < 200 - 12);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], i + 1);
	assert_int_equal(file_size(path), journal_size(j));
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * A record whose command holds bytes laid out as this format's fragments
 * (a whole forged record, CRCs right, at every offset an agent's text
 * could put it): after damage before it, reading resumes at a block's
 * start, which is always the writer's header, and never takes them.
 */
static void
test_forged_fragments(void **state)
{
	char err[256], path[300], forged[3000], frag[64];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;
	size_t flen = 16 + 28 + 4 + 6, got = 0;
	int rc, skipped = 0, fd;
	char hdr[16];

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	/*
	 * One forged whole record: kind 1, seq 2^60, one command "FORGED", of
	 * the file's generation (random, never sent anywhere: this test gives
	 * it to the forger all the same).
	 */
	memset(frag, 0, sizeof(frag));
	ms_put16(frag + 4, (uint16_t)(flen - 16));
	frag[6] = 1;
	frag[16] = 1;
	ms_put64(frag + 16 + 4, UINT64_C(1) << 60);
	ms_put32(frag + 16 + 16, 1);
	ms_put32(frag + 16 + 28, 6);
	memcpy(frag + 16 + 32, "FORGED", 6);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	put(j, 1, "web1", 1, "first", NULL);
	/* The forger knows the file's generation (read from its header). */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, hdr, 16, 0), 16);
	close(fd);
	memcpy(frag + 8, hdr + 8, 8);
	ms_put32(frag, ms_crc32c(frag + 4, 4 + flen - 4));
	/* Copies at every byte offset modulo the fragment's length. */
	memset(forged, 'f', sizeof(forged));
	for (size_t i = 0; i + flen + 1 <= sizeof(forged); i += flen + 1) {
		memcpy(forged + i, frag, flen);
		forged[i + flen] = (char)('a' + i % 7);
	}
	for (int i = 2; i <= 60; i++) {
		struct journal_rec w;

		memset(&w, 0, sizeof(w));
		w.kind = 1;
		w.agent = "web1";
		w.agent_len = 4;
		w.seq = (uint64_t)i;
		w.ncmds = 1;
		w.cmd[0] = forged;
		w.cmdlen[0] = sizeof(forged);
		assert_int_equal(journal_append(j, &w), 0);
		if (i % 5 == 0)
			assert_int_equal(journal_sync(j), 0);
	}
	journal_free(j);
	for (int b = 2; b < 40; b += 5)
		damage(path, (off_t)b * 4096 + 17 * b, 40, 'Q');
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
	while ((rc = journal_read(j, off, &r, &next)) > 0) {
		if (rc == 2) {
			skipped++;
		} else {
			assert_true(r.seq >= 1 && r.seq <= 60);
			assert_int_equal(r.ncmds, 1);
			if (r.seq == 1) {
				assert_memory_equal(r.cmd[0], "first", r.cmdlen[0]);
			} else {
				assert_int_equal(r.cmdlen[0], sizeof(forged));
				assert_memory_equal(r.cmd[0], forged, sizeof(forged));
			}
			got++;
		}
		off = next;
	}
	assert_int_equal(rc, 0);
	assert_true(skipped >= 1);
	assert_true(got >= 60 - 8 * 3 && got < 60);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * Blocks the disk cannot read: a passing fault is read again and loses
 * nothing; a lasting one between good records is skipped like damage;
 * one where the tail would be cut stops the start and cuts nothing.
 */
static void
test_unreadable(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t got[400], size;
	int skipped;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_of(300, true);
	size = journal_size(j);
	journal_free(j);

	fault_on(path, 10 * 4096, 11 * 4096, 2);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(fault.hits, 2);
	assert_int_equal(journal_stats(j)->recovered, 300);
	assert_int_equal(journal_stats(j)->unreadable_bytes, 0);
	journal_free(j);

	fault_on(path, 10 * 4096, 11 * 4096, -1);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->unreadable_bytes, 4096);
	assert_int_equal(journal_stats(j)->damaged, 1);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
	assert_true(read_all(j, got, 400, &skipped) >= 300 - 14);
	assert_int_equal(skipped, 1);
	journal_free(j);

	/* The last block: nothing after it vouches for it, and it is not a tear. */
	fault_on(path, (off_t)(size - 1) / 4096 * 4096, (off_t)size, -1);
	assert_null(journal_open(dir, 1 << 24, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot be read"));
	fault.ino = 0;
	assert_int_equal(file_size(path), size);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 300);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/* An older collector's file (MSJ1 records) is read, appended to in its format, then replaced. */
static void
test_older_format(void **state)
{
	char err[256], path[300], rec[128];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;
	size_t len = 12 + 20 + 4 + 2 + 5;
	FILE *f;
	int n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	memset(rec, 0, sizeof(rec));
	rec[12] = 1;
	ms_put16(rec + 14, 2);
	ms_put64(rec + 16, 9);
	ms_put32(rec + 28, 1);
	ms_put32(rec + 32, 5);
	memcpy(rec + 36, "a1", 2);
	memcpy(rec + 38, "HELLO", 5);
	ms_rec_seal(rec, "MSJ1", len);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(rec, 1, len, f), len);
	assert_int_equal(fwrite(rec, 1, len, f), len);
	fclose(f);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 2);
	put(j, 1, "a1", 10, "WORLD", NULL);
	while (journal_read(j, off, &r, &next) == 1) {
		assert_int_equal(r.seq, n < 2 ? 9 : 10);
		assert_memory_equal(r.cmd[0], n < 2 ? "HELLO" : "WORLD", 5);
		n++;
		off = next;
	}
	assert_int_equal(n, 3);
	assert_int_equal(off, 3 * len);
	/* Emptied: this version's format from the next record. */
	assert_int_equal(journal_reset(j), 0);
	put(j, 1, "a1", 11, "AGAIN", NULL);
	journal_free(j);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fread(rec, 1, 4, f), 4);
	fclose(f);
	assert_memory_equal(rec, "MSJ2", 4);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 1);
	assert_int_equal(journal_read(j, 0, &r, &next), 1);
	assert_int_equal(r.seq, 11);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/* Records bigger than a block: split into fragments, whole again when read. */
static void
test_big_records(void **state)
{
	char err[256];
	static char big[3][20000];
	struct journal *j;
	struct journal_rec r;
	uint64_t off = 0, next;

	(void)state;
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(big[k]) - 1; i++)
			big[k][i] = (char)('a' + (i * (k + 3)) % 26);
		big[k][sizeof(big[k]) - 1 - (size_t)k * 4321] = '\0';
	}
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	for (int k = 0; k < 3; k++)
		put(j, 2, "b", (uint64_t)k + 1, big[k], k == 1 ? "tail" : NULL);
	journal_free(j);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(journal_read(j, off, &r, &next), 1);
		assert_int_equal(r.seq, (uint64_t)k + 1);
		assert_int_equal(r.cmdlen[0], strlen(big[k]));
		assert_memory_equal(r.cmd[0], big[k], r.cmdlen[0]);
		assert_int_equal(r.ncmds, k == 1 ? 2 : 1);
		off = next;
	}
	assert_int_equal(off, journal_size(j));
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * The last records before a stop, all synced: damage among them costs
 * its block and no more (the sync's mark vouches for the blocks after
 * it), and is counted once however often it is read. (Damage in the
 * file's last block is cut as a tear: reading would resume at the next
 * block, and there is none, so it costs the same.)
 */
static void
test_damage_in_the_last_batch(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t got[64];
	int skipped;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	for (int i = 1; i <= 40; i++) {
		put_numbered(j, (uint64_t)i);
		if (i == 20 || i == 40)
			assert_int_equal(journal_sync(j), 0);
	}
	assert_true(journal_size(j) > 3 * 4096);
	journal_free(j);
	/* In the second block, among the records of the last sync's batch (21..40). */
	damage(path, 4096 + 3600, 30, 'Q');
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
	n = read_all(j, got, 64, &skipped);
	assert_int_equal(skipped, 1);
	assert_true(n >= 40 - 14 && n < 40);
	assert_int_equal(got[n - 1], 40);
	n = read_all(j, got, 64, &skipped);
	assert_int_equal(journal_stats(j)->damaged, 1);
	assert_true(journal_stats(j)->damaged_bytes <= 2 * 4096);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * Blocks left from before the file was emptied (a write the disk lost)
 * are not this file's: after a tear they neither vouch for it nor come
 * back as records.
 */
static void
test_stale_blocks(void **state)
{
	char err[256], path[300], old[8 * 4096];
	struct journal *j;
	uint64_t got[400], synced;
	int skipped, fd;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	/* Generation 1: records 1001.. with large synced values, kept aside. */
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	for (int i = 1; i <= 200; i++) {
		put_numbered(j, 1000 + (uint64_t)i);
		assert_int_equal(journal_sync(j), 0);
	}
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, old, sizeof(old), 10 * 4096), (ssize_t)sizeof(old));
	close(fd);
	assert_int_equal(journal_reset(j), 0);
	/* Generation 2: synced up to record 60, then unsynced ones, torn. */
	for (int i = 1; i <= 150; i++) {
		put_numbered(j, (uint64_t)i);
		if (i == 60)
			assert_int_equal(journal_sync(j), 0);
	}
	synced = journal_size(j);
	assert_true(synced > 12 * 4096);
	journal_free(j);
	/* A block after the sync never written, blocks of generation 1 where later ones were. */
	damage(path, 7 * 4096, 4096, 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, old, sizeof(old), 10 * 4096), (ssize_t)sizeof(old));
	close(fd);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->damaged, 0);
	n = read_all(j, got, 400, &skipped);
	assert_int_equal(skipped, 0);
	/* Everything from the tear is cut: the torn records' agents send them again. */
	assert_true(n >= 60 && n < 7 * 4096 / 344 + 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], i + 1);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/* An older collector's file whose first bytes are damaged: never read on as this format. */
static void
test_older_format_damaged(void **state)
{
	char err[256], path[300], frag[64];
	static char file[40 * (12 + 20 + 4 + 2 + 1900)];
	struct journal *j;
	struct journal_rec r;
	uint64_t next;
	size_t flen = 16 + 28 + 4 + 6, len = 12 + 20 + 4 + 2 + 1900;
	int nforged = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	/*
	 * Forged fragments of this format in MSJ1 commands, of the generation
	 * a reader guessing the format would take (the bytes where this
	 * format's first fragment would hold it: nalerts 0, ncmds 1).
	 */
	memset(frag, 0, sizeof(frag));
	ms_put16(frag + 4, (uint16_t)(flen - 16));
	frag[6] = 1;
	ms_put64(frag + 8, UINT64_C(1) << 32);
	frag[16] = 1;
	ms_put64(frag + 16 + 4, UINT64_C(1) << 60);
	ms_put32(frag + 16 + 16, 1);
	ms_put32(frag + 16 + 28, 6);
	memcpy(frag + 16 + 32, "FORGED", 6);
	ms_put32(frag, ms_crc32c(frag + 4, 4 + flen - 16));
	/* 40 records; a forged fragment at every block start that falls in a command. */
	for (int i = 0; i < 40; i++) {
		char *p = file + (size_t)i * len;

		memset(p, 'c', len);
		memset(p, 0, 38);
		p[12] = 1;
		ms_put16(p + 14, 2);
		ms_put64(p + 16, (uint64_t)i + 1);
		ms_put32(p + 28, 1);
		ms_put32(p + 32, 1900);
		memcpy(p + 36, "a1", 2);
	}
	for (size_t pos = 4096; pos + flen <= sizeof(file); pos += 4096)
		if (pos % len >= 38 && pos % len + flen <= len) {
			/* Claiming the bytes before it synced: as strong a proof as a record can give. */
			memcpy(file + pos, frag, flen);
			ms_put64(file + pos + 16 + 20, pos);
			ms_put32(file + pos, ms_crc32c(file + pos + 4, flen - 4));
			nforged++;
		}
	assert_true(nforged >= 10);
	for (int i = 0; i < 40; i++)
		ms_rec_seal(file + (size_t)i * len, "MSJ1", len);
	file[1] ^= 0x20;	/* the magic damaged */
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(file, 1, sizeof(file), f), sizeof(file));
	fclose(f);
	j = journal_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(j);
	/* Neither format's start: nothing is read (as before this version), nothing forged. */
	assert_int_equal(journal_read(j, 0, &r, &next), 0);
	assert_int_equal(journal_size(j), 0);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * A block the disk stops reading while the collector runs (not at open):
 * the read waits (-1, EIO) while it lasts, and loses nothing once it passes.
 */
static void
test_unreadable_while_running(void **state)
{
	char err[256], path[300];
	struct journal *j;
	struct journal_rec r;
	uint64_t got[400], off = 0, next;
	int skipped, rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_of(300, true);
	journal_free(j);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	fault_on(path, 10 * 4096, 11 * 4096, -1);
	while ((rc = journal_read(j, off, &r, &next)) == 1)
		off = next;
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EIO);
	assert_true(off < 10 * 4096 && off > 8 * 4096);
	assert_int_equal(journal_read(j, off, &r, &next), -1);
	assert_int_equal(errno, EIO);
	/*
	 * Tried again (a second later) while it lasts: one read of the block,
	 * no pauses between reads – they would stall the event loop.
	 */
	{
		int hits = fault.hits;

		for (int i = 0; i < 50 && fault.hits == hits; i++) {
			struct timespec ts = { 0, 100000000L };
			nanosleep(&ts, NULL);
			assert_int_equal(journal_read(j, off, &r, &next), -1);
			assert_int_equal(errno, EIO);
		}
		assert_int_equal(fault.hits, hits + 1);
	}
	/* The disk back: the read succeeds when tried again (at most once a second). */
	fault.ino = 0;
	for (int i = 0; i < 50 && (rc = journal_read(j, off, &r, &next)) == -1; i++) {
		struct timespec ts = { 0, 100000000L };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(rc, 1);
	/* Read again: back to reading ahead (one block at a time only while waiting). */
	pread_max = 0;
	assert_int_equal(read_all(j, got, 400, &skipped), 300);
	assert_true(pread_max > 4096);
	assert_int_equal(skipped, 0);
	assert_int_equal(journal_stats(j)->damaged, 0);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * A journal whose first record has fragments in blocks 0, 1 and 2 (40
 * records, synced, opened again), block 1 gone bad while running: the
 * replay holds there. Its path in path.
 */
static struct journal *
held_at_block1(char *path, size_t pathsz)
{
	char err[256];
	static char big[9001];
	struct journal *j;
	struct journal_rec r;
	uint64_t next;

	snprintf(path, pathsz, "%s/sink.journal", dir);
	memset(big, 'b', sizeof(big) - 1);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	put(j, 2, "b", 1, big, NULL);	/* fragments in blocks 0, 1 and 2 */
	for (int i = 2; i <= 40; i++)
		put_numbered(j, (uint64_t)i);
	assert_int_equal(journal_sync(j), 0);
	journal_free(j);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 40);
	put_numbered(j, 41);	/* the scan's window dropped: the blocks are read again */

	fault_on(path, 4096, 8192, -1);	/* block 1 goes bad while running */
	assert_int_equal(journal_read(j, 0, &r, &next), -1);
	assert_int_equal(errno, EIO);
	return j;
}

/*
 * The replay holds at a record whose block the disk cannot read; when the
 * 30 s are up, the disk reads that block again but fails the record's
 * next block once (a passing fault). That block was never held: the try
 * that ends the hold reads it again as any read does, and the record is
 * read, not skipped with the blocks after it.
 */
static void
test_unreadable_hold_expiry_passing_fault(void **state)
{
	char path[300];
	struct journal *j = held_at_block1(path, sizeof(path));
	struct journal_rec r;
	uint64_t next;
	int rc = -1;

	(void)state;
	clock_skip_ns = 31 * 1000000000LL;	/* the hold is over */
	fault_on(path, 8192, 12288, 1);	/* block 1 reads again; block 2 fails once */
	rc = journal_read(j, 0, &r, &next);
	clock_skip_ns = 0;
	fault.ino = 0;
	assert_int_equal(journal_stats(j)->damaged, 0);
	assert_int_equal(rc, 1);
	assert_int_equal(r.seq, 1);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * test_unreadable_hold_expiry_passing_fault, but the try is made at 29.5 s
 * and the disk takes 1.5 s to fail block 2 once (a passing fault): the
 * try began inside the hold and read each block once, so it does not end
 * the hold and skip the record; a later one, with the usual retries, does.
 */
static void
slow_fault_hook(int fd, size_t n, off_t off)
{
	(void)fd;
	if (fault.ino != 0 && fault.times != 0 && off < fault.to && off + (off_t)n > fault.from)
		clock_skip_ns = 31 * 1000000000LL;	/* this failing read takes the disk 1.5 s */
}

static void
test_unreadable_hold_expiry_during_try(void **state)
{
	char path[300];
	struct journal *j = held_at_block1(path, sizeof(path));
	struct journal_rec r;
	uint64_t next;
	int rc = -1;

	(void)state;
	clock_skip_ns = 29500000000LL;	/* a try inside the hold */
	fault_on(path, 8192, 12288, 1);	/* block 1 reads again; block 2 fails once, slowly */
	pread_hook = slow_fault_hook;
	rc = journal_read(j, 0, &r, &next);
	pread_hook = NULL;
	clock_skip_ns = 0;
	fault.ino = 0;
	/* held again (-1) or read (1): not skipped as damage */
	assert_int_equal(journal_stats(j)->damaged, 0);
	assert_int_not_equal(rc, 2);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * The replay waiting at an unreadable block asks the disk at most once a
 * second, whichever block it is – also when the record waited for comes
 * after one of the writer's sync marks (the caller's offset is the mark's,
 * the record's is past it): each try can take the disk seconds.
 */
static void
test_unreadable_hold_asks_once(void **state)
{
	char err[256], path[300];
	struct journal *j;
	struct journal_rec r;
	uint64_t off, next;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_of(300, true);
	journal_free(j);
	for (off_t b = 1; b <= 20; b++) {
		int hits;

		j = journal_open(dir, 1 << 24, err, sizeof(err));
		assert_non_null(j);
		fault_on(path, b * 4096, (b + 1) * 4096, -1);
		off = 0;
		while ((rc = journal_read(j, off, &r, &next)) == 1)
			off = next;
		assert_int_equal(rc, -1);
		hits = fault.hits;
		assert_true(hits > 0);
		assert_int_equal(journal_read(j, off, &r, &next), -1);
		assert_int_equal(errno, EIO);
		if (fault.hits != hits)
			fail_msg("block %d: asked again at once (%d reads, then %d)", (int)b, hits,
			    fault.hits);
		fault.ino = 0;
		journal_free(j);
	}
}

/* A bit gone wrong in the header's generation: read with the one its records carry. */
static void
test_header_generation_damaged(void **state)
{
	char err[256], path[300];
	struct journal *j;
	uint64_t got[400];
	int skipped;

	(void)state;
	snprintf(path, sizeof(path), "%s/sink.journal", dir);
	j = journal_of(300, true);
	journal_free(j);
	damage(path, 9, 1, 0x5a);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 300);
	assert_int_equal(journal_stats(j)->corrupt_bytes, 0);
	assert_int_equal(read_all(j, got, 400, &skipped), 300);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

/*
 * A failed sync: no later sync is trusted (the kernel may have dropped
 * the pages it could not write) until the file is emptied; emptying
 * holds even when its own sync fails.
 */
static void
test_sync_failure(void **state)
{
	char err[256];
	struct journal *j;
	struct journal_rec r;
	uint64_t next;

	(void)state;
	j = journal_of(20, true);
	put_numbered(j, 21);
	sync_fails = true;
	assert_int_equal(journal_sync(j), -1);
	sync_fails = false;
	assert_int_equal(journal_sync(j), -1);
	put_numbered(j, 22);
	assert_int_equal(journal_sync(j), -1);
	sync_fails = true;
	assert_int_equal(journal_reset(j), 0);
	sync_fails = false;
	assert_int_equal(journal_size(j), 0);
	assert_int_equal(journal_read(j, 0, &r, &next), 0);
	put_numbered(j, 1);
	assert_int_equal(journal_sync(j), 0);
	journal_free(j);
	j = journal_open(dir, 1 << 24, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(journal_stats(j)->recovered, 1);
	assert_int_equal(journal_reset(j), 0);
	journal_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_corrupt_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_in_the_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tear_after_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_fragments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_in_the_last_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_format_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_hold_expiry_passing_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_hold_asks_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_hold_expiry_during_try, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_generation_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_failure, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
