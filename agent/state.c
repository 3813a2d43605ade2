/*
 * state – what the agent must remember across restarts, in one small text
 * file (state_dir/state), replaced atomically (write, fsync, rename):
 *
 *   minisoc-agent-state 1
 *   seq_reserved 2000000
 *   acked 1234          (highest local number the collector acknowledged)
 *   seq_shift 0         (added to local numbers on the wire, see uplink.c)
 *   pos <dev> <ino> <acknowledged offset> fp:<16 hex digits>:<length> <path>
 *
 * The fp field (the hash of the file's first <length> bytes, see
 * tail_fingerprint) tells a reused inode from the file that was read; lines
 * written before it existed have no fp field and still load (matched by
 * device and inode alone).
 *
 * Sequence numbers are reserved in blocks: the reservation is on disk
 * before any number of the block is used, so a crash can skip numbers but
 * never reuse one (the collector ignores numbers it has handled).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_util.h"

#define STATE_SEQ_BLOCK 1000000u
#define STATE_MAX_POS AGENT_MAX_FILES

struct agent_state_file {
	char path[4200];
	char tmp[4200];
	char dir[4096];
	uint64_t seq_reserved;	/* numbers below this may have been used */
	uint64_t first_seq;
	uint64_t acked;
	uint64_t shift;
	struct state_pos pos[STATE_MAX_POS];
	size_t npos;
};

static int
state_write(struct agent_state_file *s, char *err, size_t errsz)
{
	FILE *f = NULL;
	int fd = -1, dfd = -1;

	if ((fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errsz, "%s: %s", s->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "minisoc-agent-state 1\nseq_reserved %" PRIu64 "\nacked %" PRIu64
	    "\nseq_shift %" PRIu64 "\n", s->seq_reserved, s->acked, s->shift);
	for (size_t i = 0; i < s->npos; i++)
		if (s->pos[i].has_fp)
			fprintf(f, "pos %" PRIu64 " %" PRIu64 " %" PRIu64 " fp:%016" PRIx64 ":%" PRIu32
			    " %s\n", s->pos[i].dev, s->pos[i].ino, s->pos[i].offset, s->pos[i].fp,
			    s->pos[i].fp_len, s->pos[i].path);
		else
			fprintf(f, "pos %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", s->pos[i].dev,
			    s->pos[i].ino, s->pos[i].offset, s->pos[i].path);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errsz, "%s: %s", s->tmp, strerror(errno));
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0 || rename(s->tmp, s->path) != 0) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	/* The rename itself must survive a crash too. */
	if ((dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
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

static int
state_parse(struct agent_state_file *s, FILE *f, char *err, size_t errsz)
{
	char line[4400];
	int lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strlen(line);
		unsigned long long a, b, c;
		int n = 0;

		lineno++;
		if (l && line[l - 1] == '\n')
			line[--l] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "minisoc-agent-state 1") != 0)
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
		if (sscanf(line, "pos %llu %llu %llu %n", &a, &b, &c, &n) == 3 && n > 0 &&
		    line[n] != '\0' && s->npos < STATE_MAX_POS) {
			struct state_pos *p = &s->pos[s->npos++];
			const char *rest = line + n;
			memset(p, 0, sizeof(*p));
			p->dev = a;
			p->ino = b;
			p->offset = c;
			state_parse_fp(&rest, p);
			ms_copy(p->path, sizeof(p->path), rest, strlen(rest));
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

struct agent_state_file *
state_open(const char *dir, char *err, size_t errsz)
{
	struct agent_state_file *s = calloc(1, sizeof(*s));
	FILE *f;

	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/state", dir) >= sizeof(s->path) ||
	    (size_t)snprintf(s->tmp, sizeof(s->tmp), "%s/state.tmp", dir) >= sizeof(s->tmp)) {
		snprintf(err, errsz, "state_dir too long");
		goto fail;
	}
	ms_copy(s->dir, sizeof(s->dir), dir, strlen(dir));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create state_dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	if ((f = fopen(s->path, "r")) != NULL) {
		int rc = state_parse(s, f, err, errsz);
		fclose(f);
		if (rc < 0)
			goto fail;
	} else if (errno != ENOENT) {
		snprintf(err, errsz, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	/* Numbers start at 1: the collector reads 0 as "nothing handled yet". */
	s->first_seq = s->seq_reserved ? s->seq_reserved : 1;
	s->seq_reserved = s->first_seq + STATE_SEQ_BLOCK;
	if (state_write(s, err, errsz) < 0)
		goto fail;
	return s;
fail:
	free(s);
	return NULL;
}

void
state_close(struct agent_state_file *s)
{
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

int
state_set_shift(struct agent_state_file *s, uint64_t shift)
{
	char err[512];

	s->shift = shift;
	if (state_write(s, err, sizeof(err)) < 0) {
		ms_err("event=state_error reason=\"%s\"", err);
		return -1;
	}
	return 0;
}

int
state_reserve(struct agent_state_file *s, uint64_t seq)
{
	char err[512];

	if (seq < s->seq_reserved)
		return 0;
	s->seq_reserved = seq + STATE_SEQ_BLOCK;
	if (state_write(s, err, sizeof(err)) < 0) {
		ms_err("event=state_error reason=\"%s\"", err);
		return -1;
	}
	return 0;
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
