/*
 * tail – follows files line by line.
 *
 * Reading uses pread at the offset of the first byte not yet taken, so a
 * line is taken only when it is complete and the spool accepted it; nothing
 * is consumed that is not in the spool. inotify wakes us on writes; a poll timer
 * checks for rotation (a new inode at the path: the old file is read to
 * its end first), truncation (copytruncate: smaller, or a different head),
 * files that appear later, and expands glob patterns again.
 *
 * A file is known by device, inode and a fingerprint (hash) of its first
 * bytes, so a reused inode is not taken for the file read before.
 *
 * The position saved for a file (tail_save) is where its lines are durable
 * in the spool (tail_durable, after spool_sync), never further. A glob's
 * file gone and read to its end is let go once that is so.
 */
#define _GNU_SOURCE		/* O_NOATIME */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_proto.h"
#include "ms_util.h"
#include "spool.h"

#define TAIL_BUF (256 * 1024)
/*
 * A read of a followed file that fails (EIO: a bad block under the log) is
 * tried again at every check for this long – a passing fault loses
 * nothing – then the TAIL_BAD_BLOCK bytes around it are skipped.
 */
#define TAIL_READ_ERROR_MS 3000
#define TAIL_BAD_BLOCK 4096
/* Symbolic links followed in a row at most (tail_open_ro). */
#define TAIL_LINK_MAX 8
/* tail_file.open_errno of a path that is no regular file (a FIFO, a device). */
#define TAIL_NOT_REGULAR (-1)
/* A rotated file's unfinished last line is shipped after this long (at most). */
#define TAIL_PARTIAL_GRACE_MS 2000
/* Entries scanned when looking for a rotated file by inode. */
#define TAIL_DIR_SCAN_MAX 10000
/* Files finished (rotated or removed) remembered, in case they show up under another name. */
#define TAIL_FINISHED_MAX 64
/*
 * Steady stream: while every tick brings lines, the notices (and the
 * rotation and truncation checks they lead to) are read this often only.
 */
#define TAIL_HOT_CHECK_US 100000
/* While a file is read less far than this, every tick reads the notices. */
#define TAIL_HOT_SMALL (64 * 1024)

/*
 * Lines to read again: those after from that end before to, and (incl)
 * the one that ends at to; without incl, the line ending at to is the
 * spool's own.
 */
struct tail_hole {
	uint64_t from, to;
	bool incl;
	bool to_head;		/* struct spool_hole */
	uint64_t to_fp;
};

struct tail_file {
	char *path;		/* owned */
	size_t path_len;	/* strlen(path): the source of every line */
	bool from_glob;		/* dropped once gone and finished */
	/*
	 * A rotated or removed file still being read: its writer may append
	 * until it reopens its log (logrotate's create + postrotate reload).
	 * Read until it has not grown for agent.rotate_wait_ms, then dropped.
	 * The path is the followed one (the lines' source); its position is
	 * saved after the followed files' while it is open (tail_save), and
	 * read on at restart (tail_restore_drains).
	 */
	bool draining;
	bool busy;		/* its file is read by another entry: retried (tail_check_all) */
	int64_t grew_ms;	/* draining: when it last grew (monotonic) */
	uint64_t grew_size;
	bool from_beginning;
	/*
	 * Why the path could not be opened when it was last tried (an errno,
	 * TAIL_NOT_REGULAR), 0 once open: said once per reason, not at
	 * every poll (tail_open_failed).
	 */
	int open_errno;
	int fd;
	int wd;			/* inotify watch, -1 when none */
	uint64_t dev, ino;
	uint64_t fp;		/* fingerprint of the first fp_len bytes */
	uint32_t fp_len;
	/*
	 * Those bytes themselves: the check at every read compares them
	 * (memcmp) instead of hashing a KiB byte by byte. Set with fp.
	 */
	char fp_bytes[AGENT_FP_BYTES];
	uint32_t gen;		/* a new one each time a new file is opened at path */
	uint64_t offset;	/* next byte to read */
	uint64_t spooled;	/* every line before this is in the spool ... */
	uint64_t acked;		/* ... and before this durably so: the position saved */
	size_t pending;		/* lines of this generation spooled but not yet durable */
	bool skipping;		/* inside an over-long line: drop to the next newline */
	bool nul_said;		/* NUL bytes skipped and said since the last line taken */
	bool read_failing;	/* a read at read_err_off failed (said), since read_err_ms */
	uint64_t read_err_off;
	int64_t read_err_ms;
	uint64_t skip_seq;	/* while skipping: the number of that line's head */
	bool modified;		/* inotify reported a write since the last check */
	bool unterminated;	/* the last read stopped at a line without newline */
	uint64_t partial_size;	/* file size when that line was last seen growing ... */
	int64_t partial_ms;	/* ... and when */
	int64_t rotated_ms;	/* when the path was seen pointing elsewhere, 0 if not */
	/*
	 * The previous generation (before a rotation or truncation) while some
	 * of its lines are not yet durable in the spool: its position is what
	 * must be saved, so that a crash now reads them again.
	 */
	uint64_t prev_dev, prev_ino, prev_acked, prev_spooled, prev_fp;
	uint32_t prev_fp_len;
	uint32_t prev_gen;
	size_t prev_pending;
	/*
	 * Lines of this file the spool lost (spool_take_file_end at start,
	 * tail_add_hole later), read again before any new line: holes[0]
	 * first, its from moving on as its lines are taken (hole_lines of them
	 * so far).
	 */
	struct tail_hole holes[SPOOL_MAX_FILE_HOLES];
	size_t nholes;
	uint64_t hole_lines;
};

/* A file read to its end and let go: if it shows up again, it is not new. */
struct tail_finished {
	uint64_t dev, ino, fp, end;
	uint32_t fp_len;
	bool used;
};

struct tail {
	struct agent *a;
	struct tail_file *files[AGENT_MAX_FILES];
	size_t n;		/* slots in use */
	uint32_t next_gen;
	struct tail_finished finished[TAIL_FINISHED_MAX];
	size_t finished_next;	/* ring position */
	bool limit_logged;	/* AGENT_MAX_FILES reached and said so */
	int ifd;
	struct event *inotify_ev;
	struct event *poll_ev;
	/*
	 * Read coalescing: under a steady stream, files are read at most every
	 * agent.read_batch_us; inotify is not listened to in between (the
	 * kernel merges the notices), so one wake-up reads many lines.
	 */
	struct event *batch_ev;
	int batch_fd;		/* its timerfd (-1: a libevent timer instead) */
	int64_t last_read_us;
	bool batching;		/* batch_ev armed, inotify_ev off */
	/*
	 * Steady stream (timerfd only): the timer repeats every read_batch_us
	 * and inotify_ev is out of the loop; the ticks read the notices
	 * themselves (see below). One wake-up per batch instead of two (the
	 * notice, then the timer); a tick that takes no line ends it. (A
	 * repeating timerfd must be read: the kernel starts its next period
	 * on read.)
	 */
	bool hot;
	/*
	 * In the steady stream, a tick that takes lines from a file skips the
	 * notices: they are read (and acted on) at the first tick that takes
	 * none, and at least every TAIL_HOT_CHECK_US. That is three system
	 * calls fewer per batch (the inotify read, and the fstat and head read
	 * of the content check). A rotated file stops growing, so a tick soon
	 * takes nothing and finds the notice; truncation leaves the read
	 * position past the end, same. While any file is small
	 * (TAIL_HOT_SMALL), every tick reads the notices as before, as a
	 * rewrite could pass a small file's read position within a tick.
	 */
	int64_t hot_check_us;	/* last tick that read the notices */
	bool hot_progress;	/* the last tick took lines */
	bool moved;		/* a move/delete notice not yet acted on */
	char *buf;
	bool stopped;
	bool dirty;		/* durable positions changed since the last save */
};

/* A position changed: it is saved by the next group commit, started if at rest. */
static void
tail_mark_dirty(struct tail *t)
{
	t->dirty = true;
	agent_commit_soon(t->a);
}

uint64_t
tail_fingerprint(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Whether head[0..headlen) starts with the fp_len bytes that hash to fp. */
static bool
tail_head_matches(uint64_t fp, uint32_t fp_len, const char *head, size_t headlen)
{
	return headlen >= fp_len && tail_fingerprint(head, fp_len) == fp;
}

bool
tail_same_file(const struct state_pos *pos, uint64_t dev, uint64_t ino, const char *head,
    size_t headlen)
{
	if (pos->dev != dev || pos->ino != ino)
		return false;
	if (!pos->has_fp)
		return true;	/* saved before fingerprints: device and inode are all we have */
	return tail_head_matches(pos->fp, pos->fp_len, head, headlen);
}

/* Sets f's fingerprint: its first n bytes, hashed and kept. */
static void
tail_fp_set(struct tail_file *f, const char *head, size_t n)
{
	f->fp = tail_fingerprint(head, n);
	f->fp_len = (uint32_t)n;
	memcpy(f->fp_bytes, head, n);
}

/* Whether head[0..headlen) starts with f's fingerprinted bytes. */
static bool
tail_file_head_matches(const struct tail_file *f, const char *head, size_t headlen)
{
	return headlen >= f->fp_len && memcmp(head, f->fp_bytes, f->fp_len) == 0;
}

/* Reads the first bytes of fd (up to AGENT_FP_BYTES) into head: how many, or -1. */
static ssize_t
tail_head(int fd, char *head)
{
	ssize_t n;

	do
		n = pread(fd, head, AGENT_FP_BYTES, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

static void
tail_watch(struct tail *t, struct tail_file *f)
{
	if (t->ifd < 0)
		return;
	if (f->wd >= 0)
		inotify_rm_watch(t->ifd, f->wd);
	f->wd = inotify_add_watch(t->ifd, f->path, IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF |
	    IN_ATTRIB);
}

/*
 * Opens a followed file for reading, with O_NOATIME where the kernel allows
 * it (the file's owner or CAP_FOWNER, else EPERM and a plain open). Under
 * relatime a log written all the time gets its access time updated at
 * nearly every read (the first read after each change), one dirty inode per
 * batch; and a log's access time is evidence an investigator may look at.
 * Never through a symbolic link (O_NOFOLLOW): tail_open_ro decides.
 */
static int
tail_open_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOATIME | O_NOFOLLOW);

	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	return fd;
}

/*
 * Opens path for reading (tail_open_file). A symbolic link is followed
 * only when root or the agent's own user made it (the administrator's,
 * Kubernetes' /var/log/containers): anyone who can create a file in a
 * followed folder (an application's user in /var/log/app/) could
 * otherwise plant app.log -> /etc/shadow, or the agent's TLS key, and
 * have the agent read it and ship it. Each link of a chain is checked, on
 * the link itself (an O_PATH descriptor: not swapped between the check
 * and the read of its target). -1 with errno ELOOP for a link refused
 * (or too many in a row).
 */
static int
tail_open_ro(const char *path)
{
	char target[4096], next[4096];

	ms_copy(next, sizeof(next), path, strlen(path));
	for (int hop = 0; hop <= TAIL_LINK_MAX; hop++) {
		struct stat st;
		const char *slash;
		ssize_t n;
		int fd = tail_open_file(next), lfd;

		if (fd >= 0 || errno != ELOOP)
			return fd;
		if ((lfd = open(next, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return -1;
		if (fstatat(lfd, "", &st, AT_EMPTY_PATH) != 0) {
			close(lfd);
			return -1;
		}
		if (!S_ISLNK(st.st_mode)) {
			close(lfd);
			continue;	/* a file again by now: opened at the next turn */
		}
		n = st.st_uid == 0 || st.st_uid == geteuid() ?
		    readlinkat(lfd, "", target, sizeof(target) - 1) : -1;
		close(lfd);
		if (n <= 0)
			break;
		target[n] = '\0';
		/* A relative target is relative to the link's folder. */
		slash = strrchr(next, '/');
		if (target[0] != '/' && slash != NULL) {
			char rel[4096];

			if ((size_t)snprintf(rel, sizeof(rel), "%.*s/%s", (int)(slash - next), next,
			    target) >= sizeof(rel)) {
				errno = ENAMETOOLONG;
				return -1;
			}
			ms_copy(next, sizeof(next), rel, strlen(rel));
		} else {
			ms_copy(next, sizeof(next), target, (size_t)n);
		}
	}
	errno = ELOOP;
	return -1;
}

/* Whether the file at path is pos's file (identity and head). */
static bool
tail_path_is(const char *path, const struct state_pos *pos)
{
	char head[AGENT_FP_BYTES];
	struct stat st;
	ssize_t hn;
	bool same;
	int fd = tail_open_ro(path);

	if (fd < 0)
		return false;
	hn = tail_head(fd, head);
	same = hn >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    tail_same_file(pos, (uint64_t)st.st_dev, (uint64_t)st.st_ino, head, (size_t)hn);
	close(fd);
	return same;
}

/*
 * Looks in path's folder for pos's file (same inode and head) – where a
 * file we were reading went when it was rotated while the agent was
 * stopped. Copies its path into out; 0, or -1 when it is not there.
 */
static int
tail_find_inode(const char *path, const struct state_pos *pos, char *out, size_t outsz)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	DIR *d;
	struct dirent *de;
	int n = 0, rc = -1;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return -1;
	ms_copy(dir, sizeof(dir), path, slash == path ? 1 : (size_t)(slash - path));
	if ((d = opendir(dir)) == NULL)
		return -1;
	while (rc < 0 && n++ < TAIL_DIR_SCAN_MAX && (de = readdir(d)) != NULL) {
		if ((uint64_t)de->d_ino != pos->ino || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(out, outsz, "%s/%s", slash == path ? "" : dir, de->d_name) >= outsz)
			continue;
		if (tail_path_is(out, pos))
			rc = 0;
	}
	closedir(d);
	return rc;
}

static void
tail_finished_add(struct tail *t, const struct tail_file *f)
{
	struct tail_finished *e = &t->finished[t->finished_next];

	t->finished_next = (t->finished_next + 1) % TAIL_FINISHED_MAX;
	e->used = true;
	e->dev = f->dev;
	e->ino = f->ino;
	e->fp = f->fp;
	e->fp_len = f->fp_len;
	e->end = f->offset;
}

/* Takes the finished file (dev, ino) with this head: 0 and its end in *end, or -1. */
static int
tail_finished_take(struct tail *t, uint64_t dev, uint64_t ino, const char *head, size_t headlen,
    uint64_t *end)
{
	for (size_t i = 0; i < TAIL_FINISHED_MAX; i++) {
		struct tail_finished *e = &t->finished[i];
		/* An empty head proves nothing, unless nothing was read either. */
		if (e->used && e->dev == dev && e->ino == ino && (e->fp_len > 0 || e->end == 0) &&
		    tail_head_matches(e->fp, e->fp_len, head, headlen)) {
			e->used = false;
			*end = e->end;
			return 0;
		}
	}
	return -1;
}

static void tail_close_file(struct tail *, struct tail_file *);
static bool tail_read_failed(struct tail *, struct tail_file *, uint64_t, int);

/* The entry reading (dev, ino) – another name of that file – or NULL. */
static struct tail_file *
tail_reader(const struct tail *t, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < AGENT_MAX_FILES; i++) {
		struct tail_file *f = t->files[i];
		if (f && f->fd >= 0 && f->dev == dev && f->ino == ino)
			return f;
	}
	return NULL;
}

static bool
tail_have_inode(const struct tail *t, uint64_t dev, uint64_t ino)
{
	return tail_reader(t, dev, ino) != NULL;
}

/* A position saved under any name for this file (inode and head), or NULL. */
static const struct state_pos *
tail_saved_elsewhere(const struct tail *t, uint64_t dev, uint64_t ino, const char *head,
    size_t headlen)
{
	const struct agent_state_file *st = t->a->state;

	for (size_t k = 0; k < state_count(st); k++) {
		const struct state_pos *p = state_get(st, k);
		/* With its head only: device and inode alone (an old state) could be a reused inode. */
		if (p->has_fp && p->dev == dev && p->ino == ino &&
		    tail_same_file(p, dev, ino, head, headlen))
			return p;
	}
	return NULL;
}

/*
 * f's path (or open_path, where its file went) could not be opened, for
 * why (an errno, TAIL_NOT_REGULAR): said when the reason changes, not at
 * every poll. A file missing after start is a rotation's usual moment
 * (said at start only); one the agent may not read (logrotate's create
 * with another owner or mode) or a link it does not follow is said, as
 * its lines are not shipped until that changes.
 */
static void
tail_open_failed(struct tail *t, struct tail_file *f, const char *open_path, int why,
    bool first_time)
{
	if (f->draining) {
		ms_warn("event=file_drain_gone path=%s rotated_to=%s reason=\"%s\"", f->path,
		    open_path, why == TAIL_NOT_REGULAR ? "not a regular file" : strerror(why));
		return;
	}
	if (why == f->open_errno)
		return;
	f->open_errno = why;
	if (why == ENOENT) {
		if (first_time)
			ms_warn("event=file_missing path=%s reason=\"%s\" note=\"followed when it "
			    "appears\"", f->path, strerror(why));
	} else if (why == ELOOP) {
		t->a->stats.files_refused++;
		ms_warn("event=file_refused path=%s reason=\"a symbolic link made by a user other "
		    "than root and the agent's (or more than %d in a row)\" note=\"not read: anyone "
		    "who can write to the folder could point it at a file they may not read\"",
		    open_path, TAIL_LINK_MAX);
	} else if (why == TAIL_NOT_REGULAR) {
		ms_warn("event=file_error path=%s reason=\"not a readable regular file\"", open_path);
	} else {
		ms_warn("event=file_unreadable path=%s reason=\"%s\" note=\"its lines are read "
		    "once it can be opened (agent.user needs read permission)\"", open_path,
		    strerror(why));
	}
}

/*
 * Opens open_path (f->path, or where pos's file went) for f, with pos the
 * position saved for it or NULL. Where reading starts:
 *  - the saved position, when the saved file is found (at path or rotated)
 *    with the same inode and head;
 *  - where we stopped, for a file finished earlier under another name;
 *  - 0 when the file at path is new to us (rotated, recreated, a reused
 *    inode, truncated while we were away, or appeared later);
 *  - the end, or 0 with start: beginning, for a file seen at start for the
 *    first time.
 * 0, or -1 when it cannot be opened.
 */
static int
tail_open_at(struct tail *t, struct tail_file *f, const char *open_path,
    const struct state_pos *pos, bool first_time)
{
	struct stat st;
	char head[AGENT_FP_BYTES];
	struct tail_file *other;
	const struct state_pos *saved;
	struct spool_hole holes[SPOOL_MAX_FILE_HOLES + 1];
	size_t nholes = 0;
	uint64_t end, spooled = 0;
	bool distrusted = false, took_over;
	ssize_t hn;
	int fd;

	fd = tail_open_ro(open_path);
	if (fd < 0) {
		tail_open_failed(t, f, open_path, errno, first_time);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (hn = tail_head(fd, head)) < 0) {
		tail_open_failed(t, f, open_path, TAIL_NOT_REGULAR, first_time);
		close(fd);
		return -1;
	}
	f->open_errno = 0;
	/*
	 * One reader per file. Numbered rotation under names all followed
	 * (a.log.1 → a.log.2, a.log → a.log.1) brings here a file another
	 * entry reads: a draining one is taken over where it is (below); one
	 * that still follows it has not seen its own rotation yet, which will
	 * make it a drain – tried again at the next check.
	 */
	if ((other = tail_reader(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) != NULL &&
	    (!other->draining || f->draining)) {
		ms_debug("event=file_busy path=%s inode=%llu", open_path, (unsigned long long)st.st_ino);
		f->busy = true;
		close(fd);
		return -1;
	}
	f->busy = false;
	f->fd = fd;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	tail_fp_set(f, head, (size_t)hn);
	f->gen = ++t->next_gen;
	f->pending = 0;
	f->skipping = false;
	f->unterminated = false;
	f->rotated_ms = 0;
	/*
	 * The spool may know this file from before a restart, further on than
	 * the saved position (saved once a second): its records are sent from
	 * the spool, so reading goes on after them.
	 */
	if (t->a->spool) {
		nholes = SPOOL_MAX_FILE_HOLES + 1;
		spooled = spool_take_file_end(t->a->spool, f->dev, f->ino, head, (size_t)hn,
		    &distrusted, holes, &nholes);
		/*
		 * Records in doubt after a failed sync (spool_sync_suspect) may
		 * not be on disk: the file is read on from its saved position,
		 * which stayed before them (some lines twice, none lost).
		 */
		if (spooled > 0 && spool_sync_suspect(t->a->spool) != 0) {
			spooled = 0;
			nholes = 0;
			distrusted = true;
		}
	}
	if (spooled > (uint64_t)st.st_size) {
		spooled = 0;
		nholes = 0;
	}
	if (other != NULL && !tail_file_head_matches(other, head, (size_t)hn)) {
		/* Rewritten since the drain read it: new to us, read whole by f alone. */
		tail_close_file(t, other);
		other = NULL;
	}
	took_over = other != NULL;
	f->nholes = 0;
	f->hole_lines = 0;
	if (other != NULL) {
		/* Its lines not yet durable stay its own; it is let go once they are. */
		ms_info("event=file_taken_over path=%s inode=%llu offset=%llu from=%s",
		    f->path, (unsigned long long)f->ino, (unsigned long long)other->offset,
		    other->path);
		f->offset = other->offset;
		f->skipping = other->skipping;
		f->unterminated = other->unterminated;
		f->partial_size = other->partial_size;
		f->partial_ms = other->partial_ms;
		memcpy(f->holes, other->holes, sizeof(f->holes));
		f->nholes = other->nholes;
		f->hole_lines = other->hole_lines;
	} else if (pos && tail_same_file(pos, f->dev, f->ino, head, (size_t)hn) &&
	    pos->offset <= (uint64_t)st.st_size) {
		/* Resume after the last line in the spool. */
		f->offset = pos->offset > spooled ? pos->offset : spooled;
	} else if (spooled > 0) {
		ms_info("event=file_resume_spool path=%s inode=%llu offset=%llu", f->path,
		    (unsigned long long)f->ino, (unsigned long long)spooled);
		f->offset = spooled;
	} else if (distrusted) {
		/* Read before, how far unknown (no saved position): all of it again, lose none. */
		ms_warn("event=file_reread path=%s inode=%llu note=\"the spool's end for it is "
		    "distrusted and no position was saved: read from the start\"", f->path,
		    (unsigned long long)f->ino);
		f->offset = 0;
	} else if (pos && pos->dev == f->dev && pos->ino == f->ino &&
	    !tail_same_file(pos, f->dev, f->ino, head, (size_t)hn)) {
		ms_warn("event=file_replaced path=%s inode=%llu note=\"same inode, other content: read from the start\"",
		    f->path, (unsigned long long)f->ino);
		f->offset = 0;
	} else if (!first_time && tail_finished_take(t, f->dev, f->ino, head, (size_t)hn, &end) == 0 &&
	    end <= (uint64_t)st.st_size) {
		ms_info("event=file_known path=%s inode=%llu offset=%llu note=\"read before under another name\"",
		    f->path, (unsigned long long)f->ino, (unsigned long long)end);
		f->offset = end;
	} else if (first_time && (saved = tail_saved_elsewhere(t, f->dev, f->ino, head,
	    (size_t)hn)) != NULL && saved->offset <= (uint64_t)st.st_size) {
		/* Read before under another name (a rotation the agent was following). */
		ms_info("event=file_known path=%s inode=%llu offset=%llu note=\"saved under %s\"",
		    f->path, (unsigned long long)f->ino, (unsigned long long)saved->offset,
		    saved->path);
		f->offset = saved->offset;
	} else if (first_time && pos == NULL && !f->from_beginning) {
		f->offset = (uint64_t)st.st_size;
	} else {
		f->offset = 0;	/* new to us: read whole */
	}
	if (other != NULL) {
		/* Mid over-long line the spooled position is the line's start, not offset. */
		f->spooled = other->spooled;
		f->acked = other->acked;
		tail_close_file(t, other);
	} else {
		f->acked = f->offset;
		f->spooled = f->offset;
	}
	for (size_t i = 0; i < nholes; i++) {
		if (holes[i].to != SPOOL_HOLE_OPEN) {
			if (holes[i].to <= (uint64_t)st.st_size && f->nholes < SPOOL_MAX_FILE_HOLES)
				f->holes[f->nholes++] = (struct tail_hole){ holes[i].from, holes[i].to,
				    false, holes[i].to_head, holes[i].to_fp };
		} else if (!took_over && holes[i].from < f->offset) {
			/*
			 * No record of it after the bytes the spool lost: any line
			 * after from may have been in them. Read on from there.
			 */
			ms_warn("event=file_reread path=%s inode=%llu offset=%llu from=%llu "
			    "note=\"lines of it may have been in spool records that were lost\"",
			    f->path, (unsigned long long)f->ino, (unsigned long long)f->offset,
			    (unsigned long long)holes[i].from);
			f->offset = f->acked = f->spooled = holes[i].from;
		}
	}
	/* Watch the path; a rotated copy is read to its end by the poll. */
	if (open_path == f->path && !f->draining)
		tail_watch(t, f);
	ms_info("event=file_open path=%s inode=%llu offset=%llu", open_path,
	    (unsigned long long)f->ino, (unsigned long long)f->offset);
	tail_mark_dirty(t);
	return 0;
}

/*
 * Opens f->path (or, at start, the rotated copy of the file we were reading
 * when we stopped), starting as tail_open_at says.
 */
static int
tail_open(struct tail *t, struct tail_file *f, bool first_time)
{
	const struct state_pos *pos = first_time ? state_find(t->a->state, f->path) : NULL;
	char rotated[4096];
	const char *open_path = f->path;

	if (pos && !tail_path_is(f->path, pos) &&
	    tail_find_inode(f->path, pos, rotated, sizeof(rotated)) == 0) {
		/* The file we were reading moved away while we were stopped. */
		ms_info("event=file_resume_rotated path=%s rotated_to=%s offset=%llu", f->path, rotated,
		    (unsigned long long)pos->offset);
		open_path = rotated;
	}
	return tail_open_at(t, f, open_path, pos, first_time);
}

/*
 * f's previous generation still has lines that are not durable when f
 * starts another one: within one commit (100 ms) normally, but for as long
 * as the collector has not acknowledged them after a failed sync (nothing
 * is made durable meanwhile), through any number of rotations. Its
 * position moves to an entry of its own, closed and saved after the
 * followed files like a draining file's, so that a restart after a power
 * cut finds that file by inode and reads it again (tail_restore_drains);
 * the entry goes once its lines are durable (tail_durable, then
 * tail_drop_finished).
 */
static void
tail_hold_prev(struct tail *t, struct tail_file *f)
{
	struct tail_file *h = NULL;
	size_t slot;

	if (t->n >= AGENT_MAX_FILES || (h = calloc(1, sizeof(*h))) == NULL ||
	    (h->path = strdup(f->path)) == NULL) {
		free(h);
		/*
		 * In doubt after a failed sync, those lines stay exposed until the
		 * collector has them; otherwise only until the next commit, the
		 * group commit's usual exposure (a warning).
		 */
		ms_log(t->a->spool != NULL && spool_sync_suspect(t->a->spool) != 0 ? MS_LOG_ERR :
		    MS_LOG_WARN,
		    "event=file_position_dropped path=%s inode=%llu offset=%llu reason=%s "
		    "note=\"lines of this rotated file not yet durable in the spool are lost if "
		    "the machine stops before the collector has them\"", f->path,
		    (unsigned long long)f->prev_ino, (unsigned long long)f->prev_acked,
		    t->n >= AGENT_MAX_FILES ? "file_limit" : "out_of_memory");
		return;
	}
	for (slot = 0; t->files[slot] != NULL; slot++)
		;
	h->path_len = strlen(h->path);
	h->fd = -1;
	h->wd = -1;
	h->draining = true;
	h->dev = f->prev_dev;
	h->ino = f->prev_ino;
	h->fp = f->prev_fp;
	h->fp_len = f->prev_fp_len;
	h->gen = f->prev_gen;
	h->offset = f->prev_spooled;
	h->spooled = f->prev_spooled;
	h->acked = f->prev_acked;
	h->pending = f->prev_pending;
	t->files[slot] = h;
	t->n++;
	tail_mark_dirty(t);
}

/* Starts a new generation of f; the old one's position is kept while needed. */
static void
tail_new_generation(struct tail *t, struct tail_file *f)
{
	if (f->pending > 0) {
		if (f->prev_pending > 0)
			tail_hold_prev(t, f);
		f->prev_dev = f->dev;
		f->prev_ino = f->ino;
		f->prev_fp = f->fp;
		f->prev_fp_len = f->fp_len;
		f->prev_acked = f->acked;
		f->prev_spooled = f->spooled;
		f->prev_gen = f->gen;
		f->prev_pending = f->pending;
	}
	f->pending = 0;
	f->skipping = false;
	f->unterminated = false;
	f->nholes = 0;	/* the old file's (a draining copy keeps them) */
	/*
	 * The old generation ends here, even if no new file can be opened yet:
	 * its position stays in prev_* until its lines are durable.
	 */
	f->gen = ++t->next_gen;
}

static void
tail_close_file(struct tail *t, struct tail_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->wd >= 0 && t->ifd >= 0)
		inotify_rm_watch(t->ifd, f->wd);
	f->wd = -1;
}

/* Hands one line of f to the agent (spool, queue); false when it was not taken. */
static bool
tail_accept(struct tail *t, struct tail_file *f, const char *p, size_t len, uint64_t end_off,
    int64_t now, uint16_t flags)
{
	struct agent *a = t->a;
	struct spool_rec r;

	if (len && p[len - 1] == '\r')
		len--;
	r.seq = a->next_seq;
	r.time_ms = now;
	r.dev = f->dev;
	r.ino = f->ino;
	r.end_off = end_off;
	r.fp = f->fp;
	r.fp_len = f->fp_len;
	r.flags = flags;
	r.start_off = f->offset;	/* tail_line: the line's start (unused for lines read again) */
	r.src = f->path;
	r.src_len = f->path_len;
	r.line = p;
	r.line_len = len;
	return agent_accept(a, &r);
}

/*
 * The over-long line f was skipping (its head shipped) ends at end: its
 * newline read, or the end tail_partial gives it. The head's record ends
 * at the line's start, so that a restart before then reads the line
 * again rather than its rest as a line; from here on nothing of it is
 * left to read, so the position that becomes durable is past it. That
 * record went into the spool before, so the commit that moves the saved
 * position here (spool_sync, then tail_durable) has it on disk first:
 * the head is not skipped before it is durable. Left at the line's start,
 * a restart sent the head again when the line was the file's last.
 */
static void
tail_skipped_to(struct tail *t, struct tail_file *f, uint64_t end)
{
	f->spooled = end;
	/* No line taken starts the commit: the position is saved even at rest. */
	tail_mark_dirty(t);
}

/* Takes one line (spool, queue); false when it was not taken: reading pauses. */
static bool
tail_line(struct tail *t, uint32_t idx, struct tail_file *f, const char *p, size_t len,
    uint64_t end_off, int64_t now)
{
	(void)idx;
	if (!tail_accept(t, f, p, len, end_off, now, 0))
		return false;
	f->pending++;
	f->spooled = end_off;
	return true;
}

/*
 * f's first hole is done: said, and dropped. Not found (the file has no
 * line ending where the spool's next record of it does, or ends before):
 * reading of f goes back to where the hole's lines still to read begin, and
 * reads on from there as new lines – every line after it again, some
 * twice, none lost. Holes after that point go with it.
 */
static void
tail_hole_done(struct tail *t, struct tail_file *f, bool found)
{
	struct tail_hole *h = &f->holes[0];
	uint64_t from = h->from;
	size_t k = 0;

	if (found && f->hole_lines == 0)
		ms_debug("event=spool_hole_empty path=%s inode=%llu to=%llu", f->path,
		    (unsigned long long)f->ino, (unsigned long long)h->to);
	else if (found)
		ms_warn("event=spool_lines_recovered path=%s inode=%llu lines=%llu to=%llu note=\"lines "
		    "whose spool records were lost, read again from the file\"", f->path,
		    (unsigned long long)f->ino, (unsigned long long)f->hole_lines,
		    (unsigned long long)h->to);
	memmove(&f->holes[0], &f->holes[1], (f->nholes - 1) * sizeof(f->holes[0]));
	f->nholes--;
	f->hole_lines = 0;
	tail_mark_dirty(t);
	if (found || from >= f->offset)
		return;
	ms_warn("event=file_reread path=%s inode=%llu offset=%llu from=%llu note=\"lines lost from "
	    "the spool: the file has no line ending where its next spool record does; read again "
	    "from there (some lines twice)\"", f->path, (unsigned long long)f->ino,
	    (unsigned long long)f->offset, (unsigned long long)from);
	f->offset = from;
	if (f->spooled > from)
		f->spooled = from;
	if (f->acked > from)
		f->acked = from;
	f->skipping = false;
	f->unterminated = false;
	for (size_t i = 0; i < f->nholes; i++)
		if (f->holes[i].from < from)
			f->holes[k++] = f->holes[i];
	f->nholes = k;
}

/*
 * The line of f at off that has no newline within TAIL_BUF bytes: its
 * first MS_PROTO_MAX_LINE bytes stay at t->buf, its newline is searched
 * for in the rest of the buffer. 1 with *end past it, 0 when the file
 * ends first, -1 on a read error.
 */
static int
tail_long_line_end(struct tail *t, struct tail_file *f, uint64_t off, uint64_t *end)
{
	uint64_t at = off + TAIL_BUF;

	for (;;) {
		ssize_t n = pread(f->fd, t->buf + MS_PROTO_MAX_LINE, TAIL_BUF - MS_PROTO_MAX_LINE,
		    (off_t)at);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		if ((nl = memchr(t->buf + MS_PROTO_MAX_LINE, '\n', (size_t)n)) != NULL) {
			*end = at + (uint64_t)(nl - (t->buf + MS_PROTO_MAX_LINE)) + 1;
			return 1;
		}
		at += (uint64_t)n;
	}
}

/*
 * What a line of f's hole h (ending at end, len bytes before its newline)
 * is: 1 one of the lost lines, 0 the spool's own record at to (the hole is
 * done), -1 past the hole (not found). Without incl the record at to is
 * the line ending there – unless that record is an over-long line's head
 * (to_head) that began at to (tail ships a line longer than its buffer
 * with the line's start as its end): so when this line is short, or when
 * the line beginning at to begins as that head did (to_fp); then this line
 * is lost.
 */
static int
tail_hole_line(const struct tail_file *f, const struct tail_hole *h, size_t len, uint64_t end)
{
	char head[SPOOL_HOLE_FP_BYTES];

	if (end < h->to)
		return 1;
	if (end > h->to)
		return -1;
	if (h->incl || (h->to_head && len < MS_PROTO_MAX_LINE))
		return 1;
	if (!h->to_head)
		return 0;
	/* Both over-long: the record is this line's head unless the next line begins with it. */
	return pread(f->fd, head, sizeof(head), (off_t)h->to) == (ssize_t)sizeof(head) &&
	    tail_fingerprint(head, sizeof(head)) == h->to_fp ? 1 : 0;
}

/* One lost line, appended flagged SPOOL_REC_RECOVERED; false when not taken. */
static bool
tail_recovered(struct tail *t, struct tail_file *f, const char *p, size_t len, uint64_t end,
    int64_t now)
{
	/* As tail_read_file ships it: an over-long line's head. */
	if (!tail_accept(t, f, p, len < MS_PROTO_MAX_LINE ? len : MS_PROTO_MAX_LINE, end, now,
	    SPOOL_REC_RECOVERED))
		return false;
	if (len > MS_PROTO_MAX_LINE)
		t->a->stats.lines_truncated++;
	t->a->stats.lines_recovered++;
	f->hole_lines++;
	return true;
}

/*
 * Reads f's holes again: each of its lost lines (tail_hole_line) is
 * appended flagged SPOOL_REC_RECOVERED (its end is not where reading of f
 * is, which stays as it was). 1 when a line was not taken (the spool is
 * full: tried again at the next read), else 0.
 */
static int
tail_recover(struct tail *t, struct tail_file *f, int64_t now)
{
	bool queued = false;
	int rc = 0;

	while (f->nholes > 0) {
		struct tail_hole *h = &f->holes[0];
		ssize_t n;
		size_t start = 0;
		int what = 1;

		if (h->from >= h->to) {
			tail_hole_done(t, f, h->from == h->to);
			continue;
		}
		n = pread(f->fd, t->buf, TAIL_BUF, (off_t)h->from);
		if (n < 0 && errno == EINTR)
			continue;
		while (n > 0 && start < (size_t)n) {
			char *nl = memchr(t->buf + start, '\n', (size_t)n - start);
			size_t len;
			uint64_t end;

			if (nl == NULL)
				break;
			len = (size_t)(nl - (t->buf + start));
			end = h->from + len + 1;
			if ((what = tail_hole_line(f, h, len, end)) <= 0)
				break;
			if (!tail_recovered(t, f, t->buf + start, len, end, now)) {
				rc = 1;
				goto out;
			}
			queued = true;
			h->from = end;
			start += len + 1;
			if (end == h->to)
				break;
		}
		if (what <= 0) {
			tail_hole_done(t, f, what == 0);
			continue;
		}
		if (start > 0 || h->from >= h->to)
			continue;	/* read on from the next line, or done */
		if (n == TAIL_BUF) {
			/* A line longer than the buffer: its head, then on past its newline. */
			uint64_t end;
			int got = tail_long_line_end(t, f, h->from, &end);

			if (got > 0 && (what = tail_hole_line(f, h, MS_PROTO_MAX_LINE + 1, end)) > 0) {
				if (!tail_recovered(t, f, t->buf, MS_PROTO_MAX_LINE + 1, end, now)) {
					rc = 1;
					goto out;
				}
				queued = true;
				h->from = end;
				continue;
			}
			tail_hole_done(t, f, got > 0 && what == 0);
			continue;
		}
		/* The end of the file (or a read error) before the hole's end. */
		tail_hole_done(t, f, false);
	}
out:
	if (queued)
		agent_events_queued(t->a);
	return rc;
}

/*
 * f is read to offset and the bytes there are NUL: if a hole of the file
 * (a sparse file: nothing on disk, read as NUL bytes) starts there, moves
 * offset to its end – the next data, or the file's end – instead of
 * reading gigabytes of NUL bytes. How many bytes it moved.
 */
static uint64_t
tail_skip_hole(struct tail_file *f)
{
	off_t d = lseek(f->fd, (off_t)f->offset, SEEK_DATA);
	uint64_t from = f->offset;
	struct stat st;

	if (d < 0 && errno == ENXIO && fstat(f->fd, &st) == 0)
		d = st.st_size;	/* a hole up to the end */
	if (d > (off_t)f->offset)
		f->offset = (uint64_t)d;
	return f->offset - from;
}

/*
 * A read of f ended at end without a newline, short: the end of the file
 * for now, or a bad block the kernel's read stopped before (it returns
 * what it read before the block). One byte read there tells. Whether the
 * block was skipped (tail_read_failed: read on).
 */
static bool
tail_read_stopped(struct tail *t, struct tail_file *f, uint64_t end)
{
	char c;
	ssize_t m;

	do
		m = pread(f->fd, &c, 1, (off_t)end);
	while (m < 0 && errno == EINTR);
	if (m >= 0) {
		f->read_failing = false;
		return false;
	}
	return tail_read_failed(t, f, end, errno);
}

/*
 * Reads f from its offset while complete lines are taken.
 * Returns 1 when it stopped because the spool is full (or failing), else 0.
 */
static int
tail_read_file(struct tail *t, uint32_t idx, struct tail_file *f)
{
	int64_t now = ms_now_ms();
	bool queued = false;
	int rc = 0;
	uint64_t nul = 0, nul_from = 0, nul_end = 0;

	if (f->nholes > 0 && f->fd >= 0 && tail_recover(t, f, now) != 0)
		return 1;
	f->unterminated = false;
	while (f->fd >= 0) {
		uint64_t at = f->offset;
		ssize_t n = pread(f->fd, t->buf, TAIL_BUF, (off_t)at);
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && tail_read_failed(t, f, f->offset, errno))
			continue;
		if (n <= 0)
			break;
		/* Read past where it failed: the fault passed. */
		if (f->read_failing && at + (uint64_t)n > f->read_err_off)
			f->read_failing = false;
		while (start < (size_t)n) {
			char *nl;
			size_t len;

			if (!f->skipping && t->buf[start] == '\0') {
				/*
				 * NUL bytes where a line starts: no line's text. A writer
				 * without O_APPEND after copytruncate writes on at its old
				 * offset, after a hole as large as the log was; a crash
				 * leaves blocks of them at a log's end. Skipped (a line of
				 * them only, with its newline), so that the line after
				 * them arrives whole; a hole is jumped over, not read.
				 */
				size_t z = start;

				while (z < (size_t)n && t->buf[z] == '\0')
					z++;
				if (z < (size_t)n && t->buf[z] == '\n')
					z++;
				if (nul == 0)
					nul_from = f->offset;
				nul += z - start;
				f->offset += z - start;
				start = z;
				if (start == (size_t)n && t->buf[n - 1] == '\0')
					nul += tail_skip_hole(f);
				nul_end = f->offset;
				continue;
			}
			nl = memchr(t->buf + start, '\n', (size_t)n - start);
			if (nl == NULL) {
				len = (size_t)n - start;
				if (len < MS_PROTO_MAX_LINE || f->skipping) {
					if (f->skipping) {
						/* Still inside the over-long line: drop what we saw. */
						f->offset += len;
						start = (size_t)n;
					} else {
						/* A line still being written: the poll ships it if it stays so. */
						f->unterminated = true;
						if (f->offset + len != f->partial_size) {
							f->partial_size = f->offset + len;
							f->partial_ms = ms_mono_ms();
						}
					}
					break;
				}
				/*
				 * A line longer than the protocol allows: ship its head, drop
				 * the rest. Its acknowledgement must not move the saved
				 * position into the middle of the line: it counts as the
				 * line's start (a restart before its newline is read ships
				 * the head again; after, tail_skipped_to).
				 */
				if (!tail_line(t, idx, f, t->buf + start, MS_PROTO_MAX_LINE,
				    f->offset, now)) {
					rc = 1;
					goto out;
				}
				t->a->stats.lines_truncated++;
				ms_warn("event=line_truncated path=%s offset=%llu limit=%u", f->path,
				    (unsigned long long)f->offset, MS_PROTO_MAX_LINE);
				queued = true;
				f->offset += MS_PROTO_MAX_LINE;
				start += MS_PROTO_MAX_LINE;
				f->skipping = true;
				f->skip_seq = t->a->next_seq - 1;	/* tail_accept numbered it */
				continue;
			}
			len = (size_t)(nl - (t->buf + start));
			if (f->skipping) {
				f->skipping = false;
				tail_skipped_to(t, f, f->offset + len + 1);
			} else if (len > MS_PROTO_MAX_LINE) {
				if (!tail_line(t, idx, f, t->buf + start, MS_PROTO_MAX_LINE,
				    f->offset + len + 1, now)) {
					rc = 1;
					goto out;
				}
				t->a->stats.lines_truncated++;
				ms_warn("event=line_truncated path=%s offset=%llu limit=%u", f->path,
				    (unsigned long long)f->offset, MS_PROTO_MAX_LINE);
				queued = true;
			} else {
				if (!tail_line(t, idx, f, t->buf + start, len, f->offset + len + 1, now)) {
					rc = 1;
					goto out;
				}
				queued = true;
			}
			f->offset += len + 1;
			start += len + 1;
		}
		/*
		 * No newline in the rest of the buffer: wait for more data – unless
		 * the kernel's read stopped short before a bad block.
		 */
		if (start < (size_t)n && (size_t)n < TAIL_BUF) {
			if (tail_read_stopped(t, f, at + (uint64_t)n))
				continue;
			break;
		}
		if (start == 0)
			break;
		/* A short read is the end of the file for now (saves a read of nothing). */
		if ((size_t)n < TAIL_BUF) {
			if (f->skipping && tail_read_stopped(t, f, at + (uint64_t)n))
				continue;
			break;
		}
	}
out:
	if (nul > 0) {
		t->a->stats.nul_bytes_skipped += nul;
		if (!f->nul_said)
			ms_warn("event=nul_skipped path=%s offset=%llu bytes=%llu note=\"NUL bytes "
			    "where a line starts (a hole after copytruncate, a crash): not shipped\"",
			    f->path, (unsigned long long)nul_from, (unsigned long long)nul);
		f->nul_said = true;
		/* Every line before them is taken: the position may move past them. */
		if (nul_end > f->spooled)
			tail_skipped_to(t, f, nul_end);
	}
	if (queued) {
		f->nul_said = false;
		agent_events_queued(t->a);
	}
	return rc;
}

void
tail_add_hole(struct tail *t, const struct spool_file_hole *fh)
{
	for (size_t i = 0; i < AGENT_MAX_FILES; i++) {
		struct tail_file *f = t->files[i];
		struct tail_hole h = { fh->h.from, fh->h.to, false, fh->h.to_head, fh->h.to_fp };

		if (f == NULL || f->fd < 0 || f->dev != fh->dev || f->ino != fh->ino ||
		    f->fp_len < fh->fp_len || tail_fingerprint(f->fp_bytes, fh->fp_len) != fh->fp)
			continue;
		if (h.to == SPOOL_HOLE_OPEN) {
			/*
			 * The over-long line being skipped lost its head: its record
			 * ends at the line's start, where the line before it ends, so
			 * the hole cannot say so by offsets (from == to) – by number
			 * it can. Reading goes back to the line's start and ships the
			 * head again (and skips the rest again).
			 */
			if (f->skipping && f->skip_seq > fh->seen_seq && f->skip_seq <= fh->last_seq) {
				ms_warn("event=spool_head_recovered path=%s offset=%llu note=\"the head "
				    "of an over-long line was lost from the spool: read again\"", f->path,
				    (unsigned long long)f->spooled);
				f->skipping = false;
				f->offset = f->spooled;
				f->unterminated = false;
			}
			/*
			 * Every line of it read so far after from (tail_add_hole's
			 * caller: at once) – an over-long last line too once its
			 * newline was read (tail_skipped_to); while it is still
			 * skipped, the spooled position is its start.
			 */
			h.to = !f->skipping && f->offset > f->spooled ? f->offset : f->spooled;
			h.incl = true;
		}
		if (h.from >= h.to)
			return;	/* nothing after from (was read) */
		if (f->nholes == SPOOL_MAX_FILE_HOLES) {
			/* Merged into the last: the lines between read twice. */
			struct tail_hole *l = &f->holes[f->nholes - 1];

			if (h.from < l->from)
				l->from = h.from;
			if (h.to > l->to) {
				l->to = h.to;
				l->incl = h.incl;
				l->to_head = h.to_head;
			}
		} else {
			f->holes[f->nholes++] = h;
		}
		/*
		 * A full spool stops it: read on when it has room
		 * (agent_room_freed). Stopping, only the lost lines are read.
		 */
		if (t->stopped)
			(void)tail_recover(t, f, ms_now_ms());
		else
			(void)tail_read_file(t, (uint32_t)i, f);
		return;
	}
	ms_warn("event=spool_lines_unrecovered dev=%llu inode=%llu offset=%llu note=\"lines lost "
	    "from the spool of a file no longer open\"", (unsigned long long)fh->dev,
	    (unsigned long long)fh->ino, (unsigned long long)fh->h.from);
}

void
tail_read_all(struct tail *t)
{
	if (t->stopped)
		return;
	for (size_t i = 0, seen = 0; i < AGENT_MAX_FILES && seen < t->n; i++) {
		if (t->files[i] == NULL)
			continue;
		seen++;
		if (tail_read_file(t, (uint32_t)i, t->files[i]) == 1)
			return;	/* spool full: acknowledgements call us again */
	}
}

/*
 * A read of f at at (where its line begins, f->offset, or further in it)
 * failed with err: a bad block under the log, a network file system away.
 * Said once; tried again at every check for TAIL_READ_ERROR_MS, then the
 * block is skipped – the lines in it are lost, the line it ends in is
 * dropped up to its newline (as an over-long line's rest) – and reading
 * goes on after it. Left as it was, reading stopped there for good, and
 * said nothing. Whether it skipped (read on).
 */
static bool
tail_read_failed(struct tail *t, struct tail_file *f, uint64_t at, int err)
{
	int64_t now = ms_mono_ms();
	uint64_t to;

	if (!f->read_failing || f->read_err_off != at) {
		ms_warn("event=file_read_error path=%s offset=%llu reason=\"%s\" note=\"tried again "
		    "for %d ms, then skipped\"", f->path, (unsigned long long)at, strerror(err),
		    TAIL_READ_ERROR_MS);
		f->read_failing = true;
		f->read_err_off = at;
		f->read_err_ms = now;
		return false;
	}
	if (now - f->read_err_ms < TAIL_READ_ERROR_MS)
		return false;
	to = (at / TAIL_BAD_BLOCK + 1) * TAIL_BAD_BLOCK;
	t->a->stats.read_errors++;
	ms_err("event=file_read_skipped path=%s from=%llu to=%llu note=\"unreadable: the lines "
	    "in these bytes are lost, the line they end in is dropped\"", f->path,
	    (unsigned long long)f->offset, (unsigned long long)to);
	f->read_failing = false;
	f->offset = to;
	f->unterminated = false;
	if (!f->skipping) {
		f->skipping = true;
		f->skip_seq = 0;	/* no head was shipped */
	}
	return true;
}

/*
 * Queues the unterminated rest of f (up to size) as one line: the writer
 * did not finish it in time. 0, or -1 when the queue is full or the file
 * cannot be read there (try again later).
 */
static int
tail_partial(struct tail *t, uint32_t idx, struct tail_file *f, uint64_t size)
{
	uint64_t len = size - f->offset;
	ssize_t n;

	if (len > MS_PROTO_MAX_LINE)
		len = MS_PROTO_MAX_LINE;
	n = pread(f->fd, t->buf, (size_t)len, (off_t)f->offset);
	if (n < 0) {
		(void)tail_read_failed(t, f, f->offset, errno);
		return -1;	/* tried again (or read on after the block) */
	}
	if (n == 0)
		return 0;
	if ((uint64_t)n < len) {
		/*
		 * Short of the size: the kernel stops before a bad block (or the
		 * file shrank). Not the line's end: shipped as it was, reading
		 * jumped to size over every line after the block.
		 */
		char c;
		ssize_t m = pread(f->fd, &c, 1, (off_t)(f->offset + (uint64_t)n));

		if (m < 0)
			(void)tail_read_failed(t, f, f->offset + (uint64_t)n, errno);
		return -1;
	}
	if (!f->skipping) {
		if (!tail_line(t, idx, f, t->buf, (size_t)n, size, ms_now_ms()))
			return -1;
		t->a->stats.lines_unterminated++;
		ms_warn("event=line_unterminated path=%s offset=%llu bytes=%lld note=\"shipped without newline\"",
		    f->path, (unsigned long long)f->offset, (long long)n);
		agent_events_queued(t->a);
	} else {
		tail_skipped_to(t, f, size);
	}
	f->offset = size;
	f->unterminated = false;
	return 0;
}

/* Lets f's fingerprint cover the head as it grows (up to AGENT_FP_BYTES). */
static void
tail_fp_extend(struct tail *t, struct tail_file *f, const char *head, size_t hn)
{
	if (hn > f->fp_len && tail_file_head_matches(f, head, hn)) {
		tail_fp_set(f, head, hn);
		tail_mark_dirty(t);
	}
}

/*
 * Truncation (smaller than what we read) or a rewrite (copytruncate then
 * written past the old size: the head changed). Either starts a new
 * generation read from 0. While the head is shorter than AGENT_FP_BYTES,
 * the fingerprint grows with it.
 */
static void
tail_check_content(struct tail *t, struct tail_file *f)
{
	char head[AGENT_FP_BYTES];
	struct stat st;
	ssize_t hn;
	const char *why;

	if (f->fd < 0 || fstat(f->fd, &st) != 0 || (hn = tail_head(f->fd, head)) < 0)
		return;
	if ((uint64_t)st.st_size < f->offset) {
		why = "smaller";
	} else if (!tail_file_head_matches(f, head, (size_t)hn)) {
		why = "head_changed";
	} else {
		tail_fp_extend(t, f, head, (size_t)hn);
		return;
	}
	ms_warn("event=file_truncated path=%s old_offset=%llu size=%lld reason=%s", f->path,
	    (unsigned long long)f->offset, (long long)st.st_size, why);
	t->a->stats.truncations++;
	tail_new_generation(t, f);
	f->offset = 0;
	f->acked = 0;
	f->spooled = 0;
	tail_fp_set(f, head, (size_t)hn);
	tail_mark_dirty(t);
}

/*
 * Moves f's open file (rotated or removed) to a draining entry of its own,
 * which keeps reading it; f is then free to open the new file. 0, or -1
 * when draining is off or no slot is free (then f finishes it now).
 */
static int
tail_drain_start(struct tail *t, struct tail_file *f, int64_t now)
{
	struct tail_file *d;
	size_t slot;

	if (t->a->conf.rotate_wait_ms <= 0 || t->n >= AGENT_MAX_FILES)
		return -1;
	for (slot = 0; t->files[slot] != NULL; slot++)
		;
	if ((d = malloc(sizeof(*d))) == NULL)
		return -1;
	*d = *f;
	if ((d->path = strdup(f->path)) == NULL) {
		free(d);
		return -1;
	}
	/* Its unacknowledged position stays f's business (prev_*); d reads on. */
	d->draining = true;
	d->from_glob = false;
	d->pending = 0;
	d->prev_pending = 0;
	d->grew_ms = now;
	d->grew_size = d->offset;
	d->rotated_ms = 0;
	t->files[slot] = d;
	t->n++;
	ms_debug("event=file_draining path=%s inode=%llu wait_ms=%lld", d->path,
	    (unsigned long long)d->ino, (long long)t->a->conf.rotate_wait_ms);
	return 0;
}

/* A draining file: finished once it has not grown for agent.rotate_wait_ms. */
static void
tail_check_drain(struct tail *t, uint32_t idx, struct tail_file *f, int64_t now)
{
	struct stat st;

	if (f->fd < 0)
		return;	/* finished: dropped by tail_drop_finished once durable */
	if (fstat(f->fd, &st) != 0)
		return;
	if ((uint64_t)st.st_size != f->grew_size) {
		f->grew_size = (uint64_t)st.st_size;
		f->grew_ms = now;
		return;
	}
	if (now - f->grew_ms < t->a->conf.rotate_wait_ms)
		return;
	if (tail_read_file(t, idx, f) == 1)
		return;
	/* A last line the writer never finished goes as it is. */
	if ((uint64_t)st.st_size > f->offset && tail_partial(t, idx, f, (uint64_t)st.st_size) < 0)
		return;
	ms_info("event=file_drained path=%s old_inode=%llu offset=%llu", f->path,
	    (unsigned long long)f->ino, (unsigned long long)f->offset);
	tail_finished_add(t, f);
	tail_close_file(t, f);
}

/* Rotation, removal, truncation, unfinished lines and late files. */
static void
tail_check(struct tail *t, uint32_t idx, struct tail_file *f)
{
	struct stat st, fst;
	int64_t now = ms_mono_ms();
	int64_t partial_ms = t->a->conf.partial_line_ms;
	int src;

	if (f->draining) {
		tail_check_drain(t, idx, f, now);
		return;
	}
	if (f->fd < 0) {
		if (tail_open(t, f, false) == 0)
			ms_info("event=file_appeared path=%s", f->path);
		return;
	}
	tail_check_content(t, f);
	src = stat(f->path, &st) == 0 ? 0 : errno;
	if (src != 0 || (uint64_t)st.st_ino != f->ino || (uint64_t)st.st_dev != f->dev) {
		/* Rotated or removed: finish the old file first. */
		bool removed = src == ENOENT;
		int64_t grace = partial_ms < TAIL_PARTIAL_GRACE_MS ? partial_ms : TAIL_PARTIAL_GRACE_MS;

		if (f->rotated_ms == 0)
			f->rotated_ms = now;
		if (tail_read_file(t, idx, f) == 1)
			return;
		if (fstat(f->fd, &fst) == 0 && (uint64_t)fst.st_size > f->offset) {
			/* An unfinished last line: its writer may still complete it ... */
			if (now - f->rotated_ms < grace)
				return;
			/* ... but not forever: ship what is there as the last line. */
			if (tail_partial(t, idx, f, (uint64_t)fst.st_size) < 0)
				return;
		}
		ms_info("event=%s path=%s old_inode=%llu", removed ? "file_removed" : "file_rotated",
		    f->path, (unsigned long long)f->ino);
		t->a->stats.rotations++;
		/* Its writer may still append to it: keep reading it beside the new file. */
		if (tail_drain_start(t, f, now) == 0) {
			tail_new_generation(t, f);
			f->fd = -1;
			f->wd = -1;
			tail_open(t, f, false);
			return;
		}
		tail_finished_add(t, f);
		tail_new_generation(t, f);
		tail_close_file(t, f);
		tail_open(t, f, false);
		return;
	}
	/* A last line without newline that stopped growing: ship it after partial_line_ms. */
	if (f->unterminated && fstat(f->fd, &fst) == 0 && (uint64_t)fst.st_size > f->offset) {
		if ((uint64_t)fst.st_size != f->partial_size) {
			f->partial_size = (uint64_t)fst.st_size;
			f->partial_ms = now;
		} else if (now - f->partial_ms >= partial_ms) {
			tail_partial(t, idx, f, (uint64_t)fst.st_size);
		}
	}
}

/*
 * Checks every file, then once more those that found their file busy
 * (another entry read it): such an entry gets it in the same pass once
 * that one let go of it (finished, or became a drain to take over),
 * before any commit could save the state without it.
 */
static void
tail_check_all(struct tail *t)
{
	for (size_t i = 0; i < AGENT_MAX_FILES; i++)
		if (t->files[i])
			tail_check(t, (uint32_t)i, t->files[i]);
	for (size_t i = 0; i < AGENT_MAX_FILES; i++)
		if (t->files[i] && t->files[i]->busy && t->files[i]->fd < 0)
			tail_check(t, (uint32_t)i, t->files[i]);
}

static struct tail_file *
tail_find_path(const struct tail *t, const char *path)
{
	for (size_t i = 0; i < AGENT_MAX_FILES; i++)
		if (t->files[i] && !t->files[i]->draining && strcmp(t->files[i]->path, path) == 0)
			return t->files[i];
	return NULL;
}

static void
tail_file_free(struct tail *t, struct tail_file *f)
{
	if (f == NULL)
		return;
	tail_close_file(t, f);
	free(f->path);
	free(f);
}

/*
 * Adds path to the followed files (nothing when it is there already). A
 * glob's match that cannot be opened later on is not kept; a configured
 * path is (followed when it appears). 0, or -1 when not added.
 */
static int
tail_add(struct tail *t, const char *path, bool from_beginning, bool from_glob, bool first_time)
{
	struct tail_file *f = NULL;
	struct stat st;
	size_t slot;

	if (tail_find_path(t, path) != NULL)
		return 0;
	if (from_glob && stat(path, &st) == 0 &&
	    (!S_ISREG(st.st_mode) || tail_have_inode(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino)))
		return -1;	/* a folder, or a file followed under another name (rotating) */
	if (t->n >= AGENT_MAX_FILES) {
		if (!t->limit_logged) {
			ms_warn("event=file_limit max=%d path=%s note=\"further files are not followed\"",
			    AGENT_MAX_FILES, path);
			t->a->stats.files_limit++;
			t->limit_logged = true;
		}
		return -1;
	}
	for (slot = 0; t->files[slot] != NULL; slot++)
		;
	if ((f = calloc(1, sizeof(*f))) == NULL || (f->path = strdup(path)) == NULL) {
		ms_err("event=file_error path=%s reason=out_of_memory", path);
		free(f);
		return -1;
	}
	f->path_len = strlen(f->path);
	f->fd = -1;
	f->wd = -1;
	f->from_glob = from_glob;
	f->from_beginning = from_beginning;
	/*
	 * A match refused or unreadable stays (closed, said once) until it is
	 * gone (tail_drop_finished): dropped and matched again, it would be
	 * said at every poll.
	 */
	if (tail_open(t, f, first_time) < 0 && from_glob && !first_time &&
	    (f->open_errno == 0 || f->open_errno == ENOENT)) {
		tail_file_free(t, f);
		return -1;
	}
	if (from_glob && !first_time)
		ms_info("event=file_matched path=%s", path);
	t->files[slot] = f;
	t->n++;
	return 0;
}

/*
 * At start, r (opened, nothing read yet) reads the file a later position
 * of the state file, p, names: while the spool is in doubt, r reads on
 * from p when p is before it.
 */
static void
tail_rewind_reader(struct tail *t, struct tail_file *r, const struct state_pos *p)
{
	struct stat st;

	if (spool_sync_suspect(t->a->spool) == 0 || p->offset >= r->offset || r->pending > 0 ||
	    r->nholes > 0 || !tail_same_file(p, r->dev, r->ino, r->fp_bytes, r->fp_len) ||
	    fstat(r->fd, &st) != 0 || p->offset > (uint64_t)st.st_size)
		return;
	ms_warn("event=file_reread path=%s inode=%llu offset=%llu from=%llu note=\"a rotated "
	    "file's lines in doubt after a failed sync, kept under %s: read again from there\"",
	    r->path, (unsigned long long)r->ino, (unsigned long long)r->offset,
	    (unsigned long long)p->offset, p->path);
	r->offset = r->acked = r->spooled = p->offset;
	r->skipping = false;
	r->unterminated = false;
	tail_mark_dirty(t);
}

/*
 * At start: a rotated file that was still being read when the agent
 * stopped (its daemon appends until the postrotate reload) is looked for
 * in its folder by inode and head, and read on from its saved position
 * as a draining entry: its lines written since are not lost. Runs after
 * the followed files' own positions were taken (a draining file that is
 * one of them is read there) and before the globs' matches (which may
 * match the rotated name).
 */
static void
tail_restore_drains(struct tail *t)
{
	const struct agent_state_file *st = t->a->state;

	for (size_t k = 0; k < state_count(st); k++) {
		const struct state_pos *p = state_get(st, k);
		char rotated[4096];
		const char *open_path = p->path;
		struct tail_file *d, *r;
		size_t slot;

		/* A path no longer followed. */
		if (tail_find_path(t, p->path) == NULL)
			continue;
		/*
		 * Read already, maybe by an entry opened from a position of its
		 * own further on (a rotated name, configured or a pattern's
		 * match, at the end of a file read before under another name),
		 * while this path's entry found it busy. While a failed sync
		 * leaves lines in doubt, that entry reads on from this earlier
		 * position instead (some lines twice, none lost).
		 */
		if ((r = tail_reader(t, p->dev, p->ino)) != NULL) {
			tail_rewind_reader(t, r, p);
			continue;
		}
		/* A followed file's own position (not found, or not read: busy). */
		if (state_find(st, p->path) == p)
			continue;
		if (!tail_path_is(p->path, p)) {
			if (tail_find_inode(p->path, p, rotated, sizeof(rotated)) < 0) {
				ms_warn("event=file_drain_gone path=%s inode=%llu offset=%llu note=\"a "
				    "rotated file still read when the agent stopped is no longer in its "
				    "folder\"", p->path, (unsigned long long)p->ino,
				    (unsigned long long)p->offset);
				continue;
			}
			open_path = rotated;
		}
		if (t->n >= AGENT_MAX_FILES) {
			ms_warn("event=file_limit max=%d path=%s rotated_to=%s note=\"a rotated file "
			    "still read when the agent stopped is not read on\"", AGENT_MAX_FILES,
			    p->path, open_path);
			t->a->stats.files_limit++;
			continue;
		}
		for (slot = 0; t->files[slot] != NULL; slot++)
			;
		if ((d = calloc(1, sizeof(*d))) == NULL || (d->path = strdup(p->path)) == NULL) {
			free(d);
			ms_err("event=file_error path=%s reason=out_of_memory", p->path);
			return;
		}
		d->path_len = strlen(d->path);
		d->fd = -1;
		d->wd = -1;
		d->draining = true;
		if (tail_open_at(t, d, open_path, p, true) < 0) {
			tail_file_free(t, d);
			continue;
		}
		ms_info("event=file_drain_resumed path=%s rotated_to=%s offset=%llu", d->path,
		    open_path, (unsigned long long)d->offset);
		d->grew_ms = ms_mono_ms();
		d->grew_size = d->offset;
		t->files[slot] = d;
		t->n++;
	}
}

/*
 * Expands every glob of the configuration; new matches are followed (at
 * start as the config's start says, later from their beginning: they are
 * new). At start, saved positions that match a glob are followed too: the
 * file may have been rotated away while we were stopped.
 */
static void
tail_expand(struct tail *t, bool at_start)
{
	const struct agent *a = t->a;

	/*
	 * Saved positions first, and the rotated files that were still read:
	 * one may now be read in its rotated copy, which a pattern may match
	 * too and must not be read twice.
	 */
	for (size_t i = 0; at_start && i < a->nfiles; i++) {
		const struct agent_file_conf *c = &a->files[i];

		for (size_t k = 0; c->is_glob && k < state_count(a->state); k++) {
			const struct state_pos *p = state_get(a->state, k);
			if (fnmatch(c->path, p->path, FNM_PATHNAME) == 0)
				tail_add(t, p->path, c->from_beginning, true, true);
		}
	}
	if (at_start)
		tail_restore_drains(t);
	for (size_t i = 0; i < a->nfiles; i++) {
		const struct agent_file_conf *c = &a->files[i];
		glob_t g;
		int rc;

		if (!c->is_glob)
			continue;
		memset(&g, 0, sizeof(g));
		rc = glob(c->path, GLOB_NOSORT, NULL, &g);
		if (rc == 0) {
			for (size_t k = 0; k < g.gl_pathc; k++)
				tail_add(t, g.gl_pathv[k], at_start ? c->from_beginning : true, true, at_start);
		} else if (rc != GLOB_NOMATCH && at_start) {
			ms_warn("event=glob_error pattern=%s reason=%s", c->path,
			    rc == GLOB_NOSPACE ? "out_of_memory" : "read_error");
		}
		globfree(&g);
	}
}

/* Lets go of glob matches that are gone, read to their end and all acknowledged. */
static void
tail_drop_finished(struct tail *t)
{
	for (size_t i = 0; i < AGENT_MAX_FILES; i++) {
		struct tail_file *f = t->files[i];
		if (f == NULL || !(f->from_glob || f->draining) || f->fd >= 0 || f->pending > 0 ||
		    f->prev_pending > 0 || (!f->draining && f->open_errno != 0 &&
		    f->open_errno != ENOENT))
			continue;
		if (!f->draining)
			ms_info("event=file_dropped path=%s note=\"gone and read to its end\"", f->path);
		tail_file_free(t, f);
		t->files[i] = NULL;
		t->n--;
		t->limit_logged = false;
		tail_mark_dirty(t);
	}
}

void
tail_poll(struct tail *t)
{
	if (t->stopped)
		return;
	tail_check_all(t);
	tail_expand(t, false);
	tail_drop_finished(t);
	tail_read_all(t);
}

static void
tail_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	tail_poll(arg);
}

/*
 * Reads the pending inotify notices: marks written files, remembers moves.
 * Returns whether there was any.
 */
static bool
tail_inotify_drain(struct tail *t)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	bool any = false;

	while ((n = read(t->ifd, buf, sizeof(buf))) > 0) {
		any = true;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED))
				t->moved = true;
			if (ev->mask & IN_MODIFY) {
				for (size_t i = 0; i < AGENT_MAX_FILES; i++)
					if (t->files[i] && t->files[i]->wd == ev->wd)
						t->files[i]->modified = true;
			}
			p += sizeof(*ev) + ev->len;
		}
		/* Room to spare: that was all (saves a read that says EAGAIN). */
		if ((size_t)n < sizeof(buf) / 2)
			break;
	}
	return any;
}

/* Sum of the read positions: whether a read took lines (see tail_read_progress). */
static uint64_t
tail_offsets(const struct tail *t)
{
	uint64_t sum = 0;

	/* Up to the last file in use: a tick should not walk 256 empty slots. */
	for (size_t i = 0, seen = 0; i < AGENT_MAX_FILES && seen < t->n; i++)
		if (t->files[i]) {
			sum += t->files[i]->offset + t->files[i]->gen;
			seen++;
		}
	return sum;
}

/*
 * Whether an open file is read less than TAIL_HOT_SMALL into: a rewrite
 * after a truncation could pass its read position within a tick, so its
 * notices are read at every tick (and only the written files are checked).
 * A closed entry has no position to pass (a configured file not there yet,
 * a rotated file finished, a position kept while a sync is in doubt: for
 * hours, it would keep the steady stream off).
 */
static bool
tail_any_small(const struct tail *t)
{
	for (size_t i = 0, seen = 0; i < AGENT_MAX_FILES && seen < t->n; i++)
		if (t->files[i] && ++seen && t->files[i]->fd >= 0 &&
		    t->files[i]->offset < TAIL_HOT_SMALL)
			return true;
	return false;
}

/* tail_read_all, and whether it took any line. */
static bool
tail_read_progress(struct tail *t)
{
	uint64_t before = tail_offsets(t);

	tail_read_all(t);
	return tail_offsets(t) != before;
}

/* Acts on the notices gathered: content checks, rotation checks, reading. */
static void
tail_on_notices(struct tail *t)
{
	t->last_read_us = ms_mono_us();
	/* Before reading a written file: was it truncated or rewritten? */
	for (size_t i = 0; i < AGENT_MAX_FILES; i++) {
		struct tail_file *f = t->files[i];
		if (f && f->modified) {
			f->modified = false;
			tail_check_content(t, f);
		}
	}
	if (t->moved) {
		t->moved = false;
		tail_check_all(t);
	}
	t->hot_progress = tail_read_progress(t);
}

/*
 * Arms the read-coalescing timer. A timerfd of our own costs one
 * timerfd_settime per batch; libevent's precise timers (which a sub-
 * millisecond wait would need otherwise) re-program theirs at every turn of
 * the loop, three times per batch under a steady stream.
 */
static void
tail_batch_arm(struct tail *t, const struct timeval *tv)
{
	if (t->batch_fd >= 0) {
		struct itimerspec its = { { 0, 0 }, { tv->tv_sec, (long)tv->tv_usec * 1000 } };

		if (timerfd_settime(t->batch_fd, 0, &its, NULL) == 0)
			return;
	}
	evtimer_add(t->batch_ev, tv);
}

/*
 * Enters the steady-stream mode (see struct tail): the first tick after
 * wait_us, then one every read_batch_us. 0, or -1 (then the caller arms a
 * single tick as without a timerfd).
 */
static int
tail_hot_start(struct tail *t, int64_t wait_us)
{
	int64_t every = t->a->conf.read_batch_us;
	struct itimerspec its = {
		{ (time_t)(every / 1000000), (long)(every % 1000000) * 1000 },
		{ (time_t)(wait_us / 1000000), (long)(wait_us % 1000000) * 1000 },
	};

	if (t->batch_fd < 0 || timerfd_settime(t->batch_fd, 0, &its, NULL) != 0)
		return -1;
	if (event_del(t->inotify_ev) < 0) {
		its.it_interval.tv_sec = its.it_interval.tv_nsec = 0;
		timerfd_settime(t->batch_fd, 0, &its, NULL);
		return -1;
	}
	t->hot = true;
	t->hot_progress = false;	/* the first tick reads the notices */
	return 0;
}

/* Back to waiting for inotify: notices that came since the last tick wake it at once. */
static void
tail_hot_stop(struct tail *t)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	t->hot = false;
	timerfd_settime(t->batch_fd, 0, &its, NULL);
	if (event_add(t->inotify_ev, NULL) < 0)
		ms_warn("event=inotify_rearm_failed note=\"files are polled every agent.poll_ms\"");
}

static void
tail_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;
	int64_t wait_us;

	if (t->stopped) {
		tail_inotify_drain(t);
		return;
	}
	/*
	 * A line after a quiet spell is read at once; within read_batch_us of
	 * the last read, the next read waits for the rest of that time (the
	 * notices wait in the kernel, which merges them).
	 */
	wait_us = t->last_read_us + t->a->conf.read_batch_us - ms_mono_us();
	if (t->batch_ev && wait_us > 0) {
		struct timeval tv = { 0, (suseconds_t)wait_us };

		/*
		 * inotify is edge-triggered: undrained notices do not wake us
		 * again, and the kernel merges the ones that follow.
		 */
		if (!t->batching && tail_hot_start(t, wait_us) < 0)
			tail_batch_arm(t, &tv);
		t->batching = true;
		return;
	}
	tail_inotify_drain(t);
	tail_on_notices(t);
}

static void
tail_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;

	if (t->stopped)
		return;
	if (t->hot) {
		uint64_t ticks;
		int64_t now = ms_mono_us();

		/*
		 * A repeating timerfd starts its next period only once read: the
		 * kernel's timer callback does not restart it, timerfd's read does
		 * (hrtimer_forward). Measured (Linux 6.18, 2026-11-26): a 3 ms
		 * timerfd in epoll with EPOLLET and never read woke epoll_wait once
		 * in 0.3 s, then one read returned 101 expiries. So this read
		 * cannot be saved by edge-triggering; arming a one-shot timer
		 * instead would cost a timerfd_settime per tick just the same.
		 */
		if (read(t->batch_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			ms_debug("event=batch_timer_read_failed reason=\"%s\"", strerror(errno));
		if (t->hot_progress && now - t->hot_check_us < TAIL_HOT_CHECK_US && !tail_any_small(t)) {
			/* Lines came last tick: read on, notices later (see struct tail). */
			t->last_read_us = now;
			if ((t->hot_progress = tail_read_progress(t)))
				return;
		}
		t->hot_check_us = now;
		/*
		 * A tick without notice, or whose notices led to no line (they
		 * were for lines read already): the stream paused. inotify
		 * takes over; a notice pending when it is added wakes it at once.
		 */
		if (!tail_inotify_drain(t)) {
			t->batching = false;
			tail_hot_stop(t);
			return;
		}
		tail_on_notices(t);
		if (!t->hot_progress) {
			t->batching = false;
			tail_hot_stop(t);
		}
		return;
	}
	t->batching = false;
	tail_inotify_drain(t);
	tail_on_notices(t);
}

struct tail *
tail_new(struct agent *a, char *err, size_t errsz)
{
	struct tail *t = calloc(1, sizeof(*t));
	struct timeval tv;

	if (t == NULL)
		goto nomem;
	t->a = a;
	t->ifd = -1;
	t->batch_fd = -1;
	if ((t->buf = malloc(TAIL_BUF)) == NULL)
		goto nomem;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0)
		ms_warn("event=inotify_unavailable reason=\"%s\" note=\"polling only\"", strerror(errno));
	/* Configured paths first (kept even while missing), then what the globs match. */
	for (size_t i = 0; i < a->nfiles; i++)
		if (!a->files[i].is_glob)
			tail_add(t, a->files[i].path, a->files[i].from_beginning, false, true);
	tail_expand(t, true);
	if (t->ifd >= 0) {
		t->inotify_ev = event_new(a->base, t->ifd, EV_READ | EV_PERSIST | EV_ET, tail_inotify_cb,
		    t);
		if (t->inotify_ev == NULL || event_add(t->inotify_ev, NULL) < 0)
			goto nomem;
	}
	t->poll_ev = event_new(a->base, -1, EV_PERSIST, tail_poll_cb, t);
	if (t->poll_ev == NULL)
		goto nomem;
	if (t->inotify_ev && a->conf.read_batch_us > 0) {
		/*
		 * Edge-triggered and never read: each expiry wakes the loop once;
		 * re-arming resets the count. Without timerfd: a libevent timer.
		 */
		t->batch_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		t->batch_ev = t->batch_fd >= 0
		    ? event_new(a->base, t->batch_fd, EV_READ | EV_PERSIST | EV_ET, tail_batch_cb, t)
		    : evtimer_new(a->base, tail_batch_cb, t);
		if (t->batch_ev == NULL || (t->batch_fd >= 0 && event_add(t->batch_ev, NULL) < 0))
			goto nomem;
	}
	tv.tv_sec = a->conf.poll_ms / 1000;
	tv.tv_usec = (a->conf.poll_ms % 1000) * 1000;
	evtimer_add(t->poll_ev, &tv);
	tail_save(t);
	return t;
nomem:
	snprintf(err, errsz, "out of memory");
	tail_free(t);
	return NULL;
}

void
tail_stop(struct tail *t)
{
	t->stopped = true;
	if (t->inotify_ev)
		event_del(t->inotify_ev);
	if (t->poll_ev)
		event_del(t->poll_ev);
	if (t->batch_ev)
		event_del(t->batch_ev);
}

void
tail_free(struct tail *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < AGENT_MAX_FILES; i++) {
		const struct tail_file *f = t->files[i];

		/* Not read again before the stop (the spool was full): the next start may. */
		if (f != NULL && f->nholes > 0)
			ms_warn("event=spool_lines_unrecovered path=%s inode=%llu offset=%llu holes=%zu "
			    "note=\"lines lost from the spool not read again before the stop\"",
			    f->path, (unsigned long long)f->ino, (unsigned long long)f->holes[0].from,
			    f->nholes);
		tail_file_free(t, t->files[i]);
	}
	if (t->inotify_ev)
		event_free(t->inotify_ev);
	if (t->poll_ev)
		event_free(t->poll_ev);
	if (t->batch_ev)
		event_free(t->batch_ev);
	if (t->batch_fd >= 0)
		close(t->batch_fd);
	if (t->ifd >= 0)
		close(t->ifd);
	free(t->buf);
	free(t);
}

size_t
tail_info(const struct tail *t, struct tail_file_info *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < AGENT_MAX_FILES && n < max; i++) {
		const struct tail_file *f = t->files[i];
		struct stat st;

		/* A draining rotated copy is the same followed file: reported once. */
		if (f == NULL || f->draining)
			continue;
		out[n].path = f->path;
		out[n].open = f->fd >= 0;
		out[n].offset = f->offset;
		out[n].size = f->fd >= 0 && fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
		n++;
	}
	return n;
}

size_t
tail_count(const struct tail *t)
{
	return t->n;
}

void
tail_durable(struct tail *t)
{
	for (size_t i = 0; i < AGENT_MAX_FILES; i++) {
		struct tail_file *f = t->files[i];

		if (f == NULL)
			continue;
		if (f->prev_pending) {
			f->prev_acked = f->prev_spooled;
			f->prev_pending = 0;
			t->dirty = true;
		}
		if (f->pending || f->acked != f->spooled) {
			f->acked = f->spooled;
			f->pending = 0;
			t->dirty = true;
		}
	}
}

bool
tail_dirty(const struct tail *t)
{
	return t->dirty;
}

/*
 * Whether f has a position to save: an open file, the old file's lines
 * not yet durable, or a closed draining entry whose lines are not (a
 * rotated file read to its end, or a position tail_hold_prev moved out
 * while the sync is in doubt). A draining file's is saved after every
 * followed file's (tail_save): the first position saved for a path is the
 * followed file's whenever it has one (older agents read only that one), a
 * later one is a rotated file that was still read (tail_restore_drains).
 */
static bool
tail_saved(const struct tail_file *f)
{
	return f != NULL && (f->fd >= 0 || f->prev_pending != 0 || (f->draining && f->pending != 0));
}

int
tail_save(struct tail *t)
{
	struct state_pos *pos;
	size_t n = 0, want = 0;
	int rc;

	/*
	 * Room for the files saved, not for AGENT_MAX_FILES (1 MiB): a
	 * mapping made and dropped at every save (once a second while lines
	 * are read) otherwise.
	 */
	for (size_t i = 0; i < AGENT_MAX_FILES; i++)
		if (tail_saved(t->files[i]))
			want++;
	if ((pos = calloc(want ? want : 1, sizeof(*pos))) == NULL)
		return -1;
	for (size_t k = 0; k < 2 * AGENT_MAX_FILES; k++) {
		/* Followed files first, then draining ones. */
		struct tail_file *f = t->files[k % AGENT_MAX_FILES];
		char head[AGENT_FP_BYTES];
		ssize_t hn;

		if (!tail_saved(f) || f->draining != (k >= AGENT_MAX_FILES))
			continue;
		/* Lines read since the last check: the head they came from is saved with them. */
		if (f->fd >= 0 && f->fp_len < AGENT_FP_BYTES && (hn = tail_head(f->fd, head)) > 0)
			tail_fp_extend(t, f, head, (size_t)hn);
		ms_copy(pos[n].path, sizeof(pos[n].path), f->path, strlen(f->path));
		pos[n].has_fp = true;
		if (f->prev_pending) {
			/* Unacknowledged lines of the old file: a restart finds it by inode. */
			pos[n].dev = f->prev_dev;
			pos[n].ino = f->prev_ino;
			pos[n].fp = f->prev_fp;
			pos[n].fp_len = f->prev_fp_len;
			pos[n].offset = f->prev_acked;
		} else {
			pos[n].dev = f->dev;
			pos[n].ino = f->ino;
			pos[n].fp = f->fp;
			pos[n].fp_len = f->fp_len;
			pos[n].offset = f->acked;
		}
		n++;
	}
	rc = state_save(t->a->state, pos, n);
	free(pos);
	/* Not saved: still dirty, so the commit's timer runs on and tries again. */
	if (rc == 0)
		t->dirty = false;
	return rc;
}
