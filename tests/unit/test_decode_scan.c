/*
 * Unit tests for the decoders' fast paths (issues 3 and 9, cheaper
 * decoding): the word-at-a-time scans decode_find / decode_rfind against a
 * byte-by-byte reference, the per-thread memo of the last date and of the
 * receive year across second, day and year boundaries (and back in time,
 * and across time zones), and auditd's key lookup by packed word (keys cut
 * at the end of the line, 8-byte keys, unknown keys that share a known
 * key's first 8 bytes, NUL and high bytes in keys).
 *
 * Lines are copied to heap buffers of exactly their length, so
 * AddressSanitizer (deploy/test.sh) sees any read past them. Expected times
 * were computed independently (Python datetime, UTC).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "decoders.h"
#include "ms_util.h"
#include "test_decode_util.h"
#include "test_gen.h"

/* ---- decode_find / decode_rfind ---------------------------------------- */

static size_t
ref_find(const char *s, size_t n, size_t i, char c)
{
	for (; i < n; i++)
		if (s[i] == c)
			return i;
	return n;
}

static size_t
ref_rfind(const char *s, size_t lo, size_t hi, char c)
{
	for (; hi > lo; hi--)
		if (s[hi - 1] == c)
			return hi;
	return lo;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static unsigned
rng(void)
{
	return (unsigned)(test_gen_next(&rng_state) >> 33);
}

/*
 * Random buffers over an alphabet of the byte looked for and its near
 * misses (c ^ 1 and c ^ 0x80 are what a carry or a sign would confuse with
 * it, 0x00 and 0xff the extremes): every start and end against the
 * reference, in buffers of exactly their length.
 */
static void
test_find_matches_reference(void **state)
{
	static const char cs[] = { ' ', '=', '\\', '"', '\0', '\x7f', '\x80', '\xff' };

	(void)state;
	for (size_t ci = 0; ci < sizeof(cs); ci++) {
		char c = cs[ci];
		const char alpha[] = { c, (char)(c ^ 1), (char)(c ^ (char)0x80), '\0', '\xff', 'x',
		    (char)(c + 1), (char)(c - 1) };

		for (size_t len = 0; len <= 40; len++) {
			for (int round = 0; round < 12; round++) {
				char *b = malloc(len > 0 ? len : 1);

				assert_non_null(b);
				for (size_t k = 0; k < len; k++)
					b[k] = round == 0 ? 'x' : alpha[rng() % sizeof(alpha)];
				for (size_t i = 0; i <= len + 1; i++) {
					size_t want = i < len ? ref_find(b, len, i, c) : len;
					if (decode_find(b, len, i, c) != want)
						fail_msg("find c=%02x len=%zu i=%zu: %zu, want %zu",
						    (unsigned char)c, len, i, decode_find(b, len, i, c), want);
				}
				for (size_t lo = 0; lo <= len; lo++)
					for (size_t hi = 0; hi <= len; hi++) {
						size_t want = hi > lo ? ref_rfind(b, lo, hi, c) : lo;
						if (decode_rfind(b, lo, hi, c) != want)
							fail_msg("rfind c=%02x lo=%zu hi=%zu: %zu, want %zu",
							    (unsigned char)c, lo, hi,
							    decode_rfind(b, lo, hi, c), want);
					}
				free(b);
			}
		}
	}
}

/* ---- the date and receive-year memo ------------------------------------ */

struct time_step {
	int64_t recv_ms;
	int32_t tz;
	const char *line;
	int64_t want;		/* 0: no time from the line (want recv_ms) */
};

#define R_20241231_235959 INT64_C(1735689599000)
#define R_20250101_000001 INT64_C(1735689601000)
#define R_20250301_120000 INT64_C(1740830400000)
#define R_20240301_120000 INT64_C(1709294400000)
#define R_20230301_120000 INT64_C(1677672000000)
#define R_20241125_100000 INT64_C(1732528800000)
#define R_20241231_233000 INT64_C(1735687800000)

/*
 * One thread, in this order: whatever the previous line left in the memo,
 * each line gets the time a fresh conversion gives.
 */
static const struct time_step time_steps[] = {
	/* a year boundary, forwards */
	{ R_20241231_235959, 0, "Dec 31 23:59:59 h app: x", INT64_C(1735689599000) },
	{ R_20241231_235959, 0, "Dec 31 23:59:59 h app: x", INT64_C(1735689599000) },
	{ R_20250101_000001, 0, "Jan  1 00:00:00 h app: x", INT64_C(1735689600000) },
	/* December read in January: last year's */
	{ R_20250101_000001, 0, "Dec 31 23:59:58 h app: x", INT64_C(1735689598000) },
	/* the same stamp, same receive year, later recv_ms: now close enough for this year */
	{ INT64_C(1765756800000), 0, "Dec 31 23:59:58 h app: x", INT64_C(1767225598000) },
	{ R_20250101_000001, 0, "Dec 31 23:59:58 h app: x", INT64_C(1735689598000) },
	/* same 16 bytes, another zone */
	{ R_20250101_000001, 3600, "Dec 31 23:59:58 h app: x", INT64_C(1735689598000) - 3600000 },
	/* same stamp text, but a fraction or a year after it: not the remembered stamp */
	{ R_20250101_000001, 0, "Dec 31 23:59:58.250 h app: x", INT64_C(1735689598250) },
	{ R_20250101_000001, 0, "Dec 31 23:59:58 h app: x", INT64_C(1735689598000) },
	{ R_20250101_000001, 0, "Dec 31 23:59:58", INT64_C(1735689598000) },
	/* back in time: the remembered year must not stick ("Jan  2" is two days ahead: 2024's) */
	{ R_20241231_235959, 0, "Jan  2 00:00:00 h app: x", INT64_C(1704153600000) },
	/* a second ahead of the reading across the new year: next year's, not eleven months back */
	{ R_20241231_235959, 0, "Jan  1 00:00:00 h app: x", INT64_C(1735689600000) },
	/* Feb 29: not in 2025, so 2024's; valid in 2024 itself */
	{ R_20250301_120000, 0, "Feb 29 12:00:00 h app: x", INT64_C(1709208000000) },
	{ R_20240301_120000, 0, "Feb 29 12:00:00 h app: x", INT64_C(1709208000000) },
	{ R_20230301_120000, 0, "Feb 28 12:00:00 h app: x", INT64_C(1677585600000) },
	/* an impossible date is no header; the next line is unaffected */
	{ R_20230301_120000, 0, "Feb 30 12:00:00 h app: x", 0 },
	{ R_20230301_120000, 0, "Feb 28 12:00:00 h app: x", INT64_C(1677585600000) },
	/* the same text in other zones; the year is the agent's local one */
	{ R_20241125_100000, 3600, "Nov 25 11:00:00 h app: x", INT64_C(1732528800000) },
	{ R_20241125_100000, 0, "Nov 25 10:00:00 h app: x", INT64_C(1732528800000) },
	{ R_20241231_233000, 3600, "Jan  1 00:30:00 h app: x", INT64_C(1735687800000) },
	{ R_20241231_233000, 0, "Dec 31 23:30:00 h app: x", INT64_C(1735687800000) },
	{ R_20241231_233000, 3600, "Jan  1 00:30:00 h app: x", INT64_C(1735687800000) },
	/* seconds and days of RFC 3339, 5424 and access-log dates in turn */
	{ R_20241125_100000, 0, "Nov 25 10:00:00 h app: x", INT64_C(1732528800000) },
	{ R_20241125_100000, 0, "Nov 25 10:00:01 h app: x", INT64_C(1732528801000) },
	{ R_20241125_100000, 0, "2024-12-31T23:59:59.500+01:00 h app: x", INT64_C(1735685999500) },
	{ R_20241125_100000, 0, "2025-01-01T00:00:00Z h app: x", INT64_C(1735689600000) },
	{ R_20241125_100000, 0, "2024-12-31T23:59:59Z h app: x", INT64_C(1735689599000) },
	{ R_20241125_100000, 0, "<13>1 2024-11-26T00:00:00Z h app - - - x", INT64_C(1732579200000) },
	{ R_20241125_100000, 0,
	  "192.0.2.1 - - [25/Nov/2024:10:00:01 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	  INT64_C(1732528801000) },
	{ R_20241125_100000, 0,
	  "192.0.2.1 - - [26/Nov/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	  INT64_C(1732579200000) },
	{ R_20241125_100000, 0, "Nov 25 10:00:00 h app: x", INT64_C(1732528800000) },
	{ R_20241125_100000, 0,
	  "192.0.2.1 - - [31/Dec/2024:23:59:59 -0100] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	  INT64_C(1735693199000) },
	{ R_20241125_100000, 0,
	  "192.0.2.1 - - [01/Jan/2025:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	  INT64_C(1735689600000) },
};

static void
test_time_memo_boundaries(void **state)
{
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	/* twice: the second pass starts with the memo the first one left */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < MS_ARRAY_LEN(time_steps); i++) {
			const struct time_step *t = &time_steps[i];
			struct decode_ctx ctx = { .recv_ms = t->recv_ms, .tz_offset_s = t->tz };
			size_t len = strlen(t->line);
			char *buf = dup_exact(t->line, len);
			int64_t want = t->want != 0 ? t->want : t->recv_ms;

			decode_line(buf, len, &ctx, d);
			if (d->time_ms != want || d->time_from_line != (t->want != 0))
				fail_msg("pass %d step %zu \"%s\": time %lld (from line %d), want %lld",
				    pass, i, t->line, (long long)d->time_ms, d->time_from_line,
				    (long long)want);
			free(buf);
		}
	free(d);
}

/* ---- auditd keys ---------------------------------------------------------- */

#define AU_PFX "type=SYSCALL msg=audit(1732528800.000:1): "

static void
decode_au(struct decoded *d, const char *line, size_t len, char **buf)
{
	struct decode_ctx ctx = { .recv_ms = R_20241125_100000 };

	*buf = dup_exact(line, len);
	decode_line(*buf, len, &ctx, d);
	assert_string_equal(d->service, "auditd");
}

/*
 * Keys of 1 to 14 bytes at every distance from the end of the line (so
 * both the word-at-a-time and the byte-by-byte key scan), cut there with
 * no '=' (a line cut in the middle of a key), and complete.
 */
static void
test_auditd_key_at_line_end(void **state)
{
	static const char *const keys[] = { "a0", "uid", "arch", "items", "fsgid", "syscall",
	    "nametype", "proctitle", "cap_frootid", "requested_mask" };
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	for (size_t k = 0; k < MS_ARRAY_LEN(keys); k++) {
		size_t kl = strlen(keys[k]);

		for (size_t cut = 1; cut <= kl; cut++) {
			char line[256], *buf;
			int n = snprintf(line, sizeof(line), AU_PFX "pid=7 %.*s", (int)cut, keys[k]);

			decode_au(d, line, (size_t)n, &buf);
			expect_field(d, "pid", "7");
			/* a cut key is a bare word: skipped, whatever its prefix */
			assert_int_equal(d->nfields, 3);	/* type, serial, pid */
			free(buf);
		}
		for (size_t tail = 0; tail <= 9; tail++) {
			char line[256], *buf;
			int n = snprintf(line, sizeof(line), AU_PFX "%s=%.*s", keys[k], (int)tail,
			    "xyzxyzxyz");	/* not hex: kept as written */
			const struct ms_str *v;

			decode_au(d, line, (size_t)n, &buf);
			v = field_exact(d, keys[k]);
			if (v == NULL || v->len != tail)
				fail_msg("%s with a %zu-byte value at the end: %s", keys[k], tail,
				    v == NULL ? "missing" : "wrong length");
			free(buf);
		}
	}
	free(d);
}

/*
 * Known keys are found by their first 8 bytes packed into a word plus the
 * rest: keys that share the first 8 bytes, or a known key's bytes plus
 * more, or a NUL where a known key has a byte, are other keys.
 */
static void
test_auditd_key_word_collisions(void **state)
{
	struct decoded *d = malloc(sizeof(*d));
	char *buf;
	static const char line[] = AU_PFX "nametype=NORMAL nametypeX=1 cap_frootid=0 "
	    "cap_frootidx=2 requested_mask=r requested_masks=s cap_fro=3 nam=4 ses=5 se=6 s=7 "
	    "requested_ma=t cap_frooti=u";
	static const char nul_line[] = AU_PFX "ui\0=8 uid\0=9 a\0\0\0\0\0\0\0\0=10 gid=11";
	static const char high_line[] = AU_PFX "\xff\xff\xff\xff\xff\xff\xff\xff\xff=1 "
	    "na\xe9me=2 auid=12";

	(void)state;
	assert_non_null(d);
	decode_au(d, line, sizeof(line) - 1, &buf);
	expect_field(d, "nametype", "NORMAL");
	expect_field(d, "nametypeX", "1");
	expect_field(d, "cap_frootid", "0");
	expect_field(d, "cap_frootidx", "2");
	expect_field(d, "requested_mask", "r");
	expect_field(d, "requested_masks", "s");
	expect_field(d, "cap_fro", "3");
	expect_field(d, "nam", "4");
	expect_field(d, "ses", "5");
	expect_field(d, "se", "6");
	expect_field(d, "s", "7");
	expect_field(d, "requested_ma", "t");
	expect_field(d, "cap_frooti", "u");
	/* known keys carry the table's static name, others a scratch copy */
	for (unsigned i = 0; i < d->nfields; i++) {
		const char *nm = d->fields[i].name;
		bool in_scratch = nm >= d->scratch && nm < d->scratch + DECODE_SCRATCH;
		bool unknown = strcmp(nm, "nametypeX") == 0 || strcmp(nm, "cap_frootidx") == 0 ||
		    strcmp(nm, "requested_masks") == 0 || strcmp(nm, "cap_fro") == 0 ||
		    strcmp(nm, "nam") == 0 || strcmp(nm, "se") == 0 || strcmp(nm, "s") == 0 ||
		    strcmp(nm, "requested_ma") == 0 || strcmp(nm, "cap_frooti") == 0;
		if (in_scratch != unknown)
			fail_msg("field %s: name %s scratch", nm, in_scratch ? "in" : "not in");
	}
	free(buf);

	/* a NUL inside a key: never one of the known keys, and not a name */
	decode_au(d, nul_line, sizeof(nul_line) - 1, &buf);
	expect_no_field(d, "ui");
	expect_no_field(d, "uid");
	expect_no_field(d, "a");
	expect_field(d, "gid", "11");
	assert_int_equal(d->nfields, 3);	/* type, serial, gid */
	free(buf);

	decode_au(d, high_line, sizeof(high_line) - 1, &buf);
	expect_field(d, "auid", "12");
	assert_int_equal(d->nfields, 3);	/* type, serial, auid */
	free(buf);
	free(d);
}

/* The stamp's numbers, read in the scan that finds them: bounds and fractions. */
static void
test_auditd_stamp_numbers(void **state)
{
	static const struct {
		const char *line;
		int64_t time_ms;	/* 0: no audit record */
		const char *serial;
	} cases[] = {
		{ "type=CWD msg=audit(1732528800.123:42): cwd=\"/\"", INT64_C(1732528800123), "42" },
		{ "type=CWD msg=audit(1732528800.1:42): cwd=\"/\"", INT64_C(1732528800100), "42" },
		{ "type=CWD msg=audit(1732528800.12:42): cwd=\"/\"", INT64_C(1732528800120), "42" },
		{ "type=CWD msg=audit(1732528800.123456789:42): cwd=\"/\"", INT64_C(1732528800123), "42" },
		{ "type=CWD msg=audit(1732528800.1234567890:42): cwd=\"/\"", 0, NULL },
		{ "type=CWD msg=audit(1732528800.:42): cwd=\"/\"", 0, NULL },
		{ "type=CWD msg=audit(.123:42): cwd=\"/\"", 0, NULL },
		{ "type=CWD msg=audit(999999999999.000:1): x=1", INT64_C(999999999999000), "1" },
		{ "type=CWD msg=audit(1000000000000.000:1): x=1", 0, NULL },
		{ "type=CWD msg=audit(1.000:9999999999999999999): x=1", 1000, "9999999999999999999" },
		{ "type=CWD msg=audit(1.000:99999999999999999999): x=1", 0, NULL },
		{ "type=CWD msg=audit(1.000:): x=1", 0, NULL },
		{ "type=CWD msg=audit(1.000:12", 0, NULL },
		{ "type=CWD msg=audit(1.00", 0, NULL },
	};
	struct decoded *d = malloc(sizeof(*d));

	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
		struct decode_ctx ctx = { .recv_ms = R_20241125_100000 };
		size_t len = strlen(cases[i].line);
		char *buf = dup_exact(cases[i].line, len);

		decode_line(buf, len, &ctx, d);
		if (cases[i].time_ms == 0) {
			if (d->service != NULL && strcmp(d->service, "auditd") == 0)
				fail_msg("%s: decoded as an audit record", cases[i].line);
		} else {
			if (d->service == NULL || strcmp(d->service, "auditd") != 0 ||
			    d->time_ms != cases[i].time_ms)
				fail_msg("%s: time %lld, want %lld", cases[i].line,
				    (long long)d->time_ms, (long long)cases[i].time_ms);
			expect_field(d, "serial", cases[i].serial);
		}
		free(buf);
	}
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_matches_reference),
		cmocka_unit_test(test_time_memo_boundaries),
		cmocka_unit_test(test_auditd_key_at_line_end),
		cmocka_unit_test(test_auditd_key_word_collisions),
		cmocka_unit_test(test_auditd_stamp_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
