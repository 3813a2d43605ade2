/*
 * journal – the collector's spool on disk: sink operations that Redis has
 * not confirmed, kept in order while Redis is away or behind (sink_redis.c).
 *
 * One file, <dir>/sink.journal, in 4 KiB blocks (integers little-endian):
 *
 *   file    "MSJ2", four zero bytes and the file's generation (8 bytes,
 *           random, new each time the file is written from its start),
 *           then records in fragments
 *   block   fragments back to back; a fragment never crosses a block's
 *           end, and where fewer than 17 bytes are left the rest of the
 *           block is zeros: every block starts with a fragment header
 *   fragment  off size
 *               0    4  CRC-32C of bytes 4 .. end of fragment
 *               4    2  payload length n (1 .. 4080)
 *               6    1  type: 1 whole record, 2 first, 3 middle, 4 last part
 *               7    1  0
 *               8    8  the file's generation (a block left from before the
 *                       file was emptied is not this file's)
 *              16    n  payload: a part of the record
 *   record  off size
 *             0    1  kind (the sink's operation kind; 255: a sync mark)
 *             1    1  flags (0)
 *             2    2  agent id length (0: none)
 *             4    8  sequence number the operation checkpoints (0: none)
 *            12    4  alerts inside
 *            16    4  number of commands k
 *            20    8  bytes of the file known to be on disk when it was
 *                     written (the size at the last completed sync; never
 *                     more than the record's own offset)
 *            28  4*k  length of each command
 *           ...       agent id, then the commands (RESP, as sent to Redis)
 *
 * Appends are write(2)s of whole records (with their fragments' headers
 * and padding); journal_sync makes them durable (fdatasync) and appends a
 * sync mark, a record without commands that only says how much is synced
 * (journal_read never returns one). A record lost to damage (a bad
 * sector, bits gone wrong) costs the block it is in and no more: reading
 * goes on at the next block, whose first fragment header is the
 * writer's own – never a guess among bytes an agent's log line could
 * have forged – and after fragments of a record that began before the
 * damage. Whether bytes that do not check are damage to what was on disk
 * or the torn end of what was never synced (a crash: these must be cut,
 * since records after a torn gap may have been written before records
 * inside it, and agents send again what was not acknowledged) is told by
 * the records after them: one that says the bytes were synced before it
 * was written proves damage. At open, a torn or unproven tail is cut and
 * counted; damage is skipped and counted, there and when read back.
 * Bytes the disk cannot read (EIO) are read again a moment later; where
 * they would be cut the start stops instead (a failing disk or path: a
 * later start may read them); while running, the read waits for them
 * (journal_read fails with EIO) for 30 s before skipping them. A file
 * whose header and first fragment both fail is cut to nothing, as it was
 * before this format: its format is not known, and an older file's
 * block starts could hold anything; a header whose generation alone is
 * damaged is read with the one its block starts carry. After a failed
 * sync every later journal_sync fails too (the kernel may have dropped
 * what it could not write and report the next sync a success) until the
 * file is emptied: nothing more is acknowledged from it.
 *
 * An older collector's file ("MSJ1" records, each its own CRC-32 and no
 * blocks) is read and appended to in that format until it is emptied.
 * The journal is emptied as a whole once every record in it is confirmed
 * (journal_reset), so there is no compaction.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAX_CMDS 64
#define JOURNAL_MAX_RECORD (64u << 20)

/* One record; pointers are borrowed (append) or point into the journal's scratch (read). */
struct journal_rec {
	uint8_t kind;
	uint64_t seq;
	uint32_t nalerts;
	const char *agent;
	size_t agent_len;
	uint32_t ncmds;
	const char *cmd[JOURNAL_MAX_CMDS];
	size_t cmdlen[JOURNAL_MAX_CMDS];
};

struct journal_stats {
	uint64_t bytes;		/* file size now */
	uint64_t records;	/* appended since start */
	uint64_t recovered;	/* records found at open */
	uint64_t corrupt_bytes;	/* cut off at open (a torn or unproven tail) */
	uint64_t damaged_bytes;	/* skipped: damage between good records (records in it are lost) */
	uint64_t damaged;	/* such places skipped */
	uint64_t unreadable_bytes; /* read as zeros after the disk failed them (MS_DISK_TRIES) */
	uint64_t write_errors;	/* appends refused by the disk (nothing kept of them) */
	uint64_t full;		/* appends refused by max_bytes */
	uint64_t syncs;
};

struct journal;

/*
 * Opens (creating dir and the file) and scans the journal; a bad tail is
 * cut. NULL with err filled on failure. max_bytes caps the file.
 */
struct journal *journal_open(const char *dir, uint64_t max_bytes, char *err, size_t errsz);
void journal_free(struct journal *j);
/* Appends r; 0, or -1 when full or the write failed (then nothing of it stays). */
int journal_append(struct journal *j, const struct journal_rec *r);
/*
 * fdatasync, then a sync mark; 0 or -1. Records appended before it are
 * durable once it returns 0. After a failure, -1 until journal_reset.
 */
int journal_sync(struct journal *j);
/*
 * Reads the record at offset off (0, or a *next this returned) into r
 * (pointers valid until the next read or append) and sets *next to the
 * offset after it. 1; 2 when the record there is damaged: it is skipped
 * (counted, logged) and *next is where the next good record starts; 0 at
 * the end (*next is then the file's size: only the writer's sync marks,
 * never returned, may lie between); -1 on a read error (logged), or on
 * bytes the disk cannot read now (EIO: try again later; after 30 s of
 * that they are skipped as damage).
 */
int journal_read(struct journal *j, uint64_t off, struct journal_rec *r, uint64_t *next);
/* Empties the file (and syncs that: a failed sync is logged, the file is empty). 0 or -1. */
int journal_reset(struct journal *j);
uint64_t journal_size(const struct journal *j);
const struct journal_stats *journal_stats(const struct journal *j);
const char *journal_path(const struct journal *j);

#endif
