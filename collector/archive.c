/*
 * archive – the event archive: per system, per day, zstd-compressed text
 * records (format and durability in archive.h and docs/archive.md).
 */
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "ms_buf.h"
#include "ms_compliance.h"
#include "ms_log.h"

#define ARCHIVE_MAX_OPEN 256		/* files open at once (systems x days) */
#define ARCHIVE_IN_FLUSH (256 * 1024)	/* records held before they are compressed */
#define ARCHIVE_IN_CAP (4 * 1024 * 1024)	/* one record can never pass this */
#define DAY_MS (86400 * (int64_t)1000)

struct writer {
	char system[ARCHIVE_SYSTEM_MAX + 1];
	int64_t day;		/* days since 1970-01-01, UTC */
	int n;			/* the run number in its name */
	int fd;
	ZSTD_CCtx *cctx;
	struct ms_buf in;	/* records not yet compressed */
	char *out;		/* compressed, not yet written */
	size_t out_len;
	size_t out_cap;
	/*
	 * The records behind the bytes of out, per compressed block, oldest
	 * first: ends[i] is where block i ends in out, recs[i] its records.
	 * What a file closed with bytes unwritten loses, counted in records.
	 */
	size_t *ends;
	uint64_t *recs;
	size_t nblocks;
	size_t blocks_cap;	/* at least 16 */
	uint64_t in_records;	/* records in in */
	bool frame_open;	/* a frame was started and not ended */
	bool dirty;		/* written since the last fdatasync */
	uint64_t used;		/* a->tick when last used (least recently used is closed first) */
};

struct archive {
	char dir[4096];
	int level;
	size_t backlog_max;
	struct writer *w[ARCHIVE_MAX_OPEN];
	size_t nw;
	struct writer *last;	/* the writer of the previous record */
	uint64_t tick;
	int64_t err_logged_ms;
	int64_t now;		/* the clock at the last flush: plenty for a day's bounds */
	struct archive_stats stats;
};

bool
archive_system_ok(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0' || s[0] == '.')
		return false;
	for (n = 0; s[n]; n++) {
		char c = s[n];
		if (n >= ARCHIVE_SYSTEM_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Errors are logged at most once a minute: a full disk would flood the log. */
static void
archive_error(struct archive *a, const char *what, const char *path, int err)
{
	int64_t now = ms_now_ms();

	a->stats.write_errors++;
	if (now - a->err_logged_ms < 60000)
		return;
	a->err_logged_ms = now;
	ms_err("event=archive_error op=%s path=\"%s\" error=\"%s\" errors=%llu", what, path,
	    strerror(err), (unsigned long long)a->stats.write_errors);
}

struct archive *
archive_new(const char *dir, int level, size_t backlog_max, char *err, size_t errsz)
{
	struct archive *a;

	if (strlen(dir) >= sizeof(a->dir) - ARCHIVE_SYSTEM_MAX - 32) {
		snprintf(err, errsz, "archive folder name too long");
		return NULL;
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "%s: cannot create: %s", dir, strerror(errno));
		return NULL;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errsz, "%s: not writable: %s", dir, strerror(errno));
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	ms_copy(a->dir, sizeof(a->dir), dir, strlen(dir));
	a->level = level;
	a->backlog_max = backlog_max;
	a->now = ms_now_ms();
	return a;
}

/*
 * The UTC day of ms (days since 1970-01-01). UTC, not local time: the same
 * file names whatever the collector's zone, and the compliance report's
 * retention check counts days the same way.
 */
static int64_t
archive_day(const struct archive *a, int64_t ms)
{
	(void)a;
	return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

static void
day_name(char *out, size_t outsz, int64_t day)
{
	/* civil from days (Howard Hinnant's algorithm) */
	int64_t z = day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	snprintf(out, outsz, "%04lld-%02lld-%02lld", (long long)(y + (m <= 2)), (long long)m,
	    (long long)d);
}

static int
writer_out_reserve(struct writer *w, size_t n)
{
	char *p;
	size_t cap;

	if (w->out_cap - w->out_len >= n)
		return 0;
	cap = w->out_cap ? w->out_cap : 64 * 1024;
	while (cap - w->out_len < n)
		cap *= 2;
	if ((p = realloc(w->out, cap)) == NULL)
		return -1;
	w->out = p;
	w->out_cap = cap;
	return 0;
}

/*
 * Notes the block just compressed (w->in_records records, up to
 * w->out_len). Out of memory, they join the newest block noted (there is
 * one: writer_open made room for 16): counted lost with it, a few too
 * many rather than none.
 */
static void
writer_block_add(struct writer *w)
{
	if (w->nblocks == w->blocks_cap) {
		size_t cap = 2 * w->blocks_cap;
		size_t *e = realloc(w->ends, cap * sizeof(*e));
		uint64_t *r;

		if (e != NULL)
			w->ends = e;
		r = e ? realloc(w->recs, cap * sizeof(*r)) : NULL;
		if (r != NULL) {
			w->recs = r;
			w->blocks_cap = cap;
		}
	}
	if (w->nblocks < w->blocks_cap) {
		w->ends[w->nblocks] = w->out_len;
		w->recs[w->nblocks++] = w->in_records;
	} else {
		w->ends[w->nblocks - 1] = w->out_len;
		w->recs[w->nblocks - 1] += w->in_records;
	}
	w->in_records = 0;
}

/* n bytes of w->out were written: the blocks they complete are safe. */
static void
writer_blocks_written(struct writer *w, size_t n)
{
	size_t k = 0;

	while (k < w->nblocks && w->ends[k] <= n)
		k++;
	memmove(w->ends, w->ends + k, (w->nblocks - k) * sizeof(*w->ends));
	memmove(w->recs, w->recs + k, (w->nblocks - k) * sizeof(*w->recs));
	w->nblocks -= k;
	for (size_t i = 0; i < w->nblocks; i++)
		w->ends[i] -= n;
}

/* Compresses w->in into w->out, ending the block (flush) or the frame (end). */
static int
writer_compress(struct archive *a, struct writer *w, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { w->in.data, w->in.len, 0 };
	size_t left;

	if (w->in.len == 0 && (mode == ZSTD_e_flush || !w->frame_open))
		return 0;
	do {
		ZSTD_outBuffer out;

		if (writer_out_reserve(w, ZSTD_CStreamOutSize()) < 0)
			return -1;
		out.dst = w->out + w->out_len;
		out.size = w->out_cap - w->out_len;
		out.pos = 0;
		left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(left)) {
			ms_err("event=archive_error op=compress error=\"%s\"", ZSTD_getErrorName(left));
			ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_only);
			return -1;
		}
		w->out_len += out.pos;
	} while (left != 0 || in.pos < in.size);
	w->frame_open = mode != ZSTD_e_end;
	a->stats.bytes_in += w->in.len;
	ms_buf_reset(&w->in);
	writer_block_add(w);
	return 0;
}

static void
writer_path(const struct archive *a, const struct writer *w, char *out, size_t outsz)
{
	char day[64];

	day_name(day, sizeof(day), w->day);
	/* a->dir leaves room (archive_new); a cut name would only fail to open. */
	if (snprintf(out, outsz, "%s/%s/%s.%d.zst", a->dir, w->system, day, w->n) < 0)
		out[0] = '\0';
}

/* Writes what w->out holds; a short or failed write keeps the rest for later. */
static int
writer_write(struct archive *a, struct writer *w)
{
	size_t off = 0;
	int rc = 0;

	while (off < w->out_len) {
		ssize_t n = write(w->fd, w->out + off, w->out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			char path[4200];
			writer_path(a, w, path, sizeof(path));
			archive_error(a, "write", path, n < 0 ? errno : ENOSPC);
			rc = -1;
			break;
		}
		off += (size_t)n;
		a->stats.bytes_out += (uint64_t)n;
		w->dirty = true;
	}
	if (off > 0) {
		memmove(w->out, w->out + off, w->out_len - off);
		w->out_len -= off;
		writer_blocks_written(w, off);
	}
	return rc;
}

static int
writer_sync(struct archive *a, struct writer *w)
{
	int rc = 0;

	if (writer_compress(a, w, ZSTD_e_end) < 0)
		rc = -1;
	if (writer_write(a, w) < 0)
		rc = -1;
	if (w->dirty && w->out_len == 0) {
		if (fdatasync(w->fd) < 0) {
			char path[4200];
			writer_path(a, w, path, sizeof(path));
			archive_error(a, "fdatasync", path, errno);
			rc = -1;
		} else {
			w->dirty = false;
		}
	}
	return rc;
}

static void
writer_close(struct archive *a, struct writer *w)
{
	writer_sync(a, w);
	/* The disk refused the last bytes: their records are counted, not hidden. */
	if (w->out_len > 0 || w->in.len > 0) {
		uint64_t lost = w->in_records;

		for (size_t i = 0; i < w->nblocks; i++)
			lost += w->recs[i];
		a->stats.dropped += lost;
	}
	close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	ms_buf_fini(&w->in);
	free(w->out);
	free(w->ends);
	free(w->recs);
	free(w);
}

static struct writer *
writer_open(struct archive *a, const char *system, int64_t day)
{
	struct writer *w;
	char path[4200];

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	ms_copy(w->system, sizeof(w->system), system, strlen(system));
	w->day = day;
	w->fd = -1;
	snprintf(path, sizeof(path), "%s/%s", a->dir, system);
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		archive_error(a, "mkdir", path, errno);
		goto fail;
	}
	for (w->n = 0; w->n < 100000; w->n++) {
		writer_path(a, w, path, sizeof(path));
		w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
		if (w->fd >= 0)
			break;
		if (errno != EEXIST) {
			archive_error(a, "open", path, errno);
			goto fail;
		}
	}
	if (w->fd < 0)
		goto fail;
	if ((w->cctx = ZSTD_createCCtx()) == NULL)
		goto fail;
	w->blocks_cap = 16;
	if ((w->ends = calloc(w->blocks_cap, sizeof(*w->ends))) == NULL ||
	    (w->recs = calloc(w->blocks_cap, sizeof(*w->recs))) == NULL)
		goto fail;
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, a->level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	ms_buf_init(&w->in, ARCHIVE_IN_CAP);
	a->stats.files_opened++;
	ms_info("event=archive_open path=\"%s\"", path);
	return w;
fail:
	if (w->fd >= 0)
		close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	free(w->ends);
	free(w->recs);
	free(w);
	return NULL;
}

static struct writer *
archive_writer(struct archive *a, const char *system, int64_t day)
{
	struct writer *w = a->last;
	size_t i, lru = 0;

	if (w && w->day == day && strcmp(w->system, system) == 0)
		return w;
	for (i = 0; i < a->nw; i++) {
		if (a->w[i]->day == day && strcmp(a->w[i]->system, system) == 0)
			return a->w[i];
		if (a->w[i]->used < a->w[lru]->used)
			lru = i;
	}
	if (a->nw == ARCHIVE_MAX_OPEN) {
		if (a->last == a->w[lru])
			a->last = NULL;
		writer_close(a, a->w[lru]);
		a->w[lru] = a->w[--a->nw];
	}
	if ((w = writer_open(a, system, day)) == NULL)
		return NULL;
	a->w[a->nw++] = w;
	return w;
}

/*
 * Writes p/n to out with '\\', '\n' (and '\t' when tabs) escaped; out has
 * room for 2n bytes. Returns the bytes written. Most lines hold none of
 * them: memchr (vectorised) finds that out before any byte loop.
 */
static size_t
put_escaped(char *out, const char *p, size_t n, bool tabs)
{
	size_t o = 0;

	if (memchr(p, '\\', n) == NULL && memchr(p, '\n', n) == NULL &&
	    (!tabs || memchr(p, '\t', n) == NULL)) {
		memcpy(out, p, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\\' || c == '\n' || (c == '\t' && tabs)) {
			out[o++] = '\\';
			c = c == '\n' ? 'n' : c == '\t' ? 't' : '\\';
		}
		out[o++] = c;
	}
	return o;
}

static size_t
put_u64(char *out, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(out, t + i, sizeof(t) - i);
	return sizeof(t) - i;
}

int
archive_add(struct archive *a, const char *system, int64_t time_ms, const char *agent,
    uint64_t seq, struct ms_str source, struct ms_str line)
{
	struct writer *w;
	int64_t now = a->now;
	size_t alen, n;
	char *o;

	if (!archive_system_ok(system)) {
		if (system != NULL)
			a->stats.bad_system++;
		system = "unassigned";
	}
	if (time_ms < now - DAY_MS || time_ms > now + DAY_MS)
		time_ms = now;
	if ((w = archive_writer(a, system, archive_day(a, time_ms))) == NULL) {
		a->stats.dropped++;
		return -1;
	}
	a->last = w;
	w->used = ++a->tick;
	if (w->out_len + w->in.len > a->backlog_max) {
		a->stats.dropped++;
		return -1;
	}
	alen = strlen(agent);
	/* Worst case: every byte escaped, two numbers, four tabs, a newline. */
	if (source.len > ARCHIVE_IN_CAP || line.len > ARCHIVE_IN_CAP || alen > 1024 ||
	    (o = ms_buf_room(&w->in, 2 * (alen + source.len + line.len) + 48)) == NULL) {
		w->in.toobig = false;
		a->stats.dropped++;
		return -1;
	}
	n = put_u64(o, (uint64_t)(time_ms < 0 ? 0 : time_ms));
	o[n++] = '\t';
	n += put_escaped(o + n, agent, alen, true);
	o[n++] = '\t';
	n += put_u64(o + n, seq);
	o[n++] = '\t';
	n += put_escaped(o + n, source.p, source.len, true);
	o[n++] = '\t';
	n += put_escaped(o + n, line.p, line.len, false);
	o[n++] = '\n';
	ms_buf_commit(&w->in, n);
	w->in_records++;
	a->stats.events++;
	if (w->in.len >= ARCHIVE_IN_FLUSH && writer_compress(a, w, ZSTD_e_flush) == 0)
		writer_write(a, w);
	return 0;
}

int
archive_flush(struct archive *a)
{
	int rc = 0;

	a->now = ms_now_ms();
	for (size_t i = 0; i < a->nw; i++) {
		struct writer *w = a->w[i];
		if (w->in.len == 0 && w->out_len == 0)
			continue;
		if (writer_compress(a, w, ZSTD_e_flush) < 0 || writer_write(a, w) < 0)
			rc = -1;
	}
	return rc;
}

int
archive_sync(struct archive *a)
{
	int64_t today;
	int rc = 0;

	a->now = ms_now_ms();
	today = archive_day(a, a->now);
	for (size_t i = 0; i < a->nw;) {
		struct writer *w = a->w[i];
		if (writer_sync(a, w) < 0)
			rc = -1;
		/* A past day's file is done once its last bytes are on disk. */
		if (w->day < today - 1 && w->out_len == 0 && w->in.len == 0) {
			if (a->last == w)
				a->last = NULL;
			writer_close(a, w);
			a->w[i] = a->w[--a->nw];
			continue;
		}
		i++;
	}
	return rc;
}

static bool
archive_is_open(const struct archive *a, const char *system, int64_t day)
{
	for (size_t i = 0; i < a->nw; i++)
		if (a->w[i]->day == day && strcmp(a->w[i]->system, system) == 0)
			return true;
	return false;
}

int
archive_expire(struct archive *a, int64_t now_ms, int (*keep_days)(const char *system, void *arg),
    void *arg)
{
	int64_t today = archive_day(a, now_ms);
	DIR *top, *sub;
	struct dirent *de, *fe;
	int deleted = 0;

	if ((top = opendir(a->dir)) == NULL) {
		archive_error(a, "opendir", a->dir, errno);
		return 0;
	}
	while ((de = readdir(top)) != NULL) {
		int keep, fd;

		if (!archive_system_ok(de->d_name) || (keep = keep_days(de->d_name, arg)) <= 0)
			continue;
		/* By descriptor, never following a link planted in the folder. */
		fd = openat(dirfd(top), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || (sub = fdopendir(fd)) == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((fe = readdir(sub)) != NULL) {
			int64_t day;

			if (ms_archive_day(fe->d_name, &day) < 0 || day >= today - keep || archive_is_open(a, de->d_name, day))
				continue;
			if (unlinkat(dirfd(sub), fe->d_name, 0) == 0) {
				deleted++;
				a->stats.files_expired++;
				ms_info("event=archive_expired system=%s file=\"%.255s\" keep_days=%d",
				    de->d_name, fe->d_name, keep);
			} else {
				archive_error(a, "unlink", fe->d_name, errno);
			}
		}
		closedir(sub);
	}
	closedir(top);
	return deleted;
}

const struct archive_stats *
archive_get_stats(const struct archive *a)
{
	return &a->stats;
}

void
archive_free(struct archive *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nw; i++)
		writer_close(a, a->w[i]);
	free(a);
}

/* --- reading --- */

/* Unescapes p/n into out (at least n bytes). Returns the length. */
static size_t
unescape(const char *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			char c = p[++i];
			out[o++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		} else {
			out[o++] = p[i];
		}
	}
	return o;
}

static bool
parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* One record line (without '\n'); 0 parsed, -1 malformed. scratch: 2*n bytes. */
static int
parse_record(const char *p, size_t n, char *scratch, struct archive_record *r)
{
	const char *f[4];
	size_t fl[4], k = 0, start = 0;
	uint64_t t;
	size_t o;

	for (size_t i = 0; i < n && k < 4; i++) {
		if (p[i] == '\t') {
			f[k] = p + start;
			fl[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	if (k < 4 || !parse_u64(f[0], fl[0], &t) || !parse_u64(f[2], fl[2], &r->seq))
		return -1;
	r->time_ms = (int64_t)t;
	o = unescape(f[1], fl[1], scratch);
	r->agent = ms_str_make(scratch, o);
	r->source.p = scratch + o;
	r->source.len = unescape(f[3], fl[3], scratch + o);
	o += r->source.len;
	r->line.p = scratch + o;
	r->line.len = unescape(p + start, n - start, scratch + o);
	return 0;
}

/*
 * Moves in past bytes up to the next zstd frame's magic number; false when
 * there is none in it, *kept then the last bytes to keep for the next read
 * (a magic number cut by the buffer's end).
 */
static bool
frame_find(ZSTD_inBuffer *in, size_t *kept)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };	/* ZSTD_MAGICNUMBER, LE */
	const unsigned char *p = in->src;

	for (size_t i = in->pos; i + 4 <= in->size; i++)
		if (p[i] == magic[0] && memcmp(p + i, magic, 4) == 0) {
			in->pos = i;
			return true;
		}
	*kept = in->size - in->pos < 3 ? in->size - in->pos : 3;
	in->pos = in->size;
	return false;
}

int
archive_read_file(const char *path, archive_record_fn fn, void *arg, uint64_t *bad, char *err,
    size_t errsz)
{
	size_t inCap = ZSTD_DStreamInSize(), outCap = ZSTD_DStreamOutSize();
	char *ibuf = NULL, *obuf = NULL, *scratch = NULL;
	struct ms_buf pend;	/* decompressed bytes not yet a whole record */
	ZSTD_DCtx *dctx = NULL;
	size_t last = 0, scap = 0, kept = 0, before;
	int rc = -1, fd;
	uint64_t nbad = 0, corrupt = 0, off = 0, base = 0;
	uint64_t frame_at = 0, scanned = UINT64_MAX;	/* the frame being decoded began at */
	bool resync = false, in_frame = false, eof_scan = false;

	ms_buf_init(&pend, 2 * ARCHIVE_IN_CAP);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	ibuf = malloc(inCap);
	obuf = malloc(outCap);
	dctx = ZSTD_createDCtx();
	if (ibuf == NULL || obuf == NULL || dctx == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, ibuf + kept, inCap - kept);
		ZSTD_inBuffer in;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0) {
			if (!in_frame || scanned == frame_at)
				break;
			/*
			 * The last frame does not end: a torn end (a crash, or the
			 * file being written) – or a damaged block header that took
			 * the frames after it for its content. Look for a frame after
			 * its start, once.
			 */
			scanned = frame_at;
			if (lseek(fd, (off_t)frame_at + 1, SEEK_SET) < 0)
				break;
			off = frame_at + 1;
			kept = 0;
			resync = eof_scan = true;
			continue;
		}
		in.src = ibuf;
		in.size = kept + (size_t)n;
		in.pos = 0;
		base = off - kept;
		off += (uint64_t)n;
		kept = 0;
		while (in.pos < in.size) {
			ZSTD_outBuffer o = { obuf, outCap, 0 };
			size_t start = 0;

			if (resync && !frame_find(&in, &kept)) {
				/* Kept: the last bytes, a magic number's start maybe. */
				memmove(ibuf, ibuf + in.size - kept, kept);
				break;
			}
			if (resync && eof_scan) {
				/* A frame after one that did not end: that one was damaged. */
				if (corrupt++ == 0)
					snprintf(err, errsz, "%s: corrupt data near byte %llu: a frame that "
					    "does not end (skipped to the next frame)", path,
					    (unsigned long long)frame_at);
				ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
				pend.len = 0;
				eof_scan = in_frame = false;
			}
			resync = false;
			if (!in_frame) {
				frame_at = base + in.pos;
				in_frame = true;
			}
			before = in.pos;
			last = ZSTD_decompressStream(dctx, &o, &in);
			if (last == 0)
				in_frame = false;	/* ended: the next call begins a frame */
			if (ZSTD_isError(last)) {
				/*
				 * A damaged frame (a bad block, a bit flipped): its records
				 * are lost, not the ones after it – each sync ended a frame.
				 * Read on from the next frame's magic number; the half
				 * record decoded so far goes with it.
				 */
				if (corrupt++ == 0)
					snprintf(err, errsz, "%s: corrupt data near byte %llu: %s (skipped to "
					    "the next frame)", path, (unsigned long long)(base + in.pos),
					    ZSTD_getErrorName(last));
				ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
				/*
				 * The next frame begins after every byte of this one
				 * decoded so far: look from the failing call's first
				 * byte on (what it took in may hold it), one past it so
				 * that a damaged frame's own magic is not found again.
				 */
				in.pos = before + 1;
				pend.len = 0;
				last = 0;
				resync = true;
				in_frame = false;
				continue;
			}
			if (ms_buf_add(&pend, obuf, o.pos) < 0) {
				snprintf(err, errsz, "%s: record too long", path);
				goto out;
			}
			for (size_t i = 0; i < pend.len; i++) {
				struct archive_record r;
				size_t len;

				if (pend.data[i] != '\n')
					continue;
				len = i - start;
				if (scap < 2 * len + 1) {
					free(scratch);
					scap = 2 * len + 1024;
					if ((scratch = malloc(scap)) == NULL) {
						snprintf(err, errsz, "out of memory");
						goto out;
					}
				}
				if (parse_record(pend.data + start, len, scratch, &r) < 0) {
					nbad++;
				} else if (fn(&r, arg) != 0) {
					rc = 2;
					goto out;
				}
				start = i + 1;
			}
			if (start > 0) {
				memmove(pend.data, pend.data + start, pend.len - start);
				pend.len -= start;
			}
		}
	}
	if (corrupt > 0) {
		rc = 3;
		goto out;
	}
	/* Not ended on a frame boundary, or bytes after the last record: unfinished. */
	rc = (last != 0 || pend.len > 0) ? 1 : 0;
	if (rc == 1)
		snprintf(err, errsz, "%s: ends in an unfinished frame (the collector is still "
		    "writing it, or stopped before ending it: every record before it was read)", path);
out:
	if (bad)
		*bad += nbad;
	if (fd >= 0)
		close(fd);
	free(ibuf);
	free(obuf);
	free(scratch);
	ZSTD_freeDCtx(dctx);
	ms_buf_fini(&pend);
	return rc;
}
