/*
 * Fuzz target: Sigma correlation rules. Bytes -> ms_yaml_parse ->
 * sigma_corr_parse on every document; a correlation that parses is read
 * through its accessors and fed a short stream of events whose times and
 * values come from the input, so the window code sees what the parser let
 * through. Fields the corpus uses: src_ip, user, host, k, v.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fired;

static void
emit_cb(const struct sigma_corr_alert *a, void *arg)
{
	(void)arg;
	fired += a->count + a->nsamples + a->nvalues + a->ngroup;
	for (size_t i = 0; i < a->nsamples; i++)
		fired += strlen(a->samples[i]);
	for (size_t i = 0; i < a->nvalues; i++)
		fired += strlen(a->values[i]);
	for (size_t i = 0; i < a->ngroup; i++)
		fired += strlen(a->group_names[i]) + a->group_values[i].len;
}

static void
exercise(struct sigma_corr *c, const uint8_t *data, size_t size)
{
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
		sigma_corr_feed(c, data[i + 1] % (n + 1), &ev, emit_cb, NULL);
	}
	fired += sigma_corr_groups(c) + (size_t)sigma_corr_evicted(c);
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

		if (c == NULL) {
			/* Every rejection carries a reason. */
			if (err[0] == '\0')
				abort();
			continue;
		}
		exercise(c, data, size);
		sigma_corr_free(c);
	}
	ms_yaml_docs_free(docs, n);
	return 0;
}
