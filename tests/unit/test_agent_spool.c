/*
 * Unit tests of the agent's spool on real files: records survive a reopen
 * byte for byte, a torn tail is cut, a corrupt record in the middle is
 * skipped without losing its neighbours, the size cap refuses appends until
 * acknowledged segments are deleted, the backlog is read back in order.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "ms_disk.h"
#include "ms_log.h"
#include "ms_rec.h"
#include "ms_util.h"
#include "spool.h"

#include "disk_fault.h"

/*
 * The pauses between reads of a block that fails (ms_disk) are counted,
 * not slept: a test of a few hundred failing blocks would wait a minute.
 */
static unsigned nanosleeps;
int __wrap_nanosleep(const struct timespec *req, struct timespec *rem);

int
__wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	(void)req;
	(void)rem;
	nanosleeps++;
	return 0;
}

/*
 * Durability is not what these tests look at (the fault tests kill real
 * agents for that), and the property tests make a thousand spools: each
 * sync cost the disk's flush, a minute under CI's parallel load. The
 * calls are counted and not made; what is written still reads back.
 */
static unsigned syncs;
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);

int
__wrap_fsync(int fd)
{
	(void)fd;
	syncs++;
	return 0;
}

int
__wrap_fdatasync(int fd)
{
	(void)fd;
	syncs++;
	return 0;
}

static char root[] = "/tmp/minisoc-test-spool-XXXXXX";
static char dir[600];

struct got {
	size_t n;
	uint64_t seq[4096];
	char line[4096][64];
	size_t stop_after;	/* fn returns 1 once this many were taken (0: never) */
};

static int
take(const struct spool_rec *r, void *arg)
{
	struct got *g = arg;

	if (g->stop_after && g->n == g->stop_after)
		return 1;
	assert_true(g->n < 4096);
	assert_int_equal(r->src_len, strlen("/var/log/auth.log"));
	assert_memory_equal(r->src, "/var/log/auth.log", r->src_len);
	g->seq[g->n] = r->seq;
	snprintf(g->line[g->n], sizeof(g->line[0]), "%.*s", (int)r->line_len, r->line);
	g->n++;
	return 0;
}

static void
rec(struct spool_rec *r, uint64_t seq, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "line number %llu", (unsigned long long)seq);
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->time_ms = 1700000000000LL + (int64_t)seq;
	r->dev = 1;
	r->ino = 42;
	r->end_off = seq * 100;
	r->fp = tail_fingerprint("head", 4);
	r->fp_len = 4;
	r->src = "/var/log/auth.log";
	r->src_len = strlen(r->src);
	r->line = buf;
	r->line_len = strlen(buf);
}

static struct spool *
open_sp(uint64_t max, uint64_t seg, uint64_t acked)
{
	struct spool_opts o = { .max_bytes = max, .segment_bytes = seg, .sync = true };
	char err[512];
	struct spool *sp = spool_open(dir, &o, acked, err, sizeof(err));

	if (sp == NULL)
		fail_msg("spool_open: %s", err);
	return sp;
}

static void
append_range(struct spool *sp, uint64_t from, uint64_t to, bool in_memory)
{
	for (uint64_t s = from; s <= to; s++) {
		struct spool_rec r;
		char buf[64];
		rec(&r, s, buf, sizeof(buf));
		assert_int_equal(spool_append(sp, &r, in_memory), 0);
	}
}

/* A spool of records from..to, in segments of seg bytes, closed. */
static void
spool_of(uint64_t seg, uint64_t from, uint64_t to)
{
	struct spool *sp = open_sp(1 << 20, seg, 0);

	append_range(sp, from, to, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
}

static void
reset(void)
{
	char cmd[700];

	fault.ino = 0;	/* a failed test's fault must not hit the next one's files */

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Segment file number which of the spool, oldest first (-1: the last one). */
static void
seg_file(char *out, size_t outsz, int which)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), k = 0;

	assert_true(n > 2);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strstr(names[i]->d_name, ".seg") && (which < 0 || k++ == which))
			snprintf(out, outsz, "%s/%s", dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	assert_true(out[0] != '\0');
}

/* How many segment files the spool has. */
static int
seg_count(void)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), k = 0;

	assert_true(n >= 2);
	for (int i = 0; i < n; i++) {
		k += strstr(names[i]->d_name, ".seg") != NULL;
		free(names[i]);
	}
	free(names);
	return k;
}

static off_t
file_size(const char *p)
{
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static bool
spare_exists(void)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/spare", dir);
	return access(p, F_OK) == 0;
}

/*
 * Rewrites every record of segment file seg as an earlier agent wrote it:
 * magic (MSR1: zlib's CRC-32, MSR2: CRC-32C), no tag.
 */
static void
to_legacy(const char *seg, const char *magic)
{
	off_t size = file_size(seg), out = 0;
	char *buf;
	int fd;

	assert_non_null(buf = malloc((size_t)size));
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	for (off_t off = 0; off < size;) {
		uint32_t body = ms_get32(buf + off + 8), crc;
		char *r = buf + out;

		assert_memory_equal(buf + off, "MSR3", 4);
		memmove(r, buf + off, 12 + body - SPOOL_REC_TAG);
		memcpy(r, magic, 4);
		ms_put32(r + 8, body - SPOOL_REC_TAG);
		crc = strcmp(magic, "MSR1") == 0 ? spool_crc_v1(r + 8, 4 + body - SPOOL_REC_TAG) :
		    spool_crc(r + 8, 4 + body - SPOOL_REC_TAG);
		ms_put32(r + 4, crc);
		out += 12 + body - SPOOL_REC_TAG;
		off += 12 + body;
	}
	assert_int_equal(ftruncate(fd, out), 0);
	assert_int_equal(pwrite(fd, buf, (size_t)out, 0), out);
	close(fd);
	free(buf);
}

static void
remove_key(void)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/key", dir);
	assert_int_equal(unlink(p), 0);
}

static void
test_reopen(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char head[16] = "head and more";

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 16, 0);
	append_range(sp, 1, 100, true);
	assert_false(spool_backlog(sp));
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);

	/* Everything above acked (40) comes back, in order, byte for byte. */
	sp = open_sp(1 << 20, 1 << 16, 40);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 60);
	assert_int_equal(st.corrupt_bytes, 0);
	assert_true(spool_backlog(sp));
	assert_int_equal(spool_max_seq(sp), 100);
	assert_int_equal(spool_load(sp, take, &g), 60);
	assert_false(spool_backlog(sp));
	for (size_t i = 0; i < 60; i++) {
		char want[64];
		snprintf(want, sizeof(want), "line number %zu", i + 41);
		assert_int_equal(g.seq[i], i + 41);
		assert_string_equal(g.line[i], want);
	}
	/* Where reading of (1, 42) got to, once, and only for the same head. */
	assert_int_equal(spool_take_file_end(sp, 1, 42, "other", 5, NULL, NULL, NULL), 0);
	assert_int_equal(spool_take_file_end(sp, 1, 42, head, strlen(head), NULL, NULL, NULL), 100 * 100);
	assert_int_equal(spool_take_file_end(sp, 1, 42, head, strlen(head), NULL, NULL, NULL), 0);
	spool_free(sp);
}

static void
test_torn_tail(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char seg[700];
	off_t full;
	int fd;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 16, 0);
	append_range(sp, 1, 10, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	seg_file(seg, sizeof(seg), 0);
	full = file_size(seg);
	/* A crash in the middle of the last record's write. */
	assert_int_equal(truncate(seg, full - 7), 0);
	sp = open_sp(1 << 20, 1 << 16, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 9);
	assert_true(st.corrupt_bytes > 0);
	/* The torn record is cut off: appending goes on after the last good one. */
	assert_true(file_size(seg) < full - 7);
	append_range(sp, 11, 12, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);

	/* Garbage after the last record (a write of zeros by a dying disk). */
	assert_true((fd = open(seg, O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(fd, "\0\0\0\0\0\0\0\0MSR1garbage", 19), 19);
	close(fd);
	sp = open_sp(1 << 20, 1 << 16, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 11);
	assert_int_equal(st.corrupt_bytes, 19);
	assert_int_equal(spool_load(sp, take, &g), 11);
	assert_int_equal(g.seq[8], 9);
	assert_int_equal(g.seq[9], 11);
	assert_int_equal(g.seq[10], 12);
	spool_free(sp);
}

static void
test_corrupt_middle(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char seg[700], b;
	off_t size;
	int fd;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 16, 0);
	append_range(sp, 10, 29, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	seg_file(seg, sizeof(seg), 0);
	size = file_size(seg);
	/* Flip one byte of the line of record 19 (records have the same size here). */
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &b, 1, size / 20 * 9 + SPOOL_REC_HDR + 20), 1);
	b ^= 0x55;
	assert_int_equal(pwrite(fd, &b, 1, size / 20 * 9 + SPOOL_REC_HDR + 20), 1);
	close(fd);
	sp = open_sp(1 << 20, 1 << 16, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 19);
	assert_int_equal(st.corrupt_bytes, size / 20);
	assert_int_equal(spool_load(sp, take, &g), 19);
	for (size_t i = 0; i < 19; i++)
		assert_int_equal(g.seq[i], i < 9 ? i + 10 : i + 11);
	spool_free(sp);
}

/*
 * An agent following many files: the scan notes where each file's last
 * record ends, for the first 1,024 files it meets (an index by file while
 * it runs); files past that limit have no end (read on from their saved
 * positions). Records of 1,100 files, interleaved.
 */
static void
test_file_ends_many(void **state)
{
	struct spool *sp;
	const uint64_t files = 1100;

	(void)state;
	reset();
	sp = open_sp(1 << 22, 1 << 20, 0);
	for (uint64_t s = 1; s <= 3 * files; s++) {
		struct spool_rec r;
		char buf[64];

		rec(&r, s, buf, sizeof(buf));
		r.ino = 1000 + (s - 1) % files;
		r.end_off = 10 * s;
		assert_int_equal(spool_append(sp, &r, true), 0);
	}
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	sp = open_sp(1 << 22, 1 << 20, 0);
	for (uint64_t k = 0; k < files; k++) {
		bool distrusted = true;
		uint64_t end = spool_take_file_end(sp, 1, 1000 + k, "head", 4, &distrusted, NULL, NULL);

		if (end != (k < 1024 ? 10 * (2 * files + k + 1) : 0))
			fail_msg("file %llu: end %llu", (unsigned long long)k, (unsigned long long)end);
		assert_false(distrusted);
	}
	spool_free(sp);
}

/*
 * A gap in the middle (a page lost in a power cut or to a bad block,
 * records on both sides). Each file noted before it gets a hole: its lines
 * after its last record before the gap, up to the line of its first record
 * after it (file 42: record 24 lost, between 23 and 25), or, for a file
 * without a record after the gap (file 43), every line after its last.
 * Its end is trusted: tail reads the holes again. A line read again so
 * (SPOOL_REC_RECOVERED) fills its hole at the next open, and is not taken
 * for where reading got. A file first noted after a gap (file 44), where
 * its lost lines began being unknown, is distrusted: read on from the
 * saved position (lines twice, none lost). Without a gap every end is
 * trusted and no file has a hole.
 */
static void
test_gap_file_end(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	char seg[700], z[256] = { 0 };
	bool distrusted;
	size_t nh;
	off_t size;
	int fd;

	(void)state;
	for (int gap = 0; gap < 3; gap++) {
		reset();
		sp = open_sp(1 << 20, 1 << 16, 0);
		/* records 10..19 of file 43, then 20..39 of file 42 (rec() gives 42): one size */
		for (uint64_t s = 10; s <= 39; s++) {
			struct spool_rec r;
			char buf[64];

			rec(&r, s, buf, sizeof(buf));
			if (s <= 19)
				r.ino = 43;
			if (gap == 2 && s >= 25)
				r.ino = 44;	/* only after the gap */
			assert_int_equal(spool_append(sp, &r, true), 0);
		}
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);
		seg_file(seg, sizeof(seg), 0);
		size = file_size(seg);
		if (gap) {
			/* record 24, the fifteenth, lost: zeros */
			assert_true((size_t)(size / 30) <= sizeof(z));
			assert_true((fd = open(seg, O_RDWR)) >= 0);
			assert_int_equal(pwrite(fd, z, (size_t)(size / 30), size / 30 * 14), size / 30);
			close(fd);
		}
		sp = open_sp(1 << 20, 1 << 16, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, gap ? 29 : 30);
		nh = SPOOL_MAX_FILE_HOLES;
		assert_int_equal(spool_take_file_end(sp, 1, 43, "head", 4, &distrusted, h, &nh), 1900);
		assert_false(distrusted);
		assert_int_equal(nh, gap ? 1 : 0);
		if (gap) {
			assert_int_equal(h[0].from, 1900);
			assert_true(h[0].to == SPOOL_HOLE_OPEN);
		}
		nh = SPOOL_MAX_FILE_HOLES;
		if (gap == 2) {
			assert_int_equal(spool_take_file_end(sp, 1, 44, "head", 4, &distrusted, h, &nh), 0);
			assert_true(distrusted);
			assert_int_equal(nh, 0);
			/* 42's last record is 23, before the gap: an open hole */
			nh = SPOOL_MAX_FILE_HOLES;
			assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh),
			    2300);
			assert_int_equal(nh, 1);
			assert_int_equal(h[0].from, 2300);
			assert_true(h[0].to == SPOOL_HOLE_OPEN);
			spool_free(sp);
			continue;
		}
		assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh), 3900);
		assert_false(distrusted);
		assert_int_equal(nh, gap ? 1 : 0);
		if (gap) {
			struct spool_rec r;
			char buf[64];

			assert_int_equal(h[0].from, 2300);
			assert_int_equal(h[0].to, 2500);
			/* line 24 read again, as tail does: its line right after 2300 */
			rec(&r, 40, buf, sizeof(buf));
			r.end_off = 2300 + r.line_len + 1;
			r.flags = SPOOL_REC_RECOVERED;
			assert_int_equal(spool_append(sp, &r, true), 0);
			assert_int_equal(spool_sync(sp), 0);
			spool_free(sp);
			sp = open_sp(1 << 20, 1 << 16, 0);
			spool_get_stats(sp, &st);
			assert_int_equal(st.recovered, 30);
			nh = SPOOL_MAX_FILE_HOLES;
			/* still where reading got (3900), the hole filled up to the next record */
			assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh),
			    3900);
			assert_int_equal(nh, 1);
			assert_int_equal(h[0].from, 2300 + r.line_len + 1);
			assert_int_equal(h[0].to, 2500);
			/* without room for holes: distrusted */
			spool_free(sp);
			sp = open_sp(1 << 20, 1 << 16, 0);
			assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, NULL, NULL), 0);
			assert_true(distrusted);
		}
		spool_free(sp);
	}
}

/*
 * A log line written to look like a spool record (magic, header and
 * checksum right, as the agent's own code writes one, in a spool with
 * another key; or an earlier agent's untagged format) is only bytes
 * inside its own record, until that record's header is lost: then the
 * scan, looking for the next record, finds the forged one. It must not be
 * taken – not as an event with the number its author chose (a huge one
 * would take the numbering with it), nor as a reused file's stale record
 * (which would cut off every record after it).
 */
static void
test_forged_record(void **state)
{
	static const uint64_t forged_seq[] = { 5, 19 + 50, UINT64_MAX - 1 };
	static const char *const magic[] = { "MSR3", "MSR2", "MSR1" };
	char forged_dir[400], line[512];

	(void)state;
	snprintf(forged_dir, sizeof(forged_dir), "%s/forged", root);
	for (size_t k = 0; k < 3 * 3; k++) {
		struct spool_opts o = { .max_bytes = 1 << 20, .segment_bytes = 1 << 16 };
		struct spool *sp;
		struct spool_rec r;
		struct got g = { 0 };
		char buf[64], err[256], seg[700], fseg[800], c;
		ssize_t flen;
		int fd;

		/* The forged record, as a spool (not this one) writes it. */
		snprintf(line, sizeof(line), "rm -rf -- '%s'", forged_dir);
		assert_int_equal(system(line), 0);
		sp = spool_open(forged_dir, &o, 0, err, sizeof(err));
		assert_non_null(sp);
		rec(&r, forged_seq[k % 3], buf, sizeof(buf));
		assert_int_equal(spool_append(sp, &r, true), 0);
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);
		snprintf(fseg, sizeof(fseg), "%s/%016llx.seg", forged_dir,
		    (unsigned long long)forged_seq[k % 3]);
		if (k / 3 > 0)
			to_legacy(fseg, magic[k / 3]);
		assert_true((fd = open(fseg, O_RDONLY)) >= 0);
		memcpy(line, "GET /?q=", 8);
		flen = read(fd, line + 8, sizeof(line) - 8);
		close(fd);
		assert_true(flen > SPOOL_REC_HDR);
		assert_memory_equal(line + 8, magic[k / 3], 4);

		/* Records 10..29; 19's line holds the forged record. */
		reset();
		sp = open_sp(1 << 20, 1 << 16, 0);
		append_range(sp, 10, 18, true);
		rec(&r, 19, buf, sizeof(buf));
		r.line = line;
		r.line_len = (uint32_t)(8 + flen);
		assert_int_equal(spool_append(sp, &r, true), 0);
		append_range(sp, 20, 29, true);
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);

		/* Record 19's header damaged (records 10..18 have one size). */
		seg_file(seg, sizeof(seg), 0);
		assert_true((fd = open(seg, O_RDWR)) >= 0);
		{
			off_t at = 9 * (off_t)(SPOOL_REC_HDR + SPOOL_REC_TAG +
			    strlen("/var/log/auth.log") + strlen("line number 10")) + 12;
			assert_int_equal(pread(fd, &c, 1, at), 1);
			c ^= 0x55;
			assert_int_equal(pwrite(fd, &c, 1, at), 1);
		}
		close(fd);

		sp = open_sp(1 << 20, 1 << 16, 0);
		assert_int_equal(spool_load(sp, take, &g), 19);
		for (size_t i = 0; i < 19; i++)
			assert_int_equal(g.seq[i], i < 9 ? i + 10 : i + 11);
		assert_int_equal(spool_max_seq(sp), 29);
		spool_free(sp);
	}
}

/*
 * The key lost (deleted, damaged) or unreadable at one start: the records
 * already in the spool are still delivered, checked by their CRC alone,
 * and new ones get a new key in a segment of their own. A key that cannot
 * be written (no room) takes no record until it is written: a record
 * tagged with a key only in memory would not check after a restart (here:
 * the old key readable again then).
 */
static void
test_key_lost(void **state)
{
	char key[700], tmp[700], bak[700], seg[700];

	(void)state;
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(tmp, sizeof(tmp), "%s/key.new", dir);
	snprintf(bak, sizeof(bak), "%s/key.bak", dir);
	for (int how = 0; how < 4; how++) {
		struct spool *sp;
		struct spool_stats st;
		struct spool_rec r;
		struct got g = { 0 };
		struct stat kst;
		char buf[64], kb[36];
		uint64_t n = 12;
		int fd;

		reset();
		if (how < 3) {
			sp = open_sp(1 << 20, 1 << 16, 0);
			assert_int_equal(stat(key, &kst), 0);
			assert_int_equal(kst.st_mode & 0777, 0600);
			assert_int_equal(kst.st_size, 36);
			append_range(sp, 1, 10, true);
			assert_int_equal(spool_sync(sp), 0);
			spool_free(sp);
		}
		if (how == 0) {
			remove_key();
		} else if (how == 1) {
			/* one bit of the key flipped */
			char b;
			assert_true((fd = open(key, O_RDWR)) >= 0);
			assert_int_equal(pread(fd, &b, 1, 9), 1);
			b ^= 1;
			assert_int_equal(pwrite(fd, &b, 1, 9), 1);
			close(fd);
		} else if (how == 2) {
			/* unreadable at one start (a symlink: ELOOP), and no new key can be written */
			assert_int_equal(rename(key, bak), 0);
			assert_int_equal(symlink("key.bak", key), 0);
			assert_int_equal(mkdir(tmp, 0700), 0);
			sp = open_sp(1 << 20, 1 << 16, 0);
			spool_get_stats(sp, &st);
			assert_int_equal(st.recovered, 10);
			assert_int_equal(spool_append(sp, (rec(&r, 11, buf, sizeof(buf)), &r), true), -1);
			spool_get_stats(sp, &st);
			assert_true(st.write_errors > 0);
			spool_free(sp);
			/* the next start reads the old key again */
			assert_int_equal(unlink(key), 0);
			assert_int_equal(rename(bak, key), 0);
			assert_int_equal(rmdir(tmp), 0);
		} else {
			/* a new spool whose key cannot be written, then can */
			assert_int_equal(mkdir(dir, 0700), 0);
			assert_int_equal(mkdir(tmp, 0700), 0);
			sp = open_sp(1 << 20, 4096, 0);
			assert_int_equal(access(key, F_OK), -1);
			assert_int_equal(spool_append(sp, (rec(&r, 1, buf, sizeof(buf)), &r), true), -1);
			assert_int_equal(rmdir(tmp), 0);
			append_range(sp, 1, 40, true);
			assert_int_equal(spool_sync(sp), 0);
			spool_free(sp);
			/* written before any record, with no legacy segment */
			assert_true((fd = open(key, O_RDONLY)) >= 0);
			assert_int_equal(read(fd, kb, sizeof(kb)), 36);
			close(fd);
			assert_int_equal(ms_get32(kb + 28), 0);
			n = 40;
		}
		if (how < 3) {
			sp = open_sp(1 << 20, 1 << 16, 0);
			spool_get_stats(sp, &st);
			assert_int_equal(st.recovered, 10);
			assert_int_equal(st.corrupt_bytes, 0);
			assert_int_equal(stat(key, &kst), 0);
			assert_int_equal(kst.st_size, 36);
			append_range(sp, 11, 12, true);
			assert_int_equal(spool_sync(sp), 0);
			spool_free(sp);
			seg_file(seg, sizeof(seg), -1);
			/* a new key: a segment of its own; the old one (how 2): the same segment */
			assert_non_null(strstr(seg, how == 2 ? "/0000000000000001.seg" :
			    "/000000000000000b.seg"));
		}
		sp = open_sp(1 << 20, 1 << 16, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, n);
		assert_int_equal(st.corrupt_bytes, 0);
		assert_int_equal(spool_load(sp, take, &g), n);
		for (size_t i = 0; i < g.n; i++)
			assert_int_equal(g.seq[i], i + 1);
		spool_free(sp);
	}
}

/*
 * New records are numbered above the legacy segments (a record named as
 * one would be checked by its CRC alone after a restart), also when the
 * last of them was torn empty; a segment left empty is deleted at open
 * (kept, an empty last one would take records numbered below its name,
 * which a scan takes for a reused file's stale ones).
 */
static void
test_numbers_above_segments(void **state)
{
	struct spool *sp;
	struct spool_rec r;
	struct got g = { 0 };
	char seg[700], buf[64];
	uint64_t y, next;

	(void)state;
	/* three old segments, the last one torn empty after the key was made */
	reset();
	spool_of(4096, 1, 80);
	for (int k = 0; k < 3; k++) {
		seg_file(seg, sizeof(seg), k);
		to_legacy(seg, "MSR2");
	}
	remove_key();
	spool_free(open_sp(1 << 20, 4096, 0));
	seg_file(seg, sizeof(seg), -1);
	y = strtoull(strrchr(seg, '/') + 1, NULL, 16);
	assert_int_equal(truncate(seg, 5), 0);
	sp = open_sp(1 << 20, 4096, 0);
	assert_int_equal(spool_max_seq(sp), y);
	assert_int_equal(access(seg, F_OK), -1);
	/* a record named as the legacy one is refused, never spooled as one */
	assert_int_equal(spool_append(sp, (rec(&r, y, buf, sizeof(buf)), &r), true), -1);
	next = spool_max_seq(sp) + 1;
	append_range(sp, next, next + 1, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	sp = open_sp(1 << 20, 4096, 0);
	assert_int_equal(spool_load(sp, take, &g), 72 + 2);
	assert_int_equal(g.seq[72], next);
	spool_free(sp);

	/* a keyed spool whose last segment was torn empty */
	reset();
	memset(&g, 0, sizeof(g));
	spool_of(4096, 1, 50);
	seg_file(seg, sizeof(seg), -1);
	y = strtoull(strrchr(seg, '/') + 1, NULL, 16);
	assert_true(y > 1);
	assert_int_equal(truncate(seg, 30), 0);
	sp = open_sp(1 << 20, 4096, 0);
	assert_int_equal(access(seg, F_OK), -1);
	assert_int_equal(spool_max_seq(sp), y - 1);
	append_range(sp, y, y + 1, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	sp = open_sp(1 << 20, 4096, 0);
	assert_int_equal(spool_load(sp, take, &g), y + 1);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.seq[i], i + 1);
	spool_free(sp);
}

/*
 * A block the disk cannot read. A passing fault (fails twice, then reads)
 * loses nothing, at the start's scan or later when the backlog is read
 * back. A bad block between records at the scan is skipped and the
 * records after it are kept, as when one goes bad after the scan (skipped
 * and counted when read back, so the records after it still go). A segment that
 * cannot be read at all (more than 64 KiB of it), or a key file that
 * cannot be read, stops the start, and nothing is cut or replaced (an
 * unreadable end: test_unreadable_tail_sealed).
 */
static void
test_disk_faults(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_opts o = { .max_bytes = 1 << 20, .segment_bytes = 1 << 20, .sync = true };
	char seg[700], key[700], err[512];
	off_t size;

	(void)state;
	snprintf(key, sizeof(key), "%s/key", dir);
	for (int how = 0; how < 6; how++) {
		struct got g = { 0 };
		size_t taken;

		reset();
		/* more than 256 KiB to fail at once (4): a disk failing, not a bad spot */
		spool_of(1 << 20, 1, how == 4 ? 2600 : 300);
		seg_file(seg, sizeof(seg), 0);
		size = file_size(seg);
		assert_true(size > (how == 4 ? 64 : 8) * 4096);
		if (how >= 4) {
			/* all of it (4), the key (5): the start stops */
			if (how == 5)
				fault_on(key, 0, 36, -1);
			else
				fault_on(seg, how == 4 ? 0 : (size - 1) / 4096 * 4096, size, -1);
			assert_null(spool_open(dir, &o, 0, err, sizeof(err)));
			assert_non_null(strstr(err, how == 5 ? "/key" : "cannot be read"));
			fault.ino = 0;
			assert_int_equal(file_size(seg), size);
			sp = open_sp(1 << 20, 1 << 20, 0);
			spool_get_stats(sp, &st);
			assert_int_equal(st.recovered, how == 4 ? 2600 : 300);
			assert_int_equal(st.corrupt_bytes, 0);
			spool_free(sp);
			continue;
		}
		if (how == 0 || how == 2)	/* at the scan: passing (0), bad (2) */
			fault_on(seg, 4 * 4096, 5 * 4096, how == 0 ? 2 : -1);
		sp = open_sp(1 << 20, 1 << 20, 0);
		spool_get_stats(sp, &st);
		if (how == 2) {
			/* the records touching the bad block are gone, the others kept */
			assert_true(st.recovered >= 300 - 40 && st.recovered < 300);
		} else {
			assert_int_equal(st.recovered, 300);
			assert_int_equal(st.corrupt_bytes, 0);
		}
		if (how == 0)
			assert_int_equal(fault.hits, 2);
		if (how == 1 || how == 3)	/* when read back: passing (1), bad since (3) */
			fault_on(seg, 4 * 4096, 5 * 4096, how == 1 ? 2 : -1);
		taken = spool_load(sp, take, &g);
		assert_int_equal(taken, g.n);
		if (how == 3) {
			/* gone bad since the scan: skipped after the retries, counted, the rest sent */
			assert_true(g.n >= 300 - 40 && g.n < 300);
			assert_false(spool_backlog(sp));
			spool_get_stats(sp, &st);
			assert_true(st.corrupt_bytes >= 4096);
		} else {
			assert_int_equal(taken, how == 2 ? st.recovered : 300);
		}
		assert_int_equal(g.seq[g.n - 1], 300);
		for (size_t i = 1; i < g.n; i++)
			assert_true(g.seq[i] == g.seq[i - 1] + 1 || ((how == 2 || how == 3) && g.seq[i] > g.seq[i - 1]));
		if (how == 1)
			assert_int_equal(fault.hits, 2);
		fault.ino = 0;
		spool_free(sp);
	}
}

/*
 * A ZFS record (128 KiB at its default size) the disk cannot read, in
 * the middle of a segment: one bad spot, not a failing disk. The start
 * goes on, the records around it kept.
 */
static void
test_unreadable_128k(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	char seg[700];

	(void)state;
	reset();
	spool_of(1 << 20, 1, 2600);
	seg_file(seg, sizeof(seg), 0);
	assert_true(file_size(seg) > 3 * 128 * 1024 / 2);
	fault_on(seg, 128 * 1024, 256 * 1024, -1);
	nanosleeps = 0;
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_true(st.corrupt_bytes >= 128 * 1024);
	/* about 1,170 records of 112 bytes in it, at most one more on each side */
	assert_true(st.recovered > 2600 - 1200 && st.recovered < 2600 - 1100);
	assert_int_equal(nanosleeps, 2 * 32);	/* each block tried three times */
	spool_free(sp);
}

/*
 * Bytes the disk cannot read at the spool's end (a sector torn by a power
 * cut, a bad block under the last records): the start goes on. The
 * segment is kept as it is (a later start may read them), sealed – new
 * records go into a new segment, and neither start cuts it – and the file
 * gets an open hole after its last record read, so that the lines of the
 * records lost are read again. A start that reads them again finds every
 * record, in order.
 */
static void
test_unreadable_tail_sealed(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	struct got g = { 0 };
	char seg[700];
	bool distrusted = true;
	uint64_t last, end;
	off_t size;
	size_t nh = SPOOL_MAX_FILE_HOLES;

	(void)state;
	reset();
	spool_of(1 << 20, 1, 300);
	seg_file(seg, sizeof(seg), 0);
	size = file_size(seg);
	fault_on(seg, (size - 1) / 4096 * 4096, size, -1);
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	last = st.recovered;
	assert_true(last >= 300 - 40 && last < 300);
	end = spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh);
	assert_int_equal(end, last * 100);
	assert_false(distrusted);
	assert_int_equal(nh, 1);
	assert_int_equal(h[0].from, end);
	assert_int_equal(h[0].to, SPOOL_HOLE_OPEN);
	append_range(sp, 1000, 1009, false);
	assert_int_equal(spool_sync(sp), 0);
	assert_int_equal(seg_count(), 2);
	assert_int_equal(file_size(seg), size);
	while (spool_backlog(sp) && spool_load(sp, take, &g) > 0)
		;
	assert_int_equal(g.n, last + 10);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.seq[i], i < last ? i + 1 : 1000 + (i - last));
	spool_free(sp);
	assert_int_equal(file_size(seg), size);

	/* unreadable still: the same again, nothing cut */
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, last + 10);
	spool_free(sp);
	assert_int_equal(file_size(seg), size);
	assert_int_equal(seg_count(), 2);

	/* the disk reads it again: every record, in order */
	fault.ino = 0;
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 310);
	assert_int_equal(st.corrupt_bytes, 0);
	g.n = 0;
	while (spool_backlog(sp) && spool_load(sp, take, &g) > 0)
		;
	assert_int_equal(g.n, 310);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.seq[i], i < 300 ? i + 1 : 1000 + (i - 300));
	spool_free(sp);

	/* delivered, it is deleted, not kept as the spare to write over */
	fault_on(seg, (size - 1) / 4096 * 4096, size, -1);
	sp = open_sp(1 << 20, (uint64_t)size, 0);
	spool_covered(sp, 1009);
	assert_true(spool_ack(sp, 1009));
	assert_false(spare_exists());
	assert_int_equal(seg_count(), 1);
	assert_int_equal(access(seg, F_OK), -1);
	spool_free(sp);
}

/*
 * A last segment the disk cannot read at all (a fresh one, its first
 * block torn by a power cut): kept, not deleted as an empty one, and
 * written to no more; the file's lines after its last record in the
 * segment before are read again (an open hole). The disk reading again,
 * its records come back between the others.
 */
static void
test_unreadable_segment_sealed(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	struct got g = { 0 };
	char seg[700];
	bool distrusted = true;
	off_t size;
	size_t nh = SPOOL_MAX_FILE_HOLES;

	(void)state;
	reset();
	spool_of(4096, 1, 40);	/* segments of 4 KiB: the last one a few records */
	assert_true(seg_count() >= 2);
	seg_file(seg, sizeof(seg), -1);
	size = file_size(seg);
	assert_true(size > 0 && size <= 4096);
	fault_on(seg, 0, 4096, -1);
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_true(st.recovered > 0 && st.recovered < 40);
	/* numbers go on above its name, though none of its records was read */
	assert_true(spool_max_seq(sp) >= strtoull(strrchr(seg, '/') + 1, NULL, 16));
	assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh),
	    st.recovered * 100);
	assert_int_equal(nh, 1);
	assert_int_equal(h[0].from, st.recovered * 100);
	assert_int_equal(h[0].to, SPOOL_HOLE_OPEN);
	append_range(sp, 1000, 1004, false);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	assert_int_equal(file_size(seg), size);

	fault.ino = 0;
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 45);
	while (spool_backlog(sp) && spool_load(sp, take, &g) > 0)
		;
	assert_int_equal(g.n, 45);
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.seq[i], i < 40 ? i + 1 : 1000 + (i - 40));
	spool_free(sp);
}

/*
 * A spool of 16 KiB segments whose last file is a reused one (the spare)
 * holding 50 new records of 112 bytes synced, then a crash: its old
 * records stay past the new ones (stale). Returns that segment's path.
 */
static void
reused_crash(char *seg, size_t segsz)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct spool *sp;
		struct spool_stats st;
		uint64_t s, last = 0;
		bool ok;

		sp = open_sp(1 << 20, 16384, 0);
		append_range(sp, 1, 300, true);
		ok = spool_sync(sp) == 0;
		spool_covered(sp, 300);
		spool_ack(sp, 150);
		ok = ok && spare_exists();
		for (s = 301; ok && (last == 0 || s <= last) && s < 900; s++) {
			struct spool_rec r;
			char buf[64];

			rec(&r, s, buf, sizeof(buf));
			ok = spool_append(sp, &r, true) == 0;
			spool_get_stats(sp, &st);
			if (st.reused == 1 && last == 0)
				last = s + 49;	/* 50 records of 112 bytes in the reused file */
		}
		ok = ok && last != 0 && spool_sync(sp) == 0;
		_exit(ok ? 0 : 1);	/* a crash: the stale records stay past the new ones */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	seg_file(seg, segsz, -1);
}

/*
 * Unreadable bytes at the end of a reused segment file's new records (the
 * spare written again), its stale records after them. The new records in
 * the bad block were synced (their lines' positions may be saved past
 * them): not cut with the stale ones, and the file gets an open hole
 * after its last record read, as for any other unreadable end. The disk
 * reading again, they come back and the stale records are cut.
 */
static void
test_unreadable_tail_reused(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	struct got g = { 0 };
	char seg[700];
	bool distrusted = true;
	uint64_t first, end;
	off_t size;
	size_t nh = SPOOL_MAX_FILE_HOLES;

	(void)state;
	reset();
	reused_crash(seg, sizeof(seg));
	first = strtoull(strrchr(seg, '/') + 1, NULL, 16);
	size = file_size(seg);
	assert_true(size > 3 * 4096);	/* the old records of the spare go on to here */
	/* records first..first+49 end at 5,600: block 1 holds the last 14 and stale ones */
	fault_on(seg, 4096, 8192, -1);
	sp = open_sp(1 << 20, 16384, 0);
	spool_get_stats(sp, &st);
	end = spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh);
	assert_int_equal(end, (first + 35) * 100);
	assert_false(distrusted);
	/* the lost records' bytes kept, not cut ... */
	assert_int_equal(file_size(seg), size);
	/* ... and their lines read again: an open hole after the last record read */
	assert_int_equal(nh, 1);
	assert_int_equal(h[0].from, end);
	assert_int_equal(h[0].to, SPOOL_HOLE_OPEN);
	spool_free(sp);

	/* the disk reads it again: the 50 new records come back, the stale ones cut */
	fault.ino = 0;
	sp = open_sp(1 << 20, 16384, 150);
	while (spool_backlog(sp) && spool_load(sp, take, &g) > 0)
		;
	assert_int_equal(g.seq[g.n - 1], first + 49);
	for (size_t i = 1; i < g.n; i++)
		assert_int_equal(g.seq[i], g.seq[i - 1] + 1);
	spool_free(sp);
}

/*
 * A reused file whose unreadable bytes lie wholly after an intact stale
 * record: no new record was synced at or after it (it would have been
 * overwritten), so they hold none. The tail is the unused part of a
 * reused file, cut as such – not kept, counted as corrupt or given open
 * holes, nor the segment sealed.
 */
static void
test_unreadable_after_stale_reused(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	char seg[700];
	bool distrusted = true;
	uint64_t first;
	off_t size;
	size_t nh = SPOOL_MAX_FILE_HOLES;

	(void)state;
	reset();
	reused_crash(seg, sizeof(seg));
	first = strtoull(strrchr(seg, '/') + 1, NULL, 16);
	size = file_size(seg);
	assert_true(size > 3 * 4096);
	/* the new records end at 5,600, where an intact stale one starts; block 2 is bad */
	fault_on(seg, 8192, 12288, -1);
	sp = open_sp(1 << 20, 16384, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh),
	    (first + 49) * 100);
	assert_false(distrusted);
	/* stale bytes are not corruption, and no line was lost */
	assert_int_equal(st.corrupt_bytes, 0);
	assert_int_equal(nh, 0);
	assert_int_equal(file_size(seg), 50 * 112);
	spool_free(sp);
}

/*
 * test_unreadable_after_stale_reused with another bad block before the
 * last new record (a bad spot amid the segment): the bytes after the
 * intact stale record still hold no synced record and are cut with it,
 * though the read that found the stale record also met an unreadable
 * block before it.
 */
static void
test_unreadable_after_stale_reused_mid_bad(void **state)
{
	struct spool *sp;
	char seg[700];
	off_t size;

	(void)state;
	reset();
	reused_crash(seg, sizeof(seg));
	size = file_size(seg);
	assert_true(size > 3 * 4096);
	/* the new records end at 5,600, where an intact stale one starts; block 2 is bad */
	fault_on(seg, 0, 4096, -1);	/* and block 0, amid the new records */
	fault.from2 = 8192;
	fault.to2 = 12288;
	sp = open_sp(1 << 20, 16384, 0);
	/* block 0's records are lost, but the tail after the stale one is still cut */
	assert_int_equal(file_size(seg), 50 * 112);
	spool_free(sp);
}

/*
 * test_unreadable_segment_sealed with the key lost too (or the segments
 * an earlier agent's): the key made at that start counts the sealed
 * segment among the legacy ones, though no record of it could be read,
 * so that when the disk reads it again its records check (by their CRC)
 * and are sent, not taken for corruption under the new key.
 */
static void
test_unreadable_segment_sealed_key_lost(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char seg[700];
	off_t size;

	(void)state;
	reset();
	spool_of(4096, 1, 40);
	assert_true(seg_count() >= 2);
	seg_file(seg, sizeof(seg), -1);
	size = file_size(seg);
	assert_true(size > 0 && size <= 4096);
	remove_key();
	fault_on(seg, 0, 4096, -1);
	sp = open_sp(1 << 20, 1 << 20, 0);
	append_range(sp, 1000, 1004, false);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	assert_int_equal(file_size(seg), size);

	fault.ino = 0;
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.corrupt_bytes, 0);
	assert_int_equal(st.recovered, 45);
	while (spool_backlog(sp) && spool_load(sp, take, &g) > 0)
		;
	assert_int_equal(g.n, 45);
	spool_free(sp);
}

/* The file of record seq in test_load_holes: 44 first, then 42 and 43 in turn. */
static uint64_t
hole_ino(uint64_t seq)
{
	return seq <= 10 ? 44 : 42 + seq % 2;
}

/*
 * A block that goes bad after the scan, found while the backlog is read
 * back: each file with records on both sides gets a hole from its last
 * record before the lost ones to its first after them (spool_take_holes),
 * a file with none after them (44) an open one, once the loader has caught
 * up. A hole is found once: taken, it is gone.
 */
static void
test_load_holes(void **state)
{
	struct spool *sp;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	bool seen[301] = { false };
	uint64_t lo, hi;
	size_t nh;
	char seg[700];

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	for (uint64_t s = 1; s <= 300; s++) {
		struct spool_rec r;
		char buf[64];

		rec(&r, s, buf, sizeof(buf));
		r.ino = hole_ino(s);
		assert_int_equal(spool_append(sp, &r, false), 0);
	}
	assert_int_equal(spool_sync(sp), 0);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 4 * 4096, 5 * 4096, -1);
	assert_true(spool_load(sp, take, &g) < 300);
	fault.ino = 0;
	assert_false(spool_backlog(sp));
	for (size_t i = 0; i < g.n; i++)
		seen[g.seq[i]] = true;
	/* the records touching block 4, one run of them, with 42's and 43's on both sides */
	for (lo = 1; seen[lo]; lo++)
		;
	for (hi = 300; seen[hi]; hi--)
		;
	assert_int_equal(hi - lo + 1, 300 - g.n);
	assert_true(lo > 12 && hi < 299);
	nh = spool_take_holes(sp, h, 8);
	assert_int_equal(nh, 3);
	for (uint64_t ino = 42; ino <= 44; ino++) {
		uint64_t before = 0, after = 0;
		size_t k;

		for (uint64_t s = 1; s <= 300; s++)
			if (hole_ino(s) == ino && seen[s]) {
				if (s < lo)
					before = s;
				else if (after == 0)
					after = s;
			}
		for (k = 0; k < nh && h[k].ino != ino; k++)
			;
		assert_true(k < nh);
		assert_int_equal(h[k].dev, 1);
		assert_int_equal(h[k].h.from, before * 100);
		if (ino == 44)
			assert_true(h[k].h.to == SPOOL_HOLE_OPEN);
		else
			assert_int_equal(h[k].h.to, after * 100);
		assert_int_equal(h[k].fp, tail_fingerprint("head", 4));
	}
	assert_int_equal(spool_take_holes(sp, h, 8), 0);
	spool_free(sp);
}

/* Appends seq from..to of file ino (in_memory as said), with where each line begins. */
static void
append_ino(struct spool *sp, uint64_t from, uint64_t to, uint64_t ino, bool in_memory)
{
	for (uint64_t s = from; s <= to; s++) {
		struct spool_rec r;
		char buf[64];

		rec(&r, s, buf, sizeof(buf));
		r.ino = ino;
		r.start_off = r.end_off - r.line_len - 1;
		assert_int_equal(spool_append(sp, &r, in_memory), 0);
	}
}

/* Index of the first hole of ino in h[0..n), or n. */
static size_t
hole_of(const struct spool_file_hole *h, size_t n, uint64_t ino)
{
	size_t k;

	for (k = 0; k < n && h[k].ino != ino; k++)
		;
	return k;
}

/*
 * The block that goes bad holds the last records of the backlog: no valid
 * record follows; caught up, the loader opens the hole all the same (an
 * open one: from 42's last record read).
 */
static void
test_load_hole_at_end(void **state)
{
	struct spool *sp;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	struct stat st;
	char seg[700];
	size_t nh;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	append_ino(sp, 1, 10, 42, true);
	append_ino(sp, 11, 300, 42, false);
	assert_int_equal(spool_sync(sp), 0);
	seg_file(seg, sizeof(seg), 0);
	assert_int_equal(stat(seg, &st), 0);
	fault_on(seg, (st.st_size - 1) / 4096 * 4096, st.st_size, -1);
	(void)spool_load(sp, take, &g);
	fault.ino = 0;
	assert_false(spool_backlog(sp));
	assert_true(g.n < 290);	/* records were lost */
	nh = spool_take_holes(sp, h, 8);
	assert_int_equal(nh, 1);
	assert_int_equal(h[0].ino, 42);
	assert_true(h[0].h.to == SPOOL_HOLE_OPEN);
	assert_int_equal(h[0].h.from, g.seq[g.n - 1] * 100);
	spool_free(sp);
}

/*
 * File 43 appears after the backlog started (a rotation's new file), its
 * first lines in the block that goes bad: a hole from its first line
 * (where the appender saw it begin) to its first record after the block.
 */
static void
test_load_hole_new_file(void **state)
{
	struct spool *sp;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	char seg[700];
	size_t nh;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	append_ino(sp, 1, 10, 42, true);
	append_ino(sp, 11, 159, 42, false);
	append_ino(sp, 160, 300, 43, false);	/* block 4 holds about 148..184 */
	assert_int_equal(spool_sync(sp), 0);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 4 * 4096, 5 * 4096, -1);
	(void)spool_load(sp, take, &g);
	fault.ino = 0;
	assert_false(spool_backlog(sp));
	for (size_t i = 0; i < g.n; i++)
		assert_true(g.seq[i] < 160 || g.seq[i] > 170);	/* 43's first lines were lost */
	nh = spool_take_holes(sp, h, 8);
	assert_true(hole_of(h, nh, 42) < nh);	/* 42: an open hole, fine */
	assert_true(hole_of(h, nh, 43) < nh);
	assert_int_equal(h[hole_of(h, nh, 43)].h.from, 160 * 100 - strlen("line number 160") - 1);
	spool_free(sp);
}

/*
 * 64 files seen once (rotated away long ago, or the ends of the scan at
 * open) before the one written now: the files followed are the latest, so
 * 42's lines in the bad block, with records of 42 on both sides, get
 * their hole.
 */
static void
test_load_hole_many_files(void **state)
{
	struct spool *sp;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	char seg[700];
	size_t nh;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	for (uint64_t s = 1; s <= 64; s++)
		append_ino(sp, s, s, 1000 + s, true);
	append_ino(sp, 65, 74, 42, true);
	append_ino(sp, 75, 300, 42, false);
	assert_int_equal(spool_sync(sp), 0);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 3 * 4096, 4 * 4096, -1);
	(void)spool_load(sp, take, &g);
	fault.ino = 0;
	assert_true(g.n < 226);
	nh = spool_take_holes(sp, h, 8);
	assert_true(hole_of(h, nh, 42) < nh);
	spool_free(sp);
}

/*
 * The backlog found at open, the loader starting at the first segment not
 * all acknowledged: file 42's last record before the bad block is in a
 * segment before it (acknowledged), known to the loader from the scan.
 */
static void
test_load_hole_after_acked(void **state)
{
	struct spool *sp;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	char seg[700];
	size_t nh;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 8192, 0);
	append_ino(sp, 1, 73, 42, true);	/* segment 1..73 */
	append_ino(sp, 74, 149, 43, true);
	append_ino(sp, 150, 155, 42, true);	/* in the block that goes bad */
	append_ino(sp, 156, 249, 43, true);
	append_ino(sp, 250, 250, 42, true);
	append_ino(sp, 251, 300, 43, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	sp = open_sp(1 << 20, 8192, 73);	/* restart: 1..73 acknowledged, trimmed */
	assert_true(spool_backlog(sp));
	seg_file(seg, sizeof(seg), 1);	/* the segment holding 150..155 */
	fault_on(seg, 0, 4096, -1);
	(void)spool_load(sp, take, &g);
	fault.ino = 0;
	for (size_t i = 0; i < g.n; i++)
		assert_true(g.seq[i] < 150 || g.seq[i] > 155);
	nh = spool_take_holes(sp, h, 8);
	assert_true(hole_of(h, nh, 42) < nh);
	spool_free(sp);
}

/*
 * A block gone bad under a backlog read back a little at a time (the
 * queue takes 40 records per call): it is read once (three tries), counted
 * once, and every record around it is taken.
 */
static void
test_load_bad_block_once(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char seg[700];
	size_t calls = 0;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	append_ino(sp, 1, 300, 42, false);
	assert_int_equal(spool_sync(sp), 0);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 4 * 4096, 5 * 4096, -1);
	while (spool_backlog(sp)) {
		g.stop_after = g.n + 40;
		(void)spool_load(sp, take, &g);
		assert_true(++calls < 20);
	}
	assert_int_equal(fault.hits, MS_DISK_TRIES);
	fault.ino = 0;
	spool_get_stats(sp, &st);
	/* the block, and the rest of the record it cut after it */
	assert_true(st.corrupt_bytes >= 4096 && st.corrupt_bytes < 4096 + 200);
	/* the records wholly outside the block: about 37 of 300 touch it */
	assert_true(g.n >= 300 - 40 && g.n < 300);
	for (size_t i = 1; i < g.n; i++)
		assert_true(g.seq[i] > g.seq[i - 1]);
	assert_int_equal(g.seq[g.n - 1], 300);
	spool_free(sp);
}

/*
 * Two blocks the scan could not read, in one segment, with whole records
 * between them (block 5). The scan keeps those records (tail's positions
 * go past them); read back, every one of them is taken: the loader goes
 * on after the first bad block, not after the last one of its window.
 */
static void
test_load_two_bad_blocks(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char seg[700];

	(void)state;
	reset();
	spool_of(1 << 20, 1, 300);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 4 * 4096, 5 * 4096, -1);
	fault.from2 = 6 * 4096;
	fault.to2 = 7 * 4096;
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_true(st.recovered > 200 && st.recovered < 300 - 40);
	(void)spool_load(sp, take, &g);
	fault.ino = 0;
	assert_false(spool_backlog(sp));
	if (g.n != st.recovered)
		fail_msg("the scan kept %llu records, the read-back took %zu",
		    (unsigned long long)st.recovered, g.n);
	spool_free(sp);
}

/*
 * A block the scan could not read is not read again when the backlog is
 * read back (three more tries, 0.2 s of pauses in the event loop) nor
 * counted twice: the loader goes past the bytes the scan skipped.
 */
static void
test_load_skips_scanned_bad(void **state)
{
	struct spool *sp;
	struct spool_stats st, st2;
	struct got g = { 0 };
	char seg[700];
	unsigned pauses;

	(void)state;
	reset();
	spool_of(1 << 20, 1, 300);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 4 * 4096, 5 * 4096, -1);
	nanosleeps = 0;
	sp = open_sp(1 << 20, 1 << 20, 0);
	assert_int_equal(fault.hits, MS_DISK_TRIES);
	pauses = nanosleeps;
	spool_get_stats(sp, &st);
	assert_true(st.corrupt_bytes >= 4096 && st.corrupt_bytes < 4096 + 200);
	while (spool_backlog(sp))
		(void)spool_load(sp, take, &g);
	if (fault.hits != MS_DISK_TRIES)
		fail_msg("the block was read %d times (%d at the scan)", fault.hits, MS_DISK_TRIES);
	assert_int_equal(nanosleeps, pauses);
	fault.ino = 0;
	spool_get_stats(sp, &st2);
	assert_int_equal(st2.corrupt_bytes, st.corrupt_bytes);
	assert_int_equal(g.n, st.recovered);
	for (size_t i = 1; i < g.n; i++)
		assert_true(g.seq[i] > g.seq[i - 1]);
	assert_int_equal(g.seq[g.n - 1], 300);
	spool_free(sp);
}

/*
 * A block goes bad while the agent runs in a segment the scan already
 * found damaged (a failing disk loses blocks one after another): the
 * records of the new bad block are lost too, and the files' lines in them
 * must be read again – holes from each file's last record read before
 * them to its first after them, as in a segment without earlier damage.
 */
static void
test_load_bad_in_damaged_segment(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	bool seen[301] = { false };
	uint64_t lo, hi;
	size_t nh;
	char seg[700];

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	for (uint64_t s = 1; s <= 300; s++) {
		struct spool_rec r;
		char buf[64];

		rec(&r, s, buf, sizeof(buf));
		r.ino = hole_ino(s);
		assert_int_equal(spool_append(sp, &r, true), 0);
	}
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	seg_file(seg, sizeof(seg), 0);
	fault_on(seg, 2 * 4096, 3 * 4096, -1);	/* found by the scan */
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_true(st.recovered < 300);
	fault_on(seg, 6 * 4096, 7 * 4096, -1);	/* gone bad since */
	while (spool_backlog(sp))
		(void)spool_load(sp, take, &g);
	assert_int_equal(fault.hits, MS_DISK_TRIES);
	fault.ino = 0;
	for (size_t i = 0; i < g.n; i++)
		seen[g.seq[i]] = true;
	/* the run lost to the new block: after the scan's, before the end */
	for (hi = 300; seen[hi]; hi--)
		;
	for (lo = hi; lo > 1 && !seen[lo - 1]; lo--)
		;
	assert_true(lo > 150 && hi < 299);
	for (uint64_t s = 120; s < lo; s++)
		assert_true(seen[s]);
	nh = spool_take_holes(sp, h, 8);
	for (uint64_t ino = 42; ino <= 43; ino++) {
		uint64_t before = 0, after = 0;
		size_t k = hole_of(h, nh, ino);

		for (uint64_t s = 120; s <= 300; s++)
			if (hole_ino(s) == ino && seen[s]) {
				if (s < lo)
					before = s;
				else if (after == 0)
					after = s;
			}
		if (k == nh)
			fail_msg("no hole for file %llu's lines lost with the new bad block",
			    (unsigned long long)ino);
		assert_int_equal(h[k].h.from, before * 100);
		assert_int_equal(h[k].h.to, after * 100);
	}
	spool_free(sp);
}

/* The start offsets of segment file seg's records (up to max), their count. */
static size_t
rec_offsets(const char *seg, off_t *offs, size_t max)
{
	off_t size = file_size(seg), off = 0;
	size_t n = 0;
	char *buf;
	int fd;

	assert_non_null(buf = malloc((size_t)size));
	assert_true((fd = open(seg, O_RDONLY)) >= 0);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	close(fd);
	while (off + 12 <= size && n < max) {
		offs[n++] = off;
		off += 12 + (off_t)ms_get32(buf + off + 8);
	}
	free(buf);
	return n;
}

/* Flips one byte of the line of the record at off (the scan skips it). */
static void
spoil_rec(const char *seg, off_t off)
{
	char b;
	int fd;

	assert_true((fd = open(seg, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &b, 1, off + SPOOL_REC_HDR + 20), 1);
	b ^= 0x55;
	assert_int_equal(pwrite(fd, &b, 1, off + SPOOL_REC_HDR + 20), 1);
	close(fd);
}

/*
 * The record right before bytes the scan skipped goes bad since (its
 * length now runs into them): counted and skipped, its file's lines read
 * again (a hole), and the loader goes on after the skipped bytes – it
 * neither stops there nor reads the bad block again.
 */
static void
test_load_gone_bad_before_scanned(void **state)
{
	struct spool *sp;
	struct spool_stats st, st2;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	bool seen[301] = { false };
	char seg[700], buf[4];
	uint64_t lost_seq, before = 0, after = 0;
	off_t offs[400], off, prev;
	size_t nh, k, r0;
	int fd;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 1 << 20, 0);
	for (uint64_t s = 1; s <= 300; s++) {
		struct spool_rec r;
		char line[64];

		rec(&r, s, line, sizeof(line));
		r.ino = hole_ino(s);
		assert_int_equal(spool_append(sp, &r, true), 0);
	}
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	seg_file(seg, sizeof(seg), 0);
	/* where the record across block 2's start begins, and the one before it */
	assert_int_equal(rec_offsets(seg, offs, 400), 300);
	for (r0 = 1; offs[r0 + 1] <= 2 * 4096; r0++)
		;
	prev = offs[r0 - 1];
	off = offs[r0];
	fault_on(seg, 2 * 4096, 3 * 4096, -1);
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	/*
	 * the record before: its length (and its line's, which must agree)
	 * now past the skipped bytes' start, so that it reads as cut short
	 */
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	for (int at = 8; at <= 68; at += 60) {
		assert_int_equal(pread(fd, buf, 4, prev + at), 4);
		ms_put32(buf, ms_get32(buf) + 5000);
		assert_int_equal(pwrite(fd, buf, 4, prev + at), 4);
	}
	close(fd);
	while (spool_backlog(sp))
		(void)spool_load(sp, take, &g);
	assert_int_equal(fault.hits, MS_DISK_TRIES);
	fault.ino = 0;
	spool_get_stats(sp, &st2);
	assert_int_equal(st2.corrupt_bytes, st.corrupt_bytes + (uint64_t)(off - prev));
	assert_int_equal(g.n, st.recovered - 1);
	for (size_t i = 0; i < g.n; i++)
		seen[g.seq[i]] = true;
	for (lost_seq = 1; seen[lost_seq]; lost_seq++)
		;
	assert_int_equal(g.seq[g.n - 1], 300);
	for (uint64_t s = 1; s <= 300; s++)
		if (hole_ino(s) == hole_ino(lost_seq) && seen[s]) {
			if (s < lost_seq)
				before = s;
			else if (after == 0)
				after = s;
		}
	nh = spool_take_holes(sp, h, 8);
	k = hole_of(h, nh, hole_ino(lost_seq));
	assert_true(k < nh);
	assert_int_equal(h[k].h.from, before * 100);
	assert_int_equal(h[k].h.to, after * 100);
	spool_free(sp);
}

/*
 * More runs of corrupt records in one segment than the scan remembers
 * (SPOOL_SEG_RANGES): the loader takes them all for known, as before
 * runs were remembered – counted once, every other record taken, no hole.
 */
static void
test_load_many_corrupt_runs(void **state)
{
	struct spool *sp;
	struct spool_stats st, st2;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	char seg[700];
	off_t size;
	int fd;

	(void)state;
	for (int runs = 4; runs <= 24; runs += 20) {
		reset();
		sp = open_sp(1 << 20, 1 << 20, 0);
		append_range(sp, 1, 100, true);
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);
		seg_file(seg, sizeof(seg), 0);
		size = file_size(seg);
		/* one byte of the line of every fourth record (they have about the same size) */
		assert_true((fd = open(seg, O_RDWR)) >= 0);
		for (int k = 0; k < runs; k++) {
			off_t at = size / 100 * (4 * k + 2) + SPOOL_REC_HDR + 20;
			char b;

			assert_int_equal(pread(fd, &b, 1, at), 1);
			b ^= 0x55;
			assert_int_equal(pwrite(fd, &b, 1, at), 1);
		}
		close(fd);
		sp = open_sp(1 << 20, 1 << 20, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, 100 - (uint64_t)runs);
		assert_true(st.corrupt_bytes > 0);
		while (spool_backlog(sp))
			(void)spool_load(sp, take, &g);
		spool_get_stats(sp, &st2);
		assert_int_equal(st2.corrupt_bytes, st.corrupt_bytes);
		assert_int_equal(g.n, st.recovered);
		assert_int_equal(spool_take_holes(sp, h, 8), 0);
		spool_free(sp);
		memset(&g, 0, sizeof(g));
	}
}

/*
 * An older segment cut short by someone else after the start
 * (shorter than scanned), at a record's end before bytes the scan skipped
 * in it: as without skipped bytes, the loader takes its end there and
 * goes on with the next segment. (Read limited to the skipped bytes, the
 * short read is taken for "short file": the loader stops there for good,
 * every later record held.)
 */
static void
test_load_shorter_before_scanned(void **state)
{
	struct spool *sp;
	struct got g = { 0 };
	char seg[700];
	off_t offs[400];
	size_t n, calls = 0;
	bool seen[601] = { false };

	(void)state;
	reset();
	spool_of(16384, 1, 600);
	assert_true(seg_count() >= 3);
	seg_file(seg, sizeof(seg), 0);
	n = rec_offsets(seg, offs, 400);
	assert_true(n > 100);
	spoil_rec(seg, offs[80]);	/* skipped by the scan: a known run */
	sp = open_sp(1 << 20, 16384, 0);
	assert_true(spool_backlog(sp));
	assert_int_equal(truncate(seg, offs[40]), 0);	/* records 41.. of it gone */
	while (spool_backlog(sp)) {
		(void)spool_load(sp, take, &g);
		if (++calls > 20)
			fail_msg("the backlog never drains: %zu records taken (of about %zu)", g.n,
			    600 - n + 40);
	}
	for (size_t i = 0; i < g.n; i++)
		seen[g.seq[i]] = true;
	for (uint64_t s = 1; s <= 40; s++)
		assert_true(seen[s]);
	for (uint64_t s = n + 1; s <= 600; s++)
		assert_true(seen[s]);
	spool_free(sp);
}

/*
 * A block goes bad while the agent runs across the start of a
 * small run the scan skipped (one corrupt record in the block's middle):
 * read once (three tries), as anywhere else. (The read stopped at the
 * run's start takes the block's first part for all of it; after the run,
 * the block's rest is read again: three more tries, 0.2 s more in the
 * event loop.)
 */
static void
test_load_bad_across_scanned_run(void **state)
{
	struct spool *sp;
	struct got g = { 0 };
	char seg[700];
	off_t offs[400];
	size_t n, k;

	(void)state;
	reset();
	spool_of(1 << 20, 1, 300);
	seg_file(seg, sizeof(seg), 0);
	n = rec_offsets(seg, offs, 400);
	assert_int_equal(n, 300);
	for (k = 0; offs[k] < 2 * 4096 + 1000; k++)
		;
	assert_true(offs[k + 1] < 3 * 4096);
	spoil_rec(seg, offs[k]);	/* the scan skips record k + 1 */
	sp = open_sp(1 << 20, 1 << 20, 0);
	fault_on(seg, 2 * 4096, 3 * 4096, -1);	/* gone bad since */
	nanosleeps = 0;
	while (spool_backlog(sp))
		(void)spool_load(sp, take, &g);
	if (fault.hits != MS_DISK_TRIES)
		fail_msg("the block gone bad was read %d times (%d tries: once)", fault.hits,
		    MS_DISK_TRIES);
	fault.ino = 0;
	assert_int_equal(g.seq[g.n - 1], 300);
	spool_free(sp);
}

/*
 * 16 runs skipped in the middle of a segment (as many as are
 * remembered) and a torn tail cut at the start: the tail's run is not one
 * the loader meets (trimmed), so the segment is not damaged as a whole –
 * a record going bad later in it is counted and its line gets a hole.
 * (The 17th run set "damaged" before the trim: lines lost.)
 */
static void
test_load_runs_and_torn_tail(void **state)
{
	struct spool *sp;
	struct spool_stats st, st2;
	struct spool_file_hole h[8];
	struct got g = { 0 };
	char seg[700];
	off_t offs[200];
	size_t n;

	(void)state;
	reset();
	spool_of(1 << 20, 1, 100);
	seg_file(seg, sizeof(seg), 0);
	n = rec_offsets(seg, offs, 200);
	assert_int_equal(n, 100);
	for (int k = 0; k < 16; k++)
		spoil_rec(seg, offs[4 * k + 2]);
	assert_int_equal(truncate(seg, file_size(seg) - 7), 0);	/* torn: record 100 */
	sp = open_sp(1 << 20, 1 << 20, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.recovered, 100 - 16 - 1);
	spoil_rec(seg, offs[80]);	/* record 81 goes bad since */
	while (spool_backlog(sp))
		(void)spool_load(sp, take, &g);
	spool_get_stats(sp, &st2);
	assert_int_equal(g.n, st.recovered - 1);
	if (st2.corrupt_bytes == st.corrupt_bytes)
		fail_msg("record 81 gone bad since the start: not counted (segment taken as damaged)");
	if (spool_take_holes(sp, h, 8) == 0)
		fail_msg("record 81's line lost: no hole");
	spool_free(sp);
}

/*
 * The loader stops (queue full) before a bad block of segment 1, then
 * segment 0 is delivered and deleted (the segments move down one):
 *  heal = 0: the block is not read (three tries) again;
 *  heal = 1: the block reads again (a passing fault): no record of the
 *    next segment is skipped at the same offsets.
 */
static void
lbad_after_trim(int heal)
{
	{
		struct spool *sp;
		struct got g = { 0 };
		char seg[700], seg2[700];
		bool seen[1001] = { false };
		uint64_t first2;
		const char *b;

		reset();
		sp = open_sp(1 << 20, 16384, 0);
		append_ino(sp, 1, 1000, 42, true);
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);
		assert_true(seg_count() >= 4);
		sp = open_sp(1 << 20, 16384, 0);	/* all of it backlog */
		seg_file(seg, sizeof(seg), 1);
		seg_file(seg2, sizeof(seg2), 2);
		b = strrchr(seg2, '/') + 1;
		first2 = strtoull(b, NULL, 16);
		fault_on(seg, 2 * 4096, 3 * 4096, -1);
		/* segment 0 (about 146 records) and the first few of segment 1 */
		g.stop_after = 160;
		(void)spool_load(sp, take, &g);
		assert_int_equal(fault.hits, MS_DISK_TRIES);
		assert_true(spool_backlog(sp));
		/* delivered and saved: segment 0 goes */
		assert_false(spool_ack(sp, g.seq[g.n - 1]));
		assert_true(spool_covered(sp, g.seq[g.n - 1]));
		if (heal)
			fault.ino = 0;
		g.stop_after = 0;
		while (spool_backlog(sp))
			(void)spool_load(sp, take, &g);
		for (size_t i = 0; i < g.n; i++)
			seen[g.seq[i]] = true;
		if (!heal) {
			if (fault.hits != MS_DISK_TRIES)
				fail_msg("the bad block was read %d times (%d expected)", fault.hits,
				    MS_DISK_TRIES);
		} else {
			for (uint64_t s = first2; s <= 1000; s++)
				if (!seen[s])
					fail_msg("record %llu of a healthy segment skipped",
					    (unsigned long long)s);
		}
		fault.ino = 0;
		spool_free(sp);
	}
}

static void
test_load_bad_after_trim(void **state)
{
	(void)state;
	lbad_after_trim(0);
}

static void
test_load_bad_after_trim_heal(void **state)
{
	(void)state;
	lbad_after_trim(1);
}

/*
 * Segment A's last record is corrupt (a lost page: A was synced when B
 * was started, so the positions saved may be past its line) and B is
 * empty (the agent killed right after seg_roll, before its first flush):
 * B is deleted as empty, and no record follows the lost bytes; file 42
 * gets an open hole from the end of its last good record, and A's lost
 * bytes, now the end of the segment written to, are cut.
 */
static void
test_kept_tail_then_empty_segment(void **state)
{
	struct spool *sp;
	struct spool_hole holes[SPOOL_MAX_FILE_HOLES + 1];
	size_t nh = SPOOL_MAX_FILE_HOLES + 1;
	bool distrusted = true;
	char segA[700], segB[700], c;
	uint64_t end;
	off_t size;
	int fd;

	(void)state;
	reset();
	sp = open_sp(1 << 20, 4096, 0);
	append_ino(sp, 1, 40, 42, true);
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	assert_int_equal(seg_count(), 2);
	seg_file(segA, sizeof(segA), 0);
	seg_file(segB, sizeof(segB), 1);
	assert_int_equal(truncate(segB, 0), 0);
	size = file_size(segA);
	assert_true((fd = open(segA, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &c, 1, size - 20), 1);
	c ^= 0x55;
	assert_int_equal(pwrite(fd, &c, 1, size - 20), 1);
	close(fd);
	sp = open_sp(1 << 20, 4096, 0);
	end = spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, holes, &nh);
	assert_false(distrusted);
	if (nh != 1 || holes[0].to != SPOOL_HOLE_OPEN || holes[0].from != end)
		fail_msg("end %llu, %zu holes: the lost last record of A opens no hole",
		    (unsigned long long)end, nh);
	spool_free(sp);
}

/* A small deterministic generator for the property test below (xorshift64*). */
static uint64_t
prop_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(2685821657736338717);
}

#define PROP_FILES 3
#define PROP_RECS 240

/*
 * Loses bytes of the spool for holes_property, past its first bytes
 * (each file's first record): one to three blocks the disk cannot read
 * (a third of the calls; 1 is returned), else one or two runs of bytes
 * zeroed.
 */
static int
prop_damage(uint64_t *xp, off_t first)
{
	uint64_t x = *xp;
	int nsegs = seg_count(), faulted = 0;
	char seg[700];

	if (prop_next(&x) % 3 == 0) {
		/* blocks the disk cannot read (one range: the fault follows one file) */
		int which = (int)(prop_next(&x) % (uint64_t)nsegs);
		off_t size, from, to;

		seg_file(seg, sizeof(seg), which);
		size = file_size(seg);
		from = (off_t)(prop_next(&x) % (uint64_t)size) / 4096 * 4096;
		if (which == 0)
			while (from < first)
				from += 4096;
		to = from + 4096 * (off_t)(1 + prop_next(&x) % 3);
		if (from < size) {
			fault_on(seg, from, to < size ? to : size, -1);
			faulted = 1;
		}
	} else for (int d = 0, nd = 1 + (int)(prop_next(&x) % 2); d < nd; d++) {
		char z[1500] = { 0 };
		int which = (int)(prop_next(&x) % (uint64_t)nsegs), fd;
		off_t size, at;
		size_t n;

		seg_file(seg, sizeof(seg), which);
		size = file_size(seg);
		if (which == 0 && size <= first)
			continue;
		/* past the first records (each file's first), not always to the end */
		at = (which == 0 ? first : 0) + (off_t)(prop_next(&x) % (uint64_t)size);
		if (at >= size)
			continue;
		n = 1 + prop_next(&x) % sizeof(z);
		if ((off_t)n > size - at)
			n = (size_t)(size - at);
		assert_true((fd = open(seg, O_RDWR)) >= 0);
		assert_int_equal(pwrite(fd, z, n, at), (ssize_t)n);
		close(fd);
	}
	*xp = x;
	return faulted;
}

/*
 * Whatever bytes of the spool are lost, every lost line is in a hole of
 * its file (a property over 300 generated spools, a fixed seed): three
 * files' lines (1..80 bytes, "\n" or "\r\n") interleaved at random, each
 * file's first record never lost, segments of 1 MiB or of 2 KiB (lost
 * bytes across segment ends, corrupt tails kept, segments gone empty), one
 * or two runs of bytes zeroed, or (a third of the trials) one to three
 * blocks the disk cannot read – in the middle of a segment or at its end,
 * a sealed one; at the next start, each record not read back
 * has its line inside a hole of its file – between from and to, or after
 * from of an open hole – and no file is distrusted. A file with fewer than
 * four holes has no line read back inside one (nothing read twice).
 * Lost at start (PROP_START: holes from the scan), while running
 * (PROP_RUNNING: from the loader), or both (PROP_BOTH: more bytes lost
 * after a start that found some, in the same segments or others).
 */
enum prop_when { PROP_START, PROP_RUNNING, PROP_BOTH };

static void
holes_property(enum prop_when when)
{
	const bool running = when == PROP_RUNNING;
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)when;
	size_t lost = 0, unreadable = 0;

	for (int trial = 0; trial < 300; trial++) {
		static uint64_t start[PROP_RECS + 1], end[PROP_RECS + 1], ino[PROP_RECS + 1];
		static bool seen[PROP_RECS + 1];
		uint64_t off[PROP_FILES] = { 0 }, segsz = prop_next(&x) % 2 ? 1 << 20 : 2048;
		struct spool_hole h[PROP_FILES][2 * (SPOOL_MAX_FILE_HOLES + 1)];
		size_t nh[PROP_FILES];
		struct got g = { 0 };
		struct spool *sp;
		off_t first = 0;	/* the first PROP_FILES records' bytes: never lost */
		unsigned syncs_before;

		reset();
		memset(seen, 0, sizeof(seen));
		sp = open_sp(1 << 20, segsz, 0);
		for (uint64_t s = 1; s <= PROP_RECS; s++) {
			struct spool_rec r;
			char buf[128];
			size_t len = 1 + prop_next(&x) % 80;
			int k = s <= PROP_FILES ? (int)s - 1 : (int)(prop_next(&x) % PROP_FILES);
			bool crlf = prop_next(&x) % 4 == 0;

			memset(buf, 'a' + k, len);
			buf[len] = '\0';
			rec(&r, s, buf, sizeof(buf));
			memset(buf, 'a' + k, len);
			r.line = buf;
			r.line_len = len;
			r.ino = 100 + (uint64_t)k;
			start[s] = off[k];
			off[k] += len + 1 + crlf;
			r.end_off = end[s] = off[k];
			ino[s] = r.ino;
			if (s <= PROP_FILES)
				first += (off_t)(SPOOL_REC_HDR + r.src_len + len + SPOOL_REC_TAG);
			assert_int_equal(spool_append(sp, &r, !running), 0);
		}
		syncs_before = syncs;
		assert_int_equal(spool_sync(sp), 0);
		assert_true(syncs > syncs_before);	/* the records asked of the disk */
		if (!running)
			spool_free(sp);
		unreadable += prop_damage(&x, first);
		memset(nh, 0, sizeof(nh));
		if (!running) {
			sp = open_sp(1 << 20, segsz, 0);
			for (int k = 0; k < PROP_FILES; k++) {
				bool distrusted;

				nh[k] = SPOOL_MAX_FILE_HOLES + 1;
				(void)spool_take_file_end(sp, 1, 100 + (uint64_t)k, "head", 4,
				    &distrusted, h[k], &nh[k]);
				if (distrusted)
					fail_msg("trial %d: file %d distrusted", trial, k);
			}
		}
		if (when == PROP_BOTH)
			unreadable += prop_damage(&x, first);
		/* read back as the collector acknowledges */
		(void)spool_load(sp, take, &g);
		assert_false(spool_backlog(sp));
		if (when != PROP_START) {
			/* the holes the loader found */
			struct spool_file_hole fh[64];
			size_t n = spool_take_holes(sp, fh, MS_ARRAY_LEN(fh));

			for (size_t j = 0; j < n; j++) {
				int k = (int)(fh[j].ino - 100);

				assert_true(k >= 0 && k < PROP_FILES &&
				    nh[k] < MS_ARRAY_LEN(h[k]));
				h[k][nh[k]++] = fh[j].h;
			}
		}
		spool_free(sp);
		fault.ino = 0;
		for (size_t i = 0; i < g.n; i++)
			seen[g.seq[i]] = true;
		for (uint64_t s = 1; s <= PROP_RECS; s++) {
			int k = (int)(ino[s] - 100);
			bool in = false;

			for (size_t j = 0; j < nh[k]; j++) {
				const struct spool_hole *o = &h[k][j];

				if (o->from <= start[s] && (o->to == SPOOL_HOLE_OPEN || end[s] < o->to))
					in = true;
			}
			lost += !seen[s];
			if (!seen[s] && !in)
				fail_msg("when %d, trial %d: record %llu (file %d, %llu..%llu) lost, "
				    "in no hole", (int)when, trial, (unsigned long long)s, k,
				    (unsigned long long)start[s],
				    (unsigned long long)end[s]);
			if (seen[s] && in && nh[k] < SPOOL_MAX_FILE_HOLES)
				fail_msg("when %d, trial %d: record %llu read back and in a hole",
				    (int)when, trial, (unsigned long long)s);
		}
	}
	/* not a property of nothing: many lines were lost, some in unreadable blocks */
	assert_true(lost > 1000);
	assert_true(unreadable > 50);
}

static void
test_holes_cover_lost(void **state)
{
	(void)state;
	holes_property(PROP_START);
}

/* The same while the agent runs: the bytes go bad under the backlog, found as it is read back. */
static void
test_load_holes_cover_lost(void **state)
{
	(void)state;
	holes_property(PROP_RUNNING);
}

/* Both: bytes lost before a start and more after it, the loader's holes beside the scan's. */
static void
test_both_holes_cover_lost(void **state)
{
	(void)state;
	holes_property(PROP_BOTH);
}

static void
test_cap_and_ack(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_rec r;
	char buf[64];
	uint64_t s = 1;
	int rc;

	(void)state;
	reset();
	sp = open_sp(16384, 4096, 0);
	/* Fill up to the cap: refused, nothing written. */
	while ((rc = spool_append(sp, (rec(&r, s, buf, sizeof(buf)), &r), true)) == 0)
		s++;
	assert_int_equal(rc, 1);
	spool_get_stats(sp, &st);
	assert_true(st.bytes <= 16384);
	assert_true(st.segments >= 4);
	/* Acknowledged but positions not yet saved: nothing may go. */
	assert_false(spool_ack(sp, s - 1));
	assert_int_equal(spool_append(sp, (rec(&r, s, buf, sizeof(buf)), &r), true), 1);
	/* Saved too: every segment but the one written to is deleted, room again. */
	assert_true(spool_covered(sp, s - 1));
	spool_get_stats(sp, &st);
	assert_int_equal(st.segments, 1);
	assert_true(st.bytes <= 4096);
	assert_int_equal(spool_append(sp, (rec(&r, s, buf, sizeof(buf)), &r), true), 0);
	spool_free(sp);
}

/* Bytes of every file in the spool folder (the spare included; the key's 36 aside). */
static uint64_t
dir_bytes(void)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	uint64_t sum = 0;

	assert_true(n >= 2);
	for (int i = 0; i < n; i++) {
		char p[1000];

		if (names[i]->d_name[0] != '.' && strcmp(names[i]->d_name, "key") != 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]->d_name);
			sum += (uint64_t)file_size(p);
		}
		free(names[i]);
	}
	free(names);
	return sum;
}

/*
 * Fills a spool with 1..150 (segments of 4 KiB), delivers 1..80 (the first
 * segment becomes the spare), then appends until the spare is reused and
 * `extra` more records are in it; the last appended is returned. With
 * crash, the process ends there (_exit in a child, no spool_free: the
 * reused file keeps its old records past the new ones) and 0 is returned.
 * line_len > 0: the records after 150 have lines of that many bytes.
 */
static uint64_t
reuse_fill(int extra, bool crash, size_t line_len)
{
	struct spool *sp = NULL;
	struct spool_stats st;
	uint64_t last = 0;
	pid_t pid = crash ? fork() : 0;
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		bool ok;

		sp = open_sp(1 << 20, 4096, 0);
		append_range(sp, 1, 150, true);
		ok = spool_sync(sp) == 0;
		spool_covered(sp, 150);
		spool_ack(sp, 80);
		ok = ok && spare_exists();
		for (uint64_t s = 151; ok && (last == 0 || s <= last) && s < 400; s++) {
			struct spool_rec r;
			char buf[64], y[512];

			rec(&r, s, buf, sizeof(buf));
			if (line_len > 0 && line_len <= sizeof(y)) {
				memset(y, 'y', line_len);
				r.line = y;
				r.line_len = line_len;
			}
			ok = spool_append(sp, &r, true) == 0;
			spool_get_stats(sp, &st);
			if (st.reused == 1 && last == 0)
				last = s + (uint64_t)extra;
		}
		ok = ok && last != 0 && spool_sync(sp) == 0 && !spare_exists();
		if (crash)
			_exit(ok ? 0 : 1);
		assert_true(ok);
		spool_free(sp);
		return last;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return 0;	/* the files as the crash left them */
}

/*
 * An acknowledged segment's file is written again as a later segment
 * (cheaper for the kernel than a new file). After a crash its stale
 * records, older than the segment, are cut, not sent and not counted as
 * corruption, also when the last new record was torn; a reused segment
 * that filled up leaves no piece of an old record behind.
 */
static void
test_reuse(void **state)
{
	struct spool *sp;
	struct spool_stats st;
	struct got g = { 0 };
	char seg[700];
	off_t size, valid;
	uint64_t first, last;
	int fd;

	(void)state;
	for (int torn = 0; torn < 2; torn++) {
		reset();
		memset(&g, 0, sizeof(g));
		/* Three new records in the reused file, then a crash. */
		reuse_fill(2, true, 0);
		seg_file(seg, sizeof(seg), 0);
		first = strtoull(strrchr(seg, '/') + 1, NULL, 16);	/* oldest kept segment */
		seg_file(seg, sizeof(seg), -1);
		size = file_size(seg);
		assert_true(size >= 2048);
		valid = 0;
		{
			/* Where the new records end: the third record's end. */
			char hdr[12];
			uint32_t body = 0;

			assert_true((fd = open(seg, O_RDWR)) >= 0);
			for (int k = 0; k < 3; k++) {
				valid += k > 0 ? 12 + body : 0;	/* where record k starts */
				assert_int_equal(pread(fd, hdr, 12, valid), 12);
				body = (uint32_t)(unsigned char)hdr[8] | (uint32_t)(unsigned char)hdr[9] << 8;
			}
			last = strtoull(strrchr(seg, '/') + 1, NULL, 16) + 2;
			if (torn) {
				/* Zero the last 20 bytes of the third: torn by the crash. */
				char z[20] = { 0 };

				assert_int_equal(pwrite(fd, z, sizeof(z), valid + 12 + body - 20), 20);
				last--;
			} else {
				valid += 12 + body;
			}
			close(fd);
		}

		/*
		 * Reopened as after a crash before the acknowledgement was saved
		 * (acked 0): the old records of the reused file (1..36) do not
		 * come back, everything else does, in order.
		 */
		sp = open_sp(1 << 20, 4096, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.corrupt_bytes, 0);
		assert_int_equal(spool_max_seq(sp), last);
		assert_int_equal(st.recovered, last - first + 1);
		assert_int_equal(spool_load(sp, take, &g), last - first + 1);
		for (size_t i = 0; i < g.n; i++)
			assert_int_equal(g.seq[i], i + first);
		/* the bytes skipped before the stale records are no gap: the file's end is trusted */
		assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, NULL, NULL, NULL), last * 100);
		/* The old records were cut from the file: appending goes on after the new ones. */
		assert_int_equal(file_size(seg), valid);
		assert_true(valid < size);
		append_range(sp, last + 1, last + 1, true);
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);
		assert_true(file_size(seg) > valid);
	}

	/*
	 * The reused segment filled: 20 records of 196 bytes end 67 bytes
	 * before its old ones did (1..36, 3,987 bytes), the piece of an old record
	 * left there is cut when the segment is left.
	 */
	reset();
	memset(&g, 0, sizeof(g));
	last = reuse_fill(25, false,
	    196 - SPOOL_REC_HDR - SPOOL_REC_TAG - strlen("/var/log/auth.log"));
	sp = open_sp(1 << 20, 4096, 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.corrupt_bytes, 0);
	assert_int_equal(spool_max_seq(sp), last);
	assert_int_equal(spool_load(sp, take, &g), st.recovered);
	assert_int_equal(g.seq[g.n - 1], last);
	for (size_t i = 1; i < g.n; i++)
		assert_int_equal(g.seq[i], g.seq[i - 1] + 1);
	spool_free(sp);
}

/*
 * With a spare, the files of the spool still stay under max_bytes: the
 * spare goes when appending needs its room.
 */
static void
test_reuse_cap(void **state)
{
	struct spool *sp;
	struct spool_rec r;
	char buf[64], seg[700];
	uint64_t s = 1;
	int rc;

	(void)state;
	reset();
	sp = open_sp(16384, 4096, 0);
	for (int round = 0; round < 4; round++) {
		while ((rc = spool_append(sp, (rec(&r, s, buf, sizeof(buf)), &r), true)) == 0) {
			assert_int_equal(spool_flush(sp), 0);
			assert_true(dir_bytes() <= 16384);
			s++;
		}
		assert_int_equal(rc, 1);
		/*
		 * Full. The oldest segment delivered: it becomes the spare
		 * while the spool is still full; appending may go on only
		 * once the spare is gone.
		 */
		seg_file(seg, sizeof(seg), 1);
		spool_covered(sp, s - 1);
		assert_true(spool_ack(sp, strtoull(strrchr(seg, '/') + 1, NULL, 16) - 1));
		assert_true(spare_exists());
		assert_true(dir_bytes() <= 16384);
		assert_int_equal(spool_append(sp, (rec(&r, s, buf, sizeof(buf)), &r), true), 0);
		s++;
		assert_int_equal(spool_flush(sp), 0);
		assert_true(dir_bytes() <= 16384);
	}
	spool_free(sp);
}

static void
test_backlog(void **state)
{
	struct spool *sp;
	struct got g = { 0 };

	(void)state;
	reset();
	sp = open_sp(1 << 20, 2048, 0);
	/* 1..5 fit in memory, 6..300 do not (several segments). */
	append_range(sp, 1, 5, true);
	append_range(sp, 6, 300, false);
	assert_true(spool_backlog(sp));
	/* The queue takes 50 at a time: order kept across segments. */
	g.stop_after = 50;
	assert_int_equal(spool_load(sp, take, &g), 50);
	assert_int_equal(g.seq[0], 6);
	assert_int_equal(g.seq[49], 55);
	assert_true(spool_backlog(sp));
	/* Older segments go once acknowledged and covered; reading goes on. */
	spool_covered(sp, 55);
	spool_ack(sp, 55);
	g.stop_after = 0;
	/* New lines while a backlog exists stay behind it. */
	append_range(sp, 301, 310, false);
	assert_int_equal(spool_load(sp, take, &g), 255);
	assert_false(spool_backlog(sp));
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.seq[i], i + 6);
	/* Caught up: the next record may live in memory again. */
	append_range(sp, 311, 311, true);
	assert_false(spool_backlog(sp));
	spool_free(sp);
}

/*
 * A spool written by an earlier agent ("MSR1" records with zlib's CRC-32,
 * or "MSR2" with CRC-32C; no key) is read after an upgrade; new records
 * ("MSR3", tagged) go into a segment of their own and both load; the old
 * segments are not reused once delivered.
 */
static void
test_old_format(void **state)
{
	static const char *const magic[] = { "MSR1", "MSR2" };
	struct spool *sp;
	struct spool_stats st;
	char seg[700];

	(void)state;
	/* The check value of CRC-32C ("123456789"), hardware path or not. */
	assert_int_equal(spool_crc("123456789", 9), 0xE3069283u);
	assert_int_equal(spool_crc_v1("123456789", 9), 0xCBF43926u);
	assert_int_equal(ms_crc32c_soft("123456789", 9), 0xE3069283u);
	{
		/* Both ways agree on every length and alignment. */
		unsigned char rnd[300];

		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(i * 131u + 7u);
		for (size_t off = 0; off < 9; off++)
			for (size_t n = 0; off + n <= sizeof(rnd); n += 7)
				assert_int_equal(ms_crc32c(rnd + off, n), ms_crc32c_soft(rnd + off, n));
		/* The agent's own CRC-32 for old records is zlib's (ms_crc32), without zlib. */
		for (size_t off = 0; off < 9; off++)
			for (size_t n = 0; off + n <= sizeof(rnd); n += 5)
				assert_int_equal(spool_crc_v1(rnd + off, n), ms_crc32(rnd + off, n));
	}
	/*
	 * 1..80 in three segments of 4 KiB, rewritten in the old format;
	 * opened and closed at once (a crash right after the key was made);
	 * with m == 2 the last old segment then torn to nothing (73..80 lost
	 * with it): a legacy segment that is empty gets no new record either.
	 */
	for (size_t m = 0; m < 3; m++) {
		struct got g = { 0 };
		uint64_t have = m == 2 ? 72 : 80;
		int nseg;

		reset();
		spool_of(4096, 1, 80);
		assert_int_equal(nseg = seg_count(), 3);
		for (int k = 0; k < nseg; k++) {
			seg_file(seg, sizeof(seg), k);
			to_legacy(seg, magic[m % 2]);
		}
		remove_key();
		sp = open_sp(1 << 20, 4096, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, 80);
		assert_int_equal(st.corrupt_bytes, 0);
		spool_free(sp);
		if (m == 2) {
			seg_file(seg, sizeof(seg), -1);
			assert_int_equal(truncate(seg, 5), 0);
		}

		sp = open_sp(1 << 20, 4096, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, have);
		append_range(sp, 81, 82, true);
		assert_int_equal(spool_sync(sp), 0);
		spool_free(sp);
		/* The new records are in a segment of their own, after the old ones. */
		seg_file(seg, sizeof(seg), -1);
		assert_non_null(strstr(seg, "/0000000000000051.seg"));
		sp = open_sp(1 << 20, 4096, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, have + 2);
		assert_int_equal(st.corrupt_bytes, 0);
		assert_int_equal(spool_load(sp, take, &g), have + 2);
		for (size_t i = 0; i < have + 2; i++)
			assert_int_equal(g.seq[i], i < have ? i + 1 : i - have + 81);
		assert_string_equal(g.line[0], "line number 1");
		assert_string_equal(g.line[have + 1], "line number 82");
		/* Delivered, the old segments are deleted, not reused. */
		spool_covered(sp, 82);
		assert_true(spool_ack(sp, 80));
		assert_false(spare_exists());
		spool_free(sp);
	}
}

static int
setup(void **state)
{
	(void)state;
	ms_log_init("test", MS_LOG_ERR);
	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/spool", root);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Zeroes record k (0-based) of segment file seg, whose n records are all of one size. */
static void
zero_rec(const char *seg, int k, int n)
{
	char z[4096] = { 0 };
	off_t size = file_size(seg);
	int fd;

	assert_int_equal(size % n, 0);
	assert_true((size_t)(size / n) <= sizeof(z));
	assert_true((fd = open(seg, O_RDWR)) >= 0);
	assert_int_equal(pwrite(fd, z, (size_t)(size / n), size / n * k), size / n);
	close(fd);
}

/*
 * Lines read again (SPOOL_REC_RECOVERED) whose own records are lost in
 * turn (a second bad block): records 24..27 of file 42 lost, hole (2300,
 * 2800); its lines read again as records 40..43, one after the other in
 * the file from 2300; then 41 and 42 lost too. The hole is filled only
 * up to 40's line, the last one that follows on: the lines of 41 and 42
 * are read again (and 43's, twice), none lost.
 */
static void
test_recovered_lost_again(void **state)
{
	struct spool *sp;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	uint64_t end[4], at = 2300;
	char seg[700];
	bool distrusted;
	size_t nh;

	(void)state;
	reset();
	spool_of(1 << 20, 10, 39);
	seg_file(seg, sizeof(seg), 0);
	for (int k = 14; k <= 17; k++)
		zero_rec(seg, k, 30);
	sp = open_sp(1 << 20, 1 << 20, 0);
	nh = SPOOL_MAX_FILE_HOLES;
	assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh), 3900);
	assert_int_equal(nh, 1);
	assert_int_equal(h[0].from, 2300);
	assert_int_equal(h[0].to, 2800);
	for (uint64_t s = 40; s <= 43; s++) {
		struct spool_rec r;
		char buf[64];

		rec(&r, s, buf, sizeof(buf));
		at += r.line_len + 1;
		r.end_off = end[s - 40] = at;
		r.flags = SPOOL_REC_RECOVERED;
		assert_int_equal(spool_append(sp, &r, true), 0);
	}
	assert_int_equal(spool_sync(sp), 0);
	spool_free(sp);
	/* first the hole filled by all four */
	sp = open_sp(1 << 20, 1 << 20, 0);
	nh = SPOOL_MAX_FILE_HOLES;
	assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh), 3900);
	assert_int_equal(nh, 1);
	assert_int_equal(h[0].from, end[3]);
	spool_free(sp);
	zero_rec(seg, 31, 34);	/* seq 41 */
	zero_rec(seg, 32, 34);	/* seq 42 */
	sp = open_sp(1 << 20, 1 << 20, 0);
	nh = SPOOL_MAX_FILE_HOLES;
	assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh), 3900);
	assert_false(distrusted);
	/* and the file's lines after its last record may have been in the new gap */
	assert_int_equal(nh, 2);
	assert_int_equal(h[0].from, end[0]);
	assert_int_equal(h[0].to, 2800);
	assert_int_equal(h[1].from, 3900);
	assert_true(h[1].to == SPOOL_HOLE_OPEN);
	spool_free(sp);
}

/*
 * The lost bytes are the corrupt tail of a segment with segments after it
 * (the first segment's last record): not cut like a torn tail at the
 * spool's end, so that a second start (killed before the lines read again
 * were appended) finds the hole again.
 */
static void
test_cut_tail_hole_kept(void **state)
{
	struct spool *sp;
	struct spool_hole h[SPOOL_MAX_FILE_HOLES];
	struct spool_stats st;
	char seg[700];
	bool distrusted;
	size_t nh;

	(void)state;
	reset();
	/* segments of 10 records: 10..19, 20..29, 30..39 */
	{
		struct spool_rec r;
		char buf[64];

		rec(&r, 10, buf, sizeof(buf));
		spool_of(10 * (SPOOL_REC_HDR + r.src_len + r.line_len + SPOOL_REC_TAG), 10, 39);
	}
	assert_int_equal(seg_count(), 3);
	seg_file(seg, sizeof(seg), 0);
	zero_rec(seg, 9, 10);	/* record 19, the first segment's last */
	for (int run = 0; run < 2; run++) {
		sp = open_sp(1 << 20, 1 << 20, 0);
		spool_get_stats(sp, &st);
		assert_int_equal(st.recovered, 29);
		nh = SPOOL_MAX_FILE_HOLES;
		assert_int_equal(spool_take_file_end(sp, 1, 42, "head", 4, &distrusted, h, &nh), 3900);
		assert_false(distrusted);
		assert_int_equal(nh, 1);
		assert_int_equal(h[0].from, 1800);
		assert_int_equal(h[0].to, 2000);
		spool_free(sp);	/* killed before the line read again is in the spool */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_corrupt_middle),
		cmocka_unit_test(test_file_ends_many),
		cmocka_unit_test(test_gap_file_end),
		cmocka_unit_test(test_forged_record),
		cmocka_unit_test(test_key_lost),
		cmocka_unit_test(test_numbers_above_segments),
		cmocka_unit_test(test_disk_faults),
		cmocka_unit_test(test_load_holes),
		cmocka_unit_test(test_load_hole_at_end),
		cmocka_unit_test(test_load_hole_new_file),
		cmocka_unit_test(test_load_hole_many_files),
		cmocka_unit_test(test_load_hole_after_acked),
		cmocka_unit_test(test_load_bad_block_once),
		cmocka_unit_test(test_holes_cover_lost),
		cmocka_unit_test(test_load_holes_cover_lost),
		cmocka_unit_test(test_both_holes_cover_lost),
		cmocka_unit_test(test_load_two_bad_blocks),
		cmocka_unit_test(test_load_skips_scanned_bad),
		cmocka_unit_test(test_load_bad_in_damaged_segment),
		cmocka_unit_test(test_load_gone_bad_before_scanned),
		cmocka_unit_test(test_load_many_corrupt_runs),
		cmocka_unit_test(test_load_shorter_before_scanned),
		cmocka_unit_test(test_load_bad_across_scanned_run),
		cmocka_unit_test(test_load_runs_and_torn_tail),
		cmocka_unit_test(test_load_bad_after_trim),
		cmocka_unit_test(test_load_bad_after_trim_heal),
		cmocka_unit_test(test_kept_tail_then_empty_segment),
		cmocka_unit_test(test_cap_and_ack),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_reuse_cap),
		cmocka_unit_test(test_backlog),
		cmocka_unit_test(test_old_format),
		cmocka_unit_test(test_recovered_lost_again),
		cmocka_unit_test(test_cut_tail_hole_kept),
		cmocka_unit_test(test_unreadable_128k),
		cmocka_unit_test(test_unreadable_tail_sealed),
		cmocka_unit_test(test_unreadable_segment_sealed),
		cmocka_unit_test(test_unreadable_tail_reused),
		cmocka_unit_test(test_unreadable_segment_sealed_key_lost),
		cmocka_unit_test(test_unreadable_after_stale_reused),
		cmocka_unit_test(test_unreadable_after_stale_reused_mid_bad),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
