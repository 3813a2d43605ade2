/*
 * Fuzz target: what browsers send minisoc-web – the input is used as a
 * Cookie header, an Authorization header, a login form body, a query
 * string and a stream id (web_http.c), then compared as a token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char want[] = "0123456789abcdef0123456789abcdef";
	char *s, out[512], tiny[4];
	struct ms_str v;
	volatile size_t sink = 0;

	if (size > 1 << 16 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* As headers: NUL-terminated strings. */
	if (web_cookie_get(s, WEB_COOKIE, &v) == 0)
		sink += v.len + web_token_equal(want, strlen(want), v.p, v.len);
	if (web_bearer_get(s, &v) == 0)
		sink += v.len + (v.len ? (unsigned char)v.p[v.len - 1] : 0);
	/* As a form or query: raw bytes, NULs included. */
	if (web_form_get(s, size, "token", out, sizeof(out)) == 0)
		sink += strlen(out);
	if (web_form_get(s, size, "id", tiny, sizeof(tiny)) == 0)
		sink += strlen(tiny);
	sink += web_stream_id_ok(s);
	(void)sink;
	free(s);
	return 0;
}
