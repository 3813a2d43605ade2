/*
 * Unit tests for the decoders' fast paths of branch decfast (issue 9,
 * cheaper decoding): decode_find3 (SSE2, 16 bytes per step) and
 * decode_find_kv (a token's '=' and end from one 16-byte load) against a
 * byte-by-byte reference; auditd's 16-byte key=value scan around its
 * window (pairs of 14 to 18 bytes, at the end of the line and not), an
 * empty key before a quoted msg, the fields the decoder finds by role
 * (arch, syscall, SYSCALL, exe, comm, uid, auid, key) against keys in
 * other cases and repeated keys, the enrichment's one scratch reservation
 * and what it skips; the access-log date memo; the syslog host/tag scan
 * on host, tag and pid shapes around 16 bytes; the RFC 3339 fraction.
 *
 * Lines are copied to heap buffers of exactly their length, so
 * AddressSanitizer (deploy/test.sh) sees any read past them.
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

/* 2024-11-25 10:00:00 UTC: a receive time for lines without a year. */
#define RECV_MS INT64_C(1732528800000)

static unsigned
field_count(const struct decoded *d, const char *name)
{
	unsigned c = 0;

	for (unsigned i = 0; i < d->nfields; i++)
		c += strcmp(d->fields[i].name, name) == 0;
	return c;
}

/* Decodes line (copied to an exact buffer, freed by the caller via *buf). */
static void
decode_buf(struct decoded *d, struct decode_ctx *ctx, const char *line, char **buf)
{
	size_t len = strlen(line);

	*buf = dup_exact(line, len);
	decode_line(*buf, len, ctx, d);
}

/* ---- decode_find3 ------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static unsigned
rng(void)
{
	return (unsigned)(test_gen_next(&rng_state) >> 33);
}

static size_t
ref_find3(const char *s, size_t n, size_t i, char a, char b, char c)
{
	for (; i < n; i++)
		if (s[i] == a || s[i] == b || s[i] == c)
			return i;
	return n;
}

/*
 * Random buffers of 0 to 48 bytes (the 16-byte steps and the byte tail)
 * over the bytes looked for, their near misses and the extremes: every
 * start against the reference; stops absent, first, last, and only past
 * a full 16-byte step.
 */
static void
test_find3_matches_reference(void **state)
{
	static const char alpha[] = { ' ', '[', ':', ' ' ^ 1, '[' ^ 0x80, 'x', '\0', (char)0xff };

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(rng() % 49);
		char *tmp = malloc(n + 1), *s;
		unsigned density = 1 + rng() % 8;

		assert_non_null(tmp);
		for (size_t k = 0; k < n; k++)
			tmp[k] = rng() % density == 0 ? alpha[rng() % sizeof(alpha)] : 'a';
		s = dup_exact(tmp, n);
		for (size_t i = 0; i <= n + 1; i++) {
			size_t want = i >= n ? n : ref_find3(s, n, i, ' ', '[', ':');
			size_t got = decode_find3(s, n, i, ' ', '[', ':');

			if (got != want)
				fail_msg("n=%zu i=%zu: %zu, want %zu", n, i, got, want);
		}
		free(s);
		free(tmp);
	}
	/* the stop only in the byte tail after a whole step, and in the last byte of a step */
	for (size_t n = 1; n <= 40; n++)
		for (size_t at = 0; at < n; at++) {
			char *s = malloc(n);

			assert_non_null(s);
			memset(s, 'a', n);
			s[at] = ']';
			assert_int_equal(decode_find3(s, n, 0, ' ', ']', ']'), at);
			assert_int_equal(decode_find3(s, n, 0, ' ', '[', ':'), n);
			free(s);
		}
}

/*
 * decode_find_kv against decode_find2 then decode_find, over buffers of
 * 0 to 48 bytes of ' ', '=' and their near misses, at every start: the
 * token's end and its first ' ' or '='.
 */
static void
test_find_kv_matches_reference(void **state)
{
	static const char alpha[] = { ' ', '=', ' ' ^ 1, '=' ^ 0x80, 'x', '\0', (char)0xff };

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)(rng() % 49);
		char *tmp = malloc(n + 1), *s;
		unsigned density = 1 + rng() % 12;

		assert_non_null(tmp);
		for (size_t k = 0; k < n; k++)
			tmp[k] = rng() % density == 0 ? alpha[rng() % sizeof(alpha)] : 'a';
		s = dup_exact(tmp, n);
		for (size_t i = 0; i <= n; i++) {
			size_t weq = ref_find3(s, n, i, ' ', '=', '='), wend = weq, eq = 0, end;

			if (weq < n && s[weq] == '=')
				wend = ref_find3(s, n, weq + 1, ' ', ' ', ' ');
			end = decode_find_kv(s, n, i, &eq);
			if (eq != weq || end != wend)
				fail_msg("n=%zu i=%zu: eq %zu end %zu, want %zu %zu", n, i, eq, end, weq, wend);
		}
		free(s);
		free(tmp);
	}
}

/* ---- auditd ------------------------------------------------------------ */

#define AU_PFX "type=SYSCALL msg=audit(1764068401.123:4567): "

/*
 * One key=value pair of every total length from 3 to 24 bytes (around the
 * 16-byte window that finds both ends at once), followed by another pair,
 * by a space only, or by the end of the line, and behind pairs that put
 * it at every offset: the value is the one written.
 */
static void
test_auditd_pair_window(void **state)
{
	static const char *const keys[] = { "a", "uid", "arch", "fsgid", "syscall", "nametype",
	    "requested_mask", "unknown_key9" };
	static const char *const before[] = { "", "x=1 ", "pid=12 ", "ppid=12345 " };
	static const char *const after[] = { "", " ", " ses=5", "  tty=pts0" };
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };

	for (size_t k = 0; k < MS_ARRAY_LEN(keys); k++)
		for (size_t vl = 0; vl <= 20; vl++)
			for (size_t b = 0; b < MS_ARRAY_LEN(before); b++)
				for (size_t a = 0; a < MS_ARRAY_LEN(after); a++) {
					char line[256], val[32], *buf;
					const struct ms_str *v;

					memset(val, 'q', vl);	/* 'q': not hex, kept as written */
					val[vl] = '\0';
					snprintf(line, sizeof(line), AU_PFX "%s%s=%s%s", before[b], keys[k],
					    val, after[a]);
					decode_buf(d, &ctx, line, &buf);
					v = field_exact(d, keys[k]);
					if (v == NULL || !ms_str_eq(*v, val))
						fail_msg("%s: %s = %s", line, keys[k],
						    v == NULL ? "missing" : "wrong value");
					if (a >= 2)
						expect_field(d, a == 2 ? "ses" : "tty", a == 2 ? "5" : "pts0");
					free(buf);
				}
}

/*
 * A quoted value right after the 16-byte window's '=' and a bare word of
 * 16 bytes or more: the quote is still read as a quote, the word skipped.
 */
static void
test_auditd_window_quotes_and_words(void **state)
{
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	char *buf;

	decode_buf(d, &ctx, AU_PFX "comm=\"a b c d e f g h i\" exe=\"/usr/bin/x y\" "
	    "averyveryverylongbareword next=1 (null) k=v", &buf);
	expect_field(d, "comm", "a b c d e f g h i");
	expect_field(d, "exe", "/usr/bin/x y");
	expect_field(d, "next", "1");
	expect_field(d, "k", "v");
	expect_no_field(d, "averyveryverylongbareword");
	free(buf);
	/* 15 bytes of key, then '=' as the window's last byte, the value after it */
	decode_buf(d, &ctx, AU_PFX "abcdefghijklmno=value_after_window rest=2", &buf);
	expect_field(d, "abcdefghijklmno", "value_after_window");
	expect_field(d, "rest", "2");
	free(buf);
	/* a key of 16 bytes or more: no stop in the window */
	decode_buf(d, &ctx, AU_PFX "abcdefghijklmnopqrs=v2 t=3", &buf);
	expect_field(d, "abcdefghijklmnopqrs", "v2");
	expect_field(d, "t", "3");
	free(buf);
}

/* An empty key before a single-quoted msg adds no field, but the msg's pairs. */
static void
test_auditd_empty_key_quoted(void **state)
{
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	char *buf;

	decode_buf(d, &ctx, "type=USER_LOGIN msg=audit(1764068401.123:4567): ='x=1 uid=7' a=b", &buf);
	for (unsigned i = 0; i < d->nfields; i++)
		assert_true(d->fields[i].name[0] != '\0');
	expect_field(d, "x", "1");
	expect_field(d, "uid", "7");
	expect_field(d, "a", "b");
	free(buf);
}

/*
 * "SYSCALL" from arch and the last exact "syscall"; none when the record
 * has its own SYSCALL (the enriched part) or the number has no name; an
 * "arch" only in another case still counts (decode_field_get's fallback).
 */
static void
test_auditd_syscall_name_roles(void **state)
{
	static const struct {
		const char *body;
		const char *first;	/* the first SYSCALL field's value, NULL: none */
		unsigned count;		/* SYSCALL fields in all */
	} cases[] = {
		{ "arch=c000003e syscall=59", "execve", 1 },
		{ "arch=c000003e syscall=2 syscall=59", "execve", 1 },
		{ "arch=c000003e syscall=437", "openat2", 1 },
		{ "arch=c000003e syscall=438", NULL, 0 },
		{ "arch=c000003e syscall=9999", NULL, 0 },
		{ "arch=c000003e syscall=10000", NULL, 0 },
		{ "arch=40000003 syscall=59", NULL, 0 },
		{ "Arch=c000003e syscall=0", "read", 1 },
		{ "syscall=0 ARCH=c000003e", "read", 1 },
		{ "arch=c000003e SYSCALL=59", "59", 1 },
		{ "arch=c000003e Syscall=59", NULL, 0 },
		{ "arch=c000003e syscall=59 \x1d" "ARCH=x86_64 SYSCALL=execve", "execve", 1 },
		{ "arch=c000003e syscall=1 \x1d" "SYSCALL=open", "open", 1 },
	};
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };

	for (size_t k = 0; k < MS_ARRAY_LEN(cases); k++) {
		char line[256], *buf;

		snprintf(line, sizeof(line), AU_PFX "%s", cases[k].body);
		decode_buf(d, &ctx, line, &buf);
		if (field_count(d, "SYSCALL") != cases[k].count)
			fail_msg("%s: %u SYSCALL fields", cases[k].body, field_count(d, "SYSCALL"));
		if (cases[k].first != NULL)
			expect_field(d, "SYSCALL", cases[k].first);
		free(buf);
	}
}

/*
 * Enrichment from the cached SYSCALL record: the seven fields with their
 * values; none of those a later record has under the exact name (exe from
 * the record, Image and CommandLine as unknown keys); the values live in
 * scratch (valid after the cache moved on).
 */
static void
test_auditd_enrich_fields(void **state)
{
	struct decode_auditd_cache *c = decode_auditd_cache_new();
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS, .auditd = c, .agent_id = "agent-1" };
	char *buf;

	assert_non_null(c);
	decode_buf(d, &ctx, "type=SYSCALL msg=audit(1764068401.123:10): arch=c000003e syscall=59 "
	    "auid=1000 uid=0 comm=\"ps\" exe=\"/usr/bin/ps\" key=\"exec\"", &buf);
	free(buf);
	decode_buf(d, &ctx, "type=EXECVE msg=audit(1764068401.123:10): argc=2 a0=\"ps\" a1=\"aux\"", &buf);
	expect_field(d, "exe", "/usr/bin/ps");
	expect_field(d, "Image", "/usr/bin/ps");
	expect_field(d, "comm", "ps");
	expect_field(d, "uid", "0");
	expect_field(d, "auid", "1000");
	expect_field(d, "key", "exec");
	expect_field(d, "CommandLine", "ps aux");
	assert_int_equal(field_count(d, "CommandLine"), 1);
	/* the copies are in scratch, not in the cache or the line */
	{
		const struct ms_str *v = field_exact(d, "Image");
		assert_true(v->p >= d->scratch && v->p < d->scratch + DECODE_SCRATCH);
	}
	free(buf);
	/* a record with exe, Image and CommandLine of its own keeps them */
	decode_buf(d, &ctx, "type=PATH msg=audit(1764068401.123:10): item=0 exe=\"/x\" Image=img "
	    "CommandLine=cl", &buf);
	expect_field(d, "exe", "/x");
	assert_int_equal(field_count(d, "exe"), 1);
	expect_field(d, "Image", "img");
	assert_int_equal(field_count(d, "Image"), 1);
	expect_field(d, "CommandLine", "cl");	/* an unknown key's field... */
	assert_int_equal(field_count(d, "CommandLine"), 1);	/* ...and the cached one not added */
	expect_field(d, "comm", "ps");
	free(buf);
	/* empty cached values: present and empty */
	decode_buf(d, &ctx, "type=SYSCALL msg=audit(1764068401.124:11): arch=c000003e syscall=59 "
	    "uid= comm=\"\" exe=\"/bin/true\"", &buf);
	free(buf);
	decode_buf(d, &ctx, "type=CWD msg=audit(1764068401.124:11): cwd=\"/\"", &buf);
	expect_field(d, "uid", "");
	expect_field(d, "comm", "");
	expect_field(d, "exe", "/bin/true");
	expect_no_field(d, "auid");
	expect_no_field(d, "key");
	free(buf);
	decode_auditd_cache_free(c);
}

/*
 * Scratch nearly full when the enrichment runs: the copies that fit are
 * added in order, one by one, and the others are not (no partial value).
 */
static void
test_auditd_enrich_scratch_full(void **state)
{
	struct decode_auditd_cache *c = decode_auditd_cache_new();
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS, .auditd = c, .agent_id = "a" };
	/* an unhexed proctitle takes len/2 bytes of scratch */
	size_t left_want = 6, hexlen = 2 * (DECODE_SCRATCH - left_want);
	size_t cap = hexlen + 128;
	char *line = malloc(cap), *buf;
	int n;

	assert_non_null(c);
	assert_non_null(line);
	decode_buf(d, &ctx, "type=SYSCALL msg=audit(1764068401.125:12): arch=c000003e syscall=59 "
	    "uid=0 auid=4294967295 comm=\"cat\" exe=\"/usr/bin/cat\"", &buf);
	free(buf);
	n = snprintf(line, cap, "type=PROCTITLE msg=audit(1764068401.125:12): proctitle=");
	for (size_t k = 0; k < hexlen; k += 2)
		memcpy(line + n + k, "41", 2);
	line[n + hexlen] = '\0';
	decode_buf(d, &ctx, line, &buf);
	/* all five (38 bytes) do not fit in 6: one by one, exe (12) no, comm (3) and uid (1) yes, auid (10) and Image no */
	assert_int_equal(DECODE_SCRATCH - d->scratch_used, 2);
	expect_no_field(d, "exe");
	expect_field(d, "comm", "cat");
	expect_field(d, "uid", "0");
	expect_no_field(d, "auid");
	expect_no_field(d, "Image");
	free(buf);
	free(line);
	decode_auditd_cache_free(c);
}

/* ---- web date memo ---------------------------------------------------- */

static int64_t
web_time(struct decoded *d, const char *date, bool *ok)
{
	char line[256], *buf;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };
	int64_t t;

	snprintf(line, sizeof(line), "203.0.113.9 - - [%s] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"", date);
	decode_buf(d, &ctx, line, &buf);
	*ok = d->category != NULL && strcmp(d->category, "webserver") == 0;
	t = d->time_ms;
	free(buf);
	return t;
}

/*
 * The same 27 bytes give the same time from the memo; one byte more or
 * less anywhere (second, zone, sign) is parsed again; an invalid date
 * between two valid ones does not change what is remembered.
 */
static void
test_web_date_memo(void **state)
{
	struct decoded *d = *state;
	bool ok;

	assert_int_equal(web_time(d, "26/Nov/2026:08:04:52 +0000", &ok), INT64_C(1795680292000));
	assert_true(ok);
	assert_int_equal(web_time(d, "26/Nov/2026:08:04:52 +0000", &ok), INT64_C(1795680292000));
	assert_int_equal(web_time(d, "26/Nov/2026:08:04:53 +0000", &ok), INT64_C(1795680293000));
	assert_int_equal(web_time(d, "26/Nov/2026:08:04:53 +0100", &ok), INT64_C(1795676693000));
	assert_int_equal(web_time(d, "26/Nov/2026:08:04:53 -0100", &ok), INT64_C(1795683893000));
	(void)web_time(d, "31/Feb/2026:08:04:53 -0100", &ok);
	assert_false(ok);
	assert_int_equal(web_time(d, "26/Nov/2026:08:04:53 -0100", &ok), INT64_C(1795683893000));
	assert_true(ok);
	assert_int_equal(web_time(d, "27/Nov/2026:08:04:53 -0100", &ok), INT64_C(1795770293000));
}

/* ---- syslog host, tag, pid, fraction ----------------------------------- */

static void
test_syslog_host_tag_shapes(void **state)
{
	static const struct {
		const char *after_ts;	/* the line after "2026-11-26T08:04:52Z " */
		const char *host, *app, *pid, *msg;
	} cases[] = {
		{ "lg1 sshd[42]: hello", "lg1", "sshd", "42", "hello" },
		{ "a-very-long-host-name-01.example.com sshd[42]: hi", "a-very-long-host-name-01.example.com", "sshd", "42", "hi" },
		{ "2001:db8::1 cron: job", "2001:db8::1", "cron", "", "job" },
		{ "host: message", "", "host", "", "message" },
		{ "web[1]: m", "", "web", "1", "m" },
		{ "a:b[c x: y", "", "", "", "a:b[c x: y" },
		{ "h a-very-long-program-name-here[1234567890123456789]: m", "h",
		  "a-very-long-program-name-here", "1234567890123456789", "m" },
		{ "h prog[12 3]: m", "h", "", "", "prog[12 3]: m" },
		{ "h p[]: m", "h", "p", "", "m" },
		{ "h tag-without-colon and more", "h", "", "", "tag-without-colon and more" },
		{ "h kernel:", "h", "kernel", "", "" },
		{ "averyveryverylonghostnamewithoutdots x:y", "averyveryverylonghostnamewithoutdots", "", "", "x:y" },
	};
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };

	for (size_t k = 0; k < MS_ARRAY_LEN(cases); k++) {
		char line[256], *buf;

		snprintf(line, sizeof(line), "2026-11-26T08:04:52Z %s", cases[k].after_ts);
		decode_buf(d, &ctx, line, &buf);
		assert_int_equal(d->fmt, DECODE_SYSLOG_RFC3339);
		if (!ms_str_eq(d->host, cases[k].host) || !ms_str_eq(d->app, cases[k].app) ||
		    !ms_str_eq(d->pid, cases[k].pid) || !ms_str_eq(d->msg, cases[k].msg))
			fail_msg("%s: host \"%.*s\" app \"%.*s\" pid \"%.*s\" msg \"%.*s\"", line,
			    (int)d->host.len, d->host.p, (int)d->app.len, d->app.p,
			    (int)d->pid.len, d->pid.p, (int)d->msg.len, d->msg.p);
		free(buf);
	}
}

/* 1 to 9 fraction digits read to milliseconds (truncated); none or 10 reject the stamp. */
static void
test_syslog_fraction_digits(void **state)
{
	static const struct { const char *frac; int ms; } cases[] = {
		{ ".9", 900 }, { ".98", 980 }, { ".987", 987 }, { ".9876", 987 },
		{ ".987654", 987 }, { ".987654321", 987 }, { ".05", 50 }, { ".000001", 0 },
		{ ".", -1 }, { ".9876543210", -1 }, { ".x", -1 },
	};
	struct decoded *d = *state;
	struct decode_ctx ctx = { .recv_ms = RECV_MS };

	for (size_t k = 0; k < MS_ARRAY_LEN(cases); k++)
		for (int same = 0; same < 2; same++) {	/* parsed, then from the same-second memo */
			char line[128], *buf;

			snprintf(line, sizeof(line), "2026-11-26T08:04:52%s+00:00 h app: m", cases[k].frac);
			decode_buf(d, &ctx, line, &buf);
			if (cases[k].ms < 0) {
				assert_int_equal(d->fmt, DECODE_SYSLOG_NONE);
			} else {
				assert_int_equal(d->fmt, DECODE_SYSLOG_RFC3339);
				assert_int_equal(d->time_ms, INT64_C(1795680292000) + cases[k].ms);
			}
			free(buf);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find3_matches_reference),
		cmocka_unit_test(test_find_kv_matches_reference),
		cmocka_unit_test_setup_teardown(test_auditd_pair_window, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_auditd_window_quotes_and_words, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_auditd_empty_key_quoted, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_auditd_syscall_name_roles, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_auditd_enrich_fields, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_auditd_enrich_scratch_full, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_web_date_memo, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_syslog_host_tag_shapes, decoded_setup, decoded_teardown),
		cmocka_unit_test_setup_teardown(test_syslog_fraction_digits, decoded_setup, decoded_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
