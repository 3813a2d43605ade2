/*
 * Unit tests for collector/decoders: the syslog header decoder and the
 * sshd authentication decoder.
 *
 * Table-driven: every row of syslog_cases and sshd_cases becomes its own
 * cmocka test named after the row. Each line is copied into a heap buffer
 * of exactly its length so AddressSanitizer catches any read past it.
 * Expected times were computed independently (date -u -d ... +%s).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "ms_util.h"
#include "test_decode_util.h"

/* 2025-11-25T16:34:50Z: three seconds after the usual test line. */
#define RECV_NOV25 INT64_C(1764088490000)
/* 2025-11-25T16:34:47Z */
#define T_NOV25 INT64_C(1764088487000)
#define TZ_PLUS7 25200
#define TZ_MINUS5 (-18000)

#define PRI(x) .has_pri = true, .pri = (x)

/* ---- helpers ---------------------------------------------------------- */

static void
check_str(const char *name, const char *field, struct ms_str got, const char *want)
{
	if (want == NULL)
		want = "";
	if (!ms_str_eq(got, want))
		fail_msg("%s: %s = \"%.*s\" (%zu bytes), want \"%s\"", name, field,
		    (int)(got.len > 200 ? 200 : got.len), got.p != NULL ? got.p : "",
		    got.len, want);
}

static void
check_int(const char *name, const char *field, int64_t got, int64_t want)
{
	if (got != want)
		fail_msg("%s: %s = %lld, want %lld", name, field, (long long)got,
		    (long long)want);
}

/* Every slice must lie inside the line (empty ones too: they point into it). */
static void
check_slice(const char *name, const char *field, struct ms_str s, const char *buf,
    size_t len)
{
	uintptr_t b = (uintptr_t)buf, p = (uintptr_t)s.p;

	if (s.p == NULL || p < b || s.len > len || p - b > len - s.len)
		fail_msg("%s: %s slice outside the line", name, field);
}

static void
check_all_slices(const char *name, const struct decoded *d, const char *buf, size_t len)
{
	check_slice(name, "host", d->host, buf, len);
	check_slice(name, "app", d->app, buf, len);
	check_slice(name, "pid", d->pid, buf, len);
	check_slice(name, "msgid", d->msgid, buf, len);
	check_slice(name, "msg", d->msg, buf, len);
	check_slice(name, "user", d->user, buf, len);
	check_slice(name, "method", d->method, buf, len);
	check_slice(name, "src_ip", d->src_ip, buf, len);
}

/* Length after the decoder's own rules: capped, then trailing CR/LF cut. */
static size_t
stripped_len(const char *s, size_t n)
{
	if (n > DECODE_MAX_LINE)
		n = DECODE_MAX_LINE;
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return n;
}

/* ---- syslog header table ---------------------------------------------- */

struct syslog_case {
	const char *name;
	const char *line;
	size_t len;			/* 0: strlen(line) */
	int64_t recv_ms;
	int32_t tz;
	enum decode_syslog_fmt fmt;
	int64_t time_ms;		/* ignored unless from_line */
	bool from_line;
	bool has_pri;
	int pri;
	const char *host, *app, *pid, *msgid;
	const char *msg;		/* NULL with fmt NONE: the whole line */
	size_t msg_len;			/* 0: strlen(msg) */
};

static const struct syslog_case syslog_cases[] = {
	/* RFC 3164 */
	{ .name = "3164 with PRI (RFC example)",
	  .line = "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
	  .recv_ms = INT64_C(1760227200000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1760220855000), .from_line = true, PRI(34),
	  .host = "mymachine", .app = "su", .pid = "123",
	  .msg = "'su root' failed for lonvick on /dev/pts/8" },
	{ .name = "3164 auth.log without PRI",
	  .line = "Nov 25 16:34:47 web1 sshd[1234]: Failed password for root from 203.0.113.5 port 52144 ssh2",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "sshd", .pid = "1234",
	  .msg = "Failed password for root from 203.0.113.5 port 52144 ssh2" },
	{ .name = "3164 agent at UTC+7 (local time minus offset)",
	  .line = "Nov 25 16:34:47 web1 sshd[1234]: x",
	  .recv_ms = INT64_C(1764063290000), .tz = TZ_PLUS7, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1764063287000), .from_line = true,
	  .host = "web1", .app = "sshd", .pid = "1234", .msg = "x" },
	{ .name = "3164 agent at UTC-5",
	  .line = "Nov 25 16:34:47 web1 sshd[1234]: x",
	  .recv_ms = INT64_C(1764106490000), .tz = TZ_MINUS5, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1764106487000), .from_line = true,
	  .host = "web1", .app = "sshd", .pid = "1234", .msg = "x" },
	{ .name = "3164 space-padded day",
	  .line = "Nov  5 08:00:01 web1 CRON[999]: (root) CMD (run-parts)",
	  .recv_ms = INT64_C(1762329605000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1762329601000), .from_line = true,
	  .host = "web1", .app = "CRON", .pid = "999", .msg = "(root) CMD (run-parts)" },
	{ .name = "3164 unpadded single-digit day",
	  .line = "Nov 5 08:00:01 web1 CRON[999]: x",
	  .recv_ms = INT64_C(1762329605000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1762329601000), .from_line = true,
	  .host = "web1", .app = "CRON", .pid = "999", .msg = "x" },
	{ .name = "3164 with year (year in line wins over recv year)",
	  .line = "Nov 25 2025 16:34:47 host tag: msg",
	  .recv_ms = INT64_C(1893456000000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = T_NOV25, .from_line = true,
	  .host = "host", .app = "tag", .msg = "msg" },
	{ .name = "3164 with year and PRI",
	  .line = "<86>Nov 25 2025 16:34:47 host tag: msg",
	  .recv_ms = INT64_C(1893456000000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = T_NOV25, .from_line = true, PRI(86),
	  .host = "host", .app = "tag", .msg = "msg" },
	{ .name = "3164 PRI 0",
	  .line = "<0>Oct 11 22:14:15 h a: m",
	  .recv_ms = INT64_C(1760227200000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1760220855000), .from_line = true, PRI(0),
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "3164 December line read on January 1st is last year",
	  .line = "Dec 31 23:59:58 web1 sshd[1]: x",
	  .recv_ms = INT64_C(1767225603000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1767225598000), .from_line = true,
	  .host = "web1", .app = "sshd", .pid = "1", .msg = "x" },
	{ .name = "3164 year comes from the agent's local time, not UTC",
	  /* recv 2025-12-31T17:00:03Z is already 2026-01-01 at UTC+7 */
	  .line = "Jan  1 00:00:01 web1 app: x",
	  .recv_ms = INT64_C(1767200403000), .tz = TZ_PLUS7, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1767200401000), .from_line = true,
	  .host = "web1", .app = "app", .msg = "x" },
	{ .name = "3164 January line read on December 31st is next year",
	  /*
	   * A relay's file holds the sender's stamp: a device 3 s ahead logs
	   * "Jan  1 00:00:01" while the agent (UTC+7) still reads on
	   * 2026-12-31 at 23:59:58. It is 2027-01-01, not 2026-01-01.
	   */
	  .line = "Jan  1 00:00:01 fw1 app: x",
	  .recv_ms = INT64_C(1798736398000), .tz = TZ_PLUS7, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1798736401000), .from_line = true,
	  .host = "fw1", .app = "app", .msg = "x" },
	{ .name = "3164 January line read in late December from a host at UTC",
	  /* 2026-12-31T23:50:00Z, the line 20 min ahead: 2027-01-01T00:10:00Z */
	  .line = "Jan  1 00:10:00 fw1 app: x",
	  .recv_ms = INT64_C(1798761000000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1798762200000), .from_line = true,
	  .host = "fw1", .app = "app", .msg = "x" },
	{ .name = "3164 January line read in early December stays this year",
	  /* a year-long file read from its beginning: "Jan  5" is eleven months old */
	  .line = "Jan  5 10:00:00 h a: m",
	  .recv_ms = INT64_C(1796860800000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1767607200000), .from_line = true,
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "3164 more than 31 days ahead is last year",
	  .line = "Dec 31 00:00:00 h a: m",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1735603200000), .from_line = true,
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "3164 less than 31 days ahead stays this year",
	  .line = "Dec 10 00:00:00 h a: m",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1765324800000), .from_line = true,
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "3164 Feb 29 in a non-leap recv year is last year's",
	  .line = "Feb 29 12:00:00 h a: m",
	  .recv_ms = INT64_C(1740787200000), .fmt = DECODE_SYSLOG_3164,
	  .time_ms = INT64_C(1709208000000), .from_line = true,
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "3164 fractional seconds",
	  .line = "Nov 25 16:34:47.250 web1 app: x",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164,
	  .time_ms = T_NOV25 + 250, .from_line = true,
	  .host = "web1", .app = "app", .msg = "x" },
	{ .name = "3164 lower-case month",
	  .line = "nov 25 16:34:47 web1 app: x",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "app", .msg = "x" },
	{ .name = "3164 local /dev/log line without host",
	  .line = "<13>Nov 25 16:34:47 sshd[1234]: hello",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, PRI(13), .app = "sshd", .pid = "1234", .msg = "hello" },
	{ .name = "3164 without host, tag without pid",
	  .line = "Nov 25 16:34:47 su: hello",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .app = "su", .msg = "hello" },
	{ .name = "3164 without tag",
	  .line = "Nov 25 16:34:47 web1 last message repeated 2 times",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .msg = "last message repeated 2 times" },
	{ .name = "3164 tag with slash",
	  .line = "Nov 25 16:34:47 mail postfix/smtpd[42]: connect from unknown[192.0.2.9]",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "mail", .app = "postfix/smtpd", .pid = "42",
	  .msg = "connect from unknown[192.0.2.9]" },
	{ .name = "3164 tag with - . _ and colon in message",
	  .line = "Nov 25 16:34:47 web1 my_app.v-2: hello: world",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "my_app.v-2", .msg = "hello: world" },
	{ .name = "3164 tag[pid] without colon",
	  .line = "Nov 25 16:34:47 web1 app[7] hi",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "app", .pid = "7", .msg = "hi" },
	{ .name = "3164 URL at message start is no tag",
	  .line = "Nov 25 16:34:47 web1 http://x/ down",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .msg = "http://x/ down" },
	{ .name = "3164 kernel",
	  .line = "Nov 25 16:34:47 web1 kernel: [   12.345] eth0: link up",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "kernel",
	  .msg = "[   12.345] eth0: link up" },
	{ .name = "3164 tag with empty message",
	  .line = "Nov 25 16:34:47 web1 sshd[1234]:",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "sshd", .pid = "1234", .msg = "" },
	{ .name = "3164 timestamp only",
	  .line = "Nov 25 16:34:47",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .msg = "" },
	{ .name = "3164 CRLF stripped",
	  .line = "Nov 25 16:34:47 web1 app: msg\r\n",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "app", .msg = "msg" },

	/* RFC 5424 */
	{ .name = "5424 RFC example 1 (NIL procid and SD, BOM)",
	  .line = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
	      "\xEF\xBB\xBF" "'su root' failed for lonvick on /dev/pts/8",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424,
	  .time_ms = INT64_C(1065910455003), .from_line = true, PRI(34),
	  .host = "mymachine.example.com", .app = "su", .msgid = "ID47",
	  .msg = "'su root' failed for lonvick on /dev/pts/8" },
	{ .name = "5424 RFC example 2 (microseconds, -07:00)",
	  .line = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424,
	  .time_ms = INT64_C(1061727255000), .from_line = true, PRI(165),
	  .host = "192.0.2.1", .app = "myproc", .pid = "8710",
	  .msg = "%% It's time to make the do-nuts." },
	{ .name = "5424 RFC example 3 (structured data)",
	  .line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
	      "\xEF\xBB\xBF" "An application event log entry...",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424,
	  .time_ms = INT64_C(1065910455003), .from_line = true, PRI(165),
	  .host = "mymachine.example.com", .app = "evntslog", .msgid = "ID47",
	  .msg = "An application event log entry..." },
	{ .name = "5424 SD with escaped ] and \" and two elements",
	  .line = "<165>1 2003-10-11T22:14:15.003Z host app 1 - "
	      "[a@1 x=\"a\\]b\\\"c\\\\\"][b@2 y=\"]\"] after",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424,
	  .time_ms = INT64_C(1065910455003), .from_line = true, PRI(165),
	  .host = "host", .app = "app", .pid = "1", .msg = "after" },
	{ .name = "5424 SD and no message",
	  .line = "<165>1 2003-10-11T22:14:15.003Z host app - - [ex@1 a=\"b\"]",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424,
	  .time_ms = INT64_C(1065910455003), .from_line = true, PRI(165),
	  .host = "host", .app = "app", .msg = "" },
	{ .name = "5424 offset +05:30, one fraction digit",
	  .line = "<14>1 2025-11-25T22:04:47.5+05:30 h a p m - x",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424, .time_ms = T_NOV25 + 500,
	  .from_line = true, PRI(14), .host = "h", .app = "a", .pid = "p",
	  .msgid = "m", .msg = "x" },
	{ .name = "5424 offset -05:30",
	  .line = "<14>1 2025-11-25T11:04:47-05:30 h a p m - x",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424, .time_ms = T_NOV25,
	  .from_line = true, PRI(14), .host = "h", .app = "a", .pid = "p",
	  .msgid = "m", .msg = "x" },
	{ .name = "5424 NIL timestamp uses recv time",
	  .line = "<14>1 - host app - - - msg",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424, PRI(14),
	  .host = "host", .app = "app", .msg = "msg" },
	{ .name = "5424 everything NIL",
	  .line = "<14>1 - - - - - -",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_5424, PRI(14), .msg = "" },
	{ .name = "5424 unterminated SD is no 5424",
	  .line = "<14>1 2003-10-11T22:14:15Z h a - - [x@1 a=\"]",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_NONE },
	{ .name = "5424 escape at end of SD",
	  .line = "<14>1 2003-10-11T22:14:15Z h a - - [x@1 a=\"\\",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_NONE },
	{ .name = "5424 timestamp without zone is no 5424",
	  .line = "<14>1 2003-10-11T22:14:15 h a - - - m",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_NONE },
	{ .name = "5424 missing fields",
	  .line = "<14>1 2003-10-11T22:14:15Z h a",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_NONE },

	/* RFC 3339 (rsyslog's file format on Debian 12) */
	{ .name = "RFC 3339 Debian auth.log",
	  .line = "2025-11-25T23:34:47.123456+07:00 web1 sshd[1234]: Failed password for root from 203.0.113.5 port 52144 ssh2",
	  .recv_ms = RECV_NOV25, .tz = TZ_MINUS5, .fmt = DECODE_SYSLOG_RFC3339,
	  .time_ms = T_NOV25 + 123, .from_line = true,
	  .host = "web1", .app = "sshd", .pid = "1234",
	  .msg = "Failed password for root from 203.0.113.5 port 52144 ssh2" },
	{ .name = "RFC 3339 with PRI and Z",
	  .line = "<38>2025-11-25T16:34:47Z web1 sshd[1]: x",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_RFC3339, .time_ms = T_NOV25,
	  .from_line = true, PRI(38), .host = "web1", .app = "sshd", .pid = "1", .msg = "x" },
	{ .name = "RFC 3339 with PRI, year starting with 1",
	  .line = "<13>1999-12-31T23:59:59Z h a: m",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_RFC3339,
	  .time_ms = INT64_C(946684799000), .from_line = true, PRI(13),
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "RFC 3339 without zone is agent local time",
	  .line = "2025-11-25T23:34:47 web1 app: x",
	  .recv_ms = RECV_NOV25, .tz = TZ_PLUS7, .fmt = DECODE_SYSLOG_RFC3339,
	  .time_ms = T_NOV25, .from_line = true, .host = "web1", .app = "app", .msg = "x" },
	{ .name = "RFC 3339 leap second rolls into the next minute",
	  .line = "2016-12-31T23:59:60Z h a: m",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_RFC3339,
	  .time_ms = INT64_C(1483228800000), .from_line = true,
	  .host = "h", .app = "a", .msg = "m" },
	{ .name = "RFC 3339 Feb 29 of a leap year",
	  .line = "2024-02-29T00:00:00Z h a: m",
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_RFC3339,
	  .time_ms = INT64_C(1709164800000), .from_line = true,
	  .host = "h", .app = "a", .msg = "m" },

	/* invalid dates and broken headers: NONE */
	{ .name = "RFC 3339 Feb 29 of a non-leap year",
	  .line = "2025-02-29T00:00:00Z h a: m", .recv_ms = RECV_NOV25 },
	{ .name = "RFC 3339 truncated offset",
	  .line = "2025-11-25T16:34:47+07 h a: m", .recv_ms = RECV_NOV25 },
	{ .name = "RFC 3339 offset hour 24",
	  .line = "2025-11-25T16:34:47+24:00 h a: m", .recv_ms = RECV_NOV25 },
	{ .name = "3164 Feb 30", .line = "Feb 30 10:00:00 host x: y", .recv_ms = RECV_NOV25 },
	{ .name = "3164 hour 25", .line = "Nov 25 25:00:00 host x: y", .recv_ms = RECV_NOV25 },
	{ .name = "3164 minute 60", .line = "Nov 25 16:60:00 host x: y", .recv_ms = RECV_NOV25 },
	{ .name = "3164 day 32", .line = "Nov 32 16:34:47 host x: y", .recv_ms = RECV_NOV25 },
	{ .name = "3164 day 0", .line = "Nov  0 16:34:47 host x: y", .recv_ms = RECV_NOV25 },
	{ .name = "3164 glued to host", .line = "Nov 25 16:34:47x web1", .recv_ms = RECV_NOV25 },
	{ .name = "3164 short time", .line = "Nov 25 16:34", .recv_ms = RECV_NOV25 },
	{ .name = "PRI 192", .line = "<192>Oct 11 22:14:15 h a: m", .recv_ms = RECV_NOV25 },
	{ .name = "PRI empty", .line = "<>Oct 11 22:14:15 h a: m", .recv_ms = RECV_NOV25 },
	{ .name = "PRI 4 digits", .line = "<0034>Oct 11 22:14:15 h a: m", .recv_ms = RECV_NOV25 },
	{ .name = "PRI unterminated", .line = "<34", .recv_ms = RECV_NOV25 },
	{ .name = "PRI alone", .line = "<34>", .recv_ms = RECV_NOV25 },
	{ .name = "PRI and version only", .line = "<34>1 ", .recv_ms = RECV_NOV25 },
	{ .name = "PRI and unknown version", .line = "<34>2 - - - - - - m", .recv_ms = RECV_NOV25 },
	{ .name = "month only", .line = "Nov", .recv_ms = RECV_NOV25 },
	{ .name = "plain text", .line = "hello world", .recv_ms = RECV_NOV25 },
	{ .name = "date with space instead of T", .line = "2025-11-25 16:34:47 h a: m",
	  .recv_ms = RECV_NOV25 },
	{ .name = "empty line", .line = "", .recv_ms = RECV_NOV25 },
	{ .name = "only CR LF", .line = "\r\n", .recv_ms = RECV_NOV25, .msg = "" },
	{ .name = "several trailing CR LF", .line = "hello\n\r\n", .recv_ms = RECV_NOV25,
	  .msg = "hello" },
	{ .name = "binary with NUL bytes", .line = "\0\xff<1\0", .len = 5,
	  .recv_ms = RECV_NOV25 },
	{ .name = "NUL inside a 3164 line", .line = "Nov 25 16:34:47 web1 a: x\0y", .len = 27,
	  .recv_ms = RECV_NOV25, .fmt = DECODE_SYSLOG_3164, .time_ms = T_NOV25,
	  .from_line = true, .host = "web1", .app = "a", .msg = "x\0y", .msg_len = 3 },
};

static void
test_syslog_case(void **state)
{
	const struct syslog_case *c = *state;
	size_t len = c->len != 0 ? c->len : strlen(c->line);
	struct decode_ctx ctx = { .recv_ms = c->recv_ms, .tz_offset_s = c->tz };
	struct decoded d;
	char *buf = dup_exact(c->line, len);

	decode_syslog(buf, len, &ctx, &d);
	check_all_slices(c->name, &d, buf, len);
	check_int(c->name, "fmt", d.fmt, c->fmt);
	check_int(c->name, "time_from_line", d.time_from_line, c->from_line);
	check_int(c->name, "time_ms", d.time_ms, c->from_line ? c->time_ms : c->recv_ms);
	check_int(c->name, "facility", d.facility, c->has_pri ? c->pri / 8 : -1);
	check_int(c->name, "severity", d.severity, c->has_pri ? c->pri % 8 : -1);
	check_str(c->name, "host", d.host, c->host);
	check_str(c->name, "app", d.app, c->app);
	check_str(c->name, "pid", d.pid, c->pid);
	check_str(c->name, "msgid", d.msgid, c->msgid);
	if (c->msg_len != 0) {
		if (d.msg.len != c->msg_len || memcmp(d.msg.p, c->msg, c->msg_len) != 0)
			fail_msg("%s: msg differs", c->name);
	} else if (c->msg != NULL) {
		check_str(c->name, "msg", d.msg, c->msg);
	} else {
		assert_int_equal(c->fmt, DECODE_SYSLOG_NONE);	/* table sanity */
		if (d.msg.p != buf || d.msg.len != stripped_len(buf, len))
			fail_msg("%s: msg is not the whole line", c->name);
	}
	/* decode_syslog leaves the sshd fields at their defaults */
	check_int(c->name, "sshd_action", d.sshd_action, DECODE_SSHD_NONE);
	check_int(c->name, "repeat", d.repeat, 1);
	check_int(c->name, "src_port", d.src_port, 0);
	free(buf);
}

/*
 * Lines of one second in a row (the decoder remembers the last second it
 * read): the zone, the fraction and what follows still count for each
 * line, and a line the cache's key matches but whose rest is wrong is
 * still refused.
 */
static void
test_rfc3339_same_second(void **state)
{
	static const int64_t sec = INT64_C(1795680292000);	/* 2026-11-26T08:04:52Z */
	static const struct {
		const char *line;
		bool ok;
		int64_t time_ms;
	} seq[] = {
		{ "2026-11-26T08:04:52.926255+00:00 h a: m", true, sec + 926 },
		{ "2026-11-26T08:04:52Z h a: m", true, sec },
		{ "2026-11-26T08:04:52.5+02:00 h a: m", true, sec + 500 - 7200000 },
		{ "2026-11-26T08:04:52-0130 h a: m", true, sec + 5400000 },
		{ "2026-11-26T08:04:52 h a: m", true, sec - 3600000 },	/* ctx zone +01:00 */
		{ "2026-11-26T08:04:52Zx h a: m", false, 0 },
		{ "2026-11-26T08:04:52.+00:00 h a: m", false, 0 },
		{ "2026-11-26T08:04:52+25:00 h a: m", false, 0 },
		{ "2026-11-26T08:04:52.001z h a: m", true, sec + 1 },
		{ "2026-11-26t08:04:52.002Z h a: m", true, sec + 2 },
		{ "2026-11-26T08:04:53Z h a: m", true, sec + 1000 },
		{ "2026-02-30T08:04:52Z h a: m", false, 0 },
		{ "2026-02-30T08:04:52Z h a: m", false, 0 },
		{ "2026-11-26T08:04:52.999Z h a: m", true, sec + 999 },
	};
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25, .tz_offset_s = 3600 };
	struct decoded d;

	(void)state;
	for (int round = 0; round < 2; round++) {
		for (size_t k = 0; k < MS_ARRAY_LEN(seq); k++) {
			size_t len = strlen(seq[k].line);
			char *buf = dup_exact(seq[k].line, len);

			decode_syslog(buf, len, &ctx, &d);
			if (seq[k].ok) {
				check_int(seq[k].line, "fmt", d.fmt, DECODE_SYSLOG_RFC3339);
				check_int(seq[k].line, "time_ms", d.time_ms, seq[k].time_ms);
			} else if (d.time_from_line) {
				fail_msg("%s: read a time from a bad timestamp", seq[k].line);
			}
			free(buf);
		}
	}
}

/* ---- sshd table -------------------------------------------------------- */

#define SSHD "Nov 25 16:34:47 web1 sshd[1234]: "

struct sshd_case {
	const char *name;
	const char *line;
	enum decode_sshd_action action;	/* NONE: decode_sshd returns 0 */
	const char *user, *method, *ip;
	int port;
	bool invalid;
	unsigned repeat;		/* 0 means 1 */
};

static const struct sshd_case sshd_cases[] = {
	{ "failed password",
	  SSHD "Failed password for root from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "root", "password", "203.0.113.5", 52144, false, 0 },
	{ "failed password, invalid user",
	  SSHD "Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "admin", "password", "203.0.113.5", 52144, true, 0 },
	{ "failed publickey from IPv6",
	  SSHD "Failed publickey for git from 2001:db8::1 port 40022 ssh2: ED25519 SHA256:abc",
	  DECODE_SSHD_AUTH_FAILURE, "git", "publickey", "2001:db8::1", 40022, false, 0 },
	{ "failed none, invalid user",
	  SSHD "Failed none for invalid user x from 1.2.3.4 port 1 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "x", "none", "1.2.3.4", 1, true, 0 },
	{ "failed keyboard-interactive/pam",
	  SSHD "Failed keyboard-interactive/pam for root from 203.0.113.5 port 65535 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "root", "keyboard-interactive/pam", "203.0.113.5", 65535, false, 0 },
	{ "accepted password",
	  SSHD "Accepted password for bob from 198.51.100.7 port 50000 ssh2",
	  DECODE_SSHD_AUTH_SUCCESS, "bob", "password", "198.51.100.7", 50000, false, 0 },
	{ "accepted publickey",
	  SSHD "Accepted publickey for bob from 198.51.100.7 port 50000 ssh2: RSA SHA256:Xq3/abc+def",
	  DECODE_SSHD_AUTH_SUCCESS, "bob", "publickey", "198.51.100.7", 50000, false, 0 },
	{ "accepted from IPv4-mapped IPv6",
	  SSHD "Accepted password for bob from ::ffff:198.51.100.7 port 50000 ssh2",
	  DECODE_SSHD_AUTH_SUCCESS, "bob", "password", "::ffff:198.51.100.7", 50000, false, 0 },
	{ "failed from link-local IPv6 with zone",
	  SSHD "Failed password for root from fe80::1%eth0 port 22 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "root", "password", "fe80::1%eth0", 22, false, 0 },
	{ "invalid user with port",
	  SSHD "Invalid user admin from 203.0.113.5 port 52144",
	  DECODE_SSHD_INVALID_USER, "admin", "", "203.0.113.5", 52144, true, 0 },
	{ "invalid user without port (old OpenSSH)",
	  SSHD "Invalid user admin from 203.0.113.5",
	  DECODE_SSHD_INVALID_USER, "admin", "", "203.0.113.5", 0, true, 0 },
	{ "invalid user from IPv6",
	  SSHD "Invalid user oracle from 2001:db8::42 port 1022",
	  DECODE_SSHD_INVALID_USER, "oracle", "", "2001:db8::42", 1022, true, 0 },
	{ "message repeated",
	  SSHD "message repeated 3 times: [ Failed password for root from 203.0.113.5 port 52144 ssh2]",
	  DECODE_SSHD_AUTH_FAILURE, "root", "password", "203.0.113.5", 52144, false, 3 },
	{ "message repeated without inner space",
	  SSHD "message repeated 12 times: [Failed password for invalid user a from 203.0.113.5 port 52144 ssh2]",
	  DECODE_SSHD_AUTH_FAILURE, "a", "password", "203.0.113.5", 52144, true, 12 },
	{ "empty invalid user name",
	  SSHD "Failed password for invalid user  from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "", "password", "203.0.113.5", 52144, true, 0 },
	{ "empty invalid user name, single space",
	  SSHD "Failed password for invalid user from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "", "password", "203.0.113.5", 52144, true, 0 },
	{ "empty name in Invalid user",
	  SSHD "Invalid user  from 203.0.113.5 port 52144",
	  DECODE_SSHD_INVALID_USER, "", "", "203.0.113.5", 52144, true, 0 },
	{ "user name with spaces",
	  SSHD "Failed password for invalid user john smith from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "john smith", "password", "203.0.113.5", 52144, true, 0 },
	{ "spoof: fake source in user name",
	  SSHD "Failed password for invalid user x from 1.1.1.1 port 2 from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "x from 1.1.1.1 port 2", "password", "203.0.113.5", 52144, true, 0 },
	{ "spoof: fake source and ssh2 in user name",
	  SSHD "Failed password for invalid user x from 1.1.1.1 port 2 ssh2 from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "x from 1.1.1.1 port 2 ssh2", "password", "203.0.113.5", 52144, true, 0 },
	{ "spoof: fake complete trailer in user name",
	  SSHD "Failed password for invalid user a from 1.1.1.1 port 2 ssh2: b from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "a from 1.1.1.1 port 2 ssh2: b", "password", "203.0.113.5", 52144, true, 0 },
	{ "spoof: fake source in Invalid user",
	  SSHD "Invalid user x from 1.1.1.1 port 2 from 203.0.113.5 port 52144",
	  DECODE_SSHD_INVALID_USER, "x from 1.1.1.1 port 2", "", "203.0.113.5", 52144, true, 0 },
	{ "spoof: fake source in Invalid user without port",
	  SSHD "Invalid user x from 1.1.1.1 port 2 from 203.0.113.5",
	  DECODE_SSHD_INVALID_USER, "x from 1.1.1.1 port 2", "", "203.0.113.5", 0, true, 0 },
	{ "spoof: fake source without the invalid user marker",
	  SSHD "Failed password for x from 1.1.1.1 port 2 from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "x from 1.1.1.1 port 2", "password", "203.0.113.5", 52144, false, 0 },
	{ "spoof: fake source in a certificate key ID",
	  SSHD "Failed publickey for root from 203.0.113.5 port 52144 ssh2: ED25519-CERT SHA256:abc "
	      "ID x from 6.6.6.6 port 1 ssh2: y (serial 1) CA ED25519 SHA256:def",
	  DECODE_SSHD_AUTH_FAILURE, "root", "publickey", "203.0.113.5", 52144, false, 0 },
	{ "sshd-session (OpenSSH 9.8+)",
	  "Nov 25 16:34:47 web1 sshd-session[1234]: Failed password for root from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "root", "password", "203.0.113.5", 52144, false, 0 },
	{ "sshd by full path",
	  "Nov 25 16:34:47 web1 /usr/sbin/sshd[1234]: Failed password for root from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "root", "password", "203.0.113.5", 52144, false, 0 },
	{ "sshd in RFC 5424",
	  "<38>1 2025-11-25T16:34:47Z web1 sshd 1234 - - Failed password for root from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_AUTH_FAILURE, "root", "password", "203.0.113.5", 52144, false, 0 },
	{ "sshd in RFC 3339 with CRLF",
	  "2025-11-25T23:34:47.123456+07:00 web1 sshd[1234]: Accepted publickey for bob from 198.51.100.7 port 50000 ssh2: RSA SHA256:xyz\r\n",
	  DECODE_SSHD_AUTH_SUCCESS, "bob", "publickey", "198.51.100.7", 50000, false, 0 },

	/* not authentication messages, or not sshd, or malformed */
	{ "connection closed", SSHD "Connection closed by 1.2.3.4 port 22 [preauth]",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "disconnected", SSHD "Disconnected from authenticating user root 203.0.113.5 port 52144 [preauth]",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "received disconnect", SSHD "Received disconnect from 203.0.113.5 port 52144:11: Bye Bye [preauth]",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "pam_unix", SSHD "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "accepted key (debug)", SSHD "Accepted key RSA SHA256:abc found at /home/bob/.ssh/authorized_keys:1",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "not sshd",
	  "Nov 25 16:34:47 web1 su[1]: Failed password for root from 1.2.3.4 port 1 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "program sshdfoo is not sshd",
	  "Nov 25 16:34:47 web1 sshdfoo[1]: Failed password for root from 1.2.3.4 port 1 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "no syslog header",
	  "Failed password for root from 1.2.3.4 port 1 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "bad IPv4", SSHD "Failed password for root from 999.1.1.1 port 1 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "host name instead of address", SSHD "Failed password for root from host.example.com port 22 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "address too long",
	  SSHD "Failed password for root from 1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc port 1 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "empty zone", SSHD "Failed password for root from fe80::1% port 22 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "port 0", SSHD "Failed password for root from 1.2.3.4 port 0 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "port 65536", SSHD "Failed password for root from 1.2.3.4 port 65536 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "port not a number", SSHD "Failed password for root from 1.2.3.4 port ssh ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "failed without port", SSHD "Failed password for root from 1.2.3.4",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "junk after port", SSHD "Failed password for root from 1.2.3.4 port 22 junk",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "invalid user with junk after port", SSHD "Invalid user a from 1.2.3.4 port 22 x",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "missing for", SSHD "Failed password root from 1.2.3.4 port 22 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "empty method", SSHD "Failed  for root from 1.2.3.4 port 22 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "truncated", SSHD "Failed password for",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "repeated non-auth message",
	  SSHD "message repeated 2 times: [ Connection closed by 1.2.3.4 port 22 [preauth]]",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "repeated without closing bracket",
	  SSHD "message repeated 2 times: [ Failed password for root from 203.0.113.5 port 52144 ssh2",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "repeated 0 times",
	  SSHD "message repeated 0 times: [ Failed password for root from 203.0.113.5 port 52144 ssh2]",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
	{ "repeated count too long",
	  SSHD "message repeated 12345678901 times: [ Failed password for root from 203.0.113.5 port 52144 ssh2]",
	  DECODE_SSHD_NONE, NULL, NULL, NULL, 0, false, 0 },
};

static void
test_sshd_case(void **state)
{
	const struct sshd_case *c = *state;
	size_t len = strlen(c->line);
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25, .tz_offset_s = 0 };
	struct decoded d;
	char *buf = dup_exact(c->line, len);
	int rc;

	decode_syslog(buf, len, &ctx, &d);
	rc = decode_sshd(&d);
	check_all_slices(c->name, &d, buf, len);
	check_int(c->name, "rc", rc, c->action != DECODE_SSHD_NONE);
	check_int(c->name, "sshd_action", d.sshd_action, c->action);
	check_str(c->name, "user", d.user, c->user);
	check_str(c->name, "method", d.method, c->method);
	check_str(c->name, "src_ip", d.src_ip, c->ip);
	check_int(c->name, "src_port", d.src_port, c->port);
	check_int(c->name, "invalid_user", d.invalid_user, c->invalid);
	check_int(c->name, "repeat", d.repeat, c->repeat != 0 ? c->repeat : 1);

	/* decode_line gives the same answer */
	decode_line(buf, len, &ctx, &d);
	check_int(c->name, "decode_line action", d.sshd_action, c->action);
	check_str(c->name, "decode_line src_ip", d.src_ip, c->ip);
	free(buf);
}

/* ---- single tests ------------------------------------------------------- */

/* A second decode_sshd on a non-sshd event resets what the first one set. */
static void
test_sshd_resets_fields(void **state)
{
	static const char line[] = SSHD "message repeated 3 times: [ Failed password for root from 203.0.113.5 port 52144 ssh2]";
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded d;

	(void)state;
	decode_line(line, sizeof(line) - 1, &ctx, &d);
	assert_int_equal(d.sshd_action, DECODE_SSHD_AUTH_FAILURE);
	assert_int_equal(d.repeat, 3);
	d.app = ms_str_make("cron", 4);
	assert_int_equal(decode_sshd(&d), 0);
	assert_int_equal(d.sshd_action, DECODE_SSHD_NONE);
	assert_int_equal(d.repeat, 1);
	assert_int_equal(d.src_port, 0);
	assert_int_equal(d.user.len, 0);
	assert_int_equal(d.src_ip.len, 0);
	assert_false(d.invalid_user);
}

/* decode_sshd works on a struct filled by hand, as the header promises. */
static void
test_sshd_by_hand(void **state)
{
	static const char msg[] = "Accepted password for bob from 198.51.100.7 port 50000 ssh2";
	struct decoded d;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.app = ms_str_make("sshd-session", 12);
	d.msg = ms_str_make(msg, sizeof(msg) - 1);
	assert_int_equal(decode_sshd(&d), 1);
	assert_int_equal(d.sshd_action, DECODE_SSHD_AUTH_SUCCESS);
	assert_true(ms_str_eq(d.user, "bob"));
	assert_int_equal(d.src_port, 50000);
}

static void
test_action_names(void **state)
{
	(void)state;
	assert_string_equal(decode_sshd_action_name(DECODE_SSHD_NONE), "none");
	assert_string_equal(decode_sshd_action_name(DECODE_SSHD_AUTH_FAILURE), "auth_failure");
	assert_string_equal(decode_sshd_action_name(DECODE_SSHD_AUTH_SUCCESS), "auth_success");
	assert_string_equal(decode_sshd_action_name(DECODE_SSHD_INVALID_USER), "invalid_user");
	assert_string_equal(decode_sshd_action_name((enum decode_sshd_action)99), "unknown");
}

static void
test_null_line(void **state)
{
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded d;

	(void)state;
	decode_line(NULL, 0, &ctx, &d);
	assert_int_equal(d.fmt, DECODE_SYSLOG_NONE);
	assert_int_equal(d.msg.len, 0);
	assert_non_null(d.msg.p);
	assert_int_equal(d.time_ms, RECV_NOV25);
}

/* 100 KiB line: decoded on its first DECODE_MAX_LINE bytes. */
static void
test_long_line_header(void **state)
{
	static const char hdr[] = SSHD "Failed password for invalid user ";
	size_t len = 100 * 1024, h = sizeof(hdr) - 1;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded d;
	char *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	memcpy(buf, hdr, h);
	memset(buf + h, 'A', len - h);
	buf[len - 2] = '\r';
	buf[len - 1] = '\n';
	decode_line(buf, len, &ctx, &d);
	check_all_slices("long line", &d, buf, len);
	assert_int_equal(d.fmt, DECODE_SYSLOG_3164);
	assert_int_equal(d.time_ms, T_NOV25);
	assert_true(ms_str_eq(d.app, "sshd"));
	assert_ptr_equal(d.msg.p, buf + 33);
	assert_int_equal(d.msg.len, DECODE_MAX_LINE - 33);
	assert_int_equal(d.sshd_action, DECODE_SSHD_NONE);
	free(buf);
}

/* A user name of " from 1.1.1.1 port 1" * N: right-to-left search stays linear. */
static void
test_long_line_many_from(void **state)
{
	static const char hdr[] = SSHD "Failed password for invalid user ";
	static const char rep[] = " from 1.1.1.1 port 1";
	static const char tail[] = " from 203.0.113.5 port 52144 ssh2";
	size_t len = DECODE_MAX_LINE, h = sizeof(hdr) - 1, r = sizeof(rep) - 1;
	size_t t = sizeof(tail) - 1, pos = h;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded d;
	char *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	memcpy(buf, hdr, h);
	while (pos + r <= len - t) {
		memcpy(buf + pos, rep, r);
		pos += r;
	}
	memcpy(buf + pos, tail, t);
	len = pos + t;
	decode_line(buf, len, &ctx, &d);
	check_all_slices("many from", &d, buf, len);
	assert_int_equal(d.sshd_action, DECODE_SSHD_AUTH_FAILURE);
	assert_true(ms_str_eq(d.src_ip, "203.0.113.5"));
	assert_int_equal(d.src_port, 52144);
	assert_int_equal(d.user.len, pos - h);
	free(buf);
}

/* 100 KiB of no header, of open SD, of digits: no crash, NONE, capped. */
static void
test_long_line_garbage(void **state)
{
	static const char sd_hdr[] = "<14>1 2003-10-11T22:14:15Z h a - - [x@1 a=\"";
	size_t len = 100 * 1024;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded d;
	char *buf = malloc(len);
	const char fill[] = { 'A', '[', '"', '\\', '1', '\n', ' ' };

	(void)state;
	assert_non_null(buf);
	for (size_t f = 0; f < sizeof(fill); f++) {
		memset(buf, fill[f], len);
		decode_line(buf, len, &ctx, &d);
		check_all_slices("long garbage", &d, buf, len);
		assert_int_equal(d.fmt, DECODE_SYSLOG_NONE);
		assert_int_equal(d.msg.len, fill[f] == '\n' ? 0 : DECODE_MAX_LINE);
	}
	memset(buf, '"', len);
	memcpy(buf, sd_hdr, sizeof(sd_hdr) - 1);
	decode_line(buf, len, &ctx, &d);
	assert_int_equal(d.fmt, DECODE_SYSLOG_NONE);
	free(buf);
}

/* CR/LF just past the cap are not seen; just inside it they are stripped. */
static void
test_cap_boundary(void **state)
{
	size_t len = DECODE_MAX_LINE + 2;
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25 };
	struct decoded d;
	char *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	memset(buf, 'x', len);
	buf[DECODE_MAX_LINE] = '\r';
	buf[DECODE_MAX_LINE + 1] = '\n';
	decode_line(buf, len, &ctx, &d);
	assert_int_equal(d.msg.len, DECODE_MAX_LINE);
	buf[DECODE_MAX_LINE - 1] = '\n';
	decode_line(buf, len, &ctx, &d);
	assert_int_equal(d.msg.len, DECODE_MAX_LINE - 1);
	decode_line(buf, DECODE_MAX_LINE, &ctx, &d);
	assert_int_equal(d.msg.len, DECODE_MAX_LINE - 1);
	free(buf);
}

/* ---- mutation smoke test ------------------------------------------------ */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/*
 * Mutates every table line many times (bytes from a syntax-heavy alphabet,
 * deletions, truncations) with extreme contexts, and checks the invariants:
 * slices inside the line, NONE means whole line and recv time.
 */
static void
test_mutations(void **state)
{
	static const char alphabet[] = " []<>:-.TZ+\"\\0123456789%from port ssh2\r\n\xEF\xBB\xBF\x00\xff";
	static const struct decode_ctx ctxs[] = {
		{ RECV_NOV25, 0, NULL, NULL, 0 }, { RECV_NOV25, TZ_PLUS7, NULL, NULL, 0 },
		{ 0, 0, NULL, NULL, 0 }, { INT64_MAX, INT32_MAX, NULL, NULL, 0 },
		{ INT64_MIN, INT32_MIN, NULL, NULL, 0 }, { -1, -50400, NULL, NULL, 0 },
		{ INT64_C(253402300799999), 50400, NULL, NULL, 0 },
	};
	size_t nsyslog = MS_ARRAY_LEN(syslog_cases), nsshd = MS_ARRAY_LEN(sshd_cases);
	char work[512];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t pick = (size_t)(rng() % (nsyslog + nsshd));
		const char *src;
		size_t len;
		char *buf;
		struct decoded d;
		const struct decode_ctx *ctx = &ctxs[rng() % MS_ARRAY_LEN(ctxs)];
		int muts = 1 + (int)(rng() % 4);

		if (pick < nsyslog) {
			src = syslog_cases[pick].line;
			len = syslog_cases[pick].len != 0 ? syslog_cases[pick].len : strlen(src);
		} else {
			src = sshd_cases[pick - nsyslog].line;
			len = strlen(src);
		}
		len = ms_copy(work, sizeof(work), src, len);
		for (int m = 0; m < muts && len > 0; m++) {
			size_t at = (size_t)(rng() % len);
			switch (rng() % 4) {
			case 0:
				work[at] = alphabet[rng() % (sizeof(alphabet) - 1)];
				break;
			case 1:
				work[at] = (char)(rng() & 0xff);
				break;
			case 2:
				memmove(work + at, work + at + 1, len - at - 1);
				len--;
				break;
			default:
				len = at;
				break;
			}
		}
		buf = dup_exact(work, len);
		decode_line(buf, len, ctx, &d);
		check_all_slices("mutation", &d, buf, len);
		if (d.fmt == DECODE_SYSLOG_NONE) {
			assert_ptr_equal(d.msg.p, buf);
			assert_int_equal(d.msg.len, stripped_len(buf, len));
			assert_true(d.time_ms == ctx->recv_ms);
			assert_int_equal(d.facility, -1);
		}
		assert_true(d.repeat >= 1);
		assert_true(d.src_port >= 0 && d.src_port <= 65535);
		free(buf);
	}
}

/*
 * The collector caps event times at its clock plus slack (decode_ctx
 * max_time_ms): a line dated in the future, and a line without a time read
 * "in the future" by the agent, are taken as dated at the cap and marked;
 * times at or below it are left alone; 0 means no cap.
 */
static void
test_time_cap(void **state)
{
	static const char future[] =
	    "<38>1 2099-01-01T00:00:00Z evil sshd 1 - - Failed password for root from 10.9.9.9 port 1 ssh2";
	static const char usual[] =
	    "Nov 25 16:34:47 web1 sshd[1]: Failed password for root from 10.9.9.9 port 1 ssh2";
	static const char bare[] = "no time in this line";
	struct decode_ctx ctx = { .recv_ms = RECV_NOV25, .max_time_ms = RECV_NOV25 + 5000 };
	struct decoded d;

	(void)state;
	decode_line(future, strlen(future), &ctx, &d);
	assert_true(d.time_from_line);
	assert_true(d.time_capped);
	assert_true(d.time_ms == RECV_NOV25 + 5000);
	/* still decoded as it was: the cap changes the time only */
	assert_int_equal(d.sshd_action, DECODE_SSHD_AUTH_FAILURE);

	decode_line(usual, strlen(usual), &ctx, &d);
	assert_false(d.time_capped);
	assert_true(d.time_ms == T_NOV25);

	ctx.max_time_ms = T_NOV25;	/* exactly at the cap: kept */
	decode_line(usual, strlen(usual), &ctx, &d);
	assert_false(d.time_capped);
	assert_true(d.time_ms == T_NOV25);

	ctx.recv_ms = INT64_C(4070908800000);	/* an agent whose clock says 2099 */
	ctx.max_time_ms = RECV_NOV25 + 5000;
	decode_line(bare, strlen(bare), &ctx, &d);
	assert_true(d.time_capped);
	assert_true(d.time_ms == RECV_NOV25 + 5000);

	ctx.max_time_ms = 0;	/* no cap */
	decode_line(future, strlen(future), &ctx, &d);
	assert_false(d.time_capped);
	assert_true(d.time_ms > INT64_C(4000000000000));
}

/* ---- main ---------------------------------------------------------------- */

static const struct CMUnitTest single_tests[] = {
	cmocka_unit_test(test_sshd_resets_fields),
	cmocka_unit_test(test_sshd_by_hand),
	cmocka_unit_test(test_action_names),
	cmocka_unit_test(test_null_line),
	cmocka_unit_test(test_rfc3339_same_second),
	cmocka_unit_test(test_long_line_header),
	cmocka_unit_test(test_long_line_many_from),
	cmocka_unit_test(test_long_line_garbage),
	cmocka_unit_test(test_cap_boundary),
	cmocka_unit_test(test_time_cap),
	cmocka_unit_test(test_mutations),
};

/* One cmocka test per table row, named after the row. */
static struct CMUnitTest tests[MS_ARRAY_LEN(syslog_cases) + MS_ARRAY_LEN(sshd_cases) +
    MS_ARRAY_LEN(single_tests)];

int
main(void)
{
	size_t n = 0;

	for (size_t i = 0; i < MS_ARRAY_LEN(syslog_cases); i++) {
		tests[n].name = syslog_cases[i].name;
		tests[n].test_func = test_syslog_case;
		tests[n++].initial_state = (void *)&syslog_cases[i];
	}
	for (size_t i = 0; i < MS_ARRAY_LEN(sshd_cases); i++) {
		tests[n].name = sshd_cases[i].name;
		tests[n].test_func = test_sshd_case;
		tests[n++].initial_state = (void *)&sshd_cases[i];
	}
	for (size_t i = 0; i < MS_ARRAY_LEN(single_tests); i++)
		tests[n++] = single_tests[i];
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
