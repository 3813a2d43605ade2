/*
 * The literal prefilter never changes results.
 *
 * 1. Table: one rule per case (globs, keywords, |all, not, regular
 *    expressions of every syntax the literal reader knows or gives up on),
 *    an event, and whether the rule matches; the filter must let every
 *    matching event through, and must skip the ones the case says it can.
 *    Rules sharing literals (one id per distinct literal of a field) and
 *    fields with more literals than the direct search takes give the same
 *    answers; so do remembered values, fields cached by the address and
 *    the place of their names, and the direct search at its limit.
 * 2. Equivalence: every rule of rules/ and of the public SigmaHQ folders
 *    (when present) runs with and without the filter on the same stream –
 *    the replay fixtures under tests/data (when present) and generated
 *    sshd, sudo, syslog, nginx and auditd lines carrying the strings the
 *    rules look for, in mixed case – and the alerts (rule, line, order)
 *    must be identical.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "detect.h"
#include "ms_buf.h"
#include "ms_yaml.h"
#include "sigma.h"
#include "sigma_prefilter.h"
#include "sigma_set.h"
#include "test_sigma_util.h"

static struct decoded dec;	/* big: static */

/* --- 1. table ------------------------------------------------------------ */

struct pf_case {
	const char *detection;	/* YAML under detection: */
	const char *field;	/* event field name, NULL: none */
	const char *value;
	const char *msg;	/* the message */
	bool match;		/* the rule matches */
	bool may;		/* the filter lets it through (true whenever match) */
};

static const struct pf_case cases[] = {
	/* plain globs and keywords */
	{ "  s:\n    F|contains: evil\n  condition: s\n", "F", "an EViL thing", "", true, true },
	{ "  s:\n    F|contains: evil\n  condition: s\n", "F", "good", "", false, false },
	{ "  s:\n    F|contains: evil\n  condition: s\n", "G", "evil", "", false, false },
	{ "  k:\n    - 'wget * http*'\n  condition: k\n", NULL, NULL, "x WGET a http://", true, true },
	{ "  k:\n    - 'wget * http*'\n  condition: k\n", NULL, NULL, "curl http://", false, false },
	/*
	 * Short values are searched directly, long ones (over PF_DIRECT_LEN
	 * bytes) with Hyperscan: both paths, found and not found; literals
	 * sharing their first byte.
	 */
	{ "  s:\n    F|contains: [abc, abd, xyz]\n  condition: s\n", "F", "aab-ABD", "", true, true },
	{ "  s:\n    F|contains: [abc, abd, xyz]\n  condition: s\n", "F", "aab-ab", "", false, false },
	{ "  s:\n    F|contains: evil\n  condition: s\n", "F",
	  "a rather long value that goes on and on past the direct budget and is EVIL", "", true,
	  true },
	{ "  s:\n    F|contains: evil\n  condition: s\n", "F",
	  "a rather long value that goes on and on past the direct budget and is good", "", false,
	  false },
	{ "  s:\n    F|endswith: vil\n  condition: s\n", "F", "eVIl", "", true, true },
	{ "  s:\n    F|endswith: vil\n  condition: s\n", "F", "vi", "", false, false },
	/* field names are case-insensitive */
	{ "  s:\n    user: root\n  condition: s\n", "User", "ROOT", "", true, true },
	/*
	 * AND needs every side (each side is a clause); a clause on a field no
	 * rule's best clause names is not scanned for (one more field searched
	 * per event costs more than it saves) but checked as a guard once the
	 * rest has been found: F absent, or without "x1", rules the rule out.
	 * OR needs every side to have literals.
	 */
	{ "  a:\n    F: x1\n  b:\n    G|startswith: abc\n  condition: a and b\n", "G", "abcd", "", false,
	  false },
	{ "  a:\n    F|contains: x1\n  b:\n    G|startswith: abc\n  condition: a and b\n", "G", "abcd",
	  "", false, false },
	{ "  a:\n    F|contains: x1\n  b:\n    F|startswith: abc\n  condition: a and b\n", "F", "abcd",
	  "", false, false },
	{ "  s:\n    F|startswith: EXECVE\n    F|endswith: chmod\n  condition: s\n", "F", "execve ls",
	  "", false, false },
	/* OR of maps: clauses joined rank by rank, so the weaker values still count */
	{ "  a:\n    F|startswith: EXECVE\n    F|contains: chmod\n    F|endswith: 777\n  b:\n"
	  "    F|startswith: EXECVE\n    F|contains: cp\n    F|endswith: /bin/sh\n"
	  "  condition: a or b\n", "F", "EXECVE ls", "", false, false },
	{ "  a:\n    F|startswith: EXECVE\n    F|contains: chmod\n    F|endswith: 777\n  b:\n"
	  "    F|startswith: EXECVE\n    F|contains: cp\n    F|endswith: /bin/sh\n"
	  "  condition: a or b\n", "F", "EXECVE cp /bin/sh", "", true, true },
	/* a regex needs each of its literal runs */
	{ "  s:\n    F|re: 'abc.*xyz'\n  condition: s\n", "F", "abc only", "", false, false },
	{ "  s:\n    F|re: 'abc.*xyz'\n  condition: s\n", "F", "abc and xyz", "", true, true },
	/* a run glued to the plain alternatives of the group after it: "nc", "ncat" */
	{ "  s:\n    F|re: '\\bn(?:c|cat)\\s+-e'\n  condition: s\n", "F", "ncat -e", "", true, true },
	{ "  s:\n    F|re: '\\bn(?:c|cat)\\s+-e'\n  condition: s\n", "F", "nmap -e", "", false, false },
	{ "  s:\n    F|re: 'a(\\.exe|\\.bin)'\n  condition: s\n", "F", "x.a.bin", "", true, true },
	{ "  s:\n    F|re: 'a(\\.exe|\\.bin)'\n  condition: s\n", "F", "a.txt .bin", "", false, false },
	/* ... not when the group may repeat or be absent */
	{ "  s:\n    F|re: 'n(?:c|cat)?x'\n  condition: s\n", "F", "nx", "", true, true },
	{ "  s:\n    F|re: 'n(?:c|cat)+x'\n  condition: s\n", "F", "nccx", "", true, true },
	/* one-byte runs: all of them when nothing longer is known ... */
	{ "  s:\n    F|re: '\\(\\s*\\)\\s*\\{'\n  condition: s\n", "F", "() {", "", true, true },
	{ "  s:\n    F|re: '\\(\\s*\\)\\s*\\{'\n  condition: s\n", "F", "(x)", "", false, false },
	/* ... and no common one beside a rarer one (cheaper to confirm than to scan for) */
	{ "  s:\n    F|re: 'ab.c'\n  condition: s\n", "F", "abx", "", false, true },
	{ "  a:\n    F: x1\n  b:\n    G: '*'\n  condition: a or b\n", "G", "zzz", "", true, true },
	/* not and null put no constraint */
	{ "  s:\n    F: secret\n  condition: not s\n", "F", "public", "", true, true },
	{ "  s:\n    F: null\n  condition: s\n", NULL, NULL, "", true, true },
	/* |all: every value; one is enough for the filter */
	{ "  s:\n    F|contains|all: [aa, bb]\n  condition: s\n", "F", "xbbxaa", "", true, true },
	{ "  s:\n    F|contains|all: [aa, bb]\n  condition: s\n", "F", "cc", "", false, false },
	/* |cased values are filtered case-insensitively (a superset) */
	{ "  s:\n    F|cased: Abc\n  condition: s\n", "F", "abc", "", false, true },
	/* regular expressions */
	{ "  s:\n    F|re: '(?i)\\bunion\\s+select\\b'\n  condition: s\n", "F", "1 UNION  SELECT 2", "",
	  true, true },
	{ "  s:\n    F|re: '(?i)\\bunion\\s+select\\b'\n  condition: s\n", "F", "benign", "", false,
	  false },
	{ "  s:\n    F|re: 'ab?c'\n  condition: s\n", "F", "ac", "", true, true },
	{ "  s:\n    F|re: 'ab*c'\n  condition: s\n", "F", "ac", "", true, true },
	{ "  s:\n    F|re: 'ab{0,2}c'\n  condition: s\n", "F", "ac", "", true, true },
	{ "  s:\n    F|re: 'ab+c'\n  condition: s\n", "F", "abbbc", "", true, true },
	{ "  s:\n    F|re: 'x(abc|def)?y'\n  condition: s\n", "F", "xy", "", true, true },
	{ "  s:\n    F|re: 'x(abc|def)y'\n  condition: s\n", "F", "xdefy", "", true, true },
	{ "  s:\n    F|re: 'x(abc|def)y'\n  condition: s\n", "F", "qqq", "", false, false },
	{ "  s:\n    F|re: 'foo|ba[rz]'\n  condition: s\n", "F", "baz", "", true, true },
	{ "  s:\n    F|re: 'foo|.*'\n  condition: s\n", "F", "zzz", "", true, true },
	{ "  s:\n    F|re: '\\x41BC'\n  condition: s\n", "F", "ABC", "", true, true },
	{ "  s:\n    F|re: '\\p{Lu}x'\n  condition: s\n", "F", "Qx", "", true, true },
	{ "  s:\n    F|re: '[a-z]{2}\\d+'\n  condition: s\n", "F", "ab12", "", true, true },
	{ "  s:\n    F|re: 'a{2}'\n  condition: s\n", "F", "aa", "", true, true },
	{ "  s:\n    F|re: 'ab{,2}c'\n  condition: s\n", "F", "ab{,2}c", "", true, true },
	{ "  s:\n    F|re: '(?x) a b # c'\n  condition: s\n", "F", "ab", "", true, true },
	{ "  s:\n    F|re: '\\Qa.b\\E'\n  condition: s\n", "F", "a.b", "", true, true },
	{ "  s:\n    F|re: '(?=.*secret)pass'\n  condition: s\n", "F", "pass secret", "", true, true },
	{ "  s:\n    F|re: '(?<n>ab)\\k<n>'\n  condition: s\n", "F", "abab", "", true, true },
	{ "  s:\n    F|re: 'a(?#note)b'\n  condition: s\n", "F", "ab", "", true, true },
	{ "  s:\n    F|re: '(?i:HeLLo) world'\n  condition: s\n", "F", "hello world", "", true, true },
	{ "  s:\n    F|re: 'x[]y]z'\n  condition: s\n", "F", "x]z", "", true, true },
	{ "  s:\n    F|re: '^/etc/(passwd|shadow)$'\n  condition: s\n", "F", "/etc/shadow", "", true,
	  true },
	{ "  s:\n    F|re: '^/etc/(passwd|shadow)$'\n  condition: s\n", "F", "/var/log", "", false,
	  false },
	/*
	 * A run goes on through small classes, plain alternatives and
	 * zero-width assertions, as the set of its products ("or " or
	 * "and\t" ..., not "or" in "order"); an atom repeated at least once
	 * ends it and starts the next run ("\s+select" needs " select").
	 */
	{ "  s:\n    F|re: '(?i)\\b(?:or|and)\\s+1'\n  condition: s\n", "F", "x OR\t1", "", true,
	  true },
	{ "  s:\n    F|re: '(?i)\\b(?:or|and)\\s+1'\n  condition: s\n", "F", "order=1&band=1", "",
	  false, false },
	{ "  s:\n    F|re: 'ab[xy]cd'\n  condition: s\n", "F", "abYcd", "", false, true },
	{ "  s:\n    F|re: 'ab[xy]cd'\n  condition: s\n", "F", "abycd", "", true, true },
	{ "  s:\n    F|re: 'ab[xy]cd'\n  condition: s\n", "F", "ab-cd", "", false, false },
	{ "  s:\n    F|re: '\\s+select'\n  condition: s\n", "F", "1\tselect", "", true, true },
	{ "  s:\n    F|re: '\\s+select'\n  condition: s\n", "F", "selection", "", false, false },
	{ "  s:\n    F|re: 'foo\\tbar'\n  condition: s\n", "F", "foo\tbar", "", true, true },
	{ "  s:\n    F|re: 'foo\\tbar'\n  condition: s\n", "F", "foo bar", "", false, false },
	{ "  s:\n    F|re: 'a\\x2d\\x{2D}b'\n  condition: s\n", "F", "a--b", "", true, true },
	{ "  s:\n    F|re: 'a\\x2d\\x{2D}b'\n  condition: s\n", "F", "a-b", "", false, false },
	{ "  s:\n    F|re: 'foo\\b-bar'\n  condition: s\n", "F", "foo-bar", "", true, true },
	{ "  s:\n    F|re: 'foo\\b-bar'\n  condition: s\n", "F", "foo -bar", "", false, false },
	{ "  s:\n    F|re: '(?:ab|cd)+x'\n  condition: s\n", "F", "abcdx", "", true, true },
	{ "  s:\n    F|re: '(?:ab|cd)+x'\n  condition: s\n", "F", "cd-x", "", false, false },
	{ "  s:\n    F|re: 'a\\{b'\n  condition: s\n", "F", "a{b", "", true, true },
	{ "  s:\n    F|re: 'x{y'\n  condition: s\n", "F", "x{y", "", true, true },
	/* classes of many bytes, negated or with escapes of many end the run */
	{ "  s:\n    F|re: 'abc[a-z]def'\n  condition: s\n", "F", "abcqdef", "", true, true },
	{ "  s:\n    F|re: 'abc[^x]def'\n  condition: s\n", "F", "abc-def", "", true, true },
	{ "  s:\n    F|re: 'abc[\\dx]def'\n  condition: s\n", "F", "abc7def", "", true, true },
	{ "  s:\n    F|re: 'abc[\\w]def'\n  condition: s\n", "F", "abc_def", "", true, true },
	{ "  s:\n    F|re: 'abc[[:digit:]]def'\n  condition: s\n", "F", "abc5def", "", true, true },
	{ "  s:\n    F|re: 'abc[\\s-]def'\n  condition: s\n", "F", "abc-def", "", true, true },
	{ "  s:\n    F|re: 'abc[\\x20-\\x22]def'\n  condition: s\n", "F", "abc!def", "", true, true },
	{ "  s:\n    F|re: 'abc[\\x20-\\x22]def'\n  condition: s\n", "F", "abc#def", "", false,
	  false },
	{ "  s:\n    F|re: '(?i)abc[X-Z]def'\n  condition: s\n", "F", "ABCydef", "", true, true },
	{ "  s:\n    F|re: 'abc[\\b]def'\n  condition: s\n", "F", "abc\bdef", "", true, true },
	{ "  s:\n    F|re: 'abc\\Rdef'\n  condition: s\n", "F", "abc\r\ndef", "", true, true },
	{ "  s:\n    F|re: 'abc\\hdef'\n  condition: s\n", "F", "abc\xa0" "def", "", true, true },
	{ "  s:\n    F|re: 'abc\\vdef'\n  condition: s\n", "F", "abc\x85" "def", "", true, true },
	/* a group named the Perl way is skipped whole: its name is no literal */
	{ "  s:\n    F|re: \"(?'nm'ab)c\"\n  condition: s\n", "F", "abc", "", true, true },
	{ "  s:\n    F|re: '(?P<nm>ab)c'\n  condition: s\n", "F", "abc", "", true, true },
	/*
	 * (A and B) or (C and D) needs every union of a clause of each side:
	 * "pppppp" and "ssss" satisfy A|C and B|D but not B|C.
	 */
	{ "  a:\n    F|contains|all: [pppppp, qqqq]\n  b:\n    F|contains|all: [rrrrrr, ssss]\n"
	  "  condition: a or b\n", "F", "pppppp ssss", "", false, false },
	{ "  a:\n    F|contains|all: [pppppp, qqqq]\n  b:\n    F|contains|all: [rrrrrr, ssss]\n"
	  "  condition: a or b\n", "F", "ssss rrrrrr", "", true, true },
	/*
	 * A clause both sides need ("type: EXECVE") is needed alone; the
	 * unions holding it add nothing and do not crowd out the others.
	 */
	{ "  a:\n    F|contains|all: [zzzzzzzzz, aa11, aa22]\n  b:\n"
	  "    F|contains|all: [zzzzzzzzz, bb11, bb22]\n  condition: a or b\n", "F", "zzzzzzzzz", "",
	  false, false },
	{ "  a:\n    F|contains|all: [zzzzzzzzz, aa11, aa22]\n  b:\n"
	  "    F|contains|all: [zzzzzzzzz, bb11, bb22]\n  condition: a or b\n", "F",
	  "zzzzzzzzz bb22 bb11", "", true, true },
	/* a rare byte is worth a clause beside common letters */
	{ "  s:\n    F|contains|all: ['~', ml]\n  condition: s\n", "F", "/index.html", "", false,
	  false },
	{ "  s:\n    F|contains|all: ['~', ml]\n  condition: s\n", "F", "/index.html~", "", true,
	  true },
	/* no literal, but a minimum length (PF_RE_MINLEN and more): checked by length */
	{ "  s:\n    F|re: '(?s)^.{40,}'\n  condition: s\n", "F", "short", "", false, false },
	{ "  s:\n    F|re: '(?s)^.{40,}'\n  condition: s\n", "F",
	  "0123456789012345678901234567890123456789", "", true, true },
	{ "  s:\n    F|re: '(?s)^.{40,}'\n  condition: s\n", "G",
	  "0123456789012345678901234567890123456789", "", false, false },
	{ "  s:\n    F|re: '(?s)^.{40,}'\n  condition: s\n", "F",
	  "012345678901234567890123456789012345678", "", false, false },
	{ "  s:\n    F|re: '\\d{40}|\\w{45}'\n  condition: s\n", "F",
	  "x 0123456789012345678901234567890123456789", "", true, true },
	{ "  s:\n    F|re: '\\d{40}|\\w{45}'\n  condition: s\n", "F",
	  "x 0123456789 0123456789 0123456789 0123456789", "", false, true },
	{ "  s:\n    F|re: [ '(?s)^.{40,}', 'evil' ]\n  condition: s\n", "F", "evil", "", true, true },
	{ "  s:\n    F|re: [ '(?s)^.{40,}', 'evil' ]\n  condition: s\n", "F", "good", "", false, false },
	/* a short minimum is no use as a filter: the rule always runs */
	{ "  s:\n    F|re: '^.{3,}'\n  condition: s\n", "F", "ab", "", false, true },
	/*
	 * Review of 99f8a61: each case matches, so the filter must let it
	 * through.
	 *
	 * Braces PCRE2 10.42 reads as literal text, not a quantifier ("{}",
	 * "{,m}", "{1,2,3}", "{1 }", "{ 1}"): re_quant takes them for one, so
	 * an atom "repeated at least once" starts the next run ("ab" is not in
	 * "xa{1,2,3}b"), and after a zero-width item the braces are dropped
	 * while the run goes on ("ab" is not in "a{}b").
	 */
	{ "  s:\n    F|re: 'xa{1,2,3}b'\n  condition: s\n", "F", "xa{1,2,3}b", "", true, true },
	{ "  s:\n    F|re: 'xa{1 }b'\n  condition: s\n", "F", "xa{1 }b", "", true, true },
	{ "  s:\n    F|re: 'x[ab]{ 1}c'\n  condition: s\n", "F", "xa{ 1}c", "", true, true },
	{ "  s:\n    F|re: 'a(?i){}b'\n  condition: s\n", "F", "a{}b", "", true, true },
	{ "  s:\n    F|re: 'ab\\b{,2}cd'\n  condition: s\n", "F", "ab{,2}cd", "", true, true },
	/* \Q as the end of a range: the class goes on past the quoted "]" */
	{ "  s:\n    F|re: '[!-\\Q]\\E]xyz'\n  condition: s\n", "F", "!xyz", "", true, true },
	/* a quantifier after a comment or a lone \E repeats the atom before it */
	{ "  s:\n    F|re: 'a(?#x)*b'\n  condition: s\n", "F", "b", "", true, true },
	{ "  s:\n    F|re: 'xa\\E?b'\n  condition: s\n", "F", "xb", "", true, true },
	/* where a class ends: \c takes the next byte, even "]" or "\\" ... */
	{ "  s:\n    F|re: '[\\c]]xy'\n  condition: s\n", "F", "\x1d" "xy", "", true, true },
	{ "  s:\n    F|re: '[\\c\\]|abc]xyz'\n  condition: s\n", "F", "\x1c", "", true, true },
	/* ... a lone \E first in a class is ignored, so "]" after it is a member ... */
	{ "  s:\n    F|re: '[\\E]xyz]'\n  condition: s\n", "F", "y", "", true, true },
	{ "  s:\n    F|re: '[^\\E]xyz]'\n  condition: s\n", "F", "q", "", true, true },
	/* ... and "[:" is no POSIX class when a "]" comes before ":]" */
	{ "  s:\n    F|re: '[[:b]|q:]]xyz'\n  condition: s\n", "F", "b", "", true, true },
};

static void
test_table(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pf_case *c = &cases[i];
		struct sigma_rule *r = test_rule_from(c->detection);
		const struct sigma_rule *rs[1] = { r };
		struct sigma_prefilter *pf = sigma_prefilter_new(rs, 1);
		struct sigma_event ev;

		assert_non_null(pf);
		decode_reset(&dec);
		if (c->field)
			assert_int_equal(decode_field_add(&dec, c->field, c->value, strlen(c->value)), 0);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		ev.message = ms_str_make(c->msg, strlen(c->msg));
		assert_int_equal(sigma_prefilter_scan(pf, &ev), 0);
		if (sigma_rule_match(r, &ev) != c->match) {
			print_message("case %zu (%s): rule match is %d\n", i, c->detection, !c->match);
			bad++;
		}
		if (sigma_prefilter_may_match(pf, 0) != c->may) {
			print_message("case %zu (%s): filter says %d\n", i, c->detection, !c->may);
			bad++;
		}
		sigma_prefilter_free(pf);
		sigma_rule_free(r);
	}
	if (bad > 0)
		fail_msg("%zu table checks failed", bad);
}

/*
 * A value that repeats a literal thousands of times: the scan stops at its
 * callback budget and fails open (every rule may run), rather than cost a
 * callback per occurrence; the rule itself still decides.
 */
static void
test_callback_budget(void **state)
{
	struct sigma_rule *r = test_rule_from("  s:\n    F|contains|all: [ab, zzz]\n  condition: s\n");
	const struct sigma_rule *rs[1] = { r };
	struct sigma_prefilter *pf = sigma_prefilter_new(rs, 1);
	size_t n = 20000;
	char *v = malloc(n);
	const size_t *list = NULL;
	struct sigma_event ev;

	(void)state;
	assert_non_null(pf);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = i % 2 ? 'b' : 'a';
	decode_reset(&dec);
	assert_int_equal(decode_field_add(&dec, "F", v, n), 0);
	memset(&ev, 0, sizeof(ev));
	ev.d = &dec;
	assert_int_equal(sigma_prefilter_scan(pf, &ev), -1);
	assert_int_equal(sigma_prefilter_candidates(pf, &list), SIZE_MAX);
	assert_true(sigma_prefilter_may_match(pf, 0));
	assert_false(sigma_rule_match(r, &ev));
	/* a short value with both: found without running out */
	decode_reset(&dec);
	assert_int_equal(decode_field_add(&dec, "F", "xx ab zzz", 9), 0);
	assert_int_equal(sigma_prefilter_scan(pf, &ev), 0);
	assert_true(sigma_prefilter_may_match(pf, 0));
	assert_true(sigma_rule_match(r, &ev));
	sigma_prefilter_free(pf);
	sigma_rule_free(r);
	free(v);
}

/* Scans one event of (name, value) pairs (NULL-terminated) with pf. */
static void
scan_fields(struct sigma_prefilter *pf, struct sigma_event *ev, const char *const *kv)
{
	decode_reset(&dec);
	for (size_t i = 0; kv[i] != NULL; i += 2)
		assert_int_equal(decode_field_add(&dec, kv[i], kv[i + 1], strlen(kv[i + 1])), 0);
	memset(ev, 0, sizeof(*ev));
	ev->d = &dec;
	ev->message = ms_str_make("", 0);
	assert_int_equal(sigma_prefilter_scan(pf, ev), 0);
}

/*
 * Guards: a clause on a field no rule's best clause names is checked once
 * the rest of the rule has been found, on the field the rule reads (the
 * first of that name, exactly, else in any case), before the rule runs –
 * in the candidate list and in sigma_prefilter_may_match alike. A rule it
 * rules out never matches: each event is also run through the rule.
 */
static void
test_guards(void **state)
{
	static const char *const dets[] = {
		/* "succeeded" is the best clause; "x1" or "y22" on F a guard */
		"  a:\n    F|contains: [x1, Y22]\n  b:\n    G|startswith: succeeded\n"
		"  condition: a and b\n",
		/* two guards, on F and on H */
		"  s:\n    G: succeeded\n    F: x1\n    H|endswith: qq\n  condition: s\n",
		/* a keyword beside a field: the message is no guard (never scanned here) */
		"  k:\n    - kw\n  s:\n    G|startswith: succeeded\n  condition: k and s\n",
	};
	static const struct {
		const char *kv[9];
		bool may[3];
	} evs[] = {
		{ { "G", "succeeded now", "F", "zzX1zz", NULL }, { true, false, true } },
		{ { "G", "succeeded now", "F", "zzy22", NULL }, { true, false, true } },
		{ { "G", "succeeded now", "F", "zz", NULL }, { false, false, true } },
		{ { "G", "succeeded now", NULL }, { false, false, true } },
		{ { "F", "x1", NULL }, { false, false, false } },
		/* the rule reads F, the exact name, first: "f" is not it */
		{ { "G", "succeeded", "f", "zz", "F", "x1", NULL }, { true, false, true } },
		{ { "G", "succeeded", "F", "zz", "f", "x1", NULL }, { false, false, true } },
		/* no exact F: the first of any case */
		{ { "G", "succeeded", "f", "x1", "F2", "zz", NULL }, { true, false, true } },
		{ { "G", "succeeded", "F", "x1", "H", "aQQ", NULL }, { true, true, true } },
		{ { "G", "succeeded", "F", "x1", "H", "q-q", NULL }, { true, false, true } },
		{ { "G", "succeeded", "F", "x2", "H", "aqq", NULL }, { false, false, true } },
	};
	struct sigma_rule *r[3];
	const struct sigma_rule *rs[3];
	struct sigma_prefilter *pf;
	struct sigma_event ev;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		rs[i] = r[i] = test_rule_from(dets[i]);
	assert_non_null(pf = sigma_prefilter_new(rs, 3));
	for (size_t e = 0; e < sizeof(evs) / sizeof(evs[0]); e++) {
		const size_t *list;
		size_t n;

		scan_fields(pf, &ev, evs[e].kv);
		n = sigma_prefilter_candidates(pf, &list);
		assert_true(n != SIZE_MAX);
		for (size_t i = 0; i < 3; i++) {
			bool in = false;

			for (size_t k = 0; k < n; k++)
				in = in || list[k] == i;
			if (sigma_prefilter_may_match(pf, i) != evs[e].may[i] || in != evs[e].may[i])
				fail_msg("event %zu rule %zu: may %d, listed %d", e, i,
				    sigma_prefilter_may_match(pf, i), in);
			if (!evs[e].may[i])
				assert_false(sigma_rule_match(r[i], &ev));
		}
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < 3; i++)
		sigma_rule_free(r[i]);

	/*
	 * "user" and "User" can be two fields of one event, each item reading
	 * its own: a clause spanning both spellings is no guard.
	 */
	{
		const char *kv[] = { "G", "succeeded", "user", "zz", "User", "y2", NULL };
		struct sigma_rule *one = test_rule_from("  a:\n    user|contains: x1\n  b:\n"
		    "    User|contains: y2\n  c:\n    G|startswith: succeeded\n"
		    "  condition: (a or b) and c\n");
		const struct sigma_rule *ones[1] = { one };

		assert_non_null(pf = sigma_prefilter_new(ones, 1));
		scan_fields(pf, &ev, kv);
		assert_true(sigma_rule_match(one, &ev));
		assert_true(sigma_prefilter_may_match(pf, 0));
		sigma_prefilter_free(pf);
		sigma_rule_free(one);
	}
}

/*
 * The same literal under two spellings of a field name, ORed: "user: x1"
 * or "User: X1". Clause building drops a duplicate literal comparing field
 * names case-insensitively (lit_same), so the clause becomes {user: x1}
 * alone – one spelling, and guard_add keeps it as a guard on "user". The
 * event has "user" (zz) and "User" (x1): the second item reads "User" and
 * matches, the guard reads "user" and drops the rule.
 */
static void
test_guard_spellings_merged(void **state)
{
	static const char *const dets[] = {
		/* two searches */
		"  a:\n    user|contains: x1\n  b:\n    User|contains: X1\n  c:\n"
		"    G|startswith: succeeded\n  condition: (a or b) and c\n",
		/* one item list of maps */
		"  s:\n    - user: x1\n      G|startswith: succeeded\n"
		"    - User: x1\n      G|startswith: succeeded\n  condition: s\n",
		/* no exact "user": the guard's name finds "USER" (a different field) first */
		"  a:\n    user|contains: x1\n  b:\n    usER|contains: x1\n  c:\n"
		"    G|startswith: succeeded\n  condition: (a or b) and c\n",
	};
	static const char *const kvs[][9] = {
		{ "G", "succeeded", "user", "zz", "User", "x1", NULL },
		{ "G", "succeeded", "user", "zz", "User", "x1", NULL },
		{ "G", "succeeded", "USER", "zz", "usER", "x1", NULL },
	};
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(dets) / sizeof(dets[0]); i++) {
		struct sigma_rule *r = test_rule_from(dets[i]);
		const struct sigma_rule *rs[1] = { r };
		struct sigma_prefilter *pf;
		struct sigma_event ev;
		const size_t *list;
		size_t n;

		assert_non_null(pf = sigma_prefilter_new(rs, 1));
		scan_fields(pf, &ev, kvs[i]);
		assert_true(sigma_rule_match(r, &ev));
		n = sigma_prefilter_candidates(pf, &list);
		if (!sigma_prefilter_may_match(pf, 0) || n == 0) {
			print_message("rule %zu matches, the filter drops it (may %d, listed %zu)\n",
			    i, sigma_prefilter_may_match(pf, 0), n);
			bad++;
		}
		sigma_prefilter_free(pf);
		sigma_rule_free(r);
	}
	if (bad > 0)
		fail_msg("%zu matching rules dropped", bad);
}

/*
 * Differential check of the guards: random rules over fields spelled in
 * several cases ("user", "User", "USER", "F", "f") with the usual
 * modifiers, four to a filter, and random events of those fields (some
 * twice, in other cases, empty): every rule that matches must be a
 * candidate, and the candidates and sigma_prefilter_may_match must agree.
 */
#define RND(n) ((seed = seed * 1103515245u + 12345u) >> 16) % (n)

/* A random rule (its detection in det), or NULL when it does not load. */
static struct sigma_rule *
rnd_rule(unsigned *sp, char *det, size_t dsz)
{
	static const char *const names[] = { "user", "User", "USER", "F", "f", "H", "G" };
	static const char *const vals[] = { "x1", "X1", "y22", "zz", "ax1b", "", "x", "succeeded", "(x1|y22)", "a.*b" };
	static const char *const mods[] = { "", "|contains", "|startswith", "|endswith", "|re", "|contains|all", "|neq", "|cased", "|windash|contains", "|utf16le|contains" };
	unsigned seed = *sp;
	size_t o = 0;
	int nsel = 1 + RND(3);
	for (int si = 0; si < nsel; si++) {
		o += snprintf(det + o, dsz - o, "  s%d:\n", si);
		int nit = 1 + RND(3);
		for (int k = 0; k < nit; k++) {
			const char *m = mods[RND(10)];
			const char *nm = names[RND(7)];
			if (RND(8) == 0) { o += snprintf(det + o, dsz - o, "    %s: null\n", nm); continue; }
			o += snprintf(det + o, dsz - o, "    %s%s:\n", nm, m);
			int nv = 1 + RND(3);
			for (int v = 0; v < nv; v++) {
				const char *vv = vals[RND(strcmp(m, "|re") == 0 ? 10 : 8)];
				if (strcmp(m, "|re") == 0 && vv[0] == 0) vv = "x1";
				o += snprintf(det + o, dsz - o, "      - '%s'\n", vv);
			}
		}
	}
	o += snprintf(det + o, dsz - o, "  g:\n    G|startswith: %s\n  condition: g and (", RND(2) ? "succeeded" : "su");
	for (int si = 0; si < nsel; si++) {
		const char *op = RND(2) ? " or " : " and ";
		const char *neg = RND(6) == 0 ? "not " : "";

		o += snprintf(det + o, dsz - o, "%s%ss%d", si ? op : "", neg, si);
	}
	o += snprintf(det + o, dsz - o, ")\n");
	*sp = seed;
	{
		struct ms_yaml_node **docs = NULL;
		size_t nd = 0;
		char err[256], doc[4096];
		struct sigma_rule *r;
		snprintf(doc, sizeof(doc), "title: t\nlogsource:\n  product: linux\ndetection:\n%s", det);
		if (ms_yaml_parse(doc, strlen(doc), &docs, &nd, err, sizeof(err)) != 0)
			return NULL;
		r = sigma_rule_parse(docs[0], "t.yml", NULL, NULL, err, sizeof(err));
		ms_yaml_docs_free(docs, nd);
		return r;
	}
}

static void
test_guard_random(void **state)
{
	static const char *const names[] = { "user", "User", "USER", "F", "f", "H", "G" };
	static const char *const vals[] = { "x1", "X1", "y22", "zz", "ax1b", "", "x", "succeeded", "a-b", "a/b", "succeeded x1" };
	unsigned seed = 777;
	size_t bad = 0, runs = 0, matched = 0;
	char det[4][2048];
	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		struct sigma_rule *r[4];
		const struct sigma_rule *rs[4];
		size_t nr = 0;
		for (int t = 0; t < 4; t++) {
			struct sigma_rule *x = rnd_rule(&seed, det[nr], sizeof(det[nr]));
			if (x != NULL) { rs[nr] = r[nr] = x; nr++; }
		}
		if (nr == 0) continue;
		struct sigma_prefilter *pf = sigma_prefilter_new(rs, nr);
		assert_non_null(pf);
		for (int e = 0; e < 40; e++) {
			const char *kv[20];
			int nk = 0;
			if (RND(4)) { kv[nk++] = "G"; kv[nk++] = RND(2) ? "succeeded" : "sux"; }
			int nf = RND(6);
			for (int q = 0; q < nf; q++) {
				kv[nk++] = names[RND(7)];
				kv[nk++] = vals[RND(11)];
			}
			kv[nk] = NULL;
			struct sigma_event ev;
			const size_t *list;
			size_t n;
			scan_fields(pf, &ev, kv);
			n = sigma_prefilter_candidates(pf, &list);
			for (size_t i = 0; i < nr; i++) {
				bool m = sigma_rule_match(r[i], &ev), in = n == SIZE_MAX;
				for (size_t k = 0; n != SIZE_MAX && k < n; k++) {
					in = in || list[k] == i;
					if (k > 0) assert_true(list[k] > list[k - 1]);
				}
				runs++;
				matched += m;
				if (in != sigma_prefilter_may_match(pf, i) || (m && !in)) {
					if (bad < 5) {
						print_message("DROPPED (in %d may %d) rule %zu:\n%s event:", in, sigma_prefilter_may_match(pf, i), i, det[i]);
						for (int q = 0; kv[q]; q += 2) print_message(" %s=%s", kv[q], kv[q+1]);
						print_message("\n");
					}
					bad++;
				}
			}
		}
		sigma_prefilter_free(pf);
		for (size_t i = 0; i < nr; i++)
			sigma_rule_free(r[i]);
	}
	assert_true(matched > 0);
	if (bad > 0)
		fail_msg("%zu of %zu checks failed", bad, runs);
}
#undef RND

/*
 * Rules share literals (the same string, in any case, in several clauses
 * and rules, twice in one clause): the filter keeps one per field, and
 * finding it must still count for every clause that needs it; the same
 * bytes under another field stay another literal.
 */
static void
test_shared_literals(void **state)
{
	static const char *const dets[] = {
		"  s:\n    type: EXECVE\n    a0|contains: chmod\n  condition: s\n",
		"  s:\n    a0|contains: chown\n  condition: s\n",
		"  s:\n    type: execve\n    a0|contains: chown\n  condition: s\n",
		"  s:\n    type|contains: [EXECVE, ExecVe]\n  condition: s\n",
		"  a:\n    type: EXECVE\n  b:\n    a0: EXECVE\n  condition: a and b\n",
	};
	static const struct {
		const char *kv[5];
		bool may[5];
	} evs[] = {
		{ { "type", "EXECVE", "a0", "chmod", NULL }, { true, false, false, true, false } },
		{ { "type", "execve", "a0", "chown", NULL }, { false, true, true, true, false } },
		{ { "type", "SYSCALL", "a0", "EXECVE", NULL }, { false, false, false, false, false } },
		{ { "type", "ExecVE", "a0", "execve", NULL }, { false, false, false, true, true } },
	};
	enum { NR = sizeof(dets) / sizeof(dets[0]) };
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;

	(void)state;
	for (size_t i = 0; i < NR; i++)
		rs[i] = r[i] = test_rule_from(dets[i]);
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	assert_int_equal(sigma_prefilter_nfiltered(pf), NR);
	/* type:execve, a0:chmod, a0:chown, a0:execve */
	assert_int_equal(sigma_prefilter_nliterals(pf), 4);
	/* twice over: what one event stamped must not leak into the next */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t e = 0; e < sizeof(evs) / sizeof(evs[0]); e++) {
			const size_t *list = NULL;
			size_t n, k = 0;

			scan_fields(pf, &ev, evs[e].kv);
			n = sigma_prefilter_candidates(pf, &list);
			for (size_t i = 0; i < NR; i++) {
				bool may = sigma_prefilter_may_match(pf, i);
				if (sigma_rule_match(r[i], &ev) && !may)
					fail_msg("event %zu rule %zu: matches but is skipped", e, i);
				if (may != evs[e].may[i])
					fail_msg("event %zu rule %zu: filter says %d", e, i, may);
				if (may) {
					assert_true(k < n);
					assert_int_equal(list[k++], i);
				}
			}
			assert_int_equal(k, n);
		}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/*
 * A field with more literals than the direct search's first-byte masks
 * hold goes to Hyperscan even for short values: one-byte literals, a
 * literal two rules share, short and long values give the same answers.
 */
static void
test_many_literals(void **state)
{
	enum { NW = 150, NR = NW + 2 };
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;
	char det[256];
	static const struct {
		const char *value;
		int may[3];	/* rules that may match, -1 ends */
	} evs[] = {
		{ "xxWORD042yy", { 42, -1 } },
		{ "word008", { 8, NW, -1 } },
		{ "word007", { -1 } },
		{ "007-TAIL", { 7, -1 } },
		{ "x008-tailx", { -1 } },
		{ "x009-tailx", { 9, -1 } },
		{ "f() { :; }", { NW + 1, -1 } },
		{ "wor", { -1 } },
		{ "a value well past the direct budget, with word098 in it", { 98, -1 } },
		{ "a value well past the direct budget, with (x) {y} in it", { NW + 1, -1 } },
		{ "a value well past the direct budget, with nothing in it", { -1 } },
	};

	(void)state;
	for (size_t i = 0; i < NW; i++) {
		if (i % 2)
			snprintf(det, sizeof(det), "  s:\n    F|contains: '%03zu-tail'\n  condition: s\n", i);
		else
			snprintf(det, sizeof(det), "  s:\n    F|contains: word%03zu\n  condition: s\n", i);
		rs[i] = r[i] = test_rule_from(det);
	}
	/* a literal another rule has, in another case */
	rs[NW] = r[NW] = test_rule_from("  s:\n    F|contains: WoRd008\n  condition: s\n");
	/* one-byte literals only */
	rs[NW + 1] = r[NW + 1] = test_rule_from("  s:\n    F|re: '\\(\\s*\\)\\s*\\{'\n  condition: s\n");
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	assert_int_equal(sigma_prefilter_nliterals(pf), NW + 3);
	for (size_t e = 0; e < sizeof(evs) / sizeof(evs[0]); e++) {
		const char *kv[] = { "f", evs[e].value, NULL };
		size_t m = 0;

		scan_fields(pf, &ev, kv);
		for (size_t i = 0; i < NR; i++) {
			bool want = evs[e].may[m] == (int)i, may = sigma_prefilter_may_match(pf, i);
			if (want)
				m++;
			if (sigma_rule_match(r[i], &ev) && !may)
				fail_msg("%s: rule %zu matches but is skipped", evs[e].value, i);
			if (may != want)
				fail_msg("%s: rule %zu: filter says %d", evs[e].value, i, may);
		}
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/*
 * Field values are remembered with the literals found in them: a value
 * seen again (the memo) must give the same answers as its first scan –
 * through the direct search and through Hyperscan, for a literal an
 * earlier field of the same event had already found, for the same bytes
 * under another field, for values differing only in case, with more
 * literals than an entry holds, a value long enough for a regular
 * expression's minimum length, and over many distinct values (entries
 * replaced).
 */
static void
test_memo(void **state)
{
	static const char *const dets[] = {
		"  s:\n    F|contains: evil\n  condition: s\n",
		"  s:\n    G|contains: evil\n  condition: s\n",
		"  s:\n    F|contains|all: [aa1, bb2, cc3, dd4, ee5, ff6, gg7, hh8]\n  condition: s\n",
		"  s:\n    F|contains: [zz1, zz2, zz3, zz4, zz5, zz6, zz7, zz8]\n  t:\n"
		"    F|contains: hh8\n  condition: s and t\n",
		"  s:\n    G|re: '(?s)^.{40,}'\n  condition: s\n",
	};
	enum { NR = sizeof(dets) / sizeof(dets[0]) };
	/* short values go to the direct search, long ones to Hyperscan */
	static const char long_tail[] = " and padding past the direct search's length";
	static const char *const base[][4] = {
		{ "F", "xx evil", "f", "yy evil" },
		{ "f", "yy evil", NULL, NULL },
		{ "G", "yy evil", NULL, NULL },
		{ "F", "yy EVIL", NULL, NULL },
		{ "F", "yy good", NULL, NULL },
		{ "F", "aa1 bb2 cc3 dd4 ee5 ff6 gg7 hh8", NULL, NULL },
		{ "F", "aa1 bb2 cc3 dd4 ee5 ff6 gg7 hh8", NULL, NULL },
		{ "F", "aa1 bb2 cc3 dd4 ee5 ff6 gg7 hh9", NULL, NULL },
		{ "F", "zz1 zz2 zz3 zz4 zz5 zz6 zz7 hh8", NULL, NULL },
		{ "F", "zz1 zz2 zz3 zz4 zz5 zz6 zz7 hh8", NULL, NULL },
	};
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;
	char vals[4][256];

	(void)state;
	for (size_t i = 0; i < NR; i++)
		rs[i] = r[i] = test_rule_from(dets[i]);
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	for (size_t pass = 0; pass < 3; pass++)
		for (size_t tail = 0; tail < 2; tail++)
			for (size_t e = 0; e < sizeof(base) / sizeof(base[0]); e++) {
				const char *kv[5] = { NULL };
				bool want[NR];
				struct sigma_prefilter *fresh;

				for (size_t j = 0; j < 4 && base[e][j] != NULL; j += 2) {
					snprintf(vals[j], sizeof(vals[j]), "%s%s", base[e][j + 1],
					    tail ? long_tail : "");
					kv[j] = base[e][j];
					kv[j + 1] = vals[j];
				}
				/* the answers of a filter that has seen nothing yet */
				assert_non_null(fresh = sigma_prefilter_new(rs, NR));
				scan_fields(fresh, &ev, kv);
				for (size_t i = 0; i < NR; i++) {
					want[i] = sigma_prefilter_may_match(fresh, i);
					if (sigma_rule_match(r[i], &ev) && !want[i])
						fail_msg("event %zu rule %zu: matches but is skipped", e, i);
				}
				sigma_prefilter_free(fresh);
				scan_fields(pf, &ev, kv);
				for (size_t i = 0; i < NR; i++)
					if (sigma_prefilter_may_match(pf, i) != want[i])
						fail_msg("pass %zu tail %zu event %zu rule %zu: filter says %d",
						    pass, tail, e, i, !want[i]);
			}
	/* the second event's value was first seen after the first's had found "evil" */
	{
		const char *kv[] = { "f", "yy evil", NULL };
		scan_fields(pf, &ev, kv);
		assert_true(sigma_prefilter_may_match(pf, 0));
		assert_false(sigma_prefilter_may_match(pf, 1));
	}
	/* thousands of distinct values: entries are replaced, answers stay right */
	for (size_t i = 0; i < 5000; i++) {
		const char *kv[] = { "F", vals[0], NULL };
		bool evil = i % 7 == 0;

		snprintf(vals[0], sizeof(vals[0]), "value %zu %s", i % 1500, evil ? "evil" : "good");
		scan_fields(pf, &ev, kv);
		if (sigma_prefilter_may_match(pf, 0) != evil)
			fail_msg("value %zu: filter says %d", i, !evil);
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/*
 * The field of each event field is cached by the address of its name (a
 * decoder's static string), by its place in the event and in a table
 * hashed on the address: names packed a few bytes apart, fields that
 * swap places, a name in the event's scratch area whose bytes change at
 * the same address, and more names than the table has places must all
 * be read as the field they name.
 */
static void
test_field_places(void **state)
{
	/* packed like a decoder's strings: "a0", "a1" three bytes apart */
	static const char packed[] = "a0\0a1\0F\0G";
	static const char *const a0 = packed, *const a1 = packed + 3, *const F = packed + 6,
	    *const G = packed + 8;
	enum { NN = 300, NRN = 12 };
	static char names[NN][8];
	static const char *const dets[] = {
		"  s:\n    a0|contains: chmod\n  condition: s\n",
		"  s:\n    a1|contains: tmp\n  condition: s\n",
		"  s:\n    F|contains: evil\n  condition: s\n",
		"  s:\n    G|contains: evil\n  condition: s\n",
	};
	enum { NB = sizeof(dets) / sizeof(dets[0]), NR = NB + NRN };
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;
	char det[128];
	uint64_t seed = 7;

	(void)state;
	for (size_t i = 0; i < NB; i++)
		rs[i] = r[i] = test_rule_from(dets[i]);
	for (size_t i = 0; i < NN; i++)
		snprintf(names[i], sizeof(names[i]), "n%03zu", i);
	/* rules on a few of the many names, spread over them */
	for (size_t i = 0; i < NRN; i++) {
		snprintf(det, sizeof(det), "  s:\n    %.7s|contains: hit\n  condition: s\n",
		    names[i * 25]);
		rs[NB + i] = r[NB + i] = test_rule_from(det);
	}
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	for (size_t round = 0; round < 400; round++) {
		const char *n[DECODE_MAX_FIELDS];
		const char *v[DECODE_MAX_FIELDS];
		size_t nf = 0;

		switch (round % 5) {
		case 0:
			n[0] = a0, v[0] = "chmod 777 x", n[1] = a1, v[1] = "/tmp/x", nf = 2;
			break;
		case 1:
			/* the same names, places swapped */
			n[0] = a1, v[0] = "chmod 777 x", n[1] = a0, v[1] = "/tmp/x", nf = 2;
			break;
		case 2:
			n[0] = F, v[0] = round % 2 ? "evil" : "good", n[1] = G, v[1] = "good";
			nf = 2;
			break;
		case 3:
			/* a copied name in the scratch area: "F" or "G" at the same address */
			n[0] = NULL, v[0] = "an evil value", n[1] = F, v[1] = "good", nf = 2;
			break;
		default: {
			/*
			 * Many names, each event a different draw of them, none
			 * twice (a rule reads the first of two, the filter scans
			 * both: it would not be exact).
			 */
			static const size_t steps[] = { 7, 11, 13, 17, 19, 23 };
			size_t start, step;

			seed = seed * 6364136223846793005u + 1442695040888963407u;
			start = (seed >> 33) % NN;
			step = steps[(seed >> 20) % 6];
			for (nf = 0; nf < DECODE_MAX_FIELDS; nf++) {
				seed = seed * 6364136223846793005u + 1442695040888963407u;
				n[nf] = names[(start + nf * step) % NN];
				v[nf] = (seed >> 20) % 5 == 0 ? "a hit here" : "nothing here";
			}
			break;
		}
		}
		decode_reset(&dec);
		for (size_t i = 0; i < nf; i++) {
			const char *name = n[i];
			if (name == NULL) {
				char *copy = decode_scratch(&dec, 2);
				assert_non_null(copy);
				copy[0] = (round / 5) % 2 ? 'F' : 'G';
				copy[1] = '\0';
				name = copy;
			}
			assert_int_equal(decode_field_add(&dec, name, v[i], strlen(v[i])), 0);
		}
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		ev.message = ms_str_make("", 0);
		assert_int_equal(sigma_prefilter_scan(pf, &ev), 0);
		/* one "contains" literal per rule: the filter is exact here */
		for (size_t i = 0; i < NR; i++)
			if (sigma_prefilter_may_match(pf, i) != sigma_rule_match(r[i], &ev))
				fail_msg("round %zu rule %zu: filter says %d", round, i,
				    sigma_prefilter_may_match(pf, i));
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/*
 * A copied name at the first and at the last bytes of the scratch area
 * (whose bytes change from event to event at the same address) is looked
 * up by its bytes every time, never cached by its address: fails when the
 * filter's test for "in the scratch area" is off by one at either end.
 */
static void
test_scratch_name_ends(void **state)
{
	static const char *const dets[] = {
		"  s:\n    F|contains: evil\n  condition: s\n",
		"  s:\n    G|contains: evil\n  condition: s\n",
	};
	enum { NR = sizeof(dets) / sizeof(dets[0]) };
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;

	(void)state;
	for (size_t i = 0; i < NR; i++)
		rs[i] = r[i] = test_rule_from(dets[i]);
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	for (size_t round = 0; round < 8; round++) {
		bool last = round % 4 >= 2;
		char *copy;

		decode_reset(&dec);
		/* the name's 2 bytes at offset 0, or as the scratch area's last 2 */
		if (last)
			assert_non_null(decode_scratch(&dec, DECODE_SCRATCH - 2));
		assert_non_null(copy = decode_scratch(&dec, 2));
		assert_ptr_equal(copy, last ? dec.scratch + DECODE_SCRATCH - 2 : dec.scratch);
		copy[0] = round % 2 ? 'F' : 'G';
		copy[1] = '\0';
		assert_int_equal(decode_field_add(&dec, copy, "an evil value", 13), 0);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		ev.message = ms_str_make("", 0);
		assert_int_equal(sigma_prefilter_scan(pf, &ev), 0);
		for (size_t i = 0; i < NR; i++) {
			assert_true(sigma_rule_match(r[i], &ev) == (i == (round % 2 ? 0u : 1u)));
			if (sigma_prefilter_may_match(pf, i) != sigma_rule_match(r[i], &ev))
				fail_msg("round %zu rule %zu: filter says %d", round, i,
				    sigma_prefilter_may_match(pf, i));
		}
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/*
 * The direct search at its limit (PF_DIRECT_LITS literals in a field):
 * literals sharing a first byte (and their second) and prefixes of each
 * other, literals of one byte, many first bytes, the first and the last
 * literal, values of every length up to the direct search's.
 */
static void
test_direct_search(void **state)
{
	enum { NL = 64 };
	static const char firsts[] = "abcdefghijklmnopqrstuvwxyz0123456789/.-_";
	struct sigma_rule *r[NL];
	const struct sigma_rule *rs[NL];
	char lits[NL][16], det[128], val[64];
	struct sigma_prefilter *pf;
	struct sigma_event ev;
	uint64_t seed = 11;

	(void)state;
	for (size_t i = 0; i < NL; i++) {
		/*
		 * "ab", "abx1", ... several literals per first byte and per
		 * first two bytes, some prefixes of others, a few of one byte
		 * (found at a value's last byte too)
		 */
		if (i % 16 == 5)
			snprintf(lits[i], sizeof(lits[i]), "%c", "q7_Z"[(i / 16) % 4]);
		else if (i % 3 == 0)
			snprintf(lits[i], sizeof(lits[i]), "%c%c", firsts[i % 40], 'a' + (int)(i % 7));
		else
			snprintf(lits[i], sizeof(lits[i]), "%c%cx%zu", firsts[i % 40],
			    'a' + (int)(i % 7), i);
		snprintf(det, sizeof(det), "  s:\n    D|contains: '%s'\n  condition: s\n", lits[i]);
		rs[i] = r[i] = test_rule_from(det);
	}
	assert_non_null(pf = sigma_prefilter_new(rs, NL));
	for (size_t round = 0; round < 3000; round++) {
		const char *kv[] = { "D", val, NULL };
		size_t len = 0, want;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		want = (seed >> 33) % 33;	/* up to PF_DIRECT_LEN bytes */
		while (len < want) {
			seed = seed * 6364136223846793005u + 1442695040888963407u;
			if ((seed >> 40) % 4 == 0) {
				const char *l = lits[(seed >> 20) % NL];
				for (size_t j = 0; l[j] != '\0' && len < want; j++)
					val[len++] = (seed >> 50) % 2 ? (char)(l[j] & ~0x20) : l[j];
			} else {
				val[len++] = firsts[(seed >> 20) % 40];
			}
		}
		val[len] = '\0';
		scan_fields(pf, &ev, kv);
		for (size_t i = 0; i < NL; i++)
			if (sigma_prefilter_may_match(pf, i) != sigma_rule_match(r[i], &ev))
				fail_msg("\"%s\" rule %zu (%s): filter says %d", val, i, lits[i],
				    sigma_prefilter_may_match(pf, i));
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NL; i++)
		sigma_rule_free(r[i]);
}

/*
 * A field whose values seldom repeat (an id in every URI) stops using the
 * memo for its short values, and uses it again once its values repeat:
 * the answers stay those of the rules all along – through the switch
 * into skipping, a long run of skipped values (the direct search), the
 * switch back (the name caches by address and by place updated), and
 * values remembered before the switch. A field whose values are too long
 * for the direct search keeps the memo.
 */
static void
test_memo_skipped(void **state)
{
	static const char *const dets[] = {
		"  s:\n    U|contains: /admin\n  condition: s\n",
		"  s:\n    U|endswith: '.php'\n  condition: s\n",
		"  s:\n    V|contains: secret\n  condition: s\n",
	};
	enum { NR = sizeof(dets) / sizeof(dets[0]) };
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;
	char u[64], v[64];
	size_t skipping_seen = 0;

	(void)state;
	for (size_t i = 0; i < NR; i++)
		rs[i] = r[i] = test_rule_from(dets[i]);
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	assert_int_equal(sigma_prefilter_nskipping(pf), 0);
	for (size_t i = 0; i < 30000; i++) {
		/*
		 * Phases of 6,000 events: U new every time (and V repeating),
		 * U from ten values, U new again; V long and new every time
		 * (past the direct search: it keeps the memo) throughout.
		 */
		size_t phase = i / 6000;
		const char *kv[] = { "U", u, "V", v, NULL };

		if (phase % 2 == 0)
			snprintf(u, sizeof(u), "/api/%zu%s", i, i % 5 == 0 ? "/admin" :
			    i % 7 == 0 ? "/x.PHP" : "");
		else
			snprintf(u, sizeof(u), "/static/%zu%s", i % 10, i % 10 == 3 ? "/admin" : "");
		snprintf(v, sizeof(v), "%s value number %zu, long enough for Hyperscan",
		    i % 9 == 0 ? "secret" : "plain", i);
		scan_fields(pf, &ev, kv);
		for (size_t k = 0; k < NR; k++)
			if (sigma_prefilter_may_match(pf, k) != sigma_rule_match(r[k], &ev))
				fail_msg("event %zu (U %s) rule %zu: filter says %d", i, u, k,
				    sigma_prefilter_may_match(pf, k));
		/* at most U: V's values are too long to skip the memo */
		assert_true(sigma_prefilter_nskipping(pf) <= 1);
		if (i == 5999 || i == 17999)
			skipping_seen += sigma_prefilter_nskipping(pf);
		/* the repeating phase outlasts a skip: U is back on the memo */
		if (i == 11999)
			assert_int_equal(sigma_prefilter_nskipping(pf), 0);
	}
	assert_int_equal(skipping_seen, 2);
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/*
 * The memo keeps literal ids in 16 bits: a value whose literals have
 * higher ids (a route with more than 65,535 distinct literals) is not
 * remembered, and must give the same answer every time it is met.
 */
static void
test_memo_high_ids(void **state)
{
	/* a rule holds at most SIGMA_MAX_VALUES (8,192) values: nine rules of 8,000 */
	enum { NB = 9, NW = 8000, NR = NB + 1 };
	struct sigma_rule *r[NR];
	const struct sigma_rule *rs[NR];
	struct sigma_prefilter *pf;
	struct sigma_event ev;

	(void)state;
	/* ids in registration order: the big rules' literals take 0 .. NB * NW - 1 */
	for (size_t k = 0; k < NB; k++) {
		struct ms_buf b;

		ms_buf_init(&b, 1 << 20);
		assert_int_equal(ms_buf_adds(&b, "  s:\n    F|contains:\n"), 0);
		for (size_t i = 0; i < NW; i++) {
			char line[32];
			int n = snprintf(line, sizeof(line), "      - w%zu_%04zu\n", k, i);
			assert_int_equal(ms_buf_add(&b, line, (size_t)n), 0);
		}
		assert_int_equal(ms_buf_adds(&b, "  condition: s\n"), 0);
		rs[k] = r[k] = test_rule_from(b.data);
		ms_buf_fini(&b);
	}
	rs[NB] = r[NB] = test_rule_from("  s:\n    G|contains: target\n  condition: s\n");
	assert_non_null(pf = sigma_prefilter_new(rs, NR));
	assert_true(sigma_prefilter_nliterals(pf) > UINT16_MAX + 1);
	for (size_t pass = 0; pass < 4; pass++) {
		const char *hit[] = { "G", "the target value", NULL };
		const char *miss[] = { "G", "the other value", NULL };
		const char *last[] = { "F", "has w8_7999 in it", NULL };

		scan_fields(pf, &ev, hit);
		for (size_t i = 0; i < NR; i++)
			assert_int_equal(sigma_prefilter_may_match(pf, i), i == NB);
		scan_fields(pf, &ev, miss);
		for (size_t i = 0; i < NR; i++)
			assert_false(sigma_prefilter_may_match(pf, i));
		scan_fields(pf, &ev, last);
		for (size_t i = 0; i < NR; i++)
			assert_int_equal(sigma_prefilter_may_match(pf, i), i == NB - 1);
	}
	sigma_prefilter_free(pf);
	for (size_t i = 0; i < NR; i++)
		sigma_rule_free(r[i]);
}

/* --- 2. equivalence ---------------------------------------------------- */

struct lines {
	char **v;
	size_t n, a;
};

static void
lines_add(struct lines *l, const char *s)
{
	if (l->n == l->a) {
		l->a = l->a ? l->a * 2 : 1024;
		l->v = realloc(l->v, l->a * sizeof(*l->v));
		assert_non_null(l->v);
	}
	l->v[l->n] = strdup(s);
	assert_non_null(l->v[l->n]);
	l->n++;
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static bool
has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Calls fn on every regular file under path whose name ends in suffix ("" = any). */
static void
walk(const char *path, const char *suffix, void (*fn)(const char *, void *), void *arg, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (depth > 12 || stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		if (has_suffix(path, suffix))
			fn(path, arg);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char sub[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) < sizeof(sub))
			walk(sub, suffix, fn, arg, depth + 1);
	}
	closedir(d);
}

/* Every line of a fixture file. */
static void
fixture_cb(const char *path, void *arg)
{
	FILE *fp = fopen(path, "r");
	char buf[8192];

	while (fp && fgets(buf, sizeof(buf), fp) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0])
			lines_add(arg, buf);
	}
	if (fp)
		fclose(fp);
}

/*
 * The strings a rule file looks for, roughly: scalar list items and map
 * values under "detection:" (wildcards filled in). Crude on purpose – the
 * point is lines that hit many literals, not a YAML parser.
 */
static void
payload_cb(const char *path, void *arg)
{
	FILE *fp = fopen(path, "r");
	char buf[4096];
	bool in_det = false;

	while (fp && fgets(buf, sizeof(buf), fp) != NULL) {
		char *v, *e, out[1024];
		size_t o = 0;

		buf[strcspn(buf, "\r\n")] = '\0';
		if (strncmp(buf, "detection:", 10) == 0 || strstr(buf, "  cases:") != NULL)
			in_det = true;
		else if (buf[0] != ' ' && buf[0] != '-' && buf[0] != '\0')
			in_det = false;
		if (!in_det || strstr(buf, "condition:") != NULL)
			continue;
		if ((v = strstr(buf, "- ")) != NULL)
			v += 2;
		else if ((v = strstr(buf, ": ")) != NULL)
			v += 2;
		else
			continue;
		while (*v == ' ')
			v++;
		if (*v == '\'' || *v == '"') {
			char q = *v++;
			if ((e = strrchr(v, q)) != NULL)
				*e = '\0';
		}
		for (; *v && o + 8 < sizeof(out); v++) {
			if (*v == '*')
				out[o++] = 'x';
			else if (*v == '?')
				out[o++] = 'q';
			else if (*v == '\\' && v[1] == '\\')
				out[o++] = *v++;
			else
				out[o++] = *v;
		}
		out[o] = '\0';
		if (o > 0)
			lines_add(arg, out);
	}
	if (fp)
		fclose(fp);
}

static const char *const templates[] = {
	"Nov 25 10:00:01 web1 sshd[123]: %s",
	"Nov 25 10:00:02 web1 sshd[123]: Failed password for %s from 203.0.113.5 port 4242 ssh2",
	"Nov 25 10:00:03 web1 sshd[123]: Accepted publickey for %s from 10.0.0.5 port 4242 ssh2",
	"Nov 25 10:00:04 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=%s",
	"Nov 25 10:00:05 web1 kernel: %s",
	"Nov 25 10:00:06 web1 named[42]: %s",
	"Nov 25 10:00:07 web1 CRON[7]: (root) CMD (%s)",
	"Nov 25 10:00:08 web1 useradd[9]: new user: name=%s, UID=0, GID=0, home=/root, shell=/bin/bash",
	"203.0.113.5 - - [25/Nov/2024:10:00:09 +0000] \"GET /%s HTTP/1.1\" 404 12 \"-\" \"Mozilla/5.0\"",
	"203.0.113.5 - - [25/Nov/2024:10:00:10 +0000] \"GET /a?q=%s HTTP/1.1\" 200 12 \"-\" \"curl\"",
	"203.0.113.5 - - [25/Nov/2024:10:00:11 +0000] \"POST /login HTTP/1.1\" 500 1 \"-\" \"%s\"",
	"type=EXECVE msg=audit(1732528811.123:4567): argc=3 a0=\"sh\" a1=\"-c\" a2=\"%s\"",
	"type=SYSCALL msg=audit(1732528812.123:4568): arch=c000003e syscall=59 success=yes exit=0 "
	    "ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 comm=\"x\" exe=\"%s\" key=\"k\"",
	"type=PATH msg=audit(1732528813.123:4569): item=0 name=\"%s\" inode=1 nametype=NORMAL",
};

/* Mixed case, deterministically: the filter must fold like the matcher. */
static void
mix_case(char *s, unsigned seed)
{
	for (; *s; s++, seed = seed * 1103515245u + 12345u)
		if ((seed >> 16) % 3 == 0 && *s >= 'a' && *s <= 'z')
			*s = (char)(*s - 32);
}

struct run {
	struct ms_buf out;	/* "seq rule\n" per alert */
	uint64_t seq;
	size_t alerts;
};

static void
collect_cb(struct alert *a, void *arg)
{
	struct run *r = arg;

	ms_buf_printf(&r->out, "%llu %s\n", (unsigned long long)r->seq, a->rule_id);
	r->alerts++;
}

static void
run_stream(struct sigma_set *s, const struct lines *l, struct run *r)
{
	struct detector *det = sigma_detector_new(s);
	struct detector *dets[1] = { det };
	struct decode_ctx ctx;

	assert_non_null(det);
	memset(&ctx, 0, sizeof(ctx));
	ctx.recv_ms = 1732528800000;
	for (size_t i = 0; i < l->n; i++) {
		r->seq = i + 1;
		detect_line(dets, 1, &dec, &ctx, "agent", "host", ms_str_make("t", 1),
		    ms_str_make(l->v[i], strlen(l->v[i])), r->seq, collect_cb, r);
	}
	detector_free(det);
}

static struct sigma_set *
load_linked(const char *dir, bool prefilter)
{
	struct sigma_report rep;
	char err[512];
	struct sigma_set *s;

	sigma_report_init(&rep);
	s = sigma_set_load(dir, NULL, &rep, err, sizeof(err));
	assert_non_null(s);
	sigma_report_fini(&rep);
	sigma_set_prefilter(s, prefilter);
	return s;
}

static void
test_equivalence(void **state)
{
	static const char *const roots[] = {
		MINISOC_SOURCE_DIR "/rules",
		MINISOC_SIGMAHQ "/linux",
		MINISOC_SIGMAHQ "/web",
		MINISOC_SIGMAHQ "/network",
	};
	char dir[] = "/tmp/test_sigma_prefilter.XXXXXX", link[PATH_MAX];
	struct lines payloads = { 0 }, input = { 0 };
	struct run on, off;
	char line[2048];
	size_t nroots = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		struct stat st;
		if (stat(roots[i], &st) != 0)
			continue;
		snprintf(link, sizeof(link), "%s/%zu", dir, i);
		assert_int_equal(symlink(roots[i], link), 0);
		walk(roots[i], ".yml", payload_cb, &payloads, 0);
		nroots++;
	}
	walk(MINISOC_SOURCE_DIR "/tests/data", "", fixture_cb, &input, 0);
	for (size_t p = 0; p < payloads.n; p++)
		for (size_t t = 0; t < sizeof(templates) / sizeof(templates[0]); t++) {
			/* "%s" is the only conversion of every template */
			const char *pct = strstr(templates[t], "%s");
			snprintf(line, sizeof(line), "%.*s%s%s", (int)(pct - templates[t]), templates[t],
			    payloads.v[p], pct + 2);
			if ((p + t) % 2)
				mix_case(line + 16, (unsigned)(p * 31 + t));
			lines_add(&input, line);
		}

	memset(&on, 0, sizeof(on));
	memset(&off, 0, sizeof(off));
	ms_buf_init(&on.out, 256u << 20);
	ms_buf_init(&off.out, 256u << 20);
	run_stream(load_linked(dir, true), &input, &on);
	run_stream(load_linked(dir, false), &input, &off);
	print_message("roots=%zu payloads=%zu lines=%zu alerts=%zu\n", nroots, payloads.n, input.n,
	    on.alerts);
	assert_true(off.alerts > 0);
	assert_int_equal(on.alerts, off.alerts);
	assert_int_equal(on.out.len, off.out.len);
	assert_memory_equal(on.out.data, off.out.data, on.out.len);

	ms_buf_fini(&on.out);
	ms_buf_fini(&off.out);
	lines_free(&payloads);
	lines_free(&input);
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(link, sizeof(link), "%s/%zu", dir, i);
		unlink(link);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_callback_budget),
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_guard_spellings_merged),
		cmocka_unit_test(test_guard_random),
		cmocka_unit_test(test_shared_literals),
		cmocka_unit_test(test_many_literals),
		cmocka_unit_test(test_memo),
		cmocka_unit_test(test_field_places),
		cmocka_unit_test(test_scratch_name_ends),
		cmocka_unit_test(test_direct_search),
		cmocka_unit_test(test_memo_high_ids),
		cmocka_unit_test(test_memo_skipped),
		cmocka_unit_test(test_equivalence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
