/*
 * How a folder's correlations are wired to what they reference, and what
 * runs then (sigma_set.c):
 *
 * 1. Loading: every correlation ends up loaded, inert or rejected with
 *    file:line – dangling, rejected or doubly listed references, loops,
 *    chains too deep, names and ids used twice, group-by and counted
 *    fields that the referenced rules' events never carry.
 * 2. Running: chains see the inner correlation's group-by values; an
 *    inner correlation is quiet unless the outer one says generate; an
 *    alert without id or name is named by its title; value_count values
 *    are users only when the counted field holds users.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "decode.h"
#include "detect.h"
#include "ms_buf.h"
#include "sigma.h"
#include "sigma_set.h"

/* Detection rules the cases refer to, by name; ids 0000...000N. */
#define FAIL_RULE \
	"title: SSH failure\nid: 00000000-0000-4000-8000-000000000001\nname: fail\n" \
	"logsource: {product: linux, service: sshd}\n" \
	"detection:\n  sel:\n    outcome: failure\n    auth_method|exists: true\n" \
	"  condition: sel\nlevel: low\n"
#define OK_RULE \
	"title: SSH success\nid: 00000000-0000-4000-8000-000000000002\nname: ok\n" \
	"logsource: {product: linux, service: sshd}\n" \
	"detection:\n  sel:\n    outcome: success\n  condition: sel\nlevel: low\n"
#define WIN_RULE \
	"title: Windows logon failure\nname: win_fail\n" \
	"logsource: {product: windows, service: security}\n" \
	"detection:\n  sel:\n    EventID: 4625\n  condition: sel\n"
#define FW_RULE \
	"title: Blocked packet\nname: fw_block\nlogsource: {category: firewall}\n" \
	"detection:\n  sel:\n    action: block\n  condition: sel\nlevel: low\n"

static struct decoded dec;	/* big: static */
static char dir[] = "/tmp/test_sigma_set.XXXXXX";

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Loads text as r.yml from the test folder (by bare name, as messages show it). */
static struct sigma_set *
load(const char *text, struct sigma_report *rep)
{
	char err[256];
	struct sigma_set *s;

	write_file("r.yml", text);
	sigma_report_init(rep);
	assert_int_equal(chdir(dir), 0);
	s = sigma_set_load("r.yml", NULL, rep, err, sizeof(err));
	assert_non_null(s);
	return s;
}

struct load_case {
	const char *name;
	const char *text;
	size_t correlations, inert, rejected;
	const char *want;	/* in the report, NULL: nothing expected */
};

static const struct load_case load_cases[] = {
	{ "dangling reference", FAIL_RULE "---\ntitle: c\nname: c\ncorrelation:\n"
	  "  type: event_count\n  rules:\n    - fail\n    - no_such_rule\n  group-by: [src_ip]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 1,
	  "rejected: r.yml:18: rules: unknown rule 'no_such_rule' (no rule or correlation has "
	  "that name or id)\n" },
	{ "reference to a rejected rule", FAIL_RULE "---\ntitle: bad\nname: bad\n"
	  "logsource: {product: linux, service: sshd}\ndetection:\n  sel:\n    user|nosuch: x\n"
	  "  condition: sel\n---\ntitle: c\nname: c\ncorrelation:\n  type: event_count\n"
	  "  rules: [bad]\n  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 2,
	  "rejected: r.yml:24: rules: 'bad' was rejected (r.yml:12)\n" },
	{ "over a rejected correlation", FAIL_RULE "---\ntitle: outer\nname: outer\n"
	  "correlation:\n  type: event_count\n  rules: [inner]\n  group-by: [src_ip]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: inner\nname: inner\n"
	  "correlation:\n  type: event_count\n  rules: [fial]\n  group-by: [src_ip]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 2,
	  "rejected: r.yml:16: rules: correlation 'inner' was rejected (r.yml:21)\n" },
	{ "over an inert rule", WIN_RULE "---\ntitle: Windows brute force\nname: wb\n"
	  "correlation:\n  type: event_count\n  rules: [win_fail]\n  group-by: [IpAddress]\n"
	  "  timespan: 5m\n  condition: {gte: 10}\n", 0, 2, 0,
	  "inert: r.yml:9: correlation 'Windows brute force' can never fire: 'win_fail' is "
	  "inert\n" },
	/* event_count over [live, inert] still counts the live one */
	{ "one of two inert", FAIL_RULE "---\n" WIN_RULE "---\ntitle: c\nname: c\n"
	  "correlation:\n  type: event_count\n  rules: [fail, win_fail]\n  timespan: 1m\n"
	  "  condition: {gte: 2}\n", 1, 1, 0,
	  "inert: r.yml:12: logsource product=windows service=security category= has no decoder\n" },
	/* temporal needs both */
	{ "temporal with an inert rule", FAIL_RULE "---\n" WIN_RULE "---\ntitle: t\nname: t\n"
	  "correlation:\n  type: temporal\n  rules: [fail, win_fail]\n  timespan: 1m\n",
	  0, 2, 0, "can never fire: 'win_fail' is inert" },
	{ "loop", FAIL_RULE "---\ntitle: A\nname: a\ncorrelation:\n  type: event_count\n"
	  "  rules: [fail, b]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: B\nname: b\n"
	  "correlation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n"
	  "  condition: {gte: 2}\n", 0, 0, 2, "its chain of correlations loops back to itself" },
	{ "self reference", FAIL_RULE "---\ntitle: A\nname: a\ncorrelation:\n"
	  "  type: event_count\n  rules: [fail, a]\n  timespan: 1m\n  condition: {gte: 2}\n",
	  0, 0, 1, "r.yml:16: rules: 'a' is this correlation itself" },
	{ "duplicate id", FAIL_RULE "---\n" FAIL_RULE, 0, 0, 1,
	  "rejected: r.yml:12: name or id 'fail' is already used by r.yml:1\n" },
	/* the first holder that loaded counts: B loses x, so C keeps yyyy */
	{ "duplicate of a rejected one", "title: A\nname: x\nlogsource: {product: linux}\n"
	  "detection:\n  k: [a]\n  condition: k\n---\ntitle: B\nname: x\nid: yyyy\n"
	  "logsource: {product: linux}\ndetection:\n  k: [b]\n  condition: k\n---\ntitle: C\n"
	  "id: yyyy\nlogsource: {product: linux}\ndetection:\n  k: [c]\n  condition: k\n",
	  0, 0, 1, "rejected: r.yml:8: name or id 'x' is already used by r.yml:1\n" },
	{ "duplicate name across kinds", FAIL_RULE "---\ntitle: c\nname: fail\ncorrelation:\n"
	  "  type: event_count\n  rules: [00000000-0000-4000-8000-000000000001]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 1,
	  "r.yml:12: name or id 'fail' is already used by r.yml:1" },
	{ "same rule by name and id", FAIL_RULE "---\ntitle: c\nname: c\ncorrelation:\n"
	  "  type: event_count\n  rules:\n    - fail\n    - 00000000-0000-4000-8000-000000000001\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 1,
	  "r.yml:18: rules: 'fail' and '00000000-0000-4000-8000-000000000001' are the same rule" },
	{ "unknown group-by field", FAIL_RULE "---\ntitle: c\nname: c\ncorrelation:\n"
	  "  type: event_count\n  rules: [fail]\n  group-by:\n    - src_ip\n    - srcip\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 1,
	  "rejected: r.yml:19: group-by field 'srcip' is not in events of rule 'fail' "
	  "(logsource product=linux service=sshd category=;" },
	{ "unknown alias field", FAIL_RULE "---\n" OK_RULE "---\ntitle: c\nname: c\n"
	  "correlation:\n  type: temporal\n  rules: [fail, ok]\n  group-by: [ip]\n"
	  "  timespan: 1m\n  aliases:\n    ip:\n      fail: src_ip\n      ok: source_ip\n",
	  0, 0, 1, "r.yml:32: group-by field 'source_ip' is not in events of rule 'ok'" },
	{ "unknown counted field", FW_RULE "---\ntitle: c\nname: c\ncorrelation:\n"
	  "  type: value_count\n  rules: [fw_block]\n  group-by: [src_ip]\n  timespan: 1m\n"
	  "  condition:\n    field: dport\n    gte: 10\n", 0, 0, 1,
	  "r.yml:18: condition field 'dport' is not in events of rule 'fw_block'" },
	/* open sources are not checked: auditd carries every key */
	{ "open source", "title: x\nname: x\nlogsource: {product: linux, service: auditd}\n"
	  "detection:\n  sel:\n    type: EXECVE\n  condition: sel\n---\ntitle: c\nname: c\n"
	  "correlation:\n  type: value_count\n  rules: [x]\n  group-by: [anything]\n"
	  "  timespan: 1m\n  condition: {field: whatever, gte: 3}\n", 1, 0, 0, NULL },
	/* an outer group-by reads the inner's group-by or the fields of its rules' events */
	{ "chain field nowhere", FAIL_RULE "---\ntitle: inner\nname: inner\n"
	  "correlation:\n  type: event_count\n  rules: [fail]\n  group-by: [src_ip]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: outer\nname: outer\n"
	  "correlation:\n  type: event_count\n  rules: [inner]\n  group-by: [cs-method]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 1, 0, 1,
	  "r.yml:26: group-by field 'cs-method' is neither a group-by field of correlation "
	  "'inner' nor in events of the rules beneath it" },
	{ "chain field of the rules", FAIL_RULE "---\ntitle: inner\nname: inner\n"
	  "correlation:\n  type: event_count\n  rules: [fail]\n  group-by: [src_ip]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: outer\nname: outer\n"
	  "correlation:\n  type: event_count\n  rules: [inner]\n  group-by: [user]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n", 2, 0, 0, NULL },
	/* a loop rejects its members; what only refers to it is rejected for that */
	{ "loop blames its members", FAIL_RULE "---\ntitle: outer\nname: outer\ncorrelation:\n"
	  "  type: event_count\n  rules: [c1]\n  timespan: 1m\n  condition: {gte: 2}\n---\n"
	  "title: c1\nname: c1\ncorrelation:\n  type: event_count\n  rules: [fail, c2]\n"
	  "  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: c2\nname: c2\ncorrelation:\n"
	  "  type: event_count\n  rules: [c1]\n  timespan: 1m\n  condition: {gte: 2}\n", 0, 0, 3,
	  "rejected: r.yml:16: rules: correlation 'c1' was rejected (r.yml:20)\n"
	  "rejected: r.yml:20: correlation 'c1': its chain of correlations loops back to itself "
	  "(through 'c2')\n"
	  "rejected: r.yml:28: correlation 'c2': its chain of correlations loops back to itself "
	  "(through 'c1')\n" },
	/* a window decided at close passes on its group-by values only */
	{ "chain field of an at-close inner", FAIL_RULE "---\ntitle: inner\nname: inner\n"
	  "correlation:\n  type: event_count\n  rules: [fail]\n  group-by: [src_ip]\n"
	  "  timespan: 1m\n  condition: {lt: 3}\n---\ntitle: outer\nname: outer\n"
	  "correlation:\n  type: event_count\n  rules: [inner]\n  group-by: [user]\n"
	  "  timespan: 1h\n  condition: {gte: 2}\n", 1, 0, 1,
	  "r.yml:26: group-by field 'user' is neither a group-by field of correlation 'inner'" },
	/* fields checked once inertness is known: an inert inner carries nothing */
	{ "chain field through an inert inner", FAIL_RULE "---\n" WIN_RULE "---\ntitle: z\n"
	  "name: z\ncorrelation:\n  type: event_count\n  rules: [win_fail]\n"
	  "  group-by: [zzz]\n  timespan: 1m\n  condition: {gte: 1}\n---\ntitle: outer\n"
	  "name: outer\ncorrelation:\n  type: event_count\n  rules: [z, fail]\n"
	  "  group-by: [zzz]\n  timespan: 1m\n  condition: {gte: 1}\n", 0, 2, 1,
	  "group-by field 'zzz' is not in events of rule 'fail'" },
	{ "inert inner beside a rule", FAIL_RULE "---\n" WIN_RULE "---\ntitle: z\n"
	  "name: z\ncorrelation:\n  type: event_count\n  rules: [win_fail]\n"
	  "  timespan: 1m\n  condition: {gte: 1}\n---\ntitle: outer\n"
	  "name: outer\ncorrelation:\n  type: event_count\n  rules: [z, fail]\n"
	  "  group-by: [src_ip]\n  timespan: 1m\n  condition: {gte: 1}\n", 1, 2, 0,
	  "inert: r.yml:20: correlation 'z' can never fire: 'win_fail' is inert\n" },
	/* a field error outranks inert (which another reference made it) */
	{ "bad field of an inert one", FAIL_RULE "---\n" WIN_RULE "---\ntitle: t\nname: t\n"
	  "correlation:\n  type: temporal\n  rules: [fail, win_fail]\n  group-by: [nosuch]\n"
	  "  timespan: 1m\n", 0, 1, 1, "group-by field 'nosuch' is not in events of rule 'fail'" },
	/* an alias by the name of an inert rule listed by id */
	{ "alias of an inert rule by name", FAIL_RULE "---\ntitle: w\nname: winlogon\n"
	  "id: 2222\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n"
	  "    EventID: 4625\n  condition: sel\n---\ntitle: ec\nname: ec\ncorrelation:\n"
	  "  type: event_count\n  rules: [fail, 2222]\n  group-by: [ip]\n  timespan: 1m\n"
	  "  condition: {gte: 2}\n  aliases:\n    ip:\n      fail: src_ip\n"
	  "      winlogon: IpAddress\n", 1, 1, 0,
	  "inert: r.yml:12: logsource product=windows service=security category= has no "
	  "decoder\n" },
	{ "alias by name, rules by id", FAIL_RULE "---\n" OK_RULE "---\ntitle: c\nname: c\n"
	  "correlation:\n  type: temporal_ordered\n  rules:\n"
	  "    - 00000000-0000-4000-8000-000000000001\n    - 00000000-0000-4000-8000-000000000002\n"
	  "  group-by: [ip]\n  timespan: 1m\n  aliases:\n    ip:\n      fail: src_ip\n"
	  "      ok: src_ip\n", 1, 0, 0, NULL },
};

/* A chain of n event_count correlations over fail: c1 <- c2 <- ... <- cn. */
static void
chain_text(struct ms_buf *b, int n)
{
	ms_buf_printf(b, "%s", FAIL_RULE);
	for (int i = 1; i <= n; i++) {
		char ref[16];

		snprintf(ref, sizeof(ref), i == 1 ? "fail" : "c%d", i - 1);
		ms_buf_printf(b, "---\ntitle: c%d\nname: c%d\ncorrelation:\n  type: event_count\n"
		    "  rules: [%s]\n  group-by: [src_ip]\n  timespan: 1m\n  condition: {gte: 1}\n",
		    i, i, ref);
	}
}

static void
test_load_cases(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *c = &load_cases[i];
		struct sigma_report rep;
		struct sigma_set *s = load(c->text, &rep);
		const char *text = rep.text.len ? (const char *)rep.text.data : "";

		if (rep.correlations != c->correlations || rep.inert != c->inert ||
		    rep.rejected != c->rejected || (c->want && strstr(text, c->want) == NULL) ||
		    (c->want == NULL && *text)) {
			print_error("case '%s': got correlations=%zu inert=%zu rejected=%zu:\n%s\n"
			    "expected correlations=%zu inert=%zu rejected=%zu and '%s'\n", c->name,
			    rep.correlations, rep.inert, rep.rejected, text, c->correlations,
			    c->inert, c->rejected, c->want ? c->want : "");
			bad++;
		}
		sigma_set_free(s);
		sigma_report_fini(&rep);
	}
	assert_int_equal(bad, 0);
}

/*
 * A rule folder that cannot be listed whole fails the load with its cause
 * instead of loading what it got to: here a link back up the tree (a
 * reload then keeps the old rules).
 */
static void
test_folder_loop(void **state)
{
	char sub[700], link[800], err[256];
	struct sigma_report rep;
	struct sigma_set *s;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/loop", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("loop/r.yml", FAIL_RULE);
	snprintf(link, sizeof(link), "%s/back", sub);
	assert_int_equal(symlink(sub, link), 0);
	sigma_report_init(&rep);
	s = sigma_set_load(sub, NULL, &rep, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "cannot list the rule files"));
	assert_non_null(strstr(err, strerror(ELOOP)));
	sigma_report_fini(&rep);
	/* without the link it loads */
	assert_int_equal(unlink(link), 0);
	sigma_report_init(&rep);
	assert_non_null(s = sigma_set_load(sub, NULL, &rep, err, sizeof(err)));
	assert_int_equal(rep.rules, 1);
	sigma_set_free(s);
	sigma_report_fini(&rep);
	snprintf(link, sizeof(link), "%s/r.yml", sub);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(sub), 0);
}

/* Chains of 8 correlations load; 9 do not (the longest loses its head). */
static void
test_chain_depth(void **state)
{
	struct ms_buf b;
	struct sigma_report rep;
	struct sigma_set *s;
	char *text;

	(void)state;
	for (int n = 8; n <= 9; n++) {
		ms_buf_init(&b, 1u << 20);
		chain_text(&b, n);
		assert_non_null(text = strndup((const char *)b.data, b.len));
		s = load(text, &rep);
		if (n == 8) {
			assert_int_equal(rep.correlations, 8);
			assert_int_equal(rep.rejected, 0);
		} else {
			assert_int_equal(rep.correlations, 8);
			assert_int_equal(rep.rejected, 1);
			assert_non_null(strstr((const char *)rep.text.data,
			    "correlation 'c9': chain of correlations deeper than 8"));
		}
		sigma_set_free(s);
		sigma_report_fini(&rep);
		free(text);
		ms_buf_fini(&b);
	}
}

/* --- running -------------------------------------------------------- */

struct got {
	size_t n;
	char rule[16][64];
	char src[16][64];
	char agent[16][128];
	char group[16][128];	/* the first group-by value */
	unsigned count[16];
	unsigned nusers[16];
	char values[16][256];	/* "field=v1,v2" */
	char sample[16][128];
	int64_t first[16], last[16];
};

static void
collect_cb(struct alert *a, void *arg)
{
	struct got *g = arg;
	size_t i = g->n++;

	assert_true(i < 16);
	snprintf(g->rule[i], sizeof(g->rule[i]), "%s", a->rule_id);
	snprintf(g->src[i], sizeof(g->src[i]), "%s", a->src_ip);
	snprintf(g->agent[i], sizeof(g->agent[i]), "%s", a->agent_id);
	if (a->ngroup > 0)
		ms_copy(g->group[i], sizeof(g->group[i]), a->group_values[0].p,
		    a->group_values[0].len);
	g->count[i] = a->count;
	g->nusers[i] = a->n_users;
	g->first[i] = a->first_ms;
	g->last[i] = a->last_ms;
	if (a->n_samples)
		ms_copy(g->sample[i], sizeof(g->sample[i]), a->samples[a->n_samples - 1],
		    strnlen(a->samples[a->n_samples - 1], sizeof(g->sample[i]) - 1));
	if (a->values_field) {
		int k = snprintf(g->values[i], sizeof(g->values[i]), "%s=", a->values_field);
		for (size_t v = 0; v < a->nvalues && k < 200; v++)
			k += snprintf(g->values[i] + k, sizeof(g->values[i]) - (size_t)k, "%s%s",
			    v ? "," : "", a->values[v]);
	}
}

static void
count_cb(struct alert *a, void *arg)
{
	(void)a;
	(*(size_t *)arg)++;
}

/* The agent of line i when set (run_agents[i]), else "agent". */
static const char *const *run_agents;
/* decode_ctx max_time_ms of run_det (0: none; the collector sets its clock + slack). */
static int64_t run_max_time;

/* Runs the lines (one per string, NULL-terminated) through the detector. */
static void
run_det(struct detector *det, const char *const *lines, struct got *g)
{
	struct detector *dets[1] = { det };
	struct decode_ctx ctx;

	assert_non_null(det);
	memset(g, 0, sizeof(*g));
	memset(&ctx, 0, sizeof(ctx));
	ctx.recv_ms = INT64_C(1764064800000);	/* 2025-11-25T10:00:00Z */
	ctx.max_time_ms = run_max_time;
	for (uint64_t i = 0; lines[i]; i++)
		detect_line(dets, 1, &dec, &ctx, run_agents ? run_agents[i] : "agent", "host",
		    ms_str_make("t", 1), ms_str_make(lines[i], strlen(lines[i])), i + 1, collect_cb, g);
}

/* The same through a detector of s (which owns s, and frees it). */
static void
run(struct sigma_set *s, const char *const *lines, struct got *g)
{
	struct detector *det = sigma_detector_new(s);

	run_det(det, lines, g);
	detector_free(det);
}

/*
 * Loads fmt (two %s: documents a and b) in both orders of a and b and runs
 * lines through each: the same rules must fire, in the same order; g gets
 * the alerts of the second order. (A temporal window's reported times may
 * differ: which of one event's two matches it counted – docs/rules.md.)
 */
static void
run_orders(const char *fmt, const char *a, const char *b, const char *const *lines, struct got *g)
{
	struct sigma_report rep;
	struct got first;
	char text[8192];

	for (int order = 0; order < 2; order++) {
		const char *doc[2] = { order ? b : a, order ? a : b }, *f = fmt;
		size_t len = 0;

		/* fmt's two %s, by hand: a format string that is not a literal is not checked */
		for (int k = 0; *f && len < sizeof(text) - 1; ) {
			if (f[0] == '%' && f[1] == 's' && k < 2) {
				len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", doc[k++]);
				f += 2;
			} else {
				text[len++] = *f++;
			}
		}
		assert_true(len < sizeof(text) - 1);
		text[len] = '\0';
		run(load(text, &rep), lines, g);
		sigma_report_fini(&rep);
		if (order == 0) {
			first = *g;
			continue;
		}
		if (g->n != first.n)
			fail_msg("%zu alerts with one order of the documents, %zu with the other",
			    first.n, g->n);
		for (size_t i = 0; i < g->n; i++)
			if (strcmp(g->rule[i], first.rule[i]) != 0)
				fail_msg("alert %zu: rule %s with one order of the documents, %s with the "
				    "other", i, first.rule[i], g->rule[i]);
	}
}

#define FAILED(t, user, ip, port) \
	"Nov 25 10:" t " web1 sshd[1]: Failed password for " user " from " ip " port " port " ssh2"
#define ACCEPTED(t, user, ip) \
	"Nov 25 10:" t " web1 sshd[2]: Accepted password for " user " from " ip " port 9 ssh2"

/*
 * Chain: the outer correlation groups by an alias of the inner's group-by
 * field; the inner is quiet. The outer alert's sample is the line that
 * completed the inner one, and its window runs from the inner's first
 * firing to its last.
 */
static void
test_chain(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		FAILED("00:02", "root", "198.51.100.7", "3"),
		FAILED("01:00", "root", "203.0.113.5", "4"), FAILED("01:01", "root", "203.0.113.5", "5"),
		NULL,
	};
	struct sigma_report rep;
	struct sigma_set *s;
	struct got g;

	(void)state;
	s = load(FAIL_RULE "---\ntitle: Two failures\nname: two\ncorrelation:\n"
	    "  type: event_count\n  rules: [fail]\n  group-by: [src_ip]\n  timespan: 10s\n"
	    "  condition: {gte: 2}\n---\ntitle: Twice two\nname: twice\ncorrelation:\n"
	    "  type: event_count\n  rules: [two]\n  group-by: [addr]\n  timespan: 5m\n"
	    "  condition: {gte: 2}\n  aliases:\n    addr:\n      two: src_ip\n", &rep);
	assert_int_equal(rep.correlations, 2);
	assert_int_equal(rep.rejected, 0);
	sigma_report_fini(&rep);
	run(s, lines, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "twice");
	assert_int_equal(g.count[0], 2);
	assert_string_equal(g.sample[0], FAILED("01:01", "root", "203.0.113.5", "5"));
	assert_int_equal(g.last[0] - g.first[0], 60000);
}

/* generate: true on the outer one: the inner correlation and the rule alert too. */
static void
test_chain_generate(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		NULL,
	};
	struct sigma_report rep;
	struct sigma_set *s;
	struct got g;

	(void)state;
	s = load(FAIL_RULE "---\ntitle: Two failures\nname: two\ncorrelation:\n"
	    "  type: event_count\n  rules: [fail]\n  group-by: [src_ip]\n  timespan: 10s\n"
	    "  condition: {gte: 2}\n---\ntitle: Once two\ncorrelation:\n"
	    "  type: event_count\n  rules: [two]\n  group-by: [src_ip]\n  timespan: 5m\n"
	    "  condition: {gte: 1}\n  generate: true\n", &rep);
	sigma_report_fini(&rep);
	run(s, lines, &g);
	/*
	 * fail stays quiet ("two" does not say generate); "two" alerts, then
	 * the outer one, which has neither id nor name: its title is its id.
	 */
	assert_int_equal(g.n, 2);
	assert_string_equal(g.rule[0], "two");
	assert_string_equal(g.rule[1], "Once two");
}

/*
 * Twins: a correlation counting exactly what an earlier one counts (here a
 * quiet copy feeding a chain, as ssh_bruteforce_stage is of ssh_bruteforce)
 * is not fed on its own but fires with the earlier one's windows – the
 * same alerts, in the same order, as two separately fed correlations give:
 * the alerting one, then the chain through the copy. One that differs only
 * in its threshold is no twin and fires at its own count. Groups are held
 * once for the twins.
 */
static void
test_twins(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		FAILED("00:02", "root", "198.51.100.7", "3"), FAILED("00:03", "root", "203.0.113.5", "4"),
		FAILED("00:04", "root", "203.0.113.5", "5"), FAILED("00:05", "root", "203.0.113.5", "6"),
		NULL,
	};
	static const char corr[] = "correlation:\n  type: event_count\n  rules: [fail]\n"
	    "  group-by: [src_ip]\n  timespan: 10s\n  condition: {gte: %d}\n";
	struct sigma_report rep;
	struct sigma_set *s;
	struct detector *det;
	struct got g;
	char text[4096], a[256], b[256], c[256];

	(void)state;
	snprintf(a, sizeof(a), corr, 2);
	snprintf(b, sizeof(b), corr, 2);
	snprintf(c, sizeof(c), corr, 3);
	snprintf(text, sizeof(text), FAIL_RULE "---\ntitle: Two failures\nname: two\n%s"
	    "---\ntitle: Two failures, for the chain\nname: two_stage\n%s"
	    "---\ntitle: Three failures\nname: three\n%s"
	    "---\ntitle: Twice two\nname: twice\ncorrelation:\n"
	    "  type: event_count\n  rules: [two_stage]\n  group-by: [src_ip]\n  timespan: 5m\n"
	    "  condition: {gte: 2}\n", a, b, c);
	s = load(text, &rep);
	assert_int_equal(rep.correlations, 4);
	assert_int_equal(rep.rejected, 0);
	sigma_report_fini(&rep);
	/* the detector owns s: its groups are counted before it goes */
	det = sigma_detector_new(s);
	run_det(det, lines, &g);
	/* each source's group once for two and its twin, once for three; twice's one */
	assert_int_equal(sigma_set_groups(s), 2 + 2 + 1);
	detector_free(det);
	/*
	 * 203.0.113.5: two (and two_stage) at lines 2 and 5, each resetting
	 * the window; three at line 4; the chain at two_stage's second firing
	 * (line 5), after that event's own feeds. 198.51.100.7 once: nothing.
	 */
	assert_int_equal(g.n, 4);
	assert_string_equal(g.rule[0], "two");
	assert_string_equal(g.sample[0], FAILED("00:01", "root", "203.0.113.5", "2"));
	assert_string_equal(g.rule[1], "three");
	assert_int_equal(g.count[1], 3);
	assert_string_equal(g.sample[1], FAILED("00:03", "root", "203.0.113.5", "4"));
	assert_string_equal(g.rule[2], "two");
	assert_string_equal(g.sample[2], FAILED("00:04", "root", "203.0.113.5", "5"));
	assert_string_equal(g.rule[3], "twice");
	assert_int_equal(g.count[3], 2);
}

/*
 * A twin that raises alerts of its own: its alerts in the order of the
 * rule files, as if it were fed on its own. Here byuser, fed by the same
 * rule between two and two_copy, fires on the same event: two_copy is then
 * no twin (its alert would otherwise come before byuser's). The control
 * counts the same windows with {gt: 1}, which sigma_corr_same never takes
 * for the same as {gte: 2}. Without anything in between, two_copy is a
 * twin (its groups are not held) and its alerts still come right after
 * two's. Evictions at a cap of one group: a twin reports the windows it
 * loses, those of the one it fires with.
 */
static struct sigma_set *
load_capped(const char *text, size_t max_groups)
{
	struct sigma_set_opts opts = { max_groups, NULL, 0 };
	struct sigma_report rep;
	char err[256];
	struct sigma_set *s;

	write_file("r.yml", text);
	sigma_report_init(&rep);
	assert_int_equal(chdir(dir), 0);
	s = sigma_set_load("r.yml", &opts, &rep, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(rep.rejected, 0);
	sigma_report_fini(&rep);
	return s;
}

static void
twin_alerts(const char *copy_cond, bool between, size_t max_groups, const char *const *lines,
    struct got *g, size_t *groups, uint64_t *evicted)
{
	static const char corr[] = "correlation:\n  type: event_count\n  rules: [fail]\n"
	    "  group-by: [%s]\n  timespan: 10s\n  condition: %s\n";
	char text[4096], two[256], byuser[256], copy[256];
	struct sigma_set *s;
	struct detector *det;
	uint64_t ev_two;

	snprintf(two, sizeof(two), corr, "src_ip", "{gte: 2}");
	snprintf(byuser, sizeof(byuser), corr, "user", "{gte: 2}");
	snprintf(copy, sizeof(copy), corr, "src_ip", copy_cond);
	snprintf(text, sizeof(text), FAIL_RULE "---\ntitle: Two\nname: two\n%s%s%s"
	    "---\ntitle: Two copy\nname: two_copy\n%s", two,
	    between ? "---\ntitle: By user\nname: byuser\n" : "", between ? byuser : "", copy);
	s = load_capped(text, max_groups);
	det = sigma_detector_new(s);
	run_det(det, lines, g);
	*groups = sigma_set_groups(s);
	/* rule 0 is fail; two_copy is the last correlation */
	assert_int_equal(sigma_set_evicted(s, 1 + (between ? 2 : 1), evicted), 0);
	assert_int_equal(sigma_set_evicted(s, 1, &ev_two), 0);
	if (strcmp(copy_cond, "{gte: 2}") == 0 && !between)
		assert_int_equal(*evicted, ev_two);
	detector_free(det);
}

static void
test_twin_order_evictions(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		NULL,
	};
	static const char *const alternating[] = {
		FAILED("00:00", "a", "203.0.113.5", "1"), FAILED("00:01", "b", "198.51.100.7", "2"),
		FAILED("00:02", "c", "203.0.113.5", "3"), FAILED("00:03", "d", "198.51.100.7", "4"),
		FAILED("00:04", "e", "203.0.113.5", "5"), NULL,
	};
	struct got fed, twin;
	size_t gfed, gtwin;
	uint64_t efed, etwin;

	(void)state;
	/* byuser in between: the same alerts in the same order either way */
	twin_alerts("{gt: 1}", true, 0, lines, &fed, &gfed, &efed);
	twin_alerts("{gte: 2}", true, 0, lines, &twin, &gtwin, &etwin);
	assert_int_equal(fed.n, 3);
	assert_string_equal(fed.rule[0], "two");
	assert_string_equal(fed.rule[1], "byuser");
	assert_string_equal(fed.rule[2], "two_copy");
	assert_int_equal(twin.n, fed.n);
	for (size_t i = 0; i < fed.n; i++)
		assert_string_equal(twin.rule[i], fed.rule[i]);
	/* no twin then: two_copy holds its own group, as the control does */
	assert_int_equal(gtwin, gfed);
	/* nothing in between: a twin, holding no group, its alert right after two's */
	twin_alerts("{gt: 1}", false, 0, lines, &fed, &gfed, &efed);
	twin_alerts("{gte: 2}", false, 0, lines, &twin, &gtwin, &etwin);
	assert_int_equal(fed.n, 2);
	assert_int_equal(twin.n, 2);
	assert_string_equal(twin.rule[0], "two");
	assert_string_equal(twin.rule[1], "two_copy");
	assert_string_equal(twin.sample[1], fed.sample[1]);
	assert_int_equal(gfed, 2);
	assert_int_equal(gtwin, 1);
	/* a cap of one group, two sources taking turns: evictions, the same for the twin */
	twin_alerts("{gt: 1}", false, 1, alternating, &fed, &gfed, &efed);
	twin_alerts("{gte: 2}", false, 1, alternating, &twin, &gtwin, &etwin);
	assert_true(efed > 0);
	assert_int_equal(etwin, efed);
}

/*
 * value_count over ports: the values are listed, not taken for users;
 * over users they are users too. No id and no name: the title is the id.
 */
static void
test_value_count_values(void **state)
{
	static const char *const lines[] = {
		"Nov 25 10:00:00 fw kernel: [1.0] DROP IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 "
		"LEN=60 PROTO=TCP SPT=4000 DPT=22 SYN",
		"Nov 25 10:00:01 fw kernel: [1.1] DROP IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 "
		"LEN=60 PROTO=TCP SPT=4000 DPT=23 SYN",
		"Nov 25 10:00:02 fw kernel: [1.2] DROP IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 "
		"LEN=60 PROTO=TCP SPT=4000 DPT=80 SYN",
		FAILED("00:03", "alice", "198.51.100.1", "1"), FAILED("00:04", "bob", "198.51.100.1", "2"),
		NULL,
	};
	struct sigma_report rep;
	struct sigma_set *s;
	struct got g;

	(void)state;
	s = load(FW_RULE "---\ntitle: Three ports\ncorrelation:\n  type: value_count\n"
	    "  rules: [fw_block]\n  group-by: [src_ip]\n  timespan: 1m\n"
	    "  condition: {field: dst_port, gte: 3}\n---\n" FAIL_RULE "---\ntitle: Two users\n"
	    "name: two_users\ncorrelation:\n  type: value_count\n  rules: [fail]\n"
	    "  group-by: [src_ip]\n  timespan: 1m\n  condition: {field: user, gte: 2}\n", &rep);
	assert_int_equal(rep.correlations, 2);
	sigma_report_fini(&rep);
	run(s, lines, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.rule[0], "Three ports");
	assert_string_equal(g.src[0], "203.0.113.9");
	assert_string_equal(g.values[0], "dst_port=22,23,80");
	assert_int_equal(g.nusers[0], 0);
	assert_string_equal(g.rule[1], "two_users");
	assert_string_equal(g.values[1], "user=alice,bob");
	assert_int_equal(g.nusers[1], 2);
}

/*
 * The order of documents never decides whether a chain fires: the inner
 * correlation's firing reaches the outer one after the event's own
 * matches (the third failure completes the brute force; it is not also
 * the failure that follows it).
 */
static void
test_chain_order(void **state)
{
	static const char *const three[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		FAILED("00:02", "root", "203.0.113.5", "3"), NULL,
	};
	static const char *const four[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		FAILED("00:02", "root", "203.0.113.5", "3"), FAILED("00:03", "root", "203.0.113.5", "4"),
		NULL,
	};
	static const char *const bf = "title: bf\nname: bf\ncorrelation:\n  type: event_count\n"
	    "  rules: [fail]\n  group-by: [src_ip]\n  timespan: 5m\n  condition: {gte: 3}\n";
	static const char *const ord = "title: ord\nname: ord\ncorrelation:\n"
	    "  type: temporal_ordered\n  rules: [bf, fail]\n  group-by: [src_ip]\n  timespan: 10m\n";
	struct got g;

	(void)state;
	run_orders(FAIL_RULE "---\n%s---\n%s", bf, ord, three, &g);
	assert_int_equal(g.n, 0);
	run_orders(FAIL_RULE "---\n%s---\n%s", bf, ord, four, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "ord");
}

/*
 * A rule referenced by a correlation is quiet while that correlation
 * loaded or is inert; when it was rejected, the rule alerts as if it
 * were not there.
 */
static void
test_quiet_rules(void **state)
{
	static const char *const one[] = { FAILED("00:00", "root", "203.0.113.5", "1"), NULL };
	struct sigma_report rep;
	struct got g;

	(void)state;
	run(load(FAIL_RULE "---\ntitle: c\nname: c\ncorrelation:\n  type: event_count\n"
	    "  rules: [fail, nosuch]\n  timespan: 1m\n  condition: {gte: 5}\n", &rep), one, &g);
	assert_int_equal(rep.rejected, 1);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "00000000-0000-4000-8000-000000000001");
	run(load(FAIL_RULE "---\n" WIN_RULE "---\ntitle: t\nname: t\ncorrelation:\n"
	    "  type: temporal\n  rules: [fail, win_fail]\n  timespan: 1m\n", &rep), one, &g);
	assert_int_equal(rep.inert, 2);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 0);
}

/*
 * An inner eq window is decided by the next event after it: the outer
 * alert's sample is a line of that window, not the closing one; the
 * outer one groups by a field its inner one does not (the completing
 * event's, when the inner fired on it).
 */
static void
test_chain_lines_fields(void **state)
{
	static const char *const closing[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:10", "root", "203.0.113.5", "2"),
		FAILED("30:00", "root", "203.0.113.5", "3"), NULL,
	};
	static const char *const users[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		FAILED("01:00", "root", "198.51.100.7", "3"), FAILED("01:01", "root", "198.51.100.7", "4"),
		NULL,
	};
	struct sigma_report rep;
	struct got g;

	(void)state;
	run(load(FAIL_RULE "---\ntitle: ex\nname: ex\ncorrelation:\n  type: event_count\n"
	    "  rules: [fail]\n  group-by: [src_ip]\n  timespan: 1m\n  condition: {eq: 2}\n---\n"
	    "title: outer\nname: outer\ncorrelation:\n  type: event_count\n  rules: [ex]\n"
	    "  group-by: [src_ip]\n  timespan: 1h\n  condition: {gte: 1}\n", &rep), closing, &g);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "outer");
	assert_string_equal(g.sample[0], FAILED("00:10", "root", "203.0.113.5", "2"));
	run(load(FAIL_RULE "---\ntitle: two\nname: two\ncorrelation:\n  type: event_count\n"
	    "  rules: [fail]\n  group-by: [src_ip]\n  timespan: 10s\n  condition: {gte: 2}\n---\n"
	    "title: per user\nname: per_user\ncorrelation:\n  type: event_count\n  rules: [two]\n"
	    "  group-by: [user]\n  timespan: 1h\n  condition: {gte: 2}\n", &rep), users, &g);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "per_user");
	assert_int_equal(g.count[0], 2);
}

/*
 * One event may make at most 65,536 firings that feed other
 * correlations: 66 inner ones firing on each of 1,000 repeats make
 * 66,000; the rest are counted, the others all reach their outer ones.
 */
static void
test_chain_bound(void **state)
{
	static const char *const lines[] = {
		"Nov 25 10:00:00 web1 sshd[1]: message repeated 1000 times: [ Failed password for "
		"root from 203.0.113.5 port 1 ssh2]", NULL,
	};
	struct ms_buf b;
	struct sigma_report rep;
	struct sigma_set *s;
	struct detector *det;
	struct decode_ctx ctx;
	size_t outer = 0;
	char *text;

	(void)state;
	ms_buf_init(&b, 1u << 20);
	ms_buf_printf(&b, "%s", FAIL_RULE);
	for (int i = 0; i < 66; i++)
		ms_buf_printf(&b, "---\ntitle: i%d\nname: i%d\ncorrelation: {type: event_count, "
		    "rules: [fail], group-by: [src_ip], timespan: 1m, condition: {gte: 1}}\n---\n"
		    "title: o%d\nname: o%d\ncorrelation: {type: event_count, rules: [i%d], "
		    "group-by: [src_ip], timespan: 1m, condition: {gte: 1}}\n", i, i, i, i, i);
	assert_non_null(text = strndup((const char *)b.data, b.len));
	s = load(text, &rep);
	assert_int_equal(rep.correlations, 132);
	sigma_report_fini(&rep);
	assert_non_null(det = sigma_detector_new(s));
	memset(&ctx, 0, sizeof(ctx));
	ctx.recv_ms = INT64_C(1764064800000);
	detect_line(&det, 1, &dec, &ctx, "agent", "host", ms_str_make("t", 1),
	    ms_str_make(lines[0], strlen(lines[0])), 1, count_cb, &outer);
	assert_int_equal(outer, 65536);
	assert_int_equal(sigma_set_chain_dropped(s), 66000 - 65536);
	detector_free(det);
	free(text);
	ms_buf_fini(&b);
}

#define ROOT_RULE \
	"title: root failure\nname: fail_root\nlogsource: {product: linux, service: sshd}\n" \
	"detection:\n  sel:\n    outcome: failure\n    user: root\n  condition: sel\n"

/*
 * temporal_ordered [fail, fail_root]: the same alerts whichever of the two
 * rules comes first in the folder. A root failure ends one sequence and
 * begins the next; each of a repeated line's N events is a step of its
 * own.
 */
static void
test_ordered_documents(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "bob", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		FAILED("00:02", "root", "203.0.113.5", "3"), NULL,
	};
	static const char *const repeated[] = {
		"Nov 25 10:00:00 web1 sshd[1]: message repeated 3 times: [ Failed password for root "
		"from 203.0.113.5 port 1 ssh2]", NULL,
	};
	struct got g;

	(void)state;
	run_orders("%s---\n%s---\ntitle: O\nname: O\ncorrelation:\n  type: temporal_ordered\n"
	    "  rules: [fail, fail_root]\n  group-by: [src_ip]\n  timespan: 10m\n", FAIL_RULE,
	    ROOT_RULE, lines, &g);
	assert_int_equal(g.n, 2);
	/* three events, each both rules: [1st, 2nd], [2nd, 3rd] */
	run_orders("%s---\n%s---\ntitle: O\nname: O\ncorrelation:\n  type: temporal_ordered\n"
	    "  rules: [fail, fail_root]\n  group-by: [src_ip]\n  timespan: 10m\n", FAIL_RULE,
	    ROOT_RULE, repeated, &g);
	assert_int_equal(g.n, 2);
}

/*
 * Two inner windows decided at close by the same later line were
 * completed by different earlier events: in order, they are a sequence.
 */
static void
test_ordered_at_close(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("00:30", "bob", "203.0.113.5", "2"),
		FAILED("02:00", "root", "203.0.113.5", "3"), NULL,
	};
	struct got g;

	(void)state;
	/* both orders of the rules: the firings arrive by their time either way */
	run_orders("%s---\n%s---\ntitle: X\nname: x\ncorrelation:\n"
	    "  type: event_count\n  rules: [fail_root]\n  group-by: [src_ip]\n"
	    "  timespan: 1m\n  condition: {lt: 100}\n---\ntitle: Y\nname: y\n"
	    "correlation:\n  type: event_count\n  rules: [fail]\n  group-by: [src_ip]\n"
	    "  timespan: 1m\n  condition: {lt: 100}\n---\ntitle: O\nname: O\n"
	    "correlation:\n  type: temporal_ordered\n  rules: [x, y]\n"
	    "  group-by: [src_ip]\n  timespan: 10m\n", FAIL_RULE, ROOT_RULE, lines, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "O");
	assert_int_equal(g.last[0] - g.first[0], 30000);
}

/*
 * Correlation groups are shared by every agent and their windows follow the
 * newest event time: one line dated 2099 from one agent would put the group
 * "root" in 2099 and every honest failure after it out of the window. With
 * the collector's cap on event times (its clock + 5 s) the forged line counts
 * as one more failure, now, and the honest ones still make the alert.
 */
static void
test_future_time_capped(void **state)
{
	static const char *const lines[] = {
		"<38>1 2099-01-01T00:00:00Z evil sshd 1 - - Failed password for root from "
		    "10.9.9.9 port 1 ssh2",
		FAILED("00:01", "root", "198.51.100.1", "1"),
		FAILED("00:02", "root", "198.51.100.2", "2"),
		FAILED("00:03", "root", "198.51.100.3", "3"),
		FAILED("00:04", "root", "198.51.100.4", "4"),
		FAILED("00:05", "root", "198.51.100.5", "5"),
		NULL,
	};
	static const char *const agents[] = { "evil", "web1", "web2", "web3", "web4", "web5" };
	struct sigma_report rep;
	struct got g;

	(void)state;
	run_agents = agents;
	run_max_time = INT64_C(1764064800000) + DECODE_FUTURE_SLACK_MS;
	run(load(FAIL_RULE "---\ntitle: Spread brute force\ncorrelation:\n  type: event_count\n"
	    "  rules: [fail]\n  group-by: [user]\n  timespan: 1m\n  condition: {gte: 5}\n", &rep),
	    lines, &g);
	run_agents = NULL;
	run_max_time = 0;
	assert_int_equal(rep.correlations, 1);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "Spread brute force");
	assert_int_equal(g.count[0], 5);
	assert_string_equal(g.group[0], "root");
}

/*
 * An alert's source address is an address: the fields it comes from are
 * what a log line says (PAM's rhost= may hold a host name, or bytes that
 * would forge a log record or drive a terminal), and src_ip goes to the
 * collector's log, the stream's src_ip field and minisocctl as it is.
 */
static void
test_src_ip_only_addresses(void **state)
{
#define PAM_FAIL(rhost) "Nov 25 10:00:01 web1 sshd[9]: pam_unix(sshd:auth): authentication " \
	"failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=" rhost "  user=root"
	static const char *const lines[] = {
		PAM_FAIL("203.0.113.9"),
		PAM_FAIL("2001:db8::7"),
		PAM_FAIL("1.2.3.4\x1b[2J"),
		PAM_FAIL("attacker.example.org"),
		PAM_FAIL("1.2.3.4;ts=2025-11-25T10:00:00Z"),
		NULL,
	};
	struct sigma_report rep;
	struct got g;

	(void)state;
	run(load("title: PAM failure\nlogsource: {product: linux}\ndetection:\n"
	    "  keywords: ['authentication failure']\n  condition: keywords\nlevel: low\n", &rep),
	    lines, &g);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.src[0], "203.0.113.9");
	assert_string_equal(g.src[1], "2001:db8::7");
	assert_string_equal(g.src[2], "");
	assert_string_equal(g.src[3], "");
	assert_string_equal(g.src[4], "");
#undef PAM_FAIL
}

/*
 * A window decided at close belongs to its group: when an event of
 * another group (from another agent) decides a quiet group's window, the
 * alert names the agent of the window's last event, and its source comes
 * from the group-by only (here users, so none).
 */
/*
 * Windows decided at close, at the group cap, with lines read into one
 * buffer (as minisocctl replay's getline, or a collector reusing a
 * frame's buffer): eight users fail once each, then eight others in one
 * later second. Every line may decide four quiet windows before a group
 * is evicted (docs/rules.md), so all eight first windows are decided.
 * The budget was kept per buffer address and event time: the lines of
 * that second shared one budget of four, and the other four windows were
 * evicted undecided – alerts lost in replay that a live run raised.
 */
static void
test_at_close_cap_one_buffer(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "u1", "198.51.100.1", "1"), FAILED("00:01", "u2", "198.51.100.1", "1"),
		FAILED("00:02", "u3", "198.51.100.1", "1"), FAILED("00:03", "u4", "198.51.100.1", "1"),
		FAILED("00:04", "u5", "198.51.100.1", "1"), FAILED("00:05", "u6", "198.51.100.1", "1"),
		FAILED("00:06", "u7", "198.51.100.1", "1"), FAILED("00:07", "u8", "198.51.100.1", "1"),
		FAILED("05:00", "u9", "198.51.100.1", "1"), FAILED("05:00", "u10", "198.51.100.1", "1"),
		FAILED("05:00", "u11", "198.51.100.1", "1"), FAILED("05:00", "u12", "198.51.100.1", "1"),
		FAILED("05:00", "u13", "198.51.100.1", "1"), FAILED("05:00", "u14", "198.51.100.1", "1"),
		FAILED("05:00", "u15", "198.51.100.1", "1"), FAILED("05:00", "u16", "198.51.100.1", "1"),
		NULL,
	};
	static const char *const text = FAIL_RULE "---\ntitle: One try only\ncorrelation:\n"
	    "  type: event_count\n  rules: [fail]\n  group-by: [user]\n  timespan: 1m\n"
	    "  condition: {lt: 2}\n";
	struct detector *dets[1];
	struct decode_ctx ctx;
	struct got g;
	char buf[256];

	(void)state;
	for (int one = 0; one < 2; one++) {
		dets[0] = sigma_detector_new(load_capped(text, 8));
		assert_non_null(dets[0]);
		memset(&g, 0, sizeof(g));
		memset(&ctx, 0, sizeof(ctx));
		ctx.recv_ms = INT64_C(1764064800000);	/* 2025-11-25T10:00:00Z */
		for (uint64_t i = 0; lines[i]; i++) {
			const char *l = lines[i];

			if (one) {
				snprintf(buf, sizeof(buf), "%s", lines[i]);
				l = buf;
			}
			detect_line(dets, 1, &dec, &ctx, "agent", "host", ms_str_make("t", 1),
			    ms_str_make(l, strlen(l)), i + 1, collect_cb, &g);
		}
		if (g.n != 8)
			fail_msg("%s: %zu alerts, not 8", one ? "one buffer" : "a buffer per line", g.n);
		for (size_t i = 0; i < 8; i++) {
			char want[8];

			snprintf(want, sizeof(want), "u%zu", i + 1);
			assert_string_equal(g.group[i], want);
		}
		detector_free(dets[0]);
	}
}

static void
test_at_close_quiet_group(void **state)
{
	static const char *const lines[] = {
		FAILED("00:00", "alice", "198.51.100.1", "1"),
		FAILED("05:00", "bob", "198.51.100.2", "2"),
		NULL,
	};
	static const char *const agents[] = { "agent-a", "agent-b" };
	struct sigma_report rep;
	struct got g;

	(void)state;
	run_agents = agents;
	run(load(FAIL_RULE "---\ntitle: One try only\ncorrelation:\n  type: event_count\n"
	    "  rules: [fail]\n  group-by: [user]\n  timespan: 1m\n  condition: {lt: 2}\n", &rep),
	    lines, &g);
	run_agents = NULL;
	assert_int_equal(rep.correlations, 1);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "One try only");
	assert_int_equal(g.count[0], 1);
	assert_string_equal(g.agent[0], "agent-a");
	assert_string_equal(g.src[0], "");
}

/*
 * A quiet group's window decided at close feeds the correlations that
 * listen to it with its own group-by values, though the group is
 * forgotten before they are fed (a key this long is held outside the
 * group's record: the sanitizers see a read of it after it was freed).
 */
static void
test_at_close_quiet_chain(void **state)
{
#define LONG_USER "a-user-name-long-enough-to-be-kept-apart"
	static const char *const lines[] = {
		FAILED("00:00", LONG_USER, "198.51.100.1", "1"),
		FAILED("05:00", "bob", "198.51.100.2", "2"),
		NULL,
	};
	static const char *const agents[] = { "agent-a", "agent-b" };
	struct sigma_report rep;
	struct got g;

	(void)state;
	run_agents = agents;
	run(load(FAIL_RULE "---\ntitle: One try only\nname: one_try\ncorrelation:\n"
	    "  type: event_count\n  rules: [fail]\n  group-by: [user]\n  timespan: 1m\n"
	    "  condition: {lt: 2}\n---\ntitle: Outer\ncorrelation:\n  type: event_count\n"
	    "  rules: [one_try]\n  group-by: [user]\n  timespan: 10m\n  condition: {gte: 1}\n",
	    &rep), lines, &g);
	run_agents = NULL;
	assert_int_equal(rep.correlations, 2);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "Outer");
	assert_string_equal(g.group[0], LONG_USER);
	/* the inner window's origin, not the deciding event's (agent-b, 198.51.100.2) */
	assert_string_equal(g.agent[0], "agent-a");
	assert_string_equal(g.src[0], "");
#undef LONG_USER
}

/*
 * Feeds of a chain's correlations go by event time, then arrival, whatever
 * set them off: an inner window decided at close by a failure is a step
 * before that failure; two windows whose last events were two lines of the
 * same second are two steps; a repeated line's N events reach an outer
 * correlation one by one, with what each set off in between.
 */
static void
test_chain_time_order(void **state)
{
	static const char *const closing[] = {
		FAILED("00:00", "root", "203.0.113.5", "1"), FAILED("02:00", "root", "203.0.113.5", "2"),
		NULL,
	};
	static const char *const same_second[] = {
		FAILED("00:00", "bob", "203.0.113.5", "1"), FAILED("00:00", "root", "203.0.113.5", "2"),
		FAILED("02:00", "carol", "203.0.113.5", "3"), NULL,
	};
	static const char *const repeated[] = {
		"Nov 25 10:00:00 web1 sshd[1]: message repeated 3 times: [ Failed password for root "
		"from 203.0.113.5 port 1 ssh2]", NULL,
	};
	static const char *const rx = "title: rx\nname: rx\nlogsource: {product: linux, service: sshd}\n"
	    "detection:\n  sel:\n    outcome: failure\n    user: [bob, carol]\n  condition: sel\n";
	static const char *const ry = "title: ry\nname: ry\nlogsource: {product: linux, service: sshd}\n"
	    "detection:\n  sel:\n    outcome: failure\n    user: [root, carol]\n  condition: sel\n";
	static const char *const three[] = {
		FAILED("00:00", "bob", "203.0.113.5", "1"), FAILED("00:01", "root", "203.0.113.5", "2"),
		ACCEPTED("00:02", "root", "203.0.113.5"), NULL,
	};
	static const char *const root_any = "title: root\nname: root_any\n"
	    "logsource: {product: linux, service: sshd}\ndetection:\n  sel:\n"
	    "    user: root\n  condition: sel\n";
	struct sigma_report rep;
	struct got g;

	(void)state;
	run_orders("%s---\n%s---\ntitle: X\nname: x\ncorrelation: {type: event_count, "
	    "rules: [fail_root], group-by: [src_ip], timespan: 1m, condition: {lt: 100}}\n---\n"
	    "title: O\nname: O\ncorrelation: {type: temporal_ordered, rules: [x, fail], "
	    "group-by: [src_ip], timespan: 10m}\n", ROOT_RULE, FAIL_RULE, closing, &g);
	/* the closed window, then the failure that closed it */
	assert_int_equal(g.n, 1);
	run_orders("%s---\n%s---\ntitle: X\nname: x\ncorrelation: {type: event_count, "
	    "rules: [rx], group-by: [src_ip], timespan: 1m, condition: {lt: 100}}\n---\n"
	    "title: Y\nname: y\ncorrelation: {type: event_count, rules: [ry], group-by: [src_ip], "
	    "timespan: 1m, condition: {lt: 100}}\n---\ntitle: O\nname: O\ncorrelation: {type: "
	    "temporal_ordered, rules: [x, y], group-by: [src_ip], timespan: 10m}\n", rx, ry,
	    same_second, &g);
	/* two windows ending on two lines of one second, in order */
	assert_int_equal(g.n, 1);
	/*
	 * temporal: the event that completes a window (the root failure: the
	 * inner A and fail) begins the next with its other match, whichever
	 * comes first; the accepted root login then completes that one.
	 */
	run_orders("%s---\n%s---\ntitle: A\nname: a\ncorrelation: {type: event_count, "
	    "rules: [root_any], group-by: [src_ip], timespan: 1m, condition: {gte: 1}}\n---\n"
	    "title: B\nname: b\ncorrelation: {type: temporal, rules: [a, fail], "
	    "group-by: [src_ip], timespan: 10m}\n", root_any, FAIL_RULE, three, &g);
	assert_int_equal(g.n, 2);
	run(load(FAIL_RULE "---\ntitle: inner\nname: inner\ncorrelation: {type: event_count, "
	    "rules: [fail], group-by: [src_ip], timespan: 1m, condition: {gte: 2}}\n---\n"
	    "title: O\nname: O\ncorrelation: {type: temporal_ordered, rules: [inner, fail], "
	    "group-by: [src_ip], timespan: 10m}\n", &rep), repeated, &g);
	sigma_report_fini(&rep);
	/* the 2nd failure completes inner; the 3rd follows it */
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "O");
}

/*
 * service: syslog takes syslog lines only (rule_applies: fmt), and a
 * journald JSON line of the same program has the same product, service
 * and category. Which rules run must not depend on which of the two the
 * set saw first: the rule list cached per logsource took the first one's
 * answer for both, so a syslog line after a journald line (or an auditd
 * line of audit.log before audisp's) was never matched.
 */
static void
test_route_syslog_fmt(void **state)
{
	static const char *const journal_first[] = {
		"{\"MESSAGE\":\"routemarker one\",\"SYSLOG_IDENTIFIER\":\"foo\","
		"\"__REALTIME_TIMESTAMP\":\"1764064000000000\",\"_HOSTNAME\":\"h1\"}",
		"Nov 25 09:00:01 web1 foo[12]: routemarker two",
		NULL,
	};
	static const char *const syslog_first[] = {
		"Nov 25 09:00:01 web1 foo[12]: routemarker two",
		"{\"MESSAGE\":\"routemarker one\",\"SYSLOG_IDENTIFIER\":\"foo\","
		"\"__REALTIME_TIMESTAMP\":\"1764064000000000\",\"_HOSTNAME\":\"h1\"}",
		NULL,
	};
	static const char rule[] = "title: kw\nname: kw\n"
	    "logsource: {product: linux, service: syslog}\n"
	    "detection:\n  k: [routemarker]\n  condition: k\nlevel: high\n";
	struct sigma_report rep;
	struct got g;

	(void)state;
	run(load(rule, &rep), journal_first, &g);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.sample[0], "Nov 25 09:00:01 web1 foo[12]: routemarker two");
	run(load(rule, &rep), syslog_first, &g);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.sample[0], "Nov 25 09:00:01 web1 foo[12]: routemarker two");
}

/*
 * Sigma filters (documents with filter: instead of detection:), as pySigma
 * applies them: the rule matches where its own condition and the
 * filter's both hold. A filter names its rules by name or id, or says any
 * (every rule of its logsource); its searches are its own – the rule's
 * "1 of them" never takes them in, and the filter's "them" means only its
 * searches, even when one has the name of a search of the rule. A filter
 * in another file, before or after the rule, applies the same.
 */
static void
test_filters(void **state)
{
#define SSH(user, verb, ip) "Nov 25 10:00:01 web1 sshd[9]: " verb " password for " user \
	" from " ip " port 22 ssh2"
	static const char *const lines[] = {
		SSH("root", "Failed", "192.0.2.9"),	/* fail: the scanner's; kw */
		SSH("root", "Failed", "192.0.2.10"),	/* fail, kw */
		SSH("backup", "Failed", "192.0.2.10"),	/* both filtered (user backup) */
		SSH("nobody", "Accepted", "192.0.2.10"),	/* kw filtered (user nobody) */
		SSH("alice", "Accepted", "192.0.2.11"),	/* kw */
		NULL,
	};
	static const char *const rules =
	    FAIL_RULE "---\n"
	    "title: kw\nname: kw\nlogsource: {product: linux, service: sshd}\n"
	    "detection:\n  a: ['Failed password']\n  b: ['Accepted password']\n"
	    "  condition: 1 of them\nlevel: low\n";
	static const char *const filters =
	    "title: Our scanner\nlogsource: {product: linux, service: sshd}\n"
	    "filter:\n  rules: [00000000-0000-4000-8000-000000000001]\n"
	    "  scanner:\n    src_ip: 192.0.2.9\n  condition: not scanner\n"
	    "---\n"
	    "title: Service accounts\nlogsource: {product: linux}\n"
	    "filter:\n  rules: any\n  a:\n    user: backup\n  b:\n    user: nobody\n"
	    "  condition: not 1 of them\n";
	static const char *const order[2][2] = { { "a.yml", "b.yml" }, { "b.yml", "a.yml" } };
	char err[256];

	(void)state;
	for (int o = 0; o < 2; o++) {
		struct sigma_report rep;
		struct sigma_set *set;
		struct got g;
		char path[300];

		/* The rules' file first, then the filters', then the other way round. */
		snprintf(path, sizeof(path), "%s/f%d", dir, o);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "f%d/%s", o, order[o][0]);
		write_file(path, rules);
		snprintf(path, sizeof(path), "f%d/%s", o, order[o][1]);
		write_file(path, filters);
		sigma_report_init(&rep);
		assert_int_equal(chdir(dir), 0);
		snprintf(path, sizeof(path), "f%d", o);
		assert_non_null(set = sigma_set_load(path, NULL, &rep, err, sizeof(err)));
		assert_int_equal(rep.rejected, 0);
		assert_int_equal(rep.rules, 2);
		assert_int_equal(rep.filters, 2);
		sigma_report_fini(&rep);
		run(set, lines, &g);
		assert_int_equal(g.n, 4);
		assert_string_equal(g.rule[0], "kw");
		assert_string_equal(g.src[0], "192.0.2.9");
		assert_string_equal(g.rule[1], "00000000-0000-4000-8000-000000000001");
		assert_string_equal(g.src[1], "192.0.2.10");
		assert_string_equal(g.rule[2], "kw");
		assert_string_equal(g.rule[3], "kw");
		assert_string_equal(g.src[3], "192.0.2.11");
	}
#undef SSH
}

/*
 * A filter that cannot do what it says is never silently ignored: a rule
 * it names that no rule has, a rule of another logsource, a field its
 * rule's events never carry (the rule still loads, unfiltered), a
 * condition naming a search it does not have, no rules: key, a
 * correlation named (filters tune the rules it counts).
 */
static void
test_filter_errors(void **state)
{
	static const struct {
		const char *filter, *want;
	} cases[] = {
		{ "title: t\nlogsource: {product: linux}\nfilter:\n  rules: [fial]\n"
		  "  s: {user: x}\n  condition: not s\n",
		  "rejected: r.yml:12: filter \"t\": no rule has the id or name 'fial'\n" },
		{ "title: t\nlogsource: {category: webserver}\nfilter:\n  rules: [fail]\n"
		  "  s: {c-ip: 10.0.0.1}\n  condition: not s\n",
		  "rejected: r.yml:12: filter \"t\": not the logsource of rule 'fail'\n" },
		{ "title: t\nlogsource: {product: linux}\nfilter:\n  rules: [fail]\n"
		  "  s: {cs-method: GET}\n  condition: not s\n",
		  "r.yml:16: field 'cs-method' is not in events of logsource" },
		{ "title: t\nlogsource: {product: linux}\nfilter:\n  rules: [fail]\n"
		  "  s: {user: x}\n  condition: not t\n",
		  "rejected: r.yml:17: condition: unknown search identifier 't'\n" },
		{ "title: t\nlogsource: {product: linux}\nfilter:\n  s: {user: x}\n"
		  "  condition: not s\n", "filter: rules is required" },
		{ "title: bf\nname: bf\ncorrelation:\n  type: event_count\n  rules: [fail]\n"
		  "  timespan: 1m\n  condition: {gte: 2}\n---\n"
		  "title: t\nlogsource: {product: linux}\nfilter:\n  rules: [bf]\n"
		  "  s: {user: x}\n  condition: not s\n",
		  "filters apply to detection rules, not to the correlation 'bf' (filter the rules "
		  "it counts)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sigma_report rep;
		char text[2048];

		snprintf(text, sizeof(text), "%s---\n%s", FAIL_RULE, cases[i].filter);
		sigma_set_free(load(text, &rep));
		if (rep.rejected != 1 || strstr(rep.text.data, cases[i].want) == NULL)
			fail_msg("case %zu: rejected=%zu, want '%s' in:\n%s", i, rep.rejected,
			    cases[i].want, rep.text.data ? rep.text.data : "");
		assert_int_equal(rep.rules, 1);
		assert_int_equal(rep.filters, 0);
		sigma_report_fini(&rep);
	}
}

/*
 * A filter is read however YAML spells its filter: key: quoted, with a
 * blank before the colon, in flow style, after a byte-order mark. Before,
 * the first walk looked for the bytes "filter:" at the start of a line,
 * and any other spelling was skipped there and by the second walk alike:
 * the filter was silently never applied (rejected=0, filters=0). A
 * spelling it still cannot see is rejected, never ignored; and so is a
 * document that is both a filter and a rule or a correlation, which loaded
 * as the rule (alerting on what the filter was to tune out).
 */
static void
test_filter_spellings(void **state)
{
#define SCAN_SSH "Nov 25 10:00:01 web1 sshd[9]: Failed password for root from 192.0.2.9 " \
	"port 22 ssh2"
#define FBODY "  rules: [fail]\n  s: {src_ip: 192.0.2.9}\n  condition: not s\n"
#define FHEAD "title: t\nlogsource: {product: linux, service: sshd}\n"
	static const char *const lines[] = { SCAN_SSH, NULL };
	static const struct {
		const char *text, *want;	/* want NULL: the filter applies */
	} cases[] = {
		{ FAIL_RULE "---\n" FHEAD "\"filter\":\n" FBODY, NULL },
		{ FAIL_RULE "---\n" FHEAD "'filter' :\n" FBODY, NULL },
		{ FAIL_RULE "---\n" FHEAD "filter  :\n" FBODY, NULL },
		{ FAIL_RULE "---\n{title: t, logsource: {product: linux, service: sshd}, filter: "
		  "{rules: [fail], s: {src_ip: 192.0.2.9}, condition: not s}}\n", NULL },
		{ FAIL_RULE "--- {title: t, logsource: {product: linux, service: sshd},\n  filter: "
		  "{rules: [fail], s: {src_ip: 192.0.2.9}, condition: not s}}\n", NULL },
		{ "\xef\xbb\xbf" "filter:\n" FBODY FHEAD "---\n" FAIL_RULE, NULL },
		{ FAIL_RULE "---\n" FHEAD "? filter\n:\n" FBODY,
		  "rejected: r.yml:12: a Sigma filter is read where its filter: key starts a line" },
		{ FAIL_RULE "---\n" FHEAD "\"filt\\x65r\":\n" FBODY,
		  "rejected: r.yml:12: a Sigma filter is read where its filter: key starts a line" },
		{ FAIL_RULE "---\n" FHEAD "filter:\n" FBODY "detection:\n  s: {src_ip: 192.0.2.9}\n"
		  "  condition: s\n", "rejected: r.yml:12: a document is a rule (detection:), a "
		  "correlation (correlation:) or a Sigma filter (filter:), not two of them\n" },
		{ FAIL_RULE "---\n" FHEAD "filter:\n" FBODY "correlation: {type: event_count, "
		  "rules: [fail], timespan: 1m, condition: {gte: 2}}\n", "rejected: r.yml:12: a "
		  "document is a rule (detection:), a correlation (correlation:) or a Sigma filter "
		  "(filter:), not two of them\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sigma_report rep;
		struct got g;

		run(load(cases[i].text, &rep), lines, &g);
		if (cases[i].want == NULL) {
			if (rep.rejected != 0 || rep.filters != 1 || g.n != 0)
				fail_msg("case %zu: rejected=%zu filters=%zu alerts=%zu:\n%s", i,
				    rep.rejected, rep.filters, g.n, rep.text.data ? rep.text.data : "");
		} else if (rep.rejected != 1 || rep.filters != 0 || g.n != 1 ||
		    strstr(rep.text.data ? rep.text.data : "", cases[i].want) == NULL) {
			fail_msg("case %zu: rejected=%zu filters=%zu alerts=%zu, want '%s' in:\n%s", i,
			    rep.rejected, rep.filters, g.n, cases[i].want,
			    rep.text.data ? rep.text.data : "");
		}
		assert_int_equal(rep.rules, 1);
		sigma_report_fini(&rep);
	}
#undef FHEAD
#undef FBODY
#undef SCAN_SSH
}

/*
 * rules: any takes every rule whose logsource fits, and a broad logsource
 * (product: linux) fits rules whose events never carry the filter's field
 * (a firewall rule has no user): there the filter is applied as pySigma
 * applies it (its search cannot match, "not a" holds), not refused. Before,
 * each such rule was a rejected line ("field 'user' is not in events of
 * logsource ... category=firewall"): rules check failed, and so did every
 * SIGHUP reload (strict), for the filter docs/rules.md shows. A field no
 * event of the filter's own logsource carries is still rejected, once.
 */
static void
test_filter_any_fields(void **state)
{
#define FWR(n) "title: fw" #n "\nname: fw" #n "\nlogsource: {product: linux, category: " \
	"firewall}\ndetection:\n  sel: {protocol: tcp}\n  condition: sel\nlevel: low\n---\n"
	static const char *const lines[] = {
		"Nov 25 10:00:01 web1 sshd[9]: Failed password for backup from 192.0.2.9 port 22 ssh2",
		"Nov 25 10:00:01 web1 sshd[9]: Failed password for root from 192.0.2.9 port 22 ssh2",
		"Nov 25 10:00:02 web1 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.5 "
		"DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22",
		NULL,
	};
	struct sigma_report rep;
	struct got g;

	(void)state;
	run(load(FWR(1) FWR(2) FAIL_RULE "---\ntitle: Service accounts\n"
	    "logsource: {product: linux}\nfilter:\n  rules: any\n  a: {user: backup}\n"
	    "  condition: not a\n", &rep), lines, &g);
	if (rep.rejected != 0)
		fail_msg("%s", rep.text.data);
	assert_int_equal(rep.rules, 3);
	assert_int_equal(rep.filters, 1);
	sigma_report_fini(&rep);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.rule[0], "00000000-0000-4000-8000-000000000001");
	assert_string_equal(g.rule[1], "fw1");
	assert_string_equal(g.rule[2], "fw2");

	/* A typo where the filter's logsource says which fields there are: once. */
	sigma_set_free(load(FWR(1) FWR(2) "title: t\nlogsource: {category: firewall}\n"
	    "filter:\n  rules: any\n  a: {usr: backup}\n  condition: not a\n", &rep));
	if (rep.rejected != 1 || strstr(rep.text.data, "rejected: r.yml:21: field 'usr' is not "
	    "in events of logsource product= service= category=firewall") == NULL)
		fail_msg("rejected=%zu:\n%s", rep.rejected, rep.text.data ? rep.text.data : "");
	assert_int_equal(rep.rules, 2);
	assert_int_equal(rep.filters, 0);
	sigma_report_fini(&rep);
#undef FWR
}

/*
 * At most 16 filters apply to one rule; the others are said in one line
 * per rule, not one per filter: before, 20 filters on a rule were 4
 * rejected lines, and 500 filters for any rule over the shipped rules and
 * SigmaHQ's were 121969, which filled the report's 4 MiB and pushed out
 * the lines of the documents really rejected.
 */
static void
test_filter_cap(void **state)
{
	struct sigma_report rep;
	struct ms_buf text;

	(void)state;
	ms_buf_init(&text, 1u << 20);
	assert_int_equal(ms_buf_printf(&text, "%s", FAIL_RULE), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(ms_buf_printf(&text, "---\ntitle: f%d\nlogsource: {product: linux}\n"
		    "filter:\n  rules: [fail]\n  s: {src_ip: 192.0.2.%d}\n  condition: not s\n", i, i),
		    0);
	assert_int_equal(ms_buf_add(&text, "", 1), 0);
	sigma_set_free(load(text.data, &rep));
	if (rep.rejected != 1 || strstr(rep.text.data, "rejected: r.yml:124: more than 16 filters "
	    "apply to one rule: this one and 3 after it (filter \"f16\" and on not applied to rule "
	    "00000000-0000-4000-8000-000000000001 at r.yml:1)\n") == NULL)
		fail_msg("rejected=%zu:\n%s", rep.rejected, rep.text.data ? rep.text.data : "");
	assert_int_equal(rep.rules, 1);
	assert_int_equal(rep.filters, 16);
	sigma_report_fini(&rep);
	ms_buf_fini(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_cases),
		cmocka_unit_test(test_chain_depth),
		cmocka_unit_test(test_folder_loop),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_chain_generate),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_twin_order_evictions),
		cmocka_unit_test(test_value_count_values),
		cmocka_unit_test(test_chain_order),
		cmocka_unit_test(test_quiet_rules),
		cmocka_unit_test(test_chain_lines_fields),
		cmocka_unit_test(test_chain_bound),
		cmocka_unit_test(test_ordered_documents),
		cmocka_unit_test(test_ordered_at_close),
		cmocka_unit_test(test_at_close_quiet_group),
		cmocka_unit_test(test_at_close_cap_one_buffer),
		cmocka_unit_test(test_at_close_quiet_chain),
		cmocka_unit_test(test_future_time_capped),
		cmocka_unit_test(test_src_ip_only_addresses),
		cmocka_unit_test(test_chain_time_order),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_filter_errors),
		cmocka_unit_test(test_filter_spellings),
		cmocka_unit_test(test_filter_any_fields),
		cmocka_unit_test(test_filter_cap),
		cmocka_unit_test(test_route_syslog_fmt),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char path[256];
		snprintf(path, sizeof(path), "%s/r.yml", dir);
		unlink(path);
		rmdir(dir);
	}
	return rc;
}
