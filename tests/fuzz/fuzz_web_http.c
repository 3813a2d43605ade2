/*
 * Fuzz target: what browsers send minisoc-web – the input is used as a
 * Cookie header, an Authorization header, a login form body, a query
 * string and a stream id (web_http.c), then compared as a token. Its two
 * first lines are also two stream ids (a Last-Event-ID header against
 * the last id sent): when both are valid, web_stream_id_cmp must order
 * them as the numbers they spell do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "<ms>-<seq>" of web_stream_id_ok as two numbers (at most 20 digits each: 128 bits hold them). */
static void
fuzz_web_id_parse(const char *s, unsigned __int128 *ms, unsigned __int128 *seq)
{
	*ms = *seq = 0;
	for (; *s != '-'; s++)
		*ms = *ms * 10 + (unsigned)(*s - '0');
	for (s++; *s; s++)
		*seq = *seq * 10 + (unsigned)(*s - '0');
}

static int
fuzz_web_sign(int c)
{
	return (c > 0) - (c < 0);
}

static void
fuzz_web_ids(const char *s)
{
	const char *nl = strchr(s, '\n');
	char a[64], b[64];
	unsigned __int128 am, as, bm, bs;
	int want, got;

	if (nl == NULL || (size_t)(nl - s) >= sizeof(a) || strlen(nl + 1) >= sizeof(b))
		return;
	memcpy(a, s, (size_t)(nl - s));
	a[nl - s] = '\0';
	strcpy(b, nl + 1);
	if (!web_stream_id_ok(a) || !web_stream_id_ok(b))
		return;
	fuzz_web_id_parse(a, &am, &as);
	fuzz_web_id_parse(b, &bm, &bs);
	want = am != bm ? (am < bm ? -1 : 1) : as != bs ? (as < bs ? -1 : 1) : 0;
	got = fuzz_web_sign(web_stream_id_cmp(a, b));
	if (got != want || fuzz_web_sign(web_stream_id_cmp(b, a)) != -want ||
	    web_stream_id_cmp(a, a) != 0 || web_stream_id_cmp(a, "") <= 0 ||
	    web_stream_id_cmp("", b) >= 0)
		abort();
}

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
	fuzz_web_ids(s);
	(void)sink;
	free(s);
	return 0;
}
