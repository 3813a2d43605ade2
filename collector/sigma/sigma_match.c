/*
 * sigma_match – evaluates a compiled rule against one event.
 *
 * No allocation, no copies of the event: field values are the decoder's
 * slices; search results are memoised in bits on the stack so a search
 * referenced twice ("selection and not (selection and filter)") is
 * evaluated once; AND/OR short-circuit. Case-insensitive matching folds the
 * event's bytes through a table, the patterns being folded at load time.
 * Case folding is ASCII only (bytes >= 0x80 compare exactly); '?' is one
 * UTF-8 character (one byte where the text is not UTF-8).
 *
 * Cheap checks first: a rule bound to a set's field map reads its fields
 * by id (sigma_fieldmap.c); a value shorter than anything an item can
 * match fails it at once; a list of "contains" literals is one pass over
 * the value (sigma_multi); a regex is called only when the bytes PCRE2
 * says every match needs are there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sigma_internal.h"

#define L1(x) (unsigned char)((x) >= 'A' && (x) <= 'Z' ? (x) + 32 : (x))
#define L4(x) L1(x), L1((x) + 1), L1((x) + 2), L1((x) + 3)
#define L16(x) L4(x), L4((x) + 4), L4((x) + 8), L4((x) + 12)
#define L64(x) L16(x), L16((x) + 16), L16((x) + 32), L16((x) + 48)
const unsigned char sigma_lower[256] = { L64(0), L64(64), L64(128), L64(192) };

static const unsigned char empty_str[1] = { 0 };

static bool
eq_bytes(const unsigned char *s, const unsigned char *p, size_t n, bool cased)
{
	if (cased)
		return memcmp(s, p, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (sigma_lower[s[i]] != sigma_lower[p[i]])
			return false;
	return true;
}

static bool
find_bytes(const unsigned char *h, size_t hlen, const unsigned char *n, size_t nlen, bool cased)
{
	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	if (cased) {
		/* memmem is a GNU extension: memchr on the first byte is portable and fast. */
		const unsigned char *p = h, *end = h + hlen - nlen + 1;
		while (p < end && (p = memchr(p, n[0], (size_t)(end - p))) != NULL) {
			if (memcmp(p + 1, n + 1, nlen - 1) == 0)
				return true;
			p++;
		}
		return false;
	}
	/*
	 * Candidates are the positions of the first byte in either case, found
	 * with memchr (vectorised in libc); each memchr result is reused until
	 * the scan passes it, so every byte is looked at about twice at most.
	 */
	{
		unsigned char lo = sigma_lower[n[0]];
		unsigned char up = lo >= 'a' && lo <= 'z' ? (unsigned char)(lo - 32) : lo;
		const unsigned char *pos = h, *end = h + hlen - nlen + 1, *pl = NULL, *pu = NULL;

		while (pos < end) {
			const unsigned char *cand;
			if (pl == NULL || pl < pos)
				if ((pl = memchr(pos, lo, (size_t)(end - pos))) == NULL)
					pl = end;
			if (pu == NULL || pu < pos) {
				if (up == lo)
					pu = end;
				else if ((pu = memchr(pos, up, (size_t)(end - pos))) == NULL)
					pu = end;
			}
			cand = pl < pu ? pl : pu;
			if (cand == end)
				return false;
			if (eq_bytes(cand + 1, n + 1, nlen - 1, false))
				return true;
			pos = cand + 1;
		}
	}
	return false;
}

/* Literal comparison in one of the fast modes. */
static bool
lit_match(enum sigma_gmode mode, const unsigned char *s, size_t n, const unsigned char *p,
    size_t plen, bool cased)
{
	switch (mode) {
	case SIGMA_G_EXACT:
		return n == plen && eq_bytes(s, p, n, cased);
	case SIGMA_G_PREFIX:
		return n >= plen && eq_bytes(s, p, plen, cased);
	case SIGMA_G_SUFFIX:
		return n >= plen && eq_bytes(s + n - plen, p, plen, cased);
	case SIGMA_G_CONTAINS:
		return find_bytes(s, n, p, plen, cased);
	case SIGMA_G_GLOB:
		break;
	}
	return false;
}

/*
 * One pass over s: at each byte some literal starts with (either case),
 * the literals starting with it are compared. Linear in practice; O(n*m)
 * worst case, both bounded.
 */
bool
sigma_multi_match(const struct sigma_multi *m, const unsigned char *s, size_t n)
{
	if (n < m->minlen)
		return false;
	for (size_t i = 0, last = n - m->minlen; i <= last; i++) {
		unsigned char b;

		if (!m->first[s[i]])
			continue;
		b = sigma_lower[s[i]];
		for (size_t k = m->start[b], e = m->start[b + 1]; k < e; k++) {
			const struct sigma_mlit *l = &m->lits[k];
			if (l->len <= n - i && eq_bytes(s + i + 1, l->p + 1, l->len - 1, false))
				return true;
		}
	}
	return false;
}

/*
 * Bytes of the character at s (n > 0): a well-formed UTF-8 sequence, else
 * one byte (Latin-1 or binary text is read a byte a character).
 */
static inline size_t
utf8_width(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t w;

	if (c < 0xc2 || c > 0xf4)
		return 1;
	w = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	/* no overlong forms, surrogates or code points past U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (w > n || s[1] < lo || s[1] > hi)
		return 1;
	for (size_t i = 2; i < w; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return w;
}

/* Bytes a non-star token consumes at s, 0 when it does not match. */
static size_t
tok_width(const struct sigma_glob *g, size_t pi, const unsigned char *s, size_t n)
{
	switch ((enum sigma_tok)g->kind[pi]) {
	case SIGMA_TOK_LIT:
		if (g->cased)
			return s[0] == g->text[pi];
		return sigma_lower[s[0]] == g->text[pi];
	case SIGMA_TOK_ONE:
		return utf8_width(s, n);	/* one character, as the spec says */
	case SIGMA_TOK_DASH:
		if (s[0] == '-' || s[0] == '/')
			return 1;
		/* U+2013 en dash, U+2014 em dash, U+2015 horizontal bar */
		if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x93 && s[2] <= 0x95)
			return 3;
		return 0;
	case SIGMA_TOK_STAR:
		break;
	}
	return 0;
}

/*
 * Glob with '*' backtracking to the last star only: correct because every
 * other token matches a fixed width at a given position, and linear in
 * practice (O(n*m) worst case, both bounded). A star takes whole
 * characters, so '?' after it never starts inside a UTF-8 sequence.
 */
bool
sigma_glob_match(const struct sigma_glob *g, const unsigned char *s, size_t n)
{
	size_t pi = 0, si = 0, star_pi = (size_t)-1, star_si = 0, w;

	if (g->mode != SIGMA_G_GLOB)
		return lit_match(g->mode, s, n, g->text, g->len, g->cased);
	while (si < n) {
		if (pi < g->len) {
			if (g->kind[pi] == SIGMA_TOK_STAR) {
				star_pi = pi++;
				star_si = si;
				continue;
			}
			if ((w = tok_width(g, pi, s + si, n - si)) > 0) {
				pi++;
				si += w;
				continue;
			}
		}
		if (star_pi == (size_t)-1)
			return false;
		pi = star_pi + 1;
		star_si += utf8_width(s + star_si, n - star_si);
		si = star_si;
	}
	while (pi < g->len && g->kind[pi] == SIGMA_TOK_STAR)
		pi++;
	return pi == g->len;
}

/*
 * A field value read as an address once, for every |cidr range of an
 * item: af 0 when it is no address; AF_INET from IPv4 text, AF_INET6
 * from IPv6 text (an IPv4-mapped one also matches IPv4 ranges).
 */
struct cidr_addr {
	int af;
	uint8_t a[16];
};

static void
cidr_parse(struct cidr_addr *ca, const unsigned char *s, size_t n)
{
	char buf[64];

	ca->af = 0;
	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return;
	if (memchr(s, ':', n) == NULL) {
		/* decode_ipv4 reads exactly what inet_pton(AF_INET) does, without the copy. */
		if (decode_ipv4((const char *)s, n, ca->a))
			ca->af = AF_INET;
		return;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, ca->a) == 1)
		ca->af = AF_INET6;
}

static bool
cidr_in(const struct sigma_val *v, const struct cidr_addr *ca)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a = ca->a;
	unsigned full, rest;

	if (ca->af == 0)
		return false;
	if (ca->af == AF_INET) {
		if (v->u.cidr.af != AF_INET)
			return false;
	} else if (v->u.cidr.af == AF_INET) {
		/* An IPv4-mapped address is the IPv4 address for v4 ranges. */
		if (memcmp(a, mapped, sizeof(mapped)) != 0)
			return false;
		a += 12;
	}
	full = v->u.cidr.prefix / 8;
	rest = v->u.cidr.prefix % 8;
	if (memcmp(a, v->u.cidr.addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ v->u.cidr.addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static bool
cidr_match(const struct sigma_val *v, const unsigned char *s, size_t n)
{
	struct cidr_addr ca;

	cidr_parse(&ca, s, n);
	return cidr_in(v, &ca);
}

/*
 * True when some literal of x equals s (ASCII case-insensitively unless
 * cased): only the literals of s's length bucket are compared.
 */
static bool
exact_match(const struct sigma_exact *x, const unsigned char *s, size_t n)
{
	size_t k = n < SIGMA_EXACT_LENS - 1 ? n : SIGMA_EXACT_LENS - 1;

	if (!(x->lens & (UINT64_C(1) << k)))
		return false;
	for (size_t i = x->start[k], e = x->start[k + 1]; i < e; i++)
		if (x->lits[i].len == n && eq_bytes(s, x->lits[i].p, n, x->cased))
			return true;
	return false;
}

int
sigma_num_parse(const unsigned char *s, size_t n, struct sigma_num *out)
{
	char buf[64];
	char *end = NULL;
	size_t i = 0, digits = 0;
	bool isint = true;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.') {
		isint = false;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	}
	if (digits == 0)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;

		isint = false;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			ed++;
		if (ed == 0)
			return -1;
	}
	if (i != n)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	out->v = strtod(buf, &end);
	if (end != buf + n || !isfinite(out->v))
		return -1;
	out->isint = false;
	out->big = 0;
	if (isint) {
		long long ll;

		errno = 0;
		ll = strtoll(buf, &end, 10);
		if (errno == 0 && end == buf + n) {
			out->i = ll;
			out->isint = true;
		} else if (errno == ERANGE) {
			/* past 64 bits: as a double it could equal INT64_MAX (2^63) */
			out->big = ll > 0 ? 1 : -1;
		}
	}
	return 0;
}

static bool
num_match(const struct sigma_val *v, const unsigned char *s, size_t n)
{
	struct sigma_num x;
	int c;

	if (sigma_num_parse(s, n, &x) < 0)
		return false;
	/* Both integers: exact (doubles lose integers past 2^53). */
	if (x.isint && v->u.num.isint)
		c = (x.i > v->u.num.i) - (x.i < v->u.num.i);
	/* An integer past 64 bits is beyond every one that fits. */
	else if (x.big != 0 && v->u.num.isint)
		c = x.big;
	else if (x.isint && v->u.num.big != 0)
		c = -v->u.num.big;
	else
		c = (x.v > v->u.num.v) - (x.v < v->u.num.v);
	switch (v->u.num.op) {
	case SIGMA_NUM_LT: return c < 0;
	case SIGMA_NUM_LTE: return c <= 0;
	case SIGMA_NUM_GT: return c > 0;
	case SIGMA_NUM_GTE: return c >= 0;
	}
	return false;
}

static const struct ms_str *
field_get(const struct sigma_event *ev, const char *name)
{
	return ev->d != NULL ? decode_field_get(ev->d, name) : NULL;
}

/*
 * What one evaluation carries: the rule, the event and, when usable, its
 * field map; and search results memoised as bits (known, true), so a
 * search referenced twice ("selection and not (selection and filter)") is
 * evaluated once.
 */
struct mx {
	const struct sigma_rule *r;
	const struct sigma_event *ev;
	struct sigma_fieldmap *fm;	/* NULL: look names up per item */
	uint64_t known[2], truth[2];
};

_Static_assert(SIGMA_MAX_SEARCHES <= 128, "memo bits");

/*
 * False when PCRE2's own analysis rules a match out: no byte a match can
 * start with at a position where enough bytes remain (minlen), or no
 * required code unit.
 */
static bool
re_gate(const struct sigma_val *v, const unsigned char *s, size_t n)
{
	size_t span = n - v->u.re.minlen + 1;	/* start positions; n >= minlen */

	if (v->u.re.nreq > 0 && memchr(s, v->u.re.req[0], n) == NULL &&
	    (v->u.re.nreq == 1 || memchr(s, v->u.re.req[1], n) == NULL))
		return false;
	if (v->u.re.nfirst > 0) {
		for (unsigned k = 0; k < v->u.re.nfirst; k++)
			if (memchr(s, v->u.re.first[k], span) != NULL)
				return true;
		return false;
	}
	if (v->u.re.firstmap != NULL) {
		const uint8_t *bm = v->u.re.firstmap;
		for (size_t i = 0; i < span; i++)
			if (bm[s[i] >> 3] & (1u << (s[i] & 7)))
				return true;
		return false;
	}
	return true;
}

static bool
re_match(const struct mx *x, const struct sigma_val *v, const unsigned char *s, size_t n)
{
	if (n < v->u.re.minlen || !re_gate(v, s, n))
		return false;
	/* A regex over its backtracking budget counts as no match. */
	if (v->u.re.jit)
		return pcre2_jit_match(v->u.re.code, s, n, 0, 0, v->u.re.md, x->r->mctx) >= 0;
	return pcre2_match(v->u.re.code, s, n, 0, 0, v->u.re.md, x->r->mctx) >= 0;
}

static bool
val_match(const struct mx *x, const struct sigma_val *v, const struct ms_str *fv)
{
	const unsigned char *s;
	const struct ms_str *other;

	if (v->kind == SIGMA_V_NULL)
		return fv == NULL || fv->len == 0;
	if (v->kind == SIGMA_V_EXISTS)
		return (fv != NULL) == v->u.exists;
	if (fv == NULL)
		return false;
	s = fv->p != NULL ? (const unsigned char *)fv->p : empty_str;
	switch (v->kind) {
	case SIGMA_V_GLOB:
		/* Exact values directly: the most common kind. */
		if (v->u.g.mode == SIGMA_G_EXACT)
			return (fv->p != NULL ? fv->len : 0) == v->u.g.len &&
			    eq_bytes(s, v->u.g.text, v->u.g.len, v->u.g.cased);
		return sigma_glob_match(&v->u.g, s, fv->p != NULL ? fv->len : 0);
	case SIGMA_V_RE:
		return re_match(x, v, s, fv->p != NULL ? fv->len : 0);
	case SIGMA_V_CIDR:
		return cidr_match(v, s, fv->len);
	case SIGMA_V_NUM:
		return num_match(v, s, fv->len);
	case SIGMA_V_FIELDREF:
		if ((other = field_get(x->ev, v->u.ref.field)) == NULL)
			return false;
		return lit_match(v->u.ref.mode, s, fv->p != NULL ? fv->len : 0,
		    other->p != NULL ? (const unsigned char *)other->p : empty_str,
		    other->p != NULL ? other->len : 0, v->u.ref.cased);
	case SIGMA_V_NULL:
	case SIGMA_V_EXISTS:
		break;
	}
	return false;
}

static bool
group_match(const struct mx *x, const struct sigma_group *g, const struct ms_str *fv)
{
	for (size_t i = 0; i < g->nalts; i++)
		if (val_match(x, &g->alts[i], fv))
			return true;
	return false;
}

/*
 * An item of |cidr ranges only: the value is read as an address once,
 * then compared with each range (val_match would parse it per range).
 * Out of line: most routes never run one, and item_eval stays smaller in
 * the instruction cache (callgrind: 180,000 fewer I1 misses per 100,000
 * events of the load generator's mix).
 */
__attribute__((noinline)) static bool
cidr_item_match(const struct sigma_item *it, const struct ms_str *fv)
{
	struct cidr_addr ca;

	/* A range never matches an absent field, and neq wants it present. */
	if (fv == NULL)
		return false;
	cidr_parse(&ca, fv->p != NULL ? (const unsigned char *)fv->p : empty_str, fv->len);
	for (size_t i = 0; i < it->ngroups; i++) {
		const struct sigma_group *g = &it->groups[i];
		bool m = false;

		for (size_t j = 0; j < g->nalts && !m; j++)
			m = cidr_in(&g->alts[j], &ca);
		if (it->neq) {
			if (m)
				return false;
			continue;
		}
		if (m && !it->all)
			return true;
		if (!m && it->all)
			return false;
	}
	return it->neq || it->all;
}

static bool
item_eval(const struct mx *x, const struct sigma_item *it)
{
	const struct ms_str *fv;

	if (it->field == NULL)
		fv = &x->ev->message;
	else if (x->fm != NULL)
		fv = sigma_fieldmap_get(x->fm, x->ev->d, it->fid);
	else
		fv = field_get(x->ev, it->field);
	if (fv != NULL && (fv->p != NULL ? fv->len : 0) < it->minlen)
		return false;
	if (it->multi != NULL) {
		bool any = fv != NULL && sigma_multi_match(it->multi, fv->p != NULL ?
		    (const unsigned char *)fv->p : empty_str, fv->p != NULL ? fv->len : 0);

		/* The values one pass does not hold (null sees an absent field too). */
		for (size_t i = 0; !any && it->multi_part && i < it->ngroups; i++)
			for (size_t j = 0; !any && j < it->groups[i].nalts; j++)
				any = !sigma_val_plain(&it->groups[i].alts[j]) &&
				    val_match(x, &it->groups[i].alts[j], fv);
		/* neq: the field is there and matches none of the values. */
		if (it->neq)
			return fv != NULL && !any;
		return any;
	}
	if (it->exact != NULL) {
		/* An exact value never matches an absent field; neq wants it present. */
		if (fv == NULL)
			return false;
		return exact_match(it->exact, fv->p != NULL ? (const unsigned char *)fv->p :
		    empty_str, fv->p != NULL ? fv->len : 0) != it->neq;
	}
	if (it->cidr)
		return cidr_item_match(it, fv);
	if (it->neq) {
		/* neq: the field is there and equals none of the values. */
		if (fv == NULL)
			return false;
		for (size_t i = 0; i < it->ngroups; i++)
			if (group_match(x, &it->groups[i], fv))
				return false;
		return true;
	}
	for (size_t i = 0; i < it->ngroups; i++) {
		bool m = group_match(x, &it->groups[i], fv);
		if (m && !it->all)
			return true;
		if (!m && it->all)
			return false;
	}
	return it->all;
}

/*
 * An item that occurs in several rules of the set (the firewall rules'
 * "protocol: tcp", their private-range filters) is evaluated once per
 * event: its result is kept in the map's memo slot for the event.
 */
static bool
item_match(const struct mx *x, const struct sigma_item *it)
{
	struct sigma_fieldmap_hot *h;
	bool m;

	if (it->sid == 0 || x->fm == NULL)
		return item_eval(x, it);
	h = (struct sigma_fieldmap_hot *)x->fm;
	if (h->sgen[it->sid - 1] == h->gen)
		return h->sval[it->sid - 1];
	m = item_eval(x, it);
	h->sgen[it->sid - 1] = h->gen;
	h->sval[it->sid - 1] = m;
	return m;
}

static bool
search_match(const struct mx *x, const struct sigma_search *s)
{
	for (size_t i = 0; i < s->nconjs; i++) {
		const struct sigma_conj *c = &s->conjs[i];
		size_t j;

		for (j = 0; j < c->nitems; j++)
			if (!item_match(x, &c->items[j]))
				break;
		if (j == c->nitems)
			return true;
	}
	return false;
}

static bool
cond_eval(struct mx *x, const struct sigma_cnode *n)
{
	switch (n->op) {
	case SIGMA_C_REF: {
		uint64_t bit = 1ull << (n->ref & 63);
		unsigned w = n->ref >> 6;
		if (!(x->known[w] & bit)) {
			x->known[w] |= bit;
			if (search_match(x, &x->r->searches[n->ref]))
				x->truth[w] |= bit;
		}
		return (x->truth[w] & bit) != 0;
	}
	case SIGMA_C_NOT:
		return !cond_eval(x, n->kids[0]);
	case SIGMA_C_AND:
		for (size_t i = 0; i < n->n; i++)
			if (!cond_eval(x, n->kids[i]))
				return false;
		return true;
	case SIGMA_C_OR:
		for (size_t i = 0; i < n->n; i++)
			if (cond_eval(x, n->kids[i]))
				return true;
		return false;
	}
	return false;
}

bool
sigma_rule_match_fm(const struct sigma_rule *r, const struct sigma_event *ev,
    struct sigma_fieldmap *fm)
{
	struct mx x;

	if (r == NULL || ev == NULL || r->cond == NULL)
		return false;
	x.r = r;
	x.ev = ev;
	/* Ids are only meaningful in the map the rule was bound to. */
	x.fm = fm != NULL && r->fm == fm && ev->d != NULL ? fm : NULL;
	/* "condition: selection", the most common: nothing to memoise. */
	if (r->cond->op == SIGMA_C_REF)
		return search_match(&x, &r->searches[r->cond->ref]);
	x.known[0] = x.known[1] = x.truth[0] = x.truth[1] = 0;
	return cond_eval(&x, r->cond);
}

/* True when ev matches r's detection; never allocates (see sigma.h). */
bool
sigma_rule_match(const struct sigma_rule *r, const struct sigma_event *ev)
{
	return sigma_rule_match_fm(r, ev, NULL);
}
