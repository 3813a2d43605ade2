/*
 * state – what the agent must remember across restarts, in one small file
 * (state_dir/state). Its content is a text:
 *
 *   minisoc-agent-state 1
 *   seq_reserved 2000000
 *   acked 1234          (highest local number the collector acknowledged)
 *   seq_shift 0         (added to local numbers on the wire, see uplink.c)
 *   sync_suspect 1240   (only while a failed spool sync leaves records up
 *                        to it in doubt, see spool_sync_suspect)
 *   pos <dev> <ino> <acknowledged offset> fp:<16 hex digits>:<length> <path>
 *
 * The path is the rest of the line, written as it is ("minisoc-agent-state
 * 1") – unless some path has a byte below 0x20 or 0x7f: a file name may
 * hold a newline (a glob's match, a rotated file found by inode), and
 * written raw it would end its line there and what follows would be read
 * as lines of their own (an "acked" far ahead: every unsent line taken
 * for delivered). Then the text starts "minisoc-agent-state 2" and every
 * path has those bytes and the backslash written as \xHH (two hex digits,
 * either case on read); any other backslash, a raw control byte or \x00
 * in a path is a line not understood. Version 1 stays what is written
 * otherwise, so an older agent still reads it (and paths with a backslash
 * saved before, raw, load as they were); an older agent refuses a version
 * 2 file (line 1 is not understood), which only exists while such a name
 * is followed.
 *
 * The fp field (the hash of the file's first <length> bytes, see
 * tail_fingerprint) tells a reused inode from the file that was read; lines
 * written before it existed have no fp field and still load (matched by
 * device and inode alone). A path may have more than one pos line: the
 * first is the followed file's (all an older agent reads, state_find), a
 * later one a rotated file that was still being read (tail_restore_drains).
 *
 * The file holds that text twice, in two slots of S bytes each (S, a
 * multiple of 4 KiB, is half the file's size), written in turn in place:
 *
 *   off  size
 *     0     8  "MSSTATE2"
 *     8     4  CRC-32C of bytes 12 .. 24 + n
 *    12     4  n, the text's length
 *    16     8  generation: one more at every save
 *    24     n  the text (what follows it is left over from older saves)
 *
 * Generation g is in slot g mod 2 (a new file stamps the magic into the
 * slot it leaves empty, so the file always starts with it). A save writes
 * the next generation into the slot of the older one with pwrite and
 * fdatasync: no new inode, no rename, no folder sync (positions
 * are saved once a second while lines are read, and the new-file way cost
 * about 4 % of the agent's CPU at 10,000 lines/s). The load takes the valid
 * slot of the highest generation: a crash during a save leaves that slot
 * torn (its CRC fails) and the other one, the save before, whole. A save
 * that fails leaves the generation where it was, so the next one goes into
 * the same slot again, never into the newest whole one.
 *
 * The file is written anew (a temporary file, fsync, rename, folder fsync)
 * when there is none, when the text outgrows a slot (the new slots have
 * room for twice the text), and when it is a file of the old format – the
 * text alone, as agents before 2026-11-26 wrote it, still read – so an
 * upgrade keeps every position. `minisoc-agent state -c FILE` prints the
 * text of the newest slot (a file of the old format, too), as saved:
 * version 2, escaped, when a path needs it.
 *
 * Sequence numbers are reserved in blocks: the reservation is on disk
 * before any number of the block is used, so a crash can skip numbers but
 * never reuse one (the collector ignores numbers it has handled).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "ms_buf.h"
#include "ms_log.h"
#include "ms_rec.h"
#include "ms_util.h"

#define STATE_SEQ_BLOCK 1000000u
#define STATE_SEQ_CLOCK_MAX_S (UINT64_C(1) << 33)	/* microseconds below 2^53 */
#define STATE_MAX_POS AGENT_MAX_FILES
#define STATE_MAGIC "MSSTATE2"
#define STATE_SLOT_HDR 24
#define STATE_PAGE 4096
/*
 * A pos line at its longest: the numbers and fp field (under 128 bytes)
 * and a path of 4095 bytes, each written as \xHH in version 2.
 */
#define STATE_MAX_LINE (128 + 4 * sizeof(((struct state_pos *)0)->path))
/*
 * 256 positions with the longest paths take about 1.1 MB of text, 4.2 MB
 * when every byte of them is escaped (version 2).
 */
#define STATE_MAX_TEXT (5u << 20)

struct agent_state_file {
	char path[4200];
	char tmp[4200];
	char dir[4096];
	int fd;			/* the file, open for saves in place; -1: write it anew */
	size_t slot_bytes;	/* S: the size of one slot */
	uint64_t gen;		/* generation of the newest slot on disk */
	struct ms_buf text;	/* a slot's image: header, then the text */
	uint64_t seq_reserved;	/* numbers below this may have been used */
	uint64_t first_seq;
	uint64_t acked;
	uint64_t shift;
	uint64_t sync_suspect;	/* 0: none (not written) */
	bool suspect_failing;	/* writing it failed (logged once) */
	struct state_pos pos[STATE_MAX_POS];
	size_t npos;
};

/* Whether c is written as \xHH in a path of version 2. */
static bool
state_escaped(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\';
}

/* Whether some position's path needs version 2 (a byte below 0x20, or 0x7f). */
static bool
state_need_v2(const struct agent_state_file *s)
{
	for (size_t i = 0; i < s->npos; i++)
		for (const unsigned char *c = (const unsigned char *)s->pos[i].path; *c != '\0'; c++)
			if (*c < 0x20 || *c == 0x7f)
				return true;
	return false;
}

/* Appends path, escaped (version 2) or as it is, and the line's newline. 0 or -1. */
static int
state_put_path(struct ms_buf *b, const char *path, bool escape)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(path), o = 0;
	char *out;

	if (!escape)
		return ms_buf_add(b, path, len) < 0 ? -1 : ms_buf_addc(b, '\n');
	if ((out = ms_buf_room(b, 4 * len + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (state_escaped(c)) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '\n';
	ms_buf_commit(b, o);
	return 0;
}

/* The slot's image in s->text: its header, then the text. 0 or -1. */
static int
state_format(struct agent_state_file *s, uint64_t gen)
{
	struct ms_buf *b = &s->text;
	bool v2 = state_need_v2(s);
	size_t n;

	ms_buf_reset(b);
	if (ms_buf_add(b, STATE_MAGIC "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", STATE_SLOT_HDR) < 0 ||
	    ms_buf_printf(b, "minisoc-agent-state %d\nseq_reserved %" PRIu64 "\nacked %" PRIu64
	    "\nseq_shift %" PRIu64 "\n", v2 ? 2 : 1, s->seq_reserved, s->acked, s->shift) < 0)
		return -1;
	/* Only when set: a file without it still loads in an older agent. */
	if (s->sync_suspect != 0 &&
	    ms_buf_printf(b, "sync_suspect %" PRIu64 "\n", s->sync_suspect) < 0)
		return -1;
	for (size_t i = 0; i < s->npos; i++) {
		const struct state_pos *p = &s->pos[i];
		int rc;

		if (p->has_fp)
			rc = ms_buf_printf(b, "pos %" PRIu64 " %" PRIu64 " %" PRIu64 " fp:%016" PRIx64
			    ":%" PRIu32 " ", p->dev, p->ino, p->offset, p->fp, p->fp_len);
		else
			rc = ms_buf_printf(b, "pos %" PRIu64 " %" PRIu64 " %" PRIu64 " ", p->dev,
			    p->ino, p->offset);
		if (rc < 0 || state_put_path(b, p->path, v2) < 0)
			return -1;
	}
	n = b->len - STATE_SLOT_HDR;
	ms_put32(b->data + 12, (uint32_t)n);
	ms_put64(b->data + 16, gen);
	ms_put32(b->data + 8, ms_crc32c(b->data + 12, 12 + n));
	return 0;
}

/* Writes all of p[0..n) at off. 0, or -1 with errno. */
static int
state_pwrite(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/*
 * Writes the file anew with room for twice the text in each slot: gen in
 * its slot, the other slot zero (never valid). The new file's descriptor
 * is kept for the saves in place that follow.
 */
static int
state_rewrite(struct agent_state_file *s, uint64_t gen, char *err, size_t errsz)
{
	size_t need = s->text.len, slot = (2 * need + STATE_PAGE - 1) / STATE_PAGE * STATE_PAGE;
	off_t at = (off_t)(gen % 2) * (off_t)slot;
	int fd, dfd;

	char *img;

	/*
	 * Every byte written, zeros included: the saves in place then find
	 * their blocks allocated and the size final (a hole or an unwritten
	 * extent would make the first save of each slot wait for metadata).
	 */
	if ((img = calloc(2, slot)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	memcpy(img + at, s->text.data, need);
	/* The other slot: the magic (the file always starts with it) and no valid generation. */
	memcpy(img + (size_t)((gen + 1) % 2) * slot, STATE_MAGIC, 8);
	if ((fd = open(s->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errsz, "%s: %s", s->tmp, strerror(errno));
		free(img);
		return -1;
	}
	if (state_pwrite(fd, img, 2 * slot, 0) < 0 || fsync(fd) != 0) {
		snprintf(err, errsz, "%s: %s", s->tmp, strerror(errno));
		free(img);
		close(fd);
		return -1;
	}
	free(img);
	if (rename(s->tmp, s->path) != 0) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		close(fd);
		return -1;
	}
	/* The rename itself must survive a crash too. */
	if ((dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->slot_bytes = slot;
	s->gen = gen;
	return 0;
}

static int
state_write(struct agent_state_file *s, char *err, size_t errsz)
{
	uint64_t gen = s->gen + 1;

	if (state_format(s, gen) < 0) {
		snprintf(err, errsz, "%s: out of memory or more than %u bytes of state", s->path,
		    STATE_MAX_TEXT);
		return -1;
	}
	if (s->fd < 0 || s->text.len > s->slot_bytes)
		return state_rewrite(s, gen, err, errsz);
	/*
	 * Into the older slot. Only the data is synced: the size never
	 * changes and the blocks are allocated, so no metadata is waited for.
	 */
	if (state_pwrite(s->fd, s->text.data, s->text.len, (off_t)(gen % 2) * (off_t)s->slot_bytes) < 0 ||
	    fdatasync(s->fd) != 0) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	s->gen = gen;
	return 0;
}

/*
 * Parses an optional "fp:<16 hex>:<length> " at *p into pos, moving *p past
 * it. A path cannot be mistaken for it: written paths are resolved (they
 * start with '/' or a folder name), never with "fp:" and 16 hex digits.
 */
static void
state_parse_fp(const char **p, struct state_pos *pos)
{
	const char *s = *p;
	unsigned long long len = 0;
	uint64_t fp = 0;
	int i;

	if (strncmp(s, "fp:", 3) != 0)
		return;
	s += 3;
	for (i = 0; i < 16; i++, s++) {
		int v = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 : -1;
		if (v < 0)
			return;
		fp = fp << 4 | (uint64_t)v;
	}
	if (*s++ != ':' || *s < '0' || *s > '9')
		return;
	for (; *s >= '0' && *s <= '9'; s++)
		len = len * 10 + (unsigned long long)(*s - '0');
	if (*s != ' ' || s[1] == '\0' || len > AGENT_FP_BYTES)
		return;
	pos->has_fp = true;
	pos->fp = fp;
	pos->fp_len = (uint32_t)len;
	*p = s + 1;
}

/*
 * Copies the path of a version 2 line, src, unescaped into out. 0, or -1
 * when it is not what state_put_path writes: a backslash not followed by
 * x and two hex digits, \x00 (no path holds it), a raw control byte, or
 * longer than out.
 */
static int
state_unescape(char *out, size_t outsz, const char *src)
{
	size_t o = 0;

	for (const char *p = src; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\') {
			int hi, lo;

			if (p[1] != 'x' || (hi = ms_hexval(p[2])) < 0 || (lo = ms_hexval(p[3])) < 0 ||
			    (hi | lo) == 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			p += 3;
		} else if (state_escaped(c)) {
			return -1;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int
state_parse(struct agent_state_file *s, FILE *f, char *err, size_t errsz)
{
	char line[STATE_MAX_LINE];
	int lineno = 0, version = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strlen(line);
		unsigned long long a, b, c;
		int n = 0;

		lineno++;
		if (l && line[l - 1] == '\n')
			line[--l] = '\0';
		else if (l == sizeof(line) - 1)
			goto bad;	/* longer than any line written: its rest would pass for a line */
		if (lineno == 1) {
			if (strcmp(line, "minisoc-agent-state 1") == 0)
				version = 1;
			else if (strcmp(line, "minisoc-agent-state 2") == 0)
				version = 2;
			else
				goto bad;
			continue;
		}
		if (sscanf(line, "seq_reserved %llu%n", &a, &n) == 1 && line[n] == '\0') {
			s->seq_reserved = a;
			continue;
		}
		if (sscanf(line, "acked %llu%n", &a, &n) == 1 && line[n] == '\0') {
			s->acked = a;
			continue;
		}
		if (sscanf(line, "seq_shift %llu%n", &a, &n) == 1 && line[n] == '\0') {
			s->shift = a;
			continue;
		}
		if (sscanf(line, "sync_suspect %llu%n", &a, &n) == 1 && line[n] == '\0') {
			s->sync_suspect = a;
			continue;
		}
		if (sscanf(line, "pos %llu %llu %llu %n", &a, &b, &c, &n) == 3 && n > 0 &&
		    line[n] != '\0' && s->npos < STATE_MAX_POS) {
			struct state_pos *p = &s->pos[s->npos++];
			const char *rest = line + n;
			memset(p, 0, sizeof(*p));
			p->dev = a;
			p->ino = b;
			p->offset = c;
			state_parse_fp(&rest, p);
			if (version == 1)
				ms_copy(p->path, sizeof(p->path), rest, strlen(rest));
			else if (state_unescape(p->path, sizeof(p->path), rest) < 0 || p->path[0] == '\0')
				goto bad;
			continue;
		}
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errsz, "%s: line %d is not understood (move the file away to start afresh)",
	    s->path, lineno);
	return -1;
}

/* Parses the text p[0..n) (the old format's whole file, or a slot's text). */
static int
state_parse_text(struct agent_state_file *s, const char *p, size_t n, char *err, size_t errsz)
{
	FILE *f;
	int rc;

	if (n == 0)
		return 0;	/* an empty file of the old format: nothing saved (as before) */
	if ((f = fmemopen((void *)p, n, "r")) == NULL) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	rc = state_parse(s, f, err, errsz);
	fclose(f);
	return rc;
}

/*
 * The text of the newest whole slot of the file img[0..size), with its
 * generation and the slot size. NULL when neither slot is whole.
 */
static const char *
state_pick(const char *img, size_t size, size_t *len, uint64_t *gen, size_t *slot_bytes)
{
	size_t slot = size / 2;
	const char *best = NULL;

	if (size % 2 != 0 || slot < STATE_SLOT_HDR)
		return NULL;
	for (int i = 0; i < 2; i++) {
		const char *p = img + (size_t)i * slot;
		uint32_t n = ms_get32(p + 12);
		uint64_t g = ms_get64(p + 16);

		if (memcmp(p, STATE_MAGIC, 8) != 0 || n > slot - STATE_SLOT_HDR || g == 0 ||
		    ms_crc32c(p + 12, 12 + (size_t)n) != ms_get32(p + 8) || g % 2 != (uint64_t)i)
			continue;
		if (best == NULL || g > *gen) {
			best = p + STATE_SLOT_HDR;
			*len = n;
			*gen = g;
		}
	}
	*slot_bytes = slot;
	return best;
}

/*
 * Reads the file, if there is one, into s: either format. With writable,
 * a file of the slot format stays open in s->fd for the saves in place
 * (otherwise s->fd is -1: the next save writes the file anew).
 */
static int
state_load(struct agent_state_file *s, bool writable, char *err, size_t errsz)
{
	struct stat st;
	char *img = NULL;
	size_t size;
	int fd, rc = -1;

	s->fd = -1;
	fd = open(s->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 && writable && (errno == EACCES || errno == EPERM || errno == EROFS)) {
		/* Readable but not ours to write in place: read, then written anew (as before). */
		writable = false;
		fd = open(s->path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)(8 * STATE_MAX_TEXT)) {
		snprintf(err, errsz, "%s: %lld bytes, too big for a state file (move it away to start "
		    "afresh)", s->path, (long long)st.st_size);
		goto out;
	}
	size = (size_t)st.st_size;
	if ((img = malloc(size + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (size_t got = 0; got < size;) {
		ssize_t r = pread(fd, img + got, size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errsz, "%s: %s", s->path, r < 0 ? strerror(errno) : "shorter than its size");
			goto out;
		}
		got += (size_t)r;
	}
	/* the magic at the start, or at the second slot's (a file of 16 bytes at least) */
	if (size >= 8 && (memcmp(img, STATE_MAGIC, 8) == 0 ||
	    (size % 2 == 0 && size / 2 >= 8 && memcmp(img + size / 2, STATE_MAGIC, 8) == 0))) {
		size_t len = 0;
		const char *text = state_pick(img, size, &len, &s->gen, &s->slot_bytes);

		if (text == NULL) {
			snprintf(err, errsz, "%s: neither copy of the state is whole (move the file away to "
			    "start afresh)", s->path);
			goto out;
		}
		if (state_parse_text(s, text, len, err, errsz) < 0)
			goto out;
		if (writable) {
			s->fd = fd;
			fd = -1;
		}
	} else if (state_parse_text(s, img, size, err, errsz) < 0) {
		goto out;	/* the old format: written anew at the first save */
	}
	rc = 0;
out:
	free(img);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A state file object for dir (nothing read yet). */
static struct agent_state_file *
state_alloc(const char *dir, char *err, size_t errsz)
{
	struct agent_state_file *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	s->fd = -1;
	ms_buf_init(&s->text, STATE_SLOT_HDR + STATE_MAX_TEXT);
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/state", dir) >= sizeof(s->path) ||
	    (size_t)snprintf(s->tmp, sizeof(s->tmp), "%s/state.tmp", dir) >= sizeof(s->tmp)) {
		snprintf(err, errsz, "state_dir too long");
		state_close(s);
		return NULL;
	}
	ms_copy(s->dir, sizeof(s->dir), dir, strlen(dir));
	return s;
}

struct agent_state_file *
state_open(const char *dir, char *err, size_t errsz)
{
	struct agent_state_file *s = state_alloc(dir, err, errsz);

	if (s == NULL)
		return NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create state_dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (state_load(s, true, err, errsz) < 0)
		goto fail;
	/* Numbers start at 1: the collector reads 0 as "nothing handled yet". */
	s->first_seq = s->seq_reserved ? s->seq_reserved : 1;
	/*
	 * And at least the clock's microseconds since 1970: above every
	 * number an earlier life of this agent gave out – as long as it used
	 * fewer than a million a second on average since it started (lines,
	 * and the block of STATE_SEQ_BLOCK reserved at each start), and the
	 * clock has not gone back. A state folder wiped (reinstall) or
	 * restored from a backup then never numbers new lines below what the
	 * collector has handled from that earlier life, which it would take
	 * for handled (uplink_on_ack cannot tell such a number from one of
	 * this life lost from the spool by a power cut). A clock set back
	 * falls back on the reservation. The collector's Redis scripts hold
	 * numbers as doubles: below 2^53 (exact) until the year 2255.
	 */
	{
		struct timespec ts;

		if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 0 &&
		    (uint64_t)ts.tv_sec < STATE_SEQ_CLOCK_MAX_S) {
			uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;

			if (us > s->first_seq)
				s->first_seq = us;
		}
	}
	s->seq_reserved = s->first_seq + STATE_SEQ_BLOCK;
	if (state_write(s, err, errsz) < 0)
		goto fail;
	return s;
fail:
	state_close(s);
	return NULL;
}

int
state_print(const char *dir, FILE *out, char *err, size_t errsz)
{
	struct agent_state_file *s = state_alloc(dir, err, errsz);
	int rc = -1;

	if (s == NULL)
		return -1;
	if (state_load(s, false, err, errsz) < 0)
		goto out;
	if (access(s->path, F_OK) != 0) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		goto out;
	}
	if (state_format(s, s->gen) < 0) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	if (fwrite(s->text.data + STATE_SLOT_HDR, 1, s->text.len - STATE_SLOT_HDR, out) !=
	    s->text.len - STATE_SLOT_HDR || fflush(out) != 0) {
		snprintf(err, errsz, "cannot write: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	state_close(s);
	return rc;
}

void
state_close(struct agent_state_file *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	ms_buf_fini(&s->text);
	free(s);
}

uint64_t
state_first_seq(const struct agent_state_file *s)
{
	return s->first_seq;
}

uint64_t
state_acked(const struct agent_state_file *s)
{
	return s->acked;
}

void
state_set_acked(struct agent_state_file *s, uint64_t acked)
{
	if (acked > s->acked)
		s->acked = acked;
}

uint64_t
state_shift(const struct agent_state_file *s)
{
	return s->shift;
}

/*
 * Sets *field to v and writes the file at once. When that fails the old
 * value is put back – not on disk, not in use either: a later save must
 * not write it, and the caller asks again – and -1 is returned, logged
 * (once while *failing, when failing is given).
 */
static int
state_set_now(struct agent_state_file *s, uint64_t *field, uint64_t v, bool *failing)
{
	char err[512];
	uint64_t old = *field;

	*field = v;
	if (state_write(s, err, sizeof(err)) < 0) {
		*field = old;
		if (failing == NULL || !*failing)
			ms_err("event=state_error reason=\"%s\"", err);
		if (failing != NULL)
			*failing = true;
		return -1;
	}
	if (failing != NULL)
		*failing = false;
	return 0;
}

int
state_set_shift(struct agent_state_file *s, uint64_t shift)
{
	return state_set_now(s, &s->shift, shift, NULL);
}

uint64_t
state_sync_suspect(const struct agent_state_file *s)
{
	return s->sync_suspect;
}

int
state_set_sync_suspect(struct agent_state_file *s, uint64_t seq)
{
	/* Asked at every commit: written only when it changes, logged once while failing. */
	if (seq == s->sync_suspect)
		return 0;
	return state_set_now(s, &s->sync_suspect, seq, &s->suspect_failing);
}

int
state_reserve(struct agent_state_file *s, uint64_t seq)
{
	if (seq < s->seq_reserved)
		return 0;
	/*
	 * Not reserved when the write fails: the next number asks again. Kept
	 * raised, the next call would have let numbers go out that a crash
	 * could give out a second time.
	 */
	return state_set_now(s, &s->seq_reserved, seq + STATE_SEQ_BLOCK, NULL);
}

const struct state_pos *
state_find(const struct agent_state_file *s, const char *path)
{
	for (size_t i = 0; i < s->npos; i++)
		if (strcmp(s->pos[i].path, path) == 0)
			return &s->pos[i];
	return NULL;
}

size_t
state_count(const struct agent_state_file *s)
{
	return s->npos;
}

const struct state_pos *
state_get(const struct agent_state_file *s, size_t i)
{
	return i < s->npos ? &s->pos[i] : NULL;
}

int
state_save(struct agent_state_file *s, const struct state_pos *pos, size_t n)
{
	char err[512];

	if (n > STATE_MAX_POS)
		n = STATE_MAX_POS;
	memcpy(s->pos, pos, n * sizeof(*pos));
	s->npos = n;
	if (state_write(s, err, sizeof(err)) < 0) {
		ms_err("event=state_error reason=\"%s\"", err);
		return -1;
	}
	return 0;
}
