/* spool – the agent's durable queue on disk (format and rules in spool.h). */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ms_disk.h"
#include "ms_log.h"
#include "ms_map.h"
#include "ms_proto.h"
#include "ms_rec.h"

#define SPOOL_MAGIC "MSR3"
#define SPOOL_MAGIC_V2 "MSR2"
#define SPOOL_MAGIC_V1 "MSR1"
#define SPOOL_MAX_SRC 4096
#define SPOOL_MAX_REC (SPOOL_REC_HDR + SPOOL_MAX_SRC + MS_PROTO_MAX_LINE + SPOOL_REC_TAG)
/*
 * The key file: "MSK1", the key, legacy_last (8), has_legacy (4: 0 or 1),
 * CRC-32C of what precedes.
 */
#define SPOOL_KEY_NAME "key"
#define SPOOL_KEY_MAGIC "MSK1"
#define SPOOL_KEY_FILE (4 + SPOOL_KEY_LEN + 8 + 4 + 4)
/* Appends are gathered here and written with one write(2). */
#define SPOOL_WBUF (256 * 1024)
/* Read window for scanning and loading: a chunk plus one whole record. */
#define SPOOL_RBUF (256 * 1024 + SPOOL_MAX_REC)
/* Files whose reading progress is remembered from the scan at open. */
#define SPOOL_MAX_ENDS 1024
/* Slots of the scan's index of ends by file (a power of two, twice SPOOL_MAX_ENDS). */
#define SPOOL_ENDS_SLOTS 2048
#define SPOOL_MAX_SEGMENTS 100000
/*
 * An acknowledged segment file is kept under this name (one at most) and
 * becomes the next segment: see seg_remove_first.
 */
#define SPOOL_SPARE "spare"

/* Bytes [from, to) of a segment the scan skipped (corrupt or unreadable). */
struct spool_range {
	uint64_t from, to;
};

/*
 * Runs of skipped bytes remembered per segment: the loader goes past
 * them without reading (a bad block read again costs 0.2 s of retries in
 * the event loop and was counted once), and tells bytes that went bad
 * since the start from them. More runs than this in one segment: it is
 * "damaged" as a whole (below).
 */
#define SPOOL_SEG_RANGES 16

struct spool_seg {
	uint64_t first_seq;	/* its name */
	uint64_t last_seq;	/* highest in it; 0 when empty */
	uint64_t bytes;		/* valid bytes (including buffered, for the last one) */
	bool legacy;		/* older than the key: records checked by their CRC only */
	/*
	 * The scan skipped bytes of it that lost records, in more runs than
	 * lost[] holds (or found it empty after earlier lost bytes): the
	 * loader then takes any bytes it cannot use in it for known ones
	 * (their holes opened by the scan) and opens no hole of its own.
	 */
	bool damaged;
	/* The runs the scan skipped before `bytes`, in order; owned (NULL: none). */
	struct spool_range *lost;
	uint8_t nlost;
	bool lost_over;		/* a run did not fit in lost[] (seg_scan: damaged unless trimmed) */
	uint64_t over_from;	/* the first such run's start */
	uint64_t kept;		/* lost bytes kept past its records (segments followed it) */
	bool sealed;		/* some of them unreadable: never cut, written to or reused */
};

/* Files whose last record is followed (appender, loader): a few are followed at once. */
#define SPOOL_LFILES 64

/* A file's last record in spool order, as the appender or the loader saw it. */
struct spool_lfile {
	uint64_t dev, ino, fp, end;
	uint32_t fp_len;
	uint64_t seq;		/* that record's: the oldest entry goes first */
	/* appender: the first record of it seen, where its line begins (0: unknown) */
	uint64_t first_seq, first_start;
	bool hole_open;		/* loader: records lost since that one */
	uint64_t hole_from;
};

struct spool_end {
	uint64_t dev, ino, fp, end;
	uint32_t fp_len;
	uint64_t seq;		/* its last record's */
	bool after_gap;		/* first noted from a record after skipped corrupt bytes */
	bool hole_open;		/* records lost since its last one (at end, hole_from) */
	uint64_t hole_from;
};

struct spool {
	char dir[4096];
	struct spool_opts o;
	/*
	 * The key of the records' tags (SPOOL_KEY_NAME) and the last legacy
	 * segment name: segments named up to it were in the folder when the
	 * key was made (an earlier agent's, or a lost key's). key_unsaved: the
	 * key file could not be written yet: nothing is appended until it is
	 * (a record tagged with a key that is not on disk would not check
	 * after a restart, and is read as corrupt).
	 */
	uint8_t key[SPOOL_KEY_LEN];
	uint64_t legacy_last;
	bool has_legacy;
	bool key_unsaved;
	bool key_failing;	/* key_retry failed (logged once) */
	struct spool_seg *segs;	/* oldest first; the last one is written to */
	size_t nsegs, capsegs;
	int wfd;		/* the last segment, -1 before the first append */
	uint64_t wsize;		/* its size on disk (a reused file: stale bytes past the records) */
	bool spare;		/* SPOOL_SPARE exists */
	uint64_t spare_bytes;	/* its size */
	char *wbuf;
	size_t wlen;
	uint64_t wbuf_start;	/* file offset of wbuf[0] in the last segment */
	bool need_sync;		/* written since the last fdatasync */
	uint64_t sync_suspect;	/* spool_sync_suspect */
	bool sync_failing;	/* the last sync failed (logged once) */
	bool dir_dirty;		/* a segment was created or removed since */
	bool failing;		/* last write failed (logged once) */
	uint64_t total;		/* bytes of all segments */
	uint64_t kept;		/* their lost bytes kept on disk (struct spool_seg) */
	uint64_t acked, covered;
	uint64_t max_seq;
	uint64_t sealed_name;	/* the highest sealed segment's name (spool_max_seq) */
	/* backlog: the first record not in the caller's queue */
	bool backlog;
	size_t rd_seg;
	uint64_t rd_off;
	int rfd;
	size_t rfd_seg;
	char *rbuf;
	struct spool_end *ends;
	size_t nends;
	/*
	 * While the scan runs: ends by file, open addressing, index + 1 (0:
	 * empty; NULL: searched in order). Every record looks its file up, and
	 * an agent may follow a thousand files.
	 */
	uint16_t *ends_ix;
	/*
	 * Set by seg_scan once it has skipped corrupt bytes with valid
	 * records after them: a page lost in a power cut, say. Lines of any
	 * file may have been in those bytes. A file noted before them gets a
	 * hole (below) that tail reads again; for a file first noted after
	 * them, where its lost lines began is unknown, so its end is not
	 * handed to tail (spool_take_file_end), which then reads on from the
	 * saved position: lines twice rather than none.
	 */
	bool gap;
	/*
	 * Holes (spool_take_file_end): bytes skipped by the scan, or a
	 * segment's cut tail with segments after it, are a gap when the next
	 * record's number is not the next one after the last record's (and
	 * not acknowledged): every file noted so far may have lost lines
	 * there, from its end up to its next record.
	 */
	bool gap_pending;	/* bytes lost since the last record */
	uint64_t scan_seq;	/* the last record's number, while scanning */
	struct spool_file_hole *holes;
	size_t nholes, aholes;
	/*
	 * Records lost while the backlog is read back (a block gone bad since
	 * the scan): the loader follows each file's last record (lf, taken
	 * from the appender's af when a backlog starts), and skipped bytes
	 * followed by a record numbered past the next (load_gap, load_seq)
	 * open a hole for each, closed by its next record (rholes, taken by
	 * spool_take_holes).
	 */
	struct spool_lfile af[SPOOL_LFILES], lf[SPOOL_LFILES];
	size_t naf, nlf, af_hint, lf_hint;
	bool load_gap;
	uint64_t load_seq;
	uint64_t backlog_seq;	/* the last record appended before the backlog began */
	/* A run of blocks the loader could not read (rd_seg's [from, to)): read once. */
	bool lbad;
	size_t lbad_seg;
	uint64_t lbad_from, lbad_to;
	struct spool_file_hole *rholes;
	size_t nrholes, arholes;
	uint64_t unkeyed;	/* "MSR3" records found in legacy segments: a key was lost */
	struct spool_stats st;
};

uint32_t
spool_crc(const void *p, size_t n)
{
	return ms_crc32c(p, n);
}

uint32_t
spool_crc_v1(const void *p, size_t n)
{
	return ms_crc32_soft(p, n);	/* old records only: no zlib in the agent */
}

static size_t
rec_size(const struct spool_rec *r)
{
	return SPOOL_REC_HDR + r->src_len + r->line_len + SPOOL_REC_TAG;
}

/*
 * The tag of a record: SipHash-2-4 under the spool's key of its header,
 * whose CRC (bytes 4..8) covers the source and the line. Only the header
 * is hashed: about 40 ns a line, where the whole record would cost three
 * times as much at 10,000 lines/s.
 */
static uint64_t
rec_tag(const uint8_t *key, const char *p)
{
	return ms_siphash24(key, p, SPOOL_REC_HDR);
}

static void
rec_encode(const struct spool *sp, char *p, const struct spool_rec *r)
{
	size_t n = rec_size(r);

	memcpy(p, SPOOL_MAGIC, 4);
	ms_put32(p + 8, (uint32_t)(n - 12));
	ms_put64(p + 12, r->seq);
	ms_put64(p + 20, (uint64_t)r->time_ms);
	ms_put64(p + 28, r->dev);
	ms_put64(p + 36, r->ino);
	ms_put64(p + 44, r->end_off);
	ms_put64(p + 52, r->fp);
	ms_put32(p + 60, r->fp_len);
	ms_put16(p + 64, (uint16_t)r->src_len);
	ms_put16(p + 66, r->flags & SPOOL_REC_RECOVERED);
	ms_put32(p + 68, (uint32_t)r->line_len);
	memcpy(p + SPOOL_REC_HDR, r->src, r->src_len);
	memcpy(p + SPOOL_REC_HDR + r->src_len, r->line, r->line_len);
	ms_put32(p + 4, spool_crc(p + 8, n - 8 - SPOOL_REC_TAG));
	ms_put64(p + n - SPOOL_REC_TAG, rec_tag(sp->key, p));
}

/*
 * Parses the record at p[0..avail): its size, 0 when more bytes are needed
 * (avail too short for what the header says), -1 when it is not a valid
 * record. key: the spool's, for a segment written with it: only "MSR3"
 * records whose tag checks are valid there, so a log line written to look
 * like a record is never taken for one; NULL for a legacy segment, whose
 * records of any version are checked by their CRC alone.
 */
static ssize_t
rec_parse(const uint8_t *key, const char *p, size_t avail, struct spool_rec *r)
{
	uint32_t body, src_len, line_len, crc;
	uint16_t flags;
	size_t n, tag;
	int v;

	if (avail < SPOOL_REC_HDR) {
		size_t k = avail < 4 ? avail : 4;

		return memcmp(p, SPOOL_MAGIC, k) == 0 ||
		    (key == NULL && (memcmp(p, SPOOL_MAGIC_V2, k) == 0 ||
		    memcmp(p, SPOOL_MAGIC_V1, k) == 0)) ? 0 : -1;
	}
	if (memcmp(p, SPOOL_MAGIC, 4) == 0)
		v = 3;
	else if (key == NULL && memcmp(p, SPOOL_MAGIC_V2, 4) == 0)
		v = 2;
	else if (key == NULL && memcmp(p, SPOOL_MAGIC_V1, 4) == 0)
		v = 1;
	else
		return -1;
	tag = v == 3 ? SPOOL_REC_TAG : 0;
	body = ms_get32(p + 8);
	src_len = ms_get16(p + 64);
	line_len = ms_get32(p + 68);
	flags = ms_get16(p + 66);
	if (src_len > SPOOL_MAX_SRC || line_len > MS_PROTO_MAX_LINE ||
	    (flags & ~(v == 3 ? SPOOL_REC_RECOVERED : 0)) != 0 ||
	    (size_t)body != SPOOL_REC_HDR - 12 + src_len + line_len + tag)
		return -1;
	n = SPOOL_REC_HDR + src_len + line_len + tag;
	if (avail < n)
		return 0;
	crc = v == 1 ? spool_crc_v1(p + 8, n - 8) : spool_crc(p + 8, n - 8 - tag);
	if (crc != ms_get32(p + 4))
		return -1;
	if (key != NULL && rec_tag(key, p) != ms_get64(p + n - tag))
		return -1;
	r->seq = ms_get64(p + 12);
	r->time_ms = (int64_t)ms_get64(p + 20);
	r->dev = ms_get64(p + 28);
	r->ino = ms_get64(p + 36);
	r->end_off = ms_get64(p + 44);
	r->fp = ms_get64(p + 52);
	r->fp_len = ms_get32(p + 60);
	r->flags = flags;
	r->src = p + SPOOL_REC_HDR;
	r->src_len = src_len;
	r->line = p + SPOOL_REC_HDR + src_len;
	r->line_len = line_len;
	return (ssize_t)n;
}

static bool
seg_is_legacy(const struct spool *sp, uint64_t first_seq)
{
	return sp->has_legacy && first_seq <= sp->legacy_last;
}

/* The key a record of segment i is checked with (NULL: its CRC alone). */
static const uint8_t *
seg_key(const struct spool *sp, size_t i)
{
	return sp->segs[i].legacy ? NULL : sp->key;
}

static void
seg_path(const struct spool *sp, uint64_t first, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%016" PRIx64 ".seg", sp->dir, first);
}

static void
spare_path(const struct spool *sp, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/" SPOOL_SPARE, sp->dir);
}

/* Bytes the spool holds on disk: records, the spare, a reused file's stale bytes. */
static uint64_t
spool_disk(const struct spool *sp)
{
	uint64_t d = sp->total + sp->spare_bytes + sp->kept;

	if (sp->nsegs > 0 && sp->wfd >= 0 && sp->wsize > sp->segs[sp->nsegs - 1].bytes)
		d += sp->wsize - sp->segs[sp->nsegs - 1].bytes;
	return d;
}

static void
spare_drop(struct spool *sp)
{
	char path[4200];

	if (!sp->spare)
		return;
	spare_path(sp, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		ms_warn("event=spool_error segment=%s reason=\"%s\"", path, strerror(errno));
	sp->spare = false;
	sp->spare_bytes = 0;
	sp->dir_dirty = true;
}

/*
 * Cuts the stale bytes a reused file still has past the records of the
 * segment written to (all of it in the file: called after a flush). Done
 * when the segment is left: a scan tells stale records apart, but not the
 * piece of one that a full segment may leave at its end.
 */
static void
seg_cut_stale(struct spool *sp)
{
	uint64_t valid;

	if (sp->wfd < 0 || sp->nsegs == 0 || sp->wlen > 0)
		return;
	valid = sp->segs[sp->nsegs - 1].bytes;
	if (sp->wsize <= valid)
		return;
	if (ftruncate(sp->wfd, (off_t)valid) != 0) {
		ms_warn("event=spool_error reason=\"cannot cut a reused segment: %s\"", strerror(errno));
		return;
	}
	sp->wsize = valid;
}

static int
seg_add(struct spool *sp, uint64_t first)
{
	if (sp->nsegs == sp->capsegs) {
		size_t ncap = sp->capsegs ? sp->capsegs * 2 : 16;
		struct spool_seg *n = realloc(sp->segs, ncap * sizeof(*n));
		if (n == NULL)
			return -1;
		sp->segs = n;
		sp->capsegs = ncap;
	}
	memset(&sp->segs[sp->nsegs], 0, sizeof(sp->segs[0]));
	sp->segs[sp->nsegs].first_seq = first;
	sp->nsegs++;
	return 0;
}

/* Removes segment i from the list (its file is the caller's business). */
static void
seg_drop(struct spool *sp, size_t i)
{
	sp->total -= sp->segs[i].bytes;
	sp->kept -= sp->segs[i].kept;
	free(sp->segs[i].lost);
	memmove(sp->segs + i, sp->segs + i + 1, (sp->nsegs - i - 1) * sizeof(sp->segs[0]));
	sp->nsegs--;
}

/*
 * Notes bytes [from, to) of segment s as skipped by the scan (merged with
 * the run before when they touch). Past SPOOL_SEG_RANGES runs, or out of
 * memory, the segment is damaged as a whole.
 */
static void
seg_lost_add(struct spool_seg *s, uint64_t from, uint64_t to)
{
	if (s->damaged || s->lost_over || from >= to)
		return;
	if (s->nlost > 0 && from <= s->lost[s->nlost - 1].to) {
		if (to > s->lost[s->nlost - 1].to)
			s->lost[s->nlost - 1].to = to;
		return;
	}
	if (s->lost == NULL && (s->lost = calloc(SPOOL_SEG_RANGES, sizeof(*s->lost))) == NULL) {
		s->damaged = true;
		return;
	}
	if (s->nlost == SPOOL_SEG_RANGES) {
		/* damaged unless the run is past the segment's records (seg_scan) */
		if (!s->lost_over) {
			s->lost_over = true;
			s->over_from = from;
		}
		return;
	}
	s->lost[s->nlost].from = from;
	s->lost[s->nlost].to = to;
	s->nlost++;
}

/* The first run of s the scan skipped that ends after off, or NULL. */
static const struct spool_range *
seg_lost_next(const struct spool_seg *s, uint64_t off)
{
	for (uint8_t k = 0; k < s->nlost; k++)
		if (s->lost[k].to > off)
			return &s->lost[k];
	return NULL;
}

/*
 * A record after a gap (see struct spool): every file noted so far may
 * have lost lines from its end on, up to its next record.
 */
static void
gap_open(struct spool *sp)
{
	for (size_t i = 0; i < sp->nends; i++) {
		struct spool_end *e = &sp->ends[i];

		if (!e->hole_open) {
			e->hole_open = true;
			e->hole_from = e->end;
		}
	}
}

/* Appends h to the list *v (*n used, *a allocated). 0, or -1 when out of memory. */
static int
holes_push(struct spool_file_hole **v, size_t *n, size_t *a, const struct spool_file_hole *h)
{
	if (*n == *a) {
		size_t na = *a ? *a * 2 : 8;
		struct spool_file_hole *nv = realloc(*v, na * sizeof(*nv));

		if (nv == NULL)
			return -1;
		*v = nv;
		*a = na;
	}
	(*v)[(*n)++] = *h;
	return 0;
}

/*
 * Whether the line of record r (the next of its file after from) begins
 * at from: nothing of the file was lost before it. Its line is
 * line_len bytes, then "\n" or "\r\n" (tail takes the "\r" off).
 */
static bool
rec_follows(const struct spool_rec *r, uint64_t from)
{
	uint64_t n = (uint64_t)r->line_len + 1;

	return r->end_off >= n && (r->end_off - n == from || r->end_off - n - 1 == from);
}

/*
 * Adds the hole from..to of r's file (r: the record at to) to the list *v:
 * none when r's line follows from (nothing lost); merged into the file's
 * last hole when it has SPOOL_MAX_FILE_HOLES already. 0, or -1 when out of
 * memory.
 */
static int
hole_note(struct spool_file_hole **v, size_t *n, size_t *a, const struct spool_rec *r,
    uint64_t from)
{
	struct spool_file_hole h = { r->dev, r->ino, r->fp, r->fp_len,
	    { from, r->end_off, r->line_len == MS_PROTO_MAX_LINE, 0 }, false, 0, 0 };
	size_t k = 0, last = 0;

	if (r->end_off <= from || rec_follows(r, from))
		return 0;	/* read again from before (truncated, replaced), or nothing lost */
	if (h.h.to_head)
		h.h.to_fp = tail_fingerprint(r->line, SPOOL_HOLE_FP_BYTES);
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].dev == r->dev && (*v)[i].ino == r->ino) {
			k++;
			last = i;
		}
	if (k >= SPOOL_MAX_FILE_HOLES) {
		(*v)[last].h.to = h.h.to;
		(*v)[last].h.to_head = h.h.to_head;
		(*v)[last].h.to_fp = h.h.to_fp;
		(*v)[last].fp = h.fp;
		(*v)[last].fp_len = h.fp_len;
		return 0;
	}
	return holes_push(v, n, a, &h);
}

/* e's lines lost between hole_from and the line of r. */
static void
hole_add(struct spool *sp, struct spool_end *e, const struct spool_rec *r)
{
	e->hole_open = false;
	if (hole_note(&sp->holes, &sp->nholes, &sp->aholes, r, e->hole_from) < 0)
		e->after_gap = true;	/* its lines read again from its saved position */
}

/*
 * A line read again into the spool (SPOOL_REC_RECOVERED) by an earlier
 * run: its hole is filled up to it when it is the hole's next line. One
 * that is not (lines read again lost in turn, an over-long line's head)
 * leaves the hole where it is from then on: read again from there, lines
 * twice rather than none.
 */
static void
hole_fill(struct spool *sp, const struct spool_rec *r)
{
	for (size_t i = 0; i < sp->nholes; i++) {
		struct spool_file_hole *fh = &sp->holes[i];

		/* at to only the line before an over-long head's (tail_hole_line) */
		if (fh->dev != r->dev || fh->ino != r->ino || fh->frozen ||
		    r->end_off <= fh->h.from || r->end_off > fh->h.to ||
		    (r->end_off == fh->h.to && !fh->h.to_head))
			continue;
		if (rec_follows(r, fh->h.from))
			fh->h.from = r->end_off;
		else
			fh->frozen = true;
	}
}

/* The scan's end of file (dev, ino), or NULL; *slot: where it is or would go in ends_ix. */
static struct spool_end *
end_find(struct spool *sp, uint64_t dev, uint64_t ino, size_t *slot)
{
	size_t k, h = (size_t)((((dev * UINT64_C(0x9e3779b97f4a7c15)) ^ ino) *
	    UINT64_C(0xff51afd7ed558ccd)) >> (64 - 11));

	_Static_assert(SPOOL_ENDS_SLOTS == 1u << 11, "index bits");
	_Static_assert(SPOOL_ENDS_SLOTS > SPOOL_MAX_ENDS && SPOOL_MAX_ENDS < UINT16_MAX,
	    "an empty slot ends every probe");
	if (sp->ends_ix == NULL) {
		for (k = 0; k < sp->nends; k++)
			if (sp->ends[k].dev == dev && sp->ends[k].ino == ino)
				return &sp->ends[k];
		return NULL;
	}
	for (; (k = sp->ends_ix[h]) != 0; h = (h + 1) & (SPOOL_ENDS_SLOTS - 1))
		if (sp->ends[k - 1].dev == dev && sp->ends[k - 1].ino == ino)
			break;
	*slot = h;
	return k != 0 ? &sp->ends[k - 1] : NULL;
}

static void
end_note(struct spool *sp, const struct spool_rec *r)
{
	struct spool_end *e;
	size_t slot = 0;

	if (r->flags & SPOOL_REC_RECOVERED) {
		/* Not where reading got: an older line, read again. */
		hole_fill(sp, r);
		return;
	}
	if ((e = end_find(sp, r->dev, r->ino, &slot)) != NULL) {
		if (e->hole_open)
			hole_add(sp, e, r);
		/* Records are in the order lines were read: the last one is where reading got. */
		e->fp = r->fp;
		e->fp_len = r->fp_len;
		e->end = r->end_off;
		e->seq = r->seq;
		return;
	}
	if (sp->nends == SPOOL_MAX_ENDS)
		return;
	/* First seen after a gap: where its lost lines began is not known. */
	sp->ends[sp->nends++] = (struct spool_end){ r->dev, r->ino, r->fp, r->end_off, r->fp_len,
	    r->seq, sp->gap, false, 0 };
	if (sp->ends_ix != NULL)
		sp->ends_ix[slot] = (uint16_t)sp->nends;
}

/*
 * v's entry for (dev, ino) (*n used, *hint: the last one found, most
 * lines come from one file), or a new one (*created), which takes the
 * place of the entry whose last record is the oldest when v is full.
 */
static struct spool_lfile *
lfile_get(struct spool_lfile *v, size_t *n, size_t *hint, uint64_t dev, uint64_t ino,
    bool *created)
{
	size_t k;

	*created = false;
	if (*hint < *n && v[*hint].ino == ino && v[*hint].dev == dev)
		return &v[*hint];
	for (k = 0; k < *n; k++)
		if (v[k].ino == ino && v[k].dev == dev) {
			*hint = k;
			return &v[k];
		}
	if (*n < SPOOL_LFILES) {
		k = (*n)++;
	} else {
		k = 0;
		for (size_t i = 1; i < *n; i++)
			if (v[i].seq < v[k].seq)
				k = i;
	}
	memset(&v[k], 0, sizeof(v[k]));
	v[k].dev = dev;
	v[k].ino = ino;
	*created = true;
	*hint = k;
	return &v[k];
}

/*
 * Notes r as its file's last record: the appender's view (loader false)
 * or the loader's, which closes the file's open hole (a hole up to r's
 * line). A line read again (SPOOL_REC_RECOVERED) is not where reading
 * got; a record of no file (a capture's event: device and inode 0) is
 * not followed.
 */
static void
lfile_note(struct spool *sp, const struct spool_rec *r, bool loader)
{
	struct spool_lfile *l;
	bool created;

	if ((r->flags & SPOOL_REC_RECOVERED) || (r->ino == 0 && r->dev == 0))
		return;
	if (loader)
		l = lfile_get(sp->lf, &sp->nlf, &sp->lf_hint, r->dev, r->ino, &created);
	else
		l = lfile_get(sp->af, &sp->naf, &sp->af_hint, r->dev, r->ino, &created);
	if (created && !loader) {
		l->first_seq = r->seq;
		l->first_start = r->start_off;
	} else if (loader && l->hole_open) {
		l->hole_open = false;
		if (hole_note(&sp->rholes, &sp->nrholes, &sp->arholes, r, l->hole_from) < 0)
			ms_warn("event=spool_lines_unrecovered dev=%llu inode=%llu offset=%llu "
			    "reason=\"out of memory\"", (unsigned long long)r->dev,
			    (unsigned long long)r->ino, (unsigned long long)l->hole_from);
	}
	l->fp = r->fp;
	l->fp_len = r->fp_len;
	l->end = r->end_off;
	l->seq = r->seq;
}

/*
 * Records were lost before the one numbered next (the loader met bytes it
 * could not use): every file the loader knows may have lost lines from its
 * last record on, and a file the appender first saw after the backlog
 * began, whose first record the loader has not met, from its first line.
 */
static void
load_gap_open(struct spool *sp, uint64_t next)
{
	if (next <= sp->load_seq + 1 || next <= sp->acked + 1)
		return;	/* none lost, or only acknowledged ones */
	for (size_t i = 0; i < sp->nlf; i++)
		if (!sp->lf[i].hole_open) {
			sp->lf[i].hole_open = true;
			sp->lf[i].hole_from = sp->lf[i].end;
		}
	for (size_t i = 0; i < sp->naf; i++) {
		const struct spool_lfile *a = &sp->af[i];
		struct spool_lfile *l;
		bool created;

		if (a->first_seq <= sp->backlog_seq || a->first_seq >= next || a->first_start == 0)
			continue;
		l = lfile_get(sp->lf, &sp->nlf, &sp->lf_hint, a->dev, a->ino, &created);
		if (!created)
			continue;
		l->fp = a->fp;
		l->fp_len = a->fp_len;
		l->end = a->first_start;
		l->seq = a->first_seq - 1;
		l->hole_open = true;
		l->hole_from = a->first_start;
	}
}

/*
 * The loader reached the writer: records lost at the end (no record after
 * them) count as a gap up to the last one appended; a file whose hole is
 * still open had no record after the lost bytes, every line of it read so
 * far after hole_from may have been in them. Its view starts again with
 * the next backlog (from the appender's).
 */
static void
load_caught_up(struct spool *sp)
{
	if (sp->load_gap)
		load_gap_open(sp, sp->max_seq + 1);
	for (size_t i = 0; i < sp->nlf; i++) {
		struct spool_lfile *l = &sp->lf[i];
		struct spool_file_hole h = { l->dev, l->ino, l->fp, l->fp_len,
		    { l->hole_from, SPOOL_HOLE_OPEN, false, 0 }, false, l->seq, sp->max_seq };

		if (l->hole_open && holes_push(&sp->rholes, &sp->nrholes, &sp->arholes, &h) < 0)
			ms_warn("event=spool_lines_unrecovered dev=%llu inode=%llu offset=%llu "
			    "reason=\"out of memory\"", (unsigned long long)l->dev,
			    (unsigned long long)l->ino, (unsigned long long)l->hole_from);
	}
	sp->nlf = 0;
	sp->load_gap = false;
	sp->lbad = false;
}

/* The scan's file ends so far into v (the latest ones when more than fit). */
static void
ends_to_lfiles(struct spool *sp, struct spool_lfile *v, size_t *n, size_t *hint)
{
	for (size_t i = 0; i < sp->nends; i++) {
		const struct spool_end *e = &sp->ends[i];
		struct spool_lfile *l;
		bool created;

		if (e->ino == 0 && e->dev == 0)
			continue;
		if (*n == SPOOL_LFILES) {
			/* full: only in place of one whose last record is older */
			size_t k = 0;

			for (size_t j = 1; j < *n; j++)
				if (v[j].seq < v[k].seq)
					k = j;
			if (v[k].seq >= e->seq)
				continue;
		}
		l = lfile_get(v, n, hint, e->dev, e->ino, &created);
		l->fp = e->fp;
		l->fp_len = e->fp_len;
		l->end = e->end;
		l->seq = e->seq;
	}
}

/*
 * Finds the next valid record in buf[from..len): its offset, or len when
 * none starts there (a record cut by the end of buf counts as found when
 * more_follows).
 */
static size_t
resync(const uint8_t *key, const char *buf, size_t from, size_t len, bool more_follows)
{
	struct spool_rec r;

	for (size_t i = from; i < len; i++) {
		const char *m = memchr(buf + i, 'M', len - i);
		ssize_t rc;

		if (m == NULL)
			return len;
		i = (size_t)(m - buf);
		rc = rec_parse(key, buf + i, len - i, &r);
		if (rc > 0 || (rc == 0 && more_follows))
			return i;
	}
	return len;
}

/*
 * A segment with more unreadable bytes than this stops the start
 * (seg_scan): a disk failing, not a bad spot. Two of the units a file
 * system loses at once, 128 KiB (a ZFS record at its default size, a
 * compressed btrfs extent), for a spot across the line between two.
 */
#define SPOOL_MAX_UNREADABLE (64 * MS_DISK_BLOCK)

/*
 * Scans segment i: counts its records, notes file ends, cuts a corrupt
 * tail. Corrupt bytes in the middle are skipped (and skipped again when
 * loading). 0 or -1.
 */
static int
seg_scan(struct spool *sp, size_t i, char *err, size_t errsz)
{
	char path[4200];
	struct spool_seg *s = &sp->segs[i];
	uint64_t off = 0, good_end = 0, corrupt = 0, stale_at = 0, unreadable = 0, bad_end = 0;
	uint64_t prev_bad_end = 0, chunk_bad = UINT64_MAX;	/* before the last read; its first */
	bool stale = false, skipped = false, tail_cut = false;
	struct stat st;
	int fd;

	seg_path(sp, s->first_seq, path, sizeof(path));
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (off < (uint64_t)st.st_size) {
		uint64_t left = (uint64_t)st.st_size - off;
		ssize_t n;
		size_t pos = 0;
		bool eof;

		prev_bad_end = bad_end;
		chunk_bad = UINT64_MAX;
		n = ms_disk_pread(fd, sp->rbuf, left < SPOOL_RBUF ? (size_t)left : SPOOL_RBUF, off,
		    &unreadable, &bad_end, &chunk_bad);

		if (n < 0 || unreadable > SPOOL_MAX_UNREADABLE) {
			/* Not cut: what cannot be read now may be read later. */
			snprintf(err, errsz, "%s: %s", path, n < 0 ? strerror(errno) :
			    "more than 256 KiB cannot be read (the disk is failing?); nothing was cut");
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		eof = off + (uint64_t)n >= (uint64_t)st.st_size;
		while (pos < (size_t)n) {
			struct spool_rec r;
			ssize_t rc = rec_parse(seg_key(sp, i), sp->rbuf + pos, (size_t)n - pos, &r);

			if (rc > 0 && r.seq < s->first_seq) {
				/*
				 * A record older than the segment: the file was a
				 * reused one (seg_roll) and its new records end
				 * before this. What is in between is the rest of an
				 * old record, or a new one torn by the crash, whose
				 * lines were never acknowledged as durable to tail.
				 */
				stale = true;
				stale_at = off + pos;
				break;
			}
			if (rc > 0) {
				/*
				 * A record of this segment after skipped bytes: a gap
				 * (a torn tail has no record after it, a reused file's
				 * old records are stale, above).
				 */
				if (skipped)
					sp->gap = true;
				if ((skipped || sp->gap_pending) && r.seq > sp->scan_seq + 1 &&
				    r.seq > sp->acked + 1)
					gap_open(sp);
				sp->gap_pending = false;
				sp->scan_seq = r.seq;
				skipped = false;
				if (r.seq > s->last_seq)
					s->last_seq = r.seq;
				if (r.seq > sp->max_seq)
					sp->max_seq = r.seq;
				if (r.seq > sp->acked)
					sp->st.recovered++;
				if (s->legacy && memcmp(sp->rbuf + pos, SPOOL_MAGIC, 4) == 0)
					sp->unkeyed++;
				end_note(sp, &r);
				pos += (size_t)rc;
				good_end = off + pos;
				continue;
			}
			if (rc == 0 && !eof)
				break;	/* read on from this record */
			/* Not a record (or cut short at the end): find the next one. */
			{
				size_t next = resync(seg_key(sp, i), sp->rbuf, pos + 1, (size_t)n, !eof);
				corrupt += next - pos;
				seg_lost_add(s, off + pos, off + next);
				pos = next;
				skipped = true;
			}
		}
		if (stale || pos == 0)
			break;	/* pos == 0 cannot happen: SPOOL_RBUF holds a whole record */
		off += pos;
	}
	if (stale && (bad_end <= good_end || stale_at - good_end < SPOOL_REC_HDR + SPOOL_REC_TAG ||
	    (prev_bad_end <= good_end && chunk_bad >= stale_at))) {
		/*
		 * Bytes skipped between the last record and the stale one are not
		 * corruption. Unreadable ones there are not cut with the stale
		 * records: they may be new records synced (below) – unless there
		 * is no room for one: a new record written from the last one's end
		 * would have overwritten the stale one. Unreadable bytes wholly
		 * after the stale record are cut: a synced new record there would
		 * have overwritten it too. (Where the reads cannot tell, the tail
		 * is kept.)
		 */
		uint64_t tail = (uint64_t)st.st_size - good_end;

		corrupt -= stale_at - good_end;
		ms_info("event=spool_reused_tail_cut segment=%s bytes=%" PRIu64
		    " note=\"the unused part of a reused segment file\"", path, tail);
		if (ftruncate(fd, (off_t)good_end) != 0)
			ms_warn("event=spool_error segment=%s reason=\"%s\"", path, strerror(errno));
		sp->dir_dirty = true;
	} else if (good_end < (uint64_t)st.st_size && (i + 1 < sp->nsegs || bad_end > good_end)) {
		/*
		 * Segments follow: what follows its last record is not a write
		 * torn at the spool's end but records lost (a bad block). Kept
		 * as it is, skipped, so that every start finds them lost and the
		 * lines read again in their place (SPOOL_REC_RECOVERED) fill them.
		 * So are bytes the disk cannot read after the last record, also
		 * at the spool's end (a sector torn by a power cut, a bad block):
		 * cut, they might be records a later start could read (a failing
		 * path, a disk coming back). Their lines are read again all the
		 * same (every file's hole, spool_open), and the segment is sealed:
		 * records go into a new one (named above the lost ones: numbers
		 * start above an earlier life's, agent_core), it is never cut
		 * (spool_open) nor reused (seg_remove_first).
		 */
		uint64_t tail = (uint64_t)st.st_size - good_end;

		/* counted once: the scan skipped some or all of it already */
		corrupt = (corrupt >= tail ? corrupt - tail : 0) + tail;
		sp->gap_pending = true;
		s->kept = tail;
		sp->kept += tail;
		s->sealed = bad_end > good_end;
		if (s->sealed && s->first_seq > sp->sealed_name)
			sp->sealed_name = s->first_seq;
		if (s->sealed)
			ms_warn("event=spool_unreadable_tail segment=%s bytes=%" PRIu64 " note=\"kept, "
			    "not cut: their lines are read again from their files; new records go into "
			    "a new segment\"", path, tail);
	} else if (good_end < (uint64_t)st.st_size) {
		/* Whatever follows the last valid record is a torn write: cut it. */
		uint64_t cut = (uint64_t)st.st_size - good_end;
		ms_warn("event=spool_tail_truncated segment=%s bytes=%" PRIu64
		    " note=\"a write torn by a crash or a corrupt tail\"", path, cut);
		if (ftruncate(fd, (off_t)good_end) != 0)
			ms_warn("event=spool_error segment=%s reason=\"%s\"", path, strerror(errno));
		corrupt = corrupt >= cut ? corrupt - cut : 0;
		sp->st.corrupt_bytes += cut;
		sp->dir_dirty = true;
		/*
		 * Torn by a power cut, its lines were never durable and are
		 * read again from the saved positions; but a synced tail gone bad
		 * (no read error) held lines the positions are past: every file
		 * gets an open hole (spool_open), harmless for a tear.
		 */
		tail_cut = true;
	}
	if (unreadable)
		ms_warn("event=spool_unreadable segment=%s bytes=%" PRIu64 " note=\"blocks the disk "
		    "could not read: skipped as corrupt, the records after them are kept\"", path,
		    unreadable);
	if (corrupt) {
		ms_warn("event=spool_corrupt segment=%s bytes=%" PRIu64
		    " note=\"skipped; the records around them are kept\"", path, corrupt);
		sp->st.corrupt_bytes += corrupt;
	}
	s->bytes = good_end;
	/* The loader reads up to good_end: runs after it (a tail cut or kept) are not met. */
	while (s->nlost > 0 && s->lost[s->nlost - 1].from >= good_end)
		s->nlost--;
	if (s->nlost > 0 && s->lost[s->nlost - 1].to > good_end)
		s->lost[s->nlost - 1].to = good_end;
	/* More runs than lost[] holds before good_end: damaged as a whole. */
	if (s->lost_over && s->over_from < good_end)
		s->damaged = true;
	if (s->bytes == 0 && sp->gap_pending)
		s->damaged = true;
	if (tail_cut)
		sp->gap_pending = true;
	sp->total += good_end;
	close(fd);
	return 0;
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct spool_seg *x = a, *y = b;
	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/*
 * Makes the folder's entries (segments created, renamed, removed) durable.
 * 0, or -1 when syncing it failed: kept dirty, tried again at the next sync.
 */
static int
spool_fsync_dir(struct spool *sp)
{
	int dfd, rc = 0;

	if (!sp->dir_dirty || !sp->o.sync) {
		sp->dir_dirty = false;
		return 0;
	}
	if ((dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0)
		rc = -1;
	if (dfd >= 0)
		close(dfd);
	if (rc == 0)
		sp->dir_dirty = false;
	return rc;
}

/* A failed sync (see spool_sync_suspect): counted, logged, errno kept. */
static void
sync_failed(struct spool *sp, const char *what)
{
	int e = errno;

	/* Whatever later syncs say: see spool_sync_suspect. */
	if (sp->max_seq > sp->acked && sp->max_seq > sp->sync_suspect)
		sp->sync_suspect = sp->max_seq;
	/* Tried again at every commit: logged once until a sync succeeds. */
	if (!sp->sync_failing)
		ms_err("event=spool_sync_error dir=%s what=%s reason=\"%s\" suspect_to=%" PRIu64
		    " note=\"records up to suspect_to count as durable once acknowledged\"",
		    sp->dir, what, strerror(e), sp->sync_suspect);
	sp->sync_failing = true;
	sp->st.write_errors++;
	errno = e;
}

/*
 * Removes segment 0 (all acknowledged and covered). A full one is kept as
 * the spare, the file the next segment is written into: overwriting blocks
 * that are allocated and still in the page cache costs the kernel about
 * half of appending to a new file (no page or block allocation, no size
 * change for fdatasync to write, no file to delete), which shows at 10,000
 * lines/s. Its stale records are told apart by their sequence numbers,
 * all lower than the new segment's (seg_scan). Only while the spare fits
 * under max_bytes with everything else on disk.
 */
static void
seg_remove_first(struct spool *sp)
{
	char path[4200], spare[4200];
	struct stat st;

	seg_path(sp, sp->segs[0].first_seq, path, sizeof(path));
	spare_path(sp, spare, sizeof(spare));
	if (!sp->spare && !sp->segs[0].legacy && !sp->segs[0].sealed && stat(path, &st) == 0 &&
	    (uint64_t)st.st_size >= sp->o.segment_bytes / 2 &&
	    spool_disk(sp) - sp->segs[0].bytes + (uint64_t)st.st_size <= sp->o.max_bytes &&
	    rename(path, spare) == 0) {
		sp->spare = true;
		sp->spare_bytes = (uint64_t)st.st_size;
	} else if (unlink(path) != 0 && errno != ENOENT) {
		ms_warn("event=spool_error segment=%s reason=\"%s\"", path, strerror(errno));
	}
	seg_drop(sp, 0);
	if (sp->lbad) {
		if (sp->lbad_seg == 0)
			sp->lbad = false;
		else
			sp->lbad_seg--;
	}
	if (sp->rfd >= 0) {
		if (sp->rfd_seg == 0) {
			close(sp->rfd);
			sp->rfd = -1;
		} else {
			sp->rfd_seg--;
		}
	}
	if (sp->rd_seg > 0)
		sp->rd_seg--;
	else
		sp->rd_off = 0;
	sp->dir_dirty = true;
}

/* Deletes leading segments that are acknowledged and covered, never the last one. */
static bool
spool_trim(struct spool *sp)
{
	uint64_t upto = sp->acked < sp->covered ? sp->acked : sp->covered;
	bool freed = false;

	while (sp->nsegs > 1 && sp->segs[0].last_seq <= upto) {
		seg_remove_first(sp);
		freed = true;
	}
	return freed;
}

/*
 * Reads the key file: 1 when it was read; 0 when there is none, or it is
 * damaged or cannot be opened (logged: a new one is made, the segments
 * found are checked by their CRC alone); -1 (err) when the disk cannot
 * read it – a failing disk stops the start rather than replace the key.
 */
static int
key_load(struct spool *sp, char *err, size_t errsz)
{
	char path[4200], b[SPOOL_KEY_FILE + 1];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/" SPOOL_KEY_NAME, sp->dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 0;
		if (ms_disk_media_error(errno)) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			return -1;
		}
		n = -1;
	} else {
		uint64_t unreadable = 0;
		int e;

		/* A passing disk fault is read again (ms_disk_pread), not taken for damage. */
		n = ms_disk_pread(fd, b, sizeof(b), 0, &unreadable, NULL, NULL);
		e = errno;
		close(fd);
		if (unreadable > 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(EIO));
			return -1;
		}
		errno = e;
	}
	if (n != SPOOL_KEY_FILE || memcmp(b, SPOOL_KEY_MAGIC, 4) != 0 ||
	    ms_crc32c(b, SPOOL_KEY_FILE - 4) != ms_get32(b + SPOOL_KEY_FILE - 4) ||
	    ms_get32(b + 4 + SPOOL_KEY_LEN + 8) > 1) {
		ms_warn("event=spool_key_damaged file=%s reason=\"%s\" note=\"a new key is made; "
		    "the records already in the spool are checked by their CRC alone until "
		    "delivered\"", path, n < 0 ? strerror(errno) : "not a key file");
		return 0;
	}
	memcpy(sp->key, b + 4, SPOOL_KEY_LEN);
	sp->legacy_last = ms_get64(b + 4 + SPOOL_KEY_LEN);
	sp->has_legacy = ms_get32(b + 4 + SPOOL_KEY_LEN + 8) == 1;
	return 1;
}

/* Writes the key file (key, legacy_last, has_legacy) atomically. 0 or -1 (err). */
static int
key_save(struct spool *sp, char *err, size_t errsz)
{
	char path[4200], tmp[4200], b[SPOOL_KEY_FILE];
	const char *failed = tmp;
	int fd;

	memcpy(b, SPOOL_KEY_MAGIC, 4);
	memcpy(b + 4, sp->key, SPOOL_KEY_LEN);
	ms_put64(b + 4 + SPOOL_KEY_LEN, sp->legacy_last);
	ms_put32(b + 4 + SPOOL_KEY_LEN + 8, sp->has_legacy ? 1 : 0);
	ms_put32(b + SPOOL_KEY_FILE - 4, ms_crc32c(b, SPOOL_KEY_FILE - 4));
	snprintf(path, sizeof(path), "%s/" SPOOL_KEY_NAME, sp->dir);
	snprintf(tmp, sizeof(tmp), "%s/" SPOOL_KEY_NAME ".new", sp->dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		goto fail;
	errno = 0;
	/* Synced whatever spool.sync says: records are only written once it is durable. */
	if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b) || fsync(fd) != 0) {
		int e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = e;
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		failed = path;
		goto fail;
	}
	if ((fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		failed = sp->dir;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	snprintf(err, errsz, "%s: %s", failed, strerror(errno));
	return -1;
}

/*
 * Writes a key not saved yet (logged once it works). 0, or -1 while it
 * still cannot be written (logged once per run of failures, counted).
 */
static int
key_retry(struct spool *sp)
{
	char err[4400];

	if (!sp->key_unsaved)
		return 0;
	if (key_save(sp, err, sizeof(err)) < 0) {
		/* Its own flag: a flush of nothing must not log spool_write_ok meanwhile. */
		if (!sp->key_failing)
			ms_err("event=spool_write_error dir=%s reason=\"the spool's key cannot be "
			    "saved: %s\" note=\"reading pauses until it works\"", sp->dir, err);
		sp->key_failing = true;
		sp->st.write_errors++;
		return -1;
	}
	sp->key_failing = false;
	sp->key_unsaved = false;
	ms_info("event=spool_key_saved dir=%s", sp->dir);
	return 0;
}

/*
 * The first key of a spool folder, made at open once the segments found
 * were scanned without one: those of an earlier agent, or of a key that
 * was lost (records of this version found in them). They stay legacy
 * until delivered: every segment up to the last one holding records
 * (empty ones are deleted at open). If the key cannot be written (a
 * full disk), nothing is appended until it can (spool_append tries again
 * each time, as after a write error). 0, or -1 (err) without random
 * bytes for a key.
 */
static int
key_first(struct spool *sp, char *err, size_t errsz)
{
	size_t legacy = 0, got = 0;

	while (got < SPOOL_KEY_LEN) {
		ssize_t n = getrandom(sp->key + got, SPOOL_KEY_LEN - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errsz, "no random bytes for the spool's key: %s",
			    n < 0 ? strerror(errno) : "none returned");
			return -1;
		}
		got += (size_t)n;
	}
	sp->has_legacy = false;
	/* A sealed one with no record read too: a later start may read its records. */
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].bytes > 0 || sp->segs[i].sealed) {
			sp->has_legacy = true;
			sp->legacy_last = sp->segs[i].first_seq;
		}
	for (size_t i = 0; i < sp->nsegs; i++) {
		sp->segs[i].legacy = seg_is_legacy(sp, sp->segs[i].first_seq);
		legacy += sp->segs[i].legacy;
	}
	if (sp->unkeyed > 0)
		ms_warn("event=spool_key_lost dir=%s records=%" PRIu64 " note=\"records written with a "
		    "key that is gone: checked by their CRC alone until delivered\"", sp->dir, sp->unkeyed);
	else if (legacy > 0)
		ms_info("event=spool_key_made dir=%s legacy_segments=%zu note=\"records of an earlier "
		    "agent: checked by their CRC alone until delivered\"", sp->dir, legacy);
	if (key_save(sp, err, errsz) < 0) {
		ms_err("event=spool_key_unsaved reason=\"%s\" note=\"nothing is spooled (reading "
		    "pauses) until the key is written\"", err);
		err[0] = '\0';
		sp->key_unsaved = true;
	}
	return 0;
}

struct spool *
spool_open(const char *dir, const struct spool_opts *o, uint64_t acked, char *err, size_t errsz)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	DIR *d = NULL;
	struct dirent *de;
	struct stat wst;
	int keyed;

	if (sp == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	sp->wfd = -1;
	sp->rfd = -1;
	sp->o = *o;
	sp->acked = acked;
	sp->covered = acked;
	if (strlen(dir) >= sizeof(sp->dir)) {
		snprintf(err, errsz, "spool folder name too long");
		goto fail;
	}
	strcpy(sp->dir, dir);
	if ((sp->wbuf = malloc(SPOOL_WBUF)) == NULL || (sp->rbuf = malloc(SPOOL_RBUF)) == NULL ||
	    (sp->ends = calloc(SPOOL_MAX_ENDS, sizeof(*sp->ends))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	/*
	 * A spare left by an earlier run is not reused: the sequence numbers
	 * of its records, which must stay below the next segment's, are not
	 * known.
	 */
	{
		char spare[4200];

		spare_path(sp, spare, sizeof(spare));
		if (unlink(spare) != 0 && errno != ENOENT) {
			snprintf(err, errsz, "%s: %s", spare, strerror(errno));
			goto fail;
		}
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long long first;

		if (strlen(de->d_name) != 20 || strcmp(de->d_name + 16, ".seg") != 0)
			continue;
		errno = 0;
		first = strtoull(de->d_name, &end, 16);
		if (errno != 0 || end != de->d_name + 16)
			continue;
		if (sp->nsegs >= SPOOL_MAX_SEGMENTS || seg_add(sp, first) < 0) {
			snprintf(err, errsz, "%s: too many segments", dir);
			goto fail;
		}
	}
	closedir(d);
	d = NULL;
	if (sp->nsegs > 1)
		qsort(sp->segs, sp->nsegs, sizeof(sp->segs[0]), seg_cmp);
	if ((keyed = key_load(sp, err, errsz)) < 0)
		goto fail;
	/* Without a key, every segment found was written without it. */
	for (size_t i = 0; i < sp->nsegs; i++)
		sp->segs[i].legacy = keyed == 0 || seg_is_legacy(sp, sp->segs[i].first_seq);
	/* Out of memory: ends are searched in order instead (slower with many files). */
	sp->ends_ix = calloc(SPOOL_ENDS_SLOTS, sizeof(*sp->ends_ix));
	for (size_t i = 0, lf_set = 0; i < sp->nsegs; i++) {
		/*
		 * The loader starts with the first segment not all acknowledged:
		 * what it knows of the files then is what the segments before
		 * it held (they may be gone before it reads).
		 */
		if (!lf_set && (i + 1 == sp->nsegs || sp->segs[i + 1].first_seq > sp->acked + 1)) {
			ends_to_lfiles(sp, sp->lf, &sp->nlf, &sp->lf_hint);
			sp->load_seq = sp->max_seq;
			lf_set = 1;
		}
		if (seg_scan(sp, i, err, errsz) < 0)
			goto fail;
	}
	/* Only the scan adds ends; spool_take_file_end takes them out in any order. */
	free(sp->ends_ix);
	sp->ends_ix = NULL;
	/*
	 * Bytes lost at the end of a segment whose followers all came out
	 * empty: no record after them says what was lost, so every file's
	 * lines after its last record may have been in them.
	 */
	if (sp->gap_pending) {
		gap_open(sp);
		sp->gap_pending = false;
	}
	if (keyed == 0 && key_first(sp, err, errsz) < 0)
		goto fail;
	/*
	 * Segments left empty (their records torn, a reused file's stale
	 * ones cut) go: the next records get a segment named after them.
	 * Kept, an empty last one would take records numbered below its name,
	 * which a scan takes for stale ones. One with lost bytes kept and
	 * segments after it stays: every start finds them lost (its holes).
	 */
	for (size_t i = 0; i < sp->nsegs;) {
		char path[4200];

		if (sp->segs[i].bytes > 0 ||
		    (sp->segs[i].kept > 0 && (i + 1 < sp->nsegs || sp->segs[i].sealed))) {
			i++;
			continue;
		}
		seg_path(sp, sp->segs[i].first_seq, path, sizeof(path));
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		seg_drop(sp, i);
		sp->dir_dirty = true;
	}
	/* Where the files' last records are, for a backlog to come (spool_append). */
	ends_to_lfiles(sp, sp->af, &sp->naf, &sp->af_hint);
	/* Every unacknowledged record found is read back into memory by spool_load. */
	sp->backlog = sp->st.recovered > 0;
	sp->st.backlog = sp->st.recovered;
	sp->rd_seg = 0;
	sp->rd_off = 0;
	/* A sealed last segment is not written to: the first record rolls (spool_append). */
	if (sp->nsegs > 0 && !sp->segs[sp->nsegs - 1].sealed) {
		char path[4200];
		seg_path(sp, sp->segs[sp->nsegs - 1].first_seq, path, sizeof(path));
		if ((sp->wfd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto fail;
		}
		sp->wbuf_start = sp->segs[sp->nsegs - 1].bytes;
		sp->wsize = sp->wbuf_start;	/* seg_scan cut what followed ... */
		/*
		 * ... unless segments followed it then, all gone empty: the
		 * lost bytes it kept (their holes are known, gap_pending) are
		 * cut now that records are written after them.
		 */
		if (fstat(sp->wfd, &wst) == 0 && (uint64_t)wst.st_size > sp->wsize) {
			if (ftruncate(sp->wfd, (off_t)sp->wsize) != 0)
				ms_warn("event=spool_error segment=%s reason=\"%s\"", path, strerror(errno));
			sp->kept -= sp->segs[sp->nsegs - 1].kept;
			sp->segs[sp->nsegs - 1].kept = 0;
		}
	}
	if (sp->st.recovered)
		ms_info("event=spool_recovered records=%" PRIu64 " segments=%zu bytes=%" PRIu64,
		    sp->st.recovered, sp->nsegs, sp->total);
	/*
	 * After an agent crash, recovered records may be in the page cache
	 * only (the crash came before the group commit), and read positions
	 * are about to move past them: made durable first.
	 */
	for (size_t i = 0; sp->o.sync && i < sp->nsegs; i++) {
		char path[4200];
		int fd;

		if (sp->segs[i].last_seq <= acked)
			continue;
		seg_path(sp, sp->segs[i].first_seq, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fdatasync(fd) != 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		close(fd);
		sp->dir_dirty = true;
	}
	(void)spool_fsync_dir(sp);	/* failing, kept dirty: the first spool_sync says so */
	spool_trim(sp);
	return sp;
fail:
	if (d)
		closedir(d);
	spool_free(sp);
	return NULL;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->wfd >= 0) {
		if (spool_flush(sp) == 0)
			seg_cut_stale(sp);
		close(sp->wfd);
	}
	if (sp->rfd >= 0)
		close(sp->rfd);
	for (size_t i = 0; i < sp->nsegs; i++)
		free(sp->segs[i].lost);
	free(sp->segs);
	free(sp->wbuf);
	free(sp->rbuf);
	free(sp->ends);
	free(sp->ends_ix);
	free(sp->holes);
	free(sp->rholes);
	free(sp);
}

int
spool_flush(struct spool *sp)
{
	size_t done = 0;

	while (done < sp->wlen) {
		ssize_t n = pwrite(sp->wfd, sp->wbuf + done, sp->wlen - done,
		    (off_t)(sp->wbuf_start + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			/* Put the file back as it was: the whole buffer is retried later. */
			if (ftruncate(sp->wfd, (off_t)sp->wbuf_start) != 0)
				ms_warn("event=spool_error reason=\"cannot undo a partial write: %s\"",
				    strerror(errno));
			else
				sp->wsize = sp->wbuf_start;
			if (!sp->failing)
				ms_err("event=spool_write_error dir=%s reason=\"%s\" note=\"reading pauses until it works\"",
				    sp->dir, strerror(e));
			sp->failing = true;
			sp->st.write_errors++;
			errno = e;
			return -1;
		}
		done += (size_t)n;
	}
	if (sp->failing)
		ms_info("event=spool_write_ok dir=%s", sp->dir);
	sp->failing = false;
	sp->wbuf_start += sp->wlen;
	if (sp->wbuf_start > sp->wsize)
		sp->wsize = sp->wbuf_start;
	if (sp->wlen)
		sp->need_sync = true;
	sp->wlen = 0;
	return 0;
}

int
spool_sync(struct spool *sp)
{
	if (sp->wfd < 0)
		return 0;
	if (spool_flush(sp) < 0)
		return -1;
	if (sp->need_sync && sp->o.sync && fdatasync(sp->wfd) != 0) {
		sync_failed(sp, "segment");
		return -1;
	}
	if (sp->need_sync)
		sp->st.syncs++;
	sp->need_sync = false;
	/* A new segment's records are durable once its name is. */
	if (spool_fsync_dir(sp) < 0) {
		sync_failed(sp, "folder");
		return -1;
	}
	if (sp->sync_failing)
		ms_info("event=spool_sync_ok dir=%s suspect_to=%" PRIu64, sp->dir, sp->sync_suspect);
	sp->sync_failing = false;
	return 0;
}

/* Starts a new segment whose first record will be seq. 0 or -1. */
static int
seg_roll(struct spool *sp, uint64_t seq)
{
	char path[4200];
	uint64_t wsize = 0;
	int fd = -1;

	if (sp->wfd >= 0) {
		/* The old segment's bytes are durable before we stop tracking them. */
		if (spool_sync(sp) < 0)
			return -1;
		seg_cut_stale(sp);
	}
	seg_path(sp, seq, path, sizeof(path));
	if (sp->spare) {
		char spare[4200];

		spare_path(sp, spare, sizeof(spare));
		if (rename(spare, path) == 0)
			fd = open(path, O_WRONLY | O_CLOEXEC);
		else
			unlink(spare);	/* not left behind, uncounted */
		wsize = fd >= 0 ? sp->spare_bytes : 0;
		if (fd >= 0)
			sp->st.reused++;
		sp->spare = false;
		sp->spare_bytes = 0;
	}
	if (fd < 0 && (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		if (!sp->failing)
			ms_err("event=spool_write_error segment=%s reason=\"%s\"", path, strerror(errno));
		sp->failing = true;
		sp->st.write_errors++;
		return -1;
	}
	if (seg_add(sp, seq) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	if (sp->wfd >= 0)
		close(sp->wfd);
	sp->wfd = fd;
	sp->wsize = wsize;
	sp->wbuf_start = 0;
	sp->dir_dirty = true;
	return 0;
}

bool
spool_backlog(const struct spool *sp)
{
	return sp->backlog;
}

int
spool_append(struct spool *sp, const struct spool_rec *r, bool in_memory)
{
	size_t n = rec_size(r);
	struct spool_seg *last;

	if (r->src_len > SPOOL_MAX_SRC || r->line_len > MS_PROTO_MAX_LINE)
		return -1;
	/* The spare gives its room back before appending stops. */
	if (sp->spare && spool_disk(sp) + n > sp->o.max_bytes)
		spare_drop(sp);
	if (sp->total + n > sp->o.max_bytes && sp->total > 0)
		return 1;
	if (key_retry(sp) < 0)
		return -1;
	if (sp->has_legacy && r->seq <= sp->legacy_last) {
		/* Numbers start above it (spool_max_seq): a caller's bug, never spooled as legacy. */
		ms_err("event=spool_write_error dir=%s reason=\"record %" PRIu64 " not above the "
		    "legacy segments (%" PRIu64 ")\"", sp->dir, r->seq, sp->legacy_last);
		sp->st.write_errors++;
		return -1;
	}
	if (sp->failing && spool_flush(sp) < 0)
		return -1;
	last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
	/*
	 * Records with a tag never go into a legacy segment: there they would
	 * be checked by their CRC alone, and a record forged in a log line
	 * would be taken among them – also an empty one (its records torn).
	 * The new segment is named above every legacy one (checked above).
	 */
	if (last == NULL || sp->wfd < 0 || last->legacy ||
	    (last->bytes > 0 && last->bytes + n > sp->o.segment_bytes)) {
		if (seg_roll(sp, r->seq) < 0)
			return -1;
		last = &sp->segs[sp->nsegs - 1];
	}
	if (sp->wlen + n > SPOOL_WBUF && spool_flush(sp) < 0)
		return -1;
	if (!in_memory && !sp->backlog) {
		sp->backlog = true;
		sp->rd_seg = sp->nsegs - 1;
		sp->rd_off = last->bytes;
		/* The loader starts from what was appended before: its files' last records. */
		memcpy(sp->lf, sp->af, sp->naf * sizeof(sp->af[0]));
		sp->nlf = sp->naf;
		sp->lf_hint = 0;
		sp->load_gap = false;
		sp->load_seq = sp->max_seq;
		sp->backlog_seq = sp->max_seq;
		sp->lbad = false;
	}
	rec_encode(sp, sp->wbuf + sp->wlen, r);
	sp->wlen += n;
	last->bytes += n;
	if (last->last_seq < r->seq)
		last->last_seq = r->seq;
	if (r->seq > sp->max_seq)
		sp->max_seq = r->seq;
	sp->total += n;
	if (!in_memory)
		sp->st.backlog++;
	lfile_note(sp, r, false);
	return 0;
}

size_t
spool_load(struct spool *sp, spool_load_fn fn, void *arg)
{
	size_t taken = 0;

	if (!sp->backlog)
		return 0;
	if (spool_flush(sp) < 0)
		return 0;
	while (sp->backlog) {
		struct spool_seg *s;
		char path[4200];
		const struct spool_range *known;
		uint64_t unreadable, bad_start, bad_end;
		ssize_t n;
		size_t pos = 0, want;
		int e;
		bool eof, limited, at_known = false;

		if (sp->rd_seg >= sp->nsegs) {
			sp->backlog = false;
			load_caught_up(sp);
			break;
		}
		s = &sp->segs[sp->rd_seg];
		if (sp->rd_off >= s->bytes) {
			if (sp->rd_seg + 1 >= sp->nsegs) {
				sp->backlog = false;	/* caught up with the writer */
				sp->st.backlog = 0;
				load_caught_up(sp);
				break;
			}
			sp->rd_seg++;
			sp->rd_off = 0;
			continue;
		}
		if (sp->rfd < 0 || sp->rfd_seg != sp->rd_seg) {
			if (sp->rfd >= 0)
				close(sp->rfd);
			seg_path(sp, s->first_seq, path, sizeof(path));
			if ((sp->rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
				ms_err("event=spool_read_error segment=%s reason=\"%s\"", path, strerror(errno));
				break;
			}
			sp->rfd_seg = sp->rd_seg;
		}
		unreadable = 0;
		bad_start = UINT64_MAX;
		bad_end = 0;
		limited = false;
		want = s->bytes - sp->rd_off < SPOOL_RBUF ? (size_t)(s->bytes - sp->rd_off) : SPOOL_RBUF;
		if ((known = seg_lost_next(s, sp->rd_off)) != NULL) {
			/*
			 * Bytes the scan skipped (counted then, their lines' holes
			 * opened then): on after them, not read again.
			 */
			if (sp->rd_off >= known->from) {
				sp->rd_off = known->to;
				continue;
			}
			if (sp->rd_off + want > known->from) {
				want = (size_t)(known->from - sp->rd_off);
				limited = true;
				at_known = true;
			}
		}
		if (sp->lbad && sp->lbad_seg == sp->rd_seg && sp->rd_off < sp->lbad_to) {
			if (sp->rd_off >= sp->lbad_from) {
				/* At the blocks it could not read: on after them. */
				sp->rd_off = sp->lbad_to;
				sp->lbad = false;
				if (!s->damaged)
					sp->load_gap = true;
				continue;
			}
			if (sp->rd_off + want > sp->lbad_from) {
				want = (size_t)(sp->lbad_from - sp->rd_off);
				limited = true;
				at_known = false;
			}
		}
		n = ms_disk_pread_to_bad(sp->rfd, sp->rbuf, want, sp->rd_off, &unreadable, &bad_end,
		    &bad_start);
		e = errno;
		if (unreadable) {
			/*
			 * Read whole at the start, unreadable now after the retries:
			 * skipped and counted. Holding the read-back here instead
			 * would hold every later record with it (nothing calls this
			 * again until acknowledgements come), and the spool fills.
			 * Read once: the records before them are taken, then reading
			 * goes on after them (lbad), not through them again.
			 */
			ms_warn("event=spool_unreadable segment=%016" PRIx64 " offset=%" PRIu64
			    " bytes=%" PRIu64 " note=\"blocks the disk could not read: skipped\"",
			    s->first_seq, bad_start, unreadable);
			sp->st.corrupt_bytes += unreadable;
			sp->lbad = true;
			sp->lbad_seg = sp->rd_seg;
			sp->lbad_from = bad_start;
			sp->lbad_to = bad_end;
			if (bad_end % MS_DISK_BLOCK != 0 && bad_end == sp->rd_off + want) {
				/*
				 * The read stopped inside the block (at bytes the scan
				 * skipped, or the window's end): the rest of it does
				 * not read either – not tried again after them. Its
				 * bytes outside known runs are counted now.
				 */
				uint64_t end = bad_end + MS_DISK_BLOCK - bad_end % MS_DISK_BLOCK;

				if (end > s->bytes)
					end = s->bytes;
				for (uint64_t at = bad_end; at < end;) {
					const struct spool_range *k = seg_lost_next(s, at);
					uint64_t stop = k != NULL && k->from < end ? k->from : end;

					if (k != NULL && k->from <= at) {
						at = k->to;
						continue;
					}
					sp->st.corrupt_bytes += stop - at;
					at = stop;
				}
				if (end > bad_end)
					sp->lbad_to = end;
			}
			if (bad_start <= sp->rd_off)
				continue;
			n = (ssize_t)(bad_start - sp->rd_off);
			limited = true;
			at_known = false;
		}
		/*
		 * Short without a block it could not read: the file ends there,
		 * also where the read stopped short of skipped bytes (known or
		 * lbad) – taken for a limit, it would be read again and again.
		 */
		if (unreadable == 0 && n >= 0 && (size_t)n < want && sp->rd_seg + 1 < sp->nsegs) {
			/* An older segment shorter than scanned (cut by someone else): its end is here. */
			sp->total -= s->bytes - (sp->rd_off + (uint64_t)n);
			s->bytes = sp->rd_off + (uint64_t)n;
			sp->load_gap = true;	/* records went with it */
			limited = false;
			at_known = false;
			if (n == 0)
				continue;
		} else if (!limited && n >= 0 && (size_t)n < want) {
			n = 0;	/* the one written to: left as it is, logged */
		}
		errno = e;
		if (n <= 0) {
			ms_err("event=spool_read_error segment=%016" PRIx64 " offset=%" PRIu64
			    " reason=\"%s\"", s->first_seq, sp->rd_off, n < 0 ? strerror(errno) : "short file");
			break;
		}
		eof = !limited && sp->rd_off + (uint64_t)n >= s->bytes;
		while (pos < (size_t)n) {
			struct spool_rec r;
			ssize_t rc = rec_parse(seg_key(sp, sp->rd_seg), sp->rbuf + pos, (size_t)n - pos, &r);

			if (rc == 0 && !eof)
				break;
			if (rc <= 0) {
				size_t next = resync(seg_key(sp, sp->rd_seg), sp->rbuf, pos + 1, (size_t)n, !eof);

				/* Gone bad since the scan (which knows its own holes, and counted them). */
				if (!s->damaged) {
					if (!sp->load_gap)
						ms_warn("event=spool_corrupt segment=%016" PRIx64 " offset=%" PRIu64
						    " note=\"records gone bad since the start: skipped\"",
						    s->first_seq, sp->rd_off + pos);
					sp->st.corrupt_bytes += next - pos;
					sp->load_gap = true;
				}
				pos = next;
				continue;
			}
			if (sp->load_gap) {
				load_gap_open(sp, r.seq);
				sp->load_gap = false;
			}
			lfile_note(sp, &r, true);
			if (r.seq > sp->load_seq)
				sp->load_seq = r.seq;
			if (r.seq > sp->acked) {
				if (fn(&r, arg) != 0) {
					sp->rd_off += pos;
					return taken;
				}
				taken++;
				if (sp->st.backlog)
					sp->st.backlog--;
			}
			pos += (size_t)rc;
		}
		if (limited && pos == 0 && at_known) {
			/*
			 * No whole record before bytes the scan skipped, where the
			 * scan had one: gone bad since (nothing else writes there).
			 */
			ms_warn("event=spool_corrupt segment=%016" PRIx64 " offset=%" PRIu64
			    " note=\"records gone bad since the start: skipped\"", s->first_seq, sp->rd_off);
			sp->st.corrupt_bytes += known->from - sp->rd_off;
			sp->rd_off = known->from;
			if (!s->damaged)
				sp->load_gap = true;
			continue;
		}
		if (limited && pos == 0) {
			/* The record here runs into the blocks it could not read: lost with them. */
			sp->rd_off = sp->lbad_to;
			sp->lbad = false;
			if (!s->damaged)
				sp->load_gap = true;
			continue;
		}
		sp->rd_off += pos;
	}
	return taken;
}

bool
spool_ack(struct spool *sp, uint64_t acked)
{
	if (acked > sp->acked)
		sp->acked = acked;
	if (sp->sync_suspect != 0 && sp->acked >= sp->sync_suspect)
		sp->sync_suspect = 0;	/* the collector has them: no longer needed here */
	return spool_trim(sp);
}

bool
spool_covered(struct spool *sp, uint64_t covered)
{
	if (covered > sp->covered)
		sp->covered = covered;
	return spool_trim(sp);
}

/* Moves file (dev, ino)'s holes whose fingerprint matches head to holes[0..max), in order. */
static size_t
holes_take(struct spool *sp, uint64_t dev, uint64_t ino, const char *head, size_t headlen,
    struct spool_hole *holes, size_t max, bool *over)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sp->nholes; i++) {
		struct spool_file_hole *h = &sp->holes[i];

		if (h->dev == dev && h->ino == ino && headlen >= h->fp_len &&
		    tail_fingerprint(head, h->fp_len) == h->fp) {
			if (n < max)
				holes[n++] = h->h;
			else
				*over = true;
			continue;
		}
		sp->holes[k++] = *h;
	}
	sp->nholes = k;
	return n;
}

uint64_t
spool_take_file_end(struct spool *sp, uint64_t dev, uint64_t ino, const char *head,
    size_t headlen, bool *distrusted, struct spool_hole *holes, size_t *nholes)
{
	size_t max = holes != NULL && nholes != NULL ? *nholes : 0;

	if (distrusted != NULL)
		*distrusted = false;
	if (nholes != NULL)
		*nholes = 0;
	for (size_t i = 0; i < sp->nends; i++) {
		struct spool_end *e = &sp->ends[i];
		if (e->dev == dev && e->ino == ino && headlen >= e->fp_len &&
		    tail_fingerprint(head, e->fp_len) == e->fp) {
			struct spool_hole tmp[SPOOL_MAX_FILE_HOLES + 1];
			uint64_t end = e->end;
			bool over = e->after_gap;
			size_t n = holes_take(sp, dev, ino, head, headlen, tmp,
			    max < SPOOL_MAX_FILE_HOLES ? max : SPOOL_MAX_FILE_HOLES, &over);

			if (e->hole_open) {
				if (n < max)
					tmp[n++] = (struct spool_hole){ e->hole_from, SPOOL_HOLE_OPEN, false, 0 };
				else
					over = true;
			}
			sp->ends[i] = sp->ends[--sp->nends];
			if (over) {
				ms_warn("event=spool_end_distrusted dev=%llu inode=%llu end=%llu "
				    "note=\"corrupt spool records before it: reading on from the saved "
				    "position, or from the start (some lines twice)\"",
				    (unsigned long long)dev, (unsigned long long)ino,
				    (unsigned long long)end);
				if (distrusted != NULL)
					*distrusted = true;
				return 0;
			}
			if (n > 0)
				memcpy(holes, tmp, n * sizeof(*tmp));
			if (nholes != NULL)
				*nholes = n;
			return end;
		}
	}
	return 0;
}

size_t
spool_take_holes(struct spool *sp, struct spool_file_hole *out, size_t max)
{
	size_t n = sp->nrholes < max ? sp->nrholes : max;

	if (n == 0)
		return 0;
	memcpy(out, sp->rholes, n * sizeof(*out));
	memmove(sp->rholes, sp->rholes + n, (sp->nrholes - n) * sizeof(*out));
	sp->nrholes -= n;
	return n;
}

uint64_t
spool_sync_suspect(const struct spool *sp)
{
	return sp->sync_suspect;
}

void
spool_set_sync_suspect(struct spool *sp, uint64_t seq)
{
	if (seq > sp->acked && seq > sp->sync_suspect)
		sp->sync_suspect = seq;
}

uint64_t
spool_max_seq(const struct spool *sp)
{
	/*
	 * legacy_last too: no new record is named as a legacy one
	 * (spool_append); nor as a sealed one, whose records may have no
	 * number read (seg_roll would empty its file).
	 */
	uint64_t m = sp->has_legacy && sp->legacy_last > sp->max_seq ? sp->legacy_last : sp->max_seq;

	return sp->sealed_name > m ? sp->sealed_name : m;
}

void
spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
	st->bytes = sp->total;
	st->segments = (uint32_t)sp->nsegs;
}
