/*
 * Unit tests of ms_buf (capped growable buffer) and ms_json (streaming
 * JSON writer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ms_buf.h"
#include "ms_json.h"
#include "ms_util.h"
#include "ms_yaml.h"

/* --- ms_buf --------------------------------------------------------- */

static void
test_buf_basics(void **state)
{
	struct ms_buf b;
	size_t alloc;

	(void)state;
	ms_buf_init(&b, 1024);
	assert_int_equal(b.len, 0);
	assert_false(b.toobig);
	assert_int_equal(ms_buf_add(&b, "", 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(ms_buf_adds(&b, "abc"), 0);
	assert_int_equal(ms_buf_addc(&b, '-'), 0);
	assert_int_equal(ms_buf_add(&b, "x\0y", 3), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "abc-x\0y", 8);	/* NUL-terminated past len */
	alloc = b.alloc;
	ms_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, alloc);
	assert_string_equal(b.data, "");
	ms_buf_fini(&b);
	assert_null(b.data);
	ms_buf_fini(&b);	/* twice is harmless */
}

static void
test_buf_cap(void **state)
{
	struct ms_buf b;

	(void)state;
	ms_buf_init(&b, 10);
	assert_int_equal(ms_buf_adds(&b, "0123456789"), 0);	/* exactly the cap */
	assert_false(b.toobig);
	assert_int_equal(ms_buf_addc(&b, 'x'), -1);
	assert_true(b.toobig);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	assert_true(b.alloc <= 11);
	/* Sticky until reset, even for an empty append. */
	assert_int_equal(ms_buf_add(&b, "", 0), -1);
	assert_int_equal(ms_buf_printf(&b, "%d", 1), -1);
	ms_buf_reset(&b);
	assert_false(b.toobig);
	assert_int_equal(ms_buf_adds(&b, "abcdefghijk"), -1);	/* 11 > 10: nothing added */
	assert_int_equal(b.len, 0);
	ms_buf_fini(&b);

	/* Cap 0: only empty content fits. */
	ms_buf_init(&b, 0);
	assert_int_equal(ms_buf_add(&b, "", 0), 0);
	assert_int_equal(ms_buf_addc(&b, 'a'), -1);
	assert_true(b.toobig);
	ms_buf_fini(&b);

	/* A huge append must not wrap around. */
	ms_buf_init(&b, 64);
	assert_int_equal(ms_buf_adds(&b, "a"), 0);
	assert_int_equal(ms_buf_add(&b, "x", SIZE_MAX), -1);
	assert_true(b.toobig);
	ms_buf_fini(&b);
}

static void
test_buf_cap_unbounded(void **state)
{
	struct ms_buf b;
	char big[5000];

	(void)state;
	/* "No cap" spelled SIZE_MAX must still work (cap + 1 must not wrap). */
	ms_buf_init(&b, SIZE_MAX);
	memset(big, 'z', sizeof(big));
	assert_int_equal(ms_buf_adds(&b, "abc"), 0);
	assert_int_equal(ms_buf_add(&b, big, sizeof(big)), 0);
	assert_int_equal(b.len, 3 + sizeof(big));
	assert_memory_equal(b.data, "abczz", 5);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(ms_buf_add(&b, "x", SIZE_MAX), -1);
	ms_buf_fini(&b);
}

static void
test_buf_printf(void **state)
{
	struct ms_buf b;
	char s[1001], expect[1100];

	(void)state;
	ms_buf_init(&b, 4096);
	assert_int_equal(ms_buf_printf(&b, "%s=%d;", "n", 42), 0);
	assert_string_equal(b.data, "n=42;");

	/* Past the 256-byte stack buffer: formatted straight into the buffer. */
	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(ms_buf_printf(&b, "[%s]%05d", s, 7), 0);
	snprintf(expect, sizeof(expect), "n=42;[%s]00007", s);
	assert_string_equal(b.data, expect);
	assert_int_equal(b.len, strlen(expect));
	ms_buf_fini(&b);

	/* 255 and 256 characters: both sides of the stack buffer's edge. */
	for (int n = 254; n <= 258; n++) {
		ms_buf_init(&b, 4096);
		assert_int_equal(ms_buf_printf(&b, "%.*s", n, s), 0);
		assert_int_equal(b.len, (size_t)n);
		assert_int_equal(strspn(b.data, "x"), (size_t)n);
		assert_int_equal(b.data[n], '\0');
		ms_buf_fini(&b);
	}

	/* Past the cap, small and large: -1 and toobig, content unchanged. */
	ms_buf_init(&b, 300);
	assert_int_equal(ms_buf_adds(&b, "head"), 0);
	assert_int_equal(ms_buf_printf(&b, "%s", s), -1);
	assert_true(b.toobig);
	assert_string_equal(b.data, "head");
	ms_buf_reset(&b);
	assert_int_equal(ms_buf_printf(&b, "%.*s", 300, s), 0);
	assert_int_equal(b.len, 300);
	assert_int_equal(ms_buf_printf(&b, "%c", 'y'), -1);
	ms_buf_fini(&b);
}

/* --- ms_json -------------------------------------------------------- */

static void
test_json_nesting(void **state)
{
	struct ms_buf b;
	struct ms_json j;

	(void)state;
	ms_buf_init(&b, 4096);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "a");
	ms_json_arr_open(&j);
	ms_json_int(&j, 1);
	ms_json_obj_open(&j);
	ms_json_key(&j, "b");
	ms_json_arr_open(&j);
	ms_json_arr_close(&j);
	ms_json_obj_close(&j);
	ms_json_arr_open(&j);
	ms_json_bool(&j, true);
	ms_json_bool(&j, false);
	ms_json_null(&j);
	ms_json_str(&j, NULL);
	ms_json_arr_close(&j);
	ms_json_arr_close(&j);
	ms_json_key(&j, "c");
	ms_json_obj_open(&j);
	ms_json_obj_close(&j);
	ms_json_key(&j, "d");
	ms_json_str(&j, "e");
	ms_json_key(&j, "n");
	ms_json_arr_open(&j);
	ms_json_int(&j, INT64_MIN);
	ms_json_int(&j, INT64_MAX);
	ms_json_int(&j, 0);
	ms_json_int(&j, -1);
	ms_json_arr_close(&j);
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), 0);
	assert_string_equal(b.data,
	    "{\"a\":[1,{\"b\":[]},[true,false,null,null]],\"c\":{},\"d\":\"e\","
	    "\"n\":[-9223372036854775808,9223372036854775807,0,-1]}");
	ms_buf_fini(&b);
}

static void
test_json_depth(void **state)
{
	struct ms_buf b;
	struct ms_json j;

	(void)state;
	ms_buf_init(&b, 4096);
	ms_json_init(&j, &b);
	for (int i = 0; i < MS_JSON_MAX_DEPTH; i++)
		ms_json_arr_open(&j);
	for (int i = 0; i < MS_JSON_MAX_DEPTH; i++)
		ms_json_arr_close(&j);
	assert_int_equal(ms_json_finish(&j), 0);
	assert_int_equal(b.len, 2 * MS_JSON_MAX_DEPTH);

	ms_buf_reset(&b);
	ms_json_init(&j, &b);
	for (int i = 0; i <= MS_JSON_MAX_DEPTH; i++)
		ms_json_arr_open(&j);
	for (int i = 0; i <= MS_JSON_MAX_DEPTH; i++)
		ms_json_arr_close(&j);
	assert_int_equal(ms_json_finish(&j), -1);
	ms_buf_fini(&b);
}

static void
test_json_misuse(void **state)
{
	struct ms_buf b;
	struct ms_json j;

	(void)state;
	ms_buf_init(&b, 4096);

	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	assert_int_equal(ms_json_finish(&j), -1);	/* unclosed */

	ms_buf_reset(&b);
	ms_json_init(&j, &b);
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), -1);	/* close without open */

	ms_buf_reset(&b);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "k");
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), -1);	/* key without a value */

	ms_buf_reset(&b);
	ms_json_init(&j, &b);
	ms_json_key(&j, "k");
	assert_int_equal(ms_json_finish(&j), -1);	/* dangling top-level key */
	ms_buf_fini(&b);
}

static void
test_json_escaping(void **state)
{
	char all[32];
	struct ms_buf b;
	struct ms_json j;

	(void)state;
	for (int i = 0; i < 31; i++)
		all[i] = (char)(i + 1);
	all[31] = '\0';
	ms_buf_init(&b, 4096);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "k\"\\\n");
	ms_json_str(&j, "q\" b\\ s/ del\x7f end");
	ms_json_key(&j, "ctl");
	ms_json_str(&j, all);
	ms_json_key(&j, "nul");
	ms_json_strn(&j, "a\0b", 3);
	ms_json_key(&j, "empty");
	ms_json_strn(&j, NULL, 0);
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), 0);
	assert_string_equal(b.data,
	    "{\"k\\\"\\\\\\n\":\"q\\\" b\\\\ s/ del\\u007f end\","
	    "\"ctl\":\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\t\\n"
	    "\\u000b\\u000c\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015"
	    "\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\","
	    "\"nul\":\"a\\u0000b\",\"empty\":\"\"}");
	ms_buf_fini(&b);
}

#define FFFD "\xef\xbf\xbd"

static void
test_json_utf8(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "plain ascii", "plain ascii" },
		{ "\xc3\xa9", "\xc3\xa9" },			/* U+00E9 */
		{ "\xe2\x82\xac", "\xe2\x82\xac" },		/* U+20AC */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },	/* U+1F600 */
		{ "\xed\x9f\xbf", "\xed\x9f\xbf" },		/* U+D7FF, below surrogates */
		{ "\xee\x80\x80", "\xee\x80\x80" },		/* U+E000, above them */
		{ "\xef\xbf\xbd", "\xef\xbf\xbd" },		/* U+FFFD */
		{ "\xef\xbf\xbf", "\\uffff" },		/* U+FFFF: libyaml refuses it as it is */
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },	/* U+10FFFF */
		{ "\x80", FFFD },				/* lone continuation */
		{ "a\xbf" "b", "a" FFFD "b" },
		{ "\xff", FFFD },
		{ "\xfe\xff", FFFD FFFD },
		{ "\xc0\x80", FFFD FFFD },			/* overlong NUL */
		{ "\xc1\xbf", FFFD FFFD },			/* overlong */
		{ "\xe0\x80\x80", FFFD FFFD FFFD },		/* overlong */
		{ "\xe0\x9f\xbf", FFFD FFFD FFFD },		/* overlong U+07FF */
		{ "\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD },	/* overlong U+FFFF */
		{ "\xed\xa0\x80", FFFD FFFD FFFD },		/* surrogate U+D800 */
		{ "\xed\xbf\xbf", FFFD FFFD FFFD },		/* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },	/* U+110000 */
		{ "\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD },
		{ "a\xe2\x82", "a" FFFD FFFD },			/* truncated at the end */
		{ "\xe2\x28\xa1", FFFD "(" FFFD },		/* bad continuation */
		{ "\xc3\"", FFFD "\\\"" },			/* lead byte before a quote */
		{ "\xf0\x9f\x98", FFFD FFFD FFFD },
	};
	struct ms_buf b;

	(void)state;
	ms_buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms_buf_reset(&b);
		assert_int_equal(ms_json_escape(&b, cases[i].in, strlen(cases[i].in)), 0);
		if (strcmp(b.data, cases[i].out) != 0)
			fail_msg("case %zu: got \"%s\"", i, b.data);
	}
	ms_buf_fini(&b);
}

/* Writes a fixed document; returns ms_json_finish. */
static int
write_doc(struct ms_buf *b)
{
	struct ms_json j;

	ms_json_init(&j, b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "name");
	ms_json_str(&j, "caf\xc3\xa9 \"x\" \xff");
	ms_json_key(&j, "list");
	ms_json_arr_open(&j);
	ms_json_int(&j, 123456789);
	ms_json_bool(&j, true);
	ms_json_null(&j);
	ms_json_arr_close(&j);
	ms_json_obj_close(&j);
	return ms_json_finish(&j);
}

static void
test_json_cap(void **state)
{
	static const char doc[] =
	    "{\"name\":\"caf\xc3\xa9 \\\"x\\\" " FFFD "\",\"list\":[123456789,true,null]}";
	size_t len = strlen(doc);
	struct ms_buf b;

	(void)state;
	ms_buf_init(&b, len);
	assert_int_equal(write_doc(&b), 0);
	assert_string_equal(b.data, doc);
	ms_buf_fini(&b);
	/* Every smaller cap: -1, toobig, and never more than cap bytes. */
	for (size_t cap = 0; cap < len; cap++) {
		ms_buf_init(&b, cap);
		assert_int_equal(write_doc(&b), -1);
		assert_true(b.toobig);
		assert_true(b.len <= cap);
		ms_buf_fini(&b);
	}
	/* The escaper alone reports the cap too. */
	ms_buf_init(&b, 4);
	assert_int_equal(ms_json_escape(&b, "\"\"\"", 3), -1);
	assert_true(b.toobig);
	ms_buf_fini(&b);
}

/*
 * The word-at-a-time scan of ms_json_escape and ms_json_key's fast path:
 * a special byte at every position of a long string, and keys long or
 * with specials, must come out as the byte-by-byte escaping gives them.
 */
static void
escape_ref(char *out, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c < 0x20) {
			o += (size_t)sprintf(out + o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;	/* ASCII only here */
		}
	}
	out[o] = '\0';
}

static void
test_json_escape_positions(void **state)
{
	static const char specials[] = { '"', '\\', '\n', 0x01, 0x1f };
	char in[41], want[300], key[80];
	struct ms_buf b;
	struct ms_json j;

	(void)state;
	ms_buf_init(&b, 4096);
	for (size_t sp = 0; sp < sizeof(specials); sp++) {
		for (size_t pos = 0; pos < 40; pos++) {
			for (size_t i = 0; i < 40; i++)
				in[i] = (char)('a' + i % 26);
			in[pos] = specials[sp];
			in[40] = '\0';
			ms_buf_reset(&b);
			assert_int_equal(ms_json_escape(&b, in, 40), 0);
			escape_ref(want, in, 40);
			assert_string_equal(b.data, want);
		}
	}
	/* 0x7f is escaped, 0xc3 0xa9 (é) is kept, a lone 0xff is replaced. */
	ms_buf_reset(&b);
	assert_int_equal(ms_json_escape(&b, "abcdefg\x7f\xc3\xa9hijklmn\xffopqrstu", 25), 0);
	assert_string_equal(b.data, "abcdefg\\u007f\xc3\xa9hijklmn\xef\xbf\xbdopqrstu");

	/* Keys: plain, with a quote, and longer than the fast path's 61 bytes. */
	memset(key, 'k', 70);
	key[70] = '\0';
	ms_buf_reset(&b);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "plain");
	ms_json_int(&j, 1);
	ms_json_key(&j, "q\"x");
	ms_json_int(&j, 2);
	ms_json_key(&j, key);
	ms_json_int(&j, 3);
	key[61] = '\0';
	ms_json_key(&j, key);
	ms_json_int(&j, 4);
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), 0);
	snprintf(want, sizeof(want), "{\"plain\":1,\"q\\\"x\":2,\"%.70s\":3,\"%.61s\":4}",
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
	assert_string_equal(b.data, want);
	ms_buf_fini(&b);

	/* At the cap, the fast path must fail as ms_buf_add does. */
	ms_buf_init(&b, 8);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "abcdefgh");
	assert_true(b.toobig);
	assert_int_equal(ms_json_finish(&j), -1);
	ms_buf_fini(&b);
}

/* ms_fmt_time (the times in every alert): arithmetic against gmtime_r. */
static void
test_fmt_time(void **state)
{
	static const int64_t ms[] = { 0, -1, -1000, -1001, 951782400000LL, 951868799999LL,
		1795672965050LL, 4102444800000LL, -62167219200000LL, 253402300799999LL,
		253402300800000LL, -62167219200001LL };
	char got[32], want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		time_t sec = (time_t)(ms[i] >= 0 ? ms[i] / 1000 : (ms[i] - 999) / 1000);
		struct tm tm;

		assert_non_null(gmtime_r(&sec, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    (int)(ms[i] - (int64_t)sec * 1000));
		ms_fmt_time(got, sizeof(got), ms[i]);
		assert_string_equal(got, want);
	}
	ms_fmt_time(got, sizeof(got), 1795672965050LL);
	assert_string_equal(got, "2026-11-26T06:02:45.050Z");
	/* Any int64_t, as an agent may send: no overflow (UBSan aborts on one), a time in the buffer. */
	ms_fmt_time(got, sizeof(got), INT64_MIN);
	assert_true(strlen(got) >= 24 && got[strlen(got) - 1] == 'Z');
	ms_fmt_time(got, sizeof(got), INT64_MAX);
	assert_true(strlen(got) >= 24 && got[strlen(got) - 1] == 'Z');
	assert_string_equal(got + strlen(got) - 5, ".807Z");
}

/*
 * What minisocctl reads back: it parses alerts and incidents with libyaml
 * (ms_yaml), which refuses a document holding DEL, a C1 control, U+FFFE
 * or U+FFFF as it is, and folds U+2028/U+2029 as line breaks. Written by
 * ms_json from a log line's bytes, each comes back unchanged (as \\uXXXX
 * in the text); before, the alert was missing from minisocctl report and
 * listed without its title by minisocctl alerts.
 */
static void
test_json_yaml_reads(void **state)
{
	static const struct {
		const char *in, *text;
	} cases[] = {
		{ "root\x7f", "root\\u007f" },
		{ "a\xc2\x80" "b", "a\\u0080b" },
		{ "nel\xc2\x85", "nel\\u0085" },
		{ "\xc2\x9b[2J", "\\u009b[2J" },
		{ "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", "a\\u2028b\\u2029c" },
		{ "\xef\xbf\xbe\xef\xbf\xbf", "\\ufffe\\uffff" },
		/* Printable for YAML: kept as they are. */
		{ "\xc2\xa0\xc3\xa9\xef\xbf\xbd\xf0\x9f\x94\x91",
		  "\xc2\xa0\xc3\xa9\xef\xbf\xbd\xf0\x9f\x94\x91" },
		/* Past the short fast path, and through the 16-byte blocks. */
		{ "Failed password for \x7f\xc2\x85 from 203.0.113.5 port 22 ssh2",
		  "Failed password for \\u007f\\u0085 from 203.0.113.5 port 22 ssh2" },
	};
	struct ms_buf b, p;
	struct ms_json j;
	char want[256], err[256];

	(void)state;
	ms_buf_init(&b, 4096);
	for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
		struct ms_yaml_node **docs = NULL, *v;
		size_t ndocs = 0, n = strlen(cases[i].in);

		ms_buf_reset(&b);
		ms_json_init(&j, &b);
		ms_json_obj_open(&j);
		ms_json_kv_str(&j, "user", cases[i].in);
		ms_json_obj_close(&j);
		assert_int_equal(ms_json_finish(&j), 0);
		snprintf(want, sizeof(want), "{\"user\":\"%s\"}", cases[i].text);
		assert_string_equal(b.data, want);
		/* The piecewise writer (a buffer short of the worst case) agrees. */
		ms_buf_init(&p, b.len);
		assert_int_equal(ms_json_escape(&p, cases[i].in, n), 0);
		assert_int_equal(p.len, strlen(cases[i].text));
		assert_memory_equal(p.data, cases[i].text, p.len);
		ms_buf_fini(&p);
		if (ms_yaml_parse(b.data, b.len, &docs, &ndocs, err, sizeof(err)) < 0)
			fail_msg("case %zu: ms_yaml refused %s: %s", i, b.data, err);
		assert_int_equal(ndocs, 1);
		assert_non_null(v = ms_yaml_get(docs[0], "user"));
		assert_int_equal(v->len, n);
		assert_memory_equal(v->str, cases[i].in, n);
		ms_yaml_docs_free(docs, ndocs);
	}
	ms_buf_fini(&b);
}

/*
 * The short-string fast path (overlapping halves, up to 15 bytes), the
 * 16-byte blocks and ms_json_kv_strn: every length 0..40 with a special
 * byte (quote, backslash, control, UTF-8, invalid UTF-8, 0x7f, NEL, U+2028,
 * U+FFFF) at every
 * position must give what the piecewise writer gives (ms_json_escape).
 */
static void
test_json_short_and_pairs(void **state)
{
	static const char *const specials[] = { "\"", "\\", "\x01", "\x1f", "\xc3\xa9", "\xff",
		"\x7f", "\n", "\xc2\x85", "\xe2\x80\xa8", "\xef\xbf\xbf" };
	char in[48];
	struct ms_buf got, want, esc;
	struct ms_json j;

	(void)state;
	ms_buf_init(&got, 1 << 16);
	ms_buf_init(&want, 1 << 16);
	ms_buf_init(&esc, 1 << 16);
	for (size_t len = 0; len <= 40; len++) {
		for (size_t sp = 0; sp <= MS_ARRAY_LEN(specials); sp++) {
			for (size_t pos = 0; pos < (len ? len : 1); pos++) {
				size_t n = len;

				for (size_t i = 0; i < len; i++)
					in[i] = (char)('A' + (i * 7) % 58);	/* includes '[', '\\' skipped below */
				for (size_t i = 0; i < len; i++)
					if (in[i] == '\\')
						in[i] = 'z';
				if (sp < MS_ARRAY_LEN(specials) && len) {
					size_t sl = strlen(specials[sp]);
					if (pos + sl > len)
						continue;
					memcpy(in + pos, specials[sp], sl);
				}
				/* Expected: key and value escaped piecewise. */
				ms_buf_reset(&esc);
				assert_int_equal(ms_json_escape(&esc, in, n), 0);
				ms_buf_reset(&want);
				assert_int_equal(ms_buf_adds(&want, "{\""), 0);
				assert_int_equal(ms_buf_add(&want, esc.data ? esc.data : "", esc.len), 0);
				assert_int_equal(ms_buf_adds(&want, "\":\""), 0);
				assert_int_equal(ms_buf_add(&want, esc.data ? esc.data : "", esc.len), 0);
				assert_int_equal(ms_buf_adds(&want, "\",\"k\":[\""), 0);
				assert_int_equal(ms_buf_add(&want, esc.data ? esc.data : "", esc.len), 0);
				assert_int_equal(ms_buf_adds(&want, "\"]}"), 0);

				ms_buf_reset(&got);
				ms_json_init(&j, &got);
				ms_json_obj_open(&j);
				ms_json_kv_strn(&j, in, n, in, n);
				ms_json_keyn(&j, "k", 1);
				ms_json_arr_open(&j);
				ms_json_strn(&j, in, n);
				ms_json_arr_close(&j);
				ms_json_obj_close(&j);
				assert_int_equal(ms_json_finish(&j), 0);
				assert_int_equal(got.len, want.len);
				assert_memory_equal(got.data, want.data, want.len);
			}
		}
	}
	ms_buf_fini(&got);
	ms_buf_fini(&want);
	ms_buf_fini(&esc);
}

/*
 * A buffer that grows for the fast path: a long string into a small fresh
 * buffer, and pairs at the cap (fast path refused: the piecewise one
 * fails exactly there and never writes past it).
 */
static void
test_json_room_and_cap(void **state)
{
	char big[3000];
	struct ms_buf b;
	struct ms_json j;
	size_t full;

	(void)state;
	memset(big, 'x', sizeof(big));
	big[100] = '"';
	ms_buf_init(&b, 1 << 20);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_kv_strn(&j, "v", 1, big, sizeof(big));
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), 0);
	full = b.len;
	assert_int_equal(full, sizeof(big) + 1 + 8);
	assert_memory_equal(b.data + 6 + 100, "\\\"", 2);
	ms_buf_fini(&b);

	/* Every cap below the document's size fails; from its size on it fits. */
	for (size_t cap = full - 40; cap <= full + 2; cap++) {
		ms_buf_init(&b, cap);
		ms_json_init(&j, &b);
		ms_json_obj_open(&j);
		ms_json_kv_strn(&j, "v", 1, big, sizeof(big));
		ms_json_obj_close(&j);
		assert_int_equal(ms_json_finish(&j), cap >= full ? 0 : -1);
		assert_true(b.len <= cap);
		ms_buf_fini(&b);
	}
	/* ms_json_kv_str writes null for a NULL value, as key then null. */
	ms_buf_init(&b, 256);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_kv_str(&j, "a", NULL);
	ms_json_kv_str(&j, "b", "c\"d");
	ms_json_obj_close(&j);
	assert_int_equal(ms_json_finish(&j), 0);
	assert_string_equal(b.data, "{\"a\":null,\"b\":\"c\\\"d\"}");
	ms_buf_fini(&b);
}

/* Writes the same document with the one-call pairs (pairs) or key then value. */
static int
named_doc(struct ms_buf *b, bool pairs)
{
	struct ms_json j;

	ms_json_init(&j, b);
	ms_json_obj_open(&j);
	if (pairs) {
		ms_json_kv_int(&j, "n", 1, -42);
		ms_json_kv_obj_open(&j, "o\"b", 3);
		ms_json_kv_int(&j, "big", 3, INT64_MIN);
		ms_json_obj_close(&j);
		ms_json_kv_arr_open(&j, "a", 1);
		ms_json_int(&j, 7);
		ms_json_kv_obj_open(&j, "misuse: a key in an array", 25);
	} else {
		ms_json_key(&j, "n");
		ms_json_int(&j, -42);
		ms_json_key(&j, "o\"b");
		ms_json_obj_open(&j);
		ms_json_key(&j, "big");
		ms_json_int(&j, INT64_MIN);
		ms_json_obj_close(&j);
		ms_json_key(&j, "a");
		ms_json_arr_open(&j);
		ms_json_int(&j, 7);
		ms_json_key(&j, "misuse: a key in an array");
		ms_json_obj_open(&j);
	}
	ms_json_obj_close(&j);
	ms_json_arr_close(&j);
	ms_json_obj_close(&j);
	return ms_json_finish(&j);
}

/*
 * ms_json_kv_obj_open, _arr_open and _int write what the key and the
 * value written apart write, with room and at every cap around the size.
 */
static void
test_json_named_values(void **state)
{
	struct ms_buf a, b;
	size_t full;

	(void)state;
	ms_buf_init(&a, 4096);
	ms_buf_init(&b, 4096);
	assert_int_equal(named_doc(&a, true), 0);
	assert_int_equal(named_doc(&b, false), 0);
	assert_string_equal(a.data, b.data);
	assert_string_equal(a.data, "{\"n\":-42,\"o\\\"b\":{\"big\":-9223372036854775808},"
	    "\"a\":[7,\"misuse: a key in an array\":{}]}");
	full = a.len;
	ms_buf_fini(&a);
	ms_buf_fini(&b);
	for (size_t cap = 0; cap <= full + 1; cap++) {
		ms_buf_init(&a, cap);
		ms_buf_init(&b, cap);
		assert_int_equal(named_doc(&a, true), cap >= full ? 0 : -1);
		assert_int_equal(named_doc(&b, false), cap >= full ? 0 : -1);
		assert_int_equal(a.len, b.len);
		if (a.len)
			assert_memory_equal(a.data, b.data, a.len);
		ms_buf_fini(&a);
		ms_buf_fini(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basics),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_cap_unbounded),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_json_nesting),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_json_misuse),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_json_cap),
		cmocka_unit_test(test_json_escape_positions),
		cmocka_unit_test(test_json_short_and_pairs),
		cmocka_unit_test(test_json_yaml_reads),
		cmocka_unit_test(test_json_room_and_cap),
		cmocka_unit_test(test_json_named_values),
		cmocka_unit_test(test_fmt_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
