/*
 * The field map (sigma_fieldmap.c) finds exactly the value decode_field_get
 * finds – the first exact name, else the first ASCII case-insensitive one –
 * for every field a bound rule reads, event after event: names in mixed
 * case, duplicates, absent names, names in the event's scratch area whose
 * address is reused with other text by the next event, layouts that differ
 * only in the middle, more layouts than it remembers taking turns, a rule
 * bound after events were seen; and a rule
 * matched through the map gives the same answer as without it.
 *
 * An item of case-insensitive "contains" literals searched in one pass
 * (sigma_multi) answers as the same item matched value by value, on
 * generated values full of near misses.
 *
 * A regular expression checked first against what PCRE2 says every match
 * needs (start bytes, a required byte) answers as PCRE2 alone does; and
 * the cheaper form of the shipped SQL injection rule's comment regex
 * matches exactly the same values as the form it replaced.
 *
 * An item's length bound (no value shorter can match) is the shortest of
 * its values, and only where every value has one.
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

#include "test_gen.h"
#include "test_sigma_util.h"

#include "decode.h"
#include "ms_yaml.h"
#include "sigma.h"
#include "sigma_internal.h"

static struct decoded dec;	/* big: static */

/*
 * Names outside the scratch area must never change (decode.h): like a
 * decoder's static strings, each distinct text gets one address for the
 * whole test.
 */
static char *interned[64];
static size_t ninterned;

static const char *
intern(const char *p, size_t len)
{
	for (size_t i = 0; i < ninterned; i++)
		if (strlen(interned[i]) == len && memcmp(interned[i], p, len) == 0)
			return interned[i];
	assert_true(ninterned < sizeof(interned) / sizeof(interned[0]));
	assert_non_null(interned[ninterned] = strndup(p, len));
	return interned[ninterned++];
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < ninterned; i++)
		free(interned[i]);
	ninterned = 0;
	return 0;
}

/*
 * An event from "name=value" strings; a name starting with '@' is copied
 * into the scratch area (as decoders do for names they build), so its
 * address is the same slot event after event with other text in it.
 */
static void
make_event(const char *const *fields)
{
	decode_reset(&dec);
	for (size_t i = 0; fields[i] != NULL; i++) {
		const char *eq = strchr(fields[i], '=');
		const char *name = fields[i];
		size_t nlen;

		assert_non_null(eq);
		nlen = (size_t)(eq - fields[i]);
		if (fields[i][0] == '@') {
			char *copy = decode_scratch(&dec, nlen);	/* '@' makes room for the NUL */
			assert_non_null(copy);
			memcpy(copy, fields[i] + 1, nlen - 1);
			copy[nlen - 1] = '\0';
			name = copy;
		} else {
			name = intern(fields[i], nlen);
		}
		assert_int_equal(decode_field_add(&dec, name, eq + 1, strlen(eq + 1)), 0);
	}
}

static const char DET[] =
    "  s:\n"
    "    User: a\n"
    "    user: b\n"
    "    USER: c\n"
    "    CommandLine: d\n"
    "    a0: e\n"
    "    missing: f\n"
    "    cs-uri-query: g\n"
    "  condition: s\n";

static const char *const events[][8] = {
	{ "User=1", "user=2", "CommandLine=3", NULL },
	{ "user=1", "User=2", "USER=3", NULL },			/* exact beats earlier ci */
	{ "uSeR=1", "USER=2", NULL },				/* ci: the first one */
	{ "@user=1", "@commandline=2", "a0=3", NULL },		/* scratch names */
	{ "@CommandLine=1", "@User=2", "A0=3", NULL },		/* same slots, other text */
	{ "a0=x", "a0=y", "cs-uri-query=q", "CS-URI-QUERY=Q", NULL },	/* duplicates */
	{ "other=1", NULL },
	{ NULL },
	{ "@cs-uri-query=1", "cs-uri-query=2", NULL },		/* scratch first, exact both */
	/* same count, first and last name: only the middle tells the layouts apart */
	{ "a0=1", "User=2", "user=3", "x=4", NULL },
	{ "a0=1", "other=2", "user=3", "x=4", NULL },
	{ "a0=1", "USER=2", "user=3", "x=4", NULL },
	{ "a0=1", "other=2", "user=3", "x=4", NULL },
};

/* Every item of a bound rule resolves to decode_field_get's value, per event. */
static void
test_same_as_decode_field_get(void **state)
{
	struct sigma_fieldmap *fm = sigma_fieldmap_new();
	struct sigma_rule *r = test_rule_from(DET), *r2 = NULL;
	const struct sigma_conj *c;

	(void)state;
	assert_non_null(fm);
	assert_int_equal(sigma_fieldmap_bind(fm, r), 0);
	assert_int_equal(sigma_fieldmap_nnames(fm), 7);
	c = &r->searches[0].conjs[0];
	assert_int_equal(c->nitems, 7);
	/*
	 * Three rounds: layouts are made in the first and reused in the
	 * second; before the third a rule with new names is bound (ids the
	 * layouts have no room for).
	 */
	for (int round = 0; round < 3; round++) {
		if (round == 2) {
			r2 = test_rule_from("  s:\n    x: 1\n    A0: 2\n  condition: s\n");
			assert_int_equal(sigma_fieldmap_bind(fm, r2), 0);
			assert_int_equal(sigma_fieldmap_nnames(fm), 9);
		}
		for (size_t e = 0; e < sizeof(events) / sizeof(events[0]); e++) {
			make_event(events[e]);
			sigma_fieldmap_next(fm);
			for (size_t i = 0; i < c->nitems; i++) {
				const struct ms_str *want = decode_field_get(&dec, c->items[i].field);
				const struct ms_str *got = sigma_fieldmap_get(fm, &dec, c->items[i].fid);
				if (want != got)
					fail_msg("event %zu field %s: map %s, decode_field_get %s", e,
					    c->items[i].field, got ? got->p : "(none)",
					    want ? want->p : "(none)");
			}
			if (r2 != NULL) {
				const struct sigma_conj *c2 = &r2->searches[0].conjs[0];
				for (size_t i = 0; i < c2->nitems; i++)
					assert_ptr_equal(sigma_fieldmap_get(fm, &dec, c2->items[i].fid),
					    decode_field_get(&dec, c2->items[i].field));
			}
		}
	}
	sigma_rule_free(r);
	sigma_rule_free(r2);
	sigma_fieldmap_free(fm);
}

/*
 * More kinds of events than the map remembers layouts, taking turns: the
 * layouts that share a place (two per hash) are replaced, the least
 * recently used first, and every lookup still finds decode_field_get's
 * value.
 */
static void
test_many_layouts(void **state)
{
	static const char *const pool[] = { "a0", "User", "user", "x", "CommandLine", "other",
		"USER", "cs-uri-query", "missing", "A0" };
	struct sigma_fieldmap *fm = sigma_fieldmap_new();
	struct sigma_rule *r = test_rule_from(DET);
	const struct sigma_conj *c = &r->searches[0].conjs[0];
	char text[16][32];
	const char *fields[17];

	(void)state;
	assert_non_null(fm);
	assert_int_equal(sigma_fieldmap_bind(fm, r), 0);
	for (unsigned round = 0; round < 4; round++)
		for (unsigned e = 0; e < 700; e++) {
			/* layout e: 1 to 16 names of the pool, chosen by e's digits */
			unsigned nf = 1 + e % 16, v = e;

			for (unsigned i = 0; i < nf; i++) {
				snprintf(text[i], sizeof(text[i]), "%s=%u", pool[v % 10], round * 1000 + i);
				v = v / 3 + i;
				fields[i] = text[i];
			}
			fields[nf] = NULL;
			make_event(fields);
			sigma_fieldmap_next(fm);
			for (size_t i = 0; i < c->nitems; i++)
				if (sigma_fieldmap_get(fm, &dec, c->items[i].fid) !=
				    decode_field_get(&dec, c->items[i].field))
					fail_msg("round %u layout %u field %s", round, e, c->items[i].field);
		}
	sigma_rule_free(r);
	sigma_fieldmap_free(fm);
}

/*
 * A new event without _next would read the old one's slots: _next is what
 * makes the values current (and a second _next with no lookup is harmless).
 */
static void
test_next_starts_a_new_event(void **state)
{
	static const char *const a[] = { "user=first", NULL };
	static const char *const b[] = { "CommandLine=x", NULL };
	struct sigma_fieldmap *fm = sigma_fieldmap_new();
	struct sigma_rule *r = test_rule_from(DET);
	const struct sigma_conj *c;
	const struct ms_str *v;

	(void)state;
	assert_int_equal(sigma_fieldmap_bind(fm, r), 0);
	c = &r->searches[0].conjs[0];
	make_event(a);
	sigma_fieldmap_next(fm);
	v = sigma_fieldmap_get(fm, &dec, c->items[1].fid);	/* user */
	assert_non_null(v);
	assert_memory_equal(v->p, "first", 5);
	make_event(b);
	sigma_fieldmap_next(fm);
	sigma_fieldmap_next(fm);
	assert_null(sigma_fieldmap_get(fm, &dec, c->items[1].fid));
	v = sigma_fieldmap_get(fm, &dec, c->items[3].fid);	/* CommandLine */
	assert_non_null(v);
	assert_memory_equal(v->p, "x", 1);
	sigma_rule_free(r);
	sigma_fieldmap_free(fm);
}

struct mcase {
	const char *detection;
	const char *fields[8];
	bool expect;
};

static const struct mcase mcases[] = {
	{ "  s:\n    User: root\n  condition: s\n", { "user=ROOT", NULL }, true },
	{ "  s:\n    User: root\n  condition: s\n", { "user=bob", "User=root", NULL }, true },
	{ "  s:\n    User: root\n  condition: s\n", { "User=bob", "user=root", NULL }, false },
	{ "  s:\n    User|contains: oo\n    a0: x\n  f:\n    a1: null\n  condition: s and not f\n",
	    { "@a1=", "User=root", "a0=x", NULL }, false },
	{ "  s:\n    User|contains: oo\n    a0: x\n  f:\n    a1: null\n  condition: s and not f\n",
	    { "@a1=z", "User=root", "A0=x", NULL }, true },
	{ "  s:\n    a2|exists: false\n    a0|re: '^ab+$'\n  condition: s\n",
	    { "a0=abbb", NULL }, true },
	{ "  s:\n    a2|exists: false\n    a0|re: '^ab+$'\n  condition: s\n",
	    { "a0=abbb", "@A2=", NULL }, false },
	{ "  s:\n    a0|fieldref: a1\n  condition: s\n", { "a0=v", "@a1=v", NULL }, true },
	{ "  s:\n    a0|neq: v\n  condition: s\n", { "@A0=w", NULL }, true },
	{ "  s:\n    a0|neq: v\n  condition: s\n", { "x=w", NULL }, false },
};

/* A rule matched through its map answers as sigma_rule_match does; a rule of another map too. */
static void
test_rule_match_same(void **state)
{
	struct sigma_fieldmap *fm = sigma_fieldmap_new(), *other = sigma_fieldmap_new();

	(void)state;
	for (size_t k = 0; k < sizeof(mcases) / sizeof(mcases[0]); k++) {
		struct sigma_rule *r = test_rule_from(mcases[k].detection);
		struct sigma_rule *r2 = test_rule_from(mcases[k].detection);
		struct sigma_event ev;

		assert_int_equal(sigma_fieldmap_bind(fm, r), 0);
		assert_int_equal(sigma_fieldmap_bind(other, r2), 0);
		make_event(mcases[k].fields);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		sigma_fieldmap_next(fm);
		if (sigma_rule_match(r, &ev) != mcases[k].expect)
			fail_msg("case %zu: sigma_rule_match wrong", k);
		if (sigma_rule_match_fm(r, &ev, fm) != mcases[k].expect)
			fail_msg("case %zu: through the map wrong", k);
		/* r2 is bound to another map: looked up per item, same answer. */
		if (sigma_rule_match_fm(r2, &ev, fm) != mcases[k].expect)
			fail_msg("case %zu: rule of another map wrong", k);
		sigma_rule_free(r);
		sigma_rule_free(r2);
	}
	sigma_fieldmap_free(fm);
	sigma_fieldmap_free(other);
}

/* --- one-pass contains lists ------------------------------------------- */

static const char *const MDET[] = {
	/* the shipped LFI list: many literals sharing first bytes */
	"  s:\n    F|contains:\n      - '/etc/passwd'\n      - '/etc/shadow'\n      - '/proc/self/'\n"
	"      - 'win.ini'\n      - 'c:\\windows\\'\n      - 'web-inf/web.xml'\n      - '/.ssh/id_rsa'\n"
	"  condition: s\n",
	/* two literals, one a prefix of the other; one byte long */
	"  s:\n    F|contains: [ab, abc, 'x']\n  condition: s\n",
	/* neq over contains: present and none found */
	"  s:\n    F|contains|neq: [Ab, zZ]\n  condition: s\n",
	/* keywords on the message */
	"  k:\n    - EViL\n    - 'bad thing'\n    - '/x/'\n  condition: k\n",
	/* bytes above 0x7f compare exactly (ASCII-only folding) */
	"  s:\n    F|contains: [' -e ', ' -enc ', \"\\xc3\\xa9t\\xc3\\xa9\"]\n  condition: s\n",
	/* one pass for the literals, the wildcards one by one (a partial multi) */
	"  k:\n    - EViL\n    - 'bad thing'\n    - '/x/'\n    - 'win.ini'\n    - 'a*b'\n    - 'zz?'\n"
	"  condition: k\n",
	/* ... with a null, which an absent field matches */
	"  s:\n    F: ['*evil*', '*passwd*', '*/x/*', '*win.ini*', null]\n  condition: s\n",
	/* ... and under neq: present, and neither a literal nor the wildcard */
	"  s:\n    F|contains|neq: [Ab, zZ, evil, '/x/', 'a*b']\n  condition: s\n",
};

static unsigned long rng_state = 12345;

static unsigned
rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(rng_state >> 33) % n;
}

/* Pieces of the literals in either case, and other bytes: near misses. */
static size_t
gen_value(char *b, size_t cap)
{
	static const char *const bits[] = { "/etc/", "passwd", "PASSWD", "/proc/self", "SELF/",
		"win.ini", "WIN.IN", "c:\\windows\\", "C:/WINDOWS\\", "web-inf/web.x", "/.ssh/id_rs",
		"a", "b", "c", "ab", "AB", "aB", "x", "X", "zz", "ZZ", "evil", "EvIl", "bad thing",
		"bad  thing", "/x/", "/X", " -e ", " /e ", " \xe2\x80\x93" "enc ", "\xc3\xa9t\xc3\xa9",
		"\xc3\x89T\xc3\x89", " ", "-", "\xff", "q" };
	return test_gen_pieces(b, cap, bits, sizeof(bits) / sizeof(bits[0]), 8, rnd);
}

static void
strip_multi(struct sigma_rule *r)
{
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++)
			for (size_t i = 0; i < r->searches[s].conjs[c].nitems; i++)
				r->searches[s].conjs[c].items[i].multi = NULL;
}

static void
test_multi_same_as_value_by_value(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(MDET) / sizeof(MDET[0]); k++) {
		struct sigma_rule *r = test_rule_from(MDET[k]), *plain = test_rule_from(MDET[k]);
		size_t hits = 0, misses = 0;

		/* The accelerated form is really in use for these items (partly in the last three). */
		if (r->searches[0].conjs[0].items[0].multi == NULL ||
		    r->searches[0].conjs[0].items[0].multi_part != (k >= 5))
			fail_msg("rule %zu: no one-pass form", k);
		strip_multi(plain);
		for (int i = 0; i < 20000; i++) {
			static const char *const absent[] = { NULL };
			static const char *const present[] = { "F=", NULL };
			char v[256];
			size_t n = gen_value(v, sizeof(v));
			struct sigma_event ev;
			bool want, got;

			make_event(rnd(16) == 0 ? absent : present);
			memset(&ev, 0, sizeof(ev));
			ev.d = &dec;
			if (dec.nfields > 0)
				dec.fields[0].value = ms_str_make(v, n);
			ev.message = ms_str_make(v, n);
			want = sigma_rule_match(plain, &ev);
			got = sigma_rule_match(r, &ev);
			if (want != got)
				fail_msg("rule %zu value '%s': one pass %d, value by value %d", k, v, got,
				    want);
			*(want ? &hits : &misses) += 1;
		}
		/* Both answers occur, so the comparison means something. */
		assert_true(hits > 100 && misses > 100);
		sigma_rule_free(r);
		sigma_rule_free(plain);
	}
}

/* --- regex gates ------------------------------------------------------- */

static const char *const RDET[] = {
	"  s:\n    F|re: '(?i)[''\"\\x60)]\\s*(?:or|and)'\n  condition: s\n",	/* start set */
	"  s:\n    F|re: '(?i)evil'\n  condition: s\n",			/* first unit, both cases */
	"  s:\n    F|re: '\\$\\(\\s*(?:id|ls)\\b'\n  condition: s\n",		/* first + required */
	"  s:\n    F|re: '(?:;|\\|\\|?|&&|\\n)\\s*id'\n  condition: s\n",	/* start map */
	"  s:\n    F|re: 'a.{2,}b=c'\n  condition: s\n",			/* minlen and required */
	"  s:\n    F|re: '(?m)^x'\n  condition: s\n",			/* line-anchored: no start set */
};

static size_t
gen_re_value(char *b, size_t cap)
{
	static const char *const bits[] = { "'", "\"", "`", ")", " or", " OR", "and", "EvIl", "ev",
		"il", "$(", "$( id", "id", "ls", ";", "|", "||", "&&", "&", "\n", "a", "b=c", "x",
		"\nx", "zz", " ", "\xe2\x80\x93" };
	return test_gen_pieces(b, cap, bits, sizeof(bits) / sizeof(bits[0]), 7, rnd);
}

static void
strip_gates(struct sigma_rule *r)
{
	for (struct sigma_val *v = r->re_head; v != NULL; v = v->u.re.next) {
		v->u.re.nfirst = 0;
		v->u.re.nreq = 0;
		v->u.re.firstmap = NULL;
	}
}

static bool
has_gate(const struct sigma_rule *r)
{
	const struct sigma_val *v = r->re_head;

	return v != NULL && (v->u.re.nfirst > 0 || v->u.re.nreq > 0 || v->u.re.firstmap != NULL);
}

/* Runs a and b (rules over field F) on generated values; every answer the same. */
static void
compare_rules(const struct sigma_rule *a, const struct sigma_rule *b, const char *what)
{
	size_t hits = 0, misses = 0;

	for (int i = 0; i < 20000; i++) {
		static const char *const present[] = { "F=", NULL };
		char v[128];
		size_t n = gen_re_value(v, sizeof(v));
		struct sigma_event ev;
		bool want, got;

		make_event(present);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		dec.fields[0].value = ms_str_make(v, n);
		want = sigma_rule_match(b, &ev);
		got = sigma_rule_match(a, &ev);
		if (want != got)
			fail_msg("%s, value '%s': %d against %d", what, v, got, want);
		*(want ? &hits : &misses) += 1;
	}
	assert_true(hits > 50 && misses > 50);
}

static void
test_re_gate_same_as_pcre2(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(RDET) / sizeof(RDET[0]); k++) {
		struct sigma_rule *r = test_rule_from(RDET[k]), *plain = test_rule_from(RDET[k]);
		char what[32];

		/* Each has a gate to test (the line-anchored one: its required 'x'). */
		assert_true(has_gate(r));
		strip_gates(plain);
		snprintf(what, sizeof(what), "regex %zu", k);
		compare_rules(r, plain, what);
		sigma_rule_free(r);
		sigma_rule_free(plain);
	}
}

/*
 * rules/web/web_sqli_tautology.yml: "\w['\"]..." became "(?<=\w)['\"]..."
 * (a quote is then the first byte of a match, which PCRE2 and the gate
 * look for); a match exists for exactly the same values.
 */
static void
test_sqli_comment_rewrite(void **state)
{
	static const char old_re[] = "  s:\n    F|re: '(?i)\\w[''\"]\\s*(?:--|#)[\\s-]*(?:&|$)|"
	    "[''\"]\\s*or\\s+(?:true|not\\s+false)\\b'\n  condition: s\n";
	static const char new_re[] = "  s:\n    F|re: '(?i)(?<=\\w)[''\"]\\s*(?:--|#)[\\s-]*(?:&|$)|"
	    "[''\"]\\s*or\\s+(?:true|not\\s+false)\\b'\n  condition: s\n";
	struct sigma_rule *o = test_rule_from(old_re), *n = test_rule_from(new_re);
	static const char *const vals[] = { "admin'--", "admin'--&x=1", "x' or true", "x\" OR NOT  false",
		"'--", " '--", "a' -- -", "a'#", "a' #&", "it's", "a'--b", "_\"#\n", NULL };

	(void)state;
	for (size_t i = 0; vals[i] != NULL; i++) {
		static const char *const present[] = { "F=", NULL };
		struct sigma_event ev;

		make_event(present);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		dec.fields[0].value = ms_str_make(vals[i], strlen(vals[i]));
		assert_int_equal(sigma_rule_match(o, &ev), sigma_rule_match(n, &ev));
	}
	sigma_rule_free(o);
	sigma_rule_free(n);
	{
		/* And on generated values, built from the pieces these patterns care about. */
		struct sigma_rule *o2 = test_rule_from(old_re), *n2 = test_rule_from(new_re);
		size_t hits = 0;
		for (int i = 0; i < 20000; i++) {
			static const char *const present[] = { "F=", NULL };
			static const char *const bits[] = { "a", "_", "'", "\"", "--", "#", " ", "-", "&",
				"\n", "or", " or ", "true", "not", " false", "x" };
			char v[96];
			size_t len = 0;
			struct sigma_event ev;
			bool a, b;

			for (size_t k = rnd(8); k > 0; k--) {
				const char *p = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
				memcpy(v + len, p, strlen(p));
				len += strlen(p);
			}
			v[len] = '\0';
			make_event(present);
			memset(&ev, 0, sizeof(ev));
			ev.d = &dec;
			dec.fields[0].value = ms_str_make(v, len);
			a = sigma_rule_match(o2, &ev);
			b = sigma_rule_match(n2, &ev);
			if (a != b)
				fail_msg("'%s': old %d new %d", v, a, b);
			hits += a;
		}
		assert_true(hits > 100);
		sigma_rule_free(o2);
		sigma_rule_free(n2);
	}
}

/* --- item length bound --------------------------------------------------- */

struct lcase {
	const char *detection;
	uint32_t minlen;
};

static const struct lcase lcases[] = {
	{ "  s:\n    F: abc\n  condition: s\n", 3 },
	{ "  s:\n    F|contains: [abcd, ab]\n  condition: s\n", 2 },
	{ "  s:\n    F: 'a*b?c'\n  condition: s\n", 4 },		/* star counts nothing, ? one */
	{ "  s:\n    F|re: 'x{5}'\n  condition: s\n", 5 },
	{ "  s:\n    F: ['abcdef', '*']\n  condition: s\n", 0 },		/* '*' matches "" */
	{ "  s:\n    F: ['abc', null]\n  condition: s\n", 0 },		/* null: no bound */
	{ "  s:\n    F|neq: abc\n  condition: s\n", 0 },			/* neq: "" is a match */
	{ "  s:\n    F|cidr: 10.0.0.0/8\n  condition: s\n", 0 },
	{ "  s:\n    F|windash: '-e'\n  condition: s\n", 2 },		/* a dash is one byte or three */
};

static void
test_item_minlen(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(lcases) / sizeof(lcases[0]); k++) {
		struct sigma_rule *r = test_rule_from(lcases[k].detection);
		if (r->searches[0].conjs[0].items[0].minlen != lcases[k].minlen)
			fail_msg("case %zu: minlen %u, want %u", k,
			    r->searches[0].conjs[0].items[0].minlen, lcases[k].minlen);
		sigma_rule_free(r);
	}
}

/* Values right at the bound and one byte short, through sigma_rule_match. */
static void
test_item_minlen_matches(void **state)
{
	static const struct {
		const char *detection, *value;
		bool match;
	} c[] = {
		{ "  s:\n    F|windash: '-e'\n  condition: s\n", "/e", true },
		{ "  s:\n    F|windash: '-e'\n  condition: s\n", "\xe2\x80\x93" "e", true },
		{ "  s:\n    F|windash: '-e'\n  condition: s\n", "e", false },
		{ "  s:\n    F: ['abcdef', '*']\n  condition: s\n", "", true },
		{ "  s:\n    F|re: 'x{5}'\n  condition: s\n", "xxxxx", true },
		{ "  s:\n    F|re: 'x{5}'\n  condition: s\n", "xxxx", false },
		{ "  s:\n    F: 'a*b?c'\n  condition: s\n", "abxc", true },
		{ "  s:\n    F: 'a*b?c'\n  condition: s\n", "abc", false },
		/* a memoised search referenced twice */
		{ "  s:\n    F: abc\n  f:\n    F: x\n  condition: s and not (s and f)\n", "abc", true },
	};
	static const char *const present[] = { "F=", NULL };

	(void)state;
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct sigma_rule *r = test_rule_from(c[k].detection);
		struct sigma_event ev;

		make_event(present);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		dec.fields[0].value = ms_str_make(c[k].value, strlen(c[k].value));
		if (sigma_rule_match(r, &ev) != c[k].match)
			fail_msg("case %zu: want %d", k, c[k].match);
		sigma_rule_free(r);
	}
}

/* Searches 0..69, the condition reading the last ones twice: memo bits past the first word. */
static void
test_memo_many_searches(void **state)
{
	static const char *const present[] = { "F=", NULL };
	char det[8192];
	size_t o = 0;
	struct sigma_rule *r;
	struct sigma_event ev;

	(void)state;
	for (int i = 0; i < 70; i++)
		o += (size_t)snprintf(det + o, sizeof(det) - o, "  s%d:\n    F: v%d\n", i, i);
	snprintf(det + o, sizeof(det) - o,
	    "  condition: (s69 or s68) and not (s68 and s1) and (s69 or s0)\n");
	r = test_rule_from(det);
	for (int v = 0; v < 70; v++) {
		char val[8];
		make_event(present);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		snprintf(val, sizeof(val), "v%d", v);
		dec.fields[0].value = ms_str_make(val, strlen(val));
		assert_int_equal(sigma_rule_match(r, &ev), v == 69);
	}
	sigma_rule_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_decode_field_get),
		cmocka_unit_test(test_many_layouts),
		cmocka_unit_test(test_next_starts_a_new_event),
		cmocka_unit_test(test_rule_match_same),
		cmocka_unit_test(test_multi_same_as_value_by_value),
		cmocka_unit_test(test_re_gate_same_as_pcre2),
		cmocka_unit_test(test_sqli_comment_rewrite),
		cmocka_unit_test(test_item_minlen),
		cmocka_unit_test(test_item_minlen_matches),
		cmocka_unit_test(test_memo_many_searches),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
