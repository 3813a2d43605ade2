/*
 * minisocctl rules check | test
 *
 * check: loads a rule folder the way the collector does and lists what is
 *        inert or rejected; exit 1 when anything is rejected.
 * test:  runs the data-driven test cases under rules/tests: each file names
 *        the rule it tests and lists cases (input lines, expected alerts);
 *        every rule must have a positive and a negative case.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "detect.h"
#include "ms_yaml.h"
#include "sigma_set.h"

#define TEST_MAX_ALERTS 256
/* Test input is read as if the agent got it at this time, in UTC. */
#define TEST_RECV_MS INT64_C(1795608000000)	/* 2026-11-25T12:00:00Z */

static void
rules_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl rules check [--placeholders FILE] [-v] PATH\n"
	    "       minisocctl rules test [--placeholders FILE] [RULES_DIR [TESTS_DIR]]\n"
	    "\n"
	    "check: loads PATH (a rule file or folder) like the collector; prints the\n"
	    "rejected documents and a summary.\n"
	    "  -p, --placeholders FILE  values for |expand placeholders\n"
	    "  -v, --verbose            also the inert documents (loaded, never alerting)\n"
	    "test: runs every test file (*.yml) in TESTS_DIR (default RULES_DIR/tests)\n"
	    "against the rules in RULES_DIR (default rules). Every rule needs a positive\n"
	    "and a negative case. Prints one line per case and 'N passed, N failed'.\n"
	    "  -p, --placeholders FILE  values for |expand placeholders (as check)\n"
	    "\n"
	    "Exit status: 0 all loaded (check) or passed (test); 1 on usage errors, a\n"
	    "rejected document or a failed case; 2 when PATH or RULES_DIR cannot be read.\n");
}

static int
rules_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "placeholders", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigma_set_opts sopts = { 0, NULL, 0 };
	struct sigma_report rep;
	struct sigma_set *set;
	bool verbose = false;
	char err[512];
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': sopts.placeholders = optarg; break;
		case 'v': verbose = true; break;
		case 'h': rules_usage(stdout); return 0;
		default: rules_usage(stderr); return 1;
		}
	}
	if (optind + 1 != argc) {
		rules_usage(stderr);
		return 1;
	}
	sigma_report_init(&rep);
	if ((set = sigma_set_load(argv[optind], &sopts, &rep, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl rules check: %s\n", err);
		sigma_report_fini(&rep);
		return 2;
	}
	if (rep.text.data) {
		/* Rejected lines always; inert ones on request. */
		char *line = rep.text.data, *nl;
		while (*line && (nl = strchr(line, '\n')) != NULL) {
			if (verbose || strncmp(line, "rejected", 8) == 0)
				fwrite(line, 1, (size_t)(nl - line + 1), stdout);
			line = nl + 1;
		}
	}
	printf("files=%zu rules=%zu correlations=%zu inert=%zu rejected=%zu filters=%zu\n",
	    rep.files, rep.rules, rep.correlations, rep.inert, rep.rejected, rep.filters);
	rc = rep.rejected ? 1 : 0;
	sigma_set_free(set);
	sigma_report_fini(&rep);
	return rc;
}

/* --- rules test ------------------------------------------------------ */

struct got_alert {
	char rule[128];		/* the rule's name, or its id when it has none */
	char id[128];
	char src_ip[64];
	char user[64];
	char severity[16];
	unsigned count;
};

struct test_run {
	struct got_alert got[TEST_MAX_ALERTS];
	size_t ngot;
};

static void
test_emit_cb(struct alert *a, void *arg)
{
	struct test_run *t = arg;
	struct got_alert *g;

	if (t->ngot >= TEST_MAX_ALERTS)
		return;
	g = &t->got[t->ngot++];
	if (a->rule_name && *a->rule_name)
		ms_copy(g->rule, sizeof(g->rule), a->rule_name, strlen(a->rule_name));
	else
		ms_copy(g->rule, sizeof(g->rule), a->rule_id, strlen(a->rule_id));
	ms_copy(g->id, sizeof(g->id), a->rule_id, strlen(a->rule_id));
	ms_copy(g->src_ip, sizeof(g->src_ip), a->src_ip, strlen(a->src_ip));
	ms_copy(g->user, sizeof(g->user), a->n_users ? a->users[0] : "",
	    a->n_users ? strlen(a->users[0]) : 0);
	ms_copy(g->severity, sizeof(g->severity), a->severity, strlen(a->severity));
	g->count = a->count;
}

static const char *
scalar(const struct ms_yaml_node *n)
{
	return n && n->type == MS_YAML_SCALAR ? n->str : NULL;
}

/* Does got satisfy the expectation e (a map of rule/src_ip/user/severity/count)? */
static bool
alert_matches(const struct got_alert *g, const struct ms_yaml_node *e, const char *rule)
{
	const char *v;
	char num[24];

	v = scalar(ms_yaml_get(e, "rule"));
	if (v == NULL)
		v = rule;
	if (strcmp(g->rule, v) != 0 && strcmp(g->id, v) != 0)
		return false;
	if ((v = scalar(ms_yaml_get(e, "src_ip"))) && strcmp(g->src_ip, v) != 0)
		return false;
	if ((v = scalar(ms_yaml_get(e, "user"))) && strcmp(g->user, v) != 0)
		return false;
	if ((v = scalar(ms_yaml_get(e, "severity"))) && strcmp(g->severity, v) != 0)
		return false;
	snprintf(num, sizeof(num), "%u", g->count);
	if ((v = scalar(ms_yaml_get(e, "count"))) && strcmp(num, v) != 0)
		return false;
	return true;
}

/* Is rule one of those this file's cases talk about? */
static bool
rule_in_scope(const char *rule, const char *file_rule, const struct ms_yaml_node *cases)
{
	if (strcmp(rule, file_rule) == 0)
		return true;
	for (size_t i = 0; i < cases->n; i++) {
		const struct ms_yaml_node *ex = ms_yaml_get(cases->items[i], "expect");
		for (size_t k = 0; ex && ex->type == MS_YAML_SEQ && k < ex->n; k++) {
			const char *r = scalar(ms_yaml_get(ex->items[k], "rule"));
			if (r && strcmp(r, rule) == 0)
				return true;
		}
	}
	return false;
}

struct coverage {
	char **keys;
	bool *pos, *neg;
	size_t n;
};

static void
cover(struct coverage *cv, const char *key, bool positive)
{
	for (size_t i = 0; i < cv->n; i++)
		if (strcmp(cv->keys[i], key) == 0) {
			if (positive)
				cv->pos[i] = true;
			else
				cv->neg[i] = true;
		}
}

static int
run_case(struct sigma_set *set, struct detector *det, const char *file, const char *rule,
    const struct ms_yaml_node *cases, const struct ms_yaml_node *c, struct decoded *d,
    struct coverage *cv)
{
	const char *name = scalar(ms_yaml_get(c, "name"));
	const char *input = scalar(ms_yaml_get(c, "input"));
	const struct ms_yaml_node *expect = ms_yaml_get(c, "expect");
	struct test_run *t = calloc(1, sizeof(*t));
	/* as the collector decodes: with auditd enrichment, fresh per case */
	struct decode_ctx ctx = { TEST_RECV_MS, 0, decode_auditd_cache_new(), "test-agent", 0 };
	bool used[TEST_MAX_ALERTS] = { false };
	bool ok = true, positive = false;
	size_t nexp = expect && expect->type == MS_YAML_SEQ ? expect->n : 0;
	size_t inscope = 0;
	uint64_t seq = 0;

	if (name == NULL)
		name = "(unnamed)";
	if (t == NULL || ctx.auditd == NULL || input == NULL ||
	    (expect && expect->type != MS_YAML_SEQ && !ms_yaml_is_null(expect))) {
		printf("FAIL %s: %s: a case needs input (text) and expect (a list)\n", file, name);
		free(t);
		decode_auditd_cache_free(ctx.auditd);
		return -1;
	}
	/* Correlation windows must not leak between cases. */
	if (sigma_set_reset(set) < 0) {
		printf("FAIL %s: %s: cannot reset the rules' state\n", file, name);
		free(t);
		decode_auditd_cache_free(ctx.auditd);
		return -1;
	}
	for (const char *p = input; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		detect_line(&det, 1, d, &ctx, "test-agent", "test-host",
		    ms_str_make(file, strlen(file)), ms_str_make(p, len), ++seq, test_emit_cb, t);
		p += len + (nl ? 1 : 0);
	}
	/* Every expected alert must be there ... */
	for (size_t k = 0; k < nexp; k++) {
		const struct ms_yaml_node *e = expect->items[k];
		const char *er = scalar(ms_yaml_get(e, "rule"));
		bool found = false;
		for (size_t g = 0; g < t->ngot && !found; g++) {
			if (!used[g] && alert_matches(&t->got[g], e, rule)) {
				used[g] = found = true;
			}
		}
		if (!found) {
			printf("FAIL %s: %s: expected alert %zu (rule %s) not raised\n", file, name, k + 1,
			    er ? er : rule);
			ok = false;
		}
		if (strcmp(er ? er : rule, rule) == 0)
			positive = true;
		cover(cv, er ? er : rule, true);
	}
	/* ... and no other alert of the rules this file is about. */
	for (size_t g = 0; g < t->ngot; g++) {
		if (used[g] || (!rule_in_scope(t->got[g].rule, rule, cases) &&
		    !rule_in_scope(t->got[g].id, rule, cases)))
			continue;
		inscope++;
		printf("FAIL %s: %s: unexpected alert from %s (src_ip=%s user=%s count=%u)\n", file,
		    name, t->got[g].rule, t->got[g].src_ip, t->got[g].user, t->got[g].count);
		ok = false;
	}
	if (!positive)
		cover(cv, rule, false);
	if (ok)
		printf("ok   %s: %s\n", file, name);
	free(t);
	decode_auditd_cache_free(ctx.auditd);
	return ok ? 0 : -1;
}

static int
run_file(struct sigma_set *set, struct detector *det, const char *file, struct decoded *d,
    struct coverage *cv,
    unsigned *npass, unsigned *nfail)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char err[512];
	const char *rule;
	const struct ms_yaml_node *cases;

	if (ms_yaml_parse_file(file, 4u << 20, &docs, &ndocs, err, sizeof(err)) < 0 || ndocs != 1 ||
	    (rule = scalar(ms_yaml_get(docs[0], "rule"))) == NULL ||
	    (cases = ms_yaml_get(docs[0], "cases")) == NULL || cases->type != MS_YAML_SEQ) {
		printf("FAIL %s: not a test file (one document with rule: and cases: [...]) %s\n",
		    file, ndocs ? "" : err);
		(*nfail)++;
		ms_yaml_docs_free(docs, ndocs);
		return -1;
	}
	for (size_t i = 0; i < cases->n; i++) {
		if (run_case(set, det, file, rule, cases, cases->items[i], d, cv) == 0)
			(*npass)++;
		else
			(*nfail)++;
	}
	ms_yaml_docs_free(docs, ndocs);
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
rules_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "placeholders", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigma_set_opts sopts = { 0, NULL, 0 };
	const char *rules = "rules", *tests = NULL;
	int ch;
	char tdir[4096];
	struct sigma_report rep;
	struct sigma_set *set;
	struct detector *det = NULL;
	struct coverage cv = { NULL, NULL, NULL, 0 };
	struct decoded *d = NULL;
	char err[512], **files = NULL;
	size_t nfiles = 0;
	unsigned npass = 0, nfail = 0, nuncovered = 0;
	DIR *dir;
	struct dirent *de;

	/* An option it does not know is no folder to look for ("--bogus: No such file"). */
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': sopts.placeholders = optarg; break;
		case 'h': rules_usage(stdout); return 0;
		default:
			fprintf(stderr, "minisocctl rules test: unknown option \"%s\"\n",
			    argv[optind - 1]);
			rules_usage(stderr);
			return 1;
		}
	}
	opterr = 1;
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '-' || i - optind > 1) {
			fprintf(stderr, "minisocctl rules test: %s \"%s\"\n",
			    i - optind > 1 ? "one folder too many:" : "unknown option", argv[i]);
			rules_usage(stderr);
			return 1;
		}
	if (optind < argc)
		rules = argv[optind];
	if (optind + 1 < argc)
		tests = argv[optind + 1];
	if (tests == NULL) {
		snprintf(tdir, sizeof(tdir), "%s/tests", rules);
		tests = tdir;
	}
	/* The rules to cover, and a check that the folder loads cleanly. */
	sigma_report_init(&rep);
	if ((set = sigma_set_load(rules, &sopts, &rep, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl rules test: %s\n", err);
		sigma_report_fini(&rep);
		return 2;
	}
	if (rep.rejected) {
		printf("%s", rep.text.data);
		nfail += (unsigned)rep.rejected;
	}
	sigma_report_fini(&rep);
	cv.n = sigma_set_count(set);
	cv.keys = calloc(cv.n + 1, sizeof(*cv.keys));
	cv.pos = calloc(cv.n + 1, sizeof(bool));
	cv.neg = calloc(cv.n + 1, sizeof(bool));
	d = malloc(sizeof(*d));
	if (cv.keys == NULL || cv.pos == NULL || cv.neg == NULL || d == NULL)
		goto out;
	/* Only what raises alerts needs cases; quiet base rules are covered by theirs. */
	for (size_t i = 0; i < cv.n; i++)
		cv.keys[i] = strdup(sigma_set_alerts(set, i) ? sigma_set_key(set, i) : "");
	/* One set for every case (reset in between): loading per case is slow. */
	if ((det = sigma_detector_new(set)) == NULL) {
		set = NULL;	/* freed by sigma_detector_new */
		nfail++;
		goto out;
	}
	if ((dir = opendir(tests)) == NULL) {
		fprintf(stderr, "minisocctl rules test: cannot open %s\n", tests);
		nfail++;
		goto out;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);
		char path[4096];
		char **nf;
		if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".yml") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", tests, de->d_name) >= sizeof(path))
			continue;
		if ((nf = realloc(files, (nfiles + 1) * sizeof(*files))) == NULL)
			break;
		files = nf;
		files[nfiles++] = strdup(path);
	}
	closedir(dir);
	qsort(files, nfiles, sizeof(*files), str_cmp);
	for (size_t i = 0; i < nfiles; i++)
		if (files[i])
			run_file(set, det, files[i], d, &cv, &npass, &nfail);
	for (size_t i = 0; i < cv.n; i++) {
		if (cv.keys[i] == NULL || *cv.keys[i] == '\0' || (cv.pos[i] && cv.neg[i]))
			continue;
		printf("FAIL coverage: rule %s lacks a %s case\n", cv.keys[i],
		    !cv.pos[i] ? "positive" : "negative");
		nuncovered++;
	}
	nfail += nuncovered;
out:
	printf("%u passed, %u failed\n", npass, nfail);
	for (size_t i = 0; i < cv.n && cv.keys; i++)
		free(cv.keys[i]);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(cv.keys);
	free(cv.pos);
	free(cv.neg);
	free(d);
	if (det)
		detector_free(det);
	else
		sigma_set_free(set);
	return nfail ? 1 : 0;
}

int
ctl_rules(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return rules_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return rules_test(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		rules_usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "minisocctl rules: unknown command \"%s\"\n", argv[1]);
	rules_usage(stderr);
	return 1;
}
