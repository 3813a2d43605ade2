/*
 * net_event – the JSON lines of network events, written straight into a
 * fixed buffer (no allocation, no printf on the hot path). Field names are
 * Zeek's (docs/network.md) so public Sigma rules for product zeek apply;
 * "_path" names the log, as Zeek's JSON writer does in a combined stream.
 */
#include <string.h>

#include "net.h"
#include "net_int.h"

/* Appends n raw bytes or marks the line truncated (nothing half-written). */
static bool
jw_put(struct net_jw *w, const char *s, size_t n)
{
	if (w->trunc || n > w->cap - w->len) {
		w->trunc = true;
		return false;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return true;
}

/* Decimal text of v at the end of out (24 bytes); returns where it starts. */
static char *
jw_utoa(uint64_t v, char out[24])
{
	char *p = out + 23;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

/* ,"key": */
static bool
jw_key(struct net_jw *w, const char *key)
{
	char tmp[80];
	size_t kl = strlen(key);

	if (kl + 4 > sizeof(tmp))
		return false;
	tmp[0] = ',';
	tmp[1] = '"';
	memcpy(tmp + 2, key, kl);
	tmp[kl + 2] = '"';
	tmp[kl + 3] = ':';
	return jw_put(w, tmp, kl + 4);
}

void
net_jw_begin(struct net_jw *w, char *buf, size_t cap, const char *path, int64_t ts_us)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap - 2;
	w->trunc = false;
	jw_put(w, "{\"_path\":\"", 10);
	jw_put(w, path, strlen(path));
	jw_put(w, "\"", 1);
	net_jw_time(w, "ts", ts_us);
}

/* The escaped string body of s into w; false (w->trunc) when it does not fit. */
static bool
jw_escaped(struct net_jw *w, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = w->len;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		char e[6];
		size_t el;

		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			if (w->len >= w->cap)
				goto full;
			w->buf[w->len++] = (char)c;
			continue;
		}
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else {
			e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		if (el > w->cap - w->len)
			goto full;
		memcpy(w->buf + w->len, e, el);
		w->len += el;
	}
	return true;
full:
	w->len = start;
	w->trunc = true;
	return false;
}

void
net_jw_str(struct net_jw *w, const char *key, const void *s, size_t n)
{
	size_t start = w->len;

	if (!jw_key(w, key) || !jw_put(w, "\"", 1) || !jw_escaped(w, s, n) ||
	    !jw_put(w, "\"", 1))
		w->len = start;
}

void
net_jw_cstr(struct net_jw *w, const char *key, const char *s)
{
	net_jw_str(w, key, s, strlen(s));
}

void
net_jw_u64(struct net_jw *w, const char *key, uint64_t v)
{
	char tmp[24], *p = jw_utoa(v, tmp);
	size_t start = w->len;

	if (!jw_key(w, key) || !jw_put(w, p, (size_t)(tmp + 23 - p)))
		w->len = start;
}

void
net_jw_bool(struct net_jw *w, const char *key, bool v)
{
	size_t start = w->len;

	if (!jw_key(w, key) || !jw_put(w, v ? "true" : "false", v ? 4 : 5))
		w->len = start;
}

void
net_jw_time(struct net_jw *w, const char *key, int64_t us)
{
	char tmp[24], frac[7], *p;
	size_t start = w->len;
	uint64_t u = us < 0 ? 0 : (uint64_t)us, f = u % 1000000;

	p = jw_utoa(u / 1000000, tmp);
	for (int i = 5; i >= 0; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	frac[6] = '.';
	if (!jw_key(w, key) || !jw_put(w, p, (size_t)(tmp + 23 - p)) || !jw_put(w, ".", 1) ||
	    !jw_put(w, frac, 6))
		w->len = start;
}

void
net_jw_addr(struct net_jw *w, const char *key, const uint8_t a[16])
{
	char tmp[64];

	net_addr_fmt(a, tmp, sizeof(tmp));
	net_jw_cstr(w, key, tmp);
}

void
net_jw_strv(struct net_jw *w, const char *key, const char *const *v, size_t n)
{
	size_t start = w->len;

	if (!jw_key(w, key) || !jw_put(w, "[", 1))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && !jw_put(w, ",", 1)) || !jw_put(w, "\"", 1) ||
		    !jw_escaped(w, (const uint8_t *)v[i], strlen(v[i])) || !jw_put(w, "\"", 1))
			goto fail;
	if (jw_put(w, "]", 1))
		return;
fail:
	w->len = start;
}

size_t
net_jw_end(struct net_jw *w)
{
	/* two bytes were kept back in begin */
	w->buf[w->len++] = '}';
	w->buf[w->len] = '\0';
	return w->len;
}
