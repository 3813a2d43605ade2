/*
 * decoders – the program- and format-specific decoders behind decode_line
 * (decode_line.c dispatches). Internal to the decoders; the contract for
 * everyone else is decode.h. Every value they set is a slice of the line
 * or memory from decode_scratch(d).
 */
#ifndef DECODERS_H
#define DECODERS_H

#include <stdbool.h>
#include <stddef.h>

#include "decode.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * The offset of the first byte c in s[i..n), or n. For the short spans the
 * decoders scan (a token, a value): eight bytes per step where eight are
 * left, so neither a byte loop's compare per byte nor a memchr call's fixed
 * cost; never reads outside s[i..n) (n when i >= n). Byte by byte on
 * big-endian machines.
 */
static inline __attribute__((always_inline)) size_t
decode_find(const char *s, size_t n, size_t i, char c)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t rep = ones * (unsigned char)c;

	if (i >= n)
		return n;
	for (; n - i >= 8; i += 8) {
		uint64_t x, m;

		memcpy(&x, s + i, 8);
		x ^= rep;
		/* high bit of each zero byte; exact for the lowest one */
		m = (x - ones) & ~x & (ones << 7);
		if (m != 0)
			return i + (size_t)__builtin_ctzll(m) / 8;
	}
#endif
	for (; i < n; i++)
		if (s[i] == c)
			return i;
	return n;
}

/* As decode_find, for the first byte that is c1 or c2. */
static inline __attribute__((always_inline)) size_t
decode_find2(const char *s, size_t n, size_t i, char c1, char c2)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t rep1 = ones * (unsigned char)c1, rep2 = ones * (unsigned char)c2;

	if (i >= n)
		return n;
	for (; n - i >= 8; i += 8) {
		uint64_t x, y, z, m;

		memcpy(&x, s + i, 8);
		y = x ^ rep1;
		z = x ^ rep2;
		/* each term exact for its lowest zero byte, so their OR is too */
		m = ((y - ones) & ~y) | ((z - ones) & ~z);
		m &= ones << 7;
		if (m != 0)
			return i + (size_t)__builtin_ctzll(m) / 8;
	}
#endif
	for (; i < n; i++)
		if (s[i] == c1 || s[i] == c2)
			return i;
	return n;
}

/*
 * As decode_find, for the first byte that is c1, c2 or c3: sixteen bytes
 * per step with SSE2 (three compares and one mask for a whole syslog tag
 * or pid), else byte by byte. Never reads outside s[i..n).
 */
static inline __attribute__((always_inline)) size_t
decode_find3(const char *s, size_t n, size_t i, char c1, char c2, char c3)
{
	if (i >= n)
		return n;
#if defined(__SSE2__)
	for (; n - i >= 16; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(c1)),
		    _mm_cmpeq_epi8(x, _mm_set1_epi8(c2))), _mm_cmpeq_epi8(x, _mm_set1_epi8(c3)));
		unsigned m = (unsigned)_mm_movemask_epi8(e);

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	for (; i < n; i++)
		if (s[i] == c1 || s[i] == c2 || s[i] == c3)
			return i;
	return n;
}

/*
 * A "key=value" or bare token at s[i]: *eq is the first ' ' or '=' at or
 * after i (n when none); the result is the token's end, the first ' '
 * after *eq when that is a '=', else *eq. With SSE2 one 16-byte load
 * answers both for tokens that fit (most netfilter tokens), else as
 * decode_find2 then decode_find. Never reads outside s[i..n).
 */
static inline __attribute__((always_inline)) size_t
decode_find_kv(const char *s, size_t n, size_t i, size_t *eq)
{
	size_t e;

#if defined(__SSE2__)
	if (i < n && n - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
		unsigned em = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('=')));
		unsigned stop = sp | em;

		if (stop != 0) {
			unsigned f = (unsigned)__builtin_ctz(stop), rest;

			*eq = i + f;
			if (!(em & (1u << f)))
				return i + f;
			rest = sp & ~((2u << f) - 1);	/* f <= 15: 2u << f fits */
			return rest != 0 ? i + (size_t)__builtin_ctz(rest) : decode_find(s, n, i + 16, ' ');
		}
		i += 16;
	}
#endif
	e = *eq = decode_find2(s, n, i, ' ', '=');
	if (e < n && s[e] == '=')
		e = decode_find(s, n, e + 1, ' ');
	return e;
}

/*
 * One past the last byte c in s[lo..hi), or lo when there is none (so
 * s[lo..result) ends with c unless the result is lo). Eight bytes per step
 * like decode_find; never reads outside s[lo..hi) (lo when hi <= lo).
 */
static inline __attribute__((always_inline)) size_t
decode_rfind(const char *s, size_t lo, size_t hi, char c)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
	const uint64_t rep = UINT64_C(0x0101010101010101) * (unsigned char)c;

	if (hi <= lo)
		return lo;
	for (; hi - lo >= 8; hi -= 8) {
		uint64_t x, m;

		memcpy(&x, s + hi - 8, 8);
		x ^= rep;
		/* high bit of exactly the zero bytes (no borrow between bytes) */
		m = ~(((x & low7) + low7) | x | low7);
		if (m != 0)
			return hi - 8 + (size_t)(63 - __builtin_clzll(m)) / 8 + 1;
	}
#endif
	for (; hi > lo; hi--)
		if (s[hi - 1] == c)
			return hi;
	return lo;
}

/*
 * ms_days_from_civil(y, m, d), remembered per thread for the last date
 * asked: lines arrive in time order, so nearly every line has the date of
 * the one before, and the conversion's divisions were a visible part of
 * decoding a timestamp.
 */
int64_t decode_days(int64_t y, int m, int d);

/*
 * Sets d->service and the named fields for an auth.log program (d->app)
 * from d->msg; run after decode_sshd. Returns 1 when the message was
 * recognised, 0 otherwise (the service is still set for a known program).
 */
int decode_auth(struct decoded *d);

/*
 * Whether decode_auth (with decode_sshd's fields) may put a field of this
 * name, compared case-insensitively as rules read fields, in an event of
 * any auth.log program. decode_web_field_known and decode_fw_field_known
 * are the same for access log and netfilter lines. The rule loader uses
 * them to reject rules that read a field no decoder of their logsource
 * emits.
 */
bool decode_auth_field_known(const char *name);
bool decode_web_field_known(const char *name);
bool decode_fw_field_known(const char *name);

/*
 * Decodes d->msg as a netfilter log line. Returns 1 and sets category
 * "firewall" and its fields when it has IN= and SRC=; 0 and leaves d
 * untouched otherwise.
 */
int decode_fw(struct decoded *d);

/*
 * Decodes s/n (the whole line, or the message of a syslog line) as an
 * access log line. Returns 1 and sets category "webserver", the event time
 * and the fields; 0 with d untouched otherwise.
 */
int decode_web(struct decoded *d, const char *s, size_t n);

/*
 * Decodes d->msg (a whole non-syslog line) as a journald JSON record.
 * Returns 1 and replaces the header fields and msg; 0 with d untouched when
 * the line is no such object or has no MESSAGE.
 */
int decode_json(struct decoded *d);

/*
 * Decodes d->msg (a whole non-syslog line) as a Zeek JSON log record or a
 * minisoc network event (an object with "_path"). Returns 1 and sets
 * product "zeek", service = _path, the event time from ts and one field per
 * member; 0 with d untouched otherwise.
 */
int decode_zeek(struct decoded *d);

/*
 * Decodes s/n (the whole line, or the message of a syslog line) as one
 * Linux audit record ("type=T msg=audit(S.M:SERIAL): k=v ..."). Returns 1
 * and sets product "linux", service "auditd" (EXECVE: category
 * "process_creation"), the event time and the fields; 0 with d untouched
 * otherwise. With ctx->auditd set, remembers SYSCALL records there and
 * enriches later records of the same event (see decode_auditd.c).
 */
int decode_auditd(struct decoded *d, const struct decode_ctx *ctx, const char *s, size_t n);

/*
 * Can s/n be an audit record at all? Its first byte must open "[printk
 * time]", "audit: ", "node=" or "type=" (au_head_parse): the callers ask
 * before decode_auditd, which most lines would leave on that byte anyway.
 */
static inline bool
decode_auditd_maybe(const char *s, size_t n)
{
	return s != NULL && n > 0 && (s[0] == '[' || s[0] == 'a' || s[0] == 'n' || s[0] == 't');
}

/*
 * rsyslog's "message repeated N times: [ msg]": when *m is one, replaces it
 * with the inner msg, sets *repeat to N and returns true; otherwise leaves
 * both alone and returns false.
 */
bool decode_unwrap_repeat(struct ms_str *m, unsigned *repeat);

#endif
