/* web_http – parsers for what browsers send to minisoc-web; see web_http.h. */
#include "web_http.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

bool
web_token_equal(const char *want, size_t wantlen, const char *got, size_t gotlen)
{
	unsigned char a[32], b[32];
	unsigned int al = 0, bl = 0;

	/* Hashing first makes the comparison independent of both lengths. */
	if (EVP_Digest(want, wantlen, a, &al, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(got, gotlen, b, &bl, EVP_sha256(), NULL) != 1 || al != 32 || bl != 32)
		return false;
	return CRYPTO_memcmp(a, b, 32) == 0 && wantlen > 0;
}

int
web_cookie_get(const char *header, const char *name, struct ms_str *out)
{
	size_t nl = strlen(name);
	const char *p = header;

	if (header == NULL)
		return -1;
	while (*p) {
		const char *end;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = p + strcspn(p, ";");
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1, *ve = end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve > v) {
				*out = ms_str_make(v, (size_t)(ve - v));
				return 0;
			}
		}
		p = end;
	}
	return -1;
}

int
web_bearer_get(const char *header, struct ms_str *out)
{
	const char *v;
	size_t n;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return -1;
	v = header + 7;
	while (*v == ' ')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	*out = ms_str_make(v, n);
	return 0;
}

int
web_form_get(const char *body, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name), i = 0;

	if (body == NULL || outsz == 0)
		return -1;
	while (i < len) {
		size_t start = i, end, eq;

		while (i < len && body[i] != '&')
			i++;
		end = i++;
		eq = start;
		while (eq < end && body[eq] != '=')
			eq++;
		if (eq - start != nl || memcmp(body + start, name, nl) != 0)
			continue;
		{
			size_t o = 0;
			for (size_t k = eq + 1; k < end; k++) {
				char c = body[k];
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int hi, lo;
					if (k + 2 >= end || (hi = ms_hexval(body[k + 1])) < 0 ||
					    (lo = ms_hexval(body[k + 2])) < 0)
						return -1;
					c = (char)(hi << 4 | lo);
					k += 2;
				}
				if (c == '\0' || o + 1 >= outsz)
					return -1;
				out[o++] = c;
			}
			out[o] = '\0';
			return 0;
		}
	}
	return -1;
}

bool
web_stream_id_ok(const char *s)
{
	size_t a = strspn(s, "0123456789"), b;

	if (a == 0 || a > 20 || s[a] != '-')
		return false;
	b = strspn(s + a + 1, "0123456789");
	return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

/* Compares the decimal numbers a[0..an) and b[0..bn) (digits only). */
static int
digits_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	while (an > 1 && *a == '0') {
		a++;
		an--;
	}
	while (bn > 1 && *b == '0') {
		b++;
		bn--;
	}
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

int
web_stream_id_cmp(const char *a, const char *b)
{
	size_t am, bm;
	int c;

	if (a[0] == '\0' || b[0] == '\0')
		return (a[0] != '\0') - (b[0] != '\0');
	am = strcspn(a, "-");
	bm = strcspn(b, "-");
	if ((c = digits_cmp(a, am, b, bm)) != 0)
		return c;
	a += am + (a[am] == '-');
	b += bm + (b[bm] == '-');
	return digits_cmp(a, strlen(a), b, strlen(b));
}
