/*
 * decode_web – web server access logs (nginx "combined", Apache
 * common/combined/vhost_combined):
 *
 *   [vhost[:port] ]client ident user [25/Nov/2026:16:34:47 +0700] "request"
 *   status bytes[ "referer" "user-agent"[ anything]]
 *
 * into W3C field names (Sigma category webserver). What makes a line an
 * access line is the bracketed date: it must be a real date and zone.
 *
 * Values as logged are log-escaped (nginx writes \xHH for '"', '\' and
 * non-printable bytes; Apache \" \\ \xhh \n \t): they are unescaped, so
 * every W3C field holds what the client sent on the wire. URL-decoding is
 * a separate, additional view:
 *   cs-uri, cs-uri-stem, cs-uri-query   as sent (percent-encoded), which is
 *       what public rules are written against (they spell out "%2e%2e",
 *       "/.%2e/", "union+select" themselves); cs-uri-query is the whole
 *       URI like cs-uri, as public rules read it (see web_request);
 *   cs-uri-stem-decoded, cs-uri-query-decoded   percent-decoded again
 *       and again until stable (double encoding, at most 3 rounds, mixed
 *       case hex), '+' as a space in the query: for our own rules, so an
 *       encoding nobody listed still matches.
 * A "-" value is the log's way of saying "none" and is not emitted. The
 * decoded query is emitted when the URI has a '?', without the '?'.
 */
#include "decode.h"
#include "decoders.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define WEB_MAX_HOST 255
#define WEB_IP_MAX 64
#define WEB_MAX_METHOD 32
#define WEB_DECODE_ROUNDS 3


/* ---- calendar -------------------------------------------------------- */

static int
web_mdays(int64_t y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : md[m - 1];
}

static bool
web_num(const char *s, size_t n, size_t i, size_t cnt, int *out)
{
	int v = 0;

	if (i > n || n - i < cnt)
		return false;
	for (size_t k = 0; k < cnt; k++) {
		if (s[i + k] < '0' || s[i + k] > '9')
			return false;
		v = v * 10 + (s[i + k] - '0');
	}
	*out = v;
	return true;
}

/*
 * "25/Nov/2026:16:34:47 +0700]" at s[i]: milliseconds since the epoch in
 * *ms; returns the offset just past ']', or 0 when it is no such date.
 */
/*
 * Two decimal digits at p, or -1. The caller has checked that they are in
 * the line: web_date reads a fixed-width field, so no bound per digit.
 */
static inline int
web_d2(const char *p)
{
	unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');

	return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/* Bytes of a date web_date reads, "]" included. */
#define WEB_DATE_LEN 27

/*
 * The last date web_date accepted, as its bytes and its value: a busy
 * server logs many lines per second, and a line with the same 27 bytes has
 * the same time (compared with four 8-byte loads; no parse, no calendar).
 */
struct web_date_memo {
	bool valid;
	char key[WEB_DATE_LEN];
	int64_t ms;
};

static _Thread_local struct web_date_memo web_date_last;

/* Is s (WEB_DATE_LEN bytes) the remembered date? */
static inline bool
web_date_same(const char *s)
{
	const struct web_date_memo *m = &web_date_last;
	uint64_t a[4], b[4];

	_Static_assert(WEB_DATE_LEN > 24 && WEB_DATE_LEN <= 32, "four overlapping loads");
	if (!m->valid)
		return false;
	memcpy(&a[0], s, 8);
	memcpy(&a[1], s + 8, 8);
	memcpy(&a[2], s + 16, 8);
	memcpy(&a[3], s + WEB_DATE_LEN - 8, 8);
	memcpy(&b[0], m->key, 8);
	memcpy(&b[1], m->key + 8, 8);
	memcpy(&b[2], m->key + 16, 8);
	memcpy(&b[3], m->key + WEB_DATE_LEN - 8, 8);
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

static size_t
web_date(const char *s, size_t n, size_t i, int64_t *ms)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, mon = 0, year, y2, hh, mm, ss, zh, zm;
	int64_t secs;

	if (n - i < WEB_DATE_LEN)
		return 0;
	if (web_date_same(s + i)) {
		*ms = web_date_last.ms;
		return i + WEB_DATE_LEN;
	}
	if (s[i + 2] != '/' || s[i + 6] != '/' || s[i + 11] != ':' ||
	    s[i + 14] != ':' || s[i + 17] != ':' || s[i + 20] != ' ' ||
	    (s[i + 21] != '+' && s[i + 21] != '-') || s[i + 26] != ']')
		return 0;
	for (int k = 0; k < 12 && mon == 0; k++)
		if (mons[3 * k] == s[i + 3] && mons[3 * k + 1] == s[i + 4] &&
		    mons[3 * k + 2] == s[i + 5])
			mon = k + 1;
	/* every offset below is < 27: inside the line (checked above) */
	if (mon == 0 || (day = web_d2(s + i)) < 0 || (year = web_d2(s + i + 7)) < 0 ||
	    (y2 = web_d2(s + i + 9)) < 0 || (hh = web_d2(s + i + 12)) < 0 ||
	    (mm = web_d2(s + i + 15)) < 0 || (ss = web_d2(s + i + 18)) < 0 ||
	    (zh = web_d2(s + i + 22)) < 0 || (zm = web_d2(s + i + 24)) < 0)
		return 0;
	year = year * 100 + y2;
	if (day < 1 || day > web_mdays(year, mon) || hh > 23 || mm > 59 || ss > 60 ||
	    zh > 23 || zm > 59)
		return 0;
	secs = decode_days(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
	secs -= (s[i + 21] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
	*ms = secs * 1000;
	memcpy(web_date_last.key, s + i, WEB_DATE_LEN);
	web_date_last.ms = *ms;
	web_date_last.valid = true;
	return i + WEB_DATE_LEN;
}

/* ---- small scanners -------------------------------------------------- */

static bool
web_is_ip(const char *p, size_t len)
{
	char buf[WEB_IP_MAX];
	unsigned char addr[sizeof(struct in6_addr)];

	if (decode_ipv4(p, len, NULL))
		return true;
	if (len == 0 || len >= sizeof(buf))
		return false;
	ms_copy(buf, sizeof(buf), p, len);
	return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

/* A host name or address as a server may log it instead of an IP. */
static bool
web_is_hostish(const char *p, size_t len)
{
	if (len == 0 || len > WEB_MAX_HOST)
		return false;
	for (size_t k = 0; k < len; k++) {
		char c = p[k];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
		    c == ':' || c == '%' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

/*
 * A quoted value starting at s[i] == '"': returns the offset of its closing
 * quote (a '"' not escaped by '\'), or n when there is none.
 */
static size_t
web_quoted_end(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;
	const char *q;

	/*
	 * memchr to each '"'; it is escaped when an odd run of backslashes
	 * (counted back to i + 1) stands right before it – the same quote a
	 * byte-by-byte scan that skips the byte after each '\\' stops at.
	 */
	while (j < n && (q = memchr(s + j, '"', n - j)) != NULL) {
		size_t e = (size_t)(q - s), bs = 0;
		while (e - bs > i + 1 && s[e - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			return e;
		j = e + 1;
	}
	return n;
}

/* ---- value decoders ------------------------------------------------- */

/*
 * p/len without the log's escaping (\xHH, \", \\, \n, \r, \t; any other
 * backslash is kept). Called when p holds a backslash; the result is in
 * scratch, MS_STR_NULL when the scratch area is full.
 */
static struct ms_str __attribute__((noinline))
web_unescape_slow(struct decoded *d, const char *p, size_t len)
{
	char *o;
	size_t w = 0;

	if ((o = decode_scratch(d, len)) == NULL)
		return MS_STR_NULL;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '\\' && i + 1 < len) {
			char e = p[i + 1];
			int h1, h2;
			if (e == 'x' && i + 3 < len && (h1 = ms_hexval(p[i + 2])) >= 0 &&
			    (h2 = ms_hexval(p[i + 3])) >= 0) {
				o[w++] = (char)(h1 * 16 + h2);
				i += 3;
				continue;
			}
			if (e == '"' || e == '\\' || e == 'n' || e == 'r' || e == 't') {
				o[w++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
				i++;
				continue;
			}
		}
		o[w++] = c;
	}
	/* w <= len: give back what was not used */
	d->scratch_used -= len - w;
	return ms_str_make(o, w);
}

/*
 * p/len without the log's escaping; see web_unescape_slow. Inline, for the
 * common case of nothing to undo (a call per value cost more than the scan).
 */
static inline __attribute__((always_inline)) struct ms_str
web_unescape_log(struct decoded *d, const char *p, size_t len)
{
	/* short values (user, "-") inline; memchr is cheaper on long ones */
	if (len < 32 ? decode_find(p, len, 0, '\\') == len : memchr(p, '\\', len) == NULL)
		return ms_str_make(p, len);
	return web_unescape_slow(d, p, len);
}

/* One round of percent-decoding of buf[0..*len) in place; true when it changed. */
static bool
web_pct_round(char *buf, size_t *len, bool plus_space)
{
	size_t w = 0, n = *len;
	bool changed = false;

	for (size_t i = 0; i < n; i++) {
		int h1, h2;
		if (buf[i] == '%' && i + 2 < n && (h1 = ms_hexval(buf[i + 1])) >= 0 &&
		    (h2 = ms_hexval(buf[i + 2])) >= 0) {
			buf[w++] = (char)(h1 * 16 + h2);
			i += 2;
			changed = true;
		} else if (plus_space && buf[i] == '+') {
			buf[w++] = ' ';
			changed = true;
		} else {
			buf[w++] = buf[i];
		}
	}
	*len = w;
	return changed;
}

/*
 * Adds name = v percent-decoded until stable (at most WEB_DECODE_ROUNDS);
 * '+' is a space in the first round when plus_space (a query: "%2B" stays
 * a '+'). v itself when nothing is encoded; nothing when scratch is full.
 */
static void
web_add_decoded(struct decoded *d, const char *name, struct ms_str v, bool plus_space)
{
	char *o;
	size_t len = v.len;

	if (memchr(v.p, '%', v.len) == NULL && (!plus_space || memchr(v.p, '+', v.len) == NULL)) {
		(void)decode_field_add(d, name, v.p, v.len);
		return;
	}
	if ((o = decode_scratch(d, v.len)) == NULL)
		return;
	memcpy(o, v.p, v.len);
	for (int r = 0; r < WEB_DECODE_ROUNDS; r++)
		if (!web_pct_round(o, &len, plus_space && r == 0))
			break;
	d->scratch_used -= v.len - len;
	(void)decode_field_add(d, name, o, len);
}

/* Adds v unless it is empty or the log's "-". */
static void
web_add(struct decoded *d, const char *name, struct ms_str v)
{
	if (v.p == NULL || v.len == 0 || (v.len == 1 && v.p[0] == '-'))
		return;
	(void)decode_field_add(d, name, v.p, v.len);
}

/* A method is upper-case letters, '-' and '_': one table load per byte. */
static const bool web_method_char[256] = {
	['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true,
	['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true,
	['M'] = true, ['N'] = true, ['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true,
	['S'] = true, ['T'] = true, ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true,
	['Y'] = true, ['Z'] = true, ['-'] = true, ['_'] = true,
};

/* "METHOD URI[ HTTP/x.y]" (already log-unescaped) into its fields. */
static void
web_request(struct decoded *d, struct ms_str req)
{
	size_t sp = 0, last, q;
	struct ms_str uri;

	sp = decode_find(req.p, req.len, 0, ' ');
	if (sp == 0 || sp == req.len || sp > WEB_MAX_METHOD)
		return;		/* "-", empty, a bare word, a TLS hello: no request */
	for (size_t k = 0; k < sp; k++)
		if (!web_method_char[(unsigned char)req.p[k]])
			return;
	(void)decode_field_add(d, "cs-method", req.p, sp);
	uri = ms_str_make(req.p + sp + 1, req.len - sp - 1);
	last = decode_rfind(uri.p, 0, uri.len, ' ');
	if (last > 0 && ms_str_startswith(ms_str_make(uri.p + last, uri.len - last), "HTTP/")) {
		(void)decode_field_add(d, "cs-version", uri.p + last, uri.len - last);
		uri.len = last - 1;
	}
	if (uri.len == 0)
		return;
	(void)decode_field_add(d, "cs-uri", uri.p, uri.len);
	{
		const char *qm = memchr(uri.p, '?', uri.len);
		q = qm != NULL ? (size_t)(qm - uri.p) : uri.len;
	}
	(void)decode_field_add(d, "cs-uri-stem", uri.p, q);
	web_add_decoded(d, "cs-uri-stem-decoded", ms_str_make(uri.p, q), false);
	/*
	 * cs-uri-query is the whole URI, path and query: public Sigma rules
	 * (SigmaHQ's webserver folder) look for paths in it – endswith
	 * "/mgmt/tm/util/bash", contains "/cgi-bin/.%2e/" – and with the
	 * query alone could never fire on the requests they were written for.
	 * Values they list for the query ("cmd=read", "=C:/Windows") match
	 * the whole URI as well. The -decoded view is the query alone.
	 */
	(void)decode_field_add(d, "cs-uri-query", uri.p, uri.len);
	if (q < uri.len)
		web_add_decoded(d, "cs-uri-query-decoded",
		    ms_str_make(uri.p + q + 1, uri.len - q - 1), true);
}

/* "vhost[:port]" → cs-host and s-port. */
static void
web_vhost(struct decoded *d, const char *p, size_t len)
{
	const char *c = memchr(p, ':', len);
	size_t h = c != NULL ? (size_t)(c - p) : len;
	bool port = c != NULL && h + 1 < len && memchr(c + 1, ':', len - h - 1) == NULL;

	for (size_t k = h + 1; port && k < len; k++)
		port = p[k] >= '0' && p[k] <= '9';
	if (!port)
		h = len;
	(void)decode_field_add(d, "cs-host", p, h);
	if (h < len)
		(void)decode_field_add(d, "s-port", p + h + 1, len - h - 1);
}

/*
 * Decodes s/n (the whole line, or the message of a syslog line) as an
 * access log line. Returns 1 and sets category "webserver", the event time
 * and the fields (slices of s or scratch); 0 with d untouched otherwise.
 */
int
decode_web(struct decoded *d, const char *s, size_t n)
{
	size_t b, i, ts_end, rq_end, st, tok[4], tokend[4], k = 0;
	int64_t ms;
	const char *c;

	if (s == NULL || n < 30 || s[0] == ' ')
		return 0;
	/*
	 * The date is the first " [" that opens a real date followed by ' "'.
	 * Not merely the first " [": the user before it is the client's
	 * (nginx logs $remote_user from any Authorization: Basic header, with
	 * its spaces and brackets), and a user "a [b" would otherwise hide
	 * the line from every web rule. A quote it cannot forge: nginx and
	 * Apache escape '"' in the user.
	 */
	for (c = memchr(s, '[', n);; c = memchr(c + 1, '[', n - (size_t)(c + 1 - s))) {
		if (c == NULL)
			return 0;
		if (c == s || c[-1] != ' ')
			continue;
		b = (size_t)(c - s);
		/* after the date: "request" 123 */
		if ((ts_end = web_date(s, n, b + 1, &ms)) != 0 && ts_end + 2 <= n &&
		    s[ts_end] == ' ' && s[ts_end + 1] == '"')
			break;
	}
	i = ts_end + 1;
	rq_end = i;
	for (;;) {
		int code;
		rq_end = web_quoted_end(s, n, rq_end);
		if (rq_end == n)
			return 0;
		st = rq_end + 2;
		/* a raw '"' inside an unescaped request: the real end has a status after it */
		if (rq_end + 1 < n && s[rq_end + 1] == ' ' && web_num(s, n, st, 3, &code) &&
		    (st + 3 == n || s[st + 3] == ' '))
			break;
	}

	/* up to 4 tokens before the date */
	for (size_t j = 0; j < b && k < 4;) {
		tok[k] = j;
		j = decode_find(s, b, j, ' ');
		tokend[k++] = j;
		while (j < b && s[j] == ' ')
			j++;
	}
	if (k < 3)
		return 0;
	{
		size_t ci = 0, ui;
		if (k == 4 && web_is_ip(s + tok[1], tokend[1] - tok[1]) &&
		    !web_is_ip(s + tok[0], tokend[0] - tok[0]))
			ci = 1;
		if (!web_is_ip(s + tok[ci], tokend[ci] - tok[ci]) &&
		    !web_is_hostish(s + tok[ci], tokend[ci] - tok[ci]))
			return 0;
		if (ci == 1 && !web_is_hostish(s + tok[0], tokend[0] - tok[0]))
			return 0;

		d->category = "webserver";
		d->time_ms = ms;
		d->time_from_line = true;
		if (ci == 1)
			web_vhost(d, s + tok[0], tokend[0] - tok[0]);
		(void)decode_field_add(d, "c-ip", s + tok[ci], tokend[ci] - tok[ci]);
		/* the user runs to the date: a name with spaces stays whole */
		ui = ci + 2;
		web_add(d, "cs-username", web_unescape_log(d, s + tok[ui], b - 1 - tok[ui]));
	}
	web_request(d, web_unescape_log(d, s + i + 1, rq_end - i - 1));
	(void)decode_field_add(d, "sc-status", s + st, 3);
	i = st + 3;
	if (i < n && s[i] == ' ') {
		size_t b0 = ++i;
		i = decode_find(s, n, i, ' ');
		web_add(d, "sc-bytes", ms_str_make(s + b0, i - b0));
	}
	/* optional "referer" "user-agent" */
	for (int q = 0; q < 2; q++) {
		size_t e;
		if (i + 1 >= n || s[i] != ' ' || s[i + 1] != '"')
			break;
		e = web_quoted_end(s, n, i + 1);
		if (e == n)
			break;
		web_add(d, q == 0 ? "cs-referer" : "cs-user-agent",
		    web_unescape_log(d, s + i + 2, e - i - 2));
		i = e + 1;
	}
	return 1;
}

bool
decode_web_field_known(const char *name)
{
	static const char *const fields[] = {
		"c-ip", "cs-host", "s-port", "cs-username", "cs-method", "cs-uri",
		"cs-uri-stem", "cs-uri-query", "cs-uri-stem-decoded", "cs-uri-query-decoded",
		"cs-version", "sc-status", "sc-bytes", "cs-referer", "cs-user-agent",
	};

	for (size_t i = 0; i < MS_ARRAY_LEN(fields); i++)
		if (strcasecmp(fields[i], name) == 0)
			return true;
	return false;
}
