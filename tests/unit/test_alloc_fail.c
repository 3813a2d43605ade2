/*
 * Allocation failures injected into the parsers of untrusted or operator
 * input: YAML (configs, rules), Sigma detection rules with every modifier
 * kind, Sigma correlations, the collector config loader. Every allocation
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

#include <cmocka.h>

#include "ms_yaml.h"
#include "sigma/sigma.h"

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
 * Runs f with the k-th allocation failing, for k = 0, 1, … until a run
 * makes fewer allocations than k (nothing failed): that run must succeed.
 * Returns how many allocation points were exercised.
 */
static long
each_failure(const char *yaml, parse_fn parse)
{
	long k, refused = 0;

	for (k = 0;; k++) {
		bool ok;

		allocs = 0;
		fail_at = k;
		ok = parse_yaml_then(yaml, parse);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
