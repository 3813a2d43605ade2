/*
 * archive – every event the collector handles, kept per information system
 * per day: the evidence for log retention and what `minisocctl search`
 * reads.
 *
 * Layout (docs/archive.md):
 *   <dir>/<system>/<YYYY-MM-DD>.<n>.zst
 * one file per system, day (UTC) and collector run
 * (n = 0, 1, ... the first number free when the day's file is opened), so
 * a file is only ever appended to by the process that created it. The
 * content is a sequence of zstd frames – `zstdcat` reads it – of text
 * records, one per event:
 *   <time ms>\t<agent id>\t<seq>\t<source>\t<line>\n
 * where '\\', '\n' and (in the source) '\t' are escaped as \\ \n \t, so a
 * record is always one line whatever the agent sent.
 *
 * Durability: archive_flush() compresses what was added and write()s it
 * (the collector calls it before a batch's checkpoint is queued, so a
 * collector crash loses nothing the agent was told is handled); every
 * archive_sync() ends the open frames and fdatasync()s. A machine crash
 * may lose the last sync interval and leave a torn frame at a file's end;
 * readers stop there and report it. A damaged frame (a bad block) loses
 * its own records: readers go on at the next frame.
 *
 * Not thread-safe: one archive per event loop.
 */
#ifndef ARCHIVE_H
#define ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_util.h"

/* Longest system id (a path component: [A-Za-z0-9._-], not starting with '.'). */
#define ARCHIVE_SYSTEM_MAX 64

struct archive_stats {
	uint64_t events;		/* records added */
	uint64_t bytes_in;		/* record bytes before compression */
	uint64_t bytes_out;		/* compressed bytes written */
	uint64_t write_errors;		/* failed write/fdatasync/open calls */
	uint64_t dropped;		/* records lost: the backlog passed its cap, or a file closed unwritten */
	uint64_t files_opened;
	uint64_t files_expired;		/* day files deleted by archive_expire */
	uint64_t bad_system;		/* ids that are no safe name: put under "unassigned" */
};

struct archive;

/*
 * dir is created when missing (0750). level: zstd level (1 is fast, < 0
 * faster still). backlog_max: compressed bytes held while writes fail
 * (disk full) before records are dropped and counted. NULL with a message
 * in err on failure.
 */
struct archive *archive_new(const char *dir, int level, size_t backlog_max, char *err,
    size_t errsz);
/* Ends every frame, syncs and closes the files. NULL is a no-op. */
void archive_free(struct archive *a);

/*
 * Adds one event. system: the information system id (NULL or unsafe:
 * "unassigned"); time_ms: when the agent read the line (a time more than a
 * day away from the collector's clock is replaced by the clock's, so a
 * wrong agent clock cannot scatter files over the years). 0, or -1 when
 * the record was dropped (counted).
 */
int archive_add(struct archive *a, const char *system, int64_t time_ms, const char *agent,
    uint64_t seq, struct ms_str source, struct ms_str line);
/* Compresses and writes what was added. 0, or -1 when a write failed (kept, retried). */
int archive_flush(struct archive *a);
/*
 * Ends open frames, writes and fdatasync()s; closes files of past days.
 * Call every archive.sync_ms. 0 or -1 as archive_flush.
 */
int archive_sync(struct archive *a);
/*
 * Deletes day files older than keep_days(system) days before today (UTC)
 * in every system folder; keep_days returning <= 0 keeps everything.
 * Returns the number of files deleted.
 */
int archive_expire(struct archive *a, int64_t now_ms, int (*keep_days)(const char *system,
    void *arg), void *arg);
const struct archive_stats *archive_get_stats(const struct archive *a);

/* --- reading (minisocctl search, tests) --- */

struct archive_record {
	int64_t time_ms;
	uint64_t seq;
	struct ms_str agent;
	struct ms_str source;	/* unescaped */
	struct ms_str line;	/* unescaped */
};

/* Called for each record; return non-zero to stop reading. */
typedef int (*archive_record_fn)(const struct archive_record *r, void *arg);

/*
 * Reads one archive file, calling fn for every record in order. Returns 0
 * when the whole file was read, 1 when it ends in an unfinished frame or
 * record (records before it were delivered; a file still being written,
 * or the end a machine crash leaves), 3 when damaged frames were skipped
 * (the records of every other frame delivered), 2 when fn stopped, -1 on
 * an open/read error (err says).
 * *bad counts malformed records skipped (may be NULL).
 */
int archive_read_file(const char *path, archive_record_fn fn, void *arg, uint64_t *bad,
    char *err, size_t errsz);

/* (A file's day: ms_archive_day in ms_compliance.h, shared with the report.) */
/* True when s is usable as a system folder name. */
bool archive_system_ok(const char *s);

#endif
