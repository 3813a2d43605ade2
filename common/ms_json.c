#include "ms_json.h"

#include <inttypes.h>
#include <string.h>

#include "ms_util.h"

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
 * '\\' or 0x80 and above (checked as UTF-8). Word-at-a-time zero-byte tests.
 */
static inline uint64_t
json_special8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x) & high;
}

/*
 * Room to write a string of len source bytes in place: the worst case (6
 * bytes per byte, "\\u00XX") plus extra, inside both the current
 * allocation and the cap. NULL when it is not there (growth, the cap, an
 * earlier overflow): the caller then appends piece by piece through
 * ms_buf_add, which grows the buffer and fails exactly at the cap. A
 * reused buffer (an alert's) takes this path nearly always.
 */
static char *
json_room(struct ms_buf *b, size_t len, size_t extra)
{
	size_t worst;

	if (b->toobig || b->data == NULL || len > (SIZE_MAX / 2 - extra) / 6)
		return NULL;
	worst = 6 * len + extra;
	if (b->len > b->cap || worst > b->cap - b->len || worst >= b->alloc - b->len)
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

/* Writes the escape of control byte, '"' or '\\' c to w (2 or 6 bytes); returns its length. */
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
 * Writes s (len bytes) escaped to w, which has room for the worst case;
 * returns the bytes written. Plain bytes go 8 at a time (written ahead of
 * the check: the room covers it), up to the first special one.
 */
static size_t
json_esc_into(char *w, const unsigned char *s, size_t len)
{
	size_t i = 0, o = 0;

	while (i < len) {
		unsigned char c;

		while (len - i >= 8) {
			uint64_t x, m;

			memcpy(&x, s + i, 8);
			memcpy(w + o, &x, 8);
			if ((m = json_special8(x)) == 0) {
				i += 8;
				o += 8;
				continue;
			}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			{
				/* The lowest flagged byte is a true one (borrows only run upwards). */
				size_t k = (size_t)__builtin_ctzll(m) / 8;

				i += k;
				o += k;
			}
#endif
			break;
		}
		if (i == len)
			break;
		if (len - i < 8) {
			/*
			 * The tail (most keys and values are all tail): its bytes as one
			 * word, padded with plain ones; plain, they are copied at once.
			 */
			uint64_t x = 0x6161616161616161ull;

			memcpy(&x, s + i, len - i);
			if (json_special8(x) == 0) {
				memcpy(w + o, s + i, len - i);
				o += len - i;
				break;
			}
		}
		c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			w[o++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = ms_utf8_seq(s + i, len - i, &cp);

			if (n) {
				memcpy(w + o, s + i, n);
				o += n;
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

static void
json_open(struct ms_json *j, char c)
{
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
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
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
				if (json_put(out, s + i, n) < 0)
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
ms_json_key(struct ms_json *j, const char *key)
{
	size_t n = strlen(key);
	char *w;

	json_sep(j);
	j->after_key = true;
	if ((w = json_room(j->out, n, 4)) != NULL) {
		size_t o = 1;

		w[0] = '"';
		o += json_esc_into(w + 1, (const unsigned char *)key, n);
		w[o++] = '"';
		w[o++] = ':';
		json_commit(j->out, o);
		return;
	}
	if (json_putc(j->out, '"') < 0 || ms_json_escape(j->out, key, n) < 0 ||
	    json_put(j->out, "\":", 2) < 0)
		j->err = true;
}

void
ms_json_strn(struct ms_json *j, const char *s, size_t len)
{
	char *w;

	json_sep(j);
	if ((w = json_room(j->out, len, 3)) != NULL) {
		size_t o = 1;

		w[0] = '"';
		o += json_esc_into(w + 1, (const unsigned char *)s, len);
		w[o++] = '"';
		json_commit(j->out, o);
		return;
	}
	if (json_putc(j->out, '"') < 0 || ms_json_escape(j->out, s, len) < 0 ||
	    json_putc(j->out, '"') < 0)
		j->err = true;
}

void
ms_json_str(struct ms_json *j, const char *s)
{
	if (s == NULL)
		ms_json_null(j);
	else
		ms_json_strn(j, s, strlen(s));
}

void
ms_json_int(struct ms_json *j, int64_t v)
{
	char d[24], *p = d + sizeof(d);
	/* Digits from the end; the magnitude as unsigned, so INT64_MIN works too. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	json_sep(j);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	if (json_put(j->out, p, (size_t)(d + sizeof(d) - p)) < 0)
		j->err = true;
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
	ms_json_key(j, k);
	ms_json_str(j, v);	/* NULL writes null */
}
