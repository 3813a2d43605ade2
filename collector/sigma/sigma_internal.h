/*
 * sigma_internal – the compiled form of a Sigma detection rule, shared by
 * sigma_rule.c (YAML → structures), sigma_cond.c (condition → AST) and
 * sigma_match.c (evaluation). Not part of the public API.
 *
 * Everything a rule owns lives in one arena (struct sigma_arena) freed in
 * one go, except the PCRE2 objects, which are chained on rule->re_head.
 *
 * Shape of a compiled detection:
 *
 *   rule ── searches[]          one per search identifier ("selection")
 *             └─ conjs[]        OR: a list of maps is an OR of ANDs
 *                  └─ items[]   AND: one per "field|modifiers" key
 *                       └─ groups[]   OR (AND with |all): one per value
 *                            └─ alts[] OR: variants of one value
 *                                      (base64offset, expand)
 *        └─ cond                the condition as an AST over searches
 *
 * Every string literal is kept as a byte pattern with a parallel token
 * array (struct sigma_glob), already lower-cased when matching is
 * case-insensitive, so a later multi-pattern prefilter (Hyperscan) can be
 * built from sigma_glob.text without re-reading the YAML.
 */
#ifndef SIGMA_INTERNAL_H
#define SIGMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "sigma.h"

/* Bounds: a rule file is untrusted input. */
#define SIGMA_MAX_SEARCHES	128	/* search identifiers per rule */
#define SIGMA_MAX_ITEMS		1024	/* field items per rule */
#define SIGMA_MAX_VALUES	8192	/* compiled values (alternatives) per rule */
#define SIGMA_MAX_VALUE_LEN	4096	/* bytes of one value as written */
#define SIGMA_MAX_PATTERN	32768	/* bytes of one value after expand/utf16/base64 */
#define SIGMA_MAX_FIELD_LEN	256	/* field name */
#define SIGMA_MAX_MODIFIERS	16	/* modifiers on one key */
#define SIGMA_MAX_EXPAND	256	/* values one |expand value may become */
#define SIGMA_MAX_COND_LEN	4096	/* bytes of one condition */
#define SIGMA_MAX_COND_DEPTH	32	/* nesting of parentheses and not */
#define SIGMA_MAX_COND_NODES	2048	/* AST nodes of all conditions */
#define SIGMA_MAX_CONDITIONS	64	/* entries of a condition list */
#define SIGMA_MAX_FILTERS	16	/* Sigma filters applied to one rule */
#define SIGMA_MAX_META		64	/* tags, fields */
#define SIGMA_MAX_META_LEN	1024	/* title, id, tag ... */
#define SIGMA_MAX_RULE_BYTES	(8u << 20)	/* arena cap per rule */
#define SIGMA_RE_MATCH_LIMIT	100000	/* PCRE2 backtracking budget per match */
#define SIGMA_RE_DEPTH_LIMIT	10000

/* --- arena ---------------------------------------------------------------- */

struct sigma_chunk;

struct sigma_arena {
	struct sigma_chunk *head;
	size_t total;		/* bytes allocated, capped at SIGMA_MAX_RULE_BYTES */
};

/* Zeroed, aligned memory owned by the arena; NULL when out of memory or cap. */
void *sigma_arena_alloc(struct sigma_arena *a, size_t n);
/* Copy of p/len plus a NUL, owned by the arena. */
char *sigma_arena_strndup(struct sigma_arena *a, const char *p, size_t len);
void sigma_arena_fini(struct sigma_arena *a);

/* --- values ------------------------------------------------------------- */

/* Token kind of one pattern byte. */
enum sigma_tok {
	SIGMA_TOK_LIT = 0,	/* the byte itself */
	SIGMA_TOK_ONE,		/* '?': any one character (UTF-8; else a byte) */
	SIGMA_TOK_STAR,		/* '*': any run of bytes */
	SIGMA_TOK_DASH,		/* |windash: - / or U+2013 U+2014 U+2015 */
};

/*
 * How a glob is matched. The fast modes hold only literal bytes (the stars
 * that made them prefix/suffix/contains are stripped); SIGMA_G_GLOB holds
 * the whole token string.
 */
enum sigma_gmode {
	SIGMA_G_EXACT,
	SIGMA_G_PREFIX,
	SIGMA_G_SUFFIX,
	SIGMA_G_CONTAINS,
	SIGMA_G_GLOB,
};

struct sigma_glob {
	const unsigned char *text;	/* arena; lower-cased unless cased */
	const uint8_t *kind;		/* arena, enum sigma_tok per byte; NULL when all literal */
	size_t len;
	enum sigma_gmode mode;
	bool cased;
};

enum sigma_vkind {
	SIGMA_V_GLOB,		/* string with wildcards / contains / startswith ... */
	SIGMA_V_RE,		/* |re */
	SIGMA_V_CIDR,		/* |cidr */
	SIGMA_V_NUM,		/* |lt |lte |gt |gte */
	SIGMA_V_NULL,		/* null: field absent or empty */
	SIGMA_V_EXISTS,		/* |exists: true/false */
	SIGMA_V_FIELDREF,	/* |fieldref: equal to another field */
};

enum sigma_numop { SIGMA_NUM_LT, SIGMA_NUM_LTE, SIGMA_NUM_GT, SIGMA_NUM_GTE };

struct sigma_val {
	enum sigma_vkind kind;
	union {
		struct sigma_glob g;
		struct {
			pcre2_code *code;		/* owned, freed via rule->re_head */
			pcre2_match_data *md;		/* owned; makes matching allocation-free */
			struct sigma_val *next;		/* chain of regex values */
			const char *src;		/* arena: the pattern as written (prefilter); may be NULL */
			size_t srclen;
			uint32_t minlen;		/* PCRE2_INFO_MINLENGTH: shorter values cannot match */
			bool jit;			/* JIT-compiled, no UTF: pcre2_jit_match directly */
			/*
			 * What PCRE2 itself knows every match needs, checked before
			 * a call into it (a call costs ~120 instructions before its
			 * first byte, its start-byte scan ~13 a byte): a match starts
			 * with one of first[0..nfirst) (nfirst 0: no such check), or
			 * with a byte of firstmap (NULL: none); it contains req[0]
			 * or req[1] (nreq 0: none).
			 */
			const uint8_t *firstmap;	/* arena, 32 bytes */
			unsigned char first[3], req[2];
			uint8_t nfirst, nreq;
		} re;
		struct {
			int af;				/* AF_INET or AF_INET6 */
			uint8_t addr[16];		/* network address, host bits zeroed */
			unsigned prefix;
		} cidr;
		struct {
			enum sigma_numop op;
			double v;
			int64_t i;			/* v exactly, when isint */
			bool isint;
			int8_t big;			/* see struct sigma_num */
		} num;
		bool exists;
		struct {
			const char *field;		/* arena */
			enum sigma_gmode mode;		/* EXACT, PREFIX, SUFFIX or CONTAINS */
			bool cased;
		} ref;
	} u;
};

/* One value as written: matches when any of its alternatives does. */
struct sigma_group {
	struct sigma_val *alts;
	size_t nalts;
};

/*
 * Every value of an item as one set of case-insensitive "contains"
 * literals, searched in one pass over the field (sigma_multi_match): built
 * for items whose values are all such literals, enough of them that a pass
 * beats one search per literal. Literals are lower-cased and ordered by
 * their first byte.
 */
struct sigma_mlit {
	const unsigned char *p;
	uint32_t len;
};

struct sigma_multi {
	uint8_t first[256];		/* 1: some literal starts with this byte (either case) */
	uint16_t start[257];		/* lits[start[b] .. start[b + 1]) start with byte b */
	const struct sigma_mlit *lits;
	size_t n;
	uint32_t minlen;		/* of the shortest literal */
};

#define SIGMA_MULTI_MIN	2		/* literals from which an item gets a sigma_multi */
#define SIGMA_MULTI_PART_MIN 4		/* ... or, beside values of other kinds, a partial one */

/* A value sigma_multi can hold: a case-insensitive "contains" literal. */
static inline bool
sigma_val_plain(const struct sigma_val *v)
{
	return v->kind == SIGMA_V_GLOB && v->u.g.mode == SIGMA_G_CONTAINS && !v->u.g.cased &&
	    v->u.g.len > 0 && v->u.g.len <= UINT32_MAX;
}

/*
 * Every value of an item as one set of exact literals, by length: a field
 * value is compared only with the literals of its own length (most items
 * with many exact values list ports, flags, user or process names, whose
 * lengths differ). Built for items whose values are all exact strings
 * (no wildcard, no modifier but |cased, the same casing for all), two or
 * more of them, without |all. lits[start[k] .. start[k + 1]) have length
 * k for k < SIGMA_EXACT_LENS - 1; the last bucket holds every longer one.
 */
#define SIGMA_EXACT_LENS	64

struct sigma_exact {
	uint64_t lens;			/* bit k: some literal in bucket k */
	uint16_t start[SIGMA_EXACT_LENS + 1];
	const struct sigma_mlit *lits;	/* lower-cased unless cased */
	size_t n;
	bool cased;
};

/* One "field|modifiers: values" entry (or a keyword list: field NULL). */
struct sigma_item {
	const char *field;		/* arena; NULL = the whole message */
	struct sigma_group *groups;
	size_t ngroups;
	uint32_t fid;			/* field's id in rule->fm (bound rules only) */
	uint32_t sid;			/* 0, or an item of the same meaning is in another
					   rule (or search) of rule->fm's set: its result
					   is memoised per event in slot sid - 1 there */
	const struct sigma_multi *multi;	/* arena; NULL: value by value */
	bool multi_part;		/* multi holds the plain values only: the others one by one */
	const struct sigma_exact *exact;	/* arena; NULL: value by value */
	bool cidr;			/* every value is a |cidr range: the field is parsed once */
	uint32_t minlen;		/* no value shorter matches (0: no such bound) */
	bool all;			/* |all: every group must match */
	bool neq;			/* |neq: present and no group matches */
};

/* A map: every item must match. */
struct sigma_conj {
	struct sigma_item *items;
	size_t nitems;
};

/* A search identifier: any conjunction may match. */
struct sigma_search {
	const char *name;		/* arena */
	struct sigma_conj *conjs;
	size_t nconjs;
};

/* --- condition ---------------------------------------------------------- */

enum sigma_cop { SIGMA_C_REF, SIGMA_C_AND, SIGMA_C_OR, SIGMA_C_NOT };

struct sigma_cnode {
	enum sigma_cop op;
	uint32_t ref;			/* SIGMA_C_REF: index into rule->searches */
	struct sigma_cnode **kids;	/* AND/OR: n kids, NOT: 1 */
	size_t n;
};

/* --- the rule ------------------------------------------------------------ */

struct sigma_rule {
	struct sigma_arena arena;
	const char *title, *id, *name, *status, *level;
	const char *product, *service, *category;
	const char **tags;
	size_t ntags;
	const char **fields;
	size_t nfields;
	const char **dfields;		/* distinct fields the detection reads */
	int *dflines;			/* the line where each is first read */
	size_t ndfields;
	struct sigma_search *searches;
	size_t nsearches;
	struct sigma_cnode *cond;
	struct sigma_val *re_head;	/* every SIGMA_V_RE value, to free */
	pcre2_match_context *mctx;	/* match limits for every regex */
	size_t ncnodes;			/* condition nodes built (bounded) */
	struct sigma_fieldmap *fm;	/* items' fid and sid are ids in it; NULL: unbound */
};

/*
 * sigma_cond.c: compiles the condition text (len bytes) against the rule's
 * searches into an AST allocated in r->arena. Returns the root, or NULL with
 * "reason" (no file:line prefix) in err.
 */
struct sigma_cnode *sigma_cond_compile(struct sigma_rule *r, const char *text, size_t len,
    char *err, size_t errsz);
/*
 * The same with names, patterns and 'them' referring to searches [lo, hi)
 * of r only: a filter's condition sees the filter's own searches.
 */
struct sigma_cnode *sigma_cond_compile_range(struct sigma_rule *r, size_t lo, size_t hi,
    const char *text, size_t len, char *err, size_t errsz);
/* An OR node over kids (arena), for condition lists. NULL when out of memory. */
struct sigma_cnode *sigma_cond_or(struct sigma_rule *r, struct sigma_cnode **kids, size_t n);
/* An AND node over kids (arena): a rule's condition and its filters'. */
struct sigma_cnode *sigma_cond_and(struct sigma_rule *r, struct sigma_cnode **kids, size_t n);

/*
 * sigma_fieldmap.c: the field names of a set's rules, resolved once per
 * event layout (the addresses of an event's field names, in order) rather
 * than once per item, with decode_field_get's semantics: the first exact
 * match, else the first ASCII case-insensitive one.
 *
 * _bind gives every field item of r an id and records fm in r (r must not
 * outlive fm); -1 when out of memory (r then stays unbound, still correct).
 * Items of the same meaning in several places (rules or searches) get a
 * memo slot (sid) for their result per event. _forget drops r's items
 * from fm's comparison table (sigma_rule_free calls it for a bound rule).
 * _next starts a new event: call it before the first lookup of each event.
 * _get: the value of field id in d, or NULL; one thread at a time.
 */
struct sigma_fieldmap;
struct decoded;
struct sigma_fieldmap *sigma_fieldmap_new(void);
void sigma_fieldmap_free(struct sigma_fieldmap *fm);
int sigma_fieldmap_bind(struct sigma_fieldmap *fm, struct sigma_rule *r);
void sigma_fieldmap_forget(struct sigma_fieldmap *fm, const struct sigma_rule *r);
/* The id of name, added when new (for readers other than rule items); UINT32_MAX when out of memory. */
uint32_t sigma_fieldmap_id(struct sigma_fieldmap *fm, const char *name);
size_t sigma_fieldmap_nnames(const struct sigma_fieldmap *fm);
/* Items given a memo slot (sid) by _bind: they occur in more than one place. */
size_t sigma_fieldmap_nshared(const struct sigma_fieldmap *fm);

/*
 * What every lookup and memo check reads, at the start of struct
 * sigma_fieldmap so the common case is a few inline instructions: the
 * event's generation, the current layout's slots (nslot 0: none yet this
 * event, or an event without a layout), the shared items' memo.
 */
struct sigma_fieldmap_hot {
	uint32_t gen;			/* this event's; never 0 */
	uint32_t filled;		/* == gen once slot/nslot are this event's */
	const int8_t *slot;		/* by id: field index, or < 0 */
	size_t nslot;
	uint32_t *sgen;			/* by sid - 1: gen when sval was computed */
	uint8_t *sval;			/* by sid - 1: the item's result then */
};

void sigma_fieldmap_next(struct sigma_fieldmap *fm);
const struct ms_str *sigma_fieldmap_get_slow(struct sigma_fieldmap *fm, const struct decoded *d,
    uint32_t id);

static inline const struct ms_str *
sigma_fieldmap_get(struct sigma_fieldmap *fm, const struct decoded *d, uint32_t id)
{
	const struct sigma_fieldmap_hot *h = (const struct sigma_fieldmap_hot *)fm;

	/* The layout's slot when known: >= 0 the field's index, -1 absent. */
	if (h->filled == h->gen && id < h->nslot && h->slot[id] >= -1)
		return h->slot[id] >= 0 ? &d->fields[h->slot[id]].value : NULL;
	return sigma_fieldmap_get_slow(fm, d, id);
}

/*
 * sigma_match.c: sigma_rule_match with fm, the map r is bound to and ev's
 * current event in it (sigma_fieldmap_next called for ev). fm NULL, or
 * another map than r's: names are looked up per item.
 */
bool sigma_rule_match_fm(const struct sigma_rule *r, const struct sigma_event *ev,
    struct sigma_fieldmap *fm);

/*
 * sigma_corr.c: gives c's group-by fields (and aliases) and its value_count
 * field ids in fm, so sigma_corr_feed_fm reads them through the map (c must
 * not outlive fm); -1 when out of memory (c then stays unbound: names are
 * looked up per feed, same result). sigma_corr_feed_fm is sigma_corr_feed
 * with fm's current event being ev->d (sigma_fieldmap_next called for it);
 * fm NULL or not the map c is bound to: names are looked up per feed.
 */
int sigma_corr_bind(struct sigma_corr *c, struct sigma_fieldmap *fm);
void sigma_corr_feed_fm(struct sigma_corr *c, size_t ref, const struct sigma_event *ev,
    struct sigma_fieldmap *fm, sigma_corr_emit_fn emit, void *arg);

/* sigma_match.c: glob matching, shared with the condition's identifier patterns. */
bool sigma_glob_match(const struct sigma_glob *g, const unsigned char *s, size_t len);
/* True when any literal of m occurs in s (ASCII case-insensitively). */
bool sigma_multi_match(const struct sigma_multi *m, const unsigned char *s, size_t n);
/* Case-insensitive ASCII lowering table. */
extern const unsigned char sigma_lower[256];

/*
 * A number as lt/lte/gt/gte read it, on both sides: decimal only (an
 * optional sign, digits with an optional fraction, an optional exponent),
 * the whole text, no blanks, no hex, "inf" or "nan"; finite. An integer
 * that fits 64 bits is also kept exactly (isint), so that large counters
 * and ids compare without rounding; one past them (no fraction, no
 * exponent) has big 1 (above INT64_MAX) or -1 (below INT64_MIN), so that
 * it still compares exactly with one that fits. 0, or -1 when s/n is not
 * such a number.
 */
struct sigma_num {
	double v;
	int64_t i;
	bool isint;
	int8_t big;
};
int sigma_num_parse(const unsigned char *s, size_t n, struct sigma_num *out);

#endif
