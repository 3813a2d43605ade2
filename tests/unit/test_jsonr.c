/* Unit tests of ms_jsonr, the bounded JSON reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ms_jsonr.h"

static struct ms_jsonr *
parse(const char *s)
{
	char err[128];

	return ms_jsonr_parse(s, strlen(s), 1000, err, sizeof(err));
}

static void
test_values(void **state)
{
	struct ms_jsonr *d = parse(" {\"a\": [1, -2.5e2, true, false, null, \"x\"], \"b\": {}, \"c\": []} ");
	const struct ms_jv *r, *a, *c;

	(void)state;
	assert_non_null(d);
	r = ms_jsonr_root(d);
	assert_int_equal(r->type, MS_JV_OBJ);
	assert_int_equal(r->n, 3);
	a = ms_jv_get(r, "a");
	assert_int_equal(a->type, MS_JV_ARR);
	assert_int_equal(a->n, 6);
	c = a->child;
	assert_int_equal(c->type, MS_JV_NUM);
	assert_true(c->num == 1.0);
	c = c->next;
	assert_true(c->num == -250.0);
	assert_string_equal(c->str, "-2.5e2");
	c = c->next;
	assert_true(c->type == MS_JV_BOOL && c->b);
	c = c->next;
	assert_true(c->type == MS_JV_BOOL && !c->b);
	c = c->next;
	assert_int_equal(c->type, MS_JV_NULL);
	c = c->next;
	assert_string_equal(c->str, "x");
	assert_null(c->next);
	assert_int_equal(ms_jv_get(r, "b")->n, 0);
	assert_null(ms_jv_get(r, "zz"));
	ms_jsonr_free(d);
}

static void
test_escapes(void **state)
{
	struct ms_jsonr *d = parse("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\ud800x\"");
	const struct ms_jv *r;

	(void)state;
	assert_non_null(d);
	r = ms_jsonr_root(d);
	assert_string_equal(r->str, "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
	ms_jsonr_free(d);
}

static void
test_paths(void **state)
{
	struct ms_jsonr *d = parse("{\"event\":{\"severity\":\"high\"},\"rule.id\":\"r1\","
	    "\"source\":{\"ip\":\"1.2.3.4\"},\"@timestamp\":\"t\",\"host\":{\"name.x\":{\"y\":\"z\"}}}");
	const struct ms_jv *r;

	(void)state;
	assert_non_null(d);
	r = ms_jsonr_root(d);
	assert_string_equal(ms_jv_path_str(r, "event.severity"), "high");
	assert_string_equal(ms_jv_path_str(r, "rule.id"), "r1");		/* literal dotted name */
	assert_string_equal(ms_jv_path_str(r, "source.ip"), "1.2.3.4");
	assert_string_equal(ms_jv_path_str(r, "@timestamp"), "t");
	assert_string_equal(ms_jv_path_str(r, "host.name.x.y"), "z");	/* mixed */
	assert_null(ms_jv_path_str(r, "event"));			/* not a string */
	assert_null(ms_jv_path_str(r, "event.severity.x"));
	assert_null(ms_jv_path(r, "nope.nope"));
	ms_jsonr_free(d);
}

static void
test_rejects(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "01", "1.", "-", "1e",
		"\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"a\nb\"", "tru", "nul", "[1] 2", "{}x",
		"[\"\\", "{\"a\":1 \"b\":2}",
	};
	char deep[200];
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ms_jsonr *d = ms_jsonr_parse(bad[i], strlen(bad[i]), 1000, err, sizeof(err));
		if (d != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
	/* Depth and node caps. */
	memset(deep, '[', sizeof(deep));
	assert_null(ms_jsonr_parse(deep, sizeof(deep), 1000, err, sizeof(err)));
	assert_null(ms_jsonr_parse("[1,2,3,4]", 9, 4, err, sizeof(err)));
	assert_non_null(strstr(err, "too many"));
	{
		struct ms_jsonr *d = ms_jsonr_parse("[1,2,3,4]", 9, 5, err, sizeof(err));
		assert_non_null(d);
		ms_jsonr_free(d);
	}
	ms_jsonr_free(NULL);
}

static void
test_many_nodes(void **state)
{
	/* More than one chunk of nodes, and a string holding a NUL. */
	char buf[4000];
	size_t n = 0;
	struct ms_jsonr *d;
	char err[64];

	(void)state;
	buf[n++] = '[';
	for (int i = 0; i < 600; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", i ? "," : "", i % 10);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"a\\u0000b\"]");
	d = ms_jsonr_parse(buf, n, 10000, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(ms_jsonr_root(d)->n, 601);
	{
		const struct ms_jv *c = ms_jsonr_root(d)->child;
		while (c->next)
			c = c->next;
		assert_int_equal(c->len, 3);
		assert_memory_equal(c->str, "a\0b", 3);
	}
	ms_jsonr_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_many_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
