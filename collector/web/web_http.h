/*
 * web_http – the small parsers minisoc-web applies to what browsers send
 * (untrusted): the Cookie and Authorization headers, urlencoded forms and
 * query strings, Redis stream ids; and the token comparison. No
 * allocation; every output has a caller-given cap. Fuzzed by
 * tests/fuzz/fuzz_web_http.c.
 */
#ifndef WEB_HTTP_H
#define WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "ms_util.h"

/* The name of the session cookie set by POST /login. */
#define WEB_COOKIE "minisoc_web"

/*
 * Compares a presented token with the configured one in time independent
 * of where they differ and of the presented length (both are hashed with
 * SHA-256 first). True when equal and want is not empty.
 */
bool web_token_equal(const char *want, size_t wantlen, const char *got, size_t gotlen);

/*
 * Finds cookie name in a Cookie header ("a=1; b=2"); *out borrows from
 * header. 0 when found with a value, -1 otherwise.
 */
int web_cookie_get(const char *header, const char *name, struct ms_str *out);

/* The token of "Authorization: Bearer <token>"; *out borrows. 0 or -1. */
int web_bearer_get(const char *header, struct ms_str *out);

/*
 * Finds name in an application/x-www-form-urlencoded body or query string
 * (len bytes, not NUL-terminated) and decodes its value (+ and %XX) into
 * out (NUL-terminated). 0 when found and it fits, -1 when absent, too long
 * or badly encoded.
 */
int web_form_get(const char *body, size_t len, const char *name, char *out, size_t outsz);

/* A Redis stream entry id: "<ms>-<seq>", digits only, at most 41 bytes. */
bool web_stream_id_ok(const char *s);

/*
 * Orders two stream ids that web_stream_id_ok accepts, or "" (before any):
 * <0, 0 or >0 as a is before, the same as or after b. Compared as digit
 * strings: 20 digits may pass uint64_t.
 */
int web_stream_id_cmp(const char *a, const char *b);

#endif
