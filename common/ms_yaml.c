#include "ms_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ms_util.h"

const char *
ms_yaml_type_name(enum ms_yaml_type t)
{
	switch (t) {
	case MS_YAML_SCALAR: return "scalar";
	case MS_YAML_MAP: return "map";
	case MS_YAML_SEQ: return "list";
	}
	return "?";
}

void
ms_yaml_node_free(struct ms_yaml_node *n)
{
	if (n == NULL)
		return;
	if (n->type == MS_YAML_MAP) {
		for (size_t i = 0; i < n->n; i++) {
			free(n->pairs[i].key);
			ms_yaml_node_free(n->pairs[i].value);
		}
		free(n->pairs);
	} else if (n->type == MS_YAML_SEQ) {
		for (size_t i = 0; i < n->n; i++)
			ms_yaml_node_free(n->items[i]);
		free(n->items);
	}
	free(n->str);
	free(n);
}

void
ms_yaml_docs_free(struct ms_yaml_node **docs, size_t ndocs)
{
	if (docs == NULL)
		return;
	for (size_t i = 0; i < ndocs; i++)
		ms_yaml_node_free(docs[i]);
	free(docs);
}

struct yaml_builder {
	struct ms_yaml_node *stack[MS_YAML_MAX_DEPTH];
	/* For a map on the stack: the key waiting for its value, or NULL. */
	char *pending_key[MS_YAML_MAX_DEPTH];
	int depth;
	size_t nodes;
	struct ms_yaml_node **docs;
	size_t ndocs;
	struct ms_yaml_node *root;
	char *err;
	size_t errsz;
};

static int
yb_fail(struct yaml_builder *b, const yaml_mark_t *m, const char *why)
{
	snprintf(b->err, b->errsz, "line %zu col %zu: %s", m->line + 1, m->column + 1, why);
	return -1;
}

static struct ms_yaml_node *
yb_node(struct yaml_builder *b, enum ms_yaml_type t, const yaml_mark_t *m)
{
	struct ms_yaml_node *n;

	if (++b->nodes > MS_YAML_MAX_NODES)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->type = t;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

/* Attaches child (owned) to the container on top of the stack, or as root. */
static int
yb_attach(struct yaml_builder *b, struct ms_yaml_node *child, const yaml_mark_t *m)
{
	struct ms_yaml_node *top;
	int d = b->depth - 1;

	if (d < 0) {
		b->root = child;
		return 0;
	}
	top = b->stack[d];
	if (top->type == MS_YAML_MAP && b->pending_key[d] == NULL) {
		/* A key: only scalars make sense as keys in our documents. */
		if (child->type != MS_YAML_SCALAR) {
			ms_yaml_node_free(child);
			return yb_fail(b, m, "only plain scalars can be map keys");
		}
		for (size_t i = 0; i < top->n; i++) {
			if (strcmp(top->pairs[i].key, child->str) == 0) {
				ms_yaml_node_free(child);
				return yb_fail(b, m, "duplicate key in map");
			}
		}
		b->pending_key[d] = child->str;
		child->str = NULL;
		ms_yaml_node_free(child);
		return 0;
	}
	if (top->n == top->alloc) {
		size_t na = top->alloc ? top->alloc * 2 : 4;
		void *p;
		if (top->type == MS_YAML_MAP)
			p = realloc(top->pairs, na * sizeof(*top->pairs));
		else
			p = realloc(top->items, na * sizeof(*top->items));
		if (p == NULL) {
			ms_yaml_node_free(child);
			return yb_fail(b, m, "out of memory");
		}
		if (top->type == MS_YAML_MAP)
			top->pairs = p;
		else
			top->items = p;
		top->alloc = na;
	}
	if (top->type == MS_YAML_MAP) {
		top->pairs[top->n].key = b->pending_key[d];
		top->pairs[top->n].value = child;
		b->pending_key[d] = NULL;
	} else {
		top->items[top->n] = child;
	}
	top->n++;
	return 0;
}

static int
yb_push(struct yaml_builder *b, enum ms_yaml_type t, const yaml_mark_t *m)
{
	struct ms_yaml_node *n;

	if (b->depth >= MS_YAML_MAX_DEPTH)
		return yb_fail(b, m, "nesting too deep");
	if ((n = yb_node(b, t, m)) == NULL)
		return yb_fail(b, m, "too many nodes");
	b->stack[b->depth] = n;
	b->pending_key[b->depth] = NULL;
	b->depth++;
	return 0;
}

static int
yb_pop(struct yaml_builder *b, const yaml_mark_t *m)
{
	struct ms_yaml_node *n;

	if (b->depth == 0)
		return yb_fail(b, m, "unbalanced document");
	b->depth--;
	n = b->stack[b->depth];
	free(b->pending_key[b->depth]);
	b->pending_key[b->depth] = NULL;
	return yb_attach(b, n, m);
}

static int
yb_add_doc(struct yaml_builder *b, const yaml_mark_t *m)
{
	struct ms_yaml_node **nd;
	struct ms_yaml_node *root = b->root;

	b->root = NULL;
	if (root == NULL) {
		/* An empty document is an empty (null) scalar. */
		if ((root = yb_node(b, MS_YAML_SCALAR, m)) == NULL ||
		    (root->str = calloc(1, 1)) == NULL) {
			ms_yaml_node_free(root);
			return yb_fail(b, m, "out of memory");
		}
		root->plain = true;
	}
	nd = realloc(b->docs, (b->ndocs + 1) * sizeof(*nd));
	if (nd == NULL) {
		ms_yaml_node_free(root);
		return yb_fail(b, m, "out of memory");
	}
	b->docs = nd;
	b->docs[b->ndocs++] = root;
	return 0;
}

int
ms_yaml_parse(const char *data, size_t len, struct ms_yaml_node ***docs, size_t *ndocs,
    char *err, size_t errsz)
{
	struct yaml_builder b;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;
	int rc = -1;

	memset(&b, 0, sizeof(b));
	b.err = err;
	b.errsz = errsz;
	*docs = NULL;
	*ndocs = 0;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errsz, "cannot initialise YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		struct ms_yaml_node *n;

		if (!yaml_parser_parse(&parser, &ev)) {
			size_t line = parser.problem_mark.line, col = parser.problem_mark.column;

			/*
			 * The reader (bytes that are not UTF-8, control bytes) gives
			 * only a byte offset, and its mark says line 1: count the
			 * lines up to the offset, so the error names the bad line.
			 */
			if (parser.error == YAML_READER_ERROR && parser.problem_offset <= len) {
				line = col = 0;
				for (size_t i = 0; i < parser.problem_offset; i++, col++)
					if (data[i] == '\n') {
						line++;
						col = (size_t)-1;
					}
			}
			snprintf(err, errsz, "line %zu col %zu: %s", line + 1, col + 1,
			    parser.problem ? parser.problem : "syntax error");
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (yb_add_doc(&b, &ev.start_mark) < 0)
				goto fail_ev;
			break;
		case YAML_ALIAS_EVENT:
			yb_fail(&b, &ev.start_mark, "aliases are not supported");
			goto fail_ev;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.length > MS_YAML_MAX_SCALAR) {
				yb_fail(&b, &ev.start_mark, "scalar too long");
				goto fail_ev;
			}
			if ((n = yb_node(&b, MS_YAML_SCALAR, &ev.start_mark)) == NULL) {
				yb_fail(&b, &ev.start_mark, "too many nodes");
				goto fail_ev;
			}
			n->str = malloc(ev.data.scalar.length + 1);
			if (n->str == NULL) {
				ms_yaml_node_free(n);
				yb_fail(&b, &ev.start_mark, "out of memory");
				goto fail_ev;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			if (yb_attach(&b, n, &ev.start_mark) < 0)
				goto fail_ev;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (yb_push(&b, MS_YAML_SEQ, &ev.start_mark) < 0)
				goto fail_ev;
			break;
		case YAML_MAPPING_START_EVENT:
			if (yb_push(&b, MS_YAML_MAP, &ev.start_mark) < 0)
				goto fail_ev;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (yb_pop(&b, &ev.start_mark) < 0)
				goto fail_ev;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	*docs = b.docs;
	*ndocs = b.ndocs;
	b.docs = NULL;
	rc = 0;
	goto out;

fail_ev:
	yaml_event_delete(&ev);
out:
	while (b.depth > 0) {
		b.depth--;
		free(b.pending_key[b.depth]);
		ms_yaml_node_free(b.stack[b.depth]);
	}
	ms_yaml_node_free(b.root);
	ms_yaml_docs_free(b.docs, b.ndocs);
	yaml_parser_delete(&parser);
	return rc;
}

char *
ms_yaml_read_file(const char *path, size_t maxsize, size_t *len, char *err, size_t errsz)
{
	FILE *f;
	char *data = NULL;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errsz, "%s", strerror(errno));
		return NULL;
	}
	if ((data = malloc(maxsize + 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	errno = 0;
	n = fread(data, 1, maxsize + 1, f);
	if (ferror(f)) {
		/* EISDIR: a folder given for the file opens, then fails to read. */
		snprintf(err, errsz, "%s", errno ? strerror(errno) : "read error");
		goto fail;
	}
	if (n > maxsize) {
		snprintf(err, errsz, "larger than %zu bytes", maxsize);
		goto fail;
	}
	data[n] = '\0';
	*len = n;
	fclose(f);
	return data;
fail:
	free(data);
	fclose(f);
	return NULL;
}

int
ms_yaml_parse_file(const char *path, size_t maxsize, struct ms_yaml_node ***docs,
    size_t *ndocs, char *err, size_t errsz)
{
	char why[400];
	size_t n;
	char *data = ms_yaml_read_file(path, maxsize, &n, why, sizeof(why));
	int rc = 0;

	if (data == NULL) {
		snprintf(err, errsz, "%s: %s", path, why);
		return -1;
	}
	if (ms_yaml_parse(data, n, docs, ndocs, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s: %s", path, why);
		rc = -1;
	}
	free(data);
	return rc;
}

void
ms_yerr_init(struct ms_yerr *e, const char *file, char *buf, size_t sz)
{
	e->file = file;
	e->buf = buf;
	e->sz = sz;
	e->used = 0;
	e->n = 0;
	if (sz > 0)
		buf[0] = '\0';
}

void
ms_yerr_add(struct ms_yerr *e, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int w;

	e->n++;
	if (e->sz == 0 || e->used + 1 >= e->sz)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w = snprintf(e->buf + e->used, e->sz - e->used, "%s%s:%d: %s", e->used ? "\n" : "",
	    e->file, line, msg);
	if (w > 0)
		e->used += (size_t)w < e->sz - e->used ? (size_t)w : e->sz - e->used - 1;
}

void
ms_yerr_keys_known(struct ms_yerr *e, const struct ms_yaml_node *map, const char *what,
    const char *const *keys)
{
	for (size_t i = 0; i < map->n; i++) {
		size_t k = 0;
		while (keys[k] && strcmp(keys[k], map->pairs[i].key) != 0)
			k++;
		if (keys[k] == NULL)
			ms_yerr_add(e, map->pairs[i].value->line, "%s: unknown key \"%s\"", what,
			    map->pairs[i].key);
	}
}

const char *
ms_yerr_str(struct ms_yerr *e, const struct ms_yaml_node *map, const char *key, bool required,
    const char *what)
{
	const struct ms_yaml_node *v = ms_yaml_get(map, key);

	if (v == NULL || ms_yaml_is_null(v)) {
		if (required)
			ms_yerr_add(e, map->line, "%s: \"%s\" is required", what, key);
		return NULL;
	}
	if (v->type != MS_YAML_SCALAR || v->len == 0 || strlen(v->str) != v->len) {
		ms_yerr_add(e, v->line, "%s: \"%s\" must be a non-empty string", what, key);
		return NULL;
	}
	return v->str;
}

struct ms_yaml_node *
ms_yaml_get(const struct ms_yaml_node *n, const char *key)
{
	if (n == NULL || n->type != MS_YAML_MAP)
		return NULL;
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->pairs[i].key, key) == 0)
			return n->pairs[i].value;
	return NULL;
}

struct ms_yaml_node *
ms_yaml_path(const struct ms_yaml_node *n, const char *path)
{
	char part[128];
	const char *p = path;

	while (n != NULL && *p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l >= sizeof(part))
			return NULL;
		memcpy(part, p, l);
		part[l] = '\0';
		n = ms_yaml_get(n, part);
		p += l + (dot ? 1 : 0);
	}
	return (struct ms_yaml_node *)n;
}

bool
ms_yaml_is_null(const struct ms_yaml_node *n)
{
	if (n == NULL || n->type != MS_YAML_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	    strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}
