/*
 * Fuzz target for the Sigma detection engine: the input is a YAML file of
 * rule documents; every document that loads is matched against events made
 * of slices of the input itself (message, and fields named as the rules
 * in the corpus use them), so both the parser and the matcher see
 * attacker-chosen bytes. A placeholder callback answers %admins% and
 * %user% so |expand paths run too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned fuzz_sigma_sink;
static struct decoded fuzz_sigma_dec;

static const struct ms_yaml_node *
fuzz_sigma_placeholder_cb(const char *name, void *arg)
{
	const struct ms_yaml_node *ph = arg;

	return ms_yaml_get(ph, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ph_text[] = "admins: [root, admin]\nuser: bob\n";
	static const char *const names[] = { "c", "CommandLine", "a", "b", "ip", "n",
	    "cs-uri-query", "c-ip", "type", "exe" };
	struct ms_yaml_node **docs = NULL, **ph = NULL;
	size_t ndocs = 0, nph = 0;
	char err[512];
	char *buf = NULL;
	unsigned sum = 0;

	if (size > (1u << 20))
		return 0;
	if (ms_yaml_parse(ph_text, sizeof(ph_text) - 1, &ph, &nph, err, sizeof(err)) < 0)
		abort();
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		goto out;
	if (size > 0)
		memcpy(buf, data, size);
	if (ms_yaml_parse(buf, size, &docs, &ndocs, err, sizeof(err)) < 0) {
		sum += (unsigned)strlen(err);
		goto out;
	}
	for (size_t i = 0; i < ndocs; i++) {
		struct sigma_rule *r = sigma_rule_parse(docs[i], "fuzz.yml",
		    fuzz_sigma_placeholder_cb, ph[0], err, sizeof(err));
		struct sigma_event ev;

		if (r == NULL) {
			/* Every rejection names the file. */
			if (strncmp(err, "fuzz.yml:", 9) != 0)
				abort();
			continue;
		}
		sum += (unsigned)strlen(sigma_rule_title(r));
		for (size_t j = 0; j < sigma_rule_ndetection_fields(r); j++)
			sum += (unsigned)strlen(sigma_rule_detection_field(r, j));
		/* Events: the whole input, then shifting slices of it, as every field. */
		for (size_t cut = 0; cut < 4; cut++) {
			size_t off = size * cut / 4, len = size - off;
			memset(&ev, 0, sizeof(ev));
			decode_reset(&fuzz_sigma_dec);
			for (size_t k = 0; k < MS_ARRAY_LEN(names); k++)
				decode_field_add(&fuzz_sigma_dec, names[k], buf + off,
				    len > k ? len - k : 0);
			ev.d = &fuzz_sigma_dec;
			ev.message = ms_str_make(buf + off, len);
			sum += sigma_rule_match(r, &ev);
		}
		memset(&ev, 0, sizeof(ev));
		sum += sigma_rule_match(r, &ev);
		sigma_rule_free(r);
	}
out:
	fuzz_sigma_sink = sum;
	free(buf);
	ms_yaml_docs_free(docs, ndocs);
	ms_yaml_docs_free(ph, nph);
	return 0;
}
