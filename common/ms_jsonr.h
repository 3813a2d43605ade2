/*
 * ms_jsonr – a small bounded JSON reader (RFC 8259) into a read-only tree.
 *
 * For JSON that minisoc itself wrote (alerts, incidents) but that crossed
 * Redis, so it is treated as untrusted: depth and node count are capped,
 * strings are unescaped (\uXXXX and surrogate pairs to UTF-8, a lone
 * surrogate to U+FFFD), trailing garbage is refused. Numbers keep their
 * text and a double. Object members keep their order; a duplicate key is
 * kept too (lookups find the first).
 *
 * Ownership: everything a lookup returns is borrowed from the document
 * until ms_jsonr_free.
 */
#ifndef MS_JSONR_H
#define MS_JSONR_H

#include <stdbool.h>
#include <stddef.h>

enum ms_jv_type { MS_JV_NULL, MS_JV_BOOL, MS_JV_NUM, MS_JV_STR, MS_JV_ARR, MS_JV_OBJ };

struct ms_jv {
	enum ms_jv_type type;
	const char *key;	/* member name when inside an object, else NULL; NUL-terminated */
	const char *str;	/* STR: unescaped value; NUM: the token; NUL-terminated */
	size_t len;		/* STR/NUM: bytes in str (a STR may hold NUL bytes) */
	double num;
	bool b;
	size_t n;		/* ARR/OBJ: number of children */
	struct ms_jv *child;	/* first child */
	struct ms_jv *next;	/* next sibling */
};

struct ms_jsonr;

#define MS_JSONR_MAX_DEPTH 64

/*
 * Parses len bytes at s (no NUL needed). At most max_nodes values. Returns
 * the document (caller frees with ms_jsonr_free), or NULL with a reason
 * (and the byte offset) in err.
 */
struct ms_jsonr *ms_jsonr_parse(const char *s, size_t len, size_t max_nodes, char *err,
    size_t errsz);
void ms_jsonr_free(struct ms_jsonr *doc);
const struct ms_jv *ms_jsonr_root(const struct ms_jsonr *doc);

/* The first member named key of obj (an object), or NULL. */
const struct ms_jv *ms_jv_get(const struct ms_jv *obj, const char *key);
/*
 * A dotted path ("event.severity"): matches a member literally named so as
 * well as nested objects ({"event":{"severity":…}}) and any mix, trying
 * the longest literal name first. NULL when absent.
 */
const struct ms_jv *ms_jv_path(const struct ms_jv *obj, const char *path);
/* The string value at path, or NULL when absent or not a string. */
const char *ms_jv_path_str(const struct ms_jv *obj, const char *path);

#endif
