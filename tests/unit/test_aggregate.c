/*
 * Unit tests of alert aggregation (aggregate.c): the first alert of a key
 * goes out, the rest of its window are folded, the summary carries the
 * totals when the window ends; per-rule windows (of mixed lengths), keys,
 * eviction, ticks in slices, and the configuration string.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "aggregate.h"

struct sink {
	struct alert a[16];
	char title[16][64];
	char tag0[16][64];
	char group[16][300];	/* "name=value" of each group-by field, ';' after each */
	int n;
};

static void
collect(struct alert *a, void *arg)
{
	struct sink *s = arg;

	assert_true(s->n < 16);
	s->a[s->n] = *a;
	/* Strings of a summary are the aggregate's: copy what the test checks. */
	snprintf(s->title[s->n], sizeof(s->title[0]), "%s", a->rule_title);
	snprintf(s->tag0[s->n], sizeof(s->tag0[0]), "%s", a->ntags ? a->tags[0] : "");
	s->group[s->n][0] = '\0';
	for (size_t i = 0; i < a->ngroup; i++) {
		size_t o = strlen(s->group[s->n]);

		snprintf(s->group[s->n] + o, sizeof(s->group[0]) - o, "%s=%.*s;", a->group_names[i],
		    (int)a->group_values[i].len, a->group_values[i].p);
	}
	s->n++;
}

static void
mk(struct alert *a, const char *rule, const char *ip, const char *user, unsigned count,
    int64_t first, const char *sample, const char *id)
{
	static const char *const tags[] = { "attack.t1110" };

	memset(a, 0, sizeof(*a));
	a->rule_id = rule;
	a->rule_title = "A title";
	a->severity = "high";
	a->tags = tags;
	a->ntags = 1;
	snprintf(a->agent_id, sizeof(a->agent_id), "web1");
	snprintf(a->src_ip, sizeof(a->src_ip), "%s", ip);
	if (user) {
		snprintf(a->users[0], sizeof(a->users[0]), "%s", user);
		a->n_users = 1;
	}
	a->count = count;
	a->first_ms = first;
	a->last_ms = first + 5;
	snprintf(a->samples[0], sizeof(a->samples[0]), "%s", sample);
	a->n_samples = 1;
	snprintf(a->id, sizeof(a->id), "%s", id);
}

static void
test_fold_and_summary(void **state)
{
	char err[128];
	struct aggregate *ag = aggregate_new(60000, "", 100, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	assert_non_null(ag);
	mk(&a, "r1", "192.0.2.1", "root", 2, 1000, "line 1", "id-1");
	assert_false(aggregate_offer(ag, &a, 0, collect, &s));	/* sent at once */
	mk(&a, "r1", "192.0.2.1", "root", 3, 900, "line 2", "id-2");
	assert_true(aggregate_offer(ag, &a, 10000, collect, &s));
	mk(&a, "r1", "192.0.2.1", "root", 4, 2000, "line 3", "id-3");
	snprintf(a.users[1], sizeof(a.users[1]), "admin");
	a.n_users = 2;
	assert_true(aggregate_offer(ag, &a, 59999, collect, &s));
	/* Another key (source) and another rule are their own windows. */
	mk(&a, "r1", "192.0.2.2", "root", 1, 1000, "other ip", "id-4");
	assert_false(aggregate_offer(ag, &a, 20000, collect, &s));
	mk(&a, "r2", "192.0.2.1", "root", 1, 1000, "other rule", "id-5");
	assert_false(aggregate_offer(ag, &a, 20000, collect, &s));
	assert_int_equal(aggregate_open(ag), 3);
	assert_int_equal(s.n, 0);

	aggregate_tick(ag, 59999, false, 0, collect, &s);
	assert_int_equal(s.n, 0);
	aggregate_tick(ag, 60000, false, 0, collect, &s);
	/* One summary: the windows holding a single alert end quietly. */
	assert_int_equal(s.n, 1);
	assert_int_equal(s.a[0].aggregated, 3);
	assert_int_equal(s.a[0].count, 9);
	assert_int_equal(s.a[0].first_ms, 900);
	assert_int_equal(s.a[0].last_ms, 2005);
	assert_int_equal(s.a[0].aggregate_window_ms, 60000);
	assert_string_equal(s.a[0].aggregate_of, "id-1");
	assert_string_equal(s.title[0], "A title");
	assert_string_equal(s.tag0[0], "attack.t1110");
	assert_int_equal(s.a[0].n_samples, 2);
	assert_string_equal(s.a[0].samples[1], "line 3");
	assert_int_equal(s.a[0].n_users, 2);	/* every user of the window, once */
	assert_string_equal(s.a[0].users[1], "admin");
	assert_int_equal(aggregate_open(ag), 2);
	aggregate_tick(ag, 80000, false, 0, collect, &s);
	assert_int_equal(aggregate_open(ag), 0);
	assert_int_equal(s.n, 1);

	/* After the window: a new one, the alert goes out again. */
	mk(&a, "r1", "192.0.2.1", "root", 1, 5000, "again", "id-6");
	assert_false(aggregate_offer(ag, &a, 100000, collect, &s));
	mk(&a, "r1", "192.0.2.1", "root", 1, 5001, "again 2", "id-7");
	assert_true(aggregate_offer(ag, &a, 100001, collect, &s));
	/* An ended window met by a new alert before the tick: summary first. */
	mk(&a, "r1", "192.0.2.1", "root", 1, 5002, "late", "id-8");
	assert_false(aggregate_offer(ag, &a, 170000, collect, &s));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.a[1].aggregate_of, "id-6");
	/* flush: every open window's summary (a clean stop). */
	mk(&a, "r1", "192.0.2.1", "root", 1, 5003, "late 2", "id-9");
	assert_true(aggregate_offer(ag, &a, 170001, collect, &s));
	aggregate_tick(ag, 170002, true, 0, collect, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.a[2].aggregate_of, "id-8");
	assert_int_equal(aggregate_open(ag), 0);

	/* More folded than samples kept: the latest ones, oldest first. */
	mk(&a, "r3", "192.0.2.9", "root", 1, 6000, "s 0", "id-10");
	assert_false(aggregate_offer(ag, &a, 200000, collect, &s));
	for (int i = 1; i <= 5; i++) {
		char line[16];

		snprintf(line, sizeof(line), "s %d", i);
		mk(&a, "r3", "192.0.2.9", "root", 1, 6000 + i, line, "id-11");
		assert_true(aggregate_offer(ag, &a, 200000 + i, collect, &s));
	}
	aggregate_tick(ag, 300000, false, 0, collect, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.a[3].aggregated, 6);
	assert_int_equal(s.a[3].n_samples, ALERT_MAX_SAMPLES);
	assert_string_equal(s.a[3].samples[0], "s 3");
	assert_string_equal(s.a[3].samples[2], "s 5");
	assert_string_equal(s.a[3].agent_id, "web1");
	assert_string_equal(s.a[3].src_ip, "192.0.2.9");
	assert_null(s.a[3].rule_name);
	aggregate_free(ag);
}

static void
test_rule_windows(void **state)
{
	char err[128];
	struct aggregate *ag;
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	/* No default window; r1 by id folds for 5 s, "quiet" by name never. */
	ag = aggregate_new(0, " r1=5, quiet=0 ", 100, err, sizeof(err));
	assert_non_null(ag);
	mk(&a, "r1", "x", NULL, 1, 0, "s", "i1");
	assert_false(aggregate_offer(ag, &a, 0, collect, &s));
	assert_true(aggregate_offer(ag, &a, 4999, collect, &s));
	assert_false(aggregate_offer(ag, &a, 5000, collect, &s));	/* a new window */
	mk(&a, "other", "x", NULL, 1, 0, "s", "i2");
	assert_false(aggregate_offer(ag, &a, 1, collect, &s));
	assert_false(aggregate_offer(ag, &a, 2, collect, &s));	/* default 0: never folded */
	mk(&a, "uuid-of-quiet", "x", NULL, 1, 0, "s", "i3");
	a.rule_name = "quiet";
	assert_false(aggregate_offer(ag, &a, 1, collect, &s));
	assert_false(aggregate_offer(ag, &a, 2, collect, &s));
	assert_int_equal(s.n, 1);	/* r1's first window: 2 alerts */
	aggregate_free(ag);

	assert_null(aggregate_new(60000, "r1", 10, err, sizeof(err)));
	assert_non_null(strstr(err, "rule=seconds"));
	assert_null(aggregate_new(60000, "r1=abc", 10, err, sizeof(err)));
	assert_null(aggregate_new(60000, "r1=-1", 10, err, sizeof(err)));
	assert_null(aggregate_new(60000, "r1=86401", 10, err, sizeof(err)));
	assert_null(aggregate_new(60000, "r1=5,,r2=6", 10, err, sizeof(err)));
	assert_null(aggregate_new(60000, "=5", 10, err, sizeof(err)));
	ag = aggregate_new(60000, NULL, 10, err, sizeof(err));
	assert_non_null(ag);
	aggregate_free(ag);
}

static void
test_eviction(void **state)
{
	char err[128], ip[32];
	struct aggregate *ag = aggregate_new(60000, "", 4, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	assert_non_null(ag);
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		mk(&a, "r", ip, NULL, 1, 0, "s", "id");
		assert_false(aggregate_offer(ag, &a, i, collect, &s));
		assert_true(aggregate_offer(ag, &a, i, collect, &s));
	}
	assert_int_equal(aggregate_open(ag), 4);
	/* A fifth key closes the oldest window early, with its summary. */
	mk(&a, "r", "10.0.0.9", NULL, 1, 0, "s", "id");
	assert_false(aggregate_offer(ag, &a, 10, collect, &s));
	assert_int_equal(aggregate_open(ag), 4);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.a[0].src_ip, "10.0.0.0");
	aggregate_free(ag);
}

/*
 * Windows of different lengths end in their own order: a short window
 * opened after a long one is summarised when it ends, not held behind the
 * long one (a tick stops at the first open window of each length).
 */
static void
test_mixed_lengths(void **state)
{
	char err[128];
	struct aggregate *ag = aggregate_new(60000, "short=5", 100, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	assert_non_null(ag);
	mk(&a, "long", "10.0.0.1", NULL, 1, 0, "l", "id-l");
	assert_false(aggregate_offer(ag, &a, 0, collect, &s));
	assert_true(aggregate_offer(ag, &a, 100, collect, &s));
	mk(&a, "short", "10.0.0.1", NULL, 1, 0, "s", "id-s");
	assert_false(aggregate_offer(ag, &a, 1000, collect, &s));
	assert_true(aggregate_offer(ag, &a, 1100, collect, &s));
	assert_int_equal(aggregate_open(ag), 2);
	assert_false(aggregate_tick(ag, 5999, false, 0, collect, &s));
	assert_int_equal(s.n, 0);
	assert_false(aggregate_tick(ag, 6000, false, 0, collect, &s));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.a[0].aggregate_of, "id-s");
	assert_int_equal(s.a[0].aggregate_window_ms, 5000);
	assert_false(aggregate_tick(ag, 60000, false, 0, collect, &s));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.a[1].aggregate_of, "id-l");
	assert_int_equal(aggregate_open(ag), 0);

	/* Eviction takes the oldest window of all lengths, whichever lane it is in. */
	aggregate_free(ag);
	ag = aggregate_new(60000, "short=5", 2, err, sizeof(err));
	assert_non_null(ag);
	s.n = 0;
	mk(&a, "short", "10.0.0.1", NULL, 1, 0, "s", "id-s1");
	assert_false(aggregate_offer(ag, &a, 0, collect, &s));
	assert_true(aggregate_offer(ag, &a, 1, collect, &s));
	mk(&a, "long", "10.0.0.1", NULL, 1, 0, "l", "id-l1");
	assert_false(aggregate_offer(ag, &a, 2, collect, &s));
	mk(&a, "long", "10.0.0.2", NULL, 1, 0, "l", "id-l2");
	assert_false(aggregate_offer(ag, &a, 3, collect, &s));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.a[0].aggregate_of, "id-s1");
	assert_int_equal(aggregate_open(ag), 2);
	/* The short lane (made first) empties; the oldest is now in the long one. */
	assert_false(aggregate_tick(ag, 60003, false, 0, collect, &s));
	assert_int_equal(aggregate_open(ag), 0);
	s.n = 0;
	mk(&a, "long", "10.0.0.3", NULL, 1, 0, "l", "id-l3");
	assert_false(aggregate_offer(ag, &a, 70000, collect, &s));
	assert_true(aggregate_offer(ag, &a, 70001, collect, &s));
	mk(&a, "short", "10.0.0.3", NULL, 1, 0, "s", "id-s3");
	assert_false(aggregate_offer(ag, &a, 70002, collect, &s));
	mk(&a, "long", "10.0.0.4", NULL, 1, 0, "l", "id-l4");
	assert_false(aggregate_offer(ag, &a, 70003, collect, &s));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.a[0].aggregate_of, "id-l3");
	aggregate_free(ag);
}

/*
 * A flood's windows end together: a tick with a limit gives at most that
 * many summaries and says more are left; the calls after it give the
 * rest, each once, in the order the windows opened.
 */
static void
test_tick_limit(void **state)
{
	char err[128], ip[32], id[16];
	struct aggregate *ag = aggregate_new(60000, "", 100, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;
	int calls = 0;

	(void)state;
	assert_non_null(ag);
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		snprintf(id, sizeof(id), "id-%d", i);
		mk(&a, "r", ip, NULL, 1, 0, "s", id);
		assert_false(aggregate_offer(ag, &a, i, collect, &s));
		assert_true(aggregate_offer(ag, &a, i, collect, &s));
	}
	/* The last one is still open at 60,008. */
	while (aggregate_tick(ag, 60008, false, 4, collect, &s))
		calls++;
	assert_int_equal(calls, 2);	/* 4, 4, then the last 1 without more left */
	assert_int_equal(s.n, 9);
	for (int i = 0; i < 9; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		assert_string_equal(s.a[i].aggregate_of, id);
	}
	assert_int_equal(aggregate_open(ag), 1);
	/* A limit is only a limit: exactly max ended ones and none left is "no more". */
	assert_false(aggregate_tick(ag, 60009, false, 1, collect, &s));
	assert_int_equal(s.n, 10);
	aggregate_free(ag);
}

/*
 * A rule id longer than the key buffer (rule files are operators' or
 * public input): the key is cut, never written past its end (ASan), and
 * the rule's alerts still fold by source, not all together.
 */
static void
test_long_rule_id(void **state)
{
	static char rule[3000];
	char err[128];
	struct aggregate *ag = aggregate_new(60000, "", 16, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	assert_non_null(ag);
	memset(rule, 'r', sizeof(rule) - 1);
	for (int round = 0; round < 2; round++) {
		mk(&a, rule, "10.0.0.1", "alice", 1, 0, "s", "id");
		assert_int_equal(aggregate_offer(ag, &a, 0, collect, &s), round == 1);
		mk(&a, rule, "10.0.0.2", "alice", 1, 0, "s", "id");
		assert_int_equal(aggregate_offer(ag, &a, 0, collect, &s), round == 1);
	}
	assert_int_equal(aggregate_open(ag), 2);
	aggregate_free(ag);
}

/*
 * A correlation's group-by values are part of the key: the summary of a
 * window must say which group it is (two groups' summaries were the same
 * document but for their counts), and every user of the window, those of
 * its first alert included.
 */
static void
test_summary_group_and_users(void **state)
{
	static const char *const gnames[] = { "TargetUserName" };
	struct ms_str g1[] = { { "alice", 5 } }, g2[] = { { "bob", 3 } };
	char err[128];
	struct aggregate *ag = aggregate_new(60000, "", 100, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	assert_non_null(ag);
	for (int round = 0; round < 2; round++) {
		mk(&a, "corr", "", "root", 5, 0, "s", round ? "id-b" : "id-a");
		a.group_names = gnames;
		a.group_values = round ? g2 : g1;
		a.ngroup = 1;
		/* The first alert of each window names a second user. */
		snprintf(a.users[1], sizeof(a.users[1]), "%s", round ? "svc-b" : "svc-a");
		a.n_users = 2;
		assert_false(aggregate_offer(ag, &a, round, collect, &s));
		a.n_users = 1;
		assert_true(aggregate_offer(ag, &a, 10 + round, collect, &s));
	}
	aggregate_tick(ag, 60100, false, 0, collect, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.group[0], "TargetUserName=alice;");
	assert_string_equal(s.group[1], "TargetUserName=bob;");
	assert_int_equal(s.a[0].n_users, 2);
	assert_string_equal(s.a[0].users[0], "root");
	assert_string_equal(s.a[0].users[1], "svc-a");
	assert_string_equal(s.a[1].users[1], "svc-b");
	aggregate_free(ag);
}

/*
 * Distinct keys stay distinct: group-by values are log text (a byte
 * 0x1f in one used to read as the key's separator: ("x\x1fy", "z") and
 * ("x", "y\x1fz") were one window), and four group values of 256 bytes
 * (the correlation engine's cap) used to be cut to the key buffer, so
 * groups differing in the last one were folded into one alert.
 */
static void
test_key_distinct(void **state)
{
	static const char *const gnames[] = { "a", "b", "c", "d" };
	static char v[2][4][256];
	struct ms_str ga[] = { { "x\x1fy", 3 }, { "z", 1 } }, gb[] = { { "x", 1 }, { "y\x1fz", 3 } };
	struct ms_str gl[2][4];
	char err[128];
	struct aggregate *ag = aggregate_new(60000, "", 100, err, sizeof(err));
	struct sink s = { .n = 0 };
	struct alert a;

	(void)state;
	assert_non_null(ag);
	mk(&a, "corr", "", NULL, 1, 0, "s", "id-1");
	a.group_names = gnames;
	a.group_values = ga;
	a.ngroup = 2;
	assert_false(aggregate_offer(ag, &a, 0, collect, &s));
	a.group_values = gb;
	assert_false(aggregate_offer(ag, &a, 1, collect, &s));	/* another group: sent */
	aggregate_free(ag);
	ag = aggregate_new(60000, "", 100, err, sizeof(err));
	assert_non_null(ag);

	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 4; i++) {
			memset(v[k][i], 'a' + i, sizeof(v[k][i]));
			gl[k][i] = ms_str_make(v[k][i], sizeof(v[k][i]));
		}
		v[k][3][255] = (char)('0' + k);	/* the last byte of the last value differs */
	}
	mk(&a, "corr3-0123456789abcdef0123456789abcdef", "192.0.2.1", "someone", 1, 0, "s", "id-2");
	a.group_names = gnames;
	a.ngroup = 4;
	a.group_values = gl[0];
	assert_false(aggregate_offer(ag, &a, 2, collect, &s));
	a.group_values = gl[1];
	assert_false(aggregate_offer(ag, &a, 3, collect, &s));	/* another group: sent */
	assert_int_equal(aggregate_open(ag), 2);
	aggregate_free(ag);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_and_summary),
		cmocka_unit_test(test_rule_windows),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_long_rule_id),
		cmocka_unit_test(test_mixed_lengths),
		cmocka_unit_test(test_tick_limit),
		cmocka_unit_test(test_summary_group_and_users),
		cmocka_unit_test(test_key_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
