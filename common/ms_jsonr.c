#include "ms_jsonr.h"

#include "ms_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONR_CHUNK 256

struct jsonr_chunk {
	struct jsonr_chunk *next;
	size_t used;
	struct ms_jv v[JSONR_CHUNK];
};

struct ms_jsonr {
	struct ms_jv *root;
	struct jsonr_chunk *chunks;
	size_t nodes, max_nodes;
	char *arena;		/* unescaped strings, keys and number tokens */
	size_t arena_used, arena_cap;
};

struct jsonr_parser {
	struct ms_jsonr *doc;
	const char *s;
	size_t len, pos;
	const char *why;
};

static struct ms_jv *
jsonr_node(struct jsonr_parser *p)
{
	struct ms_jsonr *d = p->doc;
	struct jsonr_chunk *c = d->chunks;

	if (d->nodes >= d->max_nodes) {
		p->why = "too many values";
		return NULL;
	}
	if (c == NULL || c->used == JSONR_CHUNK) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			p->why = "out of memory";
			return NULL;
		}
		c->next = d->chunks;
		d->chunks = c;
	}
	d->nodes++;
	return &c->v[c->used++];
}

static void
jsonr_ws(struct jsonr_parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
	    p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static void
jsonr_put_utf8(char *out, size_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | (cp >> 6));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | (cp >> 12));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | (cp >> 18));
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Four hex digits at s[pos]; -1 when not. */
static int32_t
jsonr_hex4(const struct jsonr_parser *p, size_t pos)
{
	int32_t v = 0;

	if (p->len - pos < 4)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		int h = ms_hexval(p->s[pos + i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* A string at p->pos (on the opening quote), unescaped into the arena. */
static const char *
jsonr_string(struct jsonr_parser *p, size_t *outlen)
{
	struct ms_jsonr *d = p->doc;
	char *out = d->arena + d->arena_used;
	size_t o = 0;

	p->pos++;	/* the quote */
	for (;;) {
		unsigned char c;

		if (p->pos >= p->len) {
			p->why = "unterminated string";
			return NULL;
		}
		c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20) {
			p->why = "control character in a string";
			return NULL;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= p->len) {
			p->why = "unterminated escape";
			return NULL;
		}
		c = (unsigned char)p->s[p->pos + 1];
		p->pos += 2;
		switch (c) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			int32_t hi = jsonr_hex4(p, p->pos), lo;
			uint32_t cp;

			if (hi < 0) {
				p->why = "bad \\u escape";
				return NULL;
			}
			p->pos += 4;
			cp = (uint32_t)hi;
			if (hi >= 0xd800 && hi <= 0xdbff && p->len - p->pos >= 6 &&
			    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u' &&
			    (lo = jsonr_hex4(p, p->pos + 2)) >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
				p->pos += 6;
			} else if (hi >= 0xd800 && hi <= 0xdfff) {
				cp = 0xfffd;	/* a lone surrogate */
			}
			jsonr_put_utf8(out, &o, cp);
			break;
		}
		default:
			p->why = "bad escape";
			return NULL;
		}
	}
	out[o] = '\0';
	d->arena_used += o + 1;
	*outlen = o;
	return out;
}

static int
jsonr_number(struct jsonr_parser *p, struct ms_jv *v)
{
	struct ms_jsonr *d = p->doc;
	size_t start = p->pos, n;
	char *out = d->arena + d->arena_used;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
		goto bad;
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			goto bad;
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			goto bad;
		while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
			p->pos++;
	}
	n = p->pos - start;
	memcpy(out, p->s + start, n);
	out[n] = '\0';
	d->arena_used += n + 1;
	v->type = MS_JV_NUM;
	v->str = out;
	v->len = n;
	v->num = strtod(out, NULL);
	return 0;
bad:
	p->why = "bad number";
	return -1;
}

static bool
jsonr_lit(struct jsonr_parser *p, const char *lit)
{
	size_t l = strlen(lit);

	if (p->len - p->pos < l || memcmp(p->s + p->pos, lit, l) != 0)
		return false;
	p->pos += l;
	return true;
}

static struct ms_jv *jsonr_value(struct jsonr_parser *p, int depth);

/* Members or items up to the closing bracket; p->pos is after the opening one. */
static int
jsonr_container(struct jsonr_parser *p, struct ms_jv *v, int depth, bool obj)
{
	struct ms_jv **tail = &v->child;
	char close = obj ? '}' : ']';

	jsonr_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t klen;
		struct ms_jv *c;

		jsonr_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				p->why = "expected a member name";
				return -1;
			}
			if ((key = jsonr_string(p, &klen)) == NULL)
				return -1;
			jsonr_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				p->why = "expected ':'";
				return -1;
			}
			p->pos++;
		}
		if ((c = jsonr_value(p, depth + 1)) == NULL)
			return -1;
		c->key = key;
		*tail = c;
		tail = &c->next;
		v->n++;
		jsonr_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		p->why = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

static struct ms_jv *
jsonr_value(struct jsonr_parser *p, int depth)
{
	struct ms_jv *v;
	char c;

	if (depth > MS_JSONR_MAX_DEPTH) {
		p->why = "nested too deep";
		return NULL;
	}
	jsonr_ws(p);
	if (p->pos >= p->len) {
		p->why = "unexpected end";
		return NULL;
	}
	if ((v = jsonr_node(p)) == NULL)
		return NULL;
	c = p->s[p->pos];
	if (c == '{' || c == '[') {
		p->pos++;
		v->type = c == '{' ? MS_JV_OBJ : MS_JV_ARR;
		return jsonr_container(p, v, depth, c == '{') < 0 ? NULL : v;
	}
	if (c == '"') {
		v->type = MS_JV_STR;
		return (v->str = jsonr_string(p, &v->len)) == NULL ? NULL : v;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return jsonr_number(p, v) < 0 ? NULL : v;
	if (jsonr_lit(p, "true") || (c == 'f' && jsonr_lit(p, "false"))) {
		v->type = MS_JV_BOOL;
		v->b = c == 't';
		return v;
	}
	if (jsonr_lit(p, "null")) {
		v->type = MS_JV_NULL;
		return v;
	}
	p->why = "unexpected character";
	return NULL;
}

struct ms_jsonr *
ms_jsonr_parse(const char *s, size_t len, size_t max_nodes, char *err, size_t errsz)
{
	struct jsonr_parser p = { 0 };
	struct ms_jsonr *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto oom;
	/* Unescaping never grows a string; every token adds at most one NUL. */
	if (len > SIZE_MAX / 2 - 1 || (d->arena = malloc(2 * len + 1)) == NULL)
		goto oom;
	d->arena_cap = 2 * len + 1;
	d->max_nodes = max_nodes;
	p.doc = d;
	p.s = s;
	p.len = len;
	if ((d->root = jsonr_value(&p, 0)) == NULL)
		goto fail;
	jsonr_ws(&p);
	if (p.pos != p.len) {
		p.why = "garbage after the value";
		goto fail;
	}
	return d;
oom:
	p.why = "out of memory";
fail:
	snprintf(err, errsz, "%s at byte %zu", p.why ? p.why : "error", p.pos);
	ms_jsonr_free(d);
	return NULL;
}

void
ms_jsonr_free(struct ms_jsonr *d)
{
	struct jsonr_chunk *c, *n;

	if (d == NULL)
		return;
	for (c = d->chunks; c; c = n) {
		n = c->next;
		free(c);
	}
	free(d->arena);
	free(d);
}

const struct ms_jv *
ms_jsonr_root(const struct ms_jsonr *d)
{
	return d ? d->root : NULL;
}

static const struct ms_jv *
jv_getn(const struct ms_jv *obj, const char *key, size_t klen)
{
	if (obj == NULL || obj->type != MS_JV_OBJ)
		return NULL;
	for (const struct ms_jv *c = obj->child; c; c = c->next)
		if (strlen(c->key) == klen && memcmp(c->key, key, klen) == 0)
			return c;
	return NULL;
}

const struct ms_jv *
ms_jv_get(const struct ms_jv *obj, const char *key)
{
	return jv_getn(obj, key, strlen(key));
}

const struct ms_jv *
ms_jv_path(const struct ms_jv *obj, const char *path)
{
	size_t l = strlen(path);
	const struct ms_jv *v;

	if ((v = jv_getn(obj, path, l)) != NULL)
		return v;
	/* Split at each dot from the right: the longest literal member name first. */
	for (size_t i = l; i-- > 0;) {
		if (path[i] != '.')
			continue;
		if ((v = jv_getn(obj, path, i)) != NULL && (v = ms_jv_path(v, path + i + 1)) != NULL)
			return v;
	}
	return NULL;
}

const char *
ms_jv_path_str(const struct ms_jv *obj, const char *path)
{
	const struct ms_jv *v = ms_jv_path(obj, path);

	return v && v->type == MS_JV_STR ? v->str : NULL;
}
