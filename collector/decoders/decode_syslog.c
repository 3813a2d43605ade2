/*
 * decode_syslog – syslog header decoder (RFC 3164, RFC 5424, rsyslog's
 * RFC 3339 file format); decode_line() is in decode_line.c.
 *
 * A hand-written scanner over (s, n): every read is checked against n, the
 * line is never assumed to be NUL-terminated and nothing is allocated.
 * A header is all-or-nothing: when any part of it does not match (bad PRI,
 * impossible date, unterminated structured data, ...) the line is returned
 * as DECODE_SYSLOG_NONE with the whole line as msg, so a half-parsed header
 * never leaks wrong fields to the detectors.
 */
#include "decode.h"
#include "decoders.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MS_PER_DAY INT64_C(86400000)
/* A year-less RFC 3164 date further than this in the future is last year's. */
#define SYSLOG_FUTURE_SLACK_MS (31 * MS_PER_DAY)
/*
 * ... and next year's when it is at most this far in the future that year:
 * a sender's clock or zone a little off at the turn of the year, never a
 * line eleven months old (a year-long file read from its start).
 */
#define SYSLOG_NEXT_YEAR_SLACK_MS MS_PER_DAY
/* More fraction digits than nanoseconds is not a timestamp anyone writes. */
#define SYSLOG_MAX_FRAC_DIGITS 9
#define SYSLOG_MAX_PRI 191

/* A broken-down time as written in the line, before any zone is applied. */
struct syslog_tm {
	int64_t year;
	int mon, day, hour, min, sec, msec;
};

/* ---- calendar ------------------------------------------------------ */

/* Year of the day number z (days since 1970-01-01); civil_from_days. */
static int64_t
syslog_year_from_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);	/* Jan, Feb belong to the next year */
}

static bool
syslog_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
syslog_days_in_month(int64_t y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && syslog_is_leap(y))
		return 29;
	return mdays[m - 1];
}

/* Fields in range, day valid for its month and year. */
static bool
syslog_tm_valid(const struct syslog_tm *t)
{
	if (t->year < 0 || t->year > 9999 || t->mon < 1 || t->mon > 12)
		return false;
	if (t->day < 1 || t->day > syslog_days_in_month(t->year, t->mon))
		return false;
	/* sec 60 is a leap second; it simply rolls into the next minute */
	return t->hour <= 23 && t->min <= 59 && t->sec <= 60;
}

/* Milliseconds since the epoch of t read as UTC, minus offset_s. */
static int64_t
syslog_tm_to_ms(const struct syslog_tm *t, int64_t offset_s)
{
	int64_t days = decode_days(t->year, t->mon, t->day);
	int64_t secs = days * 86400 + t->hour * 3600 + t->min * 60 + t->sec - offset_s;

	return secs * 1000 + t->msec;
}

static int64_t
syslog_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- scanner primitives -------------------------------------------- */

static bool
syslog_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly cnt digits at s[*i]; advances *i. */
static bool
syslog_digits(const char *s, size_t n, size_t *i, size_t cnt, int *out)
{
	int v = 0;

	if (n - *i < cnt)
		return false;
	for (size_t k = 0; k < cnt; k++) {
		char c = s[*i + k];
		if (!syslog_isdigit(c))
			return false;
		v = v * 10 + (c - '0');
	}
	*i += cnt;
	*out = v;
	return true;
}

static bool
syslog_char(const char *s, size_t n, size_t *i, char c)
{
	if (*i >= n || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

/* After a field: either the line ends or a space follows (not consumed). */
static bool
syslog_at_sep(const char *s, size_t n, size_t i)
{
	return i == n || s[i] == ' ';
}

static void
syslog_skip_spaces(const char *s, size_t n, size_t *i)
{
	while (*i < n && s[*i] == ' ')
		(*i)++;
}

/* Optional ".ddd": milliseconds from the first 3 digits, truncated. */
static bool
syslog_fraction(const char *s, size_t n, size_t *i, int *msec)
{
	size_t cnt, j = *i + 1, e;
	int v = 0;

	*msec = 0;
	if (*i >= n || s[*i] != '.')
		return true;
	/* the digits' end first (a local index, one compare per digit), then the first three */
	for (e = j; e < n && syslog_isdigit(s[e]); e++)
		;
	cnt = e - j;
	if (cnt == 0 || cnt > SYSLOG_MAX_FRAC_DIGITS)
		return false;	/* the callers reject the stamp: *i does not matter */
	if (cnt >= 3)
		v = (s[j] - '0') * 100 + (s[j + 1] - '0') * 10 + (s[j + 2] - '0');
	else
		for (size_t k = 0; k < 3; k++)
			v = v * 10 + (k < cnt ? s[j + k] - '0' : 0);
	*msec = v;
	*i = e;
	return true;
}

/* Two decimal digits at p (known to be in the line), or -1. */
static int
syslog_d2(const char *p)
{
	unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');

	return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/* "hh:mm:ss[.frac]"; *i (<= n) is advanced on success only. */
static bool
syslog_clock(const char *s, size_t n, size_t *i, struct syslog_tm *t)
{
	size_t j = *i;

	/* fixed width: one bound check for all eight bytes */
	if (n - j < 8 || s[j + 2] != ':' || s[j + 5] != ':' ||
	    (t->hour = syslog_d2(s + j)) < 0 || (t->min = syslog_d2(s + j + 3)) < 0 ||
	    (t->sec = syslog_d2(s + j + 6)) < 0)
		return false;
	j += 8;
	if (!syslog_fraction(s, n, &j, &t->msec))
		return false;
	*i = j;
	return true;
}

/* "<PRI>" with PRI 0..191, 1 to 3 digits. */
static bool
syslog_pri(const char *s, size_t n, size_t *i, int *pri)
{
	size_t j = *i, cnt = 0;
	int v = 0;

	if (!syslog_char(s, n, &j, '<'))
		return false;
	while (j < n && syslog_isdigit(s[j]) && cnt < 3) {
		v = v * 10 + (s[j] - '0');
		j++;
		cnt++;
	}
	if (cnt == 0 || v > SYSLOG_MAX_PRI || !syslog_char(s, n, &j, '>'))
		return false;
	*pri = v;
	*i = j;
	return true;
}

/* ---- timestamps ---------------------------------------------------- */

/*
 * RFC 3339 "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)", case-insensitive
 * T and Z, "+hhmm" tolerated. Without a zone (only when !need_zone) the
 * time is the agent's local time. Must be followed by a space or the end.
 */
/*
 * The last "YYYY-MM-DDThh:mm:ss" that syslog_ts_rfc3339 read (valid), and
 * its seconds since the epoch as UTC: lines come in time order, so most
 * repeat the previous line's second and skip the date and clock parsing.
 */
#define SYSLOG_TS_KEY 19
static _Thread_local struct {
	bool valid;
	char key[SYSLOG_TS_KEY];
	int64_t secs;
} syslog_ts_last;

/* Are the SYSLOG_TS_KEY bytes at a and b the same? Three overlapping 8-byte loads each, no memcmp call. */
static inline bool
syslog_ts_same(const char *a, const char *b)
{
	uint64_t x[3], y[3];

	_Static_assert(SYSLOG_TS_KEY > 16 && SYSLOG_TS_KEY <= 24, "three overlapping loads");
	memcpy(&x[0], a, 8);
	memcpy(&x[1], a + 8, 8);
	memcpy(&x[2], a + SYSLOG_TS_KEY - 8, 8);
	memcpy(&y[0], b, 8);
	memcpy(&y[1], b + 8, 8);
	memcpy(&y[2], b + SYSLOG_TS_KEY - 8, 8);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

static bool
syslog_ts_rfc3339(const char *s, size_t n, size_t *i, bool need_zone,
    const struct decode_ctx *ctx, int64_t *ms)
{
	struct syslog_tm t = { 0 };
	size_t j = *i;
	int year = 0, oh = 0, om = 0;
	int64_t offset_s = ctx->tz_offset_s, secs;
	bool cached;

	/* "YYYY-": both paths below need the '-' (an access log's address fails here) */
	if (n - j < 5 || s[j + 4] != '-')
		return false;
	cached = n - j >= SYSLOG_TS_KEY && syslog_ts_last.valid &&
	    syslog_ts_same(s + j, syslog_ts_last.key);

	if (cached) {
		j += SYSLOG_TS_KEY;
		if (!syslog_fraction(s, n, &j, &t.msec))
			return false;
	} else {
		if (!syslog_digits(s, n, &j, 4, &year) || !syslog_char(s, n, &j, '-') ||
		    !syslog_digits(s, n, &j, 2, &t.mon) || !syslog_char(s, n, &j, '-') ||
		    !syslog_digits(s, n, &j, 2, &t.day))
			return false;
		if (j >= n || (s[j] != 'T' && s[j] != 't'))
			return false;
		j++;
		if (!syslog_clock(s, n, &j, &t))
			return false;
		t.year = year;
	}
	if (j < n && (s[j] == 'Z' || s[j] == 'z')) {
		offset_s = 0;
		j++;
	} else if (j < n && (s[j] == '+' || s[j] == '-')) {
		int sign = s[j] == '-' ? -1 : 1;
		j++;
		if (!syslog_digits(s, n, &j, 2, &oh))
			return false;
		(void)syslog_char(s, n, &j, ':');
		if (!syslog_digits(s, n, &j, 2, &om) || oh > 23 || om > 59)
			return false;
		offset_s = sign * (oh * 3600 + om * 60);
	} else if (need_zone) {
		return false;
	}
	if (!syslog_at_sep(s, n, j))
		return false;
	if (cached) {
		secs = syslog_ts_last.secs;
	} else {
		int msec = t.msec;

		if (!syslog_tm_valid(&t))
			return false;
		t.msec = 0;
		secs = syslog_tm_to_ms(&t, 0) / 1000;
		t.msec = msec;
		memcpy(syslog_ts_last.key, s + *i, SYSLOG_TS_KEY);
		syslog_ts_last.secs = secs;
		syslog_ts_last.valid = true;
	}
	*ms = (secs - offset_s) * 1000 + t.msec;
	*i = j;
	return true;
}

/* Month from a case-insensitive 3-letter English abbreviation, 1..12. */
static int
syslog_month(const char *s, size_t n, size_t i)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char m[3];
	int k;

	if (n - i < 3)
		return 0;
	for (k = 0; k < 3; k++) {
		char c = s[i + k];
		m[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	/* the first letter picks the candidates: no month for most non-syslog lines */
	switch (m[0]) {
	case 'j': k = 0; break;		/* jan, jun, jul */
	case 'f': k = 1; break;
	case 'm': k = 2; break;		/* mar, may */
	case 'a': k = 3; break;		/* apr, aug */
	case 's': k = 8; break;
	case 'o': k = 9; break;
	case 'n': k = 10; break;
	case 'd': k = 11; break;
	default: return 0;
	}
	for (; k < 12; k++)
		if (names[3 * k] == m[0] && names[3 * k + 1] == m[1] && names[3 * k + 2] == m[2])
			return k + 1;
	return 0;
}

/* The year of syslog_recv_year's last answer and the local-ms range it covers. */
static _Thread_local struct {
	int64_t lo, hi, year;
} syslog_year_last = { 1, 0, 0 };	/* lo > hi: empty */

/*
 * Local-time year the agent was in when it read the line, clamped to
 * 0..9999 so a nonsense recv_ms cannot overflow anything below.
 */
static int64_t
syslog_recv_year(const struct decode_ctx *ctx)
{
	const int64_t max_ms = INT64_C(253402300799999);	/* 9999-12-31 */
	int64_t local = ctx->recv_ms;
	int64_t y;

	if (local < -max_ms)
		local = -max_ms;
	if (local > max_ms)
		local = max_ms;
	local += (int64_t)ctx->tz_offset_s * 1000;
	/* the year of the last call holds until its end: no divisions per line */
	if (local >= syslog_year_last.lo && local < syslog_year_last.hi)
		return syslog_year_last.year;
	y = syslog_year_from_days(syslog_floor_div(local, MS_PER_DAY));
	y = y < 0 ? 0 : (y > 9999 ? 9999 : y);
	if (y > 0 && y < 9999) {
		/* [Jan 1 of y, Jan 1 of y + 1) in local ms: every instant there is year y */
		syslog_year_last.lo = ms_days_from_civil(y, 1, 1) * MS_PER_DAY;
		syslog_year_last.hi = ms_days_from_civil(y + 1, 1, 1) * MS_PER_DAY;
		syslog_year_last.year = y;
	}
	return y;
}

/*
 * A year-less RFC 3164 stamp read in receive year `year`: its time in the
 * year after, that year and the one before, when the date exists there.
 * Which of them a line gets depends on its recv_ms only (syslog_stamp_pick).
 */
struct syslog_stamp {
	int64_t year;
	bool ok_next, ok_this, ok_prev;
	int64_t ms_next, ms_this, ms_prev;
};

/*
 * The last stamp of the exact form "Mmm dd hh:mm:ss " (16 bytes with the
 * space after it), per thread: busy logs write many lines a second, and
 * the same 16 bytes in the same receive year and zone are the same stamp,
 * so the next line is read with two compares instead of a parse.
 */
static _Thread_local struct {
	bool used;
	uint64_t text[2];
	int32_t tz;
	struct syslog_stamp st;
} syslog_stamp_last;

/* Next year's time if just ahead of recv_ms, else this year's unless too far ahead, else last year's. */
static bool
syslog_stamp_pick(const struct syslog_stamp *st, const struct decode_ctx *ctx, int64_t *ms)
{
	/* event time is bounded (year 0..9999), recv_ms is not: no overflow this way */
	if (st->ok_next && st->ms_next - SYSLOG_NEXT_YEAR_SLACK_MS <= ctx->recv_ms)
		*ms = st->ms_next;
	else if (st->ok_this && st->ms_this - SYSLOG_FUTURE_SLACK_MS <= ctx->recv_ms)
		*ms = st->ms_this;
	else if (st->ok_prev)
		*ms = st->ms_prev;
	else
		return false;
	return true;
}

/*
 * RFC 3164 "Mmm dd [yyyy ]hh:mm:ss[.frac]" in the agent's local time; day
 * may be space-padded ("Nov  5") or a single digit. Without a year the
 * year is the agent's current one; the next one when that puts the event
 * at most SYSLOG_NEXT_YEAR_SLACK_MS ahead of recv_ms (a January line read
 * on December 31st: a relay's file holds the sender's stamp, whose clock
 * may be a little ahead – not eleven months back); the previous one when
 * the current one would put it more than SYSLOG_FUTURE_SLACK_MS ahead
 * (December lines read in January) or the date does not exist that year
 * (Feb 29).
 */
static bool
syslog_ts_3164(const char *s, size_t n, size_t *i, const struct decode_ctx *ctx,
    int64_t *ms)
{
	struct syslog_tm t = { 0 };
	size_t j = *i;
	int year = -1;
	int64_t offset_s = ctx->tz_offset_s;
	uint64_t text[2] = { 0, 0 };
	/* 16 bytes ending in a space: what the stamp memo is keyed on */
	bool memo = n - j >= 16 && s[j + 15] == ' ';

	if (memo) {
		memcpy(text, s + j, sizeof(text));
		if (syslog_stamp_last.used && syslog_stamp_last.text[0] == text[0] &&
		    syslog_stamp_last.text[1] == text[1] && syslog_stamp_last.tz == ctx->tz_offset_s &&
		    syslog_stamp_last.st.year == syslog_recv_year(ctx)) {
			if (!syslog_stamp_pick(&syslog_stamp_last.st, ctx, ms))
				return false;
			*i = j + 15;
			return true;
		}
	}
	if ((t.mon = syslog_month(s, n, j)) == 0)
		return false;
	j += 3;
	if (!syslog_char(s, n, &j, ' '))
		return false;
	(void)syslog_char(s, n, &j, ' ');
	if (!syslog_digits(s, n, &j, 1, &t.day))
		return false;
	if (j < n && syslog_isdigit(s[j]))
		t.day = t.day * 10 + (s[j++] - '0');
	if (!syslog_char(s, n, &j, ' '))
		return false;
	if (n - j >= 5 && s[j + 4] == ' ') {
		if (!syslog_digits(s, n, &j, 4, &year))
			return false;
		j++;
	}
	if (!syslog_clock(s, n, &j, &t) || !syslog_at_sep(s, n, j))
		return false;

	if (year >= 0) {
		t.year = year;
		if (!syslog_tm_valid(&t))
			return false;
		*ms = syslog_tm_to_ms(&t, offset_s);
	} else {
		struct syslog_stamp st;

		st.year = syslog_recv_year(ctx);
		/*
		 * Next year's time can be at most a day ahead of a reading in
		 * this year only for a January date (Feb 1 next year is a month
		 * past any day of this one): not worked out for the others.
		 */
		t.year = st.year + 1;
		st.ok_next = t.mon == 1 && syslog_tm_valid(&t);
		if (st.ok_next)
			st.ms_next = syslog_tm_to_ms(&t, offset_s);
		t.year--;
		if ((st.ok_this = syslog_tm_valid(&t)))
			st.ms_this = syslog_tm_to_ms(&t, offset_s);
		t.year--;
		if ((st.ok_prev = syslog_tm_valid(&t)))
			st.ms_prev = syslog_tm_to_ms(&t, offset_s);
		/* remembered only when those 16 bytes were the whole stamp and its space */
		if (memo && j == *i + 15) {
			syslog_stamp_last.used = true;
			memcpy(syslog_stamp_last.text, text, sizeof(text));
			syslog_stamp_last.tz = ctx->tz_offset_s;
			syslog_stamp_last.st = st;
		}
		if (!syslog_stamp_pick(&st, ctx, ms))
			return false;
	}
	*i = j;
	return true;
}

/* ---- header parts -------------------------------------------------- */

/* A run of non-space bytes; false when empty. */
static bool
syslog_token(const char *s, size_t n, size_t *i, struct ms_str *out)
{
	size_t j = *i;

	while (j < n && s[j] != ' ')
		j++;
	if (j == *i)
		return false;
	*out = ms_str_make(s + *i, j - *i);
	*i = j;
	return true;
}

/*
 * "host tag[pid]: msg" after an RFC 3164 or RFC 3339 timestamp (*i is just
 * past it). Tolerant: a local /dev/log line has no host ("su[123]: msg"),
 * a message may have no tag (then app is empty and msg starts right after
 * the host), the tag may hold '-', '.', '/', '_' and so on.
 */
static void
syslog_host_tag(const char *s, size_t n, size_t i, struct decoded *out)
{
	size_t tok, end, j, colon;
	bool is_host;

	syslog_skip_spaces(s, n, &i);
	tok = i;
	/*
	 * A first token holding '[' or ending in its only ':' is a tag, not a
	 * host: host names have neither (IPv6 literals have several ':'). One
	 * scan for the first of ' ', '[' and ':' decides most tokens.
	 */
	end = decode_find3(s, n, tok, ' ', '[', ':');
	if (end < n && s[end] == '[') {
		is_host = false;
	} else if (end < n && s[end] == ':') {
		colon = end;
		end = decode_find(s, n, colon + 1, ' ');
		is_host = decode_find(s, end, colon + 1, '[') == end && colon != end - 1;
	} else {
		is_host = end > tok;	/* no '[' or ':' before the space */
	}
	if (is_host) {
		out->host = ms_str_make(s + tok, end - tok);
		i = end;
		syslog_skip_spaces(s, n, &i);
	}
	out->app = ms_str_make(s + i, 0);
	out->pid = ms_str_make(s + i, 0);
	out->msg = ms_str_make(s + i, n - i);

	/* tag: bytes up to '[', ':' or a space */
	j = decode_find3(s, n, i, ' ', '[', ':');
	if (j == i || j == n || s[j] == ' ')
		return;		/* no tag: msg is all of it */
	if (s[j] == '[') {
		size_t p = j + 1, rb = decode_find3(s, n, p, ' ', ']', ']'), q;
		if (rb == n || s[rb] != ']')
			return;
		q = rb + 1;
		if (q < n && s[q] == ':')
			q++;
		if (!syslog_at_sep(s, n, q))
			return;
		out->app = ms_str_make(s + i, j - i);
		out->pid = ms_str_make(s + p, rb - p);
		j = q;
	} else {
		/* s[j] == ':'; "http://x" at the start of a message is no tag */
		if (!syslog_at_sep(s, n, j + 1))
			return;
		out->app = ms_str_make(s + i, j - i);
		j++;
	}
	if (j < n)
		j++;		/* the one space between tag and message */
	out->msg = ms_str_make(s + j, n - j);
}

/* "[id k=\"v\" ...]..." structured data; quoted values may escape '"', '\', ']'. */
static bool
syslog_skip_sd(const char *s, size_t n, size_t *i)
{
	size_t j = *i;

	if (j < n && s[j] == '-') {
		*i = j + 1;
		return true;
	}
	if (j >= n || s[j] != '[')
		return false;
	while (j < n && s[j] == '[') {
		bool quoted = false;
		j++;
		for (;;) {
			if (j >= n)
				return false;
			if (quoted) {
				if (s[j] == '\\')
					j++;	/* escaped char; bounds checked above */
				else if (s[j] == '"')
					quoted = false;
			} else if (s[j] == '"') {
				quoted = true;
			} else if (s[j] == ']') {
				break;
			}
			j++;
		}
		j++;
	}
	*i = j;
	return true;
}

/* A 5424 header field: NILVALUE "-" becomes an empty slice. */
static bool
syslog_field_5424(const char *s, size_t n, size_t *i, struct ms_str *out)
{
	if (!syslog_token(s, n, i, out) || !syslog_char(s, n, i, ' '))
		return false;
	if (out->len == 1 && out->p[0] == '-')
		out->len = 0;
	return true;
}

/* "1 TIMESTAMP HOST APP PROCID MSGID SD[ MSG]" after the PRI. */
static bool
syslog_5424(const char *s, size_t n, size_t i, const struct decode_ctx *ctx,
    struct decoded *out)
{
	static const char bom[3] = { '\xEF', '\xBB', '\xBF' };

	if (!syslog_char(s, n, &i, '1') || !syslog_char(s, n, &i, ' '))
		return false;
	if (i < n && s[i] == '-') {
		i++;
	} else {
		if (!syslog_ts_rfc3339(s, n, &i, true, ctx, &out->time_ms))
			return false;
		out->time_from_line = true;
	}
	if (!syslog_char(s, n, &i, ' ') ||
	    !syslog_field_5424(s, n, &i, &out->host) ||
	    !syslog_field_5424(s, n, &i, &out->app) ||
	    !syslog_field_5424(s, n, &i, &out->pid) ||
	    !syslog_field_5424(s, n, &i, &out->msgid) ||
	    !syslog_skip_sd(s, n, &i) || !syslog_at_sep(s, n, i))
		return false;
	if (i < n)
		i++;
	if (n - i >= 3 && memcmp(s + i, bom, 3) == 0)
		i += 3;
	out->msg = ms_str_make(s + i, n - i);
	out->fmt = DECODE_SYSLOG_5424;
	return true;
}

/* NONE: every field empty, msg the whole line, time the receive time. */
/*
 * Back to NONE after a header that did not parse: only the header fields
 * can have been touched (the PRI, 5424's fields and time), so the rest of
 * syslog_reset's work – most of all the clear – is not done twice for
 * every line that is not syslog.
 */
static void
syslog_undo(const char *s, size_t n, const struct decode_ctx *ctx,
    struct decoded *out)
{
	struct ms_str empty = ms_str_make(s, 0);

	out->fmt = DECODE_SYSLOG_NONE;
	out->time_ms = ctx->recv_ms;
	out->time_from_line = false;
	out->facility = -1;
	out->severity = -1;
	out->host = empty;
	out->app = empty;
	out->pid = empty;
	out->msgid = empty;
	out->msg = ms_str_make(s, n);
}

/*
 * A tripwire for syslog_reset: a member added to struct decoded above the
 * field table moves nfields; set it below, then update the number (LP64).
 */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(offsetof(struct decoded, nfields) == 208,
    "struct decoded changed: set the new member in syslog_reset");
#endif

static void
syslog_reset(const char *s, size_t n, const struct decode_ctx *ctx,
    struct decoded *out)
{
	struct ms_str empty = ms_str_make(s, 0);

	/*
	 * decode_reset's work member by member: most members get a value
	 * other than zero here anyway, and clearing them first cost as much
	 * again. Every member above the field table is set below.
	 */
	out->product = NULL;
	out->service = NULL;
	out->category = NULL;
	out->nfields = 0;
	out->scratch_used = 0;
	out->names = 0;
	syslog_undo(s, n, ctx, out);	/* the header's members (inlined) */
	out->time_capped = false;
	out->values_cut = false;
	out->sshd_action = DECODE_SSHD_NONE;
	out->user = empty;
	out->method = empty;
	out->src_ip = empty;
	out->src_port = 0;
	out->invalid_user = false;
	out->repeat = 1;
}

/*
 * Decodes the syslog header of line into out; see decode.h. Every slice in
 * out is borrowed from line. Empty fields point into line with length 0
 * (never NULL) so they can be printed or compared without a check.
 */
void
decode_syslog(const char *line, size_t len, const struct decode_ctx *ctx,
    struct decoded *out)
{
	const char *s = line;
	size_t n = len, i = 0;
	int pri = -1;
	bool ok = false;

	if (s == NULL) {
		s = "";
		n = 0;
	}
	if (n > DECODE_MAX_LINE)
		n = DECODE_MAX_LINE;
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	syslog_reset(s, n, ctx, out);

	if (i < n && s[i] == '<') {
		if (!syslog_pri(s, n, &i, &pri))
			return;
		out->facility = pri / 8;
		out->severity = pri % 8;
	}
	/* "<pri>1 " is RFC 5424; "<pri>1999-..." is an RFC 3339 timestamp */
	if (pri >= 0 && n - i >= 2 && s[i] == '1' && s[i + 1] == ' ') {
		ok = syslog_5424(s, n, i, ctx, out);
	} else if (i < n && syslog_isdigit(s[i])) {
		ok = syslog_ts_rfc3339(s, n, &i, false, ctx, &out->time_ms);
		if (ok) {
			out->fmt = DECODE_SYSLOG_RFC3339;
			out->time_from_line = true;
			syslog_host_tag(s, n, i, out);
		}
	} else {
		ok = syslog_ts_3164(s, n, &i, ctx, &out->time_ms);
		if (ok) {
			out->fmt = DECODE_SYSLOG_3164;
			out->time_from_line = true;
			syslog_host_tag(s, n, i, out);
		}
	}
	if (!ok)
		syslog_undo(s, n, ctx, out);
}
