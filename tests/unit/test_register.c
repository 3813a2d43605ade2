/*
 * Unit tests of the register of information systems (ms_register), the
 * framework profiles and the report arithmetic (ms_compliance): the example
 * register's profile, every validation error as "file:line: reason",
 * percentages rounded half-up, retention from archive days, deadlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ms_compliance.h"
#include "ms_json.h"
#include "ms_register.h"
#include "ms_util.h"

static int64_t
day(const char *s)
{
	int64_t d;
	assert_int_equal(ms_date_parse(s, &d), 0);
	return d;
}

static void
test_example_register(void **state)
{
	char err[4096];
	struct ms_register *r = ms_register_load(MINISOC_SOURCE_DIR "/deploy/examples/register.yml",
	    err, sizeof(err));
	int lv[6] = { 0 }, plans = 0, agents = 0;
	const struct ms_reg_system *s;

	if (r == NULL)
		fail_msg("%s", err);
	assert_int_equal(r->n, 69);
	for (size_t i = 0; i < r->n; i++) {
		lv[r->systems[i].level]++;
		plans += r->systems[i].plan_approved;
		assert_int_equal(r->systems[i].dossier, MS_REG_APPROVED);
		for (size_t k = 0; k < r->systems[i].nassets; k++) {
			const char *a = r->systems[i].assets[k].agent;
			if (a == NULL)
				continue;
			agents++;
			assert_ptr_equal(ms_register_find_agent(r, a), &r->systems[i]);
		}
	}
	/* The province's 2024 profile. */
	assert_int_equal(lv[3], 14);
	assert_int_equal(lv[2], 43);
	assert_int_equal(lv[1], 12);
	assert_int_equal(lv[4] + lv[5], 0);
	assert_int_equal(plans, 53);
	assert_int_equal(agents, 14 * 2 + 43 + 8);
	s = ms_register_find(r, "SYS-001");
	assert_non_null(s);
	assert_string_equal(s->name, "Cổng thông tin điện tử tỉnh");
	assert_int_equal(s->level, 3);
	assert_int_equal(s->decision_date, day("2024-02-02"));
	assert_string_equal(s->layers[2].evidence, "BB kiểm tra 40/2026");
	assert_ptr_equal(ms_register_find_agent(r, "sys001-db1"), s);
	assert_null(ms_register_find_agent(r, "not-registered"));
	assert_int_equal(r->nsensors, 1);
	ms_register_free(r);
}

/* Every problem is reported, each with its own line. */
static void
test_register_errors(void **state)
{
	const char *text =
	    "systems:\n"							/* 1 */
	    "  - id: A\n"							/* 2 */
	    "    name: a\n"							/* 3 */
	    "    type: internal\n"						/* 4 */
	    "    owner: o\n"							/* 5 */
	    "    operator: p\n"						/* 6 */
	    "    framework: new\n"						/* 7 */
	    "    level: 6\n"							/* 8 */
	    "    dossier: drafting\n"					/* 9 */
	    "    assets: [{host: h1, agent: web1}]\n"			/* 10 */
	    "  - id: A\n"							/* 11 */
	    "    name: b\n"							/* 12 */
	    "    type: internal\n"						/* 13 */
	    "    owner: o\n"							/* 14 */
	    "    operator: p\n"						/* 15 */
	    "    framework: decree-99\n"					/* 16 */
	    "    level: 2\n"							/* 17 */
	    "    dossier: approved\n"					/* 18 */
	    "    plan: {approved: false, implementation: full, target: 2025-02-30}\n"	/* 19 */
	    "    colour: red\n"						/* 20 */
	    "    layers: {inspection: {status: active}}\n"			/* 21 */
	    "    assets: [{host: h2, agent: web1}]\n";			/* 22 */
	char err[4096];
	struct ms_register *r = ms_register_parse("reg.yml", text, strlen(text), err, sizeof(err));

	assert_null(r);
	assert_non_null(strstr(err, "reg.yml:8: system A: \"level\" must be 1 to 5"));
	assert_non_null(strstr(err, "reg.yml:11: system A: duplicate id (first at line 2)"));
	assert_non_null(strstr(err, "reg.yml:16: system A: \"framework\" must be one of: old, new"));
	assert_non_null(strstr(err, "reg.yml:11: system A: an approved level needs \"decision\""));
	assert_non_null(strstr(err, "reg.yml:19: system A: \"target\" must be a date YYYY-MM-DD"));
	assert_non_null(strstr(err, "reg.yml:19: system A: a plan that is not approved cannot be implemented"));
	assert_non_null(strstr(err, "reg.yml:20: system A: unknown key \"colour\""));
	assert_non_null(strstr(err, "reg.yml:21: system A: layers.inspection: an attested layer needs"));
	assert_non_null(strstr(err, "reg.yml:22: system A: asset 1: agent \"web1\" is already an asset of A (line 2)"));
	assert_non_null(strstr(err, "reg.yml: 9 problems"));

	/*
	 * Bytes that are not UTF-8 (a register saved as Windows-1258 or
	 * TCVN3, as older Vietnamese documents are) are reported at their
	 * line, not at line 1.
	 */
	text = "systems:\n  - id: A\n    name: \"C\xf4ng th\xf4ng tin\"\n";
	assert_null(ms_register_parse("w.yml", text, strlen(text), err, sizeof(err)));
	if (strncmp(err, "w.yml:3: ", 9) != 0 || strstr(err, "UTF-8") == NULL)
		fail_msg("%s", err);
	/* A YAML syntax error is file:line too. */
	r = ms_register_parse("x.yml", "systems:\n  - id: [\n", 20, err, sizeof(err));
	assert_null(r);
	assert_int_equal(strncmp(err, "x.yml:", 6), 0);
	r = ms_register_load("/nonexistent/reg.yml", err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "/nonexistent/reg.yml:0: No such file"));
	/* The national population database forces level 3. */
	text = "systems:\n  - {id: B, name: b, type: internal, owner: o, operator: p, framework: new,\n"
	    "     level: 2, dossier: drafting, national_population_db: true}\n";
	assert_null(ms_register_parse("y.yml", text, strlen(text), err, sizeof(err)));
	assert_non_null(strstr(err, "y.yml:3: system B: connected to the national population database"));
}

static void
test_profiles(void **state)
{
	char err[4096];
	struct ms_comp_profile *p = ms_comp_profile_find(MINISOC_SOURCE_DIR "/rules/compliance", "new",
	    err, sizeof(err));
	const struct ms_comp_req *ret = NULL;
	int64_t n, r;

	if (p == NULL)
		fail_msg("%s", err);
	for (size_t i = 0; i < p->nreqs; i++)
		if (p->reqs[i].check == MS_CHECK_RETENTION)
			ret = &p->reqs[i];
	assert_non_null(ret);
	assert_int_equal(ret->months[2], 1);
	assert_int_equal(ret->months[3], 3);
	assert_int_equal(ret->months[4], 6);
	assert_int_equal(ret->months[5], 12);
	ms_comp_deadlines(p, true, 1000, &n, &r);
	assert_int_equal(n, 1000 + 24 * 3600000LL);
	assert_int_equal(r, 1000 + 72 * 3600000LL);
	ms_comp_deadlines(p, false, 0, &n, &r);
	assert_int_equal(n, 0);
	assert_int_equal(r, 120 * 3600000LL);
	ms_comp_profile_free(p);

	p = ms_comp_profile_find(MINISOC_SOURCE_DIR "/rules/compliance", "old", err, sizeof(err));
	if (p == NULL)
		fail_msg("%s", err);
	ms_comp_deadlines(p, true, 0, &n, &r);
	assert_int_equal(n, 0);
	assert_int_equal(r, 5 * 24 * 3600000LL);
	ms_comp_profile_free(p);

	const char *bad = "id: x\ntitle: {vi: a, en: b}\nincidents: {report_hours: 1}\nrequirements:\n"
	    "  - {id: r1, title: {vi: a, en: b}, from_level: 2, kind: automatic, check: retention}\n"
	    "  - {id: r1, title: {vi: a}, from_level: 7, kind: automatic, check: teleport}\n";
	assert_null(ms_comp_profile_parse("p.yml", bad, strlen(bad), err, sizeof(err)));
	assert_non_null(strstr(err, "p.yml:5: requirement r1: a retention check needs \"months\""));
	assert_non_null(strstr(err, "p.yml:6: requirement r1: duplicate id"));
	assert_non_null(strstr(err, "p.yml:6: requirement r1: \"en\" is required"));
	assert_non_null(strstr(err, "p.yml:6: requirement r1: \"from_level\" must be a whole number from 1 to 5"));
	assert_non_null(strstr(err, "p.yml:6: requirement r1: \"check\" must be one of"));
}

static void
test_pct(void **state)
{
	static const struct { int64_t n, d; const char *want; } cases[] = {
		{ 53, 69, "76.81" },	/* the province's figure */
		{ 0, 69, "0.00" }, { 69, 69, "100.00" },
		{ 1, 8, "12.50" },	/* exact */
		{ 1, 32, "3.13" },	/* 3.125: a half, rounded up */
		{ 1, 3, "33.33" }, { 2, 3, "66.67" },
		{ 1, 20000, "0.01" },	/* 0.005 exactly: up */
		{ 1, 40000, "0.00" },	/* 0.0025: down */
		{ 1, 1600, "0.06" },	/* 0.0625: down (0.06|25) */
		{ 3, 1600, "0.19" },	/* 0.1875 -> 0.19 */
		{ 10, 14, "71.43" }, { 12, 43, "27.91" }, { 5, 12, "41.67" },
		{ 1, 6, "16.67" },
	};
	char out[32];

	for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
		ms_pct(cases[i].n, cases[i].d, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%lld/%lld: got %s, want %s", (long long)cases[i].n,
			    (long long)cases[i].d, out, cases[i].want);
	}
	assert_int_equal(ms_pct(53, 69, out, sizeof(out)), 7681);
	assert_int_equal(ms_pct(1, 0, out, sizeof(out)), -1);
	assert_string_equal(out, "-");
}

static void
test_dates_and_retention(void **state)
{
	int64_t d, days[200];
	struct ms_retention rt;
	size_t n = 0;
	char s[16];

	assert_int_equal(ms_date_parse("2024-02-29", &d), 0);
	assert_int_equal(ms_date_parse("2025-02-29", &d), -1);
	assert_int_equal(ms_date_parse("2025-13-01", &d), -1);
	assert_int_equal(ms_date_parse("2025-1-01", &d), -1);
	ms_date_fmt(s, sizeof(s), ms_date_add_months(day("2026-05-31"), -3));
	assert_string_equal(s, "2026-02-28");
	ms_date_fmt(s, sizeof(s), ms_date_add_months(day("2026-01-15"), -1));
	assert_string_equal(s, "2025-12-15");
	ms_date_fmt(s, sizeof(s), ms_date_add_months(day("2024-03-31"), -1));
	assert_string_equal(s, "2024-02-29");
	assert_int_equal(ms_archive_day("2026-11-25.jsonl.gz", &d), 0);
	assert_int_equal(d, day("2026-11-25"));
	assert_int_equal(ms_archive_day("2026-11-25", &d), -1);
	assert_int_equal(ms_archive_day("notes.txt", &d), -1);

	/* 2026-08-01 .. 2026-11-24, end 2026-11-25 (still written): 3 months hold. */
	for (int64_t x = day("2026-08-01"); x <= day("2026-11-24"); x++)
		days[n++] = x;
	ms_retention_judge(days, n, day("2026-11-25"), 3, &rt);
	assert_true(rt.pass);
	assert_int_equal(rt.oldest, day("2026-08-01"));
	assert_int_equal(rt.required, day("2026-08-25"));
	assert_int_equal(rt.missing, 0);
	/* ... but not 6 months. */
	ms_retention_judge(days, n, day("2026-11-25"), 6, &rt);
	assert_false(rt.pass);
	/* One day missing in the period fails it, and says which. */
	days[40] = days[39];
	ms_retention_judge(days, n, day("2026-11-25"), 3, &rt);
	assert_false(rt.pass);
	assert_int_equal(rt.missing, 1);
	assert_int_equal(rt.first_missing, day("2026-09-10"));
	/* Nothing archived since three days: those days are missing (09-10 is before 1 month). */
	ms_retention_judge(days, n - 3, day("2026-11-25"), 1, &rt);
	assert_false(rt.pass);
	assert_int_equal(rt.missing, 3);
	assert_int_equal(rt.first_missing, day("2026-11-22"));
	/* No archive at all: fails, unless the level needs none. */
	ms_retention_judge(days, 0, day("2026-11-25"), 1, &rt);
	assert_false(rt.pass);
	assert_int_equal(rt.oldest, MS_REG_NO_DATE);
	ms_retention_judge(days, 0, day("2026-11-25"), 0, &rt);
	assert_true(rt.pass);
}

/*
 * A gap older than the level's period does not make the period short: the
 * archive keeps days beyond it (archive.keep_margin_days, keep_days, or no
 * deletion at all), and an outage a year ago must not fail a 3-month
 * requirement for ever. Only days from the required one on count.
 */
static void
test_retention_old_gap(void **state)
{
	int64_t days[400];
	struct ms_retention rt;
	size_t n = 0;

	/* 2025-11-25 .. 2026-11-24 but 2026-03-10 (an outage 8 months ago). */
	for (int64_t x = day("2025-11-25"); x <= day("2026-11-24"); x++)
		if (x != day("2026-03-10"))
			days[n++] = x;
	ms_retention_judge(days, n, day("2026-11-25"), 3, &rt);
	assert_int_equal(rt.required, day("2026-08-25"));
	assert_int_equal(rt.oldest, day("2025-11-25"));
	assert_int_equal(rt.missing, 0);
	assert_int_equal(rt.first_missing, MS_REG_NO_DATE);
	assert_true(rt.pass);
	/* The required day itself missing does fail, and is the first one. */
	n = 0;
	for (int64_t x = day("2026-06-01"); x <= day("2026-11-24"); x++)
		if (x != day("2026-08-25"))
			days[n++] = x;
	ms_retention_judge(days, n, day("2026-11-25"), 3, &rt);
	assert_false(rt.pass);
	assert_int_equal(rt.missing, 1);
	assert_int_equal(rt.first_missing, day("2026-08-25"));
}

/* The record published in minisoc:systems: every field, escaped, nulls for what is absent. */
static void
test_system_json(void **state)
{
	static const char text[] =
	    "systems:\n"
	    "  - id: A-1\n"
	    "    name: 'Tab\tand \"quotes\" <b>'\n"
	    "    type: internal\n"
	    "    owner: O\n"
	    "    operator: P\n"
	    "    framework: old\n"
	    "    level: 2\n"
	    "    dossier: submitted\n"
	    "    layers:\n"
	    "      onsite: {status: partial, evidence: E, valid_until: 2027-01-31}\n"
	    "    assets:\n"
	    "      - {host: h1, agent: a1}\n"
	    "      - {host: h2}\n"
	    "      - {host: s1, agent: s1, role: sensor}\n";
	static const char want[] =
	    "{\"id\":\"A-1\",\"name\":\"Tab\\tand \\\"quotes\\\" <b>\",\"type\":\"internal\","
	    "\"owner\":\"O\",\"security_unit\":null,\"operator\":\"P\",\"framework\":\"old\","
	    "\"level\":2,\"dossier\":\"submitted\",\"decision\":null,"
	    "\"plan\":{\"approved\":false,\"implementation\":\"none\",\"target\":null},"
	    "\"last_assessment\":null,\"layers\":{"
	    "\"onsite\":{\"status\":\"partial\",\"evidence\":\"E\",\"valid_until\":\"2027-01-31\"},"
	    "\"monitoring\":{\"status\":\"missing\",\"evidence\":null,\"valid_until\":null},"
	    "\"inspection\":{\"status\":\"missing\",\"evidence\":null,\"valid_until\":null},"
	    "\"national\":{\"status\":\"missing\",\"evidence\":null,\"valid_until\":null}},"
	    "\"assets\":3,\"agent_ids\":[\"a1\",\"s1\"],\"agents\":2}";
	char err[1024];
	struct ms_register *r = ms_register_parse("j.yml", text, strlen(text), err, sizeof(err));
	struct ms_buf b;
	struct ms_json j;

	if (r == NULL)
		fail_msg("%s", err);
	ms_buf_init(&b, 1 << 16);
	ms_json_init(&j, &b);
	ms_register_system_json(&j, &r->systems[0]);
	assert_int_equal(ms_json_finish(&j), 0);
	assert_string_equal(b.data, want);
	ms_buf_fini(&b);
	ms_register_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_register),
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_dates_and_retention),
		cmocka_unit_test(test_retention_old_gap),
		cmocka_unit_test(test_system_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
