/*
 * Fuzz target: a log line from an outsider all the way to the alert that
 * operators read. The bytes are decoded (decode_line, every decoder), and
 * an alert is made of what came out as a rule would make it: the line as
 * its sample, the user, the host and source, the decoded fields (a Sigma
 * rule's "fields") and two of them as a correlation's group. The alert's
 * JSON (alert.c) must be read by minisoc-forward (ms_jsonr) and minisocctl
 * (ms_json_yaml_parse), and give every field's value back in both, as the
 * writer makes it valid UTF-8.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "detect.h"
#include "ms_buf.h"
#include "ms_json.h"
#include "ms_jsonr.h"
#include "ms_util.h"
#include "ms_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct decoded fuzz_alert_dec;	/* big: not on the stack */
static struct alert fuzz_alert_a;
static char fuzz_alert_want[3 * DECODE_MAX_LINE + 16];

/* s with every byte that is not part of valid UTF-8 as U+FFFD (what ms_json writes). */
static size_t
fuzz_alert_utf8(const char *s, size_t len, char *out)
{
	size_t o = 0;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = ms_utf8_seq((const unsigned char *)s + i, len - i, &cp);

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

/* Copies a slice into a fixed field of the alert, cut to fit. */
static void
fuzz_alert_copy(char *dst, size_t dstsz, struct ms_str s)
{
	size_t n = s.len < dstsz - 1 ? s.len : dstsz - 1;

	if (n)
		memcpy(dst, s.p, n);
	dst[n] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct decode_ctx ctx = { INT64_C(1764088490000), 25200, NULL, "agent-a",
	    INT64_C(1764088495000) };
	static const char *const tags[] = { "attack.credential_access", "attack.t1110.001" };
	struct decoded *d = &fuzz_alert_dec;
	struct alert *a = &fuzz_alert_a;
	const char *gnames[2];
	struct ms_str gvals[2];
	struct ms_yaml_node **docs = NULL;
	const struct ms_yaml_node *yf;
	const struct ms_jv *jf;
	struct ms_jsonr *doc;
	struct ms_buf b;
	size_t ndocs = 0;
	char err[256], *line;

	if (size > DECODE_MAX_LINE || (line = malloc(size ? size : 1)) == NULL)
		return 0;
	if (ctx.auditd == NULL && (ctx.auditd = decode_auditd_cache_new()) == NULL)
		abort();
	if (size)
		memcpy(line, data, size);
	decode_line(line, size, &ctx, d);

	memset(a, 0, sizeof(*a));
	memcpy(a->id, "019abc12-3d4e-7f00-8a1b-2c3d4e5f6a7b", 37);
	a->time_ms = ctx.recv_ms;
	a->rule_id = "fuzz-rule";
	a->rule_title = "Fuzz rule";
	a->severity = "high";
	memcpy(a->agent_id, "agent-a", 8);
	fuzz_alert_copy(a->host, sizeof(a->host), d->host);
	fuzz_alert_copy(a->src_ip, sizeof(a->src_ip), d->src_ip);
	if (d->user.len) {
		fuzz_alert_copy(a->users[0], sizeof(a->users[0]), d->user);
		a->n_users = 1;
	}
	a->count = 1;
	a->first_ms = a->last_ms = d->time_ms;
	fuzz_alert_copy(a->samples[0], sizeof(a->samples[0]), ms_str_make(line, size));
	a->n_samples = 1;
	a->tags = tags;
	a->ntags = 2;
	a->event = d;
	/* Two distinct names, as a rule's group-by has (sigma_corr refuses one twice). */
	for (unsigned i = 0; a->ngroup < 2 && i < d->nfields; i++) {
		if (a->ngroup == 1 && strcmp(gnames[0], d->fields[i].name) == 0)
			continue;
		gnames[a->ngroup] = d->fields[i].name;
		gvals[a->ngroup++] = d->fields[i].value;
	}
	a->group_names = gnames;
	a->group_values = gvals;

	ms_buf_init(&b, 1u << 20);
	if (alert_to_json(a, &b) < 0)
		abort();	/* a line of at most 64 KiB always fits a 1 MiB alert */
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20)
			abort();	/* not one line */

	if ((doc = ms_jsonr_parse(b.data, b.len, 100000, err, sizeof(err))) == NULL)
		abort();
	if (ms_json_yaml_parse(b.data, b.len, &docs, &ndocs, err, sizeof(err)) < 0 || ndocs != 1 ||
	    docs[0]->type != MS_YAML_MAP)
		abort();
	jf = ms_jv_get(ms_jsonr_root(doc), "fields");
	yf = ms_yaml_get(docs[0], "fields");
	if (d->nfields > 0 && (jf == NULL || yf == NULL || yf->type != MS_YAML_MAP))
		abort();
	for (unsigned i = 0; i < d->nfields && i < DECODE_MAX_FIELDS; i++) {
		const struct ms_str *v = decode_field_get(d, d->fields[i].name);
		const struct ms_jv *jv = ms_jv_get(jf, d->fields[i].name);
		const struct ms_yaml_node *yv = ms_yaml_get(yf, d->fields[i].name);
		size_t wl = fuzz_alert_utf8(v->p, v->len, fuzz_alert_want);

		/* The first value of each name, in both readers. */
		if (jv == NULL || jv->type != MS_JV_STR || jv->len != wl ||
		    memcmp(jv->str, fuzz_alert_want, wl) != 0)
			abort();
		if (yv == NULL || yv->type != MS_YAML_SCALAR || yv->len != wl ||
		    memcmp(yv->str, fuzz_alert_want, wl) != 0)
			abort();
	}
	ms_yaml_docs_free(docs, ndocs);
	ms_jsonr_free(doc);
	ms_buf_fini(&b);
	free(line);
	return 0;
}
