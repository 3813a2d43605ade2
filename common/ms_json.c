#include "ms_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ms_util.h"
#include "ms_yaml.h"

/*
 * Appends n bytes: while they fit the allocation, here; otherwise (growth,
 * the cap, an earlier overflow) through ms_buf_add. An alert's JSON is a
 * few hundred small appends.
 */
static inline int
json_put(struct ms_buf *b, const void *p, size_t n)
{
	if (!b->toobig && b->data != NULL && n < b->alloc - b->len && n <= b->cap - b->len) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	return ms_buf_add(b, p, n);
}

static inline int
json_putc(struct ms_buf *b, char c)
{
	return json_put(b, &c, 1);
}

/*
 * Non-zero when one of the 8 bytes of x needs escaping: below 0x20, '"',
 * '\\', DEL or 0x80 and above (checked as UTF-8). Word-at-a-time zero-byte
 * tests.
 */
static inline uint64_t
json_special8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((d - ones) & ~d) |
	    ((x - ones * 0x20) & ~x) | x) & high;
}

/*
 * Room to write a string of len source bytes in place: the worst case (6
 * bytes per byte, "\\u00XX") plus extra, inside the cap. The allocation
 * grows to it when the worst case is small (JSON_ROOM_GROW): a reused
 * buffer (an alert's) so takes this path always after its first use.
 * NULL when it is not there (the cap, an earlier overflow, a long string
 * with a buffer short of it): the caller then appends piece by piece
 * through ms_buf_add, which grows the buffer and fails exactly at the cap.
 */
#define JSON_ROOM_GROW (64 * 1024)

static inline char *
json_room(struct ms_buf *b, size_t len, size_t extra)
{
	size_t worst;

	if (b->toobig || len > (SIZE_MAX / 2 - extra) / 6)
		return NULL;
	worst = 6 * len + extra;
	/*
	 * The allocation never passes cap + 1 (ms_buf): room inside it is
	 * inside the cap too, so one comparison answers both (the usual case).
	 */
	if (b->data != NULL && b->len < b->alloc && worst < b->alloc - b->len)
		return b->data + b->len;
	if (b->len > b->cap || worst > b->cap - b->len)
		return NULL;
	/* Within the cap: growing cannot set toobig but for want of memory. */
	if (worst > JSON_ROOM_GROW || ms_buf_room(b, worst) == NULL)
		return NULL;
	return b->data + b->len;
}

/* Counts n bytes written at json_room's pointer. */
static inline void
json_commit(struct ms_buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

/* Writes the escape of control byte, DEL, '"' or '\\' c to w (2 or 6 bytes); returns its length. */
static size_t
json_esc_byte(char *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	w[o++] = '\\';
	switch (c) {
	case '"': w[o++] = '"'; break;
	case '\\': w[o++] = '\\'; break;
	case '\n': w[o++] = 'n'; break;
	case '\r': w[o++] = 'r'; break;
	case '\t': w[o++] = 't'; break;
	default:
		w[o++] = 'u'; w[o++] = '0'; w[o++] = '0';
		w[o++] = hex[c >> 4]; w[o++] = hex[c & 15];
	}
	return o;
}

/*
 * Characters valid in JSON that a YAML 1.1 reader refuses or reads as a
 * line break when they stand as they are: DEL, C1 controls (U+0080..U+009F,
 * NEL among them), U+2028, U+2029, U+FFFE and U+FFFF (cp of 0x7f or more). minisocctl reads
 * alerts and incidents with libyaml (ms_yaml), which refuses a document
 * holding one of them – an alert from a log line with such a character in
 * it would be missing from the report – so they are written as \uXXXX.
 * Returns 6 (written to w) or 0 (cp goes as it is).
 */
static size_t
json_esc_cp(char *w, uint32_t cp)
{
	static const char hex[] = "0123456789abcdef";

	if (!(cp < 0xa0 || cp == 0x2028 || cp == 0x2029 || cp == 0xfffe || cp == 0xffff))
		return 0;
	w[0] = '\\';
	w[1] = 'u';
	w[2] = hex[cp >> 12];
	w[3] = hex[(cp >> 8) & 15];
	w[4] = hex[(cp >> 4) & 15];
	w[5] = hex[cp & 15];
	return 6;
}

/* 1 for the bytes written as they are: 0x20..0x7e but '"' and '\\'. */
#define P8(x) x, x, x, x, x, x, x, x
static const unsigned char json_plain[256] = {
	P8(0), P8(0), P8(0), P8(0),
	1, 1, 0, 1, 1, 1, 1, 1, P8(1), P8(1), P8(1),
	P8(1), P8(1), P8(1), 1, 1, 1, 1, 0, 1, 1, 1,
	P8(1), P8(1), P8(1), 1, 1, 1, 1, 1, 1, 1, 0,
	P8(0), P8(0), P8(0), P8(0), P8(0), P8(0), P8(0), P8(0),
	P8(0), P8(0), P8(0), P8(0), P8(0), P8(0), P8(0), P8(0),
};
#undef P8

#ifdef __SSE2__
/* Non-zero when one of the 16 bytes of x needs escaping (bit per byte). */
static inline unsigned
json_special16(__m128i x)
{
	/* Signed: below 0x20 and 0x80 and above are both "less than" 0x20. */
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
	    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)),
	    _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)))));
}
#endif

/* json_special8 on 4 bytes. */
static inline uint32_t
json_special4(uint32_t x)
{
	const uint32_t ones = 0x01010101u, high = 0x80808080u;
	uint32_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((d - ones) & ~d) |
	    ((x - ones * 0x20) & ~x) | x) & high;
}

/*
 * Writes s (len bytes) escaped to w, which has room for the worst case;
 * returns the bytes written. Plain bytes go 16 at a time (SSE2: x86-64
 * always has it; else two words), written ahead of the check since the
 * room covers it, up to the first special one. A rest of 4 to 15 bytes
 * (most keys and values are all rest) is checked and copied as two
 * overlapping words, both inside s: no call and no loop per byte. What
 * has a special byte goes through a table one byte at a time up to it.
 */
static size_t
json_esc_into(char *w, const unsigned char *s, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t left = len - i;
		unsigned char c;

		if (left >= 16) {
#ifdef __SSE2__
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));

			_mm_storeu_si128((__m128i *)(void *)(w + o), x);
			if (json_special16(x) == 0) {
				i += 16;
				o += 16;
				continue;
			}
#else
			uint64_t x, y;

			memcpy(&x, s + i, 8);
			memcpy(&y, s + i + 8, 8);
			memcpy(w + o, &x, 8);
			memcpy(w + o + 8, &y, 8);
			if ((json_special8(x) | json_special8(y)) == 0) {
				i += 16;
				o += 16;
				continue;
			}
#endif
		} else if (left >= 8) {
			uint64_t x, y;

			memcpy(&x, s + i, 8);
			memcpy(&y, s + len - 8, 8);
			if ((json_special8(x) | json_special8(y)) == 0) {
				memcpy(w + o, &x, 8);
				memcpy(w + o + left - 8, &y, 8);
				o += left;
				break;
			}
		} else if (left >= 4) {
			uint32_t x, y;

			memcpy(&x, s + i, 4);
			memcpy(&y, s + len - 4, 4);
			if ((json_special4(x) | json_special4(y)) == 0) {
				memcpy(w + o, &x, 4);
				memcpy(w + o + left - 4, &y, 4);
				o += left;
				break;
			}
		}
		/* Bytes up to the next special one (at most 15 here, or the rest of 3). */
		while (i < len && json_plain[s[i]])
			w[o++] = (char)s[i++];
		if (i == len)
			break;
		c = s[i];
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = ms_utf8_seq(s + i, len - i, &cp);

			if (n) {
				size_t e = json_esc_cp(w + o, cp);

				if (e == 0)
					memcpy(w + o, s + i, n);
				o += e ? e : n;
				i += n;
			} else {
				memcpy(w + o, "\xef\xbf\xbd", 3);
				o += 3;
				i++;
			}
			continue;
		}
		o += json_esc_byte(w + o, c);
		i++;
	}
	return o;
}

/*
 * A string shorter than 16 bytes (most keys and values): when every byte
 * is plain, copies it to w and returns true, checked as one vector (two
 * overlapping halves, both inside s) without a loop or a call; false when
 * one needs escaping (w may hold part of it: the caller writes it again).
 */
static inline bool
json_plain_small(char *w, const unsigned char *s, size_t len)
{
#ifdef __SSE2__
	if (len >= 8) {
		__m128i lo = _mm_loadl_epi64((const __m128i *)(const void *)s);
		__m128i hi = _mm_loadl_epi64((const __m128i *)(const void *)(s + len - 8));

		if (json_special16(_mm_unpacklo_epi64(lo, hi)))
			return false;
		_mm_storel_epi64((__m128i *)(void *)w, lo);
		_mm_storel_epi64((__m128i *)(void *)(w + len - 8), hi);
		return true;
	}
	if (len >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + len - 4, 4);
		/* The upper half: plain bytes ('a'). */
		if (json_special16(_mm_set_epi32(0x61616161, 0x61616161, (int)b, (int)a)))
			return false;
		memcpy(w, &a, 4);
		memcpy(w + len - 4, &b, 4);
		return true;
	}
#else
	if (len >= 8) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + len - 8, 8);
		if (json_special8(a) | json_special8(b))
			return false;
		memcpy(w, &a, 8);
		memcpy(w + len - 8, &b, 8);
		return true;
	}
#endif
	for (size_t i = 0; i < len; i++) {
		if (!json_plain[s[i]])
			return false;
		w[i] = (char)s[i];
	}
	return true;
}

/* json_esc_into, with the usual short plain string inline at the caller. */
static inline size_t
json_esc(char *w, const unsigned char *s, size_t len)
{
	if (len < 16 && json_plain_small(w, s, len))
		return len;
	return json_esc_into(w, s, len);
}

void
ms_json_init(struct ms_json *j, struct ms_buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void
json_sep(struct ms_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (!j->first[j->depth - 1] && json_putc(j->out, ',') < 0)
			j->err = true;
		j->first[j->depth - 1] = false;
	}
}

/*
 * json_sep for the fast paths, which have their room already: the comma
 * (if one is due) goes to w; returns the bytes written there, 0 or 1.
 */
static inline size_t
json_sep_into(struct ms_json *j, char *w)
{
	bool first;

	if (j->after_key) {
		j->after_key = false;
		return 0;
	}
	if (j->depth == 0)
		return 0;
	first = j->first[j->depth - 1];
	j->first[j->depth - 1] = false;
	if (first)
		return 0;
	*w = ',';
	return 1;
}

static void
json_open(struct ms_json *j, char c)
{
	char *w;

	if (j->depth < MS_JSON_MAX_DEPTH && (w = json_room(j->out, 0, 3)) != NULL) {
		size_t o = json_sep_into(j, w);

		w[o++] = c;
		json_commit(j->out, o);
		j->first[j->depth++] = true;
		return;
	}
	json_sep(j);
	if (j->depth >= MS_JSON_MAX_DEPTH) {
		j->err = true;
		return;
	}
	if (json_putc(j->out, c) < 0)
		j->err = true;
	j->first[j->depth++] = true;
}

static void
json_close(struct ms_json *j, char c)
{
	/* A key without its value ("{\"k\":}") would be invalid JSON. */
	if (j->depth == 0 || j->after_key) {
		j->err = true;
		return;
	}
	j->depth--;
	if (json_putc(j->out, c) < 0)
		j->err = true;
}

void ms_json_obj_open(struct ms_json *j) { json_open(j, '{'); }
void ms_json_obj_close(struct ms_json *j) { json_close(j, '}'); }
void ms_json_arr_open(struct ms_json *j) { json_open(j, '['); }
void ms_json_arr_close(struct ms_json *j) { json_close(j, ']'); }

int
ms_json_escape(struct ms_buf *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int rc = 0;
	char *w;

	if ((w = json_room(out, len, 1)) != NULL) {
		json_commit(out, json_esc_into(w, s, len));
		return 0;
	}

	while (i < len) {
		unsigned char c;
		char esc[7];
		size_t el = 0, n;
		uint32_t cp;

		/* Plain bytes 8 at a time; the word with a special byte goes byte by byte. */
		while (len - i >= 8) {
			uint64_t x;
			memcpy(&x, s + i, 8);
			if (json_special8(x))
				break;
			i += 8;
			run += 8;
		}
		if (i == len)
			break;
		c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
			run++;
			i++;
			continue;
		}
		/* Flush the run of plain bytes before this one. */
		if (run && json_put(out, s + i - run, run) < 0)
			rc = -1;
		run = 0;
		if (c >= 0x80) {
			n = ms_utf8_seq(s + i, len - i, &cp);
			if (n) {
				size_t e = json_esc_cp(esc, cp);

				if (json_put(out, e ? esc : (const char *)s + i, e ? e : n) < 0)
					rc = -1;
				i += n;
			} else {
				if (ms_buf_add(out, "\xef\xbf\xbd", 3) < 0)
					rc = -1;
				i++;
			}
			continue;
		}
		el = json_esc_byte(esc, c);
		if (json_put(out, esc, el) < 0)
			rc = -1;
		i++;
	}
	if (run && json_put(out, s + len - run, run) < 0)
		rc = -1;
	return rc;
}

void
ms_json_keyn(struct ms_json *j, const char *key, size_t n)
{
	char *w;

	/* One room check for the comma, the quotes and the colon too. */
	if ((w = json_room(j->out, n, 5)) != NULL) {
		size_t o = json_sep_into(j, w);

		w[o++] = '"';
		o += json_esc(w + o, (const unsigned char *)key, n);
		w[o++] = '"';
		w[o++] = ':';
		json_commit(j->out, o);
		j->after_key = true;
		return;
	}
	json_sep(j);
	j->after_key = true;
	if (json_putc(j->out, '"') < 0 || ms_json_escape(j->out, key, n) < 0 ||
	    json_put(j->out, "\":", 2) < 0)
		j->err = true;
}

void
ms_json_strn(struct ms_json *j, const char *s, size_t len)
{
	char *w;

	if ((w = json_room(j->out, len, 4)) != NULL) {
		size_t o = json_sep_into(j, w);

		w[o++] = '"';
		o += json_esc(w + o, (const unsigned char *)s, len);
		w[o++] = '"';
		json_commit(j->out, o);
		return;
	}
	json_sep(j);
	if (json_putc(j->out, '"') < 0 || ms_json_escape(j->out, s, len) < 0 ||
	    json_putc(j->out, '"') < 0)
		j->err = true;
}

void
ms_json_kv_strn(struct ms_json *j, const char *k, size_t klen, const char *v, size_t vlen)
{
	char *w;

	/* The pair in one piece of room: half the checks and calls of key then value. */
	if (klen < SIZE_MAX / 16 && vlen < SIZE_MAX / 16 &&
	    (w = json_room(j->out, klen + vlen, 7)) != NULL) {
		size_t o = json_sep_into(j, w);

		w[o++] = '"';
		o += json_esc(w + o, (const unsigned char *)k, klen);
		w[o++] = '"';
		w[o++] = ':';
		w[o++] = '"';
		o += json_esc(w + o, (const unsigned char *)v, vlen);
		w[o++] = '"';
		json_commit(j->out, o);
		return;
	}
	ms_json_keyn(j, k, klen);
	ms_json_strn(j, v, vlen);
}

/*
 * v in decimal at the end of d; returns where it starts (*n bytes). Digits
 * from the end; the magnitude as unsigned, so INT64_MIN works too.
 */
static char *
json_digits(int64_t v, char d[24], size_t *n)
{
	char *p = d + 24;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	*n = (size_t)(d + 24 - p);
	return p;
}

void
ms_json_int(struct ms_json *j, int64_t v)
{
	char d[24], *w;
	size_t n;
	const char *p = json_digits(v, d, &n);

	if ((w = json_room(j->out, 0, n + 2)) != NULL) {
		size_t o = json_sep_into(j, w);

		memcpy(w + o, p, n);
		json_commit(j->out, o + n);
		return;
	}
	json_sep(j);
	if (json_put(j->out, p, n) < 0)
		j->err = true;
}

/* "k": then c ('{' or '['), in one room check: a named object or array. */
static void
json_kv_open(struct ms_json *j, const char *k, size_t klen, char c)
{
	char *w;

	if (j->depth < MS_JSON_MAX_DEPTH && (w = json_room(j->out, klen, 6)) != NULL) {
		size_t o = json_sep_into(j, w);

		w[o++] = '"';
		o += json_esc(w + o, (const unsigned char *)k, klen);
		w[o++] = '"';
		w[o++] = ':';
		w[o++] = c;
		json_commit(j->out, o);
		j->first[j->depth++] = true;
		return;
	}
	ms_json_keyn(j, k, klen);
	json_open(j, c);
}

void ms_json_kv_obj_open(struct ms_json *j, const char *k, size_t klen) { json_kv_open(j, k, klen, '{'); }
void ms_json_kv_arr_open(struct ms_json *j, const char *k, size_t klen) { json_kv_open(j, k, klen, '['); }

void
ms_json_kv_int(struct ms_json *j, const char *k, size_t klen, int64_t v)
{
	char d[24], *w;
	size_t n;
	const char *p = json_digits(v, d, &n);

	if ((w = json_room(j->out, klen, n + 5)) != NULL) {
		size_t o = json_sep_into(j, w);

		w[o++] = '"';
		o += json_esc(w + o, (const unsigned char *)k, klen);
		w[o++] = '"';
		w[o++] = ':';
		memcpy(w + o, p, n);
		json_commit(j->out, o + n);
		return;
	}
	ms_json_keyn(j, k, klen);
	ms_json_int(j, v);
}

void
ms_json_bool(struct ms_json *j, bool v)
{
	json_sep(j);
	if (ms_buf_adds(j->out, v ? "true" : "false") < 0)
		j->err = true;
}

void
ms_json_null(struct ms_json *j)
{
	json_sep(j);
	if (ms_buf_adds(j->out, "null") < 0)
		j->err = true;
}

int
ms_json_finish(struct ms_json *j)
{
	return (j->err || j->depth != 0 || j->after_key || j->out->toobig) ? -1 : 0;
}

void
ms_json_kv_str(struct ms_json *j, const char *k, const char *v)
{
	if (v == NULL) {
		ms_json_key(j, k);
		ms_json_null(j);
	} else {
		ms_json_kv_strn(j, k, strlen(k), v, strlen(v));
	}
}

/* json with the characters libyaml refuses or folds escaped, into out. */
static int
json_for_yaml(struct ms_buf *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	int rc = 0;

	while (i < len) {
		char esc[7];
		uint32_t cp;
		size_t n;

		if (s[i] < 0x7f) {
			run++;
			i++;
			continue;
		}
		if (s[i] == 0x7f) {
			n = 1;
			json_esc_cp(esc, 0x7f);
		} else if ((n = ms_utf8_seq(s + i, len - i, &cp)) == 0) {
			n = 1;
			memcpy(esc, "\\ufffd", 6);	/* a byte that is not UTF-8 */
		} else if (json_esc_cp(esc, cp) == 0) {
			run += n;
			i += n;
			continue;
		}
		if (run && ms_buf_add(out, s + i - run, run) < 0)
			rc = -1;
		run = 0;
		if (ms_buf_add(out, esc, 6) < 0)
			rc = -1;
		i += n;
	}
	if (run && ms_buf_add(out, s + len - run, run) < 0)
		rc = -1;
	return rc;
}

int
ms_json_yaml_parse(const char *json, size_t len, struct ms_yaml_node ***docs, size_t *ndocs,
    char *err, size_t errsz)
{
	struct ms_buf b;
	int rc;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)json[i] >= 0x7f)
			goto escape;
	return ms_yaml_parse(json, len, docs, ndocs, err, errsz);
escape:
	/* At most 6 bytes for one: the cap is never what stops it. */
	ms_buf_init(&b, len > SIZE_MAX / 6 - 1 ? SIZE_MAX : 6 * len + 1);
	if (json_for_yaml(&b, json, len) < 0) {
		ms_buf_fini(&b);
		*docs = NULL;
		*ndocs = 0;
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	rc = ms_yaml_parse(b.data, b.len, docs, ndocs, err, errsz);
	ms_buf_fini(&b);
	return rc;
}
