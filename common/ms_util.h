/*
 * ms_util – small helpers shared by every component: borrowed string
 * slices, clocks, bounded copies and strict number parsing.
 */
#ifndef MS_UTIL_H
#define MS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A slice of bytes borrowed from somewhere else; not NUL-terminated. */
struct ms_str {
	const char *p;
	size_t len;
};

#define MS_STR_NULL ((struct ms_str){ NULL, 0 })

static inline struct ms_str
ms_str_make(const char *p, size_t len)
{
	struct ms_str s = { p, len };
	return s;
}

/*
 * True when s equals the NUL-terminated lit (case-sensitive). Inline: the
 * decoders call it per event with literals, whose strlen then folds away.
 */
static inline bool
ms_str_eq(struct ms_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* True when s starts with the NUL-terminated prefix. */
static inline bool
ms_str_startswith(struct ms_str s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && (n == 0 || memcmp(s.p, prefix, n) == 0);
}

/* When *s starts with lit, consumes it and returns true. */
bool ms_str_take(struct ms_str *s, const char *lit);

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): our own, so no date depends on TZ or the C library.
 */
int64_t ms_days_from_civil(int64_t y, int m, int d);

/* Wall clock in milliseconds since the epoch. */
int64_t ms_now_ms(void);
/* Monotonic clock in milliseconds. */
int64_t ms_mono_ms(void);
/* The same clock in microseconds. */
int64_t ms_mono_us(void);

/*
 * Copies at most dstsz-1 bytes of src (len bytes) and NUL-terminates.
 * Returns the number of bytes copied.
 */
size_t ms_copy(char *dst, size_t dstsz, const char *src, size_t len);

/* The value of hex digit c (either case), or -1. */
int ms_hexval(char c);
/*
 * The length (1–4) of the well-formed UTF-8 sequence at s (len bytes
 * available), its code point in *cp; 0 when the bytes are not one (bad
 * lead or continuation byte, overlong, surrogate, past U+10FFFF, cut off).
 */
size_t ms_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp);

/* Strict decimal parse of the whole string into [min,max]; 0 or -1. */
int ms_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses sizes like "64MiB", "512k", "1048576"; 0 or -1. */
int ms_parse_size(const char *s, uint64_t *out);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds (25 bytes). */
void ms_fmt_time(char *dst, size_t dstsz, int64_t ms);

/*
 * Warns (event=secret_file_mode) when the file holding a secret (what:
 * "tls key", "redis password"…), fd when >= 0 else path, can be read or
 * written by users other than its owner and its group. Only warns: the
 * daemon still starts, the line tells the sysadmin to chmod it.
 */
void ms_secret_mode_check(const char *path, int fd, const char *what);

#endif
