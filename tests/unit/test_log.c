/*
 * Unit tests of ms_log_text and ms_log_on (the collector's line per
 * alert): the same line as ms_log with the same body, the same cut, the
 * same holding, and nothing at all when the level is off; the lazy mode
 * of the collector's held lines. stderr goes to a real file, read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ms_log.h"

static char path[64];
static int saved_fd = -1;

/* stderr into a new file from here on. */
static void
capture_start(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/ms_log_test.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_fd = dup(2);
	assert_true(saved_fd >= 0);
	assert_true(dup2(fd, 2) == 2);
	close(fd);
}

/* stderr back; returns what was written (caller frees). */
static char *
capture_end(size_t *len)
{
	FILE *f;
	char *buf;
	long n;

	fflush(stderr);
	assert_true(dup2(saved_fd, 2) == 2);
	close(saved_fd);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	*len = (size_t)n;
	return buf;
}

/* The line from " level=" on (the time differs between two lines). */
static const char *
after_ts(const char *line)
{
	const char *p = strstr(line, " level=");

	assert_non_null(p);
	return p;
}

static void
test_text_as_printf(void **state)
{
	static const char body[] = "event=alert id=0190-ab rule=r1 agent=a src_ip=192.0.2.1 count=3";
	char *out, *nl;
	size_t len;

	(void)state;
	ms_log_init("collector", MS_LOG_INFO);
	assert_true(ms_log_on(MS_LOG_INFO));
	assert_false(ms_log_on(MS_LOG_DEBUG));
	capture_start();
	ms_log(MS_LOG_INFO, "event=alert id=%s rule=%s agent=%s src_ip=%s count=%u", "0190-ab",
	    "r1", "a", "192.0.2.1", 3u);
	ms_log_text(MS_LOG_INFO, body, sizeof(body) - 1);
	out = capture_end(&len);
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	/* The printf line (its newline cut off here) and the text line: the same bytes. */
	assert_string_equal(after_ts(out), " level=info prog=collector event=alert id=0190-ab "
	    "rule=r1 agent=a src_ip=192.0.2.1 count=3");
	assert_string_equal(after_ts(nl + 1), " level=info prog=collector event=alert id=0190-ab "
	    "rule=r1 agent=a src_ip=192.0.2.1 count=3\n");
	free(out);
}

/*
 * A value with a newline or a terminal escape (a file name, a field of a
 * hostile log line) cannot forge a second record nor reach a terminal:
 * each call is one line, control bytes but tab become '?', both ways in.
 */
static void
test_one_line_per_record(void **state)
{
	static const char body[] = "event=alert src_ip=1.2.3.4\nts=2025-11-25T10:00:00Z level=error "
	    "event=forged\x1b[2J\r\x7f\tend";
	static const char want[] = " level=info prog=collector event=alert src_ip=1.2.3.4?ts=2025-"
	    "11-25T10:00:00Z level=error event=forged?[2J??\tend\n";
	char *out, *nl;
	size_t len;

	(void)state;
	ms_log_init("collector", MS_LOG_INFO);
	capture_start();
	ms_log(MS_LOG_INFO, "%s", body);
	ms_log_text(MS_LOG_INFO, body, sizeof(body) - 1);
	out = capture_end(&len);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_string_equal(after_ts(nl + 1), want);
	nl[1] = '\0';
	assert_string_equal(after_ts(out), want);
	free(out);

	/* Printable ASCII and UTF-8 go as they are; a control byte in the last bytes too is caught. */
	capture_start();
	ms_log(MS_LOG_INFO, "event=x user=\"Nguy\xe1\xbb\x85n V\xc4\x83n A\" text=\"!~ \x7e\x20\" tail=ab\x01");
	out = capture_end(&len);
	assert_string_equal(after_ts(out), " level=info prog=collector event=x user=\"Nguy\xe1\xbb"
	    "\x85n V\xc4\x83n A\" text=\"!~ ~ \" tail=ab?\n");
	free(out);

	/*
	 * C1 controls in UTF-8 (CSI U+009B, NEL U+0085; some terminals obey
	 * them) become "??"; other U+0080..U+00FF letters stay, a lone 0xc2
	 * at the end too.
	 */
	capture_start();
	ms_log(MS_LOG_INFO, "event=x a=\xc2\x9b""2J b=\xc2\x85 c=\xc2\xb0\xc3\xa9 d=\xc2");
	out = capture_end(&len);
	assert_string_equal(after_ts(out), " level=info prog=collector event=x a=??2J b=?? "
	    "c=\xc2\xb0\xc3\xa9 d=\xc2\n");
	free(out);
}

static void
test_text_cut_like_printf(void **state)
{
	char big[5000], *out, *nl;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ms_log_init("collector", MS_LOG_DEBUG);
	capture_start();
	ms_log(MS_LOG_WARN, "%s", big);
	ms_log_text(MS_LOG_WARN, big, sizeof(big) - 1);
	out = capture_end(&len);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	/* Both cut to MS_LOG_LINE_MAX with their newline, the same bytes after the time. */
	assert_int_equal((size_t)(nl + 1 - out), MS_LOG_LINE_MAX - 1);
	assert_int_equal(len, 2 * (MS_LOG_LINE_MAX - 1));
	*nl = '\0';
	assert_memory_equal(after_ts(out), after_ts(nl + 1), strlen(after_ts(out)));
	free(out);
}

static void
test_text_level_off_and_held(void **state)
{
	char *out;
	size_t len;

	(void)state;
	ms_log_init("collector", MS_LOG_WARN);
	assert_false(ms_log_on(MS_LOG_INFO));
	assert_true(ms_log_on(MS_LOG_ERR));
	capture_start();
	ms_log_text(MS_LOG_INFO, "event=alert off", 15);
	out = capture_end(&len);
	assert_int_equal(len, 0);
	free(out);

	/* Held: nothing written until the release, then both lines at once. */
	ms_log_init("collector", MS_LOG_INFO);
	capture_start();
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=one", 9);
	ms_log_text(MS_LOG_INFO, "event=two", 9);
	fflush(stderr);
	assert_int_equal(lseek(2, 0, SEEK_END), 0);
	ms_log_release();
	out = capture_end(&len);
	assert_non_null(strstr(out, "prog=collector event=one\n"));
	assert_non_null(strstr(out, "prog=collector event=two\n"));
	free(out);
}

/* Bytes written to the captured stderr so far. */
static off_t
written(void)
{
	fflush(stderr);
	return lseek(2, 0, SEEK_END);
}

/*
 * Lazy mode (the collector's collector.log_flush_ms): released lines wait
 * for more, in order, until a flush, a line outside a hold, a warning, a
 * half-full buffer or the mode's end; none is lost or doubled.
 */
static void
test_lazy(void **state)
{
	char body[64], *out, *p;
	size_t len;
	int n, next;

	(void)state;
	ms_log_init("collector", MS_LOG_INFO);
	capture_start();
	ms_log_set_lazy(true);
	assert_false(ms_log_pending());

	/* Released, but still held; a flush writes them. */
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=a1", 8);
	ms_log_release();
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=a2", 8);
	ms_log_release();
	assert_true(ms_log_pending());
	assert_int_equal(written(), 0);
	ms_log_flush();
	assert_false(ms_log_pending());
	assert_true(written() > 0);

	/* An info line outside a hold takes the held ones with it, before itself. */
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=b1", 8);
	ms_log_release();
	ms_info("event=b2");
	assert_false(ms_log_pending());

	/* So does a warning inside a hold. */
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=c1", 8);
	ms_warn("event=c2");
	ms_log_release();
	assert_false(ms_log_pending());

	/* Half the buffer: the release writes without waiting for the timer. */
	{
		off_t before = written();
		int k = 0;

		while (written() == before) {
			ms_log_hold();
			n = snprintf(body, sizeof(body), "event=d%05d padding=%040d", k++, 0);
			ms_log_text(MS_LOG_INFO, body, (size_t)n);
			ms_log_release();
			assert_true(k < 2000);	/* 64 KiB / 2 of ~110-byte lines: ~300 */
		}
		assert_true(k > 100);
		assert_false(ms_log_pending());
		ms_log_hold();
		n = snprintf(body, sizeof(body), "event=d%05d padding=%040d", k++, 0);
		ms_log_text(MS_LOG_INFO, body, (size_t)n);
		ms_log_release();
		assert_true(ms_log_pending());
		next = k;
	}
	/* Off: what is held goes out; then lines are written at each release. */
	ms_log_set_lazy(false);
	assert_false(ms_log_pending());
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=e1", 8);
	ms_log_release();
	assert_false(ms_log_pending());
	out = capture_end(&len);

	/* Every line once, in the order logged. */
	p = out;
	for (const char *const *w = (const char *const[]){ "event=a1\n", "event=a2\n",
	    "event=b1\n", "event=b2\n", "event=c1\n", "level=warn prog=collector event=c2\n",
	    NULL }; *w; w++) {
		char *at = strstr(p, *w);
		assert_non_null(at);
		assert_null(strstr(at + 1, *w));
		p = at + strlen(*w);
	}
	for (int k = 0; k < next; k++) {
		char *at;

		snprintf(body, sizeof(body), "event=d%05d ", k);
		at = strstr(p, body);
		assert_non_null(at);
		p = at + strlen(body);
	}
	assert_non_null(strstr(p, "event=e1\n"));
	free(out);
}

/* A normal exit writes the lines still waiting (atexit), in a child process. */
static void
test_lazy_exit(void **state)
{
	char *out;
	size_t len;
	pid_t pid;
	int st;

	(void)state;
	capture_start();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ms_log_init("collector", MS_LOG_INFO);
		ms_log_set_lazy(true);
		ms_log_hold();
		ms_log_text(MS_LOG_INFO, "event=at_exit", 13);
		ms_log_release();
		/* still held here: only the exit can write it */
		exit(ms_log_pending() && lseek(2, 0, SEEK_END) == 0 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	out = capture_end(&len);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "prog=collector event=at_exit\n"));
	free(out);
}

/*
 * A daemon's libevent messages are our lines, in order with held ones: a
 * held info line first, then libevent's warning (an event on a
 * descriptor that is not open).
 */
static void
test_libevent_lines(void **state)
{
	struct ms_daemon_args a = { 0 };
	struct event_base *base;
	struct event *ev;
	char *out, *held, *warn;
	size_t len;
	/* never open here: epoll_ctl says EBADF, libevent warns */
	const int badfd = 1 << 20;

	(void)state;
	capture_start();
	assert_int_equal(ms_daemon_log_level("collector", &a, "info"), 0);
	base = event_base_new();
	assert_non_null(base);
	ev = event_new(base, badfd, EV_READ, NULL, NULL);
	assert_non_null(ev);
	ms_log_hold();
	ms_log_text(MS_LOG_INFO, "event=held_first", 16);
	assert_int_equal(event_add(ev, NULL), -1);
	ms_log_release();
	event_free(ev);
	event_base_free(base);
	event_set_log_callback(NULL);
	out = capture_end(&len);
	held = strstr(out, "level=info prog=collector event=held_first\n");
	warn = strstr(out, "level=warn prog=collector event=libevent message=\"");
	assert_non_null(held);
	assert_non_null(warn);
	assert_true(held < warn);
	assert_null(strstr(out, "[warn]"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_as_printf),
		cmocka_unit_test(test_one_line_per_record),
		cmocka_unit_test(test_text_cut_like_printf),
		cmocka_unit_test(test_text_level_off_and_held),
		cmocka_unit_test(test_lazy),
		cmocka_unit_test(test_lazy_exit),
		cmocka_unit_test(test_libevent_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
