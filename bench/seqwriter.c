/*
 * seqwriter – appends numbered log lines to a file at a fixed rate, for the
 * fault tests (tests/integration/e2e_crash_*.sh, e2e_collector_down.sh,
 * e2e_rotation_rate.sh) and the agent benchmark (bench/agent).
 *
 *   seqwriter -o FILE (-n LINES | -d SECONDS) [-r RATE] [-R RUN] [-e EVERY]
 *             [-l LEN] [-t TICK_US] [-J] [-x MODE:LINES] [-k HOOK] [-w MS] [-p FILE] [-B]
 *
 * Line n (n = 0, 1, ...) is a syslog line of LEN bytes (newline included):
 *
 *   Nov 25 16:49:02 seqhost seqw: MSEQ <RUN> <n> t=<ns> xxxx...
 *
 * where t is CLOCK_REALTIME in nanoseconds taken just before the line is
 * written. Only every EVERY-th line carries the marker (MSEQ, the rule of
 * tests/integration/rules-seq alerts on it); the others read "line <RUN>
 * <n> t=<ns>". Each line is its own write(2) on an O_APPEND descriptor
 * (a logging daemon's way), unless -B writes each tick's lines at once.
 *
 * Pacing: the writer wakes every TICK_US (default 1000) on CLOCK_MONOTONIC
 * with an absolute deadline and writes the lines due by then, so the rate
 * holds without drift. After a pause (a rotation hook, being stopped) it
 * does not burst to catch up more than 100 ms of lines.
 *
 * -J (jitter) wakes at a random moment of each tick instead of its start.
 * A reader that polls on a period of its own (the agent's read_batch_us)
 * would otherwise see every line at one fixed phase of its period, chosen
 * by chance when both started: with every 100th line marked at 10,000
 * lines/s, the marked lines come every 10 ms, a multiple of a 2 ms period,
 * and their measured latency would be that chance phase, not the average
 * wait. Jittered, the lines land uniformly over the reader's period, as
 * the lines of a real log do.
 *
 * Rotation, done by the writer itself between two lines (as an application
 * that rotates its own log does; nothing is written to the old file after
 * the new one exists), every LINES lines:
 *   rename        close, rename FILE to FILE.<k>, create FILE
 *   delete        close, unlink FILE, create FILE
 *   copytruncate  run HOOK (if any) with SEQ_LAST=<last n written> in its
 *                 environment, copy FILE to FILE.<k>, truncate FILE to 0
 *                 (the descriptor is O_APPEND: writing goes on at 0)
 *   create        logrotate's "create" with a postrotate reload: rename FILE
 *                 to FILE.<k>, create an empty FILE, but go on writing to the
 *                 renamed file for MS milliseconds (-w, default 100) before
 *                 reopening FILE, as a daemon does until its reload signal
 *
 * -p FILE: the number of lines written so far, rewritten (tmp + rename)
 * every 20 ms and at the end. At the end, one line on stdout:
 *   lines=N seconds=S rate=R rotations=K
 * SIGTERM or SIGINT end it after the current line (exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SW_LINE_MAX 4096
#define SW_PROGRESS_NS 20000000LL	/* progress file rewritten every 20 ms */
#define SW_MAX_BEHIND_NS 100000000LL	/* never catch up more than 100 ms of lines */

enum sw_rotate { SW_ROT_NONE, SW_ROT_RENAME, SW_ROT_DELETE, SW_ROT_COPYTRUNCATE, SW_ROT_CREATE };

struct sw_conf {
	const char *path;
	uint64_t lines;		/* 0: until the duration ends */
	double seconds;		/* 0: until the lines are written */
	double rate;		/* lines per second; 0: as fast as possible */
	const char *run;
	uint64_t every;
	size_t len;
	long tick_us;
	enum sw_rotate rotate;
	uint64_t rotate_every;
	const char *hook;
	long reopen_ms;		/* create: writing to the renamed file goes on this long */
	const char *progress;
	bool batch;
	bool jitter;
};

static volatile sig_atomic_t sw_stop;

static void
sw_stop_cb(int sig)
{
	(void)sig;
	sw_stop = 1;
}

static int64_t
sw_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
sw_sleep_until(int64_t mono_ns)
{
	struct timespec ts = { (time_t)(mono_ns / 1000000000LL), (long)(mono_ns % 1000000000LL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !sw_stop)
		;
}

static int
sw_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		fprintf(stderr, "seqwriter: %s: %s\n", path, strerror(errno));
	return fd;
}

static int
sw_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "seqwriter: write: %s\n", w < 0 ? strerror(errno) : "short");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Formats line n into buf (exactly c->len bytes, newline last); returns its length. */
static size_t
sw_format(const struct sw_conf *c, char *buf, uint64_t n, const char *stamp)
{
	int o = snprintf(buf, SW_LINE_MAX, "%s seqhost seqw: %s %s %" PRIu64 " t=%" PRId64 " ",
	    stamp, n % c->every == 0 ? "MSEQ" : "line", c->run, n, sw_ns(CLOCK_REALTIME));
	size_t len = (size_t)o + 1 > c->len ? (size_t)o + 1 : c->len;

	if (len > SW_LINE_MAX)
		len = SW_LINE_MAX;
	memset(buf + o, 'x', len - 1 - (size_t)o);
	buf[len - 1] = '\n';
	return len;
}

static void
sw_progress(const struct sw_conf *c, uint64_t n)
{
	char tmp[4200], num[32];
	int fd, l;

	if (c->progress == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->progress);
	l = snprintf(num, sizeof(num), "%" PRIu64 "\n", n);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return;
	if (sw_write_all(fd, num, (size_t)l) == 0)
		rename(tmp, c->progress);
	close(fd);
}

static int
sw_copy(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	ssize_t r;

	if (in < 0 || (out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		goto out;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (sw_write_all(out, buf, (size_t)r) < 0)
			goto out;
	rc = r == 0 ? 0 : -1;
out:
	if (rc < 0)
		fprintf(stderr, "seqwriter: copy %s to %s: %s\n", from, to, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* Rotates c->path the configured way; *fd is the writer's descriptor. 0 or -1. */
static int
sw_rotate(const struct sw_conf *c, int *fd, unsigned k, uint64_t last)
{
	char old[4200], env[32];

	snprintf(old, sizeof(old), "%s.%u", c->path, k);
	switch (c->rotate) {
	case SW_ROT_RENAME:
		close(*fd);
		if (rename(c->path, old) != 0) {
			fprintf(stderr, "seqwriter: rename: %s\n", strerror(errno));
			return -1;
		}
		return (*fd = sw_open(c->path)) < 0 ? -1 : 0;
	case SW_ROT_DELETE:
		close(*fd);
		if (unlink(c->path) != 0) {
			fprintf(stderr, "seqwriter: unlink: %s\n", strerror(errno));
			return -1;
		}
		return (*fd = sw_open(c->path)) < 0 ? -1 : 0;
	case SW_ROT_COPYTRUNCATE:
		if (c->hook) {
			int rc;
			snprintf(env, sizeof(env), "%" PRIu64, last);
			setenv("SEQ_LAST", env, 1);
			if ((rc = system(c->hook)) != 0) {
				fprintf(stderr, "seqwriter: hook failed (status %d)\n", rc);
				return -1;
			}
		}
		if (sw_copy(c->path, old) < 0)
			return -1;
		if (ftruncate(*fd, 0) != 0) {
			fprintf(stderr, "seqwriter: ftruncate: %s\n", strerror(errno));
			return -1;
		}
		return 0;
	case SW_ROT_CREATE: {
		int nfd;
		if (rename(c->path, old) != 0) {
			fprintf(stderr, "seqwriter: rename: %s\n", strerror(errno));
			return -1;
		}
		if ((nfd = sw_open(c->path)) < 0)
			return -1;
		close(nfd);
		return 0;	/* the caller reopens after c->reopen_ms */
	}
	case SW_ROT_NONE:
		break;
	}
	return 0;
}

static int
sw_parse_rotate(struct sw_conf *c, const char *s)
{
	const char *colon = strchr(s, ':');
	char *end = NULL;
	size_t l;

	if (colon == NULL)
		return -1;
	l = (size_t)(colon - s);
	if (l == 6 && strncmp(s, "rename", l) == 0)
		c->rotate = SW_ROT_RENAME;
	else if (l == 6 && strncmp(s, "delete", l) == 0)
		c->rotate = SW_ROT_DELETE;
	else if (l == 12 && strncmp(s, "copytruncate", l) == 0)
		c->rotate = SW_ROT_COPYTRUNCATE;
	else if (l == 6 && strncmp(s, "create", l) == 0)
		c->rotate = SW_ROT_CREATE;
	else
		return -1;
	c->rotate_every = strtoull(colon + 1, &end, 10);
	return end && *end == '\0' && c->rotate_every > 0 ? 0 : -1;
}

static void
sw_usage(void)
{
	fprintf(stderr,
	    "usage: seqwriter -o FILE (-n LINES | -d SECONDS) [-r RATE] [-R RUN] [-e EVERY]\n"
	    "                 [-l LEN] [-t TICK_US] [-J] [-x rename|delete|copytruncate|create:LINES]\n"
	    "                 [-k HOOK] [-w REOPEN_MS] [-p PROGRESS_FILE] [-B]\n");
}

int
main(int argc, char **argv)
{
	struct sw_conf c = { .run = "r", .every = 1, .len = 120, .tick_us = 1000, .reopen_ms = 100 };
	char buf[SW_LINE_MAX], stamp[32];
	char *tick_buf = NULL;
	struct sigaction sa;
	time_t stamp_sec = 0;
	int64_t start, base_t, end_t, next_tick, last_progress = 0, reopen_at = 0;
	uint64_t rng = 0;
	uint64_t n = 0, base_n = 0, since_rotate = 0;
	unsigned rotations = 0;
	int ch, fd, rc = 1;

	while ((ch = getopt(argc, argv, "o:n:d:r:R:e:l:t:Jx:k:w:p:B")) != -1) {
		switch (ch) {
		case 'o': c.path = optarg; break;
		case 'n': c.lines = strtoull(optarg, NULL, 10); break;
		case 'd': c.seconds = strtod(optarg, NULL); break;
		case 'r': c.rate = strtod(optarg, NULL); break;
		case 'R': c.run = optarg; break;
		case 'e': c.every = strtoull(optarg, NULL, 10); break;
		case 'l': c.len = strtoul(optarg, NULL, 10); break;
		case 't': c.tick_us = strtol(optarg, NULL, 10); break;
		case 'x':
			if (sw_parse_rotate(&c, optarg) < 0) {
				sw_usage();
				return 2;
			}
			break;
		case 'k': c.hook = optarg; break;
		case 'w': c.reopen_ms = strtol(optarg, NULL, 10); break;
		case 'p': c.progress = optarg; break;
		case 'B': c.batch = true; break;
		case 'J': c.jitter = true; break;
		default: sw_usage(); return 2;
		}
	}
	if (c.path == NULL || (c.lines == 0 && c.seconds <= 0) || c.every == 0 || c.tick_us <= 0 ||
	    optind != argc) {
		sw_usage();
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sw_stop_cb;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((fd = sw_open(c.path)) < 0)
		return 1;
	/* With -B, one tick's lines go out in one write. */
	if (c.batch && (tick_buf = malloc(1 << 20)) == NULL)
		goto out;

	start = base_t = next_tick = sw_ns(CLOCK_MONOTONIC);
	rng = (uint64_t)sw_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
	end_t = c.seconds > 0 ? start + (int64_t)(c.seconds * 1e9) : INT64_MAX;
	while (!sw_stop && (c.lines == 0 || n < c.lines)) {
		int64_t now = sw_ns(CLOCK_MONOTONIC);
		uint64_t due;
		size_t tick_len = 0;

		if (now >= end_t)
			break;
		if (c.rate > 0) {
			due = base_n + (uint64_t)((double)(now - base_t) * c.rate / 1e9);
			if (due < n)
				due = n;
			if ((double)(due - n) > c.rate * SW_MAX_BEHIND_NS / 1e9) {
				/* Paused (hook, SIGSTOP, starved): go on from here, no burst. */
				base_n = n;
				base_t = now;
				due = n + 1;
			}
		} else {
			due = n + 1024;
		}
		if (c.lines && due > c.lines)
			due = c.lines;
		if (time(NULL) != stamp_sec) {
			struct tm tm;
			stamp_sec = time(NULL);
			localtime_r(&stamp_sec, &tm);
			strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		}
		while (n < due && !sw_stop) {
			size_t len;

			if (reopen_at && sw_ns(CLOCK_MONOTONIC) >= reopen_at) {
				/* create: the reload signal arrived, write to the new file */
				if (c.batch && tick_len) {
					if (sw_write_all(fd, tick_buf, tick_len) < 0)
						goto out;
					tick_len = 0;
				}
				close(fd);
				if ((fd = sw_open(c.path)) < 0)
					goto out;
				reopen_at = 0;
			}
			len = sw_format(&c, buf, n, stamp);

			if (c.batch) {
				if (tick_len + len > (1 << 20)) {
					if (sw_write_all(fd, tick_buf, tick_len) < 0)
						goto out;
					tick_len = 0;
				}
				memcpy(tick_buf + tick_len, buf, len);
				tick_len += len;
			} else if (sw_write_all(fd, buf, len) < 0) {
				goto out;
			}
			n++;
			if (c.rotate != SW_ROT_NONE && ++since_rotate == c.rotate_every &&
			    (c.lines == 0 || n < c.lines)) {
				int64_t t0;
				if (c.batch && tick_len) {
					if (sw_write_all(fd, tick_buf, tick_len) < 0)
						goto out;
					tick_len = 0;
				}
				t0 = sw_ns(CLOCK_MONOTONIC);
				if (sw_rotate(&c, &fd, ++rotations, n - 1) < 0)
					goto out;
				if (c.rotate == SW_ROT_CREATE)
					reopen_at = sw_ns(CLOCK_MONOTONIC) + c.reopen_ms * 1000000LL;
				since_rotate = 0;
				/* The rotation's time is not made up for by a burst. */
				base_t += sw_ns(CLOCK_MONOTONIC) - t0;
				break;
			}
		}
		if (c.batch && tick_len && sw_write_all(fd, tick_buf, tick_len) < 0)
			goto out;
		if (now - last_progress >= SW_PROGRESS_NS) {
			sw_progress(&c, n);
			last_progress = now;
		}
		if (c.rate > 0) {
			int64_t wake;

			next_tick += c.tick_us * 1000LL;
			if (next_tick < now)
				next_tick = now;
			wake = next_tick;
			if (c.jitter) {
				/* xorshift64: uniform enough for a phase, no libc state */
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				wake += (int64_t)(rng % ((uint64_t)c.tick_us * 1000u));
			}
			sw_sleep_until(wake);
		}
	}
	sw_progress(&c, n);
	{
		double secs = (double)(sw_ns(CLOCK_MONOTONIC) - start) / 1e9;
		printf("lines=%" PRIu64 " seconds=%.3f rate=%.0f rotations=%u\n", n, secs,
		    secs > 0 ? (double)n / secs : 0.0, rotations);
	}
	rc = 0;
out:
	free(tick_buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
