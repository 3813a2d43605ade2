#include "ms_log.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static const char *log_prog = "minisoc";
static enum ms_log_level log_min = MS_LOG_INFO;

void
ms_log_init(const char *prog, enum ms_log_level min)
{
	log_prog = prog;
	log_min = min;
}

int
ms_log_level_parse(const char *s, enum ms_log_level *out)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum ms_log_level)i;
			return 0;
		}
	}
	return -1;
}

/* ms_log's "ts=..." to the second, and which second (per thread: the agent's renewal thread logs too). */
static _Thread_local time_t ts_sec;
static _Thread_local char ts_text[64];
static _Thread_local size_t ts_len;

static char log_held[64 * 1024];	/* whole lines, ms_log_hold */
static size_t log_held_len;
static unsigned log_hold_depth;
static bool log_lazy;		/* ms_log_set_lazy */
static bool log_atexit;		/* ms_log_flush registered */

static void
log_write_held(void)
{
	if (log_held_len) {
		fwrite(log_held, 1, log_held_len, stderr);
		log_held_len = 0;
	}
}

void
ms_log_hold(void)
{
	log_hold_depth++;
}

void
ms_log_release(void)
{
	/*
	 * Lazy: the lines wait for more (a write per batch was a system call
	 * per few alerts at full load), up to half the buffer, so a full
	 * batch's lines still fit before the buffer has to be written.
	 */
	if (log_hold_depth && --log_hold_depth == 0 &&
	    (!log_lazy || log_held_len >= sizeof(log_held) / 2)) {
		log_write_held();
		fflush(stderr);
	}
}

void
ms_log_flush(void)
{
	if (log_held_len) {
		log_write_held();
		fflush(stderr);
	}
}

bool
ms_log_pending(void)
{
	return log_held_len > 0;
}

void
ms_log_set_lazy(bool on)
{
	/* A normal exit writes what is held (a crash loses it: see ms_log.h). */
	if (on && !log_atexit && atexit(ms_log_flush) == 0)
		log_atexit = true;
	if (!on)
		ms_log_flush();
	log_lazy = on && log_atexit;
}

/*
 * Writes "ts=... level=... prog=... " to line (2048 bytes); returns its
 * length. The date and time to the second are formatted once per second
 * (the collector logs a line per alert); the rest by hand.
 */
static size_t
log_prefix(char *line, enum ms_log_level lvl)
{
	static const char *lvlname[] = { "debug", "info", "warn", "error" };
	struct timeval tv;
	struct tm tm;
	size_t n;
	long milli;
	size_t ll = strlen(lvlname[lvl]), pl = strnlen(log_prog, 256);

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != ts_sec || ts_len == 0) {
		gmtime_r(&tv.tv_sec, &tm);
		ts_len = strftime(ts_text, sizeof(ts_text), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = tv.tv_sec;
	}
	memcpy(line, ts_text, ts_len);
	n = ts_len;
	milli = (long)(tv.tv_usec / 1000);
	line[n++] = '.';
	line[n++] = (char)('0' + milli / 100 % 10);
	line[n++] = (char)('0' + milli / 10 % 10);
	line[n++] = (char)('0' + milli % 10);
	memcpy(line + n, "Z level=", 8);
	n += 8;
	memcpy(line + n, lvlname[lvl], ll);
	n += ll;
	memcpy(line + n, " prog=", 6);
	n += 6;
	memcpy(line + n, log_prog, pl);
	n += pl;
	line[n++] = ' ';
	return n;
}

/*
 * Whether p/n holds a byte below 0x20, 0x7f or 0xc2 (the lead byte of the
 * C1 controls U+0080..U+009F in UTF-8: CSI, U+009B, is one; some
 * terminals obey them). Eight bytes a step: every alert sent has a log
 * line, and a byte-by-byte look cost 1 % of the collector's instructions
 * (callgrind). A word has a byte below 0x20 exactly when (x - 0x20 each)
 * & ~x has a high bit set ("hasless"), and one equal to c when x ^ c each
 * has a zero byte. 0xc2 is rare in text, Vietnamese too (its letters are
 * 0xc3 and up): the slow path looks closer.
 */
static bool
log_has_ctl(const char *p, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, y, z;

		memcpy(&x, p + i, 8);
		y = x ^ (ones * 0x7f);
		z = x ^ (ones * 0xc2);
		if ((((x - ones * 0x20) & ~x) | ((y - ones) & ~y) | ((z - ones) & ~z)) & highs)
			return true;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || (unsigned char)p[i] == 0xc2)
			return true;
	return false;
}

/*
 * Ends line (n bytes, its body from body on: before it the prefix we
 * wrote) with its newline and writes or holds it.
 */
static void
log_out(char *line, size_t linesz, size_t body, size_t n, enum ms_log_level lvl)
{
	if (n >= linesz - 1)
		n = linesz - 2;
	/*
	 * One record per line whatever a value held: a newline in a file name
	 * or a log line's field must not forge a record of its own, nor an
	 * escape sequence reach the terminal of whoever reads the log. Values
	 * that matter are quoted by their callers (ms_log_quote); this is the
	 * floor under the ones that are not.
	 */
	if (body < n && log_has_ctl(line + body, n - body))
		for (size_t i = body; i < n; i++) {
			unsigned char c = (unsigned char)line[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				line[i] = '?';
			else if (c == 0xc2 && i + 1 < n && (unsigned char)line[i + 1] >= 0x80 &&
			    (unsigned char)line[i + 1] <= 0x9f) {
				line[i] = '?';	/* both bytes of a C1 control */
				line[++i] = '?';
			}
		}
	line[n++] = '\n';
	if (log_hold_depth && lvl < MS_LOG_WARN) {
		if (log_held_len + n > sizeof(log_held)) {
			log_write_held();
			fflush(stderr);
		}
		memcpy(log_held + log_held_len, line, n);
		log_held_len += n;
		return;
	}
	/* One write per line (or per held batch of whole lines) so lines from
	 * several processes never interleave. */
	if (log_held_len && log_held_len + n <= sizeof(log_held)) {
		memcpy(log_held + log_held_len, line, n);
		log_held_len += n;
		log_write_held();
	} else {
		log_write_held();
		fwrite(line, 1, n, stderr);
	}
	fflush(stderr);
}

bool
ms_log_on(enum ms_log_level lvl)
{
	return lvl >= log_min;
}

void
ms_log(enum ms_log_level lvl, const char *fmt, ...)
{
	char line[MS_LOG_LINE_MAX];
	size_t n, body;
	int r;
	va_list ap;

	if (lvl < log_min)
		return;
	body = n = log_prefix(line, lvl);
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	log_out(line, sizeof(line), body, n, lvl);
}

void
ms_log_text(enum ms_log_level lvl, const char *text, size_t len)
{
	char line[MS_LOG_LINE_MAX];
	size_t n;

	if (lvl < log_min)
		return;
	n = log_prefix(line, lvl);
	/* Cut where ms_log's vsnprintf would. */
	if (len > sizeof(line) - n - 1)
		len = sizeof(line) - n - 1;
	memcpy(line + n, text, len);
	log_out(line, sizeof(line), n, n + len, lvl);
}

char *
ms_log_quote(char *dst, size_t dstsz, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstsz == 0)
		return dst;
	if (dstsz < 3) {
		dst[0] = '\0';
		return dst;
	}
	dst[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		char esc[5];
		size_t el;

		if (c == '"' || c == '\\') {
			esc[0] = '\\'; esc[1] = (char)c; el = 2;
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\'; esc[1] = 'x'; esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15]; el = 4;
		} else {
			esc[0] = (char)c; el = 1;
		}
		if (o + el + 2 > dstsz)
			break;
		memcpy(dst + o, esc, el);
		o += el;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}

/* SIGHUP and SIGUSR1: held while a daemon starts (see ms_daemon_args). */
static void
signals_mask(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(how, &set, NULL);
}

int
ms_daemon_signals(struct event_base *base, const int *signums, size_t n,
    event_callback_fn cb, void *arg, struct event **sigs)
{
	for (size_t i = 0; i < n; i++) {
		sigs[i] = evsignal_new(base, signums[i], cb, arg);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) < 0) {
			ms_err("event=start_error reason=\"cannot install signal handlers\"");
			return -1;
		}
	}
	signals_mask(SIG_UNBLOCK);
	return 0;
}

int
ms_daemon_args(int argc, char **argv, const char *prog, void (*usage)(FILE *),
    struct ms_daemon_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	signals_mask(SIG_BLOCK);
	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "c:tl:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 't': a->check = true; break;
		case 'l': a->level = optarg; break;
		case 'V': printf("minisoc-%s %s\n", prog, MINISOC_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	ms_log_init(prog, MS_LOG_INFO);
	if (a->config == NULL || optind != argc) {
		usage(stderr);
		return 1;
	}
	return -1;
}

/*
 * libevent's own messages (a failed epoll_ctl, a broken invariant) as our
 * key=value lines: on their own they went to stderr as "[warn] ...",
 * outside the log's format and ahead of lines still held.
 */
static void
log_libevent(int severity, const char *msg)
{
	char q[512];
	enum ms_log_level lvl = severity >= EVENT_LOG_ERR ? MS_LOG_ERR :
	    severity == EVENT_LOG_WARN ? MS_LOG_WARN : MS_LOG_DEBUG;

	if (msg == NULL)
		msg = "";
	ms_log(lvl, "event=libevent message=%s", ms_log_quote(q, sizeof(q), msg, strlen(msg)));
}

int
ms_daemon_log_level(const char *prog, const struct ms_daemon_args *a, const char *conf_level)
{
	const char *level = a->level ? a->level : conf_level;
	enum ms_log_level lvl;

	if (ms_log_level_parse(level, &lvl) < 0) {
		ms_err("event=config_error reason=\"unknown log level %s\"", level);
		return -1;
	}
	ms_log_init(prog, lvl);
	event_set_log_callback(log_libevent);
	return 0;
}
