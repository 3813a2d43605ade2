#include "ms_util.h"
#include "ms_register.h"
#include "ms_log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sys/stat.h>

bool
ms_str_take(struct ms_str *s, const char *lit)
{
	size_t n = strlen(lit);

	if (!ms_str_startswith(*s, lit))
		return false;
	s->p += n;
	s->len -= n;
	return true;
}

int64_t
ms_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
ms_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ms_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ms_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t
ms_copy(char *dst, size_t dstsz, const char *src, size_t len)
{
	if (dstsz == 0)
		return 0;
	if (len > dstsz - 1)
		len = dstsz - 1;
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
	return len;
}

int
ms_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ms_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *suf; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1024 }, { "kb", 1024 }, { "kib", 1024 },
		{ "m", 1 << 20 }, { "mb", 1 << 20 }, { "mib", 1 << 20 },
		{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
	};
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < MS_ARRAY_LEN(units); i++) {
		if (strcasecmp(end, units[i].suf) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -1;
			*out = v * units[i].mul;
			return 0;
		}
	}
	return -1;
}

void
ms_fmt_time(char *dst, size_t dstsz, int64_t ms)
{
	struct tm tm;
	/* Floor division that cannot overflow: ms may be any int64_t (an agent's event time). */
	int64_t q = ms / 1000, r = ms % 1000;
	time_t sec;
	int milli;

	if (r < 0) {
		q--;
		r += 1000;
	}
	sec = (time_t)q;
	milli = (int)r;

	/*
	 * Years 0..9999 by arithmetic (every alert has three times and every
	 * log line one: gmtime_r and snprintf cost ~3,500 instructions).
	 */
	if (dstsz >= 25 && sec >= -62167219200LL && sec < 253402300800LL) {
		int64_t day = (sec >= 0 ? sec : sec - 86399) / 86400, s = sec - day * 86400;
		int y, m, d;
		unsigned v[6];

		ms_date_civil(day, &y, &m, &d);
		v[0] = (unsigned)m, v[1] = (unsigned)d, v[2] = (unsigned)(s / 3600);
		v[3] = (unsigned)(s / 60 % 60), v[4] = (unsigned)(s % 60);
		dst[0] = (char)('0' + y / 1000);
		dst[1] = (char)('0' + y / 100 % 10);
		dst[2] = (char)('0' + y / 10 % 10);
		dst[3] = (char)('0' + y % 10);
		for (int i = 0; i < 5; i++) {
			dst[4 + 3 * i] = "--T::"[i];
			dst[5 + 3 * i] = (char)('0' + v[i] / 10);
			dst[6 + 3 * i] = (char)('0' + v[i] % 10);
		}
		dst[19] = '.';
		dst[20] = (char)('0' + milli / 100);
		dst[21] = (char)('0' + milli / 10 % 10);
		dst[22] = (char)('0' + milli % 10);
		dst[23] = 'Z';
		dst[24] = '\0';
		return;
	}
	if (gmtime_r(&sec, &tm) == NULL) {
		ms_copy(dst, dstsz, "1970-01-01T00:00:00.000Z", 24);
		return;
	}
	snprintf(dst, dstsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, milli);
}

int
ms_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
ms_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) { n = 2; v = c & 0x1f; }
	else if (c >= 0xe0 && c <= 0xef) { n = 3; v = c & 0x0f; }
	else if (c >= 0xf0 && c <= 0xf4) { n = 4; v = c & 0x07; }
	else return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

void
ms_secret_mode_check(const char *path, int fd, const char *what)
{
	struct stat st;
	char q[600];

	if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) != 0 || !S_ISREG(st.st_mode))
		return;	/* the caller's open or load says what is wrong */
	/*
	 * Group access is the deployment's choice (a "minisoc" group sharing
	 * a key); others reading it is never right: any local user could
	 * impersonate the daemon or read Redis. Warned, not refused, as
	 * OpenSSH refuses: a refusal would stop a running site at an upgrade.
	 */
	if ((st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) == 0)
		return;
	ms_warn("event=secret_file_mode file=%s what=\"%s\" mode=%04o "
	    "hint=\"readable or writable by other users: chmod 600 (or 640 for a group)\"",
	    ms_log_quote(q, sizeof(q), path, strlen(path)), what, (unsigned)(st.st_mode & 07777));
}
