/*
 * ms_json – a small streaming JSON writer on top of ms_buf.
 * Strings from untrusted input are escaped; invalid UTF-8 bytes are
 * replaced by U+FFFD so the output is always valid JSON.
 */
#ifndef MS_JSON_H
#define MS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ms_buf.h"

#define MS_JSON_MAX_DEPTH 32

struct ms_json {
	struct ms_buf *out;	/* borrowed */
	int depth;
	bool first[MS_JSON_MAX_DEPTH];
	bool after_key;
	bool err;
};

void ms_json_init(struct ms_json *j, struct ms_buf *out);
void ms_json_obj_open(struct ms_json *j);
void ms_json_obj_close(struct ms_json *j);
void ms_json_arr_open(struct ms_json *j);
void ms_json_arr_close(struct ms_json *j);
/* A key of n bytes (escaped like a string). */
void ms_json_keyn(struct ms_json *j, const char *key, size_t n);
void ms_json_strn(struct ms_json *j, const char *s, size_t len);
void ms_json_int(struct ms_json *j, int64_t v);
void ms_json_bool(struct ms_json *j, bool v);
void ms_json_null(struct ms_json *j);

/* Inline: the length of a literal key or value is then known when compiled. */
static inline void
ms_json_key(struct ms_json *j, const char *key)
{
	ms_json_keyn(j, key, strlen(key));
}

/* s, or null when s is NULL. */
static inline void
ms_json_str(struct ms_json *j, const char *s)
{
	if (s == NULL)
		ms_json_null(j);
	else
		ms_json_strn(j, s, strlen(s));
}

/* "k": "v" with their lengths: one call, one room check for the pair. */
void ms_json_kv_strn(struct ms_json *j, const char *k, size_t klen, const char *v, size_t vlen);
/* "k":{ and "k":[ (a named object or array, closed as usual), "k":v: one call each. */
void ms_json_kv_obj_open(struct ms_json *j, const char *k, size_t klen);
void ms_json_kv_arr_open(struct ms_json *j, const char *k, size_t klen);
void ms_json_kv_int(struct ms_json *j, const char *k, size_t klen, int64_t v);
/* "k": "v", or "k": null when v is NULL. */
void ms_json_kv_str(struct ms_json *j, const char *k, const char *v);
/* 0 when everything was written, -1 on overflow or misuse. */
int ms_json_finish(struct ms_json *j);

/* Appends s (len bytes) to out as a JSON string body, without quotes. */
int ms_json_escape(struct ms_buf *out, const char *s, size_t len);

/*
 * Parses JSON text that ms_json wrote (an alert, an incident) with ms_yaml,
 * as minisocctl reads them. libyaml refuses a document holding DEL, a C1
 * control, U+FFFE or U+FFFF as they are (and folds U+2028/U+2029 as line
 * breaks): ms_json writes them as \uXXXX, and a document a collector wrote
 * before that (or holding a byte that is not UTF-8) is read with them so
 * written – in valid JSON they only stand inside strings, so it means the
 * same. Same answers as ms_yaml_parse.
 */
struct ms_yaml_node;
int ms_json_yaml_parse(const char *json, size_t len, struct ms_yaml_node ***docs, size_t *ndocs,
    char *err, size_t errsz);

#endif
