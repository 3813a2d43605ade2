/* journal – the collector's spool on disk (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ms_disk.h"
#include "ms_log.h"
#include "ms_rec.h"

static const char magic1[4] = { 'M', 'S', 'J', '1' };
static const char magic2[8] = { 'M', 'S', 'J', '2', 0, 0, 0, 0 };

#define J_BLOCK		MS_DISK_BLOCK
#define J_FILE_HDR	16	/* magic2, the file's generation */
#define J_FRAG_HDR	16
#define J_KIND_MARK	0xff	/* a record that only says what is synced (journal_sync) */
/* A block the disk cannot read while running holds the replay this long, then is skipped. */
#define J_HOLD_NS	(30 * 1000000000LL)
#define J_RETRY_NS	900000000LL	/* ... tried again at most this often (the caller: every 1 s) */
#define J_WINDOW	(16 * J_BLOCK)	/* read ahead when scanning or replaying */
#define JREC_FIXED1	20	/* MSJ1: body bytes before the command lengths */
#define JREC_FIXED2	28	/* MSJ2: record bytes before the command lengths */
#define JREC_MAX	((size_t)JOURNAL_MAX_RECORD + JREC_FIXED2)

enum { FRAG_FULL = 1, FRAG_FIRST, FRAG_MIDDLE, FRAG_LAST };

struct journal {
	int fd;
	char path[4200];
	uint64_t size;
	uint64_t synced;	/* bytes known on disk: after open's sync, then journal_sync's */
	uint64_t max_bytes;
	uint64_t gen;		/* this file's generation: in its header and every fragment */
	bool legacy;		/* the file holds MSJ1 records (until emptied) */
	uint64_t legacy_end;	/* ... the older collector's up to here */
	bool sync_failed;	/* a sync failed: nothing after synced is vouched for again */
	bool broken;		/* a failed append could not be undone: no more appends */
	bool scanning;
	char *rbuf;		/* the record read or being built */
	size_t rcap;
	char *wbuf;		/* an append's fragments */
	size_t wcap;
	char *win;		/* J_WINDOW bytes of the file from win_off (win_len valid) */
	uint64_t win_off;
	size_t win_len;
	bool win_bad;		/* the window holds bytes the disk could not read */
	bool met_bad;		/* ... met since the flag was cleared */
	uint64_t bad_end;	/* past the last byte the disk could not read */
	uint64_t counted_to;	/* damage before this offset is counted already */
	uint64_t hold_off;	/* journal_read holding at unreadable bytes there (+1) */
	uint64_t hold_at;	/* ... asked for at this offset (+1: before sync marks) */
	long long hold_since, hold_last;	/* its first and its last try */
	long long try_at;	/* when the journal_read under way began */
	struct journal_stats st;
};

static int
grow(char **buf, size_t *cap, size_t n)
{
	char *nb;

	if (n <= *cap)
		return 0;
	if ((nb = realloc(*buf, n)) == NULL)
		return -1;
	*buf = nb;
	*cap = n;
	return 0;
}

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Whether a read is a try of a hold still under way: one read per block (win_load). */
static bool
hold_once(const struct journal *j)
{
	return !j->scanning && j->hold_off != 0 && j->try_at - j->hold_since < J_HOLD_NS;
}

/*
 * Makes the window hold the file's bytes at off (off < size); 0, or -1 on
 * a read error that is not the disk's (errno). Bytes the disk cannot read
 * come back as zeros, which no fragment checks as.
 */
static int
win_load(struct journal *j, uint64_t off)
{
	uint64_t start = off - off % J_BLOCK, want = j->size - start, unreadable = 0;
	uint64_t bad_start = UINT64_MAX;
	ssize_t n;

	if (j->win_len && off >= j->win_off && off < j->win_off + j->win_len)
		return 0;
	if (want > J_WINDOW)
		want = J_WINDOW;
	/*
	 * Waiting for the disk while running: one block, tried once while the
	 * hold lasts (it tries again a second later; pauses here would stall
	 * the event loop, every agent's connection with it). The try that
	 * ends it reads as any other: a passing fault of another block is
	 * read again, not skipped with the record.
	 */
	if (!j->scanning && j->hold_off != 0 && want > J_BLOCK)
		want = J_BLOCK;
	j->win_len = 0;
	if ((n = (hold_once(j) ? ms_disk_pread_once : ms_disk_pread)(j->fd, j->win, (size_t)want,
	    start, &unreadable, &j->bad_end, &bad_start)) < 0)
		return -1;
	if ((uint64_t)n <= off - start) {
		errno = EIO;	/* shorter than its size: not our file any more */
		return -1;
	}
	j->win_off = start;
	j->win_len = (size_t)n;
	j->win_bad = false;
	if (unreadable == 0)
		return 0;
	if (bad_start > start) {
		/* The window ends before the first block the disk failed: read when reached. */
		j->win_len = (size_t)(bad_start - start);
		return 0;
	}
	/* The block asked for itself: zeros, which no fragment checks as; asked for again next time. */
	j->win_bad = true;
	j->met_bad = true;
	if (j->scanning)
		j->st.unreadable_bytes += unreadable;
	return 0;
}

enum rd { RD_OK, RD_END, RD_BAD, RD_TORN, RD_ERR };

/*
 * The fragment at pos (inside a block, with room for one): its type and
 * payload length when it checks (and ends by the file's end, and is of
 * this file's generation: a block left from before the file was emptied
 * is not), else 0.
 * RD_ERR is returned through *err.
 */
static int
frag_at(struct journal *j, uint64_t pos, size_t *flen, const char **payload, bool *err)
{
	size_t in = (size_t)(pos % J_BLOCK), n;
	const char *h;
	int type;

	*err = false;
	if (j->size - pos < J_FRAG_HDR)
		return 0;
	if (win_load(j, pos) < 0) {
		*err = true;
		return 0;
	}
	/* The window starts at a block and holds whole blocks (or up to the file's end). */
	if (pos + J_FRAG_HDR > j->win_off + j->win_len)
		return 0;
	h = j->win + (pos - j->win_off);
	n = ms_get16(h + 4);
	type = (unsigned char)h[6];
	if (type < FRAG_FULL || type > FRAG_LAST || h[7] != 0 || n == 0 ||
	    in + J_FRAG_HDR + n > J_BLOCK || pos + J_FRAG_HDR + n > j->win_off + j->win_len ||
	    ms_get64(h + 8) != j->gen)
		return 0;
	if (ms_crc32c(h + 4, J_FRAG_HDR - 4 + n) != ms_get32(h))
		return 0;
	*flen = n;
	*payload = h + J_FRAG_HDR;
	return type;
}

/* Where the fragment after one ending at pos starts: pos, or the next block past its padding. */
static uint64_t
frag_next(uint64_t pos)
{
	size_t left = J_BLOCK - (size_t)(pos % J_BLOCK);

	if (pos < J_FILE_HDR)
		return J_FILE_HDR;
	return left < J_FRAG_HDR + 1 ? pos + left : pos;
}

/*
 * Reads the record starting at off into rbuf (*plen bytes) and sets *next
 * past it. RD_END: nothing at off; RD_BAD: a fragment at *bad (at or after
 * off) does not check or does not belong (one that would end past the
 * file's end included); RD_TORN: the file ends where the record's next
 * fragment would start; RD_ERR: another read error.
 */
static enum rd
rec_get(struct journal *j, uint64_t off, size_t *plen, uint64_t *next, uint64_t *bad)
{
	uint64_t pos = frag_next(off);
	size_t len = 0;
	bool in = false, err;

	for (;;) {
		const char *p;
		size_t n;
		int type;

		pos = frag_next(pos);
		if (pos >= j->size)
			return in ? RD_TORN : RD_END;
		type = frag_at(j, pos, &n, &p, &err);
		if (err)
			return RD_ERR;
		if (type == 0 || in != (type == FRAG_MIDDLE || type == FRAG_LAST) || len + n > JREC_MAX) {
			*bad = pos;
			return RD_BAD;
		}
		if (grow(&j->rbuf, &j->rcap, len + n) < 0) {
			errno = ENOMEM;
			return RD_ERR;
		}
		memcpy(j->rbuf + len, p, n);
		len += n;
		pos += J_FRAG_HDR + n;
		if (type == FRAG_FULL || type == FRAG_LAST) {
			*plen = len;
			*next = pos;
			return RD_OK;
		}
		in = true;
	}
}

/*
 * After a fragment at bad that does not check: the start of the first
 * record in a later block whose fragments check from the block's start
 * (its first header is the writer's: no byte of a payload is taken for a
 * header), or the file's size when there is none. UINT64_MAX on a read
 * error (errno).
 */
static uint64_t
resume_after(struct journal *j, uint64_t bad)
{
	for (uint64_t b = bad / J_BLOCK + 1; b * J_BLOCK < j->size; b++) {
		uint64_t pos = b * J_BLOCK;

		while (pos < j->size && pos < (b + 1) * J_BLOCK) {
			const char *p;
			size_t n;
			bool err;
			int type = frag_at(j, pos, &n, &p, &err);

			if (err)
				return UINT64_MAX;
			if (type == 0)
				break;
			if (type == FRAG_FULL || type == FRAG_FIRST)
				return pos;
			pos = frag_next(pos + J_FRAG_HDR + n);
		}
	}
	return j->size;
}

/* Parses a record's bytes (MSJ2 when fixed is JREC_FIXED2, else an MSJ1 body) into r. */
static int
parse(const char *b, size_t blen, size_t fixed, struct journal_rec *r, uint64_t *synced)
{
	size_t need;

	if (blen < fixed)
		return -1;
	memset(r, 0, sizeof(*r));
	r->kind = (uint8_t)b[0];
	r->agent_len = ms_get16(b + 2);
	r->seq = ms_get64(b + 4);
	r->nalerts = ms_get32(b + 12);
	r->ncmds = ms_get32(b + 16);
	*synced = fixed == JREC_FIXED2 ? ms_get64(b + 20) : 0;
	if (r->ncmds > JOURNAL_MAX_CMDS || blen < fixed + 4 * (size_t)r->ncmds)
		return -1;
	need = fixed + 4 * (size_t)r->ncmds + r->agent_len;
	for (uint32_t i = 0; i < r->ncmds; i++) {
		r->cmdlen[i] = ms_get32(b + fixed + 4 * i);
		need += r->cmdlen[i];
		if (need > blen)
			return -1;
	}
	if (need != blen)
		return -1;
	b += fixed + 4 * (size_t)r->ncmds;
	r->agent = b;
	b += r->agent_len;
	for (uint32_t i = 0; i < r->ncmds; i++) {
		r->cmd[i] = b;
		b += r->cmdlen[i];
	}
	return 0;
}

/* --- MSJ1, an older collector's file ------------------------------------ */

/* Reads n bytes at off into rbuf; 0, or -1 (the file ends first, or unreadable). */
static int
read_at1(struct journal *j, uint64_t off, size_t n)
{
	uint64_t unreadable = 0;
	ssize_t got;

	if (grow(&j->rbuf, &j->rcap, n) < 0)
		return -1;
	/* Tried once while the replay waits for the disk (win_load). */
	got = (hold_once(j) ? ms_disk_pread_once : ms_disk_pread)(j->fd, j->rbuf, n, off,
	    &unreadable, &j->bad_end, NULL);
	if (j->scanning)
		j->st.unreadable_bytes += unreadable;
	return got == (ssize_t)n && unreadable == 0 ? 0 : -1;
}

/* The MSJ1 record at off; 1, 0 at the end, -1 when it does not check or cannot be read. */
static int
read1(struct journal *j, uint64_t off, struct journal_rec *r, uint64_t *next)
{
	long long len;
	uint64_t synced;
	size_t avail = j->size - off < MS_REC_HDR ? (size_t)(j->size - off) : MS_REC_HDR;

	if (off >= j->size) {
		*next = j->size;
		return 0;
	}
	if (read_at1(j, off, avail) < 0)
		return -1;
	len = ms_rec_check(j->rbuf, avail, magic1, JREC_FIXED1, JOURNAL_MAX_RECORD);
	if (len < 0 || avail < MS_REC_HDR || MS_REC_HDR + (uint64_t)ms_get32(j->rbuf + 8) > j->size - off)
		return -1;
	avail = MS_REC_HDR + ms_get32(j->rbuf + 8);
	if (read_at1(j, off, avail) < 0 ||
	    (len = ms_rec_check(j->rbuf, avail, magic1, JREC_FIXED1, JOURNAL_MAX_RECORD)) <= 0 ||
	    parse(j->rbuf + MS_REC_HDR, (size_t)len - MS_REC_HDR, JREC_FIXED1, r, &synced) < 0)
		return -1;
	*next = off + (uint64_t)len;
	return 1;
}

/* --- reading ------------------------------------------------------------- */

/*
 * Parses the MSJ2 record at off (len bytes in rbuf). A record that claims
 * more was synced than came before it is not the writer's.
 */
static int
parse2(struct journal *j, uint64_t off, size_t len, struct journal_rec *r, uint64_t *synced)
{
	/*
	 * The first record was written at the file's start, with the header:
	 * its offset is 0 however it is reached (the scan from the header's
	 * end, a replay from 0), or the two would judge it differently.
	 */
	if (off <= J_FILE_HDR)
		off = 0;
	if (parse(j->rbuf, len, JREC_FIXED2, r, synced) < 0 || *synced > off)
		return -1;
	return 0;
}

/* Counts (once, however often it is read) and logs damage skipped from off to next. */
static void
damage_count(struct journal *j, uint64_t off, uint64_t next, uint64_t places)
{
	if (next <= j->counted_to)
		return;
	if (off < j->counted_to)
		off = j->counted_to;
	j->counted_to = next;
	j->st.damaged += places;
	j->st.damaged_bytes += next - off;
	ms_err("event=spool_damaged path=%s offset=%llu bytes=%llu places=%llu note=\"records lost\"",
	    j->path, (unsigned long long)off, (unsigned long long)(next - off),
	    (unsigned long long)places);
}

/*
 * The record at off cannot be read now: true while the caller should try
 * again later (a failing path may come back), false once J_HOLD_NS have
 * passed since the first failure there (a bad sector will not: skipped).
 */
static bool
hold(struct journal *j, uint64_t off)
{
	long long t = now_ns();

	if (j->hold_off != off + 1) {
		j->hold_off = off + 1;
		j->hold_since = t;
		ms_err("event=spool_unreadable path=%s offset=%llu note=\"the replay waits for "
		    "the disk, at most 30 s\"", j->path, (unsigned long long)off);
	}
	j->hold_last = t;
	if (j->try_at - j->hold_since < J_HOLD_NS) {
		errno = EIO;
		return true;
	}
	j->hold_off = 0;
	return false;
}

int
journal_read(struct journal *j, uint64_t off, struct journal_rec *r, uint64_t *next)
{
	const uint64_t asked = off;
	uint64_t bad = 0, synced;
	size_t len;
	enum rd rc;

	j->try_at = now_ns();
	/* (held after sync marks: hold_off is past them, hold_at where the caller asked) */
	if (j->hold_off != 0 && (j->hold_off == off + 1 || j->hold_at == off + 1) &&
	    now_ns() - j->hold_last < J_RETRY_NS) {
		/* Waiting for the disk: not asked again on every reply (each try blocks). */
		errno = EIO;
		return -1;
	}
	if (j->legacy) {
		int r1 = read1(j, off, r, next);

		if (r1 >= 0) {
			j->hold_off = 0;
			return r1;
		}
		ms_err("event=spool_read_error path=%s offset=%llu", j->path, (unsigned long long)off);
		if (hold(j, off)) {
			j->hold_at = asked + 1;
			return -1;
		}
		/*
		 * An older collector's records cannot be found after a bad one: the
		 * rest of what it wrote is lost – not what this run appended since.
		 */
		*next = off < j->legacy_end ? j->legacy_end : j->size;
		damage_count(j, off, *next, 1);
		return 2;
	}
	if (j->win_bad)
		j->win_len = 0;	/* bytes the disk failed: asked for again */
	j->met_bad = false;
	for (;;) {
		rc = rec_get(j, off, &len, next, &bad);
		if (rc != RD_OK)
			break;
		if (parse2(j, off, len, r, &synced) < 0)
			break;
		if (r->kind != J_KIND_MARK) {
			j->hold_off = 0;	/* read: a later failure here waits its own 30 s */
			return 1;
		}
		off = *next;	/* what the writer noted of its syncs: nothing to replay */
	}
	if (rc == RD_END) {
		j->hold_off = 0;
		*next = j->size;
		return 0;
	}
	if (rc == RD_OK) {
		/* Framed and checked, but not a record: this one alone is skipped. */
	} else if (rc == RD_BAD) {
		if ((*next = resume_after(j, bad)) == UINT64_MAX)
			goto error;
	} else {
		goto error;
	}
	if (j->met_bad && *next > j->counted_to) {
		/* Bytes the disk cannot read now, and could at open. */
		if (hold(j, off)) {
			j->hold_at = asked + 1;
			return -1;
		}
		j->st.unreadable_bytes += *next - off;
	}
	j->hold_off = 0;
	damage_count(j, off, *next, 1);
	return 2;
error:
	ms_err("event=spool_read_error path=%s offset=%llu reason=\"%s\"", j->path,
	    (unsigned long long)off, rc == RD_TORN ? "the file ends inside a record" : strerror(errno));
	return -1;
}

/* --- opening --------------------------------------------------------------- */

/* Cuts the file at off (a torn or unproven tail); 0 or -1 with err filled. */
static int
cut(struct journal *j, uint64_t off, char *err, size_t errsz)
{
	if (off >= j->size)
		return 0;
	if (j->bad_end > off) {
		/* Not cut: what cannot be read now may be read later. */
		snprintf(err, errsz, "%s: bytes after offset %llu cannot be read (the disk is "
		    "failing?); nothing was cut", j->path, (unsigned long long)off);
		return -1;
	}
	j->st.corrupt_bytes += j->size - off;
	ms_warn("event=spool_tail_truncated path=%s offset=%llu bytes=%llu", j->path,
	    (unsigned long long)off, (unsigned long long)(j->size - off));
	if (ftruncate(j->fd, (off_t)off) < 0) {
		snprintf(err, errsz, "%s: cannot cut the bad tail: %s", j->path, strerror(errno));
		return -1;
	}
	j->size = off;
	j->win_len = 0;
	return 0;
}

/* An older collector's file: walked record by record, cut after the last good one. */
static int
scan1(struct journal *j, char *err, size_t errsz)
{
	uint64_t off = 0, next;
	struct journal_rec r;

	while (read1(j, off, &r, &next) == 1) {
		j->st.recovered++;
		off = next;
	}
	if (cut(j, off, err, errsz) < 0)
		return -1;
	if (j->size == 0)
		j->legacy = false;	/* nothing left of it: this version's format from the start */
	j->legacy_end = j->size;
	return 0;
}

/*
 * Walks the file from off: counts its records, skips damage that a later
 * record proves was on disk, cuts a torn or unproven tail. 0 or -1.
 */
static int
scan2(struct journal *j, uint64_t off, char *err, size_t errsz)
{
	uint64_t good_end = off, hole = 0, hole_end = 0, pending = 0, held = 0, nholes = 0;
	bool in_hole = false;

	while (off < j->size) {
		struct journal_rec r;
		uint64_t next = 0, bad = 0, synced = 0, resume;
		size_t len = 0;
		enum rd rc = rec_get(j, off, &len, &next, &bad);

		if (rc == RD_ERR)
			goto error;
		if (rc == RD_END || rc == RD_TORN)
			break;
		if (rc == RD_OK && parse2(j, off, len, &r, &synced) == 0) {
			if (in_hole && synced >= hole_end) {
				/* Written after a sync that had the bad bytes on disk: damage, not a tear. */
				damage_count(j, hole, hole_end, nholes);
				j->st.recovered += held;
				in_hole = false;
				held = pending = nholes = 0;
			}
			if (in_hole) {
				held += r.kind != J_KIND_MARK;
			} else {
				j->st.recovered += r.kind != J_KIND_MARK;
				good_end = next;
			}
			off = next;
			continue;
		}
		/* Framed and checked but not a record (rc RD_OK): that one alone. */
		if (rc == RD_OK)
			resume = next;
		else if ((resume = resume_after(j, bad)) == UINT64_MAX)
			goto error;
		if (!in_hole) {
			hole = off;
			in_hole = true;
		}
		nholes++;
		pending += resume - off;
		hole_end = resume;
		off = resume;
	}
	/* Records after a gap no later record proves: a crash's tear, cut with the gap. */
	if (in_hole)
		good_end = hole;
	/* No record left: the file is emptied (its header comes with the next record). */
	return cut(j, good_end <= J_FILE_HDR ? 0 : good_end, err, errsz);
error:
	snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
	return -1;
}

/*
 * The header's generation, unless no block start up to the 64th checks
 * with it and one does with its own: the header's is damaged (the magic
 * is whole, so the file is of this format and its block starts are the
 * writer's headers). 0, or -1 on a read error.
 */
static int
gen_confirm(struct journal *j)
{
	uint64_t header = j->gen, other = 0;
	bool have_other = false;

	for (uint64_t b = 0; b < 64 && b * J_BLOCK < j->size; b++) {
		uint64_t pos = b == 0 ? J_FILE_HDR : b * J_BLOCK;
		const char *p;
		size_t n;
		bool e;

		if (j->size - pos < J_FRAG_HDR)
			break;
		j->gen = header;
		if (frag_at(j, pos, &n, &p, &e) != 0)
			return 0;
		if (e)
			return -1;
		if (have_other || pos + J_FRAG_HDR > j->win_off + j->win_len)
			continue;
		j->gen = ms_get64(j->win + (pos - j->win_off) + 8);
		if (frag_at(j, pos, &n, &p, &e) != 0) {
			other = j->gen;
			have_other = true;
		}
		if (e)
			return -1;
	}
	j->gen = have_other ? other : header;
	if (have_other)
		ms_warn("event=spool_header_damaged path=%s note=\"read with the generation its "
		    "records carry\"", j->path);
	return 0;
}

/*
 * Which format the file is in, and its generation: MSJ1's magic; MSJ2's
 * magic; else a damaged header, if the fragment after it checks (its
 * generation is the file's). Otherwise nothing is known of the file: cut
 * to nothing, as its first record could not be read in either format –
 * never read on with a guessed format, whose block starts an older file's
 * records (agents' text) could fill.
 */
static int
scan(struct journal *j, char *err, size_t errsz)
{
	struct stat sb;
	const char *h;

	if (fstat(j->fd, &sb) < 0) {
		snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	j->size = (uint64_t)sb.st_size;
	if (j->size == 0)
		return 0;
	if (win_load(j, 0) < 0) {
		snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	h = j->win;
	if (j->win_len >= 4 && !j->win_bad && memcmp(h, magic1, 4) == 0) {
		j->legacy = true;
		j->win_len = 0;
		return scan1(j, err, errsz);
	}
	if (j->win_len >= J_FILE_HDR + J_FRAG_HDR && memcmp(h, magic2, 8) == 0) {
		j->gen = ms_get64(h + 8);
		if (gen_confirm(j) < 0) {
			snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
			return -1;
		}
		return scan2(j, J_FILE_HDR, err, errsz);
	}
	if (j->win_len >= J_FILE_HDR + J_FRAG_HDR) {
		const char *p;
		size_t n;
		bool e;

		j->gen = ms_get64(h + J_FILE_HDR + 8);
		if (frag_at(j, J_FILE_HDR, &n, &p, &e) != 0) {
			ms_warn("event=spool_header_damaged path=%s note=\"read on with the generation of "
			    "its first record\"", j->path);
			return scan2(j, J_FILE_HDR, err, errsz);
		}
	}
	return cut(j, 0, err, errsz);
}

struct journal *
journal_open(const char *dir, uint64_t max_bytes, char *err, size_t errsz)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->win = malloc(J_WINDOW)) == NULL) {
		snprintf(err, errsz, "out of memory");
		free(j);
		return NULL;
	}
	j->fd = -1;
	j->max_bytes = max_bytes;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "spool.dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	if ((size_t)snprintf(j->path, sizeof(j->path), "%s/sink.journal", dir) >= sizeof(j->path)) {
		snprintf(err, errsz, "spool.dir is too long");
		goto fail;
	}
	if ((j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
		goto fail;
	}
	j->scanning = true;
	if (scan(j, err, errsz) < 0)
		goto fail;
	j->scanning = false;
	/*
	 * What was read may still be only in the page cache (the last run was
	 * killed, the machine was not): on disk from here on, so that records
	 * appended now can vouch for it.
	 */
	if (fdatasync(j->fd) < 0) {
		snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
		goto fail;
	}
	j->synced = j->size;
	j->st.bytes = j->size;
	return j;
fail:
	journal_free(j);
	return NULL;
}

void
journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->rbuf);
	free(j->wbuf);
	free(j->win);
	free(j);
}

/* --- writing --------------------------------------------------------------- */

/* Builds r's bytes in rbuf after fixed bytes of header room; their length, or 0. */
static size_t
build(struct journal *j, const struct journal_rec *r, size_t fixed, size_t room)
{
	size_t len = room + fixed + 4 * (size_t)r->ncmds + r->agent_len, off;
	char *p;

	for (uint32_t i = 0; i < r->ncmds; i++)
		len += r->cmdlen[i];
	if (len > room + JREC_MAX || grow(&j->rbuf, &j->rcap, len) < 0)
		return 0;
	p = j->rbuf + room;
	memset(p, 0, fixed);
	p[0] = (char)r->kind;
	ms_put16(p + 2, (uint16_t)r->agent_len);
	ms_put64(p + 4, r->seq);
	ms_put32(p + 12, r->nalerts);
	ms_put32(p + 16, r->ncmds);
	if (fixed == JREC_FIXED2)
		ms_put64(p + 20, j->synced);
	off = fixed;
	for (uint32_t i = 0; i < r->ncmds; i++, off += 4)
		ms_put32(p + off, (uint32_t)r->cmdlen[i]);
	if (r->agent_len)
		memcpy(p + off, r->agent, r->agent_len);
	off += r->agent_len;
	for (uint32_t i = 0; i < r->ncmds; i++) {
		if (r->cmdlen[i])
			memcpy(p + off, r->cmd[i], r->cmdlen[i]);
		off += r->cmdlen[i];
	}
	return len;
}

/* The bytes a record of plen bytes takes when appended at pos (padding and headers included). */
static uint64_t
frag_span(uint64_t pos, size_t plen)
{
	uint64_t start = pos;

	if (pos == 0)
		pos = J_FILE_HDR;
	while (plen > 0) {
		size_t take;

		pos = frag_next(pos);
		take = J_BLOCK - (size_t)(pos % J_BLOCK) - J_FRAG_HDR;
		if (take > plen)
			take = plen;
		pos += J_FRAG_HDR + take;
		plen -= take;
	}
	return pos - start;
}

/* Lays the record in rbuf (plen bytes) out in fragments from j->size into wbuf. */
static void
frag_fill(struct journal *j, size_t plen, size_t span)
{
	uint64_t pos = j->size;
	size_t w = 0, done = 0;

	memset(j->wbuf, 0, span);
	if (pos == 0) {
		memcpy(j->wbuf, magic2, 8);
		ms_put64(j->wbuf + 8, j->gen);
		w = J_FILE_HDR;
		pos = J_FILE_HDR;
	}
	while (done < plen) {
		uint64_t at = frag_next(pos);
		size_t take = J_BLOCK - (size_t)(at % J_BLOCK) - J_FRAG_HDR;
		char *h;
		int type;

		w += (size_t)(at - pos);	/* padding: zeros */
		pos = at;
		if (take > plen - done)
			take = plen - done;
		type = done == 0 ? (take == plen ? FRAG_FULL : FRAG_FIRST) :
		    (done + take == plen ? FRAG_LAST : FRAG_MIDDLE);
		h = j->wbuf + w;
		ms_put16(h + 4, (uint16_t)take);
		h[6] = (char)type;
		ms_put64(h + 8, j->gen);
		memcpy(h + J_FRAG_HDR, j->rbuf + done, take);
		ms_put32(h, ms_crc32c(h + 4, J_FRAG_HDR - 4 + take));
		w += J_FRAG_HDR + take;
		pos += J_FRAG_HDR + take;
		done += take;
	}
}

/* A new generation for a file written from its start: random, else the clock's. */
static uint64_t
new_gen(void)
{
	uint64_t g = 0;

	if (getrandom(&g, sizeof(g), GRND_NONBLOCK) != (ssize_t)sizeof(g))
		g = (uint64_t)now_ns() * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)getpid();
	return g;
}

/* Appends r; mark: a sync mark, not held to the size cap. */
static int
append(struct journal *j, const struct journal_rec *r, bool mark)
{
	size_t len, off = 0;
	const char *p;

	if (r->ncmds > JOURNAL_MAX_CMDS || r->agent_len > UINT16_MAX)
		return -1;
	if (j->broken) {
		j->st.write_errors++;
		return -1;
	}
	if (j->legacy) {
		/* An older collector's file: its format until it is emptied. */
		if ((len = build(j, r, JREC_FIXED1, MS_REC_HDR)) == 0 ||
		    len > MS_REC_HDR + (size_t)JOURNAL_MAX_RECORD) {
			j->st.full++;
			return -1;
		}
		if (j->size + len > j->max_bytes) {
			j->st.full++;
			return -1;
		}
		ms_rec_seal(j->rbuf, magic1, len);
		p = j->rbuf;
	} else {
		size_t plen = build(j, r, JREC_FIXED2, 0);

		if (plen == 0 || plen > JREC_MAX) {
			j->st.full++;
			return -1;
		}
		len = (size_t)frag_span(j->size, plen);
		if (!mark && j->size + len > j->max_bytes) {
			j->st.full++;
			return -1;
		}
		if (j->size == 0)
			j->gen = new_gen();
		if (grow(&j->wbuf, &j->wcap, len) < 0)
			return -1;
		frag_fill(j, plen, len);
		p = j->wbuf;
	}
	j->win_len = 0;	/* the window may hold the block written to */
	while (off < len) {
		ssize_t w = pwrite(j->fd, p + off, len - off, (off_t)(j->size + off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			j->st.write_errors++;
			/* Nothing of a failed record may stay: a later one would follow garbage. */
			if (ftruncate(j->fd, (off_t)j->size) < 0) {
				ms_err("event=spool_write_error path=%s reason=\"cannot undo: %s\"", j->path,
				    strerror(errno));
				j->broken = true;	/* until emptied: a shorter record would not cover it */
			}
			ms_err("event=spool_write_error path=%s reason=\"%s\"", j->path,
			    w < 0 ? strerror(e) : "short write");
			return -1;
		}
		off += (size_t)w;
	}
	j->size += len;
	j->st.bytes = j->size;
	if (!mark)
		j->st.records++;
	return 0;
}

int
journal_append(struct journal *j, const struct journal_rec *r)
{
	return append(j, r, false);
}

int
journal_sync(struct journal *j)
{
	uint64_t size = j->size;
	struct journal_rec mark;

	if (j->sync_failed) {
		errno = EIO;
		return -1;
	}
	if (fdatasync(j->fd) < 0) {
		/*
		 * After a failed fdatasync the kernel may have dropped the pages
		 * it could not write and report the next sync a success: no later
		 * sync is trusted (nothing more is acknowledged from the file,
		 * and no record vouches for what follows) until it is emptied.
		 */
		j->sync_failed = true;
		ms_err("event=spool_sync_error path=%s reason=\"%s\"", j->path, strerror(errno));
		return -1;
	}
	j->st.syncs++;
	if (j->sync_failed || size <= j->synced)
		return 0;
	j->synced = size;
	if (j->legacy)
		return 0;
	/*
	 * A mark saying so: records carry what was synced before them, so
	 * without it nothing would vouch for the last records before a stop.
	 */
	memset(&mark, 0, sizeof(mark));
	mark.kind = J_KIND_MARK;
	append(j, &mark, true);
	return 0;
}

int
journal_reset(struct journal *j)
{
	if (ftruncate(j->fd, 0) < 0) {
		ms_err("event=spool_reset_error path=%s reason=\"%s\"", j->path, strerror(errno));
		return -1;
	}
	/* Empty now, whether or not the sync below reaches the disk. */
	j->size = 0;
	j->synced = 0;
	j->legacy = false;	/* emptied: from now on in this version's format */
	j->sync_failed = false;
	j->broken = false;
	j->win_len = 0;
	j->bad_end = 0;
	j->counted_to = 0;
	j->hold_off = 0;
	j->st.bytes = 0;
	/*
	 * Empty from here, even if the sync fails: at worst a crash brings the
	 * old records back, replayed a second time (their generation is not
	 * the next records', so nothing mixes).
	 */
	if (fdatasync(j->fd) < 0)
		ms_err("event=spool_reset_error path=%s reason=\"%s\"", j->path, strerror(errno));
	return 0;
}

uint64_t
journal_size(const struct journal *j)
{
	return j->size;
}

const struct journal_stats *
journal_stats(const struct journal *j)
{
	return &j->st;
}

const char *
journal_path(const struct journal *j)
{
	return j->path;
}
