/* journal – the collector's spool on disk (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ms_log.h"
#include "ms_rec.h"

static const char magic[4] = { 'M', 'S', 'J', '1' };
#define JREC_FIXED 20	/* body bytes before the command lengths */

struct journal {
	int fd;
	char path[4200];
	uint64_t size;
	uint64_t max_bytes;
	char *rbuf;		/* scratch for reads */
	size_t rcap;
	struct journal_stats st;
};

static int
grow(struct journal *j, size_t n)
{
	char *nb;

	if (n <= j->rcap)
		return 0;
	if ((nb = realloc(j->rbuf, n)) == NULL)
		return -1;
	j->rbuf = nb;
	j->rcap = n;
	return 0;
}

/* Reads n bytes at off into j->rbuf; 0, or -1 (short: the file ends first). */
static int
read_at(struct journal *j, uint64_t off, size_t n)
{
	size_t got = 0;

	if (grow(j, n) < 0)
		return -1;
	while (got < n) {
		ssize_t r = pread(j->fd, j->rbuf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Parses the body of a checked record in j->rbuf (total len bytes) into r. */
static int
parse(struct journal *j, size_t len, struct journal_rec *r)
{
	const char *b = j->rbuf + MS_REC_HDR;
	size_t blen = len - MS_REC_HDR, need;

	if (blen < JREC_FIXED)
		return -1;
	memset(r, 0, sizeof(*r));
	r->kind = (uint8_t)b[0];
	r->agent_len = ms_get16(b + 2);
	r->seq = ms_get64(b + 4);
	r->nalerts = ms_get32(b + 12);
	r->ncmds = ms_get32(b + 16);
	if (r->ncmds > JOURNAL_MAX_CMDS || blen < JREC_FIXED + 4 * (size_t)r->ncmds)
		return -1;
	need = JREC_FIXED + 4 * (size_t)r->ncmds + r->agent_len;
	for (uint32_t i = 0; i < r->ncmds; i++) {
		r->cmdlen[i] = ms_get32(b + JREC_FIXED + 4 * i);
		need += r->cmdlen[i];
		if (need > blen)
			return -1;
	}
	if (need != blen)
		return -1;
	b += JREC_FIXED + 4 * (size_t)r->ncmds;
	r->agent = b;
	b += r->agent_len;
	for (uint32_t i = 0; i < r->ncmds; i++) {
		r->cmd[i] = b;
		b += r->cmdlen[i];
	}
	return 0;
}

int
journal_read(struct journal *j, uint64_t off, struct journal_rec *r, uint64_t *next)
{
	long long len;

	if (off >= j->size)
		return 0;
	if (j->size - off < MS_REC_HDR || read_at(j, off, MS_REC_HDR) < 0)
		goto bad;
	len = ms_rec_check(j->rbuf, MS_REC_HDR, magic, JREC_FIXED, JOURNAL_MAX_RECORD);
	if (len < 0 || (uint64_t)MS_REC_HDR + ms_get32(j->rbuf + 8) > j->size - off ||
	    read_at(j, off, MS_REC_HDR + ms_get32(j->rbuf + 8)) < 0)
		goto bad;
	len = ms_rec_check(j->rbuf, MS_REC_HDR + ms_get32(j->rbuf + 8), magic, JREC_FIXED,
	    JOURNAL_MAX_RECORD);
	if (len <= 0 || parse(j, (size_t)len, r) < 0)
		goto bad;
	*next = off + (uint64_t)len;
	return 1;
bad:
	ms_err("event=spool_read_error path=%s offset=%llu", j->path, (unsigned long long)off);
	return -1;
}

/* Walks the file from the start; cuts it after the last good record. */
static int
scan(struct journal *j, char *err, size_t errsz)
{
	struct stat sb;
	uint64_t off = 0, next;
	struct journal_rec r;

	if (fstat(j->fd, &sb) < 0) {
		snprintf(err, errsz, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	j->size = (uint64_t)sb.st_size;
	while (off < j->size) {
		long long len;
		size_t avail = j->size - off < MS_REC_HDR ? (size_t)(j->size - off) : MS_REC_HDR;

		if (read_at(j, off, avail) < 0)
			break;
		len = ms_rec_check(j->rbuf, avail, magic, JREC_FIXED, JOURNAL_MAX_RECORD);
		if (len < 0 || avail < MS_REC_HDR ||
		    MS_REC_HDR + (uint64_t)ms_get32(j->rbuf + 8) > j->size - off)
			break;
		avail = MS_REC_HDR + ms_get32(j->rbuf + 8);
		if (read_at(j, off, avail) < 0 ||
		    (len = ms_rec_check(j->rbuf, avail, magic, JREC_FIXED, JOURNAL_MAX_RECORD)) <= 0 ||
		    parse(j, (size_t)len, &r) < 0)
			break;
		next = off + (uint64_t)len;
		j->st.recovered++;
		off = next;
	}
	if (off < j->size) {
		/* A torn write (crash) or damage: everything from here is unusable. */
		j->st.corrupt_bytes += j->size - off;
		ms_warn("event=spool_tail_truncated path=%s offset=%llu bytes=%llu", j->path,
		    (unsigned long long)off, (unsigned long long)(j->size - off));
		if (ftruncate(j->fd, (off_t)off) < 0 || fdatasync(j->fd) < 0) {
			snprintf(err, errsz, "%s: cannot cut the bad tail: %s", j->path, strerror(errno));
			return -1;
		}
		j->size = off;
	}
	return 0;
}

struct journal *
journal_open(const char *dir, uint64_t max_bytes, char *err, size_t errsz)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		snprintf(err, errsz, "out of memory");
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
	if (scan(j, err, errsz) < 0)
		goto fail;
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
	free(j);
}

int
journal_append(struct journal *j, const struct journal_rec *r)
{
	size_t len = MS_REC_HDR + JREC_FIXED + 4 * (size_t)r->ncmds + r->agent_len, off, done = 0;
	char *p;

	if (r->ncmds > JOURNAL_MAX_CMDS || r->agent_len > UINT16_MAX)
		return -1;
	for (uint32_t i = 0; i < r->ncmds; i++)
		len += r->cmdlen[i];
	if (len > MS_REC_HDR + (size_t)JOURNAL_MAX_RECORD || j->size + len > j->max_bytes) {
		j->st.full++;
		return -1;
	}
	if (grow(j, len) < 0)
		return -1;
	p = j->rbuf;
	memset(p, 0, MS_REC_HDR + JREC_FIXED);
	p[12] = (char)r->kind;
	ms_put16(p + 14, (uint16_t)r->agent_len);
	ms_put64(p + 16, r->seq);
	ms_put32(p + 24, r->nalerts);
	ms_put32(p + 28, r->ncmds);
	off = MS_REC_HDR + JREC_FIXED;
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
	ms_rec_seal(p, magic, len);
	while (done < len) {
		ssize_t w = pwrite(j->fd, p + done, len - done, (off_t)(j->size + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			j->st.write_errors++;
			/* Nothing of a failed record may stay: a later one would follow garbage. */
			if (ftruncate(j->fd, (off_t)j->size) < 0)
				ms_err("event=spool_write_error path=%s reason=\"cannot undo: %s\"", j->path,
				    strerror(errno));
			ms_err("event=spool_write_error path=%s reason=\"%s\"", j->path,
			    w < 0 ? strerror(e) : "short write");
			return -1;
		}
		done += (size_t)w;
	}
	j->size += len;
	j->st.bytes = j->size;
	j->st.records++;
	return 0;
}

int
journal_sync(struct journal *j)
{
	if (fdatasync(j->fd) < 0) {
		ms_err("event=spool_sync_error path=%s reason=\"%s\"", j->path, strerror(errno));
		return -1;
	}
	j->st.syncs++;
	return 0;
}

int
journal_reset(struct journal *j)
{
	if (ftruncate(j->fd, 0) < 0 || fdatasync(j->fd) < 0) {
		ms_err("event=spool_reset_error path=%s reason=\"%s\"", j->path, strerror(errno));
		return -1;
	}
	j->size = 0;
	j->st.bytes = 0;
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
