/*
 * Fuzz target: the JSON minisoc writes from untrusted bytes and reads back
 * from Redis. An alert carries what an outsider put in a log line (a user
 * name, a DNS name, the raw line); ms_json writes it into the alert, the
 * dashboard's live stream and the forwarder's input; minisocctl (alerts,
 * report, incident) reads it back with ms_yaml, minisoc-forward with
 * ms_jsonr. The input is one string, written as a value, a key and an
 * array item. Checked:
 *  - the text has no byte below 0x20 (one line: a Server-Sent Event's
 *    data line, a Redis field, a log line);
 *  - writing it piece by piece (a buffer with room for the result but not
 *    for the worst case) gives the same bytes as the one-pass writer;
 *  - ms_jsonr and ms_yaml both read it, and both give back the input with
 *    each byte that is not part of valid UTF-8 replaced by U+FFFD;
 *  - the same text as a collector wrote it before DEL, C1 controls,
 *    U+2028/2029 and U+FFFE/FFFF were escaped (them as they are) reads the
 *    same through ms_json_yaml_parse, as minisocctl reads stored alerts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ms_buf.h"
#include "ms_json.h"
#include "ms_jsonr.h"
#include "ms_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_JSON_KEY 64

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 when none starts there. */
static size_t
fuzz_json_utf8(const uint8_t *s, size_t len)
{
	uint32_t v;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, v = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, v = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, v = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, past U+10FFFF */
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return n;
}

/* What a reader must get back: s with every stray byte as U+FFFD. */
static size_t
fuzz_json_expect(const uint8_t *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = fuzz_json_utf8(s + i, len - i);

		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	return o;
}

/*
 * The text as ms_json wrote it before it escaped DEL, C1 controls, U+2028,
 * U+2029, U+FFFE and U+FFFF: those \\uXXXX back to UTF-8, every other
 * escape as it is. out has room for len bytes.
 */
static size_t
fuzz_json_old(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		unsigned cp;

		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		if (s[i + 1] != 'u') {
			out[o++] = s[i++];
			out[o++] = s[i++];
			continue;
		}
		cp = (unsigned)strtoul((char[5]){ s[i + 2], s[i + 3], s[i + 4], s[i + 5], 0 }, NULL, 16);
		if (cp == 0x7f) {
			out[o++] = 0x7f;
		} else if (cp >= 0x80 && cp < 0xa0) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfffe || cp == 0xffff) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			memcpy(out + o, s + i, 6);
			o += 6;
		}
		i += 6;
	}
	return o;
}

static void
fuzz_json_write(struct ms_buf *b, const char *s, size_t len, const char *key)
{
	struct ms_json j;

	ms_json_init(&j, b);
	ms_json_obj_open(&j);
	ms_json_kv_strn(&j, "t", 1, s, len);
	/*
	 * Never "t" or "a" (readers may refuse a duplicate), and at most 64
	 * bytes: libyaml takes a key of at most 1024 characters as written,
	 * and the keys of an alert are names from decoders and rules (a
	 * decoded field's name has at most 63 bytes).
	 */
	ms_json_keyn(&j, key, len + 1 < FUZZ_JSON_KEY ? len + 1 : FUZZ_JSON_KEY);
	ms_json_str(&j, "k");
	ms_json_kv_arr_open(&j, "a", 1);
	ms_json_strn(&j, s, len);
	ms_json_int(&j, -1);
	ms_json_arr_close(&j);
	ms_json_obj_close(&j);
	if (ms_json_finish(&j) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_buf one, piece;
	struct ms_jsonr *d;
	const struct ms_jv *root, *v;
	struct ms_yaml_node **docs = NULL, *y;
	size_t ndocs = 0, elen;
	char err[256], *want, *key;

	if (size > 1 << 16 || (want = malloc(3 * size + 1)) == NULL)
		return 0;
	if ((key = malloc(size + 1)) == NULL) {
		free(want);
		return 0;
	}
	key[0] = '~';
	if (size > 0)
		memcpy(key + 1, data, size);
	elen = fuzz_json_expect(data, size, want);

	ms_buf_init(&one, 1u << 20);
	fuzz_json_write(&one, (const char *)data, size, key);
	for (size_t i = 0; i < one.len; i++)
		if ((unsigned char)one.data[i] < 0x20)
			abort();	/* a control byte as it is: the text is not one line */

	/* Room for the result but not for 6 bytes per byte: the piecewise writer. */
	ms_buf_init(&piece, one.len);
	fuzz_json_write(&piece, (const char *)data, size, key);
	if (piece.len != one.len || memcmp(piece.data, one.data, one.len) != 0)
		abort();
	ms_buf_fini(&piece);

	/* minisoc-forward's reader */
	if ((d = ms_jsonr_parse(one.data, one.len, 64, err, sizeof(err))) == NULL)
		abort();
	root = ms_jsonr_root(d);
	if (root->type != MS_JV_OBJ || (v = ms_jv_get(root, "t")) == NULL || v->type != MS_JV_STR ||
	    v->len != elen || memcmp(v->str, want, elen) != 0)
		abort();
	if ((v = ms_jv_get(root, "a")) == NULL || v->type != MS_JV_ARR || v->n != 2 ||
	    v->child->type != MS_JV_STR || v->child->len != elen ||
	    memcmp(v->child->str, want, elen) != 0)
		abort();
	ms_jsonr_free(d);

	/* minisocctl's reader (alerts, report, incident) */
	if (ms_yaml_parse(one.data, one.len, &docs, &ndocs, err, sizeof(err)) < 0 || ndocs != 1 ||
	    docs[0]->type != MS_YAML_MAP)
		abort();
	if ((y = ms_yaml_get(docs[0], "t")) == NULL || y->type != MS_YAML_SCALAR || y->len != elen ||
	    memcmp(y->str, want, elen) != 0)
		abort();
	if ((y = ms_yaml_get(docs[0], "a")) == NULL || y->type != MS_YAML_SEQ || y->n != 2 ||
	    y->items[0]->len != elen || memcmp(y->items[0]->str, want, elen) != 0)
		abort();
	ms_yaml_docs_free(docs, ndocs);

	/* An alert stored by a collector before the escapes: minisocctl still reads it. */
	{
		char *old = malloc(one.len + 1);
		size_t olen;

		if (old == NULL)
			abort();
		olen = fuzz_json_old(one.data, one.len, old);
		if (ms_json_yaml_parse(old, olen, &docs, &ndocs, err, sizeof(err)) < 0 ||
		    ndocs != 1 || docs[0]->type != MS_YAML_MAP)
			abort();
		if ((y = ms_yaml_get(docs[0], "t")) == NULL || y->type != MS_YAML_SCALAR ||
		    y->len != elen || memcmp(y->str, want, elen) != 0)
			abort();
		ms_yaml_docs_free(docs, ndocs);
		free(old);
	}
	ms_buf_fini(&one);
	free(key);
	free(want);
	return 0;
}
