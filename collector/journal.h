/*
 * journal – the collector's spool on disk: sink operations that Redis has
 * not confirmed, kept in order while Redis is away or behind (sink_redis.c).
 *
 * One file, <dir>/sink.journal, records back to back (ms_rec framing,
 * magic "MSJ1"; integers little-endian):
 *
 *   off size
 *     0   12  magic, CRC-32 of bytes 8 .. end, body length (ms_rec.h)
 *    12    1  kind (the sink's operation kind)
 *    13    1  flags (0)
 *    14    2  agent id length (0: none)
 *    16    8  sequence number the operation checkpoints (0: none)
 *    24    4  alerts inside
 *    28    4  number of commands k
 *    32  4*k  length of each command
 *    ...      agent id, then the commands (RESP, as sent to Redis)
 *
 * Appends are write(2)s of whole records; journal_sync makes them durable
 * (fdatasync). At open the file is scanned: a torn or corrupt tail (a crash
 * mid-write, a bad sector) is cut off and counted. The journal is emptied
 * as a whole once every record in it is confirmed (journal_reset), so
 * there is no compaction.
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
	uint64_t corrupt_bytes;	/* cut off at open */
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
/* fdatasync; 0 or -1. Records appended before it are durable once it returns 0. */
int journal_sync(struct journal *j);
/*
 * Reads the record at offset off into r (pointers valid until the next read)
 * and sets *next to the offset after it. 1, 0 at the end, -1 on a read error
 * or a record that does not check (logged).
 */
int journal_read(struct journal *j, uint64_t off, struct journal_rec *r, uint64_t *next);
/* Empties the file (and syncs that). 0 or -1. */
int journal_reset(struct journal *j);
uint64_t journal_size(const struct journal *j);
const struct journal_stats *journal_stats(const struct journal *j);
const char *journal_path(const struct journal *j);

#endif
