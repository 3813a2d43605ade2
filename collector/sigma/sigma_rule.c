/*
 * sigma_rule – parses one Sigma detection rule document into the compiled
 * form of sigma_internal.h: metadata, search identifiers, field items with
 * their modifier chains, and (through sigma_cond.c) the condition.
 *
 * Everything that can be decided at load time is decided here, so that
 * matching (sigma_match.c) never allocates: literals are unescaped and
 * lower-cased, windash/utf16/base64 variants are pre-computed, regexes are
 * compiled (PCRE2, with a JIT when available), CIDRs and numbers parsed.
 * Any construct this engine does not understand rejects the whole rule with
 * "file:line: reason" – a rule that silently matched less than its author
 * meant would be worse than no rule.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "sigma_internal.h"

/* --- arena ---------------------------------------------------------------- */

struct sigma_chunk {
	struct sigma_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

#define SIGMA_CHUNK_MIN 16384

void *
sigma_arena_alloc(struct sigma_arena *a, size_t n)
{
	struct sigma_chunk *c = a->head;
	size_t align = sizeof(max_align_t), need, size;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIGMA_MAX_RULE_BYTES)
		return NULL;
	need = (n + align - 1) / align * align;
	if (c == NULL || c->size - c->used < need) {
		size = need > SIGMA_CHUNK_MIN ? need : SIGMA_CHUNK_MIN;
		if (a->total + size > SIGMA_MAX_RULE_BYTES)
			return NULL;
		if ((c = calloc(1, sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		c->next = a->head;
		a->head = c;
		a->total += size;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	return p;
}

char *
sigma_arena_strndup(struct sigma_arena *a, const char *p, size_t len)
{
	char *s = sigma_arena_alloc(a, len + 1);

	if (s != NULL && len > 0)
		memcpy(s, p, len);
	return s;
}

void
sigma_arena_fini(struct sigma_arena *a)
{
	struct sigma_chunk *c = a->head, *next;

	while (c != NULL) {
		next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

/* --- parse context ------------------------------------------------------- */

/* A value being compiled: bytes with a token kind each. */
struct tval {
	size_t len;
	unsigned char b[SIGMA_MAX_PATTERN];
	uint8_t k[SIGMA_MAX_PATTERN];
};

enum xform {
	XF_WINDASH = 1,
	XF_UTF16LE,
	XF_UTF16BE,
	XF_UTF16,	/* with a byte-order mark, little endian (as Python's "utf-16") */
	XF_BASE64,
	XF_BASE64OFF,
};

/* The modifier chain of one key, checked for consistency. */
struct mods {
	enum sigma_gmode match;	/* EXACT unless contains/startswith/endswith */
	bool has_match;
	bool all, cased, neq, expand;
	bool re, re_i, re_m, re_s;
	bool cidr, num, exists, fieldref;
	enum sigma_numop numop;
	bool encoded;		/* base64/base64offset: exact bytes, case-sensitive */
	bool b64off;
	uint8_t xf[SIGMA_MAX_MODIFIERS];
	size_t nxf;
};

struct pctx {
	struct sigma_rule *r;
	const char *file;
	sigma_placeholder_fn ph;
	void *parg;
	char *err;
	size_t errsz;
	size_t nitems;
	size_t nvalues;
	struct tval *a, *b;	/* scratch, heap */
	char *exp;		/* |expand output, SIGMA_MAX_VALUE_LEN + 1 */
	const struct sigma_rule_filter *filters;	/* ANDed to the rule's condition */
	size_t nfilters;
};

static int fail_at(struct pctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "file:line: reason" into the caller's buffer; always returns -1. */
static int
fail_at(struct pctx *c, int line, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->errsz > 0)
		snprintf(c->err, c->errsz, "%s:%d: %s", c->file, line, why);
	return -1;
}

static int
oom(struct pctx *c, int line)
{
	return fail_at(c, line, "rule too large (memory cap %u bytes)", SIGMA_MAX_RULE_BYTES);
}

/* Prints at most 60 bytes of untrusted text into messages, control bytes as '?'. */
static const char *
shown(const char *s, char *buf, size_t bufsz)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < bufsz && i < 60; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* --- metadata ------------------------------------------------------------ */

static int
meta_str(struct pctx *c, const struct ms_yaml_node *doc, const char *key, bool required,
    const char **out)
{
	const struct ms_yaml_node *n = ms_yaml_get(doc, key);

	*out = "";
	if (n == NULL || ms_yaml_is_null(n)) {
		if (required)
			return fail_at(c, doc->line, "missing %s", key);
		return 0;
	}
	if (n->type != MS_YAML_SCALAR)
		return fail_at(c, n->line, "%s must be a string, not a %s", key,
		    ms_yaml_type_name(n->type));
	if (n->len > SIGMA_MAX_META_LEN)
		return fail_at(c, n->line, "%s longer than %d bytes", key, SIGMA_MAX_META_LEN);
	if (memchr(n->str, '\0', n->len) != NULL)
		return fail_at(c, n->line, "%s contains a NUL byte", key);
	if (required && n->len == 0)
		return fail_at(c, n->line, "empty %s", key);
	if ((*out = sigma_arena_strndup(&c->r->arena, n->str, n->len)) == NULL)
		return oom(c, n->line);
	return 0;
}

static int
meta_list(struct pctx *c, const struct ms_yaml_node *doc, const char *key,
    const char ***out, size_t *nout)
{
	const struct ms_yaml_node *n = ms_yaml_get(doc, key);
	const char **v;

	*out = NULL;
	*nout = 0;
	if (n == NULL || ms_yaml_is_null(n))
		return 0;
	if (n->type != MS_YAML_SEQ)
		return fail_at(c, n->line, "%s must be a list", key);
	if (n->n > SIGMA_MAX_META)
		return fail_at(c, n->line, "more than %d %s", SIGMA_MAX_META, key);
	if ((v = sigma_arena_alloc(&c->r->arena, (n->n + 1) * sizeof(*v))) == NULL)
		return oom(c, n->line);
	for (size_t i = 0; i < n->n; i++) {
		const struct ms_yaml_node *it = n->items[i];
		if (it->type != MS_YAML_SCALAR || it->len > SIGMA_MAX_META_LEN ||
		    memchr(it->str, '\0', it->len) != NULL)
			return fail_at(c, it->line, "%s entries must be short strings", key);
		if ((v[i] = sigma_arena_strndup(&c->r->arena, it->str, it->len)) == NULL)
			return oom(c, it->line);
	}
	*out = v;
	*nout = n->n;
	return 0;
}

static bool
one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static int
parse_meta(struct pctx *c, const struct ms_yaml_node *doc)
{
	static const char *const levels[] = { "informational", "low", "medium", "high",
	    "critical", NULL };
	static const char *const statuses[] = { "stable", "test", "experimental",
	    "deprecated", "unsupported", NULL };
	struct sigma_rule *r = c->r;
	const struct ms_yaml_node *ls;

	if (meta_str(c, doc, "title", true, &r->title) < 0 ||
	    meta_str(c, doc, "id", false, &r->id) < 0 ||
	    meta_str(c, doc, "name", false, &r->name) < 0 ||
	    meta_str(c, doc, "status", false, &r->status) < 0 ||
	    meta_str(c, doc, "level", false, &r->level) < 0 ||
	    meta_list(c, doc, "tags", &r->tags, &r->ntags) < 0 ||
	    meta_list(c, doc, "fields", &r->fields, &r->nfields) < 0)
		return -1;
	if (r->level[0] != '\0' && !one_of(r->level, levels))
		return fail_at(c, ms_yaml_get(doc, "level")->line,
		    "unknown level '%s' (informational, low, medium, high, critical)", r->level);
	if (r->status[0] != '\0' && !one_of(r->status, statuses))
		return fail_at(c, ms_yaml_get(doc, "status")->line,
		    "unknown status '%s' (stable, test, experimental, deprecated, unsupported)",
		    r->status);
	r->product = r->service = r->category = "";
	ls = ms_yaml_get(doc, "logsource");
	if (ls == NULL)
		return fail_at(c, doc->line, "missing logsource");
	if (ls->type != MS_YAML_MAP)
		return fail_at(c, ls->line, "logsource must be a map");
	if (meta_str(c, ls, "product", false, &r->product) < 0 ||
	    meta_str(c, ls, "service", false, &r->service) < 0 ||
	    meta_str(c, ls, "category", false, &r->category) < 0)
		return -1;
	return 0;
}

/* --- modifiers ----------------------------------------------------------- */

enum mod_id {
	M_CONTAINS, M_STARTSWITH, M_ENDSWITH, M_ALL, M_RE, M_I, M_M, M_S, M_CIDR,
	M_BASE64, M_BASE64OFF, M_UTF16LE, M_UTF16BE, M_UTF16, M_WIDE, M_WINDASH,
	M_LT, M_LTE, M_GT, M_GTE, M_EXISTS, M_CASED, M_NEQ, M_EXPAND, M_FIELDREF,
};

static const struct {
	const char *name;
	enum mod_id id;
} mod_table[] = {
	{ "contains", M_CONTAINS }, { "startswith", M_STARTSWITH },
	{ "endswith", M_ENDSWITH }, { "all", M_ALL }, { "re", M_RE },
	{ "i", M_I }, { "ignorecase", M_I }, { "m", M_M }, { "multiline", M_M },
	{ "s", M_S }, { "dotall", M_S }, { "cidr", M_CIDR }, { "base64", M_BASE64 },
	{ "base64offset", M_BASE64OFF }, { "utf16le", M_UTF16LE },
	{ "utf16be", M_UTF16BE }, { "utf16", M_UTF16 }, { "wide", M_WIDE },
	{ "windash", M_WINDASH }, { "lt", M_LT }, { "lte", M_LTE }, { "gt", M_GT },
	{ "gte", M_GTE }, { "exists", M_EXISTS }, { "cased", M_CASED },
	{ "neq", M_NEQ }, { "expand", M_EXPAND }, { "fieldref", M_FIELDREF },
};

static int
add_xf(struct pctx *c, struct mods *m, enum xform x, int line)
{
	if (m->nxf >= SIGMA_MAX_MODIFIERS)
		return fail_at(c, line, "too many modifiers");
	for (size_t i = 0; i < m->nxf; i++)
		if (m->xf[i] == x)
			return fail_at(c, line, "modifier repeated");
	m->xf[m->nxf++] = (uint8_t)x;
	return 0;
}

static int
set_match(struct pctx *c, struct mods *m, enum sigma_gmode g, const char *name, int line)
{
	if (m->has_match && m->match != g)
		return fail_at(c, line, "modifier '%s' conflicts with an earlier "
		    "contains/startswith/endswith", name);
	m->has_match = true;
	m->match = g;
	return 0;
}

/*
 * Splits "field|mod|mod" into the field (copied into field, fieldsz) and
 * checked modifiers. Returns 0 or -1 with the message set.
 */
static int
parse_key(struct pctx *c, const char *key, int line, char *field, size_t fieldsz,
    struct mods *m)
{
	const char *bar = strchr(key, '|'), *p;
	size_t flen = bar != NULL ? (size_t)(bar - key) : strlen(key), nmods = 0;
	int kinds = 0;
	char sb[64];

	memset(m, 0, sizeof(*m));
	m->match = SIGMA_G_EXACT;
	if (flen >= fieldsz || flen > SIGMA_MAX_FIELD_LEN)
		return fail_at(c, line, "field name longer than %d bytes", SIGMA_MAX_FIELD_LEN);
	memcpy(field, key, flen);
	field[flen] = '\0';
	for (p = bar; p != NULL; ) {
		const char *name = p + 1, *end = strchr(name, '|');
		size_t nlen = end != NULL ? (size_t)(end - name) : strlen(name);
		char mod[32];
		size_t i;

		p = end;
		if (nlen == 0)
			return fail_at(c, line, "empty modifier in '%s'", shown(key, sb, sizeof(sb)));
		if (++nmods > SIGMA_MAX_MODIFIERS)
			return fail_at(c, line, "more than %d modifiers", SIGMA_MAX_MODIFIERS);
		ms_copy(mod, sizeof(mod), name, nlen);
		for (i = 0; i < MS_ARRAY_LEN(mod_table); i++)
			if (nlen < sizeof(mod) && strcmp(mod_table[i].name, mod) == 0)
				break;
		if (i == MS_ARRAY_LEN(mod_table))
			return fail_at(c, line, "unknown modifier '%s'", shown(mod, sb, sizeof(sb)));
		switch (mod_table[i].id) {
		case M_CONTAINS:
			if (set_match(c, m, SIGMA_G_CONTAINS, mod, line) < 0)
				return -1;
			break;
		case M_STARTSWITH:
			if (set_match(c, m, SIGMA_G_PREFIX, mod, line) < 0)
				return -1;
			break;
		case M_ENDSWITH:
			if (set_match(c, m, SIGMA_G_SUFFIX, mod, line) < 0)
				return -1;
			break;
		case M_ALL: m->all = true; break;
		case M_RE: m->re = true; break;
		case M_I: case M_M: case M_S:
			if (!m->re)
				return fail_at(c, line, "modifier '%s' only applies after 're'", mod);
			if (mod_table[i].id == M_I)
				m->re_i = true;
			else if (mod_table[i].id == M_M)
				m->re_m = true;
			else
				m->re_s = true;
			break;
		case M_CIDR: m->cidr = true; break;
		case M_BASE64:
			if (add_xf(c, m, XF_BASE64, line) < 0)
				return -1;
			m->encoded = true;
			break;
		case M_BASE64OFF:
			if (add_xf(c, m, XF_BASE64OFF, line) < 0)
				return -1;
			m->encoded = m->b64off = true;
			break;
		case M_UTF16LE: case M_WIDE:
			if (add_xf(c, m, XF_UTF16LE, line) < 0)
				return -1;
			break;
		case M_UTF16BE:
			if (add_xf(c, m, XF_UTF16BE, line) < 0)
				return -1;
			break;
		case M_UTF16:
			if (add_xf(c, m, XF_UTF16, line) < 0)
				return -1;
			break;
		case M_WINDASH:
			if (add_xf(c, m, XF_WINDASH, line) < 0)
				return -1;
			break;
		case M_LT: case M_LTE: case M_GT: case M_GTE:
			if (m->num)
				return fail_at(c, line, "more than one of lt/lte/gt/gte");
			m->num = true;
			m->numop = mod_table[i].id == M_LT ? SIGMA_NUM_LT :
			    mod_table[i].id == M_LTE ? SIGMA_NUM_LTE :
			    mod_table[i].id == M_GT ? SIGMA_NUM_GT : SIGMA_NUM_GTE;
			break;
		case M_EXISTS: m->exists = true; break;
		case M_CASED: m->cased = true; break;
		case M_NEQ: m->neq = true; break;
		case M_EXPAND:
			if (nmods != 1)
				return fail_at(c, line, "'expand' must be the first modifier");
			m->expand = true;
			break;
		case M_FIELDREF: m->fieldref = true; break;
		}
	}

	/* The value kinds exclude one another and most transformations. */
	kinds = m->re + m->cidr + m->num + m->exists + m->fieldref;
	if (kinds > 1)
		return fail_at(c, line, "modifiers re, cidr, lt/lte/gt/gte, exists and fieldref "
		    "cannot be combined");
	if (kinds == 1 && m->nxf > 0)
		return fail_at(c, line, "re, cidr, lt/lte/gt/gte, exists and fieldref cannot be "
		    "combined with windash, utf16, wide or base64");
	if ((m->re || m->cidr || m->num || m->exists) && m->has_match)
		return fail_at(c, line, "re, cidr, lt/lte/gt/gte and exists cannot be combined "
		    "with contains, startswith or endswith");
	if (m->exists && (m->all || m->neq || m->expand || m->cased))
		return fail_at(c, line, "exists takes no other modifier");
	if (m->expand && (m->re || m->cidr || m->num || m->fieldref))
		return fail_at(c, line, "expand only applies to string values");
	for (size_t i = 0; i < m->nxf; i++) {
		if (m->xf[i] == XF_WINDASH)
			for (size_t j = i + 1; j < m->nxf; j++)
				if (m->xf[j] != XF_WINDASH)
					return fail_at(c, line, "windash cannot be followed by "
					    "utf16, wide or base64");
		if (m->xf[i] == XF_BASE64 || m->xf[i] == XF_BASE64OFF)
			for (size_t j = i + 1; j < m->nxf; j++)
				return fail_at(c, line, "base64/base64offset must be the last "
				    "encoding modifier");
	}
	return 0;
}

/* --- value transformations ---------------------------------------------- */

static bool
is_word(unsigned char ch)
{
	/* Python's \w on str: ASCII alnum, '_' and (approximately) all non-ASCII. */
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || ch == '_' || ch >= 0x80;
}

/* Sigma escapes: \* \? \\ are literal; any other backslash is itself. */
static void
tokenize(struct tval *t, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		uint8_t k = SIGMA_TOK_LIT;

		if (ch == '\\' && i + 1 < len && (s[i + 1] == '*' || s[i + 1] == '?' ||
		    s[i + 1] == '\\'))
			ch = (unsigned char)s[++i];
		else if (ch == '*')
			k = SIGMA_TOK_STAR;
		else if (ch == '?')
			k = SIGMA_TOK_ONE;
		t->b[o] = ch;
		t->k[o] = k;
		o++;
	}
	t->len = o;
}

/*
 * windash: a '-' or '/' that starts an option – not preceded by a word
 * character, followed by one – also matches '/', '-' and the dashes
 * U+2013, U+2014, U+2015 (how command lines get mangled by word processors).
 */
static void
xf_windash(struct tval *t)
{
	for (size_t i = 0; i < t->len; i++) {
		if (t->k[i] != SIGMA_TOK_LIT || (t->b[i] != '-' && t->b[i] != '/'))
			continue;
		if (i > 0 && t->k[i - 1] == SIGMA_TOK_LIT && is_word(t->b[i - 1]))
			continue;
		if (i + 1 >= t->len || t->k[i + 1] != SIGMA_TOK_LIT || !is_word(t->b[i + 1]))
			continue;
		t->k[i] = SIGMA_TOK_DASH;
	}
}

static int
put(struct tval *o, unsigned char b, uint8_t k)
{
	if (o->len >= SIGMA_MAX_PATTERN)
		return -1;
	o->b[o->len] = b;
	o->k[o->len] = k;
	o->len++;
	return 0;
}

/* Decodes one UTF-8 code point of literal bytes at i; invalid bytes are Latin-1. */
static uint32_t
utf8_next(const struct tval *t, size_t *i)
{
	const unsigned char *s = t->b + *i;
	size_t left = t->len - *i, n = 0;
	uint32_t cp = s[0], min = 0;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 1; cp = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 2; cp = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 3; cp = s[0] & 0x07; min = 0x10000;
	}
	if (n == 0 || n >= left)
		goto latin1;
	for (size_t j = 1; j <= n; j++) {
		if (t->k[*i + j] != SIGMA_TOK_LIT || (s[j] & 0xc0) != 0x80)
			goto latin1;
		cp = (cp << 6) | (s[j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto latin1;
	*i += n + 1;
	return cp;
latin1:
	*i += 1;
	return s[0];
}

static int
put16(struct tval *o, uint16_t u, bool be)
{
	if (be)
		return put(o, (unsigned char)(u >> 8), SIGMA_TOK_LIT) < 0 ||
		    put(o, (unsigned char)u, SIGMA_TOK_LIT) < 0 ? -1 : 0;
	return put(o, (unsigned char)u, SIGMA_TOK_LIT) < 0 ||
	    put(o, (unsigned char)(u >> 8), SIGMA_TOK_LIT) < 0 ? -1 : 0;
}

/* UTF-8 literals → UTF-16; wildcards stay single tokens. */
static int
xf_utf16(const struct tval *in, struct tval *o, bool be, bool bom)
{
	size_t i = 0;

	o->len = 0;
	if (bom && put16(o, 0xfeff, be) < 0)
		return -1;
	while (i < in->len) {
		uint32_t cp;

		if (in->k[i] != SIGMA_TOK_LIT) {
			if (put(o, in->b[i], in->k[i]) < 0)
				return -1;
			i++;
			continue;
		}
		cp = utf8_next(in, &i);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (put16(o, (uint16_t)(0xd800 | (cp >> 10)), be) < 0 ||
			    put16(o, (uint16_t)(0xdc00 | (cp & 0x3ff)), be) < 0)
				return -1;
		} else if (put16(o, (uint16_t)cp, be) < 0) {
			return -1;
		}
	}
	return 0;
}

/*
 * base64 of the literal bytes. With offset 0..2 (base64offset), the value is
 * shifted by that many bytes inside a larger base64 stream: encode it behind
 * `offset` filler bytes and keep only the characters that do not depend on
 * the unknown neighbours (the Sigma spec's three variants).
 */
static int
xf_base64(const struct tval *in, struct tval *o, int offset)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const size_t start[3] = { 0, 2, 3 }, cut[3] = { 0, 3, 2 };
	size_t n = in->len + (size_t)(offset < 0 ? 0 : offset), enc, from, to;

	o->len = 0;
	enc = (n + 2) / 3 * 4;
	if (enc > SIGMA_MAX_PATTERN)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = 0;
		size_t take = n - i < 3 ? n - i : 3;
		for (size_t j = 0; j < 3; j++) {
			size_t at = i + j;
			unsigned char byte = 0;
			if (j < take)
				byte = offset > 0 && at < (size_t)offset ? ' ' :
				    in->b[at - (offset > 0 ? (size_t)offset : 0)];
			v = (v << 8) | byte;
		}
		o->b[o->len++] = (unsigned char)tab[(v >> 18) & 63];
		o->b[o->len++] = (unsigned char)tab[(v >> 12) & 63];
		o->b[o->len++] = take > 1 ? (unsigned char)tab[(v >> 6) & 63] : '=';
		o->b[o->len++] = take > 2 ? (unsigned char)tab[v & 63] : '=';
	}
	memset(o->k, SIGMA_TOK_LIT, o->len);
	if (offset < 0)
		return 0;
	from = start[offset];
	to = o->len >= cut[(in->len + (size_t)offset) % 3] ?
	    o->len - cut[(in->len + (size_t)offset) % 3] : 0;
	if (to <= from) {
		o->len = 0;
		return 0;
	}
	memmove(o->b, o->b + from, to - from);
	o->len = to - from;
	return 0;
}

static void
swap(struct pctx *c)
{
	struct tval *t = c->a;

	c->a = c->b;
	c->b = t;
}

/*
 * Compiles one string value (after expand) into a glob alternative: escapes,
 * transformations in modifier order, case folding, then the match mode.
 */
static int
compile_glob(struct pctx *c, const struct mods *m, bool keyword, const char *s, size_t len,
    int variant, int line, struct sigma_val *v)
{
	struct tval *t;
	size_t lead = 0, trail = 0, core, i;
	bool wild = false, lead_star, trail_star;
	enum sigma_gmode match = m->has_match ? m->match :
	    keyword ? SIGMA_G_CONTAINS : SIGMA_G_EXACT;
	unsigned char *text;
	uint8_t *kind;

	if (len > SIGMA_MAX_VALUE_LEN)
		return fail_at(c, line, "value longer than %d bytes", SIGMA_MAX_VALUE_LEN);
	tokenize(c->a, s, len);
	for (i = 0; i < m->nxf; i++) {
		t = c->a;
		switch ((enum xform)m->xf[i]) {
		case XF_WINDASH:
			xf_windash(t);
			break;
		case XF_UTF16LE: case XF_UTF16BE: case XF_UTF16:
			if (xf_utf16(t, c->b, m->xf[i] == XF_UTF16BE, m->xf[i] == XF_UTF16) < 0)
				return fail_at(c, line, "value too long after utf16");
			swap(c);
			break;
		case XF_BASE64: case XF_BASE64OFF:
			for (size_t j = 0; j < t->len; j++)
				if (t->k[j] != SIGMA_TOK_LIT)
					return fail_at(c, line, "base64 of a value with "
					    "wildcards (escape them with \\)");
			if (xf_base64(t, c->b, m->xf[i] == XF_BASE64 ? -1 : variant) < 0)
				return fail_at(c, line, "value too long after base64");
			swap(c);
			break;
		}
	}
	t = c->a;
	/* base64 output is case-sensitive by nature: folding it would be wrong. */
	v->kind = SIGMA_V_GLOB;
	v->u.g.cased = m->cased || m->encoded;
	if (!v->u.g.cased)
		for (i = 0; i < t->len; i++)
			if (t->k[i] == SIGMA_TOK_LIT)
				t->b[i] = sigma_lower[t->b[i]];

	while (lead < t->len && t->k[lead] == SIGMA_TOK_STAR)
		lead++;
	while (trail < t->len - lead && t->k[t->len - 1 - trail] == SIGMA_TOK_STAR)
		trail++;
	core = t->len - lead - trail;
	for (i = lead; i < lead + core; i++)
		if (t->k[i] != SIGMA_TOK_LIT)
			wild = true;
	lead_star = lead > 0 || match == SIGMA_G_CONTAINS || match == SIGMA_G_SUFFIX;
	trail_star = trail > 0 || match == SIGMA_G_CONTAINS || match == SIGMA_G_PREFIX;
	if (core == 0 && (lead_star || trail_star))
		lead_star = trail_star = true;	/* "*": anything, even empty */

	if (!wild) {
		v->u.g.mode = lead_star && trail_star ? SIGMA_G_CONTAINS :
		    lead_star ? SIGMA_G_SUFFIX : trail_star ? SIGMA_G_PREFIX : SIGMA_G_EXACT;
		if ((text = sigma_arena_alloc(&c->r->arena, core + 1)) == NULL)
			return oom(c, line);
		if (core > 0)
			memcpy(text, t->b + lead, core);
		v->u.g.text = text;
		v->u.g.kind = NULL;
		v->u.g.len = core;
		return 0;
	}
	/* General glob: one star on each open side, the core in between. */
	{
		size_t n = core + lead_star + trail_star, o = 0;

		text = sigma_arena_alloc(&c->r->arena, n + 1);
		kind = sigma_arena_alloc(&c->r->arena, n + 1);
		if (text == NULL || kind == NULL)
			return oom(c, line);
		if (lead_star) {
			text[o] = '*';
			kind[o++] = SIGMA_TOK_STAR;
		}
		memcpy(text + o, t->b + lead, core);
		memcpy(kind + o, t->k + lead, core);
		o += core;
		if (trail_star) {
			text[o] = '*';
			kind[o++] = SIGMA_TOK_STAR;
		}
		v->u.g.mode = SIGMA_G_GLOB;
		v->u.g.text = text;
		v->u.g.kind = kind;
		v->u.g.len = n;
	}
	return 0;
}

/* --- other value kinds --------------------------------------------------- */

/* ch and, for an ASCII letter, its other case: PCRE2 does not say whether a unit is caseless. */
static uint8_t
both_cases(uint32_t ch, unsigned char *out)
{
	out[0] = (unsigned char)ch;
	if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') {
		out[1] = (unsigned char)(ch ^ 0x20);
		return 2;
	}
	return 1;
}

/*
 * The checks of re_gate (sigma_internal.h) from what pcre2_compile found:
 * the first code unit or the start bitmap, and the last required code
 * unit. A start bitmap is kept only when it is small and holds no letter
 * or digit (those are in most values: the check would mostly pass and
 * cost more than it saves); letters of a first unit count in both cases.
 */
static void
re_gate(struct sigma_arena *a, struct sigma_val *v)
{
	uint32_t type = 0, unit = 0;
	const uint8_t *bm = NULL;

	if (pcre2_pattern_info(v->u.re.code, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 && type == 1 &&
	    pcre2_pattern_info(v->u.re.code, PCRE2_INFO_FIRSTCODEUNIT, &unit) == 0 && unit < 256) {
		v->u.re.nfirst = both_cases(unit, v->u.re.first);
	} else if (type == 0 && pcre2_pattern_info(v->u.re.code, PCRE2_INFO_FIRSTBITMAP, &bm) == 0 &&
	    bm != NULL) {
		unsigned char set[3];
		size_t n = 0;
		bool alnum = false;
		for (unsigned ch = 0; ch < 256; ch++)
			if (bm[ch / 8] & (1u << (ch % 8))) {
				if (n < sizeof(set))
					set[n] = (unsigned char)ch;
				n++;
				alnum |= (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
			}
		if (n > 0 && n <= sizeof(set)) {
			memcpy(v->u.re.first, set, n);
			v->u.re.nfirst = (uint8_t)n;
		} else if (n > 0 && n <= 16 && !alnum) {
			uint8_t *copy = sigma_arena_alloc(a, 32);
			if (copy != NULL) {
				memcpy(copy, bm, 32);
				v->u.re.firstmap = copy;
			}
		}
	}
	if (pcre2_pattern_info(v->u.re.code, PCRE2_INFO_LASTCODETYPE, &type) == 0 && type == 1 &&
	    pcre2_pattern_info(v->u.re.code, PCRE2_INFO_LASTCODEUNIT, &unit) == 0 && unit < 256)
		v->u.re.nreq = both_cases(unit, v->u.re.req);
}

static int
compile_re(struct pctx *c, const struct mods *m, const struct ms_yaml_node *n,
    struct sigma_val *v)
{
	uint32_t opts = 0;
	int errcode = 0;
	PCRE2_SIZE erroff = 0;
	PCRE2_UCHAR msg[160];

	if (n->len > SIGMA_MAX_VALUE_LEN)
		return fail_at(c, n->line, "regular expression longer than %d bytes",
		    SIGMA_MAX_VALUE_LEN);
	if (m->re_i)
		opts |= PCRE2_CASELESS;
	if (m->re_m)
		opts |= PCRE2_MULTILINE;
	if (m->re_s)
		opts |= PCRE2_DOTALL;
	v->kind = SIGMA_V_RE;
	v->u.re.code = pcre2_compile((PCRE2_SPTR)n->str, n->len, opts, &errcode, &erroff, NULL);
	if (v->u.re.code == NULL) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return fail_at(c, n->line, "bad regular expression at offset %zu: %s",
		    (size_t)erroff, (const char *)msg);
	}
	/* Chain first, so the rule frees it whatever fails next. */
	v->u.re.next = c->r->re_head;
	c->r->re_head = v;
	/* The source, for the literal prefilter; without it the rule just always runs. */
	if ((v->u.re.src = sigma_arena_strndup(&c->r->arena, n->str, n->len)) != NULL)
		v->u.re.srclen = n->len;
	/*
	 * A lower bound on the characters of any match (bytes are at least as
	 * many), so a shorter value is a miss without a call into PCRE2
	 * ("^.{4096,}" on every URI). 0 when PCRE2 did not compute one.
	 */
	if (pcre2_pattern_info(v->u.re.code, PCRE2_INFO_MINLENGTH, &v->u.re.minlen) != 0)
		v->u.re.minlen = 0;
	/* JIT is an optimisation: without it (no executable memory) the interpreter runs. */
	if (pcre2_jit_compile(v->u.re.code, PCRE2_JIT_COMPLETE) == 0) {
		uint32_t all = 0;
		size_t jsz = 0;
		/*
		 * pcre2_jit_match skips pcre2_match's checks, the UTF validity
		 * check among them: only for patterns without UTF mode ((*UTF)).
		 */
		v->u.re.jit = pcre2_pattern_info(v->u.re.code, PCRE2_INFO_ALLOPTIONS, &all) == 0 &&
		    (all & PCRE2_UTF) == 0 &&
		    pcre2_pattern_info(v->u.re.code, PCRE2_INFO_JITSIZE, &jsz) == 0 && jsz > 0;
	}
	re_gate(&c->r->arena, v);
	if ((v->u.re.md = pcre2_match_data_create(1, NULL)) == NULL)
		return oom(c, n->line);
	if (c->r->mctx == NULL) {
		if ((c->r->mctx = pcre2_match_context_create(NULL)) == NULL)
			return oom(c, n->line);
		pcre2_set_match_limit(c->r->mctx, SIGMA_RE_MATCH_LIMIT);
		pcre2_set_depth_limit(c->r->mctx, SIGMA_RE_DEPTH_LIMIT);
	}
	return 0;
}

bool
sigma_re_jit_available(void)
{
	pcre2_code *code;
	PCRE2_SIZE off;
	int e;
	bool ok;

	if ((code = pcre2_compile((PCRE2_SPTR) "a+b", PCRE2_ZERO_TERMINATED, 0, &e, &off, NULL)) == NULL)
		return false;
	ok = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	pcre2_code_free(code);
	return ok;
}

static int
compile_cidr(struct pctx *c, const struct ms_yaml_node *n, struct sigma_val *v)
{
	char buf[64], sb[64];
	char *slash;
	int64_t prefix;
	unsigned maxp;

	if (n->len >= sizeof(buf) || memchr(n->str, '\0', n->len) != NULL)
		goto bad;
	ms_copy(buf, sizeof(buf), n->str, n->len);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	v->kind = SIGMA_V_CIDR;
	if (inet_pton(AF_INET, buf, v->u.cidr.addr) == 1) {
		v->u.cidr.af = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, v->u.cidr.addr) == 1) {
		v->u.cidr.af = AF_INET6;
		maxp = 128;
	} else {
		goto bad;
	}
	prefix = maxp;
	/* Digits only: strtoll's sign and blanks ("/+8", "/ 8") are no prefix length. */
	if (slash != NULL && (slash[0] < '0' || slash[0] > '9' || ms_parse_i64(slash, 0, maxp, &prefix) < 0))
		goto bad;
	v->u.cidr.prefix = (unsigned)prefix;
	for (unsigned bit = (unsigned)prefix; bit < maxp; bit++)
		v->u.cidr.addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
bad:
	return fail_at(c, n->line, "bad CIDR '%s'", shown(n->str, sb, sizeof(sb)));
}

static int
compile_fieldref(struct pctx *c, const struct mods *m, const struct ms_yaml_node *n,
    struct sigma_val *v)
{
	if (n->len == 0 || n->len > SIGMA_MAX_FIELD_LEN || memchr(n->str, '\0', n->len) != NULL)
		return fail_at(c, n->line, "fieldref needs a field name");
	v->kind = SIGMA_V_FIELDREF;
	v->u.ref.mode = m->has_match ? m->match : SIGMA_G_EXACT;
	v->u.ref.cased = m->cased;
	if ((v->u.ref.field = sigma_arena_strndup(&c->r->arena, n->str, n->len)) == NULL)
		return oom(c, n->line);
	return 0;
}

/* --- expand -------------------------------------------------------------- */

/*
 * Finds the next "%name%" from pos; returns its start or len when none.
 * "\%" is a plain percent sign (the spec's "\%plain%name%": "%plain" is
 * text, "%name%" a placeholder) and "\\" a plain backslash, so neither
 * begins or ends a placeholder.
 */
static size_t
next_placeholder(const char *s, size_t len, size_t pos, size_t *nlen)
{
	for (size_t i = pos; i < len; i++) {
		size_t j;
		if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '%' || s[i + 1] == '\\')) {
			i++;
			continue;
		}
		if (s[i] != '%')
			continue;
		for (j = i + 1; j < len && s[j] != '%'; j++) {
			char ch = s[j];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
				break;
		}
		if (j < len && s[j] == '%' && j > i + 1 && j - i - 1 <= 64) {
			*nlen = j - i - 1;
			return i;
		}
	}
	return len;
}

static const struct ms_yaml_node *
lookup_placeholder(struct pctx *c, const char *s, size_t nlen, int line)
{
	char name[80], sb[80];
	const struct ms_yaml_node *n;

	ms_copy(name, sizeof(name), s, nlen);
	if (c->ph == NULL || (n = c->ph(name, c->parg)) == NULL) {
		fail_at(c, line, "unknown placeholder %%%s%% for expand", shown(name, sb, sizeof(sb)));
		return NULL;
	}
	if (n->type == MS_YAML_SCALAR)
		return n;
	if (n->type != MS_YAML_SEQ || n->n == 0) {
		fail_at(c, line, "placeholder %%%s%% must be a string or a list of strings",
		    shown(name, sb, sizeof(sb)));
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++)
		if (n->items[i]->type != MS_YAML_SCALAR) {
			fail_at(c, line, "placeholder %%%s%% must be a list of strings",
			    shown(name, sb, sizeof(sb)));
			return NULL;
		}
	return n;
}

/* How many values s expands to (bounded), or 0 with the error set. */
static size_t
expand_count(struct pctx *c, const char *s, size_t len, int line)
{
	size_t count = 1, pos = 0, nlen = 0, at;

	while ((at = next_placeholder(s, len, pos, &nlen)) < len) {
		const struct ms_yaml_node *n = lookup_placeholder(c, s + at + 1, nlen, line);
		size_t k;
		if (n == NULL)
			return 0;
		k = n->type == MS_YAML_SEQ ? n->n : 1;
		if (count * k > SIGMA_MAX_EXPAND) {
			fail_at(c, line, "expand yields more than %d values", SIGMA_MAX_EXPAND);
			return 0;
		}
		count *= k;
		pos = at + nlen + 2;
	}
	return count;
}

struct expand_out {
	const struct mods *m;
	bool keyword;
	int line;
	struct sigma_val *alts;
	size_t nalts;
	size_t cap;
};

static int
emit_candidate(struct pctx *c, struct expand_out *eo, const char *s, size_t len)
{
	int nvar = eo->m->b64off ? 3 : 1;

	for (int var = 0; var < nvar; var++) {
		if (eo->nalts >= eo->cap)
			return fail_at(c, eo->line, "internal: expand count mismatch");
		if (compile_glob(c, eo->m, eo->keyword, s, len, var, eo->line,
		    &eo->alts[eo->nalts]) < 0)
			return -1;
		eo->nalts++;
	}
	return 0;
}

/*
 * Copies the text between placeholders: "\%" becomes "%", everything else
 * ("\\" included, which the glob reads later) stays. Returns the bytes
 * written (at most n).
 */
static size_t
copy_text(char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
			dst[o++] = s[i++];
			dst[o++] = s[i];
			continue;
		}
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '%')
			i++;
		dst[o++] = s[i];
	}
	return o;
}

/* Writes every expansion of s[pos..] behind c->exp[0..olen) and compiles it. */
static int
expand_rec(struct pctx *c, struct expand_out *eo, const char *s, size_t len, size_t pos,
    size_t olen, int depth)
{
	size_t nlen = 0, at = next_placeholder(s, len, pos, &nlen);
	const struct ms_yaml_node *n;
	size_t k;

	if (depth > SIGMA_MAX_VALUE_LEN / 3)
		return fail_at(c, eo->line, "too many placeholders");
	if (at - pos > SIGMA_MAX_VALUE_LEN - olen)
		return fail_at(c, eo->line, "expanded value longer than %d bytes",
		    SIGMA_MAX_VALUE_LEN);
	olen += copy_text(c->exp + olen, s + pos, at - pos);
	if (at == len)
		return emit_candidate(c, eo, c->exp, olen);
	if ((n = lookup_placeholder(c, s + at + 1, nlen, eo->line)) == NULL)
		return -1;
	k = n->type == MS_YAML_SEQ ? n->n : 1;
	for (size_t i = 0; i < k; i++) {
		const struct ms_yaml_node *it = n->type == MS_YAML_SEQ ? n->items[i] : n;
		if (it->len > SIGMA_MAX_VALUE_LEN - olen)
			return fail_at(c, eo->line, "expanded value longer than %d bytes",
			    SIGMA_MAX_VALUE_LEN);
		memcpy(c->exp + olen, it->str, it->len);
		if (expand_rec(c, eo, s, len, at + nlen + 2, olen + it->len, depth + 1) < 0)
			return -1;
	}
	return 0;
}

/* --- items and searches -------------------------------------------------- */

static int
count_values(struct pctx *c, size_t n, int line)
{
	if (n > SIGMA_MAX_VALUES - c->nvalues)
		return fail_at(c, line, "more than %d values in the rule", SIGMA_MAX_VALUES);
	c->nvalues += n;
	return 0;
}

static int
compile_value(struct pctx *c, const struct mods *m, bool keyword,
    const struct ms_yaml_node *n, struct sigma_group *g)
{
	struct sigma_arena *a = &c->r->arena;
	char sb[64];

	if (n->type != MS_YAML_SCALAR)
		return fail_at(c, n->line, "a %s is not allowed as a value (only strings, "
		    "numbers, booleans, null)", ms_yaml_type_name(n->type));
	if (m->exists) {
		if (count_values(c, 1, n->line) < 0)
			return -1;
		if ((g->alts = sigma_arena_alloc(a, sizeof(*g->alts))) == NULL)
			return oom(c, n->line);
		g->nalts = 1;
		g->alts->kind = SIGMA_V_EXISTS;
		if (n->plain && strcasecmp(n->str, "true") == 0)
			g->alts->u.exists = true;
		else if (n->plain && strcasecmp(n->str, "false") == 0)
			g->alts->u.exists = false;
		else
			return fail_at(c, n->line, "exists takes true or false");
		return 0;
	}
	if (ms_yaml_is_null(n)) {
		if (keyword)
			return fail_at(c, n->line, "null is not a keyword");
		if (m->re || m->cidr || m->num || m->fieldref || m->has_match || m->nxf ||
		    m->expand || m->cased)
			return fail_at(c, n->line, "null cannot be combined with modifiers");
		if (count_values(c, 1, n->line) < 0)
			return -1;
		if ((g->alts = sigma_arena_alloc(a, sizeof(*g->alts))) == NULL)
			return oom(c, n->line);
		g->nalts = 1;
		g->alts->kind = SIGMA_V_NULL;
		return 0;
	}
	if (m->re || m->cidr || m->num || m->fieldref) {
		struct sigma_num num;

		if (count_values(c, 1, n->line) < 0)
			return -1;
		if ((g->alts = sigma_arena_alloc(a, sizeof(*g->alts))) == NULL)
			return oom(c, n->line);
		g->nalts = 1;
		if (m->re)
			return compile_re(c, m, n, g->alts);
		if (m->cidr)
			return compile_cidr(c, n, g->alts);
		if (m->fieldref)
			return compile_fieldref(c, m, n, g->alts);
		g->alts->kind = SIGMA_V_NUM;
		g->alts->u.num.op = m->numop;
		if (sigma_num_parse((const unsigned char *)n->str, n->len, &num) < 0)
			return fail_at(c, n->line, "'%s' is not a number (lt/lte/gt/gte)",
			    shown(n->str, sb, sizeof(sb)));
		g->alts->u.num.v = num.v;
		g->alts->u.num.i = num.i;
		g->alts->u.num.isint = num.isint;
		g->alts->u.num.big = num.big;
		return 0;
	}
	{
		size_t count = 1, nvar = m->b64off ? 3 : 1;
		struct expand_out eo;

		if (n->len > SIGMA_MAX_VALUE_LEN)
			return fail_at(c, n->line, "value longer than %d bytes", SIGMA_MAX_VALUE_LEN);
		if (m->expand && (count = expand_count(c, n->str, n->len, n->line)) == 0)
			return -1;
		if (count_values(c, count * nvar, n->line) < 0)
			return -1;
		memset(&eo, 0, sizeof(eo));
		eo.m = m;
		eo.keyword = keyword;
		eo.line = n->line;
		eo.cap = count * nvar;
		if ((eo.alts = sigma_arena_alloc(a, eo.cap * sizeof(*eo.alts))) == NULL)
			return oom(c, n->line);
		if (m->expand) {
			if (expand_rec(c, &eo, n->str, n->len, 0, 0, 0) < 0)
				return -1;
		} else if (emit_candidate(c, &eo, n->str, n->len) < 0) {
			return -1;
		}
		g->alts = eo.alts;
		g->nalts = eo.nalts;
	}
	return 0;
}

static int
note_field(struct pctx *c, const char *field, int line)
{
	struct sigma_rule *r = c->r;

	for (size_t i = 0; i < r->ndfields; i++)
		if (strcmp(r->dfields[i], field) == 0)
			return 0;
	/* dfields is sized for SIGMA_MAX_ITEMS * 2 entries (items + fieldrefs). */
	if (r->ndfields >= SIGMA_MAX_ITEMS * 2)
		return fail_at(c, line, "too many fields");
	if ((r->dfields[r->ndfields] = sigma_arena_strndup(&r->arena, field, strlen(field))) == NULL)
		return oom(c, line);
	r->dflines[r->ndfields] = line;
	r->ndfields++;
	return 0;
}

/*
 * it->multi when every alternative of every value is a case-insensitive
 * "contains" literal (sigma_val_plain) and there are at least
 * SIGMA_MULTI_MIN of them (an |all item needs each value on its own).
 * When other values are among them (a keyword list with a few wildcards,
 * a null), at least SIGMA_MULTI_PART_MIN literals still get one pass
 * (it->multi_part): the other values are then tried one by one (SigmaHQ's
 * "SQL Injection Strings In URI" tried 30 keywords on each request line
 * for two with a '*'). Out of memory, the item simply matches value by
 * value: same result.
 */
static void
build_multi(struct sigma_arena *a, struct sigma_item *it)
{
	struct sigma_multi *m;
	struct sigma_mlit *lits;
	size_t n = 0, other = 0, k;
	uint16_t fill[256];

	if (it->all)
		return;
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			if (sigma_val_plain(&it->groups[i].alts[j]))
				n++;
			else
				other++;
		}
	if (n < (other ? SIGMA_MULTI_PART_MIN : SIGMA_MULTI_MIN) || n > UINT16_MAX ||
	    (m = sigma_arena_alloc(a, sizeof(*m))) == NULL ||
	    (lits = sigma_arena_alloc(a, n * sizeof(*lits))) == NULL)
		return;
	m->minlen = UINT32_MAX;
	/* Counting sort by first byte (already lower-cased: not cased). */
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			const struct sigma_glob *g = &it->groups[i].alts[j].u.g;
			if (!sigma_val_plain(&it->groups[i].alts[j]))
				continue;
			m->start[g->text[0] + 1]++;
			if (g->len < m->minlen)
				m->minlen = (uint32_t)g->len;
		}
	for (k = 1; k <= 256; k++)
		m->start[k] = (uint16_t)(m->start[k] + m->start[k - 1]);
	memcpy(fill, m->start, sizeof(fill));
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			const struct sigma_glob *g = &it->groups[i].alts[j].u.g;
			unsigned char b;

			if (!sigma_val_plain(&it->groups[i].alts[j]))
				continue;
			b = g->text[0];
			lits[fill[b]].p = g->text;
			lits[fill[b]].len = (uint32_t)g->len;
			fill[b]++;
			m->first[b] = 1;
			if (b >= 'a' && b <= 'z')
				m->first[b - 32] = 1;
		}
	m->lits = lits;
	m->n = n;
	it->multi = m;
	it->multi_part = other > 0;
}

/*
 * it->exact when every alternative of every value is an exact string of
 * the same casing and there are at least two (an |all item needs each
 * value on its own; |neq uses the set too, negated). Out of memory, the
 * item matches value by value: same result.
 */
static void
build_exact(struct sigma_arena *a, struct sigma_item *it)
{
	struct sigma_exact *x;
	struct sigma_mlit *lits;
	uint16_t fill[SIGMA_EXACT_LENS];
	size_t n = 0;
	bool cased = false;

	if (it->all)
		return;
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			const struct sigma_val *v = &it->groups[i].alts[j];
			if (v->kind != SIGMA_V_GLOB || v->u.g.mode != SIGMA_G_EXACT ||
			    v->u.g.len > UINT32_MAX)
				return;
			if (n == 0)
				cased = v->u.g.cased;
			else if (v->u.g.cased != cased)
				return;
			n++;
		}
	if (n < 2 || n > UINT16_MAX || (x = sigma_arena_alloc(a, sizeof(*x))) == NULL ||
	    (lits = sigma_arena_alloc(a, n * sizeof(*lits))) == NULL)
		return;
	/* Counting sort by length bucket. */
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			size_t len = it->groups[i].alts[j].u.g.len;
			size_t k = len < SIGMA_EXACT_LENS - 1 ? len : SIGMA_EXACT_LENS - 1;
			x->start[k + 1]++;
			x->lens |= UINT64_C(1) << k;
		}
	for (size_t k = 1; k <= SIGMA_EXACT_LENS; k++)
		x->start[k] = (uint16_t)(x->start[k] + x->start[k - 1]);
	memcpy(fill, x->start, sizeof(fill));
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			const struct sigma_glob *g = &it->groups[i].alts[j].u.g;
			size_t k = g->len < SIGMA_EXACT_LENS - 1 ? g->len : SIGMA_EXACT_LENS - 1;
			lits[fill[k]].p = g->text;
			lits[fill[k]].len = (uint32_t)g->len;
			fill[k]++;
		}
	x->lits = lits;
	x->n = n;
	x->cased = cased;
	it->exact = x;
}

/* it->cidr when every alternative of every value (at least one) is a |cidr range. */
static void
item_cidr(struct sigma_item *it)
{
	size_t n = 0;

	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++, n++)
			if (it->groups[i].alts[j].kind != SIGMA_V_CIDR)
				return;
	it->cidr = n > 0;
}

/*
 * it->minlen: the fewest bytes any value of the item can match – globs
 * count their non-star tokens, regexes PCRE2's minimum length; any other
 * kind (null, exists, numbers, cidr, fieldref) or |neq: no bound. A
 * shorter field value then fails the item without a look at its values.
 */
static void
item_minlen(struct sigma_item *it)
{
	uint32_t m = UINT32_MAX;

	if (it->neq)
		return;
	for (size_t i = 0; i < it->ngroups; i++)
		for (size_t j = 0; j < it->groups[i].nalts; j++) {
			const struct sigma_val *v = &it->groups[i].alts[j];
			uint32_t k = 0;
			if (v->kind == SIGMA_V_RE) {
				k = v->u.re.minlen;
			} else if (v->kind == SIGMA_V_GLOB) {
				for (size_t t = 0; t < v->u.g.len; t++)
					k += v->u.g.kind == NULL || v->u.g.kind[t] != SIGMA_TOK_STAR;
			} else {
				return;
			}
			m = k < m ? k : m;
		}
	it->minlen = m == UINT32_MAX ? 0 : m;
}

/* One "key: value(s)" of a map, or (key NULL) a keyword list / keyword. */
static int
compile_item(struct pctx *c, const char *key, const struct ms_yaml_node *val,
    struct sigma_item *it)
{
	char field[SIGMA_MAX_FIELD_LEN + 1];
	struct mods m;
	size_t nv;
	bool keyword;

	if (++c->nitems > SIGMA_MAX_ITEMS)
		return fail_at(c, val->line, "more than %d items in the rule", SIGMA_MAX_ITEMS);
	if (key != NULL) {
		if (parse_key(c, key, val->line, field, sizeof(field), &m) < 0)
			return -1;
	} else {
		memset(&m, 0, sizeof(m));
		field[0] = '\0';
	}
	/* A key with only modifiers ("|all") applies them to keywords. */
	keyword = field[0] == '\0';
	if (keyword && (m.re || m.cidr || m.num || m.exists || m.fieldref || m.neq))
		return fail_at(c, val->line, "keywords take only string modifiers");
	if (!keyword) {
		if ((it->field = sigma_arena_strndup(&c->r->arena, field, strlen(field))) == NULL)
			return oom(c, val->line);
		if (note_field(c, field, val->line) < 0)
			return -1;
	}
	it->all = m.all;
	it->neq = m.neq;
	if (val->type == MS_YAML_MAP)
		return fail_at(c, val->line, "a map is not allowed as the value of '%s'",
		    key != NULL ? key : "keywords");
	nv = val->type == MS_YAML_SEQ ? val->n : 1;
	if (nv == 0)
		return fail_at(c, val->line, "empty value list");
	if ((it->groups = sigma_arena_alloc(&c->r->arena, nv * sizeof(*it->groups))) == NULL)
		return oom(c, val->line);
	it->ngroups = nv;
	for (size_t i = 0; i < nv; i++) {
		const struct ms_yaml_node *v = val->type == MS_YAML_SEQ ? val->items[i] : val;
		if (compile_value(c, &m, keyword, v, &it->groups[i]) < 0)
			return -1;
		if (m.fieldref && v->type == MS_YAML_SCALAR &&
		    note_field(c, it->groups[i].alts[0].u.ref.field, v->line) < 0)
			return -1;
	}
	build_multi(&c->r->arena, it);
	build_exact(&c->r->arena, it);
	item_cidr(it);
	item_minlen(it);
	return 0;
}

static int
compile_map(struct pctx *c, const struct ms_yaml_node *map, struct sigma_conj *cj)
{
	if (map->n == 0)
		return fail_at(c, map->line, "empty map in a search");
	if ((cj->items = sigma_arena_alloc(&c->r->arena, map->n * sizeof(*cj->items))) == NULL)
		return oom(c, map->line);
	cj->nitems = map->n;
	for (size_t i = 0; i < map->n; i++)
		if (compile_item(c, map->pairs[i].key, map->pairs[i].value, &cj->items[i]) < 0)
			return -1;
	return 0;
}

/*
 * A search identifier: a map (AND), a list of maps (OR of ANDs), a list of
 * strings or a string (keywords on the message). A list mixing both is an
 * OR of its maps and of one keyword item holding all its strings.
 */
static int
compile_search(struct pctx *c, const char *name, const struct ms_yaml_node *n,
    struct sigma_search *s)
{
	struct sigma_arena *a = &c->r->arena;
	size_t nmaps = 0, nstr = 0, k = 0;
	char sb[64];

	if ((s->name = sigma_arena_strndup(a, name, strlen(name))) == NULL)
		return oom(c, n->line);
	if (n->type == MS_YAML_MAP) {
		if ((s->conjs = sigma_arena_alloc(a, sizeof(*s->conjs))) == NULL)
			return oom(c, n->line);
		s->nconjs = 1;
		return compile_map(c, n, s->conjs);
	}
	if (n->type == MS_YAML_SCALAR) {
		if (ms_yaml_is_null(n))
			return fail_at(c, n->line, "search '%s' is empty", shown(name, sb, sizeof(sb)));
		if ((s->conjs = sigma_arena_alloc(a, sizeof(*s->conjs))) == NULL ||
		    (s->conjs->items = sigma_arena_alloc(a, sizeof(struct sigma_item))) == NULL)
			return oom(c, n->line);
		s->nconjs = 1;
		s->conjs->nitems = 1;
		return compile_item(c, NULL, n, s->conjs->items);
	}
	if (n->n == 0)
		return fail_at(c, n->line, "search '%s' is an empty list", shown(name, sb, sizeof(sb)));
	for (size_t i = 0; i < n->n; i++) {
		if (n->items[i]->type == MS_YAML_MAP)
			nmaps++;
		else if (n->items[i]->type == MS_YAML_SCALAR)
			nstr++;
		else
			return fail_at(c, n->items[i]->line, "nested list in search '%s'",
			    shown(name, sb, sizeof(sb)));
	}
	s->nconjs = nmaps + (nstr > 0);
	if ((s->conjs = sigma_arena_alloc(a, s->nconjs * sizeof(*s->conjs))) == NULL)
		return oom(c, n->line);
	for (size_t i = 0; i < n->n; i++)
		if (n->items[i]->type == MS_YAML_MAP && compile_map(c, n->items[i], &s->conjs[k++]) < 0)
			return -1;
	if (nstr > 0) {
		struct sigma_conj *cj = &s->conjs[k];
		struct sigma_item *it;
		size_t j = 0;

		if (++c->nitems > SIGMA_MAX_ITEMS)
			return fail_at(c, n->line, "more than %d items in the rule", SIGMA_MAX_ITEMS);
		if ((it = sigma_arena_alloc(a, sizeof(*it))) == NULL ||
		    (it->groups = sigma_arena_alloc(a, nstr * sizeof(*it->groups))) == NULL)
			return oom(c, n->line);
		cj->items = it;
		cj->nitems = 1;
		it->ngroups = nstr;
		{
			struct mods m;
			memset(&m, 0, sizeof(m));
			for (size_t i = 0; i < n->n; i++)
				if (n->items[i]->type == MS_YAML_SCALAR &&
				    compile_value(c, &m, true, n->items[i], &it->groups[j++]) < 0)
					return -1;
		}
		build_multi(a, it);
		build_exact(a, it);
		item_minlen(it);
	}
	return 0;
}

static bool
valid_ident(const char *s)
{
	static const char *const reserved[] = { "and", "or", "not", "of", "them", "all", "1",
	    NULL };

	if (*s == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (*p == ' ' || *p == '\t' || *p == '(' || *p == ')' || *p == '|' ||
		    *p == '*' || *p == '?' || (unsigned char)*p < 0x20)
			return false;
	for (size_t i = 0; reserved[i] != NULL; i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return false;
	return true;
}

static int
compile_condition(struct pctx *c, const struct ms_yaml_node *cn)
{
	char why[400];
	struct sigma_cnode **kids = NULL;
	size_t n;

	if (cn->type == MS_YAML_MAP)
		return fail_at(c, cn->line, "condition must be a string or a list of strings");
	n = cn->type == MS_YAML_SEQ ? cn->n : 1;
	if (n == 0)
		return fail_at(c, cn->line, "empty condition list");
	if (n > SIGMA_MAX_CONDITIONS)
		return fail_at(c, cn->line, "more than %d conditions", SIGMA_MAX_CONDITIONS);
	if ((kids = sigma_arena_alloc(&c->r->arena, n * sizeof(*kids))) == NULL)
		return oom(c, cn->line);
	for (size_t i = 0; i < n; i++) {
		const struct ms_yaml_node *it = cn->type == MS_YAML_SEQ ? cn->items[i] : cn;
		if (it->type != MS_YAML_SCALAR || ms_yaml_is_null(it))
			return fail_at(c, it->line, "condition must be a non-empty string");
		if (it->len > SIGMA_MAX_COND_LEN)
			return fail_at(c, it->line, "condition longer than %d bytes",
			    SIGMA_MAX_COND_LEN);
		if ((kids[i] = sigma_cond_compile(c->r, it->str, it->len, why, sizeof(why))) == NULL)
			return fail_at(c, it->line, "condition: %s", why);
	}
	if (n == 1)
		c->r->cond = kids[0];
	else if ((c->r->cond = sigma_cond_or(c->r, kids, n)) == NULL)
		return oom(c, cn->line);
	return 0;
}

/*
 * One filter's searches (every key of its filter: map but rules and
 * condition), appended to the rule's, and its condition compiled against
 * them alone: *out. Errors name the filter's file and line.
 */
static int
parse_filter(struct pctx *c, const struct sigma_rule_filter *f, struct sigma_cnode **out)
{
	const struct ms_yaml_node *fm = f->filter, *cond = NULL;
	const char *file = c->file;
	struct sigma_rule *r = c->r;
	size_t lo = r->nsearches;
	char sb[64], why[400];
	int rc = -1;

	c->file = f->file;
	if (fm == NULL || fm->type != MS_YAML_MAP) {
		fail_at(c, fm ? fm->line : 0, "filter must be a map");
		goto out;
	}
	for (size_t i = 0; i < fm->n; i++) {
		const char *key = fm->pairs[i].key;
		const struct ms_yaml_node *v = fm->pairs[i].value;

		if (strcmp(key, "rules") == 0)
			continue;
		if (strcmp(key, "condition") == 0) {
			cond = v;
			continue;
		}
		if (!valid_ident(key)) {
			fail_at(c, v->line, "bad search identifier '%s'", shown(key, sb, sizeof(sb)));
			goto out;
		}
		if (r->nsearches >= SIGMA_MAX_SEARCHES) {
			fail_at(c, v->line, "more than %d search identifiers with the filters",
			    SIGMA_MAX_SEARCHES);
			goto out;
		}
		if (compile_search(c, key, v, &r->searches[r->nsearches]) < 0)
			goto out;
		r->nsearches++;
	}
	if (r->nsearches == lo) {
		fail_at(c, fm->line, "filter without a search identifier");
		goto out;
	}
	/* One string, as pySigma takes it: a list would read as OR, easily a mistake. */
	if (cond == NULL || cond->type != MS_YAML_SCALAR || ms_yaml_is_null(cond)) {
		fail_at(c, cond ? cond->line : fm->line, "a filter's condition must be one string");
		goto out;
	}
	if (cond->len > SIGMA_MAX_COND_LEN) {
		fail_at(c, cond->line, "condition longer than %d bytes", SIGMA_MAX_COND_LEN);
		goto out;
	}
	if ((*out = sigma_cond_compile_range(r, lo, r->nsearches, cond->str, cond->len, why,
	    sizeof(why))) == NULL) {
		fail_at(c, cond->line, "condition: %s", why);
		goto out;
	}
	rc = 0;
out:
	c->file = file;
	return rc;
}

/* The room for n searches and the detection's fields. */
static int
detection_alloc(struct pctx *c, size_t n, int line)
{
	struct sigma_rule *r = c->r;

	if ((r->searches = sigma_arena_alloc(&r->arena, (n + 1) * sizeof(*r->searches))) == NULL ||
	    (r->dfields = sigma_arena_alloc(&r->arena, SIGMA_MAX_ITEMS * 2 * sizeof(*r->dfields))) == NULL ||
	    (r->dflines = sigma_arena_alloc(&r->arena, SIGMA_MAX_ITEMS * 2 * sizeof(*r->dflines))) == NULL)
		return oom(c, line);
	return 0;
}

static int
parse_detection(struct pctx *c, const struct ms_yaml_node *doc)
{
	const struct ms_yaml_node *det = ms_yaml_get(doc, "detection"), *cond = NULL;
	struct sigma_rule *r = c->r;
	size_t total;
	char sb[64];

	if (det == NULL || ms_yaml_is_null(det))
		return fail_at(c, doc->line, "missing detection");
	if (det->type != MS_YAML_MAP)
		return fail_at(c, det->line, "detection must be a map");
	if (det->n > SIGMA_MAX_SEARCHES + 1)
		return fail_at(c, det->line, "more than %d search identifiers", SIGMA_MAX_SEARCHES);
	total = det->n;
	for (size_t k = 0; k < c->nfilters; k++)
		if (c->filters[k].filter != NULL && c->filters[k].filter->type == MS_YAML_MAP)
			total += c->filters[k].filter->n;
	if (detection_alloc(c, total, det->line) < 0)
		return -1;
	for (size_t i = 0; i < det->n; i++) {
		const char *key = det->pairs[i].key;
		const struct ms_yaml_node *v = det->pairs[i].value;

		if (strcmp(key, "condition") == 0) {
			cond = v;
			continue;
		}
		if (strcmp(key, "timeframe") == 0)
			return fail_at(c, v->line, "timeframe belongs to correlation rules");
		if (!valid_ident(key))
			return fail_at(c, v->line, "bad search identifier '%s'", shown(key, sb, sizeof(sb)));
		if (r->nsearches >= SIGMA_MAX_SEARCHES)
			return fail_at(c, v->line, "more than %d search identifiers",
			    SIGMA_MAX_SEARCHES);
		if (compile_search(c, key, v, &r->searches[r->nsearches]) < 0)
			return -1;
		r->nsearches++;
	}
	if (r->nsearches == 0)
		return fail_at(c, det->line, "empty detection (no search identifier)");
	if (cond == NULL)
		return fail_at(c, det->line, "missing condition");
	if (compile_condition(c, cond) < 0)
		return -1;
	/*
	 * Filters (Sigma filters, as pySigma applies them): the rule matches
	 * where its own condition and every filter's hold. The filters'
	 * searches come after the rule's, so the rule's 'them' and patterns,
	 * compiled above, never take them in.
	 */
	if (c->nfilters > 0) {
		struct sigma_cnode *kids[SIGMA_MAX_FILTERS + 1];

		if (c->nfilters > SIGMA_MAX_FILTERS)
			return fail_at(c, doc->line, "more than %d filters apply", SIGMA_MAX_FILTERS);
		kids[0] = r->cond;
		for (size_t k = 0; k < c->nfilters; k++)
			if (parse_filter(c, &c->filters[k], &kids[k + 1]) < 0)
				return -1;
		if ((r->cond = sigma_cond_and(r, kids, c->nfilters + 1)) == NULL)
			return oom(c, doc->line);
	}
	return 0;
}

/*
 * Sets c up for one document of file (name: when file is NULL): errors go
 * to err; c's scratch buffers and its rule are allocated. 0, or -1 (the
 * caller frees with pctx_end).
 */
static int
pctx_start(struct pctx *c, const char *file, const char *name, sigma_placeholder_fn ph,
    void *parg, char *err, size_t errsz, int line)
{
	memset(c, 0, sizeof(*c));
	c->file = file != NULL ? file : name;
	c->ph = ph;
	c->parg = parg;
	c->err = err;
	c->errsz = errsz;
	if (errsz > 0)
		err[0] = '\0';
	if ((c->r = calloc(1, sizeof(*c->r))) == NULL ||
	    (c->a = malloc(sizeof(*c->a))) == NULL || (c->b = malloc(sizeof(*c->b))) == NULL ||
	    (c->exp = malloc(SIGMA_MAX_VALUE_LEN + 1)) == NULL)
		return fail_at(c, line, "out of memory");
	return 0;
}

/* Frees c's scratch buffers; its rule too unless keep. */
static void
pctx_end(struct pctx *c, bool keep)
{
	free(c->a);
	free(c->b);
	free(c->exp);
	if (!keep)
		sigma_rule_free(c->r);
}

/* --- public -------------------------------------------------------------- */

/*
 * Parses one rule document. Returns an owned rule (free with
 * sigma_rule_free) or NULL with "file:line: reason" in err. doc, file and
 * the placeholder values are only borrowed during the call.
 */
struct sigma_rule *
sigma_rule_parse(const struct ms_yaml_node *doc, const char *file,
    sigma_placeholder_fn placeholders, void *parg, char *err, size_t errsz)
{
	return sigma_rule_parse_filtered(doc, file, NULL, 0, placeholders, parg, err, errsz);
}

struct sigma_rule *
sigma_rule_parse_filtered(const struct ms_yaml_node *doc, const char *file,
    const struct sigma_rule_filter *filters, size_t nfilters, sigma_placeholder_fn placeholders,
    void *parg, char *err, size_t errsz)
{
	struct pctx c;

	if (doc == NULL || doc->type != MS_YAML_MAP) {
		memset(&c, 0, sizeof(c));
		c.file = file != NULL ? file : "(rule)";
		c.err = err;
		c.errsz = errsz;
		if (doc == NULL)
			fail_at(&c, 0, "empty document");
		else
			fail_at(&c, doc->line, "a rule must be a map, not a %s",
			    ms_yaml_type_name(doc->type));
		return NULL;
	}
	if (pctx_start(&c, file, "(rule)", placeholders, parg, err, errsz, doc->line) < 0)
		goto fail;
	c.filters = filters;
	c.nfilters = nfilters;
	if (parse_meta(&c, doc) < 0 || parse_detection(&c, doc) < 0)
		goto fail;
	pctx_end(&c, true);
	return c.r;
fail:
	pctx_end(&c, false);
	return NULL;
}

int
sigma_filter_check(const struct ms_yaml_node *filter, const char *file,
    const char *product, const char *service, const char *category,
    sigma_placeholder_fn placeholders, void *parg, char *err, size_t errsz)
{
	struct sigma_rule_filter f = { filter, file };
	struct sigma_cnode *n;
	struct pctx c;
	int rc = -1;

	if (pctx_start(&c, file, "(filter)", placeholders, parg, err, errsz,
	    filter != NULL ? filter->line : 0) < 0)
		goto out;
	if (filter == NULL || filter->type != MS_YAML_MAP) {
		fail_at(&c, filter ? filter->line : 0, "filter must be a map");
		goto out;
	}
	if (detection_alloc(&c, filter->n, filter->line) < 0 || parse_filter(&c, &f, &n) < 0)
		goto out;
	/*
	 * Checked here, once, on the filter's own logsource: with rules: any
	 * it also takes rules whose events never carry a field of its own
	 * (a firewall rule under product: linux), where it applies as written.
	 */
	product = product != NULL ? product : "";
	service = service != NULL ? service : "";
	category = category != NULL ? category : "";
	for (size_t i = 0; i < c.r->ndfields; i++)
		if (sigma_logsource_field(product, service, category, c.r->dfields[i]) == 0) {
			fail_at(&c, c.r->dflines[i], "field '%.64s' is not in events of logsource "
			    "product=%s service=%s category=%s (docs/rules.md lists their fields)",
			    c.r->dfields[i], product, service, category);
			goto out;
		}
	rc = 0;
out:
	pctx_end(&c, false);
	return rc;
}

/* Frees r and everything it owns; NULL is a no-op. */
void
sigma_rule_free(struct sigma_rule *r)
{
	struct sigma_val *v;

	if (r == NULL)
		return;
	/* The map compares later rules' items with this one's: not after it is gone. */
	if (r->fm != NULL)
		sigma_fieldmap_forget(r->fm, r);
	for (v = r->re_head; v != NULL; v = v->u.re.next) {
		pcre2_match_data_free(v->u.re.md);
		pcre2_code_free(v->u.re.code);
	}
	pcre2_match_context_free(r->mctx);
	sigma_arena_fini(&r->arena);
	free(r);
}

const char *sigma_rule_id(const struct sigma_rule *r) { return r->id; }
const char *sigma_rule_name(const struct sigma_rule *r) { return r->name; }
const char *sigma_rule_title(const struct sigma_rule *r) { return r->title; }
const char *sigma_rule_level(const struct sigma_rule *r) { return r->level; }
const char *sigma_rule_status(const struct sigma_rule *r) { return r->status; }
size_t sigma_rule_ntags(const struct sigma_rule *r) { return r->ntags; }
const char *sigma_rule_product(const struct sigma_rule *r) { return r->product; }
const char *sigma_rule_service(const struct sigma_rule *r) { return r->service; }
const char *sigma_rule_category(const struct sigma_rule *r) { return r->category; }
size_t sigma_rule_nfields(const struct sigma_rule *r) { return r->nfields; }
size_t sigma_rule_ndetection_fields(const struct sigma_rule *r) { return r->ndfields; }

const char *
sigma_rule_tag(const struct sigma_rule *r, size_t i)
{
	return i < r->ntags ? r->tags[i] : "";
}

const char *
sigma_rule_field(const struct sigma_rule *r, size_t i)
{
	return i < r->nfields ? r->fields[i] : "";
}

const char *
sigma_rule_detection_field(const struct sigma_rule *r, size_t i)
{
	return i < r->ndfields ? r->dfields[i] : "";
}

int
sigma_rule_detection_field_line(const struct sigma_rule *r, size_t i)
{
	return i < r->ndfields ? r->dflines[i] : 0;
}
