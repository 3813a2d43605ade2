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
void ms_json_key(struct ms_json *j, const char *key);
void ms_json_str(struct ms_json *j, const char *s);
void ms_json_strn(struct ms_json *j, const char *s, size_t len);
void ms_json_int(struct ms_json *j, int64_t v);
void ms_json_bool(struct ms_json *j, bool v);
void ms_json_null(struct ms_json *j);
/* "k": "v", or "k": null when v is NULL. */
void ms_json_kv_str(struct ms_json *j, const char *k, const char *v);
/* 0 when everything was written, -1 on overflow or misuse. */
int ms_json_finish(struct ms_json *j);

/* Appends s (len bytes) to out as a JSON string body, without quotes. */
int ms_json_escape(struct ms_buf *out, const char *s, size_t len);

#endif
