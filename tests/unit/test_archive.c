/*
 * The event archive: records come back exactly (hostile bytes included),
 * per system and day, a torn tail keeps what was flushed before it, each
 * collector run gets its own file, a disk that refuses writes loses
 * nothing once it takes them again, and expiry deletes only old day files.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "ms_compliance.h"
#include "ms_log.h"

struct got {
	size_t n;
	char lines[64][256];
	char sources[64][64];
	char agents[64][32];
	uint64_t seqs[64];
	int64_t times[64];
};

static int
collect(const struct archive_record *r, void *arg)
{
	struct got *g = arg;

	if (g->n < 64) {
		snprintf(g->lines[g->n], sizeof(g->lines[0]), "%.*s", (int)r->line.len, r->line.p);
		snprintf(g->sources[g->n], sizeof(g->sources[0]), "%.*s", (int)r->source.len,
		    r->source.p);
		snprintf(g->agents[g->n], sizeof(g->agents[0]), "%.*s", (int)r->agent.len, r->agent.p);
		g->seqs[g->n] = r->seq;
		g->times[g->n] = r->time_ms;
	}
	g->n++;
	return 0;
}

static char dirs[16][256];
static size_t ndirs;

/* A fresh folder, removed with everything in it when the tests end. */
static char *
mkdtemp_dir(void)
{
	const char *t = getenv("TMPDIR");
	char *d = dirs[ndirs++];

	snprintf(d, sizeof(dirs[0]), "%s/test_archive.XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(d));
	return d;
}

/* Writes fail from here on as on a full disk (a file size limit of 0); *old to put back. */
static void
disk_full(struct rlimit *old)
{
	struct rlimit lim;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, old), 0);
	lim = *old;
	lim.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
cleanup(void **state)
{
	(void)state;
	for (size_t i = 0; i < ndirs; i++)
		nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The one file in dir/system (asserts there is exactly one). */
static void
only_file(const char *dir, const char *system, char *out, size_t outsz)
{
	char path[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, system);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(out, outsz, "%s/%s", path, de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static struct ms_str
S(const char *s)
{
	return ms_str_make(s, strlen(s));
}

static void
today_name(char *out, size_t outsz, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%d", &tm);
}

static void
test_roundtrip(void **state)
{
	char err[256], path[512], day[16], expect[512];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	struct got g = { 0 };
	int64_t now = ms_now_ms();
	const char *hostile = "a\\b\tc\nd\\n <script>\x01\xff end";

	(void)state;
	assert_non_null(a);
	assert_int_equal(archive_add(a, "SYS-01", now, "web1", 7, S("/var/log/auth.log"),
	    S("Nov 25 10:00:00 web1 sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")), 0);
	assert_int_equal(archive_add(a, "SYS-01", now + 1, "web1", 8, S("/tab\there"),
	    S(hostile)), 0);
	assert_int_equal(archive_add(a, "SYS-01", now + 2, "web1", 9, S(""), S("")), 0);
	/* Another system, and an id that is no safe folder name. */
	assert_int_equal(archive_add(a, "SYS-02", now, "db1", 1, S("x"), S("other system")), 0);
	assert_int_equal(archive_add(a, "../etc", now, "db1", 2, S("x"), S("bad id")), 0);
	assert_int_equal(archive_add(a, NULL, now, "db1", 3, S("x"), S("no id")), 0);
	/* An agent clock a year off lands in today's file, not last year's. */
	assert_int_equal(archive_add(a, "SYS-02", now - 365LL * 86400000, "db1", 4, S("x"),
	    S("old clock")), 0);
	assert_int_equal(archive_flush(a), 0);
	assert_int_equal(archive_get_stats(a)->events, 7);
	assert_int_equal(archive_get_stats(a)->bad_system, 1);
	archive_free(a);

	today_name(day, sizeof(day), now);
	only_file(dir, "SYS-01", path, sizeof(path));
	snprintf(expect, sizeof(expect), "%s/SYS-01/%s.0.zst", dir, day);
	assert_string_equal(path, expect);
	assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.agents[0], "web1");
	assert_int_equal(g.seqs[0], 7);
	assert_int_equal(g.times[0], now);
	assert_non_null(strstr(g.lines[0], "Failed password for root"));
	assert_string_equal(g.sources[1], "/tab\there");
	assert_string_equal(g.lines[1], hostile);
	assert_string_equal(g.lines[2], "");
	assert_int_equal(g.seqs[2], 9);

	memset(&g, 0, sizeof(g));
	only_file(dir, "SYS-02", path, sizeof(path));
	assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.lines[1], "old clock");
	assert_true(g.times[1] >= now - 60000);	/* the clock of the last flush, not a year ago */

	memset(&g, 0, sizeof(g));
	only_file(dir, "unassigned", path, sizeof(path));
	assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.lines[0], "bad id");
	/* Nothing was written outside the archive folder. */
	snprintf(path, sizeof(path), "%s/../etc", dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

/* A crash after a flush: what was flushed reads back, the torn end is reported. */
static void
test_torn_tail(void **state)
{
	char err[256], path[512], line[64];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	struct got g = { 0 };
	int64_t now = ms_now_ms();
	struct stat st;
	off_t flushed;

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "first batch %d", i);
		archive_add(a, "S", now, "ag", (uint64_t)i + 1, S("f"), S(line));
	}
	assert_int_equal(archive_flush(a), 0);
	only_file(dir, "S", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	flushed = st.st_size;
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof(line), "second batch %d", i);
		archive_add(a, "S", now, "ag", (uint64_t)i + 11, S("f"), S(line));
	}
	assert_int_equal(archive_flush(a), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > flushed);

	/* The frame is still open (no sync yet): a reader sees a torn end. */
	assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 1);
	assert_int_equal(g.n, 20);
	/* Half of the second block gone: the first batch is intact. */
	assert_int_equal(truncate(path, flushed + (st.st_size - flushed) / 2), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 1);
	assert_int_equal(g.n, 10);
	assert_string_equal(g.lines[9], "first batch 9");
	/* Free after the truncation writes at the old end (O_APPEND: the new end). */
	archive_free(a);
}

/*
 * A damaged frame (a bad block, bytes flipped) in the middle of a file: its
 * records are lost, the frames before and after it are read (each sync
 * ended one), and the reader says so (3). The damage at every offset of
 * the middle frame: the reader never loops, and never loses another frame.
 */
static void
test_damaged_frame(void **state)
{
	char err[256], path[512], line[64];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	int64_t now = ms_now_ms();
	struct stat st;
	off_t ends[3];
	int fd;

	(void)state;
	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < 5; i++) {
			snprintf(line, sizeof(line), "frame %d line %d", f, i);
			archive_add(a, "S", now, "ag", (uint64_t)(f * 5 + i + 1), S("f"), S(line));
		}
		assert_int_equal(archive_flush(a), 0);
		assert_int_equal(archive_sync(a), 0);
		only_file(dir, "S", path, sizeof(path));
		assert_int_equal(stat(path, &st), 0);
		ends[f] = st.st_size;
	}
	archive_free(a);
	for (off_t at = ends[0]; at < ends[1]; at++) {
		struct got g = { 0 };
		unsigned char b, x;
		int rc;

		assert_true((fd = open(path, O_RDWR)) >= 0);
		assert_int_equal(pread(fd, &b, 1, at), 1);
		x = (unsigned char)(b ^ 0x5a);
		assert_int_equal(pwrite(fd, &x, 1, at), 1);
		rc = archive_read_file(path, collect, &g, NULL, err, sizeof(err));
		assert_int_equal(pwrite(fd, &b, 1, at), 1);
		close(fd);
		/*
		 * The damaged frame's records that decoded before the damage
		 * showed may come too (zstd checks a frame's sum at its end); a
		 * flip zstd does not see (a larger window) changes nothing.
		 */
		if (rc != 3 && !(rc == 0 && g.n == 15))
			fail_msg("damage at %lld: rc %d, %zu records", (long long)at, rc, g.n);
		if (g.n < 10 || g.n > 15 || strcmp(g.lines[0], "frame 0 line 0") != 0 ||
		    strcmp(g.lines[4], "frame 0 line 4") != 0 ||
		    strcmp(g.lines[g.n - 5], "frame 2 line 0") != 0 ||
		    strcmp(g.lines[g.n - 1], "frame 2 line 4") != 0)
			fail_msg("damage at %lld (frame %lld..%lld): rc %d, %zu records (%s)",
			    (long long)at, (long long)ends[0], (long long)ends[1], rc, g.n, err);
	}
}

/* Two collector runs on one day: two files, each complete. */
static void
test_runs_and_sync(void **state)
{
	char err[256], path[512], day[16];
	char *dir = mkdtemp_dir();
	struct got g = { 0 };
	int64_t now = ms_now_ms();

	(void)state;
	today_name(day, sizeof(day), now);
	for (int run = 0; run < 2; run++) {
		struct archive *a = archive_new(dir, 3, 1 << 20, err, sizeof(err));
		assert_non_null(a);
		archive_add(a, "S", now, "ag", (uint64_t)run, S("f"), S(run ? "run one" : "run zero"));
		/* After a sync the file is whole frames: readable without a torn end. */
		assert_int_equal(archive_sync(a), 0);
		snprintf(path, sizeof(path), "%s/S/%s.%d.zst", dir, day, run);
		memset(&g, 0, sizeof(g));
		assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 0);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.lines[0], run ? "run one" : "run zero");
		archive_free(a);
	}
}

/* The disk refuses writes (file size limit): counted, kept, written later. */
static void
test_refused_writes(void **state)
{
	char err[256], path[512], line[128];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	struct got g = { 0 };
	int64_t now = ms_now_ms();
	struct rlimit old;

	(void)state;
	archive_add(a, "S", now, "ag", 1, S("f"), S("before the disk filled"));
	assert_int_equal(archive_flush(a), 0);
	disk_full(&old);
	for (int i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "while full %d", i);
		assert_int_equal(archive_add(a, "S", now, "ag", (uint64_t)i + 2, S("f"), S(line)), 0);
		assert_int_equal(archive_flush(a), -1);
	}
	assert_true(archive_get_stats(a)->write_errors >= 50);
	assert_int_equal(archive_get_stats(a)->dropped, 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(archive_flush(a), 0);
	assert_int_equal(archive_sync(a), 0);
	archive_free(a);
	only_file(dir, "S", path, sizeof(path));
	assert_int_equal(archive_read_file(path, collect, &g, NULL, err, sizeof(err)), 0);
	assert_int_equal(g.n, 51);
	assert_string_equal(g.lines[50], "while full 49");
}

/* Past the backlog cap records are dropped and counted, never held without bound. */
static void
test_backlog_cap(void **state)
{
	char err[256], line[1024];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	int64_t now = ms_now_ms();
	struct rlimit old;
	int dropped = 0;

	(void)state;
	disk_full(&old);
	/* Random-ish content compresses badly: the cap is reached quickly. */
	srand(7);
	for (int i = 0; i < 5000; i++) {
		for (size_t k = 0; k + 1 < sizeof(line); k++)
			line[k] = (char)('!' + rand() % 90);
		line[sizeof(line) - 1] = '\0';
		if (archive_add(a, "S", now, "ag", (uint64_t)i, S("f"), S(line)) < 0)
			dropped++;
		archive_flush(a);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(dropped > 0);
	assert_int_equal(archive_get_stats(a)->dropped, (uint64_t)dropped);
	archive_free(a);
}

/*
 * A file closed while the disk still refuses its compressed bytes (here
 * pushed out by more files than may be open at once) loses every record
 * held, compressed or not yet: dropped counts those records, not one per
 * file.
 */
static void
test_close_held_counts_records(void **state)
{
	char err[256], line[128], sys[32];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	int64_t now = ms_now_ms();
	struct rlimit old;
	uint64_t dropped;

	(void)state;
	archive_add(a, "S", now, "ag", 1, S("f"), S("before the disk filled"));
	assert_int_equal(archive_flush(a), 0);
	disk_full(&old);
	for (int i = 0; i < 53; i++) {
		snprintf(line, sizeof(line), "while full %d", i);
		assert_int_equal(archive_add(a, "S", now, "ag", (uint64_t)i + 2, S("f"), S(line)), 0);
		if (i % 10 == 9)
			assert_int_equal(archive_flush(a), -1);
	}
	assert_int_equal(archive_get_stats(a)->dropped, 0);
	/* 256 other systems: "S", least recently used, is closed for room. */
	for (int i = 0; i < 256; i++) {
		snprintf(sys, sizeof(sys), "other%d", i);
		assert_int_equal(archive_add(a, sys, now, "ag", 1, S("f"), S("x")), 0);
	}
	dropped = archive_get_stats(a)->dropped;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	archive_free(a);
	assert_int_equal(dropped, 53);
}

static int
keep_two(const char *system, void *arg)
{
	(void)arg;
	return strcmp(system, "forever") == 0 ? 0 : 2;
}

static void
touch(const char *dir, const char *sub, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0640)) >= 0);
	close(fd);
}

static bool
exists(const char *dir, const char *sub, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return access(path, F_OK) == 0;
}

static void
test_expire(void **state)
{
	char err[256], today[16], yesterday[16], old[16];
	char *dir = mkdtemp_dir();
	struct archive *a = archive_new(dir, 1, 1 << 20, err, sizeof(err));
	int64_t now = ms_now_ms();
	char other[256];

	(void)state;
	today_name(today, sizeof(today), now);
	today_name(yesterday, sizeof(yesterday), now - 86400000LL);
	today_name(old, sizeof(old), now - 3 * 86400000LL);
	touch(dir, "S", "2020-01-01.0.zst");
	touch(dir, "S", "2020-01-01.1.zst");
	touch(dir, "S", "notes.txt");
	char name[64];
	snprintf(name, sizeof(name), "%s.0.zst", old);
	touch(dir, "S", name);
	snprintf(name, sizeof(name), "%s.0.zst", yesterday);
	touch(dir, "S", name);
	touch(dir, "forever", "2020-01-01.0.zst");
	/* A link to another folder named like a system is not followed. */
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	mkdir(other, 0750);
	touch(dir, "elsewhere", "2020-01-01.0.zst");
	{
		char link[512];
		snprintf(link, sizeof(link), "%s/link", dir);
		assert_int_equal(symlink(other, link), 0);
	}
	/* Today's file is open for writing. */
	archive_add(a, "S", now, "ag", 1, S("f"), S("today"));
	archive_flush(a);

	assert_int_equal(archive_expire(a, now, keep_two, NULL), 3 + 1);	/* S x3, elsewhere x1 */
	assert_false(exists(dir, "S", "2020-01-01.0.zst"));
	assert_false(exists(dir, "S", "2020-01-01.1.zst"));
	snprintf(name, sizeof(name), "%s.0.zst", old);
	assert_false(exists(dir, "S", name));
	snprintf(name, sizeof(name), "%s.0.zst", yesterday);
	assert_true(exists(dir, "S", name));
	snprintf(name, sizeof(name), "%s.0.zst", today);
	assert_true(exists(dir, "S", name));
	assert_true(exists(dir, "S", "notes.txt"));
	assert_true(exists(dir, "forever", "2020-01-01.0.zst"));
	/* "elsewhere" is a real system folder of its own; the link was skipped. */
	assert_false(exists(dir, "elsewhere", "2020-01-01.0.zst"));
	archive_free(a);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(archive_system_ok("SYS-01"));
	assert_true(archive_system_ok("a.b_c"));
	assert_false(archive_system_ok(".."));
	assert_false(archive_system_ok(".hidden"));
	assert_false(archive_system_ok("a/b"));
	assert_false(archive_system_ok(""));
	assert_false(archive_system_ok(NULL));
	/* The archive's names are what the report's retention check reads. */
	int64_t day = -1;
	assert_int_equal(ms_archive_day("1970-01-02.0.zst", &day), 0);
	assert_int_equal(day, 1);
	assert_int_equal(ms_archive_day("2026-13-01.0.zst", &day), -1);
	assert_int_equal(ms_archive_day("2026-11-2x.0.zst", &day), -1);
	assert_int_equal(ms_archive_day("2026-11-25x", &day), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_damaged_frame),
		cmocka_unit_test(test_runs_and_sync),
		cmocka_unit_test(test_refused_writes),
		cmocka_unit_test(test_backlog_cap),
		cmocka_unit_test(test_close_held_counts_records),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_names),
	};

	ms_log_init("test_archive", MS_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
