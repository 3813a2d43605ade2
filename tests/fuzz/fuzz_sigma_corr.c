/*
 * Fuzz target: Sigma correlation rules. Bytes -> ms_yaml_parse ->
 * sigma_corr_parse on every document; a correlation that parses is read
 * through its accessors and fed a short stream of events whose times and
 * values come from the input, so the window code sees what the parser let
 * through. Fields the corpus uses: src_ip, user, host, k, v. A second copy
 * reads its fields through a field map (sigma_corr_bind, as in a rule set)
 * and must raise the same alerts, byte for byte in what emit sees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigma.h"
#include "sigma_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fired;

/* A digest of everything an alert carries, added to *arg (or fired). */
static void
emit_cb(const struct sigma_corr_alert *a, void *arg)
{
	size_t *sum = arg != NULL ? arg : &fired;

	*sum = *sum * 31 + a->count + a->nsamples + a->nvalues + a->ngroup +
	    (size_t)a->first_ms + (size_t)a->last_ms;
	for (size_t i = 0; i < a->nsamples; i++)
		*sum = *sum * 31 + strlen(a->samples[i]);
	for (size_t i = 0; i < a->nvalues; i++)
		*sum = *sum * 31 + strlen(a->values[i]) + (unsigned char)a->values[i][0];
	for (size_t i = 0; i < a->ngroup; i++) {
		*sum = *sum * 31 + strlen(a->group_names[i]) + a->group_values[i].len;
		if (a->group_values[i].len > 0)
			*sum += (unsigned char)a->group_values[i].p[0];
	}
}

static void
exercise(struct sigma_corr *c, struct sigma_corr *cb, struct sigma_fieldmap *fm,
    const uint8_t *data, size_t size)
{
	size_t plain = 0, bound = 0;
	static struct decoded d;	/* big: not on the stack */
	static const char *const vals[] = { "a", "b", "c", "10.0.0.1", "" };
	size_t n = sigma_corr_nrefs(c);
	int64_t t = INT64_C(1700000000000);

	fired += strlen(sigma_corr_title(c)) + strlen(sigma_corr_id(c)) +
	    strlen(sigma_corr_name(c)) + strlen(sigma_corr_level(c)) +
	    strlen(sigma_corr_status(c)) + strlen(sigma_corr_type(c)) +
	    sigma_corr_generate(c) + (size_t)sigma_corr_timespan_ms(c);
	for (size_t i = 0; i < n; i++)
		fired += strlen(sigma_corr_ref(c, i));
	for (size_t i = 0; i < sigma_corr_ntags(c); i++)
		fired += strlen(sigma_corr_tag(c, i));
	if (n == 0)
		return;
	sigma_corr_set_max_groups(c, 4);
	sigma_corr_set_max_groups(cb, 4);
	/* Up to 64 events, 3 input bytes each: time step, ref, values. */
	for (size_t i = 0; i + 3 <= size && i < 192; i += 3) {
		struct sigma_event ev;
		const char *v1 = vals[data[i + 2] % 5], *v2 = vals[(data[i + 2] >> 3) % 5];

		/* signed step: events go back in time too */
		t += ((int64_t)(int8_t)data[i]) * 1000;
		decode_reset(&d);
		decode_field_add(&d, "src_ip", v1, strlen(v1));
		decode_field_add(&d, "user", v2, strlen(v2));
		decode_field_add(&d, "host", v2, strlen(v2));
		decode_field_add(&d, "k", v1, strlen(v1));
		decode_field_add(&d, "v", v2, strlen(v2));
		memset(&ev, 0, sizeof(ev));
		ev.d = &d;
		ev.time_ms = t;
		ev.line = ms_str_make((const char *)data, size < 600 ? size : 600);
		sigma_corr_feed(c, data[i + 1] % (n + 1), &ev, emit_cb, &plain);
		sigma_fieldmap_next(fm);
		sigma_corr_feed_fm(cb, data[i + 1] % (n + 1), &ev, fm, emit_cb, &bound);
	}
	/* Through the field map: the same alerts. */
	if (plain != bound || sigma_corr_groups(c) != sigma_corr_groups(cb))
		abort();
	fired += plain + sigma_corr_groups(c) + (size_t)sigma_corr_evicted(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_yaml_node **docs = NULL;
	size_t n = 0;
	char err[256];

	if (size > 1 << 20)
		return 0;
	if (ms_yaml_parse((const char *)data, size, &docs, &n, err, sizeof(err)) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct sigma_corr *c = sigma_corr_parse(docs[i], "fuzz.yml", err, sizeof(err));
		struct sigma_corr *cb;
		struct sigma_fieldmap *fm;

		if (c == NULL) {
			/* Every rejection carries a reason. */
			if (err[0] == '\0')
				abort();
			continue;
		}
		cb = sigma_corr_parse(docs[i], "fuzz.yml", err, sizeof(err));
		fm = sigma_fieldmap_new();
		if (cb != NULL && fm != NULL && sigma_corr_bind(cb, fm) == 0)
			exercise(c, cb, fm, data, size);
		sigma_corr_free(cb);
		sigma_fieldmap_free(fm);
		sigma_corr_free(c);
	}
	ms_yaml_docs_free(docs, n);
	return 0;
}
