/*
 * tail – follows files line by line.
 *
 * Reading uses pread at the offset of the first byte not yet queued, so a
 * line is taken only when it is complete and fits in the queue; nothing is
 * consumed that was not queued. inotify wakes us on writes; a poll timer
 * checks for rotation (a new inode at the path: the old file is read to
 * its end first), truncation (copytruncate) and files that appear later.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_proto.h"
#include "ms_util.h"

#define TAIL_BUF (256 * 1024)
#define TAIL_SAVE_MS 1000
/* A rotated file's unfinished last line is shipped after this long. */
#define TAIL_PARTIAL_GRACE_MS 2000
/* Entries scanned when looking for a rotated file by inode. */
#define TAIL_DIR_SCAN_MAX 10000

struct tail_file {
	const char *path;	/* borrowed from the agent's file list */
	int fd;
	int wd;			/* inotify watch, -1 when none */
	uint64_t dev, ino;
	uint32_t gen;		/* bumped each time a new file is opened at path */
	uint64_t offset;	/* next byte to read */
	uint64_t acked;		/* every line before this is acknowledged */
	size_t pending;		/* queued lines of this generation not yet acknowledged */
	bool skipping;		/* inside an over-long line: drop to the next newline */
	bool from_beginning;
	int64_t rotated_ms;	/* when the path was seen pointing elsewhere, 0 if not */
	/*
	 * The previous generation (before a rotation or truncation) while some
	 * of its lines are unacknowledged: its position is what must be saved,
	 * so that a crash now resends them.
	 */
	uint64_t prev_dev, prev_ino, prev_acked;
	uint32_t prev_gen;
	size_t prev_pending;
};

struct tail {
	struct agent *a;
	struct tail_file *files;
	size_t n;
	int ifd;
	struct event *inotify_ev;
	struct event *poll_ev;
	char *buf;
	bool stopped;
	bool dirty;		/* acknowledged positions changed since the last save */
	int64_t last_save_ms;
};

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
 * Looks in path's folder for the file with inode (dev, ino) – where a file
 * we were reading went when it was rotated while the agent was stopped.
 * Copies its path into out; 0, or -1 when it is not there.
 */
static int
tail_find_inode(const char *path, uint64_t dev, uint64_t ino, char *out, size_t outsz)
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
		struct stat st;
		if ((uint64_t)de->d_ino != ino || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(out, outsz, "%s/%s", slash == path ? "" : dir, de->d_name) >= outsz)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == dev &&
		    (uint64_t)st.st_ino == ino)
			rc = 0;
	}
	closedir(d);
	return rc;
}

/*
 * Opens f->path (or, at start, the rotated copy of the file we were reading
 * when we stopped). Where reading starts:
 *  - the saved position, when the saved file is found (at path or rotated);
 *  - 0 when the file at path is new to us (rotated, recreated, truncated
 *    while we were away, or appeared later);
 *  - the end, or 0 with start: beginning, for a file never seen before.
 */
static int
tail_open(struct tail *t, struct tail_file *f, bool first_time)
{
	struct stat st;
	const struct state_pos *pos = first_time ? state_find(t->a->state, f->path) : NULL;
	char rotated[4096];
	const char *open_path = f->path;
	int fd;

	if (pos) {
		/* Did the file we were reading move away while we were stopped? */
		if (stat(f->path, &st) != 0 || (uint64_t)st.st_ino != pos->ino ||
		    (uint64_t)st.st_dev != pos->dev) {
			if (tail_find_inode(f->path, pos->dev, pos->ino, rotated, sizeof(rotated)) == 0) {
				ms_info("event=file_resume_rotated path=%s rotated_to=%s offset=%llu",
				    f->path, rotated, (unsigned long long)pos->offset);
				open_path = rotated;
			}
		}
	}
	fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (first_time)
			ms_warn("event=file_missing path=%s reason=\"%s\" note=\"followed when it appears\"",
			    f->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ms_warn("event=file_error path=%s reason=\"not a regular file\"", open_path);
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->gen++;
	f->pending = 0;
	f->skipping = false;
	f->rotated_ms = 0;
	if (pos && pos->dev == f->dev && pos->ino == f->ino && pos->offset <= (uint64_t)st.st_size) {
		/* Resume after the last acknowledged line: unacked lines are sent again. */
		f->offset = pos->offset;
	} else if (first_time && pos == NULL && !f->from_beginning) {
		f->offset = (uint64_t)st.st_size;
	} else {
		f->offset = 0;	/* new to us: read whole */
	}
	f->acked = f->offset;
	/* Watch the path; a rotated copy is read to its end by the poll. */
	if (open_path == f->path)
		tail_watch(t, f);
	ms_info("event=file_open path=%s inode=%llu offset=%llu", open_path,
	    (unsigned long long)f->ino, (unsigned long long)f->offset);
	t->dirty = true;
	return 0;
}

/* Starts a new generation of f; the old one's position is kept while needed. */
static void
tail_new_generation(struct tail_file *f)
{
	if (f->pending > 0) {
		f->prev_dev = f->dev;
		f->prev_ino = f->ino;
		f->prev_acked = f->acked;
		f->prev_gen = f->gen;
		f->prev_pending = f->pending;
	}
	f->pending = 0;
	/*
	 * The old generation ends here, even if no new file can be opened yet:
	 * its acknowledgements must reach prev_*, not the next file's position.
	 */
	f->gen++;
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

/* Queues one line; false when the queue is full. */
static bool
tail_line(struct tail *t, uint32_t idx, struct tail_file *f, const char *p, size_t len,
    uint64_t end_off, int64_t now)
{
	struct agent *a = t->a;

	if (len && p[len - 1] == '\r')
		len--;
	/* A number is used only once it is reserved on disk (cheap: in blocks). */
	if (state_reserve(a->state, a->q.next_seq) < 0) {
		a->stats.reserve_failures++;
		return false;
	}
	if (queue_push(&a->q, idx, f->gen, end_off, now, p, len) == NULL) {
		a->stats.queue_full++;
		return false;
	}
	f->pending++;
	a->stats.lines_read++;
	return true;
}

/*
 * Reads f from its offset while complete lines fit in the queue.
 * Returns 1 when it stopped because the queue is full, else 0.
 */
static int
tail_read_file(struct tail *t, uint32_t idx, struct tail_file *f)
{
	int64_t now = ms_now_ms();
	bool queued = false;
	int rc = 0;

	while (f->fd >= 0) {
		ssize_t n = pread(f->fd, t->buf, TAIL_BUF, (off_t)f->offset);
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (start < (size_t)n) {
			char *nl = memchr(t->buf + start, '\n', (size_t)n - start);
			size_t len;

			if (nl == NULL) {
				len = (size_t)n - start;
				if (len < MS_PROTO_MAX_LINE || f->skipping) {
					if (f->skipping) {
						/* Still inside the over-long line: drop what we saw. */
						f->offset += len;
						start = (size_t)n;
					}
					break;
				}
				/*
				 * A line longer than the protocol allows: ship its head, drop
				 * the rest. Its acknowledgement must not move the saved
				 * position into the middle of the line: it counts as the
				 * line's start (a restart ships the head again).
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
				continue;
			}
			len = (size_t)(nl - (t->buf + start));
			if (f->skipping) {
				f->skipping = false;
			} else if (len > MS_PROTO_MAX_LINE) {
				if (!tail_line(t, idx, f, t->buf + start, MS_PROTO_MAX_LINE,
				    f->offset + len + 1, now)) {
					rc = 1;
					goto out;
				}
				t->a->stats.lines_truncated++;
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
		/* No newline in the rest of the buffer: wait for more data. */
		if (start < (size_t)n && (size_t)n < TAIL_BUF)
			break;
		if (start == 0)
			break;
	}
out:
	if (queued)
		agent_events_queued(t->a);
	return rc;
}

void
tail_read_all(struct tail *t)
{
	if (t->stopped)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (tail_read_file(t, (uint32_t)i, &t->files[i]) == 1)
			return;	/* queue full: acknowledgements call us again */
}

/*
 * Queues the unterminated rest of a rotated file (up to size) as one line.
 * 0, or -1 when the queue is full (try again later).
 */
static int
tail_partial(struct tail *t, uint32_t idx, struct tail_file *f, uint64_t size)
{
	uint64_t len = size - f->offset;
	ssize_t n;

	if (len > MS_PROTO_MAX_LINE)
		len = MS_PROTO_MAX_LINE;
	n = pread(f->fd, t->buf, (size_t)len, (off_t)f->offset);
	if (n <= 0)
		return 0;
	if (!f->skipping && !tail_line(t, idx, f, t->buf, (size_t)n, size, ms_now_ms()))
		return -1;
	ms_warn("event=line_unterminated path=%s offset=%llu bytes=%lld note=\"shipped without newline\"",
	    f->path, (unsigned long long)f->offset, (long long)n);
	f->offset = size;
	agent_events_queued(t->a);
	return 0;
}

/* Rotation, truncation and late files. */
static void
tail_check(struct tail *t, uint32_t idx, struct tail_file *f)
{
	struct stat st, fst;

	if (f->fd < 0) {
		if (tail_open(t, f, false) == 0)
			ms_info("event=file_appeared path=%s", f->path);
		return;
	}
	if (fstat(f->fd, &fst) == 0 && (uint64_t)fst.st_size < f->offset) {
		ms_warn("event=file_truncated path=%s old_offset=%llu size=%lld", f->path,
		    (unsigned long long)f->offset, (long long)fst.st_size);
		t->a->stats.truncations++;
		tail_new_generation(f);
		f->offset = 0;
		f->acked = 0;
		t->dirty = true;
	}
	if (stat(f->path, &st) != 0 || (uint64_t)st.st_ino != f->ino ||
	    (uint64_t)st.st_dev != f->dev) {
		/* Rotated or removed: finish the old file first. */
		int64_t now = ms_mono_ms();

		if (f->rotated_ms == 0)
			f->rotated_ms = now;
		if (tail_read_file(t, idx, f) == 1)
			return;
		if (fstat(f->fd, &fst) == 0 && (uint64_t)fst.st_size > f->offset) {
			/* An unfinished last line: its writer may still complete it ... */
			if (now - f->rotated_ms < TAIL_PARTIAL_GRACE_MS)
				return;
			/* ... but not forever: ship what is there as the last line. */
			if (tail_partial(t, idx, f, (uint64_t)fst.st_size) < 0)
				return;
		}
		ms_info("event=file_rotated path=%s old_inode=%llu", f->path,
		    (unsigned long long)f->ino);
		t->a->stats.rotations++;
		tail_new_generation(f);
		tail_close_file(t, f);
		tail_open(t, f, false);
	}
}

static void
tail_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;

	if (t->stopped)
		return;
	for (size_t i = 0; i < t->n; i++)
		tail_check(t, (uint32_t)i, &t->files[i]);
	tail_read_all(t);
	if (t->dirty && ms_mono_ms() - t->last_save_ms >= TAIL_SAVE_MS)
		tail_save(t);
}

static void
tail_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool moved = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED))
				moved = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (moved) {
		for (size_t i = 0; i < t->n; i++)
			tail_check(t, (uint32_t)i, &t->files[i]);
	}
	tail_read_all(t);
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
	if ((t->buf = malloc(TAIL_BUF)) == NULL ||
	    (t->files = calloc(a->nfiles ? a->nfiles : 1, sizeof(*t->files))) == NULL)
		goto nomem;
	t->n = a->nfiles;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0)
		ms_warn("event=inotify_unavailable reason=\"%s\" note=\"polling only\"", strerror(errno));
	for (size_t i = 0; i < t->n; i++) {
		struct tail_file *f = &t->files[i];
		f->path = a->files[i].path;
		f->from_beginning = a->files[i].from_beginning;
		f->fd = -1;
		f->wd = -1;
		tail_open(t, f, true);
	}
	if (t->ifd >= 0) {
		t->inotify_ev = event_new(a->base, t->ifd, EV_READ | EV_PERSIST, tail_inotify_cb, t);
		if (t->inotify_ev == NULL || event_add(t->inotify_ev, NULL) < 0)
			goto nomem;
	}
	t->poll_ev = event_new(a->base, -1, EV_PERSIST, tail_poll_cb, t);
	if (t->poll_ev == NULL)
		goto nomem;
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
}

void
tail_free(struct tail *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; t->files && i < t->n; i++)
		tail_close_file(t, &t->files[i]);
	if (t->inotify_ev)
		event_free(t->inotify_ev);
	if (t->poll_ev)
		event_free(t->poll_ev);
	if (t->ifd >= 0)
		close(t->ifd);
	free(t->files);
	free(t->buf);
	free(t);
}

void
tail_acked(struct tail *t, uint32_t idx, uint32_t gen, uint64_t end_off)
{
	struct tail_file *f;

	if (idx >= t->n)
		return;
	f = &t->files[idx];
	if (gen == f->gen) {
		if (f->pending)
			f->pending--;
		if (end_off > f->acked)
			f->acked = end_off;
		t->dirty = true;
	} else if (gen == f->prev_gen && f->prev_pending) {
		/* A line of the rotated-away file: its position matters until the last one. */
		f->prev_pending--;
		if (end_off > f->prev_acked)
			f->prev_acked = end_off;
		t->dirty = true;
	}
}

int
tail_save(struct tail *t)
{
	struct state_pos *pos = calloc(t->n ? t->n : 1, sizeof(*pos));
	size_t n = 0;
	int rc;

	if (pos == NULL)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		struct tail_file *f = &t->files[i];
		if (f->fd < 0 && f->prev_pending == 0)
			continue;
		ms_copy(pos[n].path, sizeof(pos[n].path), f->path, strlen(f->path));
		if (f->prev_pending) {
			/* Unacknowledged lines of the old file: a restart finds it by inode. */
			pos[n].dev = f->prev_dev;
			pos[n].ino = f->prev_ino;
			pos[n].offset = f->prev_acked;
		} else {
			pos[n].dev = f->dev;
			pos[n].ino = f->ino;
			pos[n].offset = f->acked;
		}
		n++;
	}
	rc = state_save(t->a->state, pos, n);
	free(pos);
	t->dirty = false;
	t->last_save_ms = ms_mono_ms();
	return rc;
}
