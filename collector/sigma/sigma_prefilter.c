/*
 * sigma_prefilter – necessary literals of compiled rules, scanned for all
 * rules at once with Hyperscan (see sigma_prefilter.h).
 *
 * Extraction works on the compiled detection (sigma_internal.h), bottom
 * up, with "no constraint" (any event may match) as the escape. What a
 * node needs is an AND of up to PF_MAX_CLAUSES clauses, each clause a set
 * of literals one of which must occur:
 *
 *   value      a glob: its longest run of literal bytes; a regex: each
 *              run it cannot match without, as the set of strings one of
 *              which occurs (see re_seq), or when it has none a long
 *              minimum length (a pseudo-literal found by a value at
 *              least that long, PF_RE_MINLEN); anything else
 *              (cidr, number, null, exists, fieldref, "") – none
 *   group      OR of its alternatives, or none if one has none
 *   item       OR of its groups, or with |all an AND; |neq – none
 *   conj (map) AND of its items
 *   search     OR of its maps
 *   condition  AND, OR, not: none
 *
 * AND keeps the clauses of every operand (the best PF_MAX_CLAUSES). The
 * OR of two operands needs the union of any clause of one with any clause
 * of the other: the best such unions are kept (cnf_or). "Best" prefers
 * clauses whose most common literal is rarest in logs (lit_score: long,
 * and made of uncommon bytes), then fewer literals. Every step only ever
 * widens what may match, so a rule is skipped only when, for one of its
 * clauses, none of the strings is in the event. Requiring every clause is what keeps
 * "type: EXECVE and a0: chmod" from running on every EXECVE record.
 */
#include "sigma_prefilter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "sigma_internal.h"

#define PF_MAX_LITS	(1u << 20)	/* literals per filter, a bound on rule files */
/*
 * How rare a literal is in log text, in rough bits (see byte_bits): a
 * clause is as good as its most common literal. Literals worth this much
 * (about eight letters) are all "rare enough"; a clause worth less than
 * PF_MIN_SCORE (one common letter or URL separator) is kept only while
 * its node has nothing better.
 */
#define PF_GOOD_SCORE	36
#define PF_MIN_SCORE	8
#define PF_MAX_CLAUSES	4		/* clauses (ANDed literal sets) kept per node */
#define PF_CLAUSE_BITS	2		/* a clause's index among its rule's */
_Static_assert(PF_MAX_CLAUSES <= (1 << PF_CLAUSE_BITS), "clause index bits");
#define PF_LS_ONE	UINT32_C(0x80000000)	/* pf_lstate.ref: one clause, inline */
#define PF_FCACHE_BITS	8		/* field_find cache: 256 entries */
#define PF_DIRECT_LITS	64		/* fields with up to this many literals ... */
#define PF_DIRECT_LEN	32		/* ... are searched directly in values up to this long */
/*
 * Callbacks per event before the scan gives up and lets every rule run:
 * without single-match a literal is reported at each occurrence, and a
 * hostile 64 KiB line of one repeated byte would otherwise cost millions.
 * Ordinary events take a few dozen.
 */
#define PF_MAX_CALLBACKS 4096
#define PF_DEDUP_MAX	64		/* clauses up to this size drop duplicate literals */
/*
 * A further clause of a rule on a field no rule's best clause names is
 * not scanned for (one more field searched per event costs more than it
 * saves), but kept as a guard: once every scanned clause of the rule has
 * been seen, the field's value is searched for the guard's few literals
 * before the rule runs ("outcome: success" is scanned, "user: root" then
 * checked on the successful logins only).
 */
#define PF_GUARD_LITS	16		/* literals of a guard */
#define PF_RULE_GUARDS	2		/* guards of a rule */
/*
 * A regular expression without necessary literals that cannot match a
 * value shorter than this ("^.{4096,}" of a very-long-URI rule) needs a
 * value that long: a clause of its own, checked by length alone.
 */
#define PF_RE_MINLEN	32
/*
 * Field values remembered with the literals found in them: most values
 * of a field repeat from event to event (user agents, URI stems, methods,
 * audit record types, command names), and looking one up costs a hash
 * and a compare where a scan costs a call into Hyperscan.
 */
#define PF_MEMO		512		/* remembered values (a power of two), two per hash */
#define PF_MEMO_BITS	8		/* log2(PF_MEMO / 2): a bucket's index */
#define PF_MEMO_MIN	5		/* values from this long (shorter ones of a field ... */
					/* ... with few literals: the direct search is cheaper) */
#define PF_MEMO_LEN	128		/* up to this long are remembered ... */
#define PF_MEMO_IDS	6		/* ... when at most this many literals were found */
_Static_assert(PF_MEMO / 2 == 1u << PF_MEMO_BITS, "memo buckets by index bits");
/*
 * Some fields' values seldom repeat (URIs with ids in them, the register
 * values a0-a3 of an audit SYSCALL record): a lookup that misses costs a
 * hash, a probe and a store on top of the scan, and pushes out values
 * that would have been found. A field with a direct search whose last
 * PF_MSTAT_MISSES misses of values short enough for it came within fewer
 * than PF_MSTAT_EVENTS events of its filter (most of its values new)
 * searches those values without the memo for up to PF_MSTAT_SKIP events
 * of the filter, then is measured again (the fields that skip are
 * measured again together, PF_MSTAT_SKIP events after the first of them
 * began). Only misses are counted, and
 * a field that skips the memo has memo_min PF_MEMO_SKIP in the name
 * caches: a value found in the memo costs nothing more.
 */
#define PF_MSTAT_MISSES	128
#define PF_MSTAT_EVENTS	256
#define PF_MSTAT_SKIP	4096
#define PF_MEMO_SKIP	(PF_DIRECT_LEN + 1)

struct pf_lit {
	const unsigned char *p;	/* rule arena; NULL: a value of at least len bytes */
	size_t len;
	const char *field;	/* rule arena; NULL = the message */
};

/* A set of literals one of which a match needs (a clause). */
struct pf_set {
	struct pf_lit *v;
	size_t n, a;
	unsigned score;		/* of its most common literal (lit_score), when n > 0 */
};

/* Clauses every one of which a match needs. */
struct pf_cnf {
	struct pf_set c[PF_MAX_CLAUSES];
	size_t n;
};

/* A literal of a field's direct search: its bytes at dbytes + off. */
struct pf_dlit {
	uint32_t off, len, id;
};

/*
 * What a scan of a field's value reads, in one cache line per field
 * (sigma_prefilter.scan[], copied from the fields once they are built).
 */
struct pf_fscan {
	hs_database_t *db;	/* owned by the pf_field */
	/* Lengths (pf_lit with p NULL): a value at least lmin[j] long is literal lid[j]. */
	const uint32_t *lmin, *lid;
	/*
	 * A field with few literals also keeps them lower-cased for a direct
	 * search: on a short value that is cheaper than a call into
	 * Hyperscan (sc-status against "4", "5", "200"; a0 against a few
	 * dozen command names ...). All of it in one block (owned by the
	 * pf_field), so that a search touches a few neighbouring lines:
	 * dmap[b] is the index into the masks at dmap + 512 of the literals
	 * starting with the lower-cased byte b (0: none, mask 0 is empty);
	 * dmap[256 + b] the index into the masks after those (dn + 1 of each)
	 * of the literals whose second byte is b, with every literal of one
	 * byte (0: those alone); dlit[k] says where literal k's lower-cased
	 * bytes are in dbytes.
	 */
	const uint8_t *dmap;
	const struct pf_dlit *dlit;
	const unsigned char *dbytes;
	uint32_t nlen;
	uint32_t dn;		/* literals searched directly (0: none) */
	uint32_t dmin;		/* the shortest of them */
};

_Static_assert(sizeof(struct pf_fscan) <= 64, "one cache line per field");

/* Literals of one field (by lower-cased name), compiled into one database. */
struct pf_field {
	struct pf_fscan sc;
	char *lname;		/* owned, lower-cased; "" for the message */
	uint32_t hash;
	const char **pats;	/* building only */
	size_t *lens;
	unsigned *ids;
	unsigned *flags;
	size_t n, a;
	bool primary;		/* some rule's best clause has a literal here */
	uint32_t *lmin, *lid;	/* owned; sc.lmin, sc.lid */
	uint8_t *dblock;	/* owned; sc.dmap */
};

/*
 * Two remembered values of fields and the literals found in them (see
 * PF_MEMO), the ways of one hash. What a lookup compares and what a hit
 * reports is in the first cache line, the values in the lines after it.
 */
struct pf_memo {
	uint64_t hash[2];	/* 0: empty */
	uint32_t field[2];
	uint32_t used[2];	/* epoch of its last use: the older of two is replaced */
	uint16_t ids[2][PF_MEMO_IDS];
	uint8_t len[2];
	uint8_t nids[2];
	_Alignas(64) unsigned char v[2][PF_MEMO_LEN];
};
_Static_assert(PF_MEMO_LEN <= UINT8_MAX, "memo lengths in a byte");

/* A distinct literal of a field, while building. */
struct pf_ulit {
	const unsigned char *p;
	size_t len;
	size_t field;		/* index into fields */
	uint32_t hash;
	uint32_t head;		/* its last clause reference, index+1 (0: none) */
	uint32_t nref;
};

/* Literal bytes the filter owns (found inside regular expressions). */
struct pf_pool {
	unsigned char **v;
	size_t n, a;
};

struct sigma_prefilter {
	size_t nrules;
	bool *filtered;		/* rule has necessary literals */
	/*
	 * Per rule and per literal: what one event found, each kind in one
	 * array of small records. A rule's clauses are bits of its record
	 * (a found literal touches its own record and those of its rules).
	 */
	struct pf_rstate {
		uint32_t stamp;	/* == epoch: a clause of the rule was seen */
		uint8_t seen;	/* bit c: clause c seen, valid when stamp == epoch */
		uint8_t full;	/* a bit per clause of the rule (0: not filtered) */
	} *rs;
	uint32_t epoch;
	bool failed;		/* last scan failed: everything may match */
	/*
	 * One id per distinct literal of a field (ASCII case-folded): rules
	 * share most of theirs ("EXECVE" in every auditd rule), and a literal
	 * found once stamps all its clauses (see ref) in one callback. A
	 * clause is coded as rule << PF_CLAUSE_BITS | the clause's index
	 * among the rule's.
	 */
	struct pf_lstate {
		uint32_t stamp;	/* == epoch: the literal was seen */
		/*
		 * Its clauses: PF_LS_ONE | the code of its one clause (most
		 * literals have one), else the offset in clause_of of their
		 * count, the codes following it.
		 */
		uint32_t ref;
	} *ls;			/* nlits */
	uint32_t *clause_of;
	size_t nlits, alits;
	/* Building only: the literal table and each literal's clauses, chained. */
	struct pf_ulit *ulits;
	uint32_t *uslots;	/* open addressing over ulits, index+1, 0 = empty */
	size_t nuslots;
	uint32_t *ref_clause, *ref_next;
	size_t nrefs, arefs;
	uint32_t *clause_rule;	/* clause -> its code in clause_of (building) */
	size_t nclauses, aclauses;
	size_t nfiltered;
	struct pf_field *fields;	/* fields[0] is the message */
	struct pf_fscan *scan;		/* nfields, 64-byte aligned: what a scan reads */
	size_t nfields, afields;
	size_t *slots;		/* open addressing over fields[1..], index+1, 0 = empty */
	size_t nslots;
	hs_scratch_t *scratch;
	/*
	 * field_find by the address of a decoder's static name: most names of
	 * an event are the same static strings event after event. Names in
	 * the event's scratch area are copies and are looked up every time.
	 */
	struct pf_fref {
		const char *name;
		uint32_t k;	/* index into fields, 0: none */
		uint32_t mmin;	/* memo_min of the field (0: nothing to scan) */
	} fcache[1u << PF_FCACHE_BITS];
	/*
	 * Before that, the name last seen at the same place of an event: a
	 * decoder emits its fields in the same order event after event, and
	 * this array is read front to back (the cache above at random).
	 */
	struct pf_fref pos[DECODE_MAX_FIELDS];
	struct pf_pool pool;	/* literals taken from regular expressions */
	/*
	 * The rules to run for the last scanned event, in rule order: those
	 * without literals (always) merged with those stamped (cand).
	 */
	size_t *always, nalways;
	size_t *cand, ncand;
	/*
	 * Guards: rule i's are guard[rguard[i] .. rguard[i + 1]), each the
	 * field's name (the rule's) and its literals, lower-cased, at
	 * glit[first .. first + n) (bytes in gbytes). The field is looked up
	 * only for a rule that has become a candidate, the way the rule reads
	 * it (decode_field_get): no cost per event.
	 */
	uint32_t *rguard;
	struct pf_guard {
		const char *field;	/* rule arena */
		uint32_t first, n;
	} *guard;
	struct pf_dlit *glit;
	unsigned char *gbytes;
	size_t nguard, aguard, nglit, aglit, ngbytes, agbytes;
	size_t *run;
	size_t ncallbacks;	/* of the scan at hand, against PF_MAX_CALLBACKS */
	struct pf_memo *memo;	/* PF_MEMO / 2 buckets; NULL when no field has literals */
	/* Per field: how often its values were not in the memo (PF_MSTAT_*). */
	struct pf_mstat {
		uint32_t start;		/* epoch of the window's first miss */
		uint16_t misses;	/* in the window */
		bool skip;		/* searched without the memo */
	} *mstat;		/* nfields */
	uint32_t skip_end;	/* epoch at which skipping fields are measured again; 0: none */
	/* While a value is scanned to be remembered: the distinct literals found. */
	bool recording, rec_over;
	uint32_t rec_ids[PF_MEMO_IDS];
	uint32_t nrec;
};

/* --- extraction ---------------------------------------------------------- */

#define RE_SET_MAX	8	/* bytes of a class a literal run goes on through */
#define RE_ALTS_MAX	16	/* alternatives of a plain group ("(?:or|and)") */
#define RE_RUN_MAX	32	/* strings of a run: a product of classes and alternatives */
#define RE_RUN_LEN	64	/* bytes of each: a longer run is cut into clauses */

/* Strings exactly one of which an atom of a regex matches (lower-cased). */
struct re_strs {
	size_t n;		/* 0: none known */
	uint8_t len[RE_ALTS_MAX];
	unsigned char s[RE_ALTS_MAX][RE_RUN_LEN];
};

/*
 * The literal run being read: every match has one of these strings
 * ending where the reader is.
 */
struct re_run {
	size_t n;		/* 0: empty */
	uint8_t len[RE_RUN_MAX];
	unsigned char s[RE_RUN_MAX][RE_RUN_LEN];
};
_Static_assert(RE_RUN_LEN <= UINT8_MAX && RE_ALTS_MAX <= RE_RUN_MAX, "run bounds");

struct pf_build {
	struct pf_pool *pool;
	struct re_run *run;	/* one at a time: a group's run starts after its parent's ends */
};

static void
set_fini(struct pf_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * The same literal of a clause: bytes compared caselessly, the field's
 * name exactly – "user" and "User" can be two fields of one event, and a
 * clause keeping one of them could become a guard reading the wrong one.
 */
static bool
lit_same(const struct pf_lit *l, const unsigned char *p, size_t len, const char *field)
{
	if (l->len != len || (l->field == NULL) != (field == NULL) || (l->p == NULL) != (p == NULL))
		return false;
	if (field != NULL && l->field != field && strcmp(l->field, field) != 0)
		return false;
	if (p == NULL)
		return true;
	for (size_t i = 0; i < len; i++)
		if (sigma_lower[l->p[i]] != sigma_lower[p[i]])
			return false;
	return true;
}

static unsigned lit_score(const struct pf_lit *l);

static int
set_add(struct pf_set *s, const unsigned char *p, size_t len, const char *field)
{
	unsigned sc;

	/* The filter is caseless: the same literal twice only costs callbacks. */
	if (s->n <= PF_DEDUP_MAX)
		for (size_t i = 0; i < s->n; i++)
			if (lit_same(&s->v[i], p, len, field))
				return 0;
	if (s->n == s->a) {
		size_t na = s->a ? s->a * 2 : 8;
		struct pf_lit *nv;
		if (na > PF_MAX_LITS || (nv = realloc(s->v, na * sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->a = na;
	}
	s->v[s->n].p = p;
	s->v[s->n].len = len;
	s->v[s->n].field = field;
	sc = lit_score(&s->v[s->n]);
	if (s->n == 0 || sc < s->score)
		s->score = sc;
	s->n++;
	return 0;
}

/*
 * Bits of rarity of a (lower-cased) byte in log lines and their fields:
 * about -log2 of how often it occurs. Letters and digits are everywhere,
 * URL and path separators nearly so; quotes, brackets and shell syntax
 * are what attacks add to a request. A guess, not a measurement of any
 * one log: it only orders the clauses of a rule, never decides a match.
 */
static unsigned
byte_bits(unsigned char c)
{
	if (c == ' ')
		return 3;
	if (c == 0 || c >= 0x80)
		return c == 0 ? 10 : 7;
	if (strchr("etaoinsr0123456789", c) != NULL)
		return 4;
	if (strchr("hldcumfpg/.-:=&_,", c) != NULL)
		return 5;
	if (strchr("wybvk", c) != NULL)
		return 6;
	if (strchr("\"'();[]+%?@#", c) != NULL)
		return 8;
	/* x j q z; ~ ` | $ { } < > \\ ^ ! * and control bytes */
	return c >= 'a' && c <= 'z' ? 7 : 10;
}

static unsigned
lit_score(const struct pf_lit *l)
{
	unsigned bits = 0;

	/* A length "literal" (a value at least that long) is rare by construction. */
	if (l->p == NULL)
		return PF_GOOD_SCORE;
	for (size_t i = 0; i < l->len && bits < PF_GOOD_SCORE; i++)
		bits += byte_bits(sigma_lower[l->p[i]]);
	return bits < PF_GOOD_SCORE ? bits : PF_GOOD_SCORE;
}

/* A clause is as rare as its most common literal. */
static unsigned
set_score(const struct pf_set *a)
{
	return a->n > 0 ? a->score : PF_GOOD_SCORE;
}

static bool
set_better(const struct pf_set *a, const struct pf_set *b)
{
	unsigned sa = set_score(a), sb = set_score(b);

	if (sa != sb)
		return sa > sb;
	return a->n < b->n;
}

static void
cnf_fini(struct pf_cnf *f)
{
	for (size_t i = 0; i < f->n; i++)
		set_fini(&f->c[i]);
	f->n = 0;
}

/* ANDs clause s into f (moved; s is emptied): kept when f has room or s beats f's worst. */
static void
cnf_add(struct pf_cnf *f, struct pf_set *s)
{
	size_t w = 0;

	if (s->n == 0) {
		set_fini(s);
		return;
	}
	/*
	 * A clause of very common literals ("(" or "=" from a regex) matches
	 * most events and costs Hyperscan more than it saves: it is kept only
	 * while the node has nothing better.
	 */
	if (set_score(s) < PF_MIN_SCORE) {
		for (size_t i = 0; i < f->n; i++)
			if (set_score(&f->c[i]) >= PF_MIN_SCORE) {
				set_fini(s);
				return;
			}
	} else {
		size_t k = 0;
		for (size_t i = 0; i < f->n; i++) {
			if (set_score(&f->c[i]) < PF_MIN_SCORE)
				set_fini(&f->c[i]);
			else
				f->c[k++] = f->c[i];
		}
		f->n = k;
	}
	if (f->n < PF_MAX_CLAUSES) {
		f->c[f->n++] = *s;
		memset(s, 0, sizeof(*s));
		return;
	}
	for (size_t i = 1; i < f->n; i++)
		if (set_better(&f->c[w], &f->c[i]))
			w = i;
	if (set_better(s, &f->c[w])) {
		set_fini(&f->c[w]);
		f->c[w] = *s;
		memset(s, 0, sizeof(*s));
	} else {
		set_fini(s);
	}
}

/* ANDs every clause of from into to; from is emptied. */
static void
cnf_and(struct pf_cnf *to, struct pf_cnf *from)
{
	for (size_t i = 0; i < from->n; i++)
		cnf_add(to, &from->c[i]);
	from->n = 0;
}

/* Adds copies of from's literals to to; 0 or -1 (out of memory). */
static int
set_add_all(struct pf_set *to, const struct pf_set *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (set_add(to, from->v[i].p, from->v[i].len, from->v[i].field) < 0)
			return -1;
	return 0;
}

static bool
set_has(const struct pf_set *s, const struct pf_lit *l)
{
	for (size_t i = 0; i < s->n; i++)
		if (lit_same(&s->v[i], l->p, l->len, l->field))
			return true;
	return false;
}

/* Whether every literal of a or b is in c or d (small sets only: else false). */
static bool
union_within(const struct pf_set *a, const struct pf_set *b, const struct pf_set *c,
    const struct pf_set *d)
{
	if (a->n + b->n > PF_DEDUP_MAX || c->n + d->n > PF_DEDUP_MAX)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!set_has(c, &a->v[i]) && !set_has(d, &a->v[i]))
			return false;
	for (size_t i = 0; i < b->n; i++)
		if (!set_has(c, &b->v[i]) && !set_has(d, &b->v[i]))
			return false;
	return true;
}

/*
 * ORs cur into acc (*have: acc holds a first operand). (a1 and a2) or
 * (c1 and c2) needs each of a1|c1, a1|c2, a2|c1 and a2|c2: the best of
 * those unions are kept, best first, so that one rare clause of each side
 * ("'" before "or" in one regex, "or " in the other) is found even when
 * each side ranks its clauses differently. cur is emptied either way.
 */
static int
cnf_or(struct pf_cnf *acc, bool *have, struct pf_cnf *cur)
{
	struct {
		unsigned score;
		size_t n;
		uint8_t i, j;
	} pair[PF_MAX_CLAUSES * PF_MAX_CLAUSES], t;
	unsigned sa[PF_MAX_CLAUSES], sc[PF_MAX_CLAUSES];
	uint8_t uses[PF_MAX_CLAUSES] = { 0 };
	struct pf_cnf out = { 0 };
	size_t np = 0, nk;
	int rc = 0;

	for (size_t i = 1; i < cur->n; i++)
		for (size_t j = i; j > 0 && set_better(&cur->c[j], &cur->c[j - 1]); j--) {
			struct pf_set ts = cur->c[j];
			cur->c[j] = cur->c[j - 1];
			cur->c[j - 1] = ts;
		}
	if (!*have) {
		*acc = *cur;
		memset(cur, 0, sizeof(*cur));
		*have = true;
		return 0;
	}
	for (size_t i = 0; i < acc->n; i++)
		sa[i] = set_score(&acc->c[i]);
	for (size_t j = 0; j < cur->n; j++)
		sc[j] = set_score(&cur->c[j]);
	for (size_t i = 0; i < acc->n; i++)
		for (size_t j = 0; j < cur->n; j++) {
			pair[np].score = sa[i] < sc[j] ? sa[i] : sc[j];
			pair[np].n = acc->c[i].n + cur->c[j].n;
			pair[np].i = (uint8_t)i;
			pair[np].j = (uint8_t)j;
			/* best first: rarer, then fewer literals */
			for (size_t k = np++; k > 0 && (pair[k].score > pair[k - 1].score ||
			    (pair[k].score == pair[k - 1].score && pair[k].n < pair[k - 1].n)); k--) {
				t = pair[k];
				pair[k] = pair[k - 1];
				pair[k - 1] = t;
			}
		}
	/*
	 * Best first, skipping a union that holds one already taken: it adds
	 * nothing ("type: EXECVE" on both sides is needed alone, and every
	 * union with it is weaker than the unions of the other clauses).
	 */
	nk = 0;
	for (size_t k = 0; k < np && nk < PF_MAX_CLAUSES; k++) {
		bool implied = false;
		for (size_t q = 0; q < nk && !implied; q++)
			implied = union_within(&acc->c[pair[q].i], &cur->c[pair[q].j],
			    &acc->c[pair[k].i], &cur->c[pair[k].j]);
		if (!implied)
			pair[nk++] = pair[k];
	}
	for (size_t k = 0; k < nk; k++)
		uses[pair[k].i]++;
	for (size_t k = 0; k < nk && rc == 0; k++) {
		struct pf_set u = { 0 };

		/* acc's clause is moved into its last union, copied into the others */
		if (--uses[pair[k].i] == 0) {
			u = acc->c[pair[k].i];
			memset(&acc->c[pair[k].i], 0, sizeof(u));
		} else {
			rc = set_add_all(&u, &acc->c[pair[k].i]);
		}
		if (rc == 0)
			rc = set_add_all(&u, &cur->c[pair[k].j]);
		if (rc == 0)
			cnf_add(&out, &u);
		set_fini(&u);
	}
	cnf_fini(acc);
	cnf_fini(cur);
	*acc = out;
	if (rc < 0)
		cnf_fini(acc);
	return rc;
}

/*
 * The extraction steps return 1 with clauses ANDed into out, 0 when the
 * node puts no constraint on the event (out unchanged), -1 when out of
 * memory.
 */

/* --- necessary literals of a regular expression -------------------------- */

/*
 * A small reader of PCRE2 syntax that only has to find where atoms end:
 * literal characters, escapes, classes, groups, quantifiers, alternation.
 * Anything it is unsure of (\Q, (?x), conditionals, verbs, recursion)
 * gives up ("no constraint"), which is always safe. A run of literal
 * characters with no quantifier between them must occur in every match;
 * a character with a quantifier of minimum 0 ends the run without joining
 * it; a group counts when it is not optional, through its own literals.
 */
struct re_cur {
	const unsigned char *p, *end;
	bool bail;
	int depth;
};

enum re_atom { RE_LIT, RE_OTHER, RE_ZERO, RE_GROUP };

static bool
re_isdigit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool
re_isalnum(unsigned char ch)
{
	return re_isdigit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
re_hexval(unsigned char ch)
{
	if (re_isdigit(ch))
		return ch - '0';
	ch = sigma_lower[ch];
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Skips to just past the byte close; false (bail) when absent. */
static bool
re_skip_to(struct re_cur *c, unsigned char close)
{
	while (c->p < c->end && *c->p != close)
		c->p++;
	if (c->p == c->end)
		return false;
	c->p++;
	return true;
}

/*
 * Adds byte ch (lower-cased: the filter is caseless) to the one-byte
 * strings of set; false when that makes more than max.
 */
static bool
re_strs_byte(struct re_strs *set, unsigned char ch, size_t max)
{
	ch = sigma_lower[ch];
	for (size_t i = 0; i < set->n; i++)
		if (set->s[i][0] == ch)
			return true;
	if (set->n >= max)
		return false;
	set->s[set->n][0] = ch;
	set->len[set->n++] = 1;
	return true;
}

/* The bytes of \s, \h and \v in PCRE2's default (C locale, non-UTF) tables. */
static const char re_space[] = " \t\n\v\f\r";
static const char re_hspace[] = " \t\xa0";
static const char re_vspace[] = "\n\v\f\r\x85";

static bool
re_strs_bytes(struct re_strs *set, const char *bytes, size_t max)
{
	for (; *bytes; bytes++)
		if (!re_strs_byte(set, (unsigned char)*bytes, max))
			return false;
	return true;
}

/*
 * The character an escape stands for, at c->p (past the backslash), when
 * it is one byte: a punctuation character, \n \t \r \f \e \a, \xhh,
 * \x{hh}. Returns the byte, or -1 (c->p unchanged) for anything else.
 */
static int
re_escape_byte(struct re_cur *c)
{
	const unsigned char *q = c->p;
	unsigned char e;
	int v = 0;

	if (q >= c->end)
		return -1;
	e = *q++;
	if (!re_isalnum(e)) {
		c->p = q;
		return e;
	}
	switch (e) {
	case 'n': v = '\n'; break;
	case 't': v = '\t'; break;
	case 'r': v = '\r'; break;
	case 'f': v = '\f'; break;
	case 'e': v = 0x1b; break;
	case 'a': v = 0x07; break;
	case 'x':
		if (q < c->end && *q == '{') {
			int k = 0;
			for (q++; q < c->end && re_hexval(*q) >= 0 && k < 3; q++, k++)
				v = v * 16 + re_hexval(*q);
			if (k == 0 || k == 3 || q >= c->end || *q != '}' || v > 0xff)
				return -1;
			q++;
			break;
		}
		/* \x followed by up to two hex digits (none: NUL) */
		for (int k = 0; k < 2 && q < c->end && re_hexval(*q) >= 0; k++, q++)
			v = v * 16 + re_hexval(*q);
		break;
	default:
		return -1;
	}
	c->p = q;
	return v;
}

/*
 * c->p is past the backslash. A literal byte, or \s \h \v, goes into
 * *set (RE_LIT); zero-width escapes are RE_ZERO; anything else (\d, \w,
 * back references, properties ...) is RE_OTHER.
 */
static enum re_atom
re_escape(struct re_cur *c, struct re_strs *set)
{
	unsigned char e;
	int byte;

	if (c->p >= c->end) {
		c->bail = true;
		return RE_OTHER;
	}
	if ((byte = re_escape_byte(c)) >= 0) {
		(void)re_strs_byte(set, (unsigned char)byte, 1);
		return RE_LIT;
	}
	e = *c->p++;
	switch (e) {
	case 'Q':
		c->bail = true;
		return RE_OTHER;
	case 'E': case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
		return RE_ZERO;
	case 's':
		return re_strs_bytes(set, re_space, RE_SET_MAX) ? RE_LIT : RE_OTHER;
	case 'h':
		return re_strs_bytes(set, re_hspace, RE_SET_MAX) ? RE_LIT : RE_OTHER;
	case 'v':
		return re_strs_bytes(set, re_vspace, RE_SET_MAX) ? RE_LIT : RE_OTHER;
	case 'x':
		/* \x{...} beyond a byte */
		if (c->p < c->end && *c->p == '{' && !re_skip_to(c, '}'))
			c->bail = true;
		return RE_OTHER;
	case 'o': case 'p': case 'P': case 'N':
		if (c->p < c->end && *c->p == '{') {
			if (!re_skip_to(c, '}'))
				c->bail = true;
		} else if (e == 'p' || e == 'P') {
			if (c->p < c->end)
				c->p++;
		}
		return RE_OTHER;
	case 'c':
		if (c->p < c->end)
			c->p++;
		return RE_OTHER;
	case 'k': case 'g':
		if (c->p < c->end && (*c->p == '<' || *c->p == '{' || *c->p == '\'')) {
			unsigned char close = *c->p == '<' ? '>' : *c->p == '{' ? '}' : '\'';
			c->p++;
			if (!re_skip_to(c, close))
				c->bail = true;
			return RE_OTHER;
		}
		if (c->p < c->end && (*c->p == '-' || *c->p == '+'))
			c->p++;
		while (c->p < c->end && re_isdigit(*c->p))
			c->p++;
		return RE_OTHER;
	default:
		/* \d \w \S \R \X, octal \0nn, back references \1 ...: not a literal */
		if (re_isdigit(e))
			while (c->p < c->end && re_isdigit(*c->p))
				c->p++;
		return RE_OTHER;
	}
}

/*
 * c->p on the letter of an escape in a class that is not a byte: moves
 * past it (\cx with its x, which may be "]"); false (bail) for \Q and \E,
 * whose quoting the reader does not follow.
 */
static bool
re_class_skip_escape(struct re_cur *c)
{
	unsigned char e = c->p < c->end ? *c->p : 0;

	if (e == 'Q' || e == 'E') {
		c->bail = true;
		return false;
	}
	if (c->p < c->end)
		c->p++;
	if (e == 'c' && c->p < c->end)
		c->p++;
	return true;
}

/*
 * c->p is past '['. Consumes the class; true with its bytes in *set when
 * they are few (at most RE_SET_MAX once lower-cased), false otherwise
 * (negated, a range or escape of many bytes, a POSIX class ...).
 */
static bool
re_class(struct re_cur *c, struct re_strs *set)
{
	bool small = true;
	int prev = -1;		/* the last single byte: a range may start there */

	set->n = 0;
	if (c->p < c->end && *c->p == '^') {
		small = false;
		c->p++;
	}
	if (c->p < c->end && *c->p == ']') {
		small = small && re_strs_byte(set, ']', RE_SET_MAX);
		prev = ']';
		c->p++;
	}
	while (c->p < c->end && *c->p != ']') {
		int byte = -1;

		if (*c->p == '\\') {
			c->p++;
			if (c->p < c->end && *c->p == 'b') {	/* backspace in a class */
				c->p++;
				byte = 0x08;
			} else if ((byte = re_escape_byte(c)) < 0) {
				unsigned char e = c->p < c->end ? *c->p : 0;
				if (e == 's')
					small = small && re_strs_bytes(set, re_space, RE_SET_MAX);
				else if (e == 'h')
					small = small && re_strs_bytes(set, re_hspace, RE_SET_MAX);
				else if (e == 'v')
					small = small && re_strs_bytes(set, re_vspace, RE_SET_MAX);
				else
					small = false;
				if (!re_class_skip_escape(c))
					return false;
				prev = -1;
				continue;
			}
		} else if (*c->p == '[' && c->p + 1 < c->end && c->p[1] == ':') {
			/*
			 * A POSIX class: "[:", an optional "^", letters, ":]".
			 * Anything else is read by PCRE2 as a literal "[" and more,
			 * which this reader does not follow: it gives up.
			 */
			const unsigned char *q = c->p + 2;

			if (q < c->end && *q == '^')
				q++;
			while (q < c->end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
				q++;
			if (q + 1 >= c->end || q[0] != ':' || q[1] != ']') {
				c->bail = true;
				return false;
			}
			c->p = q + 2;
			small = false;
			prev = -1;
			continue;
		} else if (*c->p == '-' && prev >= 0 && c->p + 1 < c->end && c->p[1] != ']') {
			/* a range prev-hi: its bytes */
			int hi;

			c->p++;
			if (*c->p == '\\') {
				c->p++;
				hi = re_escape_byte(c);
				if (hi < 0) {
					small = false;
					if (!re_class_skip_escape(c))
						return false;
				}
			} else if (*c->p == '[') {
				hi = -1;	/* "[a-[:digit:]]" and the like: not a plain range */
				small = false;
			} else {
				hi = *c->p++;
			}
			for (int k = prev + 1; k <= hi && small; k++)
				small = re_strs_byte(set, (unsigned char)k, RE_SET_MAX);
			prev = -1;
			continue;
		} else {
			byte = *c->p++;
		}
		small = small && re_strs_byte(set, (unsigned char)byte, RE_SET_MAX);
		prev = byte;
	}
	if (c->p >= c->end) {
		c->bail = true;
		return false;
	}
	c->p++;
	return small && set->n > 0;
}

/*
 * At c->p on '{': the closing brace of a quantifier {n}, {n,} or {n,m}, or
 * NULL when the brace is literal text. Other digits, commas and spaces in
 * braces ("{}", "{,m}", "{ n}", "{1,2,3}") are literal in PCRE2 10.42 but
 * some are quantifiers in later versions: the reader gives up (bail)
 * rather than guess.
 */
static const unsigned char *
re_brace_end(struct re_cur *c)
{
	const unsigned char *q;
	size_t digits = 0, commas = 0;
	bool odd = false;

	for (q = c->p + 1; q < c->end && (re_isdigit(*q) || *q == ',' || *q == ' '); q++) {
		if (*q == ',')
			odd = odd || ++commas > 1 || digits == 0;
		else if (*q == ' ')
			odd = true;
		else
			digits++;
	}
	if (q >= c->end || *q != '}')
		return NULL;
	if (odd || digits == 0) {
		c->bail = true;
		return NULL;
	}
	return q;
}

/* A quantifier at c->p: consumed, its minimum in *min; false when there is none. */
static bool
re_quant(struct re_cur *c, unsigned long *min)
{
	const unsigned char *q;

	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '*': case '?':
		*min = 0;
		c->p++;
		break;
	case '+':
		*min = 1;
		c->p++;
		break;
	case '{':
		if ((q = re_brace_end(c)) == NULL)
			return false;
		*min = 0;
		for (const unsigned char *d = c->p + 1; d < q && (re_isdigit(*d) || *d == ' '); d++)
			if (re_isdigit(*d))
				*min = *min * 10 + (unsigned long)(*d - '0') > 100000 ? 100000 :
				    *min * 10 + (unsigned long)(*d - '0');
		c->p = q + 1;
		break;
	default:
		return false;
	}
	/* lazy or possessive */
	if (c->p < c->end && (*c->p == '?' || *c->p == '+'))
		c->p++;
	return true;
}

static int re_alt(struct pf_build *b, struct re_cur *c, const char *field, struct pf_cnf *out);

/* A copy of p/n owned by the filter's pool; NULL when out of memory. */
static unsigned char *
pool_copy(struct pf_pool *pool, const unsigned char *p, size_t n)
{
	unsigned char *copy;

	if (pool->n == pool->a) {
		size_t na = pool->a ? pool->a * 2 : 16;
		unsigned char **nv = realloc(pool->v, na * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		pool->v = nv;
		pool->a = na;
	}
	if ((copy = malloc(n ? n : 1)) == NULL)
		return NULL;
	memcpy(copy, p, n);
	pool->v[pool->n++] = copy;
	return copy;
}

/* Makes the run a clause (one of its strings must occur) and empties it. */
static int
re_flush(struct pf_build *b, const char *field, struct pf_cnf *acc)
{
	struct re_run *run = b->run;
	struct pf_set cur = { 0 };

	for (size_t i = 0; i < run->n; i++) {
		unsigned char *copy = pool_copy(b->pool, run->s[i], run->len[i]);

		if (copy == NULL || set_add(&cur, copy, run->len[i], field) < 0) {
			set_fini(&cur);
			run->n = 0;
			return -1;
		}
	}
	run->n = 0;
	cnf_add(acc, &cur);
	return 0;
}

/*
 * The run followed by one of atom's strings: their products, when they
 * fit; else the run so far becomes a clause and a new one starts with
 * the atom's strings.
 */
static int
re_extend(struct pf_build *b, const struct re_strs *atom, const char *field, struct pf_cnf *acc)
{
	struct re_run *run = b->run;
	size_t n = run->n;
	bool fits = n > 0 && n * atom->n <= RE_RUN_MAX;

	for (size_t i = 0; i < n && fits; i++)
		for (size_t j = 0; j < atom->n && fits; j++)
			fits = run->len[i] + atom->len[j] <= RE_RUN_LEN;
	if (!fits) {
		if (n > 0 && re_flush(b, field, acc) < 0)
			return -1;
		for (size_t j = 0; j < atom->n; j++) {
			memcpy(run->s[j], atom->s[j], atom->len[j]);
			run->len[j] = atom->len[j];
		}
		run->n = atom->n;
		return 0;
	}
	/* in place, from the last product back: string i*m+j is run[i] then atom[j] */
	for (size_t i = n; i-- > 0; )
		for (size_t j = atom->n; j-- > 0; ) {
			size_t k = i * atom->n + j;
			uint8_t len = run->len[i];

			memmove(run->s[k], run->s[i], len);
			memcpy(run->s[k] + len, atom->s[j], atom->len[j]);
			run->len[k] = (uint8_t)(len + atom->len[j]);
		}
	run->n = n * atom->n;
	return 0;
}

/*
 * At c->p just past '(': when the group is "(?:a|b|...)" or "(a|b|...)"
 * of plain literals (characters, escaped punctuation, \n \t \xhh ...),
 * none empty, its alternatives go into *alts and c->p moves past ')'.
 * Returns false (c->p unchanged) when the group is anything else.
 */
static bool
re_plain_alts(struct re_cur *c, struct re_strs *alts)
{
	struct re_cur q = *c;
	size_t cur = 0;

	alts->n = 1;
	alts->len[0] = 0;
	if (q.p + 1 < q.end && q.p[0] == '?' && q.p[1] == ':')
		q.p += 2;
	else if (q.p < q.end && (*q.p == '?' || *q.p == '*'))
		return false;
	for (;;) {
		int ch;

		if (q.p >= q.end)
			return false;
		ch = *q.p++;
		if (ch == ')' || ch == '|') {
			if (alts->len[cur] == 0)
				return false;	/* an empty alternative: the group may match nothing */
			for (size_t k = 0; k < cur; k++)
				if (alts->len[k] == alts->len[cur] &&
				    memcmp(alts->s[k], alts->s[cur], alts->len[cur]) == 0) {
					cur--;	/* the same alternative twice */
					break;
				}
			if (ch == ')')
				break;
			if (++cur == RE_ALTS_MAX)
				return false;
			alts->len[cur] = 0;
			alts->n = cur + 1;
			continue;
		}
		if (ch == '\\') {
			if ((ch = re_escape_byte(&q)) < 0)
				return false;
		} else if (strchr("^$.?*+()[]{}", ch) != NULL) {
			return false;
		}
		if (alts->len[cur] == RE_RUN_LEN)
			return false;
		alts->s[cur][alts->len[cur]++] = sigma_lower[ch];
	}
	alts->n = cur + 1;
	c->p = q.p;
	return true;
}

/*
 * One branch: an AND of its literal runs and of its non-optional groups.
 * A run goes on through single characters, small classes ("[\"']",
 * "\s") and groups of plain alternatives ("(?:or|and)"), as the set of
 * their products (bounded by RE_RUN_MAX and RE_RUN_LEN), and through
 * zero-width assertions, which consume nothing. An atom repeated at
 * least once ends the run with its first repetition and starts the next
 * one with its last ("(?:or|and)\s+" needs "or " or "and\t" ..., and
 * "\s+select" needs " select" ...). An optional atom, or one the reader
 * does not know the bytes of, ends the run without joining it.
 */
static int
re_seq(struct pf_build *b, struct re_cur *c, const char *field, struct pf_cnf *out)
{
	struct pf_cnf acc = { 0 }, inner = { 0 };
	struct re_strs atom;
	int rc = 0;

	b->run->n = 0;
	while (!c->bail && c->p < c->end && *c->p != '|' && *c->p != ')') {
		enum re_atom kind = RE_OTHER;
		unsigned char ch = *c->p++;
		unsigned long min = 1;
		int grc = 0;
		bool quant;

		atom.n = 0;
		switch (ch) {
		case '\\':
			kind = re_escape(c, &atom);
			break;
		case '[':
			kind = re_class(c, &atom) ? RE_LIT : RE_OTHER;
			break;
		case '.':
			break;
		case '^': case '$':
			kind = RE_ZERO;
			break;
		case '*': case '+': case '?':
			/* a quantifier with nothing to repeat: PCRE2 refused it already */
			c->bail = true;
			break;
		case '{':
			/* A literal brace unless it is a quantifier (then it repeats nothing). */
			c->p--;
			if (re_quant(c, &min)) {
				c->bail = true;
			} else {
				c->p++;
				(void)re_strs_byte(&atom, '{', 1);
				kind = RE_LIT;
			}
			break;
		case '(':
			if (re_plain_alts(c, &atom)) {
				kind = RE_LIT;
				break;
			}
			if (++c->depth > SIGMA_MAX_COND_DEPTH * 4) {
				c->bail = true;
				break;
			}
			if (c->p < c->end && *c->p == '*') {
				c->bail = true;		/* (*VERB) */
				break;
			}
			if (c->p < c->end && *c->p == '?') {
				const unsigned char *q = c->p + 1;
				bool look = false;

				if (q < c->end && *q == '#') {
					/* a comment: nothing to match, the run goes on */
					c->p++;
					kind = RE_ZERO;
					if (!re_skip_to(c, ')'))
						c->bail = true;
					c->depth--;
					break;
				}
				if (q < c->end && ((*q >= 'a' && *q <= 'z') || *q == 'J' || *q == 'U' ||
				    *q == '-' || *q == '^')) {
					/*
					 * Inline options (?i) (?-s) (?^) or a group with them
					 * (?i:...). (?x) changes the syntax; uppercase letters
					 * other than J and U are recursion or callouts: give up.
					 */
					c->p++;
					while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z') ||
					    *c->p == 'J' || *c->p == 'U' || *c->p == '-' || *c->p == '^')) {
						if (*c->p == 'x')
							c->bail = true;
						c->p++;
					}
					if (c->bail || c->p >= c->end || (*c->p != ')' && *c->p != ':')) {
						c->bail = true;
						break;
					}
					if (*c->p == ')') {
						/* options alone: nothing to match, the run goes on */
						c->p++;
						c->depth--;
						kind = RE_ZERO;
						break;
					}
					c->p++;
				} else if (q < c->end && (*q == ':' || *q == '|' || *q == '>')) {
					c->p += 2;
				} else if (q < c->end && (*q == '=' || *q == '!')) {
					look = true;
					c->p += 2;
				} else if (q + 1 < c->end && *q == '<' && (q[1] == '=' || q[1] == '!')) {
					look = true;
					c->p += 3;
				} else if (q < c->end && (*q == '<' || *q == '\'' ||
				    (*q == 'P' && q + 1 < c->end && q[1] == '<'))) {
					/* a named group: past its name */
					unsigned char close = *q == '\'' ? '\'' : '>';
					c->p = q + (*q == 'P' ? 2 : 1);
					if (!re_skip_to(c, close))
						c->bail = true;
				} else {
					c->bail = true;
				}
				if (c->bail)
					break;
				/* The group reads its own runs: the one before it ends here. */
				if (re_flush(b, field, &acc) < 0) {
					rc = -1;
					goto out;
				}
				kind = RE_GROUP;
				grc = re_alt(b, c, field, &inner);
				if (look) {
					/* a lookaround matches nothing; what it needs is not needed here */
					cnf_fini(&inner);
					grc = 0;
				}
			} else {
				if (re_flush(b, field, &acc) < 0) {
					rc = -1;
					goto out;
				}
				kind = RE_GROUP;
				grc = re_alt(b, c, field, &inner);
			}
			if (grc < 0) {
				rc = -1;
				goto out;
			}
			if (c->p >= c->end || *c->p != ')') {
				c->bail = true;
				break;
			}
			c->p++;
			c->depth--;
			break;
		default:
			(void)re_strs_byte(&atom, ch, 1);
			kind = RE_LIT;
			break;
		}
		if (c->bail)
			break;
		quant = re_quant(c, &min);
		if (kind == RE_ZERO) {
			/*
			 * PCRE2 refuses a quantifier after an assertion or options,
			 * but after a comment or a lone \E it repeats the atom before
			 * them, which is already in the run: give up.
			 */
			if (quant)
				c->bail = true;
			continue;
		}
		if (kind == RE_LIT && min > 0) {
			if (re_extend(b, &atom, field, &acc) < 0) {
				rc = -1;
				goto out;
			}
			if (!quant)
				continue;
			/* first repetition ends this run, the last one starts the next */
			if (re_flush(b, field, &acc) < 0 || re_extend(b, &atom, field, &acc) < 0) {
				rc = -1;
				goto out;
			}
			continue;
		}
		/* Anything else ends the run. */
		if (re_flush(b, field, &acc) < 0) {
			rc = -1;
			goto out;
		}
		if (kind == RE_GROUP && grc == 1 && min > 0)
			cnf_and(&acc, &inner);
		cnf_fini(&inner);
	}
	if (!c->bail && re_flush(b, field, &acc) < 0) {
		rc = -1;
	} else if (!c->bail && acc.n > 0) {
		cnf_and(out, &acc);
		rc = 1;
	}
out:
	b->run->n = 0;
	cnf_fini(&inner);
	cnf_fini(&acc);
	return rc;
}

/* Alternatives up to ')' or the end: their OR, or none if one branch has none. */
static int
re_alt(struct pf_build *b, struct re_cur *c, const char *field, struct pf_cnf *out)
{
	struct pf_cnf acc = { 0 };
	bool none = false, have = false;

	for (;;) {
		struct pf_cnf cur = { 0 };
		int rc = re_seq(b, c, field, &cur);
		if (rc == 0)
			none = true;
		else if (rc == 1 && !none && cnf_or(&acc, &have, &cur) < 0)
			rc = -1;
		cnf_fini(&cur);
		if (rc < 0) {
			cnf_fini(&acc);
			return -1;
		}
		if (c->bail)
			break;
		if (c->p < c->end && *c->p == '|') {
			c->p++;
			continue;
		}
		break;
	}
	if (none || c->bail || !have) {
		cnf_fini(&acc);
		return 0;
	}
	cnf_and(out, &acc);
	return 1;
}

static int
need_re(struct pf_build *b, const struct sigma_val *v, const char *field, struct pf_cnf *out)
{
	struct re_cur c;
	uint32_t opts = 0;
	struct pf_cnf f = { 0 };
	int rc;

	if (v->u.re.src == NULL || v->u.re.srclen > SIGMA_MAX_VALUE_LEN ||
	    pcre2_pattern_info(v->u.re.code, PCRE2_INFO_ALLOPTIONS, &opts) != 0 ||
	    (opts & (PCRE2_EXTENDED | PCRE2_EXTENDED_MORE | PCRE2_LITERAL)) != 0)
		return 0;
	c.p = (const unsigned char *)v->u.re.src;
	c.end = c.p + v->u.re.srclen;
	c.bail = false;
	c.depth = 0;
	rc = re_alt(b, &c, field, &f);
	if (rc == 1 && (c.bail || c.p != c.end))
		rc = 0;
	if (rc == 1)
		cnf_and(out, &f);
	cnf_fini(&f);
	/*
	 * No literal, but a minimum length (PCRE2's lower bound on what can
	 * match; the matcher itself rejects shorter values first): the clause
	 * "a value at least that long".
	 */
	if (rc == 0 && v->u.re.minlen >= PF_RE_MINLEN) {
		struct pf_set one = { 0 };
		if (set_add(&one, NULL, v->u.re.minlen, field) < 0) {
			set_fini(&one);
			return -1;
		}
		cnf_add(out, &one);
		rc = 1;
	}
	return rc;
}

/* --- necessary literals of a detection ----------------------------------- */

static int
need_val(struct pf_build *b, const struct sigma_val *v, const char *field, struct pf_cnf *out)
{
	const struct sigma_glob *g;
	struct pf_set one = { 0 };
	size_t best = 0, blen = 0;

	if (v->kind == SIGMA_V_RE)
		return need_re(b, v, field, out);
	if (v->kind != SIGMA_V_GLOB)
		return 0;
	g = &v->u.g;
	if (g->mode != SIGMA_G_GLOB || g->kind == NULL) {
		if (g->len == 0)
			return 0;
		best = 0;
		blen = g->len;
	} else {
		/* The longest run of literal tokens: bytes every match contains. */
		for (size_t i = 0; i < g->len; ) {
			size_t j = i;
			while (j < g->len && g->kind[j] == SIGMA_TOK_LIT)
				j++;
			if (j - i > blen) {
				best = i;
				blen = j - i;
			}
			i = j + 1;
		}
		if (blen == 0)
			return 0;
	}
	if (set_add(&one, g->text + best, blen, field) < 0) {
		set_fini(&one);
		return -1;
	}
	cnf_add(out, &one);
	return 1;
}

/*
 * Operand i of an AND or OR into out, which is empty on the call: 1 with
 * clauses, 0 for no constraint (out left empty), -1 when out of memory
 * (the caller frees out).
 */
typedef int (*need_fn)(struct pf_build *b, const void *base, size_t i, struct pf_cnf *out);

/* AND of n operands: the clauses of all of them (the best PF_MAX_CLAUSES). */
static int
need_and(struct pf_build *b, const void *base, size_t n, need_fn get, struct pf_cnf *out)
{
	struct pf_cnf acc = { 0 };

	for (size_t i = 0; i < n; i++) {
		struct pf_cnf cur = { 0 };
		int rc = get(b, base, i, &cur);
		if (rc < 0) {
			cnf_fini(&cur);
			cnf_fini(&acc);
			return -1;
		}
		cnf_and(&acc, &cur);
		cnf_fini(&cur);
	}
	if (acc.n == 0)
		return 0;
	cnf_and(out, &acc);
	return 1;
}

/* OR of n operands (see cnf_or), or no constraint when one operand has none. */
static int
need_or(struct pf_build *b, const void *base, size_t n, need_fn get, struct pf_cnf *out)
{
	struct pf_cnf acc = { 0 };
	bool have = false;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct pf_cnf cur = { 0 };
		int rc = get(b, base, i, &cur);
		if (rc == 1 && cnf_or(&acc, &have, &cur) < 0)
			rc = -1;
		cnf_fini(&cur);
		if (rc <= 0) {
			cnf_fini(&acc);
			return rc;
		}
	}
	cnf_and(out, &acc);
	return 1;
}

struct group_ctx {
	const struct sigma_group *g;
	const char *field;
};

static int
get_alt(struct pf_build *b, const void *base, size_t i, struct pf_cnf *out)
{
	const struct group_ctx *c = base;
	return need_val(b, &c->g->alts[i], c->field, out);
}

static int
get_group(struct pf_build *b, const void *base, size_t i, struct pf_cnf *out)
{
	const struct sigma_item *it = base;
	struct group_ctx c = { &it->groups[i], it->field };

	/* A value matches when any of its alternatives does. */
	return need_or(b, &c, c.g->nalts, get_alt, out);
}

static int
need_item(struct pf_build *b, const struct sigma_item *it, struct pf_cnf *out)
{
	if (it->neq || it->ngroups == 0)
		return 0;
	/* |all: every value must match (AND); otherwise any of them (OR). */
	if (it->all)
		return need_and(b, it, it->ngroups, get_group, out);
	return need_or(b, it, it->ngroups, get_group, out);
}

static int
get_item(struct pf_build *b, const void *base, size_t i, struct pf_cnf *out)
{
	return need_item(b, &((const struct sigma_conj *)base)->items[i], out);
}

static int
get_conj(struct pf_build *b, const void *base, size_t i, struct pf_cnf *out)
{
	const struct sigma_conj *c = &((const struct sigma_search *)base)->conjs[i];
	return need_and(b, c, c->nitems, get_item, out);
}

struct node_ctx {
	const struct sigma_rule *r;
	const struct sigma_cnode *n;
};

static int need_node(struct pf_build *b, const struct sigma_rule *r,
    const struct sigma_cnode *n, struct pf_cnf *out);

static int
get_kid(struct pf_build *b, const void *base, size_t i, struct pf_cnf *out)
{
	const struct node_ctx *c = base;
	/* Depth is bounded by the condition compiler (SIGMA_MAX_COND_DEPTH). */
	return need_node(b, c->r, c->n->kids[i], out);
}

static int
need_node(struct pf_build *b, const struct sigma_rule *r, const struct sigma_cnode *n,
    struct pf_cnf *out)
{
	struct node_ctx c = { r, n };

	switch (n->op) {
	case SIGMA_C_REF:
		if (n->ref >= r->nsearches)
			return 0;
		return need_or(b, &r->searches[n->ref], r->searches[n->ref].nconjs, get_conj, out);
	case SIGMA_C_AND:
		return need_and(b, &c, n->n, get_kid, out);
	case SIGMA_C_OR:
		return need_or(b, &c, n->n, get_kid, out);
	case SIGMA_C_NOT:
		break;
	}
	return 0;
}

/* --- the literal table ------------------------------------------------- */

static uint32_t
name_hash(const char *s, size_t *len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; s[i]; i++)
		h = (h ^ sigma_lower[(unsigned char)s[i]]) * 16777619u;
	if (len)
		*len = i;
	return h;
}

static bool
name_eq_lower(const char *lname, const char *s)
{
	for (; *lname && *s; lname++, s++)
		if ((unsigned char)*lname != sigma_lower[(unsigned char)*s])
			return false;
	return *lname == *s;
}

/* Index of the field named (case-insensitively) name, or 0 when none. */
static size_t
field_find(const struct sigma_prefilter *pf, const char *name)
{
	uint32_t h;

	if (pf->nslots == 0)
		return 0;
	h = name_hash(name, NULL);
	for (size_t k = h & (pf->nslots - 1); pf->slots[k]; k = (k + 1) & (pf->nslots - 1)) {
		const struct pf_field *f = &pf->fields[pf->slots[k] - 1];
		if (f->hash == h && name_eq_lower(f->lname, name))
			return pf->slots[k] - 1;
	}
	return 0;
}

static struct pf_field *
field_get_or_add(struct sigma_prefilter *pf, const char *name)
{
	size_t i, len;
	uint32_t h;
	struct pf_field *f;

	if (name == NULL)
		return &pf->fields[0];
	if ((i = field_find(pf, name)) != 0)
		return &pf->fields[i];
	h = name_hash(name, &len);
	if (pf->nfields == pf->afields) {
		size_t na = pf->afields * 2;
		struct pf_field *nf = realloc(pf->fields, na * sizeof(*nf));
		if (nf == NULL)
			return NULL;
		pf->fields = nf;
		pf->afields = na;
	}
	/* Keep the hash table at most half full. */
	if (2 * pf->nfields >= pf->nslots) {
		size_t ns = pf->nslots ? pf->nslots * 2 : 16;
		size_t *nslot = calloc(ns, sizeof(*nslot));
		if (nslot == NULL)
			return NULL;
		for (size_t k = 1; k < pf->nfields; k++) {
			size_t s = pf->fields[k].hash & (ns - 1);
			while (nslot[s])
				s = (s + 1) & (ns - 1);
			nslot[s] = k + 1;
		}
		free(pf->slots);
		pf->slots = nslot;
		pf->nslots = ns;
	}
	f = &pf->fields[pf->nfields];
	memset(f, 0, sizeof(*f));
	if ((f->lname = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t k = 0; k <= len; k++)
		f->lname[k] = (char)sigma_lower[(unsigned char)name[k]];
	f->hash = h;
	{
		size_t s = h & (pf->nslots - 1);
		while (pf->slots[s])
			s = (s + 1) & (pf->nslots - 1);
		pf->slots[s] = pf->nfields + 1;
	}
	return &pf->fields[pf->nfields++];
}

/* Clause c (< PF_MAX_CLAUSES) of rule; its index, or SIZE_MAX when out of memory. */
static size_t
clause_add(struct sigma_prefilter *pf, size_t rule, size_t c)
{
	if (pf->nclauses == pf->aclauses) {
		size_t na = pf->aclauses ? pf->aclauses * 2 : 64;
		uint32_t *nr = realloc(pf->clause_rule, na * sizeof(*nr));
		if (nr == NULL)
			return SIZE_MAX;
		pf->clause_rule = nr;
		pf->aclauses = na;
	}
	pf->clause_rule[pf->nclauses] = (uint32_t)(rule << PF_CLAUSE_BITS | c);
	return pf->nclauses++;
}

/* Hash of a literal of field fi, ASCII case-folded. */
static uint32_t
lit_hash(size_t fi, const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)fi;

	if (p == NULL)
		return (h ^ (uint32_t)len) * 16777619u ^ 0x5bd1e995u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ sigma_lower[p[i]]) * 16777619u;
	return h;
}

static bool
ulit_same(const struct pf_ulit *u, size_t fi, uint32_t h, const unsigned char *p, size_t len)
{
	if (u->hash != h || u->field != fi || u->len != len || (u->p == NULL) != (p == NULL))
		return false;
	if (p == NULL)
		return true;
	for (size_t i = 0; i < len; i++)
		if (sigma_lower[u->p[i]] != sigma_lower[p[i]])
			return false;
	return true;
}

/* Keeps the literal table at most half full; 0 or -1. */
static int
ulit_grow(struct sigma_prefilter *pf)
{
	size_t ns;
	uint32_t *nslot;

	if (2 * (pf->nlits + 1) <= pf->nuslots)
		return 0;
	ns = pf->nuslots ? pf->nuslots * 2 : 256;
	if ((nslot = calloc(ns, sizeof(*nslot))) == NULL)
		return -1;
	for (size_t k = 0; k < pf->nlits; k++) {
		size_t s = pf->ulits[k].hash & (ns - 1);
		while (nslot[s])
			s = (s + 1) & (ns - 1);
		nslot[s] = (uint32_t)k + 1;
	}
	free(pf->uslots);
	pf->uslots = nslot;
	pf->nuslots = ns;
	return 0;
}

/* Literal l (a new id, or the one it shares with another clause) needed by clause. */
static int
lit_add(struct sigma_prefilter *pf, const struct pf_lit *l, size_t clause)
{
	struct pf_field *f = field_get_or_add(pf, l->field);
	struct pf_ulit *u;
	size_t fi, s;
	uint32_t h;

	if (f == NULL || pf->nrefs >= PF_MAX_LITS || ulit_grow(pf) < 0)
		return -1;
	fi = (size_t)(f - pf->fields);
	h = lit_hash(fi, l->p, l->len);
	for (s = h & (pf->nuslots - 1); pf->uslots[s]; s = (s + 1) & (pf->nuslots - 1))
		if (ulit_same(&pf->ulits[pf->uslots[s] - 1], fi, h, l->p, l->len))
			break;
	if (pf->uslots[s] == 0) {
		if (pf->nlits == pf->alits) {
			size_t na = pf->alits ? pf->alits * 2 : 64;
			struct pf_ulit *nu = realloc(pf->ulits, na * sizeof(*nu));
			if (nu == NULL)
				return -1;
			pf->ulits = nu;
			pf->alits = na;
		}
		if (l->p == NULL) {
			uint32_t *nm = realloc(f->lmin, (f->sc.nlen + 1) * sizeof(*nm)), *ni;
			if (nm == NULL)
				return -1;
			f->lmin = nm;
			if ((ni = realloc(f->lid, (f->sc.nlen + 1) * sizeof(*ni))) == NULL)
				return -1;
			f->lid = ni;
			f->lmin[f->sc.nlen] = (uint32_t)l->len;
			f->lid[f->sc.nlen++] = (uint32_t)pf->nlits;
			f->sc.lmin = f->lmin;
			f->sc.lid = f->lid;
		} else if (f->n == f->a) {
			size_t na = f->a ? f->a * 2 : 16;
			const char **np = realloc(f->pats, na * sizeof(*np));
			size_t *nl;
			unsigned *ni, *nfl;
			if (np == NULL)
				return -1;
			f->pats = np;
			if ((nl = realloc(f->lens, na * sizeof(*nl))) == NULL)
				return -1;
			f->lens = nl;
			if ((ni = realloc(f->ids, na * sizeof(*ni))) == NULL)
				return -1;
			f->ids = ni;
			if ((nfl = realloc(f->flags, na * sizeof(*nfl))) == NULL)
				return -1;
			f->flags = nfl;
			f->a = na;
		}
		if (l->p != NULL) {
			f->pats[f->n] = (const char *)l->p;
			f->lens[f->n] = l->len;
			f->ids[f->n] = (unsigned)pf->nlits;
			/*
			 * Caseless even for |cased values: a superset is all a filter
			 * needs. No HS_FLAG_SINGLEMATCH: Hyperscan's bookkeeping of
			 * exhausted patterns cost more than the repeated callbacks,
			 * which return at once for a literal already seen.
			 */
			f->flags[f->n] = HS_FLAG_CASELESS;
			f->n++;
		}
		u = &pf->ulits[pf->nlits];
		u->p = l->p;
		u->len = l->len;
		u->field = fi;
		u->hash = h;
		u->head = 0;
		u->nref = 0;
		pf->uslots[s] = (uint32_t)++pf->nlits;
	}
	u = &pf->ulits[pf->uslots[s] - 1];
	/* Clauses are added one after the other: a repeat is the last one. */
	if (u->head != 0 && pf->ref_clause[u->head - 1] == clause)
		return 0;
	if (pf->nrefs == pf->arefs) {
		size_t na = pf->arefs ? pf->arefs * 2 : 64;
		uint32_t *nc = realloc(pf->ref_clause, na * sizeof(*nc)), *nn;
		if (nc == NULL)
			return -1;
		pf->ref_clause = nc;
		if ((nn = realloc(pf->ref_next, na * sizeof(*nn))) == NULL)
			return -1;
		pf->ref_next = nn;
		pf->arefs = na;
	}
	pf->ref_clause[pf->nrefs] = (uint32_t)clause;
	pf->ref_next[pf->nrefs] = u->head;
	u->head = (uint32_t)++pf->nrefs;
	u->nref++;
	return 0;
}

/* Flattens each literal's chain of clauses into clause_of, in clause order; 0 or -1. */
static int
lit_flatten(struct sigma_prefilter *pf)
{
	uint32_t off = 0;

	/* a count before each list of two or more: at most twice the references */
	if (pf->nrefs > (UINT32_MAX >> 1) - pf->nlits)
		return -1;
	pf->ls = calloc(pf->nlits ? pf->nlits : 1, sizeof(*pf->ls));
	pf->clause_of = malloc((pf->nrefs + pf->nlits + 1) * sizeof(*pf->clause_of));
	if (pf->ls == NULL || pf->clause_of == NULL)
		return -1;
	for (size_t id = 0; id < pf->nlits; id++) {
		uint32_t n = pf->ulits[id].nref, k;

		if (n == 1) {
			pf->ls[id].ref = PF_LS_ONE |
			    pf->clause_rule[pf->ref_clause[pf->ulits[id].head - 1]];
			continue;
		}
		pf->ls[id].ref = off;
		pf->clause_of[off] = n;
		k = off + 1 + n;
		for (uint32_t r = pf->ulits[id].head; r != 0; r = pf->ref_next[r - 1])
			pf->clause_of[--k] = pf->clause_rule[pf->ref_clause[r - 1]];
		off += 1 + n;
	}
	return 0;
}

/* The building-only literal table. */
static void
lit_build_fini(struct sigma_prefilter *pf)
{
	free(pf->ulits);
	free(pf->uslots);
	free(pf->ref_clause);
	free(pf->ref_next);
	pf->ulits = NULL;
	pf->uslots = NULL;
	pf->ref_clause = NULL;
	pf->ref_next = NULL;
}

static void
field_build_fini(struct pf_field *f)
{
	free(f->pats);
	free(f->lens);
	free(f->ids);
	free(f->flags);
	f->pats = NULL;
	f->lens = NULL;
	f->ids = NULL;
	f->flags = NULL;
}

/* Lower-cased copies of f's literals for scan_direct (f->n <= 64); 0 or -1. */
static int
field_direct(struct pf_field *f)
{
	size_t nfirst = 0, nsecond = 0, nbytes = 0, mo, lo, bo;
	uint8_t *blk;
	uint64_t *mask, *mask2, one = 0;
	struct pf_dlit *lit;
	unsigned char *bytes;

	/* distinct first and second bytes (at most f->n each) and the literals' bytes */
	for (size_t k = 0; k < f->n; k++)
		nbytes += f->lens[k];
	mo = 512;
	lo = mo + 2 * (f->n + 1) * sizeof(uint64_t);
	bo = lo + f->n * sizeof(struct pf_dlit);
	if (nbytes > UINT32_MAX || (blk = calloc(1, bo + nbytes)) == NULL)
		return -1;
	f->dblock = blk;
	f->sc.dmap = blk;
	mask = (uint64_t *)(void *)(blk + mo);
	mask2 = mask + f->n + 1;
	lit = (struct pf_dlit *)(void *)(blk + lo);
	bytes = blk + bo;
	f->sc.dmin = UINT32_MAX;
	nbytes = 0;
	for (size_t k = 0; k < f->n; k++) {
		unsigned char b0 = sigma_lower[(unsigned char)f->pats[k][0]];

		for (size_t j = 0; j < f->lens[k]; j++)
			bytes[nbytes + j] = sigma_lower[(unsigned char)f->pats[k][j]];
		lit[k].off = (uint32_t)nbytes;
		lit[k].len = (uint32_t)f->lens[k];
		lit[k].id = f->ids[k];
		nbytes += f->lens[k];
		f->sc.dmin = lit[k].len < f->sc.dmin ? lit[k].len : f->sc.dmin;
		if (blk[b0] == 0)
			blk[b0] = (uint8_t)++nfirst;
		mask[blk[b0]] |= UINT64_C(1) << k;
		if (f->lens[k] == 1) {
			one |= UINT64_C(1) << k;
		} else {
			unsigned char b1 = sigma_lower[(unsigned char)f->pats[k][1]];

			if (blk[256 + b1] == 0)
				blk[256 + b1] = (uint8_t)++nsecond;
			mask2[blk[256 + b1]] |= UINT64_C(1) << k;
		}
	}
	/* A literal of one byte has any second byte, and none (the value's end). */
	for (size_t i = 0; i <= nsecond; i++)
		mask2[i] |= one;
	f->sc.dlit = lit;
	f->sc.dbytes = bytes;
	f->sc.dn = (uint32_t)f->n;
	return 0;
}

/*
 * v (room for *a elements of size elem) with room for need > 0: v itself,
 * or a larger copy (*a updated); NULL when out of memory (v untouched).
 */
static void *
guard_grow(void *v, size_t *a, size_t need, size_t elem)
{
	size_t na = *a ? *a : 16;
	void *nv;

	if (need <= *a)
		return v;
	while (na < need)
		na *= 2;
	if (na > SIZE_MAX / elem || (nv = realloc(v, na * elem)) == NULL)
		return NULL;
	*a = na;
	return nv;
}

/*
 * Keeps clause cl of rule (not scanned for: its field is no rule's best)
 * as a guard when it can be one: literals of one named field, a few.
 * Returns 1 when kept, 0 when not, -1 when out of memory.
 */
static int
guard_add(struct sigma_prefilter *pf, const struct pf_set *cl, size_t nrule_guards)
{
	size_t bytes = 0;
	void *p;

	if (nrule_guards >= PF_RULE_GUARDS || cl->n == 0 || cl->n > PF_GUARD_LITS ||
	    cl->v[0].field == NULL)
		return 0;
	for (size_t i = 0; i < cl->n; i++) {
		/*
		 * One spelling: "User" and "user" can be two fields of an event,
		 * and each item reads the one its own name finds first.
		 */
		if (cl->v[i].p == NULL || cl->v[i].field == NULL || cl->v[i].len == 0 ||
		    (cl->v[i].field != cl->v[0].field &&
		    strcmp(cl->v[i].field, cl->v[0].field) != 0))
			return 0;
		bytes += cl->v[i].len;
	}
	if (pf->ngbytes + bytes > UINT32_MAX)
		return -1;
	if ((p = guard_grow(pf->guard, &pf->aguard, pf->nguard + 1, sizeof(*pf->guard))) == NULL)
		return -1;
	pf->guard = p;
	if ((p = guard_grow(pf->glit, &pf->aglit, pf->nglit + cl->n, sizeof(*pf->glit))) == NULL)
		return -1;
	pf->glit = p;
	if ((p = guard_grow(pf->gbytes, &pf->agbytes, pf->ngbytes + bytes, 1)) == NULL)
		return -1;
	pf->gbytes = p;
	pf->guard[pf->nguard].field = cl->v[0].field;
	pf->guard[pf->nguard].first = (uint32_t)pf->nglit;
	pf->guard[pf->nguard].n = (uint32_t)cl->n;
	pf->nguard++;
	for (size_t i = 0; i < cl->n; i++) {
		struct pf_dlit *l = &pf->glit[pf->nglit++];

		l->off = (uint32_t)pf->ngbytes;
		l->len = (uint32_t)cl->v[i].len;
		for (size_t j = 0; j < cl->v[i].len; j++)
			pf->gbytes[pf->ngbytes++] = sigma_lower[cl->v[i].p[j]];
	}
	return 1;
}

/* --- public -------------------------------------------------------------- */

void
sigma_prefilter_free(struct sigma_prefilter *pf)
{
	if (pf == NULL)
		return;
	for (size_t i = 0; i < pf->nfields; i++) {
		field_build_fini(&pf->fields[i]);
		free(pf->fields[i].lname);
		free(pf->fields[i].dblock);
		free(pf->fields[i].lmin);
		free(pf->fields[i].lid);
		hs_free_database(pf->fields[i].sc.db);
	}
	hs_free_scratch(pf->scratch);
	for (size_t i = 0; i < pf->pool.n; i++)
		free(pf->pool.v[i]);
	free(pf->pool.v);
	free(pf->fields);
	free(pf->scan);
	free(pf->slots);
	lit_build_fini(pf);
	free(pf->ls);
	free(pf->clause_of);
	free(pf->clause_rule);
	free(pf->filtered);
	free(pf->rs);
	free(pf->always);
	free(pf->cand);
	free(pf->run);
	free(pf->memo);
	free(pf->mstat);
	free(pf->rguard);
	free(pf->guard);
	free(pf->glit);
	free(pf->gbytes);
	free(pf);
}

/*
 * Builds the filter for rules[0..n) (borrowed). Returns the filter (caller
 * owns), or NULL when out of memory or when Hyperscan refuses the literals
 * (no SSSE3, a library error): the caller then runs every rule.
 */
struct sigma_prefilter *
sigma_prefilter_new(const struct sigma_rule *const *rules, size_t n)
{
	struct sigma_prefilter *pf = NULL;
	struct pf_build b = { NULL, NULL };
	struct pf_cnf *cnfs = NULL;

	if (hs_valid_platform() != HS_SUCCESS)
		return NULL;
	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		goto fail;
	/* A clause is coded as rule << PF_CLAUSE_BITS | index in 31 bits. */
	if (n > (UINT32_MAX >> 1) >> PF_CLAUSE_BITS)
		goto fail;
	pf->nrules = n;
	pf->epoch = 1;
	pf->filtered = calloc(n ? n : 1, sizeof(*pf->filtered));
	pf->rs = calloc(n ? n : 1, sizeof(*pf->rs));
	pf->always = calloc(n ? n : 1, sizeof(*pf->always));
	pf->cand = calloc(n ? n : 1, sizeof(*pf->cand));
	pf->run = calloc(n ? n : 1, sizeof(*pf->run));
	pf->rguard = calloc(n + 1, sizeof(*pf->rguard));
	pf->fields = calloc(8, sizeof(*pf->fields));
	if (pf->filtered == NULL || pf->rs == NULL ||
	    pf->fields == NULL || pf->rguard == NULL ||
	    pf->always == NULL || pf->cand == NULL || pf->run == NULL)
		goto fail;
	pf->afields = 8;
	pf->nfields = 1;
	if ((pf->fields[0].lname = calloc(1, 1)) == NULL)
		goto fail;
	b.pool = &pf->pool;
	if ((b.run = malloc(sizeof(*b.run))) == NULL)
		goto fail;

	if ((cnfs = calloc(n ? n : 1, sizeof(*cnfs))) == NULL)
		goto fail;
	/*
	 * First every rule's best clause: the fields they name are scanned
	 * anyway. A further clause is kept only when all its fields are among
	 * those: a clause that needs one more field scanned per event costs
	 * more than the evaluations it saves.
	 */
	for (size_t i = 0; i < n; i++) {
		const struct sigma_rule *r = rules[i];
		struct pf_cnf *s = &cnfs[i];
		bool have = false;
		struct pf_cnf sorted = { 0 };
		int rc = r->cond ? need_node(&b, r, r->cond, s) : 0;

		if (rc < 0)
			goto fail;
		if (rc == 0 || s->n == 0)
			continue;
		(void)cnf_or(&sorted, &have, s);	/* the first operand: only sorts */
		*s = sorted;
		for (size_t k = 0; k < s->c[0].n; k++) {
			struct pf_field *f = field_get_or_add(pf, s->c[0].v[k].field);
			if (f == NULL)
				goto fail;
			f->primary = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pf_cnf *sp = &cnfs[i], s = *sp;

		memset(sp, 0, sizeof(*sp));
		pf->rguard[i] = (uint32_t)pf->nguard;
		for (size_t c = 1; c < s.n; ) {
			bool keep = true;
			for (size_t k = 0; k < s.c[c].n && keep; k++) {
				size_t fi = s.c[c].v[k].field ? field_find(pf, s.c[c].v[k].field) : 0;
				keep = s.c[c].v[k].field == NULL ? pf->fields[0].primary :
				    fi != 0 && pf->fields[fi].primary;
			}
			if (keep) {
				c++;
				continue;
			}
			if (pf->nguard >= UINT32_MAX - 1 ||
			    guard_add(pf, &s.c[c], pf->nguard - pf->rguard[i]) < 0) {
				cnf_fini(&s);
				goto fail;
			}
			set_fini(&s.c[c]);
			memmove(&s.c[c], &s.c[c + 1], (s.n - c - 1) * sizeof(s.c[0]));
			s.n--;
		}
		if (s.n > 0) {
			for (size_t c = 0; c < s.n; c++) {
				size_t cl = clause_add(pf, i, c);
				if (cl == SIZE_MAX || cl >= UINT32_MAX) {
					cnf_fini(&s);
					goto fail;
				}
				for (size_t k = 0; k < s.c[c].n; k++)
					if (lit_add(pf, &s.c[c].v[k], cl) < 0) {
						cnf_fini(&s);
						goto fail;
					}
			}
			pf->rs[i].full = (uint8_t)((1u << s.n) - 1);
			pf->filtered[i] = true;
			pf->nfiltered++;
		} else {
			pf->always[pf->nalways++] = i;
		}
		cnf_fini(&s);
	}
	pf->rguard[n] = (uint32_t)pf->nguard;
	free(cnfs);
	cnfs = NULL;
	if (lit_flatten(pf) < 0)
		goto fail;
	free(pf->clause_rule);
	pf->clause_rule = NULL;
	lit_build_fini(pf);

	/* Only fields are remembered: a route whose rules name none needs no memo. */
	if (pf->nfields > 1) {
		if ((pf->memo = aligned_alloc(_Alignof(struct pf_memo),
		    PF_MEMO / 2 * sizeof(*pf->memo))) == NULL)
			goto fail;
		memset(pf->memo, 0, PF_MEMO / 2 * sizeof(*pf->memo));
	}
	for (size_t i = 0; i < pf->nfields; i++) {
		struct pf_field *f = &pf->fields[i];
		hs_compile_error_t *cerr = NULL;

		if (f->n == 0)
			continue;
		if (hs_compile_lit_multi(f->pats, f->flags, f->ids, f->lens, (unsigned)f->n,
		    HS_MODE_BLOCK, NULL, &f->sc.db, &cerr) != HS_SUCCESS) {
			hs_free_compile_error(cerr);
			goto fail;
		}
		if (f->n <= PF_DIRECT_LITS && field_direct(f) < 0)
			goto fail;
		field_build_fini(f);
		if (hs_alloc_scratch(f->sc.db, &pf->scratch) != HS_SUCCESS)
			goto fail;
	}
	/* 64 bytes apart on 64-bit machines: one line each (size rounded for aligned_alloc) */
	if ((pf->scan = aligned_alloc(64, (pf->nfields * sizeof(*pf->scan) + 63) & ~(size_t)63)) == NULL)
		goto fail;
	for (size_t i = 0; i < pf->nfields; i++)
		pf->scan[i] = pf->fields[i].sc;
	if ((pf->mstat = calloc(pf->nfields, sizeof(*pf->mstat))) == NULL)
		goto fail;
	free(b.run);
	return pf;
fail:
	for (size_t i = 0; cnfs != NULL && i < n; i++)
		cnf_fini(&cnfs[i]);
	free(cnfs);
	free(b.run);
	sigma_prefilter_free(pf);
	return NULL;
}

/* Literal id was found in the event: stamps its clauses, and the rules that have them all. */
static void
lit_found(struct sigma_prefilter *pf, unsigned id)
{
	uint32_t epoch = pf->epoch;

	const uint32_t *code_of;
	uint32_t ref, n;

	if (pf->ls[id].stamp == epoch)
		return;
	pf->ls[id].stamp = epoch;
	ref = pf->ls[id].ref;
	if (ref & PF_LS_ONE) {
		code_of = &pf->ls[id].ref;	/* the flag is above the code's bits */
		n = 1;
	} else {
		code_of = &pf->clause_of[ref + 1];
		n = pf->clause_of[ref];
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t code = code_of[k] & ~PF_LS_ONE, rule = code >> PF_CLAUSE_BITS;
		uint8_t bit = (uint8_t)(1u << (code & ((1u << PF_CLAUSE_BITS) - 1)));
		struct pf_rstate *r = &pf->rs[rule];

		if (r->stamp != epoch) {
			r->stamp = epoch;
			r->seen = 0;
		}
		if (r->seen & bit)
			continue;
		r->seen |= bit;
		/* A candidate once every clause of the rule has been seen. */
		if (r->seen == r->full)
			pf->cand[pf->ncand++] = rule;
	}
}

static int
match_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
    void *ctx)
{
	struct sigma_prefilter *pf = ctx;

	(void)from;
	(void)to;
	(void)flags;
	if (++pf->ncallbacks > PF_MAX_CALLBACKS)
		return 1;	/* stops the scan: it fails, and every rule runs */
	if (pf->recording) {
		uint32_t j = 0;
		while (j < pf->nrec && pf->rec_ids[j] != id)
			j++;
		if (j == pf->nrec) {
			/* an entry holds PF_MEMO_IDS ids of 16 bits */
			if (pf->nrec < PF_MEMO_IDS && id <= UINT16_MAX)
				pf->rec_ids[pf->nrec++] = id;
			else
				pf->rec_over = true;
		}
	}
	lit_found(pf, id);
	return 0;
}

/*
 * Reports every literal of f found (ASCII case-insensitively) in h/n, as
 * Hyperscan would: at each byte, only the literals starting with it and
 * with the next byte as their second are compared (URIs are full of the
 * slashes and dots many literals start with), and each literal is
 * reported once (a literal already seen in this event is not reported
 * again, and costs no callback of the budget). 0, or -1 when the
 * callback budget ran out.
 */
static int
scan_direct(struct sigma_prefilter *pf, const struct pf_fscan *f, const unsigned char *h,
    size_t n)
{
	const uint8_t *map = f->dmap, *map2 = f->dmap + 256;
	const uint64_t *mask = (const uint64_t *)(const void *)(f->dmap + 512);
	const uint64_t *mask2 = mask + f->dn + 1;
	size_t end = n >= f->dmin ? n - f->dmin + 1 : 0;
	uint64_t done = 0;

	for (size_t i = 0; i < end; i++) {
		uint64_t m = mask[map[sigma_lower[h[i]]]] & ~done;

		if (m == 0)
			continue;
		/* the last byte (end == n only when a literal has one byte): those alone */
		m &= mask2[i + 1 < n ? map2[sigma_lower[h[i + 1]]] : 0];
		while (m != 0) {
			unsigned k = (unsigned)__builtin_ctzll(m);
			const struct pf_dlit *l = &f->dlit[k];
			const unsigned char *p = f->dbytes + l->off;
			size_t pn = l->len, j = 2;

			m &= m - 1;
			if (pn > n - i)
				continue;
			/* the first two bytes matched (the masks say so) */
			while (j < pn && sigma_lower[h[i + j]] == p[j])
				j++;
			if (j >= pn) {
				done |= UINT64_C(1) << k;
				if ((pf->recording || pf->ls[l->id].stamp != pf->epoch) &&
				    match_cb(l->id, 0, i + pn, 0, pf) != 0)
					return -1;
			}
		}
	}
	return 0;
}

static int
scan_value(struct sigma_prefilter *pf, const struct pf_fscan *f, const struct ms_str *v)
{
	if (v->p == NULL || v->len == 0)
		return 0;
	for (size_t j = 0; j < f->nlen; j++)
		if (v->len >= f->lmin[j] && match_cb(f->lid[j], 0, v->len, 0, pf) != 0)
			return -1;
	if (f->db == NULL)
		return 0;
	if (v->len > UINT32_MAX)
		return -1;
	if (f->dn > 0 && v->len <= PF_DIRECT_LEN)
		return scan_direct(pf, f, (const unsigned char *)v->p, v->len);
	return hs_scan(f->db, v->p, (unsigned)v->len, 0, pf->scratch, match_cb, pf) == HS_SUCCESS ?
	    0 : -1;
}

static inline uint64_t
load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * A value of n < 8 bytes as one word that tells it from every other of
 * that length: from 4 bytes its first and its last four (together they
 * cover it), below that its bytes.
 */
static inline uint64_t
tail64(const unsigned char *p, size_t n)
{
	uint64_t w = 0;

	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return (uint64_t)a | (uint64_t)b << 32;
	}
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

/* A hash of field k's value p/n (n > 0), never 0. */
static uint64_t
memo_hash(size_t k, const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)k << 32) ^ n;
	size_t i = 0;

	for (; n - i > 8; i += 8) {
		h = (h ^ load64(p + i)) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	/* the last 1 to 8 bytes: a word ending at the end when there are 8 */
	h = (h ^ (n >= 8 ? load64(p + n - 8) : tail64(p, n))) * UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 32;
	h ^= h >> 29;
	return h | 1;
}

/* a/n == b/n (n > 0), word by word. */
static bool
memo_same(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i = 0;

	if (n < 8)
		return tail64(a, n) == tail64(b, n);
	for (; n - i > 8; i += 8)
		if (load64(a + i) != load64(b + i))
			return false;
	return load64(a + n - 8) == load64(b + n - 8);
}

/*
 * The shortest value of field k that goes through the memo: values of a
 * field with few literals shorter than PF_MEMO_MIN are searched directly.
 * 0 when the field has nothing to scan for.
 */
static uint32_t
memo_min(const struct sigma_prefilter *pf, size_t k)
{
	const struct pf_fscan *f = &pf->scan[k];

	if (k == 0 || (f->db == NULL && f->nlen == 0))
		return 0;
	if (pf->mstat[k].skip)
		return PF_MEMO_SKIP;
	return f->dn > 0 ? PF_MEMO_MIN : 1;
}

/* Field k's memo_min changed: the name caches take the new one. */
static void
mstat_set(struct sigma_prefilter *pf, size_t k)
{
	uint32_t m = memo_min(pf, k);

	for (size_t i = 0; i < MS_ARRAY_LEN(pf->fcache); i++)
		if (pf->fcache[i].name != NULL && pf->fcache[i].k == k)
			pf->fcache[i].mmin = m;
	for (size_t i = 0; i < MS_ARRAY_LEN(pf->pos); i++)
		if (pf->pos[i].name != NULL && pf->pos[i].k == k)
			pf->pos[i].mmin = m;
}

/* skip_end came: the fields that skip the memo use it again, to be measured again. */
static void __attribute__((noinline))
mstat_end(struct sigma_prefilter *pf)
{
	pf->skip_end = 0;
	for (size_t k = 1; k < pf->nfields; k++)
		if (pf->mstat[k].skip) {
			pf->mstat[k].skip = false;
			pf->mstat[k].misses = 0;
			mstat_set(pf, k);
		}
}

/*
 * A short value of field k (which has a direct search) not in the memo;
 * at the end of a window, whether the field's next values skip the memo.
 * Epochs are this filter's events (their wrap to 1 can only make one
 * window look longer than it was).
 */
static void
mstat_miss(struct sigma_prefilter *pf, size_t k)
{
	struct pf_mstat *st = &pf->mstat[k];

	if (st->misses++ == 0)
		st->start = pf->epoch;
	if (st->misses < PF_MSTAT_MISSES)
		return;
	st->misses = 0;
	if (pf->epoch - st->start < PF_MSTAT_EVENTS) {
		st->skip = true;
		mstat_set(pf, k);
		if (pf->skip_end == 0 && (pf->skip_end = pf->epoch + PF_MSTAT_SKIP) == 0)
			pf->skip_end = 1;
	}
}

/*
 * Scans value v of field k (mmin: memo_min), or takes the literals found
 * in it from the memo when the same value was scanned before (and
 * remembers it when not). A value found in the memo does not read the
 * field's record.
 */
static int
scan_field(struct sigma_prefilter *pf, size_t k, uint32_t mmin, const struct ms_str *v)
{
	struct pf_memo *e;
	uint64_t h;
	int rc;

	if (mmin == 0 || v->p == NULL || v->len == 0)
		return 0;
	if (v->len > PF_MEMO_LEN || v->len < mmin)
		return scan_value(pf, &pf->scan[k], v);
	h = memo_hash(k, (const unsigned char *)v->p, v->len);
	/*
	 * The top bits: a multiply carries a byte's change only towards the
	 * high bits, and memo_hash's shifts after its last one bring only a
	 * few of them down, so by the low bits values that differ in their
	 * last byte ("/static/1" ... "/static/9") shared 4 of the buckets.
	 */
	e = &pf->memo[h >> (64 - PF_MEMO_BITS)];
	for (int w = 0; w < 2; w++)
		if (e->hash[w] == h && e->field[w] == k && e->len[w] == v->len &&
		    memo_same(e->v[w], (const unsigned char *)v->p, v->len)) {
			e->used[w] = pf->epoch;
			for (uint32_t j = 0; j < e->nids[w]; j++)
				lit_found(pf, e->ids[w][j]);
			return 0;
		}
	if (v->len <= PF_DIRECT_LEN && pf->scan[k].dn > 0)
		mstat_miss(pf, k);
	pf->recording = true;
	pf->rec_over = false;
	pf->nrec = 0;
	rc = scan_value(pf, &pf->scan[k], v);
	pf->recording = false;
	if (rc == 0 && !pf->rec_over) {
		/* the way used longer ago (epochs wrap: compared by distance) */
		int w = pf->epoch - e->used[1] > pf->epoch - e->used[0];

		e->hash[w] = h;
		e->field[w] = (uint32_t)k;
		e->len[w] = (uint8_t)v->len;
		e->nids[w] = (uint8_t)pf->nrec;
		e->used[w] = pf->epoch;
		for (uint32_t j = 0; j < pf->nrec; j++)
			e->ids[w][j] = (uint16_t)pf->rec_ids[j];
		memcpy(e->v[w], v->p, v->len);
	}
	return rc;
}

/*
 * The field cache's slot for a name's address: all of its bits mixed.
 * Decoders' names are short strings packed next to each other ("a0",
 * "a1" ... three bytes apart), so the address's low bits alone put
 * several names of one event on the same slot, which they then took from
 * each other on every event.
 */
static inline size_t
fcache_slot(const char *name)
{
	return (size_t)(((uint64_t)(uintptr_t)name * UINT64_C(0x9e3779b97f4a7c15)) >>
	    (64 - PF_FCACHE_BITS));
}

/* Scans ev once (see sigma_prefilter.h); 0, or -1 when every rule may match. */
/* Whether a guard's field has one of its literals (ASCII case-insensitively). */
static bool
guard_pass(const struct sigma_prefilter *pf, const struct pf_guard *g,
    const struct sigma_event *ev)
{
	const struct ms_str *v = ev->d != NULL ? decode_field_get(ev->d, g->field) : NULL;
	const unsigned char *h;
	size_t hl;

	if (v == NULL)
		return false;		/* no such field: the rule reads none */
	h = (const unsigned char *)v->p;
	hl = h != NULL ? v->len : 0;
	for (uint32_t j = 0; j < g->n; j++) {
		const struct pf_dlit *l = &pf->glit[g->first + j];
		const unsigned char *lit = pf->gbytes + l->off;

		for (size_t at = 0; l->len <= hl && at <= hl - l->len; at++) {
			size_t m = 0;
			while (m < l->len && sigma_lower[h[at + m]] == lit[m])
				m++;
			if (m == l->len)
				return true;
		}
	}
	return false;
}

/* Drops from the candidates the rules a guard rules out. */
static void
guards_check(struct sigma_prefilter *pf, const struct sigma_event *ev)
{
	size_t keep = 0;

	for (size_t c = 0; c < pf->ncand; c++) {
		size_t rule = pf->cand[c];
		bool pass = true;

		for (uint32_t g = pf->rguard[rule]; g < pf->rguard[rule + 1] && pass; g++)
			pass = guard_pass(pf, &pf->guard[g], ev);
		if (pass)
			pf->cand[keep++] = rule;
		else
			pf->rs[rule].seen = 0;	/* sigma_prefilter_may_match says no too */
	}
	pf->ncand = keep;
}

int
sigma_prefilter_scan(struct sigma_prefilter *pf, const struct sigma_event *ev)
{
	int rc = 0;

	if (++pf->epoch == 0) {
		for (size_t i = 0; i < pf->nrules; i++)
			pf->rs[i].stamp = 0;
		for (size_t i = 0; i < pf->nlits; i++)
			pf->ls[i].stamp = 0;
		pf->epoch = 1;
	}
	if (__builtin_expect(pf->epoch == pf->skip_end, 0))
		mstat_end(pf);
	pf->ncand = 0;
	pf->ncallbacks = 0;
	if (scan_value(pf, &pf->scan[0], &ev->message) < 0)
		rc = -1;
	/*
	 * A rule reads decode_field_get(d, name): the first exact, else the
	 * first case-insensitive match. Scanning every field whose name
	 * matches case-insensitively covers whichever one it reads.
	 */
	if (ev->d != NULL && pf->nfields > 1) {
		/* read once: scan_field's stores could alias them */
		const uintptr_t s0 = (uintptr_t)ev->d->scratch;
		const struct decode_field *fl = ev->d->fields;
		const unsigned nf = ev->d->nfields;

		for (unsigned i = 0; i < nf; i++) {
			const char *name = fl[i].name;
			struct pf_fref r;

			/* in the scratch area: one unsigned compare */
			if ((uintptr_t)name - s0 < sizeof(ev->d->scratch)) {
				r.k = (uint32_t)field_find(pf, name);
				r.mmin = memo_min(pf, r.k);
			} else if (pf->pos[i].name == name) {
				r = pf->pos[i];
			} else {
				struct pf_fref *c = &pf->fcache[fcache_slot(name)];
				if (c->name != name) {
					c->name = name;
					c->k = (uint32_t)field_find(pf, name);
					c->mmin = memo_min(pf, c->k);
				}
				r = *c;
				pf->pos[i] = r;
			}
			if (r.mmin != 0 && scan_field(pf, r.k, r.mmin, &fl[i].value) < 0)
				rc = -1;
		}
	}
	if (pf->nguard > 0 && pf->ncand > 0)
		guards_check(pf, ev);
	pf->failed = rc < 0;
	return rc;
}

size_t
sigma_prefilter_candidates(struct sigma_prefilter *pf, const size_t **list)
{
	size_t a = 0, c = 0, n = 0;

	if (pf->failed)
		return SIZE_MAX;
	/* Stamped in scan order; a handful, so insertion sort. */
	for (size_t i = 1; i < pf->ncand; i++) {
		size_t v = pf->cand[i], j = i;
		for (; j > 0 && pf->cand[j - 1] > v; j--)
			pf->cand[j] = pf->cand[j - 1];
		pf->cand[j] = v;
	}
	while (a < pf->nalways || c < pf->ncand) {
		if (c == pf->ncand || (a < pf->nalways && pf->always[a] < pf->cand[c]))
			pf->run[n++] = pf->always[a++];
		else
			pf->run[n++] = pf->cand[c++];
	}
	*list = pf->run;
	return n;
}

bool
sigma_prefilter_may_match(const struct sigma_prefilter *pf, size_t i)
{
	return pf->failed || i >= pf->nrules || !pf->filtered[i] ||
	    (pf->rs[i].stamp == pf->epoch && pf->rs[i].seen == pf->rs[i].full);
}

size_t
sigma_prefilter_nfiltered(const struct sigma_prefilter *pf)
{
	return pf->nfiltered;
}

size_t
sigma_prefilter_nliterals(const struct sigma_prefilter *pf)
{
	return pf->nlits;
}

size_t
sigma_prefilter_nskipping(const struct sigma_prefilter *pf)
{
	size_t n = 0;

	for (size_t k = 1; k < pf->nfields; k++)
		n += pf->mstat[k].skip;
	return n;
}

