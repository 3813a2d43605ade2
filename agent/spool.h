/*
 * spool – the agent's durable queue on disk.
 *
 * Every line read is appended here before its file position may be saved;
 * a record is dropped only once the collector acknowledged its sequence
 * number (a whole segment file at a time). After a crash the spool is
 * scanned: records are checked (length, CRC), a torn or corrupt tail of
 * the last segment is cut off, corrupt bytes elsewhere are skipped and
 * counted (kept on disk), and every unacknowledged record is sent again.
 * Bytes the disk cannot read are never cut: at a segment's end (a sector
 * torn by a power cut) they are kept and the segment sealed – new records
 * go into a new one, it is deleted (not reused) once delivered – so that
 * a later start reads them if the disk can again; more than 256 KiB of
 * them in one segment stop the start (a failing disk).
 * The lines of records lost so, or lost when the backlog is read back,
 * are read again from their files (holes: spool_take_file_end,
 * spool_take_holes).
 *
 * Layout: <dir>/<first seq, 16 hex digits>.seg, records back to back:
 *
 *   off  size
 *     0     4  magic "MSR3" (earlier agents wrote "MSR2" and "MSR1")
 *     4     4  CRC of bytes 8 .. end of the line: CRC-32C ("MSR3", "MSR2";
 *              the CPU's instruction makes it about five times cheaper than
 *              zlib's CRC-32, which "MSR1" used and is still read)
 *     8     4  body length (bytes after this field)
 *    12     8  sequence number (this agent's local numbering)
 *    20     8  time read (ms since the epoch, signed)
 *    28     8  device  \
 *    36     8  inode    | the file the line came from and the offset just
 *    44     8  end      | past the line: where reading resumes after a crash
 *    52     8  fingerprint of the file's head, 60 4 its length (tail.c)
 *    64     2  source path length, 66 2 flags: SPOOL_REC_RECOVERED or 0
 *    68     4  line length
 *    72        source path, then the line
 *   end-8   8  tag: SipHash-2-4 of bytes 0 .. 72 under the spool's key
 *              ("MSR3" only)
 *
 * Integers are little-endian. The spool is the only writer of its folder.
 *
 * The tag is why a log line is never taken for a record. A line is only
 * bytes inside its record until that record's header is lost (a power
 * cut, a bad block); the scan then looks for the next record byte by byte
 * and would find one forged inside the line, with its author's sequence
 * number and file position. Without the key (<dir>/key: 16 random bytes,
 * mode 0600 in a 0700 folder, made with the folder and never sent) no one
 * can write a record whose tag checks.
 *
 * Legacy segments: those in the folder when its key was made (an earlier
 * agent's, or a lost, damaged or unreadable key's) are named up to the
 * key file's legacy_last. Their records, of any version, are checked by
 * their CRC alone; no new record goes into one, and they are deleted, not
 * reused, once delivered; new records are numbered above them
 * (spool_max_seq). Nothing is appended before the key is on disk (a full
 * disk: appends fail and are retried, as after a write error).
 *
 * A segment file may be a reused one (<dir>/spare, a delivered segment,
 * renamed): past its new records it still holds old ones, whose sequence
 * numbers are all below the segment's first. A scan stops at the first
 * record older than its segment and cuts the file there.
 *
 * Memory: the agent keeps a window of the oldest unacknowledged records in
 * its queue (queue.c); records that did not fit are "backlog" and are read
 * back from disk (spool_load) as acknowledgements make room.
 */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_REC_HDR 72
#define SPOOL_REC_TAG 8
#define SPOOL_KEY_LEN 16

struct spool;

/*
 * A record's flag: a line read again from its file because the record
 * that held it was lost (spool_take_file_end). Its end is not where
 * reading of the file got to; a scan that finds it knows the line is in
 * the spool again. ("MSR3" only: earlier agents read such a record as
 * corrupt.)
 */
#define SPOOL_REC_RECOVERED 1

/* One record; every pointer is borrowed for the call only. */
struct spool_rec {
	uint64_t seq;
	int64_t time_ms;
	uint64_t dev, ino, end_off;
	uint64_t fp;
	uint32_t fp_len;
	uint16_t flags;		/* SPOOL_REC_RECOVERED or 0 */
	/*
	 * Where the line begins in its file (spool_append only, not written):
	 * a file first seen while a backlog waits, whose first records are
	 * then lost, is read again from there. 0 when not known.
	 */
	uint64_t start_off;
	const char *src;
	size_t src_len;
	const char *line;
	size_t line_len;
};

struct spool_opts {
	uint64_t max_bytes;	/* all segments together; appending stops there */
	uint64_t segment_bytes;	/* a new segment starts past this size */
	bool sync;		/* fdatasync in spool_sync (else page cache only) */
};

struct spool_stats {
	uint64_t bytes;		/* on disk, all segments */
	uint32_t segments;
	uint64_t backlog;	/* unacknowledged records on disk only, not in memory */
	uint64_t recovered;	/* unacknowledged records found at open */
	uint64_t corrupt_bytes;	/* skipped or cut off as corrupt (open and reads) */
	uint64_t write_errors;
	uint64_t syncs;
	uint64_t reused;	/* segments written into an acknowledged segment's file */
};

/*
 * Opens (creating) the spool folder dir and scans it. Records with a
 * sequence number <= acked are known to be acknowledged and are not loaded.
 * NULL with err filled on failure.
 */
struct spool *spool_open(const char *dir, const struct spool_opts *o, uint64_t acked,
    char *err, size_t errsz);
void spool_free(struct spool *sp);

/*
 * Appends r. in_memory says whether the caller also keeps it in its queue;
 * the first record that is not starts the backlog. 0, 1 when the spool is
 * full (nothing written), -1 on a write error (nothing accepted; counted,
 * logged once per run of errors).
 */
int spool_append(struct spool *sp, const struct spool_rec *r, bool in_memory);
/* Whether records exist that are on disk only (the queue must load them first). */
bool spool_backlog(const struct spool *sp);

/*
 * Writes buffered records to the segment (write(2), page cache): called
 * before anything appended is sent. 0 or -1.
 */
int spool_flush(struct spool *sp);
/*
 * spool_flush, then fdatasync (and the folder's fsync) when the spool
 * syncs. 0 when all appended so far is durable as far as this sync can
 * tell: records in doubt after an earlier failure stay so (spool_sync_suspect).
 */
int spool_sync(struct spool *sp);

/*
 * After a failed fdatasync the kernel may have dropped the pages it could
 * not write and report the next sync a success. The highest number
 * appended when a sync failed, until the collector has acknowledged it
 * (spool_ack): up to it, records may not be on disk whatever later syncs
 * say, and no read position may move past them. 0: none.
 */
uint64_t spool_sync_suspect(const struct spool *sp);
/* The doubt of a run before this one (saved in the state file), unless acknowledged since. */
void spool_set_sync_suspect(struct spool *sp, uint64_t seq);

/*
 * Calls fn for each backlog record in order until fn returns non-zero (the
 * queue is full; that record stays backlog). Returns how many were taken.
 */
typedef int (*spool_load_fn)(const struct spool_rec *r, void *arg);
size_t spool_load(struct spool *sp, spool_load_fn fn, void *arg);

/*
 * Acknowledged up to seq (acked) and file positions saved on disk up to
 * seq (covered): segments whose records are all both are deleted. Returns
 * true when that freed room.
 */
bool spool_ack(struct spool *sp, uint64_t acked);
bool spool_covered(struct spool *sp, uint64_t covered);

/*
 * Lines of a file whose records the spool lost (a bad block, bytes that
 * do not check) while later records of the same file are there: the lines
 * after offset from, up to the line that ends at to (exclusive: that one
 * is in the spool). to_head: that record holds MS_PROTO_MAX_LINE bytes,
 * the head of an over-long line, whose end may be the line's start (tail
 * ships a line longer than its buffer so): then a shorter line ending at
 * to is not it, and is one of the lost ones; a longer one is when the line
 * that begins at to begins with that head (to_fp: the fingerprint of its
 * first SPOOL_HOLE_FP_BYTES bytes). to == SPOOL_HOLE_OPEN: no
 * later record of the file is there; every line after from may have been
 * in the lost bytes. A file with more holes than SPOOL_MAX_FILE_HOLES has
 * its last ones merged (lines between them read twice).
 */
#define SPOOL_HOLE_OPEN UINT64_MAX
#define SPOOL_MAX_FILE_HOLES 4
#define SPOOL_HOLE_FP_BYTES 64
struct spool_hole {
	uint64_t from, to;
	bool to_head;
	uint64_t to_fp;
};

/* A hole with the file it is in (its fingerprint: of its first fp_len bytes). */
struct spool_file_hole {
	uint64_t dev, ino, fp;
	uint32_t fp_len;
	struct spool_hole h;
	bool frozen;		/* the spool's own (hole_fill) */
	/*
	 * An open hole of the backlog's read-back (spool_take_holes): the
	 * number of the file's last record the loader met before the lost
	 * bytes, and the last number appended when it caught up. A record of
	 * the file numbered after seen_seq, up to last_seq, was among the lost
	 * ones. 0 for other holes.
	 */
	uint64_t seen_seq, last_seq;
};

/*
 * Where the spool (as found at open) says reading of file (dev, ino) got
 * to: the end offset of its last record, when that record's fingerprint
 * matches head[0..headlen); else 0. Answers once per file: a later file
 * on a reused inode is not taken for it. 0 as well, with *distrusted set
 * (may be NULL), for a file the spool knew only after corrupt bytes it
 * skipped: lines of it may have been in them, the caller reads it from
 * its saved position, or whole.
 *
 * holes[0..*nholes) (holes may be NULL; room for SPOOL_MAX_FILE_HOLES +
 * 1): the file's lines lost from the spool (struct spool_hole), in file
 * order, an open one last; the caller reads them again and appends them
 * flagged SPOOL_REC_RECOVERED. Lines already appended so by an earlier
 * run are left out. Without room for them the file is distrusted instead
 * (above).
 */
uint64_t spool_take_file_end(struct spool *sp, uint64_t dev, uint64_t ino, const char *head,
    size_t headlen, bool *distrusted, struct spool_hole *holes, size_t *nholes);

/*
 * Holes spool_load found while reading the backlog back (a block gone bad
 * since the scan, skipped): moves up to max of them, oldest first, to
 * out; returns how many. A hole with to == SPOOL_HOLE_OPEN here: the file
 * had no record after the lost bytes up to the end of the backlog, so
 * every line of it after from that was read by then may have been in them.
 */
size_t spool_take_holes(struct spool *sp, struct spool_file_hole *out, size_t max);
/*
 * The number new records must be above: the highest in the spool, or the
 * last legacy segment's name if higher (0 when empty). Segments left
 * empty by the scan are deleted at open.
 */
uint64_t spool_max_seq(const struct spool *sp);
void spool_get_stats(const struct spool *sp, struct spool_stats *st);

/* The CRC of a record with magic "MSR2" (spool_crc) or "MSR1" (spool_crc_v1); for tests. */
uint32_t spool_crc(const void *p, size_t n);
uint32_t spool_crc_v1(const void *p, size_t n);

#endif
