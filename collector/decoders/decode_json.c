/*
 * decode_json – journald records as `journalctl -o json` writes them, one
 * JSON object per line:
 *
 *   {"__REALTIME_TIMESTAMP":"1700000000000000","_HOSTNAME":"h",
 *    "SYSLOG_IDENTIFIER":"sshd","_PID":"123","MESSAGE":"Failed password ..."}
 *
 * A small bounded scanner, not a general JSON parser: one flat object whose
 * values we read are strings or numbers; nested arrays and objects are
 * skipped (depth-limited), except MESSAGE as an array of byte values, which
 * is how journalctl writes a message that is not valid UTF-8.
 *
 * The whole line is checked before d is touched, so a line that is not such
 * an object stays exactly as decode_syslog left it. Values are slices of
 * the line, or unescaped into d's scratch area when they hold escapes
 * (\uXXXX and surrogate pairs become UTF-8; a lone surrogate U+FFFD).
 *
 * Header fields: app = SYSLOG_IDENTIFIER, else _COMM; pid = SYSLOG_PID,
 * else _PID; host = _HOSTNAME; time = _SOURCE_REALTIME_TIMESTAMP, else
 * __REALTIME_TIMESTAMP (microseconds); severity = PRIORITY, facility =
 * SYSLOG_FACILITY; msg = MESSAGE. fmt stays DECODE_SYSLOG_NONE.
 */
#include "decode.h"
#include "decoders.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Nesting we skip through before calling the line garbage. */
#define JSON_MAX_DEPTH 32
/* Microseconds since the epoch fit in 19 digits until year 2262. */
#define JSON_MAX_TS_DIGITS 19


enum json_key {
	JSON_MESSAGE = 0,
	JSON_IDENT,
	JSON_COMM,
	JSON_SYSLOG_PID,
	JSON_PID,
	JSON_HOSTNAME,
	JSON_SRC_TS,
	JSON_RT_TS,
	JSON_PRIORITY,
	JSON_FACILITY,
	JSON_NKEYS,
};

static const char *const json_keys[JSON_NKEYS] = {
	"MESSAGE", "SYSLOG_IDENTIFIER", "_COMM", "SYSLOG_PID", "_PID", "_HOSTNAME",
	"_SOURCE_REALTIME_TIMESTAMP", "__REALTIME_TIMESTAMP", "PRIORITY", "SYSLOG_FACILITY",
};

enum json_kind {
	JSON_NONE = 0,
	JSON_STR,	/* raw = the bytes between the quotes, still escaped */
	JSON_NUM,	/* raw = the token */
	JSON_BYTES,	/* raw = "[1,2,3]" */
	JSON_NULL,	/* null: the key as if absent (Sigma's null is "absent or empty") */
};

struct json_val {
	enum json_kind kind;
	bool esc;		/* a string holding backslashes */
	struct ms_str raw;
};

static void
json_ws(const char *s, size_t n, size_t *i)
{
	while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r' || s[*i] == '\n'))
		(*i)++;
}

/* Four hex digits at p (4 bytes readable): the code unit, or -1. */
static long
json_u4(const char *p)
{
	long v = 0;

	for (int k = 0; k < 4; k++) {
		int h = ms_hexval(p[k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * A string at s[*i] == '"': checks its escapes, sets v, moves *i past the
 * closing quote. False on a bad escape or a missing end.
 */
static bool
json_string(const char *s, size_t n, size_t *i, struct json_val *v)
{
	size_t j = *i + 1;

	v->esc = false;
	while (j < n && s[j] != '"') {
		if (s[j] == '\\') {
			if (j + 1 >= n)
				return false;
			v->esc = true;
			switch (s[j + 1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				j += 2;
				break;
			case 'u':
				if (n - j < 6 || json_u4(s + j + 2) < 0)
					return false;
				j += 6;
				break;
			default:
				return false;
			}
		} else {
			j++;
		}
	}
	if (j >= n)
		return false;
	v->kind = JSON_STR;
	v->raw = ms_str_make(s + *i + 1, j - *i - 1);
	*i = j + 1;
	return true;
}

/* A number, true, false or null token (a bare run of their characters). */
static bool
json_scalar(const char *s, size_t n, size_t *i, struct json_val *v)
{
	size_t j = *i;

	while (j < n) {
		char c = s[j];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
		    c == '+' || c == '.' || c == 'E'))
			break;
		j++;
	}
	if (j == *i)
		return false;
	v->raw = ms_str_make(s + *i, j - *i);
	v->kind = ms_str_eq(v->raw, "null") ? JSON_NULL : JSON_NUM;
	*i = j;
	return true;
}

/*
 * Skips an array or object at s[*i] ('[' or '{'), strings inside included.
 * Sets v to JSON_BYTES when it is an array of integers 0..255 only.
 */
static bool
json_skip_nested(const char *s, size_t n, size_t *i, struct json_val *v)
{
	char stack[JSON_MAX_DEPTH];
	size_t depth = 0, j = *i;
	bool bytes = s[j] == '[';

	while (j < n) {
		char c = s[j];
		if (c == '[' || c == '{') {
			if (depth == JSON_MAX_DEPTH)
				return false;
			if (depth > 0)
				bytes = false;
			stack[depth++] = c == '[' ? ']' : '}';
			j++;
		} else if (c == ']' || c == '}') {
			if (depth == 0 || stack[depth - 1] != c)
				return false;
			j++;
			if (--depth == 0)
				break;
		} else if (c == '"') {
			struct json_val tmp;
			bytes = false;
			if (!json_string(s, n, &j, &tmp))
				return false;
		} else {
			if (!(c == ',' || c == ' ' || c == ':' || c == '\t' ||
			    (c >= '0' && c <= '9')))
				bytes = false;
			j++;
		}
	}
	if (depth != 0)
		return false;
	v->kind = bytes ? JSON_BYTES : JSON_NONE;
	v->raw = ms_str_make(s + *i, j - *i);
	*i = j;
	return true;
}

/* Code point cp as UTF-8 at o; returns the bytes written (1..4). */
static size_t
json_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * The text of a value checked by json_string / json_skip_nested: a slice
 * of the line when nothing needs undoing, else unescaped (or the bytes of
 * a byte array) in scratch. MS_STR_NULL when scratch is full. Every output
 * is no longer than the raw text (\uXXXX: 6 bytes in, at most 3 out; a
 * surrogate pair 12 in, 4 out; a byte "255," 4 in, 1 out).
 */
static struct ms_str
json_text(struct decoded *d, const struct json_val *v)
{
	const char *p = v->raw.p;
	size_t n = v->raw.len, w = 0;
	char *o;

	if (v->kind == JSON_NUM || (v->kind == JSON_STR && !v->esc))
		return v->raw;
	if (v->kind == JSON_NONE || v->kind == JSON_NULL || (o = decode_scratch(d, n)) == NULL)
		return MS_STR_NULL;
	if (v->kind == JSON_BYTES) {
		unsigned b = 0;
		bool in = false;
		for (size_t i = 0; i < n; i++) {
			if (p[i] >= '0' && p[i] <= '9') {
				b = b * 10 + (unsigned)(p[i] - '0');
				if (b > 255)
					b = 256;	/* stays out of range */
				in = true;
			} else if (in) {
				if (b <= 255)
					o[w++] = (char)b;
				b = 0;
				in = false;
			}
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			long u, lo;
			if (p[i] != '\\') {
				o[w++] = p[i];
				continue;
			}
			/* escapes were checked by json_string: the bytes are there */
			switch (p[++i]) {
			case 'b': o[w++] = '\b'; break;
			case 'f': o[w++] = '\f'; break;
			case 'n': o[w++] = '\n'; break;
			case 'r': o[w++] = '\r'; break;
			case 't': o[w++] = '\t'; break;
			case 'u':
				u = json_u4(p + i + 1);
				i += 4;
				if (u >= 0xD800 && u <= 0xDBFF && n - i > 6 && p[i + 1] == '\\' &&
				    p[i + 2] == 'u' && (lo = json_u4(p + i + 3)) >= 0xDC00 &&
				    lo <= 0xDFFF) {
					unsigned long cp = 0x10000 +
					    (((unsigned long)u - 0xD800) << 10) +
					    ((unsigned long)lo - 0xDC00);
					w += json_utf8(o + w, cp);
					i += 6;
				} else if (u >= 0xD800 && u <= 0xDFFF) {
					w += json_utf8(o + w, 0xFFFD);
				} else {
					w += json_utf8(o + w, (unsigned long)u);
				}
				break;
			default:	/* '"', '\\', '/' */
				o[w++] = p[i];
				break;
			}
		}
	}
	d->scratch_used -= n - w;
	return ms_str_make(o, w);
}

/* A non-negative decimal of at most max_digits digits, or -1. */
static int64_t
json_uint(struct ms_str s, size_t max_digits)
{
	int64_t v = 0;

	if (s.len == 0 || s.len > max_digits)
		return -1;
	for (size_t k = 0; k < s.len; k++) {
		if (s.p[k] < '0' || s.p[k] > '9')
			return -1;
		v = v * 10 + (s.p[k] - '0');
	}
	return v;
}

/* Scans the object at s; fills vals[] (first occurrence of each key). */
static bool
json_scan(const char *s, size_t n, struct json_val vals[JSON_NKEYS])
{
	size_t i = 0;

	json_ws(s, n, &i);
	if (i >= n || s[i] != '{')
		return false;
	i++;
	json_ws(s, n, &i);
	if (i < n && s[i] == '}') {
		i++;
	} else {
		for (;;) {
			struct json_val key, val = { JSON_NONE, false, { NULL, 0 } };
			int which = -1;

			if (i >= n || s[i] != '"' || !json_string(s, n, &i, &key))
				return false;
			json_ws(s, n, &i);
			if (i >= n || s[i] != ':')
				return false;
			i++;
			json_ws(s, n, &i);
			if (i >= n)
				return false;
			if (s[i] == '"') {
				if (!json_string(s, n, &i, &val))
					return false;
			} else if (s[i] == '[' || s[i] == '{') {
				if (!json_skip_nested(s, n, &i, &val))
					return false;
			} else if (!json_scalar(s, n, &i, &val)) {
				return false;
			}
			if (!key.esc)
				for (int k = 0; k < JSON_NKEYS; k++)
					if (ms_str_eq(key.raw, json_keys[k]))
						which = k;
			if (which >= 0 && vals[which].kind == JSON_NONE && val.kind != JSON_NULL)
				vals[which] = val;
			json_ws(s, n, &i);
			if (i < n && s[i] == ',') {
				i++;
				json_ws(s, n, &i);
				continue;
			}
			if (i < n && s[i] == '}') {
				i++;
				break;
			}
			return false;
		}
	}
	json_ws(s, n, &i);
	return i == n;
}

/*
 * The first of vals[a], vals[b] that is present, as text; when the scratch
 * area is full, vals[a]'s text as written (still escaped).
 */
static struct ms_str
json_pick(struct decoded *d, const struct json_val *vals, int a, int b)
{
	struct ms_str r = MS_STR_NULL;

	if (vals[a].kind != JSON_NONE)
		r = json_text(d, &vals[a]);
	if (r.p == NULL && b >= 0 && vals[b].kind != JSON_NONE)
		r = json_text(d, &vals[b]);
	/* scratch full: the escaped text is better than nothing */
	if (r.p == NULL && vals[a].kind == JSON_STR)
		r = vals[a].raw;
	return r;
}

static int
json_small(struct decoded *d, const struct json_val *v, int max)
{
	int64_t x;

	if (v->kind == JSON_NONE)
		return -1;
	x = json_uint(json_text(d, v), 3);
	return x >= 0 && x <= max ? (int)x : -1;
}

/*
 * Decodes d->msg (the whole line, as decode_syslog left a non-syslog line)
 * as a journald JSON record. Returns 1 and replaces the header fields and
 * msg (see the file comment); 0 with d untouched when the line is no
 * such object or has no MESSAGE.
 */
int
decode_json(struct decoded *d)
{
	struct json_val vals[JSON_NKEYS];
	struct ms_str t, empty;
	int64_t us = -1;

	memset(vals, 0, sizeof(vals));
	if (d->msg.p == NULL || !json_scan(d->msg.p, d->msg.len, vals) ||
	    (vals[JSON_MESSAGE].kind != JSON_STR && vals[JSON_MESSAGE].kind != JSON_BYTES))
		return 0;

	empty = ms_str_make(d->msg.p, 0);
	t = json_pick(d, vals, JSON_MESSAGE, -1);
	d->msg = t.p != NULL ? t : empty;
	t = json_pick(d, vals, JSON_IDENT, JSON_COMM);
	d->app = t.p != NULL ? t : empty;
	t = json_pick(d, vals, JSON_SYSLOG_PID, JSON_PID);
	d->pid = t.p != NULL ? t : empty;
	t = json_pick(d, vals, JSON_HOSTNAME, -1);
	d->host = t.p != NULL ? t : empty;
	/* sshd fields were reset on the whole line; keep them pointing at the message */
	d->user = d->method = d->src_ip = ms_str_make(d->msg.p, 0);

	if (vals[JSON_SRC_TS].kind != JSON_NONE)
		us = json_uint(json_text(d, &vals[JSON_SRC_TS]), JSON_MAX_TS_DIGITS);
	if (us < 0 && vals[JSON_RT_TS].kind != JSON_NONE)
		us = json_uint(json_text(d, &vals[JSON_RT_TS]), JSON_MAX_TS_DIGITS);
	if (us >= 0) {
		d->time_ms = us / 1000;
		d->time_from_line = true;
	}
	d->severity = json_small(d, &vals[JSON_PRIORITY], 7);
	d->facility = json_small(d, &vals[JSON_FACILITY], 23);
	return 1;
}

/*
 * Zeek's JSON logs, and minisoc's network events (agent/net) which use the
 * same shape: one flat object per line whose "_path" names the log
 *
 *   {"_path":"conn","ts":1700000000.123456,"id.orig_h":"10.0.0.1",...}
 *
 * Product "zeek", service = _path (the names public Sigma rules use:
 * conn, dns, http, ssl, ssh, ...), event time from ts (epoch seconds with a
 * fraction). Every top-level member becomes a field under its own name;
 * an array of strings becomes its members joined with ",".
 */
static const char *const zeek_paths[] = {
	"conn", "dns", "http", "ssl", "ssh", "scan", "x509", "files", "notice", "weird",
	"smtp", "ftp", "rdp", "smb_files", "smb_mapping", "dce_rpc", "kerberos", "ntlm",
	"dhcp", "snmp", "sip", "tunnel", "software", "known_hosts", "known_services",
};

/*
 * The service of a _path: its name in zeek_paths (in any case), else
 * "other". Always a static string: rule routes are keyed by the
 * logsource's pointers (sigma_set.c), and a name copied into the event's
 * scratch area would have a new address whenever the members before it
 * changed size, so an agent could make every line a new route (and, past
 * the route slots, have busy routes and their Hyperscan databases rebuilt
 * on every event). An unknown _path is kept as the field "_path".
 */
static const char *
zeek_service(struct ms_str path)
{
	for (size_t k = 0; k < sizeof(zeek_paths) / sizeof(zeek_paths[0]); k++)
		if (path.len == strlen(zeek_paths[k]) &&
		    strncasecmp(path.p, zeek_paths[k], path.len) == 0)
			return zeek_paths[k];
	return "other";
}

/* ts as epoch seconds "1700000000.123456" (or an integer) in ms; -1 when not one. */
static int64_t
zeek_ts_ms(struct ms_str s)
{
	int64_t sec = 0, ms = 0;
	size_t i = 0, digits = 0;

	while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && digits < 12) {
		sec = sec * 10 + (s.p[i++] - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	if (i < s.len && s.p[i] == '.') {
		int scale = 100;
		for (i++; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
			ms += (s.p[i] - '0') * scale;
			scale /= 10;
		}
	}
	return i == s.len ? sec * 1000 + ms : -1;
}

/*
 * An array of strings and scalars as "a,b,c" in scratch, each string
 * unescaped; the raw text for nested arrays and objects (or scratch full).
 * Only the blanks between members go: those inside a string are its text
 * (a TXT answer "powershell -enc ...", a MIME type "text/plain; charset").
 */
static struct ms_str
zeek_array(struct decoded *d, struct ms_str raw)
{
	size_t mark = d->scratch_used, n = raw.len, i = 1, w = 0;
	const char *s = raw.p;
	bool first = true;
	char *o;

	if (n < 2 || (o = decode_scratch(d, n)) == NULL)
		return raw;
	json_ws(s, n, &i);
	while (i < n && s[i] != ']') {
		struct json_val v = { JSON_NONE, false, { NULL, 0 } };
		struct ms_str t;

		if (s[i] == '"') {
			if (!json_string(s, n, &i, &v))
				goto raw;
		} else if (!json_scalar(s, n, &i, &v)) {
			goto raw;	/* a nested array or object */
		}
		if (v.kind != JSON_NULL) {
			/* unescaped after o's n bytes, never longer than its raw text */
			if ((t = json_text(d, &v)).p == NULL)
				goto raw;
			if (!first)
				o[w++] = ',';
			first = false;
			memmove(o + w, t.p, t.len);
			w += t.len;
			d->scratch_used = mark + n;
		}
		json_ws(s, n, &i);
		if (i < n && s[i] == ',') {
			i++;
			json_ws(s, n, &i);
		}
	}
	d->scratch_used = mark + w;
	return ms_str_make(o, w);
raw:
	d->scratch_used = mark;
	return raw;
}

/*
 * Whether a member's name is valid UTF-8. The alert writes names as UTF-8
 * (a stray byte as U+FFFD): two names that differ only in such bytes would
 * be one name twice in its "fields", which minisocctl (libyaml) refuses –
 * the whole alert unreadable. Zeek writes UTF-8; such a name is left out,
 * as an escaped one is.
 */
static bool
zeek_name_ok(struct ms_str k)
{
	uint32_t cp;

	for (size_t i = 0, n; i < k.len; i += n)
		if ((n = ms_utf8_seq((const unsigned char *)k.p + i, k.len - i, &cp)) == 0)
			return false;
	return true;
}

/* Whether s[0..n) contains "_path" in quotes (a cheap pre-check). */
static bool
zeek_has_path(const char *s, size_t n)
{
	const char *p = s, *e = s + n;

	while (e - p >= 7 && (p = memchr(p, '_', (size_t)(e - p - 5))) != NULL) {
		if (p > s && p[-1] == '"' && e - p >= 6 && memcmp(p, "_path\"", 6) == 0)
			return true;
		p++;
	}
	return false;
}

int
decode_zeek(struct decoded *d)
{
	const char *s = d->msg.p;
	size_t n = d->msg.len, i = 0;
	struct ms_str path = MS_STR_NULL, ts = MS_STR_NULL;
	size_t mark_fields = d->nfields, mark_scratch = d->scratch_used;

	/* cheap reject before any work: Zeek writes _path first or not at all */
	if (s == NULL || n < 12 || !zeek_has_path(s, n))
		return 0;
	json_ws(s, n, &i);
	if (i >= n || s[i] != '{')
		return 0;
	i++;
	json_ws(s, n, &i);
	while (i < n && s[i] != '}') {
		struct json_val key, val = { JSON_NONE, false, { NULL, 0 } };
		struct ms_str v;
		char *name;
		bool arr = false;

		if (s[i] != '"' || !json_string(s, n, &i, &key))
			goto fail;
		json_ws(s, n, &i);
		if (i >= n || s[i] != ':')
			goto fail;
		i++;
		json_ws(s, n, &i);
		if (i >= n)
			goto fail;
		if (s[i] == '"') {
			if (!json_string(s, n, &i, &val))
				goto fail;
		} else if (s[i] == '[' || s[i] == '{') {
			arr = s[i] == '[';
			if (!json_skip_nested(s, n, &i, &val))
				goto fail;
		} else if (!json_scalar(s, n, &i, &val)) {
			goto fail;
		}
		if (!key.esc && ms_str_eq(key.raw, "_path") && val.kind == JSON_STR) {
			path = val.raw;
		} else if (!key.esc && key.raw.len > 0 && key.raw.len < 64 && val.kind != JSON_NULL &&
		    zeek_name_ok(key.raw)) {
			if (arr)
				v = zeek_array(d, val.raw);
			else if (val.kind == JSON_NONE)
				v = val.raw;	/* an object: its text */
			else
				v = json_text(d, &val);
			if (ms_str_eq(key.raw, "ts"))
				ts = v;
			if (v.p != NULL && (name = decode_scratch(d, key.raw.len + 1)) != NULL) {
				memcpy(name, key.raw.p, key.raw.len);
				name[key.raw.len] = '\0';
				(void)decode_field_add(d, name, v.p, v.len);
			}
		}
		json_ws(s, n, &i);
		if (i < n && s[i] == ',') {
			i++;
			json_ws(s, n, &i);
			continue;
		}
		if (i >= n || s[i] != '}')
			goto fail;
	}
	if (i >= n || path.p == NULL || path.len == 0)
		goto fail;
	i++;
	json_ws(s, n, &i);
	if (i != n)
		goto fail;
	d->product = "zeek";
	d->service = zeek_service(path);
	/*
	 * A DNS query log is Sigma's category dns too: its rules (no product)
	 * read `query` as Zeek names it. Rules of product zeek, service dns
	 * still match (they name no category).
	 */
	if (strcmp(d->service, "dns") == 0)
		d->category = "dns";
	/* the name of a log we do not know is kept, as a field */
	if (strcmp(d->service, "other") == 0)
		(void)decode_field_add(d, "_path", path.p, path.len);
	if (ts.p != NULL) {
		int64_t ms = zeek_ts_ms(ts);
		if (ms >= 0) {
			d->time_ms = ms;
			d->time_from_line = true;
		}
	}
	return 1;
fail:
	d->nfields = (unsigned)mark_fields;
	d->scratch_used = mark_scratch;
	return 0;
}
