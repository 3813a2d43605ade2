/*
 * Unit tests of Sigma correlation rules (sigma_corr.c): parsing and errors
 * with line numbers, and every correlation type fed by hand-built events
 * (struct decoded filled with decode_field_add), on event time only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigma.h"

#define T0 INT64_C(1700000000000)	/* 2023-11-14T22:13:20.000Z */
#define SEC INT64_C(1000)
#define MIN INT64_C(60000)
#define MAX_ALERTS 64
#define MAX_COPY 16

/* A copy of one alert: the alert itself is only borrowed during emit. */
struct fired {
	const struct sigma_corr *corr;
	uint64_t count;
	int64_t first_ms, last_ms, last_ev_ms;
	size_t ngroup, nsamples, nvalues;
	char gname[4][64];
	char gval[4][300];
	char samples[SIGMA_CORR_MAX_SAMPLES][600];
	char values[MAX_COPY][300];
	char agent[128], host[256];	/* at close: whose window; "" when not given */
};

struct sink {
	struct fired a[MAX_ALERTS];
	size_t n;
	/* optional: re-feed this correlation from inside emit (must be ignored) */
	struct sigma_corr *reenter;
	/* optional: chain the alert into this correlation as a match of ref */
	struct sigma_corr *chain;
	size_t chain_ref;
	struct sink *chain_sink;
};

static struct decoded dec;	/* big: static, reused for every event */

static void emit_cb(const struct sigma_corr_alert *a, void *arg);

static void
copy_cut(char *dst, size_t sz, const char *p, size_t len)
{
	ms_copy(dst, sz, p ? p : "", p ? len : 0);
}

static void
emit_cb(const struct sigma_corr_alert *a, void *arg)
{
	struct sink *s = arg;
	struct fired *f;

	assert_true(s->n < MAX_ALERTS);
	f = &s->a[s->n++];
	memset(f, 0, sizeof(*f));
	f->corr = a->corr;
	f->count = a->count;
	f->first_ms = a->first_ms;
	f->last_ms = a->last_ms;
	assert_non_null(a->last);
	f->last_ev_ms = a->last->time_ms;
	f->ngroup = a->ngroup;
	assert_true(a->ngroup <= 4);
	for (size_t i = 0; i < a->ngroup; i++) {
		copy_cut(f->gname[i], sizeof(f->gname[i]), a->group_names[i],
		    strlen(a->group_names[i]));
		copy_cut(f->gval[i], sizeof(f->gval[i]), a->group_values[i].p,
		    a->group_values[i].len);
	}
	assert_true(a->nsamples <= SIGMA_CORR_MAX_SAMPLES);
	f->nsamples = a->nsamples;
	for (size_t i = 0; i < a->nsamples; i++)
		copy_cut(f->samples[i], sizeof(f->samples[i]), a->samples[i],
		    strlen(a->samples[i]));
	f->nvalues = a->nvalues;
	for (size_t i = 0; i < a->nvalues && i < MAX_COPY; i++)
		copy_cut(f->values[i], sizeof(f->values[i]), a->values[i], strlen(a->values[i]));
	copy_cut(f->agent, sizeof(f->agent), a->agent_id, a->agent_id ? strlen(a->agent_id) : 0);
	copy_cut(f->host, sizeof(f->host), a->host, a->host ? strlen(a->host) : 0);
	assert_true(a->first_ms <= a->last_ms);
	if (s->reenter != NULL)
		sigma_corr_feed(s->reenter, 0, a->last, emit_cb, s);
	if (s->chain != NULL)
		sigma_corr_feed(s->chain, s->chain_ref, a->last, emit_cb, s->chain_sink);
}

/* Parses doc idx of yaml; NULL on error with the reason in err. */
static struct sigma_corr *
parse_doc(const char *yaml, size_t idx, char *err, size_t errsz)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	struct sigma_corr *c;

	if (ms_yaml_parse(yaml, strlen(yaml), &docs, &ndocs, err, errsz) < 0)
		fail_msg("yaml: %s", err);
	assert_true(idx < ndocs);
	c = sigma_corr_parse(docs[idx], "t.yml", err, errsz);
	ms_yaml_docs_free(docs, ndocs);
	return c;
}

static struct sigma_corr *
parse_ok(const char *yaml)
{
	char err[256] = "";
	struct sigma_corr *c = parse_doc(yaml, 0, err, sizeof(err));

	if (c == NULL)
		fail_msg("parse failed: %s", err);
	return c;
}

/*
 * Feeds a match of ref at time t with the given line (NULL: "line@t") and
 * NULL-terminated name, value pairs as fields.
 */
static uint64_t feed_serial;	/* the events' serial: 0, not known, unless a test sets it */
static const char *feed_agent = "agent-1", *feed_host = "web1";	/* the events' origin */

static void
feed(struct sigma_corr *c, size_t ref, int64_t t, struct sink *s, const char *line, ...)
{
	static char lbuf[64];
	struct sigma_event ev;
	va_list ap;
	const char *name;

	decode_reset(&dec);
	va_start(ap, line);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);
		assert_int_equal(decode_field_add(&dec, name, val, strlen(val)), 0);
	}
	va_end(ap);
	if (line == NULL) {
		/* unsigned: the extreme-time test must not overflow here either */
		snprintf(lbuf, sizeof(lbuf), "line@%lld", (long long)((uint64_t)t - (uint64_t)T0));
		line = lbuf;
	}
	memset(&ev, 0, sizeof(ev));
	ev.d = &dec;
	ev.time_ms = t;
	ev.line = ms_str_make(line, strlen(line));
	ev.message = ev.line;
	ev.host = feed_host;
	ev.agent_id = feed_agent;
	ev.serial = feed_serial;
	sigma_corr_feed(c, ref, &ev, emit_cb, s);
}

/* --- parsing --------------------------------------------------------- */

static const char *bruteforce_yml =
    "title: SSH brute force\n"
    "id: 5a0c2d4e-1111-4c1e-9d7a-0c3f2b1a9e01\n"
    "name: ssh_bruteforce\n"
    "status: experimental\n"
    "level: high\n"
    "tags: [attack.credential-access, attack.t1110.001]\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules: [ssh_failed_password]\n"
    "  group-by: [src_ip]\n"
    "  timespan: 2m\n"
    "  condition: {gte: 8}\n"
    "  generate: false\n";

static void
test_parse_full(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);

	(void)state;
	assert_string_equal(sigma_corr_title(c), "SSH brute force");
	assert_string_equal(sigma_corr_id(c), "5a0c2d4e-1111-4c1e-9d7a-0c3f2b1a9e01");
	assert_string_equal(sigma_corr_name(c), "ssh_bruteforce");
	assert_string_equal(sigma_corr_level(c), "high");
	assert_string_equal(sigma_corr_status(c), "experimental");
	assert_string_equal(sigma_corr_type(c), "event_count");
	assert_int_equal(sigma_corr_timespan_ms(c), 120 * SEC);
	assert_int_equal(sigma_corr_ntags(c), 2);
	assert_string_equal(sigma_corr_tag(c, 1), "attack.t1110.001");
	assert_null(sigma_corr_tag(c, 2));
	assert_int_equal(sigma_corr_nrefs(c), 1);
	assert_string_equal(sigma_corr_ref(c, 0), "ssh_failed_password");
	assert_null(sigma_corr_ref(c, 1));
	assert_false(sigma_corr_generate(c));
	assert_int_equal(sigma_corr_groups(c), 0);
	assert_int_equal(sigma_corr_evicted(c), 0);
	sigma_corr_free(c);
}

static void
test_parse_defaults(void **state)
{
	struct sigma_corr *c;

	(void)state;
	/* A single string for rules; no group-by, level, id; generate beside correlation. */
	c = parse_ok("title: t\n"
	    "generate: true\n"
	    "correlation:\n"
	    "  type: temporal\n"
	    "  rules: [a, b]\n"
	    "  timespan: 1h\n");
	assert_string_equal(sigma_corr_level(c), "");
	assert_string_equal(sigma_corr_id(c), "");
	assert_string_equal(sigma_corr_name(c), "");
	assert_true(sigma_corr_generate(c));
	assert_int_equal(sigma_corr_timespan_ms(c), 3600 * SEC);
	assert_int_equal(sigma_corr_ntags(c), 0);
	sigma_corr_free(c);

	c = parse_ok("title: t\n"
	    "correlation:\n"
	    "  type: event_count\n"
	    "  rules: only_one\n"
	    "  timespan: 1d\n"
	    "  generate: True\n"
	    "  condition:\n"
	    "    gt: 100\n"
	    "    lte: 200\n");
	assert_int_equal(sigma_corr_nrefs(c), 1);
	assert_string_equal(sigma_corr_ref(c, 0), "only_one");
	assert_true(sigma_corr_generate(c));
	assert_int_equal(sigma_corr_timespan_ms(c), 86400 * SEC);
	sigma_corr_free(c);

	c = parse_ok("title: t\n"
	    "correlation: {type: value_count, rules: [r], group-by: [a, b], timespan: 30s,"
	    " condition: {field: user, gte: 5}}\n");
	assert_string_equal(sigma_corr_type(c), "value_count");
	assert_int_equal(sigma_corr_timespan_ms(c), 30 * SEC);
	sigma_corr_free(c);

	/* NULL-tolerance of the API. */
	sigma_corr_free(NULL);
	assert_int_equal(sigma_corr_nrefs(NULL), 0);
	assert_string_equal(sigma_corr_title(NULL), "");
	sigma_corr_feed(NULL, 0, NULL, emit_cb, NULL);
}

struct err_case {
	const char *yaml;
	const char *want;	/* substring of the error, including "t.yml:LINE:" */
};

/* A missing key is reported at the first line of the correlation block (3). */
#define HDR "title: x\ncorrelation:\n"

static const struct err_case err_cases[] = {
	{ HDR "  rules: [a]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:3: correlation has no type" },
	{ HDR "  type: event_count\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:3: correlation has no rules" },
	{ HDR "  type: event_count\n  rules: [a]\n  condition: {gte: 8}\n",
	  "t.yml:3: correlation has no timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n",
	  "t.yml:3: event_count needs a condition" },
	{ HDR "  type: value_count\n  rules: [a]\n  timespan: 2m\n",
	  "t.yml:3: value_count needs a condition" },
	{ HDR "  type: event_cnt\n  rules: [a]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:3: unknown correlation type 'event_cnt'" },
	{ HDR "  type: [event_count]\n  rules: [a]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:3: unknown correlation type" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2x\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan '2x'" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 1.5m\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: -1m\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: m\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2M\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 120\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: {s: 1}\n  condition: {gte: 8}\n",
	  "t.yml:5: bad timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 0s\n  condition: {gte: 8}\n",
	  "t.yml:5: timespan '0s' out of range" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 400d\n  condition: {gte: 8}\n",
	  "t.yml:5: timespan '400d' out of range" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 99999999999999999999s\n"
	  "  condition: {gte: 8}\n", "t.yml:5: timespan" },
	{ HDR "  type: event_count\n  rules: [a]\n  group-by: src_ip\n  timespan: 2m\n"
	  "  condition: {gte: 8}\n", "t.yml:5: group-by must be a list of strings" },
	{ HDR "  type: event_count\n  rules: [a]\n  group-by:\n    - src_ip\n    - {a: b}\n"
	  "  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:7: group-by must be a list of strings, found a" },
	{ HDR "  type: event_count\n  rules: [a]\n  group-by: [ip, ip]\n  timespan: 2m\n"
	  "  condition: {gte: 8}\n", "t.yml:5: group-by lists 'ip' twice" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: 8\n",
	  "t.yml:6: condition must be a map" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {greater: 8}\n",
	  "t.yml:6: condition not understood: 'greater'" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {gte: lots}\n",
	  "t.yml:6: condition not understood: gte needs a non-negative integer" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {gte: -1}\n",
	  "t.yml:6: condition not understood" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {}\n",
	  "t.yml:6: condition not understood" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {gte: 100001}\n",
	  "t.yml:6: event_count threshold 100001 is above 100000" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {lt: 200000}\n",
	  "is above 100000" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n"
	  "  condition: {gte: 8, field: user}\n",
	  "t.yml:6: condition field is only for value_count" },
	{ HDR "  type: value_count\n  rules: [a]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:6: value_count needs condition field" },
	{ HDR "  type: value_count\n  rules: [a]\n  timespan: 2m\n"
	  "  condition: {gte: 5000, field: user}\n", "t.yml:6: value_count threshold 5000" },
	{ HDR "  type: value_count\n  rules: [a]\n  timespan: 2m\n"
	  "  condition: {lte: 1024, field: user}\n", "value_count threshold 1024 is above 1023" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {eq: 0}\n",
	  "t.yml:6: condition can never hold" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {eq: 5, gt: 5}\n",
	  "condition can never hold" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {lt: 1}\n",
	  "t.yml:6: condition can never hold (a closed window" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {lte: 0}\n",
	  "condition can never hold" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {gt: 9, lt: 5}\n",
	  "condition can never hold" },
	{ HDR "  type: temporal\n  rules: [a]\n  timespan: 2m\n",
	  "t.yml:4: temporal needs at least two rules" },
	{ HDR "  type: temporal\n  rules: [a, b]\n  timespan: 2m\n  condition: {lt: 2}\n",
	  "t.yml:6: lt, lte and neq are not supported for temporal" },
	{ HDR "  type: temporal\n  rules: [a, b]\n  timespan: 2m\n  condition: {gte: 3}\n",
	  "t.yml:6: condition asks for 3 rules but only 2 are listed" },
	{ HDR "  type: temporal_ordered\n  rules: [a, b]\n  timespan: 2m\n  condition: {gte: 1}\n",
	  "t.yml:6: temporal_ordered matches all 2 rules in order" },
	{ HDR "  type: event_count\n  rules:\n    - a\n    - b\n    - a\n  timespan: 2m\n"
	  "  condition: {gte: 8}\n", "t.yml:7: rules lists 'a' twice" },
	{ HDR "  type: event_count\n  rules: []\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:4: rules is empty" },
	{ HDR "  type: event_count\n  rules: [[a]]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:4: rules must be a list of strings" },
	{ HDR "  type: event_count\n  rules: [\"\"]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:4: rules is empty" },
	{ HDR "  type: event_count\n  rules: [\"a\\0b\"]\n  timespan: 2m\n  condition: {gte: 8}\n",
	  "t.yml:4: rules contains a NUL byte" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespam: 2m\n  condition: {gte: 8}\n",
	  "t.yml:5: unknown key 'timespam' in correlation" },
	{ HDR "  type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 2m\n"
	  "  aliases:\n    addr:\n      a: src\n",
	  "t.yml:9: alias 'addr' is not used in group-by" },
	{ HDR "  type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 2m\n"
	  "  aliases: [ip]\n", "t.yml:7: aliases must be a map" },
	{ HDR "  type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 2m\n"
	  "  aliases:\n    ip:\n      a: [src]\n", "t.yml:9: alias field must be a string" },
	{ HDR "  type: event_count\n  rules: [a]\n  timespan: 2m\n  condition: {gte: 8}\n"
	  "  generate: maybe\n", "t.yml:7: generate must be true or false" },
	{ "title: x\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [a]\n"
	  "  timespan: 2m\n  condition: {gte: 8}\n  generate: false\n",
	  "t.yml:8: generate given twice" },
	{ "title: x\nlevel: severe\ncorrelation:\n  type: event_count\n  rules: [a]\n"
	  "  timespan: 2m\n  condition: {gte: 8}\n", "t.yml:2: unknown level 'severe'" },
	{ "title: x\nstatus: done\ncorrelation: {type: event_count, rules: [a], timespan: 2m,"
	  " condition: {gte: 8}}\n", "t.yml:2: unknown status 'done'" },
	{ "title: x\ntags: attack.t1110\ncorrelation: {type: event_count, rules: [a],"
	  " timespan: 2m, condition: {gte: 8}}\n", "t.yml:2: tags must be a list of strings" },
	{ "correlation:\n  type: event_count\n  rules: [a]\n  timespan: 2m\n"
	  "  condition: {gte: 8}\n", "t.yml:1: missing title" },
	{ "title: x\ndetection:\n  sel: {a: b}\n  condition: sel\n",
	  "t.yml:1: no correlation section" },
	{ "title: x\ncorrelation: event_count\n", "t.yml:2: correlation must be a map" },
	{ "- title: x\n", "t.yml:1: a correlation rule must be a map" },
};

static void
test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(err_cases); i++) {
		char err[256] = "";
		struct sigma_corr *c = parse_doc(err_cases[i].yaml, 0, err, sizeof(err));

		if (c != NULL) {
			sigma_corr_free(c);
			fail_msg("case %zu parsed, expected \"%s\"", i, err_cases[i].want);
		}
		if (strstr(err, err_cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err, err_cases[i].want);
	}
}

/* A tiny error buffer truncates, never overflows. */
static void
test_parse_error_small_buffer(void **state)
{
	char err[8];

	(void)state;
	memset(err, 'X', sizeof(err));
	assert_null(parse_doc("title: x\ncorrelation: {type: nope}\n", 0, err, sizeof(err)));
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

/* --- event_count ----------------------------------------------------- */

static void
test_bruteforce(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	/* 7 failures in 70 s from one source: nothing. */
	for (int i = 0; i < 7; i++)
		feed(c, 0, T0 + i * 10 * SEC, s, NULL, "src_ip", "203.0.113.7", "user", "root",
		    NULL);
	assert_int_equal(s->n, 0);
	assert_int_equal(sigma_corr_groups(c), 1);
	/* The 8th fires once. */
	feed(c, 0, T0 + 70 * SEC, s, "Failed password for root from 203.0.113.7", "src_ip",
	    "203.0.113.7", NULL);
	assert_int_equal(s->n, 1);
	assert_ptr_equal(s->a[0].corr, c);
	assert_int_equal(s->a[0].count, 8);
	assert_int_equal(s->a[0].first_ms, T0);
	assert_int_equal(s->a[0].last_ms, T0 + 70 * SEC);
	assert_int_equal(s->a[0].last_ev_ms, T0 + 70 * SEC);
	assert_int_equal(s->a[0].ngroup, 1);
	assert_string_equal(s->a[0].gname[0], "src_ip");
	assert_string_equal(s->a[0].gval[0], "203.0.113.7");
	/* Samples: the first lines of the window. */
	assert_int_equal(s->a[0].nsamples, 3);
	assert_string_equal(s->a[0].samples[0], "line@0");
	assert_string_equal(s->a[0].samples[2], "line@20000");
	assert_int_equal(s->a[0].nvalues, 0);
	/* Reset after firing: 7 more do not fire, the 8th does. */
	for (int i = 0; i < 7; i++)
		feed(c, 0, T0 + (71 + i) * SEC, s, NULL, "src_ip", "203.0.113.7", NULL);
	assert_int_equal(s->n, 1);
	feed(c, 0, T0 + 78 * SEC, s, NULL, "src_ip", "203.0.113.7", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].first_ms, T0 + 71 * SEC);
	assert_int_equal(s->a[1].nsamples, 3);
	assert_string_equal(s->a[1].samples[0], "line@71000");
	sigma_corr_free(c);
	free(s);
}

/* A flood of 20 events in one millisecond fires twice (8 + 8), then waits. */
static void
test_event_count_flood(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	for (int i = 0; i < 20; i++)
		feed(c, 0, T0, s, NULL, "src_ip", "198.51.100.1", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].count, 8);
	sigma_corr_free(c);
	free(s);
}

/*
 * The window is inclusive: with timespan 2m, 8 events spanning exactly
 * 120 000 ms fire; spanning 120 001 ms the first is out and they do not.
 */
static void
test_event_count_boundary(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	feed(c, 0, T0, s, NULL, "src_ip", "a", NULL);
	for (int i = 1; i < 7; i++)
		feed(c, 0, T0 + i * SEC, s, NULL, "src_ip", "a", NULL);
	feed(c, 0, T0 + 120 * SEC, s, NULL, "src_ip", "a", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].last_ms - s->a[0].first_ms, 120 * SEC);

	feed(c, 0, T0 + 1000 * SEC, s, NULL, "src_ip", "b", NULL);
	for (int i = 1; i < 7; i++)
		feed(c, 0, T0 + (1000 + i) * SEC, s, NULL, "src_ip", "b", NULL);
	feed(c, 0, T0 + 1120 * SEC + 1, s, NULL, "src_ip", "b", NULL);
	assert_int_equal(s->n, 1);
	/* ... and one more inside the window makes 8 again (the 7 still there). */
	feed(c, 0, T0 + 1120 * SEC + 2, s, NULL, "src_ip", "b", NULL);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->a[1].gval[0], "b");
	assert_int_equal(s->a[1].first_ms, T0 + 1001 * SEC);
	sigma_corr_free(c);
	free(s);
}

/* Groups are separate; events without the group-by field are not counted. */
static void
test_event_count_groups(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	for (int i = 0; i < 7; i++) {
		feed(c, 0, T0 + i * SEC, s, NULL, "src_ip", "10.0.0.1", NULL);
		feed(c, 0, T0 + i * SEC, s, NULL, "src_ip", "10.0.0.2", NULL);
		feed(c, 0, T0 + i * SEC, s, NULL, "user", "root", NULL);	/* no src_ip */
	}
	assert_int_equal(s->n, 0);
	assert_int_equal(sigma_corr_groups(c), 2);
	feed(c, 0, T0 + 8 * SEC, s, NULL, "src_ip", "10.0.0.2", NULL);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->a[0].gval[0], "10.0.0.2");
	feed(c, 0, T0 + 9 * SEC, s, NULL, "src_ip", "10.0.0.1", NULL);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->a[1].gval[0], "10.0.0.1");
	/* Field names match case-insensitively (decode_field_get). */
	feed(c, 0, T0 + 9 * SEC, s, NULL, "SRC_IP", "10.0.0.3", NULL);
	assert_int_equal(sigma_corr_groups(c), 3);
	/* A bad ref index is ignored. */
	feed(c, 5, T0 + 9 * SEC, s, NULL, "src_ip", "10.0.0.4", NULL);
	assert_int_equal(sigma_corr_groups(c), 3);
	sigma_corr_free(c);
	free(s);
}

/* Two group-by fields; values longer than 256 bytes are shown cut, told apart whole. */
static void
test_event_count_multi_group(void **state)
{
	struct sigma_corr *c = parse_ok("title: t\n"
	    "correlation: {type: event_count, rules: [r], group-by: [host, user],"
	    " timespan: 1m, condition: {gt: 2}}\n");
	struct sink *s = calloc(1, sizeof(*s));
	char longa[400], longb[400], longline[900];

	(void)state;
	memset(longa, 'u', sizeof(longa));
	longa[sizeof(longa) - 1] = '\0';
	memcpy(longb, longa, sizeof(longb));
	longb[300] = 'X';	/* differs only after byte 256: a group of its own */
	memset(longline, 'L', sizeof(longline));
	longline[sizeof(longline) - 1] = '\0';
	feed(c, 0, T0, s, longline, "host", "h1", "user", longa, NULL);
	feed(c, 0, T0 + 1, s, NULL, "host", "h1", "user", longb, NULL);
	feed(c, 0, T0 + 2, s, NULL, "host", "h2", "user", longa, NULL);
	feed(c, 0, T0 + 2, s, NULL, "host", "h1", "user", longa, NULL);
	assert_int_equal(s->n, 0);
	assert_int_equal(sigma_corr_groups(c), 3);
	feed(c, 0, T0 + 3, s, NULL, "user", longa, "host", "h1", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 3);
	assert_string_equal(s->a[0].gname[0], "host");
	assert_string_equal(s->a[0].gname[1], "user");
	assert_string_equal(s->a[0].gval[0], "h1");
	assert_int_equal(strlen(s->a[0].gval[1]), SIGMA_CORR_VALUE_MAX);
	assert_int_equal(strlen(s->a[0].samples[0]), SIGMA_CORR_SAMPLE_MAX);
	/* "ab"+"c" and "a"+"bc" are different groups (length-prefixed key). */
	feed(c, 0, T0 + 4, s, NULL, "host", "ab", "user", "c", NULL);
	feed(c, 0, T0 + 4, s, NULL, "host", "a", "user", "bc", NULL);
	assert_int_equal(sigma_corr_groups(c), 5);
	sigma_corr_free(c);
	free(s);
}

/*
 * gt N fires at N + 1; eq N is about a whole window: decided when it
 * closes (the next event of the group after the timespan), and a window
 * that went past N does not fire.
 */
static void
test_event_count_gt_eq(void **state)
{
	struct sigma_corr *gt = parse_ok("title: t\ncorrelation: {type: event_count, rules: [r],"
	    " timespan: 1m, condition: {gt: 3}}\n");
	struct sigma_corr *eq = parse_ok("title: t\ncorrelation: {type: event_count, rules: [r],"
	    " timespan: 1m, condition: {eq: 3}}\n");
	struct sigma_corr *g0 = parse_ok("title: t\ncorrelation: {type: event_count, rules: [r],"
	    " timespan: 1m, condition: {gte: 0}}\n");
	struct sink *s1 = calloc(1, sizeof(*s1)), *s2 = calloc(1, sizeof(*s2));
	struct sink *s3 = calloc(1, sizeof(*s3));

	(void)state;
	for (int i = 0; i < 3; i++) {
		feed(gt, 0, T0 + i, s1, NULL, NULL);
		feed(eq, 0, T0 + i, s2, NULL, NULL);
		feed(g0, 0, T0 + i, s3, NULL, NULL);
	}
	assert_int_equal(s1->n, 0);
	assert_int_equal(s2->n, 0);	/* the window is still open */
	assert_int_equal(s3->n, 3);	/* gte 0: every event */
	feed(gt, 0, T0 + 3, s1, NULL, NULL);
	assert_int_equal(s1->n, 1);
	assert_int_equal(s1->a[0].count, 4);
	/* The next event after the window closes it: exactly 3, fires. */
	feed(eq, 0, T0 + MIN + 10, s2, NULL, NULL);
	assert_int_equal(s2->n, 1);
	assert_int_equal(s2->a[0].count, 3);
	assert_int_equal(s2->a[0].first_ms, T0);
	assert_int_equal(s2->a[0].last_ms, T0 + 2);
	assert_int_equal(s2->a[0].ngroup, 0);
	/* A window of 4 (the closing event above opened it) does not. */
	for (int i = 1; i < 4; i++)
		feed(eq, 0, T0 + MIN + 10 + i, s2, NULL, NULL);
	feed(eq, 0, T0 + 3 * MIN, s2, NULL, NULL);
	assert_int_equal(s2->n, 1);
	sigma_corr_free(gt);
	sigma_corr_free(eq);
	sigma_corr_free(g0);
	free(s1);
	free(s2);
	free(s3);
}

/*
 * Out of order: late events inside the window count and are sorted;
 * events older than newest - span are ignored; stragglers of a fired
 * window cannot fire it again.
 */
static void
test_event_count_out_of_order(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sink *s = calloc(1, sizeof(*s));
	static const int order[] = { 50, 10, 30, 0, 70, 20, 60 };

	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(order); i++)
		feed(c, 0, T0 + order[i] * SEC, s, NULL, "src_ip", "x", NULL);
	/* Too old to share a window with T0+70s: ignored. */
	feed(c, 0, T0 - 60 * SEC, s, NULL, "src_ip", "x", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 40 * SEC, s, NULL, "src_ip", "x", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].first_ms, T0);
	assert_int_equal(s->a[0].last_ms, T0 + 70 * SEC);
	assert_int_equal(s->a[0].last_ev_ms, T0 + 40 * SEC);
	/* 10 stragglers of the fired window (older than its last event): ignored. */
	for (int i = 0; i < 10; i++)
		feed(c, 0, T0 + (60 + i) * SEC, s, NULL, "src_ip", "x", NULL);
	assert_int_equal(s->n, 1);
	/* A late event in a window that moved on is pruned, not counted. */
	for (int i = 0; i < 6; i++)
		feed(c, 0, T0 + (300 + i) * SEC, s, NULL, "src_ip", "x", NULL);
	feed(c, 0, T0 + 100 * SEC, s, NULL, "src_ip", "x", NULL);
	feed(c, 0, T0 + 184 * SEC, s, NULL, "src_ip", "x", NULL);
	assert_int_equal(s->n, 1);
	feed(c, 0, T0 + 185 * SEC, s, NULL, "src_ip", "x", NULL);	/* exactly newest - span */
	assert_int_equal(s->n, 1);
	feed(c, 0, T0 + 305 * SEC, s, NULL, "src_ip", "x", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].first_ms, T0 + 185 * SEC);
	assert_int_equal(s->a[1].last_ms, T0 + 305 * SEC);
	sigma_corr_free(c);
	free(s);
}

/* Extreme event times must not overflow (UBSan watches). */
static void
test_event_count_extreme_times(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sigma_corr *lt = parse_ok("title: t\ncorrelation: {type: event_count, rules: [r],"
	    " timespan: 366d, condition: {lt: 3}}\n");
	struct sink *s = calloc(1, sizeof(*s));
	static const int64_t times[] = { INT64_MIN, INT64_MIN + 1, 0, -1, INT64_MAX,
	    INT64_MAX - 1, INT64_MIN, 0, INT64_MAX, INT64_MAX };

	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(times); i++) {
		feed(c, 0, times[i], s, NULL, "src_ip", "x", NULL);
		feed(lt, 0, times[i], s, NULL, NULL);
	}
	sigma_corr_free(c);
	sigma_corr_free(lt);
	free(s);
}

/*
 * lt/lte/neq are evaluated when the window closes: the window opens at the
 * group's first event, covers [start, start + span], and closes when an
 * event of the same group arrives after start + span.
 */
static void
test_event_count_at_close(void **state)
{
	struct sigma_corr *c = parse_ok("title: Too few heartbeats\n"
	    "correlation:\n"
	    "  type: event_count\n"
	    "  rules: [heartbeat]\n"
	    "  group-by: [host]\n"
	    "  timespan: 1m\n"
	    "  condition: {lt: 3}\n");
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	/* Window 1 [T0, T0+60s]: 2 events, the second exactly at the end. */
	feed(c, 0, T0, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + 60 * SEC, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 0);	/* not closed yet */
	/* Late event before the window start: ignored. */
	feed(c, 0, T0 - 1, s, NULL, "host", "h1", NULL);
	/* Closes window 1 (2 < 3: fire) and opens window 2. */
	feed(c, 0, T0 + 60 * SEC + 1, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 2);
	assert_int_equal(s->a[0].first_ms, T0);
	assert_int_equal(s->a[0].last_ms, T0 + 60 * SEC);
	assert_int_equal(s->a[0].last_ev_ms, T0 + 60 * SEC + 1);
	assert_string_equal(s->a[0].gval[0], "h1");
	assert_int_equal(s->a[0].nsamples, 2);
	/* Window 2 gets 3 events: closing it does not fire. */
	feed(c, 0, T0 + 70 * SEC, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + 80 * SEC, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + 200 * SEC, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->a[0].agent, "agent-1");
	assert_string_equal(s->a[0].host, "web1");
	/*
	 * Window 3 [T0+200s, T0+260s] has 1 event, then h1 goes quiet: an
	 * event of another group (another agent's) past its end decides it,
	 * for h1's agent and host, and h1 is forgotten.
	 */
	feed_agent = "agent-2";
	feed_host = "web2";
	feed(c, 0, T0 + 900 * SEC, s, NULL, "host", "h2", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].count, 1);
	assert_string_equal(s->a[1].gval[0], "h1");
	assert_int_equal(s->a[1].first_ms, T0 + 200 * SEC);
	assert_int_equal(s->a[1].last_ms, T0 + 200 * SEC);
	assert_string_equal(s->a[1].agent, "agent-1");
	assert_string_equal(s->a[1].host, "web1");
	assert_int_equal(sigma_corr_groups(c), 1);
	/* h1 again: a new window; h2's [900s, 960s] is not over yet. */
	feed_agent = "agent-1";
	feed_host = "web1";
	feed(c, 0, T0 + 901 * SEC, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 2);
	/* h1's window by its own event; quiet h2 waits one more timespan. */
	feed(c, 0, T0 + 1000 * SEC, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 3);
	assert_string_equal(s->a[2].gval[0], "h1");
	assert_int_equal(s->a[2].first_ms, T0 + 901 * SEC);
	assert_int_equal(s->a[2].count, 1);
	/* 130 s past h2's start, more than two timespans: h2 is decided, for agent-2. */
	feed(c, 0, T0 + 1030 * SEC, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 4);
	assert_string_equal(s->a[3].gval[0], "h2");
	assert_int_equal(s->a[3].first_ms, T0 + 900 * SEC);
	assert_string_equal(s->a[3].agent, "agent-2");
	assert_string_equal(s->a[3].host, "web2");
	assert_int_equal(sigma_corr_groups(c), 1);
	sigma_corr_free(c);
	free(s);
}

/* Fewer than three events of a host in a minute, decided at close. */
static const char *too_few_yml = "title: Too few\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules: [r]\n"
    "  group-by: [host]\n"
    "  timespan: 1m\n"
    "  condition: {lt: 3}\n";

/*
 * A group whose window starts after the event being fed (a line dated in
 * the future) is passed over: it does not hold up the quiet groups behind
 * it.
 */
static void
test_at_close_future_group(void **state)
{
	struct sigma_corr *c = parse_ok(too_few_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	feed(c, 0, T0 + 10 * 86400 * SEC, s, NULL, "host", "future", NULL);
	feed(c, 0, T0, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + 200 * SEC, s, NULL, "host", "h2", NULL);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->a[0].gval[0], "h1");
	assert_int_equal(s->a[0].count, 1);
	assert_int_equal(sigma_corr_groups(c), 2);	/* future and h2 */
	sigma_corr_free(c);
	free(s);
}

/*
 * At most four quiet windows are decided per line, however many times it
 * is fed (a repeated line is fed once per repeat); the next line decides
 * the rest.
 */
static void
test_at_close_quiet_budget(void **state)
{
	struct sigma_corr *c = parse_ok(too_few_yml);
	struct sink *s = calloc(1, sizeof(*s));
	static const char *const hosts[] = { "h1", "h2", "h3", "h4", "h5", "h6" };

	(void)state;
	for (size_t i = 0; i < 6; i++)
		feed(c, 0, T0 + (int64_t)i * SEC, s, "quiet", "host", hosts[i], NULL);
	for (int k = 0; k < 3; k++)
		feed(c, 0, T0 + 600 * SEC, s, "repeated", "host", "late", NULL);
	assert_int_equal(s->n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(s->a[i].gval[0], hosts[i]);
	feed(c, 0, T0 + 601 * SEC, s, "next", "host", "late", NULL);
	assert_int_equal(s->n, 6);
	assert_string_equal(s->a[5].gval[0], "h6");
	assert_int_equal(sigma_corr_groups(c), 1);
	sigma_corr_free(c);
	free(s);
}

/* At the group cap, windows that are over are decided before a group is evicted. */
static void
test_at_close_cap(void **state)
{
	struct sigma_corr *c = parse_ok(too_few_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	sigma_corr_set_max_groups(c, 2);
	feed(c, 0, T0, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + SEC, s, NULL, "host", "h2", NULL);
	feed(c, 0, T0 + 600 * SEC, s, NULL, "host", "h3", NULL);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->a[0].gval[0], "h1");
	assert_string_equal(s->a[1].gval[0], "h2");
	assert_int_equal(sigma_corr_evicted(c), 0);
	sigma_corr_free(c);
	free(s);
}

/* neq and a range (gt AND lte) at close. */
static void
test_event_count_neq_range(void **state)
{
	struct sigma_corr *neq = parse_ok("title: t\ncorrelation: {type: event_count,"
	    " rules: [r], timespan: 10s, condition: {neq: 2}}\n");
	struct sigma_corr *rng = parse_ok("title: t\ncorrelation: {type: event_count,"
	    " rules: [r], timespan: 10s, condition: {gt: 2, lte: 4}}\n");
	struct sink *s1 = calloc(1, sizeof(*s1)), *s2 = calloc(1, sizeof(*s2));
	/* windows of 1, 2, 3, 4, 5 events, 100 s apart */
	static const int per[] = { 1, 2, 3, 4, 5 };

	(void)state;
	for (size_t w = 0; w < MS_ARRAY_LEN(per); w++)
		for (int i = 0; i < per[w]; i++) {
			feed(neq, 0, T0 + (int64_t)w * 100 * SEC + i, s1, NULL, NULL);
			feed(rng, 0, T0 + (int64_t)w * 100 * SEC + i, s2, NULL, NULL);
		}
	feed(neq, 0, T0 + 1000 * SEC, s1, NULL, NULL);
	feed(rng, 0, T0 + 1000 * SEC, s2, NULL, NULL);
	assert_int_equal(s1->n, 4);	/* 1, 3, 4, 5 */
	assert_int_equal(s1->a[0].count, 1);
	assert_int_equal(s1->a[1].count, 3);
	assert_int_equal(s2->n, 2);	/* 3, 4 */
	assert_int_equal(s2->a[0].count, 3);
	assert_int_equal(s2->a[1].count, 4);
	sigma_corr_free(neq);
	sigma_corr_free(rng);
	free(s1);
	free(s2);
}

/* --- value_count ----------------------------------------------------- */

static const char *spraying_yml =
    "title: Password spraying\n"
    "level: high\n"
    "correlation:\n"
    "  type: value_count\n"
    "  rules: [ssh_failed_password]\n"
    "  group-by: [src_ip]\n"
    "  timespan: 5m\n"
    "  condition:\n"
    "    field: user\n"
    "    gte: 5\n";

static void
test_spraying(void **state)
{
	struct sigma_corr *c = parse_ok(spraying_yml);
	struct sink *s = calloc(1, sizeof(*s));
	static const char *users[] = { "alice", "bob", "carol", "dave", "erin" };

	(void)state;
	/* Many failures for 4 users (repeats do not count): nothing. */
	for (int r = 0; r < 5; r++)
		for (int i = 0; i < 4; i++)
			feed(c, 0, T0 + (r * 4 + i) * SEC, s, NULL, "src_ip", "192.0.2.9",
			    "user", users[i], NULL);
	/* Another source with the 5th user, and events without user: not counted. */
	feed(c, 0, T0 + 30 * SEC, s, NULL, "src_ip", "192.0.2.10", "user", "erin", NULL);
	feed(c, 0, T0 + 30 * SEC, s, NULL, "src_ip", "192.0.2.9", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 31 * SEC, s, NULL, "src_ip", "192.0.2.9", "user", "erin", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 5);
	assert_int_equal(s->a[0].nvalues, 5);
	assert_string_equal(s->a[0].values[0], "alice");
	assert_string_equal(s->a[0].values[4], "erin");
	assert_string_equal(s->a[0].gval[0], "192.0.2.9");
	/*
	 * first = the first event of the window (alice at T0, seen again
	 * since: the last-seen times alone would say T0 + 16 s)
	 */
	assert_int_equal(s->a[0].first_ms, T0);
	assert_int_equal(s->a[0].last_ms, T0 + 31 * SEC);
	sigma_corr_free(c);
	free(s);
}

/* Values expire from the sliding window by their last-seen time. */
static void
test_value_count_window(void **state)
{
	struct sigma_corr *c = parse_ok(spraying_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	feed(c, 0, T0, s, NULL, "src_ip", "a", "user", "u1", NULL);
	feed(c, 0, T0 + 1, s, NULL, "src_ip", "a", "user", "u2", NULL);
	feed(c, 0, T0 + 2, s, NULL, "src_ip", "a", "user", "u3", NULL);
	/* u1 seen again at 4 min: refreshed; u2, u3 expire at 5 min + 2 ms. */
	feed(c, 0, T0 + 240 * SEC, s, NULL, "src_ip", "a", "user", "u1", NULL);
	feed(c, 0, T0 + 300 * SEC + 2, s, NULL, "src_ip", "a", "user", "u4", NULL);	/* u3 still in */
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 300 * SEC + 3, s, NULL, "src_ip", "a", "user", "u5", NULL);	/* u3 out */
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 300 * SEC + 4, s, NULL, "src_ip", "a", "user", "u6", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 300 * SEC + 5, s, NULL, "src_ip", "a", "user", "u7", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 5);	/* u1, u4, u5, u6, u7 */
	assert_string_equal(s->a[0].values[0], "u1");
	/* Values differing only after byte 256 are two values, shown cut. */
	{
		char v1[300], v2[300];

		memset(v1, 'v', sizeof(v1));
		v1[sizeof(v1) - 1] = '\0';
		memcpy(v2, v1, sizeof(v2));
		v2[280] = 'w';
		for (int i = 0; i < 4; i++)
			feed(c, 0, T0 + 400 * SEC, s, NULL, "src_ip", "b", "user", i % 2 ? v1 : v2,
			    NULL);
		feed(c, 0, T0 + 400 * SEC, s, NULL, "src_ip", "b", "user", "", NULL);
		feed(c, 0, T0 + 400 * SEC, s, NULL, "src_ip", "b", "user", "x", NULL);
		assert_int_equal(s->n, 1);	/* v1, v2, "", x = 4 */
		feed(c, 0, T0 + 400 * SEC, s, NULL, "src_ip", "b", "user", "y", NULL);
		assert_int_equal(s->n, 2);
		assert_int_equal(s->a[1].count, 5);
		assert_int_equal(strlen(s->a[1].values[0]), SIGMA_CORR_VALUE_MAX);
		assert_int_equal(strlen(s->a[1].values[1]), SIGMA_CORR_VALUE_MAX);
	}
	sigma_corr_free(c);
	free(s);
}

/* value_count with lte at close: a port scan's opposite, "few distinct ports". */
static void
test_value_count_at_close(void **state)
{
	struct sigma_corr *c = parse_ok("title: t\n"
	    "correlation: {type: value_count, rules: [r], group-by: [ip], timespan: 1m,"
	    " condition: {field: port, lte: 2}}\n");
	struct sink *s = calloc(1, sizeof(*s));
	char port[16];

	(void)state;
	feed(c, 0, T0, s, NULL, "ip", "a", "port", "22", NULL);
	feed(c, 0, T0 + 1, s, NULL, "ip", "a", "port", "22", NULL);
	feed(c, 0, T0 + 2, s, NULL, "ip", "a", "port", "80", NULL);
	feed(c, 0, T0 + 61 * SEC, s, NULL, "ip", "a", "port", "443", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 2);
	assert_int_equal(s->a[0].nvalues, 2);
	/* Window 2: 50 distinct ports (the set stops at 3), no alert on close. */
	for (int i = 0; i < 50; i++) {
		snprintf(port, sizeof(port), "%d", 1000 + i);
		feed(c, 0, T0 + 62 * SEC + i, s, NULL, "ip", "a", "port", port, NULL);
	}
	feed(c, 0, T0 + 200 * SEC, s, NULL, "ip", "a", "port", "1", NULL);
	assert_int_equal(s->n, 1);
	sigma_corr_free(c);
	free(s);
}

/* --- temporal -------------------------------------------------------- */

static const char *temporal_yml =
    "title: Recon burst\n"
    "correlation:\n"
    "  type: temporal\n"
    "  rules: [recon_a, recon_b, recon_c]\n"
    "  group-by: [host]\n"
    "  timespan: 5m\n";

static void
test_temporal(void **state)
{
	struct sigma_corr *c = parse_ok(temporal_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	/* Any order; repeats do not matter. */
	feed(c, 2, T0, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + 10 * SEC, s, NULL, "host", "h1", NULL);
	feed(c, 0, T0 + 20 * SEC, s, NULL, "host", "h1", NULL);
	feed(c, 1, T0 + 30 * SEC, s, NULL, "host", "h2", NULL);	/* other group */
	assert_int_equal(s->n, 0);
	feed(c, 1, T0 + 300 * SEC, s, NULL, "host", "h1", NULL);	/* c at T0: exactly 5m */
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 3);
	assert_int_equal(s->a[0].first_ms, T0);
	assert_int_equal(s->a[0].last_ms, T0 + 300 * SEC);
	assert_string_equal(s->a[0].gval[0], "h1");
	/* Reset: a, b again without c: nothing; c too late for a. */
	feed(c, 0, T0 + 400 * SEC, s, NULL, "host", "h1", NULL);
	feed(c, 1, T0 + 500 * SEC, s, NULL, "host", "h1", NULL);
	feed(c, 2, T0 + 700 * SEC + 1, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 0 + 1);
	/* ... but a again within 5 min of b and c completes it. */
	feed(c, 0, T0 + 701 * SEC, s, NULL, "host", "h1", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].first_ms, T0 + 500 * SEC);
	/* A late event inside the window counts. */
	feed(c, 0, T0 + 1000 * SEC, s, NULL, "host", "h3", NULL);
	feed(c, 1, T0 + 1100 * SEC, s, NULL, "host", "h3", NULL);
	feed(c, 2, T0 + 900 * SEC, s, NULL, "host", "h3", NULL);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->a[2].first_ms, T0 + 900 * SEC);
	assert_int_equal(s->a[2].last_ms, T0 + 1100 * SEC);
	sigma_corr_free(c);
	free(s);
}

/* temporal with a condition: any 2 of the 3 rules. */
static void
test_temporal_two_of_three(void **state)
{
	struct sigma_corr *c = parse_ok("title: t\ncorrelation: {type: temporal,"
	    " rules: [a, b, c], timespan: 1m, condition: {gte: 2}}\n");
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	feed(c, 1, T0, s, NULL, NULL);
	feed(c, 1, T0 + 1, s, NULL, NULL);
	assert_int_equal(s->n, 0);
	feed(c, 2, T0 + 2, s, NULL, NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 2);
	sigma_corr_free(c);
	free(s);
}

/* Aliases: the group key of rule a comes from src, of rule b from dst. */
static void
test_aliases(void **state)
{
	struct sigma_corr *c = parse_ok("title: Error then connection back\n"
	    "correlation:\n"
	    "  type: temporal\n"
	    "  rules: [internal_error, new_connection]\n"
	    "  group-by: [internal_ip, proto]\n"
	    "  timespan: 10s\n"
	    "  aliases:\n"
	    "    internal_ip:\n"
	    "      internal_error: destination.ip\n"
	    "      new_connection: source.ip\n");
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	feed(c, 0, T0, s, NULL, "destination.ip", "10.1.1.1", "source.ip", "10.9.9.9",
	    "proto", "tcp", NULL);
	/* Same address but in the wrong field for this rule: another group. */
	feed(c, 1, T0 + 1, s, NULL, "destination.ip", "10.1.1.1", "source.ip", "10.9.9.9",
	    "proto", "tcp", NULL);
	assert_int_equal(s->n, 0);
	/* proto has no alias: the field of that name in both rules. */
	feed(c, 1, T0 + 2, s, NULL, "source.ip", "10.1.1.1", "proto", "udp", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 1, T0 + 3, s, NULL, "source.ip", "10.1.1.1", "proto", "tcp", NULL);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->a[0].gname[0], "internal_ip");
	assert_string_equal(s->a[0].gval[0], "10.1.1.1");
	assert_string_equal(s->a[0].gval[1], "tcp");
	sigma_corr_free(c);
	free(s);
}

/*
 * Aliases keyed by a rule's name while rules: lists its id (the spec keys
 * aliases by name): matched once the set says which name each id has;
 * a key that is neither is an error with its line.
 */
static void
test_aliases_by_name(void **state)
{
	static const char *yml = "title: t\n"
	    "correlation:\n"
	    "  type: temporal\n"
	    "  rules: [1111-aaaa, 2222-bbbb]\n"
	    "  group-by: [ip]\n"
	    "  timespan: 10s\n"
	    "  aliases:\n"
	    "    ip:\n"
	    "      fail: src_ip\n"
	    "      2222-bbbb: rhost\n";
	const char *names[] = { "fail", "ok" }, *ids[] = { "1111-aaaa", "2222-bbbb" };
	struct sigma_corr *c = parse_ok(yml);
	struct sink *s = calloc(1, sizeof(*s));
	char err[256] = "";

	(void)state;
	assert_int_equal(sigma_corr_resolve_aliases(c, names, ids, err, sizeof(err)), 0);
	assert_string_equal(sigma_corr_group_field(c, 0, 0), "src_ip");
	assert_string_equal(sigma_corr_group_field(c, 0, 1), "rhost");
	assert_int_equal(sigma_corr_group_line(c, 0, 0), 9);
	feed(c, 0, T0, s, NULL, "src_ip", "192.0.2.1", NULL);
	feed(c, 1, T0 + 1, s, NULL, "rhost", "192.0.2.1", NULL);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->a[0].gval[0], "192.0.2.1");
	sigma_corr_free(c);

	/* Unresolved: the name is nobody's. */
	c = parse_ok(yml);
	names[0] = "other";
	assert_int_equal(sigma_corr_resolve_aliases(c, names, ids, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yml:9: alias 'ip': 'fail' is not one of the correlation's rules");
	sigma_corr_free(c);
	/* The same rule by name and by id. */
	c = parse_ok("title: t\ncorrelation:\n  type: temporal\n  rules: [1111-aaaa, 2222-bbbb]\n"
	    "  group-by: [ip]\n  timespan: 10s\n  aliases:\n    ip:\n      1111-aaaa: a\n"
	    "      fail: b\n");
	names[0] = "fail";
	assert_int_equal(sigma_corr_resolve_aliases(c, names, ids, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yml:10: alias 'ip': rule 'fail' is given twice (by name and by id)");
	sigma_corr_free(c);
	free(s);
}

/* --- temporal_ordered ------------------------------------------------ */

/*
 * One event is one step: matching both rules it does not make a sequence
 * on its own, whatever order its two matches are fed in; after an earlier
 * match of the first rule it completes one, in either order.
 */
static void
test_ordered_one_event(void **state)
{
	for (int order = 0; order < 2; order++) {
		struct sigma_corr *c = parse_ok("title: t\ncorrelation: {type: temporal_ordered,"
		    " rules: [a, b], group-by: [user], timespan: 1m}\n");
		struct sink *s = calloc(1, sizeof(*s));

		(void)state;
		feed_serial = 7;
		feed(c, order ? 1 : 0, T0, s, NULL, "user", "u1", NULL);
		feed(c, order ? 0 : 1, T0, s, NULL, "user", "u1", NULL);
		assert_int_equal(s->n, 0);
		/* u2: a alone, then one event with both */
		feed_serial = 8;
		feed(c, 0, T0 + SEC, s, NULL, "user", "u2", NULL);
		feed_serial = 9;
		feed(c, order ? 1 : 0, T0 + 2 * SEC, s, NULL, "user", "u2", NULL);
		feed(c, order ? 0 : 1, T0 + 2 * SEC, s, NULL, "user", "u2", NULL);
		assert_int_equal(s->n, 1);
		assert_int_equal(s->a[0].first_ms, T0 + SEC);
		assert_int_equal(s->a[0].last_ms, T0 + 2 * SEC);
		feed_serial = 0;
		sigma_corr_free(c);
		free(s);
	}
}

static const char *ordered_yml =
    "title: t\n"
    "correlation:\n"
    "  type: temporal_ordered\n"
    "  rules: [a, b, c]\n"
    "  group-by: [user]\n"
    "  timespan: 1m\n";

static void
test_ordered(void **state)
{
	struct sigma_corr *c = parse_ok(ordered_yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	/* Wrong order: c, b, a – nothing. */
	feed(c, 2, T0, s, NULL, "user", "u", NULL);
	feed(c, 1, T0 + 1, s, NULL, "user", "u", NULL);
	feed(c, 0, T0 + 2, s, NULL, "user", "u", NULL);
	assert_int_equal(s->n, 0);
	/* b, c after that a: fires, starting at the a. */
	feed(c, 1, T0 + 3, s, NULL, "user", "u", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 2, T0 + 4, s, NULL, "user", "u", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 3);
	assert_int_equal(s->a[0].first_ms, T0 + 2);
	assert_int_equal(s->a[0].last_ms, T0 + 4);
	/* a, b, then c more than 1 min after a: nothing; a later a restarts. */
	feed(c, 0, T0 + 100 * SEC, s, NULL, "user", "u", NULL);
	feed(c, 1, T0 + 130 * SEC, s, NULL, "user", "u", NULL);
	feed(c, 2, T0 + 160 * SEC + 1, s, NULL, "user", "u", NULL);
	assert_int_equal(s->n, 1);
	/* Exactly 1 min from a to c: fires (inclusive). */
	feed(c, 0, T0 + 200 * SEC, s, NULL, "user", "u", NULL);
	feed(c, 1, T0 + 200 * SEC, s, NULL, "user", "u", NULL);	/* same ms: in order */
	feed(c, 2, T0 + 260 * SEC, s, NULL, "user", "u", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].last_ms - s->a[1].first_ms, 60 * SEC);
	/* Out of order arrival: b's time is before a's – never pairs. */
	feed(c, 0, T0 + 500 * SEC, s, NULL, "user", "v", NULL);
	feed(c, 1, T0 + 499 * SEC, s, NULL, "user", "v", NULL);
	feed(c, 2, T0 + 501 * SEC, s, NULL, "user", "v", NULL);
	assert_int_equal(s->n, 2);
	/* The latest a is kept: a, a (50 s later), b, c 30 s after the 2nd a. */
	feed(c, 0, T0 + 600 * SEC, s, NULL, "user", "w", NULL);
	feed(c, 0, T0 + 650 * SEC, s, NULL, "user", "w", NULL);
	feed(c, 1, T0 + 670 * SEC, s, NULL, "user", "w", NULL);
	feed(c, 2, T0 + 680 * SEC, s, NULL, "user", "w", NULL);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->a[2].first_ms, T0 + 650 * SEC);
	sigma_corr_free(c);
	free(s);
}

/*
 * Success after failures: an event_count correlation (8 failures in 2 min
 * per source) chained into temporal_ordered [failures, ssh_success] per
 * source within 10 min – the set feeds a correlation's alert as a match
 * with the alert's last event.
 */
static void
test_success_after_failures(void **state)
{
	char err[256] = "";
	const char *yml =
	    "title: SSH success after brute force\n"
	    "level: critical\n"
	    "correlation:\n"
	    "  type: temporal_ordered\n"
	    "  rules: [many_failures_correlation, ssh_success]\n"
	    "  group-by: [src_ip]\n"
	    "  timespan: 10m\n"
	    "---\n"
	    "title: Many failures\n"
	    "name: many_failures_correlation\n"
	    "correlation:\n"
	    "  type: event_count\n"
	    "  rules: [ssh_failed]\n"
	    "  group-by: [src_ip]\n"
	    "  timespan: 2m\n"
	    "  condition: {gte: 8}\n";
	struct sigma_corr *top = parse_doc(yml, 0, err, sizeof(err));
	struct sigma_corr *fails = parse_doc(yml, 1, err, sizeof(err));
	struct sink *sf = calloc(1, sizeof(*sf)), *st = calloc(1, sizeof(*st));

	(void)state;
	assert_non_null(top);
	assert_non_null(fails);
	assert_string_equal(sigma_corr_name(fails), "many_failures_correlation");
	sf->chain = top;
	sf->chain_ref = 0;
	sf->chain_sink = st;
	/* A success before any failures: nothing. */
	feed(top, 1, T0, st, NULL, "src_ip", "203.0.113.5", "user", "root", NULL);
	for (int i = 0; i < 8; i++)
		feed(fails, 0, T0 + (10 + i) * SEC, sf, NULL, "src_ip", "203.0.113.5", NULL);
	assert_int_equal(sf->n, 1);
	assert_int_equal(st->n, 0);
	/* Success from another source: nothing. */
	feed(top, 1, T0 + 60 * SEC, st, NULL, "src_ip", "198.51.100.1", NULL);
	assert_int_equal(st->n, 0);
	feed(top, 1, T0 + 5 * 60 * SEC, st, "Accepted password for root from 203.0.113.5",
	    "src_ip", "203.0.113.5", NULL);
	assert_int_equal(st->n, 1);
	assert_int_equal(st->a[0].first_ms, T0 + 17 * SEC);
	assert_int_equal(st->a[0].last_ms, T0 + 300 * SEC);
	assert_string_equal(st->a[0].gval[0], "203.0.113.5");
	assert_string_equal(st->a[0].samples[st->a[0].nsamples - 1],
	    "Accepted password for root from 203.0.113.5");
	sigma_corr_free(top);
	sigma_corr_free(fails);
	free(sf);
	free(st);
}

/* --- bounds ---------------------------------------------------------- */

/* A small group cap: LRU eviction, counted, never a crash; LRU order kept. */
static void
test_eviction(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sink *s = calloc(1, sizeof(*s));
	char ip[32];

	(void)state;
	sigma_corr_set_max_groups(c, 4);
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		feed(c, 0, T0 + i, s, NULL, "src_ip", ip, NULL);
		assert_true(sigma_corr_groups(c) <= 4);
	}
	assert_int_equal(sigma_corr_groups(c), 4);
	assert_int_equal(sigma_corr_evicted(c), 96);
	/* The attacker that keeps going stays most recent and still fires. */
	for (int i = 0; i < 8; i++) {
		feed(c, 0, T0 + 1000 + i, s, NULL, "src_ip", "attacker", NULL);
		snprintf(ip, sizeof(ip), "noise%d", i);
		feed(c, 0, T0 + 1000 + i, s, NULL, "src_ip", ip, NULL);
	}
	assert_int_equal(s->n, 1);
	assert_string_equal(s->a[0].gval[0], "attacker");
	/* A cap of 0 is taken as 1. */
	sigma_corr_set_max_groups(c, 0);
	feed(c, 0, T0 + 2000, s, NULL, "src_ip", "y", NULL);
	assert_int_equal(sigma_corr_groups(c), 1);
	sigma_corr_free(c);
	free(s);
}

/*
 * Evictions of groups that own heap blocks (a grown ring, a grown value set
 * with long values, sample lines): the evicted group's sample buffer goes
 * to the group made in its place (group_get). A stream of new sources
 * under a cap of 8, each source fed enough to grow its blocks, while one
 * source keeps going: counts, evictions and the alert with its samples
 * are as without a cap for that source (ASan and LeakSanitizer check the
 * blocks' use and release).
 */
static void
test_eviction_heap_victims(void **state)
{
	static const char *ymls[] = {
		"title: t\ncorrelation: {type: event_count, rules: [a], group-by: [src_ip],"
		" timespan: 1h, condition: {gte: 40}}\n",
		"title: t\ncorrelation: {type: value_count, rules: [a], group-by: [src_ip],"
		" timespan: 1h, condition: {field: user, gte: 40}}\n",
	};
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	for (size_t y = 0; y < MS_ARRAY_LEN(ymls); y++) {
		struct sigma_corr *c = parse_ok(ymls[y]);
		int64_t t = T0;
		int fed = 0;

		sigma_corr_set_max_groups(c, 8);
		s->n = 0;
		for (int i = 0; i < 400; i++) {
			char ip[32], user[96], line[128];

			snprintf(ip, sizeof(ip), "198.51.%d.%d", i / 256, i % 256);
			/* 12 events: past the ring's and the value set's inline slots */
			for (int k = 0; k < 12; k++) {
				snprintf(user, sizeof(user), "a-user-name-long-enough-for-the-heap-%d-%d", i, k);
				snprintf(line, sizeof(line), "scan from %s number %d", ip, k);
				feed(c, 0, t++, s, line, "src_ip", ip, "user", user, NULL);
			}
			/*
			 * the attacker, every 5th source (so it stays among the 8
			 * most recent): 40 events, then it is left to be evicted
			 */
			if (i % 5 == 0 && fed < 40) {
				snprintf(user, sizeof(user), "a-user-name-long-enough-for-the-heap-x-%d", fed);
				snprintf(line, sizeof(line), "attack %d", fed);
				feed(c, 0, t++, s, line, "src_ip", "203.0.113.9", "user", user, NULL);
				fed++;
			}
			assert_true(sigma_corr_groups(c) <= 8);
		}
		/* 400 sources and the attacker, each made once, 8 kept */
		assert_int_equal(sigma_corr_evicted(c), 401 - 8);
		assert_int_equal(s->n, 1);
		assert_string_equal(s->a[0].gval[0], "203.0.113.9");
		assert_int_equal(s->a[0].count, 40);
		assert_int_equal(s->a[0].nsamples, SIGMA_CORR_MAX_SAMPLES);
		assert_string_equal(s->a[0].samples[0], "attack 0");
		/*
		 * A group made at the cap takes the evicted group's sample
		 * buffer, full of that group's lines: its alert shows its own.
		 */
		for (int k = 0; k < 40; k++) {
			char user[96], line[64];

			snprintf(user, sizeof(user), "a-user-name-long-enough-for-the-heap-late-%d", k);
			snprintf(line, sizeof(line), "late %d", k);
			feed(c, 0, t++, s, line, "src_ip", "192.0.2.77", "user", user, NULL);
		}
		assert_int_equal(sigma_corr_evicted(c), 401 - 8 + 1);
		assert_int_equal(s->n, 2);
		assert_string_equal(s->a[1].gval[0], "192.0.2.77");
		assert_int_equal(s->a[1].count, 40);
		assert_int_equal(s->a[1].nsamples, SIGMA_CORR_MAX_SAMPLES);
		assert_string_equal(s->a[1].samples[0], "late 0");
		assert_string_equal(s->a[1].samples[1], "late 1");
		assert_string_equal(s->a[1].samples[2], "late 2");
		sigma_corr_free(c);
	}
	free(s);
}

/* Every type under a tiny cap and a pseudo-random stream: no crash, no leak. */
static void
test_random_stream(void **state)
{
	static const char *ymls[] = {
		"title: t\ncorrelation: {type: event_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {gte: 4}}\n",
		"title: t\ncorrelation: {type: event_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {lte: 3}}\n",
		"title: t\ncorrelation: {type: value_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {field: v, gt: 3}}\n",
		"title: t\ncorrelation: {type: value_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {field: v, neq: 2}}\n",
		"title: t\ncorrelation: {type: temporal, rules: [a, b], group-by: [k],"
		" timespan: 5s}\n",
		"title: t\ncorrelation: {type: temporal_ordered, rules: [a, b], group-by: [k],"
		" timespan: 5s}\n",
	};
	struct sink *s = calloc(1, sizeof(*s));
	uint32_t x = 12345;
	int64_t t;

	(void)state;
	for (size_t y = 0; y < MS_ARRAY_LEN(ymls); y++) {
		struct sigma_corr *c = parse_ok(ymls[y]);
		uint64_t fired = 0;

		sigma_corr_set_max_groups(c, 3);
		/* dense (100 ms apart) then sparse (2 s apart) so every condition can hold */
		t = T0;
		for (int i = 0; i < 5000; i++) {
			char k[8], v[8];

			x = x * 1103515245u + 12345u;
			snprintf(k, sizeof(k), "k%u", (x >> 8) % 5);
			snprintf(v, sizeof(v), "v%u", (x >> 12) % 7);
			/* times jitter up to 3 s backwards */
			t += i < 2500 ? 100 : 2000;
			feed(c, (x >> 16) % 2, t - (int64_t)((x >> 20) % 3000), s, NULL,
			    "k", k, "v", v, NULL);
			fired += s->n;
			s->n = 0;
		}
		assert_true(sigma_corr_groups(c) <= 3);
		assert_true(sigma_corr_evicted(c) > 0);
		if (fired == 0)
			fail_msg("%s: never fired", ymls[y]);
		sigma_corr_free(c);
	}
	free(s);
}

/* Feeding the same correlation from inside its emit is ignored. */
static void
test_reentrant_emit(void **state)
{
	struct sigma_corr *c = parse_ok("title: t\ncorrelation: {type: event_count,"
	    " rules: [r], timespan: 1m, condition: {gte: 1}}\n");
	struct sink *s = calloc(1, sizeof(*s));
	struct sigma_event ev;

	(void)state;
	s->reenter = c;
	feed(c, 0, T0, s, NULL, NULL);
	feed(c, 0, T0 + 1, s, NULL, NULL);
	assert_int_equal(s->n, 2);
	/* Events without decoded fields and without a line are fine too. */
	memset(&ev, 0, sizeof(ev));
	ev.time_ms = T0 + 2;
	sigma_corr_feed(c, 0, &ev, emit_cb, s);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->a[2].nsamples, 0);
	/* A NULL emit just updates state. */
	sigma_corr_feed(c, 0, &ev, NULL, NULL);
	sigma_corr_free(c);
	free(s);
}

/* Group-by on an event with no decoded fields: not counted. */
static void
test_no_fields(void **state)
{
	struct sigma_corr *c = parse_ok(bruteforce_yml);
	struct sigma_corr *v = parse_ok(spraying_yml);
	struct sink *s = calloc(1, sizeof(*s));
	struct sigma_event ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.time_ms = T0;
	for (int i = 0; i < 10; i++) {
		sigma_corr_feed(c, 0, &ev, emit_cb, s);
		sigma_corr_feed(v, 0, &ev, emit_cb, s);
	}
	assert_int_equal(s->n, 0);
	assert_int_equal(sigma_corr_groups(c), 0);
	assert_int_equal(sigma_corr_groups(v), 0);
	sigma_corr_free(c);
	sigma_corr_free(v);
	free(s);
}


/*
 * Samples kept across out-of-order events: a sample in the middle of the
 * kept ones leaves the window first, the others keep their exact text and
 * order (lines of different lengths, one cut at SIGMA_CORR_SAMPLE_MAX).
 */
static void
test_samples_out_of_order(void **state)
{
	static const char *yml =
	    "title: t\ncorrelation: {type: event_count, rules: [r], group-by: [k],"
	    " timespan: 10s, condition: {gte: 4}}\n";
	struct sigma_corr *c = parse_ok(yml);
	struct sink *s = calloc(1, sizeof(*s));
	char big[700];

	(void)state;
	memset(big, 'L', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	feed(c, 0, T0 + 5 * SEC, s, "first line, at 5 s", "k", "g", NULL);
	feed(c, 0, T0, s, "B", "k", "g", NULL);		/* late, still in [-5 s, 5 s] */
	feed(c, 0, T0 + 6 * SEC, s, big, "k", "g", NULL);
	assert_int_equal(s->n, 0);
	/* At 12 s the window is [2 s, 12 s]: B leaves, the line at 12 s is the 3rd sample. */
	feed(c, 0, T0 + 12 * SEC, s, "third kept, at 12 s", "k", "g", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 13 * SEC, s, "not a sample (three held)", "k", "g", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 4);
	assert_int_equal(s->a[0].first_ms, T0 + 5 * SEC);
	assert_int_equal(s->a[0].nsamples, 3);
	assert_string_equal(s->a[0].samples[0], "first line, at 5 s");
	assert_int_equal(strlen(s->a[0].samples[1]), SIGMA_CORR_SAMPLE_MAX);
	assert_int_equal(s->a[0].samples[1][0], 'L');
	assert_string_equal(s->a[0].samples[2], "third kept, at 12 s");

	/* After the reset the next window starts with fresh samples. */
	for (int i = 0; i < 4; i++) {
		snprintf(big, sizeof(big), "after %d", i);
		feed(c, 0, T0 + (20 + i) * SEC, s, big, "k", "g", NULL);
	}
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].nsamples, 3);
	assert_string_equal(s->a[1].samples[0], "after 0");
	assert_string_equal(s->a[1].samples[2], "after 2");
	sigma_corr_free(c);
	free(s);
}

/*
 * A value set past the slots kept in the group, with values long enough
 * to be stored apart, some expiring: the alert lists the right values.
 */
static void
test_value_count_many_long(void **state)
{
	static const char *yml =
	    "title: t\ncorrelation: {type: value_count, rules: [r], group-by: [k],"
	    " timespan: 1m, condition: {field: v, gte: 6}}\n";
	struct sigma_corr *c = parse_ok(yml);
	struct sink *s = calloc(1, sizeof(*s));
	char v[128], want[128];

	(void)state;
	/* v0 .. v3 at 0 s (two long, two short), v0 again at 50 s */
	for (int i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), i % 2 ? "/a/rather/long/path/name/that/is/stored/apart/%d" : "v%d", i);
		feed(c, 0, T0, s, NULL, "k", "g", "v", v, NULL);
	}
	feed(c, 0, T0 + 50 * SEC, s, NULL, "k", "g", "v", "v0", NULL);
	/* At 61 s, v1 .. v3 have left; v0 (50 s) is in: v0 + 4 new = 5, then a 6th fires. */
	for (int i = 4; i < 9; i++) {
		snprintf(v, sizeof(v), i % 2 ? "/a/rather/long/path/name/that/is/stored/apart/%d" : "v%d", i);
		feed(c, 0, T0 + 61 * SEC, s, NULL, "k", "g", "v", v, NULL);
		assert_int_equal(s->n, i < 8 ? 0 : 1);
	}
	assert_int_equal(s->a[0].count, 6);
	assert_int_equal(s->a[0].nvalues, 6);
	assert_int_equal(s->a[0].first_ms, T0 + 50 * SEC);
	assert_string_equal(s->a[0].values[0], "v0");
	for (int i = 4; i < 9; i++) {
		snprintf(want, sizeof(want), i % 2 ? "/a/rather/long/path/name/that/is/stored/apart/%d" : "v%d", i);
		assert_string_equal(s->a[0].values[i - 3], want);
	}
	/* One value after the reset (the set goes back into the group), then six again. */
	feed(c, 0, T0 + 200 * SEC, s, NULL, "k", "g", "v", "lonely", NULL);
	for (int i = 0; i < 6; i++) {
		snprintf(v, sizeof(v), i % 2 ? "/a/rather/long/path/name/that/is/stored/apart/%d" : "w%d", i);
		feed(c, 0, T0 + (300 + i) * SEC, s, NULL, "k", "g", "v", v, NULL);
	}
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].count, 6);
	assert_int_equal(s->a[1].first_ms, T0 + 300 * SEC);
	assert_string_equal(s->a[1].values[0], "w0");
	assert_string_equal(s->a[1].values[5], "/a/rather/long/path/name/that/is/stored/apart/5");
	sigma_corr_free(c);
	free(s);
}

/*
 * Values longer than SIGMA_CORR_VALUE_MAX that differ only past the cut
 * are still distinct values and distinct groups: a scanner that pads its
 * paths with 256 bytes of "/." (the server serves the same files) was one
 * distinct cs-uri-stem to web_dir_bruteforce, however many it tried.
 */
static void
test_value_count_long_values(void **state)
{
	struct sigma_corr *c = parse_ok("title: t\n"
	    "correlation: {type: value_count, rules: [r], group-by: [ip], timespan: 1m,"
	    " condition: {field: uri, gte: 3}}\n");
	struct sigma_corr *g = parse_ok("title: t\n"
	    "correlation: {type: event_count, rules: [r], group-by: [ua], timespan: 1m,"
	    " condition: {gte: 2}}\n");
	struct sink *s = calloc(1, sizeof(*s));
	char v[3][300];

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(v[i], '/', sizeof(v[i]));
		v[i][sizeof(v[i]) - 1] = '\0';
		v[i][290] = (char)('a' + i);
	}
	for (int i = 0; i < 3; i++)
		feed(c, 0, T0 + i * SEC, s, NULL, "ip", "192.0.2.1", "uri", v[i], NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 3);
	assert_int_equal(s->a[0].nvalues, 3);
	/* The alert shows each value's first SIGMA_CORR_VALUE_MAX bytes. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(strlen(s->a[0].values[i]), SIGMA_CORR_VALUE_MAX);
	/* The same long value twice is one value; a short one is another. */
	feed(c, 0, T0 + 10 * SEC, s, NULL, "ip", "192.0.2.1", "uri", v[0], NULL);
	feed(c, 0, T0 + 11 * SEC, s, NULL, "ip", "192.0.2.1", "uri", v[0], NULL);
	feed(c, 0, T0 + 12 * SEC, s, NULL, "ip", "192.0.2.1", "uri", "/", NULL);
	assert_int_equal(s->n, 1);
	feed(c, 0, T0 + 13 * SEC, s, NULL, "ip", "192.0.2.1", "uri", v[1], NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].count, 3);
	/* Group-by values that differ past the cut are two groups. */
	feed(g, 0, T0, s, NULL, "ua", v[0], NULL);
	feed(g, 0, T0 + 1, s, NULL, "ua", v[1], NULL);
	assert_int_equal(sigma_corr_groups(g), 2);
	assert_int_equal(s->n, 2);
	feed(g, 0, T0 + 2, s, NULL, "ua", v[1], NULL);
	assert_int_equal(s->n, 3);
	assert_int_equal(strlen(s->a[2].gval[0]), SIGMA_CORR_VALUE_MAX);
	sigma_corr_free(c);
	sigma_corr_free(g);
	free(s);
}

/*
 * One event of a spray (test_memory_cap*): source g (an IPv6 address), its
 * k-th path padded to 300 bytes, a 400-byte line, at time t.
 */
static void
spray_feed(struct sigma_corr *c, struct sink *s, int64_t t, int g, int k)
{
	char line[401], uri[301], ip[64];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	snprintf(ip, sizeof(ip), "2001:db8::%x", g);
	memset(uri, '/', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	snprintf(uri + 280, sizeof(uri) - 280, "%05d_%02d", g, k);
	feed(c, 0, t, s, line, "ip", ip, "uri", uri, NULL);
}

/*
 * Spraying a value_count with long values from many sources (IPv6, padded
 * paths) holds no more than the correlation's bytes (rules.max_memory_mb's
 * share): without the cap 3,000 groups of 20 values of 300 bytes take
 * over 16 MiB; with a cap of 4 MiB the oldest groups go and the newest
 * still fire. The running count matches the groups' own, through growth,
 * pruning, firing and eviction.
 */
static void
test_memory_cap(void **state)
{
	static const char *yml =
	    "title: t\ncorrelation: {type: value_count, rules: [r], group-by: [ip],"
	    " timespan: 1m, condition: {field: uri, gte: 20}}\n";
	struct sigma_corr *c = parse_ok(yml), *open = parse_ok(yml);
	struct sink *s = calloc(1, sizeof(*s)), *so = calloc(1, sizeof(*so));
	char ip[64];
	size_t cap = (size_t)4 << 20;

	(void)state;
	sigma_corr_set_max_bytes(c, cap);
	for (int g = 0; g < 3000; g++) {
		for (int k = 0; k < 20; k++) {
			/* the 19 first of each group; the 20th only for the last groups */
			if (k == 19 && g < 2990)
				continue;
			spray_feed(c, s, T0 + g, g, k);
			spray_feed(open, so, T0 + g, g, k);
		}
		if (g % 500 == 0)
			assert_int_equal(sigma_corr_bytes(c), sigma_corr_bytes_counted(c));
	}
	/* Not a cap on nothing: uncapped, the spray holds far more. */
	assert_true(sigma_corr_bytes(open) > (size_t)16 << 20);
	assert_int_equal(sigma_corr_evicted(open), 0);
	assert_int_equal(sigma_corr_bytes(open), sigma_corr_bytes_counted(open));
	/* Capped: within the cap and one event's growth of one group. */
	assert_true(sigma_corr_bytes(c) <= cap + 8192);
	assert_true(sigma_corr_evicted(c) > 0);
	assert_true(sigma_corr_groups(c) < 3000);
	assert_int_equal(sigma_corr_bytes(c), sigma_corr_bytes_counted(c));
	/* The newest groups still fire (the last ten got their 20th path). */
	assert_int_equal(s->n, 10);
	assert_int_equal(so->n, 10);
	/* A window moved on (values pruned, rings and sets back in the group). */
	for (int g = 0; g < 200; g++) {
		snprintf(ip, sizeof(ip), "2001:db8::%x", 2999 - g);
		feed(c, 0, T0 + 10 * 60 * SEC, s, "short", "ip", ip, "uri", "/", NULL);
	}
	assert_int_equal(sigma_corr_bytes(c), sigma_corr_bytes_counted(c));
	assert_int_equal(sigma_corr_reset(c), 0);
	assert_int_equal(sigma_corr_bytes(c), 0);
	sigma_corr_free(c);
	sigma_corr_free(open);
	free(s);
	free(so);
}

/*
 * The cap holds however the groups grow: made small first (one path each,
 * well under the cap), then grown one value per group in turn – no new
 * group after the first round, so nothing was ever evicted and the groups
 * held several times the cap.
 */
static void
test_memory_cap_grown(void **state)
{
	static const char *yml =
	    "title: t\ncorrelation: {type: value_count, rules: [r], group-by: [ip],"
	    " timespan: 1h, condition: {field: uri, gte: 20}}\n";
	struct sigma_corr *c = parse_ok(yml);
	struct sink *s = calloc(1, sizeof(*s));
	size_t cap = (size_t)4 << 20;

	(void)state;
	sigma_corr_set_max_bytes(c, cap);
	for (int k = 0; k < 19; k++) {
		for (int g = 0; g < 2000; g++)
			spray_feed(c, s, T0 + k * SEC, g, k);
		assert_int_equal(sigma_corr_bytes(c), sigma_corr_bytes_counted(c));
		if (sigma_corr_bytes(c) > cap + 8192)
			fail_msg("round %d: %zu bytes over a cap of %zu", k, sigma_corr_bytes(c), cap);
	}
	assert_int_equal(s->n, 0);
	sigma_corr_free(c);
	free(s);
}

/*
 * The running count equals a walk of the groups after every feed, for
 * every type, live and at close, with long lines and values, times
 * jittering backwards, both caps evicting, and a reset midway.
 */
static void
test_bytes_exact_random(void **state)
{
	static const char *ymls[] = {
		"title: t\ncorrelation: {type: event_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {gte: 30}}\n",
		"title: t\ncorrelation: {type: event_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {lte: 3}}\n",
		"title: t\ncorrelation: {type: value_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {field: v, gt: 12}}\n",
		"title: t\ncorrelation: {type: value_count, rules: [a, b], group-by: [k],"
		" timespan: 5s, condition: {field: v, lt: 9}}\n",
		"title: t\ncorrelation: {type: temporal, rules: [a, b], group-by: [k],"
		" timespan: 5s}\n",
		"title: t\ncorrelation: {type: temporal_ordered, rules: [a, b], group-by: [k],"
		" timespan: 5s}\n",
	};
	struct sink *s = calloc(1, sizeof(*s));
	static char line[700], v[400], k[300];
	uint32_t x = 4242;

	(void)state;
	for (size_t y = 0; y < MS_ARRAY_LEN(ymls); y++) {
		struct sigma_corr *c = parse_ok(ymls[y]);
		int64_t t = T0;

		sigma_corr_set_max_groups(c, 40);
		sigma_corr_set_max_bytes(c, 64 * 1024);
		for (int i = 0; i < 6000; i++) {
			size_t ll, vl, kl;

			x = x * 1103515245u + 12345u;
			ll = 1 + (x >> 4) % (sizeof(line) - 1);
			vl = 1 + (x >> 9) % (sizeof(v) - 1);
			kl = 1 + (x >> 14) % 3 * 140;
			memset(line, 'l', ll);
			line[ll] = '\0';
			memset(v, 'v', vl);
			snprintf(v + vl - (vl > 4 ? 4 : vl), 5, "%u", (x >> 20) % 10);
			v[vl] = '\0';
			memset(k, 'k', kl);
			snprintf(k + kl - (kl > 3 ? 3 : kl), 4, "%u", (x >> 7) % 97);
			k[kl] = '\0';
			t += i < 3000 ? 20 : 700;
			feed(c, (x >> 16) % 2, t - (int64_t)((x >> 22) % 3000), s, line,
			    "k", k, "v", v, NULL);
			s->n = 0;
			if (sigma_corr_bytes(c) != sigma_corr_bytes_counted(c))
				fail_msg("%s: feed %d: running %zu, walked %zu", ymls[y], i,
				    sigma_corr_bytes(c), sigma_corr_bytes_counted(c));
			if (i == 4000) {
				if (sigma_corr_evicted(c) == 0 && !sigma_corr_at_close(c))
					fail_msg("%s: nothing evicted", ymls[y]);
				assert_int_equal(sigma_corr_reset(c), 0);
				assert_int_equal(sigma_corr_bytes(c), 0);
			}
		}
		sigma_corr_free(c);
	}
	free(s);
}

/* event_count above the ring slots kept in the group: the ring grows, counts stay exact. */
static void
test_event_count_large_ring(void **state)
{
	static const char *yml =
	    "title: t\ncorrelation: {type: event_count, rules: [r], group-by: [k],"
	    " timespan: 100s, condition: {gte: 50}}\n";
	struct sigma_corr *c = parse_ok(yml);
	struct sink *s = calloc(1, sizeof(*s));

	(void)state;
	/* 49 events at 0..48 s, out of order in pairs; then 20 s of nothing in window terms */
	for (int i = 0; i < 49; i++)
		feed(c, 0, T0 + (i ^ 1) * SEC, s, NULL, "k", "g", NULL);
	assert_int_equal(s->n, 0);
	/* At 101 s, 0 s leaves the window ([1 s, 101 s]): 48 + 1 = 49, no alert. */
	feed(c, 0, T0 + 101 * SEC, s, NULL, "k", "g", NULL);
	assert_int_equal(s->n, 0);
	feed(c, 0, T0 + 101 * SEC, s, NULL, "k", "g", NULL);
	assert_int_equal(s->n, 1);
	assert_int_equal(s->a[0].count, 50);
	assert_int_equal(s->a[0].first_ms, T0 + 1 * SEC);
	assert_int_equal(s->a[0].last_ms, T0 + 101 * SEC);
	/* Few events after the reset (the ring goes back into the group), then many again. */
	for (int i = 0; i < 3; i++)
		feed(c, 0, T0 + (300 + i) * SEC, s, NULL, "k", "g", NULL);
	for (int i = 0; i < 46; i++)
		feed(c, 0, T0 + (410 + i) * SEC, s, NULL, "k", "g", NULL);
	assert_int_equal(s->n, 1);	/* the three at 300 s are out of [355 s, 455 s] */
	for (int i = 0; i < 4; i++)
		feed(c, 0, T0 + (456 + i) * SEC, s, NULL, "k", "g", NULL);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->a[1].count, 50);
	assert_int_equal(s->a[1].first_ms, T0 + 410 * SEC);
	assert_int_equal(s->a[1].last_ms, T0 + 459 * SEC);
	sigma_corr_free(c);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_error_small_buffer),
		cmocka_unit_test(test_bruteforce),
		cmocka_unit_test(test_event_count_flood),
		cmocka_unit_test(test_event_count_boundary),
		cmocka_unit_test(test_samples_out_of_order),
		cmocka_unit_test(test_value_count_many_long),
		cmocka_unit_test(test_value_count_long_values),
		cmocka_unit_test(test_memory_cap),
		cmocka_unit_test(test_memory_cap_grown),
		cmocka_unit_test(test_bytes_exact_random),
		cmocka_unit_test(test_event_count_large_ring),
		cmocka_unit_test(test_event_count_groups),
		cmocka_unit_test(test_event_count_multi_group),
		cmocka_unit_test(test_event_count_gt_eq),
		cmocka_unit_test(test_event_count_out_of_order),
		cmocka_unit_test(test_event_count_extreme_times),
		cmocka_unit_test(test_event_count_at_close),
		cmocka_unit_test(test_at_close_future_group),
		cmocka_unit_test(test_at_close_quiet_budget),
		cmocka_unit_test(test_at_close_cap),
		cmocka_unit_test(test_event_count_neq_range),
		cmocka_unit_test(test_spraying),
		cmocka_unit_test(test_value_count_window),
		cmocka_unit_test(test_value_count_at_close),
		cmocka_unit_test(test_temporal),
		cmocka_unit_test(test_temporal_two_of_three),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_aliases_by_name),
		cmocka_unit_test(test_ordered),
		cmocka_unit_test(test_ordered_one_event),
		cmocka_unit_test(test_success_after_failures),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_eviction_heap_victims),
		cmocka_unit_test(test_random_stream),
		cmocka_unit_test(test_reentrant_emit),
		cmocka_unit_test(test_no_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
