/*
 * sigma_cond – the condition grammar of Sigma detections, compiled into an
 * AST over the rule's search identifiers (struct sigma_cnode).
 *
 *   or_expr   := and_expr ( "or" and_expr )*
 *   and_expr  := not_expr ( "and" not_expr )*
 *   not_expr  := "not" not_expr | primary
 *   primary   := "(" or_expr ")" | ( "1" | "all" ) "of" target | IDENT
 *   target    := "them" | IDENT | PATTERN            (PATTERN: IDENT with * or ?)
 *
 * Keywords are case-insensitive; identifiers are case-sensitive. "1 of X"
 * and "all of X" are resolved here into OR / AND nodes over the matching
 * identifiers, so evaluation only knows REF, AND, OR and NOT. "them" is
 * every identifier not starting with '_'.
 *
 * A target that matches no identifier is rejected (pySigma treats it as an
 * error too): a filter pattern with a typo would otherwise silently turn
 * "selection and not 1 of filter_*" into "selection".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigma_internal.h"

enum ctok { T_END, T_LP, T_RP, T_AND, T_OR, T_NOT, T_ONE, T_ALL, T_OF, T_WORD };

struct cparser {
	struct sigma_rule *r;
	size_t lo, hi;		/* the searches its names refer to: [lo, hi) of r's */
	const char *s;
	size_t len;
	size_t pos;
	enum ctok t;		/* current token */
	const char *tok;	/* its text */
	size_t toklen;
	int depth;
	char *err;
	size_t errsz;
	bool failed;
};

static void cfail(struct cparser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cfail(struct cparser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;	/* keep the first, most precise reason */
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errsz, fmt, ap);
	va_end(ap);
}

/* Token text for messages: at most 60 bytes, control bytes as '?'. */
static const char *
tokstr(const struct cparser *p, char *buf, size_t bufsz)
{
	size_t i;

	if (p->t == T_END)
		return "end of condition";
	for (i = 0; i < p->toklen && i + 1 < bufsz && i < 60; i++)
		buf[i] = (unsigned char)p->tok[i] < 0x20 ? '?' : p->tok[i];
	buf[i] = '\0';
	return buf;
}

static bool
word_is(const struct cparser *p, const char *kw)
{
	size_t n = strlen(kw);

	return p->toklen == n && strncasecmp(p->tok, kw, n) == 0;
}

static void
next(struct cparser *p)
{
	const char *s = p->s;

	while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' ||
	    s[p->pos] == '\n' || s[p->pos] == '\r'))
		p->pos++;
	p->tok = s + p->pos;
	p->toklen = 0;
	if (p->pos >= p->len) {
		p->t = T_END;
		return;
	}
	if (s[p->pos] == '(' || s[p->pos] == ')') {
		p->t = s[p->pos] == '(' ? T_LP : T_RP;
		p->toklen = 1;
		p->pos++;
		return;
	}
	while (p->pos < p->len && s[p->pos] != ' ' && s[p->pos] != '\t' && s[p->pos] != '\n' &&
	    s[p->pos] != '\r' && s[p->pos] != '(' && s[p->pos] != ')')
		p->pos++;
	p->toklen = (size_t)(s + p->pos - p->tok);
	if (word_is(p, "and"))
		p->t = T_AND;
	else if (word_is(p, "or"))
		p->t = T_OR;
	else if (word_is(p, "not"))
		p->t = T_NOT;
	else if (word_is(p, "1"))
		p->t = T_ONE;
	else if (word_is(p, "all"))
		p->t = T_ALL;
	else if (word_is(p, "of"))
		p->t = T_OF;
	else
		p->t = T_WORD;
}

static struct sigma_cnode *
node(struct cparser *p, enum sigma_cop op)
{
	struct sigma_cnode *n;

	if (p->r->ncnodes >= SIGMA_MAX_COND_NODES) {
		cfail(p, "more than %d condition nodes", SIGMA_MAX_COND_NODES);
		return NULL;
	}
	if ((n = sigma_arena_alloc(&p->r->arena, sizeof(*n))) == NULL) {
		cfail(p, "out of memory");
		return NULL;
	}
	p->r->ncnodes++;
	n->op = op;
	return n;
}

/* A growable list of kids on the heap while parsing, copied to the arena at the end. */
struct kids {
	struct sigma_cnode **v;
	size_t n, cap;
};

static int
kids_add(struct cparser *p, struct kids *k, struct sigma_cnode *n)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct sigma_cnode **v;
		if (cap > SIGMA_MAX_COND_NODES || (v = realloc(k->v, cap * sizeof(*v))) == NULL) {
			cfail(p, "condition too large");
			return -1;
		}
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = n;
	return 0;
}

/* n-ary node over k's entries (or the single entry itself); frees k's heap array. */
static struct sigma_cnode *
kids_node(struct cparser *p, struct kids *k, enum sigma_cop op)
{
	struct sigma_cnode *n = NULL;

	if (k->n == 1) {
		n = k->v[0];
	} else if (k->n > 1 && (n = node(p, op)) != NULL) {
		if ((n->kids = sigma_arena_alloc(&p->r->arena, k->n * sizeof(*n->kids))) == NULL) {
			cfail(p, "out of memory");
			n = NULL;
		} else {
			memcpy(n->kids, k->v, k->n * sizeof(*n->kids));
			n->n = k->n;
		}
	}
	free(k->v);
	k->v = NULL;
	k->n = k->cap = 0;
	return n;
}

/* Identifier pattern: '*' any run, '?' one character, case-sensitive. */
static bool
name_match(const char *pat, size_t plen, const char *s)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0, slen = strlen(s);

	while (si < slen) {
		if (pi < plen && (pat[pi] == '?' || pat[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < plen && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

static struct sigma_cnode *
ref(struct cparser *p, size_t i)
{
	struct sigma_cnode *n = node(p, SIGMA_C_REF);

	if (n != NULL)
		n->ref = (uint32_t)i;
	return n;
}

static struct sigma_cnode *parse_or(struct cparser *p);

/* "1 of X" / "all of X": the current token is X. */
static struct sigma_cnode *
parse_of(struct cparser *p, bool all)
{
	struct kids k = { NULL, 0, 0 };
	bool them, pattern;
	char tb[64];

	if (p->t != T_WORD) {
		cfail(p, "expected an identifier, a pattern or 'them' after '%s of', got '%s'",
		    all ? "all" : "1", tokstr(p, tb, sizeof(tb)));
		return NULL;
	}
	them = word_is(p, "them");
	pattern = memchr(p->tok, '*', p->toklen) != NULL || memchr(p->tok, '?', p->toklen) != NULL;
	for (size_t i = p->lo; i < p->hi; i++) {
		const char *name = p->r->searches[i].name;
		bool hit;

		/*
		 * A pattern is "them" restricted to the names it matches, so it
		 * leaves out '_' identifiers too (helpers such as _filter that
		 * the condition names on its own).
		 */
		if (them)
			hit = name[0] != '_';
		else if (pattern)
			hit = name[0] != '_' && name_match(p->tok, p->toklen, name);
		else
			hit = strlen(name) == p->toklen && memcmp(name, p->tok, p->toklen) == 0;
		if (hit && kids_add(p, &k, ref(p, i)) < 0)
			goto fail;
		if (hit && k.v[k.n - 1] == NULL)
			goto fail;
	}
	if (k.n == 0) {
		cfail(p, "'%s of %s' matches no search identifier%s", all ? "all" : "1",
		    tokstr(p, tb, sizeof(tb)), pattern || them ?
		    " (names starting with '_' are not part of patterns or 'them')" : "");
		goto fail;
	}
	next(p);
	return kids_node(p, &k, all ? SIGMA_C_AND : SIGMA_C_OR);
fail:
	free(k.v);
	return NULL;
}

static struct sigma_cnode *
parse_primary(struct cparser *p)
{
	struct sigma_cnode *n;
	char tb[64];

	switch (p->t) {
	case T_LP:
		if (++p->depth > SIGMA_MAX_COND_DEPTH) {
			cfail(p, "nested deeper than %d", SIGMA_MAX_COND_DEPTH);
			return NULL;
		}
		next(p);
		if ((n = parse_or(p)) == NULL)
			return NULL;
		if (p->t != T_RP) {
			cfail(p, "expected ')', got '%s'", tokstr(p, tb, sizeof(tb)));
			return NULL;
		}
		p->depth--;
		next(p);
		return n;
	case T_ONE:
	case T_ALL: {
		bool all = p->t == T_ALL;
		next(p);
		if (p->t != T_OF) {
			cfail(p, "expected 'of' after '%s'", all ? "all" : "1");
			return NULL;
		}
		next(p);
		return parse_of(p, all);
	}
	case T_WORD:
		if (memchr(p->tok, '*', p->toklen) != NULL || memchr(p->tok, '?', p->toklen) != NULL) {
			cfail(p, "pattern '%s' needs '1 of' or 'all of'", tokstr(p, tb, sizeof(tb)));
			return NULL;
		}
		for (size_t i = p->lo; i < p->hi; i++) {
			const char *name = p->r->searches[i].name;
			if (strlen(name) == p->toklen && memcmp(name, p->tok, p->toklen) == 0) {
				next(p);
				return ref(p, i);
			}
		}
		if (word_is(p, "them"))
			cfail(p, "'them' needs '1 of' or 'all of'");
		else
			cfail(p, "unknown search identifier '%s'", tokstr(p, tb, sizeof(tb)));
		return NULL;
	default:
		cfail(p, "unexpected '%s'", tokstr(p, tb, sizeof(tb)));
		return NULL;
	}
}

static struct sigma_cnode *
parse_not(struct cparser *p)
{
	struct sigma_cnode *n, *kid;

	if (p->t != T_NOT)
		return parse_primary(p);
	if (++p->depth > SIGMA_MAX_COND_DEPTH) {
		cfail(p, "nested deeper than %d", SIGMA_MAX_COND_DEPTH);
		return NULL;
	}
	next(p);
	if ((kid = parse_not(p)) == NULL || (n = node(p, SIGMA_C_NOT)) == NULL)
		return NULL;
	if ((n->kids = sigma_arena_alloc(&p->r->arena, sizeof(*n->kids))) == NULL) {
		cfail(p, "out of memory");
		return NULL;
	}
	n->kids[0] = kid;
	n->n = 1;
	p->depth--;
	return n;
}

/* Left-to-right chain of one operator, flattened into one n-ary node. */
static struct sigma_cnode *
parse_chain(struct cparser *p, enum ctok op, struct sigma_cnode *(*sub)(struct cparser *))
{
	struct kids k = { NULL, 0, 0 };
	struct sigma_cnode *n;

	for (;;) {
		if ((n = sub(p)) == NULL || kids_add(p, &k, n) < 0) {
			free(k.v);
			return NULL;
		}
		if (p->t != op)
			break;
		next(p);
	}
	return kids_node(p, &k, op == T_AND ? SIGMA_C_AND : SIGMA_C_OR);
}

static struct sigma_cnode *
parse_and(struct cparser *p)
{
	return parse_chain(p, T_AND, parse_not);
}

static struct sigma_cnode *
parse_or(struct cparser *p)
{
	return parse_chain(p, T_OR, parse_and);
}

/*
 * Compiles a condition against r's searches. Returns the AST root (in
 * r->arena) or NULL with the reason in err.
 */
struct sigma_cnode *
sigma_cond_compile(struct sigma_rule *r, const char *text, size_t len, char *err, size_t errsz)
{
	return sigma_cond_compile_range(r, 0, r->nsearches, text, len, err, errsz);
}

struct sigma_cnode *
sigma_cond_compile_range(struct sigma_rule *r, size_t lo, size_t hi, const char *text,
    size_t len, char *err, size_t errsz)
{
	struct cparser p;
	struct sigma_cnode *n;
	char tb[64];

	memset(&p, 0, sizeof(p));
	p.r = r;
	p.lo = lo;
	p.hi = hi;
	p.s = text;
	p.len = len;
	p.err = err;
	p.errsz = errsz;
	if (errsz > 0)
		err[0] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		cfail(&p, "NUL byte in condition");
		return NULL;
	}
	/* Identifiers never hold '|': one here is a Sigma 1 aggregation. */
	if (memchr(text, '|', len) != NULL) {
		cfail(&p, "aggregations ('| count() ...') are not supported: use a "
		    "correlation rule");
		return NULL;
	}
	next(&p);
	if (p.t == T_END) {
		cfail(&p, "empty condition");
		return NULL;
	}
	if ((n = parse_or(&p)) == NULL) {
		if (!p.failed)
			cfail(&p, "bad condition");
		return NULL;
	}
	if (p.t != T_END) {
		cfail(&p, "unexpected '%s'", tokstr(&p, tb, sizeof(tb)));
		return NULL;
	}
	return n;
}

/* An OR (or AND) over kids (copied into the arena). */
static struct sigma_cnode *
cond_join(struct sigma_rule *r, struct sigma_cnode **kids, size_t n, enum sigma_cop op)
{
	struct sigma_cnode *o;

	if ((o = sigma_arena_alloc(&r->arena, sizeof(*o))) == NULL ||
	    (o->kids = sigma_arena_alloc(&r->arena, n * sizeof(*o->kids))) == NULL)
		return NULL;
	o->op = op;
	memcpy(o->kids, kids, n * sizeof(*kids));
	o->n = n;
	return o;
}

struct sigma_cnode *
sigma_cond_or(struct sigma_rule *r, struct sigma_cnode **kids, size_t n)
{
	return cond_join(r, kids, n, SIGMA_C_OR);
}

struct sigma_cnode *
sigma_cond_and(struct sigma_rule *r, struct sigma_cnode **kids, size_t n)
{
	return cond_join(r, kids, n, SIGMA_C_AND);
}
