/*
 * Allocation failures injected into the parsers of untrusted or operator
 * input: YAML (configs, rules), Sigma detection rules with every modifier
 * kind, Sigma correlations, the register of information systems, a
 * framework profile, the JSON reader (alerts and incidents read back from
 * Redis by minisoc-forward and minisocctl). Every allocation
 * our code makes goes through malloc/calloc/realloc, which this binary
 * wraps (-Wl,--wrap): run k makes the k-th allocation fail. Each parser
 * must then fail cleanly (an error, never a crash) or succeed anyway, and
 * free what it took: AddressSanitizer and LeakSanitizer watch every run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode.h"
#include "detect.h"
#include "ms_compliance.h"
#include "ms_jsonr.h"
#include "ms_register.h"
#include "ms_yaml.h"
#include "sigma/sigma.h"
#include "sigma/sigma_set.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t sz);
void *__wrap_realloc(void *p, size_t n);

static long fail_at = -1;	/* the allocation (0-based) that fails; -1 none */
static long allocs;		/* allocations since the counter was reset */

static bool
fail_now(void)
{
	return fail_at >= 0 && allocs++ == fail_at;
}

void *
__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t sz)
{
	return fail_now() ? NULL : __real_calloc(n, sz);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

static const char rule_yaml[] =
	"title: Allocation test rule\n"
	"id: 1f2e3d4c-0000-4000-8000-000000000001\n"
	"status: test\n"
	"logsource:\n  product: linux\n  service: auth\n"
	"tags: [attack.t1110, attack.credential_access]\n"
	"detection:\n"
	"  sel_msg:\n"
	"    - 'Failed password'\n"
	"    - 'Invalid user'\n"
	"  sel_fields:\n"
	"    user|contains|all: ['ro', 'ot']\n"
	"    src_ip|cidr: ['10.0.0.0/8', '2001:db8::/32']\n"
	"    program|re|i: '^ssh(d)?$'\n"
	"    cmd|base64offset|contains: 'whoami'\n"
	"    cmdline|windash: '-enc'\n"
	"    payload|utf16le|base64: 'cmd'\n"
	"    port|gte: 1024\n"
	"    host|endswith: '.local'\n"
	"  filter_x:\n"
	"    user: null\n"
	"  condition: (1 of sel_* and not filter_x) or all of them\n"
	"level: high\n";

static const char corr_yaml[] =
	"title: Allocation test correlation\n"
	"name: alloc_corr\n"
	"correlation:\n"
	"  type: value_count\n"
	"  rules: [alloc_base, other_rule]\n"
	"  group-by: [ip, host]\n"
	"  timespan: 5m\n"
	"  aliases:\n"
	"    ip:\n      alloc_base: src_ip\n      other_rule: source.ip\n"
	"  condition:\n    gte: 5\n    field: user\n"
	"level: high\n";

/* Parses yaml and hands its first document to parse; true when it all worked. */
typedef bool (*parse_fn)(const struct ms_yaml_node *doc);

static bool
parse_yaml_then(const char *yaml, parse_fn parse)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char err[512];
	bool ok;

	if (ms_yaml_parse(yaml, strlen(yaml), &docs, &ndocs, err, sizeof(err)) < 0)
		return false;
	ok = ndocs == 1 && (parse == NULL || parse(docs[0]));
	ms_yaml_docs_free(docs, ndocs);
	return ok;
}

static bool
parse_rule(const struct ms_yaml_node *doc)
{
	char err[512];
	struct sigma_rule *r = sigma_rule_parse(doc, "alloc.yml", NULL, NULL, err, sizeof(err));

	sigma_rule_free(r);
	return r != NULL;
}

static bool
parse_corr(const struct ms_yaml_node *doc)
{
	char err[512];
	struct sigma_corr *c = sigma_corr_parse(doc, "alloc.yml", err, sizeof(err));

	sigma_corr_free(c);
	return c != NULL;
}

/*
 * Runs run() with the k-th allocation failing, for k = 0, 1, … until a run
 * makes fewer allocations than k (nothing failed): that run must succeed.
 * Returns how many allocation points were exercised.
 */
static long
each_failure_run(bool (*run)(void))
{
	long k, refused = 0;

	for (k = 0;; k++) {
		bool ok;

		allocs = 0;
		fail_at = k;
		ok = run();
		fail_at = -1;
		if (allocs <= k) {
			assert_true(ok);	/* nothing failed: it must work */
			break;
		}
		/* Something failed: ok or not, no crash and no leak (ASan/LSan). */
		refused += !ok;
	}
	/* The failures were seen: most of them make the parse give up. */
	assert_true(refused > k / 2);
	print_message("%ld allocation points, %ld runs refused cleanly\n", k, refused);
	return k;
}

static const char *cur_yaml;
static parse_fn cur_parse;

static bool
run_yaml(void)
{
	return parse_yaml_then(cur_yaml, cur_parse);
}

static long
each_failure(const char *yaml, parse_fn parse)
{
	cur_yaml = yaml;
	cur_parse = parse;
	return each_failure_run(run_yaml);
}

/* One system with every kind of field (as in deploy/examples/register.yml). */
static const char register_yaml[] =
	"province: \"T\xe1\xbb\x89nh th\xe1\xbb\xad\"\n"
	"sensors: [dc-sensor-01]\n"
	"systems:\n"
	"  - id: SYS-001\n"
	"    name: \"C\xe1\xbb\x95ng th\xc3\xb4ng tin\"\n"
	"    type: citizen-facing\n"
	"    info_classes: [public, personal]\n"
	"    users: 120000\n"
	"    national_population_db: false\n"
	"    owner: \"VP UBND\"\n"
	"    security_unit: \"ATTT\"\n"
	"    operator: \"TT CDS\"\n"
	"    contact: \"a@b.example\"\n"
	"    framework: old\n"
	"    level: 3\n"
	"    dossier: approved\n"
	"    decision: {number: \"1017/QD\", date: 2024-02-02}\n"
	"    plan: {approved: true, implementation: full, target: 2025-12-31}\n"
	"    assessment: {last: 2026-01-15, assessor: \"X\", pentest: 2026-01-20}\n"
	"    layers:\n"
	"      onsite: {status: active, evidence: \"QD 201\", valid_until: 2027-06-30}\n"
	"      monitoring: {status: active, evidence: \"minisoc\"}\n"
	"      inspection: {status: active, evidence: \"BB 40\", valid_until: 2027-03-31}\n"
	"      national: {status: active, evidence: \"NCSC\"}\n"
	"    attestations:\n"
	"      mfa-admin: {ref: \"BB 1\", valid_until: 2027-05-31}\n"
	"    assets:\n"
	"      - {host: web1, agent: web1}\n"
	"      - {host: db1, agent: db1}\n";

static bool
run_register(void)
{
	char err[1024];
	struct ms_register *r = ms_register_parse("alloc.yml", register_yaml, strlen(register_yaml),
	    err, sizeof(err));
	bool ok = r != NULL && r->n == 1 && ms_register_find_agent(r, "db1") == &r->systems[0];

	ms_register_free(r);
	return ok;
}

static const char profile_yaml[] =
	"id: new\n"
	"title: {vi: \"Khung m\xe1\xbb\x9bi\", en: \"New framework\"}\n"
	"legal: [\"Decree 331/2026\", \"TCVN 14423:2026\"]\n"
	"incidents: {report_hours: 120, serious_notice_hours: 24, serious_report_hours: 72}\n"
	"requirements:\n"
	"  - id: agent-reporting\n"
	"    title: {vi: \"A\", en: \"Agents report\"}\n"
	"    from_level: 1\n"
	"    kind: automatic\n"
	"    check: agent_reporting\n"
	"    hours: 24\n"
	"  - id: log-retention\n"
	"    title: {vi: \"B\", en: \"Retention\"}\n"
	"    from_level: 2\n"
	"    kind: automatic\n"
	"    check: retention\n"
	"    months: {2: 1, 3: 3, 4: 6, 5: 12}\n"
	"  - id: event-types\n"
	"    title: {vi: \"C\", en: \"Events\"}\n"
	"    from_level: 2\n"
	"    kind: automatic\n"
	"    check: events_seen\n"
	"    days: 7\n"
	"    categories: [login, config_change, error]\n"
	"  - id: mfa-admin\n"
	"    title: {vi: \"D\", en: \"MFA\"}\n"
	"    from_level: 1\n"
	"    kind: manual\n";

static bool
run_profile(void)
{
	char err[1024];
	struct ms_comp_profile *p = ms_comp_profile_parse("new.yml", profile_yaml,
	    strlen(profile_yaml), err, sizeof(err));
	bool ok = p != NULL && p->nreqs == 4;

	if (p == NULL && fail_at < 0)
		print_message("profile refused: %s\n", err);
	ms_comp_profile_free(p);
	return ok;
}

static const char alert_json[] =
	"{\"schema\":1,\"@timestamp\":\"2026-11-25T10:00:00.000Z\",\"event\":{\"id\":\"x\","
	"\"severity\":4},\"rule\":{\"id\":\"r1\",\"name\":\"n\",\"level\":\"high\","
	"\"tags\":[\"attack.t1110\",\"attack.credential_access\"]},\"source\":{\"ip\":"
	"\"203.0.113.5\"},\"user\":{\"name\":[\"root\",\"admin\"]},\"count\":8,"
	"\"samples\":[\"Nov 25 sshd[1]: Failed password for root \\\"x\\\" \\u00e9\"],"
	"\"system\":{\"id\":\"SYS-001\",\"level\":3},\"n\":[1.5e3,-2,true,false,null]}";

static bool
run_jsonr(void)
{
	char err[256];
	struct ms_jsonr *d = ms_jsonr_parse(alert_json, strlen(alert_json), 4096, err, sizeof(err));
	bool ok = d != NULL && ms_jv_path_str(ms_jsonr_root(d), "source.ip") != NULL;

	ms_jsonr_free(d);
	return ok;
}

/*
 * A rule set with a chain of correlations and a quiet twin, as a folder:
 * whatever allocation fails while it loads, the set either is refused, or
 * says what it lost (rejected or inert), or works – never counted whole
 * and missing a correlation. The lines are evaluated with no failure.
 */
static const char set_yaml[] =
	"title: SSH failure\nid: 00000000-0000-4000-8000-000000000001\nname: fail\n"
	"logsource: {product: linux, service: sshd}\n"
	"detection:\n  sel:\n    outcome: failure\n  condition: sel\nlevel: low\n"
	"---\ntitle: Two failures\nname: two\ncorrelation:\n  type: event_count\n"
	"  rules: [fail]\n  group-by: [src_ip]\n  timespan: 10s\n  condition: {gte: 2}\n"
	"---\ntitle: Two failures again\nname: two_again\ncorrelation:\n  type: event_count\n"
	"  rules: [fail]\n  group-by: [src_ip]\n  timespan: 10s\n  condition: {gte: 2}\n"
	"---\ntitle: Twice two\nname: twice\ncorrelation:\n  type: event_count\n"
	"  rules: [two_again]\n  group-by: [addr]\n  timespan: 5m\n  condition: {gte: 2}\n"
	"  aliases:\n    addr:\n      two_again: src_ip\n";
static char set_dir[] = "/tmp/minisoc-test-alloc-XXXXXX";

static void
count_alert(struct alert *a, void *arg)
{
	size_t *n = arg;

	n[strcmp(a->rule_id, "twice") == 0]++;
}

/* Four failures from one address: two pairs a minute apart. */
static const char *const set_lines[] = {
	"Nov 25 10:00:00 web1 sshd[1]: Failed password for root from 203.0.113.5 port 1 ssh2",
	"Nov 25 10:00:01 web1 sshd[1]: Failed password for root from 203.0.113.5 port 2 ssh2",
	"Nov 25 10:01:00 web1 sshd[1]: Failed password for root from 203.0.113.5 port 3 ssh2",
	"Nov 25 10:01:01 web1 sshd[1]: Failed password for root from 203.0.113.5 port 4 ssh2",
};

/*
 * Runs set_lines through a detector of set (which it takes and frees),
 * counting alerts in n (count_alert). With fail_first >= 0, that
 * allocation of the first line's evaluation fails. Returns the events the
 * set skipped (sigma_set_eval_skipped).
 */
static uint64_t
run_lines(struct sigma_set *set, long fail_first, size_t n[2])
{
	static struct decoded dec;	/* big: static */
	struct detector *det;
	struct decode_ctx ctx;
	uint64_t skipped;

	assert_non_null(det = sigma_detector_new(set));
	memset(&ctx, 0, sizeof(ctx));
	ctx.recv_ms = INT64_C(1764064800000);
	for (size_t i = 0; i < sizeof(set_lines) / sizeof(set_lines[0]); i++) {
		if (i == 0 && fail_first >= 0) {
			allocs = 0;
			fail_at = fail_first;
		}
		detect_line(&det, 1, &dec, &ctx, "agent", "host", ms_str_make("t", 1),
		    ms_str_make(set_lines[i], strlen(set_lines[i])), i + 1, count_alert, n);
		if (fail_first >= 0)
			fail_at = -1;
	}
	skipped = sigma_set_eval_skipped(set);
	detector_free(det);
	return skipped;
}

static bool
run_set(void)
{
	struct sigma_report rep;
	struct sigma_set *set;
	char err[256];
	size_t n[2] = { 0, 0 };
	long saved;
	bool whole;

	sigma_report_init(&rep);
	set = sigma_set_load(set_dir, NULL, &rep, err, sizeof(err));
	whole = set != NULL && rep.rules == 1 && rep.correlations == 3 && rep.rejected == 0 &&
	    rep.inert == 0;
	/* Not whole: refused, or what it lost is in the report – never a quiet gap. */
	if (set != NULL && !whole && rep.rejected == 0 && rep.inert == 0)
		fail_msg("allocation %ld failed: loaded with files=%zu rules=%zu correlations=%zu, "
		    "nothing rejected or inert", fail_at, rep.files, rep.rules, rep.correlations);
	sigma_report_fini(&rep);
	saved = fail_at;
	fail_at = -1;	/* the load is under test, not the evaluation */
	if (set != NULL) {
		run_lines(set, -1, n);
		/* two, then twice (two_again is its quiet twin) */
		if (whole && (n[0] != 2 || n[1] != 1))
			fail_msg("counted whole, but %zu alerts and %zu of 'twice' (2 and 1 wanted)",
			    n[0], n[1]);
	}
	fail_at = saved;
	return whole;
}

/* set_yaml as set_dir/set.yml, for the tests of a whole rule set. */
static int
set_dir_make(void **state)
{
	char path[200];
	FILE *f;

	(void)state;
	if (mkdtemp(set_dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/set.yml", set_dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (fputs(set_yaml, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
set_dir_remove(void **state)
{
	char path[200];

	(void)state;
	snprintf(path, sizeof(path), "%s/set.yml", set_dir);
	unlink(path);
	return rmdir(set_dir) == 0 ? 0 : -1;
}

static void
test_sigma_set(void **state)
{
	(void)state;
	assert_true(run_set());
	assert_true(each_failure_run(run_set) > 100);
}

/*
 * Memory running out while the rules run on an event (its logsource's rule
 * list, made at its first event): the event is skipped, counted, and the
 * next one works.
 */
static void
test_sigma_eval_skipped(void **state)
{
	struct sigma_report rep;
	struct sigma_set *set;
	char err[256];
	size_t n[2] = { 0, 0 };

	(void)state;
	sigma_report_init(&rep);
	assert_non_null(set = sigma_set_load(set_dir, NULL, &rep, err, sizeof(err)));
	sigma_report_fini(&rep);
	/* the first event's first allocation: its logsource's rule list */
	assert_int_equal(run_lines(set, 0, n), 1);
	assert_int_equal(n[0], 1);	/* 'two' from the second pair only */
	assert_int_equal(n[1], 0);
}

static void
test_register(void **state)
{
	(void)state;
	assert_true(run_register());
	assert_true(each_failure_run(run_register) > 50);
}

static void
test_profile(void **state)
{
	(void)state;
	assert_true(run_profile());
	assert_true(each_failure_run(run_profile) > 20);
}

static void
test_jsonr(void **state)
{
	(void)state;
	assert_true(run_jsonr());
	each_failure_run(run_jsonr);
}

static void
test_yaml(void **state)
{
	(void)state;
	assert_true(each_failure(rule_yaml, NULL) > 10);
}

static void
test_sigma_rule(void **state)
{
	(void)state;
	assert_true(each_failure(rule_yaml, parse_rule) > each_failure(rule_yaml, NULL));
}

static void
test_sigma_corr(void **state)
{
	(void)state;
	assert_true(each_failure(corr_yaml, parse_corr) > each_failure(corr_yaml, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_sigma_rule),
		cmocka_unit_test(test_sigma_corr),
		cmocka_unit_test(test_sigma_set),
		cmocka_unit_test(test_sigma_eval_skipped),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_jsonr),
	};
	return cmocka_run_group_tests(tests, set_dir_make, set_dir_remove);
}
