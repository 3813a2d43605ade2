/*
 * Cheaper forms of rule items and correlation fields answer exactly as the
 * plain forms they stand for:
 *
 * - an item of exact values matched through its set by length
 *   (sigma_exact) gives the answer of the same item matched value by
 *   value, case-insensitive and |cased, with |neq, with values longer than
 *   the last length bucket, empty values, an absent field;
 * - an item of |cidr ranges that reads the field as an address once gives
 *   the answer of the same item parsing the value for every range: IPv4,
 *   IPv6, IPv4-mapped IPv6, garbage, over-long values, embedded NULs, with
 *   |all and |neq;
 * - the forms are used only where they apply (not for |all exact lists,
 *   a single value, wildcards or "contains" lists);
 * - an item of the same meaning in several rules is evaluated once per
 *   event (one memo slot), near misses are not taken for it, and rules
 *   answer through the memo as on their own; a freed rule's items leave
 *   the comparison table; a wrapped event counter forgets every memo;
 * - a correlation reading its group-by fields (with aliases) and its
 *   value_count field through a set's field map raises the same alerts,
 *   with the same groups, values and samples, as one looking names up per
 *   feed, over events whose names vary in case, order, presence and
 *   storage (scratch names).
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
static uint32_t seed = 12345;

static unsigned
rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static struct sigma_item *
first_item(struct sigma_rule *r)
{
	return &r->searches[0].conjs[0].items[0];
}

static void
strip(struct sigma_rule *r)
{
	for (size_t s = 0; s < r->nsearches; s++)
		for (size_t c = 0; c < r->searches[s].nconjs; c++)
			for (size_t i = 0; i < r->searches[s].conjs[c].nitems; i++) {
				r->searches[s].conjs[c].items[i].exact = NULL;
				r->searches[s].conjs[c].items[i].cidr = false;
			}
}

/*
 * Runs a and b (rules over field F) on n generated values, F sometimes
 * absent; every answer the same, and both answers seen often enough.
 */
static void
compare_rules(const struct sigma_rule *a, const struct sigma_rule *b,
    size_t (*gen)(char *, size_t), const char *what)
{
	size_t hits = 0, misses = 0;

	for (int i = 0; i < 20000; i++) {
		char v[256];
		size_t n = gen(v, sizeof(v));
		struct sigma_event ev;
		bool want, got;

		decode_reset(&dec);
		if (rnd(16) != 0)
			assert_int_equal(decode_field_add(&dec, "F", v, n), 0);
		else
			assert_int_equal(decode_field_add(&dec, "G", v, n), 0);
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		ev.message = ms_str_make(v, n);
		want = sigma_rule_match(b, &ev);
		got = sigma_rule_match(a, &ev);
		if (want != got)
			fail_msg("%s, value '%.*s' (%zu bytes): %d, value by value %d", what, (int)n,
			    v, n, got, want);
		*(want ? &hits : &misses) += 1;
	}
	if (hits < 100 || misses < 100)
		fail_msg("%s: %zu hits, %zu misses: not a comparison", what, hits, misses);
}

/* --- exact values ------------------------------------------------------ */

#define LONG63 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const char *const EDET[] = {
	/* ports, flags: short values of different lengths, both cases */
	"  s:\n    F:\n      - '22'\n      - '2323'\n      - 'SYN'\n      - 'ack'\n      - 'Ab'\n"
	"      - ''\n      - 'b'\n  condition: s\n",
	"  s:\n    F|cased:\n      - 'SYN'\n      - 'syn'\n      - 'Ab'\n      - '22'\n"
	"  condition: s\n",
	"  s:\n    F|neq:\n      - 'ab'\n      - 'b'\n      - '22'\n  condition: s\n",
	/* lengths 62 .. 65: the last bucket holds several lengths */
	"  s:\n    F:\n      - '" LONG63 "'\n      - '" LONG63 "x'\n      - '" LONG63 "xx'\n"
	"      - 'x'\n  condition: s\n",
	"  s:\n    F:\n      - 'ab'\n      - 'SYN'\n  t:\n    F: '22'\n  condition: not s and not t\n",
};

static size_t
gen_exact(char *b, size_t cap)
{
	static const char *const bits[] = { "2", "22", "3", "23", "s", "S", "y", "Y", "n", "N",
		"SYN", "syn", "a", "A", "b", "B", "c", "k", "K", "x", "xxxxxxxxxxxxxxxx", "\xff",
		"\xc3\x89" };
	/* Often exactly one piece: whole values are what an exact list matches. */
	if (rnd(3) == 0) {
		const char *p = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
		snprintf(b, cap, "%s", p);
		return strlen(b);
	}
	return test_gen_pieces(b, cap, bits, sizeof(bits) / sizeof(bits[0]), 8, rnd);
}

static size_t
gen_exact_long(char *b, size_t cap)
{
	size_t n = 58 + rnd(10);

	assert_true(n < cap);
	memset(b, rnd(4) == 0 ? 'X' : 'x', n);
	if (rnd(4) == 0)
		b[rnd((unsigned)n)] = 'y';
	if (rnd(3) == 0)
		n = 1;
	b[n] = '\0';
	return n;
}

static void
test_exact_same_as_value_by_value(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(EDET) / sizeof(EDET[0]); k++) {
		struct sigma_rule *r = test_rule_from(EDET[k]), *plain = test_rule_from(EDET[k]);
		char what[64];

		if (first_item(r)->exact == NULL)
			fail_msg("rule %zu: no exact set", k);
		strip(plain);
		snprintf(what, sizeof(what), "exact rule %zu", k);
		compare_rules(r, plain, k == 3 ? gen_exact_long : gen_exact, what);
		sigma_rule_free(r);
		sigma_rule_free(plain);
	}
}

/* Where a set would not mean the same (or gain nothing), items stay value by value. */
static void
test_exact_only_where_it_applies(void **state)
{
	static const char *const no[] = {
		"  s:\n    F|all:\n      - 'a'\n      - 'b'\n  condition: s\n",
		"  s:\n    F:\n      - 'a'\n  condition: s\n",
		"  s:\n    F:\n      - 'a*'\n      - 'b'\n  condition: s\n",
		"  s:\n    F|contains:\n      - 'a'\n      - 'b'\n  condition: s\n",
	};
	struct sigma_rule *r;

	(void)state;
	for (size_t k = 0; k < sizeof(no) / sizeof(no[0]); k++) {
		r = test_rule_from(no[k]);
		if (first_item(r)->exact != NULL || first_item(r)->cidr)
			fail_msg("rule %zu: accelerated form where it does not apply", k);
		sigma_rule_free(r);
	}
	/* A single range is a range item too (nothing to gain, nothing lost). */
	r = test_rule_from("  s:\n    F|cidr: 10.0.0.0/8\n  condition: s\n");
	assert_true(first_item(r)->cidr);
	sigma_rule_free(r);
}

/* --- cidr ranges --------------------------------------------------------- */

static const char *const CDET[] = {
	"  s:\n    F|cidr:\n      - '10.0.0.0/8'\n      - '172.16.0.0/12'\n      - '192.168.1.0/24'\n"
	"      - '0.0.0.0/0'\n      - '::1/128'\n      - 'fc00::/7'\n      - 'fe80::/10'\n"
	"  condition: not s\n",
	"  s:\n    F|cidr:\n      - '10.0.0.0/8'\n      - '192.168.1.128/25'\n      - '2001:db8::/32'\n"
	"  condition: s\n",
	"  s:\n    F|cidr|all:\n      - '10.0.0.0/8'\n      - '10.1.0.0/16'\n  condition: s\n",
	"  s:\n    F|cidr|neq:\n      - '10.0.0.0/8'\n      - '2001:db8::/32'\n  condition: s\n",
	"  s:\n    F|cidr: '10.1.2.3/32'\n  condition: s\n",
};

static size_t
gen_addr(char *b, size_t cap)
{
	static const char *const v6[] = { "::1", "fe80::1", "fc00::5", "2001:db8::1",
		"2001:db9::1", "::ffff:10.1.2.3", "::ffff:192.168.1.200", "::ffff:8.8.8.8", "::",
		"1::2::3", "2001:DB8::A", "fe80::1%eth0" };
	static const char *const junk[] = { "", "10.1.2", "10.1.2.3.4", "010.1.2.3", "10.1.2.256",
		" 10.1.2.3", "10.1.2.3 ", "abc", "1.2.3.4/8",
		"11111111111111111111111111111111111111111111111111111111111111111" };

	switch (rnd(6)) {
	case 0:
		snprintf(b, cap, "%s", v6[rnd(sizeof(v6) / sizeof(v6[0]))]);
		break;
	case 1:
		snprintf(b, cap, "%s", junk[rnd(sizeof(junk) / sizeof(junk[0]))]);
		break;
	case 2:
		/* an embedded NUL: never an address */
		snprintf(b, cap, "10.1.2.3");
		b[rnd(8)] = '\0';
		return 8;
	default: {
		static const unsigned first[] = { 10, 172, 192, 8, 100, 127 };
		snprintf(b, cap, "%u.%u.%u.%u", first[rnd(6)], rnd(3) ? 1u : rnd(256),
		    rnd(2) ? (rnd(2) ? 168u : 2u) : rnd(256), rnd(256));
		break;
	}
	}
	return strlen(b);
}

static void
test_cidr_same_as_value_by_value(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(CDET) / sizeof(CDET[0]); k++) {
		struct sigma_rule *r = test_rule_from(CDET[k]), *plain = test_rule_from(CDET[k]);
		char what[64];

		if (!first_item(r)->cidr)
			fail_msg("rule %zu: not a range item", k);
		strip(plain);
		snprintf(what, sizeof(what), "cidr rule %zu", k);
		compare_rules(r, plain, gen_addr, what);
		sigma_rule_free(r);
		sigma_rule_free(plain);
	}
}

/* --- correlations through the field map ------------------------------------ */

#define MAX_SEEN 4096

struct seen {
	char text[MAX_SEEN][256];
	size_t n;
};

/* One line per alert: count, times, group values, values and samples. */
static void
corr_emit_cb(const struct sigma_corr_alert *a, void *arg)
{
	struct seen *s = arg;
	char *p;
	size_t left;
	int w;

	assert_true(s->n < MAX_SEEN);
	p = s->text[s->n++];
	left = sizeof(s->text[0]);
	w = snprintf(p, left, "%llu %lld %lld", (unsigned long long)a->count,
	    (long long)a->first_ms, (long long)a->last_ms);
	for (size_t i = 0; i < a->ngroup && w > 0 && (size_t)w < left; i++) {
		p += w;
		left -= (size_t)w;
		w = snprintf(p, left, " %s=%.*s", a->group_names[i], (int)a->group_values[i].len,
		    a->group_values[i].p ? a->group_values[i].p : "");
	}
	for (size_t i = 0; i < a->nvalues && w > 0 && (size_t)w < left; i++) {
		p += w;
		left -= (size_t)w;
		w = snprintf(p, left, " v:%s", a->values[i]);
	}
	for (size_t i = 0; i < a->nsamples && w > 0 && (size_t)w < left; i++) {
		p += w;
		left -= (size_t)w;
		w = snprintf(p, left, " s:%s", a->samples[i]);
	}
}

static struct sigma_corr *
corr_from(const char *yaml)
{
	struct ms_yaml_node **docs = NULL;
	size_t n = 0;
	char err[256];
	struct sigma_corr *c;

	assert_int_equal(ms_yaml_parse(yaml, strlen(yaml), &docs, &n, err, sizeof(err)), 0);
	c = sigma_corr_parse(docs[0], "t.yml", err, sizeof(err));
	ms_yaml_docs_free(docs, n);
	if (c == NULL)
		fail_msg("rejected: %s", err);
	return c;
}

static const char *const CORRS[] = {
	"title: c\ncorrelation:\n  type: value_count\n  rules: [r0, r1]\n"
	"  group-by: [src_ip, user]\n  aliases:\n    user:\n      r0: User\n      r1: acct\n"
	"  timespan: 10s\n  condition:\n    field: dst_port\n    gte: 3\n",
	"title: c\ncorrelation:\n  type: event_count\n  rules: [r0, r1]\n"
	"  group-by: [dst_ip]\n  timespan: 5s\n  condition:\n    gte: 4\n",
	"title: c\ncorrelation:\n  type: value_count\n  rules: [r0, r1]\n"
	"  group-by: [src_ip]\n  timespan: 10s\n  condition:\n    field: dst_port\n    lt: 2\n",
};

/* Interned names: an address per text, as a decoder's static strings. */
static const char *const NAMES[] = { "src_ip", "SRC_IP", "Src_Ip", "user", "User", "USER", "acct",
	"dst_port", "DST_PORT", "dst_ip", "other" };

static void
gen_event(char scratch_names)
{
	static const char *const vals[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3", "", "22", "23",
		"80", "443", "root", "admin" };
	unsigned nf = 1 + rnd(7);

	decode_reset(&dec);
	for (unsigned i = 0; i < nf; i++) {
		const char *name = NAMES[rnd(sizeof(NAMES) / sizeof(NAMES[0]))];
		const char *v = vals[rnd(sizeof(vals) / sizeof(vals[0]))];

		if (scratch_names && rnd(4) == 0) {
			size_t l = strlen(name);
			char *copy = decode_scratch(&dec, l + 1);
			assert_non_null(copy);
			memcpy(copy, name, l + 1);
			name = copy;
		}
		assert_int_equal(decode_field_add(&dec, name, v, strlen(v)), 0);
	}
}

static void
test_corr_fieldmap_same_alerts(void **state)
{
	static struct seen by_name, by_id;

	(void)state;
	for (size_t k = 0; k < sizeof(CORRS) / sizeof(CORRS[0]); k++) {
		struct sigma_corr *plain = corr_from(CORRS[k]), *bound = corr_from(CORRS[k]);
		struct sigma_fieldmap *fm = sigma_fieldmap_new(), *other = sigma_fieldmap_new();

		assert_non_null(fm);
		assert_non_null(other);
		/* another reader's names first, so the ids are not 0, 1, 2 */
		assert_int_not_equal(sigma_fieldmap_id(fm, "zz"), UINT32_MAX);
		assert_int_equal(sigma_corr_bind(bound, fm), 0);
		by_name.n = by_id.n = 0;
		for (int i = 0; i < 30000; i++) {
			struct sigma_event ev;
			char line[32];
			size_t ref = rnd(2);

			gen_event(i % 2);
			snprintf(line, sizeof(line), "line %d", i);
			memset(&ev, 0, sizeof(ev));
			ev.d = &dec;
			ev.time_ms = 1000000 + (int64_t)i * 100 - (int64_t)rnd(300);
			ev.line = ms_str_make(line, strlen(line));
			sigma_fieldmap_next(fm);
			sigma_fieldmap_next(other);
			sigma_corr_feed(plain, ref, &ev, corr_emit_cb, &by_name);
			/* another map than the one it is bound to: names looked up */
			if (i % 7 == 0)
				sigma_corr_feed_fm(bound, ref, &ev, other, corr_emit_cb, &by_id);
			else
				sigma_corr_feed_fm(bound, ref, &ev, fm, corr_emit_cb, &by_id);
		}
		if (by_name.n < 20)
			fail_msg("correlation %zu: %zu alerts, not a comparison", k, by_name.n);
		assert_int_equal(by_id.n, by_name.n);
		for (size_t i = 0; i < by_name.n; i++)
			if (strcmp(by_id.text[i], by_name.text[i]) != 0)
				fail_msg("correlation %zu alert %zu: '%s' by id, '%s' by name", k, i,
				    by_id.text[i], by_name.text[i]);
		sigma_corr_free(plain);
		sigma_corr_free(bound);
		sigma_fieldmap_free(fm);
		sigma_fieldmap_free(other);
	}
}

/* --- items shared between rules --------------------------------------------- */

static const char *const SHARED[] = {
	/* 0 */ "  s:\n    protocol: tcp\n    flags|contains: [ACK, RST]\n  condition: s\n",
	/* 1 */ "  a:\n    protocol: tcp\n  f:\n    flags|contains: [ACK, RST]\n"
		"  n:\n    src|cidr: [10.0.0.0/8, 192.168.0.0/16]\n"
		"  condition: a and not f and not n\n",
	/* 2 */ "  s:\n    protocol: udp\n    src|cidr: [10.0.0.0/8, 192.168.0.0/16]\n"
		"  condition: s\n",
	/* 3: near misses of 0 and 1: other field, casing, order, modifier */
		"  s:\n    Protocol: tcp\n    flags|contains|cased: [ACK, RST]\n"
		"    src|cidr: [192.168.0.0/16, 10.0.0.0/8]\n  condition: s\n",
	/* 4 */ "  s:\n    flags|contains|all: [ACK, RST]\n    protocol|neq: tcp\n"
		"  condition: s\n",
	/* 5 */ "  s:\n    protocol: TCP\n    flags|contains: [rst, ack]\n  condition: not s\n",
};

static void
gen_shared_event(void)
{
	static const char *const protos[] = { "tcp", "TCP", "udp", "icmp" };
	static const char *const flags[] = { "SYN", "ACK SYN", "RST", "ack", "", "FIN PSH", "RST ACK" };
	char src[32];

	snprintf(src, sizeof(src), "%u.%u.1.2", rnd(2) ? 10u : 192u, rnd(2) ? 168u : 5u);
	decode_reset(&dec);
	if (rnd(8) != 0)
		assert_int_equal(decode_field_add(&dec, rnd(4) ? "protocol" : "Protocol",
		    protos[rnd(4)], 3 + (rnd(4) == 3)), 0);
	if (rnd(8) != 0) {
		const char *f = flags[rnd(7)];
		assert_int_equal(decode_field_add(&dec, "flags", f, strlen(f)), 0);
	}
	if (rnd(8) != 0) {
		char *p = decode_scratch(&dec, strlen(src) + 1);
		assert_non_null(p);
		memcpy(p, src, strlen(src) + 1);
		assert_int_equal(decode_field_add(&dec, "src", p, strlen(p)), 0);
	}
}

/*
 * Items of the same meaning share a memo slot, near misses do not; every
 * rule answers through the memo as it does on its own, event after event,
 * whatever order the rules run in.
 */
static void
test_shared_items(void **state)
{
	enum { N = sizeof(SHARED) / sizeof(SHARED[0]) };
	struct sigma_fieldmap *fm = sigma_fieldmap_new();
	struct sigma_rule *r[N], *plain[N];
	size_t hits[N] = { 0 };

	(void)state;
	assert_non_null(fm);
	for (size_t k = 0; k < N; k++) {
		r[k] = test_rule_from(SHARED[k]);
		plain[k] = test_rule_from(SHARED[k]);
		assert_int_equal(sigma_fieldmap_bind(fm, r[k]), 0);
	}
	/* protocol: tcp (0, 1), flags contains ACK, RST (0, 1), the ranges (1, 2) */
	assert_int_equal(sigma_fieldmap_nshared(fm), 3);
	assert_int_not_equal(r[0]->searches[0].conjs[0].items[0].sid, 0);
	assert_int_equal(r[0]->searches[0].conjs[0].items[0].sid,
	    r[1]->searches[0].conjs[0].items[0].sid);
	assert_int_equal(r[0]->searches[0].conjs[0].items[1].sid,
	    r[1]->searches[1].conjs[0].items[0].sid);
	assert_int_equal(r[1]->searches[2].conjs[0].items[0].sid,
	    r[2]->searches[0].conjs[0].items[1].sid);
	assert_int_equal(r[2]->searches[0].conjs[0].items[0].sid, 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r[3]->searches[0].conjs[0].items[i].sid, 0);
	assert_int_equal(r[4]->searches[0].conjs[0].items[0].sid, 0);
	assert_int_equal(r[4]->searches[0].conjs[0].items[1].sid, 0);
	/* values are compiled lower-case: "TCP" is "tcp", and a list is a list in order */
	assert_int_equal(r[5]->searches[0].conjs[0].items[0].sid,
	    r[0]->searches[0].conjs[0].items[0].sid);
	assert_int_equal(r[5]->searches[0].conjs[0].items[1].sid, 0);
	for (int i = 0; i < 20000; i++) {
		struct sigma_event ev;
		size_t start = rnd(N);

		gen_shared_event();
		memset(&ev, 0, sizeof(ev));
		ev.d = &dec;
		sigma_fieldmap_next(fm);
		for (size_t j = 0; j < N; j++) {
			size_t k = (start + j) % N;
			bool want = sigma_rule_match(plain[k], &ev);

			if (sigma_rule_match_fm(r[k], &ev, fm) != want)
				fail_msg("event %d rule %zu: %d through the memo", i, k, !want);
			hits[k] += want;
		}
	}
	for (size_t k = 0; k < N; k++) {
		if (hits[k] < 100 || hits[k] > 19900)
			fail_msg("rule %zu matched %zu of 20000: not a comparison", k, hits[k]);
		sigma_rule_free(plain[k]);
	}
	/* A freed rule's items leave the table: binding a like one later is safe (ASan). */
	sigma_rule_free(r[0]);
	sigma_rule_free(r[1]);
	r[0] = test_rule_from(SHARED[0]);
	assert_int_equal(sigma_fieldmap_bind(fm, r[0]), 0);
	/* rule 5's protocol item is still there to share with */
	assert_int_equal(r[0]->searches[0].conjs[0].items[0].sid,
	    r[5]->searches[0].conjs[0].items[0].sid);
	/* bound twice: forgotten first, never shared with itself */
	assert_int_equal(sigma_fieldmap_bind(fm, r[0]), 0);
	assert_int_equal(r[0]->searches[0].conjs[0].items[1].sid, 0);
	for (size_t k = 0; k < N; k++)
		if (k != 1)
			sigma_rule_free(r[k]);
	sigma_fieldmap_free(fm);
}

/* When the event counter wraps, no memo of an old event passes for the new one's. */
static void
test_shared_memo_wrap(void **state)
{
	struct sigma_fieldmap *fm = sigma_fieldmap_new();
	struct sigma_fieldmap_hot *h = (struct sigma_fieldmap_hot *)fm;
	struct sigma_rule *a = test_rule_from(SHARED[0]), *b = test_rule_from(SHARED[5]);
	struct sigma_event ev;

	(void)state;
	assert_int_equal(sigma_fieldmap_bind(fm, a), 0);
	assert_int_equal(sigma_fieldmap_bind(fm, b), 0);
	memset(&ev, 0, sizeof(ev));
	ev.d = &dec;
	/* event at gen 1: protocol tcp, remembered as true */
	decode_reset(&dec);
	assert_int_equal(decode_field_add(&dec, "protocol", "tcp", 3), 0);
	assert_int_equal(decode_field_add(&dec, "flags", "SYN", 3), 0);
	sigma_fieldmap_next(fm);
	h->gen = 1;
	assert_false(sigma_rule_match_fm(a, &ev, fm));	/* tcp, no ACK/RST */
	/* 2^32 - 1 events later the counter is at 1 again, with a udp event */
	h->gen = UINT32_MAX;
	decode_reset(&dec);
	assert_int_equal(decode_field_add(&dec, "protocol", "udp", 3), 0);
	assert_int_equal(decode_field_add(&dec, "flags", "ACK", 3), 0);
	sigma_fieldmap_next(fm);
	assert_int_equal(h->gen, 1);
	assert_true(sigma_rule_match_fm(b, &ev, fm));	/* not (tcp and rst/ack): udp */
	sigma_rule_free(a);
	sigma_rule_free(b);
	sigma_fieldmap_free(fm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_same_as_value_by_value),
		cmocka_unit_test(test_exact_only_where_it_applies),
		cmocka_unit_test(test_cidr_same_as_value_by_value),
		cmocka_unit_test(test_corr_fieldmap_same_alerts),
		cmocka_unit_test(test_shared_items),
		cmocka_unit_test(test_shared_memo_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
