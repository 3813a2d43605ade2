/*
 * Rules reading a field their logsource never carries are rejected with
 * file:line (the brief: "a rule using an unknown modifier or field is
 * rejected ... never silently ignored").
 *
 * 1. Loading: a rule per case, rejected or loaded, with the message.
 * 2. The field lists behind it cover what the decoders emit: every input
 *    line of the shipped rule tests (rules/tests) and of the replay
 *    fixtures (tests/data) is decoded, and every field of every event must
 *    be known for the event's own logsource. A name a decoder emits but
 *    the list misses would reject rules that work.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "decode.h"
#include "ms_buf.h"
#include "ms_yaml.h"
#include "sigma.h"
#include "sigma_set.h"

#define HEADER "title: t\nlogsource:\n"

struct load_case {
	const char *name;
	const char *logsource;	/* the lines under logsource: */
	const char *detection;	/* the lines under detection: */
	const char *rejected;	/* expected report text, NULL: loads */
};

static const struct load_case load_cases[] = {
	{ "sshd field", "  product: linux\n  service: sshd\n",
	    "  sel:\n    src_ip: 1.2.3.4\n  condition: sel\n", NULL },
	{ "sshd unknown field", "  product: linux\n  service: sshd\n",
	    "  sel:\n    user: root\n  other:\n    nosuchfield: x\n  condition: sel and not other\n",
	    "t.yml:9: field 'nosuchfield' is not in events of logsource product=linux "
	    "service=sshd category=" },
	/* field names are compared as rules read them: case-insensitively */
	{ "auth field other case", "  product: linux\n  service: auth\n",
	    "  sel:\n    TARGET_USER: root\n  condition: sel\n", NULL },
	{ "auth pattern field", "  product: linux\n  service: sshd\n",
	    "  sel:\n    count|gt: 3\n  condition: sel\n", NULL },
	{ "web field", "  category: webserver\n",
	    "  sel:\n    cs-uri-query|contains: union\n  condition: sel\n", NULL },
	{ "web unknown field", "  category: webserver\n",
	    "  sel:\n    cs-cookie|contains: x\n  condition: sel\n",
	    "t.yml:6: field 'cs-cookie' is not in events of logsource product= service= "
	    "category=webserver" },
	{ "firewall unknown fieldref", "  category: firewall\n",
	    "  sel:\n    src_ip|fieldref: nat_ip\n  condition: sel\n",
	    "t.yml:6: field 'nat_ip' is not in events" },
	/* open sources: every key of a record */
	{ "auditd any key", "  product: linux\n  service: auditd\n",
	    "  sel:\n    whatever_key: x\n  condition: sel\n", NULL },
	{ "process_creation any key", "  product: linux\n  category: process_creation\n",
	    "  sel:\n    ParentImage|endswith: /bash\n  condition: sel\n", NULL },
	{ "zeek any member", "  product: zeek\n  service: conn\n",
	    "  sel:\n    id.resp_p: 23\n  condition: sel\n", NULL },
	{ "linux any line", "  product: linux\n", "  sel:\n    anything: x\n  condition: sel\n", NULL },
	{ "syslog any line", "  product: linux\n  service: syslog\n",
	    "  sel:\n    anything: x\n  condition: sel\n", NULL },
	/* keywords read the message: no field */
	{ "keywords", "  product: linux\n  service: sshd\n",
	    "  keywords:\n    - 'Failed password'\n  condition: keywords\n", NULL },
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_load_cases(void **state)
{
	char dir[] = "/tmp/test_sigma_fields.XXXXXX", path[128], doc[1024], err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.yml", dir);
	for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *c = &load_cases[i];
		struct sigma_report rep;
		struct sigma_set *s;
		const char *text;

		snprintf(doc, sizeof(doc), HEADER "%sdetection:\n%s", c->logsource, c->detection);
		write_file(path, doc);
		sigma_report_init(&rep);
		/* load the file by its bare name, as the messages show it */
		assert_int_equal(chdir(dir), 0);
		s = sigma_set_load("t.yml", NULL, &rep, err, sizeof(err));
		assert_non_null(s);
		text = rep.text.len ? (const char *)rep.text.data : "";
		if (c->rejected == NULL) {
			if (rep.rules != 1 || rep.rejected != 0)
				fail_msg("case '%s': expected to load, got rules=%zu rejected=%zu: %s",
				    c->name, rep.rules, rep.rejected, text);
		} else {
			if (rep.rejected != 1 || rep.rules != 0 || strstr(text, c->rejected) == NULL)
				fail_msg("case '%s': expected rejection '%s', got rules=%zu "
				    "rejected=%zu: %s", c->name, c->rejected, rep.rules, rep.rejected,
				    text);
		}
		sigma_set_free(s);
		sigma_report_fini(&rep);
	}
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* --- the lists cover the decoders --------------------------------------- */

struct coverage {
	size_t lines, fields;
	char missing[512];
};

static void
check_event(struct coverage *cv, const struct decoded *d, const char *line)
{
	const char *product = d->product ? d->product : "";

	for (unsigned i = 0; i < d->nfields; i++) {
		const char *name = d->fields[i].name;

		cv->fields++;
		if (d->category && sigma_logsource_field(product, "", d->category, name) == 0)
			snprintf(cv->missing, sizeof(cv->missing), "category %s: field '%s' of: %.200s",
			    d->category, name, line);
		if (d->service && sigma_logsource_field(product, d->service, "", name) == 0)
			snprintf(cv->missing, sizeof(cv->missing), "service %s: field '%s' of: %.200s",
			    d->service, name, line);
	}
}

static void
decode_lines(struct coverage *cv, struct decoded *d, const char *text, size_t len)
{
	const struct decode_ctx ctx = { .recv_ms = INT64_C(1764064800000) };

	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		if (n > 0) {
			decode_line(text, n, &ctx, d);
			check_event(cv, d, text);
			cv->lines++;
		}
		if (nl == NULL)
			break;
		len -= n + 1;
		text = nl + 1;
	}
}

/* The "input" of every case of a rules/tests file. */
static void
rule_test_inputs(struct coverage *cv, struct decoded *d, const char *path)
{
	struct ms_yaml_node **docs = NULL;
	size_t ndocs = 0;
	char err[256];

	if (ms_yaml_parse_file(path, 1 << 20, &docs, &ndocs, err, sizeof(err)) < 0)
		fail_msg("%s: %s", path, err);
	for (size_t k = 0; k < ndocs; k++) {
		const struct ms_yaml_node *cases = ms_yaml_get(docs[k], "cases");

		for (size_t i = 0; cases && cases->type == MS_YAML_SEQ && i < cases->n; i++) {
			const struct ms_yaml_node *in = ms_yaml_get(cases->items[i], "input");

			if (in != NULL && in->type == MS_YAML_SCALAR)
				decode_lines(cv, d, in->str, in->len);
		}
	}
	ms_yaml_docs_free(docs, ndocs);
}

static void
each_file(const char *dir, const char *suffix, void (*fn)(struct coverage *, struct decoded *,
    const char *), struct coverage *cv, struct decoded *d)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char path[1024];

	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL) {
		size_t n = strlen(e->d_name), sl = strlen(suffix);

		if (n <= sl || strcmp(e->d_name + n - sl, suffix) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(cv, d, path);
	}
	closedir(dp);
}

static void
log_file(struct coverage *cv, struct decoded *d, const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	assert_non_null(f);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	decode_lines(cv, d, buf, n);
	free(buf);
}

static void
test_lists_cover_decoders(void **state)
{
	struct decoded *d = malloc(sizeof(*d));
	struct coverage cv = { 0 };

	(void)state;
	assert_non_null(d);
	each_file(MINISOC_SOURCE_DIR "/rules/tests", ".yml", rule_test_inputs, &cv, d);
	each_file(MINISOC_SOURCE_DIR "/tests/data", ".log", log_file, &cv, d);
	print_message("decoded %zu lines with %zu fields\n", cv.lines, cv.fields);
	if (cv.missing[0])
		fail_msg("not in the lists: %s", cv.missing);
	/* the fixtures are there and full of fields (the test can fail) */
	assert_true(cv.lines > 300 && cv.fields > 1000);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_cases),
		cmocka_unit_test(test_lists_cover_decoders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
