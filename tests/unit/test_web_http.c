/* Unit tests for web_http: the parsers minisoc-web applies to browsers' input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web_http.h"

static void
test_token_equal(void **state)
{
	static const char t[] = "0123456789abcdef";

	(void)state;
	assert_true(web_token_equal(t, 16, "0123456789abcdef", 16));
	assert_false(web_token_equal(t, 16, "0123456789abcdeF", 16));
	assert_false(web_token_equal(t, 16, "0123456789abcde", 15));	/* prefix */
	assert_false(web_token_equal(t, 16, "0123456789abcdef0", 17));	/* longer */
	assert_false(web_token_equal(t, 16, "", 0));
	assert_false(web_token_equal("", 0, "", 0));	/* no token configured: nothing matches */
}

static void
test_cookie(void **state)
{
	static const struct {
		const char *header, *want;	/* want NULL: not found */
	} cases[] = {
		{ "minisoc_web=abc", "abc" },
		{ "a=1; minisoc_web=abc; b=2", "abc" },
		{ "a=1;minisoc_web=abc ", "abc" },
		{ "xminisoc_web=abc", NULL },
		{ "minisoc_webx=abc", NULL },
		{ "minisoc_web", NULL },
		{ "minisoc_web=", NULL },
		{ "", NULL },
		{ ";;; ;", NULL },
	};
	struct ms_str v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = web_cookie_get(cases[i].header, WEB_COOKIE, &v);
		if (cases[i].want == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(v.len, strlen(cases[i].want));
		assert_memory_equal(v.p, cases[i].want, v.len);
	}
	assert_int_equal(web_cookie_get(NULL, WEB_COOKIE, &v), -1);
}

static void
test_bearer(void **state)
{
	struct ms_str v;

	(void)state;
	assert_int_equal(web_bearer_get("Bearer abc", &v), 0);
	assert_int_equal(v.len, 3);
	assert_int_equal(web_bearer_get("bearer  abc  ", &v), 0);
	assert_int_equal(v.len, 3);
	assert_int_equal(web_bearer_get("Basic abc", &v), -1);
	assert_int_equal(web_bearer_get("Bearer ", &v), -1);
	assert_int_equal(web_bearer_get(NULL, &v), -1);
}

static void
test_form(void **state)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "token=abc", "abc" },
		{ "x=1&token=a%2Bb+c", "a+b c" },
		{ "tokens=1&token=2", "2" },
		{ "token=%4", NULL },		/* cut escape */
		{ "token=%zz", NULL },
		{ "token=%00", NULL },		/* NUL inside */
		{ "tok=1", NULL },
		{ "token", "" },		/* present, empty: no '=' means empty value */
		{ "", NULL },
	};
	char out[16], tiny[3];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = web_form_get(cases[i].body, strlen(cases[i].body), "token", out, sizeof(out));
		if (cases[i].want == NULL) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(web_form_get("token=abc", 9, "token", tiny, sizeof(tiny)), -1);	/* too long */
	assert_int_equal(web_form_get("token=abcdef", 8, "token", out, sizeof(out)), 0);	/* length bound */
	assert_string_equal(out, "ab");
}

static void
test_stream_id(void **state)
{
	(void)state;
	assert_true(web_stream_id_ok("1795647838933-0"));
	assert_true(web_stream_id_ok("0-0"));
	assert_false(web_stream_id_ok("1795647838933"));
	assert_false(web_stream_id_ok("-0"));
	assert_false(web_stream_id_ok("1-"));
	assert_false(web_stream_id_ok("1-0 "));
	assert_false(web_stream_id_ok("1-0\n"));
	assert_false(web_stream_id_ok("+"));
	assert_false(web_stream_id_ok("123456789012345678901-0"));
	/* Ordered as numbers, not as text; "" before every id. */
	assert_true(web_stream_id_cmp("9-0", "10-0") < 0);
	assert_true(web_stream_id_cmp("10-2", "10-10") < 0);
	assert_true(web_stream_id_cmp("10-10", "10-2") > 0);
	assert_true(web_stream_id_cmp("10-1", "10-1") == 0);
	assert_true(web_stream_id_cmp("010-1", "10-1") == 0);
	assert_true(web_stream_id_cmp("", "0-0") < 0);
	assert_true(web_stream_id_cmp("0-0", "") > 0);
	assert_true(web_stream_id_cmp("", "") == 0);
	assert_true(web_stream_id_cmp("18446744073709551616-0", "18446744073709551615-9") > 0);
	assert_false(web_stream_id_ok(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_equal),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_stream_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
